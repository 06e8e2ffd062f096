"""The pix2pix family plugin: registers ``pix2pix-pws``."""

from __future__ import annotations

from pathlib import Path

from zoo import Metric, ModelSpec, hookimpl

from .model import Pix2Pix

WEIGHTS = Path(__file__).parent / "embedded-weights"  # not an identifier: data, not a package
RUN = ("python scripts/make_domains.py --faces ../shared/data/faces --ph2 ../shared/data/ph2 --out data/synthetic "
       "--size 128 --patch-size 128 --seed 0; zoo train --model pix2pix-pws --data data/synthetic/pws-paired "
       "--out runs/pix2pix-pws --batch-size 4 --holdout 0.15 --mixed-precision bf16 --fused-adam --max-time 38:00")
# zoo evaluate on the run's 20 held-out pairs, next to copying the input (README, "What is trained").
FIGURES = {"L1 inside the stain": 0.0362, "L1 inside the stain, copying the input": 0.0632,
           "L1 outside the stain": 0.0246, "L1": 0.0262, "L1, copying the input": 0.0080,
           "PSNR": 29.58, "PSNR, copying the input": 32.07, "SSIM": 0.879, "SSIM, copying the input": 0.988}


@hookimpl
def zoo_register_models(registry):
    registry.register(
        ModelSpec(
            id="pix2pix-pws",
            model_class=Pix2Pix,
            modality="face photo (synthetic port-wine stains)",
            description=(
                "pix2pix from a face with a port-wine stain before laser treatment (A) to the predicted face "
                "after it (B), 128 x 128: a U-Net generator with skips at every level (7 levels, U-Net-128; 16 base "
                "features by default, g_features=64 is the reference width), a "
                "70x70 PatchGAN that sees the input beside the output, BCE GAN loss + L1 to the target (weight "
                "100). pipe(face_before) predicts after-treatment."
            ),
            defaults={"g_features": 16},
            training_data=(
                "SYNTHETIC pairs: no public before/after PWS photographs exist. " + RUN + " (seed 0): 128 pairs "
                "made with zoo.domains from ../shared/data/faces (CelebA aligned samples and other public faces: "
                "non-commercial research use only), a procedural stain (A) and the same stain faded by 60 %, the "
                "typical improvement (B); 20 pairs held out (heldout.txt, split by file). 6,560 steps at batch 4 "
                "in 38 min on a 2-core CPU, stored as float16."
            ),
            datasets=("CelebA",),
            license="other",
            trained=True,
            weights=WEIGHTS / "pix2pix-pws",
            metrics=tuple(Metric(name, value, "synthetic pws-paired, 20 held-out pairs",
                                 "zoo evaluate runs/pix2pix-pws/model --data data/synthetic/pws-paired "
                                 "-o reports/pix2pix-pws") for name, value in FIGURES.items()),
            intended_use=("Research and patient-communication prototypes for laser treatment of port-wine stains. "
                          "Not a prediction of any patient's outcome; not for diagnosis or treatment planning."),
            limitations=(
                "It learned the synthetic fading rule (60 % of a procedural stain), not real treatment outcomes. "
                "Looked at (held-out faces): the stain fades much like the target, with a faint dotted texture "
                "inside it. Measured: inside the stain it is closer to the target than the input is (L1 0.036 "
                "against 0.063), but it adds noise outside the stain (L1 0.025 where copying the input is exact), "
                "so over the whole face PSNR is lower than copying (29.6 against 32.1 dB): paste the output back "
                "inside a stain mask where one is known. A light U-Net (16 base features, 2.6 M parameters; the "
                "reference has 64) from a short CPU run."
            ),
        )
    )

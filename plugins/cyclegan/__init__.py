"""The CycleGAN family plugin: registers ``cyclegan-pws`` and ``cyclegan-eczema``."""

from __future__ import annotations

from pathlib import Path

from zoo import Metric, ModelSpec, hookimpl

from .model import CycleGAN

WEIGHTS = Path(__file__).parent / "embedded-weights"  # not an identifier: data, not a package

PWS_RUN = ("zoo train --model cyclegan-pws --data data/synthetic/pws-unpaired --out runs/cyclegan-pws --batch-size 4 "
           "--mixed-precision bf16 --steps 40000 --max-time 7:00 --checkpoint-every 1000 --sample-every 500, then "
           "the same with --resume latest --max-time 3:50 (one H100 shared with two other runs)")


CHECKS = {  # the known answers for "remove" that make_domains.py writes beside each training folder
    "cyclegan-pws": ("pws-removal-check", "the 64 clean faces of pws-unpaired/B (seen only stained in training) "
                                          "under new stains"),
    "cyclegan-eczema": ("eczema-removal-check", "the 257 healthy originals of eczema-unpaired/B (seen only with "
                                                "eczema in training) under other eczema"),
}


def _known_answers(model_id: str, target: str, region: str, *, inside: float, unchanged_inside: float,
                   outside: float, psnr: float, unchanged_psnr: float) -> tuple[Metric, ...]:
    """``zoo evaluate --paired`` on the model's check folder: "remove" against the known clean image."""
    folder, what = CHECKS[model_id]
    command = f"zoo evaluate {model_id} --data data/synthetic/{folder} --paired -o reports/check"
    figures = {f"L1 to the {target} inside the {region} (remove)": inside,
               f"L1 to the {target} inside the {region} (unchanged input)": unchanged_inside,
               f"L1 to the {target} outside the {region} (remove)": outside,
               f"PSNR to the {target} (remove)": psnr, f"PSNR to the {target} (unchanged input)": unchanged_psnr}
    return tuple(Metric(name, value, f"synthetic {folder}: {what}", command) for name, value in figures.items())


def _metrics(model_id: str, data: str, figures: dict[str, float]) -> tuple[Metric, ...]:
    command = f"zoo evaluate {model_id} --data data/synthetic/{data} -o reports/{model_id}"
    dataset = f"synthetic {data} (its own training images: no held-out split)"
    return tuple(Metric(name, value, dataset, command) for name, value in figures.items())

SYNTHETIC = ("No public port-wine-stain photographs exist: domain B is made with zoo.domains (procedural "
             "stains on clean faces; python scripts/make_domains.py). Anything trained on it has learned a "
             "synthetic stain, not a real one.")


@hookimpl
def zoo_register_models(registry):
    registry.register(
        ModelSpec(
            id="cyclegan-pws",
            model_class=CycleGAN,
            modality="face photo (synthetic port-wine stains)",
            description=(
                "CycleGAN between clean faces (A) and faces with a port-wine-stain birthmark (B), 128 x 128 by "
                "default (image_size=256 on request): two ResNet generators (32 base features, 9 residual "
                "blocks, instance norm, resize up-sampling) that return the input plus a learned change "
                "(g_output='residual': identity at initialisation, so the face is kept and only the stain is "
                "learned), two discriminators that judge the whole face (a deeper PatchGAN whose logits are "
                "averaged: a birthmark is judged in the context of the face), kornia augmentation "
                "(translation, cutout) on real and fake before both, LSGAN loss, cycle loss 10, identity loss "
                "0.5, an image pool of 50. pipe(face, direction='remove') or 'add'. g_output='image', "
                "upsample='transposed' give the reference generator."
            ),
            defaults={"direction_names": {"add": "AtoB", "remove": "BtoA"}, "upsample": "resize",
                      "g_output": "residual"},
            training_data=(
                "SYNTHETIC port-wine stains. python scripts/make_domains.py --faces ../shared/data/faces --ph2 "
                "../shared/data/ph2 --out data/synthetic --size 128 --seed 0 makes 64 clean faces (A) and 64 "
                "other faces with 4 different procedural stains each (B: 256 images; --stains-per-face 4, the "
                "default), 128 x 128, from ../shared/data/faces (CelebA aligned samples and other public faces: "
                "non-commercial research use only). Trained 3,067 steps at batch 4 (seed 0) on one H100 in "
                "10 min 50 s: " + PWS_RUN + ". " + SYNTHETIC
            ),
            datasets=("CelebA",),
            license="other",
            trained=True,
            weights=WEIGHTS / "cyclegan-pws",
            metrics=_metrics("cyclegan-pws", "pws-unpaired", {
                "cycle L1 A->B->A": 0.0032, "cycle SSIM A->B->A": 0.997, "cycle L1 B->A->B": 0.0050,
                "SWD remove (B->A) to clean faces": 34.6, "SWD of the stained faces to clean faces": 35.7,
                "SWD add (A->B) to stained faces": 34.1,
            }) + _known_answers("cyclegan-pws", "clean face", "stain", inside=0.0845, unchanged_inside=0.1071,
                                outside=0.0022, psnr=29.12, unchanged_psnr=27.50),
            intended_use=("Research and patient-communication prototypes: showing how a face might look without "
                          "(or with) a port-wine stain. Not for diagnosis or treatment planning."),
            limitations=(
                "A short run (3,067 steps at batch 4; the reference trains ~200 epochs) on 64 clean and 64 "
                "stained synthetic faces (4 stains each), stored as float16. Looked at: on the same people under "
                "new stains (pws-removal-check) 'remove' takes most of each stain off and keeps the face sharp, "
                "but leaves a faint pink rim along the stain's edge, and on some faces the stained area turns "
                "olive or brownish instead of skin-coloured; 'add' paints pink-purple one-sided patches. "
                "Measured on those new stains: inside the stain the output is 21 % closer to the clean face than "
                "the unchanged input (L1 0.085 against 0.107), and the rest of the face is kept (mean change "
                "0.002). Lower SWD is closer. " + SYNTHETIC
            ),
        )
    )
    registry.register(
        ModelSpec(
            id="cyclegan-eczema",
            model_class=CycleGAN,
            modality="skin photo patches (synthetic eczema)",
            description=(
                "CycleGAN between healthy skin patches (A) and eczema-like patches (B), 128 x 128, no masks: "
                "the cyclegan-pws design (residual generators with resize up-sampling) with 70x70 PatchGAN "
                "discriminators (texture, not layout, tells the domains apart), cycle loss 10. Extra healthy "
                "images simply go in A: the healthy discriminator sees them all. pipe(patch, direction='add') "
                "or 'remove'."
            ),
            defaults={"direction_names": {"add": "AtoB", "remove": "BtoA"}, "discriminator": "patch",
                      "upsample": "resize", "g_output": "residual"},
            training_data=(
                "SYNTHETIC eczema. python scripts/make_domains.py (as for cyclegan-pws, --patch-size 128) makes "
                "258 healthy skin patches (A: from the faces' cheeks and the skin around PH2 lesions) and 257 "
                "other patches with procedural eczema-like overlays (B), 128 x 128. No public eczema photographs "
                "exist here. Trained 2,449 steps at batch 1 (seed 0) in 60 min on one thread of a 2-core CPU, "
                "beside another run: zoo train --model cyclegan-eczema --data data/synthetic/eczema-unpaired "
                "--out runs/cyclegan-eczema --batch-size 1 --mixed-precision bf16 --steps 20000 --max-time 60:00 "
                "--checkpoint-every 500 --sample-every 500."
            ),
            license="other",
            trained=True,
            weights=WEIGHTS / "cyclegan-eczema",
            metrics=_metrics("cyclegan-eczema", "eczema-unpaired", {
                "cycle L1 A->B->A": 0.0070, "cycle SSIM A->B->A": 0.993, "cycle L1 B->A->B": 0.0123,
                "SWD add (A->B) to eczema patches": 102.2, "SWD of the healthy patches to eczema patches": 160.1,
                "SWD remove (B->A) to healthy patches": 119.8,
            }) + _known_answers("cyclegan-eczema", "healthy patch", "eczema", inside=0.0396,
                                unchanged_inside=0.1092, outside=0.0077, psnr=29.44, unchanged_psnr=21.77),
            intended_use="Research on mask-free eczema editing. Not for diagnosis.",
            limitations=(
                "A short CPU run (2,449 steps at batch 1), float16 weights, a synthetic eczema domain. Looked at, "
                "on patches it never saw healthy (eczema-removal-check): 'remove' takes the redness off and "
                "keeps the skin around it (mean change there 0.008), but the plaques become beige or olive "
                "patches that keep their rough texture, and dark skin can turn olive. Measured: inside the "
                "eczema the output is 64 % closer to the healthy patch than the input (L1 0.040 against 0.109). "
                "'add' paints red patches along skin creases. Train it at batch 1: a GPU run at batch 4 did "
                "worse (0.059 inside, 0.054 outside) and worse still when trained longer, while two GPU runs "
                "at batch 1 came close to this one (0.047 and 0.049 inside; README). Lower SWD is closer. Not "
                "for diagnosis."
            ),
        )
    )

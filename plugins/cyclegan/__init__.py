"""The CycleGAN family plugin: registers ``cyclegan-pws`` and ``cyclegan-eczema``."""

from __future__ import annotations

from pathlib import Path

from zoo import Metric, ModelSpec, hookimpl

from .model import CycleGAN

WEIGHTS = Path(__file__).parent / "embedded-weights"  # not an identifier: data, not a package
GPU_RUN = ("bash scripts/train_i2i.sh ../shared/data runs/i2i 7:00 (eight runs sharing one H100 for 7 min), then "
           "zoo train --model {id} --data runs/i2i/synthetic/{data} --out runs/i2i/{id} --steps 20000 "
           "--max-time 2:20 --checkpoint-every 1000 --sample-every 1000 --batch-size 4 --resume latest (alone)")


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
                "blocks, instance norm), two discriminators that judge the whole face (a deeper PatchGAN "
                "whose logits are averaged: a birthmark is judged in the context of the face), kornia "
                "augmentation (translation, cutout) on real and fake before both, LSGAN loss, cycle loss 10, "
                "identity loss 0.5, an image pool of 50. pipe(face, direction='remove') or 'add'."
            ),
            defaults={"direction_names": {"add": "AtoB", "remove": "BtoA"}},
            training_data=(
                "SYNTHETIC port-wine stains. python scripts/make_domains.py --faces ../shared/data/faces --ph2 "
                "../shared/data/ph2 --out data/synthetic --size 128 --seed 0 makes 64 clean faces (A) and 64 "
                "other faces with a procedural stain (B), 128 x 128, from ../shared/data/faces (CelebA aligned "
                "samples and other public faces: non-commercial research use only). Trained 1,481 steps at batch "
                "4 (seed 0) on one H100: " + GPU_RUN.format(id="cyclegan-pws", data="pws-unpaired") + ". "
                + SYNTHETIC
            ),
            datasets=("CelebA",),
            license="other",
            trained=True,
            weights=WEIGHTS / "cyclegan-pws",
            metrics=_metrics("cyclegan-pws", "pws-unpaired", {
                "cycle L1 A->B->A": 0.0566, "cycle SSIM A->B->A": 0.715, "cycle L1 B->A->B": 0.0565,
                "SWD remove (B->A) to clean faces": 68.0, "SWD of the stained faces to clean faces": 40.8,
                "SWD add (A->B) to stained faces": 47.0,
            }),
            intended_use=("Research and patient-communication prototypes: showing how a face might look without "
                          "(or with) a port-wine stain. Not for diagnosis or treatment planning."),
            limitations=(
                "A very short run (1,481 steps; the reference trains ~200 epochs) on 64 + 64 synthetic faces, "
                "stored as float16. Looked at: 'remove' fades most of the stain but blurs the face and leaves "
                "a checkerboard texture; 'add' paints pink-purple patches with colour artefacts and distorts "
                "features. Measured (lower SWD is closer): the translated faces are FARTHER from the target "
                "domain than the untranslated ones (remove: 68.0 against 40.8), i.e. the artefacts cost more "
                "than the stain change gains. A demonstration of the API and the method, not a usable editor; "
                "train longer (scripts/train_i2i.sh) for that. " + SYNTHETIC
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
                "the cyclegan-pws design with 70x70 PatchGAN discriminators (texture, not layout, tells "
                "the domains apart), cycle loss 10. Extra healthy images simply go in A: the healthy "
                "discriminator sees them all. pipe(patch, direction='add') or 'remove'."
            ),
            defaults={"direction_names": {"add": "AtoB", "remove": "BtoA"}, "discriminator": "patch"},
            training_data=(
                "SYNTHETIC eczema. python scripts/make_domains.py (as for cyclegan-pws, --patch-size 128) makes "
                "258 healthy skin patches (A: from the faces' cheeks and the skin around PH2 lesions) and 257 "
                "other patches with procedural eczema-like overlays (B), 128 x 128. No public eczema photographs "
                "exist here. Trained 1,549 steps at batch 4 (seed 0) on one H100: "
                + GPU_RUN.format(id="cyclegan-eczema", data="eczema-unpaired") + "."
            ),
            license="other",
            trained=True,
            weights=WEIGHTS / "cyclegan-eczema",
            metrics=_metrics("cyclegan-eczema", "eczema-unpaired", {
                "cycle L1 A->B->A": 0.0713, "cycle SSIM A->B->A": 0.796, "cycle L1 B->A->B": 0.0733,
                "SWD add (A->B) to eczema patches": 84.4, "SWD of the healthy patches to eczema patches": 160.1,
                "SWD remove (B->A) to healthy patches": 172.7,
            }),
            intended_use="Research on mask-free eczema editing. Not for diagnosis.",
            limitations=(
                "A very short run (1,549 steps), float16 weights, a synthetic eczema domain. Looked at: 'add' "
                "paints red eczema-like blotches that follow skin creases (SWD to the eczema patches falls from "
                "160 to 84); 'remove' turns patches beige but leaves ghost outlines of the blotches and blurs "
                "them (SWD to healthy patches 173 against 160 untranslated: not closer). Not for diagnosis."
            ),
        )
    )

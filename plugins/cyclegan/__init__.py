"""The CycleGAN family plugin: registers ``cyclegan-pws`` and ``cyclegan-eczema``."""

from __future__ import annotations

from zoo import ModelSpec, hookimpl

from .model import CycleGAN

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
            training_data="No weights are published yet. " + SYNTHETIC,
            datasets=("CelebA",),
            license="other",
            intended_use=("Research and patient-communication prototypes: showing how a face might look without "
                          "(or with) a port-wine stain. Not for diagnosis or treatment planning."),
            limitations="Untrained. " + SYNTHETIC,
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
            training_data=("No weights are published yet. No public eczema photographs exist here: domain B is "
                           "made with zoo.domains (procedural eczema-like patches on healthy skin)."),
            license="other",
            intended_use="Research on mask-free eczema editing. Not for diagnosis.",
            limitations="Untrained. The eczema domain is synthetic.",
        )
    )

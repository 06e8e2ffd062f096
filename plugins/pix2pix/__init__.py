"""The pix2pix family plugin: registers ``pix2pix-pws``."""

from __future__ import annotations

from zoo import ModelSpec, hookimpl

from .model import Pix2Pix


@hookimpl
def zoo_register_models(registry):
    registry.register(
        ModelSpec(
            id="pix2pix-pws",
            model_class=Pix2Pix,
            modality="face photo (synthetic port-wine stains)",
            description=(
                "pix2pix from a face with a port-wine stain before laser treatment (A) to the predicted face "
                "after it (B), 128 x 128: a U-Net generator with skips at every level (7 levels, U-Net-128), a "
                "70x70 PatchGAN that sees the input beside the output, BCE GAN loss + L1 to the target (weight "
                "100). pipe(face_before) predicts after-treatment."
            ),
            defaults={},
            training_data=("No weights are published yet. No public before/after PWS photographs exist: pairs are "
                           "made with zoo.domains (a procedural stain and the same stain faded by 60 %, the "
                           "typical improvement; python scripts/make_domains.py)."),
            datasets=("CelebA",),
            license="other",
            intended_use=("Research and patient-communication prototypes for laser treatment of port-wine stains. "
                          "Not a prediction of any patient's outcome; not for diagnosis or treatment planning."),
            limitations="Untrained. Trained on synthetic pairs, it can only learn the synthetic fading rule.",
        )
    )

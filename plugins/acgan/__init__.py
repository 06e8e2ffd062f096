"""The AC-GAN family plugin: registers ``acgan-lesions``."""

from __future__ import annotations

from zoo import ModelSpec, hookimpl

from .model import ACGAN


@hookimpl
def zoo_register_models(registry):
    registry.register(
        ModelSpec(
            id="acgan-lesions",
            model_class=ACGAN,
            modality="dermoscopy",
            description=(
                "AC-GAN for 64 x 64 dermoscopic skin-lesion images of the seven HAM10000 classes (akiec, bcc, "
                "bkl, df, mel, nv, vasc): a 128-d latent joined to an 8-d class embedding, a DCGAN-style "
                "generator (256 maps at 4 x 4), a spectrally normalised discriminator with a real/fake logit "
                "and an auxiliary class head (cross-entropy on logits), hinge loss, class-balanced sampling, "
                "Adam(2e-4, betas 0, 0.9). For rare-class augmentation: "
                "zoo generate acgan-lesions --class df -n 200 -o out/."
            ),
            training_data="No weights are published yet. The target data set is HAM10000.",
            datasets=("HAM10000",),
            license="cc-by-nc-sa-4.0",
            intended_use=(
                "Research on synthetic data for dermatology: class-conditional augmentation of rare lesion "
                "classes, measured with zoo evaluate-augmentation."
            ),
            limitations="Untrained.",
        )
    )

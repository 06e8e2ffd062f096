"""The SN-GAN family plugin: registers ``sngan-lesions``."""

from __future__ import annotations

from zoo import ModelSpec, hookimpl

from .model import SNGAN


@hookimpl
def zoo_register_models(registry):
    registry.register(
        ModelSpec(
            id="sngan-lesions",
            model_class=SNGAN,
            modality="dermoscopy",
            description=(
                "SN-GAN for 64 x 64 dermoscopic skin-lesion images: spectral normalisation on every "
                "discriminator layer (no batch norm there), hinge loss, a DCGAN-style generator with a "
                "128-d latent and 256 maps at 4 x 4, Adam(2e-4, betas 0, 0.9)."
            ),
            training_data=(
                "No weights are published yet. The target data set is HAM10000 (Tschandl et al., Sci. Data "
                "2018; CC BY-NC-SA 4.0)."
            ),
            datasets=("HAM10000",),
            license="other",
            intended_use=(
                "Research on synthetic data for dermatology: augmentation experiments and the comparison of "
                "GAN families on skin lesions."
            ),
            limitations=(
                "At 64 x 64 fine dermoscopic structure is lost; samples mirror HAM10000's class imbalance "
                "(mostly nevi) and may reproduce training images."
            ),
        )
    )

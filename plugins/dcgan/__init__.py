"""The DCGAN family plugin: registers ``dcgan-lesions``."""

from __future__ import annotations

from pathlib import Path

from zoo import ModelSpec, hookimpl

from .model import DCGAN

WEIGHTS = Path(__file__).parent / "embedded-weights"  # not an identifier: data, not a package


@hookimpl
def zoo_register_models(registry):
    registry.register(
        ModelSpec(
            id="dcgan-lesions",
            model_class=DCGAN,
            modality="dermoscopy",
            description=(
                "Unconditional DCGAN for 64 x 64 dermoscopic skin-lesion images: a 100-d latent, a dense "
                "layer to 64 maps at 4 x 4, fractionally strided convolutions halving the features (batch "
                "norm, LeakyReLU) and a tanh RGB output; the discriminator mirrors it (optionally at two "
                "scales, outputs averaged). Larger models: zoo.create('dcgan-lesions', g_features=512)."
            ),
            defaults={"image_size": (64, 64), "channels": 3},
            training_data=(
                "None yet: the embedded weights are an untrained placeholder (random initialisation, seed 0), "
                "shipped so loading and generation work offline. The target data set is HAM10000 (Tschandl "
                "et al., Sci. Data 2018; CC BY-NC-SA 4.0)."
            ),
            datasets=("HAM10000",),
            license="apache-2.0",
            intended_use=(
                "Research on synthetic data for dermatology: data augmentation experiments, teaching, and "
                "testing imaging software. Once trained, samples may augment lesion classifiers under study."
            ),
            limitations=(
                "DCGANs at 64 x 64 lose fine dermoscopic structure, mirror the class imbalance of HAM10000 "
                "(mostly nevi) and may reproduce training images; check samples with a memorisation audit."
            ),
            trained=False,
            weights=WEIGHTS / "dcgan-lesions",
        )
    )

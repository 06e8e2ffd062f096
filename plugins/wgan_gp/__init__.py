"""The WGAN-GP family plugin: registers ``wgan-gp-dental``."""

from __future__ import annotations

from zoo import ModelSpec, hookimpl

from .model import WGANGP


@hookimpl
def zoo_register_models(registry):
    registry.register(
        ModelSpec(
            id="wgan-gp-dental",
            model_class=WGANGP,
            modality="dental x-ray",
            description=(
                "WGAN-GP for grayscale panoramic dental radiographs, 256 x 128 (W x H) by default: a 128-d "
                "latent, a dense layer to 128 maps at 8 x 4 (W x H), nearest-neighbour + 3x3 conv up-sampling with "
                "batch norm, and a critic with layer norm (no batch norm), gradient penalty 10, 5 critic steps "
                "per generator step, Adam(1e-4, betas 0, 0.9). Odd sizes on request, e.g. "
                "zoo.create('wgan-gp-dental', image_size=(287, 508))."
            ),
            training_data=(
                "No weights are published yet. The target data set is DC1000 panoramic dental X-rays "
                "(Wang et al., Neurocomputing 2023; no licence stated)."
            ),
            datasets=("DC1000",),
            license="other",
            intended_use="Research on synthetic dental radiographs: augmentation experiments, teaching, software tests.",
            limitations=(
                "Wide (2:1) radiographs are hard for GANs: fine structures (roots, caries) may be blurred or "
                "invented; with 80 training images the generator can memorise them."
            ),
        )
    )

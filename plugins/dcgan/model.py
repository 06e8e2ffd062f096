"""DCGAN: dense layer -> fractionally strided convs (features halving, batch norm, LeakyReLU) -> tanh,
against a strided-conv discriminator with batch norm, optionally at two scales; BCE loss."""

from __future__ import annotations

from zoo.models.blocks import MultiScaleDiscriminator, as_size
from zoo.models.gan import UnconditionalGAN
from zoo.models.nets import ConvDiscriminator, ConvGenerator


class DCGAN(UnconditionalGAN):
    """DCGAN with non-square sizes, an optional 2-scale discriminator and truncated sampling.

    ``norm`` ("batch", the DCGAN default; "instance", "layer" or "none") sets the hidden layers'
    normalisation in G and D. Batch norm makes a multi-process run differ slightly from a
    one-process run with the same global batch, as each process normalises over its own share.
    ``refine`` adds that many unstrided 3x3 convs after each up-sampling (for large, complex images).
    """

    family = "dcgan"

    def __init__(
        self,
        image_size: tuple[int, int] = (64, 64),
        channels: int = 3,
        latent_dim: int = 100,
        g_features: int = 64,
        d_features: int = 64,
        d_scales: int = 1,
        norm: str = "batch",
        refine: int = 0,
    ):
        super().__init__()
        image_size = as_size(image_size)
        self.generator = ConvGenerator(latent_dim, image_size, channels, g_features, norm, "transposed", refine)
        self.discriminator = MultiScaleDiscriminator(
            lambda size: ConvDiscriminator(size, channels, d_features, norm), image_size, d_scales
        )

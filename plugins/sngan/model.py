"""SN-GAN: spectral normalisation on every discriminator layer, hinge loss; a DCGAN-style generator."""

from __future__ import annotations

from zoo.models.blocks import as_size
from zoo.models.gan import UnconditionalGAN
from zoo.models.nets import ConvDiscriminator, ConvGenerator


class SNGAN(UnconditionalGAN):
    family = "sngan"
    gan_loss = "hinge"

    def __init__(
        self,
        image_size: tuple[int, int] = (64, 64),
        channels: int = 3,
        latent_dim: int = 128,
        g_features: int = 256,
        d_features: int = 256,
        refine: int = 0,
    ):
        super().__init__()
        image_size = as_size(image_size)
        self.generator = ConvGenerator(latent_dim, image_size, channels, g_features, "batch", "transposed", refine)
        self.discriminator = ConvDiscriminator(image_size, channels, d_features, norm=None, spectral=True)

    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.0, 0.9), **adam) -> dict:
        return super().configure_optimizers(lr=lr, betas=betas, **adam)

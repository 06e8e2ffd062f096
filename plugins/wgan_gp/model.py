"""WGAN-GP: a critic without batch norm, trained 5 times per generator step with a gradient penalty.

Up-sampling is nearest-neighbour + 3x3 conv (no checkerboard), and the generator overshoots to the
next multiple of its up-sampling factor and crops, so odd sizes such as 287 x 508 stay sharp.
"""

from __future__ import annotations

import torch

from zoo.models import losses
from zoo.models.blocks import as_size
from zoo.models.gan import UnconditionalGAN
from zoo.models.nets import ConvDiscriminator, ConvGenerator


class WGANGP(UnconditionalGAN):
    family = "wgan-gp"
    gan_loss = "wasserstein"

    def __init__(
        self,
        image_size: tuple[int, int] = (128, 256),
        channels: int = 1,
        latent_dim: int = 128,
        g_features: int = 128,
        d_features: int = 128,
        critic_norm: str = "layer",
        critic_steps: int = 5,
        gp_weight: float = 10.0,
        refine: int = 0,
    ):
        super().__init__()
        image_size = as_size(image_size)
        if critic_norm == "batch":
            raise ValueError("critic_norm='batch' breaks the gradient penalty (it couples samples); "
                             "use 'layer', 'instance' or 'none'")
        if critic_steps < 1:
            raise ValueError(f"critic_steps must be >= 1, got {critic_steps}")
        self.batches_per_step = critic_steps  # one real batch per critic step
        self.generator = ConvGenerator(latent_dim, image_size, channels, g_features, "batch", "resize", refine)
        self.discriminator = ConvDiscriminator(image_size, channels, d_features, critic_norm)

    def configure_optimizers(self, lr: float = 1e-4, betas: tuple[float, float] = (0.0, 0.9), **adam) -> dict:
        return super().configure_optimizers(lr=lr, betas=betas, **adam)

    def training_step(self, batch, optimizers, ctx) -> dict[str, float]:
        critic, latent_dim = self.discriminator, self.config["latent_dim"]
        for i in range(self.config["critic_steps"]):
            real = (batch if i == 0 else ctx.next_batch())["image"]
            with torch.no_grad():
                fake = self.generator(ctx.noise(real.shape[0], latent_dim))
            optimizers["discriminator"].zero_grad(set_to_none=True)
            real_aug, fake_aug = ctx.augment(real), ctx.augment(fake)
            d_loss = losses.d_loss(self.gan_loss, critic(real_aug), critic(fake_aug))  # -W distance estimate
            penalty = losses.gradient_penalty(critic, real_aug, fake_aug)
            ctx.backward(d_loss + self.config["gp_weight"] * penalty)
            optimizers["discriminator"].step()

        optimizers["generator"].zero_grad(set_to_none=True)
        fake = self.generator(ctx.noise(real.shape[0], latent_dim))
        g_loss = losses.g_loss(self.gan_loss, ctx.frozen(critic)(ctx.augment(fake)))
        ctx.backward(g_loss)
        optimizers["generator"].step()
        return {"wasserstein": -d_loss.item(), "gp": penalty.item(), "g_loss": g_loss.item()}

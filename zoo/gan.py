"""Behaviour shared by the noise-to-image families (DCGAN, WGAN-GP, SN-GAN, AC-GAN ...).

A family subclasses :class:`UnconditionalGAN`, builds ``self.generator`` (z -> image in [-1, 1])
and ``self.discriminator`` (image -> logits), and picks its :attr:`gan_loss`.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from . import losses
from .latents import sample_normal
from .model import GANModel


class UnconditionalGAN(GANModel):
    task: ClassVar[str] = "unconditional"
    gan_loss: ClassVar[str] = "bce"

    def sample_latents(self, n: int, generator: torch.Generator, truncation: float | None = None) -> torch.Tensor:
        return sample_normal((n, self.config["latent_dim"]), generator, truncation)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), **adam) -> dict:
        """Adam for G and D; ``adam`` passes implementation options (``foreach=``, ``fused=``) through."""
        return {
            "generator": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas, **adam),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas, **adam),
        }

    def training_step(self, batch: dict[str, torch.Tensor], optimizers: dict, ctx) -> dict[str, float]:
        """One discriminator update, then one generator update (``ctx``: :class:`zoo.training.StepContext`).

        The fakes are generated once and detached for D: no second generator pass.
        """
        real = batch["image"]
        fake = self.generator(ctx.noise(real.shape[0], self.config["latent_dim"]))

        optimizers["discriminator"].zero_grad(set_to_none=True)
        d_loss = losses.d_loss(
            self.gan_loss, self.discriminator(ctx.augment(real)), self.discriminator(ctx.augment(fake.detach()))
        )
        ctx.backward(d_loss)
        optimizers["discriminator"].step()

        optimizers["generator"].zero_grad(set_to_none=True)
        g_loss = losses.g_loss(self.gan_loss, ctx.frozen(self.discriminator)(ctx.augment(fake)))
        ctx.backward(g_loss)
        optimizers["generator"].step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

"""Behaviour shared by the noise-to-image families (DCGAN, WGAN-GP, SN-GAN, AC-GAN ...).

:class:`NoiseToImageGAN` is what every noise-to-image family shares: Gaussian latents of
``latent_dim`` (with truncation) and Adam for G and D. An unconditional family subclasses
:class:`UnconditionalGAN`, builds ``self.generator`` (z -> image in [-1, 1]) and
``self.discriminator`` (image -> logits), and picks its :attr:`gan_loss`; a conditional one
(AC-GAN) subclasses :class:`NoiseToImageGAN` and writes its own ``generate`` and step.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from zoo.models import losses
from zoo.models.base import GANModel
from zoo.models.latents import sample_normal

__all__ = ["NoiseToImageGAN", "UnconditionalGAN"]


class NoiseToImageGAN(GANModel):
    """Latents and optimisers of the noise-to-image families; needs ``latent_dim`` in the config."""

    def sample_latents(self, n: int, generator: torch.Generator, truncation: float | None = None) -> torch.Tensor:
        return sample_normal((n, self.config["latent_dim"]), generator, truncation)

    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), **adam) -> dict:
        """Adam for G and D; ``adam`` passes implementation options (``foreach=``, ``fused=``) through."""
        return {
            "generator": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas, **adam),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas, **adam),
        }


class UnconditionalGAN(NoiseToImageGAN):
    """An unconditional generator against a discriminator, with the loss :attr:`gan_loss`."""

    task: ClassVar[str] = "unconditional"
    gan_loss: ClassVar[str] = "bce"

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def training_step(self, batch: dict[str, torch.Tensor], optimizers: dict, ctx) -> dict[str, float]:
        """One discriminator update, then one generator update (``ctx``: :class:`zoo.training.trainer.StepContext`).

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

"""Adversarial losses, one place for every family.

Each function takes raw discriminator logits and returns a scalar loss to minimise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["d_loss", "g_loss", "gradient_penalty"]


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "bce":  # the original GAN objective
        return F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
            fake, torch.zeros_like(fake)
        )
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "wasserstein":
        return fake.mean() - real.mean()
    if kind == "lsgan":  # least squares (Mao et al. 2017), CycleGAN's default; logits of any shape
        return F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake))
    raise ValueError(f"unknown GAN loss {kind!r}; use 'bce', 'hinge', 'wasserstein' or 'lsgan'")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "bce":  # non-saturating generator loss
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if kind in ("hinge", "wasserstein"):
        return -fake.mean()
    if kind == "lsgan":
        return F.mse_loss(fake, torch.ones_like(fake))
    raise ValueError(f"unknown GAN loss {kind!r}; use 'bce', 'hinge', 'wasserstein' or 'lsgan'")


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's penalty: (||grad_x critic(x)|| - 1)^2 on random interpolates of real and fake.

    ``create_graph=True`` keeps the gradient differentiable, so the penalty trains the critic.
    """
    eps = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

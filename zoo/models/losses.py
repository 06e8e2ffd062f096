"""Adversarial losses, one place for every family.

Each function takes raw discriminator logits and returns a scalar loss to minimise. A patch
discriminator's fake logits can be weighted (``fake_weight``, e.g. :func:`patch_weights` of a mask):
the loss is then their weighted mean, so only the patches where an edit belongs are judged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["d_loss", "g_loss", "patch_weights", "gradient_penalty"]


def _weighted_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    weight = weight.to(values.dtype).expand_as(values)
    return (values * weight).sum() / weight.sum().clamp(min=1e-8)  # no weight at all: 0, nothing judged


def _fake_term(kind: str, fake: torch.Tensor, as_real: bool) -> torch.Tensor:
    """The per-logit loss of fakes labelled real (the generator's) or fake (the discriminator's)."""
    sign = -1 if as_real else 1
    if kind == "bce":
        return F.softplus(sign * fake)
    if kind == "hinge":
        return -fake if as_real else F.relu(1 + fake)
    if kind == "lsgan":
        return (fake - 1) ** 2 if as_real else fake**2
    raise ValueError(f"fake_weight works with the 'bce', 'hinge' and 'lsgan' losses, not {kind!r}")


def _real_term(kind: str, real: torch.Tensor) -> torch.Tensor:
    """The discriminator's per-logit loss on real images."""
    if kind == "hinge":
        return F.relu(1 - real)
    return _fake_term(kind, real, as_real=True)  # bce and lsgan: the same as a fake labelled real


def patch_weights(mask: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """A pixel mask (N x 1 x H x W) on a patch discriminator's logit map: 1 for each logit whose cell
    of the map the mask touches, else 0."""
    return F.adaptive_max_pool2d(mask.float(), logits.shape[-2:])


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor, fake_weight: torch.Tensor | None = None) -> torch.Tensor:
    if fake_weight is not None:
        return _real_term(kind, real).mean() + _weighted_mean(_fake_term(kind, fake, as_real=False), fake_weight)
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


def g_loss(kind: str, fake: torch.Tensor, fake_weight: torch.Tensor | None = None) -> torch.Tensor:
    if fake_weight is not None:
        return _weighted_mean(_fake_term(kind, fake, as_real=True), fake_weight)
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

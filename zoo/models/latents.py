"""Latent sampling: seeded, device-independent, with the truncation trick."""

from __future__ import annotations

import math

import torch

__all__ = ["seeded_generator", "sample_normal", "slerp"]


def seeded_generator(seed: int | None) -> torch.Generator:
    """A CPU generator: the same seed gives the same latents on every device."""
    gen = torch.Generator(device="cpu")
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


def sample_normal(shape: tuple[int, ...], generator: torch.Generator, truncation: float | None = None) -> torch.Tensor:
    """Standard normal latents; with ``truncation=t``, components with |z| > t are re-drawn.

    Re-drawing until |z| <= t gives the normal distribution truncated to [-t, t]. Both cases are
    sampled through the inverse CDF of one uniform draw, so even tiny thresholds cost nothing and
    one seed gives the same images' latents at every threshold (a truncation sweep compares like
    with like: each z only shrinks toward 0 as t falls).
    """
    if truncation is not None and truncation <= 0:
        raise ValueError(f"truncation must be > 0 (a threshold on |z|), got {truncation}")
    u = torch.rand(shape, generator=generator, dtype=torch.float64).clamp_(1e-12, 1 - 1e-12)
    if truncation is not None:
        lo = 0.5 * (1 + math.erf(-truncation / math.sqrt(2)))  # Phi(-t)
        u = lo + (1 - 2 * lo) * u
    z = math.sqrt(2) * torch.erfinv(2 * u - 1)
    if truncation is not None:
        z = z.clamp_(-truncation, truncation)
    return z.float()


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent batches ``a`` and ``b`` (rows), ``t`` in [0, 1]."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b

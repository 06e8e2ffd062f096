"""Distances between image sets that need no pretrained weights."""

from __future__ import annotations

import torch

__all__ = ["sliced_wasserstein"]


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between two image batches (N x ...), same N.

    Both sets are projected on random unit directions of pixel space; the 1-D Wasserstein distance
    of each projection is the mean gap between sorted projections. Lower is closer.
    """
    a, b = a.flatten(1).double(), b.flatten(1).double()
    if a.shape != b.shape:
        raise ValueError(f"sliced_wasserstein needs equal-sized sets, got {tuple(a.shape)} and {tuple(b.shape)}")
    gen = torch.Generator().manual_seed(seed)
    dirs = torch.randn(a.shape[1], projections, generator=gen, dtype=torch.float64)
    dirs /= dirs.norm(dim=0, keepdim=True)
    pa, _ = (a @ dirs).sort(0)
    pb, _ = (b @ dirs).sort(0)
    return (pa - pb).abs().mean().item()

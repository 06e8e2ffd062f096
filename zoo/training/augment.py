"""Differentiable augmentation (DiffAugment) before the discriminator, with kornia.

Real and fake batches are augmented the same *way* (same policy) but with independent random
parameters, and gradients flow through the fake branch, so D can be regularised by augmentation
without G learning to produce augmented images (Zhao et al., NeurIPS 2020).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["POLICIES", "build_augment"]

POLICIES = ("translation", "cutout", "color")


def build_augment(policy: str | None) -> nn.Module:
    """``policy``: comma-separated subset of ``translation,cutout,color``; ``None``/``""`` = identity."""
    names = [p.strip() for p in (policy or "").split(",") if p.strip()]
    unknown = sorted(set(names) - set(POLICIES))
    if unknown:
        raise ValueError(f"unknown augmentation {unknown}; choose from {', '.join(POLICIES)} (comma-separated)")
    if not names:
        return nn.Identity()
    import kornia.augmentation as K  # imported here: kornia is only needed when augmenting

    ops = []
    if "color" in names:
        ops.append(K.ColorJitter(brightness=0.25, contrast=0.25, saturation=0.25, p=1.0))
    if "translation" in names:
        ops.append(K.RandomAffine(degrees=0, translate=(0.125, 0.125), padding_mode="reflection", p=1.0))
    if "cutout" in names:
        ops.append(K.RandomErasing(scale=(0.0625, 0.25), ratio=(0.5, 2.0), value=0.0, p=1.0))
    return _InUnitRange(K.AugmentationSequential(*ops, data_keys=["input"]))


class _InUnitRange(nn.Module):
    """kornia's colour ops expect [0, 1]; GAN images live in [-1, 1]."""

    def __init__(self, augment: nn.Module):
        super().__init__()
        self.augment = augment

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:  # colour jitter on grayscale: apply to a 3-channel view, then average back
            return self.augment(((x + 1) / 2).expand(-1, 3, -1, -1)).mean(1, keepdim=True) * 2 - 1
        return self.augment((x + 1) / 2) * 2 - 1

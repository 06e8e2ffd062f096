"""Shared network building blocks, written once and used by every family.

Sizes are (H, W) everywhere: medical images are rarely square (X-rays are 2:1, dermoscopy 4:3).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

__all__ = ["norm_layer", "activation", "maybe_spectral", "up_block", "down_block", "as_size", "num_halvings",
    "center_crop", "MultiScaleDiscriminator"]


def norm_layer(kind: str | None, channels: int) -> nn.Module:
    """``"batch"``, ``"instance"``, ``"layer"`` (one group) or ``None``."""
    if kind in (None, "none"):
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    raise ValueError(f"unknown norm {kind!r}; use 'batch', 'instance', 'layer' or None")


def activation(kind: str) -> nn.Module:
    """``"lrelu"`` (slope 0.2, the GAN default), ``"relu"``, ``"tanh"`` or ``"none"``."""
    if kind == "lrelu":
        return nn.LeakyReLU(0.2, inplace=True)
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "tanh":
        return nn.Tanh()
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown activation {kind!r}; use 'lrelu', 'relu', 'tanh' or 'none'")


def maybe_spectral(layer: nn.Module, enabled: bool) -> nn.Module:
    return spectral_norm(layer) if enabled else layer


def up_block(cin: int, cout: int, norm: str | None = "batch", act: str = "lrelu") -> nn.Sequential:
    """Fractionally strided 4x4 conv: doubles H and W."""
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=norm in (None, "none")),
        norm_layer(norm, cout),
        activation(act),
    )


def down_block(cin: int, cout: int, norm: str | None = "batch", act: str = "lrelu",
               spectral: bool = False) -> nn.Sequential:
    """Strided 4x4 conv: halves H and W (rounding down)."""
    conv = nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=norm in (None, "none"))
    return nn.Sequential(maybe_spectral(conv, spectral), norm_layer(norm, cout), activation(act))


def as_size(image_size, smallest: int = 8) -> tuple[int, int]:
    """(H, W) from an int (square) or a pair of ints; anything else is an error that says so."""
    pair = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size) if isinstance(
        image_size, (list, tuple)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"image_size must be an int or (H, W) ints, e.g. 64 or (128, 256); got {image_size!r}")
    if min(pair) < smallest:
        raise ValueError(f"image_size must be at least {smallest} x {smallest}, got {pair}")
    return pair


def num_halvings(image_size: tuple[int, int], smallest: int = 4) -> int:
    """How many times the shorter side can be halved before it drops below ``smallest``."""
    return max(1, int(math.floor(math.log2(min(image_size) / smallest))))


def center_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    h, w = size
    top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    return x[..., top : top + h, left : left + w]


class MultiScaleDiscriminator(nn.Module):
    """The same discriminator design at full, 1/2, 1/4 ... resolution; the logits are averaged.

    ``make(size)`` builds one discriminator for images of ``size`` (H, W).
    """

    def __init__(self, make: Callable[[tuple[int, int]], nn.Module], image_size: tuple[int, int], num_scales: int = 1):
        super().__init__()
        h, w = image_size
        if num_scales < 1 or min(h, w) >> (num_scales - 1) < 8:
            raise ValueError(f"num_scales={num_scales} does not fit {h} x {w} images: the smallest scale must "
                             "stay at least 8 pixels on its shorter side")
        self.scales = nn.ModuleList(make((h >> i, w >> i)) for i in range(num_scales))

    def maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each scale's own output (e.g. a PatchGAN's logit map), full resolution first."""
        outputs = []
        for i, disc in enumerate(self.scales):
            outputs.append(disc(x))
            if i + 1 < len(self.scales):
                x = F.avg_pool2d(x, 2)
        return outputs

    def forward(self, x: torch.Tensor, maps: bool = False) -> torch.Tensor | list[torch.Tensor]:
        """The logits averaged per sample, then over scales; ``maps=True``: :meth:`maps` instead
        (so a caller that can only call the module, e.g. ``ctx.frozen(D)``, gets them too)."""
        if maps:
            return self.maps(x)
        return torch.stack([out.reshape(x.shape[0], -1).mean(1) for out in self.maps(x)]).mean(0)

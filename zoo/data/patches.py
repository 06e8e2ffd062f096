"""Square patches cut from an image where a region allows and a mask covers a chosen share.

Used to make skin-patch data sets: e.g. healthy skin (``mask_fraction=(0, 0)``: no lesion pixel at
all) from inside a skin region, or lesion patches with 10-80 % lesion.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.errors import ImageInputError

__all__ = ["Patch", "extract_patches"]

Patch = tuple[torch.Tensor, torch.Tensor, tuple[int, int]]


def _binary_map(x: torch.Tensor | None, size: tuple[int, int], what: str) -> torch.Tensor:
    """A 1 x H x W float {0, 1} map from H x W or 1 x H x W (None = all zeros)."""
    if x is None:
        return torch.zeros(1, *size)
    if not isinstance(x, torch.Tensor) or x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[0] != 1):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ImageInputError(f"extract_patches: {what} must be an H x W or 1 x H x W tensor, got {shape}")
    x = x.reshape(1, *x.shape[-2:]).float()
    if tuple(x.shape[-2:]) != tuple(size):
        raise ImageInputError(f"extract_patches: {what} is {x.shape[-2]} x {x.shape[-1]} but the image is "
                              f"{size[0]} x {size[1]} (H x W); pass a {what} of the image's size.")
    if not bool(((x == 0) | (x == 1)).all()):
        raise ImageInputError(f"extract_patches: {what} must be binary (0/1); threshold it first, "
                              f"e.g. ({what} > 0.5).float().")
    return x


def extract_patches(
    image: torch.Tensor,
    mask: torch.Tensor | None,
    *,
    size: int = 128,
    region: torch.Tensor | None = None,
    mask_fraction: tuple[float, float] = (0.1, 0.8),
    stride: int | None = None,
    max_patches: int | None = None,
    seed: int = 0,
) -> list[Patch]:
    """``(patch, patch_mask, (top, left))`` for every ``size`` x ``size`` window on a ``stride`` grid
    that lies entirely inside ``region`` (None = anywhere) and whose mask share is in the closed
    range ``mask_fraction``. ``max_patches`` keeps a seeded random subset; patches come back in
    raster order (top, then left), so the result is deterministic.
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ImageInputError(f"extract_patches: image must be a C x H x W tensor, got {shape}")
    h, w = image.shape[-2:]
    if size < 1 or size > min(h, w):
        raise ImageInputError(f"extract_patches: a {size} x {size} patch does not fit a {h} x {w} image; "
                              "use a smaller size or a larger image.")
    stride = size // 2 if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    lo, hi = mask_fraction
    if not 0 <= lo <= hi <= 1:
        raise ValueError(f"mask_fraction must be (low, high) with 0 <= low <= high <= 1, got {mask_fraction}")
    if max_patches is not None and max_patches < 0:
        raise ValueError(f"max_patches must be >= 0 or None, got {max_patches}")
    m = _binary_map(mask, (h, w), "mask")
    r = torch.ones(1, h, w) if region is None else _binary_map(region, (h, w), "region")

    # Whole-pixel counts per window (sum pooling, rounded): exact comparisons, no float drift.
    area = size * size
    mask_count = torch.round(F.avg_pool2d(m[None], size, stride)[0, 0] * area).long()
    region_count = torch.round(F.avg_pool2d(r[None], size, stride)[0, 0] * area).long()
    ok = (region_count == area) & (mask_count >= lo * area - 1e-6) & (mask_count <= hi * area + 1e-6)
    where = ok.nonzero().tolist()
    if max_patches is not None and len(where) > max_patches:
        gen = torch.Generator().manual_seed(int(seed))
        keep = sorted(torch.randperm(len(where), generator=gen)[:max_patches].tolist())
        where = [where[i] for i in keep]
    out: list[Patch] = []
    for i, j in where:
        top, left = i * stride, j * stride
        out.append((image[:, top:top + size, left:left + size].clone(),
                    m[:, top:top + size, left:left + size].clone(), (top, left)))
    return out

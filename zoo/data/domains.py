"""Synthetic skin-condition domains: port-wine stains on faces and eczema on skin patches.

There are no public port-wine-stain (PWS) or eczema photo sets to train on, so these domains are
*made*: procedural overlays drawn onto clean photos, each with the mask of where it was drawn.
They look stain- or eczema-like, not clinically real; anything trained on them must say so.

Every maker takes a 3 x H x W float image in [0, 1] (any H x W) and a seed, and is deterministic
by that seed (its own ``torch.Generator``: the global RNG is never touched). Pixels outside the
returned mask are left exactly as they were.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from zoo.errors import ImageInputError

__all__ = ["smooth_noise", "skin_mask", "face_ellipse", "face_region", "add_port_wine_stain", "fade_stain",
    "add_eczema"]

# Multiplicative tints (R, G, B): multiplying keeps the skin's own texture visible under the stain.
_PINK = torch.tensor([1.00, 0.50, 0.62])
_PURPLE = torch.tensor([0.70, 0.30, 0.58])
_ECZEMA_RED = torch.tensor([1.00, 0.70, 0.72])
_SCALE_WHITE = torch.tensor([0.94, 0.89, 0.86])  # dry, whitish flakes
_DRAWN = 0.02  # a pixel belongs to the mask when its overlay weight exceeds this


def _check_image(image: torch.Tensor, what: str) -> None:
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ImageInputError(f"{what}: expected a 3 x H x W RGB tensor in [0, 1], got {shape}; "
                              "read files with zoo.data.images.read_image(path).pixels[0].")
    if not image.is_floating_point():
        raise ImageInputError(f"{what}: expected a float tensor in [0, 1], got {image.dtype}; divide uint8 by 255.")


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a ... x H x W tensor (reflect-padded, so edges do not darken)."""
    if sigma <= 0:
        return x
    radius = max(1, int(math.ceil(2.5 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(x)
    shape = x.shape
    y = x.reshape(-1, 1, *shape[-2:])
    pad_h, pad_w = min(radius, shape[-2] - 1), min(radius, shape[-1] - 1)  # reflect needs pad < size
    y = F.pad(y, (pad_w, pad_w, 0, 0), mode="reflect") if pad_w else y
    y = F.conv2d(y, k[radius - pad_w: radius + pad_w + 1].view(1, 1, 1, -1))
    y = F.pad(y, (0, 0, pad_h, pad_h), mode="reflect") if pad_h else y
    y = F.conv2d(y, k[radius - pad_h: radius + pad_h + 1].view(1, 1, -1, 1))
    return y.reshape(shape)


def smooth_noise(height: int, width: int, gen: torch.Generator, cells: float = 5.0, octaves: int = 2) -> torch.Tensor:
    """H x W value noise in [0, 1]: random values on a coarse grid (``cells`` across), bicubic-upsampled."""
    total = torch.zeros(height, width)
    weight = 1.0
    for o in range(octaves):
        n = max(2, int(round(cells * 2**o)))
        grid = torch.rand(1, 1, n + 1, n + 1, generator=gen)
        total += weight * F.interpolate(grid, size=(height, width), mode="bicubic", align_corners=True)[0, 0]
        weight *= 0.4
    return (total - total.min()) / (total.max() - total.min()).clamp_min(1e-8)


def skin_mask(image: torch.Tensor) -> torch.Tensor:
    """1 x H x W {0, 1}: skin-coloured pixels by the classic YCbCr box (Cb 77-127, Cr 133-173).

    Lightly smoothed (blur, then threshold) so single-pixel holes from pores or JPEG noise close.
    """
    _check_image(image, "skin_mask")
    r, g, b = (image.clamp(0, 1) * 255).unbind(0)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    skin = ((cb >= 77) & (cb <= 127) & (cr >= 133) & (cr <= 173) & (y >= 40)).float()[None]
    sigma = max(image.shape[-2:]) / 256
    return (_blur(skin, sigma) > 0.5).float()


def face_ellipse(height: int, width: int) -> torch.Tensor:
    """1 x H x W {0, 1}: the central ellipse where an aligned (CelebA-style) face sits."""
    yy = (torch.arange(height, dtype=torch.float32) + 0.5) / height
    xx = (torch.arange(width, dtype=torch.float32) + 0.5) / width
    d = ((xx[None, :] - 0.5) / 0.38) ** 2 + ((yy[:, None] - 0.54) / 0.44) ** 2
    return (d <= 1).float()[None]


def face_region(face: torch.Tensor) -> torch.Tensor:
    """1 x H x W {0, 1}: skin inside the central face ellipse (keeps stains off hair and background)."""
    return skin_mask(face) * face_ellipse(*face.shape[-2:])


def _smoothstep(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0, 1)
    return x * x * (3 - 2 * x)


def add_port_wine_stain(face: torch.Tensor, seed: int, *, strength: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A procedural port-wine stain on an aligned face: ``(stained_face, mask)``.

    Irregular low-frequency blob(s), on the left or right half of the face (by seed; it may cross
    the midline a little), pink to purple (by seed), multiplied into the skin so texture shows
    through, and only on skin inside the face ellipse. ``mask`` (1 x H x W, {0, 1}) marks every
    pixel that changed. A face with no detectable skin comes back unchanged with an empty mask.
    """
    _check_image(face, "add_port_wine_stain")
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    h, w = face.shape[-2:]
    gen = torch.Generator().manual_seed(int(seed))
    left = bool(torch.randint(0, 2, (1,), generator=gen).item())
    hue = torch.rand(1, generator=gen).item()  # 0 = pink, 1 = purple
    cover = 0.35 + 0.4 * torch.rand(1, generator=gen).item()  # share of the face half it takes
    cells = 3.0 + 2.0 * torch.rand(1, generator=gen).item()
    noise = smooth_noise(h, w, gen, cells=cells)
    shade = smooth_noise(h, w, gen, cells=cells * 2)  # darker and lighter spots within the stain

    # Own half = 1, fading to 0 by 12 % of the width past a wavy midline: mostly one-sided, without
    # the ruler-straight edge a hard cut at the midline would leave.
    region = face_region(face)[0]
    left_share = (region[:, : w // 2].sum() / region.sum().clamp_min(1)).item()
    if (left_share if left else 1 - left_share) < 0.25:  # an off-centre face: stain the half that has skin
        left = not left
    x = (torch.arange(w, dtype=torch.float32) + 0.5) / w
    wave = 0.06 * (smooth_noise(h, 1, gen, cells=3.0, octaves=1) - 0.5)  # H x 1
    past_mid = (x[None, :] - 0.5 - wave) if left else (0.5 + wave - x[None, :])
    side = _smoothstep(1 - past_mid.clamp_min(0) / 0.12)
    score = noise * side
    inside = score[(region > 0) & (side > 0)]
    if inside.numel() == 0:
        return face.clone(), torch.zeros(1, h, w)
    threshold = torch.quantile(inside, 1 - cover).item()
    alpha = _smoothstep((score - threshold) / 0.15) * (0.6 + 0.3 * shade)  # never fully opaque
    alpha = alpha * _blur(region[None], max(h, w) / 128)[0] * region * strength
    mask = (alpha > _DRAWN).float()
    alpha = alpha * mask  # below the threshold nothing is drawn, so the mask is exactly the change
    tint = (_PINK + hue * (_PURPLE - _PINK)).view(3, 1, 1)
    stained = face * (1 - alpha + alpha * tint)
    return stained.clamp(0, 1), mask[None]


def fade_stain(face: torch.Tensor, stained: torch.Tensor, mask: torch.Tensor, fraction: float = 0.6) -> torch.Tensor:
    """The after-treatment look: inside ``mask`` the stain moves ``fraction`` of the way back to ``face``.

    ``fraction=0.6`` is a 60 % improvement; 0 keeps the stain, 1 clears it.
    """
    _check_image(face, "fade_stain (face)")
    _check_image(stained, "fade_stain (stained)")
    if face.shape != stained.shape or tuple(mask.shape[-2:]) != tuple(face.shape[-2:]):
        raise ImageInputError(f"fade_stain: face {tuple(face.shape)}, stained {tuple(stained.shape)} and mask "
                              f"{tuple(mask.shape)} must share H x W; pass the outputs of add_port_wine_stain.")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1] (0.6 = 60 % faded), got {fraction}")
    m = mask.reshape(1, *face.shape[-2:]).to(face)
    return stained + fraction * (face - stained) * m


def add_eczema(patch: torch.Tensor, seed: int, *,
               coverage: tuple[float, float] = (0.1, 0.8)) -> tuple[torch.Tensor, torch.Tensor]:
    """Eczema-like skin on a skin patch: ``(patch_with_eczema, mask)``.

    An irregular region (its area a random share of the patch inside ``coverage``, exactly) turns
    red, rough (fine high-frequency texture) and slightly scaly (dry whitish flecks). ``mask``
    (1 x H x W, {0, 1}) marks every pixel that changed.
    """
    _check_image(patch, "add_eczema")
    lo, hi = coverage
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"coverage must be (low, high) with 0 < low <= high <= 1, got {coverage}")
    h, w = patch.shape[-2:]
    n = h * w
    gen = torch.Generator().manual_seed(int(seed))
    share = lo + (hi - lo) * torch.rand(1, generator=gen).item()
    # Whole pixels, clipped so that the mask fraction really lies within [lo, hi].
    k = min(max(round(share * n), math.ceil(lo * n - 1e-9)), math.floor(hi * n + 1e-9))
    if k < 1:
        raise ValueError(f"a {h} x {w} patch is too small for coverage {coverage}; use a larger patch")
    noise = smooth_noise(h, w, gen, cells=3.0 + 3.0 * torch.rand(1, generator=gen).item(), octaves=3)
    flat = noise.flatten()
    order = torch.argsort(flat, descending=True, stable=True)
    mask = torch.zeros(n)
    mask[order[:k]] = 1
    mask = mask.view(h, w)
    threshold = flat[order[k - 1]]
    # Redder towards the middle of a plaque; every masked pixel gets at least 55 % of the redness.
    inflamed = (0.55 + 0.45 * _smoothstep((noise - threshold) / 0.15)) * mask
    red = 1 - inflamed + inflamed * _ECZEMA_RED.view(3, 1, 1)
    scale_px = max(h, w) / 128  # texture scales with the patch, so 64 and 256 px patches look alike
    rough = _blur(torch.randn(1, h, w, generator=gen), 0.8 * scale_px)
    rough = rough / rough.std().clamp_min(1e-8)
    out = patch * red * (1 + 0.05 * rough * inflamed)
    flecks = _blur(torch.rand(1, h, w, generator=gen), 1.2 * scale_px)
    flecks = (flecks - torch.quantile(flecks, 0.94)).clamp_min(0)  # ~6 % of the plaque is scaly
    scale = (flecks / flecks.max().clamp_min(1e-8)).sqrt() * mask * 0.4
    out = out + scale * (_SCALE_WHITE.view(3, 1, 1) - out)
    out = torch.where(mask.bool()[None], out.clamp(0, 1), patch)
    return out, mask[None]

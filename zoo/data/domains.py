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


def _flat_port_wine_stain(face: torch.Tensor, seed: int, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The 0.1 look (``style="flat"``): irregular low-frequency blob(s), on the left or right half
    of the face (by seed; it may cross the midline a little), pink to purple (by seed)."""
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


def _eczema_region(h: int, w: int, gen: torch.Generator,
                   coverage: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(H x W {0, 1} mask of a random share of the patch within ``coverage``, exactly; the noise it
    thresholds; the threshold)."""
    lo, hi = coverage
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"coverage must be (low, high) with 0 < low <= high <= 1, got {coverage}")
    n = h * w
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
    return mask.view(h, w), noise, flat[order[k - 1]]


def _flat_eczema(patch: torch.Tensor, gen: torch.Generator,
                 coverage: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """The 0.1 look (``style="flat"``): the region turns uniformly red, rough and slightly scaly."""
    h, w = patch.shape[-2:]
    mask, noise, threshold = _eczema_region(h, w, gen, coverage)
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


# -- the clinical look ---------------------------------------------------------------------------
# Port-wine stains (capillary malformations): pink in infancy, darkening to red and purple with age
# (Barsky et al., J Invest Dermatol 1980); segmental on the face, along the territories of the
# trigeminal branches V1 (forehead, upper eyelid, nasal dorsum), V2 (cheek, upper lip, lateral nose)
# and V3 (lower lip, chin, jaw), often stopping sharply at the midline, sometimes bilateral
# (Waelchli et al., Br J Dermatol 2014); margins irregular, "geographic"; thickened and nodular
# (cobblestoned) in a share of adults (Minkis et al., Lasers Surg Med 2009).
_PWS_PALE = torch.tensor([1.00, 0.74, 0.80])
_PWS_RED = torch.tensor([0.93, 0.42, 0.50])
_PWS_PURPLE = torch.tensor([0.56, 0.22, 0.44])
_SEGMENTS = ("V1", "V2", "V3", "V1+V2", "V2+V3", "V1+V2+V3")


def _mix(t: float, *colours: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear colour ramp through ``colours`` at t in [0, 1]."""
    t = min(max(t, 0.0), 1.0) * (len(colours) - 1)
    i = min(int(t), len(colours) - 2)
    return colours[i] + (t - i) * (colours[i + 1] - colours[i])


def _trigeminal_territory(h: int, w: int, segments: str, gen: torch.Generator) -> torch.Tensor:
    """H x W in [0, 1]: the chosen V1/V2/V3 bands of an aligned face (both sides), with wavy borders.

    Heights are in the face ellipse's units (``face_ellipse``: -1 top, 1 chin): V1 above the eyes
    (about -0.2) plus the nasal dorsum, V2 from the eyes to the mouth (about 0.35), V3 below.
    """
    v = ((torch.arange(h, dtype=torch.float32) + 0.5) / h - 0.54) / 0.44
    u = ((torch.arange(w, dtype=torch.float32) + 0.5) / w - 0.5) / 0.38
    v, u = v[:, None].expand(h, w), u[None, :].expand(h, w)
    wave = 0.18 * (smooth_noise(h, w, gen, cells=4.0, octaves=2) - 0.5)  # borders are not ruler lines
    eyes, mouth = -0.2 + wave, 0.35 + wave
    soft = 0.2  # soft bands: the geographic field below decides where the margin really runs
    bands = {"V1": _smoothstep((eyes - v) / soft + 0.5), "V3": _smoothstep((v - mouth) / soft + 0.5)}
    bands["V2"] = (1 - bands["V1"]) * (1 - bands["V3"])
    nose = _smoothstep((0.16 + wave - u.abs()) / 0.15) * _smoothstep((0.12 + wave - v) / soft)  # V1: nasal dorsum
    bands["V1"], bands["V2"] = torch.maximum(bands["V1"], nose), bands["V2"] * (1 - nose)
    # The bands sum to 1 everywhere, so a sum of neighbours has no seam where they meet (a max would dip).
    return torch.stack([bands[name] for name in segments.split("+")]).sum(0).clamp(0, 1)


def _clinical_port_wine_stain(face: torch.Tensor, seed: int, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
    h, w = face.shape[-2:]
    gen = torch.Generator().manual_seed(int(seed))
    draw = lambda: torch.rand(1, generator=gen).item()  # noqa: E731 - one seeded stream, in order
    segments = _SEGMENTS[int(draw() * len(_SEGMENTS))]
    left = draw() < 0.5
    bilateral = draw() < 0.25  # crosses the midline; otherwise it stops there, irregularly
    age = draw()  # 0: an infant's pale pink stain, 1: an adult's deep purple one
    fill = 0.55 + 0.4 * draw()  # share of the territory the stain takes
    nodular = age > 0.6 and draw() < 0.6
    region = face_region(face)[0]
    if region.sum() == 0:
        return face.clone(), torch.zeros(1, h, w)
    left_share = (region[:, : w // 2].sum() / region.sum()).item()
    if (left_share if left else 1 - left_share) < 0.25:  # an off-centre face: stain the side that has skin
        left = not left
    territory = _trigeminal_territory(h, w, segments, gen)
    x = (torch.arange(w, dtype=torch.float32) + 0.5) / w
    # Geographic margins: a 4-octave field (fine octaves give the jagged edges and islands) thresholded
    # against the territory, so the edge wanders in and out of the segment and across the midline.
    field = smooth_noise(h, w, gen, cells=6.0, octaves=4)
    wave = 0.05 * (smooth_noise(h, 1, gen, cells=5.0, octaves=3) - 0.5) + 0.03 * (field - 0.5)
    past_mid = (x[None, :] - 0.5 - wave) if left else (0.5 + wave - x[None, :])
    reach = 0.15 + 0.3 * draw() if bilateral else 0.03
    side = _smoothstep(1 - past_mid.clamp_min(0) / reach)
    score = territory * side * (0.55 + 0.45 * field)
    inside = score[region > 0]
    threshold = torch.quantile(inside, 1 - fill * (inside > 0.05).float().mean().item()).item()
    threshold = max(threshold, 0.05)
    alpha = _smoothstep((score - threshold) / 0.04)  # a sharp but irregular margin
    mottle = smooth_noise(h, w, gen, cells=10.0, octaves=2)
    depth = (0.45 + 0.3 * age) * (0.8 + 0.35 * mottle)  # never opaque: the skin shows through
    alpha = (alpha * depth).clamp(0, 0.85) * _blur(region[None], max(h, w) / 256)[0] * region * strength
    mask = (alpha > _DRAWN).float()
    alpha = alpha * mask
    base = _mix(age, _PWS_PALE, _PWS_RED, _PWS_PURPLE).view(3, 1, 1)
    deeper = _mix(age + 0.3, _PWS_PALE, _PWS_RED, _PWS_PURPLE).view(3, 1, 1)
    tint = base + mottle[None] * (deeper - base)  # darker and lighter patches within one stain
    stained = face * (1 - alpha + alpha * tint)
    if nodular and mask.any():  # raised purple nodules and a cobblestone surface, lit from the upper left
        height = torch.zeros(h, w)
        yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                                indexing="ij")
        candidates = torch.nonzero(mask > 0)
        for _ in range(int(3 + 8 * draw())):
            cy, cx = candidates[int(draw() * len(candidates))].tolist()
            radius = (0.015 + 0.035 * draw()) * w
            height += torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
        height = height + 0.3 * smooth_noise(h, w, gen, cells=w / 8, octaves=1)  # cobblestones
        height = _blur((height * _blur(mask[None], 0.01 * w)[0])[None], 0.006 * w)[0]  # no step at the margin
        light = -(torch.diff(height, dim=1, prepend=height[:, :1]) + torch.diff(height, dim=0, prepend=height[:1]))
        light = 0.35 * light / light.abs().amax().clamp_min(1e-8)
        relief = 1 + light[None] - 0.3 * height.clamp(0, 1)[None] * (1 - _PWS_PURPLE.view(3, 1, 1))
        stained = torch.where(mask.bool()[None], stained * relief, stained)
    return stained.clamp(0, 1), mask[None]


def add_port_wine_stain(face: torch.Tensor, seed: int, *, strength: float = 1.0,
                        style: str = "clinical") -> tuple[torch.Tensor, torch.Tensor]:
    """A procedural port-wine stain on an aligned face: ``(stained_face, mask)``.

    ``style="clinical"`` (default), by seed: a segmental stain over the V1, V2 and/or V3 territory
    of one side of the face, stopping at the midline (jagged) or crossing it (a quarter of seeds);
    geographic margins with islands; pale pink to red to deep purple with mottled depth; in older
    (darker) stains, raised nodules and a cobblestone surface. ``style="flat"``: the 0.1 look, a
    pink-purple overlay of low-frequency blobs on one half (the embedded translators' training data).

    Both multiply a tint into the skin, so its texture and tone show through, and draw only on skin
    inside the face ellipse. ``mask`` (1 x H x W, {0, 1}) marks every pixel that changed. A face with
    no detectable skin comes back unchanged with an empty mask.
    """
    _check_image(face, "add_port_wine_stain")
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    if style == "clinical":
        return _clinical_port_wine_stain(face, seed, strength)
    if style == "flat":
        return _flat_port_wine_stain(face, seed, strength)
    raise ValueError(f"style must be 'clinical' or 'flat', got {style!r}")


# Eczema (atopic dermatitis), as scored by EASI (Hanifin et al., Exp Dermatol 2001): erythema with
# ill-defined edges, scaling, excoriations (scratch marks) and lichenification (thickened skin with
# exaggerated skin lines). On darker skin erythema looks violaceous, grey-brown or hyperpigmented
# rather than red (Ben-Gashir & Hay, Br J Dermatol 2002), and scale looks ashy.
_ERYTHEMA_LIGHT = torch.tensor([1.00, 0.58, 0.62])
_ERYTHEMA_DARK = torch.tensor([0.80, 0.62, 0.70])  # violaceous darkening
_CRUST = torch.tensor([0.55, 0.18, 0.16])


def _lines(h: int, w: int, gen: torch.Generator, count: int, length: float, width: float) -> torch.Tensor:
    """H x W in [0, 1]: ``count`` short straight strokes in one or two parallel groups (scratches)."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    out = torch.zeros(h, w)
    angle = torch.rand(1, generator=gen).item() * math.pi
    for i in range(count):
        if i == count // 2:
            angle += (torch.rand(1, generator=gen).item() - 0.5) * 1.2
        cy, cx = (torch.rand(2, generator=gen) * torch.tensor([h, w])).tolist()
        half = 0.5 * length * max(h, w) * (0.6 + 0.8 * torch.rand(1, generator=gen).item())
        dy, dx = math.sin(angle), math.cos(angle)
        along = (yy - cy) * dy + (xx - cx) * dx
        across = (yy - cy) * dx - (xx - cx) * dy
        out = torch.maximum(out, torch.exp(-0.5 * (across / width) ** 2) * (along.abs() <= half).float())
    return out


def _clinical_eczema(patch: torch.Tensor, gen: torch.Generator,
                     coverage: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    h, w = patch.shape[-2:]
    mask, noise, threshold = _eczema_region(h, w, gen, coverage)
    draw = lambda: torch.rand(1, generator=gen).item()  # noqa: E731
    px = max(h, w) / 128  # features scale with the patch, so 64 and 256 px patches look alike
    severity = 0.5 + 0.5 * draw()
    chronic = draw() < 0.45  # lichenified
    # Ill-defined erythema: strongest inside, fading over a wide band to nothing at the mask's edge.
    peak = noise[mask.bool()].max() if mask.any() else threshold + 1
    inflamed = _smoothstep((noise - threshold) / (0.6 * (peak - threshold)).clamp_min(1e-6)) * mask
    inflamed = inflamed * (0.7 + 0.3 * smooth_noise(h, w, gen, cells=8.0, octaves=2)) * severity
    luma = (patch * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0)
    dark = _smoothstep((0.55 - luma[mask.bool()].mean().nan_to_num(0.5)) / 0.3).item() if mask.any() else 0.0
    tint = (_ERYTHEMA_LIGHT + dark * (_ERYTHEMA_DARK - _ERYTHEMA_LIGHT)).view(3, 1, 1)
    out = patch * (1 - inflamed + inflamed * tint)
    if chronic:  # lichenification: two crossing sets of deepened skin lines, and thicker, darker skin
        yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                                indexing="ij")
        theta, period = draw() * math.pi, (5 + 3 * draw()) * px
        warp = 2.5 * period * smooth_noise(h, w, gen, cells=4.0, octaves=2)  # skin lines are not a ruled grid
        ridges = sum(torch.cos(2 * math.pi * (xx * math.cos(a) + yy * math.sin(a) + warp) / period).clamp_min(0) ** 3
                     for a in (theta, theta + 1.1 + 0.4 * draw()))
        out = out * (1 - 0.09 * ridges * inflamed / severity - 0.08 * inflamed)
    # Papules and fine roughness
    rough = _blur(torch.randn(1, h, w, generator=gen), 0.8 * px)
    out = out * (1 + 0.06 * rough / rough.std().clamp_min(1e-8) * inflamed)
    # Excoriations: thin crusted scratches, in parallel groups, inside the plaque
    scratches = _lines(h, w, gen, int(2 + 6 * draw()), 0.12 + 0.15 * draw(), 0.6 * px) * (inflamed > 0.1 * severity)
    out = out + 0.45 * scratches * (out * _CRUST.view(3, 1, 1) - out)
    # Scale: dry flakes clustered where the plaque is most inflamed; ashy grey on dark skin
    flecks = _blur(torch.rand(1, h, w, generator=gen), 1.2 * px)
    flecks = (flecks - torch.quantile(flecks, 0.9)).clamp_min(0)
    scale = (flecks / flecks.max().clamp_min(1e-8)).sqrt() * inflamed.clamp(0, 1) * 0.7
    flake = torch.tensor([0.94, 0.90, 0.87]) - dark * torch.tensor([0.2, 0.2, 0.2])
    out = out + scale * (flake.view(3, 1, 1) - out)
    # Every mask pixel changes a little at least (the mask is exactly the change), even at the faint rim.
    out = torch.where(mask.bool()[None], (out * (1 - 0.01 * mask)).clamp(0, 1), patch)
    return out, mask[None]


def add_eczema(patch: torch.Tensor, seed: int, *, coverage: tuple[float, float] = (0.1, 0.8),
               style: str = "clinical") -> tuple[torch.Tensor, torch.Tensor]:
    """Eczema-like skin on a skin patch: ``(patch_with_eczema, mask)``.

    An irregular region (its area a random share of the patch inside ``coverage``, exactly) is
    drawn. ``style="clinical"`` (default), by seed and severity: ill-defined erythema that fades out
    towards the edge (red on light skin, violaceous-brown on dark skin), scaling (ashy on dark
    skin), crusted excoriations in parallel groups, and in chronic plaques lichenification (crossed,
    deepened skin lines). ``style="flat"``: the 0.1 look, uniform redness with speckle and flecks.
    ``mask`` (1 x H x W, {0, 1}) marks every pixel that changed.
    """
    _check_image(patch, "add_eczema")
    gen = torch.Generator().manual_seed(int(seed))
    if style == "clinical":
        return _clinical_eczema(patch, gen, coverage)
    if style == "flat":
        return _flat_eczema(patch, gen, coverage)
    raise ValueError(f"style must be 'clinical' or 'flat', got {style!r}")


# -- skin tone -------------------------------------------------------------------------------------
# The individual typology angle (Chardon et al., Int J Cosmet Sci 1991; Del Bino & Bernerd, Br J
# Dermatol 2013): ITA = atan((L* - 50) / b*) in degrees, from the CIELAB colour of skin. Its six
# classes track the Fitzpatrick phototypes I-VI roughly (not one to one).
ITA_CLASSES = (("very light", 55.0), ("light", 41.0), ("intermediate", 28.0), ("tan", 10.0),
               ("brown", -30.0), ("dark", -math.inf))


def _srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """3 x N sRGB in [0, 1] -> 3 x N CIELAB (D65)."""
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = torch.tensor([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    xyz = xyz / torch.tensor([0.95047, 1.0, 1.08883])[:, None]
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def skin_tone(image: torch.Tensor, region: torch.Tensor | None = None) -> tuple[float, str]:
    """(ITA in degrees, its class: 'very light' ... 'dark') of the median skin colour of ``image``
    (3 x H x W in [0, 1]) over ``region`` (default: :func:`skin_mask`); NaN and '' without skin."""
    _check_image(image, "skin_tone")
    region = skin_mask(image) if region is None else region
    pixels = image.reshape(3, -1)[:, region.reshape(-1) > 0]
    if pixels.shape[1] == 0:
        return math.nan, ""
    lab = _srgb_to_lab(pixels.median(1).values[:, None])[:, 0]
    ita = math.degrees(math.atan2(lab[0].item() - 50, lab[2].item()))
    return ita, next(name for name, low in ITA_CLASSES if ita > low)

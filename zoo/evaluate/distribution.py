"""Distances between a real and a generated image set: FID, KID, precision/recall and Laplacian SWD.

Pure tensor maths in float64, batched, no scipy. ``fid``, ``kid`` and ``precision_recall`` take N x D
feature matrices (Inception pool features from :mod:`zoo.evaluate.inception`, or any others);
``laplacian_swd`` takes the images themselves and needs no pretrained network::

    real, fake = extract_features(net, real_images), extract_features(net, fake_images)
    fid(real, fake); kid(real, fake).mean; precision_recall(real, fake).recall
    laplacian_swd(real_images, fake_images)["mean"]
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from kornia.geometry.transform import pyrdown, pyrup

__all__ = ["KID", "PrecisionRecall", "fid", "kid", "precision_recall", "laplacian_swd"]

# Largest float64 block a chunked step builds (2**24 values = 128 MiB), so 10k x 10k sets fit in memory.
_BLOCK = 2**24


class KID(NamedTuple):
    mean: float  # unbiased MMD^2 averaged over the subsets; about 0 for one distribution, and may be < 0
    std: float   # spread over the subsets


class PrecisionRecall(NamedTuple):
    precision: float  # share of generated samples inside the real manifold (realism)
    recall: float     # share of real samples inside the generated manifold (coverage)


# ---------------------------------------------------------------- feature statistics

def fid(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N x D each; N may differ).

    |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a S_b). The last trace equals the sum of the square
    roots of the eigenvalues of sqrt(S_a) S_b sqrt(S_a), a symmetric PSD matrix, so ``eigh`` gives it
    stably even when N < D leaves the covariances singular (where scipy's sqrtm warns).
    """
    a, b = _feature_pair(features_a, features_b, "fid")
    mean_a, cov_a = _moments(a)
    mean_b, cov_b = _moments(b)
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    eigenvalues = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0)  # rounding makes tiny negatives
    value = (mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * eigenvalues.sqrt().sum()
    return max(value.item(), 0.0)  # a set against itself can round to -1e-12


def kid(features_a, features_b, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> KID:
    """Kernel Inception distance: unbiased MMD^2 with the kernel k(x, y) = (x.y / D + 1)^3.

    Averaged over ``subsets`` random subsets of ``subset_size`` samples from each set (clipped to the
    smaller set). Unbiased, so two samples of one distribution average about 0, and can go below it.
    """
    a, b = _feature_pair(features_a, features_b, "kid")
    for name, value in (("subsets", subsets), ("subset_size", subset_size)):
        if not isinstance(value, int) or value < (1 if name == "subsets" else 2):
            raise ValueError(f"kid needs {name} to be a whole number >= {1 if name == 'subsets' else 2}, got {value!r}")
    size = min(subset_size, len(a), len(b))
    gen = torch.Generator().manual_seed(seed)
    # One random permutation per subset, all drawn at once: row i picks subset i without repeats.
    pick_a = torch.rand(subsets, len(a), generator=gen).argsort(1)[:, :size].to(a.device)
    pick_b = torch.rand(subsets, len(b), generator=gen).argsort(1)[:, :size].to(a.device)
    per_step = max(1, _BLOCK // (size * max(size, a.shape[1])))  # subsets whose features and kernels fit a block
    values = torch.cat([_mmd2_unbiased(a[pick_a[i:i + per_step]], b[pick_b[i:i + per_step]])
                        for i in range(0, subsets, per_step)])
    return KID(values.mean().item(), values.std(correction=0).item())


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MMD^2 of each of S subset pairs (S x m x D each): within-set sums leave out the diagonal k(x, x)."""
    m, dim = x.shape[1], x.shape[2]

    def kernel(p, q):
        return (p @ q.mT / dim + 1) ** 3

    def off_diagonal_mean(k):
        return (k.sum((1, 2)) - k.diagonal(dim1=1, dim2=2).sum(1)) / (m * (m - 1))

    return off_diagonal_mean(kernel(x, x)) + off_diagonal_mean(kernel(y, y)) - 2 * kernel(x, y).mean((1, 2))


def precision_recall(real_features, fake_features, k: int = 3, chunk_size: int = 1024) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al. 2019) on N x D feature sets.

    Each set's manifold is the union of balls around its samples reaching their k-th nearest neighbour.
    Precision: the share of fake samples inside the real manifold; recall: real samples inside the fake
    one. Distances are computed ``chunk_size`` rows at a time, so 10k x 10k sets stay in memory.
    """
    real, fake = _feature_pair(real_features, fake_features, "precision_recall")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"precision_recall needs k to be a whole number >= 1, got {k!r}")
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision_recall with k={k} needs more than {k} samples in each set, "
                         f"got {len(real)} real and {len(fake)} fake; lower k or add samples")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")
    real_radii, fake_radii = _knn_radii(real, k, chunk_size), _knn_radii(fake, k, chunk_size)
    return PrecisionRecall(_inside_share(fake, real, real_radii, chunk_size),
                           _inside_share(real, fake, fake_radii, chunk_size))


def _squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.square().sum(1, keepdim=True) + b.square().sum(1) - 2 * a @ b.T).clamp_min(0)


def _rows(points: int, others: int, chunk_size: int) -> tuple[range, int]:
    step = max(1, min(chunk_size, _BLOCK // others))
    return range(0, points, step), step


def _knn_radii(x: torch.Tensor, k: int, chunk_size: int) -> torch.Tensor:
    """Squared distance from each sample to its k-th nearest other sample (the nearest, at 0, is itself)."""
    starts, step = _rows(len(x), len(x), chunk_size)
    return torch.cat([_squared_distances(x[i:i + step], x).kthvalue(k + 1, dim=1).values for i in starts])


def _inside_share(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk_size: int) -> float:
    """The share of ``points`` within the squared radius of at least one centre."""
    starts, step = _rows(len(points), len(centres), chunk_size)
    inside = sum(int((_squared_distances(points[i:i + step], centres) <= radii).any(1).sum()) for i in starts)
    return inside / len(points)


def _moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = x.mean(0)
    centred = x - mean
    return mean, centred.T @ centred / (len(x) - 1)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def _feature_pair(a, b, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sets as float64 N x D tensors on one device, or a ValueError that says what is wrong."""
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    for name, x in (("first", a), ("second", b)):
        if x.dim() != 2:
            raise ValueError(f"{what} needs N x D feature matrices; the {name} set has shape {tuple(x.shape)}")
        if len(x) < 2:
            raise ValueError(f"{what} needs at least 2 samples per set; the {name} set has {len(x)}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{what} needs features of one size, got {a.shape[1]} and {b.shape[1]} dimensions; "
                         "extract both sets with the same network")
    a, b = a.double(), b.double().to(a.device)
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError(f"{what} got NaN or infinite features; check the images and the feature network")
    return a, b


# ---------------------------------------------------------------- Laplacian sliced Wasserstein distance

def laplacian_swd(images_a, images_b, *, levels: int | None = 4, min_resolution: int = 16, patch_size: int = 7,
                  descriptors_per_image: int = 128, projections: int = 512, seed: int = 0) -> dict:
    """Sliced Wasserstein distance between multi-scale patch statistics (Karras et al. 2018, ProGAN).

    Each image set (N x C x H x W in [0, 1]; the sets may differ in N, not in C, H, W) becomes a Laplacian
    pyramid, halving down to ``min_resolution`` px, with at most ``levels`` levels (None: all). From each
    level, ``descriptors_per_image`` random ``patch_size`` x ``patch_size`` neighbourhoods per image are
    normalised per channel within their set, then compared by the sliced Wasserstein distance over
    ``projections`` random directions (ProGAN: 4 repeats of 128). The patch positions are shared by both
    sets, so a set against itself gives exactly 0.

    Returns ``{level height in px: SWD x 1e3, ..., "mean": mean over levels}``, highest resolution first.
    """
    a, b = _image_pair(images_a, images_b, patch_size)
    for name, value in (("descriptors_per_image", descriptors_per_image), ("projections", projections),
                        ("min_resolution", min_resolution)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"laplacian_swd needs {name} to be a whole number >= 1, got {value!r}")
    if levels is not None and (not isinstance(levels, int) or levels < 1):
        raise ValueError(f"laplacian_swd needs levels to be None or a whole number >= 1, got {levels!r}")
    gen = torch.Generator().manual_seed(seed)
    result = {}
    for level_a, level_b in zip(_laplacian_pyramid(a, levels, min_resolution, patch_size),
                                _laplacian_pyramid(b, levels, min_resolution, patch_size)):
        desc_a, desc_b = _descriptors(level_a, level_b, patch_size, descriptors_per_image, gen)
        result[level_a.shape[2]] = 1e3 * _sliced_wasserstein(desc_a, desc_b, projections, gen)
    result["mean"] = sum(result.values()) / len(result)
    return result


def _image_pair(a, b, patch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(f"laplacian_swd needs patch_size to be a whole number >= 1, got {patch_size!r}")
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    for name, x in (("first", a), ("second", b)):
        if x.dim() != 4 or len(x) < 1:
            raise ValueError(f"laplacian_swd needs N x C x H x W image batches with N >= 1; "
                             f"the {name} set has shape {tuple(x.shape)}")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"laplacian_swd needs images of one shape, got C x H x W {tuple(a.shape[1:])} and "
                         f"{tuple(b.shape[1:])}; resize one set to the other's size first")
    if min(a.shape[2:]) < patch_size:
        raise ValueError(f"images of {a.shape[2]} x {a.shape[3]} px are smaller than patch_size={patch_size}")
    return a.double(), b.double().to(a.device)


def _laplacian_pyramid(x: torch.Tensor, levels: int | None, min_resolution: int, patch_size: int) -> list:
    """Band-pass levels (image minus its blurred, up-sampled half) and, last, the remaining low-pass image."""
    pyramid = []
    while True:
        half = (x.shape[2] // 2, x.shape[3] // 2)
        if (levels is not None and len(pyramid) == levels - 1) or min(half) < max(min_resolution, patch_size):
            pyramid.append(x)
            return pyramid
        down = pyrdown(x)
        up = pyrup(down)
        if up.shape[2:] != x.shape[2:]:  # odd sizes: pyrup doubles, one pixel short
            up = F.interpolate(up, size=x.shape[2:], mode="bilinear", align_corners=False)
        pyramid.append(x - up)
        x = down


def _descriptors(a: torch.Tensor, b: torch.Tensor, size: int, per_image: int, gen: torch.Generator):
    """Random size x size patches (same positions for image i of each set), normalised per channel and set."""
    height, width = a.shape[2:]
    count = max(len(a), len(b))
    ys = torch.randint(0, height - size + 1, (count, per_image), generator=gen)
    xs = torch.randint(0, width - size + 1, (count, per_image), generator=gen)
    out = [_patches(level, ys[:len(level)], xs[:len(level)], size) for level in (a, b)]
    if len(out[0]) != len(out[1]):  # sorted projections pair up one to one: keep equal counts
        small, large = sorted((0, 1), key=lambda i: len(out[i]))
        out[large] = out[large][torch.randperm(len(out[large]), generator=gen)[:len(out[small])].to(a.device)]
    return out


def _patches(level: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, size: int) -> torch.Tensor:
    """(N * per_image) x (size * size * C) descriptors, each channel scaled to mean 0, std 1 over the set."""
    offsets = torch.arange(size)
    rows = (ys[:, :, None] + offsets)[:, :, :, None].to(level.device)   # N x P x size x 1
    cols = (xs[:, :, None] + offsets)[:, :, None, :].to(level.device)   # N x P x 1 x size
    images = torch.arange(len(level), device=level.device)[:, None, None, None]
    patches = level.permute(0, 2, 3, 1)[images, rows, cols].flatten(0, 1)  # (N * P) x size x size x C
    patches = patches - patches.mean((0, 1, 2))
    patches = patches / patches.std((0, 1, 2)).clamp_min(1e-12)  # a flat channel stays 0, not NaN
    return patches.flatten(1)


def _sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int, gen: torch.Generator) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance (mean gap of sorted projections)."""
    step = max(1, min(128, _BLOCK // len(a)))  # ProGAN's 128 directions per repeat, fewer for huge sets
    total = 0.0
    for start in range(0, projections, step):
        dirs = torch.randn(a.shape[1], min(step, projections - start), generator=gen, dtype=torch.float64)
        dirs = (dirs / dirs.norm(dim=0, keepdim=True)).to(a.device)
        # Directions x samples, sorted along rows: sorting contiguous rows is faster than columns.
        gaps = (dirs.T @ a.T).sort(1).values - (dirs.T @ b.T).sort(1).values
        total += gaps.abs().mean(1).sum().item()
    return total / projections

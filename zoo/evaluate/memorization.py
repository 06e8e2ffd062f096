"""Memorization audit: is a generated image a (near) copy of a training image?

For every generated sample the nearest training image is found by SSIM (highest) and by L2
(lowest). The same search for held-out real images gives the baseline: how close a genuinely new
image from the same source typically comes to the training set. A sample closer than that is
flagged for a look::

    from zoo.evaluate import memorization_audit
    report = memorization_audit(samples, train, heldout)  # N x C x H x W tensors in [0, 1]
    print(report.summary()); report.closest_pairs_grid("closest.png"); report.histogram("nn.png")

The held-out images must be new to the model *and* to the training set: with several photographs
of one lesion (HAM10000) split by image rather than by lesion, held-out images have near twins in
training, the baseline comes out high and copies go unflagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

__all__ = ["WINDOW", "SIGMA", "RULES", "NearestTrain", "memorization_audit", "nearest_by_ssim", "nearest_by_l2",
    "MemorizationReport"]

WINDOW = 11  # the Gaussian SSIM window (sigma 1.5) of Wang et al. 2004 and kornia.metrics.ssim
SIGMA = 1.5
C1, C2 = 0.01**2, 0.03**2  # SSIM stabilisers for images in [0, 1]

RULES = ("both", "either")


@dataclass
class NearestTrain:
    """Per query image: its nearest training image by SSIM and by L2, and the distances."""

    ssim_index: torch.Tensor  # long, index into the training set of the highest-SSIM image
    ssim: torch.Tensor  # that highest SSIM (1 = identical)
    l2_index: torch.Tensor  # index of the lowest-L2 training image
    l2: torch.Tensor  # that distance, as root mean square pixel difference (0 = identical)


def memorization_audit(
    samples: torch.Tensor, train: torch.Tensor, heldout: torch.Tensor, *,
    quantile: float = 0.99, margin: float = 3.0, rule: str = "either",
    compare_size: int | tuple[int, int] | None = None, candidates: int | None = None,
    batch_size: int = 128, progress: bool = True,
) -> "MemorizationReport":
    """Nearest training image of each sample and of each held-out real image, and the flags.

    ``samples``, ``train``, ``heldout``: N x C x H x W float tensors in [0, 1], one C x H x W.

    Similarity: SSIM with an 11x11 Gaussian window (sigma 1.5), mean over pixels and channels,
    the same value as ``kornia.metrics.ssim(a, b, 11).mean()``, over every sample/training pair.
    L2: root mean square pixel difference (Euclidean distance / sqrt(C H W)) at full size, so that
    values read the same across image sizes. Cost (measured, 64x64 RGB): about 0.1 ms per pair on
    one CPU thread, 0.05 ms on two, so 500 samples and 500 held-out images against 5000 training
    images take ~4 min on two threads. ``compare_size`` (int or (H, W)) measures SSIM on images
    downsampled with antialiasing (32: ~1 min); ``candidates`` = k measures SSIM only against each
    image's k nearest training images by L2 (100: under a minute; a higher-SSIM image farther in
    L2 is missed, but a copy is nearest in both).

    The flag rule, on each measure the stricter of two held-out thresholds, both taken on a log
    scale of the distance to a perfect match (u = -log(1 - SSIM), w = -log L2: higher = closer,
    unbounded, so a wide held-out spread cannot push a threshold past SSIM 1 or L2 0)::

        u_ref = max(quantile(H_u, q), median(H_u) + margin * 1.4826 * MAD(H_u));  s_ref = 1 - exp(-u_ref)
        w_ref = max(quantile(H_w, q), median(H_w) + margin * 1.4826 * MAD(H_w));  d_ref = exp(-w_ref)
        flagged = nearest SSIM > s_ref  or  nearest L2 < d_ref      (rule="either", the default)
                  nearest SSIM > s_ref  and nearest L2 < d_ref      (rule="both")

    H_ssim, H_l2: the held-out real images' nearest-training SSIM and L2; q = ``quantile`` (0.99),
    ``margin`` = 3 robust standard deviations (MAD: median absolute deviation). In words: a sample
    is flagged when it is closer to a training image than 99 % of genuinely new real images are,
    and clearly so. The quantile alone is the held-out extreme when there are few held-out images
    and flags fresh samples at random; the margin keeps the rule steady. "either" catches noisy
    copies (SSIM drops under noise, L2 stays low) and shifted ones (L2 grows, SSIM stays high).
    A sample from the held-out distribution is flagged by chance with probability at most
    2 (1 - q) ("either"), so a few flags among many samples can be chance; memorization shows as a
    larger flagged fraction, or as pairs that look like copies in
    :meth:`MemorizationReport.closest_pairs_grid`.

    ``batch_size``: image pairs compared at once. Memory: about 3 x batch_size images, plus four
    copies of the training set (its local means and variances) at the SSIM size.
    """
    samples, train, heldout = _check_sets(samples=samples, train=train, heldout=heldout)
    if not 0.5 < quantile <= 1:
        raise ValueError(f"quantile must be in (0.5, 1] (the held-out share a flagged sample beats), got {quantile}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0 robust standard deviations (0 = the quantile alone), got {margin}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive number of image pairs, got {batch_size}")
    if candidates is not None and candidates < 1:
        raise ValueError(f"candidates must be a positive number of training images, or None for all, got {candidates}")
    size = _compare_size(compare_size, tuple(train.shape[-2:]))

    queries = torch.cat([samples, heldout])
    bar = _bar(len(queries), progress)
    try:
        ssim_index, ssim = nearest_by_ssim(queries, train, size=size, candidates=candidates, batch_size=batch_size,
                                           on_chunk=bar.update)
    finally:
        bar.close()
    l2_index, l2 = nearest_by_l2(queries, train)
    n = len(samples)
    found, baseline = (NearestTrain(ssim_index[s], ssim[s], l2_index[s], l2[s])
                       for s in (slice(None, n), slice(n, None)))

    notes = []
    if len(heldout) < 100:
        notes.append(f"only {len(heldout)} held-out images: the baseline is rough; a few hundred give steadier "
                     "thresholds")
    if float(baseline.l2.min()) < 1e-3:
        notes.append("a held-out image is a copy of a training image (L2 < 0.001): the held-out set overlaps training "
                     "and the baseline is too lenient; remove duplicates or split by patient/lesion")
    if candidates is not None and candidates < len(train):
        notes.append(f"SSIM measured against each image's {candidates} nearest training images by L2 only")
    return MemorizationReport(
        samples=found, heldout=baseline, quantile=quantile, margin=margin, rule=rule,
        ssim_threshold=_threshold(baseline.ssim, quantile, margin, higher_is_closer=True),
        l2_threshold=_threshold(baseline.l2, quantile, margin, higher_is_closer=False),
        settings={"window": WINDOW, "sigma": SIGMA, "ssim_size": list(size), "image_size": list(train.shape[-2:]),
                  "channels": train.shape[1], "n_samples": len(samples), "n_train": len(train),
                  "n_heldout": len(heldout), "candidates": candidates, "batch_size": batch_size},
        notes=notes, images={"samples": samples, "train": train},
    )


def _threshold(values: torch.Tensor, quantile: float, margin: float, higher_is_closer: bool) -> float:
    """The stricter of the held-out quantile and median + margin robust SDs, on the closer side.

    Both are taken on a log scale of the distance to a perfect match, -log(1 - SSIM) and -log(L2),
    where "closer" is unbounded: on the raw scale a wide held-out spread puts median + 3 SD above
    SSIM 1 (or below L2 0), a threshold nothing can pass, so the measure could never flag.
    """
    tiny = 1e-12
    v = values.double()
    v = -torch.log((1 - v).clamp_min(tiny)) if higher_is_closer else -torch.log(v.clamp_min(tiny))
    median = torch.quantile(v, 0.5)
    robust_sd = 1.4826 * (v - median).abs().quantile(0.5)  # the MAD scaled to a normal SD
    t = max(float(torch.quantile(v, quantile)), float(median + margin * robust_sd))
    return 1 - math.exp(-t) if higher_is_closer else math.exp(-t)


# -- nearest neighbours ------------------------------------------------------------------------------

def nearest_by_ssim(queries: torch.Tensor, train: torch.Tensor, *, size: tuple[int, int] | None = None,
                    candidates: int | None = None, batch_size: int = 128,
                    on_chunk=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Index and SSIM of the highest-SSIM training image for each query (both N x C x H x W in [0, 1]).

    Every pair is compared, a batch of pairs at a time, unless ``candidates`` = k: then only the k
    nearest training images by L2 (at ``size``) are, which is k / len(train) of the work and may
    miss a higher-SSIM image farther away in L2 (a copy is also nearest in L2, so it is found).
    kornia.metrics.ssim filters five maps per pair; here each image's Gaussian-filtered mean and
    variance are computed once, so a pair costs one filtered product map, and the filter is two
    small matrix products (the reflect border folded into the matrices).
    """
    if size is not None and tuple(size) != tuple(queries.shape[-2:]):
        queries, train = _resize(queries, size), _resize(train, size)
    queries, train = queries.float(), train.float()
    rows, cols = (_window_matrix(n, queries.device) for n in queries.shape[-2:])

    def filt(x, scale=1.0):  # Gaussian filter over the last two dims: rows @ x @ cols^T
        return (rows * scale) @ x @ cols.T

    q_mu, q_var = _local_stats(queries, filt)
    t_mu, t_var = _local_stats(train, filt)
    pair_filter = (rows * 2, cols.T.contiguous())  # 2 x the filter: the factor of 2 E[xy] comes free
    work: dict = {}
    q_stats = (queries, q_mu, q_mu.square(), q_var)
    t_stats = (train, t_mu, t_mu.square() + C1, t_var + C2)  # constants folded in once, not per pair

    if candidates is not None and candidates < len(train):
        pool = _l2_candidates(queries, train, candidates, batch_size)
        q_step = max(1, batch_size // candidates)
    else:
        pool, t_step = None, min(len(train), batch_size)
        q_step = max(1, batch_size // t_step)
    best = torch.full((len(queries),), -torch.inf, device=queries.device)
    best_index = torch.zeros(len(queries), dtype=torch.long, device=queries.device)
    for q0 in range(0, len(queries), q_step):
        q = slice(q0, q0 + q_step)
        query = [s[q, None] for s in q_stats]  # q x 1 x C x H x W, broadcast against the training side
        if pool is not None:  # each query against its own candidates: q x k pairs
            score = _pair_ssim(query, [s[pool[q]] for s in t_stats], pair_filter, work)
            value, pick = score.max(dim=1)
            best[q], best_index[q] = value, pool[q].gather(1, pick[:, None])[:, 0]
        else:  # each query against every training image, a chunk at a time
            for t0 in range(0, len(train), t_step):
                score = _pair_ssim(query, [s[None, t0:t0 + t_step] for s in t_stats], pair_filter, work)
                value, pick = score.max(dim=1)
                better = value > best[q]
                best[q] = torch.where(better, value, best[q])
                best_index[q] = torch.where(better, pick + t0, best_index[q])
        if on_chunk is not None:
            on_chunk(len(query[0]))
    return best_index, best.clamp_(max=1.0)  # float rounding can put an identical pair at 1 + 4e-7


def _pair_ssim(query, target, pair_filter, work: dict) -> torch.Tensor:
    """Mean SSIM of every query against every target: q x t.

    ``query``: images, mu, mu^2, var, each q x 1 x C x H x W; ``target``: images, mu^2 + C1,
    var + C2, each (1 or q) x t x C x H x W. SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) /
    ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)), written so that a pair costs few passes,
    in three buffers kept in ``work`` from batch to batch: allocating them anew each time (megabytes,
    fresh pages from the OS) measured twice as slow.
    """
    qx, qmu, qmu_sq, qvar = query
    tx, tmu, tmu_sq_c1, tvar_c2 = target
    rows2, cols_t = pair_filter
    shape = torch.broadcast_shapes(qx.shape, tx.shape)
    if work.get("shape") != shape:
        work.update(shape=shape, buffers=[qx.new_empty(shape) for _ in range(3)])
    a, b, c = work["buffers"]
    # 2 E[xy] + C1 + C2 in one filtering: the Gaussian rows sum to 1, so a constant passes through.
    torch.addcmul(qx.new_tensor((C1 + C2) / 2), qx, tx, out=a)
    torch.matmul(a, cols_t, out=b)
    torch.matmul(rows2, b, out=a)
    torch.addcmul(qx.new_tensor(C1), qmu, tmu, value=2.0, out=b)  # 2 mu_x mu_y + C1
    a.sub_(b).mul_(b)  # (2 sigma_xy + C2) (2 mu_x mu_y + C1)
    # kornia adds 1e-12 to the denominator; it is at least C1 * C2 ~ 1e-7, so that is left out.
    torch.add(qmu_sq, tmu_sq_c1, out=b)
    torch.add(qvar, tvar_c2, out=c)
    return a.div_(b.mul_(c)).mean(dim=(-3, -2, -1))


def _l2_candidates(queries: torch.Tensor, train: torch.Tensor, k: int, batch_size: int) -> torch.Tensor:
    """For each query, the indices of its k nearest training images by L2: N x k."""
    center = train.flatten(1).mean(0)
    flat_train = train.flatten(1) - center
    return torch.cat([torch.cdist(queries[q0:q0 + batch_size].flatten(1) - center, flat_train)
                      .topk(k, dim=1, largest=False).indices for q0 in range(0, len(queries), batch_size)])


def nearest_by_l2(queries: torch.Tensor, train: torch.Tensor,
                  batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Index and root-mean-square pixel distance of the nearest training image for each query."""
    center = train.flatten(1).float().mean(0)  # smaller norms: less cancellation in the fast cdist
    flat_train = train.flatten(1).float() - center
    indices = []
    for q0 in range(0, len(queries), batch_size):
        flat_q = queries[q0:q0 + batch_size].flatten(1).float() - center
        indices.append(torch.cdist(flat_q, flat_train).argmin(dim=1))
    index = torch.cat(indices)
    # The matrix-product cdist is off by ~1e-3 near 0; the winning pairs are measured again exactly.
    rms = (queries.flatten(1).double() - train.flatten(1).double()[index]).square().mean(1).sqrt()
    return index, rms.float()


def _local_stats(images: torch.Tensor, filt) -> tuple[torch.Tensor, torch.Tensor]:
    mu = filt(images)
    return mu, filt(images.square()) - mu.square()


def _window_matrix(n: int, device) -> torch.Tensor:
    """n x n matrix M with M @ v = v filtered by the 1-D Gaussian, borders reflected (as kornia)."""
    from kornia.filters import get_gaussian_kernel1d

    kernel = get_gaussian_kernel1d(WINDOW, SIGMA, dtype=torch.float64)[0]
    radius = WINDOW // 2
    matrix = torch.zeros(n, n, dtype=torch.float64)
    for i in range(n):
        for offset in range(-radius, radius + 1):
            j = abs(i + offset)  # reflect at the start: -1 -> 1
            j = j if j < n else 2 * (n - 1) - j  # and at the end: n -> n - 2
            matrix[i, j] += kernel[offset + radius]
    return matrix.float().to(device)


# -- input checks ------------------------------------------------------------------------------------

def _check_sets(**sets: torch.Tensor) -> list[torch.Tensor]:
    shape = None
    for name, images in sets.items():
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"{name} must be an N x C x H x W tensor, got {got}; stack single images with torch.stack")
        if len(images) == 0:
            raise ValueError(f"{name} is empty: the audit needs at least one image in each set")
        if not images.is_floating_point():
            raise ValueError(f"{name} has dtype {images.dtype}; pass floats in [0, 1], e.g. images.float() / 255")
        if not torch.isfinite(images).all():
            raise ValueError(f"{name} holds NaN or infinite values; check the generator output or the loader")
        low, high = float(images.min()), float(images.max())
        if low < -1e-4 or high > 1 + 1e-4:
            raise ValueError(f"{name} has values in [{low:.3g}, {high:.3g}], not [0, 1]; "
                             "rescale, e.g. (x + 1) / 2 for tanh outputs")
        if shape is None:
            shape, first = tuple(images.shape[1:]), name
        elif tuple(images.shape[1:]) != shape:
            raise ValueError(f"{name} images are {tuple(images.shape[1:])} (C x H x W) but {first} images are {shape}; "
                             "resize all three sets to one size first")
    if min(shape[-2:]) < WINDOW:
        raise ValueError(f"images of {shape[-2]}x{shape[-1]} are smaller than the {WINDOW}x{WINDOW} SSIM window")
    # Rounding just outside [0, 1] is clipped; a copy is made only then (a training set can be large).
    return [images if images.min() >= 0 and images.max() <= 1 else images.clamp(0, 1) for images in sets.values()]


def _compare_size(compare_size, image_size: tuple[int, int]) -> tuple[int, int]:
    if compare_size is None:
        return image_size
    size = (compare_size, compare_size) if isinstance(compare_size, int) else tuple(compare_size)
    if len(size) != 2 or min(size) < WINDOW:
        raise ValueError(f"compare_size must be an int or (H, W), each at least {WINDOW} (the SSIM window), "
                         f"got {compare_size!r}")
    return size


def _resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(images.float(), size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def _bar(total: int, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="memorization audit", unit="image", disable=not progress, delay=1.0)


# -- the report --------------------------------------------------------------------------------------

@dataclass
class MemorizationReport:
    """What :func:`memorization_audit` found.

    ``samples`` / ``heldout``: per image, the nearest training image by SSIM and by L2
    (:class:`NearestTrain`). ``ssim_threshold`` / ``l2_threshold``: the held-out baseline the flag
    rule compares against (see :attr:`rule_text`). ``images``: the sample and training tensors, kept
    to draw the closest pairs.
    """

    samples: NearestTrain
    heldout: NearestTrain
    quantile: float
    margin: float
    rule: str
    ssim_threshold: float
    l2_threshold: float
    settings: dict
    notes: list[str] = field(default_factory=list)
    images: dict = field(default_factory=dict, repr=False)

    @property
    def rule_text(self) -> str:
        joint = "and" if self.rule == "both" else "or"
        return (f"flagged: nearest-training SSIM > {self.ssim_threshold:.4f} {joint} nearest-training L2 (RMS) < "
                f"{self.l2_threshold:.4f}; each threshold is the stricter of the held-out real images' "
                f"{self.quantile:g} quantile (SSIM; {1 - self.quantile:.2g} for L2) and their median + {self.margin:g} "
                "robust standard deviations (1.4826 MAD) towards closer, on -log(1 - SSIM) and -log(L2)")

    @property
    def flag_mask(self) -> torch.Tensor:
        close_ssim = self.samples.ssim > self.ssim_threshold
        close_l2 = self.samples.l2 < self.l2_threshold
        return close_ssim & close_l2 if self.rule == "both" else close_ssim | close_l2

    @property
    def flagged(self) -> list[int]:
        """Indices of the flagged samples, most similar (highest SSIM) first."""
        mask = self.flag_mask
        order = self.samples.ssim.argsort(descending=True)
        return [int(i) for i in order if mask[i]]

    def summary(self) -> dict:
        """JSON-able: the rule and thresholds, nearest-neighbour statistics, what was flagged."""
        flagged = self.flagged
        n = len(self.samples.ssim)
        return {
            "rule": self.rule_text,
            "quantile": self.quantile,
            "margin": self.margin,
            "thresholds": {"ssim": self.ssim_threshold, "l2": self.l2_threshold},
            "samples": {"nearest_ssim": _stats(self.samples.ssim), "nearest_l2": _stats(self.samples.l2)},
            "heldout": {"nearest_ssim": _stats(self.heldout.ssim), "nearest_l2": _stats(self.heldout.l2)},
            "flagged": len(flagged),
            "flagged_fraction": len(flagged) / n,
            "chance_fraction_at_most": (1 - self.quantile) * (1 if self.rule == "both" else 2),
            "flagged_pairs": [{"sample": i, "train_by_ssim": int(self.samples.ssim_index[i]),
                               "ssim": float(self.samples.ssim[i]), "train_by_l2": int(self.samples.l2_index[i]),
                               "l2": float(self.samples.l2[i])} for i in flagged],
            "settings": self.settings,
            "notes": self.notes,
        }

    def closest_pairs_grid(self, path: str | Path, k: int = 8) -> Path:
        """A PNG of ``k`` samples (top row) above their nearest training image by SSIM.

        The flagged samples come first (a noisy copy is flagged on L2 with a middling SSIM), then
        the rest by SSIM, highest first.
        """
        Figure = _figure_class()
        if "samples" not in self.images:
            raise ValueError("this report holds no images (it was built without them); rerun memorization_audit")
        if k < 1:
            raise ValueError(f"k must be at least 1 pair, got {k}")
        mask = self.flag_mask
        flagged = self.flagged
        order = (flagged + [i for i in self.samples.ssim.argsort(descending=True).tolist() if not mask[i]])[:k]
        fig = Figure(figsize=(max(1.6 * len(order), 6.0), 3.8), layout="constrained")
        axes = fig.subplots(2, len(order), squeeze=False)
        for col, i in enumerate(order):
            j = int(self.samples.ssim_index[i])
            for row, (image, label) in enumerate(((self.images["samples"][i], f"sample {i}"),
                                                   (self.images["train"][j], f"train {j}"))):
                ax = axes[row][col]
                ax.imshow(**_displayable(image))
                ax.set_xticks([]), ax.set_yticks([])
                ax.set_xlabel(label, fontsize=7)
            flag = " FLAGGED" if mask[i] else ""
            axes[0][col].set_title(f"SSIM {float(self.samples.ssim[i]):.3f}\nL2 {float(self.samples.l2[i]):.3f}{flag}",
                                   fontsize=7,
                                   color="tab:red" if flag else "black")
        fig.suptitle(f"Samples above their nearest training image by SSIM (flagged: SSIM > {self.ssim_threshold:.3f} "
                     f"{'and' if self.rule == 'both' else 'or'} L2 < {self.l2_threshold:.3f})", fontsize=8)
        path = Path(path)
        fig.savefig(path, dpi=120)
        return path

    def histogram(self, path: str | Path, bins: int = 30) -> Path:
        """A PNG: nearest-training SSIM and L2 of samples vs held-out real images, thresholds marked."""
        Figure = _figure_class()
        fig = Figure(figsize=(9, 3.6), layout="constrained")
        for ax, key, threshold, label in zip(fig.subplots(1, 2), ("ssim", "l2"),
                                             (self.ssim_threshold, self.l2_threshold),
                                             ("nearest-training SSIM (higher = closer)",
                                              "nearest-training L2, RMS (lower = closer)")):
            values = {"samples": getattr(self.samples, key), "held-out real": getattr(self.heldout, key)}
            low = min(float(v.min()) for v in values.values())
            high = max(float(v.max()) for v in values.values())
            edges = torch.linspace(low, high if high > low else low + 1e-6, bins + 1).tolist()
            for name, v in values.items():
                ax.hist(v.tolist(), bins=edges, alpha=0.55, density=True, label=f"{name} (n={len(v)})")
            ax.axvline(threshold, color="tab:red", linestyle="--", linewidth=1, label="flag threshold")
            ax.set_xlabel(label)
            ax.set_ylabel("density")
            ax.legend(fontsize="small")
        fig.suptitle(f"Memorization audit: {len(self.flagged)} of {len(self.samples.ssim)} samples flagged",
                     fontsize=10)
        path = Path(path)
        fig.savefig(path, dpi=120)
        return path


def _stats(values: torch.Tensor) -> dict:
    v = values.double()
    q = torch.quantile(v, torch.tensor([0.01, 0.05, 0.5, 0.95, 0.99], dtype=torch.float64)).tolist()
    return {"min": float(v.min()), "p1": q[0], "p5": q[1], "median": q[2], "p95": q[3], "p99": q[4],
            "max": float(v.max()), "mean": float(v.mean())}


def _displayable(image: torch.Tensor) -> dict:
    """imshow arguments: RGB as is, anything else as the channel mean in grey, never rescaled."""
    image = image.detach().float().cpu().clamp(0, 1)
    if image.shape[0] == 3:
        return {"X": image.permute(1, 2, 0).numpy()}
    return {"X": image.mean(0).numpy(), "cmap": "gray", "vmin": 0.0, "vmax": 1.0}


def _figure_class():
    from matplotlib.figure import Figure  # the object API: no pyplot, no global backend switch

    return Figure

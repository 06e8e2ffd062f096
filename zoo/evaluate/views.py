"""Views on a generator's output: real vs generated features in 2-D, and a truncation sweep.

Both take plain tensors or callables, so they work with any model, metric or feature extractor::

    from zoo.evaluate.views import feature_scatter, truncation_sweep, markdown_table
    real_xy, fake_xy = feature_scatter(real_feats, fake_feats, "scatter.png")  # N x D each
    rows = truncation_sweep(lambda t: pipe(num_images=500, truncation=t, progress=False).tensors,
                            lambda images: {"swd": sliced_wasserstein(images, real[:500])})
    print(markdown_table(rows))
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch

from zoo.errors import MissingExtraError

__all__ = ["METHODS", "DEFAULT_THRESHOLDS", "feature_scatter", "pca_2d", "truncation_sweep", "markdown_table"]

METHODS = ("pca", "tsne")
DEFAULT_THRESHOLDS = (None, 2.0, 1.5, 1.0, 0.7, 0.5)  # None: truncation off, the untouched prior


# -- 2-D scatter of real vs generated ----------------------------------------------------------------

def feature_scatter(
    real_features, fake_features, path: str | Path, method: str = "pca", *, seed: int = 0,
    labels: tuple[str, str] = ("real", "generated"), title: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Write a PNG scatter of real and generated features in 2-D; return (real_xy, fake_xy).

    ``real_features``, ``fake_features``: N x D (images N x C x H x W are flattened), one D.
    ``method="pca"``: the two leading principal components of both sets together (so neither set
    sets the axes alone), axes labelled with their share of the variance. ``method="tsne"``: t-SNE
    from scikit-learn, if installed; its distances are only meaningful locally.
    """
    real, fake = _features(real_features, "real_features"), _features(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real features have {real.shape[1]} dimensions but generated ones {fake.shape[1]}; "
                         "extract both with the same feature extractor at the same image size")
    both = torch.cat([real, fake])
    if method == "pca":
        coords, explained = pca_2d(both, seed=seed)
        axis_labels = [f"PC {i + 1} ({100 * e:.1f} % of variance)" for i, e in enumerate(explained.tolist())]
    elif method == "tsne":
        coords, axis_labels = _tsne_2d(both, seed), ["t-SNE 1", "t-SNE 2"]
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    real_xy, fake_xy = coords[:len(real)], coords[len(real):]
    title = title or f"{labels[0].capitalize()} vs {labels[1]} ({method.upper()})"
    _plot_scatter(real_xy, fake_xy, path, labels, axis_labels, title)
    return real_xy, fake_xy


def pca_2d(features: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of ``features`` (N x D) on their two leading principal components, and each component's
    share of the total variance.

    Randomized (``torch.pca_lowrank``, cheap for large N and D) under a seeded generator, and each
    component's sign fixed so that its largest loading is positive: the same input draws the same
    picture.
    """
    x = features.detach().float().cpu()
    centered = x - x.mean(0)
    with torch.random.fork_rng(devices=[]):  # seed the sketch without touching the caller's RNG
        torch.manual_seed(seed)
        _, s, v = torch.pca_lowrank(centered, q=min(10, *centered.shape), center=False, niter=6)
    s, v = s[:2], v[:, :2]
    largest = v.abs().argmax(0)
    v = v * v[largest, torch.arange(2)].sign()
    total = centered.square().sum()
    explained = s.square() / total if total > 0 else torch.zeros(2)
    return centered @ v, explained


def _tsne_2d(features: torch.Tensor, seed: int) -> torch.Tensor:
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise MissingExtraError("method='tsne' needs scikit-learn: pip install scikit-learn, "
                                "or use method='pca'") from None
    x = features.detach().double().cpu().numpy()
    perplexity = min(30.0, max(1.0, (len(x) - 1) / 3))  # t-SNE needs perplexity < number of points
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
    return torch.as_tensor(xy, dtype=torch.float32)


def _features(values, name: str) -> torch.Tensor:
    x = torch.as_tensor(values)
    if x.dim() < 2 or len(x) == 0:
        raise ValueError(f"{name} must be N x D (or N x C x H x W images) with N >= 1, got shape {tuple(x.shape)}")
    x = x.flatten(1).float()
    if x.shape[1] < 2:
        raise ValueError(f"{name} has {x.shape[1]} dimension per row; a 2-D view needs at least 2")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or infinite values; check the feature extractor")
    return x


def _plot_scatter(real_xy, fake_xy, path, labels, axis_labels, title) -> Path:
    from matplotlib.figure import Figure  # the object API: no pyplot, no global backend switch

    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.add_subplot()
    for xy, label, color in ((real_xy, labels[0], "tab:blue"), (fake_xy, labels[1], "tab:orange")):
        ax.scatter(xy[:, 0].tolist(), xy[:, 1].tolist(), s=10, alpha=0.6, color=color, linewidths=0,
                   label=f"{label} (n={len(xy)})")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    ax.legend(fontsize="small")
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path


# -- truncation sweep --------------------------------------------------------------------------------

def truncation_sweep(
    generate: Callable[[float | None], object] | object, metric_fn: Callable[[object], object],
    thresholds: Sequence[float | None] = DEFAULT_THRESHOLDS, *, name: str = "value", num_images: int = 64,
    seed: int = 0,
) -> list[dict]:
    """For each threshold, in order: ``images = generate(threshold)``, then ``metric_fn(images)``.

    ``generate``: a generation pipeline (``zoo.load`` of a noise-to-image model: its ``num_images``
    samples of ``seed`` at that truncation, as an N x C x H x W tensor in [0, 1]) or any callable
    of the threshold. With one seed the latents are drawn through the inverse CDF
    (:func:`zoo.models.latents.sample_normal`), so each sample only shrinks toward 0 as the
    threshold falls and the rows compare the same images, not new draws.
    ``thresholds``: positive numbers, or None for truncation off. ``metric_fn`` returns a number
    (stored under ``name``) or a dict of named numbers (e.g. ``{"fid": ..., "recall": ...}``).
    Returns one row per threshold: ``{"truncation": threshold, <metric names>: values}``; lower
    thresholds trade variety for fidelity, which the rows show side by side.
    """
    from zoo.pipelines import GenerationPipeline, Pipeline

    if isinstance(generate, GenerationPipeline):
        pipe = generate
        generate = lambda t: pipe(num_images=num_images, seed=seed, truncation=t, progress=False).tensors  # noqa: E731
    elif isinstance(generate, Pipeline):
        raise TypeError(f"truncation_sweep needs a generation pipeline (zoo.load of a noise-to-image model), "
                        f"got {type(generate).__name__}")
    if not callable(metric_fn):
        raise TypeError(f"metric must be a callable on an N x C x H x W tensor, got {type(metric_fn).__name__}")
    thresholds = list(thresholds)
    if not thresholds:
        raise ValueError("thresholds is empty; pass e.g. (None, 1.0, 0.5), None meaning truncation off")
    for t in thresholds:  # check all before generating anything: a sweep can take a while
        if t is not None and (isinstance(t, bool) or not isinstance(t, numbers.Real) or not t > 0):
            raise ValueError(f"each threshold must be a positive number or None (off), got {t!r}")
    rows = []
    for t in thresholds:
        value = metric_fn(generate(t))
        row = {"truncation": t}
        if isinstance(value, Mapping):
            row.update({str(k): _number(v, f"metric {k!r}") for k, v in value.items()})
        else:
            row[name] = _number(value, "metric_fn's result")
        rows.append(row)
    return rows


def _number(value, what: str) -> float:
    try:
        return float(value)  # a float, an int, a 0-d tensor or numpy scalar
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number or a dict of numbers, got {type(value).__name__}") from None


def markdown_table(rows: Sequence[Mapping], digits: int = 4) -> str:
    """A Markdown table of ``rows`` (dicts; columns in order of first appearance).

    Numbers get ``digits`` significant digits; a missing or None cell is "n/a", except in the
    ``truncation`` column, where None means truncation off.
    """
    if not rows:
        raise ValueError("no rows to tabulate; run truncation_sweep first")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---:" if _is_numeric_column(rows, c) else "---" for c in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c), c, digits) for c in columns) + " |")
    return "\n".join(lines)


def _is_numeric_column(rows, column) -> bool:
    return all(isinstance(r.get(column), numbers.Real) or r.get(column) is None for r in rows)


def _cell(value, column: str, digits: int) -> str:
    if value is None:
        return "off" if column == "truncation" else "n/a"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{value:.{digits}g}"
    return str(value)

"""Sweeps: how a quantity of a model's samples changes with one sampling setting.

``truncation_sweep`` is the classic fidelity/diversity curve: lower thresholds pull the latents
toward 0, so samples get more typical and less varied. Any callable on an N x C x H x W tensor in
[0, 1] is a metric (until the evaluation module brings FID and friends); the rows are plain
dicts, so ``pandas.DataFrame(rows)`` or ``json.dumps(rows)`` works on them directly.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

DEFAULT_THRESHOLDS: tuple[float | None, ...] = (None, 1.0, 0.7, 0.5, 0.3, 0.1, 0.01)


def truncation_sweep(
    pipe,
    metric: Callable[[torch.Tensor], Any],
    thresholds: Sequence[float | None] = DEFAULT_THRESHOLDS,
    num_images: int = 64,
    seed: int = 0,
) -> list[dict]:
    """One row ``{"truncation": t, "value": metric(images)}`` per threshold ``t`` (None: no truncation).

    ``images`` is ``pipe(num_images, seed=seed, truncation=t).tensors``. One seed for every row:
    the latents are drawn through the inverse CDF (``zoo.latents.sample_normal``), so each sample
    only shrinks toward 0 as ``t`` falls and the rows compare the same images, not new draws.
    """
    if not callable(metric):
        raise TypeError(f"metric must be a callable on an N x C x H x W tensor, got {type(metric).__name__}")
    if getattr(pipe, "task", None) not in ("unconditional", "class-conditional"):
        raise TypeError(f"truncation_sweep needs a generation pipeline (zoo.load of an unconditional or "
                        f"class-conditional model), got {type(pipe).__name__}")
    rows = []
    for t in thresholds:
        images = pipe(num_images=num_images, seed=seed, truncation=t, progress=False).tensors
        rows.append({"truncation": t, "value": _plain(metric(images))})
    return rows


def _plain(value: Any) -> Any:
    """0-d tensors and numpy scalars become Python numbers, so rows print and serialise cleanly."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    return value

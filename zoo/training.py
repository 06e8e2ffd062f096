"""A minimal, dependency-free training loop over an in-memory image tensor.

It drives a family's ``training_step`` for a fixed number of steps with seeded batches; enough for
tests, notebooks and fine-tuning a few steps. Multi-device training goes through
``accelerate launch zoo/train.py`` instead, which calls the same ``training_step``.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm


def train_steps(
    model,
    images: torch.Tensor,
    steps: int,
    batch_size: int = 32,
    lr: float = 2e-4,
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``model`` on ``images`` (N x C x H x W in [-1, 1]) for ``steps`` steps; returns the losses."""
    expected = (model.channels, *model.image_size)
    if images.ndim != 4 or tuple(images.shape[1:]) != expected:
        raise ValueError(f"images must be N x {' x '.join(map(str, expected))} (N x C x H x W) for this model, "
                         f"got {tuple(images.shape)}; resize them, or create the model with image_size=(H, W)")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    optimizers = model.configure_optimizers(lr=lr)
    model.train()
    history = []
    bar = tqdm(range(steps), desc=f"train {model.model_id}", disable=not progress)
    for _ in bar:
        idx = torch.randint(len(images), (min(batch_size, len(images)),), generator=gen)
        logs = model.training_step(images[idx].to(model.device, model.dtype), optimizers)
        history.append(logs)
        bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items()}, refresh=False)
    model.eval()
    return history

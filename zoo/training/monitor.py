"""Watching the discriminator over-fit during training (``zoo train --d-overfit-every``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

import torch

from zoo.data.folders import TrainingData
from zoo.training.trainer import crop_batch_center, to_model_batch

if TYPE_CHECKING:
    from zoo.training.trainer import Trainer

__all__ = ["DiscriminatorMonitor"]


class DiscriminatorMonitor:
    """Watches the discriminator over-fit: its mean raw output on a fixed batch of training reals
    against a fixed batch of held-out reals of the same distribution.

    On a small set D learns the training images themselves; its output on them then drifts away
    from its output on unseen ones (the over-fitting ADA's r_t heuristic watches, Karras et al.
    2020), so ``d_gap = d_train - d_heldout`` grows. Pass it as ``Trainer(monitor=...)``: at every
    step divisible by ``every`` (step 0 included) it appends ``{"step", "d_train", "d_heldout",
    "d_gap"}`` to :attr:`history` and calls ``on_record(record)``. The batches are raw, as in
    :attr:`TrainingData.tensors` (uint8 images); :meth:`from_data` draws them once with a seed.
    """

    def __init__(self, train_batch: Mapping[str, torch.Tensor], heldout_batch: Mapping[str, torch.Tensor],
                 every: int = 100, on_record: Callable[[dict], object] | None = None):
        if every < 1:
            raise ValueError(f"every must be >= 1 step, got {every}")
        for what, batch in (("training", train_batch), ("held-out", heldout_batch)):
            if not batch or not len(next(iter(batch.values()))):
                raise ValueError(f"the {what} batch of the discriminator monitor is empty")
        self.train_batch, self.heldout_batch = dict(train_batch), dict(heldout_batch)
        self.every, self.on_record = every, on_record
        self.history: list[dict] = []

    @classmethod
    def from_data(cls, train: TrainingData, heldout: TrainingData, every: int = 100, n: int = 64, seed: int = 0,
                  on_record: Callable[[dict], object] | None = None) -> "DiscriminatorMonitor":
        """Up to ``n`` samples of each set, drawn once with ``seed``: the same ones at every
        measurement, and again after a resume."""
        def pick(data: TrainingData) -> dict[str, torch.Tensor]:
            order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
            return {k: v[order] for k, v in data.tensors.items()}

        return cls(pick(train), pick(heldout), every, on_record)

    def __call__(self, trainer: Trainer, step: int, force: bool = False) -> dict | None:
        """The Trainer's hook: measure on the plain networks if ``step`` is due (or ``force``) and
        not yet recorded."""
        if (step % self.every and not force) or (self.history and self.history[-1]["step"] >= step):
            return None
        with trainer.unwrapped() as model:  # no DDP wrapper: its forward would sync with the other processes
            return self.measure(model, step)

    def measure(self, model, step: int) -> dict:
        """Score both batches with ``model`` (:meth:`GANModel.discriminator_score`) and record it."""
        train, held = (model.discriminator_score(to_model_batch(crop_batch_center(batch, model.image_size),
                                                                model.device, model.dtype)).mean().item()
                       for batch in (self.train_batch, self.heldout_batch))
        record = {"step": int(step), "d_train": train, "d_heldout": held, "d_gap": train - held}
        self.history.append(record)
        if self.on_record is not None:
            self.on_record(record)
        return record

    def restore(self, history: list[dict], until: int) -> None:
        """Take up an earlier run's records up to step ``until`` (a resumed run continues its curves)."""
        self.history = [dict(r) for r in history if r["step"] <= until]

    def _sizes(self) -> tuple[int, int]:
        return tuple(len(next(iter(b.values()))) for b in (self.train_batch, self.heldout_batch))

    def to_json(self) -> str:
        train_n, held_n = self._sizes()
        return json.dumps({"every": self.every, "train_samples": train_n, "heldout_samples": held_n,
                           "history": self.history}, indent=1)

    def plot(self, path: str | Path) -> Path:
        """A PNG: both mean outputs against the step (top) and their gap (bottom)."""
        from matplotlib.figure import Figure  # the object API: no pyplot, no global backend switch
        if not self.history:
            raise ValueError("the discriminator monitor has recorded nothing yet")
        train_n, held_n = self._sizes()
        steps = [r["step"] for r in self.history]
        fig = Figure(figsize=(7, 5), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        top.plot(steps, [r["d_train"] for r in self.history], marker=".", label=f"{train_n} training images")
        top.plot(steps, [r["d_heldout"] for r in self.history], marker=".", label=f"{held_n} held-out images")
        top.set_ylabel("mean raw D output")
        top.legend(fontsize="small")
        top.set_title("Discriminator over-fitting: training vs held-out reals")
        bottom.plot(steps, [r["d_gap"] for r in self.history], marker=".", color="tab:red")
        bottom.axhline(0, color="0.7", linewidth=0.8)
        bottom.set_ylabel("gap (train - held-out)")
        bottom.set_xlabel("step")
        path = Path(path)
        fig.savefig(path, dpi=120)
        return path

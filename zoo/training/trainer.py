"""The one training loop that drives every family, on accelerate.

A family supplies ``configure_optimizers`` and ``training_step(batch, optimizers, ctx)`` (its losses
and the order of its G/D updates). The loop owns the rest: devices, DDP, mixed precision (all
through accelerate), data order, randomness, EMA, augmentation, the divergence guard, checkpoints.

Determinism: everything random in step ``s`` (which samples, the latents, the augmentation) is a
function of ``(seed, s)``. A resumed run therefore continues exactly where a killed one stopped,
and a run on N processes sees the same global batches and latents as a run on one.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

import torch
from torch import nn
from tqdm.auto import tqdm

from zoo.checksums import file_digest
from zoo.data.folders import TrainingData
from zoo.errors import ZooError
from zoo.models.blocks import center_crop
from zoo.registry import constructor_defaults, get_registry
from zoo.training.augment import build_augment

__all__ = [
    "TrainingDiverged", "ResumeMismatch", "mix_seed", "ema_with_warmup", "StepContext", "TrainState",
    "crop_batch_center", "to_model_batch", "Trainer", "latest_checkpoint", "checkpoint_problem",
    "resumable_checkpoint", "needs_cpu_flag", "train_steps", "WEIGHT_LIMIT",
]

# Weights this large mean a run has blown up (a GAN's stay within a few units); the loop stops there.
WEIGHT_LIMIT = 1e4


class TrainingDiverged(ZooError):
    """A loss became NaN or infinite, or a weight left :data:`WEIGHT_LIMIT`."""


class ResumeMismatch(ZooError):
    """A checkpoint was written with other training options than the run resuming it has."""

    def __init__(self, path: Path, changed: dict[str, tuple]):
        self.path, self.changed = path, changed
        listed = "; ".join(f"{name}: {old!r} in the checkpoint, {new!r} now" for name, (old, new) in changed.items())
        super().__init__(f"{path} was written with other training options ({listed}); resume with the checkpoint's "
                         "values, or pass override=True to apply the new ones from this step on")


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (stable across runs and platforms, unlike hash())."""
    value = 0x9E3779B97F4A7C15
    for part in parts:
        value = (value ^ (part & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        value ^= value >> 31
    return value & 0x7FFFFFFFFFFFFFFF


def ema_with_warmup(decay: float):
    """An EMA update for ``AveragedModel`` whose decay ramps up as min(decay, (1 + n) / (10 + n)).

    A plain 0.999 EMA still holds 0.999**250 = 78 % of the random initial weights after 250 steps;
    the ramp lets the average follow the early, fast-moving weights, then settle at ``decay``.
    """

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        n = float(num_averaged)
        weight = 1 - min(decay, (1 + n) / (10 + n))
        floats = [(a, c) for a, c in zip(averaged, current) if a.is_floating_point()]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], weight)
        for a, c in zip(averaged, current):  # integer buffers (batch norm's counter) are copied
            if not a.is_floating_point():
                a.copy_(c)

    return update


class HeldOptimizer:
    """An optimiser whose ``step`` does nothing: its network stays as it is (and Adam's moments
    stay empty) while the family's ``training_step`` runs unchanged."""

    def __init__(self, optimizer):
        self.optimizer = optimizer

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure=None) -> None:
        pass


@dataclass
class StepContext:
    """What a family's ``training_step`` may use besides its batch and optimizers."""

    step: int
    backward: Callable[[torch.Tensor], None]
    augment: Callable[[torch.Tensor], torch.Tensor]  # before D, on real and fake alike
    noise: Callable[[int, int], torch.Tensor]  # (n, dim) latents: this process's share of the global draw
    next_batch: Callable[[], dict[str, torch.Tensor]]  # more real batches (e.g. WGAN-GP's extra critic steps)
    # frozen(D)(x): D run so that gradients reach x but none is computed for D's weights. For the
    # generator's update, where D only passes gradients through: it skips D's weight gradients
    # (the reference codes' set_requires_grad(D, False)) without toggling flags under DDP.
    frozen: Callable[[nn.Module], Callable[..., torch.Tensor]] = lambda net: net
    # False during a discriminator warm-up (``d_warmup_steps``): the generators' optimiser does
    # nothing, so a family may skip their losses and backward pass (optional: a speed-up only).
    train_generator: bool = True


@dataclass
class TrainState:
    """The loop's own checkpointed state (accelerate saves it with the models and optimizers)."""

    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    setup: dict = field(default_factory=dict)  # what must not change on resume: config, EMA networks
    loaded_setup: dict | None = None

    def state_dict(self) -> dict:
        return {"step": self.step, "history": self.history, "setup": self.setup}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.history = int(state["step"]), list(state["history"])
        self.loaded_setup = state.get("setup")


def crop_batch_center(batch: dict[str, torch.Tensor], size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """The model-sized middle of images stored larger (``Trainer`` crops those at random)."""
    return {key: center_crop(value, size) if value.ndim == 4 else value for key, value in batch.items()}


def to_model_batch(raw: dict[str, torch.Tensor], device, dtype) -> dict[str, torch.Tensor]:
    """uint8 images -> [-1, 1], uint8 masks -> {0, 1}, labels stay integers."""
    out = {}
    for key, value in raw.items():
        value = value.to(device, non_blocking=True)
        if key == "label":
            out[key] = value.long()
        elif key == "mask":
            out[key] = (value > 127).to(dtype)
        else:
            out[key] = value.to(dtype) / 127.5 - 1
    return out


def _fixed_setup(setup: dict) -> dict:
    """What a resumed run must share with its checkpoint: everything but the training options."""
    return {k: v for k, v in setup.items() if k != "options"}


class Trainer:
    """Train ``model`` on ``data`` with an :class:`accelerate.Accelerator`.

    ``batch_size`` is the global batch: each of N processes takes its 1/N share.
    """

    def __init__(
        self,
        model,
        data: TrainingData,
        *,
        batch_size: int = 32,
        lr: float | None = None,
        seed: int = 0,
        ema_decay: float = 0.0,
        augment: str | None = None,
        accelerator=None,
        progress: bool = True,
        channels_last: bool = False,
        optimizer_options: dict | None = None,
        balance_classes: bool | None = None,
        monitor: Callable[["Trainer", int], object] | None = None,
        lr_scheduler: str = "constant",
        lr_warmup_steps: int = 0,
        total_steps: int | None = None,
        d_warmup_steps: int = 0,
    ):
        """``d_warmup_steps``: for the first N steps only the discriminator learns; every other
        optimiser is held (its ``step`` does nothing, and its learning-rate schedule waits). For
        fine-tuning a GAN whose discriminator starts fresh (``--init-from``): with an untrained D, the
        generator learns only from its reconstruction losses, and for a translator those pull it back
        to the identity.

        ``monitor(trainer, step)`` is called on the main process only, at the first step and after
        each step (e.g. :class:`DiscriminatorMonitor`); it must do no collective operation, which
        would wait forever for the other processes."""
        from accelerate import Accelerator  # here, not at the top: import zoo stays light

        self.accelerator = accelerator or Accelerator(cpu=needs_cpu_flag())
        acc = self.accelerator
        if batch_size % acc.num_processes:
            raise ValueError(f"batch size {batch_size} does not split over {acc.num_processes} processes")
        if len(data) < batch_size:
            raise ValueError(f"batch size {batch_size} is larger than the data ({len(data)} samples); lower it")
        if lr is not None and not (math.isfinite(lr) and 0 < lr <= 1):
            raise ValueError(f"the learning rate must be in (0, 1] (GANs train at about 1e-5 to 1e-3), got {lr}")
        self.model, self.data, self.seed, self.progress = model, data, seed, progress
        self.monitor = monitor
        self.global_batch, self.local_batch = batch_size, batch_size // acc.num_processes
        self.state = TrainState()
        self._order: tuple[int, torch.Tensor] | None = None  # (epoch, its sample order)
        self.augment = build_augment(augment).to(acc.device)
        labelled = get_registry().task(model.task).labelled
        if balance_classes is None:  # class-conditional families learn rare classes only if they see them
            balance_classes = labelled
        if balance_classes and "label" not in data.tensors:
            raise ValueError("class balancing needs labelled data: a class-conditional model and data with a label "
                             "column or class sub-folders (or turn it off: --no-balance-classes)")
        if labelled:
            names = list(model.config["class_names"])
            labels = data.tensors.get("label")
            if labels is None or len(labels) and not (0 <= int(labels.min()) and int(labels.max()) < len(names)):
                raise ValueError(f"{model.model_id or model.family} needs a class index in 0..{len(names) - 1} "
                                 f"({names}) for every image" + ("" if labels is None else
                                 f"; got labels from {int(labels.min())} to {int(labels.max())}"))
        self.class_weights = None
        if balance_classes:  # each class drawn equally often: weight 1 / (its count)
            labels = data.tensors["label"].long()
            self.class_weights = (1.0 / torch.bincount(labels).double())[labels]

        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        # Images stored larger than the model are cropped at random each draw (the reference
        # implementations' load-size/crop-size augmentation); smaller ones cannot be used.
        stored = next((tuple(v.shape[-2:]) for v in data.tensors.values() if v.ndim == 4), tuple(model.image_size))
        if stored[0] < model.image_size[0] or stored[1] < model.image_size[1]:
            raise ValueError(f"the images are {stored[0]} x {stored[1]} but the model takes {model.image_size[0]} x "
                             f"{model.image_size[1]}; load them at least that large (or set a smaller image_size)")
        self.crop_from = stored if stored != tuple(model.image_size) else None
        model.to(acc.device, memory_format=self.memory_format)
        model.mark_trained()  # provenance: the card no longer describes the registry's weights
        model.train()
        optimizers = model.configure_optimizers(**({"lr": lr} if lr is not None else {}), **(optimizer_options or {}))
        self.names = list(model.networks())
        prepared = acc.prepare(*[model.networks()[n] for n in self.names], *optimizers.values())
        self.wrapped = dict(zip(self.names, prepared[: len(self.names)]))
        self.optimizers = dict(zip(optimizers, prepared[len(self.names):]))
        if d_warmup_steps < 0:
            raise ValueError(f"d_warmup_steps must be >= 0, got {d_warmup_steps}")
        if d_warmup_steps and not ("discriminator" in self.optimizers and len(self.optimizers) > 1):
            raise ValueError(f"{model.model_id or model.family} has no discriminator to warm up "
                             f"(its optimisers: {sorted(self.optimizers)}); drop --d-warmup-steps")
        self.d_warmup_steps = d_warmup_steps
        self._held = {name: opt if name == "discriminator" else HeldOptimizer(opt)
                      for name, opt in self.optimizers.items()}
        # The loop's state is registered first, so its checkpoint file never moves whatever else is saved.
        self.state.setup = {"config": json.loads(json.dumps(model.config)),
                            "ema": sorted(model.inference_networks) if ema_decay else []}
        if balance_classes:  # the sample order depends on it
            self.state.setup["balance_classes"] = True
        if self.crop_from is not None:  # so do the batches
            self.state.setup["crop_from"] = list(self.crop_from)
        # Options a resumed run could change without breaking the checkpoint, but only on purpose.
        self.state.setup["options"] = {"seed": seed, "batch_size": batch_size, "lr": lr, "augment": augment or "",
                                       "ema_decay": ema_decay}
        acc.register_for_checkpointing(self.state)
        self.ema: dict[str, nn.Module] = {}  # an exponential moving average of each inference network
        if ema_decay:
            # Not diffusers' EMAModel, although its warm-up rule is the same: it averages parameters
            # only, and the zoo's generators carry batch-norm running statistics that must be averaged
            # with their weights (use_buffers=True), or the exported generator would pair averaged
            # weights with the last step's statistics.
            from torch.optim.swa_utils import AveragedModel

            for name in model.inference_networks:
                self.ema[name] = AveragedModel(model.networks()[name], use_buffers=True,
                                               multi_avg_fn=ema_with_warmup(ema_decay))
                acc.register_for_checkpointing(self.ema[name])
        for part in model.training_state().values():  # last: older checkpoints keep their file numbers
            acc.register_for_checkpointing(part)
        self.schedulers = self._schedulers(lr_scheduler, lr_warmup_steps, total_steps)
        if self.schedulers:  # recorded only when used: a run without schedules compares as before
            self.state.setup["options"].update(lr_scheduler=lr_scheduler, lr_warmup_steps=lr_warmup_steps)
        if d_warmup_steps:
            self.state.setup["options"]["d_warmup_steps"] = d_warmup_steps

    def _schedulers(self, name: str, warmup: int, total: int | None) -> list:
        """One learning-rate schedule per optimiser, from diffusers (``get_scheduler``: constant,
        linear, cosine, ... with ``warmup`` steps of linear warm-up), stepped once per training step.

        They are not passed to ``accelerator.prepare``: accelerate's wrapper steps a schedule once per
        process, which would make N processes follow another schedule than one. Registered for
        checkpointing instead, so a resumed run continues the schedule where it stopped."""
        if name == "constant" and not warmup:
            return []
        if warmup < 0:
            raise ValueError(f"lr_warmup_steps must be >= 0, got {warmup}")
        try:
            from diffusers.optimization import SchedulerType, get_scheduler
        except ImportError as err:
            raise ImportError('learning-rate schedules come from diffusers: pip install diffusers') from err
        if name == "constant" and warmup:
            name = "constant_with_warmup"
        known = [t.value for t in SchedulerType if t.value != "piecewise_constant"]
        if name not in known:
            raise ValueError(f"unknown learning-rate schedule {name!r}; choose one of {known}")
        if name not in ("constant", "constant_with_warmup") and not total:
            raise ValueError(f"the {name!r} schedule needs the run's total steps (total_steps / --steps)")
        schedulers = []
        for optimizer in self.optimizers.values():
            plain = getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper holds the torch optimiser
            schedule = get_scheduler(name, plain, num_warmup_steps=warmup, num_training_steps=total)
            self.accelerator.register_for_checkpointing(schedule)
            schedulers.append(schedule)
        return schedulers

    # -- data and randomness -----------------------------------------------------------------
    def _global_indices(self, draw: int) -> torch.Tensor:
        """Sample indices of the ``draw``-th global batch: a fresh permutation each epoch, or with
        balanced classes an epoch's worth of draws weighted by 1 / class count (with replacement)."""
        per_epoch = len(self.data) // self.global_batch
        epoch, k = divmod(draw, per_epoch)
        if self._order is None or self._order[0] != epoch:  # one order per epoch, not per batch drawn
            gen = torch.Generator().manual_seed(mix_seed(self.seed, 1, epoch))
            order = (torch.randperm(len(self.data), generator=gen) if self.class_weights is None
                     else torch.multinomial(self.class_weights, len(self.data), replacement=True, generator=gen))
            self._order = (epoch, order)
        return self._order[1][k * self.global_batch : (k + 1) * self.global_batch]

    def _local_batch(self, draw: int) -> dict[str, torch.Tensor]:
        rank = self.accelerator.process_index
        idx = self._global_indices(draw)[rank * self.local_batch : (rank + 1) * self.local_batch]
        raw = {k: v[idx] for k, v in self.data.tensors.items()}
        if self.crop_from is not None:
            raw = self._random_crop(raw, draw, rank)
        batch = to_model_batch(raw, self.accelerator.device, self.model.dtype)
        return {k: v.contiguous(memory_format=self.memory_format) if v.ndim == 4 else v for k, v in batch.items()}

    def _random_crop(self, raw: dict[str, torch.Tensor], draw: int, rank: int) -> dict[str, torch.Tensor]:
        """One model-sized window per sample, the same for all of a sample's images (image and mask,
        A and B), at offsets drawn for the whole global batch from (seed, draw): N processes crop as
        one does, and a resumed run crops as the first did."""
        (big_h, big_w), (h, w) = self.crop_from, self.model.image_size
        gen = torch.Generator().manual_seed(mix_seed(self.seed, 4, draw))
        tops = torch.randint(big_h - h + 1, (self.global_batch,), generator=gen)
        lefts = torch.randint(big_w - w + 1, (self.global_batch,), generator=gen)
        mine = slice(rank * self.local_batch, (rank + 1) * self.local_batch)
        out = {}
        for key, value in raw.items():
            if value.ndim != 4:
                out[key] = value
                continue
            out[key] = torch.stack([v[:, t:t + h, left:left + w] for v, t, left in zip(value, tops[mine], lefts[mine])])
        return out

    def _context(self, step: int) -> StepContext:
        acc = self.accelerator
        rank, world = acc.process_index, acc.num_processes
        # Everything random in this step comes from (seed, step): exact resume, N-process == 1-process.
        torch.manual_seed(mix_seed(self.seed, 2, step, rank))
        latents = torch.Generator().manual_seed(mix_seed(self.seed, 3, step))
        per_step = self.model.batches_per_step
        draws = iter(range(step * per_step, (step + 1) * per_step))  # this step's real batches

        def next_batch() -> dict[str, torch.Tensor]:
            draw = next(draws, None)
            if draw is None:
                raise RuntimeError(f"{type(self.model).__name__}.training_step used more than its "
                                   f"batches_per_step = {per_step} real batches; raise batches_per_step")
            return self._local_batch(draw)

        def noise(n: int, dim: int) -> torch.Tensor:
            z = torch.randn(n * world, dim, generator=latents)[rank * n : (rank + 1) * n]
            return z.to(acc.device, self.model.dtype)

        return StepContext(step=step, backward=acc.backward, augment=self.augment, noise=noise,
                           next_batch=next_batch, frozen=self._frozen, train_generator=step >= self.d_warmup_steps)

    def _frozen(self, net: nn.Module) -> Callable[..., torch.Tensor]:
        # The plain module (its forward keeps accelerate's autocast), with detached weights: a DDP
        # wrapper's forward would make it wait for weight gradients that never come.
        plain = self.accelerator.unwrap_model(net)
        weights = {name: p.detach() for name, p in plain.named_parameters()}
        return lambda *args, **kwargs: torch.func.functional_call(plain, weights, args, kwargs)

    # -- the loop ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def unwrapped(self):
        """The model with its plain networks (for sampling and saving), the wrappers put back after."""
        for name in self.names:
            setattr(self.model, name, self.accelerator.unwrap_model(self.wrapped[name]))
        try:
            yield self.model
        finally:
            self._wrap()

    def release(self) -> None:
        """Leave the model with its plain networks for good (after training in-process); EMA weights
        replace the raw ones where EMA is on, as in the exported model."""
        for name in self.names:
            setattr(self.model, name, self.accelerator.unwrap_model(self.wrapped[name], keep_fp32_wrapper=False))
        for name, average in self.ema.items():
            self.model.networks()[name].load_state_dict(average.module.state_dict())
        self.model.eval()

    def _wrap(self) -> None:
        for name in self.names:
            setattr(self.model, name, self.wrapped[name])

    def steps(self, until: int) -> Iterator[dict[str, float]]:
        """Train up to step ``until``, yielding each step's losses (after the step)."""
        acc = self.accelerator
        self._wrap()
        self.model.train()
        bar = tqdm(total=until, initial=self.state.step, desc=f"train {self.model.model_id}", unit="step",
                   disable=not (self.progress and acc.is_main_process), dynamic_ncols=True)
        started, first = time.perf_counter(), self.state.step
        try:
            self._observe()
            while self.state.step < until:
                step = self.state.step
                ctx = self._context(step)
                optimizers = self.optimizers if ctx.train_generator else self._held
                logs = self.model.training_step(ctx.next_batch(), optimizers, ctx)
                bad = [k for k, v in logs.items() if not math.isfinite(v)]
                # Every process must stop together, or the others would wait forever in the next step.
                if acc.num_processes > 1:
                    anywhere = acc.reduce(torch.tensor([float(bool(bad))], device=acc.device), reduction="sum")
                    if anywhere.item() and not bad:
                        bad = ["a loss on another process"]
                        logs = {bad[0]: float("nan")}
                if bad:
                    raise TrainingDiverged(
                        f"{', '.join(bad)} became {logs[bad[0]]} at step {step}: training diverged. The last "
                        "checkpoint before it is intact; lower the learning rate (--lr) or the batch size, or "
                        "enable augmentation, and resume from it."
                    )
                if step % 10 == 0:
                    self._check_weights(step)
                for name, average in self.ema.items():
                    average.update_parameters(acc.unwrap_model(self.wrapped[name]))
                for name, schedule in zip(self.optimizers, self.schedulers):
                    if optimizers[name] is self.optimizers[name]:  # a held network's schedule waits with it
                        schedule.step()
                self.state.step += 1
                self.state.history.append(logs)
                self._observe()
                rate = (self.state.step - first) * self.global_batch / max(time.perf_counter() - started, 1e-9)
                bar.update(1)
                bar.set_postfix({**{k: f"{v:.3f}" for k, v in logs.items()}, "img/s": f"{rate:.0f}"}, refresh=False)
                yield logs
        finally:
            bar.close()

    def _check_weights(self, step: int) -> None:
        """Stop when a weight is no longer finite or beyond WEIGHT_LIMIT: losses can stay finite while
        the weights run away (seen at --lr 1e6: weights of 1e31 and finite losses)."""
        for name in self.names:
            weights = [p.detach() for p in self.accelerator.unwrap_model(self.wrapped[name]).parameters()]
            if not weights:
                continue
            largest = float(torch.stack([w.abs().amax().float() for w in weights]).max())
            if not largest <= WEIGHT_LIMIT:  # NaN fails this comparison too
                raise TrainingDiverged(
                    f"a weight of {name} reached {largest:.3g} at step {step} (the limit is {WEIGHT_LIMIT:g}): "
                    "training diverged. The last checkpoint before it is intact; lower the learning rate (--lr) "
                    "and resume from it.")

    def _observe(self) -> None:
        if self.monitor is not None and self.accelerator.is_main_process:
            self.monitor(self, self.state.step)

    def export_model(self):
        """A stand-alone copy of the model for saving: plain networks, their EMA where enabled."""
        with self.unwrapped() as model:
            export = copy.deepcopy(model)
        for name, average in self.ema.items():
            export.networks()[name].load_state_dict(average.module.state_dict())
        return export.eval()

    # -- checkpoints --------------------------------------------------------------------------
    def save_checkpoint(self, folder: str | Path, keep: int = 3) -> Path:
        """Everything needed to resume, written atomically: a temp folder with a manifest of its files'
        sizes and SHA-256, renamed into place. A full disk raises a ZooError saying so."""
        acc = self.accelerator
        folder = Path(folder)
        final = folder / f"step-{self.state.step:07d}"
        tmp = folder / f".tmp-step-{self.state.step:07d}"
        if final.exists():  # this step is saved already (a resumed run that had nothing left to do)
            return final
        acc.wait_for_everyone()
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
        acc.wait_for_everyone()
        try:
            acc.save_state(str(tmp))
            acc.wait_for_everyone()
            if acc.is_main_process:
                manifest = {f.name: {"size": f.stat().st_size, "sha256": file_digest(f)} for f in sorted(tmp.iterdir())}
                (tmp / MANIFEST).write_text(json.dumps({"step": self.state.step, "files": manifest}, indent=1))
        except (OSError, RuntimeError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if _disk_full(exc):
                intact = latest_checkpoint(folder)
                raise ZooError(f"no space left on the device writing the checkpoint {final} "
                               f"({shutil.disk_usage(folder).free / 2**20:.0f} MB free): free some space or lower "
                               "--keep, then resume" + (f"; {intact.name} is intact" if intact else "")) from exc
            raise
        acc.wait_for_everyone()
        if acc.is_main_process:
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            for old in sorted(folder.glob("step-*"))[:-keep]:
                shutil.rmtree(old, ignore_errors=True)
        acc.wait_for_everyone()
        return final

    def load_checkpoint(self, path: str | Path, override: bool = False) -> dict[str, tuple]:
        """Restore everything from a checkpoint of this same setup (config, EMA), or say what differs.

        Training options (seed, batch size, learning rate, augmentation, EMA decay) that differ from
        the checkpoint's raise :class:`ResumeMismatch`; with ``override`` the new ones apply from
        this step on (the learning rate replaces the checkpoint optimizer's). Returns what changed.
        """
        fresh_lrs = [[group["lr"] for group in opt.param_groups] for opt in self.optimizers.values()]
        acc = self.accelerator
        # A checkpoint written without EMA has no EMA state to restore: with --ema given now, the
        # average starts from the resumed networks (accelerate matches saved objects by position).
        starts_ema = bool(self.ema) and len(list(Path(path).glob("custom_checkpoint_*.pkl"))) == (
            len(acc._custom_objects) - len(self.ema))
        registered = list(acc._custom_objects)
        if starts_ema:
            acc._custom_objects[:] = [obj for obj in registered if all(obj is not e for e in self.ema.values())]
        try:
            acc.load_state(str(path))
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ZooError(f"{path} does not fit this run ({type(exc).__name__}: {exc}); resume with the same "
                           "--set overrides, --ema and --lr-scheduler as the run that wrote it") from None
        finally:
            acc._custom_objects[:] = registered
        if starts_ema:
            for name, average in self.ema.items():
                average.module.load_state_dict(self.model.networks()[name].state_dict())
                average.n_averaged.zero_()
        loaded = self.state.loaded_setup
        if loaded is None:
            return {}
        then_setup, now_setup = _fixed_setup(loaded), _fixed_setup(self.state.setup)
        if starts_ema and not then_setup.get("ema"):
            then_setup["ema"] = now_setup.get("ema")  # --ema is an option here, checked with the others
        if "config" in then_setup and "config" in now_setup:
            # A constructor option newer than the checkpoint, left at its default, is how the run was trained.
            defaults = constructor_defaults(type(self.model))
            now_setup["config"] = {k: v for k, v in now_setup["config"].items()
                                   if k in then_setup["config"] or k not in defaults or v != defaults[k]}
        if then_setup != now_setup:
            raise ZooError(f"{path} was written with {then_setup}, this run has {now_setup}; "
                           "resume with the same --set overrides, --ema and --balance-classes")
        then, now = loaded.get("options"), self.state.setup["options"]
        if then is None:  # written before options were recorded: nothing to compare
            return {}
        # Options a checkpoint does not record (written before they existed, or a schedule unused) are
        # compared with their defaults.
        defaults = {"lr_scheduler": "constant", "lr_warmup_steps": 0, "d_warmup_steps": 0}
        keys = set(then) | set(now)
        changed = {k: (then.get(k, defaults.get(k)), now.get(k, defaults.get(k))) for k in sorted(keys)
                   if then.get(k, defaults.get(k)) != now.get(k, defaults.get(k))}
        if changed and not override:
            raise ResumeMismatch(Path(path), changed)
        if self.schedulers and {"lr_scheduler", "lr_warmup_steps", "lr"} & set(changed):
            raise ZooError("a resumed run cannot change its learning-rate schedule (the schedule's state comes "
                           "from the checkpoint); start a new run for another schedule")
        if "lr" in changed:  # the optimizers' state came from the checkpoint; its rate must not
            for opt, lrs in zip(self.optimizers.values(), fresh_lrs):
                for group, lr in zip(opt.param_groups, lrs):
                    group["lr"] = lr
        return changed


MANIFEST = "manifest.json"


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC, or torch's writer failing the way it does when the disk fills (a RuntimeError)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return "write failed" in str(exc) or "No space left" in str(exc)


def _safetensors_problem(path: Path) -> str | None:
    """Whether a .safetensors file is whole: its header parses and its tensors end where the file does."""
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if not 0 < n <= path.stat().st_size - 8:
                return f"{path.name} is truncated"
            header = json.loads(f.read(n))
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return f"{path.name} is not a readable safetensors file"
    return None if 8 + n + end == path.stat().st_size else f"{path.name} is truncated"


def checkpoint_problem(path: str | Path, verify_hashes: bool = True) -> str | None:
    """Why the checkpoint folder ``path`` cannot be resumed from (missing, truncated or changed files),
    or None when it is whole. Checkpoints carry a manifest of their files' sizes and SHA-256; older
    ones without it are checked for their model and optimizer files and whole safetensors."""
    path = Path(path)
    files = {f.name: f for f in path.iterdir()} if path.is_dir() else {}
    if not files:
        return "it is empty" if path.is_dir() else "it is not a folder"
    if MANIFEST in files:
        try:
            listed = json.loads(files[MANIFEST].read_text())["files"]
        except (OSError, ValueError, KeyError):
            return f"its {MANIFEST} is unreadable"
        for name, fact in listed.items():
            if name not in files:
                return f"{name} is missing"
            if files[name].stat().st_size != fact["size"]:
                return f"{name} has {files[name].stat().st_size} bytes, not the {fact['size']} written"
            if verify_hashes and file_digest(files[name]) != fact["sha256"]:
                return f"{name} has changed since it was written (SHA-256 differs)"
        return None
    for needed in ("model.safetensors", "optimizer.bin"):
        if needed not in files:
            return f"{needed} is missing"
    for name in sorted(files):
        if name.endswith(".safetensors") and (problem := _safetensors_problem(files[name])):
            return problem
    return None


def latest_checkpoint(folder: str | Path) -> Path | None:
    found = sorted(Path(folder).glob("step-*"))
    return found[-1] if found else None


def resumable_checkpoint(folder: str | Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest whole checkpoint in ``folder``, and the newer ones passed over with the reason."""
    skipped = []
    for path in sorted(Path(folder).glob("step-*"), reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
    return None, skipped


def needs_cpu_flag() -> bool:
    """Multi-process without any accelerator: accelerate must be told to use CPU (gloo)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


def train_steps(
    model,
    images: torch.Tensor | Mapping[str, torch.Tensor],
    steps: int,
    batch_size: int = 32,
    lr: float | None = None,
    seed: int = 0,
    progress: bool = True,
    labels: torch.Tensor | None = None,
    **trainer_options,
) -> list[dict[str, float]]:
    """Train ``model`` on in-memory tensors for ``steps`` steps: the same loop as
    ``accelerate launch zoo/train.py``, for notebooks and tests.

    ``images``: N x C x H x W in [-1, 1] for the noise-to-image families (with ``labels``, N class
    indices, for class-conditional ones), or the batch the family's ``training_step`` reads:
    ``{"A": ..., "B": ...}`` for translation, ``{"image": ..., "mask": ...}`` for masked edits
    (images in [-1, 1], masks in {0, 1}).
    """
    tensors = dict(images) if isinstance(images, Mapping) else {"image": images}
    if labels is not None:
        tensors["label"] = labels
    if ("label" in tensors) != get_registry().task(model.task).labelled:
        raise ValueError(f"labels are needed for a model of a labelled task (class-conditional) and only for one "
                         f"({model.task})")
    expected = (model.channels, *model.image_size)
    stored = {}
    for key, value in tensors.items():
        value = torch.as_tensor(value)
        if key == "label":
            stored[key] = value.long()
        elif key == "mask":
            stored[key] = ((value > 0.5) * 255).to(torch.uint8)
        else:
            if value.ndim != 4 or tuple(value.shape[1:]) != expected:
                raise ValueError(f"images must be N x {' x '.join(map(str, expected))} (N x C x H x W) for this "
                                 f"model, got {tuple(value.shape)}; resize them, or create the model with "
                                 "image_size=(H, W)")
            stored[key] = ((value.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    sizes = {key: len(value) for key, value in stored.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"every tensor needs the same number of samples, got {sizes}")
    n = next(iter(sizes.values()))
    trainer = Trainer(model, TrainingData(stored), batch_size=min(batch_size, n), lr=lr,
                      seed=seed, progress=progress, **trainer_options)
    with torch.random.fork_rng(devices=[]):  # the loop reseeds the global RNG each step: keep the caller's
        history = list(trainer.steps(steps))
    trainer.release()
    return history

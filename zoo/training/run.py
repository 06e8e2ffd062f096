"""One training run as ``zoo train`` / ``accelerate launch zoo/train.py`` does it: data, model,
trainer, checkpoints, samples, logs and the exported model folder."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import socket
import time
from pathlib import Path

import torch

__all__ = ["run", "start_from", "reproducible_command", "run_folder_lock", "OPTION_FLAGS"]

# Trainer options as zoo train spells them (for messages about a resumed run).
OPTION_FLAGS = {"seed": "--seed", "batch_size": "--batch-size", "lr": "--lr", "augment": "--augment",
                "ema_decay": "--ema", "lr_scheduler": "--lr-scheduler", "lr_warmup_steps": "--lr-warmup-steps",
                "d_warmup_steps": "--d-warmup-steps"}


def _log_with(choice: str):
    if choice == "none":
        return None
    if choice == "auto":
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            return None
        return "tensorboard"
    return choice


def _recorded_settings(out: Path) -> dict:
    """What an earlier run in ``out`` recorded in run.json (its precision and processes), or {}."""
    try:
        return json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def reproducible_command(command: str, mixed_precision: str, num_processes: int) -> str:
    """``command`` with the settings the launcher gave (accelerate launch's --mixed_precision and
    --num_processes, or accelerate's config file), so that command.txt and the card rerun the run."""
    if command.startswith("accelerate launch "):
        rest = command[len("accelerate launch "):]
        return (f"accelerate launch --num_processes {num_processes} --mixed_precision {mixed_precision} "
                + rest)
    if mixed_precision != "no" and "--mixed-precision" not in command:
        command += f" --mixed-precision {mixed_precision}"
    if num_processes > 1:  # zoo train run by a launcher: say so in the launcher's words
        command = (f"accelerate launch --num_processes {num_processes} zoo/train.py "
                   + command.removeprefix("zoo train "))
    return command


@contextlib.contextmanager
def run_folder_lock(out: Path):
    """Hold ``out`` for one training run: a second ``zoo train`` into it fails at once, naming the first.

    An OS file lock (flock), so a killed run leaves no stale lock behind. Only the first process of
    each machine takes it; the other processes of a multi-process run share the folder with it.
    """
    from filelock import FileLock, Timeout

    from zoo.errors import ZooError

    if int(os.environ.get("LOCAL_RANK", "0")) != 0:
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    lock, owner = FileLock(str(out / ".zoo-train.lock")), out / ".zoo-train.owner"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            who = owner.read_text().strip()
        except OSError:
            who = "another process"
        raise ZooError(f"{out} is in use by another zoo train ({who}); wait for it to end, or train into "
                       "another --out folder") from None
    try:
        started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        owner.write_text(f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n")
        yield
    finally:
        lock.release()


def _history(recorded: dict, command: str, step: int, changed: dict) -> tuple[list[dict], str]:
    """run.json's segments (``recorded``) with this one added, and command.txt's text: the newest
    command, or every segment's command when options were changed on resume (then no single command
    reproduces the run)."""
    segments = [s for s in recorded.get("segments", []) if s["from_step"] < step] if step else []
    segments.append({"from_step": step, "command": command,
                     **({"changed": {OPTION_FLAGS[k]: v for k, v in changed.items()}} if changed else {})})
    if not any("changed" in s for s in segments):
        return segments, command
    ends = [s["from_step"] for s in segments[1:]] + [None]
    lines = []
    for segment, end in zip(segments, ends):
        lines.append(f"# steps {segment['from_step']}-{'' if end is None else end}")
        lines.append(segment["command"])
    return segments, "\n".join(lines)


def split_record(args: argparse.Namespace, held) -> dict:
    """How the data was split, for the exported config.json: zoo evaluate reproduces and checks it."""
    if held is None:
        return {"holdout": 0.0}
    names = "\n".join(sorted(Path(f).name for f in held.files))
    return {"holdout": args.holdout, "group_column": args.group_column, "split_seed": args.split_seed,
            "heldout_images": len(held), "heldout_sha256": hashlib.sha256(names.encode()).hexdigest()}


def shown_path(path: Path, outside: str = "<data>") -> str:
    """``path`` as a card shows it: relative to the working folder when inside it, else its last
    folder behind ``outside`` (an absolute path names a home folder, a user, a hospital share)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"{outside}/{Path(path).resolve().name}"


def _shown(value) -> str:
    """An option's value as a message shows it."""
    if value is None:
        return "the family's default"
    if isinstance(value, str):
        return repr(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def start_from(model, source: str) -> list[str]:
    """Copy the trained networks of ``source`` (a model id, Hub repo or folder) into ``model``, for
    fine-tuning; returns their names. Networks ``source`` does not ship (e.g. discriminators) keep
    their fresh weights. Read from safetensors, like every load."""
    from zoo.errors import ZooError
    from zoo.hub.loading import load_model
    from zoo.hub.weights import state_mismatches

    trained = load_model(source, dtype=torch.float32)
    if type(trained) is not type(model):
        raise ZooError(f"--init-from {source} is a {type(trained).__name__} model and this run trains a "
                       f"{type(model).__name__}: start from a model of the same family")
    copied, ours = [], model.networks()
    for name, net in trained.networks().items():
        if name in trained.absent_networks:
            continue
        theirs = net.state_dict()
        unfit = state_mismatches(ours[name].state_dict(), theirs, theirs="there", ours="here")
        if unfit:
            raise ZooError(f"--init-from {source}: its {name} does not fit this run's ({'; '.join(unfit)}). "
                           "Give the run the --set values of the model it starts from (its config.json)")
        ours[name].load_state_dict(theirs)
        copied.append(name)
    return copied


def run(args: argparse.Namespace, command: str) -> Path:
    """Train as ``args`` say; returns the exported model folder."""
    import zoo
    from zoo.errors import ZooError

    if args.d_overfit_every and not args.holdout:  # before any slow work
        raise ZooError("--d-overfit-every compares D on training and held-out images: add --holdout, e.g. "
                       "--holdout 0.1 (with --group-column lesion_id where shots of one lesion must stay together)")
    if args.d_overfit_every and not zoo.info(args.model).model_class.adversarial:
        raise ZooError(f"--d-overfit-every watches a discriminator, and {args.model} is trained without one "
                       "(a diffusion model): leave the option out")
    out: Path = args.out
    with run_folder_lock(out):
        return _run(args, command, out)


def _run(args: argparse.Namespace, command: str, out: Path) -> Path:
    import numpy as np
    from accelerate import Accelerator

    import zoo
    from zoo.cli.types import parse_overrides
    from zoo.data.folders import load_training_data, split_by_group
    from zoo.errors import ZooError
    from zoo.training.monitor import DiscriminatorMonitor
    from zoo.training.samples import grid_image, sample_grid
    from zoo.training.trainer import (
        ResumeMismatch,
        Trainer,
        TrainingDiverged,
        latest_checkpoint,
        needs_cpu_flag,
        resumable_checkpoint,
    )

    checkpoints = out / "checkpoints"
    if not args.resume and latest_checkpoint(checkpoints) is not None:  # before any slow work
        raise ZooError(f"{out} already holds checkpoints of a run: continue it with --resume latest, "
                       "or start afresh in another --out folder")
    recorded = _recorded_settings(out) if args.resume else {}
    mixed_precision = args.mixed_precision
    if mixed_precision is None and recorded.get("mixed_precision") not in (None, "no"):
        mixed_precision = recorded["mixed_precision"]  # a resumed run keeps its precision
    accelerator = Accelerator(cpu=needs_cpu_flag(), mixed_precision=mixed_precision,
                              log_with=_log_with(args.log_with), project_dir=str(out))
    if recorded and accelerator.mixed_precision != recorded.get("mixed_precision"):
        how = "as recorded in run.json" if args.mixed_precision is None else "from --mixed-precision"
        accelerator.print(f"mixed precision: {accelerator.mixed_precision} ({how}; the run started with "
                          f"{recorded.get('mixed_precision')})")
    command = reproducible_command(command, accelerator.mixed_precision, accelerator.num_processes)
    torch.manual_seed(args.seed)  # the initial weights, like everything after them, follow --seed
    overrides = parse_overrides(args.set)
    model = zoo.create(args.model, **overrides)
    spec = zoo.info(args.model)
    conditional = zoo.get_registry().task(model.task).labelled
    # A class-conditional model learns the data's own classes unless --set class_names=[...] fixes them.
    class_names = () if conditional and "class_names" not in overrides else model.config.get("class_names") or ()
    load_size = model.image_size
    if args.load_size:
        if len(args.load_size) > 2:
            raise ZooError(f"--load-size takes H or H W, got {args.load_size}")
        load_size = tuple(args.load_size) * (2 if len(args.load_size) == 1 else 1)
        if load_size[0] < model.image_size[0] or load_size[1] < model.image_size[1]:
            raise ZooError(f"--load-size {load_size[0]} x {load_size[1]} is smaller than the model's image_size "
                           f"{model.image_size[0]} x {model.image_size[1]}; crops are taken from the loaded images")
    data = load_training_data(args.data, model.task, load_size, model.channels,
                              class_names=tuple(class_names),
                              label_column=args.label_column, group_column=args.group_column,
                              progress=accelerator.is_main_process and not args.no_progress)
    if conditional and tuple(model.config["class_names"]) != data.class_names:
        accelerator.print(f"classes: {list(data.class_names)}, from the data's {args.label_column!r} column")
        torch.manual_seed(args.seed)
        model = zoo.create(args.model, **{**overrides, "class_names": list(data.class_names)})
    if args.init_from:  # a resumed run then loads its checkpoint over these
        copied = start_from(model, args.init_from)
        accelerator.print(f"started from {args.init_from}: {', '.join(copied)} (the other networks start fresh)")
    held = None
    if args.holdout:
        data, held = split_by_group(data, args.holdout, seed=args.split_seed)
        if accelerator.is_main_process:  # what the model never saw, for evaluation
            out.mkdir(parents=True, exist_ok=True)
            (out / "heldout.txt").write_text("\n".join(held.files) + "\n")
    accelerator.print(f"data: {args.data}: {data.describe()}"
                      + (f"; held out {len(held)} (heldout.txt)" if held else ""))
    if conditional:  # a class only in the held-out part would get an embedding that never trains
        missing = [n for n, c in zip(data.class_names, torch.bincount(data.tensors["label"].long(),
                                                                       minlength=len(data.class_names))) if not c]
        if missing:
            raise ZooError(f"classes {missing} have no training image after the hold-out split; lower --holdout, "
                           "change --split-seed, or drop those classes")
    monitor = None
    if args.d_overfit_every:  # runs on the main process only (the Trainer sees to it)
        monitor = DiscriminatorMonitor.from_data(
            data, held, every=args.d_overfit_every, n=64, seed=args.seed,
            on_record=lambda r: accelerator.log({k: v for k, v in r.items() if k != "step"}, step=r["step"]))
    trainer = Trainer(model, data, batch_size=args.batch_size, lr=args.lr, seed=args.seed, ema_decay=args.ema,
                      augment=args.augment, accelerator=accelerator, progress=not args.no_progress,
                      balance_classes=args.balance_classes, monitor=monitor,
                      optimizer_options={"fused": True} if args.fused_adam else None,
                      lr_scheduler=args.lr_scheduler, lr_warmup_steps=args.lr_warmup_steps, total_steps=args.steps,
                      d_warmup_steps=args.d_warmup_steps)
    changed: dict = {}
    if args.resume:
        if args.resume == "latest":
            path, damaged = resumable_checkpoint(checkpoints)
            accelerator.wait_for_everyone()  # every process has chosen before any is moved aside
            for bad, problem in damaged:
                aside = bad.with_name(f"damaged-{bad.name}")
                accelerator.print(f"warning: {bad} cannot be resumed from ({problem}); "
                                  + (f"moved aside to {aside.name}" if accelerator.is_main_process else "skipped"))
                if accelerator.is_main_process:
                    bad.rename(aside)
            if damaged and path is not None:
                accelerator.print(f"resuming from the newest whole checkpoint, {path.name}")
        else:
            path = Path(args.resume)
        if path is None:
            accelerator.print(f"no whole checkpoint in {checkpoints} yet: starting from step 0")
        else:
            try:
                changed = trainer.load_checkpoint(path, override=args.override_resume)
            except ResumeMismatch as exc:
                listed = "; ".join(f"{OPTION_FLAGS[k]} {_shown(old)} in the checkpoint, {_shown(new)} now"
                                   for k, (old, new) in exc.changed.items())
                raise ZooError(f"{path} was trained with other options ({listed}). Resume with the run's values "
                               f"({out / 'command.txt'}), or add --override-resume to train on with the new "
                               "ones from this step (recorded in command.txt and run.json)") from None
            accelerator.print(f"resumed from {path} at step {trainer.state.step}")
            if changed:
                accelerator.print("--override-resume: from this step on " + ", ".join(
                    f"{OPTION_FLAGS[k]} {_shown(new)} (was {_shown(old)})" for k, (old, new) in changed.items()))
            if monitor is not None and (out / "d_overfit.json").is_file():  # continue the curves
                monitor.restore(json.loads((out / "d_overfit.json").read_text())["history"], trainer.state.step)
    if accelerator.is_main_process:
        (out / "samples").mkdir(parents=True, exist_ok=True)
        segments, command = _history(recorded, command, trainer.state.step, changed)
        (out / "command.txt").write_text(command + "\n")
        settings = {"command": command, "mixed_precision": accelerator.mixed_precision,
                    "num_processes": accelerator.num_processes, "segments": segments}
        (out / "run.json").write_text(json.dumps(settings, indent=1) + "\n")
    accelerator.init_trackers("train", config={"command": command, "model": args.model, "steps": args.steps})

    def save_samples(step: int) -> None:
        if not accelerator.is_main_process:
            return
        plain = trainer.export_model()  # what will be exported: the EMA networks where EMA is on
        grid = grid_image(sample_grid(plain, data, seed=args.seed))
        grid.save(out / "samples" / f"step-{step:07d}.png")
        for tracker in accelerator.trackers:
            if tracker.name == "tensorboard":
                tracker.log_images({"samples": np.asarray(grid.convert("RGB"))[None].transpose(0, 3, 1, 2)},
                                   step=step)

    def save_d_overfit(plot: bool) -> None:
        """RUN/d_overfit.json (with each checkpoint, so a resumed run keeps its curves) and the plot."""
        if monitor is None or not accelerator.is_main_process or not monitor.history:
            return
        (out / "d_overfit.json").write_text(monitor.to_json() + "\n")
        if plot:
            monitor.plot(out / "d_overfit.png")

    deadline = time.monotonic() + args.max_time if args.max_time else None
    try:
        for logs in trainer.steps(args.steps):
            step = trainer.state.step
            if step % args.log_every == 0:
                accelerator.log(logs, step=step)
            if step % args.sample_every == 0:
                save_samples(step)
            if step % args.checkpoint_every == 0 and step < args.steps:
                trainer.save_checkpoint(checkpoints, keep=args.keep)
                save_d_overfit(plot=False)
            if deadline is not None:
                if time.monotonic() > deadline:
                    accelerator.set_trigger()
                if accelerator.check_trigger():  # every process stops at the same step
                    accelerator.print(f"zoo train: --max-time reached at step {step} of {args.steps}; saving")
                    break
    except TrainingDiverged as exc:
        accelerator.print(f"zoo train: stopped: {exc}")
        save_d_overfit(plot=True)  # the curves up to the divergence, for diagnosis
        accelerator.end_training()
        raise SystemExit(3) from None

    if monitor is not None and accelerator.is_main_process:  # the last step too: --max-time stops anywhere
        monitor(trainer, trainer.state.step, force=True)
    trainer.save_checkpoint(checkpoints, keep=args.keep)
    save_d_overfit(plot=True)
    save_samples(trainer.state.step)
    bundle = out / "model"
    if accelerator.is_main_process:
        export = trainer.export_model()
        export.training_split = split_record(args, held)
        shown = shown_path(args.data)  # the card is for others: no home folders or user names in it
        facts = {
            "training_data": (f"`{shown}`: {data.describe()}. Trained {trainer.state.step} steps with "
                              f"`{command.replace(str(args.data), shown)}`. State the data's source and licence "
                              "here before sharing."),
            "intended_use": spec.intended_use or "Research.",
            "limitations": spec.limitations or "Not stated.",
            "license": "other",  # the training data's terms apply; the uploader must state them
            "load_name": shown_path(bundle, "<run>"),  # "How to use" loads this run's model, not the registry's
        }
        export.save_pretrained(bundle, model_card_kwargs=facts)
        accelerator.print(f"model: {bundle} (zoo.load({str(bundle)!r}))")
    accelerator.end_training()
    return bundle

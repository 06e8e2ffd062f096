"""Train any zoo model on a folder of images.

    accelerate launch zoo/train.py --model dcgan-lesions --data ../shared/data/ham10000 --out runs/dcgan
    zoo train --model dcgan-lesions --data ../shared/data/ham10000 --out runs/dcgan   # the same, one process

The same command runs on a laptop CPU, one or several GPUs or a TPU: accelerate decides (configure
it once with `accelerate config`, or pass `accelerate launch --multi_gpu --num_processes 2 ...`).
A run folder holds checkpoints/ (resume with --resume latest), samples/ (a PNG grid every
--sample-every steps), TensorBoard logs, and model/: the trained model in save_pretrained format,
which `zoo.load("RUN_DIR/model")` opens.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file (accelerate launch zoo/train.py), Python puts zoo/ itself first on sys.path,
    # where our module names (data, images, ...) would shadow other packages'. Take it off.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

import argparse
import json
import shlex
import time

import numpy as np
import torch

EXAMPLE = ("accelerate launch zoo/train.py --model dcgan-lesions --data ../shared/data/ham10000 "
           "--out runs/dcgan --steps 5000 --ema 0.999 --augment translation,color --set image_size=[64,64]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo train", description=__doc__, epilog=f"example:\n  {EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="registry id, e.g. dcgan-lesions (zoo list)")
    parser.add_argument("--data", required=True, type=Path, help="training folder (layout: see zoo/data.py)")
    parser.add_argument("--out", required=True, type=Path, help="run folder")
    parser.add_argument("--steps", type=positive_int, default=2000, help="total generator steps (default 2000)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="global batch, split over processes")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: the family's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="constructor override, JSON value: --set image_size=[128,96] --set g_features=128")
    parser.add_argument("--ema", type=_decay, default=0.0, metavar="DECAY", help="EMA of G, e.g. 0.999 (0: off)")
    parser.add_argument("--augment", default="", help="DiffAugment policy: comma-separated translation,cutout,color")
    parser.add_argument("--max-time", type=duration, default=None, metavar="TIME",
                        help="stop after this wall time and save as at the last step, e.g. 3600, 45:00 or 1:30:00 "
                             "(seconds, MM:SS or HH:MM:SS); --resume latest continues toward --steps")
    parser.add_argument("--checkpoint-every", type=positive_int, default=500)
    parser.add_argument("--keep", type=positive_int, default=3, help="checkpoints kept (the newest)")
    parser.add_argument("--sample-every", type=positive_int, default=250, help="write samples/step-N.png every N steps")
    parser.add_argument("--log-every", type=positive_int, default=10)
    parser.add_argument("--resume", default=None, help="'latest' or a checkpoint folder")
    parser.add_argument("--label-column", default="dx", help="labels.csv column holding the class")
    parser.add_argument("--balance-classes", action=argparse.BooleanOptionalAction, default=None,
                        help="draw every class equally often (default: on for class-conditional models)")
    parser.add_argument("--group-column", default=None, help="labels.csv column grouping shots (lesion_id)")
    parser.add_argument("--holdout", type=float, default=0.0, help="fraction held out, split by --group-column")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the held-out split (kept apart from --seed)")
    parser.add_argument("--d-overfit-every", type=positive_int, default=None, metavar="N",
                        help="every N steps, D's mean raw output on 64 fixed training vs 64 fixed held-out images "
                             "(needs --holdout): logged as d_train, d_heldout, d_gap; RUN/d_overfit.json and .png")
    parser.add_argument("--load-size", type=positive_int, nargs="+", default=None, metavar="SIZE",
                        help="load the images at H (or H W), larger than the model's image_size, and train on a "
                             "random model-sized crop of each (the reference's --load_size/--crop_size)")
    parser.add_argument("--fused-adam", action="store_true",
                        help="Adam's fused kernel (torch.optim.Adam(fused=True)): faster steps for large generators")
    parser.add_argument("--mixed-precision", choices=["no", "bf16", "fp16"], default=None,
                        help="default: accelerate's setting (accelerate launch --mixed_precision ...)")
    parser.add_argument("--log-with", default="auto", help="'tensorboard', 'none' or 'auto' (tensorboard if installed)")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def positive_float(text: str) -> float:
    """An argparse type: a number > 0 (shared with zoo.cli and zoo evaluate-augmentation)."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def duration(text: str) -> float:
    """Seconds from ``3600``, ``45:00`` (MM:SS) or ``1:30:00`` (HH:MM:SS); positive."""
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected seconds, MM:SS or HH:MM:SS, got {text!r}")
    seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return seconds


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (shared with zoo.cli)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _decay(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (0: off), got {value}")
    return value


def parse_overrides(items: list[str]) -> dict:
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"zoo train: error: --set takes KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value  # a bare string
    return overrides


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


def sample_grid(model, data, seed: int = 0, n: int = 16) -> torch.Tensor:
    """A fixed set of samples in [0, 1] for watching a run: generations, or edits of the first images."""
    from zoo.pipelines import pipeline_for
    from zoo.i2i import edit_inputs
    from zoo.training import crop_batch_center, to_model_batch

    if model.task in ("unconditional", "class-conditional"):
        return pipeline_for(model)(num_images=n, seed=seed, progress=False).tensors
    batch = to_model_batch(crop_batch_center({k: v[:8] for k, v in data.tensors.items()}, model.image_size),
                           model.device, model.dtype)
    with torch.no_grad():
        if model.task == "masked-edit":
            mode = model.config.get("direction", "remove")
            image, mask = edit_inputs(batch, mode, model.config.get("prefill", False))  # as in training
            rows = [image, mask.expand_as(image) * 2 - 1, model.edit(image, mask, mode)]
        elif model.task == "unpaired-translation":  # both directions: A, A->B, B, B->A
            rows = [batch["A"], model.translate(batch["A"], "AtoB"), batch["B"], model.translate(batch["B"], "BtoA")]
        else:  # paired: input, output, target
            rows = [batch["A"], model.translate(batch["A"], "AtoB"), batch["B"]]
    return ((torch.cat(rows).float().cpu() + 1) / 2).clamp(0, 1)


def grid_image(pixels: torch.Tensor, columns: int = 8) -> np.ndarray:
    """N x C x H x W in [0, 1] -> one H' x W' x C uint8 array, ``columns`` images a row."""
    n, c, h, w = pixels.shape
    rows = -(-n // columns)
    canvas = torch.ones(c, rows * (h + 2), columns * (w + 2))
    for i, image in enumerate(pixels):
        r, k = divmod(i, columns)
        canvas[:, r * (h + 2) + 1 : r * (h + 2) + 1 + h, k * (w + 2) + 1 : k * (w + 2) + 1 + w] = image
    return (canvas.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def run(args: argparse.Namespace, command: str) -> Path:
    """Train as ``args`` say; returns the exported model folder."""
    from PIL import Image

    import zoo
    from zoo.data import load_training_data, split_by_group
    from zoo.errors import MissingExtraError, ZooError
    from zoo.training import DiscriminatorMonitor, Trainer, TrainingDiverged, latest_checkpoint, needs_cpu_flag

    try:
        from accelerate import Accelerator
    except ImportError:
        raise MissingExtraError('training needs accelerate: pip install "medgan-zoo[train]"') from None

    if args.d_overfit_every and not args.holdout:  # before any slow work
        raise ZooError("--d-overfit-every compares D on training and held-out images: add --holdout, e.g. "
                       "--holdout 0.1 (with --group-column lesion_id where shots of one lesion must stay together)")
    out: Path = args.out
    checkpoints = out / "checkpoints"
    if not args.resume and latest_checkpoint(checkpoints) is not None:  # before any slow work
        raise ZooError(f"{out} already holds checkpoints of a run: continue it with --resume latest, "
                       "or start afresh in another --out folder")
    accelerator = Accelerator(cpu=needs_cpu_flag(), mixed_precision=args.mixed_precision,
                              log_with=_log_with(args.log_with), project_dir=str(out))
    torch.manual_seed(args.seed)  # the initial weights, like everything after them, follow --seed
    overrides = parse_overrides(args.set)
    model = zoo.create(args.model, **overrides)
    spec = zoo.info(args.model)
    conditional = model.task == "class-conditional"
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
    held = None
    if args.holdout:
        data, held = split_by_group(data, args.holdout, seed=args.split_seed)
        if accelerator.is_main_process:  # what the model never saw, for evaluation
            out.mkdir(parents=True, exist_ok=True)
            (out / "heldout.txt").write_text("\n".join(held.files) + "\n")
    accelerator.print(f"data: {args.data}: {data.describe()}" + (f"; held out {len(held)} (heldout.txt)" if held else ""))
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
                      optimizer_options={"fused": True} if args.fused_adam else None)
    if args.resume:
        path = latest_checkpoint(checkpoints) if args.resume == "latest" else Path(args.resume)
        if path is None:
            accelerator.print(f"no checkpoint in {checkpoints} yet: starting from step 0")
        else:
            trainer.load_checkpoint(path)
            accelerator.print(f"resumed from {path} at step {trainer.state.step}")
            if monitor is not None and (out / "d_overfit.json").is_file():  # continue the curves
                monitor.restore(json.loads((out / "d_overfit.json").read_text())["history"], trainer.state.step)
    if accelerator.is_main_process:
        (out / "samples").mkdir(parents=True, exist_ok=True)
        (out / "command.txt").write_text(command + "\n")
    accelerator.init_trackers("train", config={"command": command, "model": args.model, "steps": args.steps})

    def save_samples(step: int) -> None:
        if not accelerator.is_main_process:
            return
        plain = trainer.export_model()  # what will be exported: the EMA networks where EMA is on
        grid = grid_image(sample_grid(plain, data, seed=args.seed))
        Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid).save(out / "samples" / f"step-{step:07d}.png")
        for tracker in accelerator.trackers:
            if tracker.name == "tensorboard":
                tracker.log_images({"samples": grid[None].transpose(0, 3, 1, 2)}, step=step)

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
        facts = {
            "training_data": (f"`{args.data}`: {data.describe()}. Trained {trainer.state.step} steps with "
                              f"`{command}`. State the data's source and licence here before sharing."),
            "intended_use": spec.intended_use or "Research.",
            "limitations": spec.limitations or "Not stated.",
            "license": "other",  # the training data's terms apply; the uploader must state them
        }
        export.save_pretrained(bundle, model_card_kwargs=facts)
        accelerator.print(f"model: {bundle} (zoo.load({str(bundle)!r}))")
    accelerator.end_training()
    return bundle


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = "zoo train " + shlex.join(argv) if argv is not None else "accelerate launch zoo/train.py " + shlex.join(sys.argv[1:])
    from zoo.errors import ZooError

    try:
        run(args, command)
    except (ZooError, ValueError) as exc:
        print(f"zoo train: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

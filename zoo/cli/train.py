"""Train any zoo model on a folder of images.

    accelerate launch zoo/train.py --model dcgan-lesions --data data/ham10000 --out runs/dcgan
    zoo train --model dcgan-lesions --data data/ham10000 --out runs/dcgan   # the same, one process

The same command runs on a laptop CPU, one or several GPUs or a TPU: accelerate decides (configure
it once with `accelerate config`, or pass `accelerate launch --multi_gpu --num_processes 2 ...`).
A run folder holds checkpoints/ (resume with --resume latest), samples/ (a PNG grid every
--sample-every steps), TensorBoard logs, and model/: the trained model in save_pretrained format,
which `zoo.load("RUN_DIR/model")` opens.
"""

from __future__ import annotations

import argparse
import errno
import shlex
import sys
from pathlib import Path

from zoo.cli.types import decay, duration, learning_rate, positive_int

__all__ = ["EXAMPLE", "build_parser", "main"]

EXAMPLE = ("accelerate launch zoo/train.py --model dcgan-lesions --data data/ham10000 "
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
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="global batch, split over processes (default 32)")
    parser.add_argument("--lr", type=learning_rate, default=None,
                        help="learning rate in (0, 1] (default: the family's)")
    parser.add_argument("--lr-scheduler", default="constant",
                        choices=["constant", "linear", "cosine", "cosine_with_restarts", "polynomial"],
                        help="learning-rate schedule over --steps, from diffusers (default: constant)")
    parser.add_argument("--lr-warmup-steps", type=int, default=0, metavar="N",
                        help="linear warm-up of the learning rate over the first N steps (default: 0, none)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights, data order, latents and augmentation (default 0)")
    parser.add_argument("--init-from", default=None, metavar="MODEL",
                        help="start from the trained networks of a model id, Hub repo or folder of the same "
                             "family and shapes (fine-tuning); the networks it lacks, e.g. discriminators, "
                             "start fresh. A resumed run continues from its checkpoint instead")
    parser.add_argument("--d-warmup-steps", type=int, default=0, metavar="N",
                        help="train only the discriminators for the first N steps, the generators held: with "
                             "--init-from, so that fine-tuning starts against a D that knows the data (default 0)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="constructor override, JSON value: --set image_size=[128,96] --set g_features=128")
    parser.add_argument("--ema", type=decay, default=0.0, metavar="DECAY", help="EMA of G, e.g. 0.999 (0: off)")
    parser.add_argument("--augment", default="", help="DiffAugment policy: comma-separated translation,cutout,color")
    parser.add_argument("--max-time", type=duration, default=None, metavar="TIME",
                        help="stop after this wall time and save as at the last step, e.g. 3600, 45:00 or 1:30:00 "
                             "(seconds, MM:SS or HH:MM:SS); --resume latest continues toward --steps")
    parser.add_argument("--checkpoint-every", type=positive_int, default=500,
                        help="write checkpoints/step-N every N steps (default 500)")
    parser.add_argument("--keep", type=positive_int, default=3, help="checkpoints kept (the newest)")
    parser.add_argument("--sample-every", type=positive_int, default=250, help="write samples/step-N.png every N steps")
    parser.add_argument("--log-every", type=positive_int, default=10, help="log the losses every N steps (default 10)")
    parser.add_argument("--resume", default=None,
                        help="'latest' (the newest whole checkpoint; damaged newer ones are moved aside) or a "
                             "checkpoint folder. The run's --seed, --batch-size, --lr, --augment and --ema must be "
                             "given again unchanged (default: no resume)")
    parser.add_argument("--override-resume", action="store_true",
                        help="with --resume: train on with changed --seed, --batch-size, --lr, --augment or --ema "
                             "from the resumed step (recorded in command.txt and run.json; default: refuse changes)")
    parser.add_argument("--label-column", default="dx", help="labels.csv column holding the class (default dx)")
    parser.add_argument("--balance-classes", action=argparse.BooleanOptionalAction, default=None,
                        help="draw every class equally often (default: on for class-conditional models)")
    parser.add_argument("--group-column", default=None, help="labels.csv column grouping shots (lesion_id)")
    parser.add_argument("--holdout", type=float, default=0.0, help="fraction held out, split by --group-column")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the held-out split, kept apart from --seed (default 0)")
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (for logs and CI)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = ("zoo train " + shlex.join(argv) if argv is not None
               else "accelerate launch zoo/train.py " + shlex.join(sys.argv[1:]))
    from zoo.errors import ZooError
    from zoo.training.run import run

    try:
        run(args, command)
    except (ZooError, ValueError) as exc:
        print(f"zoo train: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"zoo train: error: no space left on the device writing {exc.filename or args.out}: free some space, "
              "then continue with --resume latest", file=sys.stderr)
        return 2
    return 0

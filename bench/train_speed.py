"""Training speed of every registered model, built-in or from a plugin: it/s, img/s and peak memory,
median of several runs.

    python bench/train_speed.py                      # every model, the baseline loop
    python bench/train_speed.py --configs baseline channels_last fused foreach bf16 compile
    python bench/train_speed.py --models cyclegan-pws --batch-size 4 --configs baseline bf16

Each (model, configuration) runs in its own process, so peak memory is its own. Random data in
the model's task layout (its TaskSpec.example_data: images, labels, A/B pairs, masks) at the
model's default size; the family's default optimiser; global batch --batch-size (default: 32 for
noise-to-image models, 1 for image-to-image ones, as in their reference implementations).
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

CONFIGS = {
    "baseline": {},
    "channels_last": {"channels_last": True},
    "foreach": {"optimizer_options": {"foreach": True}},
    "fused": {"optimizer_options": {"fused": True}},
    "bf16": {"mixed_precision": "bf16"},
    "compile": {"dynamo_backend": "inductor"},
}


def step_rates(trainer, warmup: int, steps: int, repeats: int) -> list[float]:
    """Steps per second of ``repeats`` timed runs of ``steps`` steps each, after ``warmup`` steps."""
    for _ in trainer.steps(trainer.state.step + warmup):
        pass
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in trainer.steps(trainer.state.step + steps):
            pass
        rates.append(steps / (time.perf_counter() - start))
    return rates


def measure(model_id: str, config: str, batch_size: int | None, steps: int, warmup: int, repeats: int,
            overrides: dict) -> dict:
    import torch
    from accelerate import Accelerator

    import zoo
    from zoo.data import TrainingData
    from zoo.training import Trainer

    options = dict(CONFIGS[config])
    accelerator = Accelerator(mixed_precision=options.pop("mixed_precision", "no"),
                              dynamo_backend=options.pop("dynamo_backend", "no"))
    torch.manual_seed(0)
    model = zoo.create(model_id, **overrides)
    task = zoo.get_registry().task(model.task)
    if task.example_data is None:
        raise SystemExit(f"task {model.task!r} (plugin {task.plugin!r}) registers no example_data to train on")
    batch_size = batch_size or (32 if task.inputs == "noise" else 1)
    n = batch_size * model.batches_per_step * 4
    tensors = task.example_data(model, n, 0)
    trainer = Trainer(model, TrainingData(tensors), batch_size=batch_size, accelerator=accelerator, progress=False,
                      **options)
    rates = step_rates(trainer, warmup, steps, repeats)
    it_s = statistics.median(rates)
    return {"model": model_id, "config": config, "batch": batch_size, "it/s": it_s, "img/s": it_s * batch_size,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads(), "runs": [round(r, 2) for r in rates]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=None, help="default: every registered model that trains")
    parser.add_argument("--configs", nargs="*", default=["baseline"], choices=sorted(CONFIGS))
    parser.add_argument("--batch-size", type=int, default=None,
                        help="global batch (default: 32 for noise-to-image models, 1 for image-to-image ones)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--set", default="{}", help='constructor overrides as JSON, e.g. \'{"g_features": 512}\'')
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.batch_size, args.steps, args.warmup, args.repeats,
                                 json.loads(args.set))))
        return

    import zoo

    models = args.models or [m for m in zoo.list_models() if hasattr(zoo.info(m).model_class, "training_step")]
    print(f"{'model':<20} {'config':<14} {'batch':>5} {'it/s':>8} {'img/s':>8} {'peak MB':>8}  runs (it/s)")
    failed = 0
    for model_id in models:
        base = None
        for config in args.configs:
            cmd = [sys.executable, __file__, "--one", model_id, config, "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--repeats", str(args.repeats), "--set", args.set,
                   *(["--batch-size", str(args.batch_size)] if args.batch_size else [])]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
                print(f"{model_id:<20} {config:<14} failed: {lines[-1]}")
                failed += 1
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            base = base or r["it/s"]
            print(f"{model_id:<20} {config:<14} {r['batch']:>5} {r['it/s']:>8.2f} {r['img/s']:>8.0f} "
                  f"{r['peak_rss_mb']:>8.0f}  {r['runs']}  x{r['it/s'] / base:.2f} vs {args.configs[0]}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

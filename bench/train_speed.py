"""Training speed of every registered family: it/s, img/s and peak memory, median of several runs.

    python bench/train_speed.py                      # every model, the baseline loop
    python bench/train_speed.py --configs baseline channels_last fused foreach bf16 compile

Each (model, configuration) runs in its own process, so peak memory is its own. Random uint8 data
at the model's default size; the family's default optimiser; global batch --batch-size.
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


def measure(model_id: str, config: str, batch_size: int, steps: int, warmup: int, repeats: int,
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
    n = max(batch_size * 4, 256)
    tensors = {"image": torch.randint(0, 256, (n, model.channels, *model.image_size), dtype=torch.uint8)}
    if model.task == "class-conditional":
        tensors["label"] = torch.randint(0, len(model.config["class_names"]), (n,))
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
    parser.add_argument("--batch-size", type=int, default=32)
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
    for model_id in models:
        base = None
        for config in args.configs:
            cmd = [sys.executable, __file__, "--one", model_id, config, "--batch-size", str(args.batch_size),
                   "--steps", str(args.steps), "--warmup", str(args.warmup), "--repeats", str(args.repeats),
                   "--set", args.set]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                print(f"{model_id:<20} {config:<14} failed: {done.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            base = base or r["it/s"]
            print(f"{model_id:<20} {config:<14} {r['batch']:>5} {r['it/s']:>8.2f} {r['img/s']:>8.0f} "
                  f"{r['peak_rss_mb']:>8.0f}  {r['runs']}  x{r['it/s'] / base:.2f} vs {args.configs[0]}")


if __name__ == "__main__":
    main()

"""GPU speed of the zoo against the standard implementation, in one short run: a dated table.

    python bench/gpu.py                              # on a CUDA GPU, every case: about 5-8 minutes
    python bench/gpu.py --parts i2i --repeats 3      # only CycleGAN / pix2pix
    python bench/gpu.py --smoke --device cpu         # tiny shapes, one step: checks the script runs

Parts and what each row measures (medians of --repeats timed runs after warm-up; the GPU is
synchronised around each run; every row runs in its own process, so one failure or one process-wide
setting such as accelerate's mixed precision does not touch the others):

i2i   CycleGAN (ResNet-9 ngf 64, 70x70 PatchGAN, LSGAN, identity 0.5, pool 50) and pix2pix (U-Net-256,
      batch norm, GAN + 100 L1) training at 256 x 256, batch 1 and 4, in img/s:
        reference   bench/reference_i2i.py, the networks and steps of pytorch-CycleGAN-and-pix2pix
                    (no medgan-zoo code), float32, eager
        float32     the zoo's Trainer, float32
        bf16        the zoo's Trainer, bfloat16 autocast (zoo train --mixed-precision bf16)
        bf16+cl     ... and channels-last (--channels-last)
        bf16+fused  ... bf16 and fused Adam (--fused-adam)
        bf16+compile  ... bf16 with torch.compile (accelerate's dynamo backend inductor)
      and ResNet-9 inference of one 256 x 256 image in ms: reference float32, zoo float32, bfloat16,
      bfloat16 + torch.compile, and bfloat16 + CUDA graphs (torch.compile mode "reduce-overhead").
gen   the lesion generators (sngan-lesions, dcgan-lesions) at 64 and 128 px: training img/s at batch
      64 (float32, bf16) and generation img/s of the generator alone (batch 1024; float32, bfloat16,
      float16, bfloat16 + torch.compile, and + CUDA graphs), the tensors left on the GPU.

Targets on an H100-class GPU: training at least 2x the reference at the same shapes; generation at
least 20,000 img/s at 64 px. Prints one JSON line a row while it runs, then a Markdown table with
the date, the GPU's name, torch and CUDA versions.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # reference_i2i, when imported from elsewhere

I2I_MODELS = {  # the zoo's ids set to the reference's networks and losses
    "cyclegan": ("cyclegan-pws", {"g_features": 64, "g_blocks": 9, "discriminator": "patch", "d_features": 64,
                                  "gan_loss": "lsgan", "identity_weight": 0.5, "pool_size": 50, "d_augment": "",
                                  "g_output": "image", "upsample": "transposed"}),
    "pix2pix": ("pix2pix-pws", {"g_features": 64, "norm": "batch", "gan_loss": "bce", "l1_weight": 100.0}),
}
TRAIN_CONFIGS = {  # name -> (mixed precision, Trainer options, dynamo backend)
    "float32": ("no", {}, "no"),
    "bf16": ("bf16", {}, "no"),
    "bf16+cl": ("bf16", {"channels_last": True}, "no"),
    "bf16+fused": ("bf16", {"optimizer_options": {"fused": True}}, "no"),
    "bf16+compile": ("bf16", {}, "inductor"),
}
INFER_CONFIGS = ["reference", "float32", "bfloat16", "bf16+compile", "bf16+cudagraphs"]
GEN_CONFIGS = ["float32", "bfloat16", "float16", "bf16+compile", "bf16+cudagraphs"]
GENERATORS = ["sngan-lesions", "dcgan-lesions"]


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str, warmup: int, repeats: int) -> list[float]:
    """Seconds of ``repeats`` calls of ``fn`` after ``warmup`` calls, the device synchronised around each."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return times


def peak_mb(device: str) -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**20) if device.startswith("cuda") else None


def trainer_run(model, tensors: dict, config: str, batch: int, device: str, steps: int):
    """A function that runs ``steps`` steps of the zoo's Trainer on ``tensors``, set up as ``config``."""
    from accelerate import Accelerator

    from zoo.data import TrainingData
    from zoo.training import Trainer

    precision, options, backend = TRAIN_CONFIGS[config]
    accelerator = Accelerator(cpu=device == "cpu", mixed_precision=precision, dynamo_backend=backend)
    trainer = Trainer(model, TrainingData(tensors), batch_size=batch, progress=False, accelerator=accelerator,
                      **options)

    def run():
        for _ in trainer.steps(trainer.state.step + steps):
            pass
    return run


# -- rows ------------------------------------------------------------------------------------------
def i2i_train(model: str, config: str, batch: int, size: int, device: str, steps: int, repeats: int) -> dict:
    import torch

    torch.manual_seed(0)
    if config == "reference":
        import reference_i2i as ref

        # U-Net-256 at 256 x 256: as many halvings as take the image to 1 x 1
        net = ref.build_cyclegan() if model == "cyclegan" else ref.build_pix2pix(num_downs=size.bit_length() - 1)
        for module in net.nets():
            module.to(device)
        g = torch.Generator().manual_seed(0)
        batches = [{k: (torch.rand(batch, 3, size, size, generator=g) * 2 - 1).to(device) for k in "AB"}
                   for _ in range(4)]
        state = {"i": 0}

        def run():
            for _ in range(steps):
                net.set_input(batches[state["i"] % len(batches)])
                net.optimize_parameters()
                state["i"] += 1
    else:
        import zoo

        model_id, overrides = I2I_MODELS[model]
        zoo_model = zoo.create(model_id, image_size=size, **overrides)
        pixels = lambda: torch.randint(0, 256, (4 * batch, 3, size, size), dtype=torch.uint8)  # noqa: E731
        run = trainer_run(zoo_model, {"A": pixels(), "B": pixels()}, config, batch, device, steps)
    times = timed(run, device, warmup=1, repeats=repeats)
    img_s = statistics.median(batch * steps / t for t in times)
    return {"part": "i2i-train", "model": model, "config": config, "batch": batch, "size": size,
            "img/s": round(img_s, 2), "peak_mb": peak_mb(device)}


def _compiled(net, config: str):
    import torch

    if config.endswith("+compile"):
        return torch.compile(net)
    if config.endswith("+cudagraphs"):
        return torch.compile(net, mode="reduce-overhead")
    return net


def i2i_infer(config: str, size: int, device: str, repeats: int) -> dict:
    import torch

    torch.manual_seed(0)
    if config == "reference":
        import reference_i2i as ref

        net = ref.build_resnet9()
    else:
        import zoo

        model_id, overrides = I2I_MODELS["cyclegan"]
        net = zoo.create(model_id, image_size=size, **overrides).generator_ab.eval()
    dtype = torch.float32 if config in ("reference", "float32") else torch.bfloat16
    net = _compiled(net.to(device, dtype), config)
    x = (torch.rand(1, 3, size, size) * 2 - 1).to(device, dtype)
    with torch.inference_mode():
        times = timed(lambda: net(x), device, warmup=3, repeats=max(repeats, 5))
    return {"part": "i2i-infer", "model": "resnet9", "config": config, "batch": 1, "size": size,
            "ms": round(statistics.median(times) * 1000, 2), "peak_mb": peak_mb(device)}


def gen_train(model_id: str, config: str, batch: int, size: int, device: str, steps: int, repeats: int) -> dict:
    import torch

    import zoo

    torch.manual_seed(0)
    model = zoo.create(model_id, image_size=size)
    tensors = zoo.get_registry().task(model.task).example_data(model, batch * model.batches_per_step * 4, 0)
    run = trainer_run(model, tensors, config, batch, device, steps)
    times = timed(run, device, warmup=1, repeats=repeats)
    img_s = statistics.median(batch * steps / t for t in times)
    return {"part": "gen-train", "model": model_id, "config": config, "batch": batch, "size": size,
            "img/s": round(img_s, 1), "peak_mb": peak_mb(device)}


def gen_sample(model_id: str, config: str, batch: int, size: int, device: str, repeats: int) -> dict:
    import torch

    import zoo

    dtype = {"float32": torch.float32, "float16": torch.float16}.get(config, torch.bfloat16)
    torch.manual_seed(0)
    model = zoo.create(model_id, image_size=size).eval().to(device, dtype)
    generate = _compiled(model.generate, config)
    z = model.sample_latents(batch, torch.Generator().manual_seed(0)).to(device, dtype)
    with torch.inference_mode():
        times = timed(lambda: generate(z), device, warmup=3, repeats=max(repeats, 5))
    return {"part": "gen-sample", "model": model_id, "config": config, "batch": batch, "size": size,
            "img/s": round(batch / statistics.median(times)), "peak_mb": peak_mb(device)}


# -- driver ----------------------------------------------------------------------------------------
def rows(args) -> list[dict]:
    """Every (function, keyword arguments) row the chosen parts hold."""
    i2i_size, gen_sizes = (32, [16]) if args.smoke else (256, [64, 128])
    batches = [1] if args.smoke else [1, 4]
    steps = 1 if args.smoke else args.steps
    out = []
    if "i2i" in args.parts:
        for model in I2I_MODELS:
            for batch in batches:
                for config in ["reference", *[c for c in TRAIN_CONFIGS if c in args.configs]]:
                    out.append({"row": "i2i_train", "model": model, "config": config, "batch": batch,
                                "size": i2i_size, "steps": steps})
        for config in INFER_CONFIGS:
            if config == "reference" or config in args.configs:
                out.append({"row": "i2i_infer", "config": config, "size": i2i_size})
    if "gen" in args.parts:
        for model_id in GENERATORS:
            for size in gen_sizes:
                for config in ["float32", "bf16"]:
                    if config in args.configs:
                        out.append({"row": "gen_train", "model_id": model_id, "config": config,
                                    "batch": 8 if args.smoke else 64, "size": size, "steps": steps})
                for config in GEN_CONFIGS:
                    if config in args.configs:
                        out.append({"row": "gen_sample", "model_id": model_id, "config": config,
                                    "batch": 8 if args.smoke else 1024, "size": size})
    return out


ROWS = {"i2i_train": i2i_train, "i2i_infer": i2i_infer, "gen_train": gen_train, "gen_sample": gen_sample}


def hardware(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}"
    return f"CPU ({torch.get_num_threads()} threads), torch {torch.__version__}"


def table(results: list[dict], device: str) -> str:
    """Markdown: one line a row, with its ratio to the reference row of the same shape where there is one."""
    lines = [f"{datetime.date.today().isoformat()}, {hardware(device)}", "",
             "| part | model | size | batch | config | figure | vs reference | peak MB |",
             "|---|---|---:|---:|---|---:|---:|---:|"]
    shape = lambda r: (r["part"], r.get("model"), r.get("batch"), r.get("size"))  # noqa: E731
    reference = {shape(r): r for r in results if r["config"] == "reference" and "error" not in r}
    for r in results:
        row = f"| {r['part']} | {r.get('model', '')} | {r.get('size', '')} | {r.get('batch', '')} | {r['config']} |"
        if "error" in r:
            lines.append(f"{row} failed: {r['error']} | | |")
            continue
        base = reference.get(shape(r))
        if "ms" in r:
            figure, ratio = f"{r['ms']} ms", base and f"{base['ms'] / r['ms']:.2f}x"
        else:
            figure, ratio = f"{r['img/s']} img/s", base and f"{r['img/s'] / base['img/s']:.2f}x"
        lines.append(f"{row} {figure} | {ratio or ''} | {r['peak_mb'] or ''} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=["i2i", "gen"], choices=["i2i", "gen"])
    parser.add_argument("--configs", nargs="+", default=sorted(set(TRAIN_CONFIGS) | set(INFER_CONFIGS[1:])
                                                                | set(GEN_CONFIGS)),
                        help="which configurations to run besides the reference (default: all)")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--steps", type=int, default=10, help="training steps a timed run (default: 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs a row (default: 3)")
    parser.add_argument("--smoke", action="store_true", help="tiny shapes and one step: checks that every row runs")
    parser.add_argument("--timeout", type=float, default=240, help="seconds a row may take (default: 240)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        spec = json.loads(args.one)
        fn = ROWS[spec.pop("row")]
        extra = {"repeats": 1 if args.smoke else args.repeats, "device": args.device}
        print(json.dumps(fn(**spec, **extra)))
        return

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here; run with --device cpu (slow) or on a machine with one")
    results = []
    for spec in rows(args):
        command = [sys.executable, __file__, "--one", json.dumps(spec), "--device", args.device,
                   "--repeats", str(args.repeats), *(["--smoke"] if args.smoke else [])]
        label = {"part": spec["row"].replace("_", "-"), "model": spec.get("model", spec.get("model_id", "resnet9")),
                 "config": spec["config"], "batch": spec.get("batch", 1), "size": spec["size"]}
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
            if done.returncode:
                last = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
                result = {**label, "error": last[-1][:160]}
            else:
                result = json.loads(done.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            result = {**label, "error": f"over {args.timeout:.0f} s"}
        print(json.dumps(result), flush=True)
        results.append(result)
    print()
    print(table(results, args.device))
    if any("error" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()

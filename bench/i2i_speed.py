"""Image-to-image speed at the reference implementations' shapes, so users can compare on their machine.

    python bench/i2i_speed.py                     # all cases, medians of --repeats runs
    python bench/i2i_speed.py --cases a c --repeats 5

Cases (pytorch-CycleGAN-and-pix2pix shapes; its figures on a 2-core CPU: a 0.5 it/s, b 3.0 it/s,
c 380 ms):

a  CycleGAN training: ResNet-9 generators (ngf 64, instance norm), 70x70 PatchGAN (3 layers, ndf 64),
   LSGAN, identity 0.5, image pool 50, batch 1, 128 x 128
b  pix2pix training: U-Net-128 generator (batch norm), the same PatchGAN on the pair, GAN + L1 100,
   batch 1, 128 x 128
c  inference of that ResNet-9 generator on one 256 x 256 image
d  inference of the zoo's default cyclegan-pws generator (ngf 32, 9 blocks, resize up-sampling, residual
   output) on one 256 x 256 image

Each case runs in its own process with each of --configs. Prints one JSON line a case and
configuration.

  baseline       float32, contiguous
  channels_last  float32, channels-last memory format
  bf16           inference: bfloat16 weights and input (zoo.load(..., dtype="bfloat16"));
                 training: bfloat16 autocast (zoo train --mixed-precision bf16)
  bf16_fused     training: bf16 autocast and fused Adam (optimizer_options={"fused": True})
  compile_bf16   inference: torch.compile of the bfloat16 generator (its compile time is printed apart)
  int8           inference: zoo.pipelines.int8.quantize_int8 (output layer float32), calibrated on 8 random
                 images (pipe.quantize_int8 / zoo translate --dtype int8; setup time printed apart)

bench/reference_i2i.py runs the standard implementation's networks and steps at the same shapes,
with no medgan-zoo code, for the ratio on your machine; bench/i2i_optimizations.py compares more
variants interleaved in one process.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

from train_speed import step_rates  # bench/ is on the path when run as a script

REFERENCE_CYCLEGAN = {"image_size": 128, "g_features": 64, "g_blocks": 9, "discriminator": "patch", "d_features": 64,
                      "gan_loss": "lsgan", "identity_weight": 0.5, "pool_size": 50, "d_augment": "",
                      "g_output": "image", "upsample": "transposed"}
REFERENCE_PIX2PIX = {"image_size": 128, "g_features": 64, "norm": "batch", "gan_loss": "bce", "l1_weight": 100.0}
CASES = {
    "a": ("train", "cyclegan-pws", REFERENCE_CYCLEGAN),
    "b": ("train", "pix2pix-pws", REFERENCE_PIX2PIX),
    "c": ("infer", "cyclegan-pws", {**REFERENCE_CYCLEGAN, "image_size": 256}),
    "d": ("infer", "cyclegan-pws", {"image_size": 256}),
}


def training_case(model, config: str):
    """A batch-1 Trainer for ``model`` on 8 random image pairs, set up as ``config`` says."""
    import torch
    from accelerate import Accelerator

    from zoo.data import TrainingData
    from zoo.training import Trainer

    pixels = lambda: torch.randint(0, 256, (8, model.channels, *model.image_size), dtype=torch.uint8)  # noqa: E731
    accelerator = Accelerator(cpu=True, mixed_precision="bf16" if config.startswith("bf16") else "no")
    return Trainer(model, TrainingData({"A": pixels(), "B": pixels()}), batch_size=1, progress=False,
                   channels_last=config == "channels_last", accelerator=accelerator,
                   optimizer_options={"fused": True} if config == "bf16_fused" else None)


def run_case(case: str, config: str, steps: int, repeats: int) -> dict:
    import torch

    import zoo

    kind, model_id, overrides = CASES[case]
    torch.manual_seed(0)
    model = zoo.create(model_id, **overrides)
    layout = torch.channels_last if config == "channels_last" else torch.contiguous_format
    dtype = torch.bfloat16 if config.startswith(("bf16", "compile_bf16")) else torch.float32
    if kind == "infer":
        generator = model.generator_ab.eval().to(dtype=dtype, memory_format=layout)
        x = (torch.rand(1, 3, *model.image_size) * 2 - 1).to(dtype=dtype, memory_format=layout)
        compile_s = None
        if config == "int8":
            from zoo.pipelines.int8 import quantize_int8

            start = time.perf_counter()
            generator = quantize_int8(generator, torch.rand(8, 3, *model.image_size) * 2 - 1)
            compile_s = round(time.perf_counter() - start, 1)
        if config == "compile_bf16":
            start = time.perf_counter()
            generator = torch.compile(generator)
            with torch.inference_mode():
                generator(x)
            compile_s = round(time.perf_counter() - start, 1)
        times = []
        with torch.inference_mode():
            for _ in range(2):
                generator(x)
            for _ in range(repeats):
                start = time.perf_counter()
                generator(x)
                times.append((time.perf_counter() - start) * 1000)
        return {"case": case, "config": config, "model": model_id, "ms": round(statistics.median(times), 1),
                "runs": [round(t) for t in times], "threads": torch.get_num_threads(),
                **({"compile_s": compile_s} if compile_s is not None else {})}
    rates = step_rates(training_case(model, config), 2, steps, repeats)
    return {"case": case, "config": config, "model": model_id, "it/s": round(statistics.median(rates), 3),
            "runs": [round(r, 3) for r in rates], "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--configs", nargs="+", default=["baseline", "channels_last"],
                        choices=["baseline", "channels_last", "bf16", "bf16_fused", "compile_bf16", "int8"])
    parser.add_argument("--steps", type=int, default=5, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (inference: calls); the median is shown")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_case(args.child[0], args.child[1], args.steps, args.repeats)))
        return
    for case in args.cases:
        for config in args.configs:  # a process each: no warm caches or allocator state carried over
            out = subprocess.run([sys.executable, __file__, "--child", case, config, "--steps", str(args.steps),
                                  "--repeats", str(args.repeats)], capture_output=True, text=True)
            print(out.stdout.strip() or out.stderr.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()

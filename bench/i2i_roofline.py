"""How close the training cases a and b of bench/i2i_speed.py run to this CPU's arithmetic limit.

    python bench/i2i_roofline.py                      # cases a and b, medians of --repeats
    python bench/i2i_roofline.py --cases a --repeats 7

For each case it prints:

* ``gflop_per_step``: the floating-point operations of one training step (generator and
  discriminator updates), counted by ``torch.utils.flop_counter`` over convolutions and matrix
  products, forward and backward. Normalisation, activations, losses and Adam are left out, so
  the bound below is generous.
* ``peak_gflops``: the best rate this CPU sustains, at its current thread count, on the operation
  that dominates the case, in float32 and in bfloat16 (median of --repeats): the ResNet block's
  3x3 convolution (256 channels at 32 x 32, forward and backward) for a, and the same convolution
  and a 2048^3 matrix product for b, whichever is faster.
* ``measured_it_s`` and ``sustained_gflops``: the case's step rate as the zoo runs it fastest
  (bfloat16 autocast and fused Adam: i2i_speed's ``bf16_fused``) and the counted operations per
  second that gives.
* ``ceiling_it_s``: the step rate if every counted operation ran at the bfloat16 peak, and the
  share of that peak the target step rate needs (``TARGETS``: 0.75 and 4.5 it/s, 1.5x the reference
  implementation's 0.5 and 3.0 it/s on a 2-core CPU, see bench/i2i_speed.py).

A target needing more than 100 % of the convolution rate needs faster kernels than oneDNN's for
that shape; one near or above the matrix-product rate (the best this CPU showed), a faster machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from i2i_speed import CASES, training_case  # bench/ is on the path when run as a script
from torch.utils.flop_counter import FlopCounterMode
from train_speed import step_rates

TARGETS = {"a": 0.75, "b": 4.5}  # 1.5x the standard implementation's figures on a 2-core CPU


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: oneDNN picks and caches its kernels on the first call
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def conv_peak(dtype: torch.dtype, repeats: int) -> float:
    """GFLOP/s of the ResNet block's convolution (1 x 256 x 32 x 32, 3x3), forward and backward."""
    x = torch.randn(1, 256, 32, 32, dtype=dtype, requires_grad=True)
    w = torch.randn(256, 256, 3, 3, dtype=dtype, requires_grad=True)

    def step():
        F.conv2d(x, w, padding=1).sum().backward()

    with FlopCounterMode(display=False) as count:
        step()
    return count.get_total_flops() / median_seconds(step, repeats) / 1e9


def matmul_peak(dtype: torch.dtype, repeats: int, n: int = 2048) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / median_seconds(lambda: a @ b, repeats) / 1e9


def flops_and_rate(case: str, steps: int, repeats: int) -> tuple[float, float]:
    """Counted operations of one training step, and the median step rate, of the case run as the zoo
    runs it fastest (bfloat16 autocast, fused Adam). The count does not depend on the dtype."""
    import zoo

    _, model_id, overrides = CASES[case]
    torch.manual_seed(0)
    trainer = training_case(zoo.create(model_id, **overrides), "bf16_fused")
    for _ in trainer.steps(1):  # the first step builds optimizer state: count a later one
        pass
    with FlopCounterMode(display=False) as count:
        for _ in trainer.steps(2):
            pass
    return count.get_total_flops(), statistics.median(step_rates(trainer, 1, steps, repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=["a", "b"], choices=["a", "b"])
    parser.add_argument("--steps", type=int, default=4, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    peaks = {}
    for name, dtype in [("float32", torch.float32), ("bfloat16", torch.bfloat16)]:
        peaks[name] = {"conv": round(conv_peak(dtype, args.repeats), 1),
                       "matmul": round(matmul_peak(dtype, args.repeats), 1)}
    print(json.dumps({"threads": torch.get_num_threads(), "peak_gflops": peaks}), flush=True)
    for case in args.cases:
        flops, rate = flops_and_rate(case, args.steps, args.repeats)
        peak = peaks["bfloat16"]["conv"] if case == "a" else max(peaks["bfloat16"].values())
        target = TARGETS[case]
        print(json.dumps({
            "case": case, "gflop_per_step": round(flops / 1e9, 1),
            "measured_it_s": round(rate, 3), "sustained_gflops": round(rate * flops / 1e9, 1),
            "bf16_peak_gflops": peak, "share_of_peak": round(rate * flops / 1e9 / peak, 3),
            "ceiling_it_s": round(peak * 1e9 / flops, 3),
            "target_it_s": target, "target_needs_share_of_peak": round(target * flops / 1e9 / peak, 3),
        }), flush=True)


if __name__ == "__main__":
    main()

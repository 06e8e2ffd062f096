"""Load time and sampling throughput of a zoo model; medians of several runs.

    python bench/generate_speed.py dcgan-lesions --device cpu --runs 5

Prints one line per measurement. Figures are for the machine it runs on; compare ratios, not
absolute numbers, across machines.
"""

import argparse
import statistics
import time

import torch

import zoo


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default="dcgan-lesions")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--num-images", type=int, default=256)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 64, 256])
    args = parser.parse_args()

    load = median_seconds(lambda: zoo.load(args.model, device=args.device), args.runs)
    print(f"{args.model}: load (embedded/cache) median {load * 1000:.1f} ms over {args.runs} runs")
    pipe = zoo.load(args.model, device=args.device)
    pipe(num_images=8, progress=False)  # warm-up
    for batch_size in args.batch_sizes:
        t = median_seconds(lambda: pipe(num_images=args.num_images, batch_size=batch_size, progress=False), args.runs)
        print(f"{args.model}: {args.num_images} images, batch {batch_size}, {args.device}, "
              f"{torch.get_num_threads()} threads: median {t:.3f} s = {args.num_images / t:.0f} images/s")


if __name__ == "__main__":
    main()

"""Whole-process time of one ``zoo translate`` call per dtype: start-up, load, (int8: quantize or
load the cached int8 copy), translate, write. Medians of several interleaved rounds.

    python bench/translate_cli.py cyclegan-pws face.jpg --runs 5

The int8 rows: ``int8, first call`` calibrates and compiles into a fresh cache (every round);
``int8, cached`` is every later call on the same weights. Each call is a new process, as a user
runs it. Figures are for the machine it runs on; compare ratios across machines.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name (Linux), else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(model: str, image: str, out: Path, dtype: str | None, cache: Path) -> float:
    command = [sys.executable, "-m", "zoo.cli", "translate", model, image, "-o", str(out)]
    command += ["--dtype", dtype] if dtype else []
    env = {**os.environ, "MEDGAN_ZOO_CACHE": str(cache)}
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def torch_version() -> str:
    from importlib.metadata import version

    return version("torch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default="cyclegan-pws")
    parser.add_argument("image", help="an input image (any size; it is brought to the model's)")
    parser.add_argument("--runs", type=int, default=5, help="interleaved rounds (default: 5)")
    parser.add_argument("--no-first-int8", action="store_true",
                        help="skip the int8 first-call row (it compiles every round, 30-60 s)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="translate-cli-bench-"))
    warm_cache = work / "cache"
    run(args.model, args.image, work / "out", "int8", warm_cache)  # fills the cache the cached rows use
    rows = {"float32": [], "bfloat16": [], "int8, cached": []}
    if not args.no_first_int8:
        rows["int8, first call"] = []
    for round_ in range(args.runs):
        for name in rows:
            dtype = name.split(",")[0]
            cache = work / f"fresh-{round_}" if name == "int8, first call" else warm_cache
            rows[name].append(run(args.model, args.image, work / "out", dtype, cache))
    shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(rows["float32"])
    print(f"zoo translate {args.model}: one image, whole process, median of {args.runs} rounds "
          f"({cpu_name()}, {os.cpu_count()} cores, torch {torch_version()})")
    for name, times in rows.items():
        median = statistics.median(times)
        spread = f"{min(times):.2f}-{max(times):.2f} s"
        print(f"  {name:<17} {median:6.2f} s  ({median / base:.2f}x float32; range {spread})")


if __name__ == "__main__":
    main()

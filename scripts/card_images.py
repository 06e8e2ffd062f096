"""Write the pictures a noise-to-image model's card shows into its embedded-weights folder.

    python scripts/card_images.py sngan-lesions --report reports/fid/sngan-lesions

samples.png: 64 samples of seed 0 (the same call a user makes: zoo.load(ID)(num_images=64, seed=0)),
8 to a row; with --report, the memorization audit's closest_pairs.png from that `zoo evaluate`
report folder. List them under `images:` in the id's cards/<id>.yaml, then run
scripts/render_cards.py.
"""

import argparse
import shutil
from pathlib import Path

import zoo
from zoo.training.samples import grid_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_id")
    parser.add_argument("--report", type=Path, default=None, help="a zoo evaluate output folder")
    args = parser.parse_args()
    spec = zoo.info(args.model_id)
    if not spec.has_embedded_weights:
        raise SystemExit(f"{args.model_id} has no embedded weights folder")
    pixels = zoo.load(args.model_id)(num_images=64, seed=0, progress=False).tensors
    grid_image(pixels, columns=8).save(spec.weights / "samples.png", optimize=True)
    print(f"wrote {spec.weights / 'samples.png'}")
    if args.report is not None:
        shutil.copyfile(args.report / "closest_pairs.png", spec.weights / "closest_pairs.png")
        print(f"wrote {spec.weights / 'closest_pairs.png'}")


if __name__ == "__main__":
    main()

"""Image-to-image figures for a trained run, on its held-out part where it has one.

    python bench/i2i_quality.py runs/pix2pix-pws --data data/synthetic/pws-paired --grid pix2pix.png

Prints a JSON object: the task's figures from ``zoo.evaluate.translation_metrics`` (cycle L1/SSIM;
L1/SSIM/PSNR to the target beside copying the input; change outside vs inside the mask), on
RUN/heldout.txt's images if the run held some out (``zoo train --holdout``), else on all of
--data (then they are training images: say so when you report them). ``--grid`` writes a PNG of
inputs and outputs (rows as in the run's samples/) from the same images.
"""

import argparse
import json
from pathlib import Path

from PIL import Image

import zoo
from zoo.data import listed_indices, load_training_data
from zoo.evaluate.translation import translation_metrics
from zoo.train import grid_image, sample_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a zoo train --out folder (with model/), or a model folder / id")
    parser.add_argument("--data", type=Path, required=True, help="the folder the model was trained on")
    parser.add_argument("--grid", type=Path, default=None, help="write inputs and outputs of 8 images here")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    source = args.run / "model" if (args.run / "model").is_dir() else args.run
    model = zoo.load(str(source)).model
    data = load_training_data(args.data, model.task, model.image_size, model.channels, progress=False)
    heldout = args.run / "heldout.txt"
    if heldout.is_file():
        data = data.subset(listed_indices(data, heldout))
    figures = translation_metrics(model, data, batch_size=args.batch_size, progress=False)
    print(json.dumps({"model": str(source), "images": len(data), "held_out": heldout.is_file(),
                      "figures": {k: round(v, 5) for k, v in figures.items()}}, indent=1))
    if args.grid:
        grid = grid_image(sample_grid(model, data))
        Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid).save(args.grid)


if __name__ == "__main__":
    main()

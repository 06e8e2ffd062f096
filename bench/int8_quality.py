"""How far int8 (and bfloat16) outputs of a trained translator are from its float32 outputs.

    python bench/int8_quality.py --data data/faces            # cyclegan-pws, both directions
    python bench/int8_quality.py --data data/faces --size 256

Each direction is calibrated on the first --calibration faces and measured on the next --images:
clean faces for "add"; for "remove", the same faces with a synthetic port-wine stain
(zoo.data.domains.add_port_wine_stain), the domain cyclegan-pws learned from. Prints one JSON line per
direction and variant: the median over images of the mean and largest absolute difference (grey
levels of 255) and of the PSNR to the float32 output, next to the model's own mean change to its
input, for scale. Variants: bfloat16 weights and input; int8 with the output layer in float32
(the default of zoo.pipelines.int8); int8 throughout.
"""

import argparse
import copy
import json
import statistics
from pathlib import Path

import torch

import zoo
from zoo.data import list_images
from zoo.data.domains import add_port_wine_stain
from zoo.data.images import read_image, to_model
from zoo.pipelines.int8 import quantize_int8


def faces(folder: Path, n: int, size: tuple[int, int]) -> torch.Tensor:
    files = list_images(folder)[:n]
    if len(files) < n:
        raise SystemExit(f"{folder} has {len(files)} images; --calibration + --images needs {n}")
    return torch.cat([to_model(read_image(p), 3, size) for p in files])


def differences(out: torch.Tensor, ref: torch.Tensor) -> dict:
    err = (out.float() - ref).abs() * 127.5  # [-1, 1] -> grey levels of 255
    per_image = err.flatten(1)
    psnr = 10 * torch.log10(255**2 / per_image.pow(2).mean(1))
    med = lambda t: round(statistics.median(t.tolist()), 2)  # noqa: E731
    return {"mean_grey": med(per_image.mean(1)), "max_grey": med(per_image.max(1).values), "psnr_db": med(psnr)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cyclegan-pws")
    parser.add_argument("--data", type=Path, required=True, help="a folder of face photos (data/faces)")
    parser.add_argument("--size", type=int, default=None, help="run at this square size (default: the model's)")
    parser.add_argument("--calibration", type=int, default=16)
    parser.add_argument("--images", type=int, default=32)
    args = parser.parse_args()

    pipe = zoo.load(args.model)
    size = (args.size, args.size) if args.size else pipe.image_size
    clean = faces(args.data, args.calibration + args.images, size)
    # the flat stains cyclegan-pws was trained on
    stained = torch.stack([add_port_wine_stain((face + 1) / 2, seed=i, style="flat")[0] * 2 - 1
                           for i, face in enumerate(clean)])
    for name, inputs in (("add", clean), ("remove", stained)):
        way = pipe.directions[name]
        generator = pipe.model.translator(way)
        calibration, test = inputs[: args.calibration], inputs[args.calibration:]
        bf16_generator = copy.deepcopy(generator).to(torch.bfloat16)  # a copy: .to() rounds in place
        with torch.no_grad():
            ref = torch.cat([generator(x) for x in test.split(1)])
            bf16 = torch.cat([bf16_generator(x.bfloat16()) for x in test.split(1)])
        variants = {"bfloat16": bf16,
                    "int8, output layer float32": quantize_int8(generator, calibration)(test),
                    "int8 throughout": quantize_int8(generator, calibration, keep_float=[])(test)}
        change = round(float((ref - test).abs().mean() * 127.5), 2)
        for variant, out in variants.items():
            print(json.dumps({"model": args.model, "direction": name, "size": size[0], "variant": variant,
                              **differences(out, ref), "model_change_grey": change}), flush=True)


if __name__ == "__main__":
    main()

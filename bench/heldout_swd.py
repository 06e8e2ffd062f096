"""Sliced Wasserstein distance between a model's samples and held-out real images (pixel space).

    python bench/heldout_swd.py sngan-lesions --data data/ham10000 --group-column lesion_id

The held-out part is the one `zoo train --holdout 0.1 --group-column lesion_id --split-seed 0` keeps
out (pass the same --holdout), so a model trained that way is scored on images it never saw. A
class-conditional model generates the held-out images' own labels, so both sets have one class mix. Lower is closer.
A stopgap until `zoo evaluate` brings FID/KID; it needs no pretrained network.
"""

import argparse

import zoo
from zoo.data import load_training_data, split_by_group
from zoo.evaluate.metrics import sliced_wasserstein


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="model ids, Hub repos or folders")
    parser.add_argument("--data", required=True)
    parser.add_argument("--group-column", default=None)
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--split-seed", type=int, default=0, help="the --seed the model was trained with")
    parser.add_argument("-n", "--num-images", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1, help="sampling seed")
    args = parser.parse_args()
    for name in args.models:
        pipe = zoo.load(name)
        conditional = pipe.task == "class-conditional"
        data = load_training_data(args.data, pipe.task, pipe.image_size, pipe.channels, group_column=args.group_column,
                                  class_names=tuple(pipe.class_names) if conditional else (), progress=False)
        _, held = split_by_group(data, args.holdout, seed=args.split_seed)
        real = held.tensors["image"][: args.num_images].float() / 255
        labels = {"labels": held.tensors["label"][: len(real)].tolist()} if conditional else {}
        fake = pipe(num_images=len(real), seed=args.seed, progress=False, **labels).tensors
        print(f"{name}: SWD to {len(real)} held-out images of {args.data}: {sliced_wasserstein(fake, real):.4f}")


if __name__ == "__main__":
    main()

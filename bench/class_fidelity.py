"""Does a class-conditional GAN make images of the class asked for? Ask an independent classifier.

    python bench/class_fidelity.py acgan-lesions --data data/ham10000 --group-column lesion_id

Trains the small CNN of `zoo evaluate-augmentation` on the real training part only (classic
augmentation, rare classes topped up by repeats to --minority-target, its best condition), prints
its recall on the held-out real images, then the share of N generated images per class that it
assigns to the class they were generated for. The GAN's own discriminator head is not used: the
generator was trained to please it. Prints one JSON line.
"""

import argparse
import json
import math

import torch

import zoo
from zoo.data import load_training_data, split_by_group
from zoo.evaluate.augmentation import oversample
from zoo.evaluate.classifier import predict, train_classifier


def recall(predicted: torch.Tensor, labels: torch.Tensor, names) -> dict[str, float]:
    return {n: round((predicted[labels == k] == k).float().mean().item(), 3) for k, n in enumerate(names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a class-conditional model id, Hub repo or folder")
    parser.add_argument("--data", required=True)
    parser.add_argument("--group-column", default=None)
    parser.add_argument("--holdout", type=float, default=0.2, help="the --holdout the GAN was trained with")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--minority-target", type=int, default=500)
    parser.add_argument("-n", "--num-images", type=int, default=200, help="generated images per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pipe = zoo.load(args.model)
    names = tuple(pipe.class_names)
    data = load_training_data(args.data, "class-conditional", pipe.image_size, pipe.channels, class_names=names,
                              group_column=args.group_column, progress=False)
    train, test = split_by_group(data, args.holdout, seed=args.split_seed)
    labels = train.tensors["label"].long()
    counts = {n: max(0, args.minority_target - int((labels == k).sum())) for k, n in enumerate(names)}
    repeats = oversample(labels, counts, names, args.seed)
    images = torch.cat([train.tensors["image"], train.tensors["image"][repeats]])
    judge = train_classifier(images, torch.cat([labels, labels[repeats]]), len(names),
                             steps=math.ceil(args.epochs * len(train) / 64), seed=args.seed, augment=True,
                             progress=True)
    held = recall(predict(judge, test.tensors["image"]), test.tensors["label"].long(), names)
    generated = {}
    for k, name in enumerate(names):
        fake = pipe(num_images=args.num_images, labels=[name], seed=100 + k, progress=False).tensors
        generated[name] = recall(predict(judge, (fake * 255).round().to(torch.uint8)), torch.full((len(fake),), k),
                                 names)[name]
    print(json.dumps({"model": args.model, "held_out_real_recall": held, "generated_recall": generated}))


if __name__ == "__main__":
    main()

"""Does a GAN help a classifier? Train the same small CNN with and without its images, test on real ones.

    zoo evaluate-augmentation --data data/ham10000 --model acgan-lesions \\
        --heldout-list runs/acgan/heldout.txt -o reports/acgan-benefit

Four conditions by default, each trained from scratch for the same number of steps:

==========================  =================================================================
real                        the real training images only
real+classic                the same with classic augmentation (flips, rotations, scale, colour)
real+classic+oversampled    plus repeats of the rare classes' real images, as many as the
                            synthetic condition adds: the control that tells "more rare-class
                            images" from "more *new* rare-class images"
real+classic+synthetic      plus synthetic images of the rare classes, augmented alike
real+synthetic              (on request) real and synthetic images, no classic augmentation
==========================  =================================================================

The test set is held-out *real* images only, split by group (HAM10000's ``lesion_id``: shots of
one lesion never sit on both sides); the classifier never trains on them and nothing (epochs,
checkpoints) is chosen by looking at them. Pass the GAN's own ``RUN/heldout.txt`` as
``heldout_list`` so the test images are ones the GAN never saw either: otherwise synthetic images
may carry test lesions into training.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from tqdm.auto import tqdm

from zoo.cli.types import positive_float, positive_int
from zoo.data.folders import DataError, TrainingData, listed_indices, read_labelled_images, split_by_group
from zoo.data.images import match_channels, resize
from zoo.evaluate.classifier import WIDTHS, predict, train_classifier
from zoo.evaluate.report import AugmentationReport
from zoo.evaluate.scores import balanced_accuracy, classification_scores, confusion_matrix

__all__ = ["CONDITIONS", "DEFAULT_CONDITIONS", "DEFAULT_EPOCHS", "EXAMPLE", "augmentation_benefit", "oversample",
    "add_arguments", "run_cli"]

# name -> (classic augmentation, what tops up the rare classes: None, "oversampled" or "synthetic")
CONDITIONS = {
    "real": (False, None),
    "real+classic": (True, None),
    "real+classic+oversampled": (True, "oversampled"),
    "real+classic+synthetic": (True, "synthetic"),
    "real+synthetic": (False, "synthetic"),
}
DEFAULT_CONDITIONS = ("real", "real+classic", "real+classic+oversampled", "real+classic+synthetic")
DEFAULT_EPOCHS = 15  # HAM10000 at 64 x 64 on 2 CPU cores: ~60 s a run, 4 conditions x 3 seeds in ~13 min
EXAMPLE = ("zoo evaluate-augmentation --data data/ham10000 --model acgan-lesions "
           "--heldout-list runs/acgan/heldout.txt -o reports/acgan-benefit")


def augmentation_benefit(
    data: str | os.PathLike | TrainingData,
    model: Any = None,
    *,
    image_size: int | tuple[int, int] = (64, 64),
    label_column: str = "dx",
    group_column: str | None = "auto",
    holdout: float = 0.2,
    split_seed: int = 0,
    heldout_list: str | os.PathLike | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = 64,
    lr: float = 1e-3,
    minority_target: int = 500,
    synthetic_per_class: Mapping[str, int] | None = None,
    conditions: Sequence[str] | None = None,
    truncation: float | None = None,
    channels: int | None = None,
    device: str | torch.device | None = None,
    score_train: bool = False,
    progress: bool = True,
    command: str | None = None,
) -> AugmentationReport:
    """Train a small CNN per condition and seed; score it on held-out real images.

    ``data``: a labelled folder (zoo/data.py layouts; ``labels.csv`` with ``label_column``) or a
    :class:`~zoo.data.folders.TrainingData` with labels (and groups). ``model``: a class-conditional GAN
    (registry id, folder, pipeline or model) with the data's classes; without it only the
    conditions without synthetic images run. ``group_column="auto"``: ``lesion_id`` when
    ``labels.csv`` has it, else every image is its own group; ``None``: no grouping.
    ``heldout_list``: a file of paths (``RUN/heldout.txt``) that are exactly the test set;
    otherwise ``holdout`` of the images, split by group with ``split_seed``.

    ``epochs`` counts passes over the *real* training images: every condition trains for the same
    ``ceil(epochs * real / batch_size)`` steps, so an added image replaces repeats rather than
    buying extra updates. Classes with fewer training images than ``minority_target`` get synthetic
    images up to it (or exactly ``synthetic_per_class``), generated once per seed with that seed.
    ``score_train`` also scores each classifier on its real training images (a fit diagnostic).
    A TrainingData is used at its own size (``image_size`` is for folders); synthetic images are
    resized to it. ``command`` is recorded in the report as the way to rerun it.
    """
    notes: list[str] = []
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(int(v) for v in image_size)
    seeds = tuple(int(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {list(seeds)}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if conditions is None:
        conditions = DEFAULT_CONDITIONS if model is not None else tuple(c for c in DEFAULT_CONDITIONS
                                                                        if CONDITIONS[c][1] != "synthetic")
        if model is None:
            _note(notes, "no model given: running only the conditions without synthetic images "
                         "(pass a class-conditional GAN, e.g. --model acgan-lesions, for real+classic+synthetic)")
    conditions = tuple(conditions)
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown or not conditions or len(set(conditions)) != len(conditions):
        raise ValueError(f"conditions must be distinct names from {list(CONDITIONS)}, got {list(conditions)}")
    wants_synthetic = any(CONDITIONS[c][1] == "synthetic" for c in conditions)
    tops_up = any(CONDITIONS[c][1] for c in conditions)
    if wants_synthetic and model is None:
        raise ValueError(f"conditions {[c for c in conditions if CONDITIONS[c][1] == 'synthetic']} "
                         "need synthetic images: "
                         "pass a class-conditional model (e.g. model='acgan-lesions')")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))

    generator, model_name = (_generator_model(model, device) if model is not None else (None, None))
    if wants_synthetic and heldout_list is None:
        folder = Path(model) if isinstance(model, (str, Path)) and Path(model).is_dir() else None
        beside = folder.resolve().parent / "heldout.txt" if folder is not None else None
        if beside is not None and beside.is_file():  # RUN/model given: its run's own held-out list
            heldout_list = beside
            _note(notes, f"test set: {beside}, the files {model_name}'s training run held out")
        else:
            _note(notes, f"test set: a {holdout:g} split by group with split seed {split_seed}. The synthetic images "
                         f"are fair only if {model_name} was trained without these test images (zoo train --holdout "
                         f"{holdout:g} --split-seed {split_seed} with the same group column, as acgan-lesions was); "
                         "else pass its RUN/heldout.txt as --heldout-list")
    if channels is None:
        channels = generator.channels if generator is not None else 3
    full, group_column = _load(data, size, channels, label_column, group_column, notes, progress)
    names = full.class_names
    if generator is not None:
        gan_names = tuple(generator.config["class_names"])
        if set(gan_names) != set(names):
            raise ValueError(f"the model {model_name} makes the classes {list(gan_names)} but the data has "
                             f"{list(names)}; use a model trained on this data's classes (label column "
                             f"{label_column!r})")
    size = tuple(full.tensors["image"].shape[-2:])
    channels = full.tensors["image"].shape[1]

    train, test, split = _split(full, holdout, split_seed, heldout_list, notes)
    k = len(names)
    train_counts = torch.bincount(train.tensors["label"].long(), minlength=k)
    split.update(train_class_counts=dict(zip(names, train_counts.tolist())),
                 test_class_counts=dict(zip(names, torch.bincount(test.tensors["label"].long(), minlength=k).tolist())))
    empty = [n for n, c in split["test_class_counts"].items() if c == 0]
    if empty:
        _note(notes, f"classes {empty} have no held-out image: they have no recall and are left out of the "
                     "balanced accuracy and macro F1")

    fake_counts: dict[str, int] = {}
    if tops_up:  # the synthetic images and the oversampling control add the same numbers per class
        fake_counts = _synthetic_counts(synthetic_per_class, minority_target, names, train_counts.tolist())
        if not any(fake_counts.values()):
            _note(notes, f"no class has fewer than {minority_target} training images: the top-up conditions "
                         "add nothing (raise minority_target or pass synthetic_per_class)")

    batch_size = min(batch_size, len(train))  # every condition the same batches, tiny data included
    steps = math.ceil(epochs * len(train) / batch_size)
    settings = {
        "data": str(data) if not isinstance(data, TrainingData) else "TrainingData", "model": model_name,
        "image_size": list(size), "channels": channels, "label_column": label_column, "group_column": group_column,
        "holdout": holdout if heldout_list is None else None,
        "split_seed": split_seed if heldout_list is None else None,
        "heldout_list": str(heldout_list) if heldout_list is not None else None, "seeds": list(seeds),
        "epochs": epochs, "steps": steps, "batch_size": batch_size, "lr": lr,
        "optimizer": "Adam, cosine decay to 0", "classifier": f"SmallCNN widths {list(WIDTHS)}",
        "minority_target": minority_target if synthetic_per_class is None else None,
        "synthetic_per_class": dict(synthetic_per_class) if synthetic_per_class is not None else None,
        "conditions": list(conditions), "truncation": truncation, "device": str(device),
        "torch_threads": torch.get_num_threads(),
    }

    results: dict[str, dict[int, dict]] = {c: {} for c in conditions}
    run, total = 0, len(seeds) * len(conditions)
    for seed in seeds:
        fake_images = fake_labels = None
        if wants_synthetic and any(fake_counts.values()):
            fake_images, fake_labels = _generate(generator, fake_counts, names, seed, truncation, size, channels,
                                                 progress)
        for condition in conditions:
            run += 1
            classic, top_up = CONDITIONS[condition]
            images, labels = train.tensors["image"], train.tensors["label"].long()
            if top_up == "synthetic" and fake_images is not None:
                images, labels = torch.cat([images, fake_images]), torch.cat([labels, fake_labels])
            elif top_up == "oversampled":
                repeats = oversample(labels, fake_counts, names, seed)
                images, labels = torch.cat([images, images[repeats]]), torch.cat([labels, labels[repeats]])
            started = time.perf_counter()
            classifier = train_classifier(images, labels, k, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                                          augment=classic, device=device, progress=progress,
                                          desc=f"[{run}/{total}] {condition} seed {seed}")
            predicted = predict(classifier, test.tensors["image"])
            scores = classification_scores(confusion_matrix(test.tensors["label"], predicted, k), names)
            added = len(images) - len(train)
            scores.update(train_images=len(images), synthetic_images=added if top_up == "synthetic" else 0,
                          repeated_images=added if top_up == "oversampled" else 0,
                          seconds=round(time.perf_counter() - started, 1))
            if score_train:
                train_cm = confusion_matrix(train.tensors["label"], predict(classifier, train.tensors["image"]), k)
                scores["train_balanced_accuracy"] = balanced_accuracy(train_cm)
            results[condition][seed] = scores
            if progress:
                print(f"{condition} seed {seed}: balanced accuracy {scores['balanced_accuracy']:.3f}, macro F1 "
                      f"{scores['macro_f1']:.3f} ({scores['seconds']:.0f} s)", file=sys.stderr)

    return AugmentationReport(class_names=names, conditions=conditions, seeds=seeds, results=results, split=split,
                              synthetic_per_class=fake_counts, settings=settings, notes=notes, command=command)


def _note(notes: list[str], text: str) -> None:
    notes.append(text)
    print(f"note: {text}", file=sys.stderr)


def _generator_model(model: Any, device: torch.device):
    """(the GAN model, a name for the report) from a registry id, folder, Hub repo, pipeline or model."""
    from zoo.pipelines.base import Pipeline

    if isinstance(model, (str, os.PathLike)):
        from zoo import load

        name, found = os.fspath(model), load(os.fspath(model), device=device).model
    else:
        found = model.model if isinstance(model, Pipeline) else model
        name = getattr(found, "model_id", None) or type(found).__name__
    from zoo.registry import generates_classes

    if not generates_classes(found):
        raise ValueError(f"{name} is a {getattr(found, 'task', None) or 'non-GAN'} model; synthetic images per class "
                         "need a class-conditional one (zoo list --task class-conditional), e.g. acgan-lesions")
    return found, name


def _csv_columns(root: Path) -> list[str]:
    path = root / "labels.csv"
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f), [])


def _load(data, size, channels, label_column, group_column, notes, progress) -> tuple[TrainingData, str | None]:
    """Labelled images and the group column actually used."""
    own_group = "each image is its own group, so shots of one lesion may sit on both sides of the split"
    if isinstance(data, TrainingData):
        if "label" not in data.tensors or "image" not in data.tensors:
            raise DataError(f"the data needs images with labels, got {sorted(data.tensors)}; load it as "
                            "class-conditional: zoo.data.folders.load_training_data(root, 'class-conditional', ...)")
        if group_column not in ("auto", None) and not data.groups:
            raise DataError(f"group_column {group_column!r} was asked for but this TrainingData has no groups; "
                            "load it with load_training_data(..., group_column=...)")
        if group_column is None:
            data = TrainingData(data.tensors, data.class_names, data.files, None)
        elif not data.groups:
            _note(notes, f"the data has no groups: {own_group}")
        return data, (group_column if data.groups else None)
    root = Path(data)
    if group_column == "auto":
        group_column = "lesion_id" if "lesion_id" in _csv_columns(root) else None
        if group_column is None:
            _note(notes, f"{root / 'labels.csv'} has no lesion_id column: {own_group}")
    loaded = read_labelled_images(root, size, channels, label_column=label_column, group_column=group_column,
                                  progress=progress)
    return loaded, group_column


def _split(data: TrainingData, holdout: float, split_seed: int, heldout_list,
           notes) -> tuple[TrainingData, TrainingData, dict]:
    """(train, test, a record of the split): the listed files, or a group split."""
    if heldout_list is None:
        train, test = split_by_group(data, holdout, seed=split_seed)
        source = f"{holdout:g} held out by group, split seed {split_seed}"
        dropped = 0
    else:
        test_idx = listed_indices(data, Path(heldout_list))
        held = set(test_idx)
        groups = data.groups or [str(i) for i in range(len(data))]
        test_groups = {groups[i] for i in test_idx}
        # The list is the test set as given; a training image of a test group would leak that lesion.
        train_idx = [i for i in range(len(data)) if i not in held and groups[i] not in test_groups]
        dropped = len(data) - len(held) - len(train_idx)
        if dropped:
            _note(notes, f"{dropped} images share a group with a file of {heldout_list} and are left out of training")
        train, test = data.subset(train_idx), data.subset(test_idx)
        source = f"the files listed in {heldout_list}"
    if not len(train) or not len(test):
        raise DataError(f"the split leaves {len(train)} training and {len(test)} test images; both need some "
                        "(more data, or another holdout)")
    split = {
        "source": source, "train_images": len(train), "test_images": len(test),
        "train_groups": len(set(train.groups)) if train.groups else len(train),
        "test_groups": len(set(test.groups)) if test.groups else len(test),
        "left_out_of_training": dropped, "test_files": list(test.files),
    }
    return train, test, split


def _synthetic_counts(requested: Mapping[str, int] | None, target: int, names: tuple[str, ...],
                      train_counts: list[int]) -> dict[str, int]:
    if requested is None:
        if isinstance(target, bool) or not isinstance(target, int) or target < 0:
            raise ValueError(f"minority_target must be a whole number >= 0, got {target!r}")
        return {n: max(0, target - c) for n, c in zip(names, train_counts)}
    unknown = sorted(set(requested) - set(names))
    if unknown:
        raise ValueError(f"synthetic_per_class names classes {unknown} that the data does not have; its classes "
                         f"are {list(names)}")
    bad = {n: v for n, v in requested.items() if isinstance(v, bool) or not isinstance(v, int) or v < 0}
    if bad:
        raise ValueError(f"synthetic_per_class counts must be whole numbers >= 0, got {bad}")
    return {n: int(requested.get(n, 0)) for n in names}


def oversample(labels: torch.Tensor, counts: dict[str, int], names: tuple[str, ...], seed: int) -> torch.Tensor:
    """Indices of ``counts[c]`` real training images of each class ``c``, drawn with replacement."""
    gen = torch.Generator().manual_seed(1_000_003 * seed + 17)
    picks = []
    for k, name in enumerate(names):
        members = torch.nonzero(labels == k).flatten()
        if counts.get(name) and len(members):
            picks.append(members[torch.randint(len(members), (counts[name],), generator=gen)])
    return torch.cat(picks) if picks else torch.zeros(0, dtype=torch.long)


def _generate(generator, counts: dict[str, int], names: tuple[str, ...], seed: int, truncation: float | None,
              size: tuple[int, int], channels: int, progress: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """All synthetic images of one seed, once, as uint8 at the data's size, and their data label indices."""
    from zoo.data.datasets import synthetic_dataset

    dataset = synthetic_dataset(generator, {n: c for n, c in counts.items() if c}, seed=seed, truncation=truncation)
    # In index order: the dataset generates each chunk once when read in order.
    items = [dataset[i] for i in tqdm(range(len(dataset)), desc=f"synthetic images, seed {seed}", unit="img",
                                      disable=not progress, delay=1.0)]
    pixels = match_channels(resize(torch.stack([image for image, _ in items]), size), channels)
    gan_names = tuple(generator.config["class_names"])
    to_data = torch.tensor([names.index(n) for n in gan_names])  # the GAN's class order may differ from the data's
    labels = to_data[torch.tensor([label for _, label in items], dtype=torch.long)]
    return (pixels * 255 + 0.5).clamp(0, 255).to(torch.uint8), labels


# -- command line ---------------------------------------------------------------------------------
def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _class_count(text: str) -> tuple[str, int]:
    name, sep, count = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"takes CLASS=N, e.g. df=500; got {text!r}")
    return name, _count(count)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``zoo evaluate-augmentation``."""
    parser.add_argument("--data", required=True, type=Path, help="labelled folder: images/ + labels.csv (zoo/data.py)")
    parser.add_argument("--model", default=None,
                        help="class-conditional GAN for the synthetic condition: registry id (acgan-lesions), Hub "
                             "repo or folder (RUN/model); without it only real and real+classic run")
    parser.add_argument("--heldout-list", type=Path, default=None, metavar="FILE",
                        help="test on exactly these files: the GAN's RUN/heldout.txt, so that it never saw them")
    parser.add_argument("--holdout", type=_fraction, default=0.2, help="fraction held out for testing (default 0.2)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the held-out split (default 0)")
    parser.add_argument("--group-column", default="auto",
                        help="labels.csv column grouping shots of one lesion: 'auto' (lesion_id if present), a "
                             "column name, or 'none' (each image its own group)")
    parser.add_argument("--label-column", default="dx", help="labels.csv column holding the class (default dx)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="SEED",
                        help="one classifier per seed and condition (default 0 1 2)")
    parser.add_argument("--epochs", type=positive_int, default=DEFAULT_EPOCHS,
                        help=f"passes over the real training images, the same steps for every condition "
                             f"(default {DEFAULT_EPOCHS})")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="classifier batch (default 64)")
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate (default 1e-3)")
    parser.add_argument("--minority-target", type=_count, default=500,
                        help="top up classes with fewer training images than this: with synthetic images, or repeats "
                             "in the oversampled control (default 500)")
    parser.add_argument("--synthetic", type=_class_count, action="append", default=None, metavar="CLASS=N",
                        help="exactly N synthetic images of CLASS instead of --minority-target; repeatable")
    parser.add_argument("--conditions", nargs="+", choices=list(CONDITIONS), default=None, metavar="NAME",
                        help=f"any of {', '.join(CONDITIONS)}; default: {' '.join(DEFAULT_CONDITIONS)} "
                             "(without --model, those without synthetic images)")
    parser.add_argument("--image-size", type=positive_int, nargs="+", default=[64], metavar="SIZE",
                        help="H, or H W, of the classifier's input (default 64)")
    parser.add_argument("--truncation", type=positive_float, default=None, help="latent truncation for the GAN")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("-o", "--out", type=Path, required=True,
                        help="report folder: report.json, report.md, benefit.png")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``zoo evaluate-augmentation`` as parsed by :func:`add_arguments`; write and print the report."""
    if len(args.image_size) > 2:
        raise ValueError(f"--image-size takes H or H W, got {args.image_size}")
    args.out.mkdir(parents=True, exist_ok=True)  # a bad output path fails before any work
    size = tuple(args.image_size) * (2 if len(args.image_size) == 1 else 1)
    synthetic = dict(args.synthetic) if args.synthetic else None
    report = augmentation_benefit(
        args.data, args.model, image_size=size, label_column=args.label_column,
        group_column=None if args.group_column.lower() == "none" else args.group_column, holdout=args.holdout,
        split_seed=args.split_seed, heldout_list=args.heldout_list, seeds=args.seeds, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, minority_target=args.minority_target, synthetic_per_class=synthetic,
        conditions=args.conditions, truncation=args.truncation, device=args.device, progress=not args.no_progress,
        command=_command(args),
    )
    report.to_json(args.out / "report.json")
    (args.out / "report.md").write_text(report.markdown(), encoding="utf-8")
    report.plot(args.out / "benefit.png")
    print(report.table())
    print(f"wrote {args.out / 'report.json'}, report.md and benefit.png")
    return 0


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces ``args`` (every option spelt out, defaults included)."""
    parts = ["zoo", "evaluate-augmentation", "--data", str(args.data)]
    for flag, value in (("--model", args.model), ("--heldout-list", args.heldout_list)):
        if value is not None:
            parts += [flag, str(value)]
    if args.heldout_list is None:
        parts += ["--holdout", f"{args.holdout:g}", "--split-seed", str(args.split_seed)]
    parts += ["--group-column", args.group_column, "--label-column", args.label_column,
              "--seeds", *map(str, args.seeds), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
              "--lr", f"{args.lr:g}", "--image-size", *map(str, args.image_size)]
    if args.synthetic:
        for name, count in args.synthetic:
            parts += ["--synthetic", f"{name}={count}"]
    else:  # the synthetic and the oversampled conditions both top up to it
        parts += ["--minority-target", str(args.minority_target)]
    for flag, value in (("--truncation", args.truncation), ("--device", args.device)):
        if value is not None:
            parts += [flag, str(value)]
    if args.conditions:
        parts += ["--conditions", *args.conditions]
    return shlex.join(parts + ["-o", str(args.out)])

"""Training data, shared by every family: folders in, uint8 tensors in memory out.

Images are decoded and resized once, then kept as uint8 N x C x H x W tensors, so no epoch ever
decodes a JPEG again (6,000 HAM10000 images at 64 x 64 RGB take 74 MB). Layouts, by built-in task
(a task plugin registers its own reader):

============================  ====================================================================
unconditional                 ``DIR/images/*`` (or images directly in ``DIR``)
class-conditional             the same plus ``DIR/labels.csv`` (``file`` + a label column, e.g.
                              ``dx``), or one sub-folder per class: ``DIR/images/<class>/*``
unpaired / paired translation ``DIR/A/*`` and ``DIR/B/*`` (``trainA``/``trainB`` also work); paired
                              sets match files by name; an optional ``DIR/masks/*`` (same names)
                              marks where A and B differ, for inside/outside figures (``mask``);
                              unpaired, ``DIR/masks/*`` named as the B images marks what each B
                              shows that A lacks (the stain), e.g. for a CycleGAN's gate loss
masked edit                   ``DIR/images/*`` and ``DIR/masks/*`` (any ``*masks`` folder), same names;
                              optionally ``DIR/healthy/*``: extra lesion-free images (any names), a
                              ``healthy`` tensor matched to the images like unpaired data
============================  ====================================================================

Bad files, the rule: an unreadable image is skipped with one warning that names it (all of them,
counted); a folder with no readable image, a class with no image, or an image whose mask or pair
is missing is an error naming the files, because silently training on less is worse than stopping.
"""

from __future__ import annotations

import csv
import random
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from zoo.data.dicom import DICOM_SUFFIXES
from zoo.data.images import match_channels, read_image, resize
from zoo.errors import ImageInputError, MissingExtraError, ZooError

__all__ = [
    "IMAGE_SUFFIXES", "DataError", "TrainingData", "list_images", "decode_images", "load_training_data",
    "read_images", "read_labelled_images", "read_unpaired", "read_paired", "read_masked", "split_by_group",
    "listed_indices",
]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"} | DICOM_SUFFIXES


class DataError(ZooError):
    """A training folder that cannot be used as it is."""


@dataclass
class TrainingData:
    """Named uint8 tensors of equal length along dim 0 (``image``, ``label``, ``A``, ``B``, ``mask``, ``healthy``)."""

    tensors: dict[str, torch.Tensor]
    class_names: tuple[str, ...] = ()
    files: list[str] = field(default_factory=list)
    groups: list[str] | None = None

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def subset(self, index: list[int]) -> "TrainingData":
        idx = torch.as_tensor(index, dtype=torch.long)
        return TrainingData(
            {k: v[idx] for k, v in self.tensors.items()}, self.class_names, [self.files[i] for i in index],
            [self.groups[i] for i in index] if self.groups else None,
        )

    def describe(self) -> str:
        shapes = ", ".join(f"{k} {tuple(v.shape[1:])}" for k, v in self.tensors.items())
        classes = f", classes {list(self.class_names)}" if self.class_names else ""
        return f"{len(self)} samples ({shapes}){classes}"


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _decode(path: Path, size: tuple[int, int], channels: int) -> torch.Tensor | None:
    try:
        image = read_image(path)
    except MissingExtraError:
        raise  # not a bad file: every DICOM would be "unreadable" and the install hint lost
    except (ImageInputError, OSError):
        return None
    pixels = resize(match_channels(image.pixels, channels), size)[0]
    return (pixels * 255 + 0.5).clamp(0, 255).to(torch.uint8)


def decode_images(paths: list[Path], size: tuple[int, int], channels: int, what: str = "images",
                  progress: bool = True) -> tuple[torch.Tensor, list[Path]]:
    """Decode and resize every path once (threads: Pillow releases the GIL); skip unreadable ones."""
    with ThreadPoolExecutor() as pool:
        results = list(tqdm(pool.map(lambda p: _decode(p, size, channels), paths), total=len(paths),
                            desc=f"decoding {what}", unit="img", disable=not progress, delay=1.0))
    bad = [p for p, r in zip(paths, results) if r is None]
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable {what}: {', '.join(str(p) for p in bad)}", stacklevel=2)
    kept = [p for p, r in zip(paths, results) if r is not None]
    if not kept:
        raise DataError(f"no readable image among {len(paths)} {what} files")
    return torch.stack([r for r in results if r is not None]), kept


def _image_folder(root: Path) -> Path:
    folder = root / "images"
    return folder if folder.is_dir() else root


def _need(paths: list[Path], folder: Path) -> list[Path]:
    if not paths:
        raise DataError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {folder}")
    return paths


def load_training_data(
    root: str | Path,
    task: str,
    image_size: tuple[int, int],
    channels: int,
    class_names: tuple[str, ...] = (),
    label_column: str = "dx",
    group_column: str | None = None,
    progress: bool = True,
) -> TrainingData:
    """Read a training folder laid out for ``task``, with the reader its task registered."""
    from zoo.registry import get_registry

    reader = get_registry().task(task).read_data
    return reader(root, image_size, channels, class_names=class_names, label_column=label_column,
                  group_column=group_column, progress=progress)


def _folder(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"no such data folder: {root}")
    return root


def read_images(root: str | Path, image_size: tuple[int, int], channels: int, *, class_names: tuple[str, ...] = (),
                label_column: str = "dx", group_column: str | None = None, progress: bool = True,
                labelled: bool = False) -> TrainingData:
    """An unconditional (``labelled=False``) or class-conditional folder: ``DIR/images/*`` (or
    images directly in ``DIR``), with ``DIR/labels.csv`` or class sub-folders for labels."""
    return _load_images(_folder(root), labelled, tuple(image_size), channels, class_names, label_column,
                        group_column, progress)


def read_labelled_images(root: str | Path, image_size: tuple[int, int], channels: int, **options) -> TrainingData:
    """A class-conditional folder (:func:`read_images` with ``labelled=True``)."""
    return read_images(root, image_size, channels, labelled=True, **options)


def read_unpaired(root: str | Path, image_size: tuple[int, int], channels: int, *, progress: bool = True,
                  **_options) -> TrainingData:
    """``DIR/A/*`` and ``DIR/B/*`` (or trainA/trainB), in no particular pairing, with optional
    ``DIR/masks/*`` named as the B images (where each shows what A lacks, e.g. a stain)."""
    return _load_pairs(_folder(root), False, tuple(image_size), channels, progress)


def read_paired(root: str | Path, image_size: tuple[int, int], channels: int, *, progress: bool = True,
                **_options) -> TrainingData:
    """``DIR/A/*`` and ``DIR/B/*`` matched by file name, with optional ``DIR/masks/*``."""
    return _load_pairs(_folder(root), True, tuple(image_size), channels, progress)


def read_masked(root: str | Path, image_size: tuple[int, int], channels: int, *, progress: bool = True,
                **_options) -> TrainingData:
    """``DIR/images/*`` and ``DIR/masks/*`` of the same names, with optional ``DIR/healthy/*``."""
    return _load_masked(_folder(root), tuple(image_size), channels, progress)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: Excel's "CSV UTF-8" starts with a BOM
        return list(csv.DictReader(f))


def _load_images(root, labelled, size, channels, class_names, label_column, group_column, progress) -> TrainingData:
    folder = _image_folder(root)
    paths = _need(list_images(folder), folder)
    csv_path = root / "labels.csv"
    rows = {}
    if csv_path.is_file():
        for row in _read_csv(csv_path):
            rows[row.get("file") or row.get("id") or ""] = row
    labels: list[str] | None = None
    if labelled:
        if rows:
            if label_column not in next(iter(rows.values())):
                raise DataError(f"{csv_path} has no column {label_column!r}; its columns are "
                                f"{list(next(iter(rows.values())))} (choose one with --label-column)")
            missing = [p.name for p in paths if _row(rows, p) is None]
            if missing:
                raise DataError(f"{len(missing)} images have no row in {csv_path}: {', '.join(missing[:10])}")
            labels = [(_row(rows, p)[label_column] or "").strip() for p in paths]
            empty = [p.name for p, label in zip(paths, labels) if not label]
            if empty:
                raise DataError(f"{len(empty)} images have an empty {label_column!r} in {csv_path}: "
                                f"{', '.join(empty[:10])}; fill in their class or remove their rows and files")
        else:  # one sub-folder per class
            labels = [p.parent.name if p.parent != folder else "" for p in paths]
            if "" in labels:
                raise DataError(f"class-conditional data needs {csv_path} or one sub-folder per class in {folder}")
    images, kept = decode_images(paths, size, channels, "images", progress)
    tensors = {"image": images}
    names: tuple[str, ...] = ()
    if labels is not None:
        keep = set(kept)
        labels = [lab for p, lab in zip(paths, labels) if p in keep]
        names = tuple(class_names) or tuple(sorted(set(labels)))
        unknown = sorted(set(labels) - set(names))
        if unknown:
            raise DataError(f"labels {unknown} are not classes of this model {list(names)}")
        empty = [n for n in names if n not in labels]
        if empty:
            raise DataError(f"classes {empty} have no image in {root}; every class needs examples")
        tensors["label"] = torch.tensor([names.index(lab) for lab in labels])
    groups = None
    if group_column:
        if not rows:
            raise DataError(f"--group-column {group_column!r} needs {csv_path}")
        if group_column not in next(iter(rows.values())):
            raise DataError(f"{csv_path} has no column {group_column!r} to group by; its columns are "
                            f"{list(next(iter(rows.values())))}")
        missing = [p.name for p in kept if _row(rows, p) is None]
        if missing:  # an image without a group could sit on both sides of a split: stop
            raise DataError(f"{len(missing)} images have no row in {csv_path}: {', '.join(missing[:10])}")
        groups = [(_row(rows, p) or {}).get(group_column) or p.name for p in kept]
    return TrainingData(tensors, names, [str(p) for p in kept], groups)


def _row(rows: dict[str, dict], path: Path) -> dict | None:
    return rows.get(path.name) or rows.get(path.stem)


def _side(root: Path, name: str) -> Path:
    for candidate in (root / name, root / f"train{name}"):
        if candidate.is_dir():
            return candidate
    raise DataError(f"translation data needs the folders {root / 'A'} and {root / 'B'} (or trainA/trainB)")



def _decode_masks(paths: list[Path], size, progress) -> tuple[torch.Tensor, list[Path]]:
    """Masks as uint8 N x 1 x H x W in {0, 255} (grey above 127 counts as masked), and the paths read."""
    masks, kept = decode_images(paths, size, 1, "masks", progress)
    return ((masks > 127) * 255).to(torch.uint8), kept

def _load_pairs(root: Path, paired: bool, size, channels, progress) -> TrainingData:
    folder_a, folder_b = _side(root, "A"), _side(root, "B")
    paths_a, paths_b = _need(list_images(folder_a), folder_a), _need(list_images(folder_b), folder_b)
    if paired:
        names_b = {p.relative_to(folder_b) for p in paths_b}
        unmatched = [str(p.relative_to(folder_a)) for p in paths_a if p.relative_to(folder_a) not in names_b]
        if unmatched:
            raise DataError(f"paired data: {len(unmatched)} files in {folder_a} have no partner of the same name "
                            f"in {folder_b}: {', '.join(unmatched[:10])}")
        paths_b = [folder_b / p.relative_to(folder_a) for p in paths_a]
    a, kept_a = decode_images(paths_a, size, channels, "A images", progress)
    b, kept_b = decode_images(paths_b, size, channels, "B images", progress)
    tensors = {"A": a, "B": b}
    if paired:
        if len(kept_a) != len(paths_a) or len(kept_b) != len(paths_b):
            raise DataError("paired data: an unreadable file broke a pair; fix or remove it (see the warning)")
        if (root / "masks").is_dir():  # where A and B differ (e.g. the stain): for inside/outside figures
            masks = [root / "masks" / p.relative_to(folder_a) for p in paths_a]
            if all(m.is_file() for m in masks):
                mask_t, kept_m = _decode_masks(masks, size, progress)
                if len(kept_m) == len(masks):
                    tensors["mask"] = mask_t
    else:  # unpaired: every A meets a random B; the longer side sets the length
        n = max(len(a), len(b))
        order = random.Random(0).sample(range(n), n)
        kept_a = [kept_a[i % len(a)] for i in range(n)]
        pick_b = [order[i] % len(b) for i in range(n)]
        tensors = {"A": a[[i % len(a) for i in range(n)]], "B": b[pick_b]}
        if (root / "masks").is_dir():  # where each B shows what A lacks (e.g. the stain): travels with B
            masks = [root / "masks" / p.relative_to(folder_b) for p in kept_b]
            missing = [str(m) for m in masks if not m.is_file()]
            if missing:
                raise DataError(f"{len(missing)} B images have no mask of the same name in {root / 'masks'}: "
                                f"{', '.join(missing[:10])}; add them or remove the masks folder")
            mask_t, kept_m = _decode_masks(masks, size, progress)
            if len(kept_m) != len(masks):
                raise DataError("an unreadable mask broke an image/mask pair; fix or remove it (see the warning)")
            tensors["mask"] = mask_t[pick_b]
    return TrainingData(tensors, files=[str(p) for p in kept_a])


def _load_masked(root: Path, size, channels, progress) -> TrainingData:
    folder = root / "images"
    mask_dirs = sorted(p for p in root.iterdir() if p.is_dir() and p.name.endswith("masks"))
    if not folder.is_dir() or not mask_dirs:
        raise DataError(f"masked-edit data needs {folder} and a masks folder ({root / 'masks'}) with the same names")
    paths = _need(list_images(folder), folder)
    masks = [mask_dirs[0] / p.relative_to(folder) for p in paths]
    missing = [str(m) for m in masks if not m.is_file()]
    if missing:
        raise DataError(f"{len(missing)} images have no mask: {', '.join(missing[:10])}")
    images, kept = decode_images(paths, size, channels, "images", progress)
    mask_t, kept_m = _decode_masks(masks, size, progress)
    if len(kept) != len(paths) or len(kept_m) != len(masks):
        raise DataError("an unreadable image or mask broke an image/mask pair; fix or remove it (see the warning)")
    tensors = {"image": images, "mask": mask_t}
    files = [str(p) for p in kept]
    if (root / "healthy").is_dir():  # unpaired with the images: the longer side sets the length
        healthy, _ = decode_images(_need(list_images(root / "healthy"), root / "healthy"), size, channels,
                                   "healthy images", progress)
        n = max(len(images), len(healthy))
        order = random.Random(0).sample(range(n), n)
        tensors = {k: v[[i % len(v) for i in range(n)]] for k, v in tensors.items()}
        tensors["healthy"] = healthy[[order[i] % len(healthy) for i in range(n)]]
        files = [files[i % len(files)] for i in range(n)]
    return TrainingData(tensors, files=files)


def split_by_group(data: TrainingData, holdout: float, seed: int = 0) -> tuple[TrainingData, TrainingData]:
    """Split off ``holdout`` of the samples; all samples of one group land on the same side.

    Groups come from ``group_column`` (HAM10000's ``lesion_id``: shots of one lesion never sit on
    both sides); without groups each file is its own group, so a file repeated to match a longer
    side (unpaired data, a ``healthy/`` folder) never lands on both sides.
    """
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be between 0 and 1, got {holdout}")
    if data.groups:
        groups = data.groups
    elif len(data.files) == len(data):  # named by a file's first position: unique files split as before
        first: dict[str, int] = {}
        groups = [str(first.setdefault(f, i)) for i, f in enumerate(data.files)]
    else:
        groups = [str(i) for i in range(len(data))]
    unique = sorted(set(groups))
    random.Random(seed).shuffle(unique)
    sizes = Counter(groups)
    held_groups, count = set(), 0
    for g in unique:
        if count >= holdout * len(data):
            break
        held_groups.add(g)
        count += sizes[g]
    held = [i for i, g in enumerate(groups) if g in held_groups]
    train = [i for i, g in enumerate(groups) if g not in held_groups]
    return data.subset(train), data.subset(held)


def listed_indices(data: TrainingData, path: Path) -> list[int]:
    """Indices of the files in ``path`` (one per line), matched by path, else by a unique file name.

    heldout.txt holds paths as ``zoo train`` was given them (relative to where it ran), so the
    same image may be spelt differently here; HAM10000's file names are unique on their own.
    """
    if not path.is_file():
        raise DataError(f"no such held-out list: {path} (zoo train --holdout writes RUN/heldout.txt)")
    listed = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not listed:
        raise DataError(f"{path} lists no file; it should hold one image path per line (RUN/heldout.txt)")
    by_path = {Path(f).resolve(): i for i, f in enumerate(data.files)}
    name_count = Counter(Path(f).name for f in data.files)
    by_name = {Path(f).name: i for i, f in enumerate(data.files)}
    found, missing = [], []
    for entry in listed:
        index = by_path.get(Path(entry).resolve())
        if index is None and name_count[Path(entry).name] == 1:
            index = by_name[Path(entry).name]
        (missing if index is None else found).append(entry if index is None else index)
    if missing:
        raise DataError(f"{len(missing)} files of {path} are not in the data: {', '.join(missing[:5])}"
                        f"{' ...' if len(missing) > 5 else ''}; pass the --data folder the model was trained on")
    return sorted(set(found))

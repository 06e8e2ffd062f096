"""The public data sets the zoo's models were trained on: where each comes from, its licence and
citation, and a converter from its original release into the layouts ``zoo train`` reads.

Nothing here downloads anything unless :func:`fetch` is called (``zoo data prepare --download``).
A source is what the user downloaded: a ``.zip`` archive or an extracted folder; ``.zip`` files
inside either are read too (HAM10000's two image parts, a Dataverse "download all" bundle).

===========  =========================================================================================
``ham10000`` ``images/ISIC_*.jpg`` (128 x 128 RGB JPEG, stretched from 600 x 450) + ``labels.csv``:
             ``file,dx,lesion_id`` and the other metadata columns (``dx_type,age,sex,localization``)
``ph2``      ``images/IMDxxx.png`` (256 x 256 RGB) + ``masks/IMDxxx.png`` (0/255) + ``labels.csv``:
             ``id,label_name,lesion_fraction`` (common_nevus, atypical_nevus, melanoma)
``dental``   ``images/N.png`` (512 x 256 grayscale) + ``caries_masks/N.png`` (0/255)
``faces``    ``images/*`` (RGB, longest side at most 512, never enlarged)
===========  =========================================================================================

Each prepared folder also gets ``SOURCE.md``: the set's source, licence and citation.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from zoo.data.folders import DataError

__all__ = [
    "Download", "PublicDataSet", "PrepareSummary", "DATASETS", "names", "get", "prepare", "fetch",
    "prepare_ham10000", "prepare_ph2", "prepare_dental", "prepare_faces",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
UNREADABLE_ARCHIVES = (".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")
PREPARED_MARKERS = ("images", "masks", "caries_masks", "labels.csv", "SOURCE.md")  # in --out: a prepared set
OUTPUTS = ("images", "masks", "caries_masks", "labels.csv", "SOURCE.md")  # what --force replaces, nothing else
DATAVERSE = "https://dataverse.harvard.edu/api/access/datafile"


@dataclass(frozen=True)
class Download:
    """One file of a set's public release: saved as ``file``; ``sha256`` checked when known."""

    file: str
    url: str
    sha256: str | None = None


@dataclass
class PrepareSummary:
    """What a preparer wrote."""

    name: str
    out: Path
    images: int
    image_format: str
    masks: str | None = None  # the masks folder, when masks were written
    label_column: str | None = None
    labels: dict[str, int] = field(default_factory=dict)  # images per class
    notes: list[str] = field(default_factory=list)  # skipped files and other things to know

    def describe(self) -> str:
        masks = f" with their masks in {self.masks}/" if self.masks else ""
        lines = [f"wrote {self.images} images ({self.image_format}){masks} to {self.out}"]
        if self.labels:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(self.labels.items()))
            lines.append(f"labels.csv: {self.label_column} in {counts}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class PublicDataSet:
    """A public data set: where it comes from, its terms, and ``prepare(source, out, size, progress, limit)``."""

    name: str
    title: str
    what: str
    count: str
    licence: str  # short, for tables
    terms: str  # the licence in a sentence: who may use it for what
    citation: str
    homepage: str
    obtain: str  # how to get the original files, plainly
    original_layout: str
    layout: str  # what prepare writes
    default_size: int
    size_meaning: str
    prepare: Callable[..., PrepareSummary]
    downloads: tuple[Download, ...] = ()
    aliases: tuple[str, ...] = ()
    train_hint: str = ""  # a next command, with {out}


# ----------------------------------------------------------------------------------------------
# Reading a source: a folder or a .zip, with the .zip files inside it
# ----------------------------------------------------------------------------------------------

class _Source:
    """Every file of a folder or .zip archive (nested .zip archives opened too), by relative posix path."""

    def __init__(self, root: Path, scratch: Path):
        self.root, self.scratch = root, scratch
        self.files: dict[str, Callable[[], bytes]] = {}
        self._stack = ExitStack()
        self._nested = 0

    def __enter__(self) -> "_Source":
        if self.root.is_dir():
            self._add_folder(self.root)
        else:
            self._add_zip(self.root, "")
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _add_folder(self, folder: Path) -> None:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            if not path.is_file() or _junk(rel):
                continue
            if path.suffix.lower() == ".zip":
                self._add_zip(path, rel + "/")
            else:
                self.files[rel] = path.read_bytes

    def _add_zip(self, path: Path, prefix: str) -> None:
        try:
            archive = self._stack.enter_context(zipfile.ZipFile(path))
        except zipfile.BadZipFile as exc:
            raise DataError(f"{path} is not a readable .zip archive ({exc}); download it again") from exc
        for info in archive.infolist():
            if info.is_dir() or _junk(info.filename):
                continue
            if info.filename.lower().endswith(".zip"):  # e.g. the image parts inside a Dataverse bundle
                self._nested += 1
                nested = self.scratch / f"nested-{self._nested}.zip"
                with archive.open(info) as src, open(nested, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                self._add_zip(nested, prefix + info.filename + "/")
            else:
                self.files[prefix + info.filename] = _member_reader(archive, info)

    def images(self) -> list[str]:
        return sorted(p for p in self.files if p.lower().endswith(IMAGE_SUFFIXES))

    def named(self, pattern: str) -> list[str]:
        """Paths whose file name matches ``pattern`` (a regular expression, case-insensitive)."""
        rx = re.compile(pattern, re.IGNORECASE)
        return sorted(p for p in self.files if rx.fullmatch(PurePosixPath(p).name))


def _member_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    return lambda: archive.read(info)


def _junk(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return any(p == "__MACOSX" or p.startswith("._") or p == ".DS_Store" for p in parts)


def _check_source(source: Path, spec: PublicDataSet) -> None:
    if not source.exists():
        how = "; or add --download to fetch it" if spec.downloads else ""
        raise DataError(f"no such file or folder: {source}. Get {spec.title} first: {spec.obtain}{how}")
    if source.is_file():
        if source.suffix.lower() in UNREADABLE_ARCHIVES:
            raise DataError(f"{source}: zoo data reads .zip archives and folders, not {source.suffix} files; "
                            f"extract it first (e.g. `7z x {source.name}` or `unrar x {source.name}`) and pass "
                            "the extracted folder as --source")
        if not zipfile.is_zipfile(source):
            raise DataError(f"{source} is neither a folder nor a .zip archive; pass the downloaded .zip or the "
                            f"folder it was extracted to. Expected: {spec.original_layout}")


# ----------------------------------------------------------------------------------------------
# Image helpers (Pillow, imported when needed)
# ----------------------------------------------------------------------------------------------

def _open(data: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _eight_bit(image):
    """16-bit and 32-bit integer grayscale to 8-bit L (convert('L') would clip them)."""
    import numpy as np
    from PIL import Image

    if image.mode.startswith("I"):
        arr = np.asarray(image).astype(np.float64) / 257.0
        return Image.fromarray(arr.clip(0, 255).round().astype(np.uint8))
    return image


def _rgb(image):
    return _eight_bit(image).convert("RGB")


def _gray(image):
    return _eight_bit(image).convert("L")


def _binary(image):
    """A mask as a bool array: above half its maximum (0/1, 0/255 and anti-aliased masks alike)."""
    import numpy as np

    arr = np.asarray(_gray(image))
    top = int(arr.max()) if arr.size else 0
    return arr > top / 2 if top else np.zeros(arr.shape, dtype=bool)


def _mask_image(mask, size: tuple[int, int]):
    """bool H x W -> 0/255 'L' image at ``size`` (W, H): resized smoothly, then thresholded again."""
    import numpy as np
    from PIL import Image

    small = Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.BILINEAR)
    return Image.fromarray((np.asarray(small) > 127).astype(np.uint8) * 255)


def _resize(image, size: tuple[int, int]):
    from PIL import Image

    return image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)


def _run(jobs: list[Callable[[], object]], what: str, progress: bool) -> list[object]:
    """Run ``jobs`` on threads (Pillow releases the GIL), in order; a job's exception is returned, not raised."""
    from tqdm.auto import tqdm

    def safe(job):
        try:
            return job()
        except (OSError, ValueError, SyntaxError, EOFError, zipfile.BadZipFile) as exc:  # broken files
            return exc

    with ThreadPoolExecutor() as pool:
        return list(tqdm(pool.map(safe, jobs), total=len(jobs), desc=what, unit="img", disable=not progress,
                         delay=1.0))


def _failed(names: list[str], results: list[object]) -> list[str]:
    return [f"{n} ({r})" for n, r in zip(names, results) if isinstance(r, Exception)]


def _skip_note(failed: list[str], what: str) -> list[str]:
    if not failed:
        return []
    more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
    return [f"skipped {len(failed)} unreadable {what}: {'; '.join(failed[:10])}{more}"]


def _limited(items: list, limit: int | None, notes: list[str]) -> list:
    if limit is not None and limit < len(items):
        notes.append(f"--limit {limit}: kept the first {limit} of {len(items)} in name order")
        return items[:limit]
    return items


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


# ----------------------------------------------------------------------------------------------
# HAM10000
# ----------------------------------------------------------------------------------------------

def _read_table(data: bytes) -> list[dict[str, str]]:
    """A CSV or a Dataverse tab-separated export (quoted strings) as rows."""
    text = data.decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0]
    return list(csv.DictReader(io.StringIO(text), delimiter="\t" if "\t" in first else ","))


def prepare_ham10000(source: Path, out: Path, size: int, progress: bool = True, limit: int | None = None,
                     *, scratch: Path | None = None) -> PrepareSummary:
    """HAM10000 (Dataverse zips, a Dataverse bundle or extracted folders) -> images/ + labels.csv."""
    with tempfile.TemporaryDirectory(dir=scratch) as tmp, _Source(source, Path(tmp)) as src:
        meta = src.named(r"HAM10000_metadata(\.(csv|tab|txt))?")
        if not meta:
            raise DataError(f"{source} does not look like the HAM10000 release: no HAM10000_metadata.csv (or .tab) "
                            "found. Expected HAM10000_images_part_1.zip, HAM10000_images_part_2.zip and "
                            "HAM10000_metadata.csv from doi:10.7910/DVN/DBW86T, in one folder or .zip")
        rows = _read_table(src.files[meta[0]]())
        columns = list(rows[0]) if rows else []
        missing = [c for c in ("image_id", "dx", "lesion_id") if c not in columns]
        if missing:
            raise DataError(f"{meta[0]} has no column {', '.join(missing)}; its columns are {columns}. Expected "
                            "HAM10000's lesion_id,image_id,dx,dx_type,age,sex,localization")
        by_id = {r["image_id"].strip(): r for r in rows}
        images: dict[str, str] = {}
        for path in src.named(r"ISIC_\d+\.jpe?g"):
            images.setdefault(PurePosixPath(path).stem, path)  # Kaggle copies hold each part twice
        if not images:
            raise DataError(f"{source} holds no ISIC_*.jpg image: expected HAM10000_images_part_1.zip and "
                            "HAM10000_images_part_2.zip (or the folders they extract to) beside "
                            f"{PurePosixPath(meta[0]).name}")
        ids = sorted(i for i in images if i in by_id)
        if not ids:
            raise DataError(f"none of the {len(images)} ISIC_*.jpg images in {source} has a row in {meta[0]}; "
                            "is that the HAM10000 metadata?")
        notes = _ham_notes(by_id, images)
        ids = _limited(ids, limit, notes)
        (out / "images").mkdir(parents=True)

        def job(image_id: str) -> Callable[[], None]:
            def run() -> None:
                image = _resize(_rgb(_open(src.files[images[image_id]]())), (size, size))
                image.save(out / "images" / f"{image_id}.jpg", quality=95)
            return run

        results = _run([job(i) for i in ids], "HAM10000", progress)
    notes += _skip_note(_failed(ids, results), "images")
    kept = [i for i, r in zip(ids, results) if not isinstance(r, Exception)]
    extra = [c for c in columns if c not in ("image_id", "dx", "lesion_id")]
    _write_csv(out / "labels.csv", ["file", "dx", "lesion_id", *extra],
               [[f"{i}.jpg", by_id[i]["dx"], by_id[i]["lesion_id"], *(by_id[i][c] for c in extra)] for i in kept])
    return PrepareSummary("ham10000", out, len(kept), f"{size} x {size} RGB JPEG, stretched", None, "dx",
                          dict(Counter(by_id[i]["dx"] for i in kept)), notes)


def _ham_notes(by_id: dict[str, dict], images: dict[str, str]) -> list[str]:
    notes = []
    no_image = [i for i in by_id if i not in images]
    if no_image:
        notes.append(f"{len(no_image)} metadata rows have no image (e.g. {no_image[0]}); is one of "
                     "HAM10000_images_part_1.zip / _part_2.zip missing from the source?")
    no_row = [i for i in images if i not in by_id]
    if no_row:
        notes.append(f"left out {len(no_row)} ISIC images with no metadata row (e.g. {no_row[0]}; the ISIC 2018 "
                     "test images of a Dataverse bundle are such)")
    return notes


# ----------------------------------------------------------------------------------------------
# PH2
# ----------------------------------------------------------------------------------------------

PH2_CLASSES = {"0": "common_nevus", "1": "atypical_nevus", "2": "melanoma"}


def _ph2_diagnoses(text: str) -> dict[str, str]:
    """PH2_dataset.txt: a '||'-separated table; 'Clinical Diagnosis' is 0, 1 or 2 (PH2_CLASSES)."""
    column = 3  # || Name || Histological Diagnosis || Clinical Diagnosis || ...
    found = {}
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("||")]
        if len(fields) < 4:
            continue
        names = [f.lower() for f in fields]
        if "clinical diagnosis" in names:
            column = names.index("clinical diagnosis")
        elif re.fullmatch(r"IMD\d+", fields[1]) and len(fields) > column and fields[column] in PH2_CLASSES:
            found[fields[1]] = PH2_CLASSES[fields[column]]
    return found


def prepare_ph2(source: Path, out: Path, size: int, progress: bool = True, limit: int | None = None,
                *, scratch: Path | None = None) -> PrepareSummary:
    """PH2 (the extracted .rar: 'PH2 Dataset images/IMDxxx/...' + PH2_dataset.txt) -> images/, masks/, labels.csv."""
    with tempfile.TemporaryDirectory(dir=scratch) as tmp, _Source(source, Path(tmp)) as src:
        images = _ph2_files(src, r"(?:.*/)?(IMD\d+)_Dermoscopic_Image/(IMD\d+)\.(?:bmp|png|jpe?g)")
        masks = _ph2_files(src, r"(?:.*/)?(IMD\d+)_lesion/(IMD\d+)_lesion\.(?:bmp|png)")
        if not images:
            raise DataError(f"{source} does not look like the PH2 release: no "
                            "'PH2 Dataset images/IMDxxx/IMDxxx_Dermoscopic_Image/IMDxxx.bmp' found. Extract "
                            "PH2Dataset.rar and pass the extracted PH2Dataset folder (or a .zip of it)")
        diagnoses = _ph2_table(src, source)
        notes = []
        for what, lacking in (("lesion mask", [i for i in images if i not in masks]),
                              ("diagnosis in PH2_dataset.txt", [i for i in images if i not in diagnoses])):
            if lacking:
                notes.append(f"left out {len(lacking)} images with no {what}: {', '.join(lacking[:10])}")
        ids = _limited(sorted(i for i in images if i in masks and i in diagnoses), limit, notes)
        for folder in ("images", "masks"):
            (out / folder).mkdir(parents=True)

        def job(case: str) -> Callable[[], float]:
            def run() -> float:
                image = _resize(_rgb(_open(src.files[images[case]]())), (size, size))
                mask = _binary(_open(src.files[masks[case]]()))
                image.save(out / "images" / f"{case}.png")
                _mask_image(mask, (size, size)).save(out / "masks" / f"{case}.png")
                return float(mask.mean())
            return run

        results = _run([job(i) for i in ids], "PH2", progress)
    notes += _skip_note(_failed(ids, results), "images or masks")
    kept = [(i, r) for i, r in zip(ids, results) if not isinstance(r, Exception)]
    _write_csv(out / "labels.csv", ["id", "label_name", "lesion_fraction"],
               [[i, diagnoses[i], f"{r:.3f}"] for i, r in kept])
    return PrepareSummary("ph2", out, len(kept), f"{size} x {size} RGB PNG, stretched", "masks",
                          "label_name", dict(Counter(diagnoses[i] for i, _ in kept)), notes)


def _ph2_files(src: _Source, pattern: str) -> dict[str, str]:
    rx = re.compile(pattern, re.IGNORECASE)
    found = {}
    for path in src.files:
        m = rx.fullmatch(path)
        if m and m.group(1).upper() == m.group(2).upper():
            found.setdefault(m.group(1).upper(), path)
    return found


def _ph2_table(src: _Source, source: Path) -> dict[str, str]:
    tables = src.named(r"PH2_dataset\.txt")
    if not tables:
        xlsx = " (found PH2_dataset.xlsx; zoo data reads the .txt copy of the same table)" if src.named(
            r"PH2_dataset\.xlsx") else ""
        raise DataError(f"{source}: no PH2_dataset.txt{xlsx}. It holds the diagnoses and sits beside "
                        "'PH2 Dataset images' in the PH2 archive; copy it there")
    diagnoses = _ph2_diagnoses(src.files[tables[0]]().decode("utf-8", errors="replace"))
    if not diagnoses:
        raise DataError(f"{tables[0]}: no row like '|| IMD002 || ... || 1 || ...' (a 'Clinical Diagnosis' of 0, 1 "
                        "or 2); is it PH2's own PH2_dataset.txt?")
    return diagnoses


# ----------------------------------------------------------------------------------------------
# DC1000 dental panoramic X-rays
# ----------------------------------------------------------------------------------------------

MASK_FOLDERS = {"labels", "label", "masks", "mask", "gt", "caries_masks"}


def _dental_pairs(src: _Source) -> tuple[list[tuple[str, str | None]], int]:
    """(image, mask or None) pairs: ``.../images/N.png`` with ``.../labels/N.png``; and the unlabelled count."""
    masks = {}
    for path in src.images():
        p = PurePosixPath(path)
        if p.parent.name.lower() in MASK_FOLDERS:
            masks[(str(p.parent.parent), p.stem)] = path
    in_images = [p for p in src.images() if PurePosixPath(p).parent.name.lower() == "images"]
    pairs = [(p, masks.get((str(PurePosixPath(p).parent.parent), PurePosixPath(p).stem))) for p in in_images]
    labelled = [(p, m) for p, m in pairs if m]
    if labelled:
        return labelled, len(pairs) - len(labelled)
    if in_images:
        return [(p, None) for p in in_images], 0
    return [(p, None) for p in src.images() if PurePosixPath(p).parent.name.lower() not in MASK_FOLDERS], 0


def _flat_names(paths: list[str], suffix: str | None = None) -> list[str]:
    """Output file names: the stem (or the whole relative path, '/' -> '-', where two stems collide)."""
    stems = Counter(PurePosixPath(p).stem for p in paths)
    names = []
    for p in paths:
        path = PurePosixPath(p)
        base = path.stem if stems[path.stem] == 1 else "-".join(path.with_suffix("").parts)
        names.append(base + (suffix or path.suffix.lower()))
    return names


def prepare_dental(source: Path, out: Path, size: int, progress: bool = True, limit: int | None = None,
                   *, scratch: Path | None = None) -> PrepareSummary:
    """DC1000 (``.../images/N.png`` + ``.../labels/N.png``) or any folder of X-rays -> images/ (+ caries_masks/)."""
    width, height = size, max(1, size // 2)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp, _Source(source, Path(tmp)) as src:
        pairs, unlabelled = _dental_pairs(src)
        if not pairs:
            raise DataError(f"{source} holds no image; expected DC1000's images/N.png with labels/N.png (caries "
                            "masks) of the same names, or a folder of panoramic X-rays")
        notes = [f"left out {unlabelled} images with no caries mask (no labels/ file of the same name)"] \
            if unlabelled else []
        with_masks = pairs[0][1] is not None
        if not with_masks:
            notes.append("no caries masks found (DC1000 keeps them in labels/ beside images/): wrote images only, "
                         "enough for unconditional training, not for masked edits")
        pairs = _limited(pairs, limit, notes)
        names = _flat_names([p for p, _ in pairs], ".png")
        (out / "images").mkdir(parents=True)
        if with_masks:
            (out / "caries_masks").mkdir()

        def job(image_path: str, mask_path: str | None, name: str) -> Callable[[], None]:
            def run() -> None:
                image = _resize(_gray(_open(src.files[image_path]())), (width, height))
                mask = _mask_image(_binary(_open(src.files[mask_path]())), (width, height)) if mask_path else None
                image.save(out / "images" / name)
                if mask is not None:
                    mask.save(out / "caries_masks" / name)
            return run

        results = _run([job(p, m, n) for (p, m), n in zip(pairs, names)], "DC1000", progress)
    notes += _skip_note(_failed([p for p, _ in pairs], results), "images or masks")
    count = sum(not isinstance(r, Exception) for r in results)
    return PrepareSummary("dental", out, count, f"{width} x {height} grayscale PNG, stretched",
                          "caries_masks" if with_masks else None, notes=notes)


# ----------------------------------------------------------------------------------------------
# Faces
# ----------------------------------------------------------------------------------------------

def prepare_faces(source: Path, out: Path, size: int, progress: bool = True, limit: int | None = None,
                  *, scratch: Path | None = None) -> PrepareSummary:
    """CelebA (img_align_celeba.zip) or any folder of face photos -> images/ (longest side at most ``size``)."""
    with tempfile.TemporaryDirectory(dir=scratch) as tmp, _Source(source, Path(tmp)) as src:
        paths = src.images()
        if not paths:
            raise DataError(f"{source} holds no image ({', '.join(IMAGE_SUFFIXES)}); expected CelebA's "
                            "img_align_celeba.zip (img_align_celeba/000001.jpg ...) or a folder of face photos")
        notes: list[str] = []
        paths = _limited(paths, limit, notes)
        names = ["-".join(PurePosixPath(p).parts) for p in paths]
        names = [n if n.lower().endswith((".jpg", ".jpeg", ".png")) else str(PurePosixPath(n).with_suffix(".png"))
                 for n in names]
        (out / "images").mkdir(parents=True)

        def job(path: str, name: str) -> Callable[[], None]:
            def run() -> None:
                image = _rgb(_open(src.files[path]()))
                scale = size / max(image.size)
                if scale < 1:
                    image = _resize(image, (max(1, round(image.width * scale)), max(1, round(image.height * scale))))
                image.save(out / "images" / name, **({"quality": 95} if name.lower().endswith(("jpg", "jpeg"))
                                                     else {}))
            return run

        results = _run([job(p, n) for p, n in zip(paths, names)], "faces", progress)
    notes += _skip_note(_failed(paths, results), "images")
    count = sum(not isinstance(r, Exception) for r in results)
    return PrepareSummary("faces", out, count, f"RGB, longest side at most {size}, never enlarged", notes=notes)


# ----------------------------------------------------------------------------------------------
# The registry
# ----------------------------------------------------------------------------------------------

DATASETS: dict[str, PublicDataSet] = {spec.name: spec for spec in (
    PublicDataSet(
        name="ham10000", title="HAM10000 dermoscopy",
        what="dermoscopic photos of pigmented skin lesions, 7 diagnoses (dx), grouped by lesion_id",
        count="10,015",
        licence="CC BY-NC-SA 4.0 (non-commercial)",
        terms="Creative Commons BY-NC-SA 4.0: non-commercial research use only, with attribution; share "
              "derived data under the same licence",
        citation="Tschandl P., Rosendahl C., Kittler H. The HAM10000 dataset, a large collection of multi-source "
                 "dermatoscopic images of common pigmented skin lesions. Sci. Data 5, 180161 (2018). "
                 "doi:10.1038/sdata.2018.161",
        homepage="https://doi.org/10.7910/DVN/DBW86T",
        obtain="public, no sign-in: from the Harvard Dataverse (doi:10.7910/DVN/DBW86T) download "
               "HAM10000_images_part_1.zip, HAM10000_images_part_2.zip and HAM10000_metadata into one folder, or "
               "the whole data set as one .zip; or let --download fetch those three files (a few GB)",
        original_layout="HAM10000_images_part_1.zip and HAM10000_images_part_2.zip (ISIC_0024306.jpg ..., "
                        "600 x 450 JPEG) and HAM10000_metadata.csv (or .tab: lesion_id,image_id,dx,dx_type,age,"
                        "sex,localization), in one folder or .zip; extracted part folders work too",
        layout="images/ISIC_*.jpg + labels.csv (file,dx,lesion_id,dx_type,age,sex,localization)",
        default_size=128, size_meaning="square side in pixels (the 600 x 450 originals are stretched)",
        prepare=prepare_ham10000,
        downloads=(
            Download("HAM10000_images_part_1.zip", f"{DATAVERSE}/3172585"),
            Download("HAM10000_images_part_2.zip", f"{DATAVERSE}/3172584"),
            Download("HAM10000_metadata.csv", f"{DATAVERSE}/4338392?format=original"),
        ),
        train_hint="zoo train --model acgan-lesions --data {out} --out runs/acgan-lesions --holdout 0.1 "
                   "--group-column lesion_id",
    ),
    PublicDataSet(
        name="ph2", title="PH2 dermoscopy with lesion masks",
        what="dermoscopic photos of melanocytic lesions with expert lesion masks: common nevus, atypical nevus, "
             "melanoma",
        count="200 (80 / 80 / 40)",
        licence="non-commercial research and education only",
        terms="Free for non-commercial research and education use, by the authors' terms on the PH2 page; do not "
              "redistribute the images without their permission",
        citation="Mendonca T., Ferreira P. M., Marques J. S., Marcal A. R. S., Rozeira J. PH2 - A dermoscopic image "
                 "database for research and benchmarking. 35th Annual International Conference of the IEEE EMBC, "
                 "2013, pp. 5437-5440. doi:10.1109/EMBC.2013.6610779",
        homepage="https://www.fc.up.pt/addi/ph2%20database.html",
        obtain="by hand: download PH2Dataset.rar from the authors' page (https://www.fc.up.pt/addi/ph2%20database.html"
               "), extract it (`unrar x PH2Dataset.rar` or `7z x PH2Dataset.rar`; Python cannot read .rar) and pass "
               "the extracted folder (or a .zip of it)",
        original_layout="PH2Dataset/PH2 Dataset images/IMD002/IMD002_Dermoscopic_Image/IMD002.bmp (768 x 560) and "
                        "IMD002/IMD002_lesion/IMD002_lesion.bmp (the mask), ... and PH2Dataset/PH2_dataset.txt "
                        "(the diagnoses: '||'-separated, Clinical Diagnosis 0/1/2)",
        layout="images/IMDxxx.png + masks/IMDxxx.png (0/255) + labels.csv (id,label_name,lesion_fraction)",
        default_size=256, size_meaning="square side in pixels (the 768 x 560 originals are stretched)",
        prepare=prepare_ph2,
        train_hint="zoo train --model lesion-remove --data {out} --out runs/lesion-remove",
    ),
    PublicDataSet(
        name="dental", title="DC1000 panoramic dental X-rays with caries masks",
        what="panoramic dental radiographs with caries segmentation masks",
        count="not checked (GitHub samples: 100)",
        licence="no licence stated (research use)",
        terms="The authors state no licence: use it for non-commercial research only, cite their paper, and do not "
              "redistribute it",
        citation="Wang X., Gao S., Jiang K., Zhang H., Wang L., Chen F., Yu J., Yang F. Multi-level uncertainty "
                 "aware learning for semi-supervised dental panoramic caries segmentation. Neurocomputing 540, "
                 "126208 (2023)",
        homepage="https://github.com/Zzz512/MLUA",
        obtain="by hand: the authors' README (https://github.com/Zzz512/MLUA) links the full DC1000 archive on "
               "Google Drive and Baidu Cloud; the repository itself holds test samples in dataset/test/ (`git clone "
               "https://github.com/Zzz512/MLUA`, then pass the clone)",
        original_layout="folders images/N.png with caries masks labels/N.png of the same names (e.g. "
                        "dataset/test/images + dataset/test/labels in the GitHub repository); images without a "
                        "mask are left out; a plain folder of X-rays gives images only",
        layout="images/N.png (grayscale) + caries_masks/N.png (0/255)",
        default_size=512, size_meaning="width in pixels; height is half of it (panoramic 2:1, stretched)",
        prepare=prepare_dental, aliases=("dc1000",),
        train_hint="zoo train --model wgan-gp-dental --data {out} --out runs/wgan-gp-dental",
    ),
    PublicDataSet(
        name="faces", title="Face photos (CelebA aligned, or your own)",
        what="face photos, the clean faces the synthetic port-wine-stain and eczema domains are drawn on",
        count="202,599 (CelebA)",
        licence="CelebA: non-commercial research only",
        terms="CelebA is for non-commercial research purposes only (its agreement forbids commercial use and "
              "redistribution of the images); other photos: only with their own rights, research use only",
        citation="Liu Z., Luo P., Wang X., Tang X. Deep Learning Face Attributes in the Wild. ICCV 2015",
        homepage="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        obtain="by hand: CelebA's aligned images (img_align_celeba.zip) from the Google Drive linked on the CelebA "
               "page, after agreeing to its terms; or any folder of face photos you may use (--limit N keeps the "
               "first N)",
        original_layout="img_align_celeba.zip (img_align_celeba/000001.jpg ..., 178 x 218 JPEG), or any folder or "
                        ".zip of face photos (sub-folders become name prefixes)",
        layout="images/* (RGB; names: relative path with '/' -> '-')",
        default_size=512, size_meaning="longest side in pixels (aspect kept, never enlarged)",
        prepare=prepare_faces, aliases=("celeba",),
        train_hint="python scripts/make_domains.py --faces {out} --out data/synthetic   (in a clone of medgan-zoo)",
    ),
)}


def names() -> list[str]:
    return list(DATASETS)


def get(name: str) -> PublicDataSet:
    """The set called ``name`` (or one of its aliases: dc1000, celeba), case-insensitively."""
    key = name.strip().lower()
    for spec in DATASETS.values():
        if key == spec.name or key in spec.aliases:
            return spec
    raise DataError(f"unknown data set {name!r}; known: {', '.join(DATASETS)} (zoo data list)")


# ----------------------------------------------------------------------------------------------
# prepare: checks, a staging folder, then the outputs moved into place
# ----------------------------------------------------------------------------------------------

def _check_out(out: Path, source: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; pass a folder")
    src, dst = source.resolve(), out.resolve()
    if src == dst or dst in src.parents or src in dst.parents:
        raise DataError(f"--out {out} and --source {source} overlap; choose an output folder outside the source "
                        "(default: data/NAME)")
    held = [m for m in PREPARED_MARKERS if (out / m).exists()]
    if held and not force:
        raise DataError(f"{out} already holds a prepared data set ({', '.join(held)}); pass --force to replace it "
                        "or choose another --out")


def _install(staging: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:  # --force: the old outputs go, whatever else is in the folder stays
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for child in staging.iterdir():
        os.replace(child, out / child.name)


def _source_md(spec: PublicDataSet, source: Path, summary: PrepareSummary) -> str:
    return (f"# {spec.title}\n\nPrepared by `zoo data prepare {spec.name}` from `{source.name}`.\n\n"
            f"- What: {spec.what}\n- Layout: {spec.layout}\n- Source: {spec.homepage}\n"
            f"- Licence: {spec.licence}. {spec.terms}.\n- Cite: {spec.citation}\n\n"
            "Not for diagnosis. Do not commit these images to a repository.\n\n"
            f"```\n{summary.describe()}\n```\n")


def prepare(name: str, source: str | Path, out: str | Path | None = None, size: int | None = None, *,
            force: bool = False, progress: bool = True, limit: int | None = None) -> PrepareSummary:
    """Convert an already-downloaded original release of ``name`` into ``out`` (default ``data/NAME``).

    Written into a staging folder beside ``out`` and moved into place at the end, so a failed or
    interrupted run leaves no half-prepared set. Never downloads (see :func:`fetch`).
    """
    spec = get(name)
    source = Path(source).expanduser()
    out = Path(out).expanduser() if out is not None else Path("data") / spec.name
    if size is not None and size < 1:
        raise DataError(f"size must be >= 1, got {size}")
    if limit is not None and limit < 1:
        raise DataError(f"limit must be >= 1, got {limit}")
    _check_source(source, spec)
    _check_out(out, source, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.preparing"
    shutil.rmtree(staging, ignore_errors=True)  # what an interrupted run left
    staging.mkdir()
    try:
        summary = spec.prepare(source, staging / "set", size or spec.default_size, progress, limit,
                               scratch=staging)
        summary.out = out
        (staging / "set" / "SOURCE.md").write_text(_source_md(spec, source, summary), encoding="utf-8")
        _install(staging / "set", out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


# ----------------------------------------------------------------------------------------------
# fetch: explicit downloads only
# ----------------------------------------------------------------------------------------------

def _file_name(url: str, spec: PublicDataSet) -> str:
    name = PurePosixPath(urllib.parse.urlparse(url).path).name
    return name if "." in name else f"{spec.name}.zip"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stream(url: str, part: Path, label: str, progress: bool) -> None:
    """Download ``url`` into ``part``, continuing a partial file where the server allows (HTTP 206)."""
    from tqdm.auto import tqdm

    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "medgan-zoo (zoo data)"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file is complete or stale: start over
            part.unlink()
            return _stream(url, part, label, progress)
        raise
    with response:
        resumed = have and response.status == 206
        total = response.headers.get("Content-Length")
        with open(part, "ab" if resumed else "wb") as f, tqdm(
                total=(int(total) + (have if resumed else 0)) if total else None, initial=have if resumed else 0,
                unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=not progress, file=sys.stderr) as bar:
            for block in iter(lambda: response.read(1 << 16), b""):
                f.write(block)
                bar.update(len(block))


def _download(item: Download, dest: Path, progress: bool) -> Path:
    final = dest / item.file
    if final.is_file() and (item.sha256 is None or _sha256(final) == item.sha256.lower()):
        return final  # already here (and verified where a checksum is known)
    part = final.with_name(final.name + ".part")
    try:
        _stream(item.url, part, item.file, progress)
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(f"could not download {item.url} ({getattr(exc, 'reason', exc)}); rerun to try again (a "
                        f"partial {part.name} is continued where the server allows), or download it by hand into "
                        f"{dest}") from exc
    if item.sha256 and (digest := _sha256(part)) != item.sha256.lower():
        part.unlink()
        raise DataError(f"{item.file} from {item.url} has SHA-256 {digest}, not the expected {item.sha256}; the "
                        "download was removed. Try again, or check the URL")
    os.replace(part, final)
    return final


def fetch(name: str, dest: str | Path, url: str | None = None, *, sha256: str | None = None,
          progress: bool = True) -> list[Path]:
    """Download the public files of ``name`` (or the archive at ``url``) into ``dest``; returns their paths.

    Only ever called on request (``zoo data prepare --download``). Each file is written to
    ``FILE.part`` and renamed when complete (a rerun continues a partial file where the server
    supports it); a file already in ``dest`` is kept. A known SHA-256 is checked, and a file that
    fails the check is removed.
    """
    spec = get(name)
    items = [Download(_file_name(url, spec), url, sha256)] if url else list(spec.downloads)
    if not items:
        raise DataError(f"{spec.title} cannot be downloaded automatically; get it {spec.obtain}. Then run: zoo data "
                        f"prepare {spec.name} --source PATH (or pass --url of an archive you may use)")
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise DataError(f"--source {dest} is a file; with --download it is the folder the files are saved in")
    dest.mkdir(parents=True, exist_ok=True)
    return [_download(item, dest, progress) for item in items]

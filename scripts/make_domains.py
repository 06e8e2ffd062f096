"""Make the synthetic port-wine-stain (PWS) and eczema training folders from clean photos.

    python scripts/make_domains.py --faces data/faces --ph2 data/ph2 \\
        --out data/synthetic --size 128 --seed 0

There are no public PWS or eczema photo sets, so these domains are drawn procedurally
(zoo.data.domains) onto real photos. OUT gets, each with a DATA_CARD.md:

  pws-unpaired/A, B, masks clean faces / stained faces, disjoint halves      (cyclegan-pws);
                           each B face with --stains-per-face K (4) different stains; masks/
                           (named as B) marks each stain, for the gate loss (gate_mask_weight)
  pws-paired/A, B, masks   stained (before) / 60 % faded (after), same names (pix2pix-pws)
  pws-removal-check/A, B, masks
                           the B half's clean faces / the same faces with another stain, same
                           names: a known answer for "remove" (zoo evaluate --paired)
  eczema-masked/images, masks, healthy
                           skin patches with eczema + masks; healthy patches (eczema editors)
  eczema-unpaired/A, B, masks
                           healthy / eczema skin patches                     (cyclegan-eczema);
                           masks/ (named as B) marks the eczema
  eczema-removal-check/A, B, masks
                           the B half's healthy patches / the same patches with other eczema,
                           same names: a known answer for cyclegan-eczema's "remove"

Skin patches come from the faces' skin (inside the face ellipse) and, with --ph2, from the skin
around PH2 lesions (no lesion pixel at all), resized to --patch-size. Every file is named
``synthetic-*``. Same inputs and seed, same output. data/faces and data/ph2 are prepared with
``zoo data prepare faces`` and ``zoo data prepare ph2``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import zlib
from pathlib import Path

import torch
from tqdm.auto import tqdm

from zoo.data import list_images
from zoo.data.domains import ITA_CLASSES, add_eczema, add_port_wine_stain, face_region, fade_stain, skin_mask, skin_tone
from zoo.data.images import match_channels, read_image, resize, to_pil
from zoo.data.patches import extract_patches
from zoo.errors import ImageInputError

DATASETS = ("pws-unpaired", "pws-paired", "pws-removal-check", "eczema-masked", "eczema-unpaired",
            "eczema-removal-check")
FACE_WORK_SIZE = 256  # faces are cut into skin patches at this size (cheek-sized windows)
MIN_FACE_SKIN = 0.05  # faces with less detected skin (grayscale, odd light) get no stain
MIN_STAIN = 0.01  # and a stain must cover at least this share of the image to be written

CARD = """# {title}: SYNTHETIC data

**Synthetic. Not real {condition}. Not for diagnosis or any clinical use.**

{what}

- Made by `scripts/make_domains.py` (medgan-zoo), procedural overlays from `zoo.data.domains`
  (stain / eczema drawn with a seeded generator, with the mask of where it was drawn).
- Command: `{command}`
- Seed: {seed}; image size {size} px; skin patch size {patch_size} px.
- Style: {style}.
- Source photos: `{faces}` (face photos: CelebA aligned samples, **non-commercial research use
  only**; the other faces in that folder have unclear rights, research use only){ph2}.
- The overlays imitate the look (colour, shape, texture) of {condition} only roughly; they do not
  follow real disease biology, distribution or progression. Models trained on this data must say
  in their card that they were trained on synthetic {condition}.
- Licence: inherits the most restrictive source licence: non-commercial research use only.
"""

WHAT = {
    "pws-unpaired": "Unpaired translation data (for `cyclegan-pws`): `A/` clean faces, `B/` faces with a "
                    "synthetic port-wine stain ({stains_per_face} different stain(s) on each face: "
                    "`synthetic-NAME.png`, `synthetic-NAME-stainK.png`); A and B come from disjoint halves of "
                    "the faces. `masks/` marks the stain of each B image (same names): an unpaired model need not use "
                    "it; a CycleGAN can learn its gate from it (`gate_mask_weight`).",
    "pws-paired": "Paired translation data (for `pix2pix-pws`): `A/` faces with a synthetic port-wine stain "
                  "(before treatment), `B/` the same stain faded by 60 % (after), same file names; `masks/` "
                  "marks the stain.",
    "pws-removal-check": "A known answer for `cyclegan-pws`'s 'remove' (`zoo evaluate cyclegan-pws --data "
                         "pws-removal-check --paired`): `A/` the clean faces of `pws-unpaired/B` (which a model "
                         "trained on pws-unpaired saw only stained), `B/` the same faces with another synthetic "
                         "stain (another seed), same file names; `masks/` marks that stain.",
    "eczema-masked": "Masked-edit data (for the eczema editors): `images/` skin patches with synthetic "
                     "eczema, `masks/` where it was drawn (same names), `healthy/` other skin patches "
                     "with no eczema.",
    "eczema-unpaired": "Unpaired translation data (for `cyclegan-eczema`): `A/` healthy skin patches, `B/` "
                       "skin patches with synthetic eczema; `masks/` marks it (same names as B), for a gate loss "
                       "(`gate_mask_weight`).",
    "eczema-removal-check": "A known answer for `cyclegan-eczema`'s 'remove' (`zoo evaluate cyclegan-eczema "
                            "--data eczema-removal-check --paired`): `A/` the healthy originals of "
                            "`eczema-unpaired/B` (which a model trained on eczema-unpaired saw only with "
                            "eczema), `B/` the same patches with other synthetic eczema (another seed), same "
                            "file names; `masks/` marks it.",
}


STYLES = {
    "clinical": "clinical: port-wine stains segmental over the trigeminal V1/V2/V3 territories of one side "
                "(stopping at the midline or, in a quarter, crossing it), geographic margins, pale pink to "
                "deep purple, raised nodules in older stains; eczema with ill-defined erythema (violaceous on "
                "dark skin), scale, excoriations and lichenification (docs/synthetic-domains.md)",
    "flat": "flat: a pink-purple overlay of low-frequency blobs on one half of the face; uniformly red, "
            "speckled eczema (the look of release 0.1)",
}


def tone_table(images: list[torch.Tensor], region_of) -> str:
    """A Markdown section: how many images fall in each skin-tone class (ITA of their skin), and which
    classes are missing or thin."""
    counts = dict.fromkeys([name for name, _ in ITA_CLASSES] + [""], 0)
    for image in images:
        counts[skin_tone(image, region_of(image))[1]] += 1
    total = max(1, len(images))
    rows = "\n".join(f"| {name} | {counts[name]} | {100 * counts[name] / total:.0f} % |" for name, _ in ITA_CLASSES)
    thin = [name for name, _ in ITA_CLASSES if counts[name] < 0.05 * total]
    gap = (f"Missing or under 5 %: {', '.join(thin)}. Models trained on this data have seen little or no "
           "skin of those tones." if thin else "Every class holds at least 5 % of the images.")
    gap += (" Check by eye: on the zoo's own face set the darker classes were mostly light skin in dim or "
            "warm light, and Fitzpatrick V-VI skin was nearly absent (docs/synthetic-domains.md).")
    return (f"\n## Skin tones\n\nThe individual typology angle (ITA) of each image's median skin colour, in its "
            f"six classes (roughly Fitzpatrick I-VI). On uncontrolled photos lighting shifts ITA, so read "
            f"this as a rough guide.\n\n| ITA class | images | share |\n|---|---:|---:|\n{rows}\n"
            f"| no skin found | {counts['']} | {100 * counts[''] / total:.0f} % |\n\n{gap}\n")


def _seed(seed: int, name: str) -> int:
    """A per-file seed that depends on the file's name, not its position in a listing."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % 2**31


def load_square(path: Path, size: int) -> torch.Tensor | None:
    """3 x size x size in [0, 1]: centre-cropped to a square, then resized; None if unreadable."""
    try:
        x = match_channels(read_image(path).pixels, 3)
    except (ImageInputError, OSError):
        return None
    h, w = x.shape[-2:]
    s = min(h, w)
    x = x[..., (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return resize(x, (size, size))[0].clamp(0, 1)


def _save(x: torch.Tensor, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil(x).save(path)


def _fresh(out: Path, name: str) -> Path:
    """OUT/name, emptied first when this script made it (never someone else's folder)."""
    folder = out / name
    if folder.exists():
        if not (folder / "DATA_CARD.md").is_file() and any(folder.iterdir()):
            raise SystemExit(f"{folder} exists and was not made by make_domains.py; choose another --out")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _face_patches(face: torch.Tensor, stem: str, size: int, seed: int) -> list[tuple[str, torch.Tensor]]:
    patches = extract_patches(face, None, size=size, region=face_region(face), mask_fraction=(0, 0),
                              stride=max(1, size // 6), max_patches=4, seed=_seed(seed, stem))
    return [(f"face-{stem}-y{t}x{left}", p) for p, _, (t, left) in patches if _plain_skin(p)]


def _plain_skin(patch: torch.Tensor) -> bool:
    """No eye, brow, nostril or hair strand: skin-coloured eyelids pass the skin mask, dark pixels do not."""
    luma = match_channels(patch[None], 1).flatten()
    return bool((luma < 0.7 * luma.median()).float().mean() < 0.01)


def _ph2_patches(folder: Path, size: int, seed: int) -> list[tuple[str, torch.Tensor]]:
    images = folder / "images" if (folder / "images").is_dir() else folder
    masks = folder / "masks"
    if not masks.is_dir():
        raise SystemExit(f"--ph2 {folder}: no masks/ folder next to images/; PH2 patches need the lesion masks")
    out = []
    for path in tqdm(list_images(images), desc="PH2 skin patches", unit="img"):
        mask_path = masks / path.relative_to(images)
        image = load_square(path, FACE_WORK_SIZE)
        if image is None or not mask_path.is_file():
            continue
        lesion = read_image(mask_path).pixels[0].mean(0, keepdim=True)
        lesion = (resize(lesion[None], image.shape[-2:])[0] > 0.5).float()
        # Healthy skin only: no lesion pixel, and skin-coloured (not the dark dermoscope rim).
        found = extract_patches(image, lesion, size=size, region=skin_mask(image), mask_fraction=(0, 0),
                                stride=max(1, size // 4), max_patches=4, seed=_seed(seed, path.stem))
        out += [(f"ph2-{path.stem}-y{t}x{left}", p) for p, _, (t, left) in found]
    return out


def main(argv: list[str] | None = None) -> dict[str, int]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=Path, required=True, help="face photos (DIR or DIR/images)")
    parser.add_argument("--ph2", type=Path, default=None, help="optional PH2-style DIR/images + DIR/masks: "
                        "more healthy skin patches from around the lesions")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", type=int, default=128, help="face image size (square)")
    parser.add_argument("--patch-size", type=int, default=128, help="skin patch size written (64 for quick runs)")
    parser.add_argument("--face-patch", type=int, default=48,
                        help=f"skin window cut from a {FACE_WORK_SIZE} px face before resizing")
    parser.add_argument("--ph2-patch", type=int, default=64,
                        help=f"skin window cut from a {FACE_WORK_SIZE} px PH2 image")
    parser.add_argument("--fade", type=float, default=0.6, help="after-treatment fading (0.6 = 60 %%)")
    parser.add_argument("--stains-per-face", type=int, default=4, metavar="K",
                        help="pws-unpaired/B gets K different stains on each of its faces (more stain shapes "
                             "for the same faces; the other folders do not depend on K). 4 by default: a "
                             "CycleGAN trained on K=4 removed new stains better than on K=1 (README)")
    parser.add_argument("--style", choices=("clinical", "flat"), default="clinical",
                        help="the look of the stains and eczema (zoo.data.domains): clinical (segmental stains "
                             "with geographic margins, nodules; eczema with ill-defined erythema, scale, "
                             "excoriations, lichenification) or flat (the 0.1 overlays the embedded translators "
                             "were trained on)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.stains_per_face < 1:
        parser.error("--stains-per-face must be at least 1")
    command = "python scripts/make_domains.py " + " ".join(sys.argv[1:] if argv is None else argv)

    face_dir = args.faces / "images" if (args.faces / "images").is_dir() else args.faces
    if not face_dir.is_dir():
        raise SystemExit(f"--faces {args.faces}: no such folder")
    face_paths = list_images(face_dir)
    if len(face_paths) < 2:
        raise SystemExit(f"--faces {face_dir}: found {len(face_paths)} images, need at least 2 (A and B halves)")

    faces: list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]] = []  # name, clean, stained, mask
    patches: list[tuple[str, torch.Tensor]] = []
    no_skin = tiny_stain = unreadable = 0
    for path in tqdm(face_paths, desc="faces", unit="img"):
        face = load_square(path, args.size)
        if face is None:
            unreadable += 1
            continue
        if face_region(face).mean() < MIN_FACE_SKIN:
            no_skin += 1
            continue
        stained, mask = add_port_wine_stain(face, _seed(args.seed, path.stem), style=args.style)
        if mask.mean() < MIN_STAIN:  # a "stained" face with (almost) no stain would teach nothing
            tiny_stain += 1
            continue
        faces.append((path.stem, face, stained, mask))
        patches += _face_patches(load_square(path, FACE_WORK_SIZE), path.stem, args.face_patch, args.seed)
    if args.ph2 is not None:
        patches += _ph2_patches(args.ph2, args.ph2_patch, args.seed)
    if len(faces) < 2:
        raise SystemExit(f"only {len(faces)} faces with visible skin in {face_dir}; need at least 2 (colour, "
                         "roughly aligned face photos)")
    if len(patches) < 2:
        raise SystemExit("fewer than 2 healthy skin patches found; pass more faces, --ph2, or a smaller --face-patch")

    out = args.out
    folders = {name: _fresh(out, name) for name in DATASETS}
    order = list(range(len(faces)))
    random.Random(args.seed).shuffle(order)
    half_b = set(order[len(order) // 2:])
    for i, (stem, face, stained, mask) in enumerate(tqdm(faces, desc="writing faces", unit="img")):
        name = f"synthetic-{stem}.png"
        _save(stained, folders["pws-paired"] / "A" / name)
        _save(fade_stain(face, stained, mask, args.fade), folders["pws-paired"] / "B" / name)
        _save(mask, folders["pws-paired"] / "masks" / name)
        side = "B" if i in half_b else "A"
        _save(stained if side == "B" else face, folders["pws-unpaired"] / side / name)
        if side == "B":
            _save(mask, folders["pws-unpaired"] / "masks" / name)
        for k in range(1, args.stains_per_face if side == "B" else 1):
            # Seeded by name, so K=1's files stay as they were and no extra stain is the check's.
            extra, extra_mask = add_port_wine_stain(face, _seed(args.seed, f"{stem}-stain{k}"), style=args.style)
            if extra_mask.mean() >= MIN_STAIN:
                _save(extra, folders["pws-unpaired"] / "B" / f"synthetic-{stem}-stain{k}.png")
                _save(extra_mask, folders["pws-unpaired"] / "masks" / f"synthetic-{stem}-stain{k}.png")
        if side == "B":  # its clean face was never in pws-unpaired: the answer under a new stain
            restained, new_mask = add_port_wine_stain(face, _seed(args.seed + 1, stem), style=args.style)
            if new_mask.mean() >= MIN_STAIN:
                _save(face, folders["pws-removal-check"] / "A" / name)
                _save(restained, folders["pws-removal-check"] / "B" / name)
                _save(new_mask, folders["pws-removal-check"] / "masks" / name)

    order = list(range(len(patches)))
    random.Random(args.seed + 1).shuffle(order)
    half_eczema = set(order[: len(order) // 2])
    for i, (stem, patch) in enumerate(tqdm(patches, desc="skin patches", unit="patch")):
        patch = resize(patch[None], (args.patch_size, args.patch_size))[0].clamp(0, 1)
        name = f"synthetic-{stem}.png"
        if i in half_eczema:
            eczema, mask = add_eczema(patch, _seed(args.seed, stem), style=args.style)
            _save(eczema, folders["eczema-masked"] / "images" / name)
            _save(mask, folders["eczema-masked"] / "masks" / name)
            _save(eczema, folders["eczema-unpaired"] / "B" / name)
            _save(mask, folders["eczema-unpaired"] / "masks" / name)
            # Its healthy original was never in eczema-unpaired: the answer under other eczema.
            other, other_mask = add_eczema(patch, _seed(args.seed + 1, stem), style=args.style)  # >= 10 % of it
            _save(patch, folders["eczema-removal-check"] / "A" / name)
            _save(other, folders["eczema-removal-check"] / "B" / name)
            _save(other_mask, folders["eczema-removal-check"] / "masks" / name)
        else:
            _save(patch, folders["eczema-masked"] / "healthy" / name)
            _save(patch, folders["eczema-unpaired"] / "A" / name)

    ph2 = f"; PH2 dermoscopy `{args.ph2}` (healthy skin around the lesions; research and education use, " \
          "Mendonca et al., EMBC 2013)" if args.ph2 else ""
    tones = {"faces": tone_table([face for _, face, _, _ in faces], face_region),
             "skin patches": tone_table([patch for _, patch in patches], skin_mask)}
    for name, folder in folders.items():
        pws = name.startswith("pws")
        (folder / "DATA_CARD.md").write_text(CARD.format(
            title=name, condition="port-wine stains" if pws else "eczema", command=command, seed=args.seed,
            what=WHAT[name].format(stains_per_face=args.stains_per_face), size=args.size,
            patch_size=args.patch_size, faces=args.faces, ph2=ph2, style=STYLES[args.style])
            + tones["faces" if pws else "skin patches"])
    counts = {f"{name}/{sub.name}": len(list_images(sub)) for name, folder in folders.items()
              for sub in sorted(folder.iterdir()) if sub.is_dir()}
    counts.update(faces_used=len(faces), faces_without_skin=no_skin, faces_tiny_stain=tiny_stain,
                  faces_unreadable=unreadable, skin_patches=len(patches))
    for key, value in counts.items():
        print(f"{key}: {value}")
    return counts


if __name__ == "__main__":
    torch.set_num_threads(1)  # many small per-image ops: extra threads only contend for the cores
    main()

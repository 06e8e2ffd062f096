"""Draw the before/after galleries of docs/usage/image-to-image.md: what each translator does to
port-wine stains and eczema on procedural faces and skin patches in six skin tones, which no model
saw in training (no photographs, so the pictures can be shared freely).

    python scripts/translator_gallery.py --out docs/images

Writes translators-pws.jpg (rows: stained face, cyclegan-pws removal, pix2pix-pws prediction after
treatment, the clean face) and translators-eczema.jpg (rows: eczema, cyclegan-eczema removal,
eczema-remove with the plaque's mask, the clean patch). Same weights, same pictures.

    python scripts/translator_gallery.py --measure 48 --model cyclegan-pws

measures instead: 'remove' on N procedural faces (skin tones I to VI in turn) under new clinical-style
stains, as `zoo evaluate --paired` does on a check folder: the L1 to the clean face inside the stain
as a share of the unchanged input's (below 1: closer to the clean face), per tone and overall, and
the mean change outside the stain.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from domain_gallery import TONES, grid, procedural_face, procedural_patch  # the same faces and patches

import zoo
from zoo.data.domains import add_eczema, add_port_wine_stain
from zoo.data.images import to_pil

SEED_OFFSET = 100  # other faces and conditions than the synthetic-domain galleries


def outputs(pipe, images: list[torch.Tensor], *args, **kwargs) -> list[torch.Tensor]:
    return [pipe(image, *(a[i] for a in args), progress=False, **kwargs).tensors[0] for i, image in enumerate(images)]


def save(rows: list[list[torch.Tensor]], path: Path) -> None:
    """One row of the picture per list; JPEG, since skin texture makes PNGs of these several times larger."""
    to_pil(grid([image for row in rows for image in row], len(rows[0]))).save(path, quality=90)


def measure(model: str, count: int) -> tuple[float, float]:
    """Inside-stain share and outside change of ``model``'s 'remove' on ``count`` unseen procedural faces."""
    pipe = zoo.load(model)
    inside_out, inside_copy = torch.zeros(6), torch.zeros(6)
    outside = []
    for s in range(SEED_OFFSET, SEED_OFFSET + count):
        clean = procedural_face(TONES[s % 6], 128, s)
        stained, mask = add_port_wine_stain(clean, seed=s, style="clinical")
        removed = pipe(stained, direction="remove", progress=False).tensors[0]
        inside = mask.bool().expand(3, -1, -1)
        inside_out[s % 6] += (removed - clean).abs()[inside].sum()
        inside_copy[s % 6] += (stained - clean).abs()[inside].sum()
        outside.append(float((removed - stained).abs()[~inside].mean()))
    tones = ", ".join(f"{tone} {share:.2f}" for tone, share in zip(("I", "II", "III", "IV", "V", "VI"),
                                                                   (inside_out / inside_copy).tolist()))
    share, change = float(inside_out.sum() / inside_copy.sum()), sum(outside) / len(outside)
    print(f"{model}, 'remove' on {count} procedural faces under clinical-style stains: inside-stain L1 share of "
          f"the unchanged input's {share:.3f} (by skin tone: {tones}); change outside the stain {change:.4f}")
    return share, change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--count", type=int, default=8, help="examples per gallery")
    parser.add_argument("--size", type=int, default=128, help="pixels per example (the models' size)")
    parser.add_argument("--measure", type=int, default=0, metavar="N",
                        help="measure --model's 'remove' on N unseen procedural faces instead of drawing")
    parser.add_argument("--model", default="cyclegan-pws", help="with --measure: a model id or folder")
    args = parser.parse_args()
    if args.measure:
        measure(args.model, args.measure)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = range(SEED_OFFSET, SEED_OFFSET + args.count)

    clean = [procedural_face(TONES[s % 6], args.size, s) for s in seeds]
    stained = [add_port_wine_stain(face, seed=s)[0] for s, face in zip(seeds, clean)]
    rows = [stained, outputs(zoo.load("cyclegan-pws"), stained, direction="remove"),
            outputs(zoo.load("pix2pix-pws"), stained), clean]
    save(rows, args.out / "translators-pws.jpg")

    clean = [procedural_patch(TONES[s % 6], args.size, s) for s in seeds]
    drawn = [add_eczema(patch, seed=s, coverage=(0.2, 0.5)) for s, patch in zip(seeds, clean)]
    eczema, masks = [image for image, _ in drawn], [mask for _, mask in drawn]
    rows = [eczema, outputs(zoo.load("cyclegan-eczema"), eczema, direction="remove"),
            outputs(zoo.load("eczema-remove"), eczema, masks, mode="remove"), clean]
    save(rows, args.out / "translators-eczema.jpg")
    print(f"wrote translators-pws.jpg and translators-eczema.jpg to {args.out}")


if __name__ == "__main__":
    main()

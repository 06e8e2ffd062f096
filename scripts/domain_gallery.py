"""Draw the synthetic-domain galleries of docs/synthetic-domains.md: 32 port-wine stains and 32 eczema
plaques in the clinical style, and 8 of each in the flat style they replaced, on procedural faces and
skin patches in six skin tones (no photographs, so the pictures can be shared freely).

    python scripts/domain_gallery.py --out docs/images

Same seeds, same pictures. Writes domains-pws.png, domains-pws-flat.png, domains-eczema.png and
domains-eczema-flat.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from zoo.data.domains import add_eczema, add_port_wine_stain, smooth_noise
from zoo.data.images import to_pil

# Six skin tones, light to dark (roughly Fitzpatrick I-VI), as sRGB in [0, 1].
TONES = torch.tensor([[0.96, 0.84, 0.76], [0.92, 0.76, 0.65], [0.84, 0.65, 0.52],
                      [0.70, 0.50, 0.38], [0.52, 0.36, 0.26], [0.36, 0.24, 0.18]])


def procedural_face(tone: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    """3 x size x size: an aligned face-shaped ellipse of skin (shaded, with brows, eyes, a nose shadow
    and lips) on a blue-grey background; only the layout of an aligned face photo, no one's face."""
    gen = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid((torch.arange(size) + 0.5) / size, (torch.arange(size) + 0.5) / size, indexing="ij")
    face = (((x - 0.5) / 0.38) ** 2 + ((y - 0.54) / 0.44) ** 2 <= 1).float()
    shade = 1.0 - 0.25 * ((x - 0.5) / 0.38) ** 2 - 0.1 * (y - 0.45)  # rounder: darker towards the sides
    grain = 1 + 0.03 * (smooth_noise(size, size, gen, cells=size / 3, octaves=1) - 0.5)
    skin = tone.view(3, 1, 1) * (shade * grain).clamp(0.5, 1.1)
    features = torch.zeros(size, size)
    for cx in (0.35, 0.65):
        features += 0.55 * (((x - cx) / 0.07) ** 2 + ((y - 0.44) / 0.025) ** 2 <= 1).float()  # eyes
        features += 0.35 * (((x - cx) / 0.09) ** 2 + ((y - 0.37) / 0.015) ** 2 <= 1).float()  # brows
    features += 0.25 * (((x - 0.5) / 0.03) ** 2 + ((y - 0.6) / 0.06) ** 2 <= 1).float()  # nose shadow
    lips = (((x - 0.5) / 0.12) ** 2 + ((y - 0.74) / 0.03) ** 2 <= 1).float()
    lip_colour = 0.15 * torch.tensor([0.5, 0.0, 0.05]).view(3, 1, 1)
    skin = skin * (1 - features.clamp(0, 0.7)) * (1 - 0.2 * lips) + lips * lip_colour
    background = torch.tensor([0.35, 0.40, 0.50]).view(3, 1, 1).expand(3, size, size)
    return (skin * face + background * (1 - face)).clamp(0, 1)


def procedural_patch(tone: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    """3 x size x size of skin: the tone with soft shading and pore-scale grain."""
    gen = torch.Generator().manual_seed(seed)
    light = 0.9 + 0.15 * smooth_noise(size, size, gen, cells=2.0, octaves=2)
    grain = 1 + 0.05 * (smooth_noise(size, size, gen, cells=size / 2, octaves=1) - 0.5)
    return (tone.view(3, 1, 1) * light * grain).clamp(0, 1)


def grid(images: list[torch.Tensor], columns: int) -> torch.Tensor:
    rows = [torch.cat(images[i : i + columns], 2) for i in range(0, len(images), columns)]
    return torch.cat(rows, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--size", type=int, default=96, help="pixels per example")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    size = args.size
    for style, count in (("clinical", 32), ("flat", 8)):
        suffix = "" if style == "clinical" else "-flat"
        faces = [procedural_face(TONES[i % 6], size, i) for i in range(count)]
        stains = [add_port_wine_stain(face, seed=i, style=style)[0] for i, face in enumerate(faces)]
        to_pil(grid(stains, 8)).save(args.out / f"domains-pws{suffix}.png", optimize=True)
        patches = [procedural_patch(TONES[i % 6], size, i) for i in range(count)]
        plaques = [add_eczema(patch, seed=i, style=style)[0] for i, patch in enumerate(patches)]
        to_pil(grid(plaques, 8)).save(args.out / f"domains-eczema{suffix}.png", optimize=True)
    print(f"wrote the galleries to {args.out}")


if __name__ == "__main__":
    main()

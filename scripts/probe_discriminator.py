"""Can a translator's discriminator tell its two domains apart? Train one alone and score it.

A CycleGAN's generators learn only what its discriminators see. Where the domains differ in a small
region (a stain on a few per cent of a face), a discriminator may need many steps to notice, and
until it does the cycle and identity losses hold the generators at the identity. This trains the
model's domain-A discriminator alone, real A images against real B images (no generator: B stands
in for a generator that has not learned yet), and prints how well it ranks a paired check folder's
A images above its B images every --every steps:

- AUC: the chance that a random A image scores above a random B image (0.5: blind, 1: always);
- paired: the share of file names whose A image scores above its own B image (same face, so
  telling people apart does not help).

    python scripts/probe_discriminator.py cyclegan-pws --train data/synthetic-clinical/pws-unpaired \\
        --check data/synthetic-clinical/pws-removal-check --steps 400 --set discriminator=patch

The discriminator, its normalisation, loss and augmentation are the model's (change them with
--set, e.g. --set norm=none --set d_augment=); it sees the images at the model's size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from tqdm.auto import tqdm

import zoo
from zoo.cli.types import parse_overrides, positive_int
from zoo.data import load_training_data
from zoo.models import losses
from zoo.training.augment import build_augment


def _scaled(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


def _scores(discriminator: torch.nn.Module, images: torch.Tensor, chunk: int = 16) -> torch.Tensor:
    """One realness score per image: the mean of its logit map."""
    with torch.no_grad():
        return torch.cat([discriminator(_scaled(part)).reshape(len(part), -1).mean(1) for part in images.split(chunk)])


def ranking(discriminator: torch.nn.Module, check: dict[str, torch.Tensor]) -> tuple[float, float]:
    """(AUC of A over B, share of pairs where A scores above its own B)."""
    a, b = _scores(discriminator, check["A"]), _scores(discriminator, check["B"])
    auc = ((a[:, None] > b[None, :]).float() + 0.5 * (a[:, None] == b[None, :]).float()).mean().item()
    return auc, (a > b).float().mean().item()


def probe(model_id: str, train: Path, check: Path, *, overrides: dict, steps: int, batch_size: int,
          lr: float, every: int, seed: int, progress: bool = True) -> list[tuple[int, float, float]]:
    """Train the discriminator ``steps`` steps; (step, AUC, paired) at step 0 and every ``every``."""
    torch.manual_seed(seed)
    model = zoo.create(model_id, **overrides)
    if not hasattr(model, "discriminator_a"):
        raise SystemExit(f"{model_id} has no domain discriminator (discriminator_a): the probe is for unpaired "
                         "translators such as cyclegan-pws")
    discriminator, cfg = model.discriminator_a, model.config
    size, channels = model.image_size, model.channels
    data = load_training_data(train, "unpaired-translation", size, channels, progress=False).tensors
    held = load_training_data(check, "paired-translation", size, channels, progress=False).tensors
    augment = build_augment(cfg.get("d_augment"))
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for step in tqdm(range(steps + 1), desc="discriminator", disable=not progress):
        if step % every == 0 or step == steps:
            rows.append((step, *ranking(discriminator, held)))
            tqdm.write(f"step {step}: AUC {rows[-1][1]:.3f}  paired {rows[-1][2]:.3f}")
        if step == steps:
            break
        real = _scaled(data["A"][torch.randint(len(data["A"]), (batch_size,), generator=generator)])
        other = _scaled(data["B"][torch.randint(len(data["B"]), (batch_size,), generator=generator)])
        loss = losses.d_loss(cfg["gan_loss"], discriminator(augment(real)), discriminator(augment(other)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="an unpaired translator id, e.g. cyclegan-pws or cyclegan-eczema")
    parser.add_argument("--train", type=Path, required=True, help="unpaired folder: DIR/A, DIR/B")
    parser.add_argument("--check", type=Path, required=True, help="paired folder: DIR/A, DIR/B of the same names")
    parser.add_argument("--steps", type=positive_int, default=400)
    parser.add_argument("--batch-size", type=positive_int, default=1)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--every", type=positive_int, default=100, help="score every N steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="model constructor override, e.g. --set discriminator=patch --set norm=none")
    args = parser.parse_args(argv)
    probe(args.model, args.train, args.check, overrides=parse_overrides(args.set), steps=args.steps,
          batch_size=args.batch_size, lr=args.lr, every=args.every, seed=args.seed)


if __name__ == "__main__":
    main()

"""Sample grids: what a training run writes to samples/ and ``zoo evaluate`` to examples.png.

Each task's grid is part of its :class:`zoo.registry.TaskSpec`; :func:`sample_grid` picks it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image

__all__ = ["sample_grid", "grid_image", "generation_grid", "unpaired_grid", "paired_grid", "masked_edit_grid",
           "first_batch", "edit_inputs_of"]


def sample_grid(model, data, seed: int = 0, n: int = 16) -> torch.Tensor:
    """A fixed set of samples in [0, 1] for watching a run, as the model's task draws it."""
    from zoo.registry import get_registry

    return get_registry().task(model.task).sample_grid(model, data, seed=seed, n=n)


def generation_grid(model, data, seed: int = 0, n: int = 16) -> torch.Tensor:
    """``n`` samples of a noise-to-image model, the same ones for a seed at every step."""
    from zoo.pipelines.base import pipeline_for

    return pipeline_for(model)(num_images=n, seed=seed, progress=False).tensors


def first_batch(model, data, n: int = 8) -> dict[str, torch.Tensor]:
    """The first ``n`` training samples in the model's format (images in [-1, 1], masks {0, 1})."""
    from zoo.training.trainer import crop_batch_center, to_model_batch

    return to_model_batch(crop_batch_center({k: v[:n] for k, v in data.tensors.items()}, model.image_size),
                          model.device, model.dtype)


def _rows(rows: list[torch.Tensor]) -> torch.Tensor:
    return ((torch.cat(rows).float().cpu() + 1) / 2).clamp(0, 1)


@torch.no_grad()
def unpaired_grid(model, data, seed: int = 0, n: int = 16) -> torch.Tensor:
    """Both directions of the first images: A, A->B, B, B->A."""
    batch = first_batch(model, data, n // 2)
    return _rows([batch["A"], model.translate(batch["A"], "AtoB"), batch["B"], model.translate(batch["B"], "BtoA")])


@torch.no_grad()
def paired_grid(model, data, seed: int = 0, n: int = 16) -> torch.Tensor:
    """Input, output and target of the first pairs."""
    batch = first_batch(model, data, n // 2)
    return _rows([batch["A"], model.translate(batch["A"], "AtoB"), batch["B"]])


def edit_inputs_of(model, batch: dict[str, torch.Tensor], mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """What a masked-edit model edits in training: its own ``edit_inputs(batch, mode)`` where it has
    one, else the image under its own mask (removal) or under another sample's mask (addition)."""
    own = getattr(model, "edit_inputs", None)
    if callable(own):
        return own(batch, mode)
    from zoo.models.i2i import edit_inputs

    return edit_inputs(batch, mode)


@torch.no_grad()
def masked_edit_grid(model, data, seed: int = 0, n: int = 16) -> torch.Tensor:
    """Input, mask and edit of the first images, edited as in training."""
    batch = first_batch(model, data, n // 2)
    mode = getattr(model, "default_mode", "remove")
    image, mask = edit_inputs_of(model, batch, mode)
    return _rows([image, mask.expand_as(image) * 2 - 1, model.edit(image, mask, mode)])


def grid_image(pixels: torch.Tensor, columns: int = 8) -> Image.Image:
    """N x C x H x W in [0, 1] -> one picture, ``columns`` images a row, each in a 1 px white frame
    (diffusers' ``make_image_grid``); grayscale images give a grayscale picture."""
    from diffusers.utils import make_image_grid

    framed = F.pad(pixels.detach().float().cpu().clamp(0, 1), (1, 1, 1, 1), value=1.0)
    rows = -(-len(framed) // columns)
    blank = torch.ones_like(framed[:1]).expand(rows * columns - len(framed), -1, -1, -1)
    tiles = (torch.cat([framed, blank]).permute(0, 2, 3, 1) * 255 + 0.5).to(torch.uint8).numpy()
    grid = make_image_grid([Image.fromarray(t.squeeze(-1) if t.shape[-1] == 1 else t) for t in tiles], rows, columns)
    return grid.convert("L") if pixels.shape[1] == 1 else grid

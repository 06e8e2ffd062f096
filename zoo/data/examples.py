"""Random training data in each built-in task's layout: for tests, benchmarks and smoke runs.

Each function returns the named uint8 tensors a :class:`~zoo.data.folders.TrainingData` holds for
``n`` samples of ``model``'s size and channels (images 0..255, masks 0 or 255, labels class
indices), drawn from ``seed``. A task names its function in :attr:`zoo.registry.TaskSpec.example_data`.
"""

from __future__ import annotations

import torch

__all__ = ["random_images", "random_labelled_images", "random_pairs", "random_masked"]


def _images(model, n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.randint(0, 256, (n, model.channels, *model.image_size), generator=gen, dtype=torch.uint8)


def random_images(model, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    return {"image": _images(model, n, torch.Generator().manual_seed(seed))}


def random_labelled_images(model, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    classes = len(model.config["class_names"])
    return {**random_images(model, n, seed), "label": torch.arange(n) % classes}


def random_pairs(model, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {"A": _images(model, n, gen), "B": _images(model, n, gen)}


def random_masked(model, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    image = _images(model, n, gen)
    mask = (torch.rand(n, 1, *model.image_size, generator=gen) > 0.7).to(torch.uint8) * 255
    return {"image": image, "mask": mask, "healthy": _images(model, n, gen)}

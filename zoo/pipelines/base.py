"""What every pipeline shares: the model, its device, Hub I/O and the :class:`ImageOutput`.

Pipelines mirror diffusers: ``pipe(...).images`` is a list of PIL images; ``save_pretrained`` and
``push_to_hub`` pass through to the model, so a pipeline round-trips through a folder or the Hub.
Each task names its pipeline class in its :class:`zoo.registry.TaskSpec`; :func:`pipeline_for`
picks it from the model's task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

__all__ = ["ImageOutput", "Pipeline", "pipeline_for", "whole_number", "to_unit"]


@dataclass
class ImageOutput:
    """``images``: PIL images. ``tensors``: the same pixels in [0, 1], C x H x W each.

    Generation pipelines stack them into one N x C x H x W tensor; translation pipelines keep a
    list, because each output has its own input's size.
    """

    images: list[Image.Image]
    tensors: torch.Tensor | list[torch.Tensor]

    def __len__(self) -> int:
        return len(self.images)


class Pipeline:
    """What every pipeline shares: the model, its device, and Hub I/O."""

    def __init__(self, model):
        self.model = model.eval()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model.model_id!r}, device={self.device})"

    @property
    def task(self) -> str:
        """The model's task (a name registered with :class:`zoo.registry.TaskSpec`)."""
        return self.model.task

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def image_size(self) -> tuple[int, int]:
        return self.model.image_size

    @property
    def channels(self) -> int:
        return self.model.channels

    def to(self, device=None, dtype=None) -> "Pipeline":
        self.model.to(device=device, dtype=dtype)
        return self

    def save_pretrained(self, save_directory, **kwargs):
        return self.model.save_pretrained(save_directory, **kwargs)

    def push_to_hub(self, repo_id: str, **kwargs) -> str:
        return self.model.push_to_hub(repo_id, **kwargs)

    def _progress(self, items, unit: str, progress: bool | None):
        # progress=None: a bar appears only once the work has taken more than a second.
        return tqdm(items, desc=self.model.model_id, unit=unit, disable=progress is False, delay=0 if progress else 1.0)


def whole_number(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Model pixels in [-1, 1] -> float32 on the CPU in [0, 1]."""
    return ((x.float().cpu() + 1) / 2).clamp(0, 1)



def pipeline_for(model: Any) -> Pipeline:
    """The pipeline of ``model``'s task (as its task's plugin registered it), wrapping ``model``."""
    from zoo.registry import get_registry

    return get_registry().task(model.task).pipeline(model)

"""Pipelines: one per task, each wrapping a model and returning an :class:`ImageOutput`.

They mirror diffusers: ``pipe(...).images`` is a list of PIL images; ``save_pretrained`` and
``push_to_hub`` pass through to the model, so a pipeline round-trips through a folder or the Hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from .i2i import grow_mask as dilate
from .images import ImageLike, read_image, read_mask, resize, to_model, to_pil
from .int8 import Int8Generator, quantize_int8
from .latents import seeded_generator, slerp


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

    task: str = ""

    def __init__(self, model):
        self.model = model.eval()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model.model_id!r}, device={self.device})"

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


def _count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _to_unit(x: torch.Tensor) -> torch.Tensor:
    """Model pixels in [-1, 1] -> float32 on the CPU in [0, 1]."""
    return ((x.float().cpu() + 1) / 2).clamp(0, 1)


class _GenerationPipeline(Pipeline):
    """Latents (and labels) in batches -> one N x C x H x W output."""

    @torch.no_grad()
    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None, batch_size: int, progress: bool | None) -> ImageOutput:
        batch_size = _count("batch_size", batch_size)
        parts = []
        for start in self._progress(range(0, len(z), batch_size), "batch", progress):
            chunk = slice(start, start + batch_size)
            extra = () if labels is None else (labels[chunk].to(self.device),)
            parts.append(_to_unit(self.model.generate(z[chunk].to(self.device, self.model.dtype), *extra)))
        pixels = torch.cat(parts)
        return ImageOutput([to_pil(p) for p in pixels], pixels)


class UnconditionalPipeline(_GenerationPipeline):
    task = "unconditional"

    def __call__(
        self, num_images: int = 16, seed: int | None = 0, truncation: float | None = None,
        batch_size: int = 64, progress: bool | None = None,
    ) -> ImageOutput:
        """``num_images`` samples; the same ``seed`` gives the same images on any device and batch size."""
        z = self.model.sample_latents(_count("num_images", num_images), seeded_generator(seed), truncation)
        return self._generate(z, None, batch_size, progress)

    def interpolate(
        self, seed_a: int = 0, seed_b: int = 1, steps: int = 8, truncation: float | None = None, mode: str = "slerp",
    ) -> ImageOutput:
        """``steps`` images on a path between the latents of two seeds; the ends are those seeds' samples.

        ``mode="slerp"`` (spherical) keeps the latent norm that Gaussian latents concentrate at;
        ``"lerp"`` (straight line) dips toward 0 halfway, so its middle frames look averaged.
        """
        if mode not in ("slerp", "lerp"):
            raise ValueError(f"mode must be 'slerp' or 'lerp', got {mode!r}")
        a = self.model.sample_latents(1, seeded_generator(seed_a), truncation)
        b = self.model.sample_latents(1, seeded_generator(seed_b), truncation)
        t = torch.linspace(0, 1, _count("steps", steps))[:, None]
        z = slerp(a, b, t) if mode == "slerp" else torch.lerp(a, b, t)  # torch.lerp is exact at t = 0 and 1
        return self._generate(z, None, batch_size=64, progress=False)


class ClassConditionalPipeline(_GenerationPipeline):
    task = "class-conditional"

    @property
    def class_names(self) -> list[str]:
        return list(self.model.config["class_names"])

    def _label_ids(self, labels: Sequence[str | int] | str | int | None, n: int) -> torch.Tensor:
        names = self.class_names
        if labels is None:  # a balanced spread over the classes
            return torch.arange(n) % len(names)
        if isinstance(labels, (str, int, np.integer)):
            labels = [labels]
        ids = []
        for label in labels:
            if isinstance(label, str):
                if label not in names:
                    raise ValueError(f"unknown class {label!r} for {self.model.model_id}; its classes are {names}")
                ids.append(names.index(label))
            elif 0 <= int(label) < len(names):
                ids.append(int(label))
            else:
                raise ValueError(f"class index {label} out of range 0..{len(names) - 1} ({names})")
        if not ids:
            raise ValueError(f"labels is empty; pass class names from {names}, or None for all classes")
        return torch.tensor(ids).repeat(-(-n // len(ids)))[:n]  # cycle the given labels up to n

    def __call__(
        self, num_images: int = 16, labels: Sequence[str | int] | str | int | None = None, seed: int | None = 0,
        truncation: float | None = None, batch_size: int = 64, progress: bool | None = None,
    ) -> ImageOutput:
        """``labels`` are class names or indices, cycled to ``num_images``; None spreads over all classes."""
        n = _count("num_images", num_images)
        z = self.model.sample_latents(n, seeded_generator(seed), truncation)
        return self._generate(z, self._label_ids(labels, n), batch_size, progress)


class _ImageToImagePipeline(Pipeline):
    """Shared input handling: any input is brought to the model's size and returned at its own."""

    def _inputs(self, images: ImageLike | Sequence[ImageLike]) -> list:
        if isinstance(images, (list, tuple)):
            return [read_image(im, f"image {i}") for i, im in enumerate(images)]
        return [read_image(images)]

    def _finish(self, image, out: torch.Tensor) -> tuple[Image.Image, torch.Tensor]:
        pixels = resize(_to_unit(out), image.size)[0]
        if pixels.shape[0] == 1 and image.pixels.shape[1] == 1:
            pil = to_pil(pixels, image.alpha, image.sixteen_bit)
        else:
            pil = to_pil(pixels, image.alpha)
        return pil, pixels

    def _run_each(self, inputs, fn, progress: bool | None) -> ImageOutput:
        images, tensors = [], []
        for image in self._progress(inputs, "image", progress):
            x = to_model(image, self.channels, self.image_size).to(self.device, self.model.dtype)
            pil, pixels = self._finish(image, fn(image, x))
            images.append(pil)
            tensors.append(pixels)
        return ImageOutput(images, tensors)


class TranslationPipeline(_ImageToImagePipeline):
    """Unpaired (CycleGAN) and paired (pix2pix) translation."""

    task = "unpaired-translation"

    @property
    def directions(self) -> dict[str, str]:
        """Every accepted ``direction``: 'AtoB', 'BtoA' and the model's own names (e.g. 'remove')."""
        return {"AtoB": "AtoB", "BtoA": "BtoA", **(self.model.config.get("direction_names") or {})}

    def __init__(self, model):
        super().__init__(model)
        self.int8: dict[str, Int8Generator] = {}  # direction ('AtoB'/'BtoA') -> its int8 generator

    def _way(self, direction: str) -> str:
        if direction not in self.directions:
            raise ValueError(f"direction must be one of {list(self.directions)}, got {direction!r}")
        return self.directions[direction]

    @torch.no_grad()
    def __call__(self, images: ImageLike | Sequence[ImageLike], direction: str = "AtoB", progress: bool | None = None) -> ImageOutput:
        """``direction``: 'AtoB', 'BtoA', or a name the model gives one (``pipe.directions``)."""
        way = self._way(direction)
        translate = self.int8[way] if way in self.int8 else (lambda x: self.model.translate(x, way))
        return self._run_each(self._inputs(images), lambda image, x: translate(x), progress)

    def to(self, device=None, dtype=None) -> "TranslationPipeline":
        self.int8.clear()  # int8 copies hold the old weights on the CPU; quantize again after a move
        return super().to(device=device, dtype=dtype)

    def quantize_int8(self, images: ImageLike | Sequence[ImageLike], direction: str = "AtoB",
                      keep_float: Sequence[str] | None = None) -> "TranslationPipeline":
        """Run ``direction`` in int8 on the CPU from now on (zoo.int8; needs the ``int8`` extra).

        ``images``: about 16 typical inputs of that direction, to calibrate activation ranges. It costs
        20-30 s (export, calibration, compilation) once; then each image takes about 0.6x the
        bfloat16 time. Outputs differ from float32 by about 0.3 grey levels on average (README).
        The int8 copy keeps the weights it was made from: after changing them, quantize again.
        """
        way = self._way(direction)
        if not hasattr(self.model, "translator"):
            raise ValueError(f"int8 needs the model to expose its generator as model.translator(direction); "
                             f"{type(self.model).__name__} does not")
        calibration = torch.cat([to_model(image, self.channels, self.image_size) for image in self._inputs(images)])
        self.int8[way] = quantize_int8(self.model.translator(way), calibration.to(self.device), keep_float=keep_float)
        return self


class PairedTranslationPipeline(TranslationPipeline):
    task = "paired-translation"

    @property
    def directions(self) -> dict[str, str]:
        """A paired model learned one way: input (A) to target (B)."""
        return {"AtoB": "AtoB", **(self.model.config.get("direction_names") or {})}


class MaskedEditPipeline(_ImageToImagePipeline):
    """Edit inside a painted mask; pixels outside it are returned exactly as they came in."""

    task = "masked-edit"

    @torch.no_grad()
    def __call__(self, image: ImageLike, mask: ImageLike, mode: str = "remove", grow_mask: int = 0,
                 progress: bool | None = None) -> ImageOutput:
        """``grow_mask``: pixels (of ``image``) to grow the mask by first; a traced lesion outline
        usually stops just inside the lesion's edge, and removal cannot touch the rim it leaves."""
        if mode not in ("remove", "add"):
            raise ValueError(f"mode must be 'remove' or 'add', got {mode!r}")
        if grow_mask < 0:
            raise ValueError(f"grow_mask must be >= 0 pixels, got {grow_mask}")
        source = read_image(image)
        full_mask = read_mask(mask, source.size)
        if grow_mask:
            full_mask = dilate(full_mask, grow_mask)

        def edit(img, x):
            m = resize(full_mask, self.image_size).round().to(x)
            return self.model.edit(x, m, mode)

        out = self._run_each([source], edit, progress)
        # Paste the edit back only inside the mask, at full resolution: nothing outside changes.
        original = source.pixels[0]
        edited = out.tensors[0] if out.tensors[0].shape[0] == original.shape[0] else out.tensors[0].mean(0, keepdim=True).expand_as(original)
        blended = original * (1 - full_mask[0]) + edited * full_mask[0]
        return ImageOutput([to_pil(blended, source.alpha, source.sixteen_bit)], [blended])


PIPELINES: dict[str, type[Pipeline]] = {
    cls.task: cls
    for cls in (UnconditionalPipeline, ClassConditionalPipeline, TranslationPipeline, PairedTranslationPipeline, MaskedEditPipeline)
}


def pipeline_for(model: Any) -> Pipeline:
    return PIPELINES[model.task](model)

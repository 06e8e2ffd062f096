"""Pipelines of the image-to-image translation tasks (unpaired and paired)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from PIL import Image

from zoo.data.images import ImageLike, match_channels, read_image, resize, to_model, to_pil
from zoo.pipelines.base import ImageOutput, Pipeline, to_unit
from zoo.pipelines.int8 import Int8Generator, cached_int8, default_cache_dir, quantize_int8

__all__ = ["ImageToImagePipeline", "TranslationPipeline", "PairedTranslationPipeline"]


def _named_directions(model) -> dict[str, str]:
    """The model's own names for its directions (e.g. ``{"remove": "BtoA"}``): a translation model
    may define ``direction_names()``."""
    names = getattr(model, "direction_names", None)
    return dict(names()) if callable(names) else {}


class ImageToImagePipeline(Pipeline):
    """Shared input handling: any input is brought to the model's size and returned at its own."""

    def _inputs(self, images: ImageLike | Sequence[ImageLike]) -> list:
        if isinstance(images, (list, tuple)):
            return [read_image(im, f"image {i}") for i, im in enumerate(images)]
        return [read_image(images)]

    def _finish(self, image, out: torch.Tensor, x: torch.Tensor | None = None) -> tuple[Image.Image, torch.Tensor]:
        """The model's output ``out`` at the input's size. Given the model's view ``x`` of the input,
        only the model's change (out - x) is resized and added to the input at its own resolution, so
        what the model leaves alone keeps every detail of a photo larger than the model's size."""
        if x is None:
            pixels = resize(to_unit(out), image.size)[0]
        else:
            full = match_channels(image.pixels, out.shape[1]).float()
            change = (out.float().cpu() - x.float().cpu()) / 2  # [-1, 1] units -> [0, 1] units
            pixels = (full + resize(change, image.size)).clamp(0, 1)[0]
        if pixels.shape[0] == 1 and image.pixels.shape[1] == 1:
            pil = to_pil(pixels, image.alpha, image.sixteen_bit)
        else:
            pil = to_pil(pixels, image.alpha)
        return pil, pixels

    def _run_each(self, inputs, fn, progress: bool | None, keep_detail: bool = False) -> ImageOutput:
        images, tensors = [], []
        for image in self._progress(inputs, "image", progress):
            x = to_model(image, self.channels, self.image_size).to(self.device, self.model.dtype)
            pil, pixels = self._finish(image, fn(image, x), x if keep_detail else None)
            images.append(pil)
            tensors.append(pixels)
        return ImageOutput(images, tensors)


class TranslationPipeline(ImageToImagePipeline):
    """Unpaired (CycleGAN) and paired (pix2pix) translation."""


    @property
    def directions(self) -> dict[str, str]:
        """Every accepted ``direction``: 'AtoB', 'BtoA' and the model's own names (e.g. 'remove')."""
        return {"AtoB": "AtoB", "BtoA": "BtoA", **_named_directions(self.model)}

    def __init__(self, model):
        super().__init__(model)
        self.int8: dict[str, Int8Generator] = {}  # direction ('AtoB'/'BtoA') -> its int8 generator

    def _way(self, direction: str) -> str:
        if direction not in self.directions:
            raise ValueError(f"direction must be one of {list(self.directions)}, got {direction!r}")
        return self.directions[direction]

    @property
    def default_direction(self) -> str:
        """What runs when no ``direction`` is given: the model's ``default_direction`` (its main use,
        e.g. 'remove' for a stain remover), else 'AtoB'."""
        return getattr(self.model, "default_direction", "AtoB")

    @torch.no_grad()
    def __call__(self, images: ImageLike | Sequence[ImageLike], direction: str | None = None,
                 progress: bool | None = None, keep_detail: bool = True) -> ImageOutput:
        """``direction``: 'AtoB', 'BtoA', or a name the model gives one (``pipe.directions``);
        default: :attr:`default_direction`.

        ``keep_detail``: an input larger (or smaller) than the model's size gets the model's change,
        resized, added at its own resolution: eyes, hair and skin texture the model leaves alone stay
        as sharp as they came in. False returns the model's whole output resized instead (blurred to
        the model's resolution everywhere). At the model's size both are the same."""
        way = self._way(self.default_direction if direction is None else direction)
        translate = self.int8[way] if way in self.int8 else (lambda x: self.model.translate(x, way))
        return self._run_each(self._inputs(images), lambda image, x: translate(x), progress, keep_detail)

    def to(self, device=None, dtype=None) -> "TranslationPipeline":
        self.int8.clear()  # int8 copies hold the old weights on the CPU; quantize again after a move
        return super().to(device=device, dtype=dtype)

    def quantize_int8(self, images: ImageLike | Sequence[ImageLike] | None, direction: str | None = None,
                      keep_float: Sequence[str] | None = None,
                      cache: bool | str | Path = True) -> "TranslationPipeline":
        """Run ``direction`` in int8 on the CPU from now on (zoo.pipelines.int8; needs the ``int8`` extra).

        ``images``: about 16 typical inputs of that direction, to calibrate activation ranges; None
        takes the newest int8 copy of these weights in the cache, whatever it was calibrated on
        (LookupError when there is none). Quantizing costs 20-40 s (export, calibration, compilation);
        then each image takes about 0.6x the bfloat16 time. Outputs differ from float32 by about 0.3
        grey levels on average (README). ``cache``: True keeps the compiled copy in
        :func:`zoo.pipelines.int8.default_cache_dir` (a folder to keep it elsewhere, False not at all),
        so the same weights and images cost milliseconds from then on, in any process.
        The int8 copy keeps the weights it was made from: after changing them, quantize again.
        """
        way = self._way(self.default_direction if direction is None else direction)
        if not hasattr(self.model, "translator"):
            raise ValueError(f"int8 needs the model to expose its generator as model.translator(direction); "
                             f"{type(self.model).__name__} does not")
        generator = self.model.translator(way)
        cache_dir = None if cache is False else default_cache_dir() if cache is True else Path(cache)
        if images is None:
            shape = (self.channels, *self.image_size)
            found = cached_int8(generator, shape, keep_float=keep_float, cache_dir=cache_dir) if cache_dir else None
            if found is None:
                raise LookupError(f"no int8 copy of these weights ({way}) is cached in {cache_dir}; "
                                  "give calibration images")
            self.int8[way] = found
            return self
        calibration = torch.cat([to_model(image, self.channels, self.image_size) for image in self._inputs(images)])
        self.int8[way] = quantize_int8(generator, calibration.to(self.device), keep_float=keep_float,
                                       cache_dir=cache_dir)
        return self


class PairedTranslationPipeline(TranslationPipeline):

    @property
    def directions(self) -> dict[str, str]:
        """A paired model learned one way: input (A) to target (B)."""
        return {"AtoB": "AtoB", **_named_directions(self.model)}


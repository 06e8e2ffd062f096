"""Pipelines of the noise-to-image tasks: unconditional and class-conditional generation."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from zoo.data.images import to_pil
from zoo.models.latents import seeded_generator, slerp
from zoo.pipelines.base import ImageOutput, Pipeline, to_unit, whole_number

__all__ = ["GenerationPipeline", "UnconditionalPipeline", "ClassConditionalPipeline"]


class GenerationPipeline(Pipeline):
    """Latents (and labels) in batches -> one N x C x H x W output.

    ``**sampling`` are the family's own sampling options (``model.sampling_options()`` lists them
    with their defaults), e.g. ``num_inference_steps`` of a diffusion model; a GAN has none.
    """

    def check_sampling(self, sampling: dict) -> dict:
        """``sampling`` if every key is one of the model's sampling options, else a TypeError naming them."""
        known = self.model.sampling_options()
        unknown = sorted(set(sampling) - set(known))
        if unknown:
            has = f"its options are {sorted(known)}" if known else "it takes none"
            name = self.model.model_id or self.model.family
            raise TypeError(f"{name} has no sampling option {', '.join(unknown)}: {has}")
        return sampling

    @torch.no_grad()
    def from_latents(self, z: torch.Tensor, labels: torch.Tensor | None = None, batch_size: int = 64,
                     progress: bool | None = None, **sampling) -> ImageOutput:
        """The images of latents ``z`` (N x latent_dim; with ``labels``, N class indices), in batches."""
        batch_size = whole_number("batch_size", batch_size)
        sampling = self.check_sampling(sampling)
        parts = []
        for start in self._progress(range(0, len(z), batch_size), "batch", progress):
            chunk = slice(start, start + batch_size)
            extra = () if labels is None else (labels[chunk].to(self.device),)
            parts.append(to_unit(self.model.generate(z[chunk].to(self.device, self.model.dtype), *extra, **sampling)))
        pixels = torch.cat(parts)
        return ImageOutput([to_pil(p) for p in pixels], pixels)


class UnconditionalPipeline(GenerationPipeline):

    def __call__(
        self, num_images: int = 16, seed: int | None = 0, truncation: float | None = None,
        batch_size: int = 64, progress: bool | None = None, **sampling,
    ) -> ImageOutput:
        """``num_images`` samples; the same ``seed`` gives the same images on any device and batch size.

        ``**sampling``: the family's sampling options, e.g. ``num_inference_steps=25`` of ``ddpm-lesions``.
        """
        z = self.model.sample_latents(whole_number("num_images", num_images), seeded_generator(seed), truncation)
        return self.from_latents(z, None, batch_size, progress, **sampling)

    def interpolate(
        self, seed_a: int = 0, seed_b: int = 1, steps: int = 8, truncation: float | None = None, mode: str = "slerp",
        **sampling,
    ) -> ImageOutput:
        """``steps`` images on a path between the latents of two seeds; the ends are those seeds' samples.

        ``mode="slerp"`` (spherical) keeps the latent norm that Gaussian latents concentrate at;
        ``"lerp"`` (straight line) dips toward 0 halfway, so its middle frames look averaged.
        """
        if mode not in ("slerp", "lerp"):
            raise ValueError(f"mode must be 'slerp' or 'lerp', got {mode!r}")
        a = self.model.sample_latents(1, seeded_generator(seed_a), truncation)
        b = self.model.sample_latents(1, seeded_generator(seed_b), truncation)
        t = torch.linspace(0, 1, whole_number("steps", steps))[:, None]
        z = slerp(a, b, t) if mode == "slerp" else torch.lerp(a, b, t)  # torch.lerp is exact at t = 0 and 1
        return self.from_latents(z, None, batch_size=64, progress=False, **sampling)


class ClassConditionalPipeline(GenerationPipeline):

    @property
    def class_names(self) -> list[str]:
        return list(self.model.config["class_names"])

    def label_ids(self, labels: Sequence[str | int] | str | int | None, n: int) -> torch.Tensor:
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
        truncation: float | None = None, batch_size: int = 64, progress: bool | None = None, **sampling,
    ) -> ImageOutput:
        """``labels`` are class names or indices, cycled to ``num_images``; None spreads over all classes.
        ``**sampling``: the family's sampling options (``model.sampling_options()``)."""
        n = whole_number("num_images", num_images)
        z = self.model.sample_latents(n, seeded_generator(seed), truncation)
        return self.from_latents(z, self.label_ids(labels, n), batch_size, progress, **sampling)


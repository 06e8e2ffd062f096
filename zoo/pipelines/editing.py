"""The pipeline of the masked-edit task: edit inside a painted mask, keep the rest."""

from __future__ import annotations

import torch

from zoo.data.images import ImageLike, read_image, read_mask, resize, to_pil
from zoo.models.i2i import grow_mask as dilate
from zoo.pipelines.base import ImageOutput
from zoo.pipelines.translation import ImageToImagePipeline

__all__ = ["MaskedEditPipeline"]


class MaskedEditPipeline(ImageToImagePipeline):
    """Edit inside a painted mask; pixels outside it are returned exactly as they came in."""

    @property
    def default_mode(self) -> str:
        """What the model does when no ``mode`` is given: its ``default_mode``, else 'remove'."""
        return getattr(self.model, "default_mode", "remove")

    @torch.no_grad()
    def __call__(self, image: ImageLike, mask: ImageLike, mode: str | None = None, grow_mask: int = 0,
                 progress: bool | None = None) -> ImageOutput:
        """``mode``: 'remove' or 'add' (default: :attr:`default_mode`). ``grow_mask``: pixels (of
        ``image``) to grow the mask by first; a traced lesion outline usually stops just inside the
        lesion's edge, and removal cannot touch the rim it leaves."""
        mode = self.default_mode if mode is None else mode
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
        edited = (out.tensors[0] if out.tensors[0].shape[0] == original.shape[0]
                  else out.tensors[0].mean(0, keepdim=True).expand_as(original))
        blended = original * (1 - full_mask[0]) + edited * full_mask[0]
        return ImageOutput([to_pil(blended, source.alpha, source.sixteen_bit)], [blended])


"""Figures for image-to-image models, where FID is the wrong question (the sources said so).

* unpaired translation (CycleGAN): cycle reconstruction A -> B -> A and B -> A -> B, L1 and SSIM,
  and how much one pass changes an image;
* paired translation (pix2pix): L1, SSIM and PSNR to the target, beside the same figures for
  "return the input unchanged" (a translation model must beat copying), and, where the data has
  masks, L1 inside and outside them;
* masked edits: mean change outside the mask (should be ~0) against inside it (should not).

Images are compared in [0, 1]; L1 is the mean absolute difference in those units. Each function
takes a model (``zoo.load(...).model`` or a training-time model) and a
:class:`~zoo.data.folders.TrainingData` of the model's task, as ``zoo.data.folders.load_training_data`` reads it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.metrics import psnr, ssim
from tqdm.auto import tqdm

from zoo.data.domains import skin_mask
from zoo.data.folders import TrainingData
from zoo.evaluate.distribution import laplacian_swd
from zoo.models.i2i import grow_mask
from zoo.training.samples import edit_inputs_of

__all__ = ["SSIM_WINDOW", "RING", "cycle_metrics", "paired_metrics", "masked_edit_metrics", "translation_metrics"]

SSIM_WINDOW = 11
RING = 4  # pixels: the band of skin just outside a removal mask that a fill should resemble


def _unit(x: torch.Tensor) -> torch.Tensor:
    return (x.float() + 1) / 2


def _model_input(x: torch.Tensor, device, dtype) -> torch.Tensor:
    return x.to(device=device, dtype=dtype) / 127.5 - 1


def _batches(data: TrainingData, batch_size: int, progress: bool, what: str):
    n = len(data)
    for start in tqdm(range(0, n, batch_size), desc=what, unit="batch", disable=not progress):
        yield {k: v[start:start + batch_size] for k, v in data.tensors.items()}


class _Means:
    """Running means of per-image figures."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count: dict[str, int] = {}

    def add(self, name: str, values: torch.Tensor) -> None:
        values = values.detach().double().cpu()
        values = values[torch.isfinite(values)]  # an image with an empty region has no figure for it
        self.sums[name] = self.sums.get(name, 0.0) + values.sum().item()
        self.count[name] = self.count.get(name, 0) + values.numel()

    def result(self) -> dict[str, float]:
        return {k: self.sums[k] / self.count[k] for k in self.sums if self.count[k]}


def _l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().flatten(1).mean(1)


def _ssim(a: torch.Tensor, b: torch.Tensor, region: torch.Tensor | None = None) -> torch.Tensor:
    """Per image: the mean SSIM, over the whole image or over the pixels where ``region`` is 1."""
    window = min(SSIM_WINDOW, *a.shape[-2:]) // 2 * 2 - 1  # odd, fits small images
    local = ssim(a.float(), b.float(), window).mean(1, keepdim=True)
    if region is None:
        return local.flatten(1).mean(1)
    return (local * region).flatten(1).sum(1) / region.flatten(1).sum(1)


def _skin_ring(reference: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The ``RING`` px band around ``mask``, where ``reference`` (N x C x H x W in [0, 1]) is skin
    coloured: a stain's ring on a face also crosses eyes, brows, hair and background."""
    ring = grow_mask(mask, RING) - mask
    if reference.shape[1] != 3:
        return ring
    skin = ring * torch.stack([skin_mask(image.float().cpu().clamp(0, 1)) for image in reference]).to(ring)
    has_skin = skin.flatten(1).sum(1) > 0  # no skin-coloured pixel around it: the whole ring
    return torch.where(has_skin[:, None, None, None], skin, ring)


def _colour_cast(x: torch.Tensor, mask: torch.Tensor, ring: torch.Tensor) -> torch.Tensor:
    """Per image: the distance of the mean colour inside ``mask`` to the mean colour of ``ring``
    (the skin around it). A restored area without a cast lies within the ring's :func:`_spread`."""
    return (_region_mean(x, mask) - _region_mean(x, ring)).abs().mean(1)


def _spread(x: torch.Tensor, ring: torch.Tensor) -> torch.Tensor:
    """Per image: the mean per-channel standard deviation of ``x``'s pixels in ``ring``."""
    skin = _region_mean(x, ring)[..., None, None]
    return ((x - skin) ** 2 * ring).sum((2, 3)).div(ring.sum((2, 3))).sqrt().mean(1)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.stack([psnr(x.float(), y.float(), 1.0) for x, y in zip(a, b)])


def _region_mean(x: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Per image: the mean colour (N x C) over the pixels where ``region`` is 1."""
    return (x * region).sum((2, 3)) / region.sum((2, 3))


def _detail(x: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Per image: the mean |Laplacian| (4-neighbour, replicate-padded; averaged over channels) over
    ``region``: how much fine texture it holds (0 for a flat or linear ramp)."""
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=x.dtype, device=x.device)
    laplacian = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel.expand(x.shape[1], 1, 3, 3),
                         groups=x.shape[1])
    return (laplacian.abs().mean(1, keepdim=True) * region).flatten(1).sum(1) / region.flatten(1).sum(1)


def _region_l1(a: torch.Tensor, b: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Per image: mean |a - b| over the pixels where ``region`` (N x 1 x H x W in {0, 1}) is 1; NaN if none."""
    diff = (a - b).abs().mean(1, keepdim=True) * region
    return diff.flatten(1).sum(1) / region.flatten(1).sum(1)


@torch.no_grad()
def cycle_metrics(model, data: TrainingData, batch_size: int = 16, progress: bool = True) -> dict[str, float]:
    """A -> B -> A and B -> A -> B reconstruction (L1, SSIM), one pass's mean change (L1), and
    whether each translated domain looks like the real one: the Laplacian-pyramid SWD of the
    translated images to the other domain (``swd_AtoB_to_B``) beside that of the untranslated ones
    (``swd_A_to_B_untranslated``)."""
    device, dtype = model.device, model.dtype
    means = _Means()
    moved_all: dict[str, list[torch.Tensor]] = {"AtoB": [], "BtoA": []}  # kept for the SWD, in [0, 1]
    for batch in _batches(data, batch_size, progress, "cycle"):
        for source, there, back in (("A", "AtoB", "BtoA"), ("B", "BtoA", "AtoB")):
            x = _model_input(batch[source], device, dtype)
            moved = model.translate(x, there)
            returned = model.translate(moved, back)
            x, moved, returned = _unit(x), _unit(moved), _unit(returned)
            means.add(f"cycle_l1_{source}", _l1(returned, x))
            means.add(f"cycle_ssim_{source}", _ssim(returned, x))
            means.add(f"change_l1_{there}", _l1(moved, x))
            moved_all[there].append(moved.cpu().clamp(0, 1))
    result = means.result()
    real = {side: data.tensors[side].float() / 255 for side in ("A", "B")}
    for source, there, target in (("A", "AtoB", "B"), ("B", "BtoA", "A")):
        result[f"swd_{there}_to_{target}"] = laplacian_swd(torch.cat(moved_all[there]), real[target])["mean"]
        result[f"swd_{source}_to_{target}_untranslated"] = laplacian_swd(real[source], real[target])["mean"]
    return result


@torch.no_grad()
def paired_metrics(model, data: TrainingData, batch_size: int = 16, progress: bool = True,
                   direction: str = "AtoB") -> dict[str, float]:
    """The output against the target (L1, SSIM, PSNR) and the same for the unchanged input
    (``copy_*``); with masks in the data (where the input differs from its target, e.g. a stain):

    - ``l1_in_mask`` / ``l1_outside_mask``: L1 to the target inside and outside the masks;
      ``l1_in_mask_share``: ``l1_in_mask`` over the copy's (0.5: half the way to the target);
    - ``ssim_outside_mask``: SSIM to the target outside the masks (and the SSIM window's reach
      around them), where input and target agree: how much of the rest of the face (the same
      person) the output keeps (1: all of it);
    - ``colour_cast``: the distance of the mean colour inside the mask to that of the skin ring just
      outside it (``RING`` px, skin-coloured pixels of the target only), beside ``skin_spread``,
      the ring's own colour spread, and ``cast_within_spread``, the share of images whose cast is
      within it.
    """
    device, dtype = model.device, model.dtype
    source, target = ("A", "B") if direction == "AtoB" else ("B", "A")
    means = _Means()
    for batch in _batches(data, batch_size, progress, "paired"):
        x = _model_input(batch[source], device, dtype)
        out, x, y = _unit(model.translate(x, direction)), _unit(x), _unit(_model_input(batch[target], device, dtype))
        if "mask" in batch:  # the same for the output and the copy: computed once
            mask = (batch["mask"].to(device) > 127).to(out.dtype)
            ring = _skin_ring(y, mask)
            spread = _spread(y, ring)  # of the clean skin around the mask
        for name, guess in (("", out), ("copy_", x)):
            means.add(f"{name}l1", _l1(guess, y))
            means.add(f"{name}ssim", _ssim(guess, y))
            means.add(f"{name}psnr", _psnr(guess, y))
            if "mask" in batch:
                means.add(f"{name}l1_in_mask", _region_l1(guess, y, mask))
                means.add(f"{name}l1_outside_mask", _region_l1(guess, y, 1 - mask))
                # outside the mask and the band where SSIM's window would still see inside it
                means.add(f"{name}ssim_outside_mask", _ssim(guess, y, 1 - grow_mask(mask, SSIM_WINDOW // 2)))
                cast = _colour_cast(guess, mask, ring)
                means.add(f"{name}colour_cast", cast)
                means.add(f"{name}cast_within_spread", (cast <= spread).float())
                if not name:
                    means.add("skin_spread", spread)
    result = means.result()
    if result.get("copy_l1_in_mask"):
        result["l1_in_mask_share"] = result["l1_in_mask"] / result["copy_l1_in_mask"]
    return result


@torch.no_grad()
def masked_edit_metrics(model, data: TrainingData, batch_size: int = 16, progress: bool = True) -> dict[str, float]:
    """Mean |raw output - input| outside the mask (should be ~0) and inside it (the edit), and
    their ratio; the raw model output, before the pipeline pastes the input back outside the mask.

    The model edits what it edits in training (:func:`zoo.training.samples.edit_inputs_of`).

    Removal also gets ``fill_to_ring_distance``: the mean distance of the masked output pixels to
    the mean colour of the skin ring just outside the mask (``RING`` pixels wide). A fill that
    looks like the surrounding skin scores near ``ring_spread`` (the ring's own pixels to that
    colour); the unedited lesion scores ``lesion_to_ring_distance``. It catches saturated or
    checkerboard fills that a mean colour would average away. And ``fill_detail``: the mean
    |Laplacian| (fine texture) of the fill, beside ``ring_detail`` of the skin around it: a flat
    fill scores far below the ring, a speckled or checkerboard one far above.

    Addition also gets ``added_to_lesion_colour``: per image, the distance between the mean colour
    the model paints inside the mask and the mean colour of the real lesion that mask was traced
    around, beside ``input_to_lesion_colour`` (the same for the unedited input); and
    ``added_detail`` beside ``lesion_detail``, the real lesion's.
    """
    device, dtype = model.device, model.dtype
    mode = getattr(model, "default_mode", "remove")
    means = _Means()
    for batch in _batches(data, batch_size, progress, "masked edit"):
        inputs = {k: _model_input(v, device, dtype) for k, v in batch.items() if k in ("image", "healthy")}
        mask = (batch["mask"].to(device) > 127).to(dtype)
        original, lesion_mask = _unit(inputs["image"]), mask
        x, mask = edit_inputs_of(model, {**inputs, "mask": mask}, mode)
        out, x = _unit(model.edit(x, mask, mode)), _unit(x)
        means.add("change_outside_mask", _region_l1(out, x, 1 - mask))
        means.add("change_in_mask", _region_l1(out, x, mask))
        if mode == "add":
            lesion = _region_mean(original, lesion_mask)
            for name, img in (("added_to_lesion_colour", out), ("input_to_lesion_colour", x)):
                means.add(name, (_region_mean(img, mask) - lesion).abs().mean(1))
            means.add("added_detail", _detail(out, mask))
            means.add("lesion_detail", _detail(original, lesion_mask))
        if mode == "remove":
            ring = grow_mask(mask, RING) - mask
            skin = _region_mean(x, ring)[..., None, None]  # NaN: no ring
            for name, img, region in (("fill_to_ring_distance", out, mask), ("ring_spread", x, ring),
                                      ("lesion_to_ring_distance", x, mask)):
                means.add(name, _region_l1(img, skin.expand_as(img), region))
            means.add("fill_detail", _detail(out, mask))
            # not the ring's innermost pixels: their Laplacian would see the lesion edge next to them
            means.add("ring_detail", _detail(x, ring * (1 - grow_mask(mask, 1))))
    result = means.result()
    if result.get("change_outside_mask"):
        result["in_to_outside_ratio"] = result["change_in_mask"] / result["change_outside_mask"]
    return result


def translation_metrics(model, data: TrainingData, batch_size: int = 16, progress: bool = True) -> dict[str, float]:
    """The figures of ``model``'s task (its :class:`zoo.registry.TaskSpec` ``evaluate``)."""
    from zoo.registry import get_registry

    task = get_registry().task(model.task)
    if task.evaluate is None:
        raise ValueError(f"task {model.task!r} (plugin {task.plugin!r}) registers no evaluation figures")
    return task.evaluate(model, data, batch_size=batch_size, progress=progress)

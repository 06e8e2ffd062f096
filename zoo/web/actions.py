"""What the web demo does, without Gradio: load models once, generate, walk the latent space,
translate, edit inside a mask, and describe a model. The Gradio views (zoo.web.app) only wire
these to components, so they are tested as plain functions."""

from __future__ import annotations

import io
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

import zoo
from zoo.data.images import check_pixel_count
from zoo.errors import ImageInputError, ZooError
from zoo.registry import get_registry

__all__ = ["DEMO_MAX_SIDE", "NOT_FOR_DIAGNOSIS", "VIEW_OF_INPUTS", "ModelCache", "Generated", "view_kind",
           "fit_for_demo", "generate", "latent_walk", "translate", "edit", "mask_from_editor", "card_markdown"]

DEMO_MAX_SIDE = 2048
"""Uploads larger than this (pixels a side) are scaled down first, so one photo cannot take the
server's memory; the result comes back at the scaled size."""

NOT_FOR_DIAGNOSIS = ("**Not for diagnosis.** These models are research tools: their images are generated or "
                     "altered, and must not be used to diagnose, treat or reassure anyone.")


VIEW_OF_INPUTS = {"noise": "generate", "image": "translate", "image+mask": "edit"}
"""The view each kind of task input asks for: a third-party task gets the right view without being named."""


def view_kind(model_id: str) -> str:
    """'generate', 'translate' or 'edit': the view a registered model's task asks for (its inputs kind)."""
    return VIEW_OF_INPUTS[get_registry().task(zoo.info(model_id).model_class.task).inputs]


class ModelCache:
    """Pipelines loaded on first use and kept, one per id; thread-safe (Gradio runs handlers in threads).

    On a CPU the image-to-image models run in bfloat16 (about 2x float32), or in int8 where a cached
    int8 copy of their default direction exists (``zoo translate --dtype int8`` makes one)."""

    def __init__(self, device: str | None = None):
        self.device = device
        self._pipes: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, model_id: str):
        with self._lock:
            if model_id not in self._pipes:
                self._pipes[model_id] = self._load(model_id)
            return self._pipes[model_id]

    def peek(self, model_id: str):
        """The pipeline, or None when the model cannot be loaded: the page is still built, and using
        that model shows the loading error there (get raises it)."""
        try:
            return self.get(model_id)
        except (ZooError, OSError, ValueError):
            return None

    def _load(self, model_id: str):
        fast_cpu = self.device in (None, "cpu") and view_kind(model_id) != "generate"
        pipe = zoo.load(model_id, device=self.device)
        if fast_cpu and hasattr(pipe, "directions"):
            try:
                pipe.quantize_int8(None, direction=pipe.default_direction)
                return pipe
            except (LookupError, ImportError, ValueError):
                pass  # no cached int8 copy (or no torchao): bfloat16 below
        if fast_cpu:
            import torch

            pipe.to(dtype=torch.bfloat16)
        return pipe


@dataclass
class Generated:
    images: list[Image.Image]
    zip_path: Path
    code: str


def _zip(images: list[Image.Image], stem: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="medgan-zoo-demo-"))
    path = folder / f"{stem}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i, image in enumerate(images):
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            archive.writestr(f"{stem}-{i:03d}.png", buffer.getvalue())
    return path


def generate(pipe, model_id: str, num_images: int, seed: int, truncation: float | None = None,
             label: str | None = None, progress: bool = False) -> Generated:
    """``num_images`` samples (1-64), the PNGs zipped, and the Python call that makes the same images."""
    num_images, seed = int(num_images), int(seed)
    if not 1 <= num_images <= 64:
        raise ValueError(f"number of images must be 1 to 64 in the demo, got {num_images} (zoo generate makes more)")
    truncation = None if truncation in (None, 0) else float(truncation)
    args = f"num_images={num_images}, seed={seed}" + (f", truncation={truncation}" if truncation else "")
    if label:
        out = pipe(num_images=num_images, labels=[label] * num_images, seed=seed, truncation=truncation,
                   progress=progress)
        args += f", labels=[{label!r}] * {num_images}"
    else:
        out = pipe(num_images=num_images, seed=seed, truncation=truncation, progress=progress)
    code = f"import zoo\n\nimages = zoo.load({model_id!r})({args}).images\n"
    return Generated(out.images, _zip(out.images, f"{model_id.replace('/', '_')}-seed{seed}"), code)


def latent_walk(pipe, seed_a: int, seed_b: int, steps: int, truncation: float | None = None
                ) -> tuple[Image.Image, Path, Path]:
    """A walk between two seeds' latents: one strip image, and the walk as an animated GIF and WebP
    (there and back, so it loops smoothly)."""
    steps = int(steps)
    if not 2 <= steps <= 32:
        raise ValueError(f"steps must be 2 to 32, got {steps}")
    frames = pipe.interpolate(int(seed_a), int(seed_b), steps=steps,
                              truncation=None if truncation in (None, 0) else float(truncation)).images
    w, h = frames[0].size
    strip = Image.new(frames[0].mode, (w * len(frames), h))
    for i, frame in enumerate(frames):
        strip.paste(frame, (i * w, 0))
    loop = frames + frames[-2:0:-1]
    folder = Path(tempfile.mkdtemp(prefix="medgan-zoo-walk-"))
    gif, webp = folder / "walk.gif", folder / "walk.webp"
    loop[0].save(gif, save_all=True, append_images=loop[1:], duration=120, loop=0)
    loop[0].save(webp, save_all=True, append_images=loop[1:], duration=120, loop=0)
    return strip, gif, webp


def _open(path: str | Path) -> Image.Image:
    """An uploaded file as a PIL image, refused with a clear message when it is not one or is too large."""
    try:
        image = Image.open(path)
        check_pixel_count(image, "the upload")
        image.load()
    except ImageInputError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageInputError(f"{Path(path).name} is not an image this demo can read ({type(exc).__name__}); "
                              "upload a PNG, JPEG, TIFF or BMP file") from None
    return ImageOps.exif_transpose(image)


def fit_for_demo(image) -> tuple[Image.Image, str]:
    """An upload (a file path, PIL image or array) as a PIL image no larger than DEMO_MAX_SIDE a side,
    and a note when it was scaled. Grayscale, RGBA and 16-bit inputs keep their mode: the pipelines
    read every mode."""
    if image is None:
        raise ImageInputError("no image: upload one (PNG, JPEG, TIFF ...) or take one with the webcam")
    if isinstance(image, (str, Path)):
        image = _open(image)
    elif isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    if not isinstance(image, Image.Image):
        raise ImageInputError(f"expected an image, got {type(image).__name__}")
    w, h = image.size
    if max(w, h) <= DEMO_MAX_SIDE:
        return image, ""
    scale = DEMO_MAX_SIDE / max(w, h)
    if image.mode.startswith("I;16"):
        image = image.convert("I")  # Pillow resamples 16-bit images in its 32-bit integer mode
    small = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    return small, (f"The upload ({w} x {h}) was scaled to {small.size[0]} x {small.size[1]}: the demo's limit is "
                   f"{DEMO_MAX_SIDE} pixels a side.")


def translate(pipe, image, direction: str | None = None) -> tuple[Image.Image, Image.Image, str]:
    """(input, result, note) for a translation model; ``direction`` as ``pipe.directions`` names it."""
    image, note = fit_for_demo(image)
    out = pipe(image, direction=direction or None) if hasattr(pipe, "directions") else pipe(image)
    return image, out.images[0], note


def mask_from_editor(value, size: tuple[int, int]) -> np.ndarray:
    """The painted mask (H x W bool) from a Gradio ImageEditor value: whatever was painted on any of
    its layers (files or arrays, painted = not transparent)."""
    layers = [np.asarray(_open(layer) if isinstance(layer, (str, Path)) else layer)
              for layer in (value or {}).get("layers") or [] if layer is not None]
    painted = [layer[..., 3] > 0 if layer.ndim == 3 and layer.shape[-1] == 4 else layer > 0 for layer in layers]
    painted = [p.any(-1) if p.ndim == 3 else p for p in painted]
    mask = np.any(painted, axis=0) if painted else np.zeros(size[::-1], bool)
    if mask.shape != (size[1], size[0]):
        raise ImageInputError(f"the mask is {mask.shape[1]} x {mask.shape[0]} but the image is {size[0]} x {size[1]}; "
                              "paint it on the image, or upload a mask of the image's size")
    return mask


def edit(pipe, image, mask: np.ndarray, mode: str, grow: int = 0) -> tuple[Image.Image, Image.Image]:
    """(result, the mask drawn over the input) for a masked-edit model."""
    image, _ = fit_for_demo(image)
    if mask.shape != (image.size[1], image.size[0]):  # the editor's image was scaled with it
        mask = np.asarray(Image.fromarray(mask).resize(image.size, Image.Resampling.NEAREST))
    if not mask.any():
        raise ImageInputError("the mask is empty: paint the area to edit with the brush (white = edit)")
    result = pipe(image, (mask * 255).astype(np.uint8), mode=mode, grow_mask=int(grow)).images[0]
    overlay = image.convert("RGB")
    tint = Image.new("RGB", overlay.size, (255, 0, 160))
    overlay = Image.composite(Image.blend(overlay, tint, 0.45), overlay, Image.fromarray(mask.astype(np.uint8) * 255))
    return result, overlay


def card_markdown(model_id: str) -> str:
    """The model card in brief, for the panel beside every view: what it is, its training data
    (flagged when synthetic), its measured figures, and the not-for-diagnosis notice."""
    try:
        spec = zoo.info(model_id)
    except ZooError:
        return f"### {model_id}\nA model folder or Hub repo: see its README.md for its card.\n\n{NOT_FOR_DIAGNOSIS}"
    synthetic = "synthetic" in spec.training_data.lower()
    lines = [f"### {model_id}", spec.description, "",
             f"**Training data{' (synthetic)' if synthetic else ''}:** {spec.training_data}"]
    if spec.metrics:
        lines += ["", "| figure | value | measured on |", "|---|---:|---|"]
        lines += [f"| {m.name} | {m.value} | {m.dataset} |" for m in spec.metrics[:8]]
    if spec.limitations:
        lines += ["", f"**Limitations:** {spec.limitations}"]
    lines += ["", NOT_FOR_DIAGNOSIS]
    return "\n".join(lines)



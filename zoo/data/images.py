"""Images in, images out: any path, PIL image, numpy array, tensor or DICOM; any size; 8 or 16 bit.

Internally a model sees a float tensor in [-1, 1] with its own channel count and size; users get
back PIL images at their input's size, in their input's mode where that makes sense (a 16-bit
grayscale X-ray stays 16-bit; an alpha channel is carried through untouched).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from zoo.data.dicom import from_dicom, is_dicom_dataset, is_dicom_file, read_dicom
from zoo.errors import ImageInputError

__all__ = ["ImageLike", "InputImage", "check_pixel_count", "read_image", "read_mask", "match_channels", "resize",
           "to_model", "to_pil"]

# A pydicom.Dataset is accepted too; it is left out here so that pydicom stays an optional extra.
ImageLike = Union[str, Path, Image.Image, np.ndarray, torch.Tensor]


_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)  # ITU-R 601, as PIL's "L" mode


@dataclass
class InputImage:
    """One input, normalised: ``pixels`` is 1 x C x H x W in [0, 1] at the original size."""

    pixels: torch.Tensor
    alpha: torch.Tensor | None  # 1 x 1 x H x W in [0, 1]
    sixteen_bit: bool

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.pixels.shape[-2:])


def _from_pil(img: Image.Image, what: str = "image") -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(H x W x C float array in [0, 1], alpha or None, was 16-bit)."""
    mode = img.mode
    if mode.startswith("I;16"):
        return np.asarray(img, dtype=np.float64)[..., None] / 65535.0, None, True
    if mode == "I":  # 32-bit integers: Pillow opens some 16-bit PNGs this way, and 32-bit TIFFs
        values = np.asarray(img, dtype=np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise ImageInputError(
                f"{what}: a 32-bit integer image with values from {values.min()} to {values.max()}, outside the "
                "16-bit range 0-65535 this zoo reads; window and rescale it (e.g. a CT window to 0-65535) and "
                "save it as a 16-bit PNG, or pass the scaled values as a float array in [0, 1]."
            )
        return _from_array(values.astype(np.uint16), what)
    if mode == "F":  # 32-bit floats, e.g. CT values in Hounsfield units: the same rule as float arrays
        return _from_array(np.asarray(img, dtype=np.float64), what)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode == "1":
        img = img.convert("L")
    elif mode == "PA":
        img = img.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):  # CMYK, YCbCr, LAB, HSV ...
        img = img.convert("RGB")
    arr = np.asarray(img, dtype=np.float64) / 255.0
    if arr.ndim == 2:
        arr = arr[..., None]
    if img.mode in ("LA", "RGBA"):
        return arr[..., :-1], arr[..., -1:], False
    return arr, None, False


def _from_array(arr: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray | None, bool]:
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 2, 3, 4):
        raise ImageInputError(
            f"{what}: a numpy array of shape {arr.shape} is not an image; pass H x W (grayscale) or "
            "H x W x C with C = 1, 3 or 4 (channels last)."
        )
    sixteen = arr.dtype == np.uint16
    if arr.dtype == np.uint8:
        arr = arr / 255.0
    elif sixteen:
        arr = arr / 65535.0
    elif arr.dtype == bool:
        arr = arr.astype(np.float64)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageInputError(f"{what}: the float values include NaN or infinity; pass finite values in [0, 1].")
        if arr.size and (arr.min() < -1e-3 or arr.max() > 1 + 1e-3):
            raise ImageInputError(
                f"{what}: float images and arrays must hold values in [0, 1], got [{arr.min():.3g}, "
                f"{arr.max():.3g}] (CT values in Hounsfield units need a window first); rescale to [0, 1], or "
                "pass uint8 (0-255) or uint16 (0-65535) data."
            )
    else:
        raise ImageInputError(f"{what}: unsupported array dtype {arr.dtype}; "
                              "use uint8, uint16, bool or float in [0, 1].")
    arr = np.clip(arr.astype(np.float64), 0, 1)
    if arr.shape[-1] in (2, 4):
        return arr[..., :-1], arr[..., -1:], sixteen
    return arr, None, sixteen

MAX_PIXELS = ("MEDGAN_ZOO_MAX_INPUT_PIXELS", 50_000_000)
"""Images larger than this (pixels) are refused before decoding: a 420 KB PNG can hold 12000 x 12000
pixels, 8.5 GB once in floats. Raise it with the environment variable for images you trust."""


def check_pixel_count(img: Image.Image, subject: str) -> None:
    """Refuse ``img`` (opened, not yet decoded) when it has more pixels than :data:`MAX_PIXELS` allows."""
    cap = int(os.environ.get(MAX_PIXELS[0], MAX_PIXELS[1]))
    if img.width * img.height > cap:
        raise ImageInputError(f"{subject} is {img.width} x {img.height} pixels, over the limit of {cap:,}; "
                              f"resize it first, or set {MAX_PIXELS[0]} for images you trust.")


def _from_file(path: Path, what: str) -> tuple[np.ndarray, np.ndarray | None, bool]:
    try:
        with Image.open(path) as img:
            check_pixel_count(img, f"{what}: {path}")
            img.load()
            # The orientation a camera or phone records (EXIF), as every viewer shows the photo.
            return _from_pil(ImageOps.exif_transpose(img), f"{what}: {path}")
    except UnidentifiedImageError:
        raise ImageInputError(
            f"{what}: {path} is not an image file Pillow can read (PNG, JPEG, TIFF, BMP ...) nor DICOM."
        ) from None
    except Image.DecompressionBombError as exc:
        raise ImageInputError(f"{what}: {path}: {exc}") from None
    except ImageInputError:
        raise
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:  # Pillow's ways to fail on bad data
        raise ImageInputError(f"{what}: {path} cannot be decoded ({type(exc).__name__}: {exc}); the file is "
                              "damaged or cut short. Export or copy it again.") from None


def read_image(image: ImageLike, what: str = "image") -> InputImage:
    """Normalise any supported image input; errors name the problem and the fix."""
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise ImageInputError(f"{what}: no such file {path}")
        if is_dicom_file(path):
            arr, alpha, sixteen = from_dicom(read_dicom(path, what), f"{what} ({path.name})")
        else:
            arr, alpha, sixteen = _from_file(path, what)
    elif isinstance(image, Image.Image):
        arr, alpha, sixteen = _from_pil(image, what)
    elif isinstance(image, np.ndarray):
        arr, alpha, sixteen = _from_array(image, what)
    elif isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim == 4 and t.shape[0] == 1:
            t = t[0]
        if t.ndim == 2:
            t = t[None]
        if t.ndim != 3 or t.shape[0] not in (1, 2, 3, 4):
            raise ImageInputError(
                f"{what}: a tensor of shape {tuple(image.shape)} is not one image; pass C x H x W or 1 x C x H x W "
                "with C = 1, 3 or 4 (for a batch, pass a list of images)."
            )
        if t.is_floating_point():
            t = t.double()  # numpy has no bfloat16 / float8
        arr, alpha, sixteen = _from_array(t.permute(1, 2, 0).numpy(), what)
    elif is_dicom_dataset(image):
        arr, alpha, sixteen = from_dicom(image, what)
    else:
        raise ImageInputError(
            f"{what}: cannot read a {type(image).__name__}; pass a file path, PIL image, numpy array, torch tensor "
            "or pydicom Dataset."
        )
    if min(arr.shape[:2]) < 1:
        raise ImageInputError(f"{what}: the image is empty ({arr.shape[0]} x {arr.shape[1]} pixels).")
    pixels = torch.from_numpy(arr).float().permute(2, 0, 1)[None]
    alpha_t = torch.from_numpy(alpha).float().permute(2, 0, 1)[None] if alpha is not None else None
    return InputImage(pixels, alpha_t, sixteen)


def read_mask(mask: ImageLike, size: tuple[int, int], what: str = "mask") -> torch.Tensor:
    """A 1 x 1 x H x W float mask in {0, 1}; it must have the image's size (H, W).

    Painted masks (0/255, soft edges, JPEG noise) and label maps (0/1) both work: a pixel is in
    the mask when it is brighter than half the mask's brightest pixel.
    """
    m = read_image(mask, what)
    if m.size != tuple(size):
        raise ImageInputError(
            f"{what}: the mask is {m.size[0]} x {m.size[1]} (H x W) but the image is {size[0]} x {size[1]}; "
            "paint the mask on the same image, or resize it to the image's size."
        )
    gray = m.pixels.mean(1, keepdim=True)
    if m.alpha is not None:
        gray = gray * m.alpha
    if gray.max() <= 0:
        raise ImageInputError(f"{what}: the mask is empty (all black), so there is nothing to edit; paint the "
                              "region to change in white.")
    return (gray > 0.5 * gray.max()).float()


def match_channels(pixels: torch.Tensor, channels: int) -> torch.Tensor:
    if pixels.shape[1] == channels:
        return pixels
    if channels == 1:
        return (pixels * _LUMA.to(pixels)).sum(1, keepdim=True)
    if pixels.shape[1] == 1 and channels == 3:
        return pixels.expand(-1, 3, -1, -1)
    raise ImageInputError(f"cannot turn a {pixels.shape[1]}-channel image into {channels} channels")


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)


def to_model(image: InputImage, channels: int, size: tuple[int, int]) -> torch.Tensor:
    """The model's view of an input: 1 x channels x H x W in [-1, 1] at the model's size."""
    return resize(match_channels(image.pixels, channels), size) * 2 - 1


def to_pil(pixels: torch.Tensor, alpha: torch.Tensor | None = None, sixteen_bit: bool = False) -> Image.Image:
    """C x H x W in [0, 1] (C = 1 or 3) -> PIL; 16-bit grayscale when asked; alpha re-attached."""
    pixels = pixels.detach().float().cpu().clamp(0, 1)
    if pixels.shape[0] == 1 and sixteen_bit and alpha is None:
        return Image.fromarray((pixels[0].numpy() * 65535 + 0.5).astype(np.uint16))
    if alpha is not None:
        pixels = torch.cat([pixels, alpha.detach().float().cpu().clamp(0, 1).reshape(1, *pixels.shape[-2:])])
    arr = (pixels.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)

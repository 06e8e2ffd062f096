"""DICOM input, through the optional extra ``medgan-zoo[dicom]``.

pydicom is imported only when a DICOM input arrives. Stored values go through the rescale or
Modality LUT and are mapped to [0, 1] by the stored bit depth, never by the image's own min/max
or a display window, so every image of a series shares one intensity scale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from zoo.errors import ImageInputError, MissingExtraError

__all__ = ["DICOM_SUFFIXES", "is_dicom_file", "is_dicom_dataset", "read_dicom", "from_dicom"]

DICOM_SUFFIXES = {".dcm", ".dicom"}

def _pydicom(what: str):
    try:
        import pydicom
    except ImportError:
        raise MissingExtraError(
            f'{what}: reading DICOM needs pydicom, which is not installed; pip install "medgan-zoo[dicom]".'
        ) from None
    return pydicom


def is_dicom_file(path: str | Path) -> bool:
    """By suffix (.dcm, .dicom), or by the 'DICM' marker after the 128-byte preamble.

    The marker is checked whatever the name: DICOM files often have none, or a UID for a name
    (``1.2.840.113619.2.55``), whose "suffix" means nothing.
    """
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            return f.read(132)[128:] == b"DICM"
    except OSError:
        return False


def is_dicom_dataset(obj) -> bool:
    pydicom = sys.modules.get("pydicom")  # a Dataset can only exist once pydicom has been imported
    return pydicom is not None and isinstance(obj, pydicom.Dataset)


def read_dicom(path: Path, what: str):
    pydicom = _pydicom(what)
    try:
        # force=True: a .dcm written without the 128-byte preamble (older exports) is still DICOM.
        return pydicom.dcmread(path, force=True)
    except Exception as exc:  # pydicom raises many kinds on a damaged file
        raise ImageInputError(
            f"{what}: {path} is not a readable DICOM file ({type(exc).__name__}: {exc}); "
            "pass an intact DICOM file, or the image as PNG or TIFF."
        ) from None


def _dicom_frame0(ds, what: str) -> np.ndarray:
    """The stored values of the first frame (a multi-frame series gives its first image)."""
    try:
        try:
            from pydicom.pixels import pixel_array  # pydicom >= 3: decodes frame 0 only; YBR comes back as RGB
        except ImportError:  # pydicom 2.4
            arr = ds.pixel_array
            return arr[0] if int(ds.get("NumberOfFrames") or 1) > 1 else arr
        return pixel_array(ds, index=0)
    except Exception as exc:
        syntax = ds.file_meta.get("TransferSyntaxUID", "unknown") if hasattr(ds, "file_meta") else "unknown"
        raise ImageInputError(
            f"{what}: pydicom cannot decode the pixel data (transfer syntax {syntax}): {exc}. If the file is "
            "intact, compressed DICOM (JPEG, JPEG-LS, JPEG 2000) needs a decoder: "
            "pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg."
        ) from None


def _modality_source(ds):
    """Where frame 0's rescale lives: the top level, or an enhanced multi-frame's functional groups."""
    if "RescaleSlope" in ds or "ModalityLUTSequence" in ds:
        return ds
    for name in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        groups = ds.get(name)
        if groups and groups[0].get("PixelValueTransformationSequence"):
            return groups[0].PixelValueTransformationSequence[0]
    return ds


def _dicom_gray(ds, arr: np.ndarray, what: str) -> tuple[np.ndarray, None, bool]:
    try:
        from pydicom.pixels import apply_modality_lut
    except ImportError:  # pydicom 2.4
        from pydicom.pixel_data_handlers.util import apply_modality_lut
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or arr.dtype.itemsize * 8)
    if int(ds.get("PixelRepresentation") or 0) == 1:
        stored = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    else:
        stored = (0, (1 << bits) - 1)
    # Every value the stored bit depth allows, through the same rescale or modality LUT, spans
    # [0, 1]: not this image's min/max, so all images of a series share one intensity scale.
    source = _modality_source(ds)
    probe = np.arange(stored[0], stored[1] + 1) if bits <= 16 else np.array(stored)
    reach = apply_modality_lut(probe, source)
    lo, hi = float(reach.min()), float(reach.max())
    if hi <= lo:
        raise ImageInputError(
            f"{what}: its modality LUT / RescaleSlope maps every stored value to {lo:g}, so the image holds "
            "no contrast; check RescaleSlope (0028,1053)."
        )
    gray = np.clip((apply_modality_lut(arr, source).astype(np.float64) - lo) / (hi - lo), 0, 1)
    if str(ds.get("PhotometricInterpretation", "")).strip().upper() == "MONOCHROME1":
        gray = 1 - gray  # MONOCHROME1: the lowest value is white
    return gray[..., None], None, bits > 8


def from_dicom(ds, what: str) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Stored values -> [0, 1] by the stored bit depth (never by a window: that is a display choice)."""
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise ImageInputError(
                f"{what}: float pixel data (a parametric map) has no stored bit depth to scale by; read it with "
                "pydicom, rescale it yourself and pass a float array in [0, 1]."
            )
        raise ImageInputError(
            f"{what}: the DICOM holds no image (no Pixel Data element; modality {ds.get('Modality', '?')}); "
            "pass an image object (CR, DX, CT, MR, US ...)."
        )
    pi = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if pi == "PALETTE COLOR":
        raise ImageInputError(
            f"{what}: PALETTE COLOR DICOM is not supported; convert it to RGB first "
            "(pydicom.pixels.apply_color_lut) and pass the array."
        )
    arr = _dicom_frame0(ds, what)
    if arr.dtype.kind == "f":
        raise ImageInputError(
            f"{what}: float pixel data has no stored bit depth to scale by; pass a float array in [0, 1]."
        )
    if arr.ndim == 2:
        return _dicom_gray(ds, arr, what)
    if arr.ndim == 3 and arr.shape[-1] == 3 and (pi == "RGB" or pi.startswith("YBR")):
        if pi.startswith("YBR") and int(_pydicom(what).__version__.split(".")[0]) < 3:
            raise ImageInputError(f"{what}: {pi} colour DICOM needs pydicom >= 3, which converts it to RGB; "
                                  "pip install -U pydicom.")
        bits = int(ds.get("BitsStored") or 8)
        return np.clip(arr.astype(np.float64) / ((1 << bits) - 1), 0, 1), None, False
    raise ImageInputError(
        f"{what}: cannot use DICOM pixel data of shape {arr.shape} with photometric interpretation {pi or '(none)'}; "
        "MONOCHROME1, MONOCHROME2, RGB and YBR are supported."
    )



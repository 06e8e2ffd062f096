"""DICOM input (the [dicom] extra) and 16-bit PNG / TIFF: exact intensity scaling, never per-image min/max."""

import sys

import numpy as np
import pydicom
import pytest
import torch
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, SecondaryCaptureImageStorage, generate_uid

from zoo.data import load_training_data
from zoo.data.dicom import is_dicom_file
from zoo.data.images import read_image
from zoo.errors import ImageInputError, MissingExtraError


def dicom(pixels, bits=12, pi="MONOCHROME2", slope=None, intercept=None, signed=False, frames=None, rgb=False):
    """A tiny uncompressed DICOM dataset holding ``pixels`` as stored values."""
    pixels = np.asarray(pixels)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Modality = "OT"
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if rgb else pixels.shape[-2:]
    ds.SamplesPerPixel = 3 if rgb else 1
    if rgb:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = pi
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored, ds.HighBit = bits, bits - 1
    ds.PixelRepresentation = int(signed)
    if frames:
        ds.NumberOfFrames = frames
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    dtype = f"{'i' if signed else 'u'}{ds.BitsAllocated // 8}"
    ds.PixelData = pixels.astype(f"<{dtype}").tobytes()
    return ds


def save(ds, path):
    ds.save_as(path, enforce_file_format=True)  # 128-byte preamble + 'DICM', as scanners write
    return path


STORED = np.array([[0, 1, 2048], [4095, 100, 3000]])


@pytest.mark.parametrize("slope, intercept, expected", [
    (None, None, STORED / 4095),
    (2, -1024, STORED / 4095),  # a linear rescale changes units (HU), not contrast
    (-1, 4095, 1 - STORED / 4095),  # a negative slope reverses the scale: the rescale is applied
])
def test_12_bit_monochrome2_scales_by_bit_depth_through_the_rescale(tmp_path, slope, intercept, expected):
    image = read_image(save(dicom(STORED, slope=slope, intercept=intercept), tmp_path / "ct.dcm"))
    assert image.pixels.shape == (1, 1, 2, 3) and image.sixteen_bit and image.alpha is None
    assert torch.allclose(image.pixels[0, 0], torch.tensor(expected, dtype=torch.float32), atol=1e-7)


def test_scale_is_the_bit_depth_not_the_images_own_range():
    dark = read_image(dicom([[10, 20], [30, 40]]))  # a 12-bit image that uses little of its range
    assert torch.allclose(dark.pixels.flatten(), torch.tensor([10, 20, 30, 40]) / 4095)


def test_signed_data_and_a_nonlinear_modality_lut():
    signed = read_image(dicom([[-2048, 0, 2047]], signed=True))
    assert torch.allclose(signed.pixels.flatten(), torch.tensor([0, 2048 / 4095, 1]))
    ds = dicom([[0, 128, 255]], bits=8)
    item = Dataset()
    item.LUTDescriptor = [256, 0, 16]
    item.ModalityLUTType = "US"
    item.add_new(0x00283006, "US", [i * i for i in range(256)])  # LUT Data: a square law
    ds.ModalityLUTSequence = [item]
    out = read_image(ds)
    assert torch.allclose(out.pixels.flatten().double(), torch.tensor([0, 128**2 / 255**2, 1.0]).double(), atol=1e-7)


def test_enhanced_multiframe_rescale_lives_in_functional_groups():
    ds = dicom(np.stack([STORED, STORED[::-1]]), frames=2)
    transform = Dataset()
    transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = -1, 4095, "US"
    group = Dataset()
    group.PixelValueTransformationSequence = [transform]
    ds.SharedFunctionalGroupsSequence = [group]
    out = read_image(ds)  # frame 0, reversed by the shared rescale
    assert torch.allclose(out.pixels[0, 0], torch.tensor(1 - STORED / 4095, dtype=torch.float32), atol=1e-7)


def test_monochrome1_is_inverted_and_8_bit_is_not_sixteen(tmp_path):
    ones = read_image(save(dicom(STORED, pi="MONOCHROME1"), tmp_path / "cr.dcm"))
    assert torch.allclose(ones.pixels[0, 0], torch.tensor(1 - STORED / 4095, dtype=torch.float32), atol=1e-7)
    eight = read_image(dicom([[0, 51, 255]], bits=8, pi="MONOCHROME1"))
    assert not eight.sixteen_bit
    assert torch.allclose(eight.pixels.flatten(), torch.tensor([1, 1 - 51 / 255, 0]))


def test_suffixless_and_uid_named_files_and_a_dataset_read_alike(tmp_path):
    ds = dicom(STORED)
    reference = read_image(save(ds, tmp_path / "a.dcm")).pixels
    for name in ("IM0001", "1.2.840.113619.2.55"):  # no suffix; a UID whose "suffix" is ".55"
        path = save(ds, tmp_path / name)
        assert is_dicom_file(path)
        assert torch.equal(read_image(path).pixels, reference)
        assert torch.equal(read_image(str(path)).pixels, reference)
    assert torch.equal(read_image(pydicom.dcmread(tmp_path / "IM0001")).pixels, reference)
    assert torch.equal(read_image(ds).pixels, reference)
    png = tmp_path / "plain"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(png, format="PNG")
    assert not is_dicom_file(png) and read_image(png).pixels.shape == (1, 1, 4, 4)


def test_multiframe_gives_frame_0_and_rgb_keeps_colour():
    cine = read_image(dicom(np.stack([STORED, 4095 - STORED, STORED // 2]), frames=3))
    assert torch.allclose(cine.pixels[0, 0], torch.tensor(STORED / 4095, dtype=torch.float32), atol=1e-7)
    rgb = np.random.default_rng(0).integers(0, 256, (5, 4, 3))
    colour = read_image(dicom(rgb, bits=8, pi="RGB", rgb=True))
    assert colour.pixels.shape == (1, 3, 5, 4) and not colour.sixteen_bit
    assert torch.allclose(colour.pixels[0].permute(1, 2, 0), torch.tensor(rgb / 255, dtype=torch.float32))


def test_bad_dicom_is_explained(tmp_path):
    (tmp_path / "broken.dcm").write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00")
    with pytest.raises(ImageInputError, match=r"broken\.dcm"):
        read_image(tmp_path / "broken.dcm")
    report = dicom(STORED)
    del report.PixelData
    with pytest.raises(ImageInputError, match="holds no image"):
        read_image(report)
    palette = dicom(STORED, pi="PALETTE COLOR")
    with pytest.raises(ImageInputError, match="PALETTE COLOR.*convert it to RGB"):
        read_image(palette)
    jpeg = dicom([[0, 1], [2, 3]], bits=8)
    jpeg.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    jpeg.PixelData = encapsulate([b"\xff\xd8 not a JPEG stream"])
    with pytest.raises(ImageInputError, match=r"(?s)cannot decode the pixel data \(transfer syntax "
                                              r"1\.2\.840\.10008\.1\.2\.4\.50\).*pip install pylibjpeg"):
        read_image(jpeg)


def test_missing_pydicom_names_the_extra_even_in_a_training_folder(tmp_path, monkeypatch):
    (tmp_path / "images").mkdir()
    save(dicom(STORED), tmp_path / "images" / "a.dcm")
    monkeypatch.setitem(sys.modules, "pydicom", None)  # `import pydicom` now raises ImportError
    with pytest.raises(MissingExtraError, match=r'pip install "medgan-zoo\[dicom\]"'):
        read_image(tmp_path / "images" / "a.dcm")
    with pytest.raises(MissingExtraError, match=r'pip install "medgan-zoo\[dicom\]"'):
        load_training_data(tmp_path, "unconditional", (2, 3), 1, progress=False)  # not a skipped "bad file"


def test_16_bit_png_tiff_and_dicom_in_a_training_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    sixteen = np.array([[65535, 32768], [0, 257]], dtype=np.uint16)
    Image.fromarray(sixteen).save(folder / "a.png")
    Image.fromarray(sixteen).save(folder / "b.tif")
    save(dicom([[4095, 2048], [0, 16]]), folder / "c.dcm")
    (folder / "d.dcm").write_bytes(b"not dicom at all")
    for name in ("a.png", "b.tif"):
        image = read_image(folder / name)
        assert image.sixteen_bit and torch.allclose(image.pixels.flatten().double(),
                                                    torch.tensor(sixteen.flatten() / 65535.0), atol=1e-7)
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable images: .*d\.dcm"):
        data = load_training_data(tmp_path, "unconditional", (2, 2), 1, progress=False)
    assert [p.rsplit("/", 1)[-1] for p in data.files] == ["a.png", "b.tif", "c.dcm"]
    expected = torch.tensor([[[255, 128], [0, 1]]] * 3, dtype=torch.uint8)  # 4095 / 4095 -> 255; 2048 -> 128
    assert torch.equal(data.tensors["image"][:, 0], expected)


def test_a_16_bit_dicom_stays_16_bit_through_a_grayscale_model(toys, tmp_path):
    import zoo
    from zoo.pipelines import pipeline_for

    torch.manual_seed(0)
    editor = pipeline_for(zoo.create("toy-edit"))  # a 1-channel model
    stored = np.random.default_rng(4).integers(0, 4096, (12, 10))
    mask = np.zeros((12, 10), dtype=bool)
    mask[3:8, 2:6] = True
    out = editor(save(dicom(stored), tmp_path / "xray.dcm"), mask).images[0]
    assert out.mode.startswith("I;16")
    assert np.array_equal(np.asarray(out)[~mask], np.round(stored / 4095 * 65535).astype(np.uint16)[~mask])

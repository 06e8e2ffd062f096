"""Pipelines: reproducible seeds, truncation, labels, and any image in -> same size and mode out."""

import numpy as np
import pytest
import torch
from PIL import Image

import zoo


@pytest.fixture(scope="module")
def dcgan():
    return zoo.load("dcgan-lesions")


def test_seed_reproducible_across_batch_sizes(dcgan):
    a = dcgan(num_images=5, seed=7, batch_size=5).tensors
    b = dcgan(num_images=5, seed=7, batch_size=2).tensors
    c = dcgan(num_images=5, seed=8).tensors
    assert torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, c)
    assert [im.size for im in dcgan(num_images=2).images] == [(64, 64)] * 2


def test_truncation_bounds_latents_and_narrows_samples(dcgan):
    from zoo.models.latents import sample_normal, seeded_generator

    z = sample_normal((4000, 100), seeded_generator(0), truncation=0.5)
    assert z.abs().max() <= 0.5 and z.std() < 0.35  # N(0,1) truncated to [-0.5, 0.5] has std 0.28
    full = dcgan(num_images=64, seed=0).tensors
    narrow = dcgan(num_images=64, seed=0, truncation=0.2).tensors
    assert narrow.std(0).mean() < full.std(0).mean()
    with pytest.raises(ValueError, match="truncation must be > 0"):
        dcgan(num_images=1, truncation=0)


def test_interpolation_ends_at_the_two_seeds(dcgan):
    path = dcgan.interpolate(seed_a=3, seed_b=4, steps=5)
    assert len(path) == 5
    assert torch.allclose(path.tensors[0], dcgan(num_images=1, seed=3).tensors[0], atol=1e-5)
    assert torch.allclose(path.tensors[-1], dcgan(num_images=1, seed=4).tensors[0], atol=1e-5)


def test_class_conditional_labels(toys):
    from zoo.pipelines import pipeline_for

    pipe = pipeline_for(zoo.create("toy-conditional"))
    by_name = pipe(num_images=4, labels=["mel", "vasc"], seed=0).tensors
    by_index = pipe(num_images=4, labels=[1, 2], seed=0).tensors
    assert torch.equal(by_name, by_index)
    assert not torch.equal(by_name, pipe(num_images=4, labels=["df"], seed=0).tensors)
    with pytest.raises(ValueError, match="unknown class 'nv'.*'df', 'mel', 'vasc'"):
        pipe(num_images=1, labels=["nv"])
    with pytest.raises(ValueError, match="out of range"):
        pipe(num_images=1, labels=[3])


@pytest.fixture
def translator(toys):
    from zoo.pipelines import pipeline_for

    torch.manual_seed(0)
    return pipeline_for(zoo.create("toy-translate"))


def _save(img: Image.Image, path):
    img.save(path)
    return path


def test_translation_accepts_every_kind_of_input(translator, tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    inputs = {
        "path": _save(Image.fromarray(rgb), tmp_path / "a.png"),
        "str path": str(_save(Image.fromarray(rgb), tmp_path / "b.jpg")),
        "pil rgb": Image.fromarray(rgb),
        "pil gray": Image.fromarray(rgb[..., 0]),
        "pil palette": Image.fromarray(rgb).convert("P"),
        "pil cmyk": Image.fromarray(rgb).convert("CMYK"),
        "numpy uint8": rgb,
        "numpy gray uint16": rng.integers(0, 65536, (20, 30), dtype=np.uint16),
        "numpy float": rgb / 255.0,
        "tensor chw": torch.rand(3, 11, 7),
        "tensor 1chw uint8": torch.randint(0, 256, (1, 3, 9, 9), dtype=torch.uint8),
    }
    out = translator(list(inputs.values()))
    for (name, source), image, t in zip(inputs.items(), out.images, out.tensors):
        h, w = (np.asarray(Image.open(source)).shape[:2] if isinstance(source, (str, type(tmp_path)))
                else (source.size[1], source.size[0]) if isinstance(source, Image.Image)
                else source.shape[:2] if isinstance(source, np.ndarray) else source.shape[-2:])
        assert image.size == (w, h), name
        assert t.shape[-2:] == (h, w), name
        assert image.mode == "RGB", name


def test_alpha_is_carried_through_untouched(translator):
    rgba = np.random.default_rng(1).integers(0, 256, (24, 16, 4), dtype=np.uint8)
    out = translator(Image.fromarray(rgba, "RGBA")).images[0]
    assert out.mode == "RGBA" and out.size == (16, 24)
    assert np.array_equal(np.asarray(out)[..., 3], rgba[..., 3])


def test_directions_differ_and_bad_direction_is_explained(translator):
    x = torch.rand(3, 16, 12)
    assert not torch.equal(translator(x, direction="AtoB").tensors[0], translator(x, direction="BtoA").tensors[0])
    with pytest.raises(ValueError, match=r"direction must be one of \['AtoB', 'BtoA'\], got 'forward'"):
        translator(x, direction="forward")


@pytest.fixture
def editor(toys):
    from zoo.pipelines import pipeline_for

    torch.manual_seed(0)
    return pipeline_for(zoo.create("toy-edit"))  # a 1-channel model


def test_masked_edit_keeps_every_pixel_outside_the_mask_and_16_bit_depth(editor, tmp_path):
    xray = np.random.default_rng(2).integers(0, 65536, (45, 70), dtype=np.uint16)
    path = tmp_path / "xray.png"
    Image.fromarray(xray).save(path)
    mask = np.zeros((45, 70), dtype=np.uint8)
    mask[10:30, 20:50] = 255
    out = editor(path, mask, mode="add")
    result = np.asarray(out.images[0])
    assert out.images[0].mode.startswith("I;16") and result.shape == (45, 70)
    outside = mask == 0
    assert np.array_equal(result[outside], xray[outside])
    assert not np.array_equal(result[~outside], xray[~outside])
    removed = np.asarray(editor(path, mask, mode="remove").images[0])
    assert not np.array_equal(removed[~outside], result[~outside])


def test_masked_edit_rgb_photo_into_gray_model_keeps_outside(editor):
    photo = np.random.default_rng(3).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    mask = np.zeros((20, 20), dtype=bool)
    mask[5:15, 5:15] = True
    out = np.asarray(editor(photo, mask).images[0])
    assert out.shape == (20, 20, 3)
    assert np.array_equal(out[~mask], photo[~mask])


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((4, 5, 6, 3)), "not an image"),
        (np.zeros((8, 8, 7)), "C = 1, 3 or 4"),
        (np.full((8, 8), 2.5), r"\[0, 1\]"),
        (torch.zeros(2, 3, 8, 8), "a list of images"),
        ({"not": "an image"}, "cannot read a dict"),
        ("missing.png", "no such file"),
    ],
)
def test_bad_images_get_clear_errors(translator, bad, message):
    with pytest.raises(zoo.ImageInputError, match=message):
        translator(bad)


def test_non_image_file_and_mismatched_mask(editor, tmp_path):
    junk = tmp_path / "notes.png"
    junk.write_text("not an image")
    with pytest.raises(zoo.ImageInputError, match="not an image file"):
        editor(junk, np.zeros((4, 4)))
    with pytest.raises(zoo.ImageInputError, match=r"mask is 10 x 12 \(H x W\) but the image is 20 x 30"):
        editor(np.zeros((20, 30), np.uint8), np.zeros((10, 12), np.uint8))
    with pytest.raises(ValueError, match="'remove' or 'add'"):
        editor(np.zeros((20, 30), np.uint8), np.zeros((20, 30), np.uint8), mode="erase")


def test_label_map_mask_and_empty_mask(editor):
    image = np.random.default_rng(4).integers(0, 256, (20, 20), dtype=np.uint8)
    label_map = np.zeros((20, 20), dtype=np.uint8)
    label_map[4:12, 4:12] = 1  # a 0/1 label map, not 0/255
    out = np.asarray(editor(image, label_map).images[0])
    assert np.array_equal(out[label_map == 0], image[label_map == 0])
    assert not np.array_equal(out[label_map == 1], image[label_map == 1])
    with pytest.raises(zoo.ImageInputError, match="mask is empty"):
        editor(image, np.zeros((20, 20), dtype=np.uint8))


def test_bfloat16_tensor_and_nan_array(translator):
    out = translator(torch.rand(3, 10, 10, dtype=torch.bfloat16))
    assert out.images[0].size == (10, 10)
    bad = np.full((8, 8), np.nan)
    with pytest.raises(zoo.ImageInputError, match="NaN"):
        translator(bad)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_images": 0}, "num_images must be a whole number >= 1"),
        ({"num_images": 2.0}, "num_images must be a whole number >= 1"),
        ({"batch_size": 0}, "batch_size must be a whole number >= 1"),
    ],
)
def test_generation_arguments_are_checked(dcgan, kwargs, message):
    with pytest.raises(ValueError, match=message):
        dcgan(**kwargs)


def test_interpolation_steps_and_empty_labels_are_checked(dcgan, toys):
    from zoo.pipelines import pipeline_for

    with pytest.raises(ValueError, match="steps must be"):
        dcgan.interpolate(steps=0)
    with pytest.raises(ValueError, match="labels is empty"):
        pipeline_for(zoo.create("toy-conditional"))(num_images=2, labels=[])
    assert len(pipeline_for(zoo.create("toy-conditional"))(num_images=2, labels=np.int64(1))) == 2


def test_truncation_sweep_keeps_each_sample(dcgan):
    from zoo.models.latents import sample_normal, seeded_generator

    full = sample_normal((64, 100), seeded_generator(9))
    cut = sample_normal((64, 100), seeded_generator(9), truncation=1.0)
    assert torch.equal(torch.sign(full), torch.sign(cut)) and (cut.abs() <= full.abs() + 1e-6).all()
    assert cut.abs().max() <= 1.0

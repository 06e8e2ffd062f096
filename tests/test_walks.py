"""Latent walks (pipe.interpolate, zoo generate --interpolate) and 16-bit output (--sixteen-bit)."""

import re

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.cli import main
from zoo.models.latents import seeded_generator


@pytest.fixture(scope="module")
def dcgan():
    return zoo.load("dcgan-lesions")


@pytest.fixture(scope="module")
def gray_folder(tmp_path_factory):
    """A 1-channel, 16 x 16 DCGAN saved as a folder (no grayscale model is registered yet)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("gray-dcgan")
    zoo.pipeline_for(zoo.create("dcgan-lesions", channels=1, image_size=16)).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("mode", ["slerp", "lerp"])
def test_both_paths_end_at_the_two_seeds_samples(dcgan, mode):
    path = dcgan.interpolate(seed_a=3, seed_b=4, steps=5, mode=mode)
    assert path.tensors.shape == (5, 3, 64, 64) and len(path.images) == 5
    assert torch.allclose(path.tensors[0], dcgan(num_images=1, seed=3).tensors[0], atol=1e-5)
    assert torch.allclose(path.tensors[-1], dcgan(num_images=1, seed=4).tensors[0], atol=1e-5)


def test_lerp_is_the_straight_line_and_differs_from_slerp(dcgan):
    lerp = dcgan.interpolate(3, 4, steps=3, mode="lerp").tensors
    slerp = dcgan.interpolate(3, 4, steps=3, mode="slerp").tensors
    za, zb = (dcgan.model.sample_latents(1, seeded_generator(s)) for s in (3, 4))
    with torch.no_grad():
        middle = ((dcgan.model.generate((za + zb) / 2) + 1) / 2).clamp(0, 1)[0]
    assert torch.allclose(lerp[1], middle, atol=1e-5)
    assert not torch.allclose(lerp[1], slerp[1], atol=1e-5)
    with pytest.raises(ValueError, match="'slerp' or 'lerp', got 'linear'"):
        dcgan.interpolate(3, 4, mode="linear")


def test_cli_strip_png_holds_the_frames_side_by_side(dcgan, tmp_path, capsys):
    out = tmp_path / "walks" / "walk.png"
    assert main(["generate", "dcgan-lesions", "--interpolate", "3", "4", "--steps", "5", "-o", str(out)]) == 0
    assert "5-frame walk from seed 3 to seed 4" in capsys.readouterr().out
    strip = np.asarray(Image.open(out))
    assert strip.shape == (64, 5 * 64, 3)
    frames = dcgan.interpolate(3, 4, steps=5).images
    for k, frame in enumerate(frames):
        assert np.array_equal(strip[:, 64 * k:64 * (k + 1)], np.asarray(frame)), k


def test_cli_gif_has_one_frame_per_step(gray_folder, tmp_path):
    out = tmp_path / "walk.gif"
    argv = ["generate", str(gray_folder), "--interpolate", "0", "1", "--steps", "6", "--frame-ms", "80", "-o", str(out)]
    assert main(argv) == 0
    gif = Image.open(out)
    assert gif.format == "GIF" and gif.is_animated and gif.n_frames == 6 and gif.size == (16, 16)
    assert gif.info["loop"] == 0 and gif.info["duration"] == 80
    assert main([*argv[:-2], "--mode", "lerp", "-o", str(tmp_path / "lerp.gif")]) == 0
    assert Image.open(tmp_path / "lerp.gif").n_frames == 6


@pytest.mark.parametrize("argv, message", [
    (["--interpolate", "0", "1", "-o", "walk.jpg"], "walk.png .* or walk.gif"),
    (["--interpolate", "0", "1", "-n", "4", "-o", "walk.png"], "number of frames is --steps"),
    (["--interpolate", "0", "1", "--sixteen-bit", "-o", "walk.gif"], "GIF frames are 8-bit"),
    (["--steps", "4", "--frame-ms", "50", "-o", "out"], "--steps, --frame-ms: for a latent walk only"),
    (["--sixteen-bit", "-n", "1", "-o", "out"], "--sixteen-bit needs a grayscale .*3-channel"),
])
def test_walk_and_bit_depth_mistakes_are_one_line_errors(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "dcgan-lesions", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo generate: error:") and "Traceback" not in err
    assert re.search(message, err), err


def test_class_conditional_models_cannot_walk(toys, tmp_path, capsys):
    zoo.create("toy-conditional").save_pretrained(tmp_path / "cond")
    assert main(["generate", str(tmp_path / "cond"), "--interpolate", "0", "1", "-o", str(tmp_path / "w.png")]) == 2
    err = capsys.readouterr().err
    assert f"--interpolate needs an unconditional model; {tmp_path / 'cond'} is a class-conditional model" in err
    assert not (tmp_path / "w.png").exists()


def test_sixteen_bit_pngs_keep_more_than_8_bits(gray_folder, tmp_path):
    assert main(["generate", str(gray_folder), "-n", "3", "--seed", "2", "-o", str(tmp_path), "--sixteen-bit"]) == 0
    files = sorted(tmp_path.glob("*.png"))
    assert len(files) == 3
    expected = (zoo.load(gray_folder)(num_images=3, seed=2).tensors[:, 0].numpy() * 65535 + 0.5).astype(np.uint16)
    for path, want in zip(files, expected):
        image = Image.open(path)
        assert image.mode == "I;16" and image.size == (16, 16)
        assert np.array_equal(np.asarray(image), want)
    assert (expected % 257 != 0).any()  # not 8-bit values stretched to 16 bits
    strip = tmp_path / "walk16.png"
    assert main(["generate", str(gray_folder), "--interpolate", "0", "1", "--steps", "4", "--sixteen-bit",
                 "-o", str(strip)]) == 0
    assert Image.open(strip).mode == "I;16" and Image.open(strip).size == (4 * 16, 16)

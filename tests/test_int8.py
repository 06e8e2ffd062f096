"""int8 inference (zoo.pipelines.int8): close to float32, really quantized, wired into pipelines and the CLI.

Each quantization exports and compiles (10-20 s), so the tests share what they can. How close a
*trained* generator stays is measured by bench/int8_quality.py (README).
"""

import numpy as np
import pytest
import torch
from PIL import Image
from torch._dynamo.utils import counters

import zoo
from zoo.cli import main
from zoo.models.i2i import ResnetGenerator
from zoo.pipelines.int8 import cached_int8, output_layer, quantize_int8

pytest.importorskip("torchao")
pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors (see conftest)


def _images(n, seed=0):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.fixture(scope="module")
def quantized():
    torch.manual_seed(0)
    generator = ResnetGenerator(3, 3, features=8, blocks=2)  # in training mode, as constructed
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    counters.clear()
    int8 = quantize_int8(generator, [_images(4), _images(4, seed=1)])
    # How many int8 convolutions Inductor rewrote into prepacked oneDNN kernels (only with freezing on).
    prepacked = counters["inductor"]["qconv_weight_prepack_matcher_count"]
    return generator, int8, before, prepacked


@pytest.mark.slow
def test_int8_output_is_close_to_float_but_quantized(quantized):
    generator, int8, before, prepacked = quantized
    x = _images(3, seed=2)  # not seen in calibration
    with torch.no_grad():
        ref = generator(x)
    out = int8(x)
    assert out.shape == ref.shape and out.dtype == torch.float32
    error = (out - ref).abs()
    assert 0 < error.mean() < 0.02 and error.max() < 0.15  # grey levels: mean < 2.6, max < 19
    assert int8.kept_float == [output_layer(generator)] == ["net.19"]  # the last conv, before tanh
    convolutions = sum(isinstance(m, torch.nn.Conv2d) for m in generator.modules())
    assert prepacked == convolutions - 1  # every plain conv but the output one runs as a oneDNN int8 kernel
    assert all(torch.equal(v, before[k]) for k, v in generator.state_dict().items())  # the float model is untouched
    assert generator.training  # ... and still in the mode it was in


@pytest.mark.slow
def test_int8_quantizes_a_residual_generator_with_resize_upsampling():
    torch.manual_seed(0)
    generator = ResnetGenerator(3, 3, features=8, blocks=2, upsample="resize", output="residual").eval()
    torch.nn.init.normal_(generator.net[-1].weight, std=0.05)  # as if trained: a real change to quantize
    counters.clear()
    int8 = quantize_int8(generator, _images(4))
    prepacked = counters["inductor"]["qconv_weight_prepack_matcher_count"]
    x = _images(3, seed=2)
    with torch.no_grad():
        ref = generator(x)
    change, error = (ref - x).abs().mean(), (int8(x) - ref).abs().mean()
    assert change > 0.05 and 0 < error < 0.1 * change
    # No transposed convs left: every conv but the output one, the up-sampling ones too, runs in int8.
    assert prepacked == sum(isinstance(m, torch.nn.Conv2d) for m in generator.modules()) - 1


@pytest.mark.slow
def test_int8_takes_any_cpu_input_form_without_recompiling(quantized):
    _, int8, _, _ = quantized
    x = _images(2, seed=3)
    expected = int8(x)
    with torch.inference_mode():
        made_in_inference_mode = x.clone()
    with torch.compiler.set_stance("fail_on_recompile"):  # a recompile would cost 20 s a call
        assert torch.equal(int8(x.to(memory_format=torch.channels_last)), expected)
        assert torch.equal(int8(made_in_inference_mode), expected)
        with torch.inference_mode():
            assert torch.equal(int8(x), expected)
        assert int8(x.bfloat16()).shape == expected.shape


@pytest.mark.slow
def test_int8_refuses_what_it_cannot_run(quantized):
    generator, int8, _, _ = quantized
    with pytest.raises(ValueError, match=r"calibrated for inputs of shape N x 3 x 32 x 32; got \(1, 3, 64, 64\)"):
        int8(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="calibration is empty"):
        quantize_int8(generator, [])
    with pytest.raises(ValueError, match=r"differ in size"):
        quantize_int8(generator, [_images(1), torch.zeros(1, 3, 16, 16)])
    with pytest.raises(ValueError, match="keep_float names no module"):
        quantize_int8(generator, _images(1), keep_float=["net.99"])
    with pytest.raises(ValueError, match="quantize a float32 generator"):
        quantize_int8(ResnetGenerator(3, 3, 4, 1).to(torch.bfloat16), _images(1))
    with pytest.raises(ValueError, match="no convolution"):
        output_layer(torch.nn.ReLU())


@pytest.mark.slow
def test_pipeline_runs_one_direction_in_int8_and_keeps_sizes():
    torch.manual_seed(0)
    # The reference generator: an untrained residual one (the id's default) returns its input exactly.
    pipe = zoo.pipeline_for(zoo.create("cyclegan-pws", image_size=32, g_features=8, g_blocks=1, d_features=8,
                                       g_output="image", upsample="transposed"))
    rng = np.random.default_rng(0)
    faces = [rng.integers(0, 256, (40, 30, 3), dtype=np.uint8) for _ in range(4)]
    floats = {d: pipe(faces, direction=d).tensors for d in ("remove", "add")}
    assert pipe.quantize_int8(faces[:2], direction="remove") is pipe
    assert list(pipe.int8) == ["BtoA"]  # "remove" is B (stained) to A (clean)
    removed = pipe(faces, direction="remove")
    assert removed.images[0].size == (30, 40)
    diffs = [float((q - f).abs().mean()) for q, f in zip(removed.tensors, floats["remove"])]
    assert all(0 < d < 0.01 for d in diffs), diffs
    added = pipe(faces, direction="add").tensors  # the other direction still runs in float32
    assert all(torch.equal(q, f) for q, f in zip(added, floats["add"]))
    with pytest.raises(ValueError, match="direction must be one of"):
        pipe.quantize_int8(faces, direction="sideways")
    pipe.to(dtype=torch.float32)  # a move or cast drops the int8 copies: they hold the old weights
    assert pipe.int8 == {}
    assert all(torch.equal(a, b) for a, b in zip(pipe(faces, direction="remove").tensors, floats["remove"]))


@pytest.mark.slow
def test_cli_translates_in_int8_calibrating_once_then_reusing_the_cache(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MEDGAN_ZOO_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    def untrained_pix2pix_in_m() -> None:
        # the tanh output: an untrained residual generator is the identity, the same in int8 and float32
        zoo.create("pix2pix-pws", image_size=32, g_features=8, d_features=8, g_output="image").save_pretrained(
            tmp_path / "m")

    untrained_pix2pix_in_m()
    rng = np.random.default_rng(1)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (36, 48, 3), dtype=np.uint8)).save(tmp_path / f"face{i}.png")
    inputs = [str(tmp_path / f"face{i}.png") for i in range(3)]

    def translate(out, *extra):
        assert main(["translate", str(tmp_path / "m"), *inputs, "-o", str(tmp_path / out), *extra]) == 0
        return [np.asarray(Image.open(tmp_path / out / f"face{i}-AtoB.png"), dtype=float) for i in range(3)]

    f32 = translate("f32")
    first = translate("i8", "--dtype", "int8")
    assert "int8: calibrating on 3 of the inputs" in capsys.readouterr().out
    for a, b in zip(first, f32):
        assert a.shape == (36, 48, 3) and 0 < np.abs(a - b).mean() < 3  # grey levels
    packages = list((tmp_path / "cache" / "int8").glob("*/*/generator.pt2"))
    assert len(packages) == 1
    # The second call loads that package: no calibration, no compilation, the same pixels.
    counters.clear()
    second = translate("again", "--dtype", "int8")
    assert "int8: the copy cached in" in capsys.readouterr().out
    assert counters["inductor"]["qconv_weight_prepack_matcher_count"] == 0
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    # --recalibrate quantizes on these inputs, found in the cache too (they are the same images).
    translate("re", "--dtype", "int8", "--recalibrate")
    assert "int8: calibrating on 3 of the inputs" in capsys.readouterr().out
    assert list((tmp_path / "cache" / "int8").glob("*/*/generator.pt2")) == packages
    # New weights are a new key: the old package is not used for them.
    untrained_pix2pix_in_m()
    translate("new", "--dtype", "int8")
    assert "int8: calibrating" in capsys.readouterr().out
    assert len(list((tmp_path / "cache" / "int8").glob("*/*/generator.pt2"))) == 2


@pytest.mark.slow
def test_a_damaged_int8_package_is_set_aside_and_made_again(tmp_path):
    torch.manual_seed(0)
    generator = ResnetGenerator(3, 3, features=8, blocks=1).eval()
    made = quantize_int8(generator, _images(2), cache_dir=tmp_path)
    expected = made(_images(1, seed=5))
    assert made.package is not None and made.package.parent.parent == tmp_path
    again = quantize_int8(generator, _images(2), cache_dir=tmp_path)  # the same images: loaded, not compiled
    assert again.package == made.package and torch.equal(again(_images(1, seed=5)), expected)
    assert cached_int8(generator, (3, 32, 32), cache_dir=tmp_path).package == made.package
    assert cached_int8(generator, (3, 16, 16), cache_dir=tmp_path) is None  # another size: another key
    (made.package / "generator.pt2").write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="ignoring the damaged int8 package"):
        assert cached_int8(generator, (3, 32, 32), cache_dir=tmp_path) is None
    assert not made.package.exists()
    remade = quantize_int8(generator, _images(2), cache_dir=tmp_path)
    assert torch.equal(remade(_images(1, seed=5)), expected)


def test_cli_int8_is_for_translation_models(tmp_path, capsys):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "skin.png")
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "mask.png")
    assert main(["translate", "eczema-remove", str(tmp_path / "skin.png"), "--mask", str(tmp_path / "mask.png"),
                 "-o", str(tmp_path / "out"), "--dtype", "int8"]) == 2
    assert "--dtype int8 is for translation models" in capsys.readouterr().err

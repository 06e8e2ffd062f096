"""Property-based fuzzing (Hypothesis) of what a user or a downloaded file can hand the zoo:
config.json values, image inputs and command lines. Whatever comes in, only a ZooError (the zoo's
own, explained errors) escapes from the Python API, the CLI exits 0 or 2 with a one-line message,
each example stays within a time limit, and memory stays bounded.

Derandomized, so CI runs the same examples every time; a failure prints the input that caused it.
"""

import io
import json
import math
import resource
import shutil
from collections import Counter

import numpy as np
import pytest
import torch
from conftest import tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import zoo
from zoo.errors import ZooError

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]
FUZZ = settings(max_examples=60, deadline=10_000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# A fuzzed input may make the process allocate, but never gigabytes (the sizes a config may ask for
# are capped; images over the pixel limit are refused before decoding).
MEMORY_LIMIT_MB = 1500


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.sampled_from([0, 1, -1, 10**9, 100000])
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """A tiny saved folder of a generator and of a translator, to corrupt copies of."""
    root = tmp_path_factory.mktemp("fuzz-models")
    for model_id in ("dcgan-lesions", "cyclegan-pws"):
        tiny(model_id).save_pretrained(root / model_id)
    return root


def _use(pipe) -> None:
    """The cheapest real call of each kind of pipeline."""
    if hasattr(pipe, "directions"):
        pipe(np.zeros((12, 12, 3), np.uint8))
    else:
        pipe(num_images=2, progress=False)


@pytest.mark.parametrize("model_id", ["dcgan-lesions", "cyclegan-pws"])
def test_any_config_value_loads_and_runs_or_raises_a_zoo_error(saved_models, tmp_path, model_id):
    config = json.loads((saved_models / model_id / "config.json").read_text())
    keys = sorted(config)
    baseline = peak_rss_mb()
    outcomes = Counter()

    @FUZZ
    @given(key=st.sampled_from(keys) | st.text(max_size=10), value=json_values)
    def check(key, value):
        folder = tmp_path / "m"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(saved_models / model_id, folder)
        (folder / "config.json").write_text(json.dumps({**config, key: value}))
        try:
            _use(zoo.load(folder))
            outcomes["ran"] += 1
        except ZooError:
            outcomes["refused"] += 1
        assert peak_rss_mb() - baseline < MEMORY_LIMIT_MB

    check()
    assert outcomes["ran"] and outcomes["refused"], outcomes  # the fuzzing reached both sides


arrays = st.builds(
    lambda dtype, shape, fill: np.full(shape, fill).astype(dtype, casting="unsafe"),
    st.sampled_from(["uint8", "uint16", "int32", "int64", "float16", "float32", "float64", "bool", "complex64"]),
    st.lists(st.integers(0, 6), min_size=0, max_size=4).map(tuple),
    st.sampled_from([0, 1, 0.5, -1, 255, 65535, 70000, -1000.0, 3000.0, math.nan, math.inf]),
)


@FUZZ
@given(array=arrays)
def test_any_array_becomes_an_image_or_a_zoo_error(array):
    from zoo.data.images import read_image

    try:
        image = read_image(array)
    except ZooError:
        return
    assert torch.isfinite(image.pixels).all() and 0 <= float(image.pixels.min()) <= float(image.pixels.max()) <= 1


@FUZZ
@given(mode=st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr", "I", "I;16", "F"]),
       size=st.tuples(st.integers(1, 9), st.integers(1, 9)), fill=st.integers(-70000, 70000),
       fmt=st.sampled_from(["PNG", "TIFF", "BMP", "JPEG"]), cut=st.integers(0, 400))
def test_any_image_file_whole_or_cut_short_becomes_an_image_or_a_zoo_error(tmp_path_factory, mode, size, fill, fmt,
                                                                             cut):
    from zoo.data.images import read_image

    folder = tmp_path_factory.mktemp("img", numbered=True)
    try:
        img = Image.new(mode, size, fill if mode in ("I", "F") else abs(fill) % 256)
        buffer = io.BytesIO()
        img.save(buffer, format=fmt)
    except (OSError, ValueError, TypeError, KeyError):
        return  # a combination Pillow itself cannot write: nothing to read
    data = buffer.getvalue()
    path = folder / f"x.{fmt.lower()}"
    path.write_bytes(data[: len(data) - cut] if cut < len(data) else data[:1])
    try:
        image = read_image(path)
    except ZooError:
        return
    assert torch.isfinite(image.pixels).all() and 0 <= float(image.pixels.min()) <= float(image.pixels.max()) <= 1


OPTIONS = {
    "generate": ["-n", "--seed", "--truncation", "--batch-size", "--dtype", "--labels", "--device", "-o"],
    "translate": ["--direction", "--dtype", "--mode", "--grow-mask", "--mask", "--device", "-o"],
    "info": [], "card": [], "list": [],
}
values = st.sampled_from(["-1", "0", "2", "1e9", "nan", "inf", "x", "", "bfloat16", "int8", "cpu", "cuda:7",
                          "remove", "add", "mel", "../", "-", "--", "🩺"])


@FUZZ
@given(data=st.data())
def test_any_command_line_exits_0_or_2_without_a_traceback(data, tmp_path, capsys):
    from zoo.cli import main

    verb = data.draw(st.sampled_from(sorted(OPTIONS)))
    model = data.draw(st.sampled_from(["dcgan-lesions", "cyclegan-pws", "eczema-remove", "nope", "a/b", "", "."]))
    argv = [verb] + ([model] if verb != "list" else [])
    if verb == "translate":
        face = tmp_path / "face.png"
        Image.new("RGB", (10, 10), (180, 120, 100)).save(face)
        argv.append(data.draw(st.sampled_from([str(face), str(tmp_path / "missing.png"), str(tmp_path)])))
    for option in data.draw(st.lists(st.sampled_from(OPTIONS[verb] or ["--help-me"]), max_size=3)):
        value = data.draw(values)
        if option == "-n" and value == "1e9":
            value = "3"  # generating a billion images is not an error, only slow
        argv += [option, value]
    if verb in ("generate", "translate") and "-o" not in argv:
        argv += ["-o", str(tmp_path / "out")]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    assert code in (0, 2), argv
    err = capsys.readouterr().err
    assert "Traceback" not in err

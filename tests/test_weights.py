"""Bad weight files and folders: each gets an error that names the problem; nothing is unpickled."""

import json
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file

import zoo


@pytest.fixture
def saved(tmp_path):
    folder = tmp_path / "model"
    zoo.create("dcgan-lesions", g_features=32, d_features=32).save_pretrained(folder)
    return folder


def test_config_weights_mismatch_names_the_keys(saved):
    config = json.loads((saved / "config.json").read_text())
    config["g_features"] = 64
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(zoo.WeightsError) as err:
        zoo.load(str(saved))
    message = str(err.value)
    assert "generator.safetensors" in message and "shape mismatches" in message
    assert "body.0.0.weight (file (32, 16, 4, 4), config (64, 32, 4, 4))" in message
    assert "more." in message  # long lists are cut, with a count


def test_missing_and_unexpected_keys_are_named(saved):
    state = load_file(saved / "generator.safetensors")
    state.pop("to_image.0.bias")
    state["extra.weight"] = torch.zeros(1)
    save_file(state, saved / "generator.safetensors")
    with pytest.raises(zoo.WeightsError, match=r"missing keys: to_image\.0\.bias.*unexpected keys: extra\.weight"):
        zoo.load(str(saved))


def test_pickle_files_are_refused_without_being_opened(saved, tmp_path, monkeypatch):
    # If anything tried to unpickle, this would fail the test instead of running code.
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("a pickle was loaded"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    state = zoo.create("dcgan-lesions", g_features=32).generator.state_dict()

    (saved / "generator.safetensors").unlink()
    with open(saved / "generator.pt", "wb") as f:
        pickle.dump({"weights": 1}, f)
    with pytest.raises(zoo.WeightsError, match=r"refusing to load .*generator\.pt.*arbitrary code"):
        zoo.load(str(saved))
    with pytest.raises(zoo.WeightsError, match="refusing to load"):
        zoo.load(str(saved / "generator.pt"))

    # A pickle wearing a .safetensors name is recognised as such.
    disguised = tmp_path / "disguised"
    zoo.create("dcgan-lesions", g_features=32).save_pretrained(disguised)
    torch.save(state, disguised / "generator.safetensors")
    with pytest.raises(zoo.WeightsError, match="is a PyTorch pickle"):
        zoo.load(str(disguised))


def test_truncated_safetensors_is_a_clear_error(saved):
    data = (saved / "generator.safetensors").read_bytes()
    (saved / "generator.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(zoo.WeightsError, match="not a readable safetensors file.*truncated or corrupt"):
        zoo.load(str(saved))
    (saved / "generator.safetensors").write_bytes(b"\x00" * 7)
    with pytest.raises(zoo.WeightsError, match="truncated or corrupt"):
        zoo.load(str(saved))


def test_missing_generator_is_named(saved):
    (saved / "generator.safetensors").unlink()
    with pytest.raises(zoo.WeightsError, match="has no generator.safetensors"):
        zoo.load(str(saved))


def test_folder_config_problems(saved, tmp_path):
    (saved / "config.json").write_text("{not json")
    with pytest.raises(zoo.ConfigError, match="not valid JSON"):
        zoo.load(str(saved))
    (saved / "config.json").write_text(json.dumps({"image_size": [64, 64]}))
    with pytest.raises(zoo.ConfigError, match="names no 'family'"):
        zoo.load(str(saved))
    (saved / "config.json").write_text(json.dumps({"family": "stylegan9"}))
    with pytest.raises(zoo.UnknownModelError, match="'stylegan9' model but no installed plugin provides"):
        zoo.load(str(saved))
    (saved / "config.json").unlink()
    with pytest.raises(zoo.ConfigError, match="has no config.json"):
        zoo.load(str(saved))
    with pytest.raises(zoo.ConfigError, match="no such folder"):
        zoo.load(str(tmp_path / "nowhere" / "model"))
    with pytest.raises(zoo.ConfigError, match="is a file"):
        zoo.load(str(saved / "README.md"))


def test_weights_load_strictly_with_identical_values(saved):
    pipe = zoo.load(str(saved))
    state = load_file(saved / "generator.safetensors")
    for key, value in pipe.model.generator.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_config_with_wrong_types_is_a_config_error(saved):
    config = json.loads((saved / "config.json").read_text())
    config["image_size"] = "big"
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(zoo.ConfigError, match="does not build a DCGAN"):
        zoo.load(str(saved))


def test_tied_weights_round_trip(tmp_path):
    from torch import nn

    class Tied(zoo.GANModel):
        family = "tied-test"
        task = "unconditional"

        def __init__(self, image_size=(4, 4), channels: int = 1):
            super().__init__()
            self.generator = nn.Sequential(nn.Linear(16, 16), nn.Linear(16, 16))
            self.generator[1].weight = self.generator[0].weight  # shared

    model = Tied()
    model.save_pretrained(tmp_path)
    fresh = Tied()
    from zoo.hub.weights import load_network

    load_network(fresh.generator, tmp_path / "generator.safetensors")
    assert fresh.generator[1].weight is fresh.generator[0].weight
    assert torch.equal(fresh.generator[0].weight, model.generator[0].weight)


def test_empty_name_and_bad_dtype():
    with pytest.raises(zoo.ConfigError, match="no model given"):
        zoo.load("")
    with pytest.raises(ValueError, match="unknown dtype 'float17'"):
        zoo.load("dcgan-lesions", dtype="float17")


@pytest.mark.parametrize("dtype", [torch.int8, torch.int64, torch.bool])
def test_integer_or_boolean_weights_are_refused(tmp_path, dtype):
    model = zoo.create("dcgan-lesions", image_size=16, g_features=8, d_features=8)
    model.save_pretrained(tmp_path)
    state = load_file(tmp_path / "generator.safetensors")
    save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()},
              tmp_path / "generator.safetensors")
    with pytest.raises(zoo.WeightsError, match=f"non-float tensors .*{dtype}"):
        zoo.load(str(tmp_path))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_one_nan_or_inf_value_is_refused(tmp_path, value):
    model = zoo.create("dcgan-lesions", image_size=16, g_features=8, d_features=8)
    model.save_pretrained(tmp_path)
    state = load_file(tmp_path / "generator.safetensors")
    name = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
    state[name].view(-1)[0] = value
    save_file(state, tmp_path / "generator.safetensors")
    with pytest.raises(zoo.WeightsError, match=rf"NaN or infinite values in 1 tensor\(s\), e.g. {name} \(1 of"):
        zoo.load(str(tmp_path))
    # float16 weights (as the embedded ones) still load into float32 networks
    zoo.create("dcgan-lesions", image_size=16, g_features=8, d_features=8).half().save_pretrained(tmp_path / "h")
    assert zoo.load(str(tmp_path / "h")).model.dtype == torch.float32


@pytest.mark.parametrize("key, value, match", [
    ("refine", 1_000_000_000, r"refine = 1000000000 is outside 0..100000; set MEDGAN_ZOO_MAX_CONFIG_INT"),
    ("image_size", [100000, 100000], r"image_size \[100000, 100000\] is outside 1..4096 pixels a side"),
    ("image_size", [-16, 16], r"image_size \[-16, 16\] is outside 1..4096"),
    ("g_features", -8, r"g_features = -8 is outside 0..100000"),
])
def test_a_config_cannot_ask_for_unbounded_memory(tmp_path, key, value, match):
    import time

    zoo.create("dcgan-lesions", image_size=16, g_features=8, d_features=8).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, key: value}))
    started = time.monotonic()
    with pytest.raises(zoo.ConfigError, match=match):
        zoo.load(str(tmp_path))
    with pytest.raises(zoo.ConfigError, match=match):
        zoo.create("dcgan-lesions", **{key: value})
    assert time.monotonic() - started < 10


def test_the_parameter_limit_counts_without_allocating(monkeypatch):
    monkeypatch.setenv("MEDGAN_ZOO_MAX_PARAMETERS", "1000")
    with pytest.raises(zoo.ConfigError, match=r"would hold [\d,]+ parameters, over the limit of 1,000"):
        zoo.create("dcgan-lesions", image_size=16)
    monkeypatch.setenv("MEDGAN_ZOO_MAX_IMAGE_SIDE", "8192")
    monkeypatch.delenv("MEDGAN_ZOO_MAX_PARAMETERS")
    assert zoo.create("dcgan-lesions", image_size=[16, 5000], g_features=8, d_features=8).image_size == (16, 5000)

"""Test-wide settings: never touch the network, never write to the user's HF cache."""

import os
import sys
import tempfile
from pathlib import Path

# Set before anything imports huggingface_hub or gradio: both read these at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="medgan-zoo-test-hf-")  # never the user's cache
os.environ.pop("HF_HUB_CACHE", None)
os.environ["MEDGAN_ZOO_CACHE"] = tempfile.mkdtemp(prefix="medgan-zoo-test-cache-")  # int8 packages
os.environ.pop("MEDGAN_ZOO_BLOCK_PLUGINS", None)

sys.path.insert(0, str(Path(__file__).parent))  # toy_plugin, hub_server

import pytest  # noqa: E402
import torch  # noqa: E402
import toy_plugin  # noqa: E402

import zoo  # noqa: E402

pytest_plugins = ["hub_server"]


def tiny(model_id: str, **overrides):
    """The registry's small, fast version of ``model_id`` (its ModelSpec.tiny), seeded."""
    torch.manual_seed(0)
    return zoo.create(model_id, **{**zoo.info(model_id).tiny, **overrides})


def raw_batch(model, n: int, seed: int = 0) -> dict:
    """n random samples in the TrainingData layout of the model's task (its TaskSpec.example_data)."""
    return zoo.get_registry().task(model.task).example_data(model, n, seed)


def pytest_collection_modifyitems(config, items):
    # A slow test gets a time limit of its own (pytest-timeout) unless it sets one.
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(300))


@pytest.fixture(scope="session")
def lesion_folder(tmp_path_factory):
    """64 synthetic 16 x 16 lesion images in DIR/images, as zoo train reads them."""
    import numpy as np
    from PIL import Image
    from test_learning import synthetic_lesions

    root = tmp_path_factory.mktemp("lesions")
    (root / "images").mkdir()
    for i, x in enumerate(synthetic_lesions(64, size=16)):
        Image.fromarray((((x + 1) / 2).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(
            root / "images" / f"{i:03d}.png")
    return root


@pytest.fixture
def toys():
    """The toy plugin registered in the process-wide registry for one test."""
    registry = zoo.get_registry()
    registry.add_plugin(toy_plugin, "toy")
    yield registry
    registry.remove_plugin("toy")


@pytest.fixture
def one_thread():
    """For tests on tiny tensors: a second thread only adds waiting, and on shared cores a busy
    neighbour process makes every parallel region wait for it (measured: 0.8 s instead of 6 ms a
    step). Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def speed_options():
    """Trainer options for the fast settings bench/i2i_speed.py measures (bf16 autocast, fused Adam),
    or none for float32. accelerate keeps one process-wide state: it is reset before and after, so
    neither an earlier test's setting nor this bf16 one leaks."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    def options(precision: str) -> dict:
        if precision == "fp32":
            return {}
        AcceleratorState._reset_state(reset_partial_state=True)
        return {"accelerator": Accelerator(cpu=True, mixed_precision="bf16"), "optimizer_options": {"fused": True}}

    yield options
    AcceleratorState._reset_state(reset_partial_state=True)

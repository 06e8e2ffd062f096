"""The same models on a CUDA GPU: skipped where there is none (CI); run on a GPU machine when one is lent."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_learning import synthetic_labelled_lesions

import zoo
from zoo.training import train_steps

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

GENERATORS = [m for m in zoo.list_models() if zoo.info(m).task in ("unconditional", "class-conditional")]


@pytest.fixture(autouse=True)
def exact_convolutions():
    """TF32 would make GPU and CPU differ by ~1e-3 for reasons that are not the zoo's."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.parametrize("model_id", GENERATORS)
def test_a_seed_gives_the_same_images_on_gpu_and_cpu(model_id):
    torch.manual_seed(0)
    model = zoo.create(model_id)
    cpu = zoo.pipeline_for(model)(num_images=4, seed=3, progress=False).tensors
    gpu_pipe = zoo.pipeline_for(model.to("cuda"))
    gpu = gpu_pipe(num_images=4, seed=3, progress=False).tensors
    assert gpu.device.type == "cpu"  # results come back to the CPU, as on a CPU-only machine
    torch.testing.assert_close(gpu, cpu, atol=2e-4, rtol=0)


def test_embedded_weights_load_straight_onto_the_gpu():
    for model_id in GENERATORS:
        if zoo.info(model_id).weights is None:
            continue
        pipe = zoo.load(model_id, device="cuda")
        assert pipe.model.device.type == "cuda"
        assert torch.isfinite(pipe(num_images=2, progress=False).tensors).all()


def test_training_runs_on_the_gpu_and_learns():
    torch.manual_seed(0)
    images, labels = synthetic_labelled_lesions(256)
    model = zoo.create("acgan-lesions", image_size=(16, 16), g_features=64, d_features=64, class_names=("a", "b", "c"))
    history = train_steps(model, images, steps=300, batch_size=32, progress=False, labels=labels)
    assert model.device.type == "cuda"  # accelerate put it there
    assert all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)
    model.eval()
    assert (model.classify(images).argmax(1).cpu() == labels).float().mean() > 0.9


def test_bf16_training_on_the_gpu():
    # A fresh process: accelerate fixes the precision once per process.
    code = """if True:
        import torch, zoo
        from accelerate import Accelerator
        from test_learning import synthetic_lesions
        from zoo.training import train_steps
        model = zoo.create("sngan-lesions", image_size=(16, 16), g_features=32, d_features=32)
        history = train_steps(model, synthetic_lesions(64), steps=20, batch_size=16, progress=False,
                              accelerator=Accelerator(mixed_precision="bf16"))
        assert model.device.type == "cuda"
        assert all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)
        print("bf16 ok", history[-1])
    """
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent, capture_output=True, text=True)
    assert done.returncode == 0 and "bf16 ok" in done.stdout, done.stderr[-2000:]


def test_synthetic_dataset_from_a_gpu_model_matches_the_cpu():
    torch.manual_seed(0)
    model = zoo.create("acgan-lesions", image_size=(16, 16), g_features=32, d_features=32)
    cpu = zoo.synthetic_dataset(model, {"df": 3, "vasc": 2}, seed=1)
    expected = [cpu[i][0] for i in range(5)]  # generated now, on the CPU
    gpu = zoo.synthetic_dataset(copy.deepcopy(model).to("cuda"), {"df": 3, "vasc": 2}, seed=1)
    assert next(gpu.model.parameters()).device.type == "cuda"
    for i in range(5):
        assert gpu[i][0].device.type == "cpu"
        torch.testing.assert_close(gpu[i][0], expected[i], atol=2e-4, rtol=0)

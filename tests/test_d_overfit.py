"""Discriminator over-fitting: D's score on training vs held-out reals, per family, in the loop and the CLI."""

import json

import numpy as np
import pytest
import torch
from conftest import raw_batch, tiny
from PIL import Image
from test_learning import synthetic_lesions

import zoo
from zoo.data import TrainingData
from zoo.errors import ZooError
from zoo.training import DiscriminatorMonitor, Trainer, to_model_batch

pytestmark = pytest.mark.usefixtures("one_thread")


def u8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> uint8, as TrainingData holds images."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@pytest.mark.parametrize("model_id", [m for m in zoo.list_models() if zoo.info(m).model_class.adversarial])
def test_every_family_scores_its_reals_without_a_trace(model_id):
    model = tiny(model_id).train()  # training mode, as in the loop
    batch = to_model_batch(raw_batch(model, 5), model.device, model.dtype)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    score = model.discriminator_score(batch)
    assert score.shape == (5,) and score.dtype == torch.float32 and torch.isfinite(score).all()
    assert not score.requires_grad and model.training
    # Batch norm's running statistics and spectral norm's vectors are as they were: training is not disturbed.
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_acgan_scores_with_its_real_fake_logit_only():
    model = tiny("acgan-lesions", g_features=16, d_features=16)
    batch = to_model_batch(raw_batch(model, 4), model.device, model.dtype)
    assert torch.allclose(model.discriminator_score(batch), model.discriminator(batch["image"])[:, 0].detach())


def test_a_family_without_a_discriminator_is_named(toys):
    model = zoo.create("toy-edit")
    with pytest.raises(ZooError, match="ToyEditor .* override discriminator_logits"):
        model.discriminator_score({"image": torch.zeros(2, 1, 16, 16), "mask": torch.zeros(2, 1, 16, 16)})


def overfit_run(train_images: int, tmp_path=None) -> DiscriminatorMonitor:
    """A tiny SN-GAN (no batch norm: scores do not depend on the batch) for 250 steps on
    ``train_images`` synthetic lesions, watched against 32 held-out ones of the same distribution."""
    train = TrainingData({"image": u8(synthetic_lesions(train_images, seed=1))})
    held = TrainingData({"image": u8(synthetic_lesions(32, seed=2))})
    torch.manual_seed(0)
    model = zoo.create("sngan-lesions", image_size=16, g_features=32, d_features=32)
    monitor = DiscriminatorMonitor.from_data(train, held, every=50, n=64)
    trainer = Trainer(model, train, batch_size=8, progress=False, monitor=monitor)
    for _ in trainer.steps(250):
        pass
    return monitor


@pytest.mark.slow
def test_d_overfits_a_tiny_training_set_and_the_monitor_shows_it(tmp_path):
    small = overfit_run(8)
    gaps = [r["d_gap"] for r in small.history]
    print("8 training images, gap by step:", [f"{g:.2f}" for g in gaps])
    assert [r["step"] for r in small.history] == [0, 50, 100, 150, 200, 250]
    assert abs(gaps[0]) < 0.1  # untrained: D cannot tell the two sets apart
    assert gaps[-1] > 0.5 and gaps[-1] > gaps[2] > gaps[0]  # the gap opens and keeps growing
    # The control: the same run on plenty of images of the same distribution opens no such gap.
    plenty = overfit_run(512)
    print("512 training images, gap by step:", [f"{r['d_gap']:.2f}" for r in plenty.history])
    assert gaps[-1] > plenty.history[-1]["d_gap"] + 0.5

    saved = json.loads(small.to_json())
    assert (saved["train_samples"], saved["heldout_samples"], saved["every"]) == (8, 32, 50)
    assert saved["history"] == small.history
    png = small.plot(tmp_path / "d_overfit.png")
    assert png.stat().st_size > 1000 and Image.open(png).format == "PNG"


def test_the_monitor_leaves_training_unchanged_and_picks_fixed_samples():
    data = TrainingData({"image": u8(synthetic_lesions(16, seed=3))})

    def run(monitor):
        torch.manual_seed(0)
        model = zoo.create("sngan-lesions", image_size=16, g_features=16, d_features=16)  # spectral norm in D
        return list(Trainer(model, data, batch_size=8, progress=False, monitor=monitor).steps(6))

    monitor = DiscriminatorMonitor.from_data(data, data, every=2, n=8, seed=5)
    assert run(monitor) == run(None)
    assert [r["step"] for r in monitor.history] == [0, 2, 4, 6]
    again = DiscriminatorMonitor.from_data(data, data, n=8, seed=5)
    assert torch.equal(again.train_batch["image"], monitor.train_batch["image"])
    with pytest.raises(ValueError, match="every must be >= 1"):
        DiscriminatorMonitor.from_data(data, data, every=0)


def test_only_the_main_process_measures():
    from test_training import FakeAccelerator

    calls = []
    model = zoo.create("dcgan-lesions", image_size=16, g_features=16, d_features=16)
    data = TrainingData({"image": u8(synthetic_lesions(8))})
    helper = FakeAccelerator(0, 1)
    helper.is_main_process = False  # another process of a run
    trainer = Trainer(model, data, batch_size=4, progress=False, accelerator=helper,
                      monitor=lambda t, step: calls.append(step))
    list(trainer.steps(2))
    assert calls == []


@pytest.fixture(scope="module")
def lesion_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("lesions")
    (root / "images").mkdir()
    for i, x in enumerate(synthetic_lesions(24, size=16)):
        Image.fromarray(u8(x).permute(1, 2, 0).numpy().astype(np.uint8)).save(root / "images" / f"{i:03d}.png")
    return root


def test_cli_logs_writes_and_resumes_the_curves(lesion_folder, tmp_path, monkeypatch):
    from accelerate import Accelerator

    from zoo.cli.train import main

    logged = []
    real_log = Accelerator.log
    monkeypatch.setattr(Accelerator, "log", lambda self, values, step=None, **kw: (
        logged.append((step, dict(values))), real_log(self, values, step=step, **kw))[1])
    argv = ["--model", "dcgan-lesions", "--set", "image_size=[16,16]", "--set", "g_features=16",
            "--set", "d_features=16", "--batch-size", "8", "--log-with", "none", "--no-progress",
            "--data", str(lesion_folder), "--out", str(tmp_path), "--holdout", "0.25", "--d-overfit-every", "2",
            "--checkpoint-every", "2", "--sample-every", "100"]
    assert main([*argv, "--steps", "5"]) == 0
    assert [s for s, v in logged if "d_gap" in v] == [0, 2, 4, 5]  # every 2 steps, and the last one
    assert all(set(v) == {"d_train", "d_heldout", "d_gap"} for s, v in logged if "d_gap" in v)
    saved = json.loads((tmp_path / "d_overfit.json").read_text())
    assert (saved["train_samples"], saved["heldout_samples"]) == (18, 6)  # 24 images, a quarter held out
    assert [r["step"] for r in saved["history"]] == [0, 2, 4, 5]
    assert Image.open(tmp_path / "d_overfit.png").format == "PNG"
    # A resumed run continues the curves rather than starting them afresh.
    assert main([*argv, "--steps", "8", "--resume", "latest"]) == 0
    assert [r["step"] for r in json.loads((tmp_path / "d_overfit.json").read_text())["history"]] == [0, 2, 4, 5, 6, 8]


def test_cli_without_holdout_is_a_clear_error(lesion_folder, tmp_path, capsys):
    from zoo.cli.train import main

    argv = ["--model", "dcgan-lesions", "--data", str(lesion_folder), "--out", str(tmp_path / "run"),
            "--d-overfit-every", "10", "--log-with", "none", "--no-progress"]
    assert main(argv) == 2
    assert "--d-overfit-every compares D on training and held-out images: add --holdout" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # stopped before any work

"""The training engine: sharding, divergence guard, exact resume after SIGKILL, 2 processes on CPU."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import raw_batch, tiny
from PIL import Image
from safetensors.torch import load_file

import zoo
from zoo.data import TrainingData
from zoo.training import Trainer

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--model", "dcgan-lesions", "--set", "image_size=[16,16]", "--set", "g_features=32",
         "--set", "d_features=32", "--batch-size", "16", "--log-with", "none", "--no-progress"]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "model" / "generator.safetensors")


class FakeAccelerator(SimpleNamespace):
    """Just enough of accelerate.Accelerator to build a Trainer as process ``rank`` of ``world``."""

    def __init__(self, rank, world):
        super().__init__(process_index=rank, num_processes=world, device=torch.device("cpu"), is_main_process=rank == 0)

    def prepare(self, *objects):
        return objects

    def register_for_checkpointing(self, obj):
        pass

    def backward(self, loss):
        loss.backward()

    def unwrap_model(self, model):
        return model


def test_each_process_gets_its_share_of_the_same_global_batch_and_latents():
    data = TrainingData({"image": torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1).expand(40, 3, 8, 8).clone()})

    def trainer(rank, world):
        return Trainer(zoo.create("dcgan-lesions", image_size=8), data, batch_size=8, seed=5,
                       accelerator=FakeAccelerator(rank, world), progress=False)

    single, halves = trainer(0, 1), [trainer(r, 2) for r in range(2)]
    for step in (0, 1, 4, 7):  # 7 crosses into the second epoch (5 batches of 8 per epoch)
        whole = single._local_batch(step)["image"]
        parts = [t._local_batch(step)["image"] for t in halves]
        assert torch.equal(torch.cat(parts), whole)  # each rank its own half, together the global batch
        assert not torch.equal(parts[0], parts[1])
        z = single._context(step).noise(8, 100)
        assert torch.equal(torch.cat([t._context(step).noise(4, 100) for t in halves]), z)
    epoch0 = torch.cat([single._local_batch(s)["image"][:, 0, 0, 0] for s in range(5)])
    assert sorted(((epoch0 + 1) * 127.5).round().long().tolist()) == list(range(40))  # a permutation per epoch



def test_images_stored_larger_are_cropped_at_random_the_same_window_for_image_and_mask():
    yy, xx = torch.meshgrid(torch.arange(12), torch.arange(12), indexing="ij")
    coords = torch.stack([yy * 20, xx * 20, torch.zeros_like(yy)]).to(torch.uint8)  # a pixel says where it is
    data = TrainingData({"image": coords.expand(16, 3, 12, 12).clone(),
                         "mask": ((coords[:1] > 100) * 255).to(torch.uint8).expand(16, 1, 12, 12).clone()})

    def trainer(rank=0, world=1):
        return Trainer(zoo.create("eczema-remove", image_size=8, d_scales=1), data, batch_size=4, seed=3,
                       accelerator=FakeAccelerator(rank, world), progress=False)

    one = trainer()
    batch = one._local_batch(0)
    image, mask = ((batch["image"] + 1) * 127.5).round(), batch["mask"]
    assert image.shape == (4, 3, 8, 8) and mask.shape == (4, 1, 8, 8)
    assert torch.equal(mask, (image[:, :1] > 100).to(mask.dtype))  # the mask was cut at the image's window
    assert len({int(t) for draw in range(4) for t in one._local_batch(draw)["image"][:, 0, 0, 0]}) > 1  # varies
    assert torch.equal(trainer()._local_batch(0)["image"], batch["image"])  # seeded: a resume crops the same
    halves = [trainer(r, 2)._local_batch(0)["image"] for r in range(2)]
    assert torch.equal(torch.cat(halves), batch["image"])  # N processes crop as one does
    assert one.state.setup["crop_from"] == [12, 12]
    with pytest.raises(ValueError, match="load them at least that large"):
        Trainer(zoo.create("eczema-remove", image_size=16, d_scales=1), data, batch_size=4, progress=False)


def test_class_conditional_training_draws_every_class_equally_often():
    labels = torch.tensor([0] * 90 + [1] * 8 + [2] * 2)  # 90 : 8 : 2, like nevi against dermatofibromas
    data = TrainingData({"image": torch.zeros(100, 3, 8, 8, dtype=torch.uint8), "label": labels})
    model = zoo.create("acgan-lesions", image_size=8, class_names=["nv", "mel", "df"])

    def drawn(**options) -> torch.Tensor:
        t = Trainer(model, data, batch_size=10, seed=1, accelerator=FakeAccelerator(0, 1), progress=False, **options)
        return torch.cat([t._local_batch(step)["label"] for step in range(300)])

    balanced = torch.bincount(drawn(), minlength=3) / 3000
    assert torch.allclose(balanced, torch.full((3,), 1 / 3), atol=0.04), balanced  # the default here
    plain = torch.bincount(drawn(balance_classes=False), minlength=3) / 3000
    assert torch.allclose(plain, torch.tensor([0.9, 0.08, 0.02]), atol=0.01), plain
    assert torch.equal(drawn(), drawn())  # still reproducible from the seed
    with pytest.raises(ValueError, match=r"class index in 0\.\.2 \(\['nv', 'mel', 'df'\]\) .* from 0 to 3"):
        Trainer(model, TrainingData({"image": data.tensors["image"], "label": labels.clamp(max=1) * 3}),
                batch_size=10, accelerator=FakeAccelerator(0, 1), progress=False)
    with pytest.raises(ValueError, match="labelled data"):
        Trainer(zoo.create("dcgan-lesions", image_size=8), TrainingData({"image": data.tensors["image"]}),
                batch_size=10, accelerator=FakeAccelerator(0, 1), progress=False, balance_classes=True)

def test_divergence_guard_stops_and_keeps_the_last_good_checkpoint(lesion_folder, tmp_path, monkeypatch, capsys):
    from medgan_zoo_plugins.dcgan.model import DCGAN
    from zoo.cli.train import main

    real_step = DCGAN.training_step

    def blows_up(self, batch, optimizers, ctx):
        logs = real_step(self, batch, optimizers, ctx)
        return {**logs, "g_loss": float("nan")} if ctx.step == 5 else logs

    monkeypatch.setattr(DCGAN, "training_step", blows_up)
    with pytest.raises(SystemExit) as exit_:
        main([*SMALL, "--data", str(lesion_folder), "--out", str(tmp_path), "--steps", "20", "--checkpoint-every", "2"])
    assert exit_.value.code == 3
    assert "g_loss became nan at step 5: training diverged" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-0000002", "step-0000004"]
    assert not (tmp_path / "model").exists()


def test_run_exports_a_bundle_with_card_samples_and_logs(lesion_folder, tmp_path):
    from zoo.cli.train import main

    argv = [*SMALL, "--data", str(lesion_folder), "--out", str(tmp_path), "--steps", "12", "--sample-every", "6",
            "--checkpoint-every", "4", "--keep", "2", "--ema", "0.9", "--augment", "translation,color"]
    argv[argv.index("none")] = "tensorboard"
    assert main(argv) == 0
    pipe = zoo.load(str(tmp_path / "model"))
    assert pipe(num_images=2).images[0].size == (16, 16) and pipe.model.trained
    card = (tmp_path / "model" / "README.md").read_text()
    assert "zoo train --model dcgan-lesions" in card and "64 samples" in card and "**Untrained.**" not in card
    # the data folder lies outside the working folder: the card shows its name, not the absolute path
    assert str(lesion_folder) not in card and f"<data>/{lesion_folder.name}" in card
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["step-0000006.png", "step-0000012.png"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-0000008", "step-0000012"]
    assert list(tmp_path.rglob("events.out.tfevents.*"))


def run_train(out: Path, data: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "zoo.train", *SMALL, "--data", str(data), "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_sigkill_then_resume_ends_with_the_same_weights(lesion_folder, tmp_path):
    common = ["--steps", "300", "--checkpoint-every", "40", "--ema", "0.95", "--augment", "translation,cutout"]
    straight = run_train(tmp_path / "straight", lesion_folder, *common)
    killed = run_train(tmp_path / "killed", lesion_folder, *common)
    checkpoint = tmp_path / "killed" / "checkpoints" / "step-0000040"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(killed.pid, signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (tmp_path / "killed" / "model").exists()
    resumed = run_train(tmp_path / "killed", lesion_folder, *common, "--resume", "latest")
    out = resumed.communicate()[0]
    assert resumed.returncode == 0, out
    assert "resumed from" in out
    assert straight.wait() == 0, straight.communicate()[0]
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "killed")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_two_processes_on_cpu_match_one(lesion_folder, tmp_path):
    # Without batch norm, 2 processes x 8 samples must follow 1 process x 16 up to float rounding
    # (DDP averages the per-process mean gradients: the global mean).
    steps = ["--steps", "20", "--checkpoint-every", "1000", "--set", "norm=none"]
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              str(ROOT / "zoo" / "train.py")]
    two = subprocess.run([*launch, *SMALL, "--data", str(lesion_folder), "--out", str(tmp_path / "two"), *steps],
                         capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert two.returncode == 0, two.stdout + two.stderr
    one = run_train(tmp_path / "one", lesion_folder, *steps)
    assert one.wait() == 0
    other_seed = run_train(tmp_path / "seed1", lesion_folder, *steps, "--seed", "1")
    assert other_seed.wait() == 0
    a, b, c = weights(tmp_path / "two"), weights(tmp_path / "one"), weights(tmp_path / "seed1")

    def distance(x, y):  # the largest relative L2 difference over all weight tensors
        return max(((x[k] - y[k]).norm() / y[k].norm()).item()
                   for k in y if y[k].is_floating_point() and y[k].norm() > 0)

    print(f"relative weight distance: 2 processes vs 1 = {distance(a, b):.2e}; seed 1 vs seed 0 = {distance(c, b):.2e}")
    assert distance(a, b) < 1e-3 < 0.5 < distance(c, b)


@pytest.mark.slow
def test_bf16_mixed_precision_on_cpu(lesion_folder, tmp_path):
    run = run_train(tmp_path / "bf16", lesion_folder, "--steps", "3", "--mixed-precision", "bf16")
    out = run.communicate()[0]
    assert run.returncode == 0, out
    pipe = zoo.load(str(tmp_path / "bf16" / "model"))
    assert pipe.model.dtype == torch.float32 and torch.isfinite(pipe(num_images=2).tensors).all()


def test_a_family_can_take_several_real_batches_per_step():
    from zoo.models.gan import UnconditionalGAN

    seen = []

    class Critic3(UnconditionalGAN):  # like WGAN-GP's extra critic steps
        family = "critic3-test"
        batches_per_step = 3

        def __init__(self, image_size=(8, 8), channels: int = 3, latent_dim: int = 4):
            super().__init__()
            self.generator = torch.nn.Linear(latent_dim, 3 * 8 * 8)
            self.discriminator = torch.nn.Linear(3 * 8 * 8, 1)

        def training_step(self, batch, optimizers, ctx):
            batches = [batch] + [ctx.next_batch() for _ in range(2)]
            seen.append(torch.cat([b["image"][:, 0, 0, 0] for b in batches]))
            if ctx.step == 1:
                ctx.next_batch()  # one too many
            return {"loss": 0.0}

    data = TrainingData({"image": torch.arange(24, dtype=torch.uint8).view(24, 1, 1, 1).expand(24, 3, 8, 8).clone()})
    trainer = Trainer(Critic3(), data, batch_size=4, accelerator=FakeAccelerator(0, 1), progress=False)
    with pytest.raises(RuntimeError, match="more than its batches_per_step = 3"):
        list(trainer.steps(2))
    assert len(seen[0].unique()) == 12  # three distinct batches of 4 in step 0
    assert not set(seen[0].tolist()) & set(seen[1].tolist())  # step 1 continues the epoch: all 24 seen once


def test_ema_warms_up_instead_of_keeping_the_initial_weights():
    from torch.optim.swa_utils import AveragedModel

    from zoo.training import ema_with_warmup

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1, bias=False), torch.nn.BatchNorm2d(1))  # int buffer too
    torch.nn.init.zeros_(net[0].weight)
    ema = AveragedModel(net, multi_avg_fn=ema_with_warmup(0.999), use_buffers=True)
    ema.update_parameters(net)  # the first update copies: the average starts at the initial 0
    net(torch.randn(4, 1, 2, 2))  # a training forward moves batch norm's buffers, counter included
    with torch.no_grad():
        net[0].weight.fill_(1.0)  # training moved the weights
    for _ in range(249):
        ema.update_parameters(net)
    assert ema.module[0].weight.item() > 0.95  # a plain 0.999 EMA would still sit at 1 - 0.999**249 = 0.22
    assert ema.module[1].num_batches_tracked.item() == 1


def test_resume_with_another_setup_and_bad_options_are_clear_errors(lesion_folder, tmp_path, capsys):
    from zoo.cli.train import main

    base = [*SMALL, "--data", str(lesion_folder), "--out", str(tmp_path), "--steps", "2", "--checkpoint-every", "1"]
    assert main(base) == 0
    assert main(base) == 2  # the folder holds a run: not silently overwritten
    assert "--resume latest" in capsys.readouterr().err
    assert main([*base, "--steps", "3", "--resume", "latest", "--set", "g_features=16"]) == 2
    assert "resume with the same --set overrides, --ema" in capsys.readouterr().err
    assert main([*base, "--steps", "3", "--resume", "latest"]) == 0  # the same setup resumes
    for bad in (["--batch-size", "0"], ["--ema", "1.5"], ["--keep", "0"]):
        with pytest.raises(SystemExit) as exit_:
            main([*base, *bad])
        assert exit_.value.code == 2
    assert main([*base[:-4], "--out", str(tmp_path / "x"), "--set", "g_feature=3"]) == 2
    assert "has no argument ['g_feature']" in capsys.readouterr().err


def test_a_class_conditional_model_trains_on_the_users_own_classes(tmp_path):
    import json

    from test_learning import synthetic_labelled_lesions

    from zoo.cli.train import main

    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    images, labels = synthetic_labelled_lesions(48)
    names = ["benign", "malignant", "unsure"]
    rows = ["file,diagnosis"]
    for i, (x, y) in enumerate(zip(images, labels)):
        Image.fromarray((((x + 1) / 2).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(
            data / "images" / f"{i:03d}.png")
        rows.append(f"{i:03d}.png,{names[y]}")
    (data / "labels.csv").write_text("\n".join(rows) + "\n")
    main(["--model", "acgan-lesions", "--set", "image_size=[16,16]", "--set", "g_features=32", "--set", "d_features=32",
          "--batch-size", "16", "--log-with", "none", "--no-progress", "--label-column", "diagnosis",
          "--data", str(data), "--out", str(tmp_path / "run"), "--steps", "4"])
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["class_names"] == names  # not HAM10000's seven
    out = zoo.load(tmp_path / "run" / "model")(num_images=3, labels=["unsure"])
    assert out.tensors.shape == (3, 3, 16, 16)


def test_zoo_train_load_size_trains_on_random_crops(lesion_folder, tmp_path, capsys):
    from zoo.cli.train import main

    base = [*SMALL, "--data", str(lesion_folder), "--steps", "2", "--set", "image_size=[8,8]"]
    assert main([*base, "--out", str(tmp_path / "crop"), "--load-size", "16"]) == 0  # 16 px files, 8 px crops
    assert zoo.load(str(tmp_path / "crop" / "model"))(num_images=1).images[0].size == (8, 8)
    assert main([*base, "--out", str(tmp_path / "x"), "--load-size", "4"]) == 2
    assert "smaller than the model's image_size 8 x 8" in capsys.readouterr().err


def test_frozen_network_passes_gradients_to_its_input_and_computes_none_for_its_weights():
    model = tiny("pix2pix-pws")
    pairs = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    trainer = Trainer(model, TrainingData({"A": pairs, "B": pairs.flip(0)}), batch_size=2, progress=False)
    trainer._wrap()
    d = model.discriminator
    x = torch.randn(2, 6, 32, 32, requires_grad=True)
    out = trainer._context(0).frozen(d)(x)
    torch.testing.assert_close(out, d(x.detach()))
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in d.parameters())


def _tiny_for_frozen(model_id: str):
    """(model, data, its discriminators' names): the registry's tiny model of the id and random data."""
    model = tiny(model_id)
    data = TrainingData(raw_batch(model, 8, seed=1))
    return model, data, [n for n in model.networks() if n not in model.inference_networks]


FROZEN_FAMILIES = zoo.list_models()  # every family: its generator step runs its discriminators frozen


@pytest.mark.parametrize("model_id", FROZEN_FAMILIES)
def test_each_generator_step_runs_its_discriminators_frozen(model_id, monkeypatch):
    model, data, names = _tiny_for_frozen(model_id)
    seen = []
    original = Trainer._frozen
    monkeypatch.setattr(Trainer, "_frozen", lambda self, net: (seen.append(net), original(self, net))[1])
    trainer = Trainer(model, data, batch_size=2, progress=False)
    for _ in trainer.steps(1):
        pass
    assert {id(net) for net in seen} == {id(getattr(model, name)) for name in names}


@pytest.mark.parametrize("model_id", FROZEN_FAMILIES)  # sngan: spectral norm's parametrized weights
def test_freezing_d_in_the_generator_step_trains_the_same_weights(model_id, monkeypatch):
    """ctx.frozen skips D's weight gradients in G's step only: they were cleared before D's own step."""
    def train(frozen: bool) -> dict[str, torch.Tensor]:
        model, data, _ = _tiny_for_frozen(model_id)
        if not frozen:
            monkeypatch.setattr(Trainer, "_frozen", lambda self, net: net)
        trainer = Trainer(model, data, batch_size=2, progress=False)
        for _ in trainer.steps(4):
            pass
        monkeypatch.undo()
        trainer.release()
        return {k: v.clone() for k, v in model.state_dict().items()}

    plain, frozen = train(False), train(True)
    assert plain.keys() == frozen.keys()
    for key in plain:
        torch.testing.assert_close(frozen[key], plain[key], rtol=0, atol=0, msg=key)  # bit for bit


def test_a_frozen_discriminator_keeps_bf16_autocast(speed_options):
    model = tiny("pix2pix-pws")
    pairs = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    trainer = Trainer(model, TrainingData({"A": pairs, "B": pairs.flip(0)}), batch_size=2, progress=False,
                      **speed_options("bf16_fused"))
    trainer._wrap()
    dtypes = []
    first_conv = next(m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    first_conv.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    trainer._context(0).frozen(model.discriminator)(torch.randn(2, 6, 32, 32, requires_grad=True))
    assert dtypes == [torch.bfloat16]


def test_sample_grids_frame_each_image_and_keep_grayscale_gray():
    from zoo.training.samples import grid_image

    pixels = torch.rand(10, 3, 16, 16)
    grid = grid_image(pixels, columns=4)  # 3 rows, the last two cells blank
    assert grid.size == (4 * 18, 3 * 18) and grid.mode == "RGB"
    cells = np.asarray(grid).reshape(3, 18, 4, 18, 3).transpose(0, 2, 1, 3, 4)
    assert (cells[:, :, 0] == 255).all() and (cells[2, 2:] == 255).all()  # frames, then the blank cells
    assert np.abs(cells[1, 1, 1:-1, 1:-1] / 255 - pixels[5].permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-6
    assert grid_image(torch.rand(4, 1, 8, 8), columns=2).mode == "L"

"""A run folder under stress: one run at a time, resume that refuses silent option changes, damaged
checkpoints passed over, a full disk named, runaway weights stopped."""

import errno
import json
import re
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file
from test_training import SMALL, FakeAccelerator

import zoo
from zoo.cli.train import main
from zoo.data import TrainingData
from zoo.training import Trainer, TrainingDiverged, checkpoint_problem
from zoo.training.run import run_folder_lock
from zoo.training.trainer import ResumeMismatch

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def base(lesion_folder, tmp_path):
    """zoo train arguments for a 3-step run with a checkpoint every step (the newest 3 kept)."""
    return [*SMALL, "--data", str(lesion_folder), "--out", str(tmp_path / "run"), "--checkpoint-every", "1"]


def test_a_second_run_into_a_busy_folder_is_refused_naming_the_first(base, tmp_path, capsys):
    with run_folder_lock(tmp_path / "run"):
        assert main([*base, "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "is in use by another zoo train (pid " in err and "another --out folder" in err
    assert not (tmp_path / "run" / "checkpoints").exists()  # nothing of the refused run was written
    assert main([*base, "--steps", "2"]) == 0  # free again once the first run ends


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from zoo.training.run import run_folder_lock
        with run_folder_lock(Path({str(tmp_path)!r})):
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match="in use by another zoo train"):
        with run_folder_lock(tmp_path):
            pass
    holder.kill()  # SIGKILL: no clean-up code runs
    holder.wait()
    with run_folder_lock(tmp_path):  # the OS released the lock with the process
        pass


def test_resume_refuses_changed_options_unless_overridden_and_then_applies_them(base, tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*base, "--steps", "2"]) == 0
    original = (run / "command.txt").read_text()
    for changed in (["--lr", "1e-12"], ["--seed", "1"], ["--batch-size", "8"], ["--augment", "translation"]):
        assert main([*base, "--steps", "3", "--resume", "latest", *changed]) == 2
        err = capsys.readouterr().err
        assert f"{changed[0]} " in err and "in the checkpoint" in err and "--override-resume" in err
    assert "--lr 1e-12 now" not in err  # each refusal names its own option only
    assert (run / "command.txt").read_text() == original  # the refusals wrote nothing
    assert main([*base, "--steps", "3", "--resume", "latest", "--lr", "1e-12", "--override-resume"]) == 0
    assert "--override-resume: from this step on --lr 1e-12 (was the family's default)" in capsys.readouterr().out
    # The new rate really applied: step 3 moved the weights by about 1e-12, not by Adam's 2e-4.
    before = load_file(run / "checkpoints" / "step-0000002" / "model.safetensors")
    after = load_file(run / "checkpoints" / "step-0000003" / "model.safetensors")
    weights = [k for k in before if before[k].is_floating_point() and "running_" not in k]  # not BN statistics
    moved = max(float((after[k] - before[k]).abs().max()) for k in weights)
    assert moved < 1e-6
    # ... and is recorded: both commands, with the step each began at.
    command = (run / "command.txt").read_text()
    assert command.startswith("# steps 0-2\n") and "# steps 2-\n" in command and "--lr 1e-12" in command
    segments = json.loads((run / "run.json").read_text())["segments"]
    assert [s["from_step"] for s in segments] == [0, 2] and segments[1]["changed"] == {"--lr": [None, 1e-12]}
    # The checkpoint now holds the new rate: resuming with it needs no override.
    assert main([*base, "--steps", "4", "--resume", "latest", "--lr", "1e-12"]) == 0



def test_ema_added_on_resume_starts_from_the_resumed_networks(tmp_path):
    """--ema on a resumed run whose checkpoints hold none: the average starts from the resumed
    generator (not from the fresh one the trainer was built with), and resumes as usual afterwards."""
    data = _data()

    def trainer(ema_decay):
        torch.manual_seed(1)  # another seed than the first run's: fresh weights that differ from its
        return Trainer(zoo.create("dcgan-lesions", image_size=8), data, batch_size=4, ema_decay=ema_decay,
                       progress=False)

    torch.manual_seed(0)
    first = Trainer(zoo.create("dcgan-lesions", image_size=8), data, batch_size=4, progress=False)
    list(first.steps(2))
    saved = first.save_checkpoint(tmp_path / "plain")
    second = trainer(0.99)
    with pytest.raises(ResumeMismatch, match="ema_decay"):
        second.load_checkpoint(saved)
    second = trainer(0.99)
    assert "ema_decay" in second.load_checkpoint(saved, override=True)
    name = second.model.inference_networks[0]
    resumed = first.model.networks()[name].state_dict()
    for key, value in second.ema[name].module.state_dict().items():
        assert torch.equal(value, resumed[key]), key
    list(second.steps(3))
    with_ema = second.save_checkpoint(tmp_path / "with-ema")
    third = trainer(0.99)
    assert third.load_checkpoint(with_ema) == {}
    for key, value in third.ema[name].module.state_dict().items():
        assert torch.equal(value, second.ema[name].module.state_dict()[key]), key

@pytest.mark.parametrize("lr", ["0", "-1e-4", "1e6", "nan"])
def test_a_learning_rate_that_cannot_train_is_refused(base, lr, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--steps", "1", f"--lr={lr}"])
    assert exit_.value.code == 2 and "argument --lr: must be in (0, 1]" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"learning rate must be in \(0, 1\]"):
        Trainer(zoo.create("dcgan-lesions", image_size=8), _data(), batch_size=4, lr=float(lr),
                accelerator=FakeAccelerator(0, 1), progress=False)


def _data():
    return TrainingData({"image": torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8)})


@pytest.mark.parametrize("value", [1e5, -3e6])  # (a NaN weight makes the losses NaN: that guard stops it)
def test_runaway_weights_stop_the_run_although_the_losses_are_finite(value):
    model = zoo.create("dcgan-lesions", image_size=8)
    trainer = Trainer(model, _data(), batch_size=4, accelerator=FakeAccelerator(0, 1), progress=False)
    with torch.no_grad():
        next(model.discriminator.parameters()).view(-1)[0] = value
    expected = f"a weight of discriminator reached {abs(value):.3g} at step 0"
    with pytest.raises(TrainingDiverged, match=re.escape(expected)):
        list(trainer.steps(1))


DAMAGE = {
    "truncated safetensors": (lambda c: _truncate(c / "model.safetensors"), "model.safetensors has"),
    "missing optimizer.bin": (lambda c: (c / "optimizer.bin").unlink(), "optimizer.bin is missing"),
    "a flipped byte": (lambda c: _flip(c / "optimizer.bin"), "optimizer.bin has changed since it was written"),
    "an empty folder": (lambda c: [f.unlink() for f in c.iterdir()], "it is empty"),
}


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-9])


def _flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_resume_passes_over_a_damaged_latest_checkpoint(base, tmp_path, capsys, damage):
    run = tmp_path / "run"
    assert main([*base, "--steps", "3"]) == 0
    newest = run / "checkpoints" / "step-0000003"
    assert checkpoint_problem(newest) is None
    harm, reason = DAMAGE[damage]
    harm(newest)
    assert reason in checkpoint_problem(newest)
    capsys.readouterr()
    assert main([*base, "--steps", "4", "--resume", "latest"]) == 0
    out = capsys.readouterr().out
    assert f"cannot be resumed from ({reason}" in out and "moved aside to damaged-step-0000003" in out
    assert "resumed from" in out and "step-0000002 at step 2" in out
    assert (run / "checkpoints" / "damaged-step-0000003").is_dir()  # kept for a look, out of the rotation
    assert sorted(p.name for p in (run / "checkpoints").glob("step-*"))[-1] == "step-0000004"


def test_a_stray_far_future_checkpoint_folder_is_set_aside(base, tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*base, "--steps", "2"]) == 0
    (run / "checkpoints" / "step-9999999").mkdir()
    assert main([*base, "--steps", "3", "--resume", "latest"]) == 0
    assert "step-0000002 at step 2" in capsys.readouterr().out


def test_an_older_checkpoint_without_a_manifest_is_checked_by_its_files(base, tmp_path):
    run = tmp_path / "run"
    assert main([*base, "--steps", "1"]) == 0
    checkpoint = run / "checkpoints" / "step-0000001"
    (checkpoint / "manifest.json").unlink()  # as written before manifests existed
    assert checkpoint_problem(checkpoint) is None
    weights = checkpoint / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    assert checkpoint_problem(checkpoint) == "model.safetensors is truncated"


def test_a_full_disk_is_named_and_the_last_checkpoint_stays(base, tmp_path, capsys, monkeypatch):
    from accelerate import Accelerator

    run = tmp_path / "run"
    assert main([*base, "--steps", "1"]) == 0

    def full(self, output_dir, **kwargs):
        (tmp_path / "run" / "checkpoints" / ".tmp-step-0000002" / "part").parent.mkdir(exist_ok=True)
        raise OSError(errno.ENOSPC, "No space left on device", output_dir)

    monkeypatch.setattr(Accelerator, "save_state", full)
    assert main([*base, "--steps", "2", "--resume", "latest"]) == 2
    err = capsys.readouterr().err
    assert "no space left on the device writing the checkpoint" in err and "step-0000001 is intact" in err
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step-0000001"]  # no half-written folder


def test_a_warmup_cosine_schedule_is_followed_and_resumes_exactly(tmp_path):
    """diffusers' schedule drives every optimiser; a checkpoint carries its place, so 3 + 3 steps
    end where 6 straight steps do, bit for bit."""
    import math

    def trainer():
        torch.manual_seed(0)
        model = zoo.create("dcgan-lesions", image_size=8)
        return Trainer(model, _data(), batch_size=4, lr=1e-3, accelerator=None, progress=False,
                       lr_scheduler="cosine", lr_warmup_steps=2, total_steps=6)

    straight = trainer()
    rates = []
    for _ in straight.steps(6):
        rates.append(straight.optimizers["generator"].param_groups[0]["lr"])
    expected = [1e-3 * (s / 2 if s < 2 else 0.5 * (1 + math.cos(math.pi * (s - 2) / 4))) for s in range(1, 7)]
    assert rates == pytest.approx(expected)  # linear warm-up over 2 steps, then a cosine to 0 at step 6

    first = trainer()
    list(first.steps(3))
    checkpoint = first.save_checkpoint(tmp_path / "checkpoints")
    second = trainer()
    second.load_checkpoint(checkpoint)
    list(second.steps(6))
    with second.unwrapped() as a, straight.unwrapped() as b:
        assert all(torch.equal(x, y) for x, y in zip(a.generator.state_dict().values(),
                                                      b.generator.state_dict().values()))
    assert second.optimizers["generator"].param_groups[0]["lr"] == pytest.approx(rates[-1])


def test_a_schedule_is_part_of_the_run_and_checked_on_resume(base, tmp_path, capsys):
    assert main([*base, "--steps", "2", "--lr-scheduler", "cosine", "--lr-warmup-steps", "1"]) == 0
    assert main([*base, "--steps", "3", "--resume", "latest"]) == 2
    assert "--lr-scheduler" in capsys.readouterr().err
    schedule = ["--lr-scheduler", "cosine", "--lr-warmup-steps", "1"]
    assert main([*base, "--steps", "3", "--resume", "latest", *schedule]) == 0
    with pytest.raises(SystemExit):
        main([*base, "--steps", "1", "--lr-scheduler", "sideways"])


def test_every_checkpoint_exports_as_a_model_the_last_equal_to_the_runs(base, tmp_path):
    """scripts/checkpoint_models.py, for choosing a run's weights by held-out score, not by being last."""
    import runpy
    import sys

    from test_training import ROOT

    run = tmp_path / "run"
    # every recorded option the checkpoint checks on loading, a schedule and a D warm-up included
    options = ["--ema", "0.9", "--holdout", "0.25", "--lr-scheduler", "cosine", "--d-warmup-steps", "1"]
    assert main([*base, "--steps", "3", *options]) == 0
    # a last segment with a changed option: the checkpoints before it export all the same
    assert main([*base, "--steps", "4", *options, "--resume", "latest", "--seed", "1", "--override-resume"]) == 0
    argv = sys.argv
    sys.argv = ["checkpoint_models.py", str(run)]
    try:
        runpy.run_path(str(ROOT / "scripts" / "checkpoint_models.py"), run_name="__main__")
    finally:
        sys.argv = argv
    exported = sorted((run / "checkpoint-models").iterdir())
    assert [p.name for p in exported] == ["step-0000002", "step-0000003", "step-0000004"]  # the newest 3 kept
    last, final = load_file(exported[-1] / "generator.safetensors"), load_file(run / "model" / "generator.safetensors")
    assert last.keys() == final.keys() and all(torch.equal(last[k], final[k]) for k in last)
    first = load_file(exported[0] / "generator.safetensors")
    assert any(not torch.equal(first[k], final[k]) for k in first)  # an earlier step: other weights
    assert zoo.load(exported[0]).model.training_split == zoo.load(run / "model").model.training_split


def test_discriminator_warm_up_holds_the_generator_for_its_steps():
    """--d-warmup-steps: D alone learns first (for fine-tuning against a fresh D), then both."""
    torch.manual_seed(0)
    trainer = Trainer(zoo.create("dcgan-lesions", image_size=8), _data(), batch_size=4, progress=False,
                      d_warmup_steps=2)

    def weights(name):
        net = trainer.accelerator.unwrap_model(trainer.wrapped[name])
        return {k: v.detach().clone() for k, v in net.named_parameters()}

    g0, d0 = weights("generator"), weights("discriminator")
    list(trainer.steps(2))
    g2, d2 = weights("generator"), weights("discriminator")
    assert all(torch.equal(g0[k], g2[k]) for k in g0)
    assert not all(torch.equal(d0[k], d2[k]) for k in d0)
    assert not trainer.optimizers["generator"].state  # Adam's moments start at the first real step
    list(trainer.steps(3))
    assert not all(torch.equal(g2[k], v) for k, v in weights("generator").items())
    assert trainer.state.setup["options"]["d_warmup_steps"] == 2  # a resumed run must repeat it


def test_cyclegan_skips_its_generator_pass_during_a_discriminator_warm_up():
    torch.manual_seed(0)
    pair = {k: torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8) for k in ("A", "B")}
    trainer = Trainer(zoo.create("cyclegan-pws", image_size=32, g_features=4, g_blocks=1, d_features=4),
                      TrainingData(pair), batch_size=2, progress=False, d_warmup_steps=2)
    g0 = [p.detach().clone() for p in trainer.model.generator_ba.parameters()]
    logs = list(trainer.steps(3))
    assert [sorted(entry) for entry in logs[:2]] == [["d_loss"], ["d_loss"]]  # no generator losses computed
    moved = not all(torch.equal(a, b) for a, b in zip(g0, trainer.model.generator_ba.parameters()))
    assert "cycle" in logs[2] and moved


def test_discriminator_warm_up_needs_a_discriminator():
    with pytest.raises(ValueError, match="no discriminator to warm up"):
        Trainer(zoo.create("ddpm-lesions", image_size=8, block_out_channels=[32, 32], attention_levels=[]),
                _data(), batch_size=4, progress=False, d_warmup_steps=1)
    with pytest.raises(SystemExit):
        main(["--model", "dcgan-lesions", "--data", ".", "--out", ".", "--d-warmup-steps", "x"])


def test_init_from_starts_a_run_from_trained_networks(base, tmp_path, capsys):
    """Fine-tuning: --init-from copies a model's trained networks in before the first step."""
    first = tmp_path / "first"
    assert main([*base, "--steps", "2", "--out", str(first)]) == 0
    common = [*base, "--steps", "1", "--seed", "5", "--lr", "1e-9"]  # one step that hardly moves anything
    assert main([*common, "--out", str(tmp_path / "tuned"), "--init-from", str(first / "model")]) == 0
    assert f"started from {first / 'model'}: generator" in capsys.readouterr().out
    assert main([*common, "--out", str(tmp_path / "fresh")]) == 0

    def weights(run):
        state = load_file(run / "model" / "generator.safetensors")
        return {k: v for k, v in state.items() if "running" not in k and "num_batches" not in k}  # BN statistics move

    start, tuned, fresh = weights(first), weights(tmp_path / "tuned"), weights(tmp_path / "fresh")
    assert all(torch.allclose(start[k], tuned[k], atol=1e-6) for k in start)
    assert not all(torch.allclose(start[k], fresh[k], atol=1e-3) for k in start)  # --seed 5 alone starts elsewhere


def test_init_from_a_model_that_does_not_fit_is_refused_naming_why(base, tmp_path, capsys):
    first = tmp_path / "first"
    assert main([*base, "--steps", "1", "--out", str(first)]) == 0
    narrow = [*base, "--set", "g_features=16", "--steps", "1"]
    assert main([*narrow, "--out", str(tmp_path / "narrow"), "--init-from", str(first / "model")]) == 2
    err = capsys.readouterr().err
    assert "does not fit" in err and "--set values" in err and "there" in err
    assert main([*base, "--steps", "1", "--out", str(tmp_path / "other"), "--init-from", "cyclegan-pws"]) == 2
    assert "CycleGAN model and this run trains a DCGAN" in capsys.readouterr().err

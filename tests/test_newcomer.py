"""What a new user meets first: every door from the core install, a run folder that reruns the run,
the held-out split kept, clear CLI defaults and messages, and network failures said in one line."""

import importlib.metadata
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

import zoo
from zoo.cli import main as zoo_main
from zoo.cli.train import main as train_main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--model", "dcgan-lesions", "--set", "image_size=[16,16]", "--set", "g_features=16", "--set",
         "d_features=16", "--batch-size", "8", "--log-with", "none", "--no-progress"]


@pytest.fixture
def fresh_accelerate():
    """accelerate keeps one process-wide state; reset it around a test that sets the precision."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def test_training_and_evaluation_need_no_extra():
    requires = importlib.metadata.requires("medgan-zoo") or []
    core = {r.split(">")[0].split("=")[0].split(";")[0].strip() for r in requires if "extra ==" not in r}
    assert {"accelerate", "matplotlib"} <= core


def test_the_run_folder_reruns_the_run_with_the_launchers_precision(lesion_folder, tmp_path, monkeypatch,
                                                                    fresh_accelerate):
    # accelerate launch --mixed_precision bf16 passes the precision in the environment, not in argv
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    first = tmp_path / "first"
    assert train_main([*SMALL, "--data", str(lesion_folder), "--out", str(first), "--steps", "4"]) == 0
    command = (first / "command.txt").read_text().strip()
    assert command.endswith("--mixed-precision bf16") and json.loads((first / "run.json").read_text())[
        "mixed_precision"] == "bf16"
    card = (first / "model" / "README.md").read_text()
    # the card shows the command with the data folder's name (not its absolute path), and loads this run
    assert command.replace(str(lesion_folder), f"<data>/{lesion_folder.name}") in card
    assert 'zoo.load("<run>/model")' in card  # the run folder lies outside the working folder here
    # Rerun exactly what command.txt says, without the launcher's environment: the same weights.
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION")
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    argv = shlex.split(command)[2:]
    argv[argv.index("--out") + 1] = str(tmp_path / "again")
    assert train_main(argv) == 0
    a, b = (load_file(run / "model" / "generator.safetensors") for run in (first, tmp_path / "again"))
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_a_resumed_run_keeps_its_precision(lesion_folder, tmp_path, monkeypatch, fresh_accelerate):
    run = tmp_path / "run"
    base = [*SMALL, "--data", str(lesion_folder), "--out", str(run), "--checkpoint-every", "2"]
    assert train_main([*base, "--steps", "2", "--mixed-precision", "bf16"]) == 0
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    assert train_main([*base, "--steps", "4", "--resume", "latest"]) == 0  # no --mixed-precision this time
    assert json.loads((run / "run.json").read_text())["mixed_precision"] == "bf16"
    assert "--mixed-precision bf16" in (run / "command.txt").read_text()


def test_evaluate_uses_the_recorded_split_and_refuses_another(lesion_folder, tmp_path):
    run = tmp_path / "run"
    argv = [*SMALL, "--data", str(lesion_folder), "--out", str(run), "--steps", "2", "--holdout", "0.25"]
    assert train_main(argv) == 0
    config = json.loads((run / "model" / "config.json").read_text())
    assert config["training_split"]["holdout"] == 0.25 and config["training_split"]["heldout_images"] == 16
    moved = tmp_path / "shared-model"  # no heldout.txt beside it, as after a push or a copy
    shutil.copytree(run / "model", moved)
    from zoo.evaluate import evaluate

    report = evaluate(str(moved), lesion_folder, num_samples=8, truncations=(), memorization_samples=0,
                      progress=False)
    assert report.details["real_images"] == 16 and any("recorded in the model's config.json" in n for n in report.notes)
    with pytest.raises(ValueError, match="trained with --holdout 0.25.*would count training images as held out"):
        evaluate(str(moved), lesion_folder, holdout=0.5, num_samples=8, truncations=(), progress=False)


def test_translate_runs_the_models_main_use_and_says_so(tmp_path):
    """As a user runs it: the zoo command in a subprocess."""
    face = tmp_path / "face.png"
    Image.fromarray(np.full((40, 40, 3), 180, np.uint8)).save(face)
    done = subprocess.run([sys.executable, "-m", "zoo.cli", "translate", "cyclegan-pws", str(face), "-o",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "direction: remove (the model's default; --direction add for the other way)" in done.stderr
    assert (tmp_path / "out" / "face-remove.png").is_file()
    assert zoo.load("cyclegan-pws").default_direction == "remove"


def test_cli_messages_defaults_and_columns(tmp_path, capsys):
    zoo.create("dcgan-lesions", image_size=16, g_features=8, d_features=8).save_pretrained(tmp_path / "fresh")
    assert zoo_main(["generate", str(tmp_path / "fresh"), "-n", "1", "-o", str(tmp_path / "u")]) == 0
    assert "holds untrained weights" in capsys.readouterr().err
    assert zoo_main(["generate", "dcgan-lesions", "-n", "1", "-o", str(tmp_path / "t")]) == 0
    assert "untrained" not in capsys.readouterr().err
    assert zoo_main(["generate", "cyclegan-pws", "-n", "1", "-o", str(tmp_path / "g")]) == 2
    assert "cyclegan-pws is an unpaired-translation model" in capsys.readouterr().err
    assert zoo_main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    starts = {line.index(" " + word) for line, word in zip(lines, ["family"] + [zoo.info(m).family for m in
                                                                              zoo.list_models()])}
    assert len(starts) == 1  # the family column starts at one offset on every line, long modalities too


def test_every_option_has_help():
    from zoo.cli.train import build_parser as train_parser
    from zoo.cli.verbs import build_parser

    parsers, pending = [train_parser()], [build_parser()]
    while pending:  # every verb, and the verbs of verbs (zoo data prepare)
        for action in pending.pop()._actions:
            if action.choices and isinstance(action.choices, dict):
                found = [p for name, p in action.choices.items() if name != "train"]
                parsers += found
                pending += found
    missing = [f"{p.prog} {'/'.join(a.option_strings) or a.dest}" for p in parsers for a in p._actions
               if not a.help and a.dest not in ("help",)]
    assert not missing, f"options without help: {missing}"


def test_no_network_is_one_clear_line_at_once(fake_hub, tmp_path):
    zoo.load("dcgan-lesions").push_to_hub("lab/model")  # reachable: fine
    fake_hub.stop()  # still "online" (HF_HUB_OFFLINE off), but nothing answers
    started = time.monotonic()
    with pytest.raises(zoo.ZooError, match=r"'lab/never-cached' is not in the Hugging Face cache and the Hub "
                                           r"cannot be reached \(http://127\.0\.0\.1:\d+: "):
        zoo.load("lab/never-cached")
    with pytest.raises(zoo.ZooError, match=r"cannot push to Hub repo 'lab/other'.*nothing was uploaded"):
        zoo.load("dcgan-lesions").push_to_hub("lab/other")
    assert time.monotonic() - started < 15  # no retries with backoff (about 25 s before)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_fresh_install_runs_every_door(lesion_folder, tmp_path):
    """The README's first set-up command in a new virtual environment, then each door as a user types it."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    install = subprocess.run([str(bin_dir / "pip"), "install", "--quiet", "torch==2.13.0", "-e", str(ROOT)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

    def door(*args: str) -> None:
        done = subprocess.run([str(bin_dir / "zoo"), *args], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert done.returncode == 0, f"zoo {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"

    door("generate", "sngan-lesions", "-n", "4", "-o", "samples")
    door("train", *SMALL, "--data", str(lesion_folder), "--out", "run", "--steps", "3", "--holdout", "0.25")
    door("evaluate", "run/model", "--data", str(lesion_folder), "-n", "8", "-o", "report")
    Image.fromarray(np.full((40, 40, 3), 180, np.uint8)).save(tmp_path / "face.png")
    door("translate", "cyclegan-pws", "face.png", "-o", "out")
    assert len(list((tmp_path / "samples").glob("*.png"))) == 4 and (tmp_path / "report" / "report.md").is_file()
    assert (tmp_path / "out" / "face-remove.png").is_file()


def _readme_block(marker: str) -> str:
    """The Python block of the README or the docs that holds ``marker``."""
    import re

    text = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))])
    return next(block for block in re.findall(r"```python\n(.*?)```", text, re.S) if marker in block)


def test_the_readmes_synthetic_domain_snippet_runs_as_printed(tmp_path, monkeypatch):
    # A face-like test image: skin-coloured, darker eyes and mouth (the snippet reads face.jpg).
    yy, xx = np.mgrid[0:200, 0:160]
    face = np.zeros((200, 160, 3), np.uint8) + np.array([60, 50, 45], np.uint8)
    inside = ((yy - 100) / 95.0) ** 2 + ((xx - 80) / 75.0) ** 2 < 1
    face[inside] = [224, 172, 150]
    for cy, cx in ((80, 55), (80, 105), (150, 80)):
        face[(yy - cy) ** 2 + (xx - cx) ** 2 < 64] = [70, 40, 40]
    Image.fromarray(face).save(tmp_path / "face.jpg")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(_readme_block("itchy, eczema_mask = add_eczema"), scope)
    assert scope["healthy"] and tuple(scope["itchy"].shape) == (3, 48, 48)
    assert scope["mask"].sum() > 0 and 0 < scope["eczema_mask"].mean() < 1


def test_interpolate_returns_images_as_the_readme_says():
    walk = zoo.load("dcgan-lesions").interpolate(seed_a=0, seed_b=1, steps=3)
    assert len(walk.images) == 3 and "walk.images" in _readme_block("pipe.interpolate(seed_a=0")

"""The wheel a user installs carries the embedded weights and card template, and no top-level `plugins`."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contents(tmp_path):
    # Build from a copy so the test never writes build/ folders into the checkout.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(source)], check=True, capture_output=True, text=True)
    (wheel,) = (tmp_path / "dist").glob("medgan_zoo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "zoo/__init__.py",
        "medgan_zoo_cards/model_card.md",
        "medgan_zoo_plugins/dcgan/__init__.py",
        "medgan_zoo_plugins/dcgan/embedded-weights/dcgan-lesions/config.json",
        "medgan_zoo_plugins/dcgan/embedded-weights/dcgan-lesions/generator.safetensors",
        "medgan_zoo_plugins/dcgan/embedded-weights/dcgan-lesions/README.md",
        "medgan_zoo_plugins/sngan/embedded-weights/sngan-lesions/generator.safetensors",
        "medgan_zoo_plugins/wgan_gp/__init__.py",
        "medgan_zoo_plugins/wgan_gp/cards/wgan-gp-dental.yaml",
        "medgan_zoo_plugins/tasks/__init__.py",
        *(f"zoo/{sub}/__init__.py" for sub in ("models", "hub", "pipelines", "data", "training", "cli", "evaluate")),
    ):
        assert required in names, required
    assert not any(n.startswith(("plugins/", "cards/", "tests/")) for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[medgan_zoo]" in text and "dcgan = medgan_zoo_plugins.dcgan" in text
    assert "tasks = medgan_zoo_plugins.tasks" in text
    assert "zoo = zoo.cli:main" in text

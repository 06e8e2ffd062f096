"""A third-party family, or a whole task, needs nothing but `pip install`: build a plugin package, install it,
use it."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "zoo-toy-plugin"
version = "0.1.0"

[project.entry-points.medgan_zoo]
toy = "zoo_toy_plugin"
"""


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, capture_output=True, text=True)


@pytest.mark.slow
def test_pip_installed_plugin_is_listed_created_and_loaded(tmp_path):
    package = tmp_path / "zoo-toy-plugin"
    (package / "zoo_toy_plugin").mkdir(parents=True)
    shutil.copy(Path(__file__).with_name("toy_plugin.py"), package / "zoo_toy_plugin" / "__init__.py")
    (package / "pyproject.toml").write_text(PYPROJECT)
    # --no-index and no build isolation: nothing is fetched from anywhere.
    pip("install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", str(package))
    try:
        code = textwrap.dedent(f"""
            import json, zoo
            zoo.create("toy-translate").save_pretrained({str(tmp_path / "saved")!r})
            pipe = zoo.load({str(tmp_path / "saved")!r})
            print(json.dumps({{"ids": zoo.list_models(), "plugin": zoo.info("toy-edit").plugin,
                              "loaded": type(pipe).__name__}}))
        """)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=tmp_path)  # cwd: the plugin must come from site-packages, not tests/
        facts = json.loads(done.stdout.strip().splitlines()[-1])
        assert {"dcgan-lesions", "toy-translate", "toy-edit", "toy-conditional"} <= set(facts["ids"])
        assert facts["plugin"] == "toy" and facts["loaded"] == "TranslationPipeline"
    finally:
        pip("uninstall", "--quiet", "--yes", "zoo-toy-plugin")
    after = subprocess.run([sys.executable, "-c", "import json, zoo; print(json.dumps(zoo.list_models()))"],
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    assert "toy-translate" not in json.loads(after.stdout)


TASK_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "zoo-mask-task"
version = "0.1.0"

[project.entry-points.medgan_zoo]
mask_to_image = "zoo_mask_task"
"""


def zoo_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, f"zoo {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def mask_and_image(seed: int, size: int = 16):
    """A random rectangle mask and its target: red inside the rectangle, blue outside."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    top, left = rng.integers(0, size // 2, 2)
    h, w = rng.integers(size // 4, size // 2, 2)
    mask = np.zeros((size, size), np.uint8)
    mask[top:top + h, left:left + w] = 255
    image = np.where(mask[..., None] > 0, np.array([220, 40, 40], np.uint8), np.array([40, 40, 220], np.uint8))
    return Image.fromarray(mask), Image.fromarray(image.astype(np.uint8))


@pytest.mark.slow
def test_pip_installed_task_plugin_trains_saves_loads_and_serves(tmp_path):
    package = tmp_path / "zoo-mask-task"
    (package / "zoo_mask_task").mkdir(parents=True)
    shutil.copy(Path(__file__).with_name("task_plugin.py"), package / "zoo_mask_task" / "__init__.py")
    (package / "pyproject.toml").write_text(TASK_PYPROJECT)
    pip("install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", str(package))
    try:
        data = tmp_path / "data"
        for folder in ("masks", "images"):
            (data / folder).mkdir(parents=True)
        for i in range(32):
            mask, image = mask_and_image(i)
            mask.save(data / "masks" / f"{i:02d}.png")
            image.save(data / "images" / f"{i:02d}.png")
        listed = json.loads(zoo_cli("list", "--task", "mask-to-image", "--json", cwd=tmp_path).stdout)
        assert listed == ["mask-painter-toy"]

        zoo_cli("train", "--model", "mask-painter-toy", "--data", str(data), "--out", str(tmp_path / "run"),
                "--steps", "150", "--batch-size", "8", "--log-with", "none", "--no-progress", "--sample-every", "75",
                cwd=tmp_path)
        model_dir = tmp_path / "run" / "model"
        assert (model_dir / "generator.safetensors").is_file() and (tmp_path / "run" / "samples").is_dir()
        card = (model_dir / "README.md").read_text()
        assert "pipeline_tag: image-to-image" in card and "mask-to-image" in card
        assert "zoo translate run/model mask.png -o out/" in card  # the task's usage, for this run's folder

        fresh_mask, _ = mask_and_image(1000, size=24)  # another size: the pipeline returns the mask's
        fresh_mask.save(tmp_path / "fresh.png")
        zoo_cli("translate", str(model_dir), str(tmp_path / "fresh.png"), "-o", str(tmp_path / "out"), cwd=tmp_path)
        code = textwrap.dedent(f"""
            import json, numpy as np, zoo
            from PIL import Image
            pipe = zoo.load({str(model_dir)!r})
            served = np.asarray(Image.open({str(tmp_path / "out" / "fresh-out.png")!r}).convert("RGB"), float)
            inside = np.asarray(Image.open({str(tmp_path / "fresh.png")!r})) > 0
            red_minus_blue = served[..., 0] - served[..., 2]
            print(json.dumps({{"pipeline": type(pipe).__name__, "task": pipe.task, "size": list(served.shape[:2]),
                              "inside": red_minus_blue[inside].mean(), "outside": red_minus_blue[~inside].mean()}}))
        """)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
        facts = json.loads(done.stdout.strip().splitlines()[-1])
        assert facts["pipeline"] == "MaskToImagePipeline" and facts["task"] == "mask-to-image"
        assert facts["size"] == [24, 24]
        # It learned the task: red where the mask is, blue where it is not (the untrained net paints grey).
        assert facts["inside"] > 100 and facts["outside"] < -100, facts
        zoo_cli("evaluate", str(model_dir), "--data", str(data), "-o", str(tmp_path / "report"), cwd=tmp_path)
        assert (tmp_path / "report" / "examples.png").is_file()
        bench = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "bench" / "train_speed.py"), "--models",
                                "mask-painter-toy", "--steps", "1", "--warmup", "0", "--repeats", "1"],
                               capture_output=True, text=True, cwd=tmp_path)
        assert bench.returncode == 0 and "mask-painter-toy" in bench.stdout, bench.stdout + bench.stderr
    finally:
        pip("uninstall", "--quiet", "--yes", "zoo-mask-task")

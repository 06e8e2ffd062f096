"""A third-party family needs nothing but `pip install`: build a plugin package, install it, see it."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

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

"""The benchmark scripts run on every registered model (a smoke run: one step, no figures checked)."""

import subprocess
import sys
from pathlib import Path

import pytest

import zoo

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_train_speed_runs_every_registered_model():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "train_speed.py"), "--steps", "1", "--warmup", "0",
                           "--repeats", "1"], capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split()[0] for line in done.stdout.splitlines()[1:]]
    assert rows == zoo.list_models() and "failed" not in done.stdout

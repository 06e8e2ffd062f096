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


@pytest.mark.slow
def test_gpu_bench_runs_every_row_in_its_smoke_mode():
    """bench/gpu.py is run on a GPU rarely; its smoke mode (tiny shapes, CPU) keeps every row working."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--smoke", "--device", "cpu",
                           "--configs", "float32"], capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout.split("\n\n", 1)[1]
    lines = [line for line in table.splitlines() if line.startswith("| i2i") or line.startswith("| gen")]
    # 2 models x (reference, float32) training, 2 inference rows, 2 generators x (train, sample)
    assert len(lines) == 10 and "failed" not in table
    assert "| i2i-train | cyclegan | 32 | 1 | float32 |" in table and "x |" in table  # a ratio to the reference

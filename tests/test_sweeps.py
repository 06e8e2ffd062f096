"""Truncation sweeps: one row per threshold, the same seed's images shrinking toward the mean."""

import json

import pytest
import torch

import zoo
from zoo.evaluate import truncation_sweep

THRESHOLDS = (None, 1.0, 0.7, 0.5, 0.3, 0.1, 0.01)


@pytest.fixture(scope="module")
def dcgan():
    return zoo.load("dcgan-lesions")


def spread(images: torch.Tensor) -> torch.Tensor:
    """Per-pixel std across the samples, averaged over pixels: the diversity of the batch."""
    return images.std(0).mean()


def test_diversity_falls_strictly_as_the_threshold_falls(dcgan):
    rows = truncation_sweep(dcgan, spread, THRESHOLDS, num_images=32)
    assert [r["truncation"] for r in rows] == list(THRESHOLDS)
    values = [r["value"] for r in rows]
    assert all(isinstance(v, float) for v in values)  # plain numbers: the rows serialise as they are
    json.dumps(rows)
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert values[-1] < 0.05 * values[0]  # |z| <= 0.01: nearly one image


def test_rows_are_the_pipelines_own_images(dcgan):
    seen = []
    rows = truncation_sweep(dcgan, lambda x: seen.append(x) or x.shape[0], thresholds=(None, 0.5), num_images=3, seed=9)
    assert rows == [{"truncation": None, "value": 3}, {"truncation": 0.5, "value": 3}]
    assert torch.equal(seen[0], dcgan(3, seed=9).tensors)
    assert torch.equal(seen[1], dcgan(3, seed=9, truncation=0.5).tensors)


def test_class_conditional_pipelines_sweep_too_and_mistakes_are_named(toys, dcgan):
    cond = zoo.pipeline_for(zoo.create("toy-conditional"))
    assert len(truncation_sweep(cond, spread, thresholds=(1.0, 0.1), num_images=6)) == 2
    with pytest.raises(TypeError, match="metric must be a callable"):
        truncation_sweep(dcgan, "fid")
    with pytest.raises(TypeError, match="needs a generation pipeline"):
        truncation_sweep(zoo.pipeline_for(zoo.create("toy-translate")), spread)
    with pytest.raises(ValueError, match="each threshold must be a positive number"):
        truncation_sweep(dcgan, spread, thresholds=(0,), num_images=1)

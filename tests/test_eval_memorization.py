"""The memorization audit: planted copies are found and flagged, fresh samples are not."""

import json
import re

import kornia
import pytest
import torch
from PIL import Image

from zoo.evaluate.memorization import memorization_audit, nearest_by_ssim

pytestmark = pytest.mark.usefixtures("one_thread")

COPY, NOISY = 3, 11  # sample slots that receive planted training images
COPY_OF, NOISY_OF = 17, 42


def blobs(n: int, gen: torch.Generator, size: int = 32) -> torch.Tensor:
    """A smooth synthetic image distribution: a tilted colour background and three soft blobs."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")

    def r(*shape):
        return torch.rand(*shape, generator=gen)

    images = (r(n, 3, 1, 1) * 0.4 + 0.1 + (r(n, 1, 1, 1) - 0.5) * 0.4 * xx + (r(n, 1, 1, 1) - 0.5) * 0.4 * yy)
    images = images.expand(n, 3, size, size).clone()
    for _ in range(3):
        cy, cx, width = r(n, 1, 1, 1), r(n, 1, 1, 1), r(n, 1, 1, 1) * 0.15 + 0.05
        blob = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2))
        images = images + blob * (r(n, 3, 1, 1) - 0.3) * 0.8
    return images.clamp(0, 1)


@pytest.fixture(scope="module")
def sets():
    gen = torch.Generator().manual_seed(0)
    train, heldout, fresh = blobs(60, gen), blobs(40, gen), blobs(30, gen)
    samples = fresh.clone()
    samples[COPY] = train[COPY_OF]
    samples[NOISY] = (train[NOISY_OF] + 0.02 * torch.randn(train[NOISY_OF].shape, generator=gen)).clamp(0, 1)
    return {"train": train, "heldout": heldout, "fresh": fresh, "samples": samples}


@pytest.fixture(scope="module")
def report(sets):
    return memorization_audit(sets["samples"], sets["train"], sets["heldout"], progress=False)


def test_batched_ssim_matches_kornia_pair_by_pair():
    gen = torch.Generator().manual_seed(1)
    queries, train = torch.rand(4, 3, 24, 20, generator=gen), torch.rand(6, 3, 24, 20, generator=gen)
    expected = torch.stack([kornia.metrics.ssim(q.expand_as(train), train, 11).mean(dim=(1, 2, 3)) for q in queries])
    for batch_size in (1, 5, 100):  # chunks that split the training set, and one that holds all of it
        index, best = nearest_by_ssim(queries, train, batch_size=batch_size)
        assert torch.equal(index, expected.argmax(1))
        torch.testing.assert_close(best, expected.max(1).values, atol=1e-5, rtol=0)


def test_planted_copies_are_flagged_with_the_right_neighbours(report):
    assert set(report.flagged) == {COPY, NOISY}
    assert int(report.samples.ssim_index[COPY]) == COPY_OF and int(report.samples.l2_index[COPY]) == COPY_OF
    assert int(report.samples.ssim_index[NOISY]) == NOISY_OF and int(report.samples.l2_index[NOISY]) == NOISY_OF
    assert float(report.samples.ssim[COPY]) == pytest.approx(1.0, abs=1e-5)
    assert float(report.samples.l2[COPY]) == pytest.approx(0.0, abs=1e-6)
    assert report.flagged[0] == COPY  # most similar first


def test_fresh_samples_from_the_same_distribution_are_not_flagged(sets):
    fresh = memorization_audit(sets["fresh"], sets["train"], sets["heldout"], progress=False)
    assert fresh.flagged == []
    summary = fresh.summary()
    assert summary["flagged"] == 0 and summary["flagged_fraction"] == 0.0
    # Fresh samples sit where held-out real images do: no shift towards the training set.
    assert abs(summary["samples"]["nearest_ssim"]["median"] - summary["heldout"]["nearest_ssim"]["median"]) < 0.1


def test_summary_is_json_and_states_the_rule(report):
    summary = json.loads(json.dumps(report.summary()))
    assert summary["flagged"] == 2 and summary["flagged_fraction"] == pytest.approx(2 / 30)
    assert summary["thresholds"]["ssim"] == pytest.approx(report.ssim_threshold)
    assert summary["thresholds"]["ssim"] >= summary["heldout"]["nearest_ssim"]["p99"]
    assert summary["thresholds"]["l2"] <= summary["heldout"]["nearest_l2"]["p1"]
    assert "held-out" in summary["rule"] and "SSIM >" in summary["rule"]
    assert {p["sample"]: p["train_by_ssim"] for p in summary["flagged_pairs"]} == {COPY: COPY_OF, NOISY: NOISY_OF}
    assert any("held-out images" in note for note in summary["notes"])  # 40 is a small baseline


def test_both_rule_is_stricter(sets):
    both = memorization_audit(sets["samples"], sets["train"], sets["heldout"], rule="both", progress=False)
    assert COPY in both.flagged and set(both.flagged) <= {COPY, NOISY}  # noise lowers SSIM, so maybe not NOISY


def test_compare_size_and_candidates_still_find_the_copy(sets):
    small = memorization_audit(sets["samples"], sets["train"], sets["heldout"], compare_size=16, candidates=5,
                               progress=False)
    assert COPY in small.flagged and int(small.samples.ssim_index[COPY]) == COPY_OF
    assert small.settings["ssim_size"] == [16, 16] and small.settings["candidates"] == 5


def test_plots_are_written(report, tmp_path):
    grid = report.closest_pairs_grid(tmp_path / "closest.png", k=4)
    hist = report.histogram(tmp_path / "hist.png")
    for path in (grid, hist):
        with Image.open(path) as image:
            image.load()
            assert image.width > 200 and image.height > 100
    gray = memorization_audit(torch.rand(3, 1, 16, 16), torch.rand(5, 1, 16, 16), torch.rand(4, 1, 16, 16),
                              progress=False)
    with Image.open(gray.closest_pairs_grid(tmp_path / "gray.png", k=8)) as image:  # k > samples: all of them
        image.load()


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(samples=s["samples"][0]), "N x C x H x W"),
    (lambda s: s.update(heldout=s["heldout"][:, :1]), "resize all three"),
    (lambda s: s.update(train=s["train"] * 2 - 1), "not [0, 1]"),
    (lambda s: s.update(train=(s["train"] * 255).to(torch.uint8)), "float() / 255"),
    (lambda s: s.update(heldout=s["heldout"][:0]), "empty"),
    (lambda s: s.update(samples=s["samples"][..., :8, :8], train=s["train"][..., :8, :8],
                        heldout=s["heldout"][..., :8, :8]), "SSIM window"),
])
def test_bad_inputs_are_named(sets, change, message):
    args = {key: sets[key] for key in ("samples", "train", "heldout")}
    change(args)
    with pytest.raises(ValueError, match=re.escape(message)):
        memorization_audit(args["samples"], args["train"], args["heldout"], progress=False)


@pytest.mark.parametrize("option, message", [
    ({"quantile": 0.3}, "quantile"), ({"rule": "any"}, "rule"), ({"compare_size": 8}, "compare_size"),
    ({"margin": -1}, "margin"), ({"candidates": 0}, "candidates"),
])
def test_bad_options_are_named(sets, option, message):
    with pytest.raises(ValueError, match=message):
        memorization_audit(sets["samples"][:2], sets["train"][:3], sets["heldout"][:2], progress=False, **option)

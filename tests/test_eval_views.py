"""Views: the real-vs-generated scatter and the truncation sweep."""

import pytest
import torch
from PIL import Image

from zoo.errors import MissingExtraError
from zoo.evaluate.views import feature_scatter, markdown_table, pca_2d, truncation_sweep

pytestmark = pytest.mark.usefixtures("one_thread")


def clusters(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    real = torch.randn(40, 16, generator=gen)
    fake = torch.randn(30, 16, generator=gen) + 6.0  # far off along the diagonal
    return real, fake


def test_scatter_is_written_and_pca_separates_two_clusters(tmp_path):
    real, fake = clusters()
    real_xy, fake_xy = feature_scatter(real, fake, tmp_path / "scatter.png")
    assert real_xy.shape == (40, 2) and fake_xy.shape == (30, 2)
    # The first component carries the gap: every real point on one side, every fake on the other.
    assert real_xy[:, 0].max() < fake_xy[:, 0].min() or fake_xy[:, 0].max() < real_xy[:, 0].min()
    with Image.open(tmp_path / "scatter.png") as image:
        image.load()
        assert image.width > 200


def test_pca_is_deterministic_and_reports_the_variance_share():
    real, fake = clusters()
    both = torch.cat([real, fake])
    first, explained = pca_2d(both)
    again, _ = pca_2d(both)
    torch.testing.assert_close(first, again)
    assert explained[0] > 0.5 > explained[1] > 0  # the cluster gap dominates
    # Same as an exact SVD, up to the sign convention.
    centered = both - both.mean(0)
    exact = centered @ torch.linalg.svd(centered, full_matrices=False).Vh[:2].T
    torch.testing.assert_close(first.abs(), exact.abs(), atol=1e-3, rtol=1e-3)


def test_scatter_flattens_images(tmp_path):
    gen = torch.Generator().manual_seed(2)
    real_xy, fake_xy = feature_scatter(torch.rand(5, 1, 8, 8, generator=gen), torch.rand(4, 1, 8, 8, generator=gen),
                                       tmp_path / "images.png")
    assert real_xy.shape == (5, 2) and fake_xy.shape == (4, 2)


def test_scatter_errors_are_named(tmp_path):
    real, fake = clusters()
    with pytest.raises(ValueError, match="same feature extractor"):
        feature_scatter(real, fake[:, :8], tmp_path / "x.png")
    with pytest.raises(ValueError, match="method must be"):
        feature_scatter(real, fake, tmp_path / "x.png", method="umap")
    with pytest.raises(ValueError, match="N x D"):
        feature_scatter(real[0], fake, tmp_path / "x.png")


def test_tsne_without_scikit_learn_says_how_to_install(tmp_path):
    pytest.importorskip("matplotlib")
    try:
        import sklearn  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match="pip install scikit-learn"):
            feature_scatter(*clusters(), tmp_path / "t.png", method="tsne")
    else:
        real_xy, fake_xy = feature_scatter(*clusters(), tmp_path / "t.png", method="tsne")
        assert real_xy.shape == (40, 2) and fake_xy.shape == (30, 2)


def test_truncation_sweep_runs_in_order_and_tabulates():
    calls = []

    def generate(threshold):
        calls.append(("generate", threshold))
        return torch.full((2,), 1.0 if threshold is None else threshold)

    def metric(images):
        calls.append(("metric", float(images[0])))
        return torch.tensor(float(images.sum()))  # a 0-d tensor counts as a number

    rows = truncation_sweep(generate, metric, [None, 1.5, 0.5], name="score")
    assert calls == [("generate", None), ("metric", 1.0), ("generate", 1.5), ("metric", 1.5),
                     ("generate", 0.5), ("metric", 0.5)]
    assert rows == [{"truncation": None, "score": 2.0}, {"truncation": 1.5, "score": 3.0},
                    {"truncation": 0.5, "score": 1.0}]
    table = markdown_table(rows)
    lines = table.splitlines()
    assert lines[0] == "| truncation | score |"
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["off", "1.5", "0.5"]
    assert "| 3 |" in lines[3]


def test_truncation_sweep_takes_dict_metrics_and_checks_thresholds_first():
    rows = truncation_sweep(lambda t: t, lambda images: {"fid": 10.0, "recall": 0.5}, [None, 1.0])
    assert rows[1] == {"truncation": 1.0, "fid": 10.0, "recall": 0.5}
    assert "| truncation | fid | recall |" in markdown_table(rows)

    generated = []
    with pytest.raises(ValueError, match="positive number or None"):
        truncation_sweep(generated.append, lambda images: 0.0, [1.0, -0.5])
    assert generated == []  # nothing generated before the bad threshold was caught
    with pytest.raises(ValueError, match="empty"):
        truncation_sweep(lambda t: t, lambda images: 0.0, [])
    with pytest.raises(TypeError, match="number or a dict"):
        truncation_sweep(lambda t: t, lambda images: "good", [None])
    with pytest.raises(ValueError, match="no rows"):
        markdown_table([])

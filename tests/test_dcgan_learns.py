"""DCGAN learns: on a tiny synthetic lesion set its samples move measurably toward the data."""

import torch

import zoo
from zoo.metrics import sliced_wasserstein
from zoo.training import train_steps


def synthetic_lesions(n: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    """Skin-coloured squares with one dark round 'lesion' of random position and size, in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    cy, cx = (torch.rand(2, n, 1, 1, generator=gen) * size * 0.5 + size * 0.25).unbind(0)
    radius = torch.rand(n, 1, 1, generator=gen) * size * 0.15 + size * 0.12
    inside = (((yy - cy) ** 2 + (xx - cx) ** 2) < radius**2).float()[:, None]
    skin = torch.tensor([0.85, 0.65, 0.55]).view(1, 3, 1, 1)
    lesion = torch.tensor([0.35, 0.2, 0.15]).view(1, 3, 1, 1)
    images = skin * (1 - inside) + lesion * inside + 0.03 * torch.randn(n, 3, size, size, generator=gen)
    return images.clamp(0, 1) * 2 - 1


def test_dcgan_samples_move_toward_the_data():
    torch.manual_seed(0)
    data = synthetic_lesions(256)
    model = zoo.create("dcgan-lesions", image_size=(16, 16), g_features=64, d_features=64)
    pipe = zoo.pipeline_for(model)

    def distance() -> float:
        samples = pipe(num_images=256, seed=123).tensors * 2 - 1
        return sliced_wasserstein(samples, data)

    before = distance()
    history = train_steps(model, data, steps=300, batch_size=32, progress=False)
    after = distance()
    print(f"sliced Wasserstein to data: before {before:.3f}, after 300 steps {after:.3f}")
    assert len(history) == 300 and all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)
    assert after < 0.5 * before
    # Samples have picked up the data's colour statistics, not just collapsed to grey.
    samples = pipe(num_images=256, seed=123).tensors
    assert torch.allclose(samples.mean((0, 2, 3)), ((data + 1) / 2).mean((0, 2, 3)), atol=0.08)


def test_training_data_of_the_wrong_size_is_named():
    import pytest

    model = zoo.create("dcgan-lesions", image_size=(16, 24))
    with pytest.raises(ValueError, match=r"N x 3 x 16 x 24 .* got \(4, 3, 32, 32\)"):
        train_steps(model, torch.zeros(4, 3, 32, 32), steps=1)

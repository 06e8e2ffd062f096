"""Every family learns: on a tiny synthetic set in its modality, samples move measurably toward the data."""

import pytest
import torch
from conftest import tiny

import zoo
from zoo.evaluate.metrics import sliced_wasserstein
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


def synthetic_radiographs(n: int, size=(16, 32), seed: int = 0) -> torch.Tensor:
    """Grayscale 1:2 images: a dark jaw-like band with 3-5 bright 'teeth' of random width, in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    images = torch.full((n, 1, h, w), 0.15)
    images[:, :, h // 4 : 3 * h // 4] = 0.35
    for i in range(n):
        for _ in range(int(torch.randint(3, 6, (1,), generator=gen))):
            x = int(torch.randint(0, w - 4, (1,), generator=gen))
            images[i, :, h // 4 + 1 : 3 * h // 4 - 1, x : x + int(torch.randint(2, 5, (1,), generator=gen))] = 0.9
    return (images + 0.02 * torch.randn(images.shape, generator=gen)).clamp(0, 1) * 2 - 1


# Every registered noise-to-image family learns, at its registry tiny size, on data in its
# modality (RGB lesions or grayscale radiographs); a new family is tested here without an entry.
UNCONDITIONAL = zoo.list_models(task="unconditional")


@pytest.mark.slow
@pytest.mark.parametrize("model_id", UNCONDITIONAL)
def test_samples_move_toward_the_data(model_id):
    model = tiny(model_id)
    size = model.image_size
    data = synthetic_lesions(256, size=size[0]) if model.channels == 3 else synthetic_radiographs(256, size=size)
    steps = max(150, 300 // model.batches_per_step)  # WGAN-GP: 5 critic batches a step
    pipe = zoo.pipeline_for(model)

    def distance() -> float:
        samples = pipe(num_images=256, seed=123).tensors * 2 - 1
        return sliced_wasserstein(samples, data)

    before = distance()
    history = train_steps(model, data, steps=steps, batch_size=32, progress=False)
    after = distance()
    print(f"{model_id}: sliced Wasserstein to data: before {before:.3f}, after {steps} steps {after:.3f}")
    assert len(history) == steps and all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)
    assert after < 0.5 * before
    # Samples have picked up the data's intensity statistics, not just collapsed to grey ...
    samples = pipe(num_images=256, seed=123).tensors
    real = (data + 1) / 2
    assert torch.allclose(samples.mean((0, 2, 3)), real.mean((0, 2, 3)), atol=0.08)
    # ... nor to one mean image: they vary across samples about as the data does.
    assert samples.std(0).mean() > 0.3 * real.std(0).mean()


@pytest.mark.parametrize("model_id", zoo.list_models())
def test_every_built_in_id_declares_a_tiny_test_model(model_id):
    spec = zoo.info(model_id)
    assert spec.tiny, f"{model_id}: give its ModelSpec a tiny= test configuration"
    assert tiny(model_id).config.items() >= dict(spec.tiny).items()


def test_training_data_of_the_wrong_size_is_named():
    model = zoo.create("dcgan-lesions", image_size=(16, 24))
    with pytest.raises(ValueError, match=r"N x 3 x 16 x 24 .* got \(4, 3, 32, 32\)"):
        train_steps(model, torch.zeros(4, 3, 32, 32), steps=1)


# -- class-conditional families -------------------------------------------------------------------
LESION_COLOURS = torch.tensor([[0.35, 0.2, 0.15], [0.75, 0.1, 0.15], [0.3, 0.3, 0.6]])  # brown, red, bluish


def synthetic_labelled_lesions(n: int, size: int = 16, seed: int = 0, weights=(0.6, 0.25, 0.15)):
    """synthetic_lesions whose lesion colour is the class (imbalanced, like real lesion data)."""
    gen = torch.Generator().manual_seed(seed + 1)
    labels = torch.multinomial(torch.tensor(weights), n, replacement=True, generator=gen)
    images = (synthetic_lesions(n, size, seed) + 1) / 2
    lesion = (images - torch.tensor([0.85, 0.65, 0.55]).view(1, 3, 1, 1)).abs().sum(1, keepdim=True) > 0.3
    colour = LESION_COLOURS[labels].view(n, 3, 1, 1)
    images = torch.where(lesion, colour + (images - images.mean((2, 3), keepdim=True)) * 0.2, images)
    return images.clamp(0, 1) * 2 - 1, labels


@pytest.mark.slow
@pytest.mark.parametrize("model_id", zoo.list_models(task="class-conditional"))
def test_conditional_family_learns_its_classes(model_id):
    model = tiny(model_id)
    assert len(model.config["class_names"]) == 3, "the registry's tiny model of a conditional id has 3 classes"
    images, labels = synthetic_labelled_lesions(384)
    pipe = zoo.pipeline_for(model)

    def head_accuracy(x, y) -> float:
        model.eval()
        return (model.classify(x).argmax(1) == y).float().mean().item()

    def class_distances() -> list[float]:
        return [sliced_wasserstein(pipe(num_images=48, labels=[k], seed=k).tensors * 2 - 1, images[labels == k][:48])
                for k in range(3)]

    acc_before, dist_before = head_accuracy(images, labels), class_distances()
    train_steps(model, images, steps=400, batch_size=32, progress=False, labels=labels)
    acc_after, dist_after = head_accuracy(images, labels), class_distances()
    fresh_images, fresh_labels = synthetic_labelled_lesions(192, seed=1)  # images the head never trained on
    acc_fresh = head_accuracy(fresh_images, fresh_labels)
    # Fresh samples: does the trained auxiliary head name the class each was generated for?
    per_class = [head_accuracy(pipe(num_images=64, labels=[k], seed=7).tensors * 2 - 1, torch.full((64,), k))
                 for k in range(3)]
    print(f"{model_id}: aux-head accuracy on real {acc_before:.2f} -> {acc_after:.2f}; per-class SWD "
          f"{[round(d, 3) for d in dist_before]} -> {[round(d, 3) for d in dist_after]}; "
          f"generated classified as their class: {[round(a, 2) for a in per_class]}")
    assert acc_after > 0.9 and acc_after > acc_before + 0.2 and acc_fresh > 0.9
    # Judged without the GAN's own head too: a separate classifier trained on the real images only.
    from zoo.evaluate.classifier import predict, train_classifier

    judge = train_classifier(((images + 1) * 127.5).round().to(torch.uint8), labels, 3, steps=150, seed=0,
                             progress=False)
    independent = [(predict(judge, (pipe(num_images=64, labels=[k], seed=11).tensors * 255).round().to(torch.uint8))
                    == k).float().mean().item() for k in range(3)]
    print(f"{model_id}: an independent classifier names the class of {[round(a, 2) for a in independent]}")
    # On average well above chance (1/3). The majority class's samples are the least distinct (about 0.1
    # when written), which D's head, the critic the generator was trained to please, does not show.
    assert sum(independent) / 3 > 0.5
    assert all(after < 0.5 * before for before, after in zip(dist_before, dist_after))  # minority classes too

"""Datasets for downstream training: real labelled images, on-the-fly synthetic ones, and their mix."""

import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

import zoo
from zoo.data import TrainingData
from zoo.data.datasets import item_seed
from zoo.models.latents import seeded_generator

PER_CLASS = {"mel": 5, "df": 3, "vasc": 0}


@pytest.fixture
def model(toys):
    torch.manual_seed(0)
    return zoo.create("toy-conditional", image_size=(8, 6))


def _items(dataset, order=None):
    return {i: dataset[i] for i in (range(len(dataset)) if order is None else order)}


def test_labels_follow_per_class_order_and_are_known_without_generating(model, monkeypatch):
    def refuse(*args):
        raise AssertionError("generated too early")

    monkeypatch.setattr(model, "generate", refuse)
    data = zoo.synthetic_dataset(model, {"mel": 2, 0: 3, "vasc": 0}, seed=1)
    assert len(data) == 5 and data.labels.dtype == torch.long
    assert data.labels.tolist() == [1, 1, 0, 0, 0]
    assert data.per_class == {"mel": 2, "df": 3, "vasc": 0}
    assert data.class_names == ("df", "mel", "vasc") and data.model is model


def test_items_are_unit_images_of_the_model_shape_and_class(model):
    data = zoo.synthetic_dataset(model, PER_CLASS, seed=3, batch_size=4)
    for i in range(len(data)):
        image, label = data[i]
        assert isinstance(label, int) and label == int(data.labels[i])
        assert image.shape == (3, 8, 6) and image.dtype == torch.float32 and image.device.type == "cpu"
        assert 0 <= image.min() and image.max() <= 1
        # What the model makes for this item's own latent and label, by hand.
        position = i - data.labels.tolist().index(label)  # its place within its class block
        z = model.sample_latents(1, seeded_generator(item_seed(3, label, position)))
        expected = (model.generate(z, torch.tensor([label])).detach()[0] + 1) / 2
        torch.testing.assert_close(image, expected, atol=1e-5, rtol=0)


def test_item_is_the_same_by_index_whatever_the_order_batch_size_or_instance(model):
    first = _items(zoo.synthetic_dataset(model, PER_CLASS, seed=7, batch_size=3))
    again = zoo.synthetic_dataset(model, PER_CLASS, seed=7, batch_size=3)
    order = list(range(len(again))) * 2
    random.Random(0).shuffle(order)
    for i in order:  # shuffled, each index twice, a fresh instance: bit-identical
        assert torch.equal(again[i][0], first[i][0])
    for batch_size in (1, 5, 64):
        other = _items(zoo.synthetic_dataset(model, PER_CLASS, seed=7, batch_size=batch_size))
        for i, (image, label) in other.items():
            torch.testing.assert_close(image, first[i][0], atol=1e-5, rtol=0)
            assert label == first[i][1]
    shifted = zoo.synthetic_dataset(model, PER_CLASS, seed=8)
    assert not torch.allclose(shifted[0][0], first[0][0])
    assert not torch.allclose(first[1][0], first[0][0])  # same class, its own latent


def test_more_of_one_class_leaves_the_other_classes_images_alone(model):
    few = zoo.synthetic_dataset(model, {"df": 2, "vasc": 3}, seed=4)
    many = zoo.synthetic_dataset(model, {"df": 9, "vasc": 3}, seed=4)
    for k in range(3):  # vasc images: items 2.. in one, 9.. in the other
        torch.testing.assert_close(few[2 + k][0], many[9 + k][0], atol=1e-5, rtol=0)


def test_reading_in_order_costs_one_forward_pass_per_chunk(model, monkeypatch):
    calls = []
    generate = model.generate
    monkeypatch.setattr(model, "generate", lambda z, labels: calls.append(len(z)) or generate(z, labels))
    data = zoo.synthetic_dataset(model, {"df": 7, "mel": 6}, batch_size=4)
    images = [image for image, _ in DataLoader(data, batch_size=3)]
    assert calls == [4, 4, 4, 1] and sum(len(b) for b in images) == 13
    data[12], data[8]  # the last two chunks are cached
    assert len(calls) == 4


def test_generation_is_in_eval_mode_without_grad_and_leaves_the_mode(model, monkeypatch):
    seen = []
    generate = model.generate
    monkeypatch.setattr(model, "generate",
                        lambda z, labels: seen.append((model.training, torch.is_grad_enabled())) or generate(z, labels))
    model.train()
    data = zoo.synthetic_dataset(model, {"df": 2})
    image, _ = data[0]
    assert seen == [(False, False)] and model.training and not image.requires_grad


def test_transform_applies_and_cannot_change_the_cache(model):
    data = zoo.synthetic_dataset(model, {"df": 2}, transform=lambda x: x.mul_(0))
    assert data[0][0].abs().sum() == 0
    data.transform = None
    assert data[0][0].abs().sum() > 0


def test_dataloader_workers_give_the_same_items(model):
    data = zoo.synthetic_dataset(model, PER_CLASS, seed=2, batch_size=3)
    expected = torch.stack([data[i][0] for i in range(len(data))])
    fresh = zoo.synthetic_dataset(model, PER_CLASS, seed=2, batch_size=3)
    batches = list(DataLoader(fresh, batch_size=2, num_workers=2))
    images = torch.cat([b[0] for b in batches])
    labels = torch.cat([b[1] for b in batches])
    torch.testing.assert_close(images, expected, atol=1e-6, rtol=0)
    assert labels.tolist() == data.labels.tolist()


def test_ids_folders_and_pipelines_are_accepted(model, tmp_path):
    model.save_pretrained(tmp_path / "m")
    by_model = zoo.synthetic_dataset(model, {"vasc": 2}, seed=4)
    by_folder = zoo.synthetic_dataset(tmp_path / "m", {"vasc": 2}, seed=4, device="cpu")
    by_pipeline = zoo.synthetic_dataset(zoo.pipeline_for(model), {2: 2}, seed=4)
    for other in (by_folder, by_pipeline):
        torch.testing.assert_close(other[1][0], by_model[1][0])
        assert other.labels.tolist() == [2, 2]


@pytest.mark.parametrize("per_class, message", [
    ({"nv": 3}, "unknown class 'nv' for toy-conditional; its classes are ['df', 'mel', 'vasc']"),
    ({3: 1}, "unknown class 3"),
    ({True: 1}, "unknown class True"),
    ({"df": -1}, "the count of class 'df' must be a whole number >= 0, got -1"),
    ({"df": 1.5}, "must be a whole number"),
    ({"df": 1, 0: 2}, "class 'df' is given twice"),
    (["df"], "per_class must be a dict"),
])
def test_bad_per_class_is_a_clear_error(model, per_class, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        zoo.synthetic_dataset(model, per_class)


def test_other_bad_arguments(model):
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        zoo.synthetic_dataset(model, {"df": 1}, batch_size=0)
    with pytest.raises(ValueError, match="truncation must be > 0"):
        zoo.synthetic_dataset(model, {"df": 1}, truncation=0)
    with pytest.raises(IndexError, match="out of range"):
        zoo.synthetic_dataset(model, {"df": 1})[1]
    assert len(zoo.synthetic_dataset(model, {})) == 0


def test_an_unconditional_model_is_refused():
    dcgan = zoo.create("dcgan-lesions", image_size=(16, 16))
    with pytest.raises(ValueError, match="dcgan-lesions is a unconditional model; a synthetic dataset needs a "
                                         "class-conditional one"):
        zoo.synthetic_dataset(dcgan, {"mel": 1})


def test_a_cuda_model_in_a_worker_is_a_clear_error(model, monkeypatch):
    import zoo.data.datasets

    monkeypatch.setattr(type(model), "device", property(lambda self: torch.device("cuda")))
    monkeypatch.setattr(zoo.data.datasets, "get_worker_info", lambda: object())
    with pytest.raises(RuntimeError, match="num_workers=0"):
        zoo.synthetic_dataset(model, {"df": 1})[0]


def test_materialize_keeps_the_pixels_as_uint8(model):
    data = zoo.synthetic_dataset(model, PER_CLASS, seed=5, batch_size=4)
    kept = data.materialize()
    assert isinstance(kept, zoo.LabelledImages) and kept.images.dtype == torch.uint8
    assert torch.equal(kept.labels, data.labels) and kept.class_names == data.class_names
    for i in range(len(data)):
        torch.testing.assert_close(kept[i][0], data[i][0], atol=0.5 / 255 + 1e-6, rtol=0)
        assert kept[i][1] == data[i][1]


def _real(n=6, names=("df", "mel", "vasc")):
    images = torch.arange(n * 3 * 8 * 6, dtype=torch.int64).remainder(256).to(torch.uint8).view(n, 3, 8, 6)
    return TrainingData({"image": images, "label": torch.arange(n) % len(names)}, tuple(names))


def test_labelled_images():
    data = _real()
    real = zoo.LabelledImages(data, transform=lambda x: x * 2)
    assert len(real) == 6 and real.class_names == ("df", "mel", "vasc") and real.labels.tolist() == [0, 1, 2] * 2
    image, label = real[4]
    assert label == 1 and image.dtype == torch.float32
    torch.testing.assert_close(image, data.tensors["image"][4].float() / 255 * 2)
    with pytest.raises(ValueError, match="load the folder as class-conditional"):
        zoo.LabelledImages(TrainingData({"image": data.tensors["image"]}))


def test_mix_has_the_asked_synthetic_share_and_labels(model):
    real = zoo.LabelledImages(_real(9))
    fake = zoo.synthetic_dataset(model, {"df": 10, "vasc": 10}, seed=1)
    mixed = zoo.mix_datasets(real, fake, synthetic_fraction=0.25, seed=3)
    assert len(mixed) == 12 and int(mixed.is_synthetic.sum()) == 3 and mixed.class_names == real.class_names
    assert mixed.labels.tolist() == [mixed[i][1] for i in range(len(mixed))]
    assert mixed.labels[:9].tolist() == real.labels.tolist()
    torch.testing.assert_close(mixed[0][0], real[0][0])
    # The synthetic part: a seeded choice without replacement, in index order.
    chosen = mixed.datasets[1].indices
    assert chosen == sorted(set(chosen)) and len(chosen) == 3
    assert zoo.mix_datasets(real, fake, 0.25, seed=3).datasets[1].indices == chosen
    assert zoo.mix_datasets(real, fake, 0.25, seed=4).datasets[1].indices != chosen
    torch.testing.assert_close(mixed[9][0], fake[chosen[0]][0])
    # What the labels are for: a class-balanced sampler over the mix.
    counts = torch.bincount(mixed.labels, minlength=3).float()
    sampler = WeightedRandomSampler((1 / counts)[mixed.labels], num_samples=12, generator=seeded_generator(0))
    images, labels = next(iter(DataLoader(mixed, batch_size=12, sampler=sampler)))
    assert images.shape == (12, 3, 8, 6)


def test_mix_edges_and_errors(model):
    real = zoo.LabelledImages(_real(9))
    fake = zoo.synthetic_dataset(model, {"df": 2, "mel": 2}, seed=1)
    assert len(zoo.mix_datasets(real, fake, 0)) == 9
    assert len(zoo.mix_datasets(real, fake, 0.3)) == 9 + 4  # round(9 * 0.3 / 0.7) = 4
    for bad in (1, 1.0, -0.1, float("nan"), True):
        with pytest.raises(ValueError, match=r"synthetic_fraction must be in \[0, 1\)"):
            zoo.mix_datasets(real, fake, bad)
    with pytest.raises(ValueError, match="needs 9 synthetic images, but the synthetic dataset has 4; raise its "
                                         "per_class counts to 9 in all"):
        zoo.mix_datasets(real, fake, 0.5)
    other = zoo.LabelledImages(_real(4, ("a", "b")))
    with pytest.raises(ValueError, match="differ, so label indices would mean different classes"):
        zoo.mix_datasets(other, fake, 0.2)


def test_zoo_generate_class_writes_the_synthetic_datasets_images(model, tmp_path, monkeypatch):
    from PIL import Image

    import zoo.cli

    monkeypatch.setattr(zoo, "load", lambda *a, **k: zoo.pipeline_for(model))
    assert zoo.cli.main(["generate", "toy-conditional", "--class", "vasc", "df", "-n", "4", "-o", str(tmp_path),
                         "--seed", "5"]) == 0
    data = zoo.synthetic_dataset(model, {"vasc": 2, "df": 2}, seed=5)
    for i, name in enumerate(["vasc-seed5-0000", "vasc-seed5-0001", "df-seed5-0000", "df-seed5-0001"]):
        [path] = tmp_path.glob(f"*-{name}.png")
        written = torch.from_numpy(np.array(Image.open(path))).permute(2, 0, 1).float() / 255
        assert torch.allclose(written, data[i][0], atol=1 / 255 + 1e-6)  # the same latent, rounded to 8 bits

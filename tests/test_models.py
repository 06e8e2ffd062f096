"""Every registered model, built-in or toy, is created, run and round-tripped through a folder.

Parametrized over ``zoo.list_models()``: a new family is covered here without writing a test.
"""

import json

import pytest
import torch
from conftest import tiny
from huggingface_hub import ModelCard

import zoo
from zoo.pipelines import pipeline_for

TOY_IDS = ["toy-conditional", "toy-edit", "toy-translate"]


@pytest.fixture(params=zoo.list_models() + TOY_IDS)
def model_id(request, toys):
    return request.param


def run(pipe, seed=1):
    """Call a pipeline the way its task is used, with fixed inputs; returns the output."""
    h, w = pipe.image_size
    if pipe.task == "unconditional":
        return pipe(num_images=3, seed=seed)
    if pipe.task == "class-conditional":
        return pipe(num_images=3, labels=[pipe.class_names[-1], 0], seed=seed)
    image = torch.rand(pipe.channels, h + 5, w + 3, generator=torch.Generator().manual_seed(seed))
    if pipe.task == "masked-edit":
        mask = torch.zeros(1, h + 5, w + 3)
        mask[:, 2:-2, 1:-3] = 1
        return pipe(image, mask, mode=pipe.model.config.get("direction", "remove"))  # one-way editors
    return pipe([image, image[:, :-2]], direction=list(pipe.directions)[-1])  # e.g. BtoA, or a named one


def test_create_run_save_load_identical(model_id, tmp_path):
    model = tiny(model_id)
    spec = zoo.info(model_id)
    assert model.config == {**spec.config, **spec.tiny}  # constructor arguments recorded as the config
    out = run(pipeline_for(model))
    tensors = out.tensors if isinstance(out.tensors, list) else list(out.tensors)
    for image, t in zip(out.images, tensors, strict=True):
        assert torch.isfinite(t).all() and 0 <= t.min() and t.max() <= 1
        assert image.size == (t.shape[-1], t.shape[-2])
    if spec.task in ("unconditional", "class-conditional"):
        assert tuple(out.tensors.shape) == (3, model.channels, *model.image_size)

    model.save_pretrained(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted(["config.json", "README.md"] + [f"{n}.safetensors" for n in model.networks()])
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["model_id"], config["family"], config["task"]) == (model_id, spec.family, spec.task)
    assert all(config[k] == json.loads(json.dumps(v)) for k, v in model.config.items())

    loaded = zoo.load(str(tmp_path))
    assert loaded.model.model_id == model_id and type(loaded.model) is type(model)
    again = run(loaded)
    expected = out.tensors if isinstance(out.tensors, list) else [out.tensors]
    got = again.tensors if isinstance(again.tensors, list) else [again.tensors]
    for a, b in zip(expected, got, strict=True):
        assert torch.equal(a, b)


def test_model_card_is_honest(model_id, tmp_path):
    zoo.create(model_id).save_pretrained(tmp_path)
    card = ModelCard.load(tmp_path / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "medgan-zoo"
    assert {"medical", "gan", zoo.info(model_id).family} <= set(data["tags"])
    assert data["pipeline_tag"] in ("unconditional-image-generation", "image-to-image")
    assert data["license"]
    for section in ("## Intended use", "**Not for diagnosis.**", "## Training data", "## Limitations", "## Metrics"):
        assert section in card.text


def test_inference_only_save_leaves_discriminators_out_and_loads(tmp_path):
    model = zoo.create("dcgan-lesions")
    model.save_pretrained(tmp_path, inference_only=True)
    assert not (tmp_path / "discriminator.safetensors").exists()
    pipe = zoo.load(str(tmp_path))
    # A discriminator that was never loaded nor trained is not written back as if it were real.
    pipe.save_pretrained(tmp_path / "again")
    assert not (tmp_path / "again" / "discriminator.safetensors").exists()
    assert (tmp_path / "again" / "generator.safetensors").exists()


def test_overrides_change_the_architecture_and_survive_a_round_trip(tmp_path):
    model = zoo.create("dcgan-lesions", image_size=(48, 80), d_scales=2)
    assert model.generate(torch.randn(2, 100)).shape == (2, 3, 48, 80)
    assert model.discriminator(torch.randn(2, 3, 48, 80)).shape == (2,)
    model.save_pretrained(tmp_path)
    pipe = zoo.load(str(tmp_path))
    assert pipe(num_images=1).images[0].size == (80, 48)
    assert pipe.model.config["d_scales"] == 2 and len(pipe.model.discriminator.scales) == 2


@pytest.mark.parametrize("model_id", [m for m in zoo.list_models() if zoo.info(m).has_embedded_weights])
def test_embedded_weights_say_whether_they_are_trained(model_id):
    spec = zoo.info(model_id)
    pipe = zoo.load(model_id)
    assert pipe.model.model_id == model_id and pipe.model.trained == spec.trained
    card = (spec.weights / "README.md").read_text()
    assert ("**Untrained.**" in card) == (not spec.trained)
    for image in spec.images:  # the pictures the card shows are shipped beside it
        assert (spec.weights / image["file"]).is_file() and f"]({image['file']})" in card


def test_trained_generators_state_fid_beside_the_real_data_floor():
    for model_id in zoo.list_models(task="unconditional") + zoo.list_models(task="class-conditional"):
        names = {m.name for m in zoo.info(model_id).metrics}
        assert {"FID", "FID real-data floor", "KID", "precision", "recall"} <= names, model_id


def test_load_to_dtype():
    pipe = zoo.load("dcgan-lesions", dtype="float64")
    assert pipe.model.dtype == torch.float64
    assert pipe(num_images=2).tensors.dtype == torch.float32


EMBEDDED = [m for m in zoo.list_models() if zoo.info(m).has_embedded_weights]


@pytest.mark.parametrize("model_id", EMBEDDED)
def test_embedded_weights_load_and_their_card_is_current(model_id):
    spec = zoo.info(model_id)
    pipe = zoo.load(model_id)
    assert pipe.model.model_id == model_id and pipe.model.registry_weights
    card = (spec.weights / "README.md").read_text()
    assert card == str(pipe.model.generate_model_card()), "re-run scripts/embed_untrained.py or embed_run.py"
    assert ("**Untrained.**" in card) == (not spec.trained)
    for metric in spec.metrics:  # a trained entry states what was measured, and how
        assert metric.command in card


def test_cards_follow_the_weights_not_just_the_id(tmp_path):
    # registry's own weights: the entry's facts
    card = str(zoo.load("dcgan-lesions").model.generate_model_card())
    assert zoo.info("dcgan-lesions").training_data in card and "**Untrained.**" not in card
    # freshly created: untrained, and says so
    created = zoo.create("dcgan-lesions", image_size=(16, 16))
    card = str(created.generate_model_card())
    assert "**Untrained.**" in card and "None: these weights are an untrained initialisation." in card
    # trained by the user (the Trainer marks it): no untrained banner, no borrowed training data
    created.mark_trained()
    card = str(created.generate_model_card())
    assert "**Untrained.**" not in card and zoo.info("dcgan-lesions").training_data not in card
    assert "Not stated by the uploader" in card
    created.save_pretrained(tmp_path, model_card_kwargs={"training_data": "400 lesions of our clinic"})
    reloaded = zoo.load(str(tmp_path))
    assert reloaded.model.trained and "400 lesions of our clinic" in (tmp_path / "README.md").read_text()


def test_train_and_eval_modes_change_no_provenance(tmp_path):
    """Switching layer modes is not training: the card keeps the registry's facts and no absent
    (randomly initialised) discriminator is saved as if it were trained."""
    model = zoo.load("sngan-lesions").model
    assert "discriminator" in model.absent_networks
    model.train()
    model.eval()
    assert model.registry_weights and not model.absent_networks.isdisjoint({"discriminator"})
    assert zoo.info("sngan-lesions").training_data in str(model.generate_model_card())
    model.save_pretrained(tmp_path)
    assert not (tmp_path / "discriminator.safetensors").exists()
    assert zoo.info("sngan-lesions").training_data in (tmp_path / "README.md").read_text()


def test_the_trainer_sets_provenance_when_it_takes_the_model():
    from zoo.training import train_steps

    model = zoo.load("sngan-lesions").model
    train_steps(model, torch.rand(4, 3, 64, 64) * 2 - 1, steps=0, batch_size=4, progress=False)
    assert model.trained and not model.registry_weights and not model.absent_networks
    assert zoo.info("sngan-lesions").training_data not in str(model.generate_model_card())


def test_saving_again_into_a_folder_replaces_old_files(tmp_path):
    zoo.create("dcgan-lesions", g_features=32).save_pretrained(tmp_path)
    zoo.create("dcgan-lesions", g_features=16, d_features=16).save_pretrained(tmp_path, inference_only=True)
    assert not (tmp_path / "discriminator.safetensors").exists()
    assert zoo.load(str(tmp_path)).model.config["g_features"] == 16


def test_too_many_discriminator_scales_fail_at_construction():
    with pytest.raises(zoo.ConfigError, match="num_scales=4 does not fit 16 x 16"):
        zoo.create("dcgan-lesions", image_size=16, d_scales=4)
    assert zoo.create("dcgan-lesions", image_size=32).config["image_size"] == 32


def test_measured_metrics_go_to_model_index(tmp_path):
    model = zoo.create("dcgan-lesions", image_size=16)
    model.train()
    metric = zoo.Metric(name="SWD", value=0.1, dataset="synthetic lesions 16px",
                        command="pytest tests/test_learning.py -s")
    model.save_pretrained(tmp_path, model_card_kwargs={"metrics": [metric]})
    card = ModelCard.load(tmp_path / "README.md")
    (result,) = card.data.eval_results
    assert (result.metric_name, result.metric_value, result.dataset_type) == ("SWD", 0.1, "synthetic-lesions-16px")
    assert "| SWD | 0.1 | synthetic lesions 16px | `pytest tests/test_learning.py -s` |" in card.text


@pytest.mark.parametrize("size", [(287, 508), (45, 70), (33, 17), (128, 256)])
@pytest.mark.parametrize("model_id", [m for m in zoo.list_models(task="unconditional")])
def test_odd_sizes_come_out_exact(model_id, size):
    adversarial = zoo.info(model_id).model_class.adversarial
    model = tiny(model_id, image_size=size, **({"g_features": 16, "d_features": 16} if adversarial else {}))
    images = model.generate(model.sample_latents(2, torch.Generator().manual_seed(0)))
    assert tuple(images.shape) == (2, model.channels, *size)
    if adversarial:
        assert model.discriminator(images).shape == (2,)

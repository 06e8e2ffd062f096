"""Push and pull with the real huggingface_hub client against a loopback Hub, then offline."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from huggingface_hub import HfApi, ModelCard

import zoo


def small_dcgan(seed: int):
    torch.manual_seed(seed)
    return zoo.pipeline_for(zoo.create("dcgan-lesions", g_features=32, d_features=32))


def samples(pipe):
    return pipe(num_images=2, seed=0).tensors


def test_push_load_pin_revision_then_offline_from_cache(fake_hub):
    first = small_dcgan(0)
    first.push_to_hub("lab/dcgan", private=True)
    repo = fake_hub.repos["lab/dcgan"]
    assert repo.private
    files = set(HfApi().list_repo_files("lab/dcgan"))
    assert {"config.json", "generator.safetensors", "discriminator.safetensors", "README.md"} <= files
    card = ModelCard.load("lab/dcgan")
    assert card.data.library_name == "medgan-zoo" and "**Not for diagnosis.**" in card.text

    pulled = zoo.load("lab/dcgan")
    assert torch.equal(samples(pulled), samples(first))
    assert pulled.model.model_id == "dcgan-lesions"
    first_sha = HfApi().model_info("lab/dcgan").sha

    second = small_dcgan(1)
    second.push_to_hub("lab/dcgan")
    assert torch.equal(samples(zoo.load("lab/dcgan")), samples(second))
    assert torch.equal(samples(zoo.load("lab/dcgan", revision=first_sha)), samples(first))

    first.push_to_hub("lab/dcgan", revision="v1", inference_only=True)
    assert "v1" in repo.branches
    assert "discriminator.safetensors" not in HfApi().list_repo_files("lab/dcgan", revision="v1")
    assert torch.equal(samples(zoo.load("lab/dcgan", revision="v1")), samples(first))

    # Offline: the server is gone and HF_HUB_OFFLINE=1; everything loaded before still loads.
    seen = len(fake_hub.requests)
    fake_hub.stop()
    fake_hub.go_offline()
    assert torch.equal(samples(zoo.load("lab/dcgan")), samples(second))
    assert torch.equal(samples(zoo.load("lab/dcgan", revision=first_sha)), samples(first))
    assert len(fake_hub.requests) == seen
    with pytest.raises(zoo.ZooError, match="not in the Hugging Face cache"):
        zoo.load("lab/never-downloaded")


def test_registered_id_without_embedded_weights_comes_from_its_hub_repo(fake_hub):
    small_dcgan(3).push_to_hub("lab/hosted")
    from medgan_zoo_plugins.dcgan.model import DCGAN

    @zoo.hookimpl
    def zoo_register_models(registry):
        registry.register(zoo.ModelSpec(id="hosted-lesions", model_class=DCGAN, modality="dermoscopy",
                                        defaults={"g_features": 32, "d_features": 32}, hub_repo="lab/hosted"))

    registry = zoo.get_registry()
    registry.add_plugin(SimpleNamespace(zoo_register_models=zoo_register_models), "hosted")
    try:
        assert torch.equal(samples(zoo.load("hosted-lesions")), samples(small_dcgan(3)))
    finally:
        registry.remove_plugin("hosted")


def test_hub_errors_are_explained(fake_hub, tmp_path):
    api = HfApi()
    with pytest.raises(zoo.ZooError, match="'lab/nothing' not found"):
        zoo.load("lab/nothing")
    small_dcgan(0).push_to_hub("lab/real")
    with pytest.raises(zoo.ZooError, match="no revision 'v9'"):
        zoo.load("lab/real", revision="v9")

    api.create_repo("lab/not-a-model")
    (tmp_path / "notes.txt").write_text("hello")
    api.upload_file(path_or_fileobj=str(tmp_path / "notes.txt"), path_in_repo="notes.txt", repo_id="lab/not-a-model")
    with pytest.raises(zoo.ConfigError, match="has no config.json"):
        zoo.load("lab/not-a-model")

    # A repo that only offers a pickle is refused: the pickle is never even downloaded.
    folder = tmp_path / "pickled"
    small_dcgan(0).model.save_pretrained(folder)
    (folder / "generator.safetensors").rename(folder / "generator.bin")
    api.create_repo("lab/pickled")
    api.upload_folder(repo_id="lab/pickled", folder_path=str(folder))
    with pytest.raises(zoo.WeightsError, match="has no generator.safetensors.*never unpickles"):
        zoo.load("lab/pickled")
    assert not any(r.path.endswith("generator.bin") for r in fake_hub.requests)


@pytest.mark.slow
def test_cli_push_respects_hf_endpoint(fake_hub, tmp_path):
    folder = tmp_path / "mine"
    small_dcgan(5).save_pretrained(folder)
    (folder / "README.md").write_text((folder / "README.md").read_text() + "\nLab notes: kept as written.\n")
    env = {**os.environ, "HF_ENDPOINT": fake_hub.endpoint}
    env.pop("HF_HUB_OFFLINE", None)
    zoo_script = Path(sys.executable).with_name("zoo")
    done = subprocess.run([str(zoo_script), "push", str(folder), "--repo", "lab/cli", "--revision", "v2"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "pushed" in done.stdout
    repo = fake_hub.repos["lab/cli"]
    assert "v2" in repo.branches
    readme = repo.commits[repo.branches["v2"]].files["README.md"].decode()
    assert readme.endswith("Lab notes: kept as written.\n")
    assert torch.equal(samples(zoo.load("lab/cli", revision="v2")), samples(small_dcgan(5)))

    # push of a registered id sends its embedded weights
    done = subprocess.run([str(zoo_script), "push", "dcgan-lesions", "--repo", "lab/embedded"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert torch.equal(samples(zoo.load("lab/embedded")), samples(zoo.load("dcgan-lesions")))


def test_dcgan_whole_way_create_train_save_push_load_generate(fake_hub, tmp_path):
    from test_learning import synthetic_lesions

    from zoo.training import train_steps

    model = zoo.create("dcgan-lesions", image_size=(16, 24), g_features=32, d_features=32)
    before = zoo.pipeline_for(model)(num_images=4, seed=0).tensors
    history = train_steps(model, synthetic_lesions(64, size=24)[..., 4:20, :], steps=5, batch_size=16, progress=False)
    assert len(history) == 5
    trained = zoo.pipeline_for(model)
    after = trained(num_images=4, seed=0).tensors
    assert not torch.equal(before, after)  # the steps changed the generator

    trained.save_pretrained(tmp_path / "run")
    zoo.load(str(tmp_path / "run")).push_to_hub("lab/dcgan-run")
    assert torch.equal(zoo.load("lab/dcgan-run")(num_images=4, seed=0).tensors, after)  # from the Hub
    fake_hub.stop()
    fake_hub.go_offline()
    out = zoo.load("lab/dcgan-run")(num_images=4, seed=0)  # from the cache alone
    assert torch.equal(out.tensors, after)
    assert out.images[0].size == (24, 16)


def test_push_folder_sends_only_model_files_and_save_pretrained_can_push(fake_hub, tmp_path):
    folder = tmp_path / "run"
    small_dcgan(0).save_pretrained(folder)
    (folder / "optimizer.pt").write_bytes(b"\x80pickle")
    (folder / "events.out.tfevents").write_text("log")
    (folder / "checkpoints" / "step-0000002").mkdir(parents=True)  # training state: never uploaded
    (folder / "checkpoints" / "step-0000002" / "model.safetensors").write_bytes(b"x")
    from zoo.cli import main

    assert main(["push", str(folder), "--repo", "lab/run"]) == 0
    files = set(HfApi().list_repo_files("lab/run"))
    assert {"config.json", "generator.safetensors", "discriminator.safetensors", "README.md"} <= files
    assert "optimizer.pt" not in files and "events.out.tfevents" not in files
    assert not any(name.startswith("checkpoints/") for name in files)

    small_dcgan(1).save_pretrained(tmp_path / "direct", push_to_hub=True, repo_id="lab/direct")
    assert torch.equal(samples(zoo.load("lab/direct")), samples(small_dcgan(1)))
    card = ModelCard.load("lab/direct")
    assert 'zoo.load("lab/direct")' in card.text


def test_cli_card_of_a_hub_repo_at_a_revision(fake_hub, capsys):
    from zoo.cli import main

    pipe = zoo.pipeline_for(zoo.create("dcgan-lesions", g_features=8, d_features=8))
    pipe.push_to_hub("lab/card", model_card_kwargs={"training_data": "first card"})
    pipe.push_to_hub("lab/card", revision="v2", model_card_kwargs={"training_data": "second card"})
    assert main(["card", "lab/card", "--revision", "v2"]) == 0
    out = capsys.readouterr().out
    assert "second card" in out and "first card" not in out
    assert main(["card", "lab/card"]) == 0 and "first card" in capsys.readouterr().out

"""The `zoo` command line, run in-process through zoo.cli.main and once as a real console script."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.cli import EXAMPLES, main


def test_list_and_filters(capsys):
    assert main(["list"]) == 0
    assert "dcgan-lesions" in capsys.readouterr().out
    assert main(["list", "*lesion*", "--task", "unconditional", "--family", "dcgan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["dcgan-lesions"]
    assert main(["list", "--task", "masked-edit", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["eczema-add", "eczema-remove", "lesion-add", "lesion-remove"]
    assert main(["list", "--task", "masked-edit", "--family", "dcgan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_info_json(capsys):
    assert main(["info", "dcgan-lesions", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["family"] == "dcgan" and facts["image_size"] == [64, 64] and facts["trained"] is True
    assert facts["config"]["latent_dim"] == 100


def test_generate_writes_pngs(tmp_path, capsys):
    assert main(["generate", "dcgan-lesions", "-n", "3", "-o", str(tmp_path),
                 "--seed", "5", "--truncation", "0.7"]) == 0
    files = sorted(tmp_path.glob("*.png"))
    assert [f.name for f in files] == [f"dcgan-lesions-seed5-{i:04d}.png" for i in range(3)]
    assert Image.open(files[0]).size == (64, 64)


def test_errors_are_one_clear_line(capsys, tmp_path):
    assert main(["generate", "dcgan-lesion", "-n", "1", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo generate: error: unknown model id") and "Did you mean 'dcgan-lesions'" in err
    assert "Traceback" not in err


def test_card_prints_the_model_card(capsys):
    assert main(["card", "dcgan-lesions"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("---\n") and "pipeline_tag: unconditional-image-generation" in out
    assert "**Not for diagnosis.**" in out


@pytest.mark.parametrize("verb", sorted(EXAMPLES))
def test_every_verb_help_shows_an_example(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([verb, "--help"])
    assert exit_.value.code == 0
    assert f"example:\n  {EXAMPLES[verb]}" in capsys.readouterr().out


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("zoo")  # the venv's bin/zoo, next to its python
    done = subprocess.run([str(script), "list", "--json"], capture_output=True, text=True, check=True)
    assert "dcgan-lesions" in json.loads(done.stdout)


def test_import_zoo_is_light():
    code = (
        "import sys, zoo; zoo.list_models(); zoo.load('dcgan-lesions')(num_images=1);"
        "heavy = [m for m in ('gradio', 'accelerate', 'diffusers', 'tensorboard') if m in sys.modules];"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("argv", [["-n", "0"], ["--batch-size", "0"], ["--truncation", "-1"]])
def test_bad_numbers_are_argument_errors(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "dcgan-lesions", "-o", str(tmp_path), *argv])
    assert exit_.value.code == 2 and "must be" in capsys.readouterr().err


def test_output_path_that_is_a_file_and_labels_on_unconditional(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert main(["generate", "dcgan-lesions", "-n", "1", "-o", str(blocker)]) == 2
    assert capsys.readouterr().err.startswith("zoo generate: error:")
    assert main(["generate", "dcgan-lesions", "-n", "1", "-o", str(tmp_path / "o"), "--labels", "mel"]) == 2
    assert "--labels needs a class-conditional model" in capsys.readouterr().err


def test_card_of_a_folder_is_its_own_readme(tmp_path, capsys):
    import zoo

    zoo.create("dcgan-lesions", image_size=16).save_pretrained(tmp_path)
    (tmp_path / "README.md").write_text("# our own card\n")
    assert main(["card", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "# our own card\n\n"


def test_devices_this_machine_lacks_are_clear_errors(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["generate", "dcgan-lesions", "-n", "1", "-o", str(tmp_path), "--device", "cuda"]) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err
    assert main(["generate", "dcgan-lesions", "-n", "1", "-o", str(tmp_path), "--device", "gpu0"]) == 2
    assert "unknown device 'gpu0'" in capsys.readouterr().err


def test_generate_refuses_an_image_to_image_model(tmp_path, capsys, toys):
    import zoo

    zoo.create("toy-translate").save_pretrained(tmp_path / "m")
    assert main(["generate", str(tmp_path / "m"), "-n", "1", "-o", str(tmp_path / "o")]) == 2
    assert "unpaired-translation model: it edits images" in capsys.readouterr().err


def _conditional_folder(tmp_path):
    import zoo

    zoo.create("toy-conditional").save_pretrained(tmp_path / "m")
    return str(tmp_path / "m")


def test_generate_by_class_writes_labels_csv_that_training_data_reads(tmp_path, capsys, toys):
    from zoo.data import load_training_data

    model, out = _conditional_folder(tmp_path), tmp_path / "out"
    assert main(["generate", model, "--class", "df", "--class", "vasc", "-n", "3", "-o", str(out)]) == 0
    assert "and their classes to" in capsys.readouterr().out
    # A second run adds its rows under the same header; a rerun of the first adds none.
    assert main(["generate", model, "--labels", "mel", "-n", "2", "-o", str(out), "--seed", "1"]) == 0
    assert main(["generate", model, "--class", "df", "--class", "vasc", "-n", "3", "-o", str(out)]) == 0
    rows = (out / "labels.csv").read_text().splitlines()
    # Numbered within each class: the image's (seed, class, position) is its identity, as in zoo.synthetic_dataset.
    assert rows == ["file,dx", "toy-conditional-df-seed0-0000.png,df", "toy-conditional-vasc-seed0-0000.png,vasc",
                    "toy-conditional-df-seed0-0001.png,df", "toy-conditional-mel-seed1-0000.png,mel",
                    "toy-conditional-mel-seed1-0001.png,mel"]
    names = ("df", "mel", "vasc")
    data = load_training_data(out, "class-conditional", (8, 8), 3, class_names=names, progress=False)
    labels = {Path(f).name: names[i] for f, i in zip(data.files, data.tensors["label"].tolist())}
    assert labels == dict(row.split(",") for row in rows[1:])


def test_generate_label_column_and_csv_errors(tmp_path, capsys, toys):
    model, out = _conditional_folder(tmp_path), tmp_path / "out"
    assert main(["generate", model, "-n", "3", "-o", str(out), "--label-column", "label"]) == 0
    assert (out / "labels.csv").read_text().splitlines()[0] == "file,label"
    assert sorted(p.name for p in out.glob("*.png"))[0] == "toy-conditional-df-seed0-0000.png"  # default: every class
    assert "holds untrained weights" in capsys.readouterr().err  # the toy's weights are a random initialisation
    assert main(["generate", model, "-n", "1", "-o", str(out)]) == 2  # default column dx, but the csv has label
    err = capsys.readouterr().err
    assert err.startswith("zoo generate: error:") and "has the columns ['file', 'label'], not ['file', 'dx']" in err
    assert main(["generate", model, "--class", "nv", "-n", "1", "-o", str(out)]) == 2
    assert "unknown class 'nv'" in capsys.readouterr().err
    assert main(["generate", "dcgan-lesions", "-n", "1", "-o", str(tmp_path / "u"), "--label-column", "dx"]) == 2
    assert "--label-column needs a class-conditional model" in capsys.readouterr().err
    assert not (tmp_path / "u" / "labels.csv").exists()


def test_translate_in_bfloat16_keeps_size_and_the_unmasked_pixels(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((40, 52, 3)) * 255).astype("uint8")).save(tmp_path / "skin.png")
    mask = np.zeros((40, 52), "uint8")
    mask[10:20, 12:30] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    assert main(["translate", "eczema-remove", str(tmp_path / "skin.png"), "--mask", str(tmp_path / "mask.png"),
                 "-o", str(tmp_path / "out"), "--dtype", "bfloat16"]) == 0
    out = np.asarray(Image.open(tmp_path / "out" / "skin-remove.png"))
    source = np.asarray(Image.open(tmp_path / "skin.png"))
    assert out.shape == source.shape and (out[mask == 0] == source[mask == 0]).all()
    # --grow-mask: the edit may reach 2 px further; beyond that the pixels still come back unchanged
    assert main(["translate", "eczema-remove", str(tmp_path / "skin.png"), "--mask", str(tmp_path / "mask.png"),
                 "-o", str(tmp_path / "grown"), "--grow-mask", "2"]) == 0
    grown = np.asarray(Image.open(tmp_path / "grown" / "skin-remove.png"))
    keep = np.ones((40, 52), bool)
    keep[8:22, 10:32] = False
    ring = ~keep & (mask == 0)  # edited only because the mask grew
    assert (grown[keep] == source[keep]).all() and (grown[ring] != source[ring]).any()


def test_generate_streams_one_batch_at_a_time(tmp_path, monkeypatch):
    """-n N holds one batch in memory: each batch is written before the next is made."""
    from zoo.pipelines import GenerationPipeline

    out, seen = tmp_path / "out", []
    original = GenerationPipeline.from_latents

    def spy(self, z, labels=None, batch_size=64, progress=None):
        seen.append((len(z), len(list(out.glob("*.png")))))  # images asked for, files already written
        return original(self, z, labels, batch_size, progress)

    monkeypatch.setattr(GenerationPipeline, "from_latents", spy)
    assert main(["generate", "dcgan-lesions", "-n", "10", "--batch-size", "4", "-o", str(out)]) == 0
    assert seen == [(4, 0), (4, 4), (2, 8)] and len(list(out.glob("*.png"))) == 10
    # the same images as one call of the pipeline with that seed
    whole = zoo.load("dcgan-lesions")(num_images=10, seed=0).tensors
    first = torch.from_numpy(np.asarray(Image.open(out / "dcgan-lesions-seed0-0009.png"))).permute(2, 0, 1) / 255
    assert torch.allclose(first, whole[9], atol=1 / 255)


def test_an_output_folder_named_like_an_id_does_not_shadow_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the second call finds ./dcgan-lesions (its own output) and still loads the id
        assert main(["generate", "dcgan-lesions", "-n", "2", "-o", "dcgan-lesions"]) == 0
    assert len(list((tmp_path / "dcgan-lesions").glob("*.png"))) == 2
    zoo.create("sngan-lesions", image_size=16, g_features=8, d_features=8).save_pretrained(tmp_path / "sngan-lesions")
    with pytest.warns(UserWarning, match="both a registered id and a model folder here; loading the folder"):
        assert zoo.load("sngan-lesions").image_size == (16, 16)
    (tmp_path / "runs").mkdir()
    with pytest.raises(zoo.ConfigError, match="no such folder: runs/dcgan .runs exists"):
        zoo.load("runs/dcgan")  # a missing local folder, never a Hub download

"""zoo.evaluate.augmentation_benefit: end to end on tiny folders, scored on held-out images only."""

import argparse
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.data import DataError, TrainingData, load_training_data, split_by_group
from zoo.evaluate import (
    DEFAULT_CONDITIONS,
    accuracy,
    augmentation_benefit,
    balanced_accuracy,
    confusion_matrix,
    macro_f1,
    per_class_f1,
    per_class_recall,
)
from zoo.evaluate.augmentation import add_arguments, run_cli
from zoo.evaluate.classifier import ClassicAugment, train_classifier

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors (see conftest)


COLOURS = {"red": (200, 40, 40), "green": (40, 200, 40), "blue": (40, 40, 200)}


def lesion_folder(root, shots: list[tuple[str, str, str]], size: int = 8):
    """``shots``: (lesion id, colour, class) per image, written as img000.png ... with labels.csv."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = ["file,dx,lesion_id"]
    for i, (lesion, colour, label) in enumerate(shots):
        pixels = np.clip(np.array(COLOURS[colour]) + rng.integers(-30, 31, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / "images" / f"img{i:03d}.png")
        rows.append(f"img{i:03d}.png,{label},{lesion}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def ham_like(root):
    """df, mel, vasc coloured red, green, blue; mel common, df and vasc rare; two shots per lesion."""
    plan = [("df", "red")] * 4 + [("mel", "green")] * 12 + [("vasc", "blue")] * 4
    return lesion_folder(root, [(f"L{k}", colour, label) for k, (label, colour) in enumerate(plan) for _ in range(2)])


def groups_of(folder) -> dict[str, str]:
    lines = (folder / "labels.csv").read_text().splitlines()[1:]
    return {row.split(",")[0]: row.split(",")[2] for row in lines}


def test_scores_on_a_hand_made_confusion_matrix():
    cm = confusion_matrix(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), torch.tensor([0, 0, 0, 1, 0, 0, 1, 1]), 3)
    assert cm.tolist() == [[3, 1, 0], [2, 2, 0], [0, 0, 0]]  # class 2: no test image
    recall, f1 = per_class_recall(cm), per_class_f1(cm)
    assert recall[:2].tolist() == [0.75, 0.5] and math.isnan(recall[2])
    assert f1[:2].tolist() == pytest.approx([6 / 9, 4 / 7]) and math.isnan(f1[2])  # 2 TP / (2 TP + FP + FN)
    assert balanced_accuracy(cm) == 0.625 and macro_f1(cm) == pytest.approx((6 / 9 + 4 / 7) / 2)
    assert accuracy(cm) == 5 / 8
    with pytest.raises(ValueError, match="class indices 0..2"):
        confusion_matrix(torch.tensor([3]), torch.tensor([0]), 3)


def test_classifier_runs_are_reproducible_and_augmentation_keeps_range():
    images = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8)
    labels = torch.arange(20) % 2
    a, b = (train_classifier(images, labels, 2, steps=3, batch_size=8, seed=5, augment=True, progress=False)
            for _ in range(2))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    out = ClassicAugment()(images.float() / 255, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and 0 <= out.min() and out.max() <= 1


def test_end_to_end_with_a_toy_gan(toys, tmp_path):
    folder = ham_like(tmp_path / "data")
    gan = zoo.create("toy-conditional")
    report = augmentation_benefit(folder, gan, image_size=8, holdout=0.25, seeds=(0, 1), epochs=2, batch_size=8,
                                  minority_target=10, progress=False)
    assert report.conditions == DEFAULT_CONDITIONS and report.class_names == ("df", "mel", "vasc")
    split, groups = report.split, groups_of(folder)
    test_names = {p.split("/")[-1] for p in split["test_files"]}
    assert split["test_images"] == len(test_names) and split["train_images"] + len(test_names) == 40
    train_groups = {g for f, g in groups.items() if f not in test_names}
    assert not train_groups & {groups[f] for f in test_names}  # lesions never on both sides
    counts = split["train_class_counts"]
    assert report.synthetic_per_class == {c: max(0, 10 - n) for c, n in counts.items()}
    for condition in DEFAULT_CONDITIONS:
        for seed in (0, 1):
            result = report.results[condition][seed]
            assert sum(map(sum, result["confusion_matrix"])) == split["test_images"]  # scored on held-out only
            assert result["test_count"] == split["test_class_counts"]
            topped_up = "synthetic" in condition or "oversampled" in condition  # by the same counts
            expected = split["train_images"] + (sum(report.synthetic_per_class.values()) if topped_up else 0)
            assert result["train_images"] == expected
            assert result["repeated_images"] == (expected - split["train_images"] if "oversampled" in condition else 0)
    assert set(report.summary["real"]) >= {"balanced_accuracy", "macro_f1", "recall"}
    markdown = report.markdown()
    assert "| real+classic+synthetic |" in markdown and "balanced acc" in markdown and " ± " in markdown
    saved = json.loads(report.to_json(tmp_path / "report.json").read_text())
    assert saved["results"]["real"]["0"]["balanced_accuracy"] == report.results["real"][0]["balanced_accuracy"]
    assert report.plot(tmp_path / "benefit.png").read_bytes()[:4] == b"\x89PNG"


def test_numbers_come_from_the_held_out_part_only(tmp_path):
    # Training lesions: red = a, blue = b. Held-out lesions: the opposite. A classifier scored on the
    # held-out images must then be almost always wrong, and right on its own training images.
    shots = [(f"L{i // 2}", "red" if (i // 2) % 2 else "blue") for i in range(80)]
    probe = TrainingData({"image": torch.zeros(80, 1, 1, 1)}, files=[str(i) for i in range(80)],
                         groups=[g for g, _ in shots])
    held_groups = set(split_by_group(probe, 0.3, seed=0)[1].groups)
    rule = {("red", False): "a", ("blue", False): "b", ("red", True): "b", ("blue", True): "a"}
    folder = lesion_folder(tmp_path, [(g, c, rule[c, g in held_groups]) for g, c in shots])
    report = augmentation_benefit(folder, image_size=8, holdout=0.3, seeds=(0,), epochs=15, batch_size=16,
                                  score_train=True, progress=False)
    assert report.conditions == ("real", "real+classic", "real+classic+oversampled")  # no GAN: no synthetic
    assert report.settings["group_column"] == "lesion_id"
    assert report.split["test_images"] == sum(g in held_groups for g, _ in shots)
    for condition in report.conditions:
        result = report.results[condition][0]
        assert result["train_balanced_accuracy"] > 0.9
        assert result["balanced_accuracy"] < 0.2


def test_cli_honours_the_heldout_list_exactly(toys, tmp_path, capsys):
    folder = ham_like(tmp_path / "data")
    zoo.create("toy-conditional").save_pretrained(tmp_path / "gan")
    # Lesions L0 (df), L5 (mel) and L16 (vasc), spelt as zoo train would have written them elsewhere.
    listed = [f"../elsewhere/images/img{i:03d}.png" for i in (0, 1, 10, 11, 32, 33)]
    (tmp_path / "heldout.txt").write_text("\n".join(listed) + "\n")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--data", str(folder), "--model", str(tmp_path / "gan"), "--heldout-list",
                              str(tmp_path / "heldout.txt"), "--seeds", "3", "--epochs", "1", "--batch-size", "8",
                              "--image-size", "8", "--minority-target", "9", "--no-progress", "-o",
                              str(tmp_path / "out")])
    assert run_cli(args) == 0
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"report.json", "report.md", "benefit.png"}
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert sorted(p.split("/")[-1] for p in report["split"]["test_files"]) == sorted(p.split("/")[-1] for p in listed)
    assert (report["split"]["train_images"] == 34
            and report["split"]["test_class_counts"] == {"df": 2, "mel": 2, "vasc": 2})
    assert report["synthetic_per_class"] == {"df": 3, "mel": 0, "vasc": 3}  # 9 minus 6 training images each
    assert "--heldout-list" in report["command"] and report["settings"]["seeds"] == [3]
    assert "| real+classic+synthetic |" in capsys.readouterr().out


def test_errors_name_the_problem(toys, tmp_path):
    folder = ham_like(tmp_path / "data")
    other = zoo.create("toy-conditional", class_names=["akiec", "bcc"])
    with pytest.raises(ValueError, match=r"makes the classes \['akiec', 'bcc'\] but the data has "
                                         r"\['df', 'mel', 'vasc'\]"):
        augmentation_benefit(folder, other, image_size=8, progress=False)
    (tmp_path / "list.txt").write_text("img000.png\nnot-there.png\n")
    with pytest.raises(DataError, match=r"1 files of .*list\.txt are not in the data: not-there\.png"):
        augmentation_benefit(folder, image_size=8, heldout_list=tmp_path / "list.txt", progress=False)
    with pytest.raises(ValueError, match="need synthetic images: pass a class-conditional model"):
        augmentation_benefit(folder, image_size=8, conditions=["real+classic+synthetic"], progress=False)
    unlabelled = tmp_path / "unlabelled"
    (unlabelled / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(unlabelled / "images" / "a.png")
    with pytest.raises(DataError, match="class-conditional data needs .*labels.csv or one sub-folder per class"):
        augmentation_benefit(unlabelled, image_size=8, progress=False)
    images_only = load_training_data(folder, "unconditional", (8, 8), 3, progress=False)
    with pytest.raises(DataError, match="needs images with labels"):
        augmentation_benefit(images_only, progress=False)


def test_zoo_evaluate_augmentation_uses_a_run_folders_own_heldout_list(toys, tmp_path, capsys):
    from zoo.cli import main

    folder = ham_like(tmp_path / "data")
    run = tmp_path / "runs" / "acgan"
    zoo.create("toy-conditional").save_pretrained(run / "model")
    listed = [str(folder / "images" / f"img{i:03d}.png") for i in (2, 3, 12, 13, 34, 35)]
    (run / "heldout.txt").write_text("\n".join(listed) + "\n")  # what zoo train --holdout writes
    assert main(["evaluate-augmentation", "--data", str(folder), "--model", str(run / "model"), "--seeds", "0",
                 "--epochs", "1", "--batch-size", "8", "--image-size", "8", "--minority-target", "9",
                 "--conditions", "real", "real+classic+synthetic", "--no-progress", "-o", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert sorted(report["split"]["test_files"]) == sorted(listed)
    assert any("the files" in note and "heldout.txt" in note for note in report["notes"])
    assert main(["evaluate-augmentation", "--data", str(tmp_path / "nowhere"), "-o", str(tmp_path / "o2")]) == 2
    assert "zoo evaluate-augmentation: error:" in capsys.readouterr().err


def test_synthetic_labels_follow_the_data_when_the_gan_orders_classes_differently(toys):
    from zoo.evaluate.augmentation import _generate

    gan = zoo.create("toy-conditional", class_names=["vasc", "df", "mel"])
    pixels, labels = _generate(gan, {"df": 2, "mel": 0, "vasc": 3}, ("df", "mel", "vasc"), seed=0, truncation=None,
                               size=(8, 8), channels=3, progress=False)
    assert labels.tolist() == [0, 0, 2, 2, 2]  # the data's indices: df = 0, vasc = 2
    expected = zoo.synthetic_dataset(gan, {"df": 2, "vasc": 3}, seed=0)
    for i in range(5):  # and the pixels are the GAN's df and vasc images, in that order
        assert torch.allclose(pixels[i].float() / 255, expected[i][0], atol=1 / 255)

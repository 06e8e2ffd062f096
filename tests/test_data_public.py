"""``zoo data``: the public data sets' registry, the preparers on tiny fake original releases, and
``fetch`` against a loopback HTTP server. Offline: nothing here reaches the internet."""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.cli.data import add_data_parser
from zoo.data import load_training_data
from zoo.data.folders import DataError
from zoo.data.public import DATASETS, fetch, get
from zoo.errors import ZooError

HAM_COLUMNS = ["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"]
HAM_ROWS = [  # two shots of HAM_1 and of HAM_3: a split by lesion_id keeps them together
    ["HAM_1", "ISIC_0000001", "nv", "follow_up", "45.0", "male", "trunk"],
    ["HAM_1", "ISIC_0000002", "nv", "follow_up", "45.0", "male", "trunk"],
    ["HAM_2", "ISIC_0000003", "mel", "histo", "70.0", "female", "back"],
    ["HAM_3", "ISIC_0000004", "bkl", "consensus", "", "unknown", "unknown"],
    ["HAM_3", "ISIC_0000005", "bkl", "consensus", "", "unknown", "unknown"],
    ["HAM_4", "ISIC_0000006", "nv", "histo", "30.0", "female", "face"],
]


def run_cli(argv: list[str]) -> int:
    """``zoo data ...`` through add_data_parser alone (works before the verb is wired into zoo.cli.verbs)."""
    parser = argparse.ArgumentParser(prog="zoo")
    add_data_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def _image_bytes(size: tuple[int, int], fmt: str, seed: int, mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(buf, format=fmt)
    return buf.getvalue()


def _ellipse(size: tuple[int, int], mode: str = "L") -> Image.Image:
    w, h = size
    y, x = np.mgrid[:h, :w]
    inside = ((x - w / 2) / (w / 4)) ** 2 + ((y - h / 2) / (h / 4)) ** 2 <= 1
    return Image.fromarray((inside * 255).astype(np.uint8)).convert(mode)


def make_ham(folder: Path) -> Path:
    """HAM10000 as Dataverse serves it: the two image-part zips and HAM10000_metadata.csv."""
    folder.mkdir(parents=True)
    for part, rows in (("1", HAM_ROWS[:3]), ("2", HAM_ROWS[3:])):
        with zipfile.ZipFile(folder / f"HAM10000_images_part_{part}.zip", "w") as z:
            for i, row in enumerate(rows):
                z.writestr(f"{row[1]}.jpg", _image_bytes((60, 45), "JPEG", seed=i))
    with open(folder / "HAM10000_metadata.csv", "w", newline="") as f:
        csv.writer(f).writerows([HAM_COLUMNS, *HAM_ROWS])
    return folder


def make_ph2(folder: Path) -> Path:
    """PH2 as its .rar extracts: 'PH2 Dataset images/IMDxxx/...' (BMP) and PH2_dataset.txt."""
    cases = {"IMD002": "1", "IMD003": "0", "IMD009": "2", "IMD010": "0"}
    images = folder / "PH2Dataset" / "PH2 Dataset images"
    for i, case in enumerate(cases):
        (images / case / f"{case}_Dermoscopic_Image").mkdir(parents=True)
        (images / case / f"{case}_lesion").mkdir()
        (images / case / f"{case}_Dermoscopic_Image" / f"{case}.bmp").write_bytes(_image_bytes((77, 56), "BMP", i))
        _ellipse((77, 56), "1" if i % 2 else "L").save(images / case / f"{case}_lesion" / f"{case}_lesion.bmp")
    table = ["|| Name   || Histological Diagnosis || Clinical Diagnosis || Asymmetry || Colors ||"]
    table += [f"|| {case} ||                        ||          {dx}         ||     0     ||  3 4   ||"
              for case, dx in cases.items()]
    table += ["", "Legends:", "Clinical Diagnosis: 0 - Common Nevus; 1 - Atypical Nevus; 2 - Melanoma"]
    (folder / "PH2Dataset" / "PH2_dataset.txt").write_text("\n".join(table) + "\n")
    return folder / "PH2Dataset"


@pytest.fixture
def ham_release(tmp_path) -> Path:
    return make_ham(tmp_path / "downloads" / "ham10000")


def test_registry_names_licences_and_unknown_name():
    assert {"ham10000", "ph2", "dental", "faces"} <= set(DATASETS)
    assert get("DC1000").name == "dental" and get("celeba").name == "faces"
    for spec in DATASETS.values():
        assert spec.licence and spec.citation and spec.homepage.startswith("https://") and spec.obtain
    assert "non-commercial" in get("ham10000").licence and "non-commercial" in get("faces").terms
    assert "10.7910/DVN/DBW86T" in get("ham10000").homepage and not get("ph2").downloads
    with pytest.raises(DataError, match="unknown data set 'ham1000'; known: ham10000, ph2, dental, faces"):
        get("ham1000")
    with pytest.raises(ZooError, match="known: ham10000"):
        run_cli(["data", "info", "nope"])


def test_help_says_how_to_get_every_set(capsys):
    with pytest.raises(SystemExit):
        run_cli(["data", "--help"])
    text = capsys.readouterr().out
    for spec in DATASETS.values():
        assert spec.name in text and spec.homepage in text
    assert "Nothing is downloaded unless you pass --download" in text
    with pytest.raises(SystemExit):
        run_cli(["data", "prepare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--out", "--size", "--force", "--download", "--limit", "--url", "--no-progress"):
        assert option in text
    assert "(default data/NAME)" in text and "default: refuse" in text and "default: off" in text


def test_list_and_info(capsys):
    assert run_cli(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["name", "what", "count", "licence"]
    assert all(name in out for name in DATASETS)
    assert run_cli(["data", "info", "ham10000"]) == 0
    out = capsys.readouterr().out
    for text in ("Tschandl", "CC BY-NC-SA 4.0", "HAM10000_images_part_1.zip", "lesion_id,image_id,dx",
                 "zoo data prepare ham10000 --source PATH", "dataverse.harvard.edu"):
        assert text in out


def test_prepare_ham10000_from_part_zips(ham_release, tmp_path, capsys):
    out = tmp_path / "data" / "ham10000"
    assert run_cli(["data", "prepare", "ham10000", "--source", str(ham_release), "--out", str(out),
                    "--size", "16", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "CC BY-NC-SA 4.0" in printed and "non-commercial" in printed and "Tschandl" in printed
    assert "wrote 6 images" in printed and "bkl 2, mel 1, nv 3" in printed
    with open(out / "labels.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["file", "dx", "lesion_id", "dx_type", "age", "sex", "localization"]
    assert rows[1] == ["ISIC_0000001.jpg", "nv", "HAM_1", "follow_up", "45.0", "male", "trunk"]
    first = Image.open(out / "images" / "ISIC_0000001.jpg")
    assert (first.size, first.mode, first.format) == ((16, 16), "RGB", "JPEG")
    assert "CC BY-NC-SA 4.0" in (out / "SOURCE.md").read_text()
    assert not list(tmp_path.glob("data/.*"))  # the staging folder is gone
    data = load_training_data(out, "class-conditional", (16, 16), 3, label_column="dx", group_column="lesion_id",
                              progress=False)
    assert len(data) == 6 and data.class_names == ("bkl", "mel", "nv")
    assert data.tensors["label"].tolist() == [2, 2, 1, 0, 0, 2]
    assert data.groups == ["HAM_1", "HAM_1", "HAM_2", "HAM_3", "HAM_3", "HAM_4"]


def test_prepare_ham10000_from_a_dataverse_bundle(ham_release, tmp_path, capsys):
    """One .zip holding the part zips and the archival .tab metadata (tab-separated, quoted strings)."""
    bundle = tmp_path / "dataverse_files.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        for part in ("1", "2"):
            z.write(ham_release / f"HAM10000_images_part_{part}.zip", f"HAM10000_images_part_{part}.zip")
        tab = io.StringIO()
        csv.writer(tab, delimiter="\t", quoting=csv.QUOTE_NONNUMERIC).writerows([HAM_COLUMNS, *HAM_ROWS[:5]])
        z.writestr("HAM10000_metadata.tab", tab.getvalue())
        z.writestr("MANIFEST.TXT", "files")
    out = tmp_path / "ham"
    assert run_cli(["data", "prepare", "ham10000", "--source", str(bundle), "--out", str(out), "--size", "16",
                    "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 5 images" in printed and "left out 1 ISIC images with no metadata row" in printed
    data = load_training_data(out, "class-conditional", (16, 16), 3, group_column="lesion_id", progress=False)
    assert len(data) == 5 and data.groups[-1] == "HAM_3"


def test_prepare_ph2(tmp_path, capsys):
    source = make_ph2(tmp_path / "PH2")
    out = tmp_path / "data" / "ph2"
    assert run_cli(["data", "prepare", "ph2", "--source", str(source), "--out", str(out), "--size", "32",
                    "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "Mendonca" in printed and "non-commercial research and education" in printed
    with open(out / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["id"], r["label_name"]) for r in rows] == [
        ("IMD002", "atypical_nevus"), ("IMD003", "common_nevus"), ("IMD009", "melanoma"), ("IMD010", "common_nevus")]
    assert all(0.15 < float(r["lesion_fraction"]) < 0.25 for r in rows)  # an ellipse of half the sides: pi/16
    mask = np.asarray(Image.open(out / "masks" / "IMD002.png"))
    assert mask.shape == (32, 32) and set(np.unique(mask)) == {0, 255}
    assert Image.open(out / "images" / "IMD002.png").size == (32, 32)
    edit = load_training_data(out, "masked-edit", (32, 32), 3, progress=False)
    assert len(edit) == 4 and edit.tensors["mask"].shape == (4, 1, 32, 32)
    labelled = load_training_data(out, "class-conditional", (32, 32), 3, label_column="label_name", progress=False)
    assert labelled.class_names == ("atypical_nevus", "common_nevus", "melanoma")


def test_prepare_dental_and_faces(tmp_path, capsys):
    dc = tmp_path / "MLUA" / "dataset" / "test"
    for folder in ("images", "labels"):
        (dc / folder).mkdir(parents=True)
    for i in (1, 2, 3):
        (dc / "images" / f"{i}.png").write_bytes(_image_bytes((96, 48), "PNG", i, mode="L"))
    for i in (1, 2):  # 3 has no caries mask
        _ellipse((96, 48)).point(lambda v: v // 255).save(dc / "labels" / f"{i}.png")  # 0/1 masks
    out = tmp_path / "dental"
    assert run_cli(["data", "prepare", "dc1000", "--source", str(tmp_path / "MLUA"), "--out", str(out),
                    "--size", "64", "--no-progress"]) == 0
    assert "left out 1 images with no caries mask" in capsys.readouterr().out
    data = load_training_data(out, "masked-edit", (32, 64), 1, progress=False)
    assert len(data) == 2 and data.tensors["mask"].float().mean() > 0
    assert Image.open(out / "images" / "1.png").size == (64, 32) and Image.open(out / "images" / "1.png").mode == "L"

    celeba = tmp_path / "img_align_celeba.zip"
    with zipfile.ZipFile(celeba, "w") as z:
        for i in (1, 2, 3):
            z.writestr(f"img_align_celeba/00000{i}.jpg", _image_bytes((40, 50), "JPEG", i))
    out = tmp_path / "faces"
    assert run_cli(["data", "prepare", "faces", "--source", str(celeba), "--out", str(out), "--size", "32",
                    "--limit", "2", "--no-progress"]) == 0
    assert "CelebA" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "images").iterdir()) == ["img_align_celeba-000001.jpg",
                                                                  "img_align_celeba-000002.jpg"]
    assert Image.open(out / "images" / "img_align_celeba-000001.jpg").size == (26, 32)  # aspect kept
    assert len(load_training_data(out, "unconditional", (32, 32), 3, progress=False)) == 2


def test_prepare_errors(ham_release, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "notes.txt").write_text("not a data set")
    with pytest.raises(DataError, match="does not look like the HAM10000 release: no HAM10000_metadata.csv"):
        run_cli(["data", "prepare", "ham10000", "--source", str(wrong), "--out", str(tmp_path / "o1")])
    with pytest.raises(DataError, match="PH2 Dataset images/IMDxxx/IMDxxx_Dermoscopic_Image/IMDxxx.bmp"):
        run_cli(["data", "prepare", "ph2", "--source", str(wrong), "--out", str(tmp_path / "o2")])
    rar = tmp_path / "PH2Dataset.rar"
    rar.write_bytes(b"Rar!\x1a\x07\x00")
    with pytest.raises(DataError, match="not .rar files; extract it first"):
        run_cli(["data", "prepare", "ph2", "--source", str(rar), "--out", str(tmp_path / "o3")])
    with pytest.raises(DataError, match=r"no such file or folder: .*PH2Dataset.rar"):  # never downloads by itself
        run_cli(["data", "prepare", "ph2", "--source", str(tmp_path / "missing" / "PH2Dataset.rar")])
    with pytest.raises(DataError, match="add --download to fetch it"):
        run_cli(["data", "prepare", "ham10000", "--source", str(tmp_path / "nothing-here")])
    assert not (tmp_path / "nothing-here").exists() and not Path("data/ham10000/SOURCE.md").exists()
    assert not any((tmp_path / o).exists() for o in ("o1", "o2", "o3"))

    out = tmp_path / "ham"
    run_cli(["data", "prepare", "ham10000", "--source", str(ham_release), "--out", str(out), "--size", "8",
             "--limit", "2", "--no-progress"])
    (out / "my-notes.txt").write_text("mine")
    with pytest.raises(DataError, match="already holds a prepared data set .*pass --force"):
        run_cli(["data", "prepare", "ham10000", "--source", str(ham_release), "--out", str(out), "--size", "8"])
    assert len(list((out / "images").iterdir())) == 2
    run_cli(["data", "prepare", "ham10000", "--source", str(ham_release), "--out", str(out), "--size", "8",
             "--force", "--no-progress"])
    assert len(list((out / "images").iterdir())) == 6 and (out / "my-notes.txt").read_text() == "mine"
    with pytest.raises(DataError, match="overlap"):
        run_cli(["data", "prepare", "ham10000", "--source", str(ham_release), "--out", str(ham_release / "out")])


# ----------------------------------------------------------------------------------------------
# fetch, against a loopback HTTP server
# ----------------------------------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(tmp_path, monkeypatch):
    """(base URL, folder it serves): a stdlib HTTP server on 127.0.0.1 in a thread."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    root = tmp_path / "server"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_fetch_verifies_the_checksum(served, tmp_path, capsys):
    base, root = served
    payload = b"x" * 300_000
    (root / "archive.zip").write_bytes(payload)
    dest = tmp_path / "dl"
    good = hashlib.sha256(payload).hexdigest()
    (dest / "archive.zip.part").parent.mkdir()
    (dest / "archive.zip.part").write_bytes(b"stale partial download")  # this server ignores Range: starts over
    [path] = fetch("ph2", dest, f"{base}/archive.zip", sha256=good)
    assert path == dest / "archive.zip" and path.read_bytes() == payload
    assert not (dest / "archive.zip.part").exists()
    assert "archive.zip" in capsys.readouterr().err  # the progress bar
    assert fetch("ph2", dest, f"{base}/archive.zip", sha256=good, progress=False) == [path]  # kept, not fetched

    with pytest.raises(DataError, match="has SHA-256 .* not the expected 0000.*removed"):
        fetch("ph2", tmp_path / "dl2", f"{base}/archive.zip", sha256="0" * 64, progress=False)
    assert list((tmp_path / "dl2").iterdir()) == []
    with pytest.raises(DataError, match="could not download"):
        fetch("ph2", tmp_path / "dl3", f"{base}/missing.zip", progress=False)
    with pytest.raises(DataError, match="cannot be downloaded automatically"):
        fetch("ph2", tmp_path / "dl4")


def test_prepare_with_download(served, ham_release, tmp_path, capsys):
    base, root = served
    with zipfile.ZipFile(root / "ham.zip", "w") as z:
        for f in ham_release.iterdir():
            z.write(f, f.name)
    source, out = tmp_path / "fetched", tmp_path / "ham"
    with pytest.raises(ValueError, match="--url needs --download"):
        run_cli(["data", "prepare", "ham10000", "--source", str(source), "--url", f"{base}/ham.zip"])
    assert run_cli(["data", "prepare", "ham10000", "--source", str(source), "--out", str(out), "--download",
                    "--url", f"{base}/ham.zip", "--size", "8", "--no-progress"]) == 0
    assert "downloaded to" in capsys.readouterr().out and (source / "ham.zip").is_file()
    assert len(list((out / "images").iterdir())) == 6


def test_zoo_main_when_wired(ham_release, tmp_path, capsys):
    """Through zoo's own main, once ``add_data_parser(sub)`` is in zoo.cli.verbs.build_parser."""
    from zoo.cli import main
    from zoo.cli.verbs import build_parser

    try:
        build_parser().parse_args(["data", "list"])
    except SystemExit:
        pytest.skip("the data verb is not wired into zoo.cli.verbs yet")
    capsys.readouterr()
    out = tmp_path / "ham"
    assert main(["data", "prepare", "ham10000", "--source", str(ham_release), "--out", str(out), "--size", "8",
                 "--no-progress"]) == 0
    assert main(["data", "prepare", "ham10000", "--source", str(ham_release), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "zoo data: error:" in err and "pass --force" in err
    assert main(["data", "info", "nope"]) == 2
    assert "known: ham10000, ph2, dental, faces" in capsys.readouterr().err

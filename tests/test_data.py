"""Training folders: every layout, the bad-file rule, and group-aware splits."""

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.data import DataError, load_training_data, split_by_group


def write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def rgb(seed, h=20, w=30):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_image_folder_with_csv_labels_and_groups(tmp_path):
    rows = ["file,dx,lesion_id"]
    for i in range(12):
        write(tmp_path / "images" / f"img{i:02d}.jpg", rgb(i))
        rows.append(f"img{i:02d}.jpg,{['df', 'mel', 'vasc'][i % 3]},L{i // 2}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    data = load_training_data(tmp_path, "class-conditional", (16, 24), 3, group_column="lesion_id", progress=False)
    assert data.tensors["image"].shape == (12, 3, 16, 24) and data.tensors["image"].dtype == torch.uint8
    assert data.class_names == ("df", "mel", "vasc") and data.tensors["label"].tolist() == [0, 1, 2] * 4
    train, held = split_by_group(data, 0.3)
    assert len(train) + len(held) == 12 and len(held) >= 4
    assert not set(train.groups) & set(held.groups)  # shots of one lesion never on both sides
    gray = load_training_data(tmp_path, "unconditional", (8, 8), 1, progress=False)
    assert gray.tensors["image"].shape == (12, 1, 8, 8) and "label" not in gray.tensors


def test_class_subfolders_16_bit_and_the_bad_file_rule(tmp_path):
    write(tmp_path / "nv" / "a.png", rgb(1))
    write(tmp_path / "mel" / "b.png", (np.random.default_rng(2).integers(0, 65536, (20, 30)) ).astype(np.uint16))
    (tmp_path / "mel" / "broken.png").write_text("not an image")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable images: .*broken\.png"):
        data = load_training_data(tmp_path, "class-conditional", (10, 10), 3, progress=False)
    assert data.class_names == ("mel", "nv") and len(data) == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        load_training_data(tmp_path / "empty", "unconditional", (8, 8), 3, progress=False)
    with pytest.raises(DataError, match="no such data folder"):
        load_training_data(tmp_path / "nowhere", "unconditional", (8, 8), 3, progress=False)


def test_translation_layouts(tmp_path):
    for i in range(3):
        write(tmp_path / "A" / f"{i}.png", rgb(i))
        write(tmp_path / "B" / f"{i}.png", rgb(10 + i))
    write(tmp_path / "B" / "extra.png", rgb(99))
    unpaired = load_training_data(tmp_path, "unpaired-translation", (8, 12), 3, progress=False)
    assert unpaired.tensors["A"].shape == unpaired.tensors["B"].shape == (4, 3, 8, 12)
    with pytest.raises(DataError, match="no partner"):
        write(tmp_path / "A" / "lonely.png", rgb(5))
        load_training_data(tmp_path, "paired-translation", (8, 12), 3, progress=False)
    (tmp_path / "A" / "lonely.png").unlink()
    paired = load_training_data(tmp_path, "paired-translation", (8, 12), 3, progress=False)
    assert len(paired) == 3


def test_masked_layout_needs_every_mask(tmp_path):
    for i in range(2):
        write(tmp_path / "images" / f"{i}.png", rgb(i))
        mask = np.zeros((20, 30), np.uint8)
        mask[5:10, 5:15] = 255
        write(tmp_path / "masks" / f"{i}.png", mask)
    data = load_training_data(tmp_path, "masked-edit", (10, 15), 3, progress=False)
    assert set(data.tensors["mask"].unique().tolist()) == {0, 255}
    write(tmp_path / "images" / "2.png", rgb(2))
    with pytest.raises(DataError, match="1 images have no mask"):
        load_training_data(tmp_path, "masked-edit", (10, 15), 3, progress=False)


def flat(value, h=20, w=30):
    return np.full((h, w, 3), value, dtype=np.uint8)


def test_pairs_stay_paired_and_unpaired_files_match_the_samples(tmp_path):
    for i in range(3):
        write(tmp_path / "A" / f"{i}.png", flat(10 * i))
        write(tmp_path / "B" / f"{i}.png", flat(100 + 10 * i))
    paired = load_training_data(tmp_path, "paired-translation", (8, 12), 3, progress=False)
    assert paired.tensors["A"][:, 0, 0, 0].tolist() == [0, 10, 20]
    assert paired.tensors["B"][:, 0, 0, 0].tolist() == [100, 110, 120]
    for i in range(3, 6):
        write(tmp_path / "B" / f"{i}.png", flat(100 + 10 * i))
    unpaired = load_training_data(tmp_path, "unpaired-translation", (8, 12), 3, progress=False)
    assert len(unpaired.files) == len(unpaired) == 6
    assert sorted(unpaired.tensors["B"][:, 0, 0, 0].tolist()) == [100, 110, 120, 130, 140, 150]
    train, held = split_by_group(unpaired, 0.3)
    assert len(train) + len(held) == 6
    assert not set(train.files) & set(held.files)  # a repeated A image stays on one side



def test_unpaired_masks_travel_with_their_b_images(tmp_path):
    """Unpaired B images are drawn in a shuffled order: each mask (named as its B image) must follow it."""
    for i in range(2):
        write(tmp_path / "A" / f"a{i}.png", flat(10 * i))
    for i in range(5):  # B image i is grey 100 + 10 i; its mask covers the first i + 1 columns
        write(tmp_path / "B" / f"b{i}.png", flat(100 + 10 * i, w=12))
        mask = np.zeros((20, 12), dtype=np.uint8)
        mask[:, : i + 1] = 255
        write(tmp_path / "masks" / f"b{i}.png", mask)
    data = load_training_data(tmp_path, "unpaired-translation", (8, 12), 3, progress=False)
    b_index = (data.tensors["B"][:, 0, 0, 0].long() - 100) // 10
    assert data.tensors["mask"].shape == (5, 1, 8, 12) and b_index.tolist() != list(range(5))  # shuffled
    assert (data.tensors["mask"][:, 0, 0] > 127).sum(1).tolist() == (b_index + 1).tolist()
    (tmp_path / "masks" / "b3.png").unlink()
    with pytest.raises(DataError, match=r"1 B images have no mask of the same name.*b3\.png"):
        load_training_data(tmp_path, "unpaired-translation", (8, 12), 3, progress=False)

def test_split_without_groups_keeps_unique_files_where_they_were():
    """Unique files split exactly as when each sample was its own group (earlier runs' splits hold)."""
    import random

    from zoo.data import TrainingData

    named = TrainingData({"image": torch.zeros(20, 1, 2, 2, dtype=torch.uint8)}, files=[f"{i}.png" for i in range(20)])
    order = sorted(str(i) for i in range(20))
    random.Random(0).shuffle(order)
    expected = sorted(int(g) for g in order[:5])  # 0.25 of 20 one-sample groups
    assert sorted(int(f[:-4]) for f in split_by_group(named, 0.25, seed=0)[1].files) == expected


def test_group_column_must_exist_and_cover_every_image(tmp_path):
    write(tmp_path / "images" / "a.png", rgb(1))
    write(tmp_path / "images" / "b.png", rgb(2))
    (tmp_path / "labels.csv").write_text("file,dx,lesion_id\na.png,nv,L1\n")
    with pytest.raises(DataError, match="no column 'lesionid' to group by"):
        load_training_data(tmp_path, "unconditional", (8, 8), 3, group_column="lesionid", progress=False)
    with pytest.raises(DataError, match=r"1 images have no row in .*labels\.csv: b\.png"):
        load_training_data(tmp_path, "unconditional", (8, 8), 3, group_column="lesion_id", progress=False)


def _labelled(root, header_prefix: str = "", labels=("df", "mel")):
    from PIL import Image

    (root / "images").mkdir(parents=True)
    rows = []
    for i, label in enumerate(labels):
        Image.new("RGB", (8, 8), (40 * i, 80, 120)).save(root / "images" / f"{i}.png")
        rows.append(f"{i}.png,{label}")
    (root / "labels.csv").write_text(header_prefix + "file,dx\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_a_labels_csv_saved_by_excel_with_a_bom_is_read(tmp_path):
    data = load_training_data(_labelled(tmp_path, "\ufeff"), "class-conditional", (8, 8), 3, progress=False)
    assert data.class_names == ("df", "mel")


def test_empty_labels_are_named_not_a_class(tmp_path):
    with pytest.raises(DataError, match=r"1 images have an empty 'dx' .*1.png"):
        load_training_data(_labelled(tmp_path, labels=("df", " ")), "class-conditional", (8, 8), 3, progress=False)


def test_exif_orientation_and_pixel_limit(tmp_path, monkeypatch):
    from PIL import Image

    from zoo.data.images import read_image

    img = Image.new("RGB", (30, 10), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / "phone.jpg", exif=exif)
    assert read_image(tmp_path / "phone.jpg").size == (30, 10)  # (H, W): shown upright, as a viewer does
    monkeypatch.setenv("MEDGAN_ZOO_MAX_INPUT_PIXELS", "200")
    with pytest.raises(zoo.ImageInputError, match=r"phone.jpg is 30 x 10 pixels, over the limit of 200"):
        read_image(tmp_path / "phone.jpg")


def test_32_bit_and_float_tiffs_are_read_in_range_or_refused_not_clipped(tmp_path, capsys):
    from zoo.cli import main
    from zoo.data.images import read_image

    ct = np.linspace(-1000, 3000, 16 * 16, dtype=np.float32).reshape(16, 16)  # Hounsfield units
    Image.fromarray(ct, mode="F").save(tmp_path / "ct.tif")
    with pytest.raises(zoo.ImageInputError, match=r"ct.tif: float images and arrays must hold values in \[0, 1\], "
                                                  r"got \[-1e\+03, 3e\+03\] \(CT values"):
        read_image(tmp_path / "ct.tif")
    Image.fromarray((ct + 1000) / 4000, mode="F").save(tmp_path / "unit.tif")  # the same, windowed to [0, 1]
    pixels = read_image(tmp_path / "unit.tif").pixels
    assert abs(float(pixels.min())) < 1e-6 and abs(float(pixels.max()) - 1) < 1e-6 and len(pixels.unique()) > 200

    wide = np.arange(16 * 16, dtype=np.int32).reshape(16, 16) * 400  # up to 102,000: beyond 16 bits
    Image.fromarray(wide, mode="I").save(tmp_path / "wide.tif")
    with pytest.raises(zoo.ImageInputError, match=r"32-bit integer image with values from 0 to 102000"):
        read_image(tmp_path / "wide.tif")
    Image.fromarray(wide // 2, mode="I").save(tmp_path / "fits.tif")  # within 0-65535: read as 16-bit
    image = read_image(tmp_path / "fits.tif")
    assert image.sixteen_bit and abs(float(image.pixels.max()) - 51000 / 65535) < 1e-6

    assert main(["translate", "cyclegan-pws", str(tmp_path / "ct.tif"), "-o", str(tmp_path / "out")]) == 2
    assert "zoo translate: error: image: " in capsys.readouterr().err  # one line, no traceback

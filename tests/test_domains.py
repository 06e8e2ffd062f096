"""Synthetic PWS / eczema domains, patch extraction and the make_domains script, on tiny images."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from zoo.data import load_training_data
from zoo.data.domains import add_eczema, add_port_wine_stain, face_region, fade_stain, skin_mask
from zoo.data.images import to_pil
from zoo.data.patches import extract_patches
from zoo.errors import ImageInputError

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors (see conftest)


SKIN = torch.tensor([0.85, 0.65, 0.55])  # inside the YCbCr skin box


def toy_face(size: int = 64, seed: int = 0, grain: float = 0.02) -> torch.Tensor:
    """A skin-coloured ellipse with a little texture on a dark background."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    inside = ((xx / 0.7) ** 2 + ((yy - 0.05) / 0.85) ** 2 <= 1).float()
    face = SKIN.view(3, 1, 1) * inside + 0.1 * (1 - inside)
    return (face + grain * torch.rand(1, size, size, generator=g)).clamp(0, 1)


def toy_patch(size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (SKIN.view(3, 1, 1) + 0.03 * torch.rand(3, size, size, generator=g)).clamp(0, 1)


def _changed(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().amax(0)


@pytest.mark.parametrize("style", ["clinical", "flat"])
@pytest.mark.parametrize("maker, image", [(add_port_wine_stain, toy_face()), (add_eczema, toy_patch())])
def test_makers_deterministic_and_masks_match_changes(maker, image, style):
    out, mask = maker(image, 3, style=style)
    again, mask_again = maker(image, 3, style=style)
    other, _ = maker(image, 4, style=style)
    assert torch.equal(out, again) and torch.equal(mask, mask_again)
    assert not torch.equal(out, other)
    assert mask.shape == (1, *image.shape[-2:]) and set(mask.unique().tolist()) <= {0.0, 1.0}
    assert mask.sum() > 0
    diff = _changed(out, image)
    inside = mask[0].bool()
    assert diff[~inside].max() <= 1e-6  # untouched outside the mask
    assert (diff[inside] > 0).all() and diff[inside].mean() > 0.02
    assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match="style must be 'clinical' or 'flat'"):
        maker(image, 3, style="cartoon")


def test_flat_stain_one_sided_in_face_and_purple_red():
    face = toy_face()
    region = face_region(face)[0].bool()
    assert region.float().mean() > 0.2  # the toy face is found as skin
    for seed in range(6):
        stained, mask = add_port_wine_stain(face, seed, style="flat")
        m = mask[0].bool()
        assert not (m & ~region).any()  # never on background
        left = m[:, :32].sum().item() / m.sum().item()
        assert max(left, 1 - left) >= 0.7
        before, after = face[:, m], stained[:, m]
        # Redder/purpler: green falls more than red and blue, so R/G and B/G rise.
        assert (after[0] / after[1]).mean() > (before[0] / before[1]).mean() * 1.2
        assert (after[2] / after[1]).mean() > (before[2] / before[1]).mean()
    sides = {add_port_wine_stain(face, s, style="flat")[1][0, :, :32].sum().item()
             > add_port_wine_stain(face, s, style="flat")[1][0, :, 32:].sum().item()
             for s in range(8)}
    assert sides == {True, False}  # both sides occur across seeds


def test_stain_strength_and_no_skin():
    face = toy_face()
    weak, weak_mask = add_port_wine_stain(face, 1, strength=0.3)
    full, _ = add_port_wine_stain(face, 1)
    assert _changed(weak, face).sum() < _changed(full, face).sum()
    assert torch.equal(add_port_wine_stain(face, 1, strength=0.0)[0], face)
    dark = torch.full((3, 32, 32), 0.1)
    same, empty = add_port_wine_stain(dark, 0)
    assert torch.equal(same, dark) and empty.sum() == 0
    with pytest.raises(ImageInputError, match="3 x H x W"):
        add_port_wine_stain(face[0], 0)


def test_fade_stain_moves_sixty_percent():
    face = toy_face()
    stained, mask = add_port_wine_stain(face, 2)
    after = fade_stain(face, stained, mask, 0.6)
    m = mask[0].bool()
    total = (face - stained)[:, m].abs().mean()
    moved = (after - stained)[:, m].abs().mean()
    assert moved / total == pytest.approx(0.6, abs=1e-4)
    assert torch.equal(after[:, ~m], stained[:, ~m])
    assert torch.allclose(fade_stain(face, stained, mask, 1.0), face, atol=1e-6)
    with pytest.raises(ValueError, match="fraction"):
        fade_stain(face, stained, mask, 1.5)


@pytest.mark.parametrize("style", ["clinical", "flat"])
@pytest.mark.parametrize("coverage", [(0.1, 0.8), (0.3, 0.3), (0.05, 0.15)])
def test_eczema_coverage_and_look(coverage, style):
    patch = toy_patch(40)
    for seed in range(4):
        out, mask = add_eczema(patch, seed, coverage=coverage, style=style)
        frac = mask.sum().item() / mask.numel()  # whole pixels: no float32 mean rounding
        assert coverage[0] - 1e-9 <= frac <= coverage[1] + 1e-9
        m = mask[0].bool()
        change = (out - patch).abs().mean(0)
        core = m & (change >= change[m].median())  # the plaque's inflamed half (clinical edges fade out)
        assert (out[0, core] / out[1, core]).mean() > (patch[0, core] / patch[1, core]).mean() * 1.15  # redder
    with pytest.raises(ValueError, match="coverage"):
        add_eczema(patch, 0, coverage=(0.5, 0.2))


def test_skin_mask_finds_skin_not_background():
    face = toy_face()
    skin = skin_mask(face)[0]
    assert skin[32, 32] == 1 and skin[1, 1] == 0


def test_extract_patches_respects_region_and_fraction():
    image = torch.rand(3, 32, 32)
    mask = torch.zeros(32, 32)
    mask[:16, :16] = 1
    region = torch.zeros(1, 32, 32)
    region[:, :, :24] = 1
    healthy = extract_patches(image, mask, size=8, mask_fraction=(0, 0), stride=4)
    assert healthy and all(pm.sum() == 0 for _, pm, _ in healthy)
    some = extract_patches(image, mask, size=8, region=region, mask_fraction=(0.25, 0.75), stride=2)
    assert some
    for patch, pm, (top, left) in some:
        assert 0.25 <= pm.mean() <= 0.75
        assert left + 8 <= 24  # wholly inside the region
        assert torch.equal(patch, image[:, top:top + 8, left:left + 8])
    full = extract_patches(image, mask, size=8, mask_fraction=(1, 1), stride=8)
    assert [pos for _, _, pos in full] == [(0, 0), (0, 8), (8, 0), (8, 8)]
    picked = extract_patches(image, mask, size=8, mask_fraction=(0, 1), stride=2, max_patches=5, seed=1)
    assert len(picked) == 5
    assert [p for _, _, p in picked] == [p for _, _, p in extract_patches(
        image, mask, size=8, mask_fraction=(0, 1), stride=2, max_patches=5, seed=1)]
    with pytest.raises(ImageInputError, match="does not fit"):
        extract_patches(image, mask, size=64)
    with pytest.raises(ImageInputError, match="binary"):
        extract_patches(image, mask * 0.5, size=8)
    with pytest.raises(ImageInputError, match="image's size"):
        extract_patches(image, torch.zeros(16, 16), size=8)
    with pytest.raises(ImageInputError, match="region"):
        extract_patches(image, mask, size=8, region=torch.zeros(1, 8, 8))
    with pytest.raises(ValueError, match="mask_fraction"):
        extract_patches(image, mask, size=8, mask_fraction=(0.8, 0.2))


def _load_script():
    path = Path(__file__).parents[1] / "scripts" / "make_domains.py"
    spec = importlib.util.spec_from_file_location("make_domains", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_domains_end_to_end(tmp_path):
    faces = tmp_path / "faces" / "images"
    faces.mkdir(parents=True)
    for i in range(6):
        to_pil(toy_face(72, seed=i)[:, 4:68]).save(faces / f"face{i}.jpg")  # non-square: centre-cropped
    ph2 = tmp_path / "ph2"
    (ph2 / "images").mkdir(parents=True)
    (ph2 / "masks").mkdir()
    for i in range(2):
        skin = toy_patch(64, seed=i)
        lesion = torch.zeros(1, 64, 64)
        lesion[:, 20:44, 20:44] = 1
        to_pil(skin * (1 - 0.6 * lesion)).save(ph2 / "images" / f"IMD{i}.png")
        to_pil(lesion).save(ph2 / "masks" / f"IMD{i}.png")
    out = tmp_path / "synthetic"
    args = ["--faces", str(tmp_path / "faces"), "--ph2", str(ph2), "--out", str(out), "--size", "64",
            "--patch-size", "32", "--seed", "0"]
    counts = _load_script().main(args)
    assert counts["faces_used"] == 6
    assert counts["pws-unpaired/A"] == 3 and counts["pws-unpaired/B"] == counts["pws-unpaired/masks"] == 3 * 4
    assert counts["eczema-unpaired/B"] == counts["eczema-unpaired/masks"] >= 1  # above: 4 stains per face, the default
    assert counts["pws-paired/A"] == counts["pws-paired/B"] == 6
    assert counts["pws-removal-check/A"] == counts["pws-removal-check/B"] == counts["pws-removal-check/masks"] == 3
    assert counts["eczema-masked/images"] == counts["eczema-masked/masks"] >= 1
    assert counts["eczema-masked/healthy"] >= 1
    assert any(k.startswith("ph2-")
               for k in [p.name[len("synthetic-"):] for p in (out / "eczema-masked").rglob("*.png")])

    unpaired = load_training_data(out / "pws-unpaired", "unpaired-translation", (64, 64), 3, progress=False)
    paired = load_training_data(out / "pws-paired", "paired-translation", (64, 64), 3, progress=False)
    masked = load_training_data(out / "eczema-masked", "masked-edit", (64, 64), 3, progress=False)
    eczema = load_training_data(out / "eczema-unpaired", "unpaired-translation", (64, 64), 3, progress=False)
    assert len(unpaired) == 12 and len(paired) == 6 and len(masked) >= 1 and len(eczema) >= 1
    assert masked.tensors["mask"].float().mean() > 0
    a_names = {p.name for p in (out / "pws-unpaired" / "A").iterdir()}
    b_names = {p.name for p in (out / "pws-unpaired" / "B").iterdir() if "-stain" not in p.stem}
    assert not a_names & b_names  # disjoint halves
    assert unpaired.tensors["mask"].shape == (12, 1, 64, 64) and eczema.tensors["mask"].float().mean() > 0
    for name in b_names:  # each unpaired B's mask is where its stain was drawn (pws-paired/A is that face)
        drawn_mask = (out / "pws-paired" / "masks" / name).read_bytes()
        assert (out / "pws-unpaired" / "masks" / name).read_bytes() == drawn_mask
    # The removal check: the B half's own clean faces under a new stain, drawn exactly where its mask says.
    check = load_training_data(out / "pws-removal-check", "paired-translation", (64, 64), 3, progress=False)
    assert {Path(f).name for f in check.files} == b_names
    for name in b_names:
        restained = (out / "pws-removal-check" / "B" / name).read_bytes()
        assert restained != (out / "pws-unpaired" / "B" / name).read_bytes()  # another stain
    drawn = (check.tensors["A"].float() - check.tensors["B"].float()).abs().amax(1, keepdim=True) > 2
    inside = check.tensors["mask"] > 127
    assert drawn[inside].float().mean() > 0.9 and drawn[~inside].float().mean() < 0.02
    # The eczema check likewise: the eczema half's healthy originals under other eczema, inside its mask.
    eczema_b = {p.name for p in (out / "eczema-unpaired" / "B").iterdir()}
    eczema_check = load_training_data(out / "eczema-removal-check", "paired-translation", (32, 32), 3, progress=False)
    assert {Path(f).name for f in eczema_check.files} == eczema_b
    assert not eczema_b & {p.name for p in (out / "eczema-unpaired" / "A").iterdir()}  # never seen healthy
    for name in eczema_b:  # other eczema than the training one
        assert (out / "eczema-removal-check" / "B" / name).read_bytes() != \
            (out / "eczema-unpaired" / "B" / name).read_bytes()
    drawn = (eczema_check.tensors["A"].float() - eczema_check.tensors["B"].float()).abs().amax(1, keepdim=True) > 2
    inside = eczema_check.tensors["mask"] > 127
    assert drawn[inside].float().mean() > 0.5 and drawn[~inside].float().mean() < 0.02
    for name in _load_script().DATASETS:
        card = (out / name / "DATA_CARD.md").read_text()
        assert "SYNTHETIC" in card and "not for diagnosis" in card.lower() and "CelebA" in card
        assert all(p.name.startswith("synthetic-") for p in (out / name).rglob("*.png"))

    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.png")}
    _load_script().main(args)  # rerun into the same OUT: same files, nothing stale
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*.png")} == first

    # K stains per B face: all different, none the check's; K=1 keeps exactly the first stain of each face.
    stained = [p.read_bytes() for p in (out / "pws-unpaired" / "B").iterdir()]
    assert len(set(stained)) == 12
    assert not {p.read_bytes() for p in (out / "pws-removal-check" / "B").iterdir()} & set(stained)
    one = tmp_path / "one"
    counts = _load_script().main([*args[:5], str(one), *args[6:], "--stains-per-face", "1"])
    assert counts["pws-unpaired/B"] == 3
    assert {p.relative_to(one): p.read_bytes() for p in one.rglob("*.png")} == {
        rel: data for rel, data in first.items() if "-stain" not in rel.stem}


@pytest.mark.parametrize("style", ["clinical", "flat"])
def test_stain_follows_an_off_centre_face(style):
    face = torch.full((3, 64, 64), 0.1)
    face[:, :, 34:] = toy_face(64)[:, :, 16:46]  # skin only right of the midline
    for seed in range(4):
        _, mask = add_port_wine_stain(face, seed, style=style)
        assert mask.sum() > 0 and mask[0, :, :32].sum() <= 0.3 * mask.sum()


def _laplacian(x: torch.Tensor) -> torch.Tensor:
    """|4-neighbour Laplacian|, channel mean, of the interior: fine texture and relief."""
    return (x[:, 1:-1, 1:-1] * 4 - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2] - x[:, 1:-1, 2:]).abs().mean(0)


def test_clinical_stains_vary_as_the_condition_does():
    """Across seeds: stains over the forehead (V1) and over the chin (V3), on both sides, some crossing
    the midline and most stopping at it; pale pink to deep purple; raised (textured) nodular ones."""
    face = toy_face(128)
    smooth = toy_face(128, grain=0.0)
    region = face_region(face)[0].bool()
    centre_y, tops, bottoms, bilateral, one_sided, darkness, texture = [], 0, 0, 0, 0, [], []
    for seed in range(40):
        stained, mask = add_port_wine_stain(face, seed)
        m = mask[0].bool()
        assert not (m & ~region).any() and m.any()
        rows = torch.nonzero(m)[:, 0].float() / 128
        centre_y.append(rows.mean().item())
        tops += rows.mean().item() < 0.4
        bottoms += rows.mean().item() > 0.6
        left, right = m[:, :60].sum().item(), m[:, 68:].sum().item()
        bilateral += min(left, right) > 0.15 * m.sum().item()
        one_sided += min(left, right) < 0.02 * m.sum().item()
        darkness.append(1 - (stained[:, m].mean(1) / face[:, m].mean(1))[1].item())  # green absorbed
        relief, _ = add_port_wine_stain(smooth, seed)  # the same stain on grain-free skin: relief alone
        core = 1 - torch.nn.functional.max_pool2d(1 - mask[None], 7, 1, 3)[0, 0]  # not the margin
        texture.append(_laplacian(relief)[core[1:-1, 1:-1].bool()].mean().item())
    assert tops >= 4 and bottoms >= 4  # V1 stains sit high, V3 stains low
    assert bilateral >= 3 and one_sided >= 15
    assert min(darkness) < 0.35 and max(darkness) > 0.45  # pale to deep
    median = sorted(texture)[len(texture) // 2]
    assert sum(t > 2 * median for t in texture) >= 5  # raised, cobblestoned (nodular) stains among flat ones


def test_clinical_eczema_is_ill_defined_scaly_and_darker_on_dark_skin():
    light = toy_patch(96)
    dark = (light * torch.tensor([0.42, 0.33, 0.30]).view(3, 1, 1) / SKIN.view(3, 1, 1)).clamp(0, 1)
    for seed in range(4):
        out, mask = add_eczema(light, seed, coverage=(0.4, 0.6))
        m = mask[0]
        def inside(px: int) -> torch.Tensor:  # mask pixels at least px from its edge
            return m * (1 - torch.nn.functional.max_pool2d(1 - m[None, None], 2 * px + 1, 1, px)[0, 0])

        rim, core = m - inside(2), inside(6)
        change = (out - light).abs().mean(0)
        assert change[rim.bool()].mean() < 0.6 * change[core.bool()].mean()  # fades out: ill-defined
        dark_out, dark_mask = add_eczema(dark, seed, coverage=(0.4, 0.6))
        d = dark_mask[0].bool()
        redden_light = (out[0, m.bool()] / out[1, m.bool()]).mean() / (light[0, m.bool()] / light[1, m.bool()]).mean()
        redden_dark = (dark_out[0, d] / dark_out[1, d]).mean() / (dark[0, d] / dark[1, d]).mean()
        assert redden_dark < redden_light  # violaceous-brown on dark skin, not the red of light skin

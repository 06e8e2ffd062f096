"""The mask-guided editors: registry entries, learning on tiny synthetic lesions, sizes and errors."""

import pytest
import torch
from conftest import tiny

import zoo
from zoo.training import train_steps

IDS = ("eczema-remove", "eczema-add", "lesion-remove", "lesion-add")
SKIN = torch.tensor([0.85, 0.65, 0.55])
LESION = torch.tensor([0.35, 0.2, 0.15])


@pytest.fixture(autouse=True)
def maskedit():
    """The plugin registered by hand until its entry point is installed (then this is a no-op)."""
    import medgan_zoo_plugins.maskedit as plugin

    registry = zoo.get_registry()
    added = "eczema-remove" not in registry
    if added:
        registry.add_plugin(plugin, "maskedit")
    yield
    if added:
        registry.remove_plugin("maskedit")


def synthetic(n: int, size: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    """Skin squares with one dark round lesion and its mask (1 px wider), plus lesion-free skin, in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    cy, cx = (torch.rand(2, n, 1, 1, generator=gen) * size * 0.4 + size * 0.3).unbind(0)
    radius = torch.rand(n, 1, 1, generator=gen) * size * 0.1 + size * 0.12
    dist = ((yy - cy) ** 2 + (xx - cx) ** 2).sqrt()[:, None]
    inside, mask = (dist < radius[:, None]).float(), (dist < radius[:, None] + 1).float()
    skin, lesion = SKIN.view(1, 3, 1, 1), LESION.view(1, 3, 1, 1)
    noise = lambda: 0.03 * torch.randn(n, 3, size, size, generator=gen)  # noqa: E731
    image = (skin * (1 - inside) + lesion * inside + noise()).clamp(0, 1)
    healthy = (skin + noise()).clamp(0, 1)
    return {"image": image * 2 - 1, "mask": mask, "healthy": healthy * 2 - 1}


def region_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean colour in [0, 1] over the masked pixels of all images (3,)."""
    return (((x + 1) / 2) * mask).sum((0, 2, 3)) / mask.sum()


def outside_error(out: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean |out - in| outside the mask, in [0, 1] units."""
    return float(((out - x).abs() / 2 * (1 - mask)).sum() / ((1 - mask).sum() * x.shape[1]))


def test_registered_ids_and_defaults():
    for model_id in IDS:
        spec = zoo.info(model_id)
        assert spec.task == "masked-edit" and spec.family == "mask-guided"
        assert spec.trained and (spec.weights / "generator.safetensors").is_file()
        assert spec.image_size == (128, 128) and spec.channels == 3
        assert spec.config["direction"] == model_id.split("-")[1]
    assert zoo.info("lesion-remove").modality == "dermoscopy"
    assert zoo.info("lesion-add").config["prefill"] and not zoo.info("eczema-add").config["prefill"]
    assert "synthetic eczema" in zoo.info("eczema-add").modality


@pytest.mark.slow
@pytest.mark.parametrize("direction, upsample", [("remove", "transposed"), ("add", "transposed"), ("remove", "resize")])
def test_learns_to_edit_inside_and_keep_outside(direction, upsample):
    model = tiny(f"eczema-{direction}", upsample=upsample)  # seeded
    data = synthetic(64)
    train_steps(model, data, steps=150, batch_size=16, progress=False)
    test = synthetic(32, seed=1)
    # remove: lesion images in, healthy skin wanted inside; add: healthy skin in, lesions wanted inside.
    source, goal = (test["image"], SKIN) if direction == "remove" else (test["healthy"], LESION)
    with torch.no_grad():
        out = model.edit(source, test["mask"], direction)
    before = float((region_mean(source, test["mask"]) - goal).norm())
    after = float((region_mean(out, test["mask"]) - goal).norm())
    outside = outside_error(out, source, test["mask"])
    print(f"{direction}: masked-region colour distance to goal {before:.3f} -> {after:.3f}, "
          f"mean |out - in| outside the mask {outside:.4f}")
    assert after < 0.5 * before
    assert outside < 0.05


@pytest.mark.slow
def test_prefill_add_learns_from_lesion_images_alone():
    """With ``prefill`` an adder needs no healthy images: it trains on each lesion image with its
    lesion smoothed away and learns to paint the lesion back; on unseen healthy skin it then paints
    lesions inside the mask and leaves the outside alone."""
    torch.manual_seed(0)
    model = tiny("lesion-add", prefill=True)
    data = {k: v for k, v in synthetic(64).items() if k != "healthy"}
    train_steps(model, data, steps=150, batch_size=16, progress=False)
    test = synthetic(32, seed=1)
    with torch.no_grad():
        out = model.edit(test["healthy"], test["mask"], "add")
    before = float((region_mean(test["healthy"], test["mask"]) - LESION).norm())
    after = float((region_mean(out, test["mask"]) - LESION).norm())
    outside = outside_error(out, test["healthy"], test["mask"])
    print(f"prefill add: masked-region colour distance to a lesion {before:.3f} -> {after:.3f}, outside {outside:.4f}")
    assert after < 0.5 * before
    assert outside < 0.05


def test_prefill_models_edit_a_grown_mask_and_add_to_the_smoothed_lesion_image():
    from zoo.models.i2i import edit_inputs, smooth_fill

    batch = synthetic(4, size=50)
    del batch["healthy"]
    for mode in ("remove", "add"):
        plain_image, plain_mask = edit_inputs(batch, mode)
        image, mask = edit_inputs(batch, mode, prefill=True)
        assert bool((mask >= batch["mask"]).all()) and mask.sum() > batch["mask"].sum()  # grown, by 1 px at 50 px
        assert mask.sum() < (batch["mask"].sum() + 4 * 2 * 50)  # ... and only a little
        if mode == "remove":
            assert image is batch["image"] and torch.equal(plain_mask, batch["mask"])
        else:  # the lesion smoothed away under its own grown mask; unprefilled: another sample's mask
            assert torch.equal(image, smooth_fill(batch["image"], mask))
            assert torch.equal(plain_mask, batch["mask"].roll(1, 0)) and plain_image is batch["image"]


def test_tanh_bound_keeps_the_gradient_that_clamping_loses():
    """A colour pushed past the range: clamped, it gets no gradient back (it can stay stuck);
    with bound="tanh" the output stays inside the range and the gradient still flows."""
    from medgan_zoo_plugins.maskedit.model import MaskedUNet

    x, mask = torch.full((1, 3, 16, 16), 0.9), torch.ones(1, 1, 16, 16)
    for bound in ("clamp", "tanh"):
        net = MaskedUNet(3, features=4, blocks=1, bound=bound)
        assert torch.allclose(net(x, mask), x, atol=1e-3)  # untrained: the identity either way
        with torch.no_grad():
            net.head[1].bias.fill_(3.0)  # a residual pushing every pixel far above white
        out = net(x, mask)
        out.sum().backward()
        grad = net.head[1].bias.grad.abs().sum()
        if bound == "clamp":
            assert torch.equal(out, torch.ones_like(out)) and grad == 0
        else:
            assert bool((out < 1).all()) and out.min() > 0.99 and grad > 0


def test_smooth_fill_fills_from_the_surroundings_and_keeps_the_rest():
    from zoo.models.i2i import smooth_fill

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 45, 61, generator=gen) * 2 - 1
    mask = torch.zeros(2, 1, 45, 61)
    mask[0, :, 10:30, 20:50] = 1
    mask[1, :, 0:20, 0:20] = 1  # touching the border
    out = smooth_fill(x, mask)
    assert out.shape == x.shape
    assert torch.equal(out * (1 - mask), x * (1 - mask))  # unmasked pixels untouched
    known = x.masked_fill(mask.bool(), float("nan"))
    lo, hi = known.flatten(2).nan_to_num(2).amin(2), known.flatten(2).nan_to_num(-2).amax(2)
    assert ((out >= lo[..., None, None] - 1e-6) & (out <= hi[..., None, None] + 1e-6)).all()  # no new extremes
    # a hole in a flat colour is filled with that colour; a hole between two colours with a blend
    flat = torch.full((1, 3, 32, 32), 0.4)
    assert torch.allclose(smooth_fill(flat, mask[:1, :, :32, :32]), flat, atol=1e-6)
    halves = torch.cat([torch.full((1, 3, 32, 16), -1.0), torch.full((1, 3, 32, 16), 1.0)], 3)
    hole = torch.zeros(1, 1, 32, 32)
    hole[..., 8:24, 8:24] = 1
    filled = smooth_fill(halves, hole)[0, 0, 16, 8:24]
    assert filled[0] < -0.3 and filled[-1] > 0.3 and bool((filled.diff() >= -1e-6).all())  # a ramp from left to right
    assert torch.equal(smooth_fill(x, torch.ones(2, 1, 45, 61)), torch.zeros_like(x))  # nothing known: 0


@pytest.mark.parametrize("mode", ["remove", "add"])
@pytest.mark.parametrize("size", [(50, 70), (33, 17), (128, 128)])
def test_any_size_comes_back_at_its_own_size(mode, size):
    pipe = zoo.pipeline_for(tiny(f"lesion-{mode}"))
    image = torch.rand(3, *size)
    mask = torch.zeros(1, *size)
    mask[:, size[0] // 4 : size[0] // 2, size[1] // 4 : size[1] // 2] = 1
    out = pipe(image, mask, mode=mode).tensors[0]
    assert out.shape == (3, *size)
    assert torch.equal(out * (1 - mask), image * (1 - mask))  # the pipeline pastes the input back outside
    x = image[None] * 2 - 1  # edit() takes any size too
    assert pipe.model.edit(x, mask[None], mode).shape == x.shape


def test_pipeline_grows_the_mask_on_request():
    pipe = zoo.pipeline_for(tiny("eczema-remove"))
    with torch.no_grad():
        pipe.model.generator.head[1].bias.fill_(1.0)  # an "edit" that brightens every pixel it may touch
    image, mask = torch.full((3, 40, 40), 0.2), torch.zeros(1, 40, 40)
    mask[:, 10:20, 10:20] = 1
    tight = pipe(image, mask).tensors[0]
    grown = pipe(image, mask, grow_mask=3).tensors[0]
    changed = lambda out: (out - image).abs().amax(0) > 0.05  # noqa: E731
    assert changed(tight).sum() == 100 and changed(grown).sum() == 16 * 16  # 3 px more on each side
    with pytest.raises(ValueError, match="grow_mask must be >= 0"):
        pipe(image, mask, grow_mask=-1)


def test_wrong_mask_or_mode_is_a_clear_error():
    model = tiny("eczema-remove")
    x, mask = torch.zeros(2, 3, 32, 32), torch.ones(2, 1, 32, 32)
    with pytest.raises(ValueError, match=r"load 'eczema-add' for mode='add'"):
        model.edit(x, mask, "add")
    with pytest.raises(ValueError, match=r"N x 1 x H x W .* got \(2, 1, 16, 32\)"):
        model.edit(x, mask[:, :, :16], "remove")
    with pytest.raises(ValueError, match="mask must be binary"):
        model.edit(x, mask * 0.5, "remove")
    with pytest.raises(ValueError, match="only does mode='remove'"):
        zoo.pipeline_for(model)(torch.rand(3, 32, 32), torch.ones(1, 32, 32), mode="add")
    with pytest.raises(zoo.errors.ImageInputError, match="mask is 16 x 32"):  # the pipeline checks sizes
        zoo.pipeline_for(model)(torch.rand(3, 32, 32), torch.ones(1, 16, 32), mode="remove")


def test_healthy_folder_is_loaded_and_cycled(tmp_path):
    from PIL import Image

    from zoo.data import load_training_data

    for folder, count in (("images", 2), ("masks", 2), ("healthy", 3)):
        (tmp_path / folder).mkdir()
        for i in range(count):
            Image.new("L" if folder == "masks" else "RGB", (8, 8), 255 if folder == "masks" else (i, 0, 0)).save(
                tmp_path / folder / f"{i}.png")
    data = load_training_data(tmp_path, "masked-edit", (8, 8), 3, progress=False)
    assert len(data) == 3 and set(data.tensors) == {"image", "mask", "healthy"}
    assert sorted(data.tensors["healthy"][:, 0, 0, 0].tolist()) == [0, 1, 2]  # every healthy image, once


def test_healthy_cells_are_those_whose_whole_receptive_field_misses_the_lesion():
    from medgan_zoo_plugins.maskedit.model import touches
    from zoo.models.i2i import receptive_field

    assert [receptive_field(n) for n in (1, 2, 3)] == [16, 34, 70]  # 70: the 70x70 PatchGAN
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 14:18, 14:18] = 1
    near = touches(mask, (8, 8))  # cells holding a masked pixel: the centre 2 x 2 cells
    assert near.sum() == 4
    seen = touches(mask, (8, 8), reach=6)  # cells whose field reaches 6 px further see more of it
    assert seen.sum() > near.sum() and bool((seen >= near).all()) and seen[..., 0, 0] == 0


def _plain_skin(seed: int, size: int = 128) -> torch.Tensor:
    """A shaded skin-coloured square with a little noise, 3 x H x W in [0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    base = torch.tensor([0.86, 0.66, 0.56]).view(3, 1, 1) * (1 - 0.12 * (xx**2 + yy**2))
    return (base + 0.02 * torch.randn(3, size, size, generator=gen)).clamp(0, 1)


def _redness(x: torch.Tensor, mask: torch.Tensor) -> float:
    return float(((x[0] - x[1]) * mask[0]).sum() / mask.sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_embedded_eczema_editors_work_on_fresh_synthetic_skin(seed):
    """The embedded weights, on skin they never saw: removal brings the masked area back toward
    healthy redness, addition makes it redder, and outside the mask nothing changes."""
    from zoo.data.domains import add_eczema
    from zoo.data.images import to_pil

    eczema, mask = add_eczema(_plain_skin(seed), seed=seed)
    healthy = _plain_skin(100 + seed)
    mask_image = to_pil(mask.expand(3, -1, -1))
    removed = zoo.load("eczema-remove")(to_pil(eczema), mask_image, mode="remove").tensors[0]
    added = zoo.load("eczema-add")(to_pil(healthy), mask_image, mode="add").tensors[0]
    before, after, target = _redness(eczema, mask), _redness(removed, mask), _redness(healthy, mask)
    print(f"redness in the mask: eczema {before:.3f} -> removed {after:.3f} (healthy {target:.3f}); "
          f"healthy {target:.3f} -> added {_redness(added, mask):.3f}")
    assert after < target + 0.3 * (before - target)  # most of the way back to healthy
    assert _redness(added, mask) > target + 0.4 * (before - target)
    for out, source in ((removed, eczema), (added, healthy)):
        assert ((out - source).abs() * (1 - mask)).max() <= 1 / 255  # 8-bit rounding only


def _disc(size: int = 128, radius: float = 0.3) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    return ((xx**2 + yy**2).sqrt() < radius).float()[None]


def _colour(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum((1, 2)) / mask.sum()


def test_embedded_lesion_editors_work_on_a_drawn_lesion():
    """The embedded PH2 weights on skin they never saw (a drawn brown disc on plain skin, no
    dermoscope vignette): removal brings the masked colour most of the way back to the skin,
    addition darkens plain skin toward a lesion's brown, and outside the mask nothing changes."""
    from zoo.data.images import to_pil

    skin, mask = _plain_skin(0), _disc()
    lesion = skin * (1 - mask) + torch.tensor([0.45, 0.3, 0.22]).view(3, 1, 1) * mask
    mask_image = to_pil(mask.expand(3, -1, -1))
    removed = zoo.load("lesion-remove")(to_pil(lesion), mask_image, mode="remove").tensors[0]
    added = zoo.load("lesion-add")(to_pil(skin), mask_image, mode="add").tensors[0]
    target, before = _colour(skin, mask), _colour(lesion, mask)
    after, painted = _colour(removed, mask), _colour(added, mask)
    print(f"masked colour: lesion {before.tolist()} -> removed {after.tolist()} (skin {target.tolist()}); "
          f"skin -> added {painted.tolist()}")
    assert (after - target).norm() < 0.3 * (before - target).norm()
    assert painted.mean() < target.mean() - 0.1  # darker, as pigmented lesions are
    for out, source in ((removed, lesion), (added, skin)):
        assert ((out - source).abs() * (1 - mask)).max() <= 1 / 255

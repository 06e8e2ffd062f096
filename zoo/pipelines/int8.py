"""Post-training int8 quantization of an image-to-image generator, for fast CPU inference.

The generator is captured with ``torch.export``, run on a few calibration images so observers record
each activation's range, converted to int8 (weights per output channel, activations per tensor:
torchao's PT2E flow with its x86 Inductor quantizer) and compiled by Inductor, with weights frozen,
into oneDNN int8 convolutions. x86 CPUs with AVX-512 VNNI or AMX run these faster than bfloat16:
ResNet-9 at 256 x 256 takes 185-209 ms on a 2-core Intel Xeon CPU, against 290-330 ms in bfloat16
and 584 ms in float32 (``bench/i2i_speed.py``).

The output layer stays float32 by default: of all layers it alone carried most of the int8 error
(on ``cyclegan-pws``, quantizing it too more than doubled the mean and the largest error,
``bench/int8_quality.py``). Norms, activations and padding run in float32 between int8
convolutions, and so do transposed convolutions (the quantizer has no int8 form for them). Needs
the ``int8`` extra: ``pip install "medgan-zoo[int8]"``.

Quantizing takes 20-40 s, so with ``cache_dir`` the result is kept: compiled ahead of time by
AOTInductor into one package per generator, keyed by a hash of its weights, the input shape, the
layers kept in float32, the calibration images, the torch version and the CPU's instruction set. A
later process loads the package in milliseconds (:func:`cached_int8`). The package holds compiled
native code: it is made on this machine and only read from this machine's cache, never downloaded.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from zoo.cache import cache_root

__all__ = ["output_layer", "Int8Generator", "quantize_int8", "cached_int8", "default_cache_dir"]

_CONVOLUTIONS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def _torchao():
    """torchao's PT2E quantization, imported quietly (a CPU build logs that its CUDA kernels are absent)."""
    log = logging.getLogger("torchao")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as x86
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    except ImportError as err:
        raise ImportError('int8 inference needs torchao: pip install "medgan-zoo[int8]"') from err
    finally:
        log.setLevel(level)
    return x86, prepare_pt2e, convert_pt2e


def output_layer(generator: nn.Module) -> str:
    """The name of the generator's last convolution (or linear layer), the one kept in float32."""
    names = [name for name, module in generator.named_modules() if isinstance(module, _CONVOLUTIONS)]
    if not names:
        raise ValueError(f"{type(generator).__name__} has no convolution or linear layer to quantize")
    return names[-1]


def _calibration_batches(calibration: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    batches = [calibration] if isinstance(calibration, torch.Tensor) else list(calibration)
    if not batches or any(len(b) == 0 for b in batches):
        raise ValueError("calibration is empty; give about 16 typical input images")
    shapes = {tuple(b.shape[1:]) for b in batches}
    if len(shapes) > 1:
        raise ValueError(f"calibration images differ in size {sorted(shapes)}; bring them to the model's size first")
    return batches


class Int8Generator:
    """A quantized, compiled generator. Call it like the float one, on inputs of the calibrated shape."""

    def __init__(self, compiled, input_shape: tuple[int, ...], kept_float: list[str], package: Path | None = None):
        self._compiled = compiled
        # C x H x W: the export and the compiled kernels are specialised to it and to a batch of one;
        # larger batches run image by image (on a CPU, batching gains nothing here).
        self.input_shape = input_shape
        self.kept_float = kept_float
        self.package = package  # the cached AOTInductor package it was loaded from, if any

    def __repr__(self) -> str:
        where = f", package={str(self.package)!r}" if self.package else ""
        return f"Int8Generator(input_shape={self.input_shape}, kept_float={self.kept_float}{where})"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":
            raise ValueError(f"int8 inference runs on the CPU; got an input on {x.device} (on a GPU use bfloat16)")
        if tuple(x.shape[1:]) != self.input_shape:
            shape = " x ".join(map(str, self.input_shape))
            raise ValueError(f"this int8 generator was calibrated for inputs of shape N x {shape}; "
                             f"got {tuple(x.shape)}. Resize the input, or quantize again at the new size")
        # The compiled graph is guarded on a contiguous float32 input that is a normal tensor (not made
        # in inference mode); anything else would recompile, 20 s. So bring every input to that form.
        with torch.inference_mode(False):
            images = x.float().contiguous().clone().split(1)
        # A recompile of the in-process graph, if one happens anyway, must be frozen too.
        with _frozen() if self.package is None else torch.inference_mode():
            return torch.cat([self._compiled(image) for image in images])


@contextlib.contextmanager
def _frozen():
    """Inference with Inductor freezing on: it folds the weights into prepacked oneDNN int8 kernels
    (without it the int8 graph runs at float speed), and it is read when compiling, on a call."""
    from torch._inductor import config as inductor_config

    with inductor_config.patch(freezing=True), torch.inference_mode():
        yield


def _check(generator: nn.Module, batches: list[torch.Tensor], keep_float: Sequence[str] | None) -> list[str]:
    """The names to keep in float32, after checking that ``generator`` can be quantized here."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86"):
        raise ValueError(f"int8 inference uses x86 oneDNN kernels; this machine is {platform.machine()} "
                         "(use bfloat16 instead)")
    if any(p.device.type != "cpu" for p in generator.parameters()) or batches[0].device.type != "cpu":
        raise ValueError("int8 inference runs on the CPU; move the model and the calibration images there "
                         "(on a GPU use bfloat16 or float16)")
    dtype = next(generator.parameters()).dtype
    if dtype != torch.float32:  # observers and the int8 kernels start from float32 weights
        raise ValueError(f"quantize a float32 generator (this one is {dtype}); load it without a dtype")
    kept = [output_layer(generator)] if keep_float is None else list(keep_float)
    if unknown := [name for name in kept if name not in dict(generator.named_modules())]:
        raise ValueError(f"keep_float names no module of {type(generator).__name__}: {unknown}")
    return kept


def _convert(generator: nn.Module, example: torch.Tensor, batches: list[torch.Tensor], kept: list[str]) -> nn.Module:
    """Export at ``example``'s shape, observe the calibration images, convert to int8 (a graph of
    quantize / int8 conv ops)."""
    x86, prepare_pt2e, convert_pt2e = _torchao()
    quantizer = x86.X86InductorQuantizer().set_global(x86.get_default_x86_inductor_quantization_config())
    for name in kept:
        quantizer.set_module_name_qconfig(name, None)
    with torch.no_grad():
        prepared = prepare_pt2e(torch.export.export(generator, (example,)).module(), quantizer)
        for batch in batches:
            for image in batch.float().split(1):
                prepared(image)
        return convert_pt2e(prepared)


def default_cache_dir() -> Path:
    """Where int8 packages are kept: ``$MEDGAN_ZOO_CACHE/int8``, else ``$XDG_CACHE_HOME/medgan-zoo/int8``,
    else ``~/.cache/medgan-zoo/int8``."""
    return cache_root() / "int8"


def _digest(tensors: Sequence[tuple[str, torch.Tensor]]) -> str:
    sha = hashlib.sha256()
    for name, tensor in tensors:
        t = tensor.detach().cpu().contiguous()
        sha.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        sha.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return sha.hexdigest()


def _generator_key(generator: nn.Module, input_shape: tuple[int, ...], kept: list[str]) -> str:
    """What the compiled code depends on, other than the calibration: weights, shape, float layers,
    torch and the CPU's instruction set (the package is compiled for it)."""
    weights = _digest(sorted(generator.state_dict().items()))
    facts = [weights, input_shape, kept, torch.__version__, platform.machine(), torch.backends.cpu.get_cpu_capability(),
             type(generator).__qualname__, 1]  # the last: this package format's version
    return hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()[:32]


def _load_package(entry: Path) -> Int8Generator | None:
    """The package in ``entry``, or None (with a warning) when it cannot be read: it is removed then."""
    try:
        meta = json.loads((entry / "int8.json").read_text())
        # The package's loader itself: torch._inductor.aoti_load_package would import the compiler
        # (2-3 s) to check the CPU, which the cache key has already pinned.
        loader = torch._C._aoti.AOTIModelPackageLoader(str(entry / "generator.pt2"), "model", False, 1, -1)
    except Exception as err:  # any damage: a half-deleted folder, another torch build's package
        warnings.warn(f"ignoring the damaged int8 package {entry} ({type(err).__name__}: {err}); "
                      "quantizing again", stacklevel=3)
        shutil.rmtree(entry, ignore_errors=True)
        return None
    return Int8Generator(lambda x: loader.boxed_run([x])[0], tuple(meta["input_shape"]), list(meta["kept_float"]),
                         package=entry)


def cached_int8(generator: nn.Module, input_shape: Sequence[int], *, keep_float: Sequence[str] | None = None,
                cache_dir: str | Path | None = None) -> Int8Generator | None:
    """The newest cached int8 package of ``generator`` at ``input_shape`` (C x H x W), whatever images
    calibrated it, or None. The package's ``int8.json`` says which (their count and hash)."""
    kept = [output_layer(generator)] if keep_float is None else list(keep_float)
    root = Path(cache_dir or default_cache_dir()) / _generator_key(generator, tuple(input_shape), kept)
    entries = sorted(root.glob("*/int8.json"), key=lambda p: p.stat().st_mtime, reverse=True) if root.is_dir() else []
    for meta in entries:
        if (found := _load_package(meta.parent)) is not None:
            return found
    return None


def _package(converted: nn.Module, example: torch.Tensor, entry: Path, meta: dict) -> Int8Generator:
    """Compile ``converted`` ahead of time into ``entry`` (written to a temporary folder beside it,
    then renamed: a process stopped half-way leaves no package that looks whole)."""
    from torch._inductor import config as inductor_config

    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=entry.parent))
    try:
        with inductor_config.patch(freezing=True), torch.no_grad():
            program = torch.export.export(converted, (example,))
            torch._inductor.aoti_compile_and_package(program, package_path=str(tmp / "generator.pt2"))
        (tmp / "int8.json").write_text(json.dumps(meta, indent=2) + "\n")
        try:
            tmp.rename(entry)
        except OSError:  # another process made the same package meanwhile: use that one
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if (made := _load_package(entry)) is None:
        raise RuntimeError(f"the int8 package just compiled into {entry} cannot be loaded")
    return made


def quantize_int8(generator: nn.Module, calibration: torch.Tensor | Sequence[torch.Tensor], *,
                  keep_float: Sequence[str] | None = None, cache_dir: str | Path | None = None) -> Int8Generator:
    """An int8 copy of ``generator`` for CPU inference; ``generator`` itself is not touched.

    ``calibration``: a batch (N x C x H x W) or a list of batches of typical inputs in the model's
    range and at the size it will be run at; 16 images gave smaller errors than 8 (README).
    ``keep_float``: names of modules to leave in float32, by default the output layer
    (``output_layer``); ``[]`` quantizes them all. Takes 20-40 s (export, calibration, compilation).
    ``cache_dir``: keep the compiled result there (e.g. :func:`default_cache_dir`) and reuse it when
    the same weights are quantized on the same images again, in this process or a later one.
    """
    batches = _calibration_batches(calibration)
    kept = _check(generator, batches, keep_float)
    example = batches[0][:1].float().contiguous()  # one image: the shape everything is specialised to
    entry = None
    if cache_dir is not None:
        shape = tuple(example.shape[1:])
        calibrated = _digest([(str(i), b.float()) for i, b in enumerate(batches)])[:32]
        entry = Path(cache_dir) / _generator_key(generator, shape, kept) / calibrated
        if (entry / "int8.json").is_file() and (found := _load_package(entry)) is not None:
            os.utime(entry / "int8.json")  # the newest used is the one cached_int8 finds first
            return found
    # A copy: the export would otherwise share (and eval() would switch) the caller's module.
    converted = _convert(copy.deepcopy(generator).eval(), example, batches, kept)
    if entry is not None:
        meta = {"input_shape": list(example.shape[1:]), "kept_float": kept, "generator": type(generator).__qualname__,
                "calibration_images": sum(len(b) for b in batches), "calibration_sha256": entry.name,
                "torch": torch.__version__, "made": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        return _package(converted, example, entry, meta)
    compiled = torch.compile(converted, dynamic=False)
    with _frozen():
        compiled(example)  # compiles now, not on the user's first image
    return Int8Generator(compiled, tuple(example.shape[1:]), kept)

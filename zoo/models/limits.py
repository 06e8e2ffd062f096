"""Limits on what a configuration may ask for, checked before any network is built.

A config.json is data from strangers: ``refine: 1000000000`` would build layers until memory runs
out, and ``image_size: [100000, 100000]`` loads with tiny weights and then allocates terabytes on
the first call. So before a model is built from a config (``zoo.load``, ``zoo.create``):

* every image side must be within 1 .. ``MEDGAN_ZOO_MAX_IMAGE_SIDE`` (default 4096 pixels);
* every other whole number in the config must be within 0 .. ``MEDGAN_ZOO_MAX_CONFIG_INT``
  (default 100,000): layer, block and feature counts, latent sizes, pool sizes;
* the networks, built first on PyTorch's ``meta`` device (no memory), must hold at most
  ``MEDGAN_ZOO_MAX_PARAMETERS`` parameters (default 2,000,000,000: 8 GB in float32).

Raise a limit for a model you trust by setting its environment variable.
"""

from __future__ import annotations

import os
from typing import Any, Callable, TypeVar

import torch

from zoo.errors import ConfigError

__all__ = ["MAX_IMAGE_SIDE", "MAX_CONFIG_INT", "MAX_PARAMETERS", "check_config", "build_checked"]

MAX_IMAGE_SIDE = ("MEDGAN_ZOO_MAX_IMAGE_SIDE", 4096)
MAX_CONFIG_INT = ("MEDGAN_ZOO_MAX_CONFIG_INT", 100_000)
MAX_PARAMETERS = ("MEDGAN_ZOO_MAX_PARAMETERS", 2_000_000_000)


def _limit(setting: tuple[str, int]) -> int:
    name, default = setting
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        raise ConfigError(f"{name}={os.environ[name]!r} is not a whole number") from None


def _ints(value: Any, path: str):
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _ints(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _ints(item, f"{path}[{i}]")


def check_config(config: dict[str, Any], what: str) -> None:
    """Refuse sizes and counts beyond the limits (see the module docstring), naming the value."""
    side_cap, int_cap = _limit(MAX_IMAGE_SIDE), _limit(MAX_CONFIG_INT)
    for key, value in config.items():
        if key == "image_size":
            sides = [value] if isinstance(value, int) else list(value) if isinstance(value, (list, tuple)) else []
            for side in (s for s in sides if isinstance(s, int) and not isinstance(s, bool)):  # types: the family's
                if not 1 <= side <= side_cap:
                    raise ConfigError(f"{what}: image_size {value!r} is outside 1..{side_cap} pixels a side; "
                                      f"set {MAX_IMAGE_SIDE[0]} to allow larger images from a source you trust")
            continue
        for path, number in _ints(value, key):
            if not 0 <= number <= int_cap:
                raise ConfigError(f"{what}: {path} = {number} is outside 0..{int_cap}; set {MAX_CONFIG_INT[0]} "
                                  "to allow larger values from a source you trust")


_Net = TypeVar("_Net", bound=torch.nn.Module)


def build_checked(make: Callable[[], _Net], what: str) -> _Net:
    """``make()`` once on the meta device (no memory) to count parameters, then for real."""
    cap = _limit(MAX_PARAMETERS)
    with torch.device("meta"):
        probe = make()
    count = sum(p.numel() for p in probe.parameters())
    if count > cap:
        raise ConfigError(f"{what} would hold {count:,} parameters, over the limit of {cap:,}; set "
                          f"{MAX_PARAMETERS[0]} to allow it for a model you trust")
    return make()

"""argparse types shared by the ``zoo`` verbs (and ``zoo train``)."""

from __future__ import annotations

import argparse
import json

__all__ = ["learning_rate", "positive_float", "positive_int", "duration", "decay", "parse_overrides"]


def positive_float(text: str) -> float:
    """An argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def learning_rate(text: str) -> float:
    """An argparse type: a learning rate in (0, 1]; 0 would not train, and above 1 no GAN stays stable."""
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1] (GANs train at about 1e-5 to 1e-3), got {value:g}")
    return value


def duration(text: str) -> float:
    """Seconds from ``3600``, ``45:00`` (MM:SS) or ``1:30:00`` (HH:MM:SS); positive."""
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected seconds, MM:SS or HH:MM:SS, got {text!r}")
    seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return seconds


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def decay(text: str) -> float:
    """An argparse type: an EMA decay in [0, 1), 0 meaning off."""
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (0: off), got {value}")
    return value


def parse_overrides(items: list[str]) -> dict:
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value  # a bare string
    return overrides

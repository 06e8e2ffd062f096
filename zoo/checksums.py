"""File checksums, read in blocks (weights and checkpoints can be larger than memory allows twice)."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_digest"]


def file_digest(path: str | Path, algorithm: str = "sha256", prefix: bytes = b"") -> str:
    """The hex digest of ``prefix`` followed by the file at ``path`` (``algorithm``: any hashlib name;
    a git blob id is SHA-1 with the prefix ``b"blob <size>\\0"``)."""
    digest = hashlib.new(algorithm, prefix)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

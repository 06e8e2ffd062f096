"""The zoo's own cache folder (int8 packages, the fetched FID Inception file)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """``$MEDGAN_ZOO_CACHE``, else ``$XDG_CACHE_HOME/medgan-zoo``, else ``~/.cache/medgan-zoo``."""
    root = os.environ.get("MEDGAN_ZOO_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "medgan-zoo"
    return Path(root).expanduser()

"""The ``zoo`` command line: :func:`main` (the verbs are in :mod:`zoo.cli.verbs`, ``zoo train``'s
options in :mod:`zoo.cli.train`, shared argparse types in :mod:`zoo.cli.types`).

Kept free of imports, so library modules can use :mod:`zoo.cli.types` without loading every verb.
"""

from __future__ import annotations

from typing import Any

__all__ = ["main", "build_parser", "EXAMPLES"]


def main(argv: list[str] | None = None) -> int:
    """Run ``zoo`` with ``argv`` (default: the process's arguments); returns the exit status."""
    from zoo.cli.verbs import main as run

    return run(argv)


def __getattr__(name: str) -> Any:
    if name in ("build_parser", "EXAMPLES"):
        from zoo.cli import verbs

        return getattr(verbs, name)
    raise AttributeError(f"module 'zoo.cli' has no attribute {name!r}")

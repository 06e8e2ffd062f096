"""The training entry point: ``accelerate launch zoo/train.py --model ID --data DIR --out RUN``.

The same program as ``zoo train``; its options and what a run folder holds are in
:mod:`zoo.cli.train` (``zoo train --help``).
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file (accelerate launch zoo/train.py), Python puts zoo/ itself first on sys.path,
    # where the zoo's subpackage names (data, models, ...) would shadow other packages'. Take it off.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

from zoo.cli.train import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

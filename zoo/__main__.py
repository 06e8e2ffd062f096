"""``python -m zoo``: the ``zoo`` command, for environments where the script is not on PATH."""

import sys

from zoo.cli import main

sys.exit(main())

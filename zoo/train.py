"""Train any zoo model on a folder of images.

    accelerate launch zoo/train.py --model dcgan-lesions --data ../shared/data/ham10000 --out runs/dcgan
    zoo train --model dcgan-lesions --data ../shared/data/ham10000 --out runs/dcgan   # the same, one process

The same command runs on a laptop CPU, one or several GPUs or a TPU: accelerate decides (configure
it once with `accelerate config`, or pass `accelerate launch --multi_gpu --num_processes 2 ...`).
A run folder holds checkpoints/ (resume with --resume latest), samples/ (a PNG grid every
--sample-every steps), TensorBoard logs, and model/: the trained model in save_pretrained format,
which `zoo.load("RUN_DIR/model")` opens.
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

"""Training: the one loop that drives every family (:class:`Trainer`, on accelerate), its
augmentation, the discriminator monitor, sample grids and a whole ``zoo train`` run."""

from zoo.training.monitor import DiscriminatorMonitor
from zoo.training.trainer import (
    StepContext,
    Trainer,
    TrainingDiverged,
    crop_batch_center,
    ema_with_warmup,
    latest_checkpoint,
    to_model_batch,
    train_steps,
)

__all__ = [
    "DiscriminatorMonitor", "StepContext", "Trainer", "TrainingDiverged", "crop_batch_center", "ema_with_warmup",
    "latest_checkpoint", "to_model_batch", "train_steps",
]

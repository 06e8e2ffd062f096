"""Training: the one loop that drives every family (:class:`Trainer`, on accelerate), its
augmentation, the discriminator monitor, sample grids and a whole ``zoo train`` run."""

from zoo.training.monitor import DiscriminatorMonitor
from zoo.training.trainer import (
    ResumeMismatch,
    StepContext,
    Trainer,
    TrainingDiverged,
    checkpoint_problem,
    crop_batch_center,
    ema_with_warmup,
    latest_checkpoint,
    resumable_checkpoint,
    to_model_batch,
    train_steps,
)

__all__ = [
    "DiscriminatorMonitor", "ResumeMismatch", "StepContext", "Trainer", "TrainingDiverged", "checkpoint_problem",
    "crop_batch_center", "ema_with_warmup", "latest_checkpoint", "resumable_checkpoint", "to_model_batch",
    "train_steps",
]

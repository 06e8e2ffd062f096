"""A small CNN classifier trained from scratch, and the classic augmentation it may train with.

No pretrained weights on purpose: an ImageNet backbone would blur what the *training images* add,
and nothing is downloaded. Images travel as uint8 N x C x H x W (as zoo.data.folders keeps them) and
become floats one batch at a time.

Determinism: on the CPU a run is a function of its ``seed`` (on a GPU, cuDNN's pooling backward
adds run-to-run noise unless ``torch.use_deterministic_algorithms(True)``). The initial weights come from (seed, 1),
so every condition of one seed starts from the same network (a paired comparison); dropout from (seed, 2);
the sample order from (seed, 3); the augmentation parameters from (seed, 4), drawn on the CPU so
that they do not depend on the device.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from zoo.training.trainer import TrainingDiverged, mix_seed

__all__ = ["WIDTHS", "SmallCNN", "ClassicAugment", "train_classifier", "predict"]

WIDTHS = (16, 32, 64, 128)


class SmallCNN(nn.Sequential):
    """Blocks of conv, 2x2 max-pool, BN, ReLU (``widths`` channels), global average pool, dropout, linear.

    Pooling straight after the conv lets BN and ReLU work on a quarter of the pixels; with
    channels-last tensors that halves a CPU training step (0.098 -> 0.050 s for a 64-image batch
    at 64 x 64 on 2 cores). (16, 32, 64, 128) rather than twice as wide: in a fixed CPU budget,
    more epochs of the narrow net scored better than fewer of the wide one on HAM10000.
    """

    def __init__(self, num_classes: int, channels: int = 3, widths: Sequence[int] = WIDTHS, dropout: float = 0.3):
        layers: list[nn.Module] = []
        c = channels
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False),
                       nn.MaxPool2d(2, ceil_mode=True),  # ceil: tiny (test) images never pool to 0 x 0
                       nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            c = w
        super().__init__(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))


class ClassicAugment(nn.Module):
    """Random flip, any rotation, +-10 % scale, +-5 % shift and mild brightness/contrast/saturation.

    Dermoscopy has no up or down, so rotations cover the full circle (a vertical flip is then a
    horizontal flip plus 180 degrees). Hue is left alone: lesion colour carries the diagnosis.
    The geometry is one ``grid_sample`` per batch with reflection padding (no black corners);
    kornia's ``AugmentationSequential`` with the same ops measured 2x slower on CPU, and here
    augmentation runs on every batch of every run.
    """

    def __init__(self, scale: float = 0.1, shift: float = 0.05, colour: float = 0.1):
        super().__init__()
        self.scale, self.shift, self.colour = scale, shift, colour

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``x``: N x C x H x W in [0, 1]; parameters drawn on the CPU from ``generator``."""
        n = len(x)

        def uniform(*shape: int, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
            return (low + (high - low) * torch.rand(shape, generator=generator)).to(x.device, x.dtype)

        angle = uniform(n, low=0, high=2 * math.pi)
        zoom = 1 + self.scale * uniform(n)
        flip = torch.where(uniform(n, low=0) < 0.5, -1.0, 1.0).to(x)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        shift = 2 * self.shift * uniform(n, 2)  # affine_grid's coordinates span [-1, 1]: 2 = the full width
        theta = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                             torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        brightness, contrast, saturation = (1 + self.colour * uniform(n, 1, 1, 1) for _ in range(3))
        x = x * brightness
        mean = x.mean((1, 2, 3), keepdim=True)
        x = (x - mean) * contrast + mean
        if x.shape[1] == 3:
            gray = (x * torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)).sum(
                1, keepdim=True)
            x = (x - gray) * saturation + gray
        return x.clamp(0, 1)


def _to_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    return images.to(device, non_blocking=True).float().contiguous(memory_format=torch.channels_last) / 255


def _index_stream(n: int, batch_size: int, steps: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """``steps`` batches of indices: shuffled passes over 0..n-1, chained (no short last batch)."""
    pending = torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        while len(pending) < batch_size:
            pending = torch.cat([pending, torch.randperm(n, generator=generator)])
        yield pending[:batch_size]
        pending = pending[batch_size:]


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    augment: bool = False,
    widths: Sequence[int] = WIDTHS,
    device: str | torch.device | None = None,
    progress: bool = True,
    desc: str = "classifier",
) -> SmallCNN:
    """Train a fresh :class:`SmallCNN` for exactly ``steps`` Adam steps on uint8 ``images``.

    A fixed number of steps and no validation: nothing is chosen by looking at test data. The
    learning rate decays to 0 on a cosine, so the last weights are a settled model.
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(images) < 2:
        raise ValueError(f"a classifier needs at least 2 training images, got {len(images)}")
    device = torch.device(device or "cpu")
    batch_size = min(batch_size, len(images))
    labels = torch.as_tensor(labels).long()
    forked = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=forked):  # the caller's global RNG stays as it was
        torch.manual_seed(mix_seed(seed, 1))
        model = SmallCNN(num_classes, images.shape[1], widths).to(device, memory_format=torch.channels_last)
        torch.manual_seed(mix_seed(seed, 2))
        order = torch.Generator().manual_seed(mix_seed(seed, 3))
        draws = torch.Generator().manual_seed(mix_seed(seed, 4))
        augmenter = ClassicAugment() if augment else None
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
        model.train()
        bar = tqdm(_index_stream(len(images), batch_size, steps, order), total=steps, desc=desc, unit="step",
                   disable=not progress, delay=1.0, dynamic_ncols=True)
        for step, idx in enumerate(bar):
            x = _to_input(images[idx], device)
            if augmenter is not None:
                x = augmenter(x, draws).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x * 2 - 1), labels[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if not math.isfinite(loss.item()):
                raise TrainingDiverged(f"the classifier's loss became {loss.item()} at step {step}: training "
                                       "diverged; lower the learning rate (--lr)")
            if step % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    return model.eval()


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class indices (CPU, long) for uint8 ``images``, in eval mode (no dropout, running BN stats)."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(_to_input(images[i:i + batch_size], device) * 2 - 1).argmax(1).cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)

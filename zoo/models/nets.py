"""The convolutional generator and discriminator that the noise-to-image families share.

DCGAN, WGAN-GP and SN-GAN differ in losses, normalisation and up-sampling, not in topology, so
they are one pair of classes here with those choices as arguments:

* Generator: dense layer -> ``features`` maps at the target aspect ratio (4 pixels or more on the
  short side), then up-sampling stages that double H and W and halve the features, optional
  unstrided refinement convs after each, and a final conv to the image channels with tanh. Any
  (H, W) works: the stages overshoot to the next multiple and the result is center-cropped.
* Discriminator: strided convs doubling the features (no norm on the first), then one conv over
  the whole remaining map, i.e. a dense layer to ``outputs`` logits (one real/fake logit; AC-GAN
  adds one per class).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from zoo.models.blocks import activation, center_crop, down_block, maybe_spectral, norm_layer, num_halvings, up_block

__all__ = ["ConvGenerator", "ConvDiscriminator"]


def _refine(channels: int, norm: str | None) -> nn.Sequential:
    """An unstrided 3x3 conv: more capacity at one resolution, used for large, complex images."""
    return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=norm in (None, "none")),
                         norm_layer(norm, channels), activation("lrelu"))


def _resize_up(cin: int, cout: int, norm: str | None) -> nn.Sequential:
    """Nearest-neighbour x2 then a 3x3 conv: no transposed-conv checkerboard (Odena et al. 2016)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(cin, cout, 3, padding=1, bias=norm in (None, "none")),
                         norm_layer(norm, cout), activation("lrelu"))


class ConvGenerator(nn.Module):
    def __init__(self, latent_dim: int, image_size: tuple[int, int], channels: int, features: int,
                 norm: str | None = "batch", upsample: str = "transposed", refine: int = 0):
        super().__init__()
        if upsample not in ("transposed", "resize"):
            raise ValueError(f"upsample must be 'transposed' or 'resize', got {upsample!r}")
        self.image_size = tuple(image_size)
        n = num_halvings(self.image_size)
        self.start = (math.ceil(self.image_size[0] / 2**n), math.ceil(self.image_size[1] / 2**n))
        self.features = features
        self.project = nn.Linear(latent_dim, features * self.start[0] * self.start[1], bias=False)
        self.project_norm = nn.Sequential(norm_layer(norm, features), activation("lrelu"))
        widths = [max(features >> i, 8) for i in range(n)]
        stages = []
        for i in range(n - 1):
            stages.append(up_block(widths[i], widths[i + 1], norm=norm) if upsample == "transposed"
                          else _resize_up(widths[i], widths[i + 1], norm))
            stages += [_refine(widths[i + 1], norm) for _ in range(refine)]
        self.body = nn.Sequential(*stages)
        last = (nn.ConvTranspose2d(widths[-1], channels, 4, stride=2, padding=1) if upsample == "transposed"
                else nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                   nn.Conv2d(widths[-1], channels, 3, padding=1)))
        self.to_image = nn.Sequential(last, nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.features, *self.start)
        x = self.to_image(self.body(self.project_norm(x)))
        return center_crop(x, self.image_size)


class ConvDiscriminator(nn.Module):
    def __init__(self, image_size: tuple[int, int], channels: int, features: int, norm: str | None = "batch",
                 spectral: bool = False, outputs: int = 1):
        super().__init__()
        self.outputs = outputs
        n = num_halvings(image_size)
        widths = [max(features >> (n - 1 - i), 8) for i in range(n)]
        layers = [down_block(channels, widths[0], norm=None, spectral=spectral)]
        layers += [down_block(widths[i], widths[i + 1], norm=norm, spectral=spectral) for i in range(n - 1)]
        h, w = image_size[0] >> n, image_size[1] >> n
        layers.append(maybe_spectral(nn.Conv2d(widths[-1], outputs, (h, w)), spectral))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.net(x).flatten(1)
        return logits[:, 0] if self.outputs == 1 else logits  # (N,) for one logit, else (N, outputs)

"""DCGAN: dense layer -> fractionally strided convs (features halving, batch norm, LeakyReLU) -> tanh.

Any (H, W) works: the dense layer produces maps in the target aspect ratio, and the result is
center-cropped when H or W is not a multiple of the upsampling factor.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from zoo.blocks import MultiScaleDiscriminator, center_crop, down_block, norm_layer, num_halvings, up_block
from zoo.gan import UnconditionalGAN


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int, image_size: tuple[int, int], channels: int, features: int, norm: str):
        super().__init__()
        self.image_size = image_size
        n = num_halvings(image_size)
        self.start = (math.ceil(image_size[0] / 2**n), math.ceil(image_size[1] / 2**n))
        self.features = features
        self.project = nn.Linear(latent_dim, features * self.start[0] * self.start[1], bias=False)
        self.project_norm = nn.Sequential(norm_layer(norm, features), nn.LeakyReLU(0.2, inplace=True))
        widths = [max(features >> i, 8) for i in range(n)]
        self.body = nn.Sequential(*(up_block(widths[i], widths[i + 1], norm=norm) for i in range(n - 1)))
        self.to_image = nn.Sequential(nn.ConvTranspose2d(widths[-1], channels, 4, stride=2, padding=1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.features, *self.start)
        x = self.to_image(self.body(self.project_norm(x)))
        return center_crop(x, self.image_size)


class DCGANDiscriminator(nn.Module):
    """Strided convs (no norm on the first), then one conv over the whole remaining map -> 1 logit."""

    def __init__(self, image_size: tuple[int, int], channels: int, features: int, norm: str):
        super().__init__()
        n = num_halvings(image_size)
        widths = [max(features >> (n - 1 - i), 8) for i in range(n)]
        layers = [down_block(channels, widths[0], norm=None)]
        layers += [down_block(widths[i], widths[i + 1], norm=norm) for i in range(n - 1)]
        h, w = image_size[0] >> n, image_size[1] >> n
        layers.append(nn.Conv2d(widths[-1], 1, (h, w)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)


class DCGAN(UnconditionalGAN):
    """DCGAN with non-square sizes, an optional 2-scale discriminator and truncated sampling.

    ``norm`` ("batch", the DCGAN default; "instance", "layer" or "none") sets the hidden layers'
    normalisation in G and D. Batch norm makes a multi-process run differ slightly from a
    one-process run with the same global batch, as each process normalises over its own share.
    """

    family = "dcgan"

    def __init__(
        self,
        image_size: tuple[int, int] = (64, 64),
        channels: int = 3,
        latent_dim: int = 100,
        g_features: int = 64,
        d_features: int = 64,
        d_scales: int = 1,
        norm: str = "batch",
    ):
        super().__init__()
        if isinstance(image_size, int):
            image_size = (image_size, image_size)
        image_size = (int(image_size[0]), int(image_size[1]))
        if min(image_size) < 8:
            raise ValueError(f"image_size must be at least 8 x 8, got {image_size}")
        self.generator = DCGANGenerator(latent_dim, image_size, channels, g_features, norm)
        self.discriminator = MultiScaleDiscriminator(
            lambda size: DCGANDiscriminator(size, channels, d_features, norm), image_size, d_scales
        )

"""pix2pix (Isola et al. 2017): a U-Net generator and a PatchGAN that sees the input beside the output.

The family's own choices, beyond the shared :mod:`zoo.models.i2i` blocks: D is conditioned on the input
(it judges the pair), and an L1 loss to the target (weight 100) carries the low frequencies while
the adversarial loss sharpens. One direction only: A (input) -> B (target).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from zoo.models import losses
from zoo.models.base import GANModel
from zoo.models.blocks import as_size
from zoo.models.i2i import PatchDiscriminator, UNetGenerator


class Pix2Pix(GANModel):
    family = "pix2pix"
    task: ClassVar[str] = "paired-translation"
    inference_networks = ("generator",)

    def __init__(
        self,
        image_size: tuple[int, int] = (128, 128),
        channels: int = 3,
        g_features: int = 64,
        levels: int | None = None,
        d_features: int = 64,
        d_layers: int = 3,
        norm: str = "instance",
        gan_loss: str = "bce",
        l1_weight: float = 100.0,
        g_output: str = "image",
    ):
        """``levels``: U-Net halvings; by default down to 1 pixel (7 at 128, 8 at 256, as U-Net-128/256).
        ``norm="instance"``: the reference trains with batch norm at batch size 1, which is instance
        norm; instance norm also behaves the same in training and inference at any batch size.
        ``g_output="image"``: the reference's tanh output; ``"residual"``: the input plus a learned
        change, for targets that differ from the input in one region (a stain that fades); "gated": that
        change under a learned per-pixel gate."""
        super().__init__()
        image_size = as_size(image_size)
        levels = levels or int(math.log2(min(image_size)))
        if image_size[0] % 2**levels or image_size[1] % 2**levels:
            raise ValueError(f"image_size {image_size} must divide by 2**levels = {2**levels}; "
                             "pick another size or fewer levels")
        if gan_loss not in ("lsgan", "bce", "hinge"):
            raise ValueError(f"gan_loss must be 'lsgan', 'bce' or 'hinge', got {gan_loss!r}")
        self.generator = UNetGenerator(channels, channels, g_features, levels, norm=norm, output=g_output)
        self.discriminator = PatchDiscriminator(2 * channels, d_features, d_layers, norm)

    def translator(self, direction: str) -> nn.Module:
        """The generator for ``direction``; a paired model learned one: 'AtoB'."""
        if direction != "AtoB":
            raise ValueError(f"{self.model_id or 'pix2pix'} translates one way only (AtoB: input to target)")
        return self.generator

    def translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        return self.translator(direction)(x)

    def discriminator_logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.discriminator(torch.cat([batch["A"], batch["B"]], 1))  # D judges the (input, target) pair

    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), **adam) -> dict:
        return {"generator": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas, **adam),
                "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas, **adam)}

    def training_step(self, batch: dict[str, torch.Tensor], optimizers: dict, ctx) -> dict[str, float]:
        source, target = batch["A"], batch["B"]
        kind = self.config["gan_loss"]
        fake = self.generator(source)

        optimizers["discriminator"].zero_grad(set_to_none=True)
        d_total = 0.5 * losses.d_loss(kind, self.discriminator(torch.cat([source, target], 1)),
                         self.discriminator(torch.cat([source, fake.detach()], 1)))
        ctx.backward(d_total)
        optimizers["discriminator"].step()

        optimizers["generator"].zero_grad(set_to_none=True)
        adv = losses.g_loss(kind, ctx.frozen(self.discriminator)(torch.cat([source, fake], 1)))
        l1 = F.l1_loss(fake, target)
        ctx.backward(adv + self.config["l1_weight"] * l1)
        optimizers["generator"].step()
        return {"g_adv": adv.item(), "l1": l1.item(), "d_loss": d_total.item()}

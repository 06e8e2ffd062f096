"""Mask-guided editors: remove (or add) a lesion inside a painted mask, leave the rest alone.

The generator reads the image and its binary mask (C + 1 channels) and returns the image plus a
generated residual, so "change nothing" is the easy answer and the adversarial loss has to earn
every change. A U-Net: 7x7 stem, 2 strided convs, residual blocks at quarter resolution, 2
transposed convs, each joined to the encoder output of its resolution. The residual's last conv
starts at zero: an untrained editor is the identity.

Losses: LSGAN on a 2-scale PatchGAN, plus ``relevancy_weight`` (10) x the MSE between input and
output outside the mask. D judges the edit pasted into the input (what the pipeline returns), so
the adversarial loss only ever moves masked pixels. Its real and fake examples are *patches* (its
logit map), weighted by the mask pooled to the map:

* ``remove``: fake = the pasted edit's patches touching the mask; real = every patch of the extra healthy
  images (``batch["healthy"]``, a ``healthy/`` folder) if there are any, else the patches of the
  lesion images that do not touch their mask. That fallback is the only healthy skin a set like
  PH2 holds (every image has a lesion); it is honest but sees skin near lesions only.
* ``add``: real = lesion-image patches touching their mask; the input is a healthy image with a
  lesion image's mask (where to add), or without healthy images, a lesion image with the *next*
  sample's mask (another lesion's shape; it may overlap the image's own lesion).

With ``prefill=True`` the generator never sees the masked pixels: they are first replaced by a
smooth fill from the skin around them (:func:`zoo.models.i2i.smooth_fill`), and the residual is added to
that. Removal starts from plausible skin colour instead of having to push a dark lesion all the
way to skin, and ``add`` can train on lesion images alone: the input is the image with its own
lesion smoothed away, and the real examples are that lesion.

``ctx.augment`` (the run's augmentation) goes before D; the patch weights come from the
un-augmented masks, so a translation blurs the real/fake patch boundary by its shift (<= 12.5 %).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from zoo.models.base import GANModel
from zoo.models.blocks import MultiScaleDiscriminator, as_size, norm_layer, num_halvings
from zoo.models.i2i import (
    PatchDiscriminator,
    ResidualBlock,
    add_bounded,
    edit_inputs,
    grow_mask,
    smooth_fill,
    up_layers,
    zero_init,
)

DIRECTIONS = ("remove", "add")
MULTIPLE = 4  # two strided convs: sides are padded to a multiple of 4 and cropped back


def _conv(cin: int, cout: int, norm: str | None, **kw) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, bias=norm in (None, "none", "instance"), **kw),
                         norm_layer(norm, cout), nn.ReLU(inplace=True))


def _deconv(cin: int, cout: int, norm: str | None, upsample: str = "transposed") -> nn.Sequential:
    return nn.Sequential(*up_layers(cin, cout, upsample), norm_layer(norm, cout), nn.ReLU(inplace=True))


class MaskedUNet(nn.Module):
    """(image, mask) -> image + residual, kept in [-1, 1] by ``bound``; sides must divide by 4.

    ``bound="clamp"``: image + 2 * tanh(residual), clamped. A clamped pixel gets no gradient, so a
    colour that the adversarial loss pushes out of range can stay stuck at the limit (measured on
    PH2 removal: 8-39 % of the masked values, seen as saturated checkerboards).
    ``bound="tanh"``: tanh(atanh(image) + residual), the residual added in tanh's input space:
    smooth, always in range, and every pixel keeps a gradient.
    """

    def __init__(self, channels: int, features: int = 32, blocks: int = 4, norm: str | None = "instance",
                 upsample: str = "transposed", bound: str = "clamp"):
        super().__init__()
        self.bound = bound
        f = features
        self.stem = nn.Sequential(nn.ReflectionPad2d(3), *_conv(channels + 1, f, norm, kernel_size=7))
        self.down1 = _conv(f, 2 * f, norm, kernel_size=3, stride=2, padding=1)
        self.down2 = _conv(2 * f, 4 * f, norm, kernel_size=3, stride=2, padding=1)
        self.middle = nn.Sequential(*(ResidualBlock(4 * f, norm) for _ in range(blocks)))
        self.up2 = _deconv(4 * f, 2 * f, norm, upsample)
        self.up1 = _deconv(4 * f, f, norm, upsample)  # its input: up2's output joined to down1's
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(2 * f, channels, 7))
        zero_init(self.head[1])  # identity at initialisation: no edit until one is learned

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        s0 = self.stem(torch.cat([x, mask], 1))
        s1 = self.down1(s0)
        h = self.up2(self.middle(self.down2(s1)))
        h = self.up1(torch.cat([h, s1], 1))
        residual = self.head(torch.cat([h, s0], 1))
        if self.bound == "tanh":
            return add_bounded(x, residual)
        return (x + 2 * torch.tanh(residual)).clamp(-1, 1)  # 2: any colour is reachable from any


def _pad(x: torch.Tensor) -> torch.Tensor:
    """Pad bottom/right to sides divisible by 4 (replicate: reflection needs sides longer than the pad)."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % MULTIPLE, 0, -h % MULTIPLE), mode="replicate") if (h % MULTIPLE or w % MULTIPLE) else x


def touches(mask: torch.Tensor, size: tuple[int, int], reach: int = 0) -> torch.Tensor:
    """Which cells of a ``size`` logit map see any masked pixel (N x 1 x h x w in {0, 1}); ``reach``:
    how far (pixels) a cell's receptive field extends beyond the cell itself."""
    if reach:
        mask = grow_mask(mask, reach)
    return F.adaptive_max_pool2d(mask, size)


def _weighted_lsgan(maps: list[torch.Tensor], weights: list[torch.Tensor], target: float) -> torch.Tensor:
    """Mean over scales of the weighted mean of (logit - target)^2; a scale with no weight adds 0."""
    total = 0.0
    for logits, w in zip(maps, weights):
        w = w.expand_as(logits).to(logits.dtype)
        total = total + ((logits.float() - target) ** 2 * w).sum() / w.sum().clamp_min(1)
    return total / len(maps)


class MaskGuidedEditor(GANModel):
    family = "mask-guided"
    task: ClassVar[str] = "masked-edit"
    inference_networks = ("generator",)

    def __init__(
        self,
        image_size: tuple[int, int] = (128, 128),
        channels: int = 3,
        direction: str = "remove",
        g_features: int = 32,
        g_blocks: int = 4,
        d_features: int = 64,
        d_scales: int = 2,
        d_layers: int | None = None,
        norm: str = "instance",
        relevancy_weight: float = 10.0,
        upsample: str = "transposed",
        prefill: bool = False,
        bound: str = "clamp",
    ):
        """``direction``: what this model does, 'remove' or 'add' (one model, one direction).
        ``d_layers``: strided layers per discriminator scale (default up to 3, the 70x70 PatchGAN);
        fewer give a smaller receptive field, so more cells see only healthy skin when the healthy
        examples must come from around the lesions (no ``healthy/`` folder, as with PH2).
        ``upsample``: the decoder's x2 steps, "transposed" (the source's; the embedded eczema
        weights) or "resize" (nearest-neighbour + 3x3 conv, no checkerboard).
        ``prefill``: replace the masked pixels by a smooth fill from their surroundings before the
        generator (see the module docstring); off for the embedded eczema weights.
        ``bound``: how the output stays in [-1, 1], "clamp" (the embedded eczema weights) or "tanh"
        (no pixel loses its gradient; see :class:`MaskedUNet`)."""
        super().__init__()
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'remove' or 'add', got {direction!r}")
        if bound not in ("clamp", "tanh"):
            raise ValueError(f"bound must be 'clamp' or 'tanh', got {bound!r}")
        image_size = as_size(image_size)
        self.generator = MaskedUNet(channels, g_features, g_blocks, norm, upsample, bound)

        def make(size: tuple[int, int]) -> nn.Module:  # 1-3 strided layers: the logit map stays >= 2 x 2
            return PatchDiscriminator(channels, d_features, d_layers or min(3, num_halvings(size, 4)), norm)

        self.discriminator = MultiScaleDiscriminator(make, image_size, d_scales)

    @property
    def direction(self) -> str:
        return self.config["direction"]

    # -- inference ---------------------------------------------------------------------------
    @property
    def default_mode(self) -> str:
        """The masked-edit pipeline's mode when none is given: this model's one direction."""
        return self.direction

    def edit_inputs(self, batch: dict[str, torch.Tensor], mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(image, mask) as this model edits them in training (:func:`zoo.models.i2i.edit_inputs`)."""
        return edit_inputs(batch, mode, self.config.get("prefill", False))

    def edit(self, x: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
        """``x`` N x C x H x W in [-1, 1], ``mask`` N x 1 x H x W in {0, 1}; any H, W; the result has x's size.

        The raw generator output: outside the mask it is close to ``x`` (the relevancy loss), not
        equal; the pipeline pastes the input back there.
        """
        self._check(x, mask, mode)
        return self._generate(x, mask.to(x.dtype))

    def _generate(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.config.get("prefill", False):
            x = smooth_fill(x, mask)
        h, w = x.shape[-2:]
        return self.generator(_pad(x), _pad(mask))[..., :h, :w]

    def _check(self, x: torch.Tensor, mask: torch.Tensor, mode: str) -> None:
        if mode not in DIRECTIONS:
            raise ValueError(f"mode must be 'remove' or 'add', got {mode!r}")
        if mode != self.direction:
            name = self.model_id or self.family
            other = (name.rsplit("-", 1)[0] + "-" + mode) if name.endswith(f"-{self.direction}") else None
            hint = f"load {other!r} for mode={mode!r}" if other else f"create the model with direction={mode!r}"
            raise ValueError(f"{name} only does mode={self.direction!r} (one model, one direction); {hint}")
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"image must be N x {self.channels} x H x W, got {tuple(x.shape)}")
        if mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[0] != x.shape[0] or mask.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"mask must be N x 1 x H x W with the image's N, H, W ({x.shape[0]} x 1 x "
                             f"{x.shape[2]} x {x.shape[3]}), got {tuple(mask.shape)}; paint it on the same image "
                             "or resize it (nearest) to the image's size")
        if ((mask != 0) & (mask != 1)).any():
            raise ValueError("mask must be binary (1 = edit, 0 = keep), got other values; threshold it first, "
                             "e.g. (mask > 0.5).float()")

    def discriminator_logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Every cell of the real images' maps, averaged per sample over each map, then over scales
        (the multi-scale D's forward). The reals: the healthy images where ``remove`` trains on
        them, else the lesion images. Training weighs the cells by the mask; the unweighted mean
        still shows a D that tells its training images from unseen ones."""
        healthy = batch.get("healthy") if self.direction == "remove" else None
        return self.discriminator(batch["image"] if healthy is None else healthy)

    # -- training ------------------------------------------------------------------------------
    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), **adam) -> dict:
        return {
            "generator": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas, **adam),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas, **adam),
        }

    def _reach(self, size: tuple[int, int], scale: int, mask: torch.Tensor) -> int:
        """Pixels (at full resolution) a logit cell's receptive field reaches beyond the cell."""
        field = self.discriminator.scales[scale].receptive_field * 2**scale
        cell = mask.shape[-1] / size[-1]
        return max(0, int((field - cell) / 2))

    def training_step(self, batch: dict[str, torch.Tensor], optimizers: dict, ctx) -> dict[str, float]:
        """One D update on weighted patches, then one G update (adversarial + relevancy)."""
        image, mask, healthy = batch["image"], batch["mask"], batch.get("healthy")
        source, where = self.edit_inputs(batch, self.direction)
        if self.direction == "remove":
            real = healthy if healthy is not None else image
            real_region = None if healthy is not None else where  # patches outside it are the healthy skin
        else:
            real, real_region = image, mask
        fake = self._generate(source, where)
        # D judges what the pipeline returns: the edit pasted into the input. So the adversarial gradient
        # reaches only masked pixels, and outside them the relevancy loss alone holds the output to the input.
        pasted = source * (1 - where) + fake * where

        def real_weights(maps):
            if real_region is None:
                return [torch.ones_like(m) for m in maps]
            if self.direction == "add":
                return [touches(real_region, m.shape[-2:]) for m in maps]
            # Healthy cells: their whole receptive field (at scale k it spans 2**k times more pixels)
            # is clear of the lesion, else "healthy" examples would show the lesion to D.
            return [1 - touches(real_region, m.shape[-2:], (self._reach(m.shape[-2:], k, real_region)))
                    for k, m in enumerate(maps)]

        def fake_weights(maps):
            return [touches(where, m.shape[-2:]) for m in maps]

        optimizers["discriminator"].zero_grad(set_to_none=True)
        real_maps = self.discriminator.maps(ctx.augment(real))
        fake_maps = self.discriminator.maps(ctx.augment(pasted.detach()))
        d_loss = 0.5 * (_weighted_lsgan(real_maps, real_weights(real_maps), 1.0)
                        + _weighted_lsgan(fake_maps, fake_weights(fake_maps), 0.0))
        ctx.backward(d_loss)
        optimizers["discriminator"].step()

        optimizers["generator"].zero_grad(set_to_none=True)
        maps = ctx.frozen(self.discriminator)(ctx.augment(pasted), maps=True)
        adv = _weighted_lsgan(maps, fake_weights(maps), 1.0)
        outside = 1 - where
        relevancy = (((fake - source) ** 2) * outside).sum() / (outside.sum() * fake.shape[1]).clamp_min(1)
        g_loss = adv + self.config["relevancy_weight"] * relevancy
        ctx.backward(g_loss)
        optimizers["generator"].step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "g_adv": adv.item(), "relevancy": relevancy.item()}

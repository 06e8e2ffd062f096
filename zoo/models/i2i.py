"""Image-to-image building blocks shared by CycleGAN, pix2pix and the mask-guided editors.

Written once (as in pytorch-CycleGAN-and-pix2pix, whose shapes they follow so users can compare):

* :class:`ResidualBlock`: reflect-padded conv-norm-ReLU-conv-norm with an identity skip.
* :class:`ResnetGenerator`: 7x7 stem, ``downsamplings`` strided convs, ``blocks`` residual blocks,
  as many x2 up-samplings (:func:`up_layers`), 7x7 to the image, tanh. ResNet-9 = ``blocks=9``.
  ``output="residual"`` returns the input plus a learned change (:func:`add_bounded`), ``"gated"``
  that change under a learned per-pixel gate (:func:`apply_output`).
* :func:`up_layers`: a x2 up-sampling, a transposed conv or resize + conv (no checkerboard).
* :class:`UNetGenerator`: encoder-decoder with skip concatenation at every level (U-Net-128 has 7
  levels); any size whose sides divide by 2**levels.
* :class:`PatchDiscriminator`: the 70x70 PatchGAN (3 strided layers, ndf 64) -> a map of logits,
  or with ``global_logit=True`` one logit per image from the whole map (a whole-face judgement).
* :class:`ImagePool`: a history of generated images for D (Shrivastava et al. 2017), pool 50.
* :func:`smooth_fill`: a push-pull pyramid fill of masked pixels from the pixels around them;
  :func:`grow_mask` dilates a mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.models.blocks import norm_layer

__all__ = ["ResidualBlock", "UPSAMPLINGS", "OUTPUTS", "up_layers", "add_bounded", "apply_output", "head_channels",
           "ResnetGenerator", "UNetGenerator", "PatchDiscriminator", "receptive_field", "ImagePool", "smooth_fill",
           "edit_inputs", "grow_mask", "zero_init"]


def _bias(norm: str | None) -> bool:
    return norm in (None, "none", "instance")  # batch norm cancels a bias; instance norm (affine) too, but
    # the reference implementation keeps it there, and so do we for identical parameter counts


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: str | None = "instance", dropout: float = 0.0):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=_bias(norm)), norm_layer(norm, channels),
                  nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=_bias(norm)),
                   norm_layer(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


UPSAMPLINGS = ("transposed", "resize")
OUTPUTS = ("image", "residual", "gated")


def up_layers(cin: int, cout: int, upsample: str = "transposed", bias: bool = True) -> list[nn.Module]:
    """A x2 up-sampling: a 3x3 transposed conv (the reference's), or nearest-neighbour resize then a
    3x3 conv ("resize"), which cannot leave the checkerboard that the transposed conv's uneven
    overlap can (Odena et al. 2016). A flat list, so callers keep their layer names."""
    if upsample == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1, bias=bias)]
    if upsample == "transposed":
        return [nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1, bias=bias)]
    raise ValueError(f"upsample must be one of {UPSAMPLINGS}, got {upsample!r}")


def add_bounded(x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """``tanh(atanh(x) + residual)``: ``x`` in [-1, 1] changed by ``residual`` in tanh's input space.

    Always in range and smooth, so every pixel keeps a gradient (a clamp would cut it), and a zero
    residual returns ``x`` (up to the 1e-3 margin that keeps atanh finite).
    """
    # in float32: in bfloat16, 1 - 1e-3 rounds to 1 and atanh(1) is infinite
    return torch.tanh(torch.atanh(x.float().clamp(-1 + 1e-3, 1 - 1e-3)) + residual.float()).to(x.dtype)


def _output_kind(output: str, in_channels: int, out_channels: int) -> str:
    """Check a generator's ``output`` choice. ``"image"`` draws the output anew (tanh); ``"residual"``
    adds a learned change to the input; ``"gated"`` adds the change times a learned per-pixel gate
    in (0, 1), so that pixels the edit should leave alone can be switched off exactly (the attention
    of Mejjati et al. 2018 and Pumarola et al. 2018, GANimation). Both additive kinds need as many
    input as output channels."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    if output != "image" and in_channels != out_channels:
        raise ValueError(f"output={output!r} needs as many input as output channels, got {in_channels} "
                         f"and {out_channels}")
    return output


def head_channels(output: str, out_channels: int) -> int:
    """What a generator's last layer emits: the image or change, plus one gate channel if gated."""
    return out_channels + (output == "gated")


def apply_output(output: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A generator's result from its input ``x`` and its last layer's ``y`` (see :func:`_output_kind`)."""
    if output == "residual":
        return add_bounded(x, y)
    if output == "gated":
        return add_bounded(x, torch.sigmoid(y[:, -1:]) * y[:, :-1])
    return y


def zero_init(layer: nn.Module) -> None:
    """A residual generator's last layer starts at zero: untrained, it returns its input."""
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)


class ResnetGenerator(nn.Module):
    """The ResNet generator of CycleGAN. ``output="image"`` ends in tanh, as the reference;
    ``"residual"`` adds its last conv's output to the input (:func:`add_bounded`), that conv
    starting at zero: an untrained generator returns its input, and learning a local edit (a
    stain on a face) does not mean re-drawing the whole face first. ``"gated"`` is residual with a
    learned gate on the change (:func:`apply_output`). Needs in == out channels unless "image"."""

    def __init__(self, in_channels: int, out_channels: int, features: int = 64, blocks: int = 9,
                 downsamplings: int = 2, norm: str | None = "instance", upsample: str = "transposed",
                 output: str = "image"):
        super().__init__()
        self.output = _output_kind(output, in_channels, out_channels)
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, features, 7, bias=_bias(norm)),
                  norm_layer(norm, features), nn.ReLU(inplace=True)]
        width = features
        for _ in range(downsamplings):
            layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1, bias=_bias(norm)),
                       norm_layer(norm, width * 2), nn.ReLU(inplace=True)]
            width *= 2
        layers += [ResidualBlock(width, norm) for _ in range(blocks)]
        for _ in range(downsamplings):
            layers += [*up_layers(width, width // 2, upsample, bias=_bias(norm)), norm_layer(norm, width // 2),
                       nn.ReLU(inplace=True)]
            width //= 2
        head = nn.Conv2d(width, head_channels(output, out_channels), 7)
        layers += [nn.ReflectionPad2d(3), head]
        if output == "image":
            layers.append(nn.Tanh())
        else:
            zero_init(head)  # gated: a zero change, under a gate of 0.5 everywhere
        self.net = nn.Sequential(*layers)
        self.multiple = 2**downsamplings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return apply_output(self.output, x, self.net(x))

    def forward_with_gate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A gated generator's output and its gate's logits (N x 1 x H x W), in one pass: what a loss
        on the gate (e.g. against a mask of where the edit belongs) needs."""
        if self.output != "gated":
            raise ValueError(f"forward_with_gate needs a gated generator (output='gated'), this one is {self.output!r}")
        y = self.net(x)
        return apply_output(self.output, x, y), y[:, -1:]


class UNetGenerator(nn.Module):
    """``levels`` halvings down to a bottleneck, each decoder level fed the matching encoder output.

    Features double per level up to ``8 * features`` (pix2pix); dropout 0.5 in the three innermost
    decoder levels, as in the reference (it is pix2pix's only noise source). ``output`` as in
    :class:`ResnetGenerator`: ``"image"`` ends in tanh; ``"residual"`` adds the last layer's output,
    zero at the start, to the input, so pixels the target leaves alone need not be re-drawn;
    ``"gated"`` gates that change per pixel.
    """

    def __init__(self, in_channels: int, out_channels: int, features: int = 64, levels: int = 7,
                 norm: str | None = "batch", dropout: float = 0.5, output: str = "image"):
        super().__init__()
        self.output = _output_kind(output, in_channels, out_channels)
        widths = [min(features * 2**i, features * 8) for i in range(levels)]
        self.down = nn.ModuleList()
        for i, w in enumerate(widths):
            cin = in_channels if i == 0 else widths[i - 1]
            inner = i == levels - 1
            self.down.append(nn.Sequential(
                nn.LeakyReLU(0.2, inplace=False) if i else nn.Identity(),
                nn.Conv2d(cin, w, 4, stride=2, padding=1, bias=_bias(norm) or i == 0 or inner),
                norm_layer(norm, w) if 0 < i < levels - 1 else nn.Identity(),
            ))
        self.up = nn.ModuleList()
        for i in reversed(range(levels)):
            cin = widths[i] if i == levels - 1 else widths[i] * 2
            cout = head_channels(output, out_channels) if i == 0 else widths[i - 1]
            last = i == 0
            self.up.append(nn.Sequential(
                nn.ReLU(inplace=False),
                nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=last or _bias(norm)),
                (nn.Tanh() if output == "image" else nn.Identity()) if last else norm_layer(norm, cout),
                nn.Dropout(dropout) if (dropout and not last and i >= levels - 3) else nn.Identity(),
            ))
        if output != "image":
            zero_init(self.up[-1][1])
        self.multiple = 2**levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, skips = x, []
        for layer in self.down:
            y = layer(y)
            skips.append(y)
        skips.pop()  # the bottleneck feeds the first decoder level directly
        for layer in self.up:
            y = layer(y)
            if skips:
                y = torch.cat([y, skips.pop()], 1)
        return apply_output(self.output, x, y)


class PatchDiscriminator(nn.Module):
    """PatchGAN: ``layers`` strided 4x4 convs (no norm on the first), one unstrided, one to a logit map.

    With ``layers=3`` and ``features=64`` each logit sees a 70x70 patch. ``global_logit=True``
    adds a mean over the map after more down-sampling, so D judges the whole image at once.
    """

    def __init__(self, in_channels: int, features: int = 64, layers: int = 3, norm: str | None = "instance",
                 global_logit: bool = False):
        super().__init__()
        seq = [nn.Conv2d(in_channels, features, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        width = features
        for i in range(1, layers):
            nxt = features * min(2**i, 8)
            seq += [nn.Conv2d(width, nxt, 4, stride=2, padding=1, bias=_bias(norm)), norm_layer(norm, nxt),
                    nn.LeakyReLU(0.2, inplace=True)]
            width = nxt
        nxt = features * min(2**layers, 8)
        seq += [nn.Conv2d(width, nxt, 4, stride=1, padding=1, bias=_bias(norm)), norm_layer(norm, nxt),
                nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(nxt, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*seq)
        self.global_logit = global_logit
        self.receptive_field = receptive_field(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.net(x)
        return logits.mean((1, 2, 3)) if self.global_logit else logits


def receptive_field(layers: int) -> int:
    """Pixels one logit of PatchDiscriminator(layers) sees: 4x4 convs, ``layers`` strided, two unstrided."""
    rf, jump = 1, 1
    for stride in [2] * layers + [1, 1]:
        rf, jump = rf + 3 * jump, jump * stride
    return rf


class ImagePool:
    """Half of each batch D sees is drawn from earlier fakes (``size`` kept); 0 disables it.

    Draws from torch's global RNG, which the training loop seeds every step (reproducible runs).
    Checkpointed with the run (``state_dict``), so a resumed run draws from the same pool.
    """

    def __init__(self, size: int = 50):
        self.size, self.images = size, []

    def state_dict(self) -> dict:
        return {"images": torch.stack(self.images).cpu() if self.images else torch.empty(0)}

    def load_state_dict(self, state: dict) -> None:
        self.images = list(state["images"])  # on the CPU: moved to the fakes' device at the next call

    def __call__(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        if self.images and self.images[0].device != fakes.device:  # restored from a checkpoint
            self.images = [image.to(fakes.device) for image in self.images]
        out = []
        for image in fakes.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif torch.rand(()) < 0.5:
                k = int(torch.randint(self.size, ()))
                out.append(self.images[k])
                self.images[k] = image
            else:
                out.append(image)
        return torch.stack(out)


def smooth_fill(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x`` with its masked pixels (``mask`` N x 1 x H x W, 1 = fill) replaced by a smooth guess
    from the unmasked pixels around them; unmasked pixels are returned as they are.

    Push-pull (Gortler et al. 1996): average the known pixels down a pyramid of 2 x 2 cells, then
    come back up, keeping each cell's own mean where it has known pixels (weighted by how many)
    and the coarser level's where it has none. Any size; a fully masked image becomes 0.
    """
    known = 1 - mask.to(x.dtype)
    sums, weights = [x * known], [known]
    while min(sums[-1].shape[-2:]) > 1:
        sums.append(F.avg_pool2d(sums[-1], 2, ceil_mode=True))
        weights.append(F.avg_pool2d(weights[-1], 2, ceil_mode=True))
    fill = sums[-1] / weights[-1].clamp_min(1e-8)
    for total, weight in zip(reversed(sums[:-1]), reversed(weights[:-1])):
        coarse = F.interpolate(fill, size=total.shape[-2:], mode="bilinear", align_corners=False)
        # a cell's known mean (total / weight), weighted by its known share, plus the coarse guess for the rest
        fill = total + coarse * (1 - weight)
    return x * known + fill * (1 - known)


def edit_inputs(batch: dict[str, torch.Tensor], mode: str, prefill: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, masks)`` a masked-edit model edits, in training and when it is shown or measured;
    ``batch["image"]`` (and ``"healthy"``) in [-1, 1].

    ``remove``: each lesion image at its own mask. ``add``: a healthy image (``batch["healthy"]``)
    at a lesion image's mask; without healthy images, each lesion image with its lesion smoothed
    away (:func:`smooth_fill`) at its own mask when the model ``prefill``s (the lesion is what the
    edit should bring back), else at the next sample's mask (another lesion's shape; it may
    overlap the image's own lesion). A ``prefill`` model's masks are grown by 2 % of the side.
    """
    image, mask = batch["image"], batch["mask"]
    if prefill:
        # Grown by ~2 % of the side: traced masks stop a little inside the lesion's edge, and the dark
        # rim left outside would be lesion that removal cannot touch and a lesion outline for addition.
        mask = grow_mask(mask, max(1, round(0.02 * min(mask.shape[-2:]))))
    if mode == "remove":
        return image, mask
    if "healthy" in batch:
        return batch["healthy"], mask
    return (smooth_fill(image, mask), mask) if prefill else (image, mask.roll(1, 0))


def grow_mask(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """``mask`` (N x 1 x H x W in {0, 1}) dilated by ``pixels`` (a square neighbourhood)."""
    return F.max_pool2d(mask, 2 * pixels + 1, stride=1, padding=pixels)

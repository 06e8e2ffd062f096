"""CycleGAN (Zhu et al. 2017): two generators A->B and B->A, two discriminators, cycle consistency.

The family's own choices, beyond the shared :mod:`zoo.models.i2i` blocks: the discriminator judges the
whole image (``discriminator="global"``: a deeper PatchGAN whose logit map is averaged) or 70x70
patches (``"patch"``, the reference); differentiable augmentation on real and fake before both
discriminators (``d_augment``, the answer to few training images); an image pool for D; identity
loss. ``direction_names`` lets a model name its directions, e.g. ``{"add": "AtoB", "remove": "BtoA"}``.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from zoo.models import losses
from zoo.models.base import GANModel
from zoo.models.blocks import as_size, num_halvings
from zoo.models.i2i import ImagePool, PatchDiscriminator, ResnetGenerator
from zoo.training.augment import build_augment


def make_discriminator(kind: str, image_size: tuple[int, int], channels: int, features: int, norm: str | None):
    """"patch": the 70x70 PatchGAN (3 strided layers); "global": strided layers down to ~4 pixels, averaged."""
    if kind == "patch":
        return PatchDiscriminator(channels, features, 3, norm)
    if kind == "global":
        return PatchDiscriminator(channels, features, max(3, num_halvings(image_size) - 1), norm, global_logit=True)
    raise ValueError(f"discriminator must be 'global' or 'patch', got {kind!r}")


def balanced_bce(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy with the pixels inside and outside ``mask`` weighted equally: a stain
    covers a few per cent of a face, and plain BCE would teach a gate that barely opens."""
    per_pixel = F.binary_cross_entropy_with_logits(logits.float(), mask.float(), reduction="none")
    inside = mask.float()
    return ((per_pixel * inside).sum() / inside.sum().clamp(min=1)
            + (per_pixel * (1 - inside)).sum() / (1 - inside).sum().clamp(min=1)) / 2


class CycleGAN(GANModel):
    family = "cyclegan"
    task: ClassVar[str] = "unpaired-translation"
    inference_networks = ("generator_ab", "generator_ba")

    def __init__(
        self,
        image_size: tuple[int, int] = (128, 128),
        channels: int = 3,
        g_features: int = 32,
        g_blocks: int = 9,
        d_features: int = 64,
        discriminator: str = "global",
        norm: str = "instance",
        gan_loss: str = "lsgan",
        cycle_weight: float = 10.0,
        cycle_weight_b: float | None = None,
        identity_weight: float = 0.5,
        change_weight: float = 0.0,
        gate_mask_weight: float = 0.0,
        adversarial_in_mask: bool = False,
        outside_mask_weight: float = 0.0,
        pool_size: int = 50,
        d_augment: str = "translation,cutout",
        direction_names: dict[str, str] | None = None,
        upsample: str = "transposed",
        g_output: str = "image",
        default_direction: str = "AtoB",
    ):
        """``upsample``: the generators' x2 steps, "transposed" (the reference) or "resize" (no
        checkerboard). ``g_output``: "image" (tanh, the reference), "residual" (the input plus a
        learned change, identity at initialisation: for edits that leave most of the image alone) or
        "gated" (that change under a learned per-pixel gate, which can switch it off exactly where
        the domains agree: attention-guided CycleGAN, Mejjati et al. 2018).
        ``cycle_weight_b``: the weight of the B->A->B cycle alone (default: ``cycle_weight``). Lower
        it when B->A forgets by design, e.g. removing a stain: to redraw that exact stain, the full
        cycle loss asks the removed image to keep a faint trace of it (Chu et al. 2017, "CycleGAN,
        a master of steganography"), which works against removal.
        ``change_weight``: L1 of each translation's change (output minus input), a prior that an
        edit should touch only what differs between the domains (0: off, the reference).
        ``gate_mask_weight``: with ``g_output="gated"`` and masks in the data (``masks/NAME`` for each
        ``B/NAME``: where B shows what A lacks, e.g. the stain), binary cross-entropy that teaches the
        B->A generator's gate to open inside the mask and stay shut outside it and on A's images, which
        hold nothing to remove. The gate then cannot close everywhere, which is where the cycle and
        identity losses pull a remover when the difference covers a small share of the image (a
        stain on a face); what the gate lets through is still learned from the discriminator alone.
        0: off (the attention of Mejjati et al. 2018 is learned unsupervised).
        ``adversarial_in_mask``: with masks in the data and ``discriminator="patch"``, domain A's
        discriminator judges the B->A outputs only in the patches B's mask touches, in the generator's
        loss and in its own: the stain's few per cent of a face then carry the whole adversarial
        signal, where averaged over the face they barely move it, and nothing pushes the rest of a
        B face toward A's faces.
        ``outside_mask_weight``: with masks in the data, L1 of the B->A change outside B's mask: where
        the images show nothing to remove, the output must equal the input (0: off).
        ``direction_names`` gives the directions names (``{"add": "AtoB", "remove": "BtoA"}``);
        ``default_direction`` (a name or 'AtoB'/'BtoA') is what the pipeline runs when none is given:
        the model's main use, e.g. 'remove' for a stain remover."""
        super().__init__()
        for name, weight in (("change_weight", change_weight), ("cycle_weight", cycle_weight),
                             ("cycle_weight_b", cycle_weight_b or 0.0), ("gate_mask_weight", gate_mask_weight),
                             ("outside_mask_weight", outside_mask_weight)):
            if weight < 0:
                raise ValueError(f"{name} must be >= 0, got {weight}")
        if gan_loss not in ("lsgan", "bce", "hinge"):
            raise ValueError(f"gan_loss must be 'lsgan', 'bce' or 'hinge', got {gan_loss!r}")
        bad = {k: v for k, v in (direction_names or {}).items() if v not in ("AtoB", "BtoA")}
        if bad:
            raise ValueError(f"direction_names must map names to 'AtoB' or 'BtoA', got {bad}")
        if default_direction not in ("AtoB", "BtoA", *(direction_names or {})):
            raise ValueError(f"default_direction must be 'AtoB', 'BtoA' or one of direction_names "
                             f"{sorted(direction_names or {})}, got {default_direction!r}")
        if adversarial_in_mask and discriminator != "patch":
            raise ValueError("adversarial_in_mask needs a patch discriminator (--set discriminator=patch): "
                             f"a {discriminator!r} one gives one logit per image, no patches to choose")
        if gate_mask_weight and g_output != "gated":
            raise ValueError(f"gate_mask_weight needs a gated generator: add --set g_output=gated "
                             f"(g_output is {g_output!r})")
        image_size = as_size(image_size)
        if image_size[0] % 4 or image_size[1] % 4:
            raise ValueError(f"image_size {image_size} must divide by 4 (two strided convs and back)")
        self.generator_ab, self.generator_ba = (
            ResnetGenerator(channels, channels, g_features, g_blocks, norm=norm, upsample=upsample, output=g_output)
            for _ in range(2))
        self.discriminator_a = make_discriminator(discriminator, image_size, channels, d_features, norm)
        self.discriminator_b = make_discriminator(discriminator, image_size, channels, d_features, norm)
        # Not networks (nothing to save): training-time helpers, kept off the module tree.
        object.__setattr__(self, "_pools", (ImagePool(pool_size), ImagePool(pool_size)))
        object.__setattr__(self, "_d_augment", None)

    def training_state(self) -> dict:
        pool_a, pool_b = self._pools
        return {"pool_a": pool_a, "pool_b": pool_b}

    def direction_names(self) -> dict[str, str]:
        """This model's own names for its directions, e.g. ``{"add": "AtoB", "remove": "BtoA"}``."""
        return dict(self.config.get("direction_names") or {})

    @property
    def default_direction(self) -> str:
        """What the translation pipeline runs when no direction is given."""
        return self.config.get("default_direction", "AtoB")

    def translator(self, direction: str) -> nn.Module:
        """The generator that translates ``direction`` ('AtoB' or 'BtoA')."""
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        return self.generator_ab if direction == "AtoB" else self.generator_ba

    def translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        return self.translator(direction)(x)

    def discriminator_logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Both domains' reals, each judged by its own D, averaged per sample: either D over-fitting shows."""
        n = len(batch["A"])
        return (self.discriminator_a(batch["A"]).reshape(n, -1).mean(1)
                + self.discriminator_b(batch["B"]).reshape(n, -1).mean(1)) / 2

    # -- training ------------------------------------------------------------------------------
    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), **adam) -> dict:
        gens = itertools.chain(self.generator_ab.parameters(), self.generator_ba.parameters())
        discs = itertools.chain(self.discriminator_a.parameters(), self.discriminator_b.parameters())
        return {"generator": torch.optim.Adam(gens, lr=lr, betas=betas, **adam),
                "discriminator": torch.optim.Adam(discs, lr=lr, betas=betas, **adam)}

    def _augment(self, ctx, x: torch.Tensor) -> torch.Tensor:
        """The family's own augmentation before D, then the run's (--augment), if any."""
        if self._d_augment is None:
            object.__setattr__(self, "_d_augment", build_augment(self.config["d_augment"]).to(x.device))
        return ctx.augment(self._d_augment(x))

    def training_step(self, batch: dict[str, torch.Tensor], optimizers: dict, ctx) -> dict[str, float]:
        real_a, real_b = batch["A"], batch["B"]
        cfg = self.config
        kind, cycle, identity = cfg["gan_loss"], cfg["cycle_weight"], cfg["identity_weight"]
        d_a, d_b = self.discriminator_a, self.discriminator_b

        gate_weight = cfg.get("gate_mask_weight", 0.0)
        in_mask, outside_weight = cfg.get("adversarial_in_mask", False), cfg.get("outside_mask_weight", 0.0)
        if (gate_weight or in_mask or outside_weight) and "mask" not in batch:
            option = "gate_mask_weight" if gate_weight else "adversarial_in_mask" if in_mask else "outside_mask_weight"
            raise ValueError(f"{option} needs masks of the B images: DATA/masks/NAME for each DATA/B/NAME "
                             f"(white where B shows what A lacks); or turn it off (--set {option}=0)")
        mask_b = batch["mask"] if in_mask else None
        gate_b = None
        with torch.set_grad_enabled(ctx.train_generator):  # a D warm-up needs no generator graph
            fake_b = self.generator_ab(real_a)
            if gate_weight and ctx.train_generator:
                fake_a, gate_b = self.generator_ba.forward_with_gate(real_b)
            else:
                fake_a = self.generator_ba(real_b)
        if not ctx.train_generator:  # a discriminator warm-up: D alone learns, against G as it is
            return {"d_loss": self._discriminator_step(ctx, optimizers, real_a, real_b, fake_a, fake_b, mask_b)}
        optimizers["generator"].zero_grad(set_to_none=True)
        frozen_a, frozen_b = ctx.frozen(d_a), ctx.frozen(d_b)  # D passes gradients to G, computes none of its own
        logits_b = frozen_b(self._augment(ctx, fake_b))  # B first: the augmentations draw in this order
        logits_a = frozen_a(self._augment(ctx, fake_a))
        adv = (losses.g_loss(kind, logits_b)
               + losses.g_loss(kind, logits_a, None if mask_b is None else losses.patch_weights(mask_b, logits_a)))
        cycle_b = cycle if cfg.get("cycle_weight_b") is None else cfg["cycle_weight_b"]
        cyc_a = F.l1_loss(self.generator_ba(fake_b), real_a)
        cyc_b = F.l1_loss(self.generator_ab(fake_a), real_b) if cycle_b else torch.zeros_like(cyc_a)
        cyc = cyc_a + cyc_b
        g_total = adv + cycle * cyc_a + cycle_b * cyc_b
        gate = torch.zeros((), device=real_a.device)
        same_a = None  # generator_ba(real_a), which the identity and gate losses share
        if gate_b is not None:  # the gate open on B's mask, shut on A (nothing to remove there)
            same_a, gate_a = self.generator_ba.forward_with_gate(real_a)
            gate = (balanced_bce(gate_b, batch["mask"])
                    + F.binary_cross_entropy_with_logits(gate_a.float(), torch.zeros_like(gate_a, dtype=torch.float)))
            g_total = g_total + gate_weight * gate
        idt = torch.zeros((), device=real_a.device)
        if identity:  # a generator fed its own target domain should leave it alone (keeps colours)
            same_a = self.generator_ba(real_a) if same_a is None else same_a
            idt = F.l1_loss(self.generator_ab(real_b), real_b) + F.l1_loss(same_a, real_a)
            g_total = g_total + cycle * identity * idt
        outside = torch.zeros((), device=real_a.device)
        if outside_weight:  # nothing to remove outside the mask: the output there is the input
            keep = 1 - batch["mask"].to(fake_a.dtype)
            outside = ((fake_a - real_b).abs() * keep).sum() / (keep.sum() * fake_a.shape[1]).clamp(min=1)
            g_total = g_total + outside_weight * outside
        change = torch.zeros((), device=real_a.device)
        if cfg["change_weight"]:
            change = F.l1_loss(fake_b, real_a) + F.l1_loss(fake_a, real_b)
            g_total = g_total + cfg["change_weight"] * change
        ctx.backward(g_total)
        optimizers["generator"].step()

        d_total = self._discriminator_step(ctx, optimizers, real_a, real_b, fake_a, fake_b, mask_b)
        return {"g_adv": adv.item(), "cycle": cyc.item(), "identity": idt.item(), "change": change.item(),
                "gate": gate.item(), "outside": outside.item(), "d_loss": d_total}

    def _discriminator_step(self, ctx, optimizers: dict, real_a, real_b, fake_a, fake_b, mask_b=None) -> float:
        """One update of both discriminators, each fake drawn through its image pool (with its mask,
        when D_A judges only where B's mask is)."""
        kind, d_a, d_b = self.config["gan_loss"], self.discriminator_a, self.discriminator_b
        optimizers["discriminator"].zero_grad(set_to_none=True)
        pool_a, pool_b = self._pools
        loss_b = losses.d_loss(kind, d_b(self._augment(ctx, real_b)), d_b(self._augment(ctx, pool_b(fake_b))))
        logits_real_a = d_a(self._augment(ctx, real_a))
        if mask_b is None:
            loss_a = losses.d_loss(kind, logits_real_a, d_a(self._augment(ctx, pool_a(fake_a))))
        else:  # the mask travels through the pool as a fourth channel
            pooled = pool_a(torch.cat([fake_a, mask_b.to(fake_a.dtype)], 1))
            logits_a = d_a(self._augment(ctx, pooled[:, :-1]))
            loss_a = losses.d_loss(kind, logits_real_a, logits_a, losses.patch_weights(pooled[:, -1:], logits_a))
        d_total = 0.5 * loss_b + 0.5 * loss_a
        ctx.backward(d_total)
        optimizers["discriminator"].step()
        return d_total.item()

"""AC-GAN (Odena et al. 2017): a class-conditional generator and a discriminator with an auxiliary
classifier head.

What differs from the unconditional families is only the conditioning: the generator reads a
learned class embedding joined to z; the discriminator's last layer gives one real/fake logit plus
one logit per class (one spectrally normalised layer gives both, so they share its Lipschitz
bound; StudioGAN normalises separate heads), and both networks are also trained to make the class
head right. The
convolutional bodies are the shared :mod:`zoo.models.nets` ones (SN-GAN style by default: spectral norm in
D, hinge loss), since that setting gave the best HAM10000 samples among the unconditional families.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from zoo.models import losses
from zoo.models.blocks import as_size
from zoo.models.gan import NoiseToImageGAN
from zoo.models.nets import ConvDiscriminator, ConvGenerator

HAM10000_CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")


class ConditionalGenerator(nn.Module):
    """z joined to a learned embedding of the class, then the shared convolutional generator."""

    def __init__(self, latent_dim: int, num_classes: int, embed_dim: int, **generator):
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.body = ConvGenerator(latent_dim + embed_dim, **generator)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([z, self.embed(labels).to(z.dtype)], 1))


class ACGAN(NoiseToImageGAN):
    family = "acgan"
    task: ClassVar[str] = "class-conditional"

    def __init__(
        self,
        image_size: tuple[int, int] = (64, 64),
        channels: int = 3,
        class_names: tuple[str, ...] = HAM10000_CLASSES,
        latent_dim: int = 128,
        embed_dim: int = 8,
        g_features: int = 256,
        d_features: int = 256,
        upsample: str = "resize",
        gan_loss: str = "hinge",
        spectral: bool = True,
        aux_weight: float = 1.0,
        fake_class_loss: bool = False,
    ):
        """``upsample="resize"`` (nearest x2, then a conv) avoids the checkerboard texture that
        transposed convs left on HAM10000 samples. ``aux_weight`` scales the class losses. ``fake_class_loss``
        also trains D's class head on generated images, as in the paper; off by default, because early
        fakes are noise with labels and teaching the head to name them slows its learning of the real classes."""
        super().__init__()
        if len(class_names) < 2 or len(set(class_names)) != len(class_names):
            raise ValueError(f"class_names must be two or more distinct names, got {list(class_names)}")
        if gan_loss not in ("bce", "hinge"):
            raise ValueError(f"gan_loss must be 'bce' or 'hinge', got {gan_loss!r}")
        image_size = as_size(image_size)
        self.generator = ConditionalGenerator(latent_dim, len(class_names), embed_dim, image_size=image_size,
                                              channels=channels, features=g_features, upsample=upsample)
        self.discriminator = ConvDiscriminator(image_size, channels, d_features, norm=None if spectral else "batch",
                                               spectral=spectral, outputs=1 + len(class_names))

    # -- inference ---------------------------------------------------------------------------
    def generate(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(z, labels.to(z.device))

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(real/fake logits (N,), class logits (N, classes))."""
        return self._split(self.discriminator(x))

    @staticmethod
    def _split(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return logits[:, 0], logits[:, 1:]

    def discriminator_logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.discriminate(batch["image"])[0]  # the real/fake logit; the class logits say nothing of realness

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of the auxiliary head for images in [-1, 1] (N, classes), in eval mode
        (no spectral-norm power iteration), the model's mode restored after."""
        if "discriminator" in self.absent_networks:
            raise ValueError(f"{self.model_id} was loaded without its discriminator (embedded and Hub weights hold "
                             "the generator only), so its class head is untrained; load a training run's model/ "
                             "folder, which has discriminator.safetensors")
        was_training = self.discriminator.training
        self.discriminator.eval()
        try:
            return self.discriminate(x.to(self.device, self.dtype))[1]
        finally:
            self.discriminator.train(was_training)

    # -- training ------------------------------------------------------------------------------
    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.0, 0.9), **adam) -> dict:
        return super().configure_optimizers(lr=lr, betas=betas, **adam)

    def training_step(self, batch: dict[str, torch.Tensor], optimizers: dict, ctx) -> dict[str, float]:
        """One D update, then one G update. Fakes take the real batch's labels: with the class-balanced
        sampler those are balanced too, and each step is reproducible from its batch."""
        real, labels = batch["image"], batch["label"]
        loss, weight = self.config["gan_loss"], self.config["aux_weight"]
        fake = self.generator(ctx.noise(real.shape[0], self.config["latent_dim"]), labels)

        optimizers["discriminator"].zero_grad(set_to_none=True)
        adv_real, cls_real = self.discriminate(ctx.augment(real))
        adv_fake, cls_fake = self.discriminate(ctx.augment(fake.detach()))
        class_real = F.cross_entropy(cls_real.float(), labels)  # on logits: softmax first is a known bug
        d_loss = losses.d_loss(loss, adv_real, adv_fake) + weight * class_real
        if self.config["fake_class_loss"]:
            d_loss = d_loss + weight * F.cross_entropy(cls_fake.float(), labels)
        ctx.backward(d_loss)
        optimizers["discriminator"].step()

        optimizers["generator"].zero_grad(set_to_none=True)
        adv, cls = self._split(ctx.frozen(self.discriminator)(ctx.augment(fake)))
        class_fake = F.cross_entropy(cls.float(), labels)
        g_loss = losses.g_loss(loss, adv) + weight * class_fake
        ctx.backward(g_loss)
        optimizers["generator"].step()
        accuracy = (cls_real.argmax(1) == labels).float().mean()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "class_loss_real": class_real.item(),
                "class_loss_fake": class_fake.item(), "class_acc_real": accuracy.item()}

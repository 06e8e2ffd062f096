"""A third-party plugin that adds a whole task: mask-to-image (paint an image from a segmentation mask).

It brings what a task needs (a pipeline, a training-folder reader, a sample grid, card usage lines)
and one family of that task, and uses nothing but the declared plugin API, :mod:`zoo.plugin`. The
test-suite pip-installs it as a real distribution, then trains, saves, loads and serves it through
the ``zoo`` command line.
"""

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from zoo.plugin import (
    GANModel,
    ImageOutput,
    ModelSpec,
    Pipeline,
    TaskSpec,
    TrainingData,
    decode_images,
    first_batch,
    hookimpl,
    list_images,
    losses,
    read_image,
    resize,
    to_model,
    to_pil,
    to_unit,
)

TASK = "mask-to-image"


class MaskToImagePipeline(Pipeline):
    """``pipe(masks)``: one painted image per mask (white = the structure), at the mask's size."""

    @torch.no_grad()
    def __call__(self, masks, progress=None) -> ImageOutput:
        inputs = [read_image(m, "mask") for m in (masks if isinstance(masks, (list, tuple)) else [masks])]
        images, tensors = [], []
        for mask in self._progress(inputs, "mask", progress):
            x = to_model(mask, 1, self.image_size).to(self.device, self.model.dtype)
            out = resize(to_unit(self.model.paint(x)), mask.size)[0]
            images.append(to_pil(out))
            tensors.append(out)
        return ImageOutput(images, tensors)


def read_mask_folder(root, image_size, channels, *, progress=True, **_options) -> TrainingData:
    """``DIR/masks/*`` and ``DIR/images/*`` of the same names."""
    root = Path(root)
    paths = list_images(root / "images")
    masks, _ = decode_images([root / "masks" / p.name for p in paths], image_size, 1, "masks", progress)
    images, _ = decode_images(paths, image_size, channels, "images", progress)
    return TrainingData({"mask": ((masks > 127) * 255).to(torch.uint8), "image": images},
                        files=[str(p) for p in paths])


@torch.no_grad()
def mask_grid(model, data, seed=0, n=16):
    batch = first_batch(model, data, n // 2)
    rows = [batch["mask"].expand_as(batch["image"]) * 2 - 1, model.paint(batch["mask"] * 2 - 1), batch["image"]]
    return ((torch.cat(rows).float().cpu() + 1) / 2).clamp(0, 1)


class MaskPainter(GANModel):
    """A small conditional GAN: G paints RGB from a mask, D judges (mask, image) pairs; L1 to the target."""

    family = "mask-painter"
    task = TASK

    def __init__(self, image_size=(16, 16), channels: int = 3, features: int = 16, l1_weight: float = 100.0):
        super().__init__()
        self.generator = nn.Sequential(
            nn.Conv2d(1, features, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(features, features, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(features, channels, 3, padding=1), nn.Tanh())
        self.discriminator = nn.Sequential(
            nn.Conv2d(1 + channels, features, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(features, 1, 3, padding=1))

    def paint(self, mask):
        return self.generator(mask)

    def configure_optimizers(self, lr: float = 2e-3, **adam):
        return {"generator": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.999), **adam),
                "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999),
                                                  **adam)}

    def training_step(self, batch, optimizers, ctx):
        mask, real = batch["mask"] * 2 - 1, batch["image"]
        fake = self.generator(mask)
        optimizers["discriminator"].zero_grad(set_to_none=True)
        d_loss = losses.d_loss("bce", self.discriminator(torch.cat([mask, real], 1)),
                               self.discriminator(torch.cat([mask, fake.detach()], 1)))
        ctx.backward(d_loss)
        optimizers["discriminator"].step()
        optimizers["generator"].zero_grad(set_to_none=True)
        l1 = F.l1_loss(fake, real)
        g_loss = losses.g_loss("bce", ctx.frozen(self.discriminator)(torch.cat([mask, fake], 1)))
        g_loss = g_loss + self.config["l1_weight"] * l1
        ctx.backward(g_loss)
        optimizers["generator"].step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "l1": l1.item()}

    def discriminator_logits(self, batch):
        return self.discriminator(torch.cat([batch["mask"] * 2 - 1, batch["image"]], 1))


@hookimpl
def zoo_register_tasks(registry):
    registry.register(TaskSpec(
        name=TASK, pipeline=MaskToImagePipeline, pipeline_tag="image-to-image", read_data=read_mask_folder,
        sample_grid=mask_grid, usage=lambda model, name: ('out = pipe("mask.png")',
                                                          f"zoo translate {name} mask.png -o out/"),
        example_data=lambda model, n, seed=0: {
            "mask": (torch.rand(n, 1, *model.image_size, generator=torch.Generator().manual_seed(seed)) > 0.5)
            .to(torch.uint8) * 255,
            "image": torch.randint(0, 256, (n, model.channels, *model.image_size), dtype=torch.uint8)},
        description="paint an image from a segmentation mask: pipe(masks)",
    ))


@hookimpl
def zoo_register_models(registry):
    registry.register(ModelSpec(id="mask-painter-toy", model_class=MaskPainter, modality="test pattern",
                                tiny={"features": 8}))

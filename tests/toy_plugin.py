"""A tiny third-party-style plugin: one family per image-to-image and conditional task.

The test-suite registers it by hand (``registry.add_plugin``) and also pip-installs a copy as a
real distribution, to show that a plugin needs nothing but an entry point.
"""

import torch
from torch import nn

from zoo import GANModel, ModelSpec, hookimpl
from zoo.models.latents import sample_normal


def _tiny(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(cin, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(4, cout, 3, padding=1),
                         nn.Tanh())


class ToyTranslator(GANModel):
    family = "toy-translator"
    task = "unpaired-translation"
    inference_networks = ("generator_ab", "generator_ba")

    def __init__(self, image_size=(16, 12), channels: int = 3):
        super().__init__()
        self.generator_ab = _tiny(channels, channels)
        self.generator_ba = _tiny(channels, channels)
        self.discriminator_a = _tiny(channels, 1)

    def translate(self, x, direction):
        return (self.generator_ab if direction == "AtoB" else self.generator_ba)(x)


class ToyEditor(GANModel):
    family = "toy-editor"
    task = "masked-edit"

    def __init__(self, image_size=(16, 16), channels: int = 1):
        super().__init__()
        self.generator = _tiny(channels + 2, channels)

    def edit(self, x, mask, mode):
        flag = torch.full_like(mask, 1.0 if mode == "add" else -1.0)
        return (x + self.generator(torch.cat([x, mask, flag], 1))).clamp(-1, 1)


class ToyConditional(GANModel):
    family = "toy-conditional"
    task = "class-conditional"

    def __init__(self, image_size=(8, 8), channels: int = 3, latent_dim: int = 4, class_names=("df", "mel", "vasc")):
        super().__init__()
        self.generator = nn.ModuleDict({
            "embed": nn.Embedding(len(class_names), latent_dim),
            "net": nn.Linear(latent_dim, channels * image_size[0] * image_size[1]),
        })

    def sample_latents(self, n, generator, truncation=None):
        return sample_normal((n, self.config["latent_dim"]), generator, truncation)

    def generate(self, z, labels):
        out = torch.tanh(self.generator["net"](z * self.generator["embed"](labels)))
        return out.view(len(z), self.channels, *self.image_size)


@hookimpl
def zoo_register_models(registry):
    registry.register(ModelSpec(id="toy-translate", model_class=ToyTranslator, modality="test pattern"))
    registry.register(ModelSpec(id="toy-edit", model_class=ToyEditor, modality="test pattern"))
    registry.register(ModelSpec(id="toy-conditional", model_class=ToyConditional, modality="test pattern"))

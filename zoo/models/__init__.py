"""Networks and the model base classes every family builds on.

:class:`GANModel` holds a family's networks and config and does the Hub I/O;
:class:`NoiseToImageGAN` adds latents, sampling and a default G/D step for the noise-to-image
families. The shared building blocks are in :mod:`zoo.models.blocks` (norm/activation stacks,
multi-scale discriminators), :mod:`zoo.models.nets` (the convolutional generator and
discriminator), :mod:`zoo.models.i2i` (ResNet and U-Net generators, PatchGAN, image pools, mask
helpers), :mod:`zoo.models.losses` and :mod:`zoo.models.latents`.
"""

from zoo.models.base import GANModel
from zoo.models.gan import NoiseToImageGAN, UnconditionalGAN

__all__ = ["GANModel", "NoiseToImageGAN", "UnconditionalGAN"]

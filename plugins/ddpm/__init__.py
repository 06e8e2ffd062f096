"""The diffusion family plugin: registers ``ddpm-lesions``, the baseline the GANs are compared with.

The family is :class:`~.model.DDPM` (diffusers' ``UNet2DModel`` and noise schedulers) trained by the
zoo's own ``Trainer``; its card facts are data in ``cards/<id>.yaml``.
"""

from __future__ import annotations

from pathlib import Path

from zoo.plugin import ModelSpec, hookimpl

from .model import DDPM, ClassConditionalDDPM

HERE = Path(__file__).parent
TINY = {"image_size": (16, 16), "patch_size": 2, "block_out_channels": (32, 64), "attention_levels": (1,),
        "num_train_timesteps": 100, "num_inference_steps": 10}

__all__ = ["DDPM", "ClassConditionalDDPM"]


@hookimpl
def zoo_register_models(registry):
    registry.register(ModelSpec.from_plugin_folder(HERE, "ddpm-lesions", DDPM, tiny=TINY))

"""The CycleGAN family plugin: registers ``cyclegan-pws``, ``cyclegan-eczema``.

What each id's card says (data, use, limitations, metrics, the weights' changelog) is data in
``cards/<id>.yaml``; this module adds what is code: the family class, defaults and test size.
"""

from __future__ import annotations

from pathlib import Path

from zoo.plugin import ModelSpec, hookimpl

from .model import CycleGAN

HERE = Path(__file__).parent
DIRECTIONS = {"add": "AtoB", "remove": "BtoA"}
TINY = {"image_size": 32, "g_features": 8, "g_blocks": 1, "d_features": 8}


@hookimpl
def zoo_register_models(registry):
    residual = {"direction_names": DIRECTIONS, "default_direction": "remove", "upsample": "resize",
                "g_output": "residual"}
    registry.register(ModelSpec.from_plugin_folder(HERE, "cyclegan-pws", CycleGAN, defaults=residual, tiny=TINY))
    # eczema: a gate on the change keeps the skin around the plaques as it was (change outside 0.004 vs 0.008)
    registry.register(ModelSpec.from_plugin_folder(HERE, "cyclegan-eczema", CycleGAN, tiny=TINY,
                                                   defaults={**residual, "discriminator": "patch",
                                                             "g_output": "gated"}))

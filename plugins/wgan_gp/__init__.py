"""The WGAN-GP family plugin: registers ``wgan-gp-dental``.

What each id's card says (data, use, limitations, metrics, the weights' changelog) is data in
``cards/<id>.yaml``; this module adds what is code: the family class, defaults and test size.
"""

from __future__ import annotations

from pathlib import Path

from zoo.plugin import ModelSpec, hookimpl

from .model import WGANGP

HERE = Path(__file__).parent


@hookimpl
def zoo_register_models(registry):
    registry.register(ModelSpec.from_plugin_folder(
        HERE, "wgan-gp-dental", WGANGP, tiny={"image_size": (16, 32), "g_features": 64, "d_features": 64}))

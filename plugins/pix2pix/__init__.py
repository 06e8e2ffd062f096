"""The pix2pix family plugin: registers ``pix2pix-pws``.

What each id's card says (data, use, limitations, metrics, the weights' changelog) is data in
``cards/<id>.yaml``; this module adds what is code: the family class, defaults and test size.
"""

from __future__ import annotations

from pathlib import Path

from zoo.plugin import ModelSpec, hookimpl

from .model import Pix2Pix

HERE = Path(__file__).parent


@hookimpl
def zoo_register_models(registry):
    registry.register(ModelSpec.from_plugin_folder(
        HERE, "pix2pix-pws", Pix2Pix, defaults={"g_features": 16, "g_output": "residual"},
        tiny={"image_size": 32, "g_features": 8, "d_features": 8}))

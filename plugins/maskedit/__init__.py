"""The mask-guided editor family: ``eczema-remove``, ``eczema-add``, ``lesion-remove``, ``lesion-add``.

One model edits in one direction; the ids of a pair differ only in ``direction``. What each id's
card says is data in ``cards/<id>.yaml``; this module adds what is code: defaults and test size.
"""

from __future__ import annotations

from pathlib import Path

from zoo.plugin import ModelSpec, hookimpl

from .model import MaskGuidedEditor

HERE = Path(__file__).parent

# What PH2 needed (docs: the PH2 report): the lesion hidden under a smooth fill from the skin around
# it, an output bound that keeps every pixel's gradient, resize up-sampling (no checkerboard), and
# for removal a 16-pixel discriminator field, so that PH2's narrow lesion-free border holds enough
# whole patches of healthy skin.
PH2_OPTIONS = {"prefill": True, "bound": "tanh", "upsample": "resize"}
PH2_REMOVE_OPTIONS = {**PH2_OPTIONS, "d_layers": 1}
TINY = {"image_size": (32, 32), "g_features": 8, "d_features": 8}


def _spec(model_id: str, direction: str, options: dict | None = None) -> ModelSpec:
    return ModelSpec.from_plugin_folder(HERE, model_id, MaskGuidedEditor, tiny=TINY,
                                        defaults={"direction": direction, **(options or {})})


@hookimpl
def zoo_register_models(registry):
    for direction in ("remove", "add"):
        registry.register(_spec(f"eczema-{direction}", direction))
        registry.register(_spec(f"lesion-{direction}", direction,
                                PH2_REMOVE_OPTIONS if direction == "remove" else PH2_OPTIONS))

"""medgan-zoo: a plugin-based zoo of GANs for medical and dermatological images.

The front door::

    import zoo
    zoo.list_models("*lesion*", task="unconditional")
    pipe = zoo.load("dcgan-lesions")
    pipe(num_images=4, seed=0).images[0].save("sample.png")

``import zoo`` is light on purpose: it imports torch, pluggy and huggingface_hub, never gradio,
accelerate or diffusers, and plugins are discovered only when first needed.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import Any

from zoo.data.datasets import LabelledImages, SyntheticDataset, mix_datasets, synthetic_dataset
from zoo.errors import (
    ConfigError,
    DuplicateModelError,
    ImageInputError,
    PluginWarning,
    UnknownModelError,
    WeightsError,
    ZooError,
)
from zoo.hookspecs import hookimpl
from zoo.models.base import GANModel
from zoo.pipelines.base import ImageOutput, Pipeline, pipeline_for
from zoo.registry import Metric, ModelSpec, get_registry, reload_plugins

__all__ = [
    "list_models", "info", "create", "load", "hookimpl", "ModelSpec", "Metric", "GANModel", "Pipeline",
    "ImageOutput", "ZooError", "UnknownModelError", "DuplicateModelError", "WeightsError", "ConfigError",
    "ImageInputError", "PluginWarning", "reload_plugins", "synthetic_dataset", "mix_datasets", "SyntheticDataset",
    "LabelledImages",
]


def list_models(pattern: str | None = None, **filters: str) -> list[str]:
    """Registered model ids matching a glob ``pattern`` and filters (``task``, ``modality``,
    ``family``, ``plugin``; each a glob too), e.g. ``list_models("*lesion*", task="class-conditional")``."""
    return get_registry().list_models(pattern, **filters)


def info(model_id: str) -> ModelSpec:
    """The registry entry of ``model_id``: family, task, modality, image size, channels, classes,
    defaults, Hub repo, licence, training data and measured metrics."""
    return get_registry().info(model_id)


def create(model_id: str, **overrides: Any) -> GANModel:
    """The untrained networks of ``model_id``, with constructor arguments overridden, for training.

    ``zoo.create("dcgan-lesions", image_size=(128, 96))``
    """
    spec = info(model_id)
    unknown = set(overrides) - set(spec.constructor_defaults())
    if unknown:
        raise ConfigError(f"{model_id} ({spec.model_class.__name__}) has no argument {sorted(unknown)}; "
                          f"its arguments are {sorted(spec.constructor_defaults())}")
    from zoo.models.limits import build_checked, check_config

    config = {**spec.defaults, **overrides}
    check_config(config, f"{model_id} with {overrides}" if overrides else model_id)
    try:
        model = build_checked(lambda: spec.model_class(**config), model_id)
    except (TypeError, ValueError, IndexError, RuntimeError) as exc:
        raise ConfigError(f"cannot build {model_id} with {overrides}: {exc}") from None
    model.model_id = model_id
    return model


def load(
    model: str,
    revision: str | None = None,
    device: Any = None,
    dtype: Any = None,
    *,
    token: str | bool | None = None,
    cache_dir: str | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
) -> Pipeline:
    """A ready pipeline for a registered id, a Hub repo id (``owner/name``) or a local folder.

    Resolution order: a local folder; the weights embedded in the package; the Hugging Face cache;
    the Hub (``HF_ENDPOINT`` respected, ``revision`` pins a branch, tag or commit). Weights are
    read from safetensors only and strictly: a mismatch with config.json names the keys.
    ``token``, ``cache_dir``, ``force_download`` and ``local_files_only`` go to huggingface_hub.
    """
    from zoo.hub.loading import load_model

    return pipeline_for(load_model(
        model, revision=revision, device=device, dtype=dtype, token=token, cache_dir=cache_dir,
        force_download=force_download, local_files_only=local_files_only,
    ))

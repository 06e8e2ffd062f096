"""The plugin API: every name a plugin needs, in one place.

A third-party package adds a family (models of an existing task) or a whole task with one module::

    from zoo.plugin import ModelSpec, UnconditionalGAN, hookimpl

    class MyGAN(UnconditionalGAN):
        family = "mygan"
        def __init__(self, image_size=(64, 64), channels=3, latent_dim=128): ...

    @hookimpl
    def zoo_register_models(registry):
        registry.register(ModelSpec(id="mygan-lesions", model_class=MyGAN, modality="dermoscopy",
                                    tiny={"latent_dim": 8}))

and announces it in its ``pyproject.toml`` under ``[project.entry-points.medgan_zoo]``. The hooks
are documented in :mod:`zoo.hookspecs`; docs/plugins.md walks through a family and a task. Names
outside this module (and ``zoo``'s own front door) may move between releases.
"""

from zoo.data.folders import (
    DataError,
    TrainingData,
    decode_images,
    list_images,
    read_images,
    read_labelled_images,
    read_masked,
    read_paired,
    read_unpaired,
)
from zoo.data.images import ImageLike, InputImage, read_image, read_mask, resize, to_model, to_pil
from zoo.errors import ConfigError, ZooError
from zoo.hookspecs import hookimpl
from zoo.models import blocks, i2i, latents, losses, nets
from zoo.models.base import GANModel
from zoo.models.gan import NoiseToImageGAN, UnconditionalGAN
from zoo.pipelines import (
    ClassConditionalPipeline,
    GenerationPipeline,
    ImageOutput,
    ImageToImagePipeline,
    MaskedEditPipeline,
    PairedTranslationPipeline,
    Pipeline,
    TranslationPipeline,
    UnconditionalPipeline,
)
from zoo.pipelines.base import to_unit
from zoo.registry import INPUTS, Metric, ModelRegistrar, ModelSpec, TaskRegistrar, TaskSpec
from zoo.training.samples import first_batch, generation_grid, masked_edit_grid, paired_grid, unpaired_grid
from zoo.training.trainer import StepContext

__all__ = [
    # hooks and registry entries
    "hookimpl", "ModelSpec", "TaskSpec", "Metric", "ModelRegistrar", "TaskRegistrar", "INPUTS",
    # model base classes and shared building blocks (modules)
    "GANModel", "NoiseToImageGAN", "UnconditionalGAN", "StepContext", "blocks", "nets", "i2i", "losses", "latents",
    # pipelines, for a task's own pipeline
    "Pipeline", "ImageOutput", "GenerationPipeline", "UnconditionalPipeline", "ClassConditionalPipeline",
    "ImageToImagePipeline", "TranslationPipeline", "PairedTranslationPipeline", "MaskedEditPipeline",
    # training data, for a task's reader and sample grid
    "TrainingData", "DataError", "list_images", "decode_images", "read_images", "read_labelled_images",
    "read_unpaired", "read_paired", "read_masked", "first_batch", "generation_grid", "unpaired_grid",
    "paired_grid", "masked_edit_grid",
    # image input and output, for a task's pipeline
    "ImageLike", "InputImage", "read_image", "read_mask", "resize", "to_model", "to_pil", "to_unit",
    # errors
    "ZooError", "ConfigError",
]

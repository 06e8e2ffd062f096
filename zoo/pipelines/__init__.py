"""Pipelines: one per task, each wrapping a model and returning an :class:`ImageOutput`.

``zoo.load(...)`` returns the pipeline of the model's task; :func:`pipeline_for` wraps a model
already in memory (e.g. one just trained).
"""

from zoo.pipelines.base import ImageOutput, Pipeline, pipeline_for
from zoo.pipelines.editing import MaskedEditPipeline
from zoo.pipelines.generation import ClassConditionalPipeline, GenerationPipeline, UnconditionalPipeline
from zoo.pipelines.translation import ImageToImagePipeline, PairedTranslationPipeline, TranslationPipeline

__all__ = [
    "ImageOutput", "Pipeline", "pipeline_for", "GenerationPipeline", "UnconditionalPipeline",
    "ClassConditionalPipeline", "ImageToImagePipeline", "TranslationPipeline", "PairedTranslationPipeline",
    "MaskedEditPipeline",
]

"""The zoo's built-in tasks, registered through ``zoo_register_tasks`` exactly like a third party's.

A task says what its models take and return: its pipeline, the layout of its training folders,
the grid a training run writes, the usage lines of its model cards and its evaluation figures.
The families (``dcgan``, ``cyclegan`` ...) are separate plugins that register models of these tasks.
"""

from __future__ import annotations

from zoo.plugin import TaskSpec, hookimpl


def _generation_usage(model, name: str) -> tuple[str, str]:
    return ('out = pipe(num_images=16, seed=0)\nout.images[0].save("sample.png")',
            f"zoo generate {name} -n 16 -o samples/")


def _conditional_usage(model, name: str) -> tuple[str, str]:
    label = (list(model.config.get("class_names") or []) or [""])[0]
    return (f"out = pipe(num_images=16, labels=[{label!r}], seed=0)",
            f"zoo generate {name} --class {label} -n 16 -o samples/")


def _direction(model) -> str:
    return getattr(model, "default_direction", "AtoB")


def _unpaired_usage(model, name: str) -> tuple[str, str]:
    direction = _direction(model)
    return (f'out = pipe("face.png", direction={direction!r})',
            f"zoo translate {name} face.png --direction {direction} -o out/")


def _paired_usage(model, name: str) -> tuple[str, str]:
    return 'out = pipe("face.png")', f"zoo translate {name} face.png -o out/"


def _masked_usage(model, name: str) -> tuple[str, str]:
    mode = getattr(model, "default_mode", "remove")
    return (f'out = pipe("skin.png", "mask.png", mode={mode!r})',
            f"zoo translate {name} skin.png --mask mask.png --mode {mode} -o out/")


@hookimpl
def zoo_register_tasks(registry):
    # Imported here, not at module level: entry points are loaded before anything is listed.
    from zoo.data import examples, folders
    from zoo.evaluate.translation import cycle_metrics, masked_edit_metrics, paired_metrics
    from zoo.pipelines import (
        ClassConditionalPipeline,
        MaskedEditPipeline,
        PairedTranslationPipeline,
        TranslationPipeline,
        UnconditionalPipeline,
    )
    from zoo.training import samples

    generation = "unconditional-image-generation"
    registry.register(TaskSpec(
        name="unconditional", pipeline=UnconditionalPipeline, pipeline_tag=generation,
        read_data=folders.read_images, sample_grid=samples.generation_grid, usage=_generation_usage,
        inputs="noise", example_data=examples.random_images,
        description="images from noise: pipe(num_images, seed, truncation)",
    ))
    registry.register(TaskSpec(
        name="class-conditional", pipeline=ClassConditionalPipeline, pipeline_tag=generation,
        read_data=folders.read_labelled_images, sample_grid=samples.generation_grid, usage=_conditional_usage,
        inputs="noise", labelled=True, example_data=examples.random_labelled_images,
        description="images of a chosen class: pipe(num_images, labels, seed)",
    ))
    registry.register(TaskSpec(
        name="unpaired-translation", pipeline=TranslationPipeline, pipeline_tag="image-to-image",
        read_data=folders.read_unpaired, sample_grid=samples.unpaired_grid, usage=_unpaired_usage,
        evaluate=cycle_metrics, example_data=examples.random_pairs,
        description="domain A <-> domain B from unpaired sets: pipe(images, direction)",
    ))
    registry.register(TaskSpec(
        name="paired-translation", pipeline=PairedTranslationPipeline, pipeline_tag="image-to-image",
        read_data=folders.read_paired, sample_grid=samples.paired_grid, usage=_paired_usage,
        evaluate=paired_metrics, example_data=examples.random_pairs,
        description="input -> target from pairs: pipe(images)",
    ))
    registry.register(TaskSpec(
        name="masked-edit", pipeline=MaskedEditPipeline, pipeline_tag="image-to-image",
        read_data=folders.read_masked, sample_grid=samples.masked_edit_grid, usage=_masked_usage,
        inputs="image+mask", evaluate=masked_edit_metrics, example_data=examples.random_masked,
        description="remove or add inside a painted mask: pipe(image, mask, mode)",
    ))

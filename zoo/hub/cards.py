"""Render a model's README.md (a Hugging Face model card) from the template in ``cards/``."""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

__all__ = ["render_model_card", "slug"]

NOT_STATED = "Not stated by the uploader. Pass model_card_kwargs={{{key!r}: ...}} to save_pretrained or push_to_hub."


def _card_facts(model) -> dict[str, Any]:
    """What the card says. The registry entry's data, intended use and metrics describe only its
    own weights; after any training the uploader states them (``model_card_kwargs``)."""
    from zoo.registry import get_registry

    registry = get_registry()
    spec = registry.info(model.model_id) if model.model_id in registry else None
    if spec is not None and spec.family != model.family:
        spec = None
    if spec is not None and model.registry_weights:
        return dict(
            description=spec.description, training_data=spec.training_data, datasets=list(spec.datasets),
            license=spec.license, intended_use=spec.intended_use, limitations=spec.limitations,
            trained=spec.trained, metrics=list(spec.metrics), modality=spec.modality,
            weights_version=spec.version, changelog=list(spec.changelog), images=list(spec.images),
        )
    facts = {key: NOT_STATED.format(key=key) for key in ("training_data", "intended_use", "limitations")}
    if not model.trained:
        facts["training_data"] = "None: these weights are an untrained initialisation."
    return dict(
        facts, description=spec.description if spec else "", modality=spec.modality if spec else "not stated",
        datasets=[], license="other", trained=model.trained, metrics=[], weights_version="", changelog=[], images=[],
    )


def slug(text: str) -> str:
    """A data set id for model-index, e.g. "HAM10000 held-out split" -> "ham10000-held-out-split"."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def render_model_card(model, **overrides: Any) -> ModelCard:
    """The model card for ``model``; keyword arguments override any fact (e.g. ``training_data=``)."""
    from zoo.registry import get_registry

    task = get_registry().task(model.task)
    facts = {**_card_facts(model), **overrides}
    config = model.config
    class_names = list(config.get("class_names") or [])
    card_data = ModelCardData(
        license=facts["license"],
        library_name="medgan-zoo",
        pipeline_tag=task.pipeline_tag,
        tags=sorted({"medical", "gan", "medgan-zoo", model.family, model.task}),
        datasets=facts["datasets"] or None,
        model_name=model.model_id,
        eval_results=[
            EvalResult(task_type=task.pipeline_tag, dataset_type=slug(m.dataset), dataset_name=m.dataset,
                       metric_type=m.name.lower(), metric_name=m.name, metric_value=m.value)
            for m in facts["metrics"]
        ] or None,
    )
    load_name = facts.pop("load_name", model.model_id)
    usage, cli = task.usage(model, load_name)
    from zoo import __version__

    template = (files("medgan_zoo_cards") / "model_card.md").read_text(encoding="utf-8")
    return ModelCard.from_template(
        card_data,
        template_str=template,
        model_id=model.model_id,
        load_name=load_name,
        family=model.family,
        task=model.task,
        image_size=list(model.image_size),
        channels=model.channels,
        class_names=class_names,
        version=__version__,
        usage=usage,
        cli_usage=cli,
        **facts,
    )

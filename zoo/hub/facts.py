"""Card facts: what a registered model's card says, kept as data in one YAML file per model id.

A plugin keeps ``cards/<id>.yaml`` beside its code and registers the id with
:meth:`zoo.registry.ModelSpec.from_card_facts`. The fields (``cards/card-facts.schema.json`` in
the source tree, checked in CI): ``id``, ``version`` of the weights, ``modality``, ``trained``,
``license``, ``datasets``, ``description``, ``training_data``, ``intended_use``, ``limitations``,
``metrics`` (name, value, dataset, command), ``changelog`` (version, date, changes; newest
first, every earlier version's figures kept there) and, optionally, ``images`` (file, caption):
pictures in the embedded-weights folder that the card shows.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml

from zoo.errors import ConfigError

__all__ = ["read_card_facts", "FIELDS"]

FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str, "version": str, "modality": str, "trained": bool, "license": str, "datasets": list,
    "description": str, "training_data": str, "intended_use": str, "limitations": str, "metrics": list,
    "changelog": list,
}
METRIC_FIELDS = {"name": str, "value": (int, float, str), "dataset": str, "command": str}
CHANGE_FIELDS = {"version": str, "date": (str, datetime.date), "changes": str}
IMAGE_FIELDS = {"file": str, "caption": str}
OPTIONAL: dict[str, list] = {"images": []}  # may be left out


def _check(record: Any, fields: dict, what: str) -> None:
    if not isinstance(record, dict):
        raise ConfigError(f"{what} must be a mapping, got {type(record).__name__}")
    missing, unknown = set(fields) - set(record), set(record) - set(fields)
    if missing or unknown:
        raise ConfigError(f"{what}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    for key, kind in fields.items():
        if not isinstance(record[key], kind) or (kind is not bool and isinstance(record[key], bool)):
            raise ConfigError(f"{what}: {key} must be {getattr(kind, '__name__', kind)}, got {record[key]!r}")


def read_card_facts(path: str | Path) -> dict[str, Any]:
    """The :class:`zoo.registry.ModelSpec` fields in the YAML file ``path``, checked."""
    from zoo.registry import Metric

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the card facts {path}: {exc}") from None
    if isinstance(data, dict):
        data = {**OPTIONAL, **data}
    _check(data, {**FIELDS, **{key: list for key in OPTIONAL}}, str(path))
    for i, image in enumerate(data["images"]):
        _check(image, IMAGE_FIELDS, f"{path}: images[{i}]")
    for i, metric in enumerate(data["metrics"]):
        _check(metric, METRIC_FIELDS, f"{path}: metrics[{i}]")
    for i, change in enumerate(data["changelog"]):
        _check(change, CHANGE_FIELDS, f"{path}: changelog[{i}]")
    if data["changelog"] and data["changelog"][0]["version"] != data["version"]:
        raise ConfigError(f"{path}: the newest changelog entry is {data['changelog'][0]['version']}, "
                          f"the weights are {data['version']}; add an entry for this version first")
    return {
        **data,
        "datasets": tuple(data["datasets"]),
        "metrics": tuple(Metric(**m) for m in data["metrics"]),
        "changelog": tuple({**c, "date": str(c["date"])} for c in data["changelog"]),
        "images": tuple(data["images"]),
    }

"""The model registry: which model ids exist, who registered them, and what they are.

Plugins are discovered through the ``medgan_zoo`` entry-point group and managed by pluggy; see
:mod:`zoo.hookspecs` for the contract. The registry is built lazily on first use, so
``import zoo`` stays cheap and a broken plugin costs nothing until models are listed.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib.metadata
import inspect
import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import pluggy

from . import hookspecs
from .errors import DuplicateModelError, PluginWarning, UnknownModelError

BLOCK_ENV = "MEDGAN_ZOO_BLOCK_PLUGINS"
"""Comma-separated entry-point names of plugins that must not be loaded."""

TASKS = ("unconditional", "class-conditional", "unpaired-translation", "paired-translation", "masked-edit")


@dataclass(frozen=True)
class Metric:
    """One measured figure, reported in the model card's ``model-index``."""

    name: str  # e.g. "FID"
    value: float | str
    dataset: str  # e.g. "HAM10000 held-out split"
    command: str  # how to reproduce it, e.g. "zoo evaluate dcgan-lesions --data ..."


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: one model id, its family class and everything a model card needs.

    Image size, channels and class names are not repeated here: they are read from the family
    constructor's defaults overridden by :attr:`defaults`, so the config cannot drift from them.
    """

    id: str
    model_class: type
    modality: str
    description: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    training_data: str = ""
    datasets: tuple[str, ...] = ()
    license: str = "apache-2.0"
    intended_use: str = ""
    limitations: str = ""
    trained: bool = False
    metrics: tuple[Metric, ...] = ()
    hub_repo: str | None = None
    revision: str | None = None
    weights: Path | None = None  # a folder of embedded weights shipped inside the plugin package
    plugin: str = ""  # set by the registry: the entry-point name of the registering plugin

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"{self.id}: model_class.task must be one of {TASKS}, got {self.task!r}")
        ctor = self.constructor_defaults()
        missing = {"image_size", "channels"} - set(ctor)
        if missing:
            raise TypeError(f"{self.id}: {self.model_class.__name__}.__init__ needs arguments with defaults "
                            f"{sorted(missing)}; the pipelines and model cards read them")
        unknown = set(self.defaults) - set(ctor)
        if unknown:
            raise TypeError(f"{self.id}: defaults name no argument of {self.model_class.__name__}: {sorted(unknown)}")

    @property
    def family(self) -> str:
        return self.model_class.family

    @property
    def task(self) -> str:
        return self.model_class.task

    def constructor_defaults(self) -> dict[str, Any]:
        params = inspect.signature(self.model_class.__init__).parameters
        return {n: p.default for n, p in params.items() if p.default is not inspect.Parameter.empty}

    @property
    def config(self) -> dict[str, Any]:
        """Every constructor argument of this entry (family defaults, then the entry's own)."""
        return {**self.constructor_defaults(), **self.defaults}

    @property
    def image_size(self) -> tuple[int, int]:
        size = self.config["image_size"]
        return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))  # (H, W)

    @property
    def channels(self) -> int:
        return int(self.config["channels"])

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.config.get("class_names") or ())

    @property
    def has_embedded_weights(self) -> bool:
        return self.weights is not None and (Path(self.weights) / "config.json").is_file()


class PluginRegistrar:
    """The object handed to ``zoo_register_models``: registers entries on behalf of one plugin."""

    def __init__(self, plugin: str):
        self.plugin = plugin
        self.staged: list[ModelSpec] = []

    def register(self, spec: ModelSpec) -> ModelSpec:
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"plugin {self.plugin!r}: register() takes a zoo.ModelSpec, got {type(spec).__name__}")
        spec = replace(spec, plugin=self.plugin)
        self.staged.append(spec)
        return spec


class Registry:
    """Model ids -> :class:`ModelSpec`, built from a pluggy plugin manager."""

    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}
        self.plugin_manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.plugin_manager.add_hookspecs(hookspecs)
        self.skipped: dict[str, str] = {}  # plugin name -> why it was skipped

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def from_entry_points(cls, group: str = hookspecs.PROJECT_NAME, blocked: Iterable[str] | None = None) -> "Registry":
        registry = cls()
        if blocked is None:
            blocked = [n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip()]
        for name in blocked:
            registry.plugin_manager.set_blocked(name)
        seen: dict[str, str] = {}
        for ep in importlib.metadata.entry_points(group=group):
            if ep.name in seen:
                if seen[ep.name] != ep.value:  # not merely one distribution found twice on sys.path
                    registry._skip(ep.name, f"its name is taken by {seen[ep.name]!r}, so {ep.value!r} was not "
                                            "loaded; rename one of the entry points")
                continue
            seen[ep.name] = ep.value
            if registry.plugin_manager.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party package must not take the zoo down
                registry._skip(ep.name, f"failed to import {ep.value!r}: {type(exc).__name__}: {exc}")
                continue
            registry.add_plugin(plugin, ep.name, _collect=False)
        registry._collect()
        return registry

    def add_plugin(self, plugin: object, name: str, _collect: bool = True) -> None:
        """Register a plugin object by hand (notebooks, tests) exactly as if found by entry point."""
        try:
            self.plugin_manager.register(plugin, name=name)
        except Exception as exc:  # e.g. pluggy.PluginValidationError: a hook with a wrong signature
            self._skip(name, f"{type(exc).__name__}: {exc}")
            return
        if _collect:
            self._collect(only=name)

    def remove_plugin(self, name: str) -> None:
        """Unregister a plugin and forget the model ids it registered."""
        self.plugin_manager.unregister(name=name)
        self._specs = {k: v for k, v in self._specs.items() if v.plugin != name}

    def _skip(self, name: str, why: str) -> None:
        self.skipped[name] = why
        warnings.warn(f"medgan-zoo skipped plugin {name!r}: {why}", PluginWarning, stacklevel=2)

    def _collect(self, only: str | None = None) -> None:
        # Each plugin's hook is called on its own, not through pm.hook.zoo_register_models(), so
        # that one plugin raising skips that plugin alone and every entry knows who made it.
        for impl in self.plugin_manager.hook.zoo_register_models.get_hookimpls():
            if only is not None and impl.plugin_name != only:
                continue
            registrar = PluginRegistrar(impl.plugin_name)
            try:
                impl.function(*[{"registry": registrar}[arg] for arg in impl.argnames])
            except Exception as exc:
                self.plugin_manager.unregister(name=impl.plugin_name)
                self._skip(impl.plugin_name, f"zoo_register_models raised {type(exc).__name__}: {exc}")
                continue
            self._add_all(impl.plugin_name, registrar.staged)

    def _add_all(self, plugin: str, specs: list[ModelSpec]) -> None:
        """Add one plugin's entries all together, or none of them."""
        ids = [spec.id for spec in specs]
        for model_id in ids:
            if ids.count(model_id) > 1:
                raise DuplicateModelError(f"plugin {plugin!r} registers model id {model_id!r} twice.")
            if model_id in self._specs:
                other = self._specs[model_id].plugin
                raise DuplicateModelError(
                    f"model id {model_id!r} is registered by both plugin {other!r} and plugin {plugin!r}. "
                    f"Uninstall one of them, or block one with {BLOCK_ENV}={plugin}."
                )
        self._specs.update((spec.id, spec) for spec in specs)

    # -- querying ----------------------------------------------------------------------------
    def __contains__(self, model_id: str) -> bool:
        return model_id in self._specs

    def __iter__(self):
        return iter(sorted(self._specs))

    def plugins(self) -> dict[str, list[str]]:
        """Plugin name -> the model ids it registered."""
        out: dict[str, list[str]] = {}
        for spec in self._specs.values():
            out.setdefault(spec.plugin, []).append(spec.id)
        return {k: sorted(v) for k, v in sorted(out.items())}

    def list_models(self, pattern: str | None = None, **filters: str) -> list[str]:
        allowed = {"task", "modality", "family", "plugin"}
        filters = {k: v for k, v in filters.items() if v is not None}
        bad = set(filters) - allowed
        if bad:
            raise TypeError(f"list_models() got unknown filter(s) {sorted(bad)}; use {sorted(allowed)}")
        ids = []
        for spec in self._specs.values():
            if pattern is not None and not fnmatch.fnmatchcase(spec.id, pattern):
                continue
            if any(not fnmatch.fnmatchcase(str(getattr(spec, k)), v) for k, v in filters.items()):
                continue
            ids.append(spec.id)
        return sorted(ids)

    def family_class(self, family: str, source: str = "") -> type:
        """The model class of ``family`` (from any entry of that family)."""
        for spec in self._specs.values():
            if spec.family == family:
                return spec.model_class
        known = sorted({s.family for s in self._specs.values()})
        raise UnknownModelError(
            f"{source or 'the model'} is a {family!r} model but no installed plugin provides that family "
            f"(installed families: {known}). Install the plugin that does, then retry."
        )

    def info(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except KeyError:
            raise UnknownModelError(self.unknown_message(model_id)) from None

    def unknown_message(self, model_id: str) -> str:
        close = difflib.get_close_matches(model_id, list(self._specs), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return (
            f"unknown model id {model_id!r}.{hint} "
            f"`zoo list` (or zoo.list_models()) shows the {len(self._specs)} registered ids; "
            "a Hub repo id looks like 'owner/name' and a local folder must exist."
        )


_default: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built from installed entry points on first use."""
    global _default
    if _default is None:
        _default = Registry.from_entry_points()
    return _default


def reload_plugins() -> Registry:
    """Forget the registry and rediscover plugins (after installing one, or changing the block list)."""
    global _default
    _default = None
    return get_registry()

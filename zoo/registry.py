"""The registry: which tasks and model ids exist, who registered them, and what they are.

Plugins are discovered through the ``medgan_zoo`` entry-point group and managed by pluggy; see
:mod:`zoo.hookspecs` for the contract. The registry is built lazily on first use, so
``import zoo`` stays cheap and a broken plugin costs nothing until models are listed.

A :class:`TaskSpec` says what a task's models take and return and how the zoo trains, shows and
serves them; a :class:`ModelSpec` is one model id of a family class. Core code asks the task
(``get_registry().task(model.task)``) instead of naming tasks, so a third-party task is served by
``zoo.load``, ``zoo train``, ``zoo evaluate`` and the CLI like a built-in one.
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
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Mapping, TypeVar

import pluggy

from zoo import hookspecs
from zoo.errors import PluginWarning, UnknownModelError

if TYPE_CHECKING:
    from zoo.models.base import GANModel

BLOCK_ENV = "MEDGAN_ZOO_BLOCK_PLUGINS"
"""Comma-separated entry-point names of plugins that must not be loaded."""

__all__ = [
    "BLOCK_ENV", "INPUTS", "Metric", "ModelSpec", "TaskSpec", "ModelRegistrar", "TaskRegistrar", "Registry",
    "get_registry", "reload_plugins", "task_of", "generates_classes", "constructor_defaults",
]

INPUTS = ("noise", "image", "image+mask")
"""What a task's pipeline is called with: latents it draws itself (``zoo generate``), an image, or an
image and a mask (``zoo translate``, with ``--mask``)."""


def constructor_defaults(model_class: type) -> dict[str, Any]:
    """The default of every constructor argument of ``model_class`` that has one."""
    params = inspect.signature(model_class.__init__).parameters  # type: ignore[misc]
    return {n: p.default for n, p in params.items() if p.default is not inspect.Parameter.empty}


@dataclass(frozen=True)
class TaskSpec:
    """A task: what its models take and return, and how the zoo trains, shows and serves them.

    ``pipeline``: the :class:`zoo.pipelines.Pipeline` subclass ``zoo.load`` wraps a model of this
    task in. ``pipeline_tag``: the Hugging Face pipeline tag of its model cards.
    ``read_data(root, image_size, channels, *, class_names=(), label_column="dx",
    group_column=None, progress=True) -> TrainingData``: reads a training folder laid out for
    the task (every reader takes every keyword; it uses those it needs).
    ``sample_grid(model, data, seed, n) -> N x C x H x W`` in [0, 1]: what a training run writes
    to ``samples/`` and ``zoo evaluate`` to ``examples.png``.
    ``usage(model, name) -> (python, cli)``: the "How to use" snippets of a model card, for the
    model loaded as ``name`` (its id, folder or Hub repo); the Python one runs after
    ``pipe = zoo.load(name)``.
    ``inputs``: one of :data:`INPUTS`. ``labelled``: training data carries a class label per
    image (``label``), drawn class-balanced by default.
    ``evaluate(model, real, batch_size, progress) -> {name: number}``: the task's own figures on
    real data (optional; noise-to-image tasks get the distribution figures of ``zoo evaluate``).
    ``example_data(model, n, seed) -> {name: uint8 tensor}``: ``n`` random samples in the task's
    training layout (optional): the parametrized tests and ``bench/train_speed.py`` train on it.
    """

    name: str
    pipeline: type
    pipeline_tag: str
    read_data: Callable[..., Any]
    sample_grid: Callable[..., Any]
    usage: Callable[[Any, str], tuple[str, str]]
    inputs: str = "image"
    labelled: bool = False
    evaluate: Callable[..., dict] | None = None
    example_data: Callable[..., dict] | None = None
    description: str = ""
    plugin: str = ""  # set by the registry: the entry-point name of the registering plugin

    def __post_init__(self) -> None:
        if self.inputs not in INPUTS:
            raise ValueError(f"task {self.name!r}: inputs must be one of {INPUTS}, got {self.inputs!r}")
        for name in ("read_data", "sample_grid", "usage"):
            if not callable(getattr(self, name)):
                raise TypeError(f"task {self.name!r}: {name} must be callable")


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
    model_class: type[GANModel]
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
    version: str = ""  # of the weights: bumped, with a changelog entry, whenever they change
    changelog: tuple[Mapping[str, Any], ...] = ()  # {"version", "date", "changes"}, newest first
    images: tuple[Mapping[str, str], ...] = ()  # {"file", "caption"}: pictures beside the embedded weights
    tiny: Mapping[str, Any] = field(default_factory=dict)
    """Constructor overrides that make a small, fast model of this id for tests (as timm's test
    models): the registry-parametrized round-trip, frozen-D, odd-size and learning tests use it."""
    plugin: str = ""  # set by the registry: the entry-point name of the registering plugin

    @classmethod
    def from_card_facts(cls, path: str | Path, model_class: type, **fields: Any) -> "ModelSpec":
        """The entry whose card facts (id, modality, description, training data, licence, intended
        use, limitations, metrics, version and changelog) are read from the YAML file ``path``
        (``cards/card-facts.schema.json`` gives its fields); ``fields`` add the rest (``defaults``,
        ``weights``, ``tiny`` ...)."""
        from zoo.hub.facts import read_card_facts

        return cls(model_class=model_class, **read_card_facts(path), **fields)

    @classmethod
    def from_plugin_folder(cls, folder: str | Path, model_id: str, model_class: type, **fields: Any) -> "ModelSpec":
        """The usual layout of a plugin package: card facts in ``folder/cards/<id>.yaml`` and, where
        the folder exists, embedded weights in ``folder/embedded-weights/<id>/``."""
        weights = Path(folder) / "embedded-weights" / model_id
        fields.setdefault("weights", weights if weights.is_dir() else None)
        return cls.from_card_facts(Path(folder) / "cards" / f"{model_id}.yaml", model_class, **fields)

    def __post_init__(self) -> None:
        from zoo.models.base import GANModel

        if not (isinstance(self.model_class, type) and issubclass(self.model_class, GANModel)):
            raise TypeError(f"{self.id}: model_class must be a subclass of zoo.plugin.GANModel, got "
                            f"{self.model_class!r}")
        if not isinstance(self.task, str) or not self.task:
            raise TypeError(f"{self.id}: {self.model_class.__name__}.task must name a registered task")
        ctor = self.constructor_defaults()
        missing = {"image_size", "channels"} - set(ctor)
        if missing:
            raise TypeError(f"{self.id}: {self.model_class.__name__}.__init__ needs arguments with defaults "
                            f"{sorted(missing)}; the pipelines and model cards read them")
        for what, overrides in (("defaults", self.defaults), ("tiny", self.tiny)):
            unknown = set(overrides) - set(ctor)
            if unknown:
                raise TypeError(f"{self.id}: {what} name no argument of {self.model_class.__name__}: {sorted(unknown)}")

    @property
    def family(self) -> str:
        return self.model_class.family

    @property
    def task(self) -> str:
        return self.model_class.task

    def constructor_defaults(self) -> dict[str, Any]:
        return constructor_defaults(self.model_class)

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


class _Unusable(Exception):
    """What a plugin registered cannot be added (e.g. a model of a task nobody registers)."""


_Spec = TypeVar("_Spec", TaskSpec, ModelSpec)


class _Registrar(Generic[_Spec]):
    """Stages one plugin's entries; the registry adds them all together, or none of them."""

    kind: type[_Spec]

    def __init__(self, plugin: str):
        self.plugin = plugin
        self.staged: list[_Spec] = []

    def register(self, spec: _Spec) -> _Spec:
        if not isinstance(spec, self.kind):
            raise TypeError(f"plugin {self.plugin!r}: register() takes a zoo.{self.kind.__name__}, "
                            f"got {type(spec).__name__}")
        spec = replace(spec, plugin=self.plugin)
        self.staged.append(spec)
        return spec


class TaskRegistrar(_Registrar[TaskSpec]):
    """The object handed to ``zoo_register_tasks``: ``register(TaskSpec(...))`` once per task."""

    kind = TaskSpec


class ModelRegistrar(_Registrar[ModelSpec]):
    """The object handed to ``zoo_register_models``: ``register(ModelSpec(...))`` once per model id."""

    kind = ModelSpec


PluginRegistrar = ModelRegistrar  # the name before tasks were pluggable


class Registry:
    """Tasks and model ids -> :class:`TaskSpec` / :class:`ModelSpec`, built from a pluggy plugin manager."""

    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}
        self._tasks: dict[str, TaskSpec] = {}
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
        # The zoo's own plugins first: a third-party plugin cannot take over a built-in id or family.
        points = sorted(importlib.metadata.entry_points(group=group),
                        key=lambda ep: not ep.value.startswith("medgan_zoo_plugins."))
        for ep in points:
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
            except (Exception, SystemExit) as exc:  # a broken third-party package must not take the zoo down
                what = (f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit)
                        else f"{type(exc).__name__}: {exc}")
                registry._skip(ep.name, f"failed to import {ep.value!r}: {what}")
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
        """Unregister a plugin and forget the tasks and model ids it registered."""
        self.plugin_manager.unregister(name=name)
        self._specs = {k: v for k, v in self._specs.items() if v.plugin != name}
        self._tasks = {k: v for k, v in self._tasks.items() if v.plugin != name}

    def _skip(self, name: str, why: str) -> None:
        self.skipped[name] = why
        warnings.warn(f"medgan-zoo skipped plugin {name!r}: {why}", PluginWarning, stacklevel=2)

    def _check_pending(self) -> None:
        """pluggy's check_pending(): a ``@hookimpl`` with no matching hook spec is a misspelled hook.
        Such a plugin is skipped with a warning naming it and the hook it probably meant."""
        while True:
            try:
                self.plugin_manager.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.plugin_manager.get_name(exc.plugin) or repr(exc.plugin)
                known = [n for n in dir(hookspecs) if n.startswith("zoo_")]
                unknown = [n for n in dir(exc.plugin) if n not in known
                           and self.plugin_manager.parse_hookimpl_opts(exc.plugin, n) is not None]
                hints = [f"{n!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(n, known, 1))
                         else repr(n) for n in unknown]
                self.plugin_manager.unregister(name=name)
                self._skip(name, f"it implements {', '.join(hints) or 'an unknown hook'}, which is no medgan-zoo "
                                 f"hook; the hooks are {known} (see zoo.hookspecs)")

    def _collect(self, only: str | None = None) -> None:
        # Each plugin's hook is called on its own, not through pm.hook.<name>(), so that one plugin
        # raising skips that plugin alone and every entry knows who made it. Tasks first: a model
        # may be of a task that another plugin registers.
        self._check_pending()
        rounds: list[tuple[str, type[_Registrar[Any]], Callable[[str, list[Any]], None]]] = [
            ("zoo_register_tasks", TaskRegistrar, self._add_tasks),
            ("zoo_register_models", ModelRegistrar, self._add_models),
        ]
        for hook, registrar, add in rounds:
            for impl in getattr(self.plugin_manager.hook, hook).get_hookimpls():
                if only is not None and impl.plugin_name != only:
                    continue
                if impl.plugin_name in self.skipped and self.plugin_manager.get_plugin(impl.plugin_name) is None:
                    continue  # skipped by an earlier hook of this round
                staged = registrar(impl.plugin_name)
                try:
                    impl.function(*[{"registry": staged}[arg] for arg in impl.argnames])
                except (Exception, SystemExit) as exc:
                    self.remove_plugin(impl.plugin_name)
                    self._skip(impl.plugin_name, f"{hook} raised {type(exc).__name__}: {exc}")
                    continue
                try:
                    add(impl.plugin_name, staged.staged)
                except _Unusable as exc:
                    self.remove_plugin(impl.plugin_name)
                    self._skip(impl.plugin_name, str(exc))

    def _add_tasks(self, plugin: str, specs: list[TaskSpec]) -> None:
        names = [spec.name for spec in specs]
        for name in names:
            if names.count(name) > 1 or name in self._tasks:
                other = plugin if names.count(name) > 1 else self._tasks[name].plugin
                raise _Unusable(f"task {name!r} is registered by plugin {other!r} already")
        self._tasks.update((spec.name, spec) for spec in specs)

    def _add_models(self, plugin: str, specs: list[ModelSpec]) -> None:
        """Add one plugin's entries all together, or none of them."""
        ids = [spec.id for spec in specs]
        for spec in specs:
            if spec.task not in self._tasks:
                raise _Unusable(f"model {spec.id!r} is of task {spec.task!r}, which no installed plugin registers "
                                 f"(tasks: {sorted(self._tasks)})")
        for model_id in ids:
            if ids.count(model_id) > 1:
                raise _Unusable(f"it registers model id {model_id!r} twice")
            if model_id in self._specs:
                other = self._specs[model_id].plugin
                raise _Unusable(f"model id {model_id!r} is registered by plugin {other!r} already, so plugin "
                                f"{plugin!r} was skipped. Uninstall one of them, or block one "
                                f"({BLOCK_ENV}={plugin} silences this).")
        for spec in specs:  # one family name, one class: a folder of that family must load with its own code
            owner = next((s for s in self._specs.values() if s.family == spec.family), None)
            if owner is not None and owner.model_class is not spec.model_class:
                raise _Unusable(f"its class {spec.model_class.__qualname__} calls itself family {spec.family!r}, the "
                                f"family of plugin {owner.plugin!r}'s {owner.model_class.__qualname__}; a family name "
                                "must be unique: rename it")
        self._specs.update((spec.id, spec) for spec in specs)

    # -- tasks -------------------------------------------------------------------------------
    def task(self, name: str) -> TaskSpec:
        """The registered task ``name``."""
        try:
            return self._tasks[name]
        except KeyError:
            raise UnknownModelError(f"unknown task {name!r}: no installed plugin registers it (tasks: "
                                    f"{sorted(self._tasks)}). Install the plugin that does, then retry.") from None

    def tasks(self) -> list[str]:
        return sorted(self._tasks)

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


def task_of(model: Any) -> TaskSpec | None:
    """The :class:`TaskSpec` of a model or pipeline (anything with a ``task`` name), or None for an
    object without one or of a task no installed plugin registers."""
    name = getattr(model, "task", None)
    registry = get_registry()
    return registry._tasks.get(name) if isinstance(name, str) else None


def generates_classes(model: Any) -> bool:
    """A noise-to-image model of a labelled task: ``generate(z, labels)`` makes images of classes."""
    task = task_of(model)
    return task is not None and task.inputs == "noise" and task.labelled


def reload_plugins() -> Registry:
    """Forget the registry and rediscover plugins (after installing one, or changing the block list)."""
    global _default
    _default = None
    return get_registry()

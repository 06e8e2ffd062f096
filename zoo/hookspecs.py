"""Hook specifications: the whole contract between medgan-zoo and its plugins.

A plugin is an importable module (or any object) that implements one or more of the hooks below,
decorated with :data:`zoo.hookimpl`, and is announced under the ``medgan_zoo`` entry-point group::

    # pyproject.toml of a third-party package
    [project.entry-points.medgan_zoo]
    stylegan = "my_package.zoo_plugin"

The zoo's own tasks (``unconditional``, ``masked-edit`` ...) and families (``dcgan`` ...) are
plugins found through the very same group, so a third-party task or family is a first-class
citizen: it is listed, created, trained, loaded, saved, served and tested exactly like a built-in
one. Every name a plugin needs is in :mod:`zoo.plugin`.

Order: every plugin's :func:`zoo_register_tasks` runs before any :func:`zoo_register_models`, so
a family may use a task that another plugin registers.

Failure isolation: a plugin that raises on import or inside a hook is skipped with a
:class:`zoo.errors.PluginWarning` naming it; the rest of the zoo keeps working. A function marked
``@hookimpl`` whose name is no hook here (a misspelling such as ``zoo_register_model``) is reported
the same way, with the hook it was probably meant to be. Block plugins by entry-point name with
``MEDGAN_ZOO_BLOCK_PLUGINS=name1,name2``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .registry import ModelRegistrar, TaskRegistrar

PROJECT_NAME = "medgan_zoo"
"""The pluggy project name, which is also the entry-point group."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "zoo_register_models", "zoo_register_tasks"]


@hookspec
def zoo_register_tasks(registry: TaskRegistrar) -> None:
    """Register the tasks this plugin adds: what a model of the task takes and returns.

    Call ``registry.register(TaskSpec(...))`` once per task. A :class:`zoo.plugin.TaskSpec` names
    the task's pipeline class, its Hugging Face ``pipeline_tag``, the reader of its training
    folders, the sample grid a training run writes, the usage snippets of its model cards and
    (optionally) its evaluation figures. Two plugins registering one task name is an error that
    skips the second.

    :param registry: a :class:`zoo.registry.TaskRegistrar` bound to the calling plugin.
    """


@hookspec
def zoo_register_models(registry: ModelRegistrar) -> None:
    """Register this plugin's model entries.

    Call ``registry.register(ModelSpec(...))`` once per model id. The registry records which
    plugin registered each id. A plugin that registers an id (or a family name) another plugin
    has, or one id twice, is skipped with a warning naming both; the zoo's own plugins load first,
    so a third-party plugin cannot take over a built-in id or family. Entries registered by a hook
    that then raises are discarded together, so a half-registered plugin never leaks into the zoo.
    The model's task (its class's ``task``) must be registered by some plugin.

    :param registry: a :class:`zoo.registry.ModelRegistrar` bound to the calling plugin.
    """

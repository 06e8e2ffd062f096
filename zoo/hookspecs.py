"""Hook specifications: the whole contract between medgan-zoo and its plugins.

A plugin is an importable module (or any object) that implements one or more of the hooks below,
decorated with :data:`zoo.hookimpl`, and is announced under the ``medgan_zoo`` entry-point group::

    # pyproject.toml of a third-party package
    [project.entry-points.medgan_zoo]
    stylegan = "my_package.zoo_plugin"

The zoo's own families (``dcgan``, ...) are plugins found through the very same group, so a
third-party family is a first-class citizen: it is listed, created, loaded, saved and tested
exactly like a built-in one.

Failure isolation: a plugin that raises on import or inside a hook is skipped with a
:class:`zoo.errors.PluginWarning` naming it; the rest of the zoo keeps working. Block plugins by
entry-point name with ``MEDGAN_ZOO_BLOCK_PLUGINS=name1,name2``.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "medgan_zoo"
"""The pluggy project name, which is also the entry-point group."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def zoo_register_models(registry) -> None:
    """Register this plugin's model entries.

    Call ``registry.register(ModelSpec(...))`` once per model id. The registry records which
    plugin registered each id; two plugins registering one id is a
    :class:`zoo.errors.DuplicateModelError` naming both. Entries registered by a hook that then
    raises are discarded together, so a half-registered plugin never leaks into the zoo.

    :param registry: a :class:`zoo.registry.PluginRegistrar` bound to the calling plugin.
    """

"""The zoo's built-in families, installed as ``medgan_zoo_plugins``.

Each subpackage is one family and one plugin, announced in pyproject.toml under the
``medgan_zoo`` entry-point group exactly like a third-party plugin would be.
"""

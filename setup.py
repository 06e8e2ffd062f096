"""Package discovery (the rest of the metadata is in pyproject.toml).

setuptools' own ``[tool.setuptools.packages.find]`` cannot map a folder to another import name,
so the packages under ``zoo/``, ``plugins/`` (installed as ``medgan_zoo_plugins``) and ``cards/``
(``medgan_zoo_cards``) are found here.
"""

from setuptools import find_packages, setup


def under(folder: str, name: str) -> list[str]:
    return [name, *(f"{name}.{sub}" for sub in find_packages(folder))]


setup(packages=[*under("zoo", "zoo"), *under("plugins", "medgan_zoo_plugins"), *under("cards", "medgan_zoo_cards")])

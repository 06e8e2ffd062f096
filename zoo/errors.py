"""Exceptions raised by medgan-zoo. Every message names the problem and how to fix it."""

from __future__ import annotations

__all__ = ["ZooError", "UnknownModelError", "DuplicateModelError", "PluginWarning", "WeightsError", "ConfigError",
    "ImageInputError", "MissingExtraError"]


class ZooError(Exception):
    """Base class for every error medgan-zoo raises on purpose."""


class UnknownModelError(ZooError, KeyError):
    """A model id that no plugin registered (and that is neither a folder nor a Hub repo)."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class DuplicateModelError(ZooError):
    """Two plugins registered the same model id."""


class PluginWarning(UserWarning):
    """A plugin failed to import or to register its models and was skipped."""


class WeightsError(ZooError):
    """A weight file is missing, unsafe (pickle), corrupt, or does not match its config."""


class ConfigError(ZooError):
    """A model folder or repo has no usable config.json."""


class ImageInputError(ZooError, ValueError):
    """An input image or mask that cannot be used as given."""


class MissingExtraError(ImageInputError, ImportError):
    """An input needs an optional extra (``pip install "medgan-zoo[dicom]"``) that is not installed.

    Data loaders that skip unreadable files must not skip these: every file would be "unreadable"
    and the install hint would be lost behind a count.
    """

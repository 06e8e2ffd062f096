"""The base class of every family's model: networks + config + Hub I/O.

Config and Hub plumbing come from :class:`huggingface_hub.ModelHubMixin`: the constructor's
arguments are recorded as the config, ``save_pretrained`` / ``from_pretrained`` / ``push_to_hub``
work the same on a folder and a Hub repo. What this class adds is the zoo's format: one
``<network>.safetensors`` per network (generator, discriminator, ...) and a model card.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import torch
from huggingface_hub import HfApi, ModelHubMixin, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError
from torch import nn

from .errors import WeightsError
from .weights import PICKLE_SUFFIXES, load_network, refuse_pickle, save_network

PIPELINE_TAGS = {
    "unconditional": "unconditional-image-generation",
    "class-conditional": "unconditional-image-generation",
    "unpaired-translation": "image-to-image",
    "paired-translation": "image-to-image",
    "masked-edit": "image-to-image",
}


STALE_WEIGHTS = ["*.safetensors"]
"""Remote weight files not in the new upload are deleted in the same commit, so a repo never mixes
networks from two different pushes (e.g. an old discriminator beside a new generator)."""


class GANModel(nn.Module, ModelHubMixin, library_name="medgan-zoo", tags=["gan", "medical", "medgan-zoo"]):
    """Subclass per family; set :attr:`family` and :attr:`task`, build networks as attributes.

    Every constructor argument must be JSON-serialisable: it is the config.
    """

    family: ClassVar[str] = ""
    task: ClassVar[str] = ""
    inference_networks: ClassVar[tuple[str, ...]] = ("generator",)
    """Networks a pipeline needs; the others (discriminators) are optional in a saved model."""

    model_id: str = ""

    # -- config ------------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments this model was built with."""
        return dict(self._hub_mixin_config or {})

    def hub_config(self) -> dict[str, Any]:
        """What goes into config.json: the model id, family, task and every constructor argument."""
        from . import __version__

        return {
            **self.config,
            "model_id": self.model_id or self.family,
            "family": self.family,
            "task": self.task,
            "medgan_zoo_version": __version__,
        }

    def networks(self) -> dict[str, nn.Module]:
        """Name -> network; each is saved as ``<name>.safetensors``."""
        return dict(self.named_children())

    def train(self, mode: bool = True) -> "GANModel":
        if mode:  # once training starts, networks absent from the loaded files hold real weights
            self._absent_networks = frozenset()
        return super().train(mode)

    def saved_networks(self, inference_only: bool = False) -> list[str]:
        """The networks ``save_pretrained`` writes: never one that was absent when loaded and never trained."""
        names = self.inference_networks if inference_only else tuple(self.networks())
        return [n for n in names if n not in getattr(self, "_absent_networks", ())]

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    # -- saving ------------------------------------------------------------------------------
    def save_pretrained(self, save_directory, *, config=None, inference_only: bool = False, **kwargs):
        """Write config.json, one safetensors file per network and README.md (the model card).

        ``inference_only=True`` leaves the discriminators out (smaller; enough for pipelines).
        """
        self._networks_to_save = self.saved_networks(inference_only)
        try:
            return super().save_pretrained(save_directory, config=config or self.hub_config(), **kwargs)
        finally:
            del self._networks_to_save

    def _save_pretrained(self, save_directory: Path) -> None:
        names = getattr(self, "_networks_to_save", None) or self.saved_networks()
        for name, net in self.networks().items():
            if name in names:
                save_network(net, Path(save_directory) / f"{name}.safetensors")

    def push_to_hub(
        self,
        repo_id: str,
        *,
        revision: str | None = None,
        private: bool | None = None,
        token: str | None = None,
        commit_message: str | None = None,
        inference_only: bool = False,
        model_card_kwargs: dict[str, Any] | None = None,
    ) -> str:
        """Create (or reuse) ``repo_id`` and upload this model in one commit; returns the commit URL.

        ``revision`` names a branch, created from ``main`` when it does not exist yet.
        """
        api = HfApi(token=token)
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        if revision not in (None, "main"):
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp, inference_only=inference_only, model_card_kwargs=model_card_kwargs or {})
            commit = api.upload_folder(
                repo_id=repo_id,
                folder_path=tmp,
                revision=revision,
                commit_message=commit_message or f"Upload {self.model_id or self.family} with medgan-zoo",
                delete_patterns=STALE_WEIGHTS,
            )
        return str(commit)

    def generate_model_card(self, *args, **kwargs):
        from .cards import render_model_card

        return render_model_card(self, **kwargs)

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir,
        force_download: bool,
        local_files_only: bool,
        token,
        config: dict | None = None,
        **model_kwargs,
    ) -> "GANModel":
        model = cls(**model_kwargs)
        model.model_id = (config or {}).get("model_id") or cls.family
        download = dict(
            revision=revision, cache_dir=cache_dir, force_download=force_download,
            local_files_only=local_files_only, token=token,
        )
        absent = set()
        for name, net in model.networks().items():
            path = _weight_file(model_id, name, required=name in cls.inference_networks, **download)
            if path is None:
                absent.add(name)
            else:
                load_network(net, path, what=f"{name}.safetensors of {model_id}")
        model.eval()
        model._absent_networks = frozenset(absent)
        return model


def _weight_file(source: str, network: str, required: bool, **download) -> Path | None:
    """The local path of ``<network>.safetensors`` in a folder or Hub repo (None if optional and absent)."""
    filename = f"{network}.safetensors"
    if os.path.isdir(source):
        path = Path(source) / filename
        if path.is_file():
            return path
        pickles = [p for p in Path(source).iterdir() if p.suffix in PICKLE_SUFFIXES]
        if pickles and required:
            raise refuse_pickle(pickles[0])
        if required:
            raise WeightsError(f"{source} has no {filename}; a medgan-zoo model folder holds config.json and one "
                               f"safetensors file per network (save it with pipe.save_pretrained(folder)).")
        return None
    try:
        return Path(hf_hub_download(source, filename, **download))
    except LocalEntryNotFoundError:  # before EntryNotFoundError, which it subclasses
        if required:
            raise WeightsError(
                f"{filename} of {source} is not in the Hugging Face cache and the Hub cannot be reached "
                "(HF_HUB_OFFLINE is set or there is no network). Load it once online, or pass a local folder."
            ) from None
    except EntryNotFoundError:
        if required:
            raise WeightsError(
                f"Hub repo {source} (revision {download.get('revision') or 'main'}) has no {filename}. "
                "medgan-zoo reads safetensors only and never unpickles .bin/.pt/.ckpt files."
            ) from None
    return None

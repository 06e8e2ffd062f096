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
from huggingface_hub import ModelHubMixin
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError
from torch import nn

from zoo.errors import ConfigError, WeightsError, ZooError
from zoo.hub.transport import download as hub_download
from zoo.hub.transport import server_error
from zoo.hub.weights import PICKLE_SUFFIXES, load_network, refuse_pickle, save_network

__all__ = ["GANModel"]


class GANModel(nn.Module, ModelHubMixin, library_name="medgan-zoo", tags=["gan", "medical", "medgan-zoo"]):
    """Subclass per family; set :attr:`family` and :attr:`task`, build networks as attributes.

    Every constructor argument must be JSON-serialisable: it is the config.
    """

    family: ClassVar[str] = ""
    task: ClassVar[str] = ""
    inference_networks: ClassVar[tuple[str, ...]] = ("generator",)
    """Networks a pipeline needs; the others (discriminators) are optional in a saved model."""
    adversarial: ClassVar[bool] = True
    """False for a family trained without a discriminator (a diffusion model): nothing to watch with
    ``zoo train --d-overfit-every``."""
    batches_per_step: ClassVar[int] = 1
    """Real batches one ``training_step`` consumes (e.g. 5 for WGAN-GP's critic steps)."""

    def __init__(self) -> None:
        super().__init__()
        self.model_id = ""
        self.trained = False  # any training has touched these weights (recorded in config.json)
        # How the training data was split (holdout, group_column, split_seed, the held-out files' hash):
        # zoo evaluate scores on that held-out part by default. None: not recorded (e.g. not trained here).
        self.training_split: dict[str, Any] | None = None
        self.registry_weights = False  # the weights are the registry entry's own, so its card facts apply
        self.absent_networks: frozenset[str] = frozenset()  # no file when loaded: fresh init, never saved back

    # -- config ------------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments this model was built with."""
        return dict(self._hub_mixin_config or {})

    def hub_config(self) -> dict[str, Any]:
        """What goes into config.json: the model id, family, task and every constructor argument."""
        from zoo import __version__

        extra = {"training_split": self.training_split} if self.training_split is not None else {}
        return {
            **self.config,
            "model_id": self.model_id or self.family,
            "family": self.family,
            "task": self.task,
            "trained": self.trained,
            **extra,
            "medgan_zoo_version": __version__,
        }

    def networks(self) -> dict[str, nn.Module]:
        """Name -> network; each is saved as ``<name>.safetensors``."""
        return dict(self.named_children())

    def mark_trained(self) -> "GANModel":
        """Record that these weights are being trained: from here on they are the user's, every
        network holds real weights (a discriminator absent when loaded is saved from now on), and
        the registry's card facts no longer apply. :class:`zoo.training.Trainer` calls it when it
        takes the model; call it yourself after training in a loop of your own. ``train()`` /
        ``eval()`` only switch layer modes (batch norm, dropout) and change no provenance."""
        self.trained, self.registry_weights, self.absent_networks = True, False, frozenset()
        return self

    def training_state(self) -> dict[str, Any]:
        """Training-only state beside the networks and optimizers that a checkpoint must hold for an
        exact resume (objects with ``state_dict``/``load_state_dict``, e.g. CycleGAN's image pools)."""
        return {}

    def saved_networks(self, inference_only: bool = False) -> list[str]:
        """The networks ``save_pretrained`` writes: never one that was absent when loaded and never trained."""
        names = self.inference_networks if inference_only else tuple(self.networks())
        return [n for n in names if n not in self.absent_networks]

    def sampling_options(self) -> dict[str, Any]:
        """The keyword options ``generate`` takes besides latents and labels, with their defaults
        (a diffusion model's ``num_inference_steps``); the generation pipelines pass them through."""
        return {}

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W); the config may hold one int for square images."""
        size = self.config["image_size"]
        return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))

    @property
    def channels(self) -> int:
        return int(self.config["channels"])

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    # -- diagnostics -------------------------------------------------------------------------
    def discriminator_score(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The mean raw discriminator output per real sample of a model-format batch (what
        :func:`zoo.training.trainer.to_model_batch` returns): shape (N,), float32. Raw means a logit before
        any sigmoid, or a critic's value; a logit map (PatchGAN) is averaged per sample.

        For watching D over-fit (:class:`zoo.training.trainer.DiscriminatorMonitor`). It runs without
        gradients in the networks' current mode: during training that is training mode, so batch
        norm normalises over this batch, as it does D's real batches. The forward pass leaves no
        trace: buffers it updates in training mode (batch norm's running statistics, spectral norm's
        power-iteration vectors) are put back, so training goes on exactly as without it. Call it on
        plain networks (``Trainer.unwrapped()``): a DDP wrapper would sync buffers across processes.
        """
        saved = [b.detach().clone() for b in self.buffers()]
        try:
            with torch.no_grad():
                out = self.discriminator_logits(batch)
        finally:
            with torch.no_grad():
                for buf, old in zip(self.buffers(), saved):
                    buf.copy_(old)
        return out.reshape(out.shape[0], -1).float().mean(1)

    def discriminator_logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """D's raw output on the batch's reals, N first (any trailing shape); used by
        :meth:`discriminator_score`. This default fits a ``self.discriminator`` that takes
        ``batch["image"]`` and gives one real/fake output; other families override it."""
        disc = getattr(self, "discriminator", None)
        if not isinstance(disc, nn.Module) or "image" not in batch:
            raise ZooError(f"{type(self).__name__} ({self.family or 'no family'}) has no discriminator that judges "
                           f"batch['image'] (batch keys: {sorted(batch)}); its family must override "
                           "discriminator_logits(batch) to score real samples")
        return disc(batch["image"])

    # -- saving ------------------------------------------------------------------------------
    def save_pretrained(
        self, save_directory, *, config=None, inference_only: bool = False, push_to_hub: bool = False,
        repo_id: str | None = None, model_card_kwargs: dict[str, Any] | None = None, **push_kwargs,
    ):
        """Write config.json, one safetensors file per network and README.md (the model card).

        ``inference_only=True`` leaves the discriminators out (smaller; enough for pipelines). Weight
        files and the card from an earlier save in the same folder are replaced, never mixed in.
        ``model_card_kwargs`` override card facts, e.g. ``{"training_data": "..."}``.
        ``push_to_hub=True`` then uploads to ``repo_id`` (default: the folder's name).
        """
        folder = Path(save_directory)
        if folder.is_dir():
            for stale in [*folder.glob("*.safetensors"), folder / "README.md"]:
                stale.unlink(missing_ok=True)
        # ModelHubMixin.save_pretrained calls back _save_pretrained(folder) with no room for options.
        self._networks_to_save = self.saved_networks(inference_only)
        try:
            super().save_pretrained(folder, config=config or self.hub_config(), model_card_kwargs=model_card_kwargs)
        finally:
            del self._networks_to_save
        if push_to_hub:
            return self.push_to_hub(repo_id or folder.name, inference_only=inference_only,
                                    model_card_kwargs=model_card_kwargs, **push_kwargs)
        return None

    def _save_pretrained(self, save_directory: Path) -> None:  # called back by ModelHubMixin.save_pretrained
        for name in self._networks_to_save:
            save_network(self.networks()[name], Path(save_directory) / f"{name}.safetensors")

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
        branch: str | None = None,
        config: dict | None = None,
    ) -> str:
        """Create (or reuse) ``repo_id`` and upload this model in one commit; returns the commit URL.

        ``revision`` (or ``branch``, ModelHubMixin's name) is a branch, created from ``main`` if new.
        ``config`` is accepted for ModelHubMixin compatibility and ignored: it is always this model's.
        """
        from zoo.hub.loading import upload_model_folder

        card = {"load_name": repo_id, **(model_card_kwargs or {})}
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp, inference_only=inference_only, model_card_kwargs=card)
            return upload_model_folder(
                tmp, repo_id, revision=revision or branch, private=private, token=token,
                commit_message=commit_message or f"Upload {self.model_id or self.family} with medgan-zoo",
            )

    def generate_model_card(self, *args, **kwargs):
        from zoo.hub.cards import render_model_card

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
        from zoo.models.limits import build_checked, check_config

        check_config(model_kwargs, f"config.json of {model_id}")
        try:
            model = build_checked(lambda: cls(**model_kwargs), f"config.json of {model_id}")
        except (TypeError, ValueError, KeyError, IndexError, RuntimeError) as exc:
            raise ConfigError(f"config.json of {model_id} does not build a {cls.__name__}: {type(exc).__name__}: "
                              f"{exc}. Fix the named value, or re-save the model with save_pretrained.") from None
        model.model_id = (config or {}).get("model_id") or cls.family
        model.trained = bool((config or {}).get("trained", True))
        model.training_split = (config or {}).get("training_split")
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
        model.absent_networks = frozenset(absent)
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
        return hub_download(source, filename, **download)
    except LocalEntryNotFoundError as exc:  # before EntryNotFoundError, which it subclasses
        if status := server_error(exc):
            raise WeightsError(f"the Hub answered {status} for {filename} of {source}: a fault on the server's side, "
                               "not a lost connection. Try again later.") from None
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

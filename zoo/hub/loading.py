"""Where a model comes from: ``zoo.load``'s resolution order, in one place.

1. a local folder (``save_pretrained`` output);
2. the weights embedded in the plugin package that registered the id;
3. the Hugging Face cache, then the Hub (``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and ``revision``
   respected), for a registered id's ``hub_repo`` or any ``owner/name`` repo id.
"""

from __future__ import annotations

import json
import re
import socket
import warnings
from pathlib import Path
from urllib.parse import urlparse

import torch
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from zoo.errors import ConfigError, UnknownModelError, WeightsError, ZooError
from zoo.hub.transport import download as hub_download
from zoo.hub.transport import hub_timeouts, server_error
from zoo.hub.weights import PICKLE_SUFFIXES, refuse_pickle
from zoo.registry import get_registry

__all__ = ["resolve", "read_config", "load_model", "MODEL_FILES", "STALE_WEIGHTS", "upload_model_folder",
           "hub_unreachable"]

_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def resolve(name_or_path: str | Path, revision: str | None = None) -> tuple[str, str | None, bool]:
    """(a local folder or a Hub repo id, the revision to use, whether they are a registry entry's own)."""
    name = str(name_or_path)
    if not name.strip():
        raise ConfigError("no model given: pass a model id (zoo list), a Hub repo id 'owner/name' or a folder.")
    path = Path(name).expanduser()
    registry = get_registry()
    if path.is_file():
        if path.suffix in PICKLE_SUFFIXES:
            raise refuse_pickle(path)
        raise ConfigError(f"{path} is a file; pass the folder that holds config.json and the *.safetensors weights.")
    if path.is_dir():
        if name not in registry:
            return str(path), None, False
        # A folder named like a registered id: an output folder (no config.json) is not a model and
        # the id wins; a model folder of that name is loaded, with a warning that says so.
        if (path / "config.json").is_file():
            warnings.warn(f"{name!r} is both a registered id and a model folder here; loading the folder. Pass "
                          f"./{name} to say so, or rename the folder to load the registered model.", stacklevel=3)
            return str(path), None, False
    if any(sep in name for sep in ("/", "\\")) and Path(name.replace("\\", "/").split("/")[0]).is_dir():
        # runs/dcgan where runs/ exists: a local path that is missing, not a Hub repo to download
        raise ConfigError(f"no such folder: {path} ({path.parent} exists; a Hub repo id would not name a "
                          "local folder). Check the path.")
    if name in registry:
        spec = registry.info(name)
        if spec.has_embedded_weights and revision is None:
            return str(spec.weights), None, True
        if spec.hub_repo:
            return spec.hub_repo, revision or spec.revision, True
        if revision is not None and spec.has_embedded_weights:
            raise WeightsError(f"{name} has no Hub repo, so revision {revision!r} cannot be resolved; "
                               "its only weights are the ones embedded in the package (load it without revision).")
        raise WeightsError(
            f"{name} has no published weights yet (none embedded, no Hub repo). Train it: "
            f"`zoo train --model {name} --data DIR --out runs/{name}`, then load runs/{name}/model."
        )
    if _REPO_ID.match(name) and not name.startswith((".", "/", "~")):
        return name, revision, False
    if any(sep in name for sep in ("/", "\\")) or name.startswith((".", "~")):
        raise ConfigError(f"no such folder: {path}")
    raise UnknownModelError(registry.unknown_message(name))


def read_config(source: str, revision: str | None = None, **download) -> dict:
    """config.json of a folder or Hub repo, with errors that say what to do."""
    if Path(source).is_dir():
        file = Path(source) / "config.json"
        if not file.is_file():
            raise ConfigError(f"{source} has no config.json, so it is not a medgan-zoo model folder "
                              "(save one with pipe.save_pretrained(folder)).")
    else:
        rev = revision or "main"
        try:
            file = hub_download(source, "config.json", revision=revision, **download)
        except RepositoryNotFoundError:
            raise ZooError(f"Hub repo {source!r} not found (or it is private and you are not logged in: "
                           "`hf auth login` or set HF_TOKEN).") from None
        except RevisionNotFoundError:
            raise ZooError(f"Hub repo {source!r} has no revision {rev!r} (a branch, tag or commit sha).") from None
        except LocalEntryNotFoundError as exc:  # before EntryNotFoundError, which it subclasses
            if status := server_error(exc):
                raise ZooError(f"the Hub answered {status} for {source!r} ({rev}): a fault on the server's side, "
                               "not a lost connection. Try again later.") from None
            raise ZooError(f"{source!r} ({rev}) is not in the Hugging Face cache and the Hub cannot be reached "
                           "(HF_HUB_OFFLINE is set or there is no network). Load it once online first.") from None
        except EntryNotFoundError:
            raise ConfigError(f"Hub repo {source!r} ({rev}) has no config.json; "
                              "it is not a medgan-zoo model.") from None
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config.json of {source} is not valid JSON ({exc}).") from None
    if not isinstance(config, dict) or "family" not in config:
        raise ConfigError(f"config.json of {source} names no 'family'; it was not written by medgan-zoo.")
    return config


def load_model(
    name_or_path: str | Path,
    revision: str | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
    *,
    token: str | bool | None = None,
    cache_dir: str | Path | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
):
    """The model behind a registered id, a Hub repo id or a local folder, ready for inference."""
    if isinstance(dtype, str):
        name, dtype = dtype, getattr(torch, dtype.removeprefix("torch."), None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"unknown dtype {name!r}; use e.g. 'float32', 'float16' or 'bfloat16'")
    device = _check_device(device)
    download = dict(token=token, cache_dir=cache_dir, force_download=force_download, local_files_only=local_files_only)
    source, revision, registry_weights = resolve(name_or_path, revision)
    reason = None if Path(source).is_dir() or local_files_only else hub_unreachable()
    if reason:  # the Hugging Face cache only, at once, and the error says why
        download["local_files_only"] = True
    try:
        config = read_config(source, revision, **download)
    except ZooError as exc:
        if reason and "cannot be reached" in str(exc):
            raise ZooError(f"{source!r} is not in the Hugging Face cache and the Hub cannot be reached ({reason}). "
                           "Connect and load it once, or pass a local folder.") from None
        raise
    model_class = get_registry().family_class(config["family"], source)
    model = model_class.from_pretrained(source, revision=revision, **download)
    model.registry_weights = registry_weights  # then the registry entry's card facts describe them
    return model.to(device=device, dtype=dtype).eval()


def _check_device(device):
    """A device torch knows and this machine has, or an error saying which is missing."""
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use e.g. 'cpu', 'cuda', 'cuda:1' or 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ZooError(f"device {device!r} was asked for, but this torch ({torch.__version__}) sees no CUDA GPU; "
                       "use device='cpu', or install a CUDA build of torch")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ZooError(f"device {device!r} was asked for, but MPS is not available here; use device='cpu'")
    return dev


MODEL_FILES = ["config.json", "*.safetensors", "README.md", "*.png"]
"""What a model upload sends: nothing else from the folder (optimizer states, pickles, logs stay);
PNGs are the pictures its card shows."""

STALE_WEIGHTS = ["*.safetensors"]
"""Remote weight files not in the new upload are deleted in the same commit, so a repo never mixes
networks from two pushes (an old discriminator beside a new generator)."""


def upload_model_folder(
    folder: str | Path, repo_id: str, *, revision: str | None = None, private: bool | None = None,
    token: str | None = None, commit_message: str = "Upload with medgan-zoo",
) -> str:
    """Create (or reuse) ``repo_id`` and its branch ``revision``; upload a model folder as one commit."""
    reason = hub_unreachable()
    if reason:
        raise ZooError(f"cannot push to Hub repo {repo_id!r}: the Hub cannot be reached ({reason}). Check the "
                       "network (and HF_ENDPOINT), then push again; nothing was uploaded.")
    api = HfApi(token=token)
    created = None  # the repo this push created, removed again if its first commit fails
    with hub_timeouts() as seconds:
        try:
            if not api.repo_exists(repo_id):
                created = repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
            if revision not in (None, "main"):
                api.create_branch(repo_id, branch=revision, exist_ok=True)
            commit = api.upload_folder(
                repo_id=repo_id, folder_path=str(folder), revision=revision, commit_message=commit_message,
                allow_patterns=model_files(folder), delete_patterns=STALE_WEIGHTS,
            )
        except Exception as exc:
            if not isinstance(exc, HfHubHTTPError) and not _transport_error(exc):
                raise
            why = (_first_line(exc) if isinstance(exc, HfHubHTTPError)
                   else f"the Hub did not answer within {seconds:g} s (MEDGAN_ZOO_HUB_TIMEOUT)" if _timed_out(exc)
                   else f"the Hub stopped answering ({exc})")
            raise ZooError(f"push to Hub repo {repo_id!r} failed: {why}; push again." + _remove(api, created)) from None
    return str(commit)


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__


def _remove(api: HfApi, created: str | None) -> str:
    """Delete the repo a failed push created (it would be left empty); say what happened."""
    if created is None:
        return ""
    try:
        api.delete_repo(created)
    except Exception as exc:  # the Hub is failing anyway: report, do not mask the first error
        return f" The repo {created!r} it created is left empty ({_first_line(exc)}); delete it on the Hub."
    return f" The repo {created!r} it created was removed again."


def model_files(folder: str | Path) -> list[str]:
    """The files of ``folder`` a push sends: those matching :data:`MODEL_FILES` at its top level only.
    (A pattern like ``*.safetensors`` would also match ``checkpoints/step-N/model.safetensors``.)"""
    import fnmatch

    return sorted(p.name for p in Path(folder).iterdir()
                  if p.is_file() and any(fnmatch.fnmatch(p.name, pattern) for pattern in MODEL_FILES))


def _transport_error(exc: Exception) -> bool:
    """A network failure, whichever HTTP client this huggingface_hub uses (httpx or requests)."""
    return isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "requests", "urllib3")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the Hub (``HF_ENDPOINT``) cannot be reached, or None when it can (or HF_HUB_OFFLINE is set).

    One TCP connect of at most ``timeout`` seconds: without it huggingface_hub retries an unreachable
    Hub with backoff for about 25 s before saying so."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return None
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as exc:
        return f"{constants.ENDPOINT}: {exc.strerror or exc}"
    return None

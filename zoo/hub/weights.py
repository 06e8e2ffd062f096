"""Safe weight files: safetensors in, clear errors out, never a pickle.

PyTorch ``.bin``/``.pt``/``.pth``/``.ckpt`` files are pickles: loading one can run any code its
author put in it. Model weights come from strangers on the Hub, so the zoo refuses them outright.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_model

from zoo.errors import WeightsError

__all__ = ["PICKLE_SUFFIXES", "refuse_pickle", "save_network", "load_network", "state_mismatches"]

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")

_PICKLE_WHY = (
    "medgan-zoo only loads weights from safetensors files, because PyTorch pickle files "
    "(.bin/.pt/.pth/.ckpt) can execute arbitrary code when they are loaded. If you trust the file, "
    "convert it yourself: `net.load_state_dict(torch.load(path, weights_only=True))`, then "
    "`safetensors.torch.save_model(net, 'generator.safetensors')`."
)


def refuse_pickle(path: str | Path) -> WeightsError:
    return WeightsError(f"refusing to load {path}: {_PICKLE_WHY}")


def _looks_like_pickle(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    # torch.save writes a zip archive ("PK\x03\x04"); older files are a raw pickle (protocol byte 0x80).
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def save_network(net: torch.nn.Module, path: str | Path) -> None:
    # save_model (not save_file) de-duplicates shared tensors, e.g. tied weights.
    save_model(net, str(path), metadata={"format": "pt", "library": "medgan-zoo"})


def state_mismatches(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor],
                     theirs: str = "file", ours: str = "config") -> list[str]:
    """Why ``state`` cannot load strictly into a network whose ``state_dict()`` is ``own``: its
    missing keys, unexpected keys and shape mismatches (each shape labelled ``theirs``/``ours``),
    up to 8 of each; empty when it fits."""
    # save_model stores a tied (shared) tensor once; its other names are not missing.
    stored = {own[k].data_ptr() for k in set(own) & set(state)}
    missing = sorted(k for k in set(own) - set(state) if own[k].data_ptr() not in stored)
    unexpected = sorted(set(state) - set(own))
    reshaped = sorted(
        f"{k} ({theirs} {tuple(state[k].shape)}, {ours} {tuple(own[k].shape)})"
        for k in set(own) & set(state)
        if state[k].shape != own[k].shape
    )
    return [
        f"{name}: {', '.join(keys[:8])}" + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")
        for name, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", reshaped))
        if keys
    ]


def load_network(net: torch.nn.Module, path: str | Path, what: str = "") -> None:
    """Load ``path`` into ``net`` strictly; every failure becomes a :class:`WeightsError`."""
    path = Path(path)
    label = what or path.name
    if path.suffix in PICKLE_SUFFIXES:
        raise refuse_pickle(path)
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        if path.is_file() and _looks_like_pickle(path):
            raise WeightsError(f"{path} is named .safetensors but is a PyTorch pickle. {_PICKLE_WHY}") from None
        raise WeightsError(
            f"{path} is not a readable safetensors file (truncated or corrupt: {exc}). "
            "Download or save it again; `zoo.load(..., force_download=True)` re-fetches a Hub file."
        ) from None
    own = net.state_dict()
    parts = state_mismatches(own, state)
    if parts:
        raise WeightsError(
            f"{label} does not match the network built from config.json; " + "; ".join(parts)
            + ". The weights were saved from a different configuration: fix config.json or re-save the weights."
        )
    _check_values(state, own, label)
    net.load_state_dict(state, strict=False)  # strictness checked above, tied tensors allowed


def _check_values(state: dict[str, torch.Tensor], own: dict[str, torch.Tensor], label: str) -> None:
    """Right names and shapes are not enough: integer or boolean weights where the network holds
    floats, and NaN or infinite values, give flat grey or black images without a word. Refuse them.
    Other float widths (float16 weights into float32 networks, as the embedded weights are) load."""
    wrong = [f"{k} ({state[k].dtype}, the network holds {own[k].dtype})" for k in sorted(state)
             if k in own and own[k].is_floating_point() and not state[k].is_floating_point()]
    if wrong:
        raise WeightsError(f"{label} holds non-float tensors where the network has float weights: "
                           + ", ".join(wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
                           + ". The file was not written by save_pretrained; re-save the weights.")
    bad = [k for k in sorted(state) if state[k].is_floating_point() and not bool(torch.isfinite(state[k]).all())]
    if bad:
        first = state[bad[0]]
        count = int((~torch.isfinite(first)).sum())
        raise WeightsError(f"{label} holds NaN or infinite values in {len(bad)} tensor(s), e.g. {bad[0]} "
                           f"({count} of {first.numel()} values): these weights would make blank images. "
                           "Use an earlier checkpoint, or re-save the weights from a run that did not diverge.")

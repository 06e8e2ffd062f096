"""Datasets for training downstream models (classifiers) on real, synthetic or mixed images.

Every dataset here yields ``(image, label)``: a float32 C x H x W tensor in [0, 1] on the CPU and
an int class index, so real and synthetic images are interchangeable in one ``DataLoader``::

    real = LabelledImages(zoo.data.folders.load_training_data("data/ham", "class-conditional", (64, 64), 3,
                                                      class_names=HAM10000_CLASSES))
    fake = zoo.synthetic_dataset("acgan-lesions", {"df": 500, "vasc": 500}, seed=0)
    train = zoo.mix_datasets(real, fake, synthetic_fraction=0.2)

Synthetic images are generated on the fly, a chunk of ``batch_size`` at a time, and each item is
reproducible by its index alone: item i's latent comes from its own generator, seeded from
(seed, i), so item i is the same image whatever the batch size, the order of access, the process
(DataLoader workers) or the instance.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset, Subset, get_worker_info

from zoo.models.latents import seeded_generator
from zoo.pipelines.base import Pipeline, to_unit, whole_number

if TYPE_CHECKING:
    from zoo.data.folders import TrainingData

__all__ = ["Transform", "item_seed", "positions_in_class", "item_latents", "LabelledImages", "SyntheticDataset",
    "synthetic_dataset", "MixedDataset", "mix_datasets"]

Transform = Callable[[torch.Tensor], Any]

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def item_seed(seed: int, label: int, position: int) -> int:
    """The 64-bit seed of the ``position``-th image of class ``label`` in a dataset seeded ``seed``.

    Keyed by class and position, not by overall index, so asking for more of one class never
    changes another class's images. splitmix64, not Python's ``hash()``: that is salted per
    process, so workers would disagree. Each step is a bijection on 64 bits.
    """
    return _splitmix64(_splitmix64(_splitmix64(int(seed) & _MASK64) ^ int(label)) ^ int(position))


def positions_in_class(labels: Sequence[int]) -> list[int]:
    """Each item's place among the items of its class so far: with the seed and the class, its identity."""
    seen: dict[int, int] = {}
    positions = []
    for k in labels:
        positions.append(seen.get(k, 0))
        seen[k] = positions[-1] + 1
    return positions


def item_latents(model: Any, labels: Sequence[int], positions: Sequence[int], seed: int,
                 truncation: float | None = None) -> torch.Tensor:
    """One latent per (class, position in that class): what ``synthetic_dataset`` and
    ``zoo generate --class`` draw, so both routes give the same image for the same item."""
    return torch.cat([model.sample_latents(1, seeded_generator(item_seed(seed, int(k), int(i))), truncation)
                      for k, i in zip(labels, positions)])


class LabelledImages(Dataset):
    """Real class-labelled images: a :class:`zoo.data.folders.TrainingData` with ``image`` and ``label``.

    Item i is ``(image float32 C x H x W in [0, 1], int label)``; ``transform`` (if any) is
    applied to the image tensor.
    """

    def __init__(self, data: TrainingData, transform: Transform | None = None):
        if "image" not in data.tensors or "label" not in data.tensors:
            raise ValueError(f"LabelledImages needs images with labels, got {sorted(data.tensors)}; load the folder as "
                             "class-conditional: zoo.data.folders.load_training_data(root, 'class-conditional', ...)")
        self.images = data.tensors["image"]
        self.labels = data.tensors["label"].long()
        self.class_names = tuple(data.class_names)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.images[index].float() / 255
        return (self.transform(image) if self.transform else image), int(self.labels[index])


def _class_counts(per_class: Mapping[str | int, int], names: tuple[str, ...], model_id: str) -> dict[str, int]:
    """``per_class`` with every key turned into a class name, in the given order."""
    if not isinstance(per_class, Mapping):
        raise ValueError(f"per_class must be a dict of class -> count, e.g. {{{names[0]!r}: 100}}; got {per_class!r}")
    counts: dict[str, int] = {}
    for key, count in per_class.items():
        if isinstance(key, str) and key in names:
            name = key
        elif not isinstance(key, (str, bool)) and isinstance(key, (int, np.integer)) and 0 <= key < len(names):
            name = names[int(key)]
        else:
            raise ValueError(f"unknown class {key!r} for {model_id}; its classes are {list(names)} "
                             f"(or their indices 0..{len(names) - 1})")
        if name in counts:
            raise ValueError(f"class {name!r} is given twice in per_class (by name and by index); give it once")
        counts[name] = whole_number(f"the count of class {name!r}", count, 0)
    return counts


def _as_model(model_or_id: Any, device: Any):
    """A registry id or folder (loaded), a pipeline (its model) or a model."""
    if isinstance(model_or_id, (str, os.PathLike)):
        from zoo import load

        return load(os.fspath(model_or_id), device=device).model
    model = model_or_id.model if isinstance(model_or_id, Pipeline) else model_or_id
    return model if device is None else model.to(device)


class SyntheticDataset(Dataset):
    """Class-conditional samples generated on the fly: ``per_class`` images of each class.

    Items are laid out class block by class block in ``per_class`` order, so ``labels`` is known
    without generating anything. Item i belongs to chunk ``i // batch_size``; a chunk is made by one
    ``generate`` call and the last two chunks are kept, so reading in order (a plain ``DataLoader``)
    costs one forward pass per chunk. Shuffled access costs one chunk per item: for shuffled,
    many-epoch training call :meth:`materialize` once and train on that.

    In DataLoader workers each worker generates its own chunks; a CUDA model cannot run in forked
    workers, so use ``num_workers=0`` there (the generation is batched on the GPU already).
    """

    def __init__(
        self, model: Any, per_class: Mapping[str | int, int], seed: int = 0, *, truncation: float | None = None,
        batch_size: int = 64, transform: Transform | None = None,
    ):
        from zoo.registry import generates_classes

        if not generates_classes(model):
            raise ValueError(f"{getattr(model, 'model_id', '') or type(model).__name__} is a "
                             f"{getattr(model, 'task', None) or 'non-GAN'} model; a synthetic dataset needs a "
                             "class-conditional one (zoo list --task class-conditional), e.g. acgan-lesions")
        if truncation is not None and not truncation > 0:
            raise ValueError(f"truncation must be > 0 (a threshold on |z|), got {truncation}")
        self.model = model
        self.class_names = tuple(model.config["class_names"])
        self.per_class = _class_counts(per_class, self.class_names, model.model_id)
        self.seed = int(seed)
        self.truncation = truncation
        self.batch_size = whole_number("batch_size", batch_size, 1)
        self.transform = transform
        ids = torch.tensor([self.class_names.index(name) for name in self.per_class], dtype=torch.long)
        self.labels = ids.repeat_interleave(torch.tensor(list(self.per_class.values()), dtype=torch.long))
        self._positions = positions_in_class(self.labels.tolist())
        self._chunks: OrderedDict[int, torch.Tensor] = OrderedDict()

    def __repr__(self) -> str:
        return (f"SyntheticDataset(model_id={self.model.model_id!r}, per_class={self.per_class}, seed={self.seed}, "
                f"truncation={self.truncation})")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a synthetic dataset of {len(self)} images")
        chunk, offset = divmod(index, self.batch_size)
        # A copy: a transform that works in place must not change the cached chunk.
        image = self._chunk(chunk)[offset].clone()
        return (self.transform(image) if self.transform else image), int(self.labels[index])

    def latents(self, start: int, stop: int) -> torch.Tensor:
        """The latents of items ``start:stop``, each from its own (seed, class, position in class) generator."""
        return item_latents(self.model, self.labels[start:stop].tolist(), self._positions[start:stop],
                            self.seed, self.truncation)

    def _chunk(self, chunk: int) -> torch.Tensor:
        if chunk in self._chunks:
            self._chunks.move_to_end(chunk)
            return self._chunks[chunk]
        start = chunk * self.batch_size
        stop = min(start + self.batch_size, len(self))
        self._chunks[chunk] = self._generate(self.latents(start, stop), self.labels[start:stop])
        while len(self._chunks) > 2:
            self._chunks.popitem(last=False)
        return self._chunks[chunk]

    @torch.no_grad()
    def _generate(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        model = self.model
        if model.device.type == "cuda" and get_worker_info() is not None:
            raise RuntimeError(f"{model.model_id} is on {model.device}, which forked DataLoader workers cannot use; "
                               "load it with num_workers=0 (generation is batched on the GPU already) or on the CPU")
        was_training = model.training
        model.eval()
        try:
            return to_unit(model.generate(z.to(model.device, model.dtype), labels.to(model.device)))
        finally:
            if was_training:
                model.train()

    def materialize(self) -> LabelledImages:
        """Every image generated once, in order, and kept as uint8 like real data (4x smaller than float).

        The pixels are those ``zoo generate --class`` writes to PNG for the same seed: the same
        latents, rounded to 1/255 as real images are. Worth it for shuffled or many-epoch training;
        10,000 64 x 64 RGB images take 123 MB.
        """
        from zoo.data.folders import TrainingData

        images = torch.empty((len(self), self.model.channels, *self.model.image_size), dtype=torch.uint8)
        for start in range(0, len(self), self.batch_size):
            chunk = self._chunk(start // self.batch_size)
            images[start:start + len(chunk)] = (chunk * 255 + 0.5).clamp(0, 255).to(torch.uint8)
        return LabelledImages(TrainingData({"image": images, "label": self.labels.clone()}, self.class_names),
                              self.transform)


def synthetic_dataset(
    model_or_id: Any, per_class: Mapping[str | int, int], seed: int = 0, *, truncation: float | None = None,
    batch_size: int = 64, device: Any = None, transform: Transform | None = None,
) -> SyntheticDataset:
    """``per_class[c]`` synthetic images of each class ``c`` (a class name or index) from a class-conditional model.

    ``model_or_id``: a registry id or model folder (loaded with ``zoo.load``), a pipeline or a model;
    ``device`` moves the model there. Items are ``(image float32 C x H x W in [0, 1], int label)``,
    reproducible per index for a given ``seed`` and ``truncation``.

    ``zoo.synthetic_dataset("acgan-lesions", {"df": 500, "vasc": 500}, seed=0)``
    """
    return SyntheticDataset(_as_model(model_or_id, device), per_class, seed, truncation=truncation,
                            batch_size=batch_size, transform=transform)


class MixedDataset(ConcatDataset):
    """Real items first, then the chosen synthetic ones; ``labels`` and ``is_synthetic`` per item."""

    labels: torch.Tensor | None
    is_synthetic: torch.Tensor
    class_names: tuple[str, ...] | None


def mix_datasets(real: Dataset, synthetic: Dataset, synthetic_fraction: float, seed: int = 0) -> MixedDataset:
    """All of ``real`` plus enough items of ``synthetic`` that they are ``synthetic_fraction`` of the result.

    ``n = round(len(real) * f / (1 - f))`` synthetic items are chosen without replacement by a
    permutation seeded with ``seed``, and kept in index order (a SyntheticDataset then generates
    each chunk once when the mix is read in order). The result has ``labels`` (when both parts
    have them; build a class-balanced sampler from it) and ``is_synthetic``. For shuffled or
    sampled reading, pass ``synthetic.materialize()``: random access to an unmaterialised
    SyntheticDataset costs a forward pass per item.
    """
    f = synthetic_fraction
    if isinstance(f, bool) or not isinstance(f, (int, float, np.floating)) or not 0 <= f < 1:
        raise ValueError(f"synthetic_fraction must be in [0, 1) (the synthetic share of the mix), got {f!r}")
    real_names, fake_names = getattr(real, "class_names", None), getattr(synthetic, "class_names", None)
    if real_names and fake_names and tuple(real_names) != tuple(fake_names):
        raise ValueError(f"the real classes {list(real_names)} and the synthetic ones {list(fake_names)} differ, so "
                         "label indices would mean different classes; load the real data with "
                         "class_names=model.config['class_names']")
    n = round(len(real) * f / (1 - f))
    if n > len(synthetic):
        raise ValueError(f"a synthetic share of {f} next to {len(real)} real images needs {n} synthetic images, but "
                         f"the synthetic dataset has {len(synthetic)}; raise its per_class counts to {n} in all")
    chosen = torch.randperm(len(synthetic), generator=seeded_generator(seed))[:n].sort().values
    mixed = MixedDataset([real, Subset(synthetic, chosen.tolist())])
    real_labels, fake_labels = getattr(real, "labels", None), getattr(synthetic, "labels", None)
    mixed.labels = None
    if real_labels is not None and fake_labels is not None:
        mixed.labels = torch.cat([torch.as_tensor(real_labels, dtype=torch.long),
                                  torch.as_tensor(fake_labels, dtype=torch.long)[chosen]])
    mixed.is_synthetic = torch.cat([torch.zeros(len(real), dtype=torch.bool), torch.ones(n, dtype=torch.bool)])
    mixed.class_names = tuple(real_names or fake_names or ()) or None
    return mixed

"""Data: image input, training folders, synthetic data sets and the synthetic domains.

:mod:`zoo.data.images` reads any image a user hands in; :mod:`zoo.data.folders` reads training
folders into uint8 tensors (:class:`TrainingData`); :mod:`zoo.data.datasets` makes torch data sets
of real and generated images; :mod:`zoo.data.domains` and :mod:`zoo.data.patches` make the
synthetic stain and eczema domains.
"""

from zoo.data.datasets import LabelledImages, MixedDataset, SyntheticDataset, mix_datasets, synthetic_dataset
from zoo.data.folders import (
    IMAGE_SUFFIXES,
    DataError,
    TrainingData,
    decode_images,
    list_images,
    listed_indices,
    load_training_data,
    split_by_group,
)

__all__ = [
    "IMAGE_SUFFIXES", "DataError", "TrainingData", "decode_images", "list_images", "listed_indices",
    "load_training_data", "split_by_group", "LabelledImages", "MixedDataset", "SyntheticDataset",
    "mix_datasets", "synthetic_dataset",
]

"""The Hub format on a folder or a Hub repo: resolving names, loading, uploading, weights, cards."""

from zoo.hub.cards import render_model_card
from zoo.hub.loading import load_model, read_config, resolve, upload_model_folder
from zoo.hub.weights import load_network, save_network

__all__ = ["load_model", "read_config", "resolve", "upload_model_folder", "load_network", "save_network",
           "render_model_card"]

"""Helpers for the course *Seeing What a Network Sees*.

Everything a notebook uses is importable from here, e.g. ``from helpers import make_toy_zoo``.
Images are float tensors (N, C, H, W) in the model's input space (for the course's models
and ``load_pretrained`` models: [0, 1]).
"""
from .checkpoints import RECIPES, load_model, train_recipe
from .device import get_device
from .model_state import frozen_eval
from .models import LinearClassifier, ZooNet
from .photos import PHOTOS, load_photos, to_tensor
from .plotting import image_grid, outline, show_map, to_numpy_image
from .pretrained import SUPPORTED, PretrainedUnavailableError, load_pretrained, weights_file
from .toyzoo import BACKGROUNDS, CLASSES, HOME_BACKGROUND, ToyZoo, make_toy_zoo
from .training import accuracy, predict, train_classifier

__all__ = [
    "RECIPES", "load_model", "train_recipe",
    "get_device",
    "frozen_eval",
    "LinearClassifier", "ZooNet",
    "PHOTOS", "load_photos", "to_tensor",
    "image_grid", "outline", "show_map", "to_numpy_image",
    "SUPPORTED", "PretrainedUnavailableError", "load_pretrained", "weights_file",
    "BACKGROUNDS", "CLASSES", "HOME_BACKGROUND", "ToyZoo", "make_toy_zoo",
    "accuracy", "predict", "train_classifier",
]

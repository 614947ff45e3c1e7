"""Helpers for the course *Seeing What a Network Sees*.

Everything a notebook uses is importable from here, e.g. ``from helpers import make_toy_zoo``.
Images are float tensors (N, C, H, W) in the model's input space (for the course's models
and ``load_pretrained`` models: [0, 1]).
"""
from .ascent import AscentSettings
from .attribution import (METHODS, Method, attribute, contrastive_saliency, get_method, grad_cam, gradient_x_input,
                          guided_backprop, input_gradient, integrated_gradients, occlusion_map, saliency_map,
                          smoothgrad)
from .checkpoints import RECIPES, load_model, train_recipe
from .class_model import ClassModelResult, class_model_visualization
from .colors import estimate_color_matrix, natural_color_matrix
from .device import get_device
from .dissection import Dissection, TopImages, dissect, top_activating
from .evaluation import (PerturbationCurve, area_under_curve, deletion_curve, insertion_curve, mask_fraction,
                         pointing_game)
from .explorers import class_model_explorer, saliency_explorer
from .feature_visualization import FeatureVisualizationResult, feature_visualization
from .layers import ablated, find_layer
from .model_state import frozen_eval
from .models import LinearClassifier, SpatialZooNet, ZooNet
from .objectives import GREY, OBJECTIVES
from .photos import PHOTOS, load_photos, to_tensor
from .plotting import image_grid, outline, show_map, to_numpy_image
from .efficientnet import EfficientNetLite0
from .pretrained import (SUPPORTED, PretrainedUnavailableError, imagenet_classes, load_pretrained, weights_file,
                         weights_verified)
from .render import (Objective, VisualizationResult, channel, class_log_softmax, class_score, class_softmax,
                     diversity, neuron, visualize)
from .recognizability import mean_masks, objectness, part_contrast, shape_similarity
from .sanity import cascading_randomization, randomizable_layers, rank_correlation
from .toyzoo import (BACKGROUNDS, CLASSES, HOME_BACKGROUND, PARTS, ToyZoo, centered_goose_parts, grow_masks,
                     home_background_ids, make_toy_zoo, paint_background, part_index, shrink_masks, swap_backgrounds)
from .training import accuracy, predict, train_classifier
from .transforms import Jitter, Pad, RandomRotation, RandomScale, standard_transforms
from .uploads import UploadError, load_uploaded_image

__all__ = [
    "AscentSettings",
    "METHODS", "Method", "attribute", "contrastive_saliency", "get_method", "grad_cam", "gradient_x_input",
    "guided_backprop", "input_gradient", "integrated_gradients", "occlusion_map", "saliency_map", "smoothgrad",
    "RECIPES", "load_model", "train_recipe",
    "ClassModelResult", "class_model_visualization",
    "estimate_color_matrix", "natural_color_matrix",
    "get_device",
    "Dissection", "TopImages", "dissect", "top_activating",
    "PerturbationCurve", "area_under_curve", "deletion_curve", "insertion_curve", "mask_fraction", "pointing_game",
    "class_model_explorer", "saliency_explorer",
    "FeatureVisualizationResult", "feature_visualization",
    "ablated", "find_layer",
    "frozen_eval",
    "LinearClassifier", "SpatialZooNet", "ZooNet",
    "GREY", "OBJECTIVES",
    "PHOTOS", "load_photos", "to_tensor",
    "image_grid", "outline", "show_map", "to_numpy_image",
    "EfficientNetLite0",
    "SUPPORTED", "PretrainedUnavailableError", "imagenet_classes", "load_pretrained", "weights_file", "weights_verified",
    "Objective", "VisualizationResult", "channel", "class_log_softmax", "class_score", "class_softmax", "diversity",
    "neuron", "visualize",
    "mean_masks", "objectness", "part_contrast", "shape_similarity",
    "cascading_randomization", "randomizable_layers", "rank_correlation",
    "BACKGROUNDS", "CLASSES", "HOME_BACKGROUND", "PARTS", "ToyZoo", "centered_goose_parts", "grow_masks",
    "home_background_ids", "make_toy_zoo", "paint_background", "part_index", "shrink_masks", "swap_backgrounds",
    "accuracy", "predict", "train_classifier",
    "Jitter", "Pad", "RandomRotation", "RandomScale", "standard_transforms",
    "UploadError", "load_uploaded_image",
]

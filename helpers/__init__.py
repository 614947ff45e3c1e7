"""Helpers for the course *Seeing What a Network Sees*.

The top level holds what the notebooks teach with: ``from helpers import saliency_map, make_toy_zoo``.
More specialised tools live in their modules (README, "What lives where"): ``helpers.render``
(composable objectives, ``visualize``), ``helpers.transforms``, ``helpers.models``, ``helpers.colors``,
``helpers.uploads``, ``helpers.toyzoo`` (the data set's building blocks), the exercise checks in
``helpers.exercises.<notebook's module>`` and the capstone in ``helpers.capstone``.

Images are float tensors (N, C, H, W) in the model's input space (for the course's models and
``load_pretrained`` models: [0, 1]). A helper runs the model on the model's device and in its dtype;
what it computes from your images comes back on your images' device and in their dtype
(``helpers.model_state.like_input``); what it makes from the model alone (class models, feature
visualizations) stays on the model's device and in its dtype.

Each name is imported on first use (PEP 562), so ``import helpers`` costs little more than
``import torch``: torchvision, matplotlib and ipywidgets load only when a helper needs them.
"""
from importlib import import_module

#: each public name -> the module of this package that defines it
_WHERE = {
    **dict.fromkeys(("attribute", "contrastive_saliency", "get_method", "grad_cam", "gradient_x_input",
                     "guided_backprop", "input_gradient", "integrated_gradients", "METHODS", "occlusion_map",
                     "saliency_map", "smoothgrad",), "attribution"),
    **dict.fromkeys(("load_model", "RECIPES", "train_recipe",), "checkpoints"),
    **dict.fromkeys(("class_model_visualization",), "class_model"),
    **dict.fromkeys(("get_device",), "device"),
    **dict.fromkeys(("dissect", "top_activating",), "dissection"),
    **dict.fromkeys(("deletion_curve", "insertion_curve", "mask_fraction", "pointing_game",), "evaluation"),
    **dict.fromkeys(("class_model_explorer", "saliency_explorer",), "explorers"),
    **dict.fromkeys(("feature_visualization",), "feature_visualization"),
    **dict.fromkeys(("ablated",), "layers"),
    **dict.fromkeys(("frozen_eval",), "model_state"),
    **dict.fromkeys(("LinearClassifier",), "models"),
    **dict.fromkeys(("GREY",), "objectives"),
    **dict.fromkeys(("load_photos", "PHOTOS",), "photos"),
    **dict.fromkeys(("image_grid", "outline", "show_map", "to_numpy_image",), "plotting"),
    **dict.fromkeys(("load_pretrained", "PretrainedUnavailableError", "weights_verified",), "pretrained"),
    **dict.fromkeys(("mean_masks", "objectness", "part_contrast", "shape_similarity",), "recognizability"),
    **dict.fromkeys(("cascading_randomization", "randomizable_layers", "rank_correlation",), "sanity"),
    **dict.fromkeys(("BACKGROUNDS", "centered_goose_parts", "CLASSES", "grow_masks", "HOME_BACKGROUND",
                     "home_background_ids", "make_toy_zoo", "paint_background", "part_index", "PARTS",
                     "shrink_masks", "swap_backgrounds", "ToyZoo",), "toyzoo"),
    **dict.fromkeys(("accuracy", "predict", "train_classifier",), "training"),
    **dict.fromkeys(("standard_transforms",), "transforms"),
}
__all__ = sorted(_WHERE)

# A name that is also the name of its module is bound now: importing the module later (``import
# helpers.feature_visualization``) would otherwise put the module, not the function, under that name.
from .feature_visualization import feature_visualization  # noqa: E402


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

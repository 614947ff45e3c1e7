"""Feature visualization: the image that drives one unit inside the network (Erhan et al. 2009; Olah et al. 2017).

The same gradient ascent as class models (``helpers.ascent``, the same ``AscentSettings``), with the
objective a unit of an intermediate layer: the mean activation of one channel, or one neuron (a
channel at one position). Only the network up to that layer runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ._checks import check_choice, check_grad_enabled_possible, check_model
from .ascent import AscentResult, AscentSettings, ascend, fourier_color_matrix, resolve_settings
from .layers import activations_of, check_channels, find_layer, run_to
from .model_state import frozen_eval, model_device, model_dtype
from .objectives import GREY, UNIT_OBJECTIVES, unit_value


@dataclass
class FeatureVisualizationResult(AscentResult):
    """What ``feature_visualization`` made; every tensor is on the model's device.

    images: (K, C, H, W), one per channel, in the order given.
    layer: the layer's dotted name; channels: the K channels; neuron: (y, x) or None.
    history: (steps, K) the unit's value at every step, on the image the model saw (jittered, before the update).
    activation: (K,) the unit's value on the final images (no jitter).
    restart, restart_objectives: which restart was kept (K,), and every restart's regularized objective (restarts, K).
    settings: the ``AscentSettings`` used (with ``image_shape`` filled in).

    For an int ``channel`` (K = 1), ``result.image`` is the (C, H, W) image.
    """

    layer: str
    channels: tuple[int, ...]
    neuron: tuple[int, int] | None
    objective: str
    history: torch.Tensor
    activation: torch.Tensor


def feature_visualization(model: nn.Module, layer, channel, *, neuron: tuple[int, int] | None = None,
                          objective: str = "mean", settings: AscentSettings | None = None,
                          **overrides) -> FeatureVisualizationResult:
    """Generate the image(s) that maximize a unit of ``layer``: (K, C, H, W) in ``result.images``.

    layer: a module inside ``model`` or its dotted name in ``model.named_modules()`` (e.g. ``"features.6"``);
        its output must be an (N, C, h, w) feature map.
    channel: an int (then ``result.image`` is (C, H, W)) or a sequence of K channels, run as one batch.
    neuron: None (the whole channel, reduced by ``objective``) or (y, x), one position of the (h, w) map.
    objective: ``"mean"`` (the channel's mean activation) or ``"max"`` (its largest); with ``neuron`` only
        ``"mean"`` (the default) is accepted, since one position has nothing to reduce.
    settings, overrides: the ascent's ``AscentSettings`` and keyword changes to it (as for class models).

    The model is used in eval mode with its parameters frozen and is left exactly as it was; the hook
    on ``layer`` is removed afterwards, also after an error.
    """
    check_model(model)
    name, module = find_layer(model, layer)
    check_choice(objective, "objective", UNIT_OBJECTIVES)
    if neuron is not None and objective != "mean":
        raise ValueError(f"objective: a neuron is one position, so there is nothing to reduce; objective={objective!r} "
                         "applies to a whole channel (pass neuron=None, or leave objective at 'mean')")
    settings = resolve_settings(settings, overrides)
    shape = settings.image_shape_for(model)
    check_grad_enabled_possible("feature_visualization")
    device, dtype = model_device(model), model_dtype(model)
    matrix = fourier_color_matrix(settings, shape[0], device, dtype)

    with frozen_eval(model), activations_of(module, stop=True) as outputs:
        with torch.no_grad():
            probe = run_to(model, torch.full((1, *shape), GREY, device=device, dtype=dtype), outputs)
        channels = check_channels(channel, probe.shape[1])
        if neuron is not None:
            neuron = _check_neuron(neuron, probe.shape[2:])
        every = channels.to(device).repeat(settings.restarts)

        def climb(images):
            value = unit_value(run_to(model, images, outputs), every, neuron, objective)
            return value, value[:, None]

        with torch.enable_grad():
            run = ascend(climb, len(channels), shape, settings, matrix=matrix, device=device, dtype=dtype,
                         desc="feature visualization")
    return FeatureVisualizationResult(
        images=run.images, layer=name, channels=tuple(channels.tolist()), neuron=neuron, objective=objective,
        history=run.records[..., 0], activation=run.final[:, 0], restart=run.restart,
        restart_objectives=run.restart_objectives, settings=settings.replace(image_shape=shape))


def _check_neuron(neuron, size) -> tuple[int, int]:
    h, w = size
    ok = isinstance(neuron, (tuple, list)) and len(neuron) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in neuron)
    if not ok or not (0 <= neuron[0] < h and 0 <= neuron[1] < w):
        raise ValueError(f"neuron: expected (y, x) with 0 <= y < {h} and 0 <= x < {w} (the layer's map is "
                         f"{h} x {w}), got {neuron!r}")
    return int(neuron[0]), int(neuron[1])

"""The course's attribution methods in one place: what each computes, how its map is shown, what it costs.

``METHODS`` maps a method's name to a ``Method``; ``attribute(name, model, images, target)`` returns
its (N, H, W) map, computed with the function's own defaults (any of which a keyword argument
overrides); ``METHODS[name].settings`` reads those defaults, so they are written once, in the function::

    heat = attribute("smoothgrad", model, images, labels)                     # smoothgrad's default: 25 noisy copies
    heat = attribute("smoothgrad", model, images, labels, n_samples=8)       # cheaper
    heat = attribute("grad-cam", model, images, labels, layer=model.features[-1])

The saliency explorer and notebooks 04 and 05 take their methods from here, so a method, its
settings and whether its map is signed are written down once.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from .._checks import check_images
from .averaging import integrated_gradients, smoothgrad
from .gradients import grad_cam, gradient_x_input, guided_backprop, saliency_map
from .occlusion import default_patches, occlusion_map

__all__ = ["METHODS", "Method", "attribute", "get_method"]

_PASSED = ("model", "images", "target", "layer", "progress")  # set by ``compute`` itself, never a setting


@dataclass(frozen=True)
class Method:
    """One attribution method of the registry.

    name: its key in ``METHODS`` (lower case, as in the explorer's dropdown).
    label: its name in figures and tables ("SmoothGrad", "Grad-CAM").
    function: the ``helpers.attribution`` function that computes it, called as
        ``function(model, images, target, **settings)`` (plus ``layer=`` and ``progress=`` where it takes them).
    signed: whether its map has both signs (evidence for and against the class): shown on a diverging
        scale around 0. Unsigned maps are ≥ 0.
    per_channel: whether ``function`` returns (N, C, H, W) attributions rather than an (N, H, W) map.
    needs_layer: whether it needs the layer whose activations it weighs (Grad-CAM).
    sized: the function's own rule for settings that depend on the image size: a function of
        side = min(H, W) returning a dict (occlusion's ``default_patches``: ``window`` and ``stride``), or None.
    ``settings`` (read-only) are the function's keyword defaults, e.g. SmoothGrad's ``n_samples``.
    """

    name: str
    label: str
    function: Callable[..., torch.Tensor]
    signed: bool
    per_channel: bool = False
    needs_layer: bool = False
    sized: Callable[[int], dict] | None = None

    @property
    def settings(self) -> Mapping[str, Any]:
        """The function's keyword defaults for its settings (read-only): the one place they are written."""
        parameters = inspect.signature(self.function).parameters
        return MappingProxyType({name: parameters[name].default for name in self.setting_names
                                 if parameters[name].default is not inspect.Parameter.empty})

    @property
    def setting_names(self) -> tuple[str, ...]:
        """The keyword arguments of ``function`` a caller may set (all but model, images, target, layer, progress)."""
        return tuple(name for name in inspect.signature(self.function).parameters if name not in _PASSED)

    def settings_for(self, images: torch.Tensor, **overrides) -> dict:
        """The settings used on ``images`` (N, C, H, W): the function's defaults, the size-derived ones, then ``overrides``."""
        unknown = sorted(set(overrides) - set(self.setting_names))
        if unknown:
            raise TypeError(f"settings: {self.name} has no setting {', '.join(map(repr, unknown))}; "
                            f"its settings are: {', '.join(self.setting_names) or 'none'}")
        sized = self.sized(min(images.shape[-2:])) if self.sized is not None else {}
        return {**self.settings, **sized, **overrides}

    def compute(self, model: nn.Module, images: torch.Tensor, target, *, layer: nn.Module | None = None,
                progress: bool = False, **settings) -> torch.Tensor:
        """The method's own output: (N, C, H, W) if ``per_channel``, else (N, H, W), on the device of ``images``.

        layer: the layer for a method that ``needs_layer`` (ignored by the others).
        progress: a progress bar, for the methods that make many passes (ignored by the others).
        settings: override the function's defaults (a ``TypeError`` names any the method does not have).
        """
        check_images(images)
        settings = self.settings_for(images, **settings)
        parameters = inspect.signature(self.function).parameters
        if self.needs_layer:
            if layer is None:
                raise ValueError(f"layer: {self.name} needs the layer whose activations it weighs; pass layer=... "
                                 "(e.g. model.features[-1])")
            settings["layer"] = layer
        if "progress" in parameters:
            settings["progress"] = progress
        return self.function(model, images, target, **settings)


#: the attribution methods by name, in the order notebook 04 shows them. The functions' default cost
#: settings suit one image recomputed at a click (the explorer); notebooks pass cheaper or larger ones.
METHODS: Mapping[str, Method] = MappingProxyType({method.name: method for method in (
    Method("saliency", "saliency", saliency_map, signed=False),
    Method("gradient × input", "gradient × input", gradient_x_input, signed=True, per_channel=True),
    Method("smoothgrad", "SmoothGrad", smoothgrad, signed=False),
    Method("integrated gradients", "Integrated Gradients", integrated_gradients, signed=True, per_channel=True),
    Method("occlusion", "occlusion", occlusion_map, signed=True, sized=default_patches),
    Method("grad-cam", "Grad-CAM", grad_cam, signed=False, needs_layer=True),
    # notebook 04's sanity checks: a method that fails them (its maps hardly depend on the model)
    Method("guided backprop", "Guided Backprop", guided_backprop, signed=False),
)})


def get_method(method: str) -> Method:
    """The ``Method`` registered as ``method`` (a name in ``METHODS``); a ``ValueError`` lists the names."""
    if not isinstance(method, str):
        raise TypeError(f"method: expected a method name (a str), got {type(method).__name__}")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(map(repr, METHODS))}, got {method!r}")
    return METHODS[method]


def attribute(method: str, model: nn.Module, images: torch.Tensor, target, *, layer: nn.Module | str | None = None,
              magnitude: bool = False, progress: bool = False, **settings) -> torch.Tensor:
    """The (N, H, W) map of attribution method ``method`` for class ``target`` on ``images`` (N, C, H, W).

    method: a name in ``METHODS``. target: an int or a length-N sequence/tensor of class indices.
    layer: the layer Grad-CAM weighs (e.g. ``model.features[-1]``); ignored by the other methods.
    magnitude: ``False``: the map as the method shows it: a per-channel method's attributions summed
        over the channels, keeping their sign (``Method.signed``); ``True``: how much each pixel
        matters whatever the sign: Σ_c |a_c| for a per-channel method, |map| for a signed map
        (unsigned maps are ≥ 0 and unchanged).
    progress: a progress bar for the methods that make many passes.
    settings: override the function's default settings (``METHODS[method].settings``; for occlusion also
        ``window`` and ``stride``, derived from the image size), e.g. ``n_samples=8``.

    Like every attribution function, the model runs in eval mode and is left as it was; the result is
    detached, on the device of ``images``.
    """
    spec = get_method(method)
    raw = spec.compute(model, images, target, layer=layer, progress=progress, **settings)
    if spec.per_channel:
        return raw.abs().sum(1) if magnitude else raw.sum(1)
    return raw.abs() if magnitude and spec.signed else raw

"""Objectives that add and scale, and the one call that climbs any of them (notebooks 06 and 07).

``class_model_visualization`` and ``feature_visualization`` each climb one fixed objective. To climb a
combination — a class against its rival, a channel plus a diversity term — build it from small
pieces, as in Lucent, and pass it to ``visualize``::

    J = class_score(99) - 0.5 * class_score(100)                 # goose, but not black swan
    J = channel("features.stage4", 7) + 0.1 * diversity("features.stage3")
    result = visualize(model, J, n=4, steps=128, parameterization="fourier", transforms=standard_transforms())

An ``Objective`` is a weighted sum of terms; each term reads the class scores or the output of one
layer (by dotted name) for a batch of n images and returns (n,) values. ``visualize`` runs the same
engine (``helpers.ascent.ascend``, one ``AscentSettings``) as the other two, so the settings mean the
same everywhere.
"""
from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from numbers import Real

import torch
from torch import nn

from ._checks import check_grad_enabled_possible, check_model, check_positive_int
from .ascent import AscentResult, AscentSettings, ascend, fourier_color_matrix, resolve_settings
from .layers import activations_of, check_channels, find_layer
from .model_state import frozen_eval, model_device, model_dtype
from .objectives import GREY, OBJECTIVES, objective_value, unit_value

SCORES = ""  # the key of the model's output (class scores) among the recorded outputs


@dataclass(frozen=True)
class _Term:
    """One piece of an objective: what it reads (``layer``: a dotted name, or ``SCORES``) and how."""

    kind: str                      # "score", "softmax", "log_softmax", "channel", "neuron", "diversity"
    layer: str = SCORES
    index: int = 0                 # the class or the channel
    position: tuple[int, int] | None = None

    def value(self, output: torch.Tensor) -> torch.Tensor:
        """(n, ...) the output this term reads -> (n,) its value for each image."""
        index = torch.full((len(output),), self.index, dtype=torch.long)
        if self.kind in OBJECTIVES:
            return objective_value(output, index, self.kind)
        if self.kind in ("channel", "neuron"):
            position = None
            if self.position is not None:  # clipped to the map, whose size the transforms may change
                position = tuple(min(p, side - 1) for p, side in zip(self.position, output.shape[-2:]))
            return unit_value(output, index, position, "mean")
        # diversity: minus each image's mean cosine similarity to the others' Gram matrices (Olah et al. 2017)
        n, c = output.shape[:2]
        if n < 2:
            return output.new_zeros(n)
        flat = output.flatten(2)
        gram = torch.nn.functional.normalize((flat @ flat.transpose(1, 2)).flatten(1), dim=1)  # (n, c * c)
        similarity = gram @ gram.T
        return -(similarity.sum(1) - similarity.diagonal()) / (n - 1)

    def describe(self) -> str:
        if self.kind in OBJECTIVES:
            return f"{self.kind}({self.index})"
        if self.kind == "channel":
            return f"channel({self.layer!r}, {self.index})"
        if self.kind == "neuron":
            return f"neuron({self.layer!r}, {self.index}, {self.position})"
        return f"diversity({self.layer!r})"


@dataclass(frozen=True)
class Objective:
    """J(images) = Σ weight · term(images), one value per image; add, subtract and scale with numbers.

    Made by ``class_score``, ``class_softmax``, ``class_log_softmax``, ``channel``, ``neuron`` and
    ``diversity``; ``J(outputs)`` takes a dict of recorded outputs (layer name -> tensor, ``""`` -> the
    class scores) and returns (n,).
    """

    terms: tuple[tuple[float, _Term], ...]

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(self.terms + other.terms)

    def __mul__(self, factor: float) -> Objective:
        if isinstance(factor, bool) or not isinstance(factor, Real):
            return NotImplemented
        return Objective(tuple((weight * float(factor), term) for weight, term in self.terms))

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1.0

    def __sub__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return self + (-other)

    @property
    def layers(self) -> tuple[str, ...]:
        """The dotted names of the layers the objective reads (``""``: the class scores), in order."""
        return tuple(dict.fromkeys(term.layer for _, term in self.terms))

    def __call__(self, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(weight * term.value(outputs[term.layer]) for weight, term in self.terms)

    def __repr__(self) -> str:
        return " + ".join(f"{weight:g} * {term.describe()}" for weight, term in self.terms)


def _index(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{name}: expected a non-negative int, got {value!r}")
    return value


def class_score(target: int) -> Objective:
    """S_target, the class's unnormalized score (Simonyan et al. 2013)."""
    return Objective(((1.0, _Term("score", index=_index(target, "target"))),))


def class_softmax(target: int) -> Objective:
    """P_target = softmax(S)_target."""
    return Objective(((1.0, _Term("softmax", index=_index(target, "target"))),))


def class_log_softmax(target: int) -> Objective:
    """log P_target = S_target − log Σ_k exp S_k."""
    return Objective(((1.0, _Term("log_softmax", index=_index(target, "target"))),))


def channel(layer: str, index: int) -> Objective:
    """The mean activation of channel ``index`` of ``layer`` (a dotted name) over all positions."""
    return Objective(((1.0, _Term("channel", _layer_name(layer), _index(index, "index"))),))


def neuron(layer: str, index: int, position: tuple[int, int]) -> Objective:
    """The activation of channel ``index`` of ``layer`` at ``position`` = (y, x) (clipped to the map's size,
    which transforms may change)."""
    ok = isinstance(position, (tuple, list)) and len(position) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in position)
    if not ok:
        raise TypeError(f"position: expected (y, x), two non-negative ints, got {position!r}")
    return Objective(((1.0, _Term("neuron", _layer_name(layer), _index(index, "index"), tuple(position))),))


def diversity(layer: str) -> Objective:
    """Minus each image's mean cosine similarity to the other images' Gram matrices at ``layer``: rewards a
    batch of images that differ in style (Olah et al. 2017). Zero for a batch of one."""
    return Objective(((1.0, _Term("diversity", _layer_name(layer))),))


def _layer_name(layer) -> str:
    if not isinstance(layer, str) or not layer:
        raise TypeError(f"layer: expected a layer's dotted name (e.g. 'features.stage4'), got {layer!r}")
    return layer


@dataclass
class VisualizationResult(AscentResult):
    """What ``visualize`` made (on the model's device): ``images`` (n, C, H, W); ``history`` (steps, n) the
    objective on the image the model saw at every step (transformed, before the update); ``value`` (n,) on
    the final images; ``objective``; plus the restart bookkeeping and ``settings`` of every ascent result."""

    objective: Objective
    history: torch.Tensor
    value: torch.Tensor


def visualize(model: nn.Module, objective: Objective, n: int = 1, settings: AscentSettings | None = None,
              **overrides) -> VisualizationResult:
    """n images that climb ``objective`` together (n > 1 matters for a ``diversity`` term).

    model: a network taking (N, C, H, W) images in [0, 1]. settings, overrides: the ascent's
    ``AscentSettings`` and keyword changes to it, as for ``class_model_visualization``.
    Layers are checked by name and channel and class indices against the model's outputs before the
    ascent starts. The model runs in eval mode, frozen, and is left exactly as it was; its hooks are removed.
    """
    check_model(model)
    if not isinstance(objective, Objective):
        raise TypeError(f"objective: expected an Objective (e.g. class_score(99) or channel('features.stage4', 3)), "
                        f"got {type(objective).__name__}")
    check_positive_int(n, "n")
    settings = resolve_settings(settings, overrides)
    shape = settings.image_shape_for(model)
    check_grad_enabled_possible("visualize")
    device, dtype = model_device(model), model_dtype(model)
    matrix = fourier_color_matrix(settings, shape[0], device, dtype)
    modules = {name: find_layer(model, name)[1] for name in objective.layers if name != SCORES}

    with frozen_eval(model), ExitStack() as stack:
        recorded = {name: stack.enter_context(activations_of(module)) for name, module in modules.items()}

        def outputs(images):
            for kept in recorded.values():
                kept.clear()
            scores = model(images)
            return {SCORES: scores, **{name: kept[-1] for name, kept in recorded.items()}}

        with torch.no_grad():
            _check_indices(objective, outputs(torch.full((1, *shape), GREY, device=device, dtype=dtype)))

        def climb(images):
            value = objective(outputs(images))
            return value, value[:, None]

        with torch.enable_grad():
            run = ascend(climb, n, shape, settings, matrix=matrix, device=device, dtype=dtype, desc="visualize")
    return VisualizationResult(images=run.images, restart=run.restart, restart_objectives=run.restart_objectives,
                               settings=settings.replace(image_shape=shape), objective=objective,
                               history=run.records[..., 0], value=run.final[:, 0])


def _check_indices(objective: Objective, outputs: dict[str, torch.Tensor]) -> None:
    """Every class and channel index within the outputs' sizes (a ValueError naming it otherwise)."""
    for _, term in objective.terms:
        if term.kind in OBJECTIVES:
            classes = outputs[SCORES].shape[1]
            if term.index >= classes:
                raise ValueError(f"target: class {term.index} is out of range; the model has {classes} classes")
        elif term.kind in ("channel", "neuron"):
            check_channels(term.index, outputs[term.layer].shape[1], "index")

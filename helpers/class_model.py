"""Class model visualization: the image a classifier "looks for", by gradient ascent on the input.

With the weights fixed, start from a grey, slightly noisy image and change its pixels so that
an objective grows (Simonyan et al. 2013)::

    I* = argmax_I  f(S(I))  −  λ ‖I − ½‖²  −  (other regularizers)

where S(I) are the model's unnormalized class scores and the objective f is one of
``helpers.objectives.OBJECTIVES``: the target's score S_c (Simonyan et al.), its posterior
P_c = softmax(S)_c, or log P_c. The regularizers, the parameterization and the optimizer are an
``AscentSettings`` (``helpers.ascent``, the engine shared with feature visualization).

Everything runs on the model's device; only input gradients are computed.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ._checks import as_target, check_choice, check_grad_enabled_possible, check_model, check_target_range
from .ascent import AscentResult, AscentSettings, ascend, fourier_color_matrix, resolve_settings
from .model_state import checked_scores, frozen_eval, model_device, model_dtype
from .objectives import GREY, OBJECTIVES, objective_value


@dataclass
class ClassModelResult(AscentResult):
    """What ``class_model_visualization`` made; every tensor is on the model's device.

    images: (K, C, H, W) in [0, 1] (with ``clamp`` or the Fourier parameterization), one per target.
    targets: the K class indices, in the order they were given.
    objective: ``"score"``, ``"softmax"`` or ``"log_softmax"``.
    history: per-step values, each a (steps, K) tensor, measured on the image the model saw at
        that step (jittered, before the update): ``"score"`` (the target's score S_c),
        ``"probability"`` (P_c), ``"other_score"`` (the mean score of the other classes),
        ``"rival_score"`` (the highest score among the other classes) and ``"objective"`` (the
        objective without regularizers: S_c, P_c or log P_c).
    score, probability: (K,) the target's score and probability on the final images (no jitter).
    restart: (K,) which random restart was kept for each target (the one with the highest
        regularized objective on its final image).
    restart_objectives: (restarts, K) that regularized objective for every restart's final image.
    settings: the ``AscentSettings`` used (with ``image_shape`` filled in).

    For an int ``target`` (K = 1), ``result.image`` is the (C, H, W) image.
    """

    targets: tuple[int, ...]
    objective: str
    history: dict[str, torch.Tensor]
    score: torch.Tensor
    probability: torch.Tensor


def class_model_visualization(model: nn.Module, target, objective: str = "score",
                              settings: AscentSettings | None = None, **overrides) -> ClassModelResult:
    """Generate the image(s) that maximize ``objective`` for class(es) ``target`` of ``model``.

    model: a classifier taking (N, C, H, W) images in [0, 1] and returning (N, num_classes) scores.
    target: an int class index (then ``result.image`` is (C, H, W)), or a sequence of K indices,
        visualized together in one batch (``result.images`` is (K, C, H, W)); each class's run is
        the same as a run of that class alone with the same seed (up to float rounding, which
        many steps of ascent can amplify).
    objective: ``"score"`` (S_c), ``"softmax"`` (P_c) or ``"log_softmax"`` (log P_c).
    settings: an ``AscentSettings`` (default ``AscentSettings()``: 200 Adam steps of 0.05, L2 1e-3,
        jitter 2, a blur of 0.5 pixels every 4 steps, clamping, pixel parameterization, seed 0).
    overrides: any ``AscentSettings`` field by name, e.g. ``steps=100, l2=0``, applied to ``settings``.

    The model is used in eval mode with its parameters frozen and is left exactly as it was.
    """
    check_model(model)
    check_choice(objective, "objective", OBJECTIVES)
    settings = resolve_settings(settings, overrides)
    # an int (also a 0-d tensor or a numpy integer) is one class; anything with a length is a sequence
    single = getattr(target, "ndim", None) == 0 or not hasattr(target, "__len__")  # as_target rejects bools and floats
    n_targets = 1 if single else len(target)
    if n_targets == 0:
        raise ValueError("target: expected an int class index or a non-empty sequence of them, got an empty sequence")
    targets = as_target(target, n_targets)
    shape = settings.image_shape_for(model)
    check_grad_enabled_possible("class_model_visualization")
    device, dtype = model_device(model), model_dtype(model)
    matrix = fourier_color_matrix(settings, shape[0], device, dtype)

    with frozen_eval(model), torch.enable_grad():  # also inside a caller's torch.no_grad()
        with torch.no_grad():
            probe = checked_scores(model, torch.full((1, *shape), GREY, device=device, dtype=dtype), "image_shape")
        num_classes = probe.shape[1]
        check_target_range(targets, num_classes)
        targets = targets.to(device)
        every = targets.repeat(settings.restarts)

        def climb(images):
            scores = model(images)
            return objective_value(scores, every, objective), scores

        run = ascend(climb, n_targets, shape, settings, matrix=matrix, device=device, dtype=dtype,
                     desc="class model")
    return _result(run, targets, objective, num_classes, settings.replace(image_shape=shape))


def _result(run, targets: torch.Tensor, objective: str, num_classes: int, settings: AscentSettings) -> ClassModelResult:
    """The ascent's per-step scores (steps, K, num_classes) turned into the result's history."""
    kept = run.records
    steps, k = kept.shape[:2]
    index = targets[None, :, None].expand(steps, k, 1)
    target_scores = kept.gather(2, index)[..., 0]
    if num_classes > 1:
        rival = kept.scatter(2, index, float("-inf")).amax(2)
    else:
        rival = torch.full_like(target_scores, float("nan"))
    history = {
        "score": target_scores,
        "probability": kept.softmax(2).gather(2, index)[..., 0],
        "other_score": (kept.sum(2) - target_scores) / max(num_classes - 1, 1),
        "rival_score": rival,
        "objective": objective_value(kept.reshape(steps * k, -1), targets.repeat(steps), objective).reshape(steps, k),
    }
    final = run.final
    return ClassModelResult(
        images=run.images, targets=tuple(int(t) for t in targets.tolist()), objective=objective, history=history,
        score=final.gather(1, targets[:, None])[:, 0], probability=final.softmax(1).gather(1, targets[:, None])[:, 0],
        restart=run.restart, restart_objectives=run.restart_objectives, settings=settings)

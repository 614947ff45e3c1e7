"""Pieces every attribution method shares: validation, the checked forward pass, the input gradient."""
from __future__ import annotations

import torch

from .._checks import as_target, check_grad_enabled_possible, check_images, check_model, check_target_range
from ..model_state import checked_scores, model_input
from ..objectives import objective_value


def _prepare(model, images, target, needs_grad: bool = True):
    """Validate (``needs_grad``: refuse torch.inference_mode()); return (x on the model's device and dtype, detached; target as a CPU (N,) int64)."""
    check_model(model)
    check_images(images)
    target = as_target(target, len(images))
    if needs_grad:
        check_grad_enabled_possible("this attribution method")
    return model_input(model, images), target


def _checked_forward(model, x, target, other=None) -> torch.Tensor:
    """``model(x)`` as (N, K) scores, with ``target`` (and ``other``) range-checked against K."""
    scores = checked_scores(model, x)
    check_target_range(target, scores.shape[1])
    if other is not None:
        check_target_range(other, scores.shape[1], "other")
    return scores


def _input_grad(model, x, target, objective: str = "score", other=None, check: bool = True) -> torch.Tensor:
    """Gradient w.r.t. ``x`` (N, C, H, W) of each image's objective for its target class.

    With ``other``, the objective is S_target − S_other. ``check=False`` skips the range check
    (for batches of copies whose targets were checked on the original images).
    Call inside ``frozen_eval(model)``: only ``x`` requires a gradient.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = _checked_forward(model, x, target, other) if check else model(x)
        selected = objective_value(scores, target, objective)
        if other is not None:
            selected = selected - objective_value(scores, other, "score")
        if not selected.requires_grad:  # the scores do not depend on the input at all
            return torch.zeros_like(x)
        (grad,) = torch.autograd.grad(selected.sum(), x, allow_unused=True)
    return torch.zeros_like(x) if grad is None else grad

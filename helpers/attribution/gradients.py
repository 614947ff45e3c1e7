"""Attribution from one input gradient: the gradient itself, saliency, gradient × input, contrastive saliency, Grad-CAM."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import as_target, check_choice, check_model
from ..model_state import frozen_eval
from ..objectives import OBJECTIVES, objective_value
from ._core import _checked_forward, _input_grad, _prepare


def input_gradient(model: nn.Module, images: torch.Tensor, target, objective: str = "score") -> torch.Tensor:
    """The gradient of the target class's objective w.r.t. the input: (N, C, H, W).

    objective: ``"score"`` differentiates the logit S_c, ``"softmax"`` the probability P_c,
    ``"log_softmax"`` log P_c (= S_c − log Σ_k exp S_k, so ∇ log P_c = ∇S_c − Σ_k P_k ∇S_k).
    The model runs in eval mode (dropout off, batch norm on running statistics) and is left as
    it was; only the input gets a gradient.
    """
    check_choice(objective, "objective", OBJECTIVES)
    x, target = _prepare(model, images, target)
    with frozen_eval(model):
        grad = _input_grad(model, x, target, objective)
    return grad.to(images.device)


def saliency_map(model: nn.Module, images: torch.Tensor, target) -> torch.Tensor:
    """Simonyan et al. (2013) saliency: max over channels of |∂S_target/∂x|, shape (N, H, W).

    S is the unnormalized score (logit). The model runs in eval mode and is left as it was.
    """
    x, target = _prepare(model, images, target)
    with frozen_eval(model):
        grad = _input_grad(model, x, target)
    return grad.abs().amax(1).to(images.device)


def gradient_x_input(model: nn.Module, images: torch.Tensor, target) -> torch.Tensor:
    """Gradient × input, x ⊙ ∂S_target/∂x: (N, C, H, W).

    For a linear score S = w·x + b this is exactly each pixel's contribution w_i x_i to S − b.
    The model runs in eval mode and is left as it was.
    """
    x, target = _prepare(model, images, target)
    with frozen_eval(model):
        grad = _input_grad(model, x, target)
    return (grad * x).to(images.device)


def contrastive_saliency(model: nn.Module, images: torch.Tensor, target, other) -> torch.Tensor:
    """Where the evidence for ``target`` over ``other`` lies: (N, H, W), non-negative.

    Defined as the positive part of the channel-summed gradient × input of the score margin
    D = S_target − S_other::

        map[n, h, w] = max(0, Σ_c x[n, c, h, w] · ∂D/∂x[n, c, h, w])

    Gradient × input is a first-order split of D among the pixels (exact for a linear model:
    the entries then sum to D minus the bias difference), so a positive entry is a pixel whose
    current value pushes the decision towards ``target`` and away from ``other``; pixels that
    favour ``other`` or do not matter get 0. Unlike |∇D| it keeps the sign, so it shows the
    evidence *for* target rather than anything the margin is sensitive to. Its reference is a
    black (zero) pixel: a pixel whose value is 0 gets 0.

    other: an int or a length-N sequence/tensor of class indices; ``other == target`` for some
    image is a ValueError. The model runs in eval mode and is left as it was.
    """
    x, target = _prepare(model, images, target)
    other = as_target(other, len(images), "other")
    same = other == target
    if same.any():
        i = int(same.nonzero()[0])
        raise ValueError(f"other: expected a class different from target for every image; "
                         f"image {i} has other == target == {int(target[i])}")
    with frozen_eval(model):
        grad = _input_grad(model, x, target, other=other)
    return (grad * x).sum(1).clamp(min=0).to(images.device)


def grad_cam(model: nn.Module, images: torch.Tensor, target, layer: nn.Module) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al., 2017): (N, H, W), non-negative, at the input's resolution.

    With A (N, K, h, w) the output of ``layer`` (a module inside ``model``, typically the last
    convolutional block, e.g. ``model.features[-1]`` of ZooNet or ``model.layer4`` of a ResNet):

        α_k = mean over (h, w) of ∂S_target/∂A_k,   cam = ReLU(Σ_k α_k A_k)

    upsampled bilinearly (align_corners=False) to the input's H × W. Same as Captum's
    LayerGradCam(relu_attributions=True) followed by LayerAttribution.interpolate(…, "bilinear").

    A temporary forward hook keeps A, detached, as the start of the gradient graph (so nothing
    below ``layer`` is backpropagated), and hands a copy on to the rest of the network, so
    in-place operations after it (ResNet's ``out += identity`` and ReLU(inplace=True)) leave A
    intact; the hook is removed afterwards, also after an error. ``layer`` must run exactly once
    per forward pass. The model runs in eval mode and is left as it was.
    """
    check_model(model)
    if not isinstance(layer, nn.Module):
        raise TypeError(f"layer: expected a torch.nn.Module inside the model (e.g. model.features[-1]), "
                        f"got {type(layer).__name__}")
    if not any(module is layer for module in model.modules()):
        raise ValueError(f"layer: expected a module inside the model, got a {type(layer).__name__} that is not "
                         "one of model.modules()")
    x, target = _prepare(model, images, target)
    outputs: list[torch.Tensor] = []

    def keep_output(module, inputs, output):
        if not isinstance(output, torch.Tensor) or output.ndim != 4:
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise ValueError(f"layer: expected a layer whose output is a (N, channels, h, w) feature map, got {shape}")
        activations = output.detach().requires_grad_(True)  # the graph starts here: nothing below is needed
        outputs.append(activations)
        return activations.clone()  # later in-place ops change the copy, not the activations we keep

    with frozen_eval(model):
        handle = layer.register_forward_hook(keep_output)
        try:
            with torch.enable_grad():
                scores = _checked_forward(model, x, target)
        finally:
            handle.remove()
        if len(outputs) != 1:
            raise ValueError(f"layer: expected a layer that runs once per forward pass, it ran {len(outputs)} times")
        (activations,) = outputs
        with torch.enable_grad():
            selected = objective_value(scores, target, "score")
            grad = None
            if selected.requires_grad:
                (grad,) = torch.autograd.grad(selected.sum(), activations, allow_unused=True)
    if grad is None:  # the score does not depend on this layer
        grad = torch.zeros_like(activations)
    cam = (grad.mean((2, 3), keepdim=True) * activations).sum(1, keepdim=True).relu()
    cam = F.interpolate(cam.detach(), size=x.shape[2:], mode="bilinear", align_corners=False)
    return cam[:, 0].to(images.device)

"""Attribution from one input gradient: the gradient itself, saliency, gradient × input, contrastive saliency,
Grad-CAM, guided backpropagation."""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from .._checks import as_target, check_choice, check_model
from ..layers import check_feature_map, find_layer
from ..model_state import frozen_eval, like_input
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
    return like_input(grad, images)


def saliency_map(model: nn.Module, images: torch.Tensor, target) -> torch.Tensor:
    """Simonyan et al. (2013) saliency: max over channels of |∂S_target/∂x|, shape (N, H, W).

    S is the unnormalized score (logit). The model runs in eval mode and is left as it was.
    """
    x, target = _prepare(model, images, target)
    with frozen_eval(model):
        grad = _input_grad(model, x, target)
    return like_input(grad.abs().amax(1), images)


def gradient_x_input(model: nn.Module, images: torch.Tensor, target) -> torch.Tensor:
    """Gradient × input, x ⊙ ∂S_target/∂x: (N, C, H, W).

    For a linear score S = w·x + b this is exactly each pixel's contribution w_i x_i to S − b.
    The model runs in eval mode and is left as it was.
    """
    x, target = _prepare(model, images, target)
    with frozen_eval(model):
        grad = _input_grad(model, x, target)
    return like_input(grad * x, images)


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
    return like_input((grad * x).sum(1).clamp(min=0), images)


def grad_cam(model: nn.Module, images: torch.Tensor, target, layer) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al., 2017): (N, H, W), non-negative, at the input's resolution.

    With A (N, K, h, w) the output of ``layer`` (a module inside ``model`` or its dotted name, typically
    the last convolutional block: ``model.features[-1]`` of ZooNet and of EfficientNet-Lite0, whose name
    is ``"features.head"``, or ``model.layer4`` of a ResNet):

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
    _, layer = find_layer(model, layer)
    x, target = _prepare(model, images, target)
    outputs: list[torch.Tensor] = []

    def keep_output(module, inputs, output):
        check_feature_map(output)
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
    return like_input(cam[:, 0], images)


#: the functional spellings of ReLU: calls to them that no ``nn.ReLU`` module made are not guided
_RELU_FUNCTIONS = frozenset({F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_})


class _CountReLUCalls(TorchFunctionMode):
    """Counts the ReLU calls of a forward pass, whoever makes them (an ``nn.ReLU`` module calls ``F.relu`` once)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _RELU_FUNCTIONS:
            self.calls += 1
        return func(*args, **(kwargs or {}))


def _positive_part(grad: torch.Tensor) -> torch.Tensor:
    return grad.clamp(min=0)


def guided_backprop(model: nn.Module, images: torch.Tensor, target) -> torch.Tensor:
    """Guided backpropagation (Springenberg et al., 2015): max over channels of |guided gradient|, (N, H, W).

    The gradient of S_target (the logit) w.r.t. the input, except that at every ReLU the backward
    pass lets through only *positive* gradients, and only where the ReLU's input was positive::

        ordinary ReLU backward:  g_in = [a > 0] · g_out
        guided ReLU backward:    g_in = [a > 0] · max(g_out, 0)

    Nothing else changes (convolutions, pooling and batch norm backpropagate as usual). Reduced
    like ``saliency_map``: the maximum over the colour channels of the absolute value. Adebayo
    et al. (2018) show that the result hardly depends on the model's upper layers or on what it
    learned: it mostly reconstructs the image (notebook 04's sanity checks).

    What is guided: the model's ``nn.ReLU`` modules (also ``inplace=True`` ones, e.g. in torchvision's
    ResNets and VGGs, and a module used several times per forward pass). Temporary forward hooks on
    them put a hook on each ReLU's output tensor that clamps its gradient at 0 (ReLU's own backward
    then applies [a > 0]); the module hooks are removed afterwards, also after an error, and the
    model's weights are never changed. A ReLU written as a function call in ``forward``
    (``F.relu``, ``torch.relu``, ``x.relu()``) cannot be hooked and is backpropagated as usual:
    a model without ``nn.ReLU`` modules is a ``ValueError``; functional ReLU calls next to
    ``nn.ReLU`` modules raise a ``UserWarning`` (the map is then only partly guided). ``nn.ReLU6``
    modules (EfficientNet-Lite0's) are guided the same way: [0 < a < 6] · max(g_out, 0). Other
    activations (LeakyReLU, GELU, …) are not guided. Same as Captum's ``GuidedBackprop``
    followed by ``.abs().amax(1)`` (Captum clamps the gradient of each ReLU's input as a whole, so the
    two can differ only where a ReLU's input also feeds other layers; not so in ZooNet, VGG or ResNet).
    The model runs in eval mode and is left as it was.
    """
    x, target = _prepare(model, images, target)
    relus = [module for module in model.modules() if isinstance(module, (nn.ReLU, nn.ReLU6))]
    if not relus:
        raise ValueError(f"model: guided backprop changes the backward pass of the model's nn.ReLU modules (or "
                         f"nn.ReLU6), and this {type(model).__name__} has none (a ReLU called as a function, F.relu or "
                         "torch.relu, cannot be guided)")
    module_calls = 0

    def guide(module, inputs, output):
        nonlocal module_calls
        module_calls += isinstance(module, nn.ReLU)  # what _CountReLUCalls also sees (ReLU6 calls hardtanh)
        if isinstance(output, torch.Tensor) and output.requires_grad:
            output.register_hook(_positive_part)  # a tensor hook: it goes with this pass's graph

    with frozen_eval(model):
        handles = [relu.register_forward_hook(guide) for relu in relus]
        try:
            with _CountReLUCalls() as counted:
                grad = _input_grad(model, x, target)
        finally:
            for handle in handles:
                handle.remove()
    functional = counted.calls - module_calls
    if functional > 0:
        warnings.warn(f"model: {functional} ReLU call(s) per forward pass are functional (F.relu, torch.relu or "
                      "x.relu() in forward), not nn.ReLU modules; guided backprop cannot guide them, so this map "
                      "is only partly guided", UserWarning, stacklevel=2)
    return like_input(grad.abs().amax(1), images)

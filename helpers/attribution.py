"""Attribution maps: which input pixels a classifier's score for one class depends on.

Every function takes ``images`` (N, C, H, W), a float tensor in the model's input space, and
``target``, an int or a length-N sequence/tensor of class indices, and

* runs the model in eval mode with its parameters frozen (``frozen_eval``): gradients are
  taken for the input only (``torch.autograd.grad``), no parameter ``.grad`` is ever made,
  and the model's train/eval flags and ``requires_grad`` are restored afterwards, also after
  an error;
* computes on the model's device and returns a detached result on the device of ``images``;
* rejects bad input with a ``TypeError``/``ValueError`` that names the argument.

S_c denotes the unnormalized score (logit) of class c, P_c = softmax(S)_c its probability.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ._checks import (
    as_target,
    check_choice,
    check_grad_enabled_possible,
    check_images,
    check_model,
    check_nonnegative,
    check_positive_int,
    check_target_range,
    checked_scores,
    model_input,
)
from .model_state import frozen_eval

OBJECTIVES = ("score", "softmax", "log_softmax")


# ---------------------------------------------------------------------------------------
# shared private pieces


def _prepare(model, images, target, needs_grad: bool = True):
    """Validate (``needs_grad``: refuse torch.inference_mode()); return (x on the model's device and dtype, detached; target as a CPU (N,) int64)."""
    check_model(model)
    check_images(images)
    target = as_target(target, len(images))
    if needs_grad:
        check_grad_enabled_possible("this attribution method")
    return model_input(model, images), target


def objective_value(scores: torch.Tensor, target: torch.Tensor, objective: str) -> torch.Tensor:
    """(N, K) scores -> (N,) the objective (one of ``OBJECTIVES``) of each row's (N,) ``target`` class.

    P_c is computed as exp(log P_c), from the numerically stable log-softmax.
    """
    index = target.to(scores.device)[:, None]
    if objective == "score":
        return scores.gather(1, index)[:, 0]
    log_p = scores.log_softmax(1).gather(1, index)[:, 0]
    return log_p if objective == "log_softmax" else log_p.exp()


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


def _copy_batches(n_copies: int, batch_size: int, progress: bool, desc: str):
    """Indices of consecutive copies, ``batch_size`` at a time, as CPU int64 tensors, with a progress bar."""
    starts = range(0, n_copies, batch_size)
    for start in tqdm(starts, desc=desc, disable=not progress, leave=False):
        yield torch.arange(start, min(start + batch_size, n_copies))


# ---------------------------------------------------------------------------------------
# gradients


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


# ---------------------------------------------------------------------------------------
# averaging over many forward/backward passes, batched


def smoothgrad(model: nn.Module, images: torch.Tensor, target, n_samples: int = 50, noise: float = 0.15,
               batch_size: int = 32, seed: int = 0, progress: bool = True) -> torch.Tensor:
    """SmoothGrad (Smilkov et al., 2017): saliency averaged over noisy copies, shape (N, H, W).

    Each image x gets ``n_samples`` copies x + σ·ε with ε ~ N(0, I) and
    σ = noise · (x.max() − x.min()), ``noise`` being a fraction of that image's value range
    (0.15 = 15 %, the paper's advice is 10–20 %). The map is

        map = max over channels of  (1/n) Σ_k |∂S_target/∂x (x + σ ε_k)|

    i.e. |gradient| is averaged per channel first, then the channel max is taken (so gradients
    of opposite sign do not cancel; this equals Captum's NoiseTunnel(Saliency) with
    nt_type="smoothgrad", abs=True, followed by a channel max). ``noise=0`` gives
    ``saliency_map`` exactly (up to float rounding).

    Batched: the N·n_samples copies are processed ``batch_size`` at a time, so memory holds the
    activations of at most ``batch_size`` images (plus an (N, C, H, W) accumulator); the result
    does not depend on ``batch_size``. Deterministic for a given ``seed`` (a private
    torch.Generator on the model's device; the global RNG is not touched). The noise of copy k of
    image i is the (k·N + i)-th draw of shape (C, H, W) from that generator. The model runs in
    eval mode and is left as it was. ``progress`` shows a bar over the batches.
    """
    check_positive_int(n_samples, "n_samples")
    noise = check_nonnegative(noise, "noise")
    check_positive_int(batch_size, "batch_size")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {seed!r}")
    x, target = _prepare(model, images, target)
    n = len(x)
    sigma = noise * (x.amax((1, 2, 3)) - x.amin((1, 2, 3)))  # (N,)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    total = torch.zeros_like(x)
    with frozen_eval(model):
        with torch.no_grad():
            _checked_forward(model, x, target)
        for copies in _copy_batches(n * n_samples, batch_size, progress, "smoothgrad"):
            i = copies % n
            eps = torch.stack([torch.randn(x.shape[1:], generator=generator, device=x.device, dtype=x.dtype)
                               for _ in range(len(copies))])
            batch = x[i] + sigma[i, None, None, None] * eps
            grad = _input_grad(model, batch, target[i], check=False)
            total.index_add_(0, i.to(x.device), grad.abs())
    return (total / n_samples).amax(1).to(images.device)


def _gauss_legendre(steps: int) -> tuple[list[float], list[float]]:
    """Nodes and weights of the ``steps``-point Gauss–Legendre rule on [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (0.5 * (nodes + 1)).tolist(), (0.5 * weights).tolist()


def _as_baseline(baseline, x: torch.Tensor) -> torch.Tensor:
    if baseline is None:
        return torch.zeros_like(x)
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        if not math.isfinite(baseline):
            raise ValueError(f"baseline: expected a finite number, got {baseline!r}")
        return torch.full_like(x, float(baseline))
    if not isinstance(baseline, torch.Tensor):
        raise TypeError(f"baseline: expected None, a number or a tensor like images, got {type(baseline).__name__}")
    if not baseline.is_floating_point():
        raise TypeError(f"baseline: expected a floating-point tensor, got dtype {baseline.dtype}")
    try:
        shape = torch.broadcast_shapes(baseline.shape, x.shape)
    except RuntimeError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"baseline: expected a shape that broadcasts to the images' {tuple(x.shape)}, "
                         f"e.g. (C, H, W) or (N, C, H, W); got {tuple(baseline.shape)}")
    if not torch.isfinite(baseline).all():
        raise ValueError("baseline: contains NaN or infinite values")
    return baseline.detach().to(device=x.device, dtype=x.dtype).expand(x.shape).contiguous()


def integrated_gradients(model: nn.Module, images: torch.Tensor, target, baseline=None, steps: int = 50,
                         batch_size: int = 32, progress: bool = True) -> torch.Tensor:
    """Integrated Gradients (Sundararajan et al., 2017): (N, C, H, W) attributions.

        IG(x) = (x − x') ⊙ ∫₀¹ ∂S_target/∂x (x' + α (x − x')) dα

    with baseline x' (``None``: zeros, a black image; a number; or a tensor that broadcasts to
    the images, e.g. (C, H, W)). The integral is computed with the ``steps``-point
    Gauss–Legendre rule on [0, 1] (the same rule as Captum's default ``"gausslegendre"``).

    Completeness: attributions.sum((1, 2, 3)) ≈ S(x) − S(x'). Tolerance at the default 50
    steps on the course CNN (``load_model("zoonet")``, 96 Toy Zoo images, black baseline):
    |error| ≤ 0.3 score units (largest measured 0.21, median 0.03, where the median
    |S(x) − S(x')| is 14), i.e. a median relative error of 0.2 %; relative to
    |S(x) − S(x')| it is large only when that difference is itself near 0. The integrand of
    a ReLU/max-pool network jumps along the path, so the error shrinks only slowly with
    ``steps`` (about 4× smaller at 200).

    Batched over path points: the N·steps interpolated images are processed ``batch_size`` at a
    time (memory: at most ``batch_size`` images' activations plus an (N, C, H, W) accumulator).
    The model runs in eval mode and is left as it was. ``progress`` shows a bar over the batches.
    """
    check_positive_int(steps, "steps")
    check_positive_int(batch_size, "batch_size")
    x, target = _prepare(model, images, target)
    base = _as_baseline(baseline, x)
    n = len(x)
    alphas, weights = (torch.tensor(v, dtype=x.dtype, device=x.device) for v in _gauss_legendre(steps))
    total = torch.zeros_like(x)
    with frozen_eval(model):
        with torch.no_grad():
            _checked_forward(model, x, target)
        for copies in _copy_batches(n * steps, batch_size, progress, "integrated gradients"):
            i, k = copies % n, copies.to(x.device) // n
            a = alphas[k][:, None, None, None]
            grad = _input_grad(model, base[i] + a * (x[i] - base[i]), target[i], check=False)
            total.index_add_(0, i.to(x.device), weights[k][:, None, None, None] * grad)
    return ((x - base) * total).to(images.device)


def occlusion_map(model: nn.Module, images: torch.Tensor, target, window: int = 8, stride: int = 4,
                  fill: float = 0.0, batch_size: int = 32, progress: bool = True) -> torch.Tensor:
    """Occlusion (Zeiler & Fergus, 2014): how much the target score drops when a patch is hidden, (N, H, W).

    A window × window patch (all channels) is set to ``fill``, at top-left corners
    (r, c) = (a·stride, b·stride) for a = 0 … ceil((H − window) / stride) (likewise b over W);
    a last window that would run past the border is clipped to the image, so every pixel is
    covered. For each patch p the drop is d_p = S_target(x) − S_target(x with patch p filled).
    A pixel's value is the mean of d_p over the patches that cover it:

        map[h, w] = Σ_{p ∋ (h, w)} d_p / #{p ∋ (h, w)}

    Positive: hiding the region lowers the score (evidence for the class). Same as Captum's
    Occlusion with sliding_window_shapes=(C, window, window), strides=(C, stride, stride),
    baselines=fill (all channels then carry the same value).

    Requires stride ≤ window ≤ min(H, W). Batched over patches, ``batch_size`` occluded images
    per forward pass (no backward). The model runs in eval mode and is left as it was.
    ``progress`` shows a bar over the batches.
    """
    check_positive_int(window, "window")
    check_positive_int(stride, "stride")
    check_positive_int(batch_size, "batch_size")
    if isinstance(fill, bool) or not isinstance(fill, (int, float)) or not math.isfinite(fill):
        raise ValueError(f"fill: expected a finite number (the value put into the hidden patch), got {fill!r}")
    x, target = _prepare(model, images, target, needs_grad=False)
    n, _, height, width = x.shape
    if window > min(height, width):
        raise ValueError(f"window: expected at most the image size {min(height, width)}, got {window}")
    if stride > window:
        raise ValueError(f"stride: expected at most window ({window}) so that every pixel is covered, got {stride}")
    rows = stride * torch.arange(math.ceil((height - window) / stride) + 1, device=x.device)  # top edges
    cols = stride * torch.arange(math.ceil((width - window) / stride) + 1, device=x.device)  # left edges
    n_patches = len(rows) * len(cols)
    hh = torch.arange(height, device=x.device)
    ww = torch.arange(width, device=x.device)

    def patch_masks(p: torch.Tensor) -> torch.Tensor:  # (B,) patch indices -> (B, H, W) bool
        r, c = rows[p // len(cols)], cols[p % len(cols)]
        in_rows = (hh[None] >= r[:, None]) & (hh[None] < r[:, None] + window)
        in_cols = (ww[None] >= c[:, None]) & (ww[None] < c[:, None] + window)
        return in_rows[:, :, None] & in_cols[:, None, :]

    total = torch.zeros((n, height, width), dtype=x.dtype, device=x.device)
    with frozen_eval(model), torch.no_grad():
        base = objective_value(_checked_forward(model, x, target), target, "score")
        for copies in _copy_batches(n * n_patches, batch_size, progress, "occlusion"):
            i, p = copies % n, copies.to(x.device) // n
            masks = patch_masks(p)
            occluded = torch.where(masks[:, None], torch.tensor(fill, dtype=x.dtype, device=x.device), x[i])
            i = i.to(x.device)
            drop = base[i] - objective_value(model(occluded), target[i.cpu()], "score")
            total.index_add_(0, i, drop[:, None, None] * masks)
        counts = patch_masks(torch.arange(n_patches, device=x.device)).sum(0)
    return (total / counts).to(images.device)


# ---------------------------------------------------------------------------------------
# Grad-CAM


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

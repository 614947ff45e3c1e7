"""Running a model for the helpers: on its own device and dtype, frozen, its scores checked — and left as it was."""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn


@contextmanager
def frozen_eval(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode with every parameter's ``requires_grad`` off, then restore it.

    Inside the block dropout is off and batch-norm uses its running statistics, and no parameter
    ``.grad`` can be touched. (The saving of "input gradients only" — no weight gradients, about half
    a backward pass — comes from asking ``torch.autograd.grad`` for the input alone, which the
    helpers do; turning ``requires_grad`` off also keeps autograd from recording what parameter
    gradients would need.) On exit, also after an exception, every module's train/eval flag and
    every parameter's ``requires_grad`` is put back exactly.
    """
    modes = [(module, module.training) for module in model.modules()]
    flags = [(param, param.requires_grad) for param in model.parameters()]
    try:
        model.eval()
        for param, _ in flags:
            param.requires_grad_(False)
        yield model
    finally:
        for module, training in modes:
            module.training = training
        for param, flag in flags:
            param.requires_grad_(flag)


def model_device(model: nn.Module, fallback: torch.device | None = None) -> torch.device:
    """The device of the model's first parameter or buffer (``fallback`` if it has none)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return fallback if fallback is not None else torch.device("cpu")


def model_dtype(model: nn.Module, fallback: torch.dtype = torch.float32) -> torch.dtype:
    """The dtype of the model's first floating parameter or buffer (``fallback`` if it has none)."""
    return next((t.dtype for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()), fallback)


def model_input(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``images``, detached, on the model's device and in its floating dtype: what ``model`` accepts."""
    return images.detach().to(device=model_device(model, images.device), dtype=model_dtype(model, images.dtype))


def like_input(result: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """``result`` back where the caller's ``images`` are: on their device and, if floating, in their dtype.

    The course's one rule for results: a helper runs the model on the model's device and dtype
    (``model_input``), and what it computes from your images (maps, scores, curves) comes back on
    your images' device and dtype. What a helper makes from the model alone (class models, feature
    visualizations) stays on the model's device and dtype.
    """
    dtype = images.dtype if result.is_floating_point() else result.dtype
    return result.detach().to(device=images.device, dtype=dtype)


#: what torch says when a layer cannot take the input's shape (conv channels, a too-small image, a linear layer's width)
_SHAPE_ERROR = re.compile(r"channels|shape|size|mat1 and mat2|dimension", re.IGNORECASE)


def check_first_layer(model: nn.Module, images: torch.Tensor, name: str = "images") -> None:
    """A ValueError naming ``name`` when the model's first convolution expects another number of channels."""
    first = next((m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)), None)
    if first is not None and images.ndim == 4 and images.shape[1] != first.in_channels:
        raise ValueError(f"{name}: expected {first.in_channels} channels (the model's first convolution takes "
                         f"{first.in_channels}), got {images.shape[1]} (shape {tuple(images.shape)})")


def checked_scores(model: nn.Module, images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Run ``model(images)`` and check it returns (N, K) scores.

    The channels are checked up front against the model's first convolution. A shape error raised
    inside the model becomes a ValueError naming ``name``, chained to the original error (``from err``),
    so the traceback still shows the line where it happened (in a learner's own ``forward``, too).
    Out-of-memory and every other error pass through unchanged.
    """
    check_first_layer(model, images, name)
    try:
        scores = model(images)
    except torch.OutOfMemoryError:
        raise
    except RuntimeError as err:
        if not _SHAPE_ERROR.search(str(err)):
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{name}: the model rejected input of shape {tuple(images.shape)}: {first} "
            "(the traceback above shows where; an image too small for the model, or a bug in its forward?)"
        ) from err
    if not isinstance(scores, torch.Tensor) or scores.ndim != 2 or scores.shape[0] != images.shape[0]:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"model: expected it to return scores of shape (N, num_classes), got {shape}")
    return scores

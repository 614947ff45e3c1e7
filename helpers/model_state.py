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

    Inside the block dropout is off and batch-norm uses its running statistics, and
    backpropagating to an input computes no parameter gradients (about half the work),
    so no parameter ``.grad`` is touched. On exit, also after an exception, every
    module's train/eval flag and every parameter's ``requires_grad`` is put back exactly.
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


#: what torch says when a layer cannot take the input's shape (conv channels, a too-small image, a linear layer's width)
_SHAPE_ERROR = re.compile(r"channels|shape|size|mat1 and mat2|dimension", re.IGNORECASE)


def checked_scores(model: nn.Module, images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Run ``model(images)`` and check it returns (N, K) scores; a shape the model rejects becomes a ValueError.

    Only shape errors are translated: out-of-memory and every other error pass through unchanged.
    """
    try:
        scores = model(images)
    except torch.OutOfMemoryError:
        raise
    except RuntimeError as err:
        if not _SHAPE_ERROR.search(str(err)):
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{name}: the model rejected input of shape {tuple(images.shape)} "
            f"(wrong number of channels or image too small?): {first}"
        ) from None
    if not isinstance(scores, torch.Tensor) or scores.ndim != 2 or scores.shape[0] != images.shape[0]:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"model: expected it to return scores of shape (N, num_classes), got {shape}")
    return scores

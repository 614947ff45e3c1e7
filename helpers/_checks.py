"""Input validation shared by every helper.

Each check raises a ``TypeError`` or ``ValueError`` whose message names the
argument and says what was expected, so a learner never has to read a deep
torch traceback to find out that an image had the wrong shape.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch
from torch import nn


def check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    return model


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


def check_images(images, name: str = "images") -> torch.Tensor:
    """Check a batch of images: a finite floating tensor of shape (N, C, H, W), N ≥ 1."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of shape (N, C, H, W), got {type(images).__name__}")
    if images.ndim != 4:
        hint = " (for a single image use images.unsqueeze(0))" if images.ndim == 3 else ""
        raise ValueError(f"{name}: expected 4 dimensions (N, C, H, W), got shape {tuple(images.shape)}{hint}")
    if not images.is_floating_point():
        raise TypeError(
            f"{name}: expected a floating-point tensor (e.g. float32 in [0, 1]), got dtype {images.dtype}; "
            "convert with images.float() / 255 if these are 8-bit pixels"
        )
    if images.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty (shape {tuple(images.shape)}); expected at least one image")
    if not torch.isfinite(images).all():
        raise ValueError(f"{name}: contains NaN or infinite values; expected finite pixel values")
    return images


def check_grad_enabled_possible(caller: str) -> None:
    """Input gradients cannot be taken inside ``torch.inference_mode()``: say so instead of failing deep in torch."""
    if torch.is_inference_mode_enabled():
        raise RuntimeError(f"{caller} needs input gradients, which torch.inference_mode() forbids: "
                           "call it outside the inference_mode block (inside torch.no_grad() is fine)")


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return value


def check_nonnegative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite non-negative number, got {value!r}")
    return float(value)


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def as_target(target, n: int, name: str = "target") -> torch.Tensor:
    """Turn an int or a length-``n`` sequence/tensor of class indices into a (n,) int64 tensor.

    The range is checked later, once the number of classes is known (see ``check_target_range``).
    """
    if isinstance(target, bool):
        raise TypeError(f"{name}: expected an int class index or a sequence of them, got a bool")
    if isinstance(target, int):
        return torch.full((n,), target, dtype=torch.long)
    if isinstance(target, torch.Tensor):
        if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
            raise TypeError(f"{name}: expected integer class indices, got a tensor of dtype {target.dtype}")
        t = target.detach().reshape(-1).long().cpu() if target.ndim <= 1 else None
        if t is None:
            raise ValueError(f"{name}: expected an int or a 1-D tensor of length {n}, got shape {tuple(target.shape)}")
        if target.ndim == 0:
            return t.expand(n).clone()
    elif isinstance(target, Sequence) and not isinstance(target, str):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in target):
            raise TypeError(f"{name}: expected a sequence of int class indices, got {list(target)[:5]!r}")
        t = torch.tensor(list(target), dtype=torch.long)
    else:
        try:  # numpy integers and arrays
            import numpy as np

            is_int_array = isinstance(target, np.ndarray) and np.issubdtype(target.dtype, np.integer)
            if isinstance(target, np.integer) or (is_int_array and target.ndim == 0):
                return torch.full((n,), int(target), dtype=torch.long)
            if is_int_array and target.ndim == 1:
                t = torch.from_numpy(target.astype("int64"))
            else:
                raise TypeError
        except TypeError:
            raise TypeError(
                f"{name}: expected an int class index or a length-{n} sequence/tensor of them, "
                f"got {type(target).__name__}"
            ) from None
    if t.numel() != n:
        raise ValueError(f"{name}: expected {n} class indices (one per image), got {t.numel()}")
    return t


def check_target_range(target: torch.Tensor, num_classes: int, name: str = "target") -> None:
    bad = (target < 0) | (target >= num_classes)
    if bad.any():
        raise ValueError(
            f"{name}: class index {int(target[bad][0])} is out of range; "
            f"the model has {num_classes} classes (valid: 0 to {num_classes - 1})"
        )


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

"""Input validation shared by every helper.

Each check raises a ``TypeError`` or ``ValueError`` whose message names the
argument and says what was expected, so a learner never has to read a deep
torch traceback to find out that an image had the wrong shape.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    return model


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


def check_positive_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def check_nonnegative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: expected a non-negative integer (0 switches it off), got {value!r}")
    return value


def check_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {value!r}")
    return value


def check_image_shape(shape, name: str = "image_shape") -> tuple[int, int, int]:
    ok = isinstance(shape, (tuple, list, torch.Size)) and len(shape) == 3 and all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    if not ok:
        raise ValueError(f"{name}: expected (C, H, W), three positive integers, got {shape!r}")
    return tuple(shape)

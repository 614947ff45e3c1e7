"""Check functions for the notebooks' exercises: friendly feedback instead of a bare AssertionError.

Each notebook's checks live in a module of this package (e.g. ``helpers.exercises.linear_models``).
A check prints one line starting with ✓ when the answer is right, and otherwise raises
``ExerciseError``: what was expected, what was found, and a hint. In Jupyter the error shows
as that message alone, without a traceback.
"""
from __future__ import annotations

import torch


class ExerciseError(AssertionError):
    """A check failed; the message says what was expected and gives a hint."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"✗ Not quite: {self.args[0]}"]


def expect(condition: bool, message: str, hint: str | None = None) -> None:
    """Raise ``ExerciseError(message + hint)`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseError(message + (f"\n  Hint: {hint}" if hint else ""))


def expect_tensor(value, name: str, shape: tuple | None = None) -> torch.Tensor:
    """Check ``value`` is a tensor (of ``shape``, if given) without NaN; returns it detached on the CPU."""
    if value is None:
        raise ExerciseError(f"{name} is None. Did you forget to `return` it, or to replace the `raise NotImplementedError`?")
    expect(isinstance(value, torch.Tensor), f"{name} should be a torch.Tensor, but it is a {type(value).__name__}.")
    if shape is not None:
        expect(tuple(value.shape) == tuple(shape), f"{name} should have shape {tuple(shape)}, but it has shape {tuple(value.shape)}.",
               "check which dimension you reduced over, and whether you kept the batch dimension")
    value = value.detach().cpu()
    if value.is_floating_point():
        expect(bool(torch.isfinite(value).all()), f"{name} contains NaN or infinite values.")
    return value


def passed(message: str) -> None:
    print(f"✓ Correct! {message}")

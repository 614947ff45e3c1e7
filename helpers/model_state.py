"""Use a model for input gradients without changing it behind the caller's back."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

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

"""Checks for notebook 07 (inside the network).

``record_activation(model, layer, images)`` -> (N, C, h, w): the output of ``layer`` (a module inside
``model``) when ``model`` runs on ``images``, recorded by a forward hook the learner registers on
``layer`` and removes again, also when the forward pass fails; returned detached and copied (a later
in-place operation, such as ``nn.ReLU(inplace=True)``, must not change what was recorded).

The check runs the learner's function on small networks of its own (not a ``nn.Sequential``, so the
layer's output cannot be had by slicing the model), watches which forward hooks are registered on the
layer while it runs, and switches off the course's own recorder (``helpers.layers.activations_of``, which
the course's other layer helpers use) and Captum (its ``LayerActivation``): the exercise is to write the hook.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import activations_of
from . import ExerciseError, HelperUnavailable, Mistake, call, check, close, diagnose, expect, expect_tensor, passed

UNAVAILABLE = (activations_of, "captum")
INSTEAD = ("define a function hook(module, inputs, output) that stores `output`, register it with "
           "layer.register_forward_hook(hook), run the model, remove the hook")

_TOLERANCE = dict(rtol=1e-5, atol=1e-6)


class _Probe(nn.Module):
    """conv → batch norm → in-place ReLU → conv → 2x2 max-pool → linear; takes (N, 3, 16, 16) images only."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)  # overwrites the batch norm's output, as in torchvision's ResNets
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.head = nn.Linear(6 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.relu(self.bn(self.conv1(x))))
        return self.head(F.max_pool2d(x, 2).flatten(1))


def _probe() -> _Probe:
    """A seeded probe network in eval mode, with batch-norm statistics that make its output differ from its input."""
    with torch.random.fork_rng(devices=[]):  # seeded, without touching the learner's random state
        torch.manual_seed(0)
        model = _Probe()
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
        model.bn.weight.data.uniform_(0.5, 1.5)
        model.bn.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _record(model: nn.Module, layer: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference: (the layer's input, its output), copied the moment the layer ran."""
    seen = {}

    def keep(_module, inputs, output):
        seen["input"], seen["output"] = inputs[0].detach().clone(), output.detach().clone()

    handle = layer.register_forward_hook(keep)
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    return seen["input"], seen["output"]


@contextmanager
def _watched(layer: nn.Module) -> Iterator[list[Callable]]:
    """Record every hook registered on ``layer`` with ``layer.register_forward_hook`` inside the block."""
    registered: list[Callable] = []
    original = layer.register_forward_hook

    def spy(hook, *args, **kwargs):
        registered.append(hook)
        return original(hook, *args, **kwargs)

    object.__setattr__(layer, "register_forward_hook", spy)
    try:
        yield registered
    finally:
        object.__delattr__(layer, "register_forward_hook")


def _course_hook(hooks: list[Callable]) -> str | None:
    """``module.qualname`` of the first of ``hooks`` that the course's code defines, else None."""
    for hook in hooks:
        module = str(getattr(hook, "__module__", "") or "")
        if module.split(".")[0] == "helpers":
            return f"{module}.{getattr(hook, '__qualname__', type(hook).__name__)}"
    return None


@check
def check_record_activation(record_activation) -> None:
    """Check ``record_activation(model, layer, images)`` on two layers of a small network of the check's own."""
    generator = torch.Generator().manual_seed(1)
    for layer_name in ("bn", "conv2"):
        model = _probe()
        layer = getattr(model, layer_name)
        images = torch.rand(5, 3, 16, 16, generator=generator)
        where = f"for the layer model.{layer_name},"
        try:
            with _watched(layer) as registered:
                result = call(record_activation, model, layer, images, unavailable=UNAVAILABLE, instead=INSTEAD)
            left = _hooks(model)
        finally:
            for m in model.modules():  # never leave the learner's hooks behind, whatever happened
                m._forward_hooks.clear()
                m._forward_pre_hooks.clear()
        layer_input, expected = _record(model, layer, images)  # made after the learner's function ran
        course_hook = _course_hook(registered)
        expect(course_hook is None, f"{where} the hook on the layer is the course's own code (`{course_hook}`).",
               "the exercise is to write the hook: " + INSTEAD)
        attached = isinstance(result, torch.Tensor) and result.requires_grad
        got = expect_tensor(result, "record_activation(...)")
        expect(bool(registered), f"{where} no forward hook was registered on the layer.",
               "use layer.register_forward_hook(hook): your hook sees the layer's output during model(images), "
               "wherever the layer sits inside the model")
        expect(tuple(got.shape) == tuple(expected.shape),
               f"{where} the recorded activation should have the layer's output shape {tuple(expected.shape)}, "
               f"but it has shape {tuple(got.shape)}.",
               "return the `output` argument of the hook (the first call's), not the inputs or the model's scores")
        if not close(got, expected, **_TOLERANCE):
            diagnose(got, [
                Mistake(lambda: layer_input, "you recorded the layer's *input*, not its output.",
                        "a forward hook is called as hook(module, inputs, output): keep the third argument"),
                Mistake(lambda: expected.clamp_min(0),
                        "your values are the layer's output *after* the in-place ReLU that follows it: you kept a "
                        "reference to the output tensor, and `ReLU(inplace=True)` then overwrote it.",
                        "store a copy in the hook: output.detach().clone()"),
            ], same=lambda a, b: close(a, b, **_TOLERANCE), context=f"{where} ")
            expect(False, f"{where} your values differ from the layer's output.",
                   "store the hook's `output` argument and return it after the forward pass")
        expect(not attached, f"{where} the recorded tensor is still attached to the autograd graph "
                             "(requires_grad=True): it keeps the whole forward pass alive in memory.",
               "store output.detach().clone() in the hook (or run the model under torch.no_grad())")
        expect(left == 0, f"{where} your hook is still registered on the layer after your function returned: every "
                          "later forward pass of the model would run it again (and keep filling your list).",
               "keep the handle, handle = layer.register_forward_hook(hook), and call handle.remove() after the "
               "forward pass")
        _check_removed_after_an_error(record_activation, layer_name, where)
    passed("your forward hook records the layer's output (detached, copied) and is removed again, also when the "
           "forward pass fails.")


def _check_removed_after_an_error(record_activation, layer_name: str, where: str) -> None:
    """Images of the wrong size: the layer runs, then the model's linear head fails. No hook may stay behind."""
    model = _probe()
    layer = getattr(model, layer_name)
    images = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(2))  # the head expects 16 x 16
    try:
        call(record_activation, model, layer, images, unavailable=UNAVAILABLE, instead=INSTEAD)
    except HelperUnavailable:
        raise
    except ExerciseError:  # the forward pass is meant to fail; what matters is what is left behind
        pass
    left = _hooks(model)
    for m in model.modules():
        m._forward_hooks.clear()
        m._forward_pre_hooks.clear()
    expect(left == 0, f"{where} when the forward pass fails (images of a size the model's last layer cannot take), "
                      "your hook stays registered on the layer.",
           "remove the hook in a `finally:` block: try: model(images) / finally: handle.remove()")

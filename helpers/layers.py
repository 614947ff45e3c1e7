"""Reaching inside a model: name a layer, record its activations with a hook that is always removed."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral

import torch
from torch import nn


def find_layer(model: nn.Module, layer) -> tuple[str, nn.Module]:
    """(dotted name, module) of ``layer``: a module inside ``model`` or its name in ``model.named_modules()``."""
    names = dict(model.named_modules())
    if isinstance(layer, str):
        if layer not in names or layer == "":
            shown = [n for n in names if n][:12]
            raise ValueError(f"layer: no module named {layer!r} in the model; its modules are "
                             f"{', '.join(map(repr, shown))}{', ...' if len(names) > 13 else ''}")
        return layer, names[layer]
    if isinstance(layer, nn.Module):
        for name, module in names.items():
            if module is layer:
                return name, module
        raise ValueError(f"layer: expected a module inside the model, got a {type(layer).__name__} that is not "
                         "one of model.modules()")
    raise TypeError(f"layer: expected a module of the model or its dotted name (e.g. 'features.5'), "
                    f"got {type(layer).__name__}")


def check_feature_map(output) -> torch.Tensor:
    """A layer's output, checked to be an (N, C, h, w) tensor: a ValueError naming ``layer`` otherwise."""
    if not isinstance(output, torch.Tensor) or output.ndim != 4:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(f"layer: expected a layer whose output is a (N, channels, h, w) feature map, got {shape}")
    return output


class _Stop(Exception):
    """Raised by the hook to end a forward pass once the layer has run (nothing after it is needed)."""


@contextmanager
def activations_of(module: nn.Module, *, stop: bool = False) -> Iterator[list[torch.Tensor]]:
    """Record ``module``'s (N, C, h, w) output at every forward pass into the yielded list.

    stop: end each forward pass right after the module (the caller then runs the model through
    ``run_to``). The hook is removed on exit, also after an error. A module whose output is not a
    4-D feature map is a ValueError naming ``layer``.
    """
    outputs: list[torch.Tensor] = []

    def keep(_module, _inputs, output):
        check_feature_map(output)
        outputs.append(output)
        if stop:
            raise _Stop

    handle = module.register_forward_hook(keep)
    try:
        yield outputs
    finally:
        handle.remove()


def run_to(model: nn.Module, images: torch.Tensor, outputs: list[torch.Tensor]) -> torch.Tensor:
    """Run ``model`` on ``images`` inside ``activations_of(..., stop=True)``: the layer's (N, C, h, w) output."""
    outputs.clear()
    try:
        model(images)
    except _Stop:
        pass
    if len(outputs) != 1:
        raise ValueError(f"layer: expected a layer that runs once per forward pass, it ran {len(outputs)} times")
    return outputs[0]


def check_channels(channels, num_channels: int | None, name: str = "channel") -> torch.Tensor:
    """An int or a sequence of ints, each in [0, num_channels) (None: any non-negative), as a (K,) int64 tensor."""
    if isinstance(channels, torch.Tensor) and not channels.is_floating_point() and channels.ndim <= 1:
        channels = channels.tolist()
    values = [channels] if isinstance(channels, Integral) else channels
    if not isinstance(values, (list, tuple, range)) or len(values) == 0 or not all(
            isinstance(v, Integral) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{name}: expected a channel index or a non-empty sequence of them, got {channels!r}")
    values = [int(v) for v in values]
    bad = [v for v in values if v < 0 or (num_channels is not None and v >= num_channels)]
    if bad and num_channels is None:
        raise ValueError(f"{name}: expected non-negative channel indices, got {bad[0]}")
    if bad:
        raise ValueError(f"{name}: channel {bad[0]} is out of range; the layer has {num_channels} channels "
                         f"(valid: 0 to {num_channels - 1})")
    return torch.tensor(values, dtype=torch.long)


@contextmanager
def ablated(model: nn.Module, layer, channels) -> Iterator[torch.Tensor]:
    """Inside the block, ``layer``'s output has ``channels`` (an int or a sequence) set to zero: the units switched off.

    Yields the (K,) channel indices. The hook is removed on exit, also after an error; nothing else changes.
    """
    _, module = find_layer(model, layer)
    chosen: list[torch.Tensor] = []

    def zero(_module, _inputs, output):
        check_feature_map(output)
        if not chosen:
            chosen.append(check_channels(channels, output.shape[1], "channels"))
        output = output.clone()
        output[:, chosen[0].to(output.device)] = 0
        return output

    handle = module.register_forward_hook(zero)
    try:
        yield check_channels(channels, None, "channels")
    finally:
        handle.remove()

"""Sanity checks for saliency methods (Adebayo et al., 2018): does the map depend on the model?

A saliency map is meant to explain *the model*. If re-initializing the model's weights, which
destroys everything it learned, leaves a method's map almost unchanged, then that map was
explaining the image (its edges, its colours), not the model. The *cascading model
randomization* test re-initializes the layers one at a time, from the output layer down to
the input layer, and measures after each step how similar the maps still are to the trained
model's maps, with a rank correlation per image.

    for name, randomized in cascading_randomization(model, seed=0):
        rho = rank_correlation(saliency_map(model, x, y), saliency_map(randomized, x, y))  # (N,)
"""
from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from ._checks import check_model


def randomizable_layers(model: nn.Module) -> list[str]:
    """Names of the modules that hold parameters of their own, from the output layer to the input layer.

    The order is the reverse of the order in which the modules were registered, which is the
    order of the forward pass for ``nn.Sequential`` models and for ``ZooNet``. For a model whose
    ``forward`` uses its modules in another order, pass ``layers=`` to ``cascading_randomization``.
    For ZooNet: ``['classifier', 'features.13', 'features.12', ..., 'features.1', 'features.0']``
    (the linear layer, then batch-norm and convolution of each block, top block first).
    """
    check_model(model)
    return [name for name, module in model.named_modules()
            if next(module.parameters(recurse=False), None) is not None][::-1]


def reinitialize_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Re-initialize the parameters of ``module`` itself (not its children) in place; returns it.

    Uses the module's own ``reset_parameters()`` — the initialization PyTorch gave the layer
    before training (for convolution and linear layers random weights; for batch-norm weight 1,
    bias 0, running mean 0 and running variance 1). A module without ``reset_parameters`` gets
    each parameter redrawn from a normal distribution with the trained parameter's standard
    deviation. The draw is made on the CPU under ``seed``, so it is the same on every device,
    and the global random state is left untouched.
    """
    own = next(module.parameters(recurse=False), None)
    if own is None:
        raise ValueError(f"module: a {type(module).__name__} has no parameters of its own to re-initialize")
    device = own.device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module.to("cpu")
        if callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()
        else:
            with torch.no_grad():
                for param in module.parameters(recurse=False):
                    std = float(param.std()) if param.numel() > 1 else 1.0
                    param.normal_(0.0, std or 1.0)
        module.to(device)
    return module


def cascading_randomization(model: nn.Module, seed: int = 0,
                            layers: Sequence[str] | None = None) -> Iterator[tuple[str, nn.Module]]:
    """Re-initialize the layers one more at a time from the top; yield ``(layer name, randomized copy)``.

    model: any ``nn.Module``; it is never modified (every step works on a deep copy).
    seed: makes the re-initialization reproducible (layer k uses ``seed + k``).
    layers: module names in the order to randomize them (default: ``randomizable_layers(model)``,
        output layer first). Each name must be a submodule holding parameters of its own.
    Yields ``len(layers)`` pairs; the k-th copy has ``layers[0], ..., layers[k]`` re-initialized
    (see ``reinitialize_``) and the rest as trained. Each yielded copy is a separate model (on
    the model's device, in the model's train/eval mode) that the caller may keep.
    """
    check_model(model)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    if layers is None:
        names = randomizable_layers(model)
    else:
        if isinstance(layers, str) or not isinstance(layers, Sequence):
            raise TypeError(f"layers: expected a sequence of module names, got {type(layers).__name__}")
        names = list(layers)
        available = dict(model.named_modules())
        for name in names:
            if not isinstance(name, str) or name not in available:
                raise ValueError(f"layers: {name!r} is not a submodule name of the model; "
                                 f"expected names such as {randomizable_layers(model)[:3]}")
            if next(available[name].parameters(recurse=False), None) is None:
                raise ValueError(f"layers: module {name!r} has no parameters of its own to randomize")
        if len(set(names)) != len(names):
            raise ValueError(f"layers: expected distinct module names, got {names}")
    if not names:
        raise ValueError("model: it has no parameters to randomize")

    def steps() -> Iterator[tuple[str, nn.Module]]:
        working = copy.deepcopy(model)
        for k, name in enumerate(names):
            reinitialize_(working.get_submodule(name), seed + k)
            yield name, copy.deepcopy(working)

    return steps()


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """(N, L) -> (N, L) float64 ranks 0..L-1 along each row; tied values share their mean rank."""
    n, length = values.shape
    sorted_values, order = values.sort(dim=1)
    starts = torch.ones_like(sorted_values, dtype=torch.bool)
    starts[:, 1:] = sorted_values[:, 1:] != sorted_values[:, :-1]
    groups = (starts.cumsum(1) - 1) + torch.arange(n, device=values.device)[:, None] * length
    positions = torch.arange(length, dtype=torch.float64, device=values.device).expand(n, length)
    mean_position = torch.zeros(n * length, dtype=torch.float64, device=values.device).scatter_reduce(
        0, groups.reshape(-1), positions.reshape(-1), reduce="mean", include_self=False)
    return torch.empty_like(positions).scatter_(1, order, mean_position[groups])


def rank_correlation(maps_a: torch.Tensor, maps_b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation between two maps of each image: (N, ...) and (N, ...) -> (N,).

    Each image's map is flattened and its values replaced by their ranks (ties share their
    average rank); the result is the Pearson correlation of the two rank vectors, in [-1, 1]:
    1 when the two maps order the pixels the same way, whatever their scale, about 0 when the
    orders are unrelated. Undefined (NaN) for an image where either map is constant, as in
    ``scipy.stats.spearmanr``. Computed in float64 on the maps' device; returned as float32.
    """
    for name, maps in (("maps_a", maps_a), ("maps_b", maps_b)):
        if not isinstance(maps, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor of shape (N, ...), got {type(maps).__name__}")
        if maps.ndim < 2 or maps.shape[0] == 0 or maps[0].numel() < 2:
            raise ValueError(f"{name}: expected shape (N, ...) with N ≥ 1 and at least 2 values per map, "
                             f"got {tuple(maps.shape)}")
        if maps.is_complex() or not torch.isfinite(maps.double()).all():
            raise ValueError(f"{name}: expected finite real values")
    if maps_a.shape != maps_b.shape:
        raise ValueError(f"maps_b: expected the same shape as maps_a {tuple(maps_a.shape)}, got {tuple(maps_b.shape)}")
    ranks = [_average_ranks(maps.detach().reshape(len(maps), -1).double()) for maps in (maps_a, maps_b.to(maps_a.device))]
    centred = [r - r.mean(1, keepdim=True) for r in ranks]
    norms = centred[0].norm(dim=1) * centred[1].norm(dim=1)
    rho = (centred[0] * centred[1]).sum(1) / norms
    rho = torch.where(norms > 0, rho, torch.full_like(rho, float("nan")))
    return rho.clamp(-1.0, 1.0).float()

"""Cost of the attribution helpers, measured against a reference in the same run.

    python scripts/benchmark.py --only attribution [--quick]

Rows: median times of several warmed-up rounds; ours/ref = the median over rounds of the ratio
measured within each round (each round runs every contender once, in a rotating order; see
``timing.compare``). Only the helpers' public API is timed; the references are Captum and code
written here, on bare ``torch.autograd.grad`` calls:

* ``saliency_map`` vs Captum's ``Saliency`` (+ channel max) on the same model and batch:
  ZooNet (64 images, 64×64) and a SqueezeNet-1.1 (random weights, 8 images, 224×224).
  Budget ≤ 1.10. Also vs a naive version that calls ``loss.backward()`` with parameter
  gradients on (no budget; it should be slower, ratio < 1).
* ``smoothgrad`` (50 samples) and ``integrated_gradients`` (50 steps), batched (``batch_size``
  32), vs a loop doing one forward/backward per noisy copy / path point of one image (the same
  noise, the same Gauss–Legendre points, so the same result, checked before timing): ZooNet,
  4 images. Budget ≤ 0.33 (≥ 3× faster) where the model is not compute-bound (a GPU); on a CPU the
  loop is compute-bound too and the row has no budget. And vs the **compute floor**: one bare
  ``torch.autograd.grad`` pass over the same 200 copies (noisy copies / path points, made before the
  clock starts), 32 at a time. Budget ≤ 1.25 (the helper also draws the noise, checks the input and
  accumulates).

Timings depend on the machine and on whatever else runs on it: compare ratios within one run.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from helpers import (integrated_gradients, load_model, load_photos, load_pretrained, make_toy_zoo, saliency_map,
                     smoothgrad)

from .timing import compare, row


def _score_gradient(model, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """∂S_target/∂x of a batch by one bare ``torch.autograd.grad`` call (no parameter gradient is computed)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).gather(1, target[:, None]).sum(), x)
    return grad


def _naive_saliency(model, x, t):
    """What one writes first: backward() through the model with its parameter gradients on."""
    model.eval()
    x = x.detach().requires_grad_(True)
    model(x).gather(1, t[:, None]).sum().backward()
    model.zero_grad(set_to_none=True)
    return x.grad.abs().amax(1)


def _loop_smoothgrad(model, x, t, n_samples=50, noise=0.15, seed=0):
    """SmoothGrad one noisy copy of one image per forward/backward, drawing the noise in ``smoothgrad``'s
    order (copy k of image i is draw k·N + i), so the maps are the same."""
    generator = torch.Generator(device=x.device).manual_seed(seed)
    sigma = noise * (x.amax((1, 2, 3)) - x.amin((1, 2, 3)))
    total = torch.zeros_like(x)
    for _ in range(n_samples):
        for i in range(len(x)):
            noisy = x[i] + sigma[i] * torch.randn(x.shape[1:], generator=generator, device=x.device)
            total[i] += _score_gradient(model, noisy[None], t[i:i + 1])[0].abs()
    return (total / n_samples).amax(1)


def _loop_integrated_gradients(model, x, t, steps=50):
    """Integrated Gradients from a black baseline, one path point of one image per forward/backward, with the
    ``steps``-point Gauss–Legendre rule on [0, 1] (as ``integrated_gradients`` and Captum's default)."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    out = []
    for i in range(len(x)):
        total = torch.zeros_like(x[i])
        for node, weight in zip(nodes, weights):
            alpha = 0.5 * (float(node) + 1)
            total += 0.5 * float(weight) * _score_gradient(model, alpha * x[i:i + 1], t[i:i + 1])[0]
        out.append(x[i] * total)
    return torch.stack(out)


def _floor(model, copies: torch.Tensor, targets: torch.Tensor, batch_size: int = 32) -> None:
    """The compute floor: one bare input-gradient pass over ``copies`` (already made), ``batch_size`` at a time."""
    for start in range(0, len(copies), batch_size):
        _score_gradient(model, copies[start:start + batch_size], targets[start:start + batch_size])


def _same(ours: torch.Tensor, reference: torch.Tensor, what: str) -> None:
    """The reference computes what the helper computes, or the timing compares nothing: up to float rounding,
    which can move a point across a ReLU's kink, where the gradient jumps (hence the relative L2 norm, < 1 %)."""
    error = ((ours - reference).norm() / reference.norm()).item()
    assert error < 1e-2, f"{what}: the reference differs from the helper by {error:.1e} (relative L2)"


def run(device: torch.device | str = "cpu", quick: bool = False) -> list[dict]:
    """Measure every row on ``device`` (``quick``: fewer rounds); returns the rows."""
    with warnings.catch_warnings():  # Captum's note that it set requires_grad on the input itself
        warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
        return _measure(torch.device(device), quick)


def _measure(device: torch.device, quick: bool) -> list[dict]:
    from captum.attr import Saliency
    from torchvision.models import squeezenet1_1

    zoo = make_toy_zoo(64, seed=0)
    torch.manual_seed(0)
    cases = [
        ("ZooNet, 64×64×64", load_model("zoonet"), zoo.images, zoo.labels),
        ("SqueezeNet1.1, 8×224×224", squeezenet1_1(weights=None).eval(), torch.rand(8, 3, 224, 224),
         torch.arange(8) * 100),
        ("EfficientNet-Lite0 (ImageNet weights), 6 photos 224×224", load_pretrained()[0], load_photos(size=224),
         torch.tensor([285, 967, 450, 657, 665, 652])),
    ]
    rows = []
    for label, model, images, labels in cases:
        model, x, t = model.to(device), images.to(device), labels.to(device)
        captum = Saliency(model)
        rounds = 3 if quick else 9 if len(x) == 64 or device.type == "cuda" else 7
        (ours, ref, naive), (r_ref, r_naive) = compare([lambda: saliency_map(model, x, t),
                                                        lambda: captum.attribute(x, target=t, abs=True).amax(1),
                                                        lambda: _naive_saliency(model, x, t)], device, rounds)
        rows.append(row(f"saliency_map, {label}", device, ours, ref, r_ref, "Captum Saliency", 1.10))
        rows.append(row(f"saliency_map, {label}", device, ours, naive, r_naive, "naive .backward()",
                        note="< 1 expected"))

    model = load_model("zoonet").to(device)
    x, t = zoo.images[:4].to(device), zoo.labels[:4].to(device)
    rounds = 2 if quick else 3
    contenders = {
        "smoothgrad 50 samples": (lambda: smoothgrad(model, x, t, n_samples=50, progress=False),
                                  lambda: _loop_smoothgrad(model, x, t, n_samples=50), "loop: 1 copy/pass"),
        "integrated_gradients 50 steps": (lambda: integrated_gradients(model, x, t, steps=50, progress=False),
                                          lambda: _loop_integrated_gradients(model, x, t, steps=50),
                                          "loop: 1 point/pass"),
    }
    sigma = 0.15 * (x.amax((1, 2, 3)) - x.amin((1, 2, 3)))
    noisy = (x.repeat(50, 1, 1, 1) + sigma.repeat(50)[:, None, None, None] * torch.randn(200, *x.shape[1:],
                                                                                         device=device))
    path = torch.cat([float(a) * x for a in np.linspace(0.01, 1, 50)])
    floors = {"smoothgrad 50 samples": noisy, "integrated_gradients 50 steps": path}
    for name, (ours_fn, loop_fn, ref_name) in contenders.items():
        _same(ours_fn(), loop_fn(), name)
        copies = floors[name]
        (ours, loop, floor), (ratio, floor_ratio) = compare(
            [ours_fn, loop_fn, lambda: _floor(model, copies, t.repeat(50))], device, rounds)
        rows.append(row(f"{name}, ZooNet, 4 images", device, ours, loop, ratio, ref_name,
                        1 / 3 if device.type == "cuda" else None,
                        note="—" if device.type == "cuda" else "CPU: compute-bound, no budget"))
        rows.append(row(f"{name}, ZooNet, 4 images", device, ours, floor, floor_ratio,
                        "compute floor: bare grad, 200 copies", 1.25))
    return rows

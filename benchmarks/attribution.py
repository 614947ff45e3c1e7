"""Cost of the attribution helpers, measured against a reference in the same run.

    python scripts/benchmark.py --only attribution

Rows: median times of several warmed-up rounds; ours/ref = the median over rounds of the ratio
measured within each round (each round runs every contender once, in a rotating order):

* ``saliency_map`` vs Captum's ``Saliency`` (+ channel max) on the same model and batch:
  ZooNet (64 images, 64×64) and a SqueezeNet-1.1 (random weights, 8 images, 224×224).
  Budget ≤ 1.10. Also vs a naive version that calls ``loss.backward()`` with parameter
  gradients on (no budget; it should be slower, ratio < 1).
* ``smoothgrad`` (50 samples) and ``integrated_gradients`` (50 steps), batched (``batch_size``
  32), vs a per-sample loop doing one forward/backward per noisy copy / path point of one image,
  with the same gradient code: ZooNet, 4 images. Budget ≤ 0.33 (≥ 3× faster).

Timings depend on the machine and on whatever else runs on it: compare ratios within one run.
"""
from __future__ import annotations

import statistics
import warnings

import torch

from helpers import integrated_gradients, load_model, make_toy_zoo, saliency_map, smoothgrad
from helpers.attribution import _gauss_legendre, _input_grad
from helpers.model_state import frozen_eval

from .timing import seconds


def _compare(fns: list, device: torch.device, rounds: int, warmup: int = 1) -> tuple[list[float], list[float]]:
    """Time ``fns`` in ``rounds`` rounds; each round runs every function once, in a rotating order.

    Returns (median seconds of each function, median over rounds of fns[0]'s time / fns[j]'s time
    for each j ≥ 1). Ratios are taken within a round, so a load that changes during the run (other
    processes on a shared machine) affects both sides of each ratio alike.
    """
    for _ in range(warmup):
        for fn in fns:
            seconds(fn, device)
    times = []
    for r in range(rounds):
        order = [(r + j) % len(fns) for j in range(len(fns))]
        taken = {j: seconds(fns[j], device) for j in order}
        times.append([taken[j] for j in range(len(fns))])
    medians = [statistics.median(column) for column in zip(*times)]
    ratios = [statistics.median(row[0] / row[j] for row in times) for j in range(1, len(fns))]
    return medians, ratios


def _naive_saliency(model, x, t):
    """What one writes first: backward() through the model with its parameter gradients on."""
    model.eval()
    x = x.detach().requires_grad_(True)
    model(x).gather(1, t[:, None]).sum().backward()
    model.zero_grad(set_to_none=True)
    return x.grad.abs().amax(1)


def _loop_smoothgrad(model, x, t, n_samples=50, noise=0.15, seed=0):
    """SmoothGrad one noisy copy of one image per forward/backward (same gradient code, no batching)."""
    generator = torch.Generator(device=x.device).manual_seed(seed)
    out = []
    with frozen_eval(model):
        for i in range(len(x)):
            sigma = noise * (x[i].max() - x[i].min())
            total = torch.zeros_like(x[i])
            for _ in range(n_samples):
                noisy = x[i] + sigma * torch.randn(x.shape[1:], generator=generator, device=x.device)
                total += _input_grad(model, noisy[None], t[i:i + 1], check=False)[0].abs()
            out.append((total / n_samples).amax(0))
    return torch.stack(out)


def _loop_integrated_gradients(model, x, t, steps=50):
    """Integrated Gradients one path point of one image per forward/backward (same rule, no batching)."""
    alphas, weights = _gauss_legendre(steps)
    out = []
    with frozen_eval(model):
        for i in range(len(x)):
            total = torch.zeros_like(x[i])
            for a, w in zip(alphas, weights):
                total += w * _input_grad(model, a * x[i:i + 1], t[i:i + 1], check=False)[0]
            out.append(x[i] * total)
    return torch.stack(out)


def _row(name, device, ours, reference, ratio, ref_name, budget, limit):
    return {"benchmark": name, "device": device.type, "ours [ms]": f"{1e3 * ours:.1f}",
            "reference": ref_name, "ref [ms]": f"{1e3 * reference:.1f}", "ours/ref": f"{ratio:.2f}",
            "budget": budget, "ok": "—" if limit is None else ("yes" if ratio <= limit else "NO")}


def run(device: torch.device | str = "cpu") -> list[dict]:
    """Measure every row on ``device``; returns the rows (dicts with the same keys)."""
    with warnings.catch_warnings():  # Captum's note that it set requires_grad on the input itself
        warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
        return _measure(torch.device(device))


def _measure(device: torch.device) -> list[dict]:
    from captum.attr import Saliency
    from torchvision.models import squeezenet1_1

    zoo = make_toy_zoo(64, seed=0)
    torch.manual_seed(0)
    cases = [
        ("ZooNet, 64×64×64", load_model("zoonet"), zoo.images, zoo.labels),
        ("SqueezeNet1.1, 8×224×224", squeezenet1_1(weights=None).eval(), torch.rand(8, 3, 224, 224),
         torch.arange(8) * 100),
    ]
    rows = []
    for label, model, images, labels in cases:
        model, x, t = model.to(device), images.to(device), labels.to(device)
        captum = Saliency(model)
        rounds = 9 if len(x) == 64 or device.type == "cuda" else 7
        (ours, ref, naive), (r_ref, r_naive) = _compare([lambda: saliency_map(model, x, t),
                                                         lambda: captum.attribute(x, target=t, abs=True).amax(1),
                                                         lambda: _naive_saliency(model, x, t)], device, rounds)
        rows.append(_row(f"saliency_map, {label}", device, ours, ref, r_ref, "Captum Saliency", "≤ 1.10", 1.10))
        rows.append(_row(f"saliency_map, {label}", device, ours, naive, r_naive, "naive .backward()",
                         "< 1 expected", None))

    model = load_model("zoonet").to(device)
    x, t = zoo.images[:4].to(device), zoo.labels[:4].to(device)
    (ours, loop), (ratio,) = _compare([lambda: smoothgrad(model, x, t, n_samples=50, progress=False),
                                       lambda: _loop_smoothgrad(model, x, t, n_samples=50)], device, 3)
    rows.append(_row("smoothgrad 50 samples, ZooNet, 4 images", device, ours, loop, ratio, "loop: 1 copy/pass",
                     "≤ 0.33", 1 / 3))
    (ours, loop), (ratio,) = _compare([lambda: integrated_gradients(model, x, t, steps=50, progress=False),
                                       lambda: _loop_integrated_gradients(model, x, t, steps=50)], device, 3)
    rows.append(_row("integrated_gradients 50 steps, ZooNet, 4 images", device, ours, loop, ratio,
                     "loop: 1 point/pass", "≤ 0.33", 1 / 3))
    return rows


if __name__ == "__main__":  # python -m benchmarks.attribution (the full table: scripts/benchmark.py)
    results = run()
    print(" | ".join(results[0]))
    for result in results:
        print(" | ".join(result.values()))

"""Cost of class model visualization, measured against a reference in the same run.

    python scripts/benchmark.py --only class_model
    python -m benchmarks.class_model          # this table alone

Rows (ratio = our time / the reference's time, median of several warmed-up repeats):

* one visualization step (default regularizers: L2, jitter, blur every 4 steps, clamping; Adam)
  vs one ``input_gradient`` call on the same model, batch and image size: ZooNet (64×64) with
  1 and 8 images, and a SqueezeNet-1.1 (random weights, 224×224) with 1 image. The step time is
  a whole ``class_model_visualization`` run divided by its number of steps, so it includes the
  set-up (a probe forward pass, the start image, the final evaluation); the reference is as many
  ``input_gradient`` calls. Budget ≤ 1.30.
* all 8 ZooNet classes in one batch vs one class at a time (50 steps each): time per class.
  Budget < 1.00 (batching must be faster per class).

Ours and the reference are timed in alternation and the ratio is the median of the paired ratios,
so a burst of load from other work on a shared machine hits both sides alike.

Timings depend on the machine and on whatever else runs on it: compare ratios within one run.
"""
from __future__ import annotations

import statistics

import torch

from helpers import class_model_visualization, input_gradient, load_model

from .timing import seconds

STEP_BUDGET = 1.30


def _paired(ours, reference, device: torch.device, repeats: int) -> tuple[float, float, float]:
    """Median time of ``ours`` and ``reference`` and the median of their ratios, timed in alternation
    (after one warm-up of each), so that both see the same load on a shared machine."""
    ours(), reference()
    pairs = [(seconds(ours, device), seconds(reference, device)) for _ in range(repeats)]
    return (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(a / b for a, b in pairs))


def _squeezenet() -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.squeezenet1_1(weights=None).eval()


def _step_row(name: str, model, batch: int, size: int, device, steps: int, repeats: int, **settings) -> dict:
    torch.manual_seed(0)
    images = torch.rand(batch, 3, size, size, device=device)
    targets = list(range(batch))

    def reference():  # as many input-gradient passes as ours takes steps
        for _ in range(steps):
            input_gradient(model, images, targets)

    def ours():
        class_model_visualization(model, targets, steps=steps, image_shape=(3, size, size), progress=False, **settings)

    t_ours, t_ref, ratio = _paired(ours, reference, device, repeats)
    how = f", {settings['optimizer']} steps" if "optimizer" in settings else ""
    return {"what": f"one step vs one input_gradient, {name}{how}, {batch} image(s) {size}x{size}",
            "device": device.type, "ours ms": f"{1e3 * t_ours / steps:.2f}", "reference ms": f"{1e3 * t_ref / steps:.2f}",
            "ratio": f"{ratio:.2f}", "budget": f"<= {STEP_BUDGET:.2f}", "ok": "yes" if ratio <= STEP_BUDGET else "NO"}


def run(device: str = "cpu", quick: bool = False) -> list[dict]:
    device = torch.device(device)
    zoonet = load_model("zoonet").to(device)
    steps, repeats = (10, 3) if quick else (30, 7)
    rows = [
        _step_row("ZooNet", zoonet, 1, 64, device, steps, repeats),
        _step_row("ZooNet", zoonet, 8, 64, device, steps, repeats),
        _step_row("SqueezeNet-1.1", _squeezenet().to(device), 1, 224, device, max(steps // 3, 4), repeats),
        _step_row("SpatialZooNet", load_model("zoonet_spatial").to(device), 8, 64, device, steps, repeats,
                  optimizer="normalized", lr=0.25, jitter=0, blur_every=0, l2=0.0),
    ]
    n_steps = 20 if quick else 50
    classes = list(range(8))
    t_batch, t_single, ratio = _paired(
        lambda: class_model_visualization(zoonet, classes, steps=n_steps, progress=False),
        lambda: [class_model_visualization(zoonet, c, steps=n_steps, progress=False) for c in classes],
        device, 2 if quick else 5)
    rows.append({"what": f"all 8 ZooNet classes in one batch vs one at a time ({n_steps} steps), per class",
                 "device": device.type, "ours ms": f"{1e3 * t_batch / 8:.1f}", "reference ms": f"{1e3 * t_single / 8:.1f}",
                 "ratio": f"{ratio:.2f}", "budget": "< 1.00", "ok": "yes" if ratio < 1 else "NO"})
    return rows


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from benchmark import format_table

    print(format_table(run("cuda" if torch.cuda.is_available() else "cpu", quick="--quick" in sys.argv)))

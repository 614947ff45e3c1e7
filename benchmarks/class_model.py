"""Cost of class model visualization, measured against a reference in the same run.

    python scripts/benchmark.py --only class_model [--quick]

Rows (ratio = our time / the reference's time, median of several warmed-up repeats):

* one visualization step (default regularizers: L2, jitter, blur every 4 steps, clamping; Adam)
  vs one ``input_gradient`` call on the same model, batch and image size: ZooNet (64×64) with
  1 and 8 images, a SqueezeNet-1.1 (random weights, 224×224) with 1 image, and the SpatialZooNet
  with 8 images and normalized-gradient steps (no regularizers), and EfficientNet-Lite0 (ImageNet
  weights) with 4 images of 96×96 in notebook 06's set-up: Fourier parameterization, Adam, and the
  transforms of ``standard_transforms()`` (pad, jitter, scale, rotation, on the model's device); its
  reference is an input gradient at the size the model sees after them (96 + 2·12 − 8 − 4 = 108). The step time is
  a whole ``class_model_visualization`` run divided by its number of steps, so it includes the
  set-up (a probe forward pass, the start image, the final evaluation); the reference is as many
  ``input_gradient`` calls. Budget ≤ 1.30.
* all 8 ZooNet classes in one batch vs one class at a time (50 steps each): time per class.
  Budget < 1.00 (batching must be faster per class).

Ours and the reference are timed in alternation, taking turns to go first, and the ratio is the median
of the paired ratios, so a burst of load from other work on a shared machine hits both sides alike
(``timing.compare``).

Timings depend on the machine and on whatever else runs on it: compare ratios within one run.
"""
from __future__ import annotations

import torch

from helpers import class_model_visualization, input_gradient, load_model, load_pretrained, standard_transforms

from .timing import compare, row

STEP_BUDGET = 1.30


def _squeezenet() -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.squeezenet1_1(weights=None).eval()


def _step_row(name: str, model, batch: int, size: int, device, steps: int, rounds: int, seen: int | None = None,
              **settings) -> dict:
    """``seen``: the side of the image the model sees after the transforms (the reference's size; default ``size``)."""
    torch.manual_seed(0)
    images = torch.rand(batch, 3, seen or size, seen or size, device=device)
    targets = list(range(batch))

    def reference():  # as many input-gradient passes as ours takes steps
        for _ in range(steps):
            input_gradient(model, images, targets)

    def ours():
        class_model_visualization(model, targets, steps=steps, image_shape=(3, size, size), progress=False, **settings)

    (t_ours, t_ref), (ratio,) = compare([ours, reference], device, rounds)
    how = f", {settings['optimizer']} steps" if "optimizer" in settings else ""
    return row(f"one step, {name}{how}, {batch} image(s) {size}x{size}", device, t_ours / steps, t_ref / steps, ratio,
               "one input_gradient", STEP_BUDGET)


def run(device: torch.device | str = "cpu", quick: bool = False) -> list[dict]:
    """Measure every row on ``device`` (``quick``: fewer steps and rounds); returns the rows."""
    device = torch.device(device)
    zoonet = load_model("zoonet").to(device)
    steps, rounds = (10, 3) if quick else (30, 7)
    rows = [
        _step_row("ZooNet", zoonet, 1, 64, device, steps, rounds),
        _step_row("ZooNet", zoonet, 8, 64, device, steps, rounds),
        _step_row("SqueezeNet-1.1", _squeezenet().to(device), 1, 224, device, max(steps // 3, 4), rounds),
        _step_row("SpatialZooNet", load_model("zoonet_spatial").to(device), 8, 64, device, steps, rounds,
                  optimizer="normalized", lr=0.25, jitter=0, blur_every=0, l2=0.0),
        _step_row("EfficientNet-Lite0, Fourier + standard_transforms()", load_pretrained()[0].to(device), 4, 96,
                  device, max(steps // 3, 4), rounds, seen=96 + 2 * 12 - 8 - 4, parameterization="fourier", jitter=0, l2=0.0,
                  transforms=standard_transforms()),
    ]
    n_steps = 20 if quick else 50
    classes = list(range(8))
    (t_batch, t_single), (ratio,) = compare(
        [lambda: class_model_visualization(zoonet, classes, steps=n_steps, progress=False),
         lambda: [class_model_visualization(zoonet, c, steps=n_steps, progress=False) for c in classes]],
        device, 2 if quick else 5)
    rows.append(row(f"all 8 ZooNet classes in one batch ({n_steps} steps), per class", device, t_batch / 8,
                    t_single / 8, ratio, "one class at a time", 1.0, strict=True))
    return rows

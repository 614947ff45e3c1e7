"""Occlusion: attribution by hiding patches (forward passes only, batched)."""
from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import check_positive_int
from ..baselines import as_fill
from ..batching import batches
from ..model_state import frozen_eval, like_input
from ..objectives import GREY, objective_value
from ._core import _checked_forward, _prepare


def default_patches(side: int) -> dict:
    """Occlusion's default patches for images whose shorter side is ``side``: windows an eighth of the
    image wide, overlapping by half (about 15 × 15 positions on any size; 8 and 4 on 64-pixel images)."""
    window = max(2, side // 8)
    return {"window": window, "stride": max(1, window // 2)}


def occlusion_map(model: nn.Module, images: torch.Tensor, target, window: int | None = None,
                  stride: int | None = None, fill=GREY, batch_size: int = 32,
                  progress: bool = True) -> torch.Tensor:
    """Occlusion (Zeiler & Fergus, 2014): how much the target score drops when a patch is hidden, (N, H, W).

    A window × window patch (all channels) is set to ``fill`` (a number, a tensor like the images,
    ``"mean"`` or ``"blur"``: see ``helpers.baselines``), at top-left corners
    (r, c) = (a·stride, b·stride) for a = 0 … ceil((H − window) / stride) (likewise b over W);
    a last window that would run past the border is clipped to the image, so every pixel is
    covered. For each patch p the drop is d_p = S_target(x) − S_target(x with patch p filled).
    A pixel's value is the mean of d_p over the patches that cover it:

        map[h, w] = Σ_{p ∋ (h, w)} d_p / #{p ∋ (h, w)}

    Positive: hiding the region lowers the score (evidence for the class). Same as Captum's
    Occlusion with sliding_window_shapes=(C, window, window), strides=(C, stride, stride),
    baselines=fill (all channels then carry the same value).

    window, stride: None (the defaults) take ``default_patches(min(H, W))``. fill: grey by default
    (black patches look like the Toy Zoo's dark outlines to a model, notebook 04).
    Requires stride ≤ window ≤ min(H, W). Batched over patches, ``batch_size`` occluded images
    per forward pass (no backward). The model runs in eval mode and is left as it was.
    ``progress`` shows a bar over the batches.
    """
    x, target = _prepare(model, images, target, needs_grad=False)
    n, _, height, width = x.shape
    patches = default_patches(min(height, width))
    window = patches["window"] if window is None else window
    stride = patches["stride"] if stride is None else stride
    check_positive_int(window, "window")
    check_positive_int(stride, "stride")
    check_positive_int(batch_size, "batch_size")
    hidden = as_fill(fill, x, "fill")
    if window > min(height, width):
        raise ValueError(f"window: expected at most the image size {min(height, width)}, got {window}")
    if stride > window:
        raise ValueError(f"stride: expected at most window ({window}) so that every pixel is covered, got {stride}")
    rows = stride * torch.arange(math.ceil((height - window) / stride) + 1, device=x.device)  # top edges
    cols = stride * torch.arange(math.ceil((width - window) / stride) + 1, device=x.device)  # left edges
    n_patches = len(rows) * len(cols)
    hh = torch.arange(height, device=x.device)
    ww = torch.arange(width, device=x.device)

    def patch_masks(p: torch.Tensor) -> torch.Tensor:  # (B,) patch indices -> (B, H, W) bool
        r, c = rows[p // len(cols)], cols[p % len(cols)]
        in_rows = (hh[None] >= r[:, None]) & (hh[None] < r[:, None] + window)
        in_cols = (ww[None] >= c[:, None]) & (ww[None] < c[:, None] + window)
        return in_rows[:, :, None] & in_cols[:, None, :]

    total = torch.zeros((n, height, width), dtype=x.dtype, device=x.device)
    with frozen_eval(model), torch.no_grad():
        base = objective_value(_checked_forward(model, x, target), target, "score")
        for copies in batches(n * n_patches, batch_size, desc="occlusion", progress=progress):
            i, p = copies % n, copies.to(x.device) // n
            masks = patch_masks(p)
            occluded = torch.where(masks[:, None], hidden[i], x[i])
            i = i.to(x.device)
            drop = base[i] - objective_value(model(occluded), target[i.cpu()], "score")
            total.index_add_(0, i, drop[:, None, None] * masks)
        counts = patch_masks(torch.arange(n_patches, device=x.device)).sum(0)
    return like_input(total / counts, images)

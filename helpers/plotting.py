"""Small matplotlib helpers for showing images and maps with titles and colorbars."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch


def to_numpy_image(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) tensor -> (H, W, C) array clipped to [0, 1] for ``imshow`` ((H, W) for one channel)."""
    array = image.detach().float().cpu().numpy()
    array = array.transpose(1, 2, 0) if array.ndim == 3 else array
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    return np.clip(array, 0, 1)


def image_grid(images: torch.Tensor, titles: list[str] | None = None, ncols: int = 8, size: float = 1.6,
               suptitle: str | None = None):
    """Show (N, C, H, W) images in a grid with optional per-image titles; returns the figure."""
    n = len(images)
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_numpy_image(images[i]))
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def outline(ax, mask: torch.Tensor, color: str = "cyan", linewidth: float = 1.0) -> None:
    """Draw the boundary of an (H, W) bool mask on ``ax``."""
    ax.contour(mask.detach().cpu().float().numpy(), levels=[0.5], colors=color, linewidths=linewidth)


def show_map(ax, heatmap: torch.Tensor, title: str = "", cmap: str | None = None, mask: torch.Tensor | None = None,
             colorbar: bool = True, symmetric: bool = False, signed: bool = False, clip_percentile: float = 99.0,
             normalize: bool = False, **imshow_kwargs):
    """Show an (H, W) map with a colorbar; returns matplotlib's image (its ``get_clim()`` is the colour scale).

    cmap: the colour map; default ``"RdBu_r"`` for a signed map, else ``"hot"``.
    symmetric: centre a diverging map on zero, the scale running to ±max |map|.
    signed: a map with both signs (evidence for and against): a diverging scale symmetric around 0,
        clipped at ±the ``clip_percentile``-th percentile of |map| (99: a few extreme pixels do not
        wash out the rest; larger values show at the ends of the scale).
    normalize: divide the map by the end of its scale (its largest |value|; for a signed map the clip), so
        the scale runs over [0, 1] (or [-1, 1]) and several maps can share one colorbar.
    ``vmin``/``vmax`` (and other ``imshow`` arguments) override these.
    """
    values = heatmap.detach().float().cpu().numpy()
    if not 0 < clip_percentile <= 100:
        raise ValueError(f"clip_percentile: expected a percentile in (0, 100], got {clip_percentile!r}")
    largest = float(np.nanmax(np.abs(values), initial=0.0)) or 1.0
    limit = (float(np.nanpercentile(np.abs(values), clip_percentile)) or largest) if signed else largest
    if normalize:
        values = values / limit
        limit = 1.0
    if signed or symmetric:
        imshow_kwargs = {"vmin": -limit, "vmax": limit, **imshow_kwargs}
    elif normalize:
        imshow_kwargs = {"vmin": 0.0, "vmax": 1.0, **imshow_kwargs}
    shown = ax.imshow(values, cmap=cmap or ("RdBu_r" if signed else "hot"), **imshow_kwargs)
    if mask is not None:
        outline(ax, mask)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    return shown

"""Which images drive a unit, and which part of the Toy Zoo a unit detects.

- ``top_activating``: the k images whose peak activation of a channel is highest, with the crop
  of each around its peak (the crop is the peak neuron's receptive field, measured by its gradient).
- ``dissect``: Network Dissection (Bau et al. 2017) against the Toy Zoo's exact part (or background)
  masks: each channel's activation map, upsampled to the image and thresholded at the channel's top
  quantile over the data set, is compared with each concept's mask by intersection over union,
  summed over the whole data set.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_choice, check_images, check_model, check_positive_int
from .batching import batches
from .layers import activations_of, check_channels, find_layer, run_to
from .model_state import frozen_eval, like_input, model_input
from .toyzoo import PARTS, ToyZoo


@dataclass
class TopImages:
    """The k images that drive a channel most (``top_activating``); tensors on the images' device (and dtype).

    indices: (k,) into the images; values: (k,) each image's peak activation of the channel, largest first.
    peaks: (k, 2) (y, x) of the peak in the layer's (h, w) map.
    boxes: (k, 4) (top, left, bottom, right) in image pixels of the crop around the peak (bottom/right exclusive).
    crops: (k, C, s, s) those crops, all of one side s: the widest receptive field among the k peaks.
    """

    indices: torch.Tensor
    values: torch.Tensor
    peaks: torch.Tensor
    boxes: torch.Tensor
    crops: torch.Tensor


def top_activating(model: nn.Module, layer, channel: int, images: torch.Tensor, k: int = 9, *,
                   batch_size: int = 128, progress: bool = True) -> TopImages:
    """The ``k`` images of ``images`` (N, C, H, W) with the highest peak activation of ``channel`` in ``layer``.

    The crop around each peak is the peak neuron's receptive field on that image: the box of the pixels
    whose gradient of the neuron is non-zero (the whole image where it is zero everywhere); all crops take
    the widest box's side (clipped to the image).
    The model runs in eval mode and is left as it was; the hook is removed afterwards.
    """
    check_model(model)
    check_images(images)
    check_positive_int(k, "k")
    check_positive_int(batch_size, "batch_size")
    _, module = find_layer(model, layer)
    x = model_input(model, images)
    if k > len(x):
        raise ValueError(f"k: expected at most the number of images ({len(x)}), got {k}")
    with frozen_eval(model), activations_of(module, stop=True) as outputs:
        with torch.no_grad():
            chosen_channels = check_channels(channel, run_to(model, x[:1], outputs).shape[1])
            if len(chosen_channels) != 1:
                raise ValueError(f"channel: expected one channel index (top_activating ranks the images for one "
                                 f"unit; call it once per channel), got {channel!r}")
            channel = int(chosen_channels[0])
            peak_values, peak_places = [], []
            for idx in batches(len(x), batch_size, desc="top activating", progress=progress):
                maps = run_to(model, x[idx.to(x.device)], outputs)[:, channel]
                value, place = maps.flatten(1).max(1)
                peak_values.append(value)
                peak_places.append(place)
        values, order = torch.cat(peak_values).topk(k)
        places = torch.cat(peak_places)[order]
        peaks = torch.stack([places // maps.shape[2], places % maps.shape[2]], 1)
        chosen = x[order].clone().requires_grad_(True)
        with torch.enable_grad():  # the peak neuron's gradient marks its receptive field on each image
            acts = run_to(model, chosen, outputs)[:, channel].flatten(1)
            (grad,) = torch.autograd.grad(acts.gather(1, places[:, None]).sum(), chosen)
    boxes, crops = _receptive_crops(x[order], grad.abs().sum(1) > 0)
    return TopImages(*(like_input(t, images) for t in (order, values, peaks, boxes, crops)))


def _receptive_crops(images: torch.Tensor, reached: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes (k, 4) of one common side around each (H, W) ``reached`` region, and the (k, C, s, s) crops."""
    k, _, h, w = images.shape
    rows, cols = reached.any(2), reached.any(1)  # (k, H), (k, W)
    centres, sides = [], []
    for i in range(k):
        ys, xs = rows[i].nonzero()[:, 0], cols[i].nonzero()[:, 0]
        if len(ys) == 0:  # no gradient at all: the whole image
            ys, xs = torch.tensor([0, h - 1]), torch.tensor([0, w - 1])
        centres.append(((int(ys.min()) + int(ys.max()) + 1) // 2, (int(xs.min()) + int(xs.max()) + 1) // 2))
        sides.append(max(int(ys.max() - ys.min()) + 1, int(xs.max() - xs.min()) + 1))
    side = min(max(sides), h, w)
    boxes = []
    for cy, cx in centres:
        top, left = min(max(cy - side // 2, 0), h - side), min(max(cx - side // 2, 0), w - side)
        boxes.append((top, left, top + side, left + side))
    crops = torch.stack([images[i, :, t:b, l:r] for i, (t, l, b, r) in enumerate(boxes)]).detach()
    return torch.tensor(boxes), crops


# ---------------------------------------------------------------------------------------
# Network Dissection


@dataclass
class Dissection:
    """IoU of every channel of a layer with every concept (``dissect``); tensors on the zoo images' device (and dtype).

    concepts: the P concept names (``"goose neck"``, ... or ``"snow"``, ...).
    iou: (C, P) intersection over union of each channel's thresholded map with each concept's masks,
        over the whole data set. thresholds: (C,) each channel's activation threshold.
    best: (C,) each channel's best concept (index into ``concepts``); best_iou: (C,) its IoU.
    """

    layer: str
    concepts: tuple[str, ...]
    iou: torch.Tensor
    thresholds: torch.Tensor
    best: torch.Tensor
    best_iou: torch.Tensor

    def best_unit(self, concept: str) -> tuple[int, float]:
        """(channel, IoU) of the channel that detects ``concept`` best."""
        check_choice(concept, "concept", self.concepts)
        column = self.iou[:, self.concepts.index(concept)]
        return int(column.argmax()), float(column.max())


CONCEPTS = ("parts", "backgrounds")


def concept_maps(zoo: ToyZoo, concepts: str = "parts") -> tuple[tuple[str, ...], torch.Tensor]:
    """(names, (N, H, W) int64 maps): 0 where no concept, else 1 + the index into names.

    ``"parts"``: the objects' parts (``zoo.parts``); ``"backgrounds"``: the background around the object,
    labelled by which background it is.
    """
    check_choice(concepts, "concepts", CONCEPTS)
    if concepts == "parts":
        if getattr(zoo, "parts", None) is None:
            raise ValueError("zoo: expected a ToyZoo with part maps (zoo.parts), as make_toy_zoo makes them")
        return tuple(f"{c} {p}" for c, p in PARTS), zoo.parts
    maps = (zoo.backgrounds + 1)[:, None, None].expand_as(zoo.masks) * ~zoo.masks
    return tuple(zoo.background_names), maps


def dissect(model: nn.Module, layer, zoo: ToyZoo, *, concepts: str = "parts", quantile: float = 0.99,
            batch_size: int = 128, shuffle_seed: int | None = None, progress: bool = True) -> Dissection:
    """Network Dissection of ``layer`` against the Toy Zoo's ``concepts`` (``"parts"`` or ``"backgrounds"``).

    For channel k with activations A_k (N, h, w) over the data set, the threshold T_k is the ``quantile``
    of all its values; the unit's mask M_k is the map upsampled bilinearly to (H, W) and thresholded,
    A_k > T_k. For concept c with masks L_c: IoU(k, c) = Σ |M_k ∩ L_c| / Σ |M_k ∪ L_c|, sums over all
    images. shuffle_seed: pair each image's activations with another image's concept masks (a
    permutation drawn with this seed): the chance level of the IoU. The model runs in eval mode and
    is left as it was; the hook is removed afterwards.
    """
    check_model(model)
    name, module = find_layer(model, layer)
    if not isinstance(zoo, ToyZoo):
        raise TypeError(f"zoo: expected a ToyZoo (make_toy_zoo), got {type(zoo).__name__}")
    if isinstance(quantile, bool) or not isinstance(quantile, float) or not 0 < quantile < 1:
        raise ValueError(f"quantile: expected a number strictly between 0 and 1, e.g. 0.99, got {quantile!r}")
    check_positive_int(batch_size, "batch_size")
    names, maps = concept_maps(zoo, concepts)
    if shuffle_seed is not None:
        maps = maps[torch.randperm(len(maps), generator=torch.Generator().manual_seed(shuffle_seed))]
    x = model_input(model, zoo.images)
    size = x.shape[2:]
    with frozen_eval(model), activations_of(module, stop=True) as outputs, torch.no_grad():
        acts = torch.cat([run_to(model, x[i.to(x.device)], outputs).float().cpu()
                          for i in batches(len(x), batch_size, desc="dissect: activations", progress=progress)])
    c = acts.shape[1]
    values = acts.transpose(0, 1).reshape(c, -1)
    thresholds = values.kthvalue(max(1, int(round(quantile * values.shape[1]))), dim=1).values  # (C,)
    inter = torch.zeros(c, len(names), dtype=torch.float64)
    unit_area = torch.zeros(c, dtype=torch.float64)
    concept_area = torch.zeros(len(names), dtype=torch.float64)
    for i in batches(len(acts), batch_size, desc="dissect: IoU", progress=progress):
        up = F.interpolate(acts[i], size=size, mode="bilinear", align_corners=False)
        unit = (up > thresholds[None, :, None, None]).flatten(2).float()  # (B, C, H·W)
        labels = F.one_hot(maps[i].flatten(1), len(names) + 1)[..., 1:].float()  # (B, H·W, P)
        inter += torch.einsum("bcx,bxp->cp", unit, labels).double()
        unit_area += unit.sum((0, 2)).double()
        concept_area += labels.sum((0, 1)).double()
    iou = (inter / (unit_area[:, None] + concept_area[None, :] - inter).clamp_min(1)).float()
    best_iou, best = iou.max(1)
    return Dissection(name, names, *(like_input(t, zoo.images) for t in (iou, thresholds, best, best_iou)))

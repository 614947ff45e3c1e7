"""The saliency explorer's images: the default gallery, and any ``images`` argument made into {name: image}."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from .._checks import check_images
from ..photos import PHOTOS, load_photos
from ..toyzoo import CLASSES, ToyZoo, make_toy_zoo


def default_gallery(size: int = 64, classes: Sequence[str] = CLASSES, seed: int = 0,
                    photos_first: bool = False) -> tuple[dict, dict]:
    """The explorer's default images: one Toy Zoo image per class, then the bundled photos (``PHOTOS``).

    classes: the Toy Zoo classes to show (all of them if any name is not a Toy Zoo class).
    photos_first: put the photos before the Toy Zoo images (for a real ImageNet network, which knows
        the photos' classes: the explorer opens on the first image, ``"photo: chelsea"``).

    Returns (images, masks): ``images`` maps a name (``"Toy Zoo: goose"``, ``"photo: chelsea"``) to a
    (3, size, size) tensor; ``masks`` maps the Toy Zoo names to their (size, size) bool object masks.
    """
    classes = tuple(classes) if classes and all(c in CLASSES for c in classes) else CLASSES
    zoo = make_toy_zoo(6 * len(classes), size=max(size, 16), seed=seed, classes=classes)
    toys, masks = {}, {}
    for k, name in enumerate(classes):
        hits = (zoo.labels == k).nonzero()
        if len(hits):
            i = int(hits[0])
            toys[f"Toy Zoo: {name}"] = _resized(zoo.images[i], size)
            masks[f"Toy Zoo: {name}"] = _resized(zoo.masks[i][None].float(), size)[0] > 0.5
    photos = {f"photo: {name}": photo for name, photo in zip(PHOTOS, load_photos(size=max(size, 8)))}
    images = {**photos, **toys} if photos_first else {**toys, **photos}
    return images, masks


def _resized(image: torch.Tensor, size: int) -> torch.Tensor:
    if image.shape[-1] == size and image.shape[-2] == size:
        return image
    return torch.nn.functional.interpolate(image[None].float(), size=(size, size), mode="bilinear",
                                           antialias=True, align_corners=False)[0]


def named_images(images, masks) -> tuple[dict, dict]:
    """Normalize the ``images`` argument of ``saliency_explorer`` to ({name: (3, H, W)}, {name: (H, W) bool})."""
    masks = dict(masks or {})
    if isinstance(images, ToyZoo):
        named = {}
        for i in range(len(images)):
            name = f"Toy Zoo #{i}: {images.classes[int(images.labels[i])]}"
            named[name] = images.images[i]
            masks.setdefault(name, images.masks[i])
        images = named
    elif isinstance(images, torch.Tensor):
        check_images(images)
        images = {f"image {i}": image for i, image in enumerate(images)}
    elif not isinstance(images, Mapping):
        raise TypeError(f"images: expected a dict {{name: (C, H, W) tensor}}, an (N, C, H, W) tensor or a ToyZoo, "
                        f"got {type(images).__name__}")
    if not images:
        raise ValueError("images: expected at least one image, got none")
    checked = {}
    for name, image in images.items():
        if not isinstance(name, str):
            raise TypeError(f"images: expected string names, got {name!r}")
        if not isinstance(image, torch.Tensor) or image.ndim != 3:
            shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise ValueError(f"images: expected each image to be a (C, H, W) tensor, {name!r} is {shape}")
        check_images(image[None], f"images[{name!r}]")
        checked[name] = image.detach()
    unknown = [name for name in masks if name not in checked]
    if unknown:
        raise ValueError(f"masks: expected names of images, got {unknown}")
    return checked, {name: mask.bool() for name, mask in masks.items()}

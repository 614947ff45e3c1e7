"""ImageNet classifiers from torchvision, taking images in [0, 1] — when their weights can be had.

Weights come from torchvision's ``weights=`` API: from the local torch cache
(``torch.hub.get_dir()/checkpoints``) if the file is there, else by download. On a
machine with neither, ``load_pretrained`` raises ``PretrainedUnavailableError`` and the
notebooks go on with the course's own model.
"""
from __future__ import annotations

from pathlib import Path

import hashlib

import torch
import torchvision
from torch import nn

SUPPORTED = ("squeezenet1_1", "resnet18", "vgg16")


class PretrainedUnavailableError(RuntimeError):
    """The pretrained weights are neither in the local torch cache nor downloadable (offline)."""


class Normalize(nn.Module):
    """(x - mean) / std per channel, as the first layer of a model; mean and std are buffers."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean) / self.std


def weights_file(name: str) -> Path:
    """Where torch's cache keeps the weights of ``name`` (the file may not exist)."""
    url = torchvision.models.get_model_weights(_check_name(name)).DEFAULT.url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def weights_verified(name: str) -> bool:
    """Whether the cached weights file of ``name`` is torchvision's own (its SHA-256 matches the hash in its name).

    False when the file is missing or is anything else, e.g. a stand-in made for testing. The
    notebooks assert claims about what a real ImageNet model shows only when this is True.
    """
    path = weights_file(name)
    match = torch.hub.HASH_REGEX.search(path.name)
    if match is None or not path.is_file():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest().startswith(match.group(1))


def load_pretrained(name: str = "squeezenet1_1", progress: bool = False) -> tuple[nn.Module, list[str]]:
    """An ImageNet classifier with its input normalization folded in, and its 1000 class names.

    Returns ``(model, class_names)``: ``model`` is ``nn.Sequential(normalize, net)`` in eval mode
    on the CPU; it takes (N, 3, H, W) images in [0, 1] (224x224 is what it was trained on) and
    returns (N, 1000) unnormalized scores. ``class_names`` come from torchvision's weight metadata.

    Raises ``PretrainedUnavailableError`` when the weights are not in the torch cache and cannot
    be downloaded. To use them offline, copy the weights file (see ``weights_file(name)``) into
    the torch cache from a machine with internet access.
    """
    weights = torchvision.models.get_model_weights(_check_name(name)).DEFAULT
    path = weights_file(name)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        match = torch.hub.HASH_REGEX.search(path.name)
        try:
            torch.hub.download_url_to_file(weights.url, str(path), hash_prefix=match.group(1) if match else None,
                                           progress=progress)
        except OSError as err:  # URLError, DNS failure, refused connection, blocked socket
            raise PretrainedUnavailableError(
                f"pretrained weights for {name!r} are not available: not in the torch cache ({path}) and the "
                f"download failed ({err}). Run once with internet access (e.g. in Colab), or copy that file into place."
            ) from None
    net = torchvision.models.get_model(name, weights=weights)
    transform = weights.transforms()
    model = nn.Sequential()
    model.add_module("normalize", Normalize(transform.mean, transform.std))
    model.add_module("net", net)
    return model.eval(), list(weights.meta["categories"])


def _check_name(name: str) -> str:
    if name not in SUPPORTED:
        raise ValueError(f"name: expected one of {', '.join(map(repr, SUPPORTED))}, got {name!r}")
    return name

"""Real ImageNet classifiers, taking images in [0, 1] (notebooks 03, 04, 06-08).

``load_pretrained()`` (the default, ``"efficientnet_lite0"``) is always available: the course's own
EfficientNet-Lite0 module (``helpers.efficientnet``) with the weights that ship inside an installed
package, so nothing is downloaded. torchvision's SqueezeNet, ResNet-18 and VGG-16 are options where
their weights can be had: from the local torch cache (``torch.hub.get_dir()/checkpoints``) if the
file is there, else by download; on a machine with neither, ``load_pretrained`` raises
``PretrainedUnavailableError``. Class names come from torchvision's weight metadata (no download).
"""
from __future__ import annotations

from pathlib import Path

import hashlib

import torch
from torch import nn

from .efficientnet import efficientnet_lite0
from .efficientnet import weights_path as efficientnet_weights_path

#: the always-available network, then torchvision's (weights from the torch cache or a download)
SUPPORTED = ("efficientnet_lite0", "squeezenet1_1", "resnet18", "vgg16")
TORCHVISION = SUPPORTED[1:]


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


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet-1k class names in index order, from torchvision's weight metadata (no download)."""
    import torchvision  # here, not at the top: importing torchvision takes seconds

    return list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def weights_file(name: str) -> Path:
    """Where the weights of ``name`` are: inside the installed package for ``"efficientnet_lite0"``,
    else the file torch's cache keeps for a torchvision model (which may not exist)."""
    if _check_name(name) == "efficientnet_lite0":
        return Path(efficientnet_weights_path())
    import torchvision

    url = torchvision.models.get_model_weights(name).DEFAULT.url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def weights_verified(name: str) -> bool:
    """Whether the cached weights file of ``name`` is torchvision's own (its SHA-256 matches the hash in its name).

    False when the file is missing or is anything else, e.g. a stand-in made for testing. The
    notebooks assert claims about what a real ImageNet model shows only when this is True.
    EfficientNet-Lite0's weights are checked the same way (the hash prefix is in their file name).
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


def load_pretrained(name: str = "efficientnet_lite0", progress: bool = False) -> tuple[nn.Module, list[str]]:
    """An ImageNet classifier with its input scaling folded in, and its 1000 class names.

    Returns ``(model, class_names)``: ``model`` is in eval mode on the CPU; it takes (N, 3, H, W)
    images in [0, 1] (224 × 224 is what it was trained on; other sizes work) and returns (N, 1000)
    unnormalized scores. ``class_names`` come from torchvision's weight metadata.

    ``"efficientnet_lite0"`` (the default) is ``helpers.efficientnet.EfficientNetLite0``, always
    available offline; its Grad-CAM layer is ``model.features[-1]`` (``"features.head"``). The
    torchvision names (``"squeezenet1_1"``, ``"resnet18"``, ``"vgg16"``) give
    ``nn.Sequential(normalize, net)`` and raise ``PretrainedUnavailableError`` when the weights are
    not in the torch cache and cannot be downloaded; to use them offline, copy the weights file
    (see ``weights_file(name)``) into the torch cache from a machine with internet access.
    """
    if _check_name(name) == "efficientnet_lite0":
        return efficientnet_lite0(), imagenet_classes()
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
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

"""The course's own classifiers: a linear (softmax-regression) model and a small CNN."""
from __future__ import annotations

import torch
from torch import nn


class LinearClassifier(nn.Module):
    """Softmax regression on raw pixels: scores = W · vec(x) + b.

    Input (N, C, H, W) -> scores (N, num_classes). ``weight_images()`` shows each
    class's weight row as an image (num_classes, C, H, W): the class's template.
    """

    def __init__(self, num_classes: int = 8, image_shape: tuple[int, int, int] = (3, 64, 64)):
        super().__init__()
        self.image_shape = tuple(image_shape)
        c, h, w = self.image_shape
        self.linear = nn.Linear(c * h * w, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.linear(images.flatten(1))

    def weight_images(self) -> torch.Tensor:
        return self.linear.weight.detach().reshape(-1, *self.image_shape)


def _conv_block(c_in: int, c_out: int, pool: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    return layers + [nn.MaxPool2d(2)] if pool else layers


def _trunk(width: int) -> nn.Sequential:
    """Four 3x3 conv blocks (width, 2·width, 4·width, 4·width channels), three 2x2 max-poolings."""
    w = width
    return nn.Sequential(
        *_conv_block(3, w, pool=True),
        *_conv_block(w, 2 * w, pool=True),
        *_conv_block(2 * w, 4 * w, pool=True),
        *_conv_block(4 * w, 4 * w, pool=False),
    )


class ZooNet(nn.Module):
    """A small CNN for Toy Zoo: four 3x3 conv blocks, global average pooling, one linear layer.

    Input (N, 3, H, W) in [0, 1], any H, W ≥ 8 -> scores (N, num_classes), the unnormalized
    class scores (logits). ``features`` is the convolutional trunk; its last block,
    ``features[-1]`` (a ReLU on an (N, 4·width, H/8, W/8) map), is the usual Grad-CAM layer.
    """

    def __init__(self, num_classes: int = 8, width: int = 16):
        super().__init__()
        self.features = _trunk(width)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * width, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(images)).flatten(1))


class SpatialZooNet(nn.Module):
    """ZooNet's trunk with a head that keeps *where* a feature is: its class models show one object.

    Input (N, 3, 64, 64) in [0, 1] (the size is fixed by the head) -> ``features`` (N, 4·width, 8, 8)
    -> 1x1 conv to ``head_channels`` + ReLU -> flatten -> linear -> scores (N, num_classes).
    ZooNet's global average pooling adds up a feature wherever it occurs, so the image that
    maximizes its score repeats the best local pattern everywhere (wallpaper); this head weighs
    each position separately. Trained robustly on centred objects (``load_model("zoonet_spatial")``),
    it is the model of notebook 06's recognizable class models.
    """

    image_shape = (3, 64, 64)

    def __init__(self, num_classes: int = 8, width: int = 8, head_channels: int = 16):
        super().__init__()
        self.features = _trunk(width)
        side = self.image_shape[1] // 8
        self.head = nn.Sequential(nn.Conv2d(4 * width, head_channels, 1), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(head_channels * side * side, num_classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))

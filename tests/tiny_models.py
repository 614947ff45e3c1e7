"""Small models the unit tests share (importable: the root conftest puts tests/ on sys.path)."""
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode


class TinyNet(nn.Module):
    """A small conv net with batch norm, ReLU, max pooling and dropout, (N, 3, 16, 16) -> (N, 5)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(4, 6, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(6 * 8 * 8, 5))

    def forward(self, x):
        return self.head(self.features(x))


class RecordConvBackward(TorchDispatchMode):
    """Records each convolution backward's output mask [input, weight, bias]: which gradients it computed."""

    def __init__(self):
        super().__init__()
        self.masks = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket is torch.ops.aten.convolution_backward:
            self.masks.append(list(args[-1]))
        return func(*args, **(kwargs or {}))

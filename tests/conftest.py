"""Fixtures shared by the unit tests in tests/ (the environment itself is set up by the root conftest.py)."""
import pytest
import torch

from helpers import load_model
from helpers.exercises import ExerciseError
from tiny_models import TinyNet


@pytest.fixture(scope="session")
def zoonet():
    """The course's trained ZooNet, loaded once for the session: a test must leave it as it is (see ``model_state``)."""
    return load_model("zoonet")


class ModelState:
    """A model's train/eval flags, ``requires_grad`` flags and weights, recorded to check that code left them alone."""

    def __init__(self, model: torch.nn.Module):
        self.training = [m.training for m in model.modules()]
        self.requires_grad = [p.requires_grad for p in model.parameters()]
        self.weights = {key: value.clone() for key, value in model.state_dict().items()}

    def assert_unchanged(self, model: torch.nn.Module) -> None:
        """The flags and weights are as recorded, no parameter has a ``.grad`` and no module has a hook."""
        assert [m.training for m in model.modules()] == self.training
        assert [p.requires_grad for p in model.parameters()] == self.requires_grad
        assert all(p.grad is None for p in model.parameters())
        for m in model.modules():
            assert not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                        or getattr(m, "_backward_pre_hooks", None)), m
        weights = model.state_dict()
        assert weights.keys() == self.weights.keys()
        for key, value in self.weights.items():
            assert torch.equal(weights[key], value), key


@pytest.fixture(scope="session")
def model_state():
    """``model_state(model)`` records a model's state; ``.assert_unchanged(model)`` checks it later."""
    return ModelState


@pytest.fixture(scope="session")
def expect_failure():
    """``expect_failure(check, function, *args, words=())``: ``check(function, *args)`` must raise an
    ExerciseError whose message contains every one of ``words``; returns the message."""
    def expect_failure(check, function, *args, words=()) -> str:
        with pytest.raises(ExerciseError) as info:
            check(function, *args)
        message = str(info.value)
        for word in words:
            assert word in message, message
        return message

    return expect_failure


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    model = TinyNet()
    bn = model.features[1]
    bn.running_mean.uniform_(-0.2, 0.2)  # eval and train mode batch norm then really differ
    bn.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.fixture
def tiny_data():
    g = torch.Generator().manual_seed(1)
    return torch.rand(3, 3, 16, 16, generator=g), torch.tensor([0, 3, 4])


@pytest.fixture
def resnet18():
    """torchvision's ResNet-18, randomly initialised (seeded), on two random 64x64 images, with its own top classes."""
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    x = torch.rand(2, 3, 64, 64)
    return model, x, model(x).argmax(1)

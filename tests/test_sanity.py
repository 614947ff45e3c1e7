"""helpers.sanity: cascading model randomization and the per-image Spearman rank correlation."""
import copy

import pytest
import torch
from torch import nn

from helpers import cascading_randomization, randomizable_layers, rank_correlation
from helpers.models import ZooNet
from helpers.sanity import reinitialize_


@pytest.fixture()
def model():
    torch.manual_seed(0)
    net = ZooNet(num_classes=8, width=4)
    with torch.no_grad():  # make the batch-norm statistics differ from their initial values
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 2)
    return net.eval()


def snapshot(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


# ---------------------------------------------------------------------------------------
# randomizable_layers / cascading_randomization


def test_layers_run_from_the_output_down(model):
    names = randomizable_layers(model)
    assert names[0] == "classifier" and names[-1] == "features.0"
    assert names == ["classifier", "features.13", "features.12", "features.9", "features.8",
                     "features.5", "features.4", "features.1", "features.0"]


def test_each_step_randomizes_one_more_layer(model):
    before = snapshot(model)
    names = randomizable_layers(model)
    steps = list(cascading_randomization(model, seed=0))
    assert [name for name, _ in steps] == names
    for k, (_, randomized) in enumerate(steps):
        changed = {key.rsplit(".", 1)[0] for key, value in randomized.state_dict().items()
                   if not torch.equal(value, before[key])}
        assert changed == set(names[:k + 1])


def test_the_callers_model_is_never_modified(model, model_state):
    model.train()
    model.features[0].weight.requires_grad_(False)
    before = model_state(model)
    copies = [m for _, m in cascading_randomization(model, seed=3)]
    before.assert_unchanged(model)
    assert all(m is not model and m.training for m in copies)
    # the copies are independent of each other
    with torch.no_grad():
        copies[0].classifier.weight.zero_()
    assert not torch.equal(copies[1].classifier.weight, copies[0].classifier.weight)


def test_same_seed_same_weights_and_global_rng_untouched(model):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = [snapshot(m) for _, m in cascading_randomization(model, seed=5)]
    assert torch.equal(torch.get_rng_state(), state)
    b = [snapshot(m) for _, m in cascading_randomization(model, seed=5)]
    c = snapshot(next(iter(cascading_randomization(model, seed=6)))[1])
    assert all(torch.equal(x[k], y[k]) for x, y in zip(a, b) for k in x)
    assert not torch.equal(a[0]["classifier.weight"], c["classifier.weight"])


def test_reinitialized_weights_look_like_a_fresh_layer(model):
    layer = copy.deepcopy(model.features[0])
    reinitialize_(layer, seed=0)
    fan_in = 3 * 3 * 3
    assert layer.weight.abs().max() <= 1 / fan_in ** 0.5 + 1e-6  # PyTorch's default uniform init
    bn = reinitialize_(copy.deepcopy(model.features[1]), seed=0)
    assert torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))
    assert torch.equal(bn.weight, torch.ones_like(bn.weight))


def test_a_module_without_reset_parameters_gets_gaussian_weights():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(torch.full((1000,), 3.0) + torch.linspace(-1, 1, 1000))

    layer = reinitialize_(Scale(), seed=0)
    assert abs(layer.gain.mean().item()) < 0.15 and 0.4 < layer.gain.std().item() < 0.8


def test_explicit_layers_and_their_validation(model):
    steps = list(cascading_randomization(model, layers=["classifier", "features.12"]))
    assert [name for name, _ in steps] == ["classifier", "features.12"]
    with pytest.raises(ValueError, match="layers: 'nope'"):
        cascading_randomization(model, layers=["nope"])
    with pytest.raises(ValueError, match="no parameters"):
        cascading_randomization(model, layers=["features.2"])  # a ReLU
    with pytest.raises(ValueError, match="distinct"):
        cascading_randomization(model, layers=["classifier", "classifier"])
    with pytest.raises(TypeError, match="layers"):
        cascading_randomization(model, layers="classifier")
    with pytest.raises(TypeError, match="seed"):
        cascading_randomization(model, seed=1.5)
    with pytest.raises(TypeError, match="model"):
        cascading_randomization("not a model")
    with pytest.raises(ValueError, match="no parameters"):
        cascading_randomization(nn.ReLU())


# ---------------------------------------------------------------------------------------
# rank_correlation


def test_rank_correlation_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 6, (5, 7, 9), generator=g).float()  # many ties
    b = torch.randn(5, 7, 9, generator=g) + 0.3 * a
    rho = rank_correlation(a, b)
    assert rho.shape == (5,) and rho.dtype == torch.float32
    expected = [stats.spearmanr(a[i].flatten(), b[i].flatten()).statistic for i in range(5)]
    assert torch.allclose(rho.double(), torch.tensor(expected, dtype=torch.float64), atol=1e-6)


def test_rank_correlation_is_about_order_not_scale():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(3, 16, 16, generator=g)
    assert torch.allclose(rank_correlation(a, a.exp() * 5 + 2), torch.ones(3))
    assert torch.allclose(rank_correlation(a, -a), -torch.ones(3))
    unrelated = rank_correlation(torch.rand(64, 32, 32, generator=g), torch.rand(64, 32, 32, generator=g))
    assert unrelated.abs().max() < 0.1


def test_rank_correlation_constant_map_is_nan_and_bad_input_is_named():
    a = torch.rand(2, 4, 4)
    b = a.clone()
    b[1] = 0.5
    rho = rank_correlation(a, b)
    assert rho[0] == 1 and torch.isnan(rho[1])
    with pytest.raises(ValueError, match="maps_b: expected the same shape"):
        rank_correlation(a, torch.rand(2, 4, 5))
    with pytest.raises(ValueError, match="maps_a"):
        rank_correlation(torch.rand(4), torch.rand(4))
    with pytest.raises(ValueError, match="maps_b: expected finite"):
        rank_correlation(a, torch.full((2, 4, 4), float("nan")))
    with pytest.raises(TypeError, match="maps_a"):
        rank_correlation(a.numpy(), a)


def test_reinitialize_rejects_a_module_without_parameters():
    with pytest.raises(ValueError, match="ReLU has no parameters"):
        reinitialize_(nn.ReLU())

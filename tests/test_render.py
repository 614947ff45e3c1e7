"""Objectives that add and scale, climbed by ``visualize`` on the one ascent engine."""
import pytest
import torch

from helpers import class_model_visualization, feature_visualization, load_model
from helpers.render import channel, class_log_softmax, class_score, class_softmax, diversity, neuron, visualize

FAST = dict(steps=12, image_shape=(3, 32, 32), progress=False, seed=3)


@pytest.fixture(scope="module")
def zoonet():
    return load_model("zoonet")


@pytest.mark.parametrize("make, objective", [(class_score, "score"), (class_softmax, "softmax"),
                                             (class_log_softmax, "log_softmax")])
def test_a_class_objective_draws_what_class_model_visualization_draws(zoonet, make, objective):
    ours = visualize(zoonet, make(2), **FAST)
    theirs = class_model_visualization(zoonet, 2, objective, **FAST)
    assert torch.allclose(ours.images, theirs.images, atol=1e-5)


def test_a_channel_objective_draws_what_feature_visualization_draws(zoonet):
    ours = visualize(zoonet, channel("features.5", 3), **FAST)
    theirs = feature_visualization(zoonet, "features.5", 3, **FAST)
    assert torch.allclose(ours.images, theirs.images, atol=1e-5)
    assert torch.allclose(ours.value, theirs.activation, atol=1e-4)


def test_objectives_add_subtract_and_scale(zoonet):
    margin = class_score(2) - 0.5 * class_score(5)
    assert [w for w, _ in margin.terms] == [1.0, -0.5] and margin.layers == ("",)
    scores = torch.tensor([[0.0, 1.0, 4.0, 0.0, 0.0, 2.0]])
    assert margin({"": scores}).item() == pytest.approx(4.0 - 1.0)
    assert (3 * class_score(1))({"": scores}).item() == pytest.approx(3.0)
    combined = channel("features.5", 1) + 0.1 * diversity("features.2")
    assert combined.layers == ("features.5", "features.2")
    result = visualize(zoonet, combined, n=3, **FAST)
    assert result.images.shape == (3, 3, 32, 32) and result.history.shape == (12, 3)
    # the margin climbs
    run = visualize(zoonet, margin, **FAST)
    assert run.history[-3:].mean() > run.history[:3].mean()


def test_diversity_is_minus_the_mean_similarity_to_the_others():
    same = torch.ones(3, 2, 4, 4)
    assert torch.allclose(diversity("x")({"x": same}), torch.full((3,), -1.0))
    assert diversity("x")({"x": same[:1]}).item() == 0.0


def test_neuron_and_bad_arguments(zoonet):
    result = visualize(zoonet, neuron("features.5", 0, (4, 4)), **FAST)
    assert result.image.shape == (3, 32, 32)
    with pytest.raises(TypeError, match="objective"):
        visualize(zoonet, "score", **FAST)
    with pytest.raises(ValueError, match="target"):
        visualize(zoonet, class_score(99), **FAST)
    with pytest.raises(ValueError, match="index"):
        visualize(zoonet, channel("features.5", 999), **FAST)
    with pytest.raises(ValueError, match="layer"):
        visualize(zoonet, channel("features.nope", 0), **FAST)
    with pytest.raises(TypeError, match="target"):
        class_score(-1)
    with pytest.raises(TypeError, match="position"):
        neuron("features.5", 0, (1,))
    with pytest.raises(TypeError, match="steps"):
        visualize(zoonet, class_score(1), stepz=3)
    before = {k: v.clone() for k, v in zoonet.state_dict().items()}
    assert all(torch.equal(before[k], v) for k, v in zoonet.state_dict().items())
    assert not any(m._forward_hooks for m in zoonet.modules())

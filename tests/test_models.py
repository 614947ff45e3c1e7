import pytest
import torch

from helpers import LinearClassifier, accuracy, load_model, make_toy_zoo, predict, train_classifier
from helpers.models import ZooNet
from helpers.checkpoints import train_recipe


def test_zoonet_shapes_and_grad_cam_layer():
    model = ZooNet(num_classes=5, width=4)
    assert model(torch.rand(2, 3, 64, 64)).shape == (2, 5)
    assert model(torch.rand(1, 3, 40, 48)).shape == (1, 5)  # any size >= 8
    assert model.features(torch.rand(1, 3, 64, 64)).shape == (1, 16, 8, 8)


def test_linear_classifier_weight_images():
    model = LinearClassifier(num_classes=3, image_shape=(3, 8, 8))
    x = torch.rand(4, 3, 8, 8)
    expected = x.flatten(1) @ model.linear.weight.T + model.linear.bias
    assert torch.allclose(model(x), expected)
    assert model.weight_images().shape == (3, 3, 8, 8)


@pytest.mark.slow
def test_a_short_training_run_learns():
    train, test = make_toy_zoo(1000, size=32, seed=1), make_toy_zoo(300, size=32, seed=2)
    torch.manual_seed(0)
    model = ZooNet(width=8)
    chance = accuracy(model, test.images, test.labels)
    history = train_classifier(model, train.images, train.labels, epochs=4, lr=0.02, batch_size=32,
                               progress=False, test=(test.images, test.labels))
    assert history["loss"][-1] < history["loss"][0]
    assert len(history["test_accuracy"]) == 4
    assert history["test_accuracy"][-1] > max(0.6, chance + 0.3)
    assert not model.training


@pytest.mark.slow
def test_training_is_deterministic_by_seed():
    zoo = make_toy_zoo(128, size=16, seed=0)

    def run():
        torch.manual_seed(0)
        model = ZooNet(width=4)
        train_classifier(model, zoo.images, zoo.labels, epochs=1, batch_size=32, progress=False)
        return model.classifier.weight.detach().clone()

    assert torch.equal(run(), run())


@pytest.mark.slow
def test_recipe_trains_to_the_shipped_accuracy(monkeypatch):
    """The recipe behind the cached checkpoint, shortened: it learns on the recipe's own data."""
    from helpers import checkpoints

    monkeypatch.setitem(checkpoints.RECIPES, "tiny", checkpoints.Recipe(n_train=1000, n_test=400, epochs=3, batch_size=32))
    model, info = train_recipe("tiny", progress=False)
    assert info["test_accuracy"] > 0.6


@pytest.mark.slow
def test_shipped_checkpoints_load_and_are_accurate():
    test = make_toy_zoo(600, seed=123)
    for name in ("zoonet", "zoonet_wide"):
        model = load_model(name)
        assert not model.training
        assert model.info["test_accuracy"] >= 0.95
        assert accuracy(model, test.images, test.labels) >= 0.95, name


def test_predict_leaves_the_model_as_it_was(model_state):
    model = ZooNet(width=4).train()
    model.features[1].eval()
    before = model_state(model)
    predict(model, torch.rand(3, 3, 16, 16))
    before.assert_unchanged(model)


@pytest.mark.parametrize("call, match", [
    (lambda m, x, y: train_classifier(m, x, y[:3], progress=False), "train labels"),
    (lambda m, x, y: train_classifier(m, x.long(), y, progress=False), "train images"),
    (lambda m, x, y: train_classifier(m, x, y, epochs=0, progress=False), "epochs"),
    (lambda m, x, y: train_classifier("model", x, y, progress=False), "model"),
    (lambda m, x, y: load_model("nope"), "name"),
])
def test_bad_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(ZooNet(width=4), torch.rand(4, 3, 16, 16), torch.zeros(4, dtype=torch.long))

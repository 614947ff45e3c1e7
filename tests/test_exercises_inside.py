"""The check of notebook 07's exercise (record a layer's output with a forward hook).

It must pass on a correct solution, fail with a helpful ExerciseError on a stub (``raise
NotImplementedError`` or a forgotten ``return``) and on the typical mistakes, and leave no hook behind.
"""
import pytest
import torch

from helpers import make_toy_zoo
from helpers.layers import find_layer
from helpers.exercises.inside import _probe, check_record_activation
from helpers.layers import activations_of


def solution(model, layer, images):  # as in the notebook
    recorded = []

    def hook(module, inputs, output):
        recorded.append(output.detach().clone())

    handle = layer.register_forward_hook(hook)
    try:
        model(images)
    finally:
        handle.remove()
    return recorded[0]


def make_recorder(keep="output", detach=True, clone=True, remove=True, finally_=True, no_grad=False):
    """A recorder with one typical mistake switched on."""
    def record_activation(model, layer, images):
        recorded = []

        def hook(module, inputs, output):
            value = inputs[0] if keep == "input" else output
            if detach:
                value = value.detach()
            if clone:
                value = value.clone()
            recorded.append(value)

        handle = layer.register_forward_hook(hook)
        if finally_:
            try:
                if no_grad:
                    with torch.no_grad():
                        model(images)
                else:
                    model(images)
            finally:
                if remove:
                    handle.remove()
        else:
            model(images)
            if remove:
                handle.remove()
        return recorded[0]

    return record_activation


def test_passes_on_the_solution(capsys):
    check_record_activation(solution)
    check_record_activation(make_recorder(detach=False, no_grad=True))  # no graph at all: nothing to detach
    assert capsys.readouterr().out.startswith("✓ Correct!")


def stub_not_implemented(model, layer, images):
    raise NotImplementedError


def stub_none(model, layer, images):
    return None


@pytest.mark.parametrize("stub, words", [(stub_not_implemented, ["NotImplementedError"]),
                                         (stub_none, ["None", "return"])])
def test_fails_on_stubs(stub, words, expect_failure):
    expect_failure(check_record_activation, stub, words=words)


@pytest.mark.parametrize("kwargs, words", [
    (dict(remove=False), ["still registered", "handle.remove()"]),
    (dict(finally_=False), ["fails", "finally"]),
    (dict(keep="input"), ["*input*", "third argument"]),
    (dict(detach=False), ["requires_grad=True", "detach"]),
    (dict(clone=False), ["in-place ReLU", "clone()"]),
])
def test_fails_with_its_message_on_typical_mistakes(kwargs, words, expect_failure):
    expect_failure(check_record_activation, make_recorder(**kwargs), words=words)


def test_the_course_helper_does_not_count(expect_failure):
    def with_the_helper(model, layer, images):
        with activations_of(layer) as outputs, torch.no_grad():
            model(images)
        return outputs[0].clone()

    expect_failure(check_record_activation, with_the_helper,
                   words=["`helpers.layers.activations_of` is switched off", "register_forward_hook"])


def test_a_hook_is_required(expect_failure):
    def by_hand(model, layer, images):  # right values for the first layer, but no hook: the point is missed
        with torch.no_grad():
            return model.bn(model.conv1(images)).clone()

    expect_failure(check_record_activation, by_hand, words=["no forward hook", "register_forward_hook"])


def test_fails_on_a_wrong_shape_and_on_other_values(expect_failure):
    expect_failure(check_record_activation, lambda m, layer, x: solution(m, layer, x)[0], words=["shape"])
    expect_failure(check_record_activation, lambda m, layer, x: solution(m, layer, x) + 0.1, words=["differ"])
    expect_failure(check_record_activation, lambda m, layer, x: m(x).detach(), words=["no forward hook"])


def test_no_hook_is_left_behind_when_the_answer_is_wrong():
    leaky = make_recorder(remove=False)
    model = _probe()
    leaky(model, model.bn, torch.rand(1, 3, 16, 16))
    assert len(model.bn._forward_hooks) == 1  # the mistake is real ...
    with pytest.raises(AssertionError):
        check_record_activation(leaky)
    fresh = _probe()  # ... and the check builds its own networks and cleans them
    assert not any(m._forward_hooks for m in fresh.modules())


def test_the_check_leaves_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_record_activation(solution)
    assert torch.equal(torch.rand(3), expected)


def test_the_solution_agrees_with_the_course_helper_on_zoonet(zoonet, model_state):
    before = model_state(zoonet)
    images = make_toy_zoo(4, seed=3).images
    _, layer = find_layer(zoonet, "features.9")
    with activations_of(layer) as outputs, torch.no_grad():
        zoonet(images)
    assert torch.allclose(solution(zoonet, layer, images), outputs[0])
    zoonet.zero_grad(set_to_none=True)  # the solution ran with gradients on: no parameter .grad was made, but be sure
    before.assert_unchanged(zoonet)

"""The check of notebook 06's exercise (the whole class-model loop): passes on the solution, fails with its
message on the stub, on the helpers that would do it and on typical mistakes, and leaves everything as it was."""
import pytest
import torch

import helpers
import helpers.ascent
from helpers import class_model_visualization
from helpers.ascent import ascend
from helpers.exercises import ExerciseError, HelperUnavailable, NotDoneYet
from helpers.exercises.class_model import check_class_model_loop
from helpers.filters import gaussian_blur

SWITCHED_OFF = ("class_model_visualization", "feature_visualization", "input_gradient")
ORIGINALS = {name: getattr(helpers, name) for name in SWITCHED_OFF}


def solution(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator=None):
    """The loop as a learner writes it (the image rolled, the step taken, the image rolled back)."""
    image = torch.full((1, *shape), 0.5, device=next(model.parameters()).device)
    for step in range(steps):
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
        x = torch.roll(image, (dy, dx), dims=(2, 3)).requires_grad_(True)
        objective = model(x)[0, target] - l2 * ((x - 0.5) ** 2).sum()
        (grad,) = torch.autograd.grad(objective, x)
        image = torch.roll(x.detach() + lr * grad, (-dy, -dx), dims=(2, 3)).clamp(0, 1)
        if blur_every and (step + 1) % blur_every == 0:
            image = gaussian_blur(image, blur_sigma)
    return image


def through_the_roll(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator=None):
    """Another right loop: the gradient taken for the unrolled image, through torch.roll, in place."""
    image = torch.full((1, *shape), 0.5, requires_grad=True)
    for step in range(steps):
        shift = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
        score = model(torch.roll(image, shift, dims=(2, 3)))[:, target].sum()
        (grad,) = torch.autograd.grad(score - l2 * (image - 0.5).square().sum(), image)
        with torch.no_grad():
            image.add_(lr * grad).clamp_(0, 1)
            if blur_every and (step + 1) % blur_every == 0:
                image.copy_(gaussian_blur(image, blur_sigma))
    return image.detach()


def make_loop(objective="score", sign=1.0, centre=0.5, use_l2=True, clamp=True, roll_back=True, backward=False,
              detach=True, blur="after", scale_lr=True):
    """``solution`` with one typical mistake."""
    def my_class_model(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator=None):
        image = torch.full((1, *shape), 0.5)
        for step in range(steps):
            dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
            x = torch.roll(image, (dy, dx), dims=(2, 3))
            if not x.requires_grad:  # without detaching, x is part of the growing graph from step 1 on
                x.requires_grad_(True)
            scores = model(x)
            if objective == "softmax":
                scores = scores.softmax(1)
            elif objective == "log_softmax":
                scores = scores.log_softmax(1)
            gain = scores[0, target] - (l2 * ((x - centre) ** 2).sum() if use_l2 else 0)
            if backward:
                gain.backward()
                grad = x.grad
            else:
                (grad,) = torch.autograd.grad(gain, x)
            new = (x.detach() if detach else x) + sign * (lr if scale_lr else 1.0) * grad
            image = torch.roll(new, (-dy, -dx), dims=(2, 3)) if roll_back else new
            if clamp:
                image = image.clamp(0, 1)
            if blur_every and {"after": (step + 1) % blur_every == 0, "every": True, "never": False}[blur]:
                image = gaussian_blur(image, blur_sigma)
        return image

    return my_class_model


def test_passes_on_the_solution(capsys, zoonet, model_state):
    state = model_state(zoonet)
    check_class_model_loop(solution, zoonet)
    check_class_model_loop(through_the_roll, zoonet)
    assert capsys.readouterr().out.startswith("✓ Correct!")
    state.assert_unchanged(zoonet)


def test_fails_on_the_stub(zoonet):
    def stub(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator=None):
        raise NotImplementedError

    with pytest.raises(NotDoneYet):
        check_class_model_loop(stub, zoonet)


def test_fails_when_nothing_is_returned(expect_failure, zoonet):
    expect_failure(check_class_model_loop, lambda *args, **kwargs: None, zoonet, words=["None"])


@pytest.mark.parametrize("name", SWITCHED_OFF)
def test_fails_on_a_helper_that_does_it(name, zoonet):
    def via_helpers(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator=None):
        if name == "class_model_visualization":
            return helpers.class_model_visualization(model, target, optimizer="sgd", lr=lr, l2=l2, steps=steps,
                                                     jitter=jitter, blur_every=blur_every, blur_sigma=blur_sigma,
                                                     noise=0.0, image_shape=shape, progress=False).images
        if name == "feature_visualization":
            return helpers.feature_visualization(model, "features", 0).images
        return helpers.input_gradient(model, torch.full((1, *shape), 0.5), target)

    with pytest.raises(HelperUnavailable, match=f"helpers.{name}` is switched off"):
        check_class_model_loop(via_helpers, zoonet)
    assert all(getattr(helpers, n) is f for n, f in ORIGINALS.items())   # put back after the check
    assert helpers.class_model.class_model_visualization is ORIGINALS["class_model_visualization"]


def test_fails_on_a_helper_imported_into_the_learners_globals(zoonet):
    # class_model_visualization and ascend are imported at the top of this file: the functions' globals
    def via_import(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator=None):
        return class_model_visualization(model, target, progress=False).images

    def via_engine(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator=None):
        return ascend(None, 1, shape, None, matrix=None, device="cpu", dtype=torch.float32, desc="")

    for function in (via_import, via_engine):
        with pytest.raises(HelperUnavailable, match="switched off"):
            check_class_model_loop(function, zoonet)
    assert via_import.__globals__["class_model_visualization"] is helpers.class_model.class_model_visualization
    assert helpers.ascent.ascend is ascend and helpers.class_model.ascend is ascend


@pytest.mark.parametrize("kwargs, words", [
    (dict(sign=-1.0), ["gradient descent"]),
    (dict(use_l2=False), ["L2 penalty is missing"]),
    (dict(centre=0.0), ["mid-grey"]),
    (dict(objective="softmax"), ["softmax probability"]),
    (dict(objective="log_softmax"), ["log-softmax"]),
    (dict(scale_lr=False), ["not scaled by lr"]),
    (dict(clamp=False), ["outside [0, 1]", "clamp"]),
    (dict(roll_back=False), ["jitter is never rolled back", "with jitter 2"]),
    (dict(blur="never"), ["never blurred"]),
    (dict(blur="every"), ["after every step"]),
    (dict(backward=True), ["parameters got gradients", ".backward()"]),
    (dict(detach=False), ["attached to the autograd graph"]),
])
def test_fails_with_its_message_on_typical_mistakes(kwargs, words, expect_failure, zoonet, model_state):
    state = model_state(zoonet)
    expect_failure(check_class_model_loop, make_loop(**kwargs), zoonet, words=words)
    state.assert_unchanged(zoonet)


def test_fails_when_the_loop_changes_the_models_mode(expect_failure, zoonet, model_state):
    def trains(model, *args, **kwargs):
        model.train()
        return solution(model, *args, **kwargs)

    state = model_state(zoonet)
    expect_failure(check_class_model_loop, trains, zoonet, words=["train/eval mode"])
    state.assert_unchanged(zoonet)


def test_fails_on_the_trained_model_when_the_goose_does_not_win(expect_failure, zoonet):
    def weak(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator=None):
        # right on the small models, far too few steps on the 64 x 64 one
        return solution(model, target, shape, steps if shape[1] < 64 else 2, lr, l2, jitter, blur_every, blur_sigma,
                        generator)

    expect_failure(check_class_model_loop, weak, zoonet, words=["trained ZooNet", "reference loop reaches"])


def test_the_check_leaves_the_global_random_state_alone(zoonet):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_class_model_loop(solution, zoonet)
    assert torch.equal(torch.rand(3), expected)


def test_fails_on_a_wrong_shape_and_on_something_else(expect_failure, zoonet):
    expect_failure(check_class_model_loop, lambda model, target, shape, *args, **kwargs: torch.full(shape, 0.5),
                   zoonet, words=["shape"])
    expect_failure(check_class_model_loop, lambda model, target, shape, *args, **kwargs: torch.full((1, *shape), 0.6),
                   zoonet, words=["differs"])


def test_an_autograd_error_gets_a_hint_about_detaching(expect_failure, zoonet):
    def in_place_on_a_leaf(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator=None):
        image = torch.full((1, *shape), 0.5, requires_grad=True)
        for _ in range(steps):
            (grad,) = torch.autograd.grad(model(image)[0, target], image)
            image += lr * grad   # RuntimeError: a leaf that requires grad, changed in place
        return image

    expect_failure(check_class_model_loop, in_place_on_a_leaf, zoonet, words=["RuntimeError", "in_place_on_a_leaf",
                                                                              "fresh leaf"])

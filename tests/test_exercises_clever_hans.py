"""The exercise checks of notebook 05 (Clever Hans): pass on the solution, explain the stub and typical mistakes."""
import pytest
import torch

import helpers
from helpers import input_gradient, load_model, make_toy_zoo, paint_background, predict, saliency_map, swap_backgrounds
from helpers.attribution._core import _input_grad
from helpers.exercises import HelperUnavailable
from helpers.exercises.clever_hans import check_background_flips, check_delete_most_salient, check_fooling_image
from helpers.training import l2_pgd


def not_implemented(*args, **kwargs):
    raise NotImplementedError


def returns_none(*args, **kwargs):
    return None


# ---------------------------------------------------------------------------------------
# delete_most_salient


@pytest.fixture(scope="module")
def images():
    return make_toy_zoo(3, size=16, seed=0, classes=("husky", "wolf")).images


def delete_solution(images, saliency, k, fill=0.5):
    n, c, h, w = images.shape
    top = saliency.flatten(1).topk(k, dim=1).indices
    deleted = torch.zeros(n, h * w, dtype=torch.bool).scatter_(1, top, True)
    return torch.where(deleted.view(n, 1, h, w), torch.full_like(images, fill), images)


def delete_sorting_solution(images, saliency, k, fill=0.5):
    out = images.clone()
    for i in range(len(images)):
        order = saliency[i].flatten().argsort(descending=True)[:k]
        rows, cols = order // images.shape[-1], order % images.shape[-1]
        out[i, :, rows, cols] = fill
    return out


def delete_least_salient(images, saliency, k, fill=0.5):
    return delete_solution(images, -saliency, k, fill)


def delete_over_batch(images, saliency, k, fill=0.5):
    n, c, h, w = images.shape
    deleted = torch.zeros(n * h * w, dtype=torch.bool)
    deleted[saliency.flatten().topk(n * k).indices] = True
    return torch.where(deleted.view(n, 1, h, w), torch.full_like(images, fill), images)


def delete_in_place(images, saliency, k, fill=0.5):
    result = delete_solution(images, saliency, k, fill)
    images.copy_(result)
    return images


def delete_one_channel(images, saliency, k, fill=0.5):
    result = delete_solution(images, saliency, k, fill)
    result[:, 1:] = images[:, 1:]
    return result


def delete_one_too_many(images, saliency, k, fill=0.5):
    return delete_solution(images, saliency, min(k + 1, saliency[0].numel()), fill)


@pytest.mark.parametrize("solution", [delete_solution, delete_sorting_solution])
def test_delete_check_passes_on_solutions(images, solution, capsys):
    check_delete_most_salient(solution, images)
    assert capsys.readouterr().out.startswith("✓ Correct!")


@pytest.mark.parametrize("function, words", [
    (not_implemented, ["NotImplementedError"]),
    (returns_none, ["None", "return"]),
    (delete_least_salient, ["least"]),
    (delete_over_batch, ["whole batch", "per image"]),
    (delete_in_place, ["in place", "clone"]),
    (delete_one_channel, ["every colour channel"]),
    (delete_one_too_many, ["expected exactly k"]),
])
def test_delete_check_explains_mistakes(images, function, words, expect_failure):
    expect_failure(check_delete_most_salient, function, images, words=words)


# ---------------------------------------------------------------------------------------
# background_flips


@pytest.fixture(scope="module")
def flip_setup():
    model = load_model("huskywolf_biased")
    zoo = make_toy_zoo(16, bias=0.95, seed=30, classes=("husky", "wolf"))
    zoo = swap_backgrounds(zoo, seed=31, background=["snow"] * 4 + ["grass"] * 4 + ["gravel"] * 8)
    # the biased model gets some of these wrong, so comparing with the labels is a different answer
    assert (predict(model, zoo.images).argmax(1) != zoo.labels).any()
    return model, zoo


def flips_solution(model, images, masks, background, seed=0):
    before = predict(model, images).argmax(1)
    after = predict(model, paint_background(images, masks, background, seed=seed)).argmax(1)
    return before != after


def flips_by_hand(model, images, masks, background, seed=0):
    painted = paint_background(images, masks, background, seed=seed)
    with torch.no_grad():
        return model(images).argmax(1) != model(painted).argmax(1)


def flips_inverted(model, images, masks, background, seed=0):
    return ~flips_solution(model, images, masks, background, seed)


def flips_rate(model, images, masks, background, seed=0):
    return flips_solution(model, images, masks, background, seed).float().mean()


def flips_as_float(model, images, masks, background, seed=0):
    return flips_solution(model, images, masks, background, seed).float()


def flips_other_seed(model, images, masks, background, seed=0):
    return flips_solution(model, images, masks, background, seed=seed + 1) | True


@pytest.mark.parametrize("solution", [flips_solution, flips_by_hand])
def test_flips_check_passes_on_solutions(flip_setup, solution, capsys):
    check_background_flips(solution, *flip_setup)
    assert capsys.readouterr().out.startswith("✓ Correct!")


@pytest.mark.parametrize("function, words", [
    (not_implemented, ["NotImplementedError"]),
    (returns_none, ["None"]),
    (flips_inverted, ["inverted"]),
    (flips_rate, ["single number"]),
    (flips_as_float, ["bool"]),
    (flips_other_seed, ["differ from the expected"]),
])
def test_flips_check_explains_mistakes(flip_setup, function, words, expect_failure):
    expect_failure(check_background_flips, function, *flip_setup, words=words)


def test_flips_check_spots_a_comparison_with_the_labels(flip_setup, expect_failure):
    model, zoo = flip_setup

    def flips_against_labels(model, images, masks, background, seed=0):
        after = predict(model, paint_background(images, masks, background, seed=seed)).argmax(1)
        return zoo.labels != after

    expect_failure(check_background_flips, flips_against_labels, model, zoo, words=["true labels"])


# ---------------------------------------------------------------------------------------
# fooling_image


@pytest.fixture(scope="module")
def fool_setup():
    """The fixed husky/wolf model, a husky it classifies right, the target (wolf), step size and step budget."""
    model = load_model("huskywolf_fixed")
    zoo = make_toy_zoo(8, bias=0.95, seed=5, classes=("husky", "wolf"))
    image = zoo.images[(zoo.labels == 0) & (predict(model, zoo.images).argmax(1) == 0)][:1]
    return model, image, 1, 0.05, 30


def fool_loop(model, image, target, step_size, max_steps, direction=1.0, normalize=True, clamp=True, stop=True):
    """Gradient steps on S_target - S_source (the solution, and with other arguments a typical mistake)."""
    x = image.detach().clone()
    with torch.no_grad():
        source = int(model(x).argmax(1))
    for _ in range(max_steps):
        x.requires_grad_(True)
        scores = model(x)
        if stop and int(scores.argmax(1)) == target:
            break
        (grad,) = torch.autograd.grad(scores[0, target] - scores[0, source], x)
        step = grad / grad.norm() if normalize else grad
        x = x.detach() + direction * step_size * step
        x = x.clamp(0, 1) if clamp else x
    return x.detach()


def fool_solution(model, image, target, step_size, max_steps):
    return fool_loop(model, image, target, step_size, max_steps)


def fool_log_probability(model, image, target, step_size, max_steps):
    """Another correct answer: ascend log P(target), with .backward() on a copy that alone requires a gradient."""
    x = image.clone()
    for _ in range(max_steps):
        x = x.detach().requires_grad_(True)
        log_p = model(x).log_softmax(1)
        if log_p.argmax(1).item() == target:
            break
        x.grad = None
        torch.autograd.backward(log_p[0, target], inputs=[x])
        with torch.no_grad():
            x = (x + step_size * x.grad / x.grad.norm()).clamp(0, 1)
    return x.detach()


def fool_descent(model, image, target, step_size, max_steps):
    return fool_loop(model, image, target, step_size, max_steps, direction=-1.0)


def fool_no_clamp(model, image, target, step_size, max_steps):
    return fool_loop(model, image, target, step_size, max_steps, clamp=False)


def fool_no_stop(model, image, target, step_size, max_steps):
    return fool_loop(model, image, target, step_size, max_steps, stop=False)


def fool_not_normalized(model, image, target, step_size, max_steps):
    return fool_loop(model, image, target, step_size, max_steps, normalize=False)


def fool_sign(model, image, target, step_size, max_steps):
    x = image.detach().clone()
    source = int(model(x).argmax(1))
    while int(model(x).argmax(1)) != target:
        x.requires_grad_(True)
        scores = model(x)
        (grad,) = torch.autograd.grad(scores[0, target] - scores[0, source], x)
        x = (x.detach() + step_size * grad.sign()).clamp(0, 1)
    return x


def fool_gradient_not_reenabled(model, image, target, step_size, max_steps):
    x = image.detach().clone().requires_grad_(True)
    source = int(model(x).argmax(1))
    for _ in range(max_steps):
        scores = model(x)
        if int(scores.argmax(1)) == target:
            break
        (grad,) = torch.autograd.grad(scores[0, target] - scores[0, source], x)
        with torch.no_grad():
            x = (x + step_size * grad / grad.norm()).clamp(0, 1)
    return x


def fool_in_place(model, image, target, step_size, max_steps):
    result = fool_solution(model, image, target, step_size, max_steps)
    image.copy_(result)
    return image


def fool_with_backward(model, image, target, step_size, max_steps):
    x = image.detach().clone()
    source = int(model(x).argmax(1))
    for _ in range(max_steps):
        x.requires_grad_(True)
        scores = model(x)
        if int(scores.argmax(1)) == target:
            break
        (scores[0, target] - scores[0, source]).backward()
        x = (x.detach() + step_size * x.grad / x.grad.norm()).clamp(0, 1)
    return x.detach()


def fool_one_image(model, image, target, step_size, max_steps):
    return fool_solution(model, image, target, step_size, max_steps)[0]


def fool_with_helpers_input_gradient(model, image, target, step_size, max_steps):
    x = image.clone()
    for _ in range(max_steps):
        if int(model(x).argmax(1)) == target:
            break
        grad = helpers.input_gradient(model, x, target)
        x = (x + step_size * grad / grad.norm()).clamp(0, 1)
    return x


def fool_with_imported_saliency(model, image, target, step_size, max_steps):
    return (image + step_size * saliency_map(model, image, target)[:, None]).clamp(0, 1)


def fool_with_pgd(model, image, target, step_size, max_steps):
    return helpers.training.l2_pgd(model, image, torch.tensor([1 - target]), eps=step_size * max_steps)


def fool_with_registry(model, image, target, step_size, max_steps):
    return image + helpers.METHODS["saliency"].function(model, image, target)[:, None]


@pytest.mark.parametrize("solution", [fool_solution, fool_log_probability])
def test_fool_check_passes_on_solutions(fool_setup, solution, capsys, model_state):
    model = fool_setup[0]
    before = model_state(model)
    check_fooling_image(solution, *fool_setup)
    out = capsys.readouterr().out
    assert out.startswith("✓ Correct!") and "exactly" in out
    before.assert_unchanged(model)


@pytest.mark.parametrize("function, words", [
    (not_implemented, ["NotImplementedError"]),
    (returns_none, ["None", "return"]),
    (fool_descent, ["went down", "wrong way", "descent"]),
    (fool_no_clamp, ["outside [0, 1]", "clamp"]),
    (fool_no_stop, ["kept stepping", "stop at the first"]),
    (fool_sign, ["sign of the gradient", "grad.norm()"]),
    (fool_not_normalized, ["not of L2 length", "divide the gradient by its norm"]),
    (fool_gradient_not_reenabled, ["RuntimeError", "requires_grad_(True) again"]),
    (fool_in_place, ["in place", "clone"]),
    (fool_with_backward, ["parameters got gradients", "torch.autograd.grad"]),
    (fool_one_image, ["shape (1, 3, 64, 64)"]),
])
@pytest.mark.slow
def test_fool_check_explains_mistakes(fool_setup, function, words, expect_failure):
    expect_failure(check_fooling_image, function, *fool_setup, words=words)


@pytest.mark.parametrize("function, name", [
    (fool_with_helpers_input_gradient, "input_gradient"),
    (fool_with_imported_saliency, "saliency_map"),
    (fool_with_pgd, "l2_pgd"),
    (fool_with_registry, "helpers.saliency_map"),
])
def test_fool_check_switches_the_helpers_off(fool_setup, function, name):
    with pytest.raises(HelperUnavailable, match=f"{name}` is switched off") as info:
        check_fooling_image(function, *fool_setup)
    assert "torch.autograd.grad" in str(info.value)
    assert helpers.input_gradient is input_gradient and helpers.saliency_map is saliency_map  # put back afterwards
    assert helpers.training.l2_pgd is l2_pgd and helpers.attribution._core._input_grad is _input_grad
    assert fool_with_imported_saliency.__globals__["saliency_map"] is saliency_map


def test_fool_check_removes_the_gradients_it_reports(fool_setup, expect_failure):
    model = load_model("huskywolf_fixed")
    expect_failure(check_fooling_image, fool_with_backward, model, *fool_setup[1:], words=["removed"])
    assert all(p.grad is None for p in model.parameters())

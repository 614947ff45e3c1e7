"""The exercise checks of notebook 05 (Clever Hans): pass on the solution, explain the stub and typical mistakes."""
import pytest
import torch

from helpers import load_model, make_toy_zoo, paint_background, predict, swap_backgrounds
from helpers.exercises.clever_hans import check_background_flips, check_delete_most_salient


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

"""The exercise check of notebook 04: Integrated Gradients by the midpoint Riemann sum.

It must pass on the solution, and fail with a helpful ExerciseError on a stub (``raise
NotImplementedError`` or a forgotten ``return``) and on the typical mistakes.
"""
import pytest
import torch

from helpers.exercises import ExerciseError
from helpers.exercises.beyond_gradients import check_integrated_gradients


def path_gradients(model, image, target, baseline, alphas):
    path = (baseline + alphas.view(-1, 1, 1, 1) * (image - baseline)).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(path)[:, target].sum(), path)
    return grad


def midpoints(steps):
    return (torch.arange(steps) + 0.5) / steps


def solution(model, image, target, baseline, steps):
    return (image - baseline) * path_gradients(model, image, target, baseline, midpoints(steps)).mean(0)


def solution_with_a_loop(model, image, target, baseline, steps):
    """Another correct answer: one image at a time, summing gradients in a loop, with .backward()."""
    total = torch.zeros_like(image)
    for k in range(steps):
        point = (baseline + (k + 0.5) / steps * (image - baseline)).unsqueeze(0).requires_grad_(True)
        model(point)[0, target].backward()
        total += point.grad[0]
    return (image - baseline) * total / steps


def test_passes_on_the_solution(capsys):
    check_integrated_gradients(solution)
    out = capsys.readouterr().out
    assert out.startswith("✓ Correct!") and "vs" in out


def test_passes_on_a_loop_with_backward(capsys):
    check_integrated_gradients(solution_with_a_loop)
    assert capsys.readouterr().out.startswith("✓ Correct!")


def failure(function, *words):
    with pytest.raises(ExerciseError) as info:
        check_integrated_gradients(function)
    message = str(info.value)
    for word in words:
        assert word in message, message
    return message


def test_stub_that_raises():
    def stub(model, image, target, baseline, steps):
        raise NotImplementedError

    failure(stub, "NotImplementedError", "Hint")


def test_stub_that_returns_none():
    failure(lambda *args: None, "None", "return")


def test_wrong_shape():
    failure(lambda model, image, target, baseline, steps: solution(model, image, target, baseline, steps)[None],
            "shape (3, 64, 64)")


def test_forgetting_the_difference_factor():
    def mistake(model, image, target, baseline, steps):
        return path_gradients(model, image, target, baseline, midpoints(steps)).mean(0)

    failure(mistake, "without multiplying by (image - baseline)", "Hint")


def test_not_dividing_by_the_number_of_steps():
    def mistake(model, image, target, baseline, steps):
        return (image - baseline) * path_gradients(model, image, target, baseline, midpoints(steps)).sum(0)

    failure(mistake, "did not divide by the number of steps")


def test_gradient_at_the_image_only():
    def mistake(model, image, target, baseline, steps):
        return (image - baseline) * path_gradients(model, image, target, baseline, torch.ones(1))[0]

    failure(mistake, "gradient at the image itself")


def test_ignoring_the_baseline_argument():
    def mistake(model, image, target, baseline, steps):
        return solution(model, image, target, torch.zeros_like(image), steps)

    failure(mistake, "grey baseline", "black (all-zero) baseline")


def test_multiplying_by_the_image_instead_of_the_difference():
    def mistake(model, image, target, baseline, steps):
        return image * path_gradients(model, image, target, baseline, midpoints(steps)).mean(0)

    failure(mistake, "grey baseline", "instead of by (image - baseline)")


@pytest.mark.parametrize("alphas, words", [
    (lambda steps: torch.arange(steps) / steps, "left Riemann sum"),
    (lambda steps: (torch.arange(steps) + 1) / steps, "right Riemann sum"),
    (lambda steps: torch.linspace(0, 1, steps), "linspace"),
])
def test_other_quadrature_points_are_named(alphas, words):
    def other_rule(model, image, target, baseline, steps):
        return (image - baseline) * path_gradients(model, image, target, baseline, alphas(steps)).mean(0)

    failure(other_rule, words, "midpoints")


def test_an_unrecognized_answer_reports_completeness():
    def mistake(model, image, target, baseline, steps):
        return 0.5 * solution(model, image, target, baseline, steps)

    failure(mistake, "S(x) - S(baseline)", "completeness", "Hint")

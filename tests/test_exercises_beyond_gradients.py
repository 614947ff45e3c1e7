"""The exercise check of notebook 04: Integrated Gradients by the midpoint Riemann sum.

It must pass on the solution, and fail with a helpful ExerciseError on a stub (``raise
NotImplementedError`` or a forgotten ``return``) and on the typical mistakes.
"""
import pytest
import torch

import helpers
from helpers import input_gradient, integrated_gradients
from helpers.attribution._core import _input_grad
from helpers.exercises import HelperUnavailable
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


def test_stub_that_raises(expect_failure):
    def stub(model, image, target, baseline, steps):
        raise NotImplementedError

    expect_failure(check_integrated_gradients, stub, words=["NotImplementedError", "Hint"])


def test_stub_that_returns_none(expect_failure):
    expect_failure(check_integrated_gradients, lambda *args: None, words=["None", "return"])


def test_wrong_shape(expect_failure):
    expect_failure(check_integrated_gradients,
                   lambda model, image, target, baseline, steps: solution(model, image, target, baseline, steps)[None],
                   words=["shape (3, 64, 64)"])


def test_forgetting_the_difference_factor(expect_failure):
    def mistake(model, image, target, baseline, steps):
        return path_gradients(model, image, target, baseline, midpoints(steps)).mean(0)

    expect_failure(check_integrated_gradients, mistake, words=["without multiplying by (image - baseline)", "Hint"])


def test_not_dividing_by_the_number_of_steps(expect_failure):
    def mistake(model, image, target, baseline, steps):
        return (image - baseline) * path_gradients(model, image, target, baseline, midpoints(steps)).sum(0)

    expect_failure(check_integrated_gradients, mistake, words=["did not divide by the number of steps"])


def test_gradient_at_the_image_only(expect_failure):
    def mistake(model, image, target, baseline, steps):
        return (image - baseline) * path_gradients(model, image, target, baseline, torch.ones(1))[0]

    expect_failure(check_integrated_gradients, mistake, words=["gradient at the image itself"])


def test_ignoring_the_baseline_argument(expect_failure):
    def mistake(model, image, target, baseline, steps):
        return solution(model, image, target, torch.zeros_like(image), steps)

    expect_failure(check_integrated_gradients, mistake, words=["grey baseline", "black (all-zero) baseline"])


def test_multiplying_by_the_image_instead_of_the_difference(expect_failure):
    def mistake(model, image, target, baseline, steps):
        return image * path_gradients(model, image, target, baseline, midpoints(steps)).mean(0)

    expect_failure(check_integrated_gradients, mistake, words=["grey baseline", "instead of by (image - baseline)"])


@pytest.mark.parametrize("alphas, words", [
    (lambda steps: torch.arange(steps) / steps, "left Riemann sum"),
    (lambda steps: (torch.arange(steps) + 1) / steps, "right Riemann sum"),
    (lambda steps: torch.linspace(0, 1, steps), "linspace"),
])
def test_other_quadrature_points_are_named(alphas, words, expect_failure):
    def other_rule(model, image, target, baseline, steps):
        return (image - baseline) * path_gradients(model, image, target, baseline, alphas(steps)).mean(0)

    expect_failure(check_integrated_gradients, other_rule, words=[words, "midpoints"])


def test_an_unrecognized_answer_reports_completeness(expect_failure):
    def mistake(model, image, target, baseline, steps):
        return 0.5 * solution(model, image, target, baseline, steps)

    expect_failure(check_integrated_gradients, mistake, words=["S(x) - S(baseline)", "completeness", "Hint"])


def test_hard_coded_steps_fail_on_the_checks_own_case(expect_failure):
    def sixteen_steps(model, image, target, baseline, steps):
        return solution(model, image, target, baseline, 16)

    expect_failure(check_integrated_gradients, sixteen_steps, words=["small random CNN", "steps=7"])


def helpers_ig(model, image, target, baseline, steps):
    return helpers.integrated_gradients(model, image[None], target, baseline=baseline[None], steps=steps)[0]


def imported_ig(model, image, target, baseline, steps):
    return integrated_gradients(model, image[None], target, baseline=baseline[None], steps=steps)[0]


def input_gradient_on_the_path(model, image, target, baseline, steps):
    path = baseline + midpoints(steps).view(-1, 1, 1, 1) * (image - baseline)
    return (image - baseline) * input_gradient(model, path, target).mean(0)


def registry_ig(model, image, target, baseline, steps):
    return helpers.METHODS["integrated gradients"].function(model, image[None], target, steps=steps)[0]


@pytest.mark.parametrize("function, name", [(helpers_ig, "integrated_gradients"), (imported_ig, "integrated_gradients"),
                                            (input_gradient_on_the_path, "input_gradient"),
                                            (registry_ig, "helpers.integrated_gradients")])
def test_the_gradient_helpers_are_switched_off(function, name):
    with pytest.raises(HelperUnavailable, match=f"{name}` is switched off") as info:
        check_integrated_gradients(function)
    assert "torch.autograd.grad" in str(info.value)
    assert helpers.integrated_gradients is integrated_gradients and helpers.input_gradient is input_gradient
    assert imported_ig.__globals__["integrated_gradients"] is integrated_gradients
    assert helpers.attribution._core._input_grad is _input_grad

"""Tests of helpers.class_model: class model visualization by gradient ascent on the input."""
import numpy as np
import pytest
import torch

from helpers import LinearClassifier
from helpers.models import ZooNet
from helpers.class_model import ClassModelResult, class_model_visualization
from helpers.colors import estimate_color_matrix, natural_color_matrix
from helpers.filters import gaussian_blur, gaussian_kernel, total_variation
from helpers.objectives import objective_value

FAST = dict(steps=12, progress=False)


def small_net(seed: int = 0) -> ZooNet:
    torch.manual_seed(seed)
    return ZooNet(num_classes=5, width=4).eval()


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(target=8), ValueError, "target"),
    (dict(target=-1), ValueError, "target"),
    (dict(target=[0, 9]), ValueError, "target"),
    (dict(target=[]), ValueError, "target"),
    (dict(target=1.5), TypeError, "target"),
    (dict(target=True), TypeError, "target"),
    (dict(target=0, steps=0), ValueError, "steps"),
    (dict(target=0, steps=-3), ValueError, "steps"),
    (dict(target=0, steps=2.5), ValueError, "steps"),
    (dict(target=0, objective="logits"), ValueError, "objective"),
    (dict(target=0, lr=0), ValueError, "lr"),
    (dict(target=0, lr=float("nan")), ValueError, "lr"),
    (dict(target=0, l2=-1.0), ValueError, "l2"),
    (dict(target=0, l2=float("inf")), ValueError, "l2"),
    (dict(target=0, tv=-1.0), ValueError, "tv"),
    (dict(target=0, jitter=-1), ValueError, "jitter"),
    (dict(target=0, jitter=64), ValueError, "jitter"),
    (dict(target=0, blur_every=-2), ValueError, "blur_every"),
    (dict(target=0, blur_sigma=0.0), ValueError, "blur_sigma"),
    (dict(target=0, clamp="yes"), TypeError, "clamp"),
    (dict(target=0, parameterization="wavelet"), ValueError, "parameterization"),
    (dict(target=0, optimizer="lbfgs"), ValueError, "optimizer"),
    (dict(target=0, restarts=0), ValueError, "restarts"),
    (dict(target=0, noise=-0.1), ValueError, "noise"),
    (dict(target=0, seed=1.0), TypeError, "seed"),
    (dict(target=0, image_shape=(1, 64, 64)), ValueError, "image_shape"),  # the model wants 3 channels
    (dict(target=0, image_shape=(3, 4, 4), jitter=0), ValueError, "image_shape"),  # too small to pool
    (dict(target=0, image_shape=(3, 64)), ValueError, "image_shape"),
    (dict(target=0, parameterization="fourier", color_matrix=torch.eye(2)), ValueError, "color_matrix"),
    (dict(target=0, parameterization="fourier", color_matrix=torch.zeros(3, 3)), ValueError, "color_matrix"),
])
def test_bad_input_names_the_argument(kwargs, error, name):
    model = small_net()
    with pytest.raises(error, match=name):
        class_model_visualization(model, progress=False, **kwargs)


@pytest.mark.slow
def test_inference_mode_is_a_clear_error_and_no_grad_is_fine():
    model = small_net()
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        class_model_visualization(model, 0, **FAST)
    with torch.no_grad():
        inside = class_model_visualization(model, 0, **FAST)
    assert torch.equal(inside.image, class_model_visualization(model, 0, **FAST).image)


@pytest.mark.slow
def test_a_zero_dimensional_numpy_target_is_one_class():
    model = small_net()
    result = class_model_visualization(model, np.array(2), **FAST)
    assert result.targets == (2,) and result.image.shape == (3, 64, 64)


@pytest.mark.parametrize("images", [torch.rand(3, 8, 8), torch.rand(1, 3, 1, 1), torch.full((2, 3, 4, 4), float("nan"))])
def test_estimate_color_matrix_rejects_bad_images(images):
    with pytest.raises(ValueError, match="images"):
        estimate_color_matrix(images)


def test_not_a_model():
    with pytest.raises(TypeError, match="model"):
        class_model_visualization(lambda x: x, 0, progress=False)


def test_model_returning_wrong_shape_is_a_clear_error():
    class Flat(torch.nn.Module):
        def forward(self, x):
            return x.sum()

    with pytest.raises(ValueError, match="model"):
        class_model_visualization(Flat(), 0, **FAST)


# --- the caller's model is left alone ----------------------------------------------------------


@pytest.mark.slow
def test_model_state_unchanged(model_state):
    model = small_net()
    model.train()  # batch-norm would update its running statistics in train mode
    model.features[0].weight.requires_grad_(False)  # a mix of flags, to see each one restored
    before = model_state(model)
    result = class_model_visualization(model, [0, 2], **FAST)
    assert isinstance(result, ClassModelResult)
    before.assert_unchanged(model)


@pytest.mark.slow
def test_existing_parameter_gradients_are_kept():
    model = small_net()
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.25)
    class_model_visualization(model, 1, **FAST)
    assert all(torch.equal(p.grad, torch.full_like(p, 0.25)) for p in model.parameters())


def test_model_state_unchanged_after_an_error(model_state):
    model = small_net()
    model.train()
    before = model_state(model)
    with pytest.raises(ValueError, match="target"):  # raised after the probe ran in eval mode
        class_model_visualization(model, 7, **FAST)
    with pytest.raises(ValueError, match="image_shape"):
        class_model_visualization(model, 0, image_shape=(2, 64, 64), **FAST)
    before.assert_unchanged(model)


# --- results -------------------------------------------------------------------------------


@pytest.mark.slow
def test_shapes_history_and_single_image(zoonet):
    one = class_model_visualization(zoonet, 3, steps=7, progress=False)
    assert one.image.shape == (3, 64, 64) and one.images.shape == (1, 3, 64, 64)
    assert one.targets == (3,)
    assert set(one.history) == {"score", "probability", "other_score", "rival_score", "objective"}
    for values in one.history.values():
        assert values.shape == (7, 1)
        assert torch.isfinite(values).all()
    several = class_model_visualization(zoonet, [1, 4, 4], steps=5, progress=False, image_shape=(3, 48, 40))
    assert several.images.shape == (3, 3, 48, 40)
    assert all(v.shape == (5, 3) for v in several.history.values())
    assert several.score.shape == several.probability.shape == several.restart.shape == (3,)
    with pytest.raises(ValueError, match="images"):
        several.image


@pytest.mark.slow
def test_history_values_are_consistent(zoonet):
    result = class_model_visualization(zoonet, [0, 5], "log_softmax", jitter=0, **FAST)
    h = result.history
    assert torch.allclose(h["objective"].exp(), h["probability"], atol=1e-6)
    assert ((h["probability"] > 0) & (h["probability"] < 1)).all()
    assert (h["rival_score"] >= h["other_score"]).all()
    # the final values are those of the returned images
    with torch.no_grad():
        scores = zoonet(result.images)
    assert torch.allclose(result.score, scores[[0, 1], [0, 5]], atol=1e-5)
    assert torch.allclose(result.probability, scores.softmax(1)[[0, 1], [0, 5]], atol=1e-6)


@pytest.mark.slow
def test_history_is_what_the_model_said_at_each_step():
    model = small_net(3)
    seen = []
    handle = model.register_forward_hook(lambda module, inputs, output: seen.append(output.detach().clone()))
    try:
        result = class_model_visualization(model, [4, 1], "softmax", steps=6, progress=False)
    finally:
        handle.remove()
    steps = torch.stack(seen[1:7])  # the first call is the shape probe, the last the final evaluation
    t = torch.tensor([4, 1])
    h = result.history
    assert torch.allclose(h["score"], steps[:, [0, 1], t])
    assert torch.allclose(h["probability"], steps.softmax(2)[:, [0, 1], t])
    others = steps.clone()
    others[:, [0, 1], t] = float("nan")
    assert torch.allclose(h["other_score"], others.nanmean(2), atol=1e-6)
    assert torch.allclose(h["rival_score"], others.nan_to_num(float("-inf")).amax(2))
    assert torch.allclose(h["objective"], h["probability"])


@pytest.mark.slow
def test_target_forms_agree(zoonet):
    base = class_model_visualization(zoonet, 2, **FAST).images
    for target in (torch.tensor(2), np.int64(2), [2], (2,), torch.tensor([2]), np.array([2])):
        assert torch.equal(class_model_visualization(zoonet, target, **FAST).images, base), repr(target)


def test_deterministic_by_seed(zoonet):
    a = class_model_visualization(zoonet, [0, 6], seed=3, **FAST)
    b = class_model_visualization(zoonet, [0, 6], seed=3, **FAST)
    c = class_model_visualization(zoonet, [0, 6], seed=4, **FAST)
    assert torch.equal(a.images, b.images)
    assert all(torch.equal(a.history[k], b.history[k]) for k in a.history)
    assert not torch.allclose(a.images, c.images)


@pytest.mark.slow
def test_score_objective_raises_the_score(zoonet):
    result = class_model_visualization(zoonet, list(range(8)), "score", steps=40, progress=False)
    first, last = result.history["score"][0], result.history["score"][-1]
    assert (last > first + 1).all(), (first, last)
    assert (last - first).mean() > 20
    assert (result.images >= 0).all() and (result.images <= 1).all()  # clamped by default


@pytest.mark.slow
def test_softmax_objective_raises_the_probability(zoonet):
    # from grey the model sees a fish; ask for a husky (P about 0) and a flower
    result = class_model_visualization(zoonet, [1, 6], "softmax", l2=0.0, steps=60, progress=False)
    first, last = result.history["probability"][0], result.history["probability"][-1]
    assert (first < 0.1).all() and (last > 0.9).all(), (first, last)
    assert (result.probability > 0.9).all()


@pytest.mark.parametrize("optimizer, steps, atol", [("sgd", 80, 1e-5), ("adam", 600, 2e-2)])
def test_linear_model_converges_to_the_analytic_optimum(optimizer, steps, atol):
    """For S_c(I) = w_c . I + b_c, maximizing S_c - l2 ||I - 1/2||^2 has one optimum: I* = 1/2 + w_c / (2 l2)."""
    torch.manual_seed(0)
    model = LinearClassifier(num_classes=4, image_shape=(3, 6, 5))
    l2 = 0.5
    result = class_model_visualization(model, [1, 3], "score", l2=l2, lr=0.5 if optimizer == "sgd" else 0.01,
                                       optimizer=optimizer, steps=steps, jitter=0, blur_every=0, clamp=False,
                                       progress=False)
    expected = 0.5 + model.weight_images()[[1, 3]] / (2 * l2)
    assert result.images.shape == (2, 3, 6, 5)  # the model's image_shape is the default
    assert torch.allclose(result.images, expected, atol=atol)


def test_sgd_step_is_plain_gradient_ascent():
    """One SGD step from the start image: I + lr (w_c - 2 l2 (I - 1/2))."""
    torch.manual_seed(1)
    model = LinearClassifier(num_classes=3, image_shape=(3, 4, 4))
    common = dict(jitter=0, blur_every=0, clamp=False, optimizer="sgd", progress=False, seed=5, noise=0.1)
    start = class_model_visualization(model, 2, steps=1, lr=1e-12, l2=0.0, **common).image  # the start, moved by ~0
    one = class_model_visualization(model, 2, steps=1, lr=0.1, l2=0.3, **common).image
    w = model.weight_images()[2]
    assert torch.allclose(one, start + 0.1 * (w - 2 * 0.3 * (start - 0.5)), atol=1e-6)


def test_fourier_parameterization_gives_a_valid_image(zoonet):
    result = class_model_visualization(zoonet, [0, 3], parameterization="fourier", steps=40, progress=False)
    assert result.images.shape == (2, 3, 64, 64)
    assert torch.isfinite(result.images).all()
    assert (result.images > 0).all() and (result.images < 1).all()  # the sigmoid keeps it in range
    first, last = result.history["score"][0], result.history["score"][-1]
    assert (last > first + 1).all(), (first, last)
    plain = class_model_visualization(zoonet, 0, parameterization="fourier", decorrelate=False, **FAST)
    mixing = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    custom = class_model_visualization(zoonet, 0, parameterization="fourier", color_matrix=mixing, **FAST)
    scaled = class_model_visualization(zoonet, 0, parameterization="fourier", color_matrix=0.2 * mixing, **FAST)
    assert not torch.allclose(custom.image, scaled.image)  # the matrix is used as given: its size matters
    for other in (plain, custom):
        assert other.image.shape == (3, 64, 64) and (other.image > 0).all() and (other.image < 1).all()
    assert not torch.allclose(plain.image, custom.image)


def test_several_classes_in_one_batch_equal_separate_runs(zoonet):
    """Same start, same jitter, independent gradients: a batch is K separate runs. Only float rounding
    differs (a batched convolution sums in another order), and ascent amplifies it: the landscape of a
    ReLU network is piecewise, and once a rounding difference moves a pixel across a kink (a max-pool
    choice, a ReLU) the runs part. Adam does that within a few steps, because it scales gradients that
    are mostly rounding noise up to full steps; plain gradient ascent stays close far longer. So: plain
    gradient ascent for 10 steps, and Adam (the default) for 2."""
    targets = [0, 3, 7]
    sgd = dict(optimizer="sgd", lr=0.5, steps=10)
    for kwargs in (dict(steps=2), sgd, dict(parameterization="fourier", **sgd), dict(restarts=2, noise=0.2, **sgd)):
        batch = class_model_visualization(zoonet, targets, seed=2, progress=False, **kwargs)
        for k, t in enumerate(targets):
            alone = class_model_visualization(zoonet, t, seed=2, progress=False, **kwargs)
            assert torch.allclose(batch.images[k], alone.image, atol=1e-3), (kwargs, t)
            assert torch.allclose(batch.history["score"][:, k], alone.history["score"][:, 0], atol=1e-3)
            assert batch.restart[k] == alone.restart[0]


def test_restarts_keep_the_best(zoonet):
    result = class_model_visualization(zoonet, [1, 2], "score", restarts=3, noise=0.3, **FAST)
    assert result.restart_objectives.shape == (3, 2)
    assert torch.equal(result.restart, result.restart_objectives.argmax(0))
    with torch.no_grad():
        scores = zoonet(result.images)[[0, 1], [1, 2]]
    l2 = 1e-3
    kept = scores - l2 * (result.images - 0.5).square().flatten(1).sum(1)
    assert torch.allclose(kept, result.restart_objectives.max(0).values, atol=1e-4)


def test_regularizers_change_the_result(zoonet):
    base = class_model_visualization(zoonet, 0, **FAST).image
    for kwargs in (dict(jitter=0), dict(blur_every=0), dict(clamp=False), dict(l2=0.0), dict(tv=0.01)):
        other = class_model_visualization(zoonet, 0, **FAST, **kwargs).image
        assert not torch.allclose(base, other), kwargs
    unclamped = class_model_visualization(zoonet, 0, clamp=False, blur_every=0, jitter=0, l2=0.0,
                                          steps=40, progress=False).image
    assert unclamped.min() < 0 or unclamped.max() > 1


def test_progress_bar_can_be_silenced(zoonet, capsys):
    class_model_visualization(zoonet, 0, **FAST)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# --- building blocks -------------------------------------------------------------------------


def test_objective_value():
    scores = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    target = torch.tensor([2, 0])
    assert torch.allclose(objective_value(scores, target, "score"), torch.tensor([3.0, 0.0]))
    p = scores.softmax(1)[[0, 1], [2, 0]]
    assert torch.allclose(objective_value(scores, target, "softmax"), p)
    assert torch.allclose(objective_value(scores, target, "log_softmax"), p.log())


def test_blur_and_total_variation():
    kernel = gaussian_kernel(0.8)
    assert len(kernel) % 2 == 1 and abs(float(kernel.sum()) - 1) < 1e-6
    flat = torch.full((2, 3, 9, 9), 0.3)
    assert torch.allclose(gaussian_blur(flat, 0.8), flat, atol=1e-6)
    assert torch.equal(total_variation(flat), torch.zeros(2))
    spike = torch.zeros(1, 1, 9, 9)
    spike[0, 0, 4, 4] = 1.0
    blurred = gaussian_blur(spike, 1.0)
    assert abs(float(blurred.sum()) - 1) < 1e-5 and blurred.max() < 0.5
    assert float(total_variation(spike)) == 4.0


def test_color_matrix_is_the_square_root_of_the_covariance():
    torch.manual_seed(0)
    mix = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.4]])
    images = torch.einsum("ij,njhw->nihw", mix, torch.randn(64, 3, 16, 16))
    m = estimate_color_matrix(images)
    assert torch.allclose(m @ m, mix @ mix.T, atol=0.02)
    natural = natural_color_matrix()
    assert natural.shape == (3, 3) and torch.allclose(natural, natural.T)


def test_normalized_steps_move_a_fixed_distance_along_the_gradient():
    torch.manual_seed(0)
    model = LinearClassifier(num_classes=3, image_shape=(3, 8, 8))
    plain = dict(jitter=0, blur_every=0, clamp=False, l2=0.0, noise=0.0, progress=False, optimizer="normalized")
    result = class_model_visualization(model, 1, "score", lr=0.25, steps=8, **plain)
    moved = result.image - 0.5  # a linear score's gradient is the constant template w_1
    assert torch.allclose(moved.norm(), torch.tensor(8 * 0.25), atol=1e-5)
    w = model.weight_images()[1]
    assert torch.allclose(moved / moved.norm(), w / w.norm(), atol=1e-5)


def test_with_normalized_steps_softmax_and_log_softmax_give_the_same_image():
    torch.manual_seed(0)
    model = ZooNet(width=4).double()  # float64: float32 rounding, amplified by the steps, would blur the identity
    plain = dict(jitter=0, blur_every=0, l2=0.0, progress=False, optimizer="normalized", lr=0.5, steps=15, seed=3)
    soft = class_model_visualization(model, [0, 5], "softmax", **plain)
    log_soft = class_model_visualization(model, [0, 5], "log_softmax", **plain)
    score = class_model_visualization(model, [0, 5], "score", **plain)
    assert torch.allclose(soft.images, log_soft.images, atol=1e-8)  # ∇log P = ∇P / P: same direction
    assert (score.images - soft.images).abs().max() > 1e-2  # the raw score's gradient points elsewhere

"""Unit tests of helpers.evaluation: mask fraction, pointing game, deletion/insertion curves, AUC."""
import pytest
import torch

from helpers import LinearClassifier, deletion_curve, insertion_curve, mask_fraction, pointing_game
from helpers.evaluation import PerturbationCurve, area_under_curve
from helpers.models import ZooNet


def _square_masks(n=2, size=6):
    masks = torch.zeros(n, size, size, dtype=torch.bool)
    masks[:, 1:3, 1:3] = True  # a 2x2 object in the top-left corner
    return masks


# ---------------------------------------------------------------------------------------
# mask_fraction


def test_mask_fraction_on_hand_made_maps():
    masks = _square_masks()
    sal = torch.zeros(2, 6, 6)
    sal[0, 1, 1], sal[0, 5, 5] = 3.0, 1.0  # 3 of 4 units inside
    sal[1, 1:3, 1:3] = 0.5  # all inside
    assert torch.allclose(mask_fraction(sal, masks), torch.tensor([0.75, 1.0]))


def test_mask_fraction_all_outside_is_zero_and_zero_map_is_area_share():
    masks = _square_masks()
    sal = torch.zeros(2, 6, 6)
    sal[0, 4:, 4:] = 1.0
    result = mask_fraction(sal, masks)
    assert result[0] == 0.0
    assert result[1] == pytest.approx(4 / 36)  # no preference: the chance level, the object's area share


def test_mask_fraction_uses_magnitudes_and_sums_channels():
    masks = _square_masks(1)
    signed = torch.zeros(1, 6, 6)
    signed[0, 1, 1], signed[0, 4, 4] = -3.0, 1.0
    assert mask_fraction(signed, masks).item() == pytest.approx(0.75)
    per_channel = torch.zeros(1, 3, 6, 6)
    per_channel[0, 0, 1, 1], per_channel[0, 2, 1, 2], per_channel[0, 1, 5, 0] = 1.0, -1.0, 2.0
    assert mask_fraction(per_channel, masks).item() == pytest.approx(0.5)


def test_mask_fraction_accepts_zero_one_masks_and_keeps_dtype():
    masks = _square_masks()
    sal = torch.rand(2, 6, 6, generator=torch.Generator().manual_seed(0))
    expected = mask_fraction(sal, masks)
    assert torch.allclose(mask_fraction(sal, masks.float()), expected)
    assert torch.allclose(mask_fraction(sal.double(), masks), expected.double())
    assert mask_fraction(sal.double(), masks).dtype == torch.float64


@pytest.mark.parametrize("saliency, masks, error, words", [
    ([[0.0]], _square_masks(), TypeError, "saliency"),
    (torch.rand(6, 6), _square_masks(1)[0], ValueError, "unsqueeze"),
    (torch.ones(2, 6, 6, dtype=torch.long), _square_masks(), TypeError, "floating"),
    (torch.full((2, 6, 6), float("nan")), _square_masks(), ValueError, "NaN"),
    (torch.rand(0, 6, 6), _square_masks(0), ValueError, "empty"),
    (torch.rand(2, 6, 6), _square_masks(3), ValueError, "masks"),
    (torch.rand(2, 6, 6), _square_masks(2, 5), ValueError, "masks"),
    (torch.rand(2, 6, 6), _square_masks().float() * 2, ValueError, "masks"),
    (torch.rand(2, 6, 6), _square_masks().numpy(), TypeError, "masks"),
])
def test_mask_fraction_and_pointing_game_reject_bad_input(saliency, masks, error, words):
    for fn in (mask_fraction, pointing_game):
        with pytest.raises(error, match=words):
            fn(saliency, masks)


# ---------------------------------------------------------------------------------------
# pointing_game


def test_pointing_game_on_hand_made_maps():
    masks = _square_masks(3)
    sal = torch.rand(3, 6, 6, generator=torch.Generator().manual_seed(0)) * 0.1
    sal[0, 2, 2] = 1.0  # peak on the object
    sal[1, 5, 5] = 1.0  # peak far away
    sal[2, 1, 1], sal[2, 4, 4] = 0.9, -1.0  # the largest magnitude is the negative value, off the object
    assert pointing_game(sal, masks).tolist() == [True, False, False]


def test_pointing_game_tolerance_grows_the_mask():
    masks = _square_masks(1)  # rows/cols 1..2
    sal = torch.zeros(1, 6, 6)
    sal[0, 4, 2] = 1.0  # two rows below the object
    assert not pointing_game(sal, masks).item()
    assert not pointing_game(sal, masks, tolerance=1).item()
    assert pointing_game(sal, masks, tolerance=2).item()
    sal = torch.zeros(1, 6, 6)
    sal[0, 4, 4] = 1.0  # diagonal: chessboard distance 2
    assert pointing_game(sal, masks, tolerance=2).item()


def test_pointing_game_ties_take_the_first_peak():
    masks = torch.zeros(1, 4, 4, dtype=torch.bool)
    masks[0, 3, 3] = True
    sal = torch.ones(1, 4, 4)  # all tied: the first pixel, (0, 0), is the peak
    assert not pointing_game(sal, masks).item()
    masks[0, 0, 0] = True
    assert pointing_game(sal, masks).item()


@pytest.mark.parametrize("tolerance", [-1, 1.5, True, "2"])
def test_pointing_game_rejects_bad_tolerance(tolerance):
    with pytest.raises(ValueError, match="tolerance"):
        pointing_game(torch.rand(2, 6, 6), _square_masks(), tolerance=tolerance)


# ---------------------------------------------------------------------------------------
# deletion and insertion curves, exactly, on a linear model


def _linear_setup(seed=0):
    g = torch.Generator().manual_seed(seed)
    model = LinearClassifier(num_classes=3, image_shape=(3, 4, 5))
    with torch.no_grad():
        model.linear.weight.copy_(torch.randn(3, 60, generator=g))
        model.linear.bias.copy_(torch.randn(3, generator=g))
    images = torch.rand(2, 3, 4, 5, generator=g)
    saliency = torch.randperm(20, generator=g).float().reshape(1, 4, 5).repeat(2, 1, 1)  # distinct values
    saliency[1] = saliency[1].flip(-1)
    return model, images, saliency


def _expected_scores(model, images, saliency, steps, fill, insertion=False):
    """(N, steps + 1, K) scores computed by hand: score = b + sum over pixels of w · (value at that pixel)."""
    w = model.linear.weight.detach().reshape(-1, 3, 4, 5)
    b = model.linear.bias.detach()
    n = len(images)
    out = torch.empty(n, steps + 1, len(b))
    for i in range(n):
        order = saliency[i].flatten().argsort(descending=True)
        for k in range(steps + 1):
            count = round(k * 20 / steps)
            top = torch.zeros(20, dtype=torch.bool)
            top[order[:count]] = True
            top = top.reshape(4, 5)
            keep = ~top if not insertion else top
            x = torch.where(keep, images[i], torch.tensor(fill))
            out[i, k] = b + (w * x).flatten(1).sum(1)
    return out


@pytest.mark.parametrize("fill", [0.0, 0.5])
def test_deletion_curve_of_a_linear_model_is_exact(fill):
    model, images, saliency = _linear_setup()
    target = [2, 0]
    steps = 5  # 0, 4, 8, 12, 16, 20 pixels deleted
    expected = _expected_scores(model, images, saliency, steps, fill)
    curve = deletion_curve(model, images, target, saliency, steps=steps, fill=fill, objective="score", progress=False)
    assert isinstance(curve, PerturbationCurve)
    assert torch.allclose(curve.fractions, torch.tensor([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]))
    assert torch.allclose(curve.values, expected[torch.arange(2), :, torch.tensor(target)], atol=1e-5)
    probs = deletion_curve(model, images, target, saliency, steps=steps, fill=fill, progress=False)
    assert torch.allclose(probs.values, expected.softmax(-1)[torch.arange(2), :, torch.tensor(target)], atol=1e-6)


def test_deletion_curve_rounds_uneven_steps_and_starts_at_the_prediction():
    model, images, saliency = _linear_setup(1)
    curve = deletion_curve(model, images, 1, saliency, steps=3, fill=0.0, objective="score", progress=False)
    assert torch.allclose(curve.fractions * 20, torch.tensor([0.0, 7.0, 13.0, 20.0]))  # round(20 k / 3)
    expected = _expected_scores(model, images, saliency, 3, 0.0)[:, :, 1]
    assert torch.allclose(curve.values, expected, atol=1e-5)
    assert torch.allclose(curve.values[:, 0], model(images)[:, 1].detach(), atol=1e-5)


def test_insertion_curve_of_a_linear_model_is_exact():
    model, images, saliency = _linear_setup(2)
    expected = _expected_scores(model, images, saliency, 4, 0.25, insertion=True)[:, :, 0]
    curve = insertion_curve(model, images, 0, saliency, steps=4, fill=0.25, objective="score", progress=False)
    assert torch.allclose(curve.values, expected, atol=1e-5)
    assert torch.allclose(curve.values[:, -1], model(images)[:, 0].detach(), atol=1e-5)


def test_fill_tensor_mean_and_blur():
    model, images, saliency = _linear_setup(3)
    other = torch.rand(3, 4, 5, generator=torch.Generator().manual_seed(9))
    curve = deletion_curve(model, images, 0, saliency, steps=1, fill=other, objective="score", progress=False)
    assert torch.allclose(curve.values[:, 1], model(other.expand(2, -1, -1, -1))[:, 0].detach(), atol=1e-5)
    mean = deletion_curve(model, images, 0, saliency, steps=1, fill="mean", objective="score", progress=False)
    flat = images.mean((2, 3), keepdim=True).expand_as(images)
    assert torch.allclose(mean.values[:, 1], model(flat)[:, 0].detach(), atol=1e-5)
    blur = deletion_curve(model, images, 0, saliency, steps=1, fill="blur", objective="score", progress=False)
    assert blur.values.shape == (2, 2) and torch.isfinite(blur.values).all()
    constant = torch.full((1, 3, 8, 8), 0.3)  # blurring a constant image leaves it unchanged
    m8 = LinearClassifier(2, (3, 8, 8))
    c = deletion_curve(m8, constant, 1, torch.rand(1, 8, 8), steps=1, fill="blur", objective="score", progress=False)
    assert c.values[0, 0].item() == pytest.approx(c.values[0, 1].item(), abs=1e-5)


def test_curves_do_not_depend_on_batch_size_and_leave_the_model_alone(model_state):
    torch.manual_seed(0)
    model = ZooNet(num_classes=2, width=4).train()
    model.classifier.weight.requires_grad_(False)  # train mode and a mix of flags, to see each one kept
    before = model_state(model)
    images = torch.rand(3, 3, 16, 16)
    saliency = torch.rand(3, 16, 16)
    a = deletion_curve(model, images, [0, 1, 0], saliency, steps=4, progress=False)
    b = deletion_curve(model, images, [0, 1, 0], saliency, steps=4, batch_size=2, progress=False)
    assert torch.allclose(a.values, b.values, atol=1e-6)
    before.assert_unchanged(model)
    assert ((a.values >= 0) & (a.values <= 1)).all()


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(images=torch.rand(2, 3, 4)), ValueError, "images"),
    (dict(images=torch.ones(2, 3, 4, 5, dtype=torch.uint8)), TypeError, "images"),
    (dict(saliency=torch.rand(2, 4, 4)), ValueError, "saliency"),
    (dict(saliency=torch.rand(3, 4, 5)), ValueError, "saliency"),
    (dict(target=3), ValueError, "target"),
    (dict(target=[0, 1, 2]), ValueError, "target"),
    (dict(target=0.5), TypeError, "target"),
    (dict(steps=0), ValueError, "steps"),
    (dict(objective="logit"), ValueError, "objective"),
    (dict(fill="zeros"), ValueError, "fill"),
    (dict(fill=torch.rand(2, 3, 7, 7)), ValueError, "fill"),
    (dict(fill=None), TypeError, "fill"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(model="not a model"), TypeError, "model"),
])
def test_deletion_curve_rejects_bad_input(kwargs, error, words):
    model, images, saliency = _linear_setup()
    args = dict(model=model, images=images, target=0, saliency=saliency, progress=False)
    args.update(kwargs)
    with pytest.raises(error, match=words):
        deletion_curve(**args)


def test_insertion_curve_names_its_fill():
    model, images, saliency = _linear_setup()
    with pytest.raises(ValueError, match="fill"):
        insertion_curve(model, images, 0, saliency, fill="noise", progress=False)


# ---------------------------------------------------------------------------------------
# area under the curve


def test_area_under_curve_known_values():
    fractions = torch.linspace(0, 1, 5)
    values = torch.stack([torch.ones(5), 1 - fractions, fractions ** 2])
    area = area_under_curve(fractions, values)
    assert torch.allclose(area, torch.tensor([1.0, 0.5, 0.34375]))  # trapezoid rule on x^2 with 4 intervals
    curve = PerturbationCurve(fractions, values)
    assert torch.allclose(area_under_curve(curve), area) and torch.allclose(curve.area(), area)


@pytest.mark.parametrize("args, error, words", [
    ((torch.linspace(0, 1, 5),), TypeError, "values"),
    ((torch.linspace(0, 1, 5), torch.rand(5)), ValueError, "values"),
    ((torch.linspace(0, 1, 5), torch.rand(2, 4)), ValueError, "values"),
    ((torch.linspace(1, 0, 5), torch.rand(2, 5)), ValueError, "fractions"),
    ((torch.arange(5), torch.rand(2, 5)), TypeError, "fractions"),
])
def test_area_under_curve_rejects_bad_input(args, error, words):
    with pytest.raises(error, match=words):
        area_under_curve(*args)

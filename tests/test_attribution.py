"""Tests of helpers.attribution: exact linear cases, agreement with Captum, model state, bad input."""
import pytest
import torch
from torch import nn

from tiny_models import RecordConvBackward, TinyNet

from helpers import (LinearClassifier, contrastive_saliency, grad_cam, gradient_x_input, input_gradient,
                     integrated_gradients, make_toy_zoo, occlusion_map, saliency_map, smoothgrad)

captum_attr = pytest.importorskip("captum.attr")
pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")

# float32 agreement with Captum: same math, possibly a different summation order or batch grouping
ATOL, RTOL = 1e-5, 1e-4


def close(a, b, atol=ATOL, rtol=RTOL):
    """assert allclose with the tolerance scaled to the size of the expected values."""
    scale = b.abs().max().item() or 1.0
    assert a.shape == b.shape, (a.shape, b.shape)
    assert torch.allclose(a, b, atol=atol * scale, rtol=rtol), (a - b).abs().max().item()


@pytest.fixture(scope="module")
def zoo():
    zoo = make_toy_zoo(4, seed=3)
    return zoo.images, zoo.labels


@pytest.fixture
def linear():
    torch.manual_seed(0)
    model = LinearClassifier(num_classes=4, image_shape=(3, 8, 8)).double()
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    return model, x, torch.tensor([1, 3])


# ---------------------------------------------------------------------------------------
# exact cases: a linear score S_c = w_c · x + b_c


def test_linear_gradients_are_the_weights(linear):
    model, x, t = linear
    w = model.weight_images()[t]  # (2, 3, 8, 8): the target rows as images
    assert torch.allclose(input_gradient(model, x, t), w, atol=1e-12)
    assert torch.allclose(saliency_map(model, x, t), w.abs().amax(1), atol=1e-12)
    assert torch.allclose(gradient_x_input(model, x, t), x * w, atol=1e-12)
    o = torch.tensor([0, 2])
    expected = (x * (w - model.weight_images()[o])).sum(1).clamp(min=0)
    assert torch.allclose(contrastive_saliency(model, x, t, o), expected, atol=1e-12)


def test_linear_softmax_and_log_softmax_gradients(linear):
    model, x, t = linear
    W = model.weight_images()  # (K, C, H, W)
    p = model(x).softmax(1).detach()  # (N, K)
    mean_w = torch.einsum("nk,kchw->nchw", p, W)  # Σ_k P_k ∇S_k
    log_grad = W[t] - mean_w  # ∇ log P_c = ∇S_c − Σ_k P_k ∇S_k
    prob_grad = p[torch.arange(2), t][:, None, None, None] * log_grad  # ∇P_c = P_c ∇ log P_c
    assert torch.allclose(input_gradient(model, x, t, objective="log_softmax"), log_grad, atol=1e-12)
    assert torch.allclose(input_gradient(model, x, t, objective="softmax"), prob_grad, atol=1e-12)


def test_linear_integrated_gradients_is_exact(linear):
    model, x, t = linear
    w = model.weight_images()[t]
    assert torch.allclose(integrated_gradients(model, x, t, steps=3, progress=False), x * w, atol=1e-12)
    base = torch.full((3, 8, 8), 0.5, dtype=torch.float64)  # broadcast to every image
    ig = integrated_gradients(model, x, t, baseline=base, steps=1, progress=False)
    assert torch.allclose(ig, (x - base) * w, atol=1e-12)


def test_linear_occlusion_is_the_analytic_drop(linear):
    model, x, t = linear
    w = model.weight_images()[t]
    window, stride, fill = 3, 2, 0.25
    # windows start at 0, 2, 4, 6 (ceil((8 - 3) / 2) + 1 = 4 per axis); the last one is clipped to 6..7
    total, count = torch.zeros(2, 8, 8, dtype=torch.float64), torch.zeros(8, 8, dtype=torch.float64)
    for r in range(0, 7, 2):
        for c in range(0, 7, 2):
            drop = (w * (x - fill))[:, :, r:r + window, c:c + window].sum((1, 2, 3))  # S(x) − S(occluded)
            total[:, r:r + window, c:c + window] += drop[:, None, None]
            count[r:r + window, c:c + window] += 1
    got = occlusion_map(model, x, t, window=window, stride=stride, fill=fill, batch_size=5, progress=False)
    assert torch.allclose(got, total / count, atol=1e-12)


# ---------------------------------------------------------------------------------------
# agreement with Captum


@pytest.mark.parametrize("which", ["tiny", "zoonet"])
def test_saliency_and_input_gradient_match_captum(which, tiny, tiny_data, zoonet, zoo):
    model, (x, t) = (tiny, tiny_data) if which == "tiny" else (zoonet, zoo)
    saliency = captum_attr.Saliency(model)
    close(saliency_map(model, x, t), saliency.attribute(x, target=t, abs=True).amax(1))
    close(input_gradient(model, x, t), saliency.attribute(x, target=t, abs=False))


def test_smoothgrad_without_noise_is_saliency(tiny, tiny_data):
    x, t = tiny_data
    got = smoothgrad(tiny, x, t, n_samples=3, noise=0.0, progress=False)
    close(got, saliency_map(tiny, x, t), atol=1e-6, rtol=1e-6)
    tunnel = captum_attr.NoiseTunnel(captum_attr.Saliency(tiny))
    expected = tunnel.attribute(x, nt_type="smoothgrad", nt_samples=3, stdevs=0.0, target=t, abs=True).amax(1)
    close(got, expected)


@pytest.mark.parametrize("which", ["tiny", "zoonet"])
def test_smoothgrad_matches_captum_on_identical_noise(which, tiny, tiny_data, zoonet, zoo):
    """Captum's NoiseTunnel draws its noise from the global RNG in its own order, so its draws
    cannot be made identical to ours. Instead we redraw our documented noise (copy k of image i
    is the (k·N + i)-th (C, H, W) draw of a generator seeded with ``seed``), run Captum's
    Saliency(abs=True) on those very noisy images, and average: that is NoiseTunnel(Saliency,
    nt_type="smoothgrad") on identical draws, followed by the channel max."""
    model, (x, t) = (tiny, tiny_data) if which == "tiny" else (zoonet, (zoo[0][:2], zoo[1][:2]))
    n_samples, noise, seed = 4, 0.2, 7
    got = smoothgrad(model, x, t, n_samples=n_samples, noise=noise, seed=seed, batch_size=3, progress=False)
    sigma = noise * (x.amax((1, 2, 3)) - x.amin((1, 2, 3)))
    g = torch.Generator().manual_seed(seed)
    eps = torch.stack([torch.randn(x.shape[1:], generator=g) for _ in range(n_samples * len(x))])
    eps = eps.reshape(n_samples, *x.shape)
    saliency = captum_attr.Saliency(model)
    maps = [saliency.attribute(x + sigma[:, None, None, None] * eps[k], target=t, abs=True) for k in range(n_samples)]
    close(got, torch.stack(maps).mean(0).amax(1))


def test_smoothgrad_is_seeded_and_independent_of_batch_size(tiny, tiny_data):
    x, t = tiny_data
    rng_state = torch.get_rng_state()
    a = smoothgrad(tiny, x, t, n_samples=5, batch_size=1, seed=3, progress=False)
    b = smoothgrad(tiny, x, t, n_samples=5, batch_size=7, seed=3, progress=False)
    c = smoothgrad(tiny, x, t, n_samples=5, batch_size=7, seed=4, progress=False)
    assert torch.equal(torch.get_rng_state(), rng_state)  # the global RNG is not touched
    close(a, b, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(b, c)
    assert (a >= 0).all() and a.shape == (3, 16, 16)


@pytest.mark.parametrize("which", ["tiny", "zoonet"])
def test_integrated_gradients_matches_captum(which, tiny, tiny_data, zoonet, zoo):
    if which == "tiny":
        model, (x, t), baseline, steps = tiny, tiny_data, torch.rand(1, 3, 16, 16), 12
    else:
        model, x, t, baseline, steps = zoonet, zoo[0][:2], zoo[1][:2], None, 16
    got = integrated_gradients(model, x, t, baseline=baseline, steps=steps, batch_size=5, progress=False)
    expected = captum_attr.IntegratedGradients(model).attribute(
        x, baselines=baseline if baseline is not None else 0.0, target=t, n_steps=steps, method="gausslegendre")
    close(got, expected)


def test_integrated_gradients_completeness_on_zoonet(zoonet, zoo):
    """The tolerance the docstring states (0.6 score units), at the default step count, on the course CNN."""
    x, t = zoo
    ig = integrated_gradients(zoonet, x, t, batch_size=64, progress=False)
    with torch.no_grad():
        delta = (zoonet(x) - zoonet(torch.zeros_like(x))).gather(1, t[:, None])[:, 0]
    error = (ig.sum((1, 2, 3)) - delta).abs()
    assert (error <= 0.6).all(), (error, delta)
    assert error.median() <= 0.02 * delta.abs().median()  # 0.5 % over 4 x 96 images; a few percent on 4


@pytest.mark.parametrize("which", ["tiny", "zoonet"])
@pytest.mark.slow
def test_occlusion_matches_captum(which, tiny, tiny_data, zoonet, zoo):
    if which == "tiny":  # (16 − 6) / 4 is not whole: the last window is clipped at the border
        model, (x, t), window, stride, fill = tiny, tiny_data, 6, 4, 0.5
    else:
        model, x, t, window, stride, fill = zoonet, zoo[0][:2], zoo[1][:2], 16, 8, 0.0
    got = occlusion_map(model, x, t, window=window, stride=stride, fill=fill, batch_size=16, progress=False)
    expected = captum_attr.Occlusion(model).attribute(
        x, sliding_window_shapes=(3, window, window), strides=(3, stride, stride), baselines=fill, target=t,
        perturbations_per_eval=16)
    assert torch.allclose(expected, expected[:, :1].expand_as(expected))  # every channel carries the map
    close(got, expected[:, 0])


def _captum_grad_cam(model, layer, x, t):
    attr = captum_attr.LayerGradCam(model, layer).attribute(x, target=t, relu_attributions=True)
    return captum_attr.LayerAttribution.interpolate(attr, tuple(x.shape[2:]), interpolate_mode="bilinear")[:, 0]


@pytest.mark.parametrize("which", ["tiny", "zoonet"])
def test_grad_cam_matches_captum(which, tiny, tiny_data, zoonet, zoo):
    model, (x, t) = (tiny, tiny_data) if which == "tiny" else (zoonet, zoo)
    layer = model.features[-1]
    got = grad_cam(model, x, t, layer)
    assert got.shape == (len(x), *x.shape[2:]) and (got >= 0).all() and got.abs().sum() > 0
    close(got, _captum_grad_cam(model, layer, x, t))


@pytest.mark.slow
def test_grad_cam_on_resnet18_with_inplace_relus(resnet18):
    model, x, t = resnet18
    close(grad_cam(model, x, t, model.layer4), _captum_grad_cam(model, model.layer4, x, t))
    # bn2's output is changed in place afterwards (out += identity; relu(inplace=True)): the map must be the
    # one of the same network without in-place operations
    layer = model.layer4[1].bn2
    with_inplace = grad_cam(model, x, t, layer)
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    assert with_inplace.abs().sum() > 0
    close(with_inplace, grad_cam(model, x, t, layer))


# ---------------------------------------------------------------------------------------
# the caller's model is left exactly as it was; eval mode; device


def _calls(model):
    """Each helper as f(model, images, target), small settings."""
    layer = model.features[-1]
    return {
        "input_gradient": lambda m, x, t: input_gradient(m, x, t, objective="softmax"),
        "saliency_map": saliency_map,
        "gradient_x_input": gradient_x_input,
        "contrastive_saliency": lambda m, x, t: contrastive_saliency(m, x, t, [4, 0, 1][: len(x)]),
        "smoothgrad": lambda m, x, t: smoothgrad(m, x, t, n_samples=3, batch_size=4, progress=False),
        "integrated_gradients": lambda m, x, t: integrated_gradients(m, x, t, steps=4, batch_size=5, progress=False),
        "occlusion_map": lambda m, x, t: occlusion_map(m, x, t, window=8, stride=8, progress=False),
        "grad_cam": lambda m, x, t: grad_cam(m, x, t, layer),
    }


HELPERS = list(_calls(TinyNet()))


@pytest.mark.parametrize("name", HELPERS)
def test_model_state_is_restored_and_eval_mode_is_used(name, tiny, tiny_data, model_state):
    x, t = tiny_data
    call = _calls(tiny)[name]
    expected = call(tiny, x, t)  # the model is in eval mode here
    assert expected.device == x.device and not expected.requires_grad
    tiny.train()  # dropout and batch-norm statistics would change the map if train mode were used
    tiny.features[0].weight.requires_grad_(False)  # a mix of frozen and trainable parameters
    state = model_state(tiny)
    got = call(tiny, x, t)
    state.assert_unchanged(tiny)
    assert torch.equal(got, expected)
    with pytest.raises(ValueError, match="target"):
        call(tiny, x, torch.tensor([0, 1, 9]))
    state.assert_unchanged(tiny)


def test_grad_cam_removes_its_hook_when_it_fails(tiny, tiny_data, model_state):
    x, t = tiny_data
    tiny.train()
    state = model_state(tiny)
    with pytest.raises(ValueError, match="layer"):  # not a (N, C, h, w) feature map
        grad_cam(tiny, x, t, tiny.head[-1])
    state.assert_unchanged(tiny)
    relu = nn.ReLU()
    twice = nn.Sequential(nn.Conv2d(3, 2, 3), relu, nn.Conv2d(2, 2, 3), relu, nn.Flatten(), nn.LazyLinear(3))
    twice(x)
    state = model_state(twice)
    with pytest.raises(ValueError, match="layer.*once"):
        grad_cam(twice, x, 0, relu)
    state.assert_unchanged(twice)


def test_no_parameter_gradient_is_computed(tiny, tiny_data):
    """A load-independent check of the cost: every convolution backward computes the input's
    gradient only (output_mask [True, False, False]: no weight or bias gradient), as Captum's does."""
    x, t = tiny_data
    tiny.train()  # even for a model whose parameters all require gradients, in train mode
    for name, call in _calls(tiny).items():
        with RecordConvBackward() as record:
            call(tiny, x, t)
        expected = 0 if name in ("occlusion_map", "grad_cam") else 2  # grad_cam stops at its layer
        assert len(record.masks) >= expected and all(mask[1:] == [False, False] for mask in record.masks), name


def test_the_callers_images_are_not_changed(tiny, tiny_data):
    x, t = tiny_data
    x.requires_grad_(True)
    before = x.detach().clone()
    for call in _calls(tiny).values():
        call(tiny, x, t)
    assert torch.equal(x.detach(), before) and x.grad is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_model_on_gpu_results_on_the_inputs_device(tiny, tiny_data):
    x, t = tiny_data
    cpu = {name: call(tiny, x, t) for name, call in _calls(tiny).items()}
    tiny.cuda()
    for name, call in _calls(tiny).items():
        got = call(tiny, x, t)  # CPU images, GPU model
        assert got.device == x.device, name
        close(got, cpu[name], atol=1e-4, rtol=1e-3)
        assert call(tiny, x.cuda(), t).device.type == "cuda", name


# ---------------------------------------------------------------------------------------
# bad input: a TypeError/ValueError that names the argument


BAD_IMAGES = [
    ("wrong rank", lambda x: x[0], ValueError),
    ("wrong channel count", lambda x: x[:, :2], ValueError),
    ("integer dtype", lambda x: (x * 255).to(torch.uint8), TypeError),
    ("NaN", lambda x: x.masked_fill(torch.zeros_like(x, dtype=torch.bool).index_fill_(3, torch.tensor([2]), True),
                                    float("nan")), ValueError),
    ("inf", lambda x: x.index_fill(2, torch.tensor([1]), float("inf")), ValueError),
    ("empty batch", lambda x: x[:0], ValueError),
]


@pytest.mark.parametrize("name", HELPERS)
@pytest.mark.parametrize("case, bad, error", BAD_IMAGES, ids=[c[0] for c in BAD_IMAGES])
def test_bad_images_are_rejected(name, case, bad, error, tiny, tiny_data):
    x, t = tiny_data
    images = bad(x)
    t = t[: len(images)] if images.ndim == 4 else t
    with pytest.raises(error, match="images"):
        _calls(tiny)[name](tiny, images, t if len(t) else 0)


@pytest.mark.parametrize("name", HELPERS)
@pytest.mark.parametrize("target", [5, -1, [0, 1], torch.tensor([0, 1, 2, 3]), 1.5, torch.tensor([0.0, 1, 2])])
def test_bad_targets_are_rejected(name, target, tiny, tiny_data):
    x, _ = tiny_data
    with pytest.raises((TypeError, ValueError), match="target"):
        _calls(tiny)[name](tiny, x, target)


@pytest.mark.parametrize("call, match", [
    (lambda m, x, t: input_gradient(m, x, t, objective="probability"), "objective"),
    (lambda m, x, t: contrastive_saliency(m, x, t, t), "other"),
    (lambda m, x, t: contrastive_saliency(m, x, t, [1, 3, 0]), "other"),  # same class for the second image
    (lambda m, x, t: contrastive_saliency(m, x, t, 7), "other"),
    (lambda m, x, t: contrastive_saliency(m, x, t, [1, 2]), "other"),
    (lambda m, x, t: smoothgrad(m, x, t, n_samples=0), "n_samples"),
    (lambda m, x, t: smoothgrad(m, x, t, noise=-0.1), "noise"),
    (lambda m, x, t: smoothgrad(m, x, t, batch_size=0), "batch_size"),
    (lambda m, x, t: integrated_gradients(m, x, t, steps=0), "steps"),
    (lambda m, x, t: integrated_gradients(m, x, t, steps=2.5), "steps"),
    (lambda m, x, t: integrated_gradients(m, x, t, batch_size=-4), "batch_size"),
    (lambda m, x, t: integrated_gradients(m, x, t, baseline=torch.zeros(3, 8, 8)), "baseline"),
    (lambda m, x, t: integrated_gradients(m, x, t, baseline=float("nan")), "baseline"),
    (lambda m, x, t: integrated_gradients(m, x, t, baseline="black"), "baseline"),
    (lambda m, x, t: occlusion_map(m, x, t, window=0), "window"),
    (lambda m, x, t: occlusion_map(m, x, t, window=17), "window"),
    (lambda m, x, t: occlusion_map(m, x, t, stride=0), "stride"),
    (lambda m, x, t: occlusion_map(m, x, t, window=4, stride=5), "stride"),
    (lambda m, x, t: occlusion_map(m, x, t, batch_size=0), "batch_size"),
    (lambda m, x, t: occlusion_map(m, x, t, fill=float("inf")), "fill"),
    (lambda m, x, t: grad_cam(m, x, t, "features.9"), "layer"),  # no such layer (a dotted name is fine)
    (lambda m, x, t: grad_cam(m, x, t, nn.ReLU()), "layer"),
    (lambda m, x, t: saliency_map("resnet", x, t), "model"),
])
def test_bad_arguments_are_rejected(call, match, tiny, tiny_data, model_state):
    x, t = tiny_data
    state = model_state(tiny)
    with pytest.raises((TypeError, ValueError), match=match):
        call(tiny, x, t)
    state.assert_unchanged(tiny)


@pytest.mark.parametrize("error", [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                                   RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR")])
def test_errors_other_than_a_rejected_shape_pass_through_unchanged(error):
    class Failing(torch.nn.Module):
        def forward(self, images):
            raise error

    with pytest.raises(type(error)) as caught:
        saliency_map(Failing(), torch.rand(1, 3, 8, 8), 0)
    assert caught.value is error  # not turned into "wrong number of channels or image too small?"

"""Class model visualization: the image a classifier "looks for", by gradient ascent on the input.

With the weights fixed, start from a grey, slightly noisy image and change its pixels so that
an objective grows (Simonyan et al. 2013)::

    I* = argmax_I  f(S(I))  −  λ ‖I − ½‖²  −  (other regularizers)

where S(I) are the model's unnormalized class scores and the objective f is

- ``"score"``: the target's score S_c(I) itself (Simonyan et al.);
- ``"softmax"``: the target's posterior P_c(I) = softmax(S(I))_c;
- ``"log_softmax"``: log P_c(I) = S_c(I) − log Σ_k exp S_k(I).

The L2 penalty pulls towards mid-grey ½, the [0, 1] analogue of Simonyan et al.'s zero-mean
images. The other regularizers (Yosinski et al. 2015; Olah et al. 2017) are switches:
random jitter (the model sees the image rolled by a few pixels; the gradient is rolled back),
a Gaussian blur every few steps, clamping to [0, 1] after every step, a total-variation
penalty, and a frequency-domain image parameterization with decorrelated colours.

Everything runs on the model's device; only input gradients are computed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ._checks import (as_target, check_choice, check_grad_enabled_possible, check_images, check_model,
                      check_nonnegative, check_positive_int, check_target_range)
from .model_state import checked_scores, frozen_eval, model_device, model_dtype
from .objectives import OBJECTIVES, objective_value

PARAMETERIZATIONS = ("pixel", "fourier")
OPTIMIZERS = ("adam", "sgd", "normalized")

#: the centre the L2 penalty pulls towards (mid-grey) and the start image's mean
GREY = 0.5


@dataclass
class ClassModelResult:
    """What ``class_model_visualization`` made; every tensor is on the model's device.

    images: (K, C, H, W) in [0, 1] (with ``clamp`` or the Fourier parameterization), one per target.
    targets: the K class indices, in the order they were given.
    objective: ``"score"``, ``"softmax"`` or ``"log_softmax"``.
    history: per-step values, each a (steps, K) tensor, measured on the image the model saw at
        that step (jittered, before the update): ``"score"`` (the target's score S_c),
        ``"probability"`` (P_c), ``"other_score"`` (the mean score of the other classes),
        ``"rival_score"`` (the highest score among the other classes) and ``"objective"`` (the
        objective without regularizers: S_c, P_c or log P_c).
    score, probability: (K,) the target's score and probability on the final images (no jitter).
    restart: (K,) which random restart was kept for each target (the one with the highest
        regularized objective on its final image).
    restart_objectives: (restarts, K) that regularized objective for every restart's final image.

    For an int ``target`` (K = 1), ``result.image`` is the (C, H, W) image.
    """

    images: torch.Tensor
    targets: tuple[int, ...]
    objective: str
    history: dict[str, torch.Tensor]
    score: torch.Tensor
    probability: torch.Tensor
    restart: torch.Tensor
    restart_objectives: torch.Tensor
    settings: dict = field(default_factory=dict)

    @property
    def image(self) -> torch.Tensor:
        """The (C, H, W) image when one class was visualized (use ``images`` for several)."""
        if len(self.images) != 1:
            raise ValueError(f"image: this result holds {len(self.images)} images (one per target); "
                             "use result.images, shape (K, C, H, W)")
        return self.images[0]


# ---------------------------------------------------------------------------------------
# objective and regularizers


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """(N,) anisotropic total variation: the sum of |differences| between neighbouring pixels."""
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().flatten(1).sum(1)
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().flatten(1).sum(1)
    return dx + dy


def gaussian_kernel(sigma: float, device=None, dtype=torch.float32) -> torch.Tensor:
    """(2r + 1,) normalized 1-D Gaussian with r = max(1, ceil(2 sigma))."""
    radius = max(1, math.ceil(2 * sigma))
    x = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images: torch.Tensor, sigma: float, kernel: torch.Tensor | None = None) -> torch.Tensor:
    """(N, C, H, W) images blurred by a separable Gaussian of ``sigma`` pixels (depthwise conv, reflect padding)."""
    if kernel is None:
        kernel = gaussian_kernel(sigma, images.device, images.dtype)
    c, r = images.shape[1], len(kernel) // 2
    kx = kernel.reshape(1, 1, 1, -1).expand(c, 1, 1, -1)
    ky = kernel.reshape(1, 1, -1, 1).expand(c, 1, -1, 1)
    out = F.conv2d(F.pad(images, (r, r, 0, 0), mode="reflect"), kx, groups=c)
    return F.conv2d(F.pad(out, (0, 0, r, r), mode="reflect"), ky, groups=c)


def estimate_color_matrix(images: torch.Tensor) -> torch.Tensor:
    """(C, C) square root of the colour covariance of (N, C, H, W) images.

    Colours drawn as ``matrix @ z`` with z ~ N(0, I) have the images' colour correlations;
    the Fourier parameterization uses it to optimize in a decorrelated colour space.
    """
    check_images(images)
    if images.shape[0] * images.shape[2] * images.shape[3] < 2:
        raise ValueError(f"images: expected at least 2 pixels to estimate a covariance, got shape {tuple(images.shape)}")
    pixels = images.detach().float().transpose(0, 1).reshape(images.shape[1], -1)
    cov = torch.cov(pixels)
    values, vectors = torch.linalg.eigh(cov)
    return vectors @ torch.diag(values.clamp_min(1e-8).sqrt()) @ vectors.T


@lru_cache(maxsize=1)
def _photo_color_matrix() -> torch.Tensor:
    from .photos import load_photos

    return estimate_color_matrix(load_photos(size=64))


def natural_color_matrix() -> torch.Tensor:
    """(3, 3) colour-covariance square root of the natural photos in ``helpers.PHOTOS`` (the default)."""
    return _photo_color_matrix().clone()


# ---------------------------------------------------------------------------------------
# the image, as pixels or as a spectrum


class _Pixels:
    """The image is its own parameter: (N, C, H, W) pixels."""

    def __init__(self, start: torch.Tensor):
        self.param = start.clone().requires_grad_(True)

    def render(self) -> torch.Tensor:
        return self.param

    @torch.no_grad()
    def blur(self, sigma: float, kernel: torch.Tensor) -> None:
        self.param.copy_(gaussian_blur(self.param, sigma, kernel))

    @torch.no_grad()
    def clamp(self) -> None:
        self.param.clamp_(0.0, 1.0)


class _Fourier:
    """The image is sigmoid(M · irfft2(scale · spectrum)): a spectrum whose high frequencies are
    scaled down by 1 / f^decay, in a decorrelated colour space mapped to RGB by M, squashed into (0, 1).
    """

    def __init__(self, start: torch.Tensor, shape, matrix: torch.Tensor | None, decay: float):
        c, h, w = shape
        fy = torch.fft.fftfreq(h, device=start.device, dtype=start.dtype)[:, None]
        fx = torch.fft.rfftfreq(w, device=start.device, dtype=start.dtype)[None, :]
        self.freq = torch.sqrt(fx ** 2 + fy ** 2)  # cycles per pixel, (H, W // 2 + 1)
        scale = self.freq.clamp_min(1.0 / max(h, w)) ** -decay
        # white noise of std s in the spectrum becomes a pre-sigmoid image of std about 5 s, hence pixels of
        # std about 1.2 s (the sigmoid's slope at 0 is 1/4). The colour matrix scales that by its size: the
        # default one (entries up to about 0.25) makes it about 0.3 s, so Fourier runs take gentler steps.
        self.scale = 4 * scale / scale.square().mean().sqrt()
        self.size = (h, w)
        self.matrix = matrix
        self.param = start.clone().requires_grad_(True)  # (N, C, H, W // 2 + 1, 2): real and imaginary parts

    def render(self) -> torch.Tensor:
        spectrum = torch.view_as_complex(self.param) * self.scale
        image = torch.fft.irfft2(spectrum, s=self.size, norm="ortho")
        if self.matrix is not None:
            image = torch.einsum("ij,njhw->nihw", self.matrix, image)
        return torch.sigmoid(image)

    @torch.no_grad()
    def blur(self, sigma: float, kernel: torch.Tensor) -> None:
        # blurring by a Gaussian multiplies the spectrum by its transfer function exp(-2 pi^2 sigma^2 f^2)
        self.param.mul_(torch.exp(-2 * math.pi ** 2 * sigma ** 2 * self.freq.square())[..., None])

    def clamp(self) -> None:  # the sigmoid keeps every pixel in (0, 1) already
        pass


# ---------------------------------------------------------------------------------------
# the main function


def class_model_visualization(
    model: nn.Module,
    target,
    objective: str = "score",
    *,
    steps: int = 200,
    lr: float = 0.05,
    l2: float = 1e-3,
    jitter: int = 2,
    blur_every: int | None = None,
    blur_sigma: float = 0.5,
    clamp: bool = True,
    tv: float = 0.0,
    parameterization: str = "pixel",
    color_matrix: torch.Tensor | None = None,
    decorrelate: bool = True,
    decay: float = 1.0,
    optimizer: str = "adam",
    restarts: int = 1,
    image_shape: tuple[int, int, int] | None = None,
    noise: float = 0.05,
    seed: int = 0,
    progress: bool = True,
) -> ClassModelResult:
    """Generate the image(s) that maximize ``objective`` for class(es) ``target`` of ``model``.

    model: a classifier taking (N, C, H, W) images in [0, 1] and returning (N, num_classes) scores.
    target: an int class index (then ``result.image`` is (C, H, W)), or a sequence of K indices,
        visualized together in one batch (``result.images`` is (K, C, H, W)); each class's run is
        the same as a run of that class alone with the same seed (up to float rounding, which
        many steps of ascent can amplify).
    objective: ``"score"`` (S_c), ``"softmax"`` (P_c) or ``"log_softmax"`` (log P_c).
    steps: number of gradient-ascent steps; lr: step size (for ``"adam"``, roughly the change of
        a pixel per step; for ``"sgd"``, the factor on the gradient: I ← I + lr · ∇J).
    l2: weight λ of the penalty λ ‖I − ½‖² (sum over pixels); 0 switches it off.
    jitter: the model sees the image rolled by a random shift of up to ``jitter`` pixels in each
        direction at every step (the gradient is rolled back with it); 0 switches it off.
    blur_every, blur_sigma: every ``blur_every`` steps blur the image with a Gaussian of
        ``blur_sigma`` pixels (for the Fourier parameterization: its spectrum, before the colour
        transform and the sigmoid); 0 switches it off. Default (None): every 4 steps for the pixel
        parameterization, off for the Fourier one (its 1 / f scaling already favours smooth images).
    clamp: clip the pixels to [0, 1] after every step (pixel parameterization).
    tv: weight of the total-variation penalty (sum of |neighbour differences|); 0 switches it off.
    parameterization: ``"pixel"`` (optimize the pixels) or ``"fourier"`` (optimize a spectrum
        scaled by 1 / frequency^``decay``, in decorrelated colours, through a sigmoid; Olah et al. 2017).
    color_matrix, decorrelate: the (C, C) colour matrix of the Fourier parameterization (default:
        ``natural_color_matrix()`` for 3 channels; see ``estimate_color_matrix``), used as given: its size
        scales the colour changes (and so the effect of ``noise`` and ``lr``); ``decorrelate=False`` uses none.
    optimizer: ``"adam"`` (per-pixel step sizes), ``"sgd"`` (plain gradient ascent, as Simonyan et al.)
        or ``"normalized"`` (each image moves a fixed L2 distance ``lr`` along its gradient: only the
        gradient's direction counts, so objectives whose gradients point the same way, such as
        softmax and log-softmax without regularizers, ∇log P = ∇P / P, give the same images).
    restarts: number of random starts per class; the one with the highest regularized objective is kept.
    image_shape: (C, H, W) of the generated image; default the model's ``image_shape`` attribute if it
        has one, else (3, 64, 64) (use (3, 224, 224) for ImageNet models).
    noise: standard deviation of the start's Gaussian noise around grey (0: a plain grey start).
    seed: seeds the start and the jitter; the same seed gives the same result.
    progress: show a progress bar.

    The model is used in eval mode with its parameters frozen and is left exactly as it was.
    """
    check_model(model)
    check_choice(objective, "objective", OBJECTIVES)
    check_positive_int(steps, "steps")
    lr = _check_positive_number(lr, "lr")
    l2 = check_nonnegative(l2, "l2")
    tv = check_nonnegative(tv, "tv")
    jitter = _check_nonnegative_int(jitter, "jitter")
    check_choice(parameterization, "parameterization", PARAMETERIZATIONS)
    if blur_every is None:
        blur_every = 4 if parameterization == "pixel" else 0
    blur_every = _check_nonnegative_int(blur_every, "blur_every")
    if blur_every:
        blur_sigma = _check_positive_number(blur_sigma, "blur_sigma")
    if not isinstance(clamp, bool):
        raise TypeError(f"clamp: expected True or False, got {clamp!r}")
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    decay = check_nonnegative(decay, "decay")
    noise = check_nonnegative(noise, "noise")
    check_positive_int(restarts, "restarts")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {seed!r}")
    # an int (also a 0-d tensor or a numpy integer) is one class; anything with a length is a sequence
    single = getattr(target, "ndim", None) == 0 or not hasattr(target, "__len__")  # as_target rejects bools and floats
    n_targets = 1 if single else len(target)
    if n_targets == 0:
        raise ValueError("target: expected an int class index or a non-empty sequence of them, got an empty sequence")
    targets = as_target(target, n_targets)
    shape = _check_shape(getattr(model, "image_shape", (3, 64, 64)) if image_shape is None else image_shape)
    if shape[1] <= jitter or shape[2] <= jitter:
        raise ValueError(f"jitter: expected fewer pixels than the image side {min(shape[1:])}, got {jitter}")
    if blur_every and parameterization == "pixel" and max(1, math.ceil(2 * blur_sigma)) >= min(shape[1:]):
        raise ValueError(f"blur_sigma: expected a blur narrower than the image (2·sigma < {min(shape[1:])} pixels), "
                         f"got {blur_sigma}")
    check_grad_enabled_possible("class_model_visualization")
    device = model_device(model)
    dtype = model_dtype(model)
    matrix = None
    if parameterization == "fourier" and decorrelate:
        matrix = _check_matrix(color_matrix, shape[0], device, dtype)

    with frozen_eval(model), torch.enable_grad():  # also inside a caller's torch.no_grad()
        with torch.no_grad():
            probe = checked_scores(model, torch.full((1, *shape), GREY, device=device, dtype=dtype), "image_shape")
        num_classes = probe.shape[1]
        check_target_range(targets, num_classes)
        return _ascend(model, targets.to(device), objective, shape, num_classes, device, dtype,
                       steps=steps, lr=lr, l2=l2, jitter=jitter, blur_every=blur_every, blur_sigma=blur_sigma,
                       clamp=clamp, tv=tv, parameterization=parameterization, matrix=matrix, decay=decay,
                       optimizer=optimizer, restarts=restarts, noise=noise, seed=seed, progress=progress)


def _ascend(model, targets, objective, shape, num_classes, device, dtype, *, steps, lr, l2, jitter,
            blur_every, blur_sigma, clamp, tv, parameterization, matrix, decay, optimizer, restarts, noise,
            seed, progress) -> ClassModelResult:
    k = len(targets)
    n = restarts * k  # the batch: restart-major, [restart 0: all targets, restart 1: all targets, ...]
    c, h, w = shape
    generator = torch.Generator().manual_seed(seed)
    # every target starts from the same start of its restart, so a batch equals separate runs
    if parameterization == "pixel":
        start = GREY + noise * torch.randn((restarts, 1, c, h, w), generator=generator, dtype=dtype)
        image = _Pixels(start.expand(restarts, k, c, h, w).reshape(n, c, h, w).to(device))
    else:
        wf = w // 2 + 1
        start = noise * torch.randn((restarts, 1, c, h, wf, 2), generator=generator, dtype=dtype)
        image = _Fourier(start.expand(restarts, k, c, h, wf, 2).reshape(n, c, h, wf, 2).to(device),
                         shape, matrix, decay)
    shifts = torch.randint(-jitter, jitter + 1, (steps, 2), generator=generator).tolist() if jitter else None
    kernel = gaussian_kernel(blur_sigma, device, dtype) if blur_every else None
    all_targets = targets.repeat(restarts)
    param = image.param
    if optimizer == "adam":
        m1, m2 = torch.zeros_like(param), torch.zeros_like(param)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
    recorded = torch.empty((steps, n, num_classes), device=device, dtype=dtype)

    for step in tqdm(range(steps), desc="class model", disable=not progress, leave=False):
        pixels = image.render()
        seen = torch.roll(pixels, shifts[step], dims=(2, 3)) if jitter else pixels
        scores = model(seen)
        recorded[step] = scores.detach()
        gain = objective_value(scores, all_targets, objective).sum()
        if l2:
            gain = gain - l2 * (pixels - GREY).square().sum()
        if tv:
            gain = gain - tv * total_variation(pixels).sum()
        (grad,) = torch.autograd.grad(gain, param)
        with torch.no_grad():
            if optimizer == "sgd":
                param.add_(grad, alpha=lr)
            elif optimizer == "normalized":  # a step of L2 length lr along each image's gradient
                norms = grad.flatten(1).norm(dim=1).clamp_min(torch.finfo(grad.dtype).tiny)
                param.add_(grad / norms.reshape(-1, *[1] * (grad.dim() - 1)), alpha=lr)
            else:  # Adam, ascending
                m1.mul_(beta1).add_(grad, alpha=1 - beta1)
                m2.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                t = step + 1
                denom = (m2 / (1 - beta2 ** t)).sqrt_().add_(eps)
                param.addcdiv_(m1, denom, value=lr / (1 - beta1 ** t))
        if clamp:
            image.clamp()
        if blur_every and (step + 1) % blur_every == 0:
            image.blur(blur_sigma, kernel)

    with torch.no_grad():
        final = image.render().detach()
        scores = model(final)
        gain = objective_value(scores, all_targets, objective)
        if l2:
            gain = gain - l2 * (final - GREY).square().flatten(1).sum(1)
        if tv:
            gain = gain - tv * total_variation(final)
        per_restart = gain.reshape(restarts, k)
        best = per_restart.argmax(0)  # (K,)
        keep = best * k + torch.arange(k, device=device)
        kept = recorded[:, keep]  # (steps, K, num_classes)
        index = targets[None, :, None].expand(steps, k, 1)
        target_scores = kept.gather(2, index)[..., 0]
        history = {
            "score": target_scores,
            "probability": kept.softmax(2).gather(2, index)[..., 0],
            "other_score": (kept.sum(2) - target_scores) / max(num_classes - 1, 1),
            "rival_score": kept.scatter(2, index, float("-inf")).amax(2) if num_classes > 1 else torch.full_like(
                target_scores, float("nan")),
            "objective": objective_value(kept.reshape(steps * k, -1), targets.repeat(steps), objective).reshape(steps, k),
        }
        final_scores = scores[keep]
        result = ClassModelResult(
            images=final[keep],
            targets=tuple(int(t) for t in targets.tolist()),
            objective=objective,
            history=history,
            score=final_scores.gather(1, targets[:, None])[:, 0],
            probability=final_scores.softmax(1).gather(1, targets[:, None])[:, 0],
            restart=best,
            restart_objectives=per_restart,
            settings=dict(steps=steps, lr=lr, l2=l2, jitter=jitter, blur_every=blur_every, blur_sigma=blur_sigma,
                          clamp=clamp, tv=tv, parameterization=parameterization, decay=decay,
                          optimizer=optimizer, restarts=restarts, noise=noise, seed=seed),
        )
    return result


# ---------------------------------------------------------------------------------------
# argument checks specific to this module


def _check_positive_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def _check_nonnegative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: expected a non-negative integer (0 switches it off), got {value!r}")
    return value


def _check_shape(shape) -> tuple[int, int, int]:
    ok = isinstance(shape, (tuple, list, torch.Size)) and len(shape) == 3 and all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    if not ok:
        raise ValueError(f"image_shape: expected (C, H, W), three positive integers, got {shape!r}")
    return tuple(shape)


def _check_matrix(matrix, channels: int, device, dtype) -> torch.Tensor:
    if matrix is None:
        if channels != 3:
            raise ValueError(f"color_matrix: the default is for 3 colour channels; pass a ({channels}, {channels}) "
                             "matrix for this model, or decorrelate=False")
        matrix = natural_color_matrix()
    if not isinstance(matrix, torch.Tensor) or tuple(matrix.shape) != (channels, channels) \
            or not torch.isfinite(matrix).all():
        shape = tuple(matrix.shape) if isinstance(matrix, torch.Tensor) else type(matrix).__name__
        raise ValueError(f"color_matrix: expected a finite ({channels}, {channels}) tensor, got {shape}")
    if not matrix.abs().max() > 0:
        raise ValueError("color_matrix: expected a matrix with a non-zero entry, got all zeros")
    return matrix.to(device=device, dtype=dtype)

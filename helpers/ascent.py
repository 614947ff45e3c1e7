"""Gradient ascent on the input: the one engine behind class models and feature visualizations.

With the model's weights fixed, start from a grey, slightly noisy image and change its pixels so
that an objective J(I) grows, minus regularizers (Simonyan et al. 2013; Yosinski et al. 2015;
Olah et al. 2017)::

    I* = argmax_I  J(I)  −  λ ‖I − ½‖²  −  τ TV(I)

J comes from the caller (a class score, a probability, a unit's activation: ``helpers.objectives``).
How the image is made is an ``AscentSettings``: the L2 and total-variation weights, random jitter
(the model sees the image rolled by a few pixels; the gradient is rolled back), a list of small
random transforms (``helpers.transforms``: pad, jitter, random scale, random rotation), a Gaussian blur
every few steps, clamping to [0, 1], the image's parameterization (pixels, or a 1/f-scaled
spectrum in decorrelated colours) and torch's optimizer (Adam or SGD, ascending, or SGD on the
gradient's direction only: ``"normalized"``).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from ._checks import (check_choice, check_image_shape, check_int, check_nonnegative, check_nonnegative_int,
                      check_positive_int, check_positive_number)
from .colors import checked_color_matrix
from .filters import gaussian_blur, gaussian_kernel, total_variation
from .objectives import GREY
from .transforms import apply, check_transforms

PARAMETERIZATIONS = ("pixel", "fourier")
OPTIMIZERS = ("adam", "sgd", "normalized")


@dataclass(frozen=True)
class AscentSettings:
    """How an ascent makes its image; checked once, when made (a bad value is a ValueError naming it).

    steps: number of gradient-ascent steps.
    lr: step size: for ``"adam"`` roughly the change of a pixel per step; for ``"sgd"`` the factor on
        the gradient (I ← I + lr · ∇J); for ``"normalized"`` the L2 length of each image's step.
    l2: weight λ of the penalty λ ‖I − ½‖² (sum over pixels); 0 switches it off.
    jitter: the model sees the image rolled by a random shift of up to ``jitter`` pixels in each
        direction at every step (the gradient is rolled back with it); 0 switches it off.
    blur_every, blur_sigma: every ``blur_every`` steps blur the image with a Gaussian of
        ``blur_sigma`` pixels (Fourier parameterization: its spectrum, before the colour transform
        and the sigmoid); 0 switches it off. None (the default): every 4 steps for the pixel
        parameterization, off for the Fourier one (its 1/f scaling already favours smooth images).
    transforms: a list of small random image transforms (``helpers.transforms``: ``Pad``, ``Jitter``,
        ``RandomScale``, ``RandomRotation``; ``standard_transforms()`` for ImageNet networks) applied in
        turn, after the roll of ``jitter``, to the image the model sees at every step; the gradient flows
        back through them. Empty (the default): none.
    clamp: clip the pixels to [0, 1] after every step (pixel parameterization).
    tv: weight τ of the total-variation penalty (sum of |neighbour differences|); 0 switches it off.
    parameterization: ``"pixel"`` (optimize the pixels) or ``"fourier"`` (optimize a spectrum scaled by
        1 / frequency^``decay``, in decorrelated colours, through a sigmoid; Olah et al. 2017).
    color_matrix, decorrelate: the (C, C) colour matrix of the Fourier parameterization (default:
        ``natural_color_matrix()`` for 3 channels), used as given: its size scales the colour changes;
        ``decorrelate=False`` uses none.
    optimizer: ``"adam"`` (torch.optim.Adam, per-pixel step sizes), ``"sgd"`` (torch.optim.SGD, plain
        gradient ascent as Simonyan et al.) or ``"normalized"`` (SGD on ∇J / ‖∇J‖ per image: only the
        gradient's direction counts, so objectives whose gradients point the same way, such as softmax
        and log-softmax without regularizers, ∇log P = ∇P / P, give the same images).
    restarts: random starts per image; the one with the highest regularized objective is kept.
    image_shape: (C, H, W); None: the model's ``image_shape`` attribute if it has one, else (3, 64, 64).
    noise: standard deviation of the start's Gaussian noise around grey (0: a plain grey start).
    seed: seeds the start and the jitter; the same seed gives the same result.
    progress: show a progress bar.
    """

    steps: int = 200
    lr: float = 0.05
    l2: float = 1e-3
    jitter: int = 2
    blur_every: int | None = None
    blur_sigma: float = 0.5
    transforms: tuple = ()
    clamp: bool = True
    tv: float = 0.0
    parameterization: str = "pixel"
    color_matrix: torch.Tensor | None = field(default=None, compare=False, repr=False)
    decorrelate: bool = True
    decay: float = 1.0
    optimizer: str = "adam"
    restarts: int = 1
    image_shape: tuple[int, int, int] | None = None
    noise: float = 0.05
    seed: int = 0
    progress: bool = True
    # whether blur_every was left to its default (which depends on the parameterization)
    _blur_by_default: bool = field(default=False, init=False, compare=False, repr=False)

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        check_positive_int(self.steps, "steps")
        put("lr", check_positive_number(self.lr, "lr"))
        put("l2", check_nonnegative(self.l2, "l2"))
        put("tv", check_nonnegative(self.tv, "tv"))
        check_nonnegative_int(self.jitter, "jitter")
        put("transforms", check_transforms(self.transforms))
        check_choice(self.parameterization, "parameterization", PARAMETERIZATIONS)
        if self.blur_every is None:
            put("_blur_by_default", True)
            put("blur_every", 4 if self.parameterization == "pixel" else 0)
        check_nonnegative_int(self.blur_every, "blur_every")
        put("blur_sigma", check_positive_number(self.blur_sigma, "blur_sigma"))
        for name in ("clamp", "decorrelate", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if self.color_matrix is not None and not isinstance(self.color_matrix, torch.Tensor):
            raise ValueError(f"color_matrix: expected None or a (C, C) tensor, got {type(self.color_matrix).__name__}")
        put("decay", check_nonnegative(self.decay, "decay"))
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_positive_int(self.restarts, "restarts")
        if self.image_shape is not None:
            put("image_shape", check_image_shape(self.image_shape))
        put("noise", check_nonnegative(self.noise, "noise"))
        check_int(self.seed, "seed")

    def __eq__(self, other) -> bool:
        """Equal settings: every compared field equal, and the colour matrices both None or equal tensors."""
        if not isinstance(other, AscentSettings):
            return NotImplemented
        same = all(getattr(self, f.name) == getattr(other, f.name) for f in dataclasses.fields(self) if f.compare)
        mine, theirs = self.color_matrix, other.color_matrix
        return same and (mine is theirs or (mine is not None and theirs is not None and torch.equal(mine, theirs)))

    def replace(self, **overrides) -> AscentSettings:
        """A copy with some settings changed (checked like the original); an unknown name is a TypeError."""
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise TypeError(f"{unknown[0]}: not a setting of the ascent; the settings are {', '.join(names)}")
        if self._blur_by_default and "blur_every" not in overrides:
            overrides["blur_every"] = None  # still the default, which depends on the parameterization
        return dataclasses.replace(self, **overrides)

    def image_shape_for(self, model) -> tuple[int, int, int]:
        """(C, H, W) of the images for ``model``, checked against jitter."""
        shape = self.image_shape or check_image_shape(getattr(model, "image_shape", (3, 64, 64)), "model.image_shape")
        if min(shape[1:]) <= self.jitter:
            raise ValueError(f"jitter: expected fewer pixels than the image side {min(shape[1:])}, got {self.jitter}")
        return shape


def fourier_color_matrix(settings: AscentSettings, channels: int, device, dtype) -> torch.Tensor | None:
    """The checked colour matrix the Fourier parameterization uses (None for pixels or ``decorrelate=False``)."""
    if settings.parameterization != "fourier" or not settings.decorrelate:
        return None
    return checked_color_matrix(settings.color_matrix, channels, device, dtype)


def resolve_settings(settings: AscentSettings | None, overrides: dict) -> AscentSettings:
    """``settings`` (default ``AscentSettings()``) with keyword ``overrides`` applied."""
    if settings is None:
        settings = AscentSettings()
    elif not isinstance(settings, AscentSettings):
        raise TypeError(f"settings: expected an AscentSettings or None, got {type(settings).__name__}")
    return settings.replace(**overrides) if overrides else settings


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


def _start(settings: AscentSettings, k: int, shape, matrix, device, dtype):
    """The parameterized start images, restart-major: every one of the k images of a restart starts alike."""
    generator = torch.Generator().manual_seed(settings.seed)
    r, (c, h, w) = settings.restarts, shape
    if settings.parameterization == "pixel":
        start = GREY + settings.noise * torch.randn((r, 1, c, h, w), generator=generator, dtype=dtype)
        image = _Pixels(start.expand(r, k, c, h, w).reshape(r * k, c, h, w).to(device))
    else:
        wf = w // 2 + 1
        start = settings.noise * torch.randn((r, 1, c, h, wf, 2), generator=generator, dtype=dtype)
        image = _Fourier(start.expand(r, k, c, h, wf, 2).reshape(r * k, c, h, wf, 2).to(device),
                         shape, matrix, settings.decay)
    jitter = settings.jitter
    shifts = torch.randint(-jitter, jitter + 1, (settings.steps, 2), generator=generator).tolist() if jitter else None
    return image, shifts


# ---------------------------------------------------------------------------------------
# the engine


@dataclass
class Ascent:
    """What ``ascend`` made for k images (every tensor on the model's device, detached).

    images: (k, C, H, W) the kept restart's final images.
    records: (steps, k, ...) what the objective recorded at every step, on the image the model saw
        (jittered and transformed, before the update), for the kept restarts.
    final: (k, ...) the record on the final images (no jitter).
    restart: (k,) which restart was kept; restart_objectives: (restarts, k) their regularized objectives.
    """

    images: torch.Tensor
    records: torch.Tensor
    final: torch.Tensor
    restart: torch.Tensor
    restart_objectives: torch.Tensor


@dataclass
class AscentResult:
    """What the visualizations built on ``ascend`` have in common (their results add what they measured).

    images: (K, C, H, W), one per target; restart: (K,) the kept restart of each; restart_objectives:
    (restarts, K) every restart's regularized objective; settings: the ``AscentSettings`` used.
    """

    images: torch.Tensor
    restart: torch.Tensor
    restart_objectives: torch.Tensor
    settings: AscentSettings

    @property
    def image(self) -> torch.Tensor:
        """The (C, H, W) image when one target was visualized (use ``images`` for several)."""
        if len(self.images) != 1:
            raise ValueError(f"image: this result holds {len(self.images)} images (one per target); "
                             "use result.images, shape (K, C, H, W)")
        return self.images[0]


Objective = Callable[[torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]


def ascend(objective: Objective, k: int, shape: tuple[int, int, int], settings: AscentSettings, *,
           matrix: torch.Tensor | None, device, dtype, desc: str) -> Ascent:
    """Run the gradient ascent of ``settings`` for k images at once (times ``settings.restarts``).

    objective: images (n, C, H, W) → (gain, record): gain (n,) is J for each image (to climb), record
        (n, ...) what to keep per step. The batch holds n = restarts · k images, restart-major (row
        r · k + j is image j of restart r), so row i belongs to image i mod k.
    matrix: the Fourier parameterization's colour matrix (None: none).
    Call inside ``frozen_eval(model)`` and ``torch.enable_grad()``: only the image gets a gradient.
    """
    image, shifts = _start(settings, k, shape, matrix, device, dtype)
    param = image.param
    if settings.optimizer == "adam":
        optimizer = torch.optim.Adam([param], lr=settings.lr, maximize=True)
    else:
        optimizer = torch.optim.SGD([param], lr=settings.lr, maximize=True)
    kernel = gaussian_kernel(settings.blur_sigma, device, dtype) if settings.blur_every else None
    draws = torch.Generator().manual_seed(settings.seed)  # the transforms' random draws
    records = []
    for step in tqdm(range(settings.steps), desc=desc, disable=not settings.progress, leave=False):
        pixels = image.render()
        seen = torch.roll(pixels, shifts[step], dims=(2, 3)) if shifts else pixels
        seen = apply(settings.transforms, seen, draws)
        gain, record = objective(seen)
        records.append(record.detach())
        (param.grad,) = torch.autograd.grad(_regularized(gain, pixels, settings).sum(), param)
        if settings.optimizer == "normalized":  # a step of L2 length lr along each image's gradient
            norms = param.grad.flatten(1).norm(dim=1).clamp_min(torch.finfo(dtype).tiny)
            param.grad.div_(norms.reshape(-1, *[1] * (param.dim() - 1)))
        optimizer.step()
        if settings.clamp:
            image.clamp()
        if settings.blur_every and (step + 1) % settings.blur_every == 0:
            image.blur(settings.blur_sigma, kernel)
    param.grad = None

    with torch.no_grad():
        final = image.render().detach()
        gain, record = objective(final)
        per_restart = _regularized(gain, final, settings).reshape(settings.restarts, k)
        best = per_restart.argmax(0)  # (k,)
        keep = best * k + torch.arange(k, device=best.device)
        return Ascent(images=final[keep], records=torch.stack(records)[:, keep], final=record.detach()[keep],
                      restart=best, restart_objectives=per_restart)


def _regularized(gain: torch.Tensor, pixels: torch.Tensor, settings: AscentSettings) -> torch.Tensor:
    """(n,) J − λ ‖I − ½‖² − τ TV(I) for each image."""
    if settings.l2:
        gain = gain - settings.l2 * (pixels - GREY).square().flatten(1).sum(1)
    if settings.tv:
        gain = gain - settings.tv * total_variation(pixels)
    return gain

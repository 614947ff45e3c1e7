"""Interactive explorers (ipywidgets 8): saliency maps and class model visualizations you can click through.

- ``saliency_explorer(model, class_names)``: pick an image (Toy Zoo, a bundled photo, or an upload of
  your own), a class and a method; the map is recomputed whenever a control changes.
- ``class_model_explorer(model, class_names)``: pick a class, the objective, λ and the number of
  steps, press *Run* and watch the gradient ascent with a progress bar.
- ``load_uploaded_image(content, size)``: decode an uploaded file in memory into a (3, size, size)
  tensor, refusing non-images, corrupt and oversized files with a clear ``UploadError``.

Both explorers are ``ipywidgets.VBox`` containers whose controls are attributes (``explorer.image``,
``explorer.target``, ``explorer.method``, ...), so code (and the tests) can set them exactly as a
learner clicks them. What they show is kept as attributes too: ``explorer.figure`` (the matplotlib
figure drawn last), ``explorer.message`` (the text of the status line) and the numbers behind them.
The figures are shown as PNG images (``explorer.view``), so nothing is printed or displayed while
they update: a callback never leaves output or a traceback in the notebook; errors become a message
in the status line.
"""
from __future__ import annotations

import html
import io
import sys
import warnings
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ._checks import check_images, check_model, check_positive_int
from .model_state import checked_scores, model_device, model_input
from .attribution import grad_cam, integrated_gradients, occlusion_map, saliency_map, smoothgrad
from .class_model import class_model_visualization
from .objectives import OBJECTIVES
from .evaluation import mask_fraction
from .model_state import frozen_eval
from .photos import PHOTOS, load_photos, to_tensor
from .plotting import show_map, to_numpy_image
from .toyzoo import CLASSES, ToyZoo, make_toy_zoo

__all__ = [
    "MAX_UPLOAD_BYTES", "COLAB_UPLOAD_BUTTON_BYTES", "upload_button_limit", "MAX_UPLOAD_PIXELS", "UPLOAD_FORMATS", "UploadError", "load_uploaded_image",
    "SALIENCY_METHODS", "SaliencyExplorer", "saliency_explorer", "ClassModelExplorer", "class_model_explorer",
    "default_gallery",
]

# ---------------------------------------------------------------------------------------
# uploads: decoded in memory, never written anywhere

#: the largest upload accepted, in bytes (8 MiB: a phone photo fits, a video or a disk image does not;
#: Jupyter's server passes websocket messages up to 10 MiB, and the file travels in one message)
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
#: the largest file Colab's upload button delivers: with a file of 1 MB or more the button counts
#: one file but the widget's value stays empty and the runtime reconnects (ipywidgets issue #3452)
COLAB_UPLOAD_BUTTON_BYTES = 1_000_000 - 1
#: the most pixels an uploaded image may have (width × height; 40 million: a 48-megapixel camera's
#: photos are refused, anything smaller is decoded, then shrunk)
MAX_UPLOAD_PIXELS = 40_000_000
#: the file formats an upload may be in (Pillow's names); nothing else is even tried
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
_FORMAT_NAMES = "PNG, JPEG, GIF, BMP, WebP or TIFF"
_MIN_SIDE = 8


class UploadError(ValueError):
    """An upload that cannot be used; ``reason`` is the plain-language explanation shown to the learner."""

    def __init__(self, reason: str):
        super().__init__(f"content: {reason}")
        self.reason = reason


def _describe_bytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} kB"


def _in_colab() -> bool:
    return "google.colab" in sys.modules


def upload_button_limit() -> int:
    """The largest file, in bytes, the upload button can deliver where this runs (Colab or Jupyter)."""
    return COLAB_UPLOAD_BUTTON_BYTES if _in_colab() else MAX_UPLOAD_BYTES


def _upload_hint() -> str:
    if not _in_colab():
        return ""
    return ("In Colab the upload button only delivers files under 1 MB (a larger one silently vanishes). "
            "For a larger photo, shrink it first, or run <code>from google.colab import files</code> and "
            "<code>for name, content in files.upload().items(): explorer.receive_upload(name, content)</code>.")


def load_uploaded_image(content, size: int = 64, *, max_bytes: int = MAX_UPLOAD_BYTES,
                        max_pixels: int = MAX_UPLOAD_PIXELS) -> torch.Tensor:
    """Decode the bytes of an uploaded image file into a (3, size, size) float32 tensor in [0, 1].

    content: the file's bytes (``bytes``, ``bytearray`` or ``memoryview``, as ipywidgets'
        ``FileUpload`` hands them over).
    size: side of the square result; the largest centred square is cut out and resized
        (``helpers.to_tensor``).
    max_bytes, max_pixels: limits on the file size and on width × height.

    Decoding happens in memory (Pillow on a ``BytesIO``); nothing is written to disk. Only the
    formats in ``UPLOAD_FORMATS`` are tried. Transparent pixels are shown on white, a
    rotated-camera EXIF tag is applied, the first frame of an animation is used.

    Raises ``UploadError`` (a ``ValueError``) whose ``reason`` says in plain words what is wrong:
    empty, too large, not an image, corrupt or truncated, too many or too few pixels.
    """
    from PIL import Image, ImageOps

    if isinstance(content, (bytes, bytearray)):
        view = memoryview(content)
    elif isinstance(content, memoryview):
        view = content
    else:
        raise TypeError(f"content: expected the file's bytes (bytes, bytearray or memoryview), "
                        f"got {type(content).__name__}")
    if isinstance(size, bool) or not isinstance(size, int) or size < _MIN_SIDE:
        raise ValueError(f"size: expected an integer of at least {_MIN_SIDE} pixels, got {size!r}")
    n_bytes = view.nbytes
    if n_bytes == 0:
        raise UploadError("the file is empty.")
    if n_bytes > max_bytes:
        raise UploadError(f"the file is too large ({_describe_bytes(n_bytes)}); the limit is "
                          f"{_describe_bytes(max_bytes)}. Try a smaller or resized image.")
    stream = io.BytesIO(view.tobytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's warnings (e.g. odd EXIF data) are not the learner's business
        try:
            picture = Image.open(stream, formats=UPLOAD_FORMATS)
        except Image.DecompressionBombError:  # the header claims far more pixels than max_pixels
            raise UploadError(f"the image is too large (more pixels than Pillow decodes safely); the limit is "
                              f"{max_pixels / 1e6:.0f} million pixels. Try a resized copy.") from None
        except (OSError, SyntaxError, ValueError):  # UnidentifiedImageError is an OSError
            raise UploadError(_not_readable(stream.getvalue())) from None
        with picture:
            kind = picture.format or "image"
            width, height = picture.size
            if width * height > max_pixels:
                raise UploadError(f"the image is too large ({width} × {height} pixels); the limit is "
                                  f"{max_pixels / 1e6:.0f} million pixels. Try a resized copy.")
            if min(width, height) < _MIN_SIDE:
                raise UploadError(f"the image is too small ({width} × {height} pixels); "
                                  f"it needs at least {_MIN_SIDE} pixels on each side.")
            try:
                if kind == "JPEG":
                    picture.draft("RGB", (2 * size, 2 * size))  # decode a JPEG at a reduced scale: faster, less memory
                picture.load()
                array = _to_array(ImageOps.exif_transpose(picture), size)
            except Exception:  # noqa: BLE001 -- any decoder failure means a broken file
                raise UploadError(f"the file looks like a {kind} image but could not be decoded: "
                                  "it is corrupt or truncated.") from None
    return to_tensor(array, size)


_MAGIC = ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
          (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))


def _not_readable(data: bytes) -> str:
    """Why Pillow could not even open ``data``: a broken image of a known format, text, or something else."""
    kind = next((name for magic, name in _MAGIC if data.startswith(magic)), None)
    if kind is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "WebP"
    if kind is not None:
        return f"the file looks like a {kind} image but could not be decoded: it is corrupt or truncated."
    head = data[:1024]
    try:
        is_text = b"\x00" not in head and bool(head.decode("utf-8", errors="strict").strip())
    except UnicodeDecodeError:  # a multi-byte character cut at 1024 bytes still counts as text
        is_text = b"\x00" not in head and bool(head[:-4].decode("utf-8", errors="ignore").strip())
    if is_text:
        return f"this is a text file, not an image (expected {_FORMAT_NAMES})."
    return f"this is not an image file that can be read (expected {_FORMAT_NAMES})."


def _to_array(picture, size: int) -> np.ndarray:
    """A Pillow image -> (H, W, 3) uint8 or (H, W) float in [0, 1], shrunk to at most ~4 × size on the short side."""
    from PIL import Image

    factor = min(picture.size) // (4 * size)
    if factor > 1 and picture.mode in ("L", "LA", "RGB", "RGBA", "I", "F"):  # shrink first: less memory and time
        picture = picture.reduce(factor)
    if picture.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):  # 16-bit / 32-bit grey
        array = np.array(picture, dtype=np.float32)
        finite = np.isfinite(array)
        if not finite.any():
            raise ValueError("no finite pixel values")
        low, high = float(array[finite].min()), float(array[finite].max())
        array = np.nan_to_num(array, nan=low, posinf=high, neginf=low)  # NaN → darkest, ±inf → the extremes
        return (array - low) / (high - low) if high > low else np.zeros_like(array)
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(white, rgba)
    picture = picture.convert("RGB")
    factor = min(picture.size) // (4 * size)
    if factor > 1:
        picture = picture.reduce(factor)
    return np.array(picture)  # a writable copy


# ---------------------------------------------------------------------------------------
# shared pieces


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _class_names(class_names, num_classes: int) -> tuple[str, ...]:
    if isinstance(class_names, str) or not isinstance(class_names, Sequence) \
            or not all(isinstance(name, str) for name in class_names):
        raise TypeError(f"class_names: expected a sequence of strings, one per class, got {type(class_names).__name__}")
    if len(class_names) != num_classes:
        raise ValueError(f"class_names: expected {num_classes} names (the model has {num_classes} classes), "
                         f"got {len(class_names)}")
    return tuple(class_names)


def _status_html(message: str, error: bool) -> str:
    text = html.escape(message)
    if error:
        return f'<div class="course-status course-error" style="color:#b00020">⚠ {text}</div>'
    return f'<div class="course-status">{text}</div>'


def _short(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _close_tree(widget) -> None:
    """Close ``widget`` and every widget inside it (their front-end models go away too)."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    for name in ("layout", "style"):
        part = getattr(widget, name, None)
        if isinstance(part, widgets.Widget):
            part.close()
    widgets.Widget.close(widget)


def _default_layer(model: nn.Module):
    """The usual Grad-CAM layer: the last module of ``model.features`` (ZooNet, VGG, SqueezeNet), else None."""
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential) and len(features):
        return features[-1]
    return getattr(model, "layer4", None)  # torchvision ResNets


# ---------------------------------------------------------------------------------------
# the saliency explorer

#: the methods the saliency explorer offers, in the order of its dropdown
SALIENCY_METHODS = ("saliency", "smoothgrad", "integrated gradients", "grad-cam", "occlusion")
_SIGNED = {"integrated gradients", "occlusion"}  # maps with both signs: shown on a diverging scale


def default_gallery(size: int = 64, classes: Sequence[str] = CLASSES, seed: int = 0) -> tuple[dict, dict]:
    """The explorer's default images: one Toy Zoo image per class, then the bundled photos.

    Returns (images, masks): ``images`` maps a name (``"Toy Zoo: goose"``, ``"photo: chelsea"``) to a
    (3, size, size) tensor; ``masks`` maps the Toy Zoo names to their (size, size) bool object masks.
    """
    classes = tuple(classes) if classes and all(c in CLASSES for c in classes) else CLASSES
    zoo = make_toy_zoo(6 * len(classes), size=max(size, 16), seed=seed, classes=classes)
    images, masks = {}, {}
    for k, name in enumerate(classes):
        hits = (zoo.labels == k).nonzero()
        if len(hits):
            i = int(hits[0])
            images[f"Toy Zoo: {name}"] = _resized(zoo.images[i], size)
            masks[f"Toy Zoo: {name}"] = _resized(zoo.masks[i][None].float(), size)[0] > 0.5
    for name, photo in zip(PHOTOS, load_photos(size=max(size, 8))):
        images[f"photo: {name}"] = photo
    return images, masks


def _resized(image: torch.Tensor, size: int) -> torch.Tensor:
    if image.shape[-1] == size and image.shape[-2] == size:
        return image
    return torch.nn.functional.interpolate(image[None].float(), size=(size, size), mode="bilinear",
                                           antialias=True, align_corners=False)[0]


def _gallery(images, masks) -> tuple[dict, dict]:
    """Normalize the ``images`` argument of ``saliency_explorer`` to ({name: (3, H, W)}, {name: (H, W) bool})."""
    masks = dict(masks or {})
    if isinstance(images, ToyZoo):
        named = {}
        for i in range(len(images)):
            name = f"Toy Zoo #{i}: {images.classes[int(images.labels[i])]}"
            named[name] = images.images[i]
            masks.setdefault(name, images.masks[i])
        images = named
    elif isinstance(images, torch.Tensor):
        check_images(images)
        images = {f"image {i}": image for i, image in enumerate(images)}
    elif not isinstance(images, Mapping):
        raise TypeError(f"images: expected a dict {{name: (C, H, W) tensor}}, an (N, C, H, W) tensor or a ToyZoo, "
                        f"got {type(images).__name__}")
    if not images:
        raise ValueError("images: expected at least one image, got none")
    checked = {}
    for name, image in images.items():
        if not isinstance(name, str):
            raise TypeError(f"images: expected string names, got {name!r}")
        if not isinstance(image, torch.Tensor) or image.ndim != 3:
            shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise ValueError(f"images: expected each image to be a (C, H, W) tensor, {name!r} is {shape}")
        check_images(image[None], f"images[{name!r}]")
        checked[name] = image.detach()
    unknown = [name for name in masks if name not in checked]
    if unknown:
        raise ValueError(f"masks: expected names of images, got {unknown}")
    return checked, {name: mask.bool() for name, mask in masks.items()}


class SaliencyExplorer(widgets.VBox):
    """Pick an image, a class and a method; the map is recomputed on every change (see ``saliency_explorer``).

    Controls: ``image``, ``target`` (values are class indices, labels the class names), ``method``
    (dropdowns) and ``upload`` (a FileUpload). Shown: ``view`` (the figure as a PNG image) and
    ``status`` (one line). Kept for code and tests: ``figure``, ``heatmap`` ((H, W), on the CPU),
    ``probabilities`` ((num_classes,) for the current image), ``mask_share`` (share of the map on the
    object, for images with a mask, else None), ``message`` and ``is_error``.
    """

    def __init__(self, model: nn.Module, class_names, images: dict, masks: dict, *, size: int,
                 methods: Sequence[str], layer, smoothgrad_samples: int, ig_steps: int, figure_width: float):
        self.model = model
        self.images = dict(images)
        self.masks = dict(masks)
        self.size = size
        self.layer = layer
        self.smoothgrad_samples = smoothgrad_samples
        self.ig_steps = ig_steps
        self.figure_width = figure_width
        self._predictions: dict[str, torch.Tensor] = {}
        self._quiet = False
        self.figure: Figure | None = None
        self.heatmap: torch.Tensor | None = None
        self.probabilities: torch.Tensor | None = None
        self.mask_share: float | None = None
        self.message = ""
        self.is_error = False
        self.shown: tuple | None = None  # (image name, class index, method) of the figure on show

        num_classes = self._scores(next(iter(self.images.values()))).shape[0]
        self.class_names = _class_names(class_names, num_classes)
        first = next(iter(self.images))
        style = {"description_width": "60px"}
        wide = widgets.Layout(width="300px")
        self.image = widgets.Dropdown(options=list(self.images), value=first, description="image", style=style,
                                      layout=wide)
        self.target = widgets.Dropdown(options=[(name, k) for k, name in enumerate(self.class_names)],
                                       value=self.predicted_class(first), description="class", style=style,
                                       layout=wide)
        self.method = widgets.Dropdown(options=list(methods), value=methods[0], description="method", style=style,
                                       layout=wide)
        self.upload = widgets.FileUpload(accept=",".join(f".{ext}" for ext in (
            "png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff")), multiple=False,
            description="your image", tooltip=f"upload a {_FORMAT_NAMES} file up to {_describe_bytes(upload_button_limit())}")
        self.view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.status = widgets.HTML()
        super().__init__(children=[
            widgets.HBox([self.image, self.upload]),
            widgets.HTML(_upload_hint()),
            widgets.HBox([self.target, self.method]),
            self.view,
            self.status,
        ])
        self.add_class("course-saliency-explorer")
        for control in (self.image, self.target, self.method):
            control.observe(self._on_change, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.update()

    def __repr__(self) -> str:  # short, deterministic: it is the notebook's text output for this widget
        return f"SaliencyExplorer(image={self.image.value!r}, class={self.class_names[self.target.value]!r}, " \
               f"method={self.method.value!r})"

    def close(self) -> None:
        """Close the explorer and every control inside it."""
        _close_tree(self)

    # -- the model -------------------------------------------------------------------
    def _scores(self, image: torch.Tensor, name: str = "image") -> torch.Tensor:
        with frozen_eval(self.model), torch.no_grad():
            scores = checked_scores(self.model, model_input(self.model, image[None]), f"images[{name!r}]")
        return scores[0].detach().float().cpu()

    def predicted_class(self, name: str | None = None) -> int:
        """The index of the class the model predicts for image ``name`` (default: the selected image)."""
        name = self.image.value if name is None else name
        if name not in self.images:
            raise ValueError(f"name: expected one of the explorer's image names, got {name!r}")
        if name not in self._predictions:
            self._predictions[name] = self._scores(self.images[name], name).softmax(0)
        return int(self._predictions[name].argmax())

    def _probabilities(self, name: str) -> torch.Tensor:
        self.predicted_class(name)
        return self._predictions[name]

    def compute(self, name: str, target: int, method: str) -> torch.Tensor:
        """The (H, W) map of ``method`` for class ``target`` on image ``name``, on the CPU."""
        x = self.images[name][None].to(model_device(self.model))
        if method == "saliency":
            heat = saliency_map(self.model, x, target)
        elif method == "smoothgrad":
            heat = smoothgrad(self.model, x, target, n_samples=self.smoothgrad_samples, seed=0, progress=False)
        elif method == "integrated gradients":
            heat = integrated_gradients(self.model, x, target, steps=self.ig_steps, progress=False).sum(1)
        elif method == "grad-cam":
            if self.layer is None:
                raise ValueError("grad-cam needs a layer: pass layer=... to saliency_explorer")
            heat = grad_cam(self.model, x, target, self.layer)
        elif method == "occlusion":
            side = min(x.shape[-2:])
            # grey patches, as in notebook 04: black ones look like the animals' dark outlines to the model
            heat = occlusion_map(self.model, x, target, window=max(2, side // 8), stride=max(1, side // 16),
                                 fill=0.5, progress=False)
        else:
            raise ValueError(f"method: expected one of {', '.join(map(repr, SALIENCY_METHODS))}, got {method!r}")
        return heat[0].detach().float().cpu()

    # -- what is shown ---------------------------------------------------------------
    def update(self) -> None:
        """Recompute the map for the current controls and redraw; errors become the status message."""
        name, target, method = self.image.value, self.target.value, self.method.value
        self._say(f"computing the {method} map for class '{self.class_names[target]}' on '{name}'…")
        try:
            heat = self.compute(name, target, method)
            probabilities = self._probabilities(name)
        except (ValueError, TypeError, RuntimeError) as err:
            self._say(f"{method} failed on {name!r}: {err}", error=True)
            return
        mask = self.masks.get(name)
        share = None
        if mask is not None and tuple(mask.shape) == tuple(heat.shape):
            share = float(mask_fraction(heat[None], mask[None])[0])
        self.heatmap, self.probabilities, self.mask_share = heat, probabilities, share
        self.figure = self._draw(name, target, method, heat, probabilities, mask, share)
        self.view.value = _png(self.figure)
        self.shown = (name, target, method)
        predicted = int(probabilities.argmax())
        text = (f"{method} map for class '{self.class_names[target]}' on '{name}'. The model predicts "
                f"'{self.class_names[predicted]}' ({float(probabilities[predicted]):.0%}).")
        if share is not None:
            text += f" {share:.0%} of the map lies on the object."
        self._say(text)

    def _draw(self, name, target, method, heat, probabilities, mask, share) -> Figure:
        figure = Figure(figsize=(self.figure_width, self.figure_width * 0.36), dpi=90)
        axes = figure.subplots(1, 3)
        image = self.images[name]
        predicted = int(probabilities.argmax())
        axes[0].imshow(to_numpy_image(image.detach().cpu()))
        axes[0].set_title(f"{_short(name, 28)}\nmodel: {self.class_names[predicted]} "
                          f"({float(probabilities[predicted]):.0%})", fontsize=9)
        axes[0].axis("off")
        signed = method in _SIGNED
        cmap = "RdBu_r" if signed else "hot"
        title = f"{method}: '{self.class_names[target]}'" + (f"\n{share:.0%} on the object" if share is not None else "")
        # a signed map's scale is set by its 99th percentile of |value|, so a few extreme pixels
        # do not wash out the rest (values beyond it are shown at the ends of the scale)
        limit = float(heat.abs().max()) or 1.0
        if signed:
            limit = float(torch.quantile(heat.abs().flatten().float(), 0.99)) or limit
            title += ", scale clipped at p99"
        show_map(axes[1], heat, title=title, cmap=cmap, mask=mask, symmetric=signed,
                 **({"vmin": -limit, "vmax": limit} if signed else {}))
        axes[2].imshow(to_numpy_image(image.detach().cpu()))
        axes[2].imshow(heat.numpy(), cmap=cmap, alpha=0.55, vmin=-limit if signed else 0.0, vmax=limit)
        axes[2].set_title("overlay", fontsize=9)
        axes[2].axis("off")
        figure.tight_layout()
        return figure

    def _say(self, message: str, error: bool = False) -> None:
        self.message, self.is_error = message, error
        self.status.value = _status_html(message, error)

    # -- callbacks -------------------------------------------------------------------
    def _on_change(self, change) -> None:
        if self._quiet:
            return
        try:
            self.update()
        except Exception as err:  # noqa: BLE001 -- a callback must never end in a traceback
            self._say(f"something went wrong: {type(err).__name__}: {err}", error=True)

    def add_image(self, name: str, image: torch.Tensor, mask: torch.Tensor | None = None, select: bool = True) -> str:
        """Add a (3, H, W) image to the dropdown (a new name if ``name`` is taken); returns the name used."""
        check_images(image[None] if isinstance(image, torch.Tensor) and image.ndim == 3 else image, "image")
        base, k = name, 2
        while name in self.images:
            name, k = f"{base} ({k})", k + 1
        self.images[name] = image.detach()
        if mask is not None:
            self.masks[name] = mask.bool()
        self._quiet = True
        try:
            current = self.image.value
            self.image.options = list(self.images)
            self.image.value = name if select else current
        finally:
            self._quiet = False
        if select:
            self.update()
        return name

    def receive_upload(self, name: str, content, max_bytes: int = MAX_UPLOAD_BYTES) -> bool:
        """Decode one uploaded file and show it; a file that cannot be used becomes a message. Returns success."""
        shown = _short(str(name) or "upload")
        try:
            image = load_uploaded_image(content, self.size, max_bytes=max_bytes)
        except UploadError as err:
            self._say(f"Could not use '{shown}': {err.reason}", error=True)
            return False
        except Exception as err:  # noqa: BLE001 -- never a traceback for an upload
            self._say(f"Could not use '{shown}': {type(err).__name__}: {err}", error=True)
            return False
        self.add_image(f"upload: {shown}", image)
        return True

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        try:
            for entry in files:
                self.receive_upload(entry.get("name", "upload"), entry.get("content", b""), upload_button_limit())
        except Exception as err:  # noqa: BLE001
            self._say(f"Could not use the upload: {type(err).__name__}: {err}", error=True)
        finally:
            self.upload.value = ()  # forget the file's bytes


def saliency_explorer(model: nn.Module, class_names: Sequence[str], images=None, *, masks: Mapping | None = None,
                      size: int | None = None, methods: Sequence[str] | None = None, layer: nn.Module | None = None,
                      smoothgrad_samples: int = 25, ig_steps: int = 32, figure_width: float = 8.4) -> SaliencyExplorer:
    """A widget to explore saliency maps of ``model``: pick an image, a class and a method.

    model: a classifier taking (N, 3, H, W) images in [0, 1] (the course's models, ``load_pretrained``).
    class_names: one name per class of the model.
    images: ``None`` (one Toy Zoo image per class plus the bundled photos, see ``default_gallery``),
        a dict {name: (3, H, W) tensor}, an (N, 3, H, W) tensor, or a ``ToyZoo`` (its masks are used).
    masks: {name: (H, W) bool} object masks: outlined on the map, and the share of the map on the
        object is reported.
    size: side of uploaded (and default) images; default the model's ``image_shape`` if it has one, else 64.
    methods: a subset of ``SALIENCY_METHODS`` (default all; ``"grad-cam"`` only with a ``layer``,
        which defaults to ``model.features[-1]`` or ``model.layer4`` when the model has one).
    smoothgrad_samples, ig_steps: the cost knobs of SmoothGrad and Integrated Gradients.

    The returned ``SaliencyExplorer`` (an ``ipywidgets.VBox``) recomputes its map whenever
    ``explorer.image``, ``explorer.target`` or ``explorer.method`` changes, from a click or from code.
    """
    check_model(model)
    if size is None and hasattr(model, "image_shape"):
        size = int(model.image_shape[-1])
    if size is None and isinstance(images, (torch.Tensor, ToyZoo)):
        size = int(images.images.shape[-1] if isinstance(images, ToyZoo) else images.shape[-1])
    if size is None and isinstance(images, Mapping) and images:
        first = next(iter(images.values()))
        size = int(first.shape[-1]) if isinstance(first, torch.Tensor) else None
    size = 64 if size is None else size
    if isinstance(size, bool) or not isinstance(size, int) or size < _MIN_SIDE:
        raise ValueError(f"size: expected an integer of at least {_MIN_SIDE} pixels, got {size!r}")
    check_positive_int(smoothgrad_samples, "smoothgrad_samples")
    check_positive_int(ig_steps, "ig_steps")
    if layer is None:
        layer = _default_layer(model)
    if methods is None:
        methods = tuple(m for m in SALIENCY_METHODS if m != "grad-cam" or layer is not None)
    methods = tuple(methods)
    bad = [m for m in methods if m not in SALIENCY_METHODS]
    if bad or not methods:
        raise ValueError(f"methods: expected a non-empty subset of {SALIENCY_METHODS}, got {methods}")
    if "grad-cam" in methods and layer is None:
        raise ValueError("layer: grad-cam needs the layer whose activations it weighs; pass layer=... "
                         "(e.g. model.features[-1])")
    if images is None:
        images, default_masks = default_gallery(size, class_names if isinstance(class_names, Sequence) else CLASSES)
        masks = {**default_masks, **(masks or {})}
    images, masks = _gallery(images, masks)
    return SaliencyExplorer(model, class_names, images, masks, size=size, methods=methods, layer=layer,
                            smoothgrad_samples=smoothgrad_samples, ig_steps=ig_steps, figure_width=figure_width)


# ---------------------------------------------------------------------------------------
# the class-model-visualization explorer

#: the choices of λ (the L2 penalty's weight) offered by the class model explorer
L2_CHOICES = (0.0, 1e-4, 1e-3, 1e-2, 1e-1)


class ClassModelExplorer(widgets.VBox):
    """Pick a class, an objective, λ and the number of steps; *Run* (see ``class_model_explorer``).

    Controls: ``target`` (values are class indices), ``objective``, ``l2`` (λ), ``steps`` and
    ``run_button``; ``progress_area`` shows a progress bar while a run started by the button goes on.
    Shown: ``view`` (the figure as a PNG) and ``status``. Kept: ``figure``, ``result`` (the
    ``ClassModelResult`` of the last run), ``message``, ``is_error``, ``runs`` (how many runs finished).
    """

    def __init__(self, model: nn.Module, class_names, *, steps: int, objective: str, l2: float, options: dict,
                 figure_width: float, progress: bool):
        self.model = model
        self.options = dict(options)
        self.figure_width = figure_width
        self.show_progress = progress
        self.figure: Figure | None = None
        self.result = None
        self.message = ""
        self.is_error = False
        self.runs = 0
        shape = self.options.get("image_shape") or getattr(model, "image_shape", (3, 64, 64))
        probe = model_input(model, torch.full((1, *shape), 0.5))
        with frozen_eval(model), torch.no_grad():
            num_classes = checked_scores(model, probe, "image_shape").shape[1]
        self.class_names = _class_names(class_names, num_classes)
        style = {"description_width": "72px"}
        self.target = widgets.Dropdown(options=[(name, k) for k, name in enumerate(self.class_names)], value=0,
                                       description="class", style=style)
        self.objective = widgets.ToggleButtons(options=list(OBJECTIVES), value=objective,
                                               tooltips=["the class score S_c", "the probability P_c",
                                                         "the log-probability log P_c"],
                                               style={"button_width": "100px"})
        self.l2 = widgets.SelectionSlider(options=[(f"{value:g}", value) for value in L2_CHOICES], value=l2,
                                          description="λ (L2)", style=style, continuous_update=False)
        self.steps = widgets.IntSlider(value=steps, min=min(5, steps), max=max(400, steps), step=5, description="steps",
                                       style=style, continuous_update=False)
        self.run_button = widgets.Button(description="Run", icon="play", button_style="primary",
                                         tooltip="run gradient ascent with these settings")
        self.progress_area = widgets.Output()
        self.view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.status = widgets.HTML()
        super().__init__(children=[
            widgets.HBox([self.target, self.run_button]),
            widgets.HBox([widgets.Label("objective", layout=widgets.Layout(width="72px")), self.objective]),
            widgets.HBox([self.l2, self.steps]),
            self.progress_area,
            self.view,
            self.status,
        ])
        self.add_class("course-class-model-explorer")
        self.run_button.on_click(self._on_click)

    def __repr__(self) -> str:
        return (f"ClassModelExplorer(class={self.class_names[self.target.value]!r}, objective={self.objective.value!r}, "
                f"l2={self.l2.value:g}, steps={self.steps.value})")

    def close(self) -> None:
        """Close the explorer and every control inside it."""
        _close_tree(self)

    def run(self, progress: bool = False) -> None:
        """One run with the current settings; afterwards ``result``, ``figure`` and the view show it.

        ``progress`` shows tqdm's bar in ``progress_area`` (the *Run* button asks for it; runs from
        code do not, so a notebook's text output stays the same from run to run).
        """
        target, objective, l2, steps = self.target.value, self.objective.value, self.l2.value, self.steps.value
        name = self.class_names[target]
        self._say(f"running {steps} steps of gradient ascent for '{name}'…")
        self.run_button.disabled = True
        try:
            if progress:
                self.progress_area.clear_output()
                with self.progress_area:
                    result = class_model_visualization(self.model, target, objective, steps=steps, l2=l2,
                                                       progress=True, **self.options)
            else:
                result = class_model_visualization(self.model, target, objective, steps=steps, l2=l2,
                                                   progress=False, **self.options)
        except (ValueError, TypeError, RuntimeError) as err:
            self._say(f"the run failed: {err}", error=True)
            return
        finally:
            if progress:
                self.progress_area.clear_output()  # the bar goes, also after a failed run
            self.run_button.disabled = False
        self.result = result
        self.figure = self._draw(result, name, objective, l2, steps)
        self.view.value = _png(self.figure)
        self.runs += 1
        self._say(f"'{name}' by {objective} ascent (λ = {l2:g}, {steps} steps): final score "
                  f"{float(result.score[0]):.1f}, probability {float(result.probability[0]):.2f}.")

    def _draw(self, result, name, objective, l2, steps) -> Figure:
        figure = Figure(figsize=(self.figure_width, self.figure_width * 0.34), dpi=90)
        axes = figure.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1.3, 1.3]})
        axes[0].imshow(to_numpy_image(result.image.detach().cpu()))
        axes[0].set_title(f"'{name}': {objective}\nλ = {l2:g}, {steps} steps", fontsize=9)
        axes[0].axis("off")
        history = {key: value[:, 0].detach().float().cpu().numpy() for key, value in result.history.items()}
        axes[1].plot(history["score"], label=f"S('{name}')")
        axes[1].plot(history["other_score"], label="mean of the others")
        axes[1].set_title("class scores", fontsize=9)
        axes[1].set_xlabel("step", fontsize=8)
        axes[1].legend(fontsize=7)
        axes[2].plot(history["probability"], color="C2")
        axes[2].set_ylim(-0.02, 1.02)
        axes[2].set_title(f"P('{name}')", fontsize=9)
        axes[2].set_xlabel("step", fontsize=8)
        for ax in axes[1:]:
            ax.tick_params(labelsize=7)
        figure.tight_layout()
        return figure

    def _say(self, message: str, error: bool = False) -> None:
        self.message, self.is_error = message, error
        self.status.value = _status_html(message, error)

    def _on_click(self, _button=None) -> None:
        try:
            self.run(progress=self.show_progress)
        except Exception as err:  # noqa: BLE001 -- a callback must never end in a traceback
            self._say(f"something went wrong: {type(err).__name__}: {err}", error=True)


def class_model_explorer(model: nn.Module, class_names: Sequence[str], *, steps: int = 60, objective: str = "score",
                         l2: float = 1e-3, run: bool = True, progress: bool = True, figure_width: float = 8.4,
                         **options) -> ClassModelExplorer:
    """A widget to run class model visualization: pick class, objective, λ and steps, then press *Run*.

    model, class_names: the classifier and one name per class.
    steps, objective, l2: the controls' starting values (``l2`` one of ``L2_CHOICES``).
    run: make the first picture right away (with the starting values, class 0).
    progress: show a progress bar for runs started by the *Run* button.
    options: passed on to ``class_model_visualization`` (``lr``, ``jitter``, ``blur_every``,
        ``image_shape``, ``seed``, ...).

    Press *Run* or call ``explorer.run()``; ``explorer.result`` is the ``ClassModelResult``.
    """
    check_model(model)
    check_positive_int(steps, "steps")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: expected one of {', '.join(map(repr, OBJECTIVES))}, got {objective!r}")
    if l2 not in L2_CHOICES:
        raise ValueError(f"l2: expected one of {L2_CHOICES}, got {l2!r}")
    fixed = {"target", "objective", "steps", "l2", "progress"} & set(options)
    if fixed:
        raise TypeError(f"options: {sorted(fixed)} are set by the explorer's controls, not as options")
    explorer = ClassModelExplorer(model, class_names, steps=steps, objective=objective, l2=l2, options=options,
                                  figure_width=figure_width, progress=progress)
    if run:
        explorer.run()
    return explorer

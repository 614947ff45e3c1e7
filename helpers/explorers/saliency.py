"""The saliency explorer: pick an image (Toy Zoo, a bundled photo or an upload), a class and a method."""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torch import nn

from .._checks import check_images, check_model, check_positive_int
from ..attribution.registry import METHODS, attribute
from ..evaluation import mask_fraction
from ..model_state import checked_scores, frozen_eval, model_device, model_input
from ..plotting import show_map, to_numpy_image
from ..toyzoo import CLASSES, ToyZoo
from ..uploads import (MAX_UPLOAD_BYTES, MIN_UPLOAD_SIDE, UPLOAD_EXTENSIONS, UPLOAD_FORMAT_NAMES, UploadError,
                       describe_bytes, in_colab, load_uploaded_image, upload_button_limit)
from ._common import StatusMixin, checked_class_names, png, short
from .gallery import default_gallery, named_images

#: the methods the saliency explorer offers by default, in the order of its dropdown (any names of
#: ``helpers.attribution.METHODS`` may be chosen with ``methods=``)
SALIENCY_METHODS = ("saliency", "smoothgrad", "integrated gradients", "grad-cam", "occlusion")


def _upload_hint() -> str:
    if not in_colab():
        return ""
    return ("In Colab the upload button only delivers files under 1 MB (a larger one silently vanishes). "
            "For a larger photo, shrink it first, or run <code>from google.colab import files</code> and "
            "<code>for name, content in files.upload().items(): explorer.receive_upload(name, content)</code>.")


def _default_layer(model: nn.Module):
    """The usual Grad-CAM layer, else None: the last module of ``model.features`` (ZooNet, EfficientNet-Lite0's
    ``features.head``, VGG, SqueezeNet) or ``model.layer4`` (ResNets), also inside the wrapper
    ``nn.Sequential(normalize, net)`` that ``load_pretrained`` puts around torchvision's models (``model.net``)."""
    for owner in (model, getattr(model, "net", None)):
        if not isinstance(owner, nn.Module):
            continue
        features = getattr(owner, "features", None)
        if isinstance(features, nn.Sequential) and len(features):
            return features[-1]
        layer4 = getattr(owner, "layer4", None)  # torchvision ResNets
        if isinstance(layer4, nn.Module):
            return layer4
    return None


#: how many of the most probable classes the explorer lists for the current image (fewer if the model has fewer)
TOP_K = 5


def top_classes_text(class_names: Sequence[str], top: Sequence[tuple[int, float]]) -> str:
    """One line listing the most probable classes: "top 5: Egyptian cat 66% · tiger cat 16% · …"."""
    shares = " · ".join(f"{class_names[k]} {p:.0%}" if p >= 0.005 else f"{class_names[k]} <1%" for k, p in top)
    return f"top {len(top)}: {shares}"


class SaliencyExplorer(StatusMixin, widgets.VBox):
    """Pick an image, a class and a method; the map is recomputed on every change (see ``saliency_explorer``).

    Controls: ``image``, ``target`` (values are class indices, labels the class names), ``method``
    (dropdowns) and ``upload`` (a FileUpload). Shown: ``view`` (the figure as a PNG image),
    ``top_label`` (the model's most probable classes for the image, ``top_text``) and ``status``
    (one line). Kept for code and tests: ``figure``, ``heatmap`` ((H, W), on the CPU),
    ``probabilities`` ((num_classes,) for the current image), ``top_classes`` (the ``TOP_K`` most
    probable (class index, probability) pairs, most probable first), ``mask_share`` (share of the map
    on the object, for images with a mask, else None), ``message`` and ``is_error``. ``settings``
    holds the cost settings that override the methods' defaults ({method: {setting: value}}); ``layer`` is
    Grad-CAM's layer (None: no Grad-CAM).
    """

    def __init__(self, model: nn.Module, class_names, images: dict, masks: dict, *, size: int,
                 methods: Sequence[str], layer, settings: Mapping[str, dict], figure_width: float):
        self.model = model
        self.images = dict(images)
        self.masks = dict(masks)
        self.size = size
        self.layer = layer
        self.settings = {method: dict(values) for method, values in settings.items()}
        self.figure_width = figure_width
        self._predictions: dict[str, torch.Tensor] = {}
        self._quiet = False
        self.figure: Figure | None = None
        self.heatmap: torch.Tensor | None = None
        self.probabilities: torch.Tensor | None = None
        self.top_classes: tuple[tuple[int, float], ...] = ()
        self.top_text = ""
        self.mask_share: float | None = None
        self.shown: tuple | None = None  # (image name, class index, method) of the figure on show

        num_classes = self._scores(next(iter(self.images.values()))).shape[0]
        self.class_names = checked_class_names(class_names, num_classes)
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
        limit = describe_bytes(upload_button_limit())
        self.upload = widgets.FileUpload(accept=",".join(f".{ext}" for ext in UPLOAD_EXTENSIONS), multiple=False,
                                         description="your image",
                                         tooltip=f"upload a {UPLOAD_FORMAT_NAMES} file up to {limit}")
        self.view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.top_label = widgets.HTML()
        self.status = widgets.HTML()
        super().__init__(children=[
            widgets.HBox([self.image, self.upload]),
            widgets.HTML(_upload_hint()),
            widgets.HBox([self.target, self.method]),
            self.view,
            self.top_label,
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
        """The (H, W) map of ``method`` for class ``target`` on image ``name``, on the CPU.

        method: a name in ``helpers.attribution.METHODS``. Signed methods keep their sign (per-channel
        attributions summed over the channels); the cost settings are the methods' own defaults, overridden by
        ``self.settings``.
        """
        x = self.images[name][None].to(model_device(self.model))
        heat = attribute(method, self.model, x, target, layer=self.layer, **self.settings.get(method, {}))
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
        values, indices = probabilities.topk(min(TOP_K, len(probabilities)))
        self.top_classes = tuple((int(k), float(p)) for k, p in zip(indices, values))
        self.top_text = top_classes_text(self.class_names, self.top_classes)
        self.top_label.value = f'<div class="course-top-classes">{html.escape(self.top_text)}</div>'
        self.figure = self._draw(name, target, method, heat, probabilities, mask, share)
        self.view.value = png(self.figure)
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
        axes[0].set_title(f"{short(name, 28)}\nmodel: {self.class_names[predicted]} "
                          f"({float(probabilities[predicted]):.0%})", fontsize=9)
        axes[0].axis("off")
        signed = METHODS[method].signed  # a signed map: diverging scale, clipped at the p99 of |value|
        title = f"{method}: '{self.class_names[target]}'" + (f"\n{share:.0%} on the object" if share is not None else "")
        shown = show_map(axes[1], heat, title=title + (", scale clipped at p99" if signed else ""), mask=mask,
                         signed=signed)
        low, high = shown.get_clim() if signed else (0.0, float(heat.abs().max()) or 1.0)
        axes[2].imshow(to_numpy_image(image.detach().cpu()))
        axes[2].imshow(heat.numpy(), cmap=shown.get_cmap(), alpha=0.55, vmin=low, vmax=high)
        axes[2].set_title("overlay", fontsize=9)
        axes[2].axis("off")
        figure.tight_layout()
        return figure

    # -- callbacks -------------------------------------------------------------------
    def _on_change(self, change) -> None:
        if not self._quiet:
            self._safely(self.update)

    def add_image(self, name: str, image: torch.Tensor, mask: torch.Tensor | None = None, select: bool = True,
                  select_prediction: bool = False) -> str:
        """Add a (3, H, W) image to the dropdown (a new name if ``name`` is taken); returns the name used.

        select: show the new image. select_prediction: also select the class the model predicts for it
        (an upload does: the map then explains what the model sees in the new image).
        """
        check_images(image[None] if isinstance(image, torch.Tensor) and image.ndim == 3 else image, "image")
        base, k = name, 2
        while name in self.images:
            name, k = f"{base} ({k})", k + 1
        image = image.detach()
        probabilities = self._scores(image, name).softmax(0)  # a model that rejects it: an error, nothing added
        self.images[name] = image
        self._predictions[name] = probabilities
        if mask is not None:
            self.masks[name] = mask.bool()
        self._quiet = True
        try:
            current = self.image.value
            self.image.options = list(self.images)
            self.image.value = name if select else current
            if select and select_prediction:
                self.target.value = int(probabilities.argmax())
        finally:
            self._quiet = False
        if select:
            self.update()
        return name

    def receive_upload(self, name: str, content, max_bytes: int = MAX_UPLOAD_BYTES) -> bool:
        """Decode one uploaded file, select it and the class the model predicts for it, and show the map.

        A file that cannot be used becomes a message in the status line. Returns whether the file was used.
        """
        shown = short(str(name) or "upload")
        try:
            image = load_uploaded_image(content, self.size, max_bytes=max_bytes)
        except UploadError as err:
            self._say(f"Could not use '{shown}': {err.reason}", error=True)
            return False
        except Exception as err:  # noqa: BLE001 -- never a traceback for an upload
            self._say(f"Could not use '{shown}': {type(err).__name__}: {err}", error=True)
            return False
        try:
            self.add_image(f"upload: {shown}", image, select_prediction=True)
        except (ValueError, TypeError, RuntimeError) as err:  # e.g. a model that takes only other sizes
            self._say(f"Could not use '{shown}': {err}", error=True)
            return False
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


def _image_size(model: nn.Module, images, size: int | None) -> int:
    """The side of uploaded (and default) images: ``size``, else the model's ``image_shape``, else the images',
    else 64."""
    if size is None and hasattr(model, "image_shape"):
        size = int(model.image_shape[-1])
    if size is None and isinstance(images, (torch.Tensor, ToyZoo)):
        size = int(images.images.shape[-1] if isinstance(images, ToyZoo) else images.shape[-1])
    if size is None and isinstance(images, Mapping) and images:
        first = next(iter(images.values()))
        size = int(first.shape[-1]) if isinstance(first, torch.Tensor) else None
    size = 64 if size is None else size
    if isinstance(size, bool) or not isinstance(size, int) or size < MIN_UPLOAD_SIDE:
        raise ValueError(f"size: expected an integer of at least {MIN_UPLOAD_SIDE} pixels, got {size!r}")
    return size


def saliency_explorer(model: nn.Module, class_names: Sequence[str], images=None, *, masks: Mapping | None = None,
                      size: int | None = None, methods: Sequence[str] | None = None, layer: nn.Module | None = None,
                      smoothgrad_samples: int | None = None, ig_steps: int | None = None,
                      figure_width: float = 8.4) -> SaliencyExplorer:
    """A widget to explore saliency maps of ``model``: pick an image, a class and a method.

    model: a classifier taking (N, 3, H, W) images in [0, 1] (the course's models, ``load_pretrained``).
    class_names: one name per class of the model.
    images: ``None`` (one Toy Zoo image per class plus the bundled photos, see ``default_gallery``;
        for a model whose classes are not the Toy Zoo's, such as ``load_pretrained()``'s 1000 ImageNet
        classes, the photos come first, so the explorer opens on a photo and the class the model
        predicts for it), a dict {name: (3, H, W) tensor}, an (N, 3, H, W) tensor, or a ``ToyZoo``
        (its masks are used).
    masks: {name: (H, W) bool} object masks: outlined on the map, and the share of the map on the
        object is reported.
    size: side of uploaded (and default) images; default the model's ``image_shape`` if it has one, else 64.
        On a CPU, 160 keeps a real ImageNet network quick (its ``image_shape`` is 224).
    methods: names of ``helpers.attribution.METHODS`` (default ``SALIENCY_METHODS``; ``"grad-cam"``
        only with a ``layer``, which defaults to ``model.features[-1]`` or ``model.layer4`` when the
        model has one, also ``model.net.features[-1]`` or ``model.net.layer4`` for a torchvision
        model that ``load_pretrained`` wrapped).
    smoothgrad_samples, ig_steps: the cost knobs of SmoothGrad and Integrated Gradients (default: the
        functions' defaults, ``METHODS["smoothgrad"].settings`` and ``METHODS["integrated gradients"].settings``).

    The returned ``SaliencyExplorer`` (an ``ipywidgets.VBox``) recomputes its map whenever
    ``explorer.image``, ``explorer.target`` or ``explorer.method`` changes, from a click or from code;
    under the figure it lists the model's ``TOP_K`` most probable classes for the image. An upload
    (or ``receive_upload``) selects the new image and the class the model predicts for it.
    """
    check_model(model)
    size = _image_size(model, images, size)
    settings = {}  # what overrides the methods' default cost settings
    if smoothgrad_samples is not None:
        settings["smoothgrad"] = {"n_samples": check_positive_int(smoothgrad_samples, "smoothgrad_samples")}
    if ig_steps is not None:
        settings["integrated gradients"] = {"steps": check_positive_int(ig_steps, "ig_steps")}
    if layer is None:
        layer = _default_layer(model)
    if methods is None:
        methods = tuple(m for m in SALIENCY_METHODS if not METHODS[m].needs_layer or layer is not None)
    methods = tuple(methods)
    if not methods or any(m not in METHODS for m in methods):
        raise ValueError(f"methods: expected a non-empty subset of {tuple(METHODS)}, got {methods}")
    needing = [m for m in methods if METHODS[m].needs_layer]
    if needing and layer is None:
        raise ValueError(f"layer: {needing[0]} needs the layer whose activations it weighs; pass layer=... "
                         "(e.g. model.features[-1])")
    if images is None:
        toy_classes = isinstance(class_names, Sequence) and not isinstance(class_names, str) \
            and all(name in CLASSES for name in class_names)
        images, default_masks = default_gallery(size, class_names if toy_classes else CLASSES,
                                                photos_first=not toy_classes)
        masks = {**default_masks, **(masks or {})}
    images, masks = named_images(images, masks)
    return SaliencyExplorer(model, class_names, images, masks, size=size, methods=methods, layer=layer,
                            settings=settings, figure_width=figure_width)

"""Arguments mean what they say: a list of channels is not silently cut to one, contradictory options are rejected."""
import pytest
import torch

from helpers import feature_visualization, load_model, make_toy_zoo, top_activating


@pytest.fixture(scope="module")
def zoonet():
    return load_model("zoonet")


def test_top_activating_refuses_several_channels_instead_of_using_the_first(zoonet):
    zoo = make_toy_zoo(12, seed=0)
    with pytest.raises(ValueError, match="channel: expected one channel"):
        top_activating(zoonet, "features.5", [3, 5], zoo.images, k=2, progress=False)
    one = top_activating(zoonet, "features.5", [3], zoo.images, k=2, progress=False)
    assert torch.equal(one.indices, top_activating(zoonet, "features.5", 3, zoo.images, k=2, progress=False).indices)


def test_feature_visualization_rejects_max_for_a_neuron(zoonet):
    with pytest.raises(ValueError, match="objective"):
        feature_visualization(zoonet, "features.5", 0, neuron=(2, 2), objective="max", steps=2, progress=False)
    result = feature_visualization(zoonet, "features.5", 0, neuron=(2, 2), steps=2, progress=False)
    assert result.objective == "mean"


def test_replace_keeps_an_explicit_blur_and_rederives_a_default_one():
    from helpers.ascent import AscentSettings

    explicit = AscentSettings(parameterization="fourier", blur_every=10)
    assert explicit.replace(parameterization="pixel").blur_every == 10
    default = AscentSettings(parameterization="fourier")
    assert default.blur_every == 0 and default.replace(parameterization="pixel").blur_every == 4
    assert AscentSettings().replace(steps=5).replace(parameterization="fourier").blur_every == 0
    assert AscentSettings(blur_every=4) == AscentSettings()


def test_wrong_channels_are_caught_up_front_and_a_bug_in_forward_keeps_its_line():
    import traceback

    from helpers import saliency_map

    zoonet = load_model("zoonet")
    with pytest.raises(ValueError, match=r"images: expected 3 channels .* got 1"):
        saliency_map(zoonet, torch.rand(2, 1, 64, 64), 0)

    class Buggy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x):
            h = self.conv(x)
            return self.fc(h.view(len(x), 5))  # the learner's bug: a wrong view

    with pytest.raises(ValueError) as caught:
        saliency_map(Buggy(), torch.rand(2, 3, 8, 8), 0)
    assert isinstance(caught.value.__cause__, RuntimeError)  # chained, not hidden
    shown = "".join(traceback.format_exception(caught.value))
    assert "h.view(len(x), 5)" in shown  # the learner's line is in the traceback


def test_guided_backprop_guides_relu6_like_relu_below_six():
    from helpers import guided_backprop

    torch.manual_seed(0)

    def net(act):
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), act, torch.nn.Conv2d(4, 4, 3), act,
                                   torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()

    x = torch.rand(2, 3, 12, 12) * 0.1  # small activations: ReLU6 acts as ReLU
    relu6 = guided_backprop(net(torch.nn.ReLU6()), x, [0, 2])
    relu = guided_backprop(net(torch.nn.ReLU()), x, [0, 2])
    assert torch.allclose(relu6, relu, atol=1e-6)


def test_one_toy_zoo_image_by_any_integer_stays_a_zoo_of_one():
    import numpy as np

    zoo = make_toy_zoo(5, seed=0)
    for index in (2, np.int64(2), torch.tensor(2)):
        one = zoo[index]
        assert one.images.shape == (1, 3, 64, 64) and one.labels.tolist() == [int(zoo.labels[2])]
        assert one.masks.shape == (1, 64, 64)


def test_an_upload_that_runs_out_of_memory_is_not_called_corrupt(monkeypatch):
    import io

    from PIL import Image

    from helpers.uploads import load_uploaded_image
    from helpers import uploads

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "PNG")

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(uploads, "_to_array", no_memory)
    with pytest.raises(MemoryError):
        load_uploaded_image(buffer.getvalue(), size=32)


def _image_helpers(model, images, labels, zoo):
    """Every helper that computes something from the caller's images: name -> the tensors it returns."""
    import helpers as h

    saliency = torch.rand(images.shape[0], *images.shape[2:], generator=torch.Generator().manual_seed(0))
    curve = dict(steps=2, progress=False)
    top = h.top_activating(model, "features.0", 1, images, k=2, progress=False)
    dissection = h.dissect(model, "features.0", zoo, progress=False)
    return {
        **{name: [h.attribute(name, model, images, labels, **({"layer": "features"} if name == "grad-cam" else {}))]
           for name in h.METHODS},
        "input_gradient": [h.input_gradient(model, images, labels, "log_softmax")],
        "contrastive_saliency": [h.contrastive_saliency(model, images, labels, 0)],
        "deletion_curve": list(h.deletion_curve(model, images, labels, saliency, **curve)),
        "insertion_curve": list(h.insertion_curve(model, images, labels, saliency, **curve)),
        "predict": [h.predict(model, images)],
        "top_activating": [top.values, top.crops],
        "dissect": [dissection.iou, dissection.thresholds],
    }


@pytest.mark.parametrize("model_dtype, image_dtype", [(torch.float64, torch.float32), (torch.float32, torch.float64)],
                         ids=["float64-model", "float64-images"])
@pytest.mark.slow
def test_results_come_back_in_the_images_dtype_whatever_the_models(zoonet, model_dtype, image_dtype):
    """One rule (``helpers.model_state.like_input``): the model runs in its own dtype and device, results come
    back in the images'. Before, a float64 model failed in deletion_curve and predict and saliency maps came
    back float64."""
    import copy

    from helpers import accuracy, class_model_visualization

    model = copy.deepcopy(zoonet).to(model_dtype)
    zoo = make_toy_zoo(4, seed=0)
    zoo.images = zoo.images.to(image_dtype)
    images, labels = zoo.images, zoo.labels
    for name, tensors in _image_helpers(model, images, labels, zoo).items():
        for tensor in tensors:
            assert tensor.device == images.device, name
            if tensor.is_floating_point():
                assert tensor.dtype == image_dtype, (name, tensor.dtype)
    assert 0 <= accuracy(model, images, labels) <= 1
    generated = class_model_visualization(model, 0, steps=2, progress=False)
    assert generated.images.dtype == model_dtype  # made from the model alone: the model's dtype


def test_import_helpers_is_light_and_every_public_name_resolves():
    """``import helpers`` used to load torchvision, matplotlib and ipywidgets (about 5 s on a busy machine)."""
    import subprocess
    import sys

    code = ("import sys, helpers; heavy = [m for m in ('torchvision', 'matplotlib', 'ipywidgets', 'captum') "
            "if m in sys.modules]; print(heavy); assert not heavy")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    import helpers

    for name in helpers.__all__:
        assert getattr(helpers, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'visualise'"):
        helpers.visualise  # noqa: B018


def _notebook_imports():
    """{module: names} the committed notebooks import from ``helpers`` and its modules."""
    import ast
    from pathlib import Path

    import nbformat

    imported = {}
    for path in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
                    imported.setdefault(node.module, set()).update(a.name for a in node.names)
    return imported


def test_the_top_level_is_what_the_notebooks_teach_with_and_the_readme_says_where_the_rest_lives():
    from pathlib import Path

    import helpers
    from helpers.attribution import METHODS

    imported = _notebook_imports()
    # everything at the top level is used by a notebook, or is a method of the registry (or the zoo's type)
    methods = {method.function.__name__ for method in METHODS.values()}
    assert set(helpers.__all__) - imported["helpers"] <= methods | {"ToyZoo"}, \
        set(helpers.__all__) - imported["helpers"] - methods
    assert imported["helpers"] <= set(helpers.__all__)
    # a notebook's other imports come from the modules the README's "What lives where" lists
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for module in set(imported) - {"helpers"}:
        listed = module.rsplit(".", 1)[0] + ".<module>" if module.startswith("helpers.exercises.") else module
        assert f"`{listed}`" in readme, module


def test_settings_with_other_colour_matrices_are_not_equal():
    from helpers.ascent import AscentSettings

    eye = torch.eye(3)
    assert AscentSettings(color_matrix=eye) == AscentSettings(color_matrix=eye.clone())
    assert AscentSettings(color_matrix=eye) != AscentSettings(color_matrix=2 * eye)  # compared equal before
    assert AscentSettings(color_matrix=eye) != AscentSettings()
    assert AscentSettings() == AscentSettings() and hash(AscentSettings()) == hash(AscentSettings())


def test_one_vocabulary_for_objectives_and_fills():
    """The curves took objective="probability" where everything else says "softmax", and insertion_curve took
    ``baseline`` where deletion_curve and occlusion_map take ``fill``."""
    import inspect

    from helpers import deletion_curve, insertion_curve, occlusion_map
    from helpers.objectives import OBJECTIVES

    assert "softmax" in OBJECTIVES
    for function in (deletion_curve, insertion_curve):
        parameters = inspect.signature(function).parameters
        assert parameters["objective"].default == "softmax" and "fill" in parameters and "baseline" not in parameters
    assert "fill" in inspect.signature(occlusion_map).parameters
    zoo = make_toy_zoo(2, seed=0)
    model = load_model("zoonet")
    saliency = torch.rand(2, 64, 64, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="objective: expected one of 'softmax', 'score'"):
        deletion_curve(model, zoo.images, zoo.labels, saliency, objective="probability", progress=False)


@pytest.mark.parametrize("method", ["smoothgrad", "integrated gradients", "occlusion"])
def test_an_image_too_small_is_reported_with_the_callers_shape_not_an_internal_batch(zoonet, method):
    from helpers import attribute

    images = torch.rand(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"images: the model rejected input of shape \(2, 3, 4, 4\)") as info:
        attribute(method, zoonet, images, 0)
    assert info.value.__cause__ is not None  # torch's own error stays chained, with its line


def test_a_name_shared_with_its_module_stays_the_function_after_the_module_is_imported():
    """``import helpers.feature_visualization`` used to put the module where the lazily loaded function belongs."""
    import subprocess
    import sys

    code = ("import helpers.feature_visualization, helpers; from helpers import feature_visualization; "
            "assert callable(feature_visualization) and helpers.feature_visualization is feature_visualization")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    import helpers

    clashes = [name for name, module in helpers._WHERE.items() if name == module]
    assert clashes == ["feature_visualization"], clashes  # a new clash must be bound in __init__ too

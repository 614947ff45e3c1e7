"""What the exercise checks of notebooks 00-08 hold against (issue 21), as the guide's "Grading with nbgrader" says.

Each check runs the answer key's own solution (the notebook's solution cell). While the learner's function runs:
the course's helpers that would do the exercise, Captum where it would, and the checks' own code are switched off,
however they are reached (by name, a clone, a copy that calls the course's code, a reload); no reference answer
exists yet anywhere on the stack; whatever the learner's code writes to stderr (warnings) goes to stdout, since
nbgrader gives a grade cell with stderr output no points. Notebook 09's check is tested in test_capstone.py.
"""
import ast
import functools
import importlib
import inspect
import itertools
import sys
import textwrap
import threading
import types
import warnings
from pathlib import Path

import nbformat
import pytest
import torch

import helpers
import helpers.attribution.gradients
from helpers import LinearClassifier, load_model, make_toy_zoo, mask_fraction, predict
from helpers.exercises import ExerciseError, HelperUnavailable, call
from helpers.exercises.beyond_gradients import _midpoint, check_integrated_gradients
from helpers.exercises.class_model import FULL, Loop, check_class_model_loop
from helpers.exercises.clever_hans import (_delete, _fooled, check_background_flips, check_delete_most_salient,
                                           check_fooling_image)
from helpers.exercises.getting_started import check_object_area
from helpers.exercises.inside import _record, check_record_activation
from helpers.exercises.interactive import check_follow_prediction
from helpers.exercises.linear_models import check_weight_mass_on_object, reference_weight_mass_on_object
from helpers.exercises.local_linearity import (check_directional_derivative, check_taylor_prediction,
                                               reference_directional_derivative, reference_taylor_prediction)
from helpers.exercises.saliency import GRADIENT_HELPERS, check_saliency_map

ROOT = Path(__file__).resolve().parents[1]


def answer_key(notebook: str, name: str):
    """The learner's function ``name`` as notebook ``notebook``'s solution cell defines it, compiled as a cell is."""
    path = next((ROOT / "notebooks").glob(f"{notebook}_*.ipynb"))
    source = next(c.source for c in nbformat.read(path, as_version=4).cells
                  if "### BEGIN SOLUTION" in c.source and f"def {name}(" in c.source)
    namespace = {"torch": torch, **{key: getattr(helpers, key) for key in helpers.__all__}}
    exec(compile(source, f"<notebook {notebook}, solution cell>", "exec"), namespace)  # noqa: S102 -- the answer key
    return namespace[name]


def toy_setup():
    zoo = make_toy_zoo(4, seed=3)
    return load_model("zoonet"), zoo.images, zoo.labels


def flip_setup():
    zoo = make_toy_zoo(16, bias=0.95, seed=30, classes=("husky", "wolf"))
    return load_model("huskywolf_biased"), zoo


def fool_setup():
    model = load_model("huskywolf_fixed")
    zoo = make_toy_zoo(8, bias=0.95, seed=5, classes=("husky", "wolf"))
    return model, zoo.images[(zoo.labels == 0) & (predict(model, zoo.images).argmax(1) == 0)][:1], 1, 0.05, 30


#: exercise -> (notebook, the learner's function, its check, the check's arguments after the function)
EXERCISES = {
    "object_area": ("00", check_object_area, lambda: (make_toy_zoo(8, seed=0).masks,)),
    "weight_mass_on_object": ("01", check_weight_mass_on_object,
                              lambda: (LinearClassifier(image_shape=(3, 64, 64)).weight_images()[0],
                                       make_toy_zoo(8, seed=0).masks)),
    "taylor_prediction": ("02", check_taylor_prediction, toy_setup),
    "directional_derivative": ("02", check_directional_derivative, toy_setup),
    "my_saliency_map": ("03", check_saliency_map, toy_setup),
    "my_integrated_gradients": ("04", check_integrated_gradients, tuple),
    "delete_most_salient": ("05", check_delete_most_salient,
                            lambda: (make_toy_zoo(3, size=16, seed=0, classes=("husky", "wolf")).images,)),
    "background_flips": ("05", check_background_flips, flip_setup),
    "fooling_image": ("05", check_fooling_image, fool_setup),
    "my_class_model": ("06", check_class_model_loop, lambda: (load_model("zoonet"),)),
    "record_activation": ("07", check_record_activation, tuple),
    "follow_prediction": ("08", check_follow_prediction, tuple),
}


def run_check(exercise: str, function):
    """Run ``exercise``'s check on ``function`` with the check's usual arguments."""
    _, check, arguments = EXERCISES[exercise]
    check(function, *arguments())


@pytest.fixture
def plain_warnings(monkeypatch):
    """Warnings shown on sys.stderr, every time, as in a notebook (pytest otherwise records them itself)."""
    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    monkeypatch.setattr(warnings, "showwarning", show)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        yield


_count = itertools.count()


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_an_honest_answer_that_warns_passes_with_its_warnings_on_stdout(exercise, plain_warnings, capsys):
    notebook = EXERCISES[exercise][0]
    solution = answer_key(notebook, exercise)

    def warns(*args, **kwargs):
        warnings.warn(f"an honest warning, number {next(_count)}", stacklevel=1)
        torch.tensor(torch.ones(1))  # UserWarning: copy construct from a tensor -- a common one
        print("a line on stderr", file=sys.stderr)
        return solution(*args, **kwargs)

    warns.__name__ = exercise
    run_check(exercise, warns)
    out, err = capsys.readouterr()
    assert "✓ Correct!" in out and "an honest warning" in out and "copy construct" in out, out
    assert err == "", err


def test_a_warning_in_the_explorers_handler_goes_to_stdout(plain_warnings, capsys):
    def follow_prediction(explorer):
        def on_image_change(change):
            warnings.warn("a warning from the handler", stacklevel=1)
            explorer.target.value = explorer.predicted_class(change["new"])

        explorer.image.observe(on_image_change, names="value")

    check_follow_prediction(follow_prediction)
    out, err = capsys.readouterr()
    assert "✓ Correct!" in out and "a warning from the handler" in out and err == ""


def thief(*args, **kwargs):
    """Walk up the stack into the check and return its answer: a tensor named expected or reference, or the
    comparison of the predictions ``before`` and ``after`` (05's background flips)."""
    frame = sys._getframe(1)
    while frame is not None:
        found = frame.f_locals
        for name in ("expected", "reference"):
            if isinstance(found.get(name), torch.Tensor):
                return found[name].clone()
        if isinstance(found.get("before"), torch.Tensor) and isinstance(found.get("after"), torch.Tensor):
            return found["before"] != found["after"]
        frame = frame.f_back
    raise LookupError("no answer on the stack")


@pytest.mark.parametrize("exercise", [e for e in EXERCISES if e != "follow_prediction"])
def test_no_answer_is_on_the_stack_while_the_learners_function_runs(exercise):
    with pytest.raises(ExerciseError):
        run_check(exercise, thief)


def _take(exercise, reference):
    def function(*args, **kwargs):
        return reference(*args, **kwargs)

    function.__name__ = exercise
    return function


@pytest.mark.parametrize("exercise, function, name", [
    ("weight_mass_on_object", reference_weight_mass_on_object, "reference_weight_mass_on_object"),
    ("taylor_prediction", reference_taylor_prediction, "reference_taylor_prediction"),
    ("directional_derivative", reference_directional_derivative, "reference_directional_derivative"),
    ("my_integrated_gradients", _midpoint, "_midpoint"),
    ("delete_most_salient", _delete, "_delete"),
    ("fooling_image", _fooled, "_fooled"),
    ("record_activation", lambda model, layer, images: _record(model, layer, images)[1], "_record"),
    ("my_class_model", lambda model, target, shape, generator=None, **settings:
        Loop().run(model, target, shape, generator=generator, **settings), "Loop.run"),
])
def test_the_checks_own_code_is_switched_off(exercise, function, name):
    with pytest.raises(HelperUnavailable, match=rf"`helpers\.exercises\.\w+\.{name}` is the check's own code"):
        run_check(exercise, _take(exercise, function))


# ---------------------------------------------------------------------------------------
# the helpers that would do an exercise, however they are reached


@pytest.mark.parametrize("exercise, function, name", [
    ("object_area", lambda masks: mask_fraction(torch.ones(masks.shape), masks), "helpers.mask_fraction"),
    ("weight_mass_on_object", lambda w, masks: mask_fraction(w.abs().sum(0).expand(len(masks), -1, -1), masks),
     "helpers.mask_fraction"),
    ("taylor_prediction", lambda model, images, target, delta: helpers.input_gradient(model, images, target)
     .mul(delta).flatten(1).sum(1) + model(images).gather(1, target[:, None])[:, 0].detach(), "helpers.input_gradient"),
    ("my_saliency_map", lambda model, images, target: helpers.attribution._core._input_grad(model, images, target)
     .abs().amax(1), "helpers.attribution._core._input_grad"),
    ("my_saliency_map", lambda model, images, target: helpers.METHODS["saliency"].function(model, images, target),
     "helpers.saliency_map"),
    ("my_saliency_map", lambda model, images, target: helpers.attribute("saliency", model, images, target),
     "helpers.attribute"),
    ("my_saliency_map", lambda model, images, target: functools.partial(helpers.saliency_map, model)(images, target),
     "helpers.saliency_map"),
    ("my_saliency_map", lambda model, images, target: helpers.ascent.ascend(None, 1, (3, 8, 8), None, matrix=None,
                                                                            device="cpu", dtype=torch.float32, desc=""),
     "helpers.ascent.ascend"),
])
def test_the_helper_that_would_do_it_is_switched_off_and_named_as_called(exercise, function, name):
    with pytest.raises(HelperUnavailable, match=rf"`{name}` is switched off in this exercise"):
        run_check(exercise, _take(exercise, function))


def clone_of_saliency_map(model, images, target):
    original = inspect.unwrap(helpers.saliency_map)
    clone = types.FunctionType(original.__code__, dict(original.__globals__), original.__name__)
    return clone(model, images, target)


def copy_of_saliency_map(model, images, target):
    namespace = dict(vars(helpers.attribution.gradients))
    exec(textwrap.dedent(inspect.getsource(inspect.unwrap(helpers.saliency_map))), namespace)  # noqa: S102
    return namespace["saliency_map"](model, images, target)


def reloaded_saliency_map(model, images, target):
    return importlib.reload(helpers.attribution.gradients).saliency_map(model, images, target)


@pytest.mark.parametrize("copy", [clone_of_saliency_map, copy_of_saliency_map, reloaded_saliency_map])
def test_a_copy_of_a_helper_is_switched_off(copy):
    module = helpers.attribution.gradients
    saved = dict(vars(module))
    try:
        with pytest.raises(HelperUnavailable, match="is switched off in this exercise"):
            run_check("my_saliency_map", _take("my_saliency_map", copy))
    finally:
        vars(module).clear()
        vars(module).update(saved)  # undo the reload


def captum_saliency(model, images, target):
    from captum.attr import Saliency

    return Saliency(model).attribute(images.clone().requires_grad_(True), target=target, abs=True).amax(1)


def captum_integrated_gradients(model, image, target, baseline, steps):
    from captum.attr import IntegratedGradients

    return IntegratedGradients(model).attribute(image[None], baselines=baseline[None], target=target, n_steps=steps,
                                                method="riemann_middle")[0]


def captum_layer_activation(model, layer, images):
    from captum.attr import LayerActivation

    return LayerActivation(model, layer).attribute(images).detach().clone()


@pytest.mark.parametrize("exercise, function, name", [
    ("my_saliency_map", captum_saliency, "captum.attr.Saliency"),
    ("my_integrated_gradients", captum_integrated_gradients, "captum.attr.IntegratedGradients"),
    ("record_activation", captum_layer_activation, "captum.attr.LayerActivation"),
])
def test_captum_is_switched_off_where_it_would_do_the_exercise(exercise, function, name):
    with pytest.raises(HelperUnavailable, match=rf"`{name}` is switched off in this exercise"):
        run_check(exercise, _take(exercise, function))


def test_switching_the_watch_off_does_not_pass():
    def quiet(x):
        sys.setprofile(None)
        return x

    with pytest.raises(ExerciseError, match="sys.setprofile"):
        call(quiet, 1, unavailable=[mask_fraction])


def test_a_caught_refusal_still_fails_and_the_watch_is_put_back():
    def keeps_trying(masks):
        try:
            mask_fraction(torch.ones(masks.shape), masks)
        except HelperUnavailable:
            pass
        return mask_fraction(torch.ones(masks.shape), masks)

    previous = sys.getprofile()
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    with pytest.raises(HelperUnavailable, match="helpers.mask_fraction"):
        call(keeps_trying, masks, unavailable=[mask_fraction])
    assert sys.getprofile() is previous
    assert call(lambda m: m.float().mean((1, 2)), masks, unavailable=[mask_fraction]).tolist() == [0.0, 0.0]


def test_every_place_the_course_takes_an_input_gradient_is_switched_off():
    """Each function or method of ``helpers`` that calls torch.autograd.grad is in ``GRADIENT_HELPERS`` (a new one
    too: add it there)."""
    listed = {inspect.unwrap(f).__code__ for f in GRADIENT_HELPERS if callable(f)}
    missing = []
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        if "exercises" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        module = importlib.import_module(name)
        for node in ast.parse(path.read_text()).body:
            owner = getattr(module, node.name, None) if isinstance(node, ast.ClassDef) else module
            functions = node.body if isinstance(node, ast.ClassDef) else [node]
            for function in functions:
                if isinstance(function, ast.FunctionDef) and "autograd.grad(" in ast.unparse(function):
                    code = inspect.unwrap(getattr(owner, function.name)).__code__
                    if code not in listed:
                        missing.append(f"{module.__name__}.{function.name}")
    assert not missing, missing


def test_a_grade_cells_hidden_test_imports_the_check_afresh(monkeypatch):
    """Under nbgrader autograde a grade cell starts with its hidden test: a check replaced from the learner's cell
    (one line) is then imported afresh from its file, and fails the stub. (tests/test_nbgrader.py does it for real.)"""
    import helpers.exercises.getting_started as module

    def object_area(masks):
        raise NotImplementedError

    monkeypatch.setattr(module, "check_object_area", lambda *args, **kwargs: print("✓ Correct!"))
    source = next(c.source for c in nbformat.read(ROOT / "notebooks" / "00_setup.ipynb", as_version=4).cells
                  if c.metadata.get("nbgrader", {}).get("grade"))
    grading = [name for name in sys.modules if name == "helpers.exercises" or name.startswith("helpers.exercises.")]
    saved = {name: sys.modules[name] for name in grading}
    try:
        with pytest.raises(AssertionError, match="NotImplementedError"):  # a fresh ExerciseError class
            exec(source, {"object_area": object_area, "zoo": make_toy_zoo(4, seed=0)})  # noqa: S102 -- the cell
    finally:  # the other tests keep the package they imported
        for name in [n for n in sys.modules if n == "helpers.exercises" or n.startswith("helpers.exercises.")]:
            del sys.modules[name]
        sys.modules.update(saved)
        helpers.exercises = saved["helpers.exercises"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the refusal, in the thread
def test_a_helper_called_in_a_thread_is_switched_off_too():
    def in_a_thread(masks):
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("share", mask_fraction(torch.ones(masks.shape),
                                                                                          masks)))
        thread.start()
        thread.join()
        return result.get("share")

    with pytest.raises(HelperUnavailable, match="helpers.mask_fraction"):
        call(in_a_thread, torch.zeros(2, 4, 4, dtype=torch.bool), unavailable=[mask_fraction])

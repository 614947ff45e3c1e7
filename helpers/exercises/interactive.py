"""Checks for notebook 08 (interactive explorers)."""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from traitlets import TraitError

from ..checkpoints import load_model
from ..toyzoo import CLASSES
from . import ExerciseError, call, check, expect, learner_code, passed

#: the images the check switches between, in this order (the explorer starts on the first)
_START = "Toy Zoo: goose"
_SEQUENCE = ("Toy Zoo: wolf", "Toy Zoo: car", "Toy Zoo: fish", "Toy Zoo: goose")

_OBSERVE_HINT = ("register a handler with explorer.image.observe(handler, names=\"value\"); inside it, set "
                 "explorer.target.value = explorer.predicted_class(change[\"new\"])")


@lru_cache(maxsize=1)
def _gallery() -> tuple[dict, dict]:
    from ..explorers import default_gallery

    images, masks = default_gallery(64, CLASSES)
    chosen = [_START, *[name for name in _SEQUENCE if name != _START]]
    return {name: images[name] for name in chosen}, {name: masks[name] for name in chosen}


def _explorer():
    from ..explorers import saliency_explorer

    images, masks = _gallery()
    return saliency_explorer(load_model("zoonet"), CLASSES, images=dict(images), masks=dict(masks),
                             methods=("saliency",), figure_width=5.0)


@check
def check_follow_prediction(follow_prediction: Callable) -> None:
    """Check ``follow_prediction(explorer)``: afterwards, choosing an image selects the class the model predicts.

    The check builds a small saliency explorer (the course's ZooNet, four Toy Zoo images), calls
    ``follow_prediction(explorer)`` once, then switches the image four times, as a learner would by
    clicking, and looks at the class dropdown and the map after each switch.
    """
    expect(callable(follow_prediction), "pass your function itself, e.g. check_follow_prediction(follow_prediction).")
    explorer = _explorer()
    try:
        _check(follow_prediction, explorer)
    finally:
        explorer.close()


def _check(follow_prediction: Callable, explorer) -> None:
    names = explorer.class_names
    start_class = explorer.target.value
    predicted = [explorer.predicted_class(name) for name in (_START, *_SEQUENCE)]
    # the diagnoses below tell mistakes apart only if every switch changes the predicted class
    assert all(a != b for a, b in zip(predicted, predicted[1:])), f"course maintainers: pick other images ({predicted})"
    call(follow_prediction, explorer)
    seen = []  # (image, class shown, predicted class, predicted class of the previous image)
    previous = _START
    for name in _SEQUENCE:
        with learner_code("your handler", raised=f"switching the image to {name!r} made your handler raise",
                          hint="with names=\"value\" your handler is called only when the value changes (without "
                               "it, also for 'index' and 'label', with other kinds of change[\"new\"]); the new "
                               "image's name is change[\"new\"]"):
            try:
                explorer.image.value = name
            except TraitError as err:
                raise ExerciseError(
                    f"switching the image to {name!r} made your handler set the class dropdown to a value it "
                    f"does not have ({err}).\n  Hint: the class dropdown's values are the class indices (0, 1, ...), "
                    "its labels are the names: set explorer.target.value = explorer.predicted_class(...)") from None
        seen.append((name, explorer.target.value, explorer.predicted_class(name), explorer.predicted_class(previous)))
        previous = name

    if all(shown == expected for _, shown, expected, _ in seen):
        expect(explorer.shown == (_SEQUENCE[-1], seen[-1][1], explorer.method.value),
               "the class follows the prediction, but the map on show is not the one for the last image and "
               "its predicted class.", "change the class through explorer.target.value, so the explorer redraws the map")
        route = ", ".join(f"{name.removeprefix('Toy Zoo: ')} → '{names[shown]}'" for name, shown, _, _ in seen)
        passed(f"the class now follows the model's prediction whenever the image changes ({route}).")
        return
    if all(shown == start_class for _, shown, _, _ in seen):
        raise ExerciseError(f"after switching the image to {seen[0][0]!r}, the class was still "
                            f"'{names[start_class]}' (the model predicts '{names[seen[0][2]]}'); it never changed.\n"
                            f"  Hint: {_OBSERVE_HINT}")
    if all(shown == before for _, shown, _, before in seen):
        raise ExerciseError("the class follows the prediction for the image shown *before* each switch.\n"
                            "  Hint: change[\"old\"] is the previous value, change[\"new\"] the image just chosen")
    name, shown, expected, _ = next(step for step in seen if step[1] != step[2])
    raise ExerciseError(f"after switching the image to {name!r}, the class is '{names[shown]}', but the model "
                        f"predicts '{names[expected]}' for it.\n  Hint: {_OBSERVE_HINT}")

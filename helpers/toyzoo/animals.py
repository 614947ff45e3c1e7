"""The Toy Zoo's classes: how each is drawn, piece by piece, and the names of its parts.

A drawer takes canonical coordinates ``u, v`` ((N, H, W) float32, the object spanning about
-1..1, v pointing down), per-image colours ``c`` ({"main", "light", "dark"} -> (N, 3) float32)
and per-image jitter ``j`` ({"a", "b"} -> (N, 1, 1) float32 in [-1, 1]). It returns its pieces,
painted in order (a later piece covers an earlier one), each a triple ``(part, region, colour)``:
the name of the part it belongs to (one of the class's parts in ``PARTS``), an (N, H, W) bool
region (see ``shapes``) and an RGB colour (a triple, or (N, 3) per image).

Husky and wolf share body, head, ears, legs and colours and differ only in the tail: the husky's
curls up over its back, the wolf's hangs down.
"""
from __future__ import annotations

import numpy as np

from .shapes import arc, box, ellipse, segment, triangle

CLASSES = ("goose", "husky", "wolf", "car", "house", "fish", "flower", "butterfly")

# the parts of each class, named by the drawers below (what each covers is written there)
_CLASS_PARTS = {
    "goose": ("neck", "head", "body", "legs"),
    "husky": ("head", "body", "legs", "tail"),
    "wolf": ("head", "body", "legs", "tail"),
    "car": ("body", "windows", "wheels"),
    "house": ("walls", "roof", "door", "window", "chimney"),
    "fish": ("body", "tail fin", "dorsal fin"),
    "flower": ("petals", "centre", "stem", "leaf"),
    "butterfly": ("wings", "body", "antennae"),
}
#: every part of every class as a (class, part) pair; ``ToyZoo.parts`` holds 1 + an index into this
#: (0: background), see ``part_index``
PARTS = tuple((c, p) for c in CLASSES for p in _CLASS_PARTS[c])


def part_index(cls: str, part: str) -> int:
    """The value that marks ``cls``'s ``part`` in ``ToyZoo.parts``: 1 + its index in ``PARTS``.

    E.g. ``zoo.parts == part_index("goose", "neck")`` is an (N, H, W) bool mask of every goose neck.
    Raises ValueError naming ``cls`` or ``part`` when either is unknown.
    """
    if cls not in CLASSES:
        raise ValueError(f"cls: expected a class from {CLASSES}, got {cls!r}")
    if (cls, part) not in PARTS:
        raise ValueError(f"part: expected one of the {cls}'s parts {_CLASS_PARTS[cls]}, got {part!r}")
    return 1 + PARTS.index((cls, part))


ORANGE = (0.95, 0.55, 0.1)
BLACK = (0.05, 0.05, 0.05)
GLASS = (0.75, 0.9, 1.0)
GREEN = (0.15, 0.55, 0.15)


def goose(u, v, c, j):
    """legs: legs and feet; body: body and tail; neck: the neck; head: head, beak and eye."""
    neck_top = (0.55 + 0.05 * j["a"], -0.72)
    return [
        ("legs", segment(u, v, -0.05, 0.3, -0.12 + 0.05 * j["b"], 0.95, 0.07), ORANGE),
        ("legs", segment(u, v, 0.15, 0.3, 0.2 + 0.05 * j["a"], 0.95, 0.07), ORANGE),
        ("legs", segment(u, v, -0.12, 0.95, 0.0, 0.95, 0.07), ORANGE),
        ("legs", segment(u, v, 0.2, 0.95, 0.32, 0.95, 0.07), ORANGE),
        ("body", ellipse(u, v, 0.0, 0.1, 0.55, 0.3), c["main"]),
        ("body", triangle(u, v, (-0.5, 0.0), (-0.75, -0.15), (-0.55, 0.2)), c["main"]),
        ("neck", segment(u, v, 0.35, -0.02, *neck_top, 0.15), c["main"]),
        ("head", ellipse(u, v, neck_top[0] + 0.05, -0.78, 0.16, 0.12), c["main"]),
        ("head", triangle(u, v, (neck_top[0] + 0.17, -0.83), (neck_top[0] + 0.42, -0.76),
                          (neck_top[0] + 0.17, -0.72)), ORANGE),
        ("head", ellipse(u, v, neck_top[0] + 0.09, -0.81, 0.035, 0.035), BLACK),
    ]


def _canine(u, v, c, j, curled_tail: bool):
    """legs; tail; body: body and neck; head: head, muzzle, nose, ears and eye."""
    pieces = []
    for x in (-0.4, -0.25, 0.3, 0.45):
        pieces.append(("legs", segment(u, v, x, 0.1, x + 0.04 * j["a"], 0.7, 0.12), c["main"]))
    if curled_tail:  # husky: a ring curled up over the back
        pieces.append(("tail", arc(u, v, -0.55, -0.32, 0.17, 0.1, 0.35 * np.pi, 1.95 * np.pi), c["main"]))
    else:  # wolf: a straight tail hanging down
        pieces.append(("tail", segment(u, v, -0.5, -0.05, -0.78, 0.42 + 0.05 * j["b"], 0.13), c["main"]))
    pieces += [
        ("body", ellipse(u, v, 0.0, 0.0, 0.58, 0.24), c["main"]),
        ("body", segment(u, v, 0.4, -0.05, 0.58, -0.3, 0.2), c["main"]),
        ("head", ellipse(u, v, 0.62, -0.35, 0.2, 0.16), c["main"]),
        ("head", ellipse(u, v, 0.82, -0.3, 0.14, 0.075), c["light"]),
        ("head", ellipse(u, v, 0.95, -0.32, 0.035, 0.035), BLACK),
        ("head", triangle(u, v, (0.48, -0.42), (0.5, -0.68), (0.62, -0.46)), c["main"]),
        ("head", triangle(u, v, (0.62, -0.46), (0.68, -0.7), (0.76, -0.44)), c["main"]),
        ("head", ellipse(u, v, 0.68, -0.38, 0.03, 0.03), BLACK),
    ]
    return pieces


def husky(u, v, c, j):
    """The canine with its tail curled up over the back."""
    return _canine(u, v, c, j, curled_tail=True)


def wolf(u, v, c, j):
    """The canine with its tail hanging down."""
    return _canine(u, v, c, j, curled_tail=False)


def car(u, v, c, j):
    """body: body, cabin and headlight; windows; wheels: tyres and hubs."""
    return [
        ("body", box(u, v, 0.0, 0.1, 0.85, 0.2), c["main"]),
        ("body", triangle(u, v, (-0.5, -0.1), (-0.3, -0.45), (0.0, -0.1)) | box(u, v, 0.02, -0.27, 0.33, 0.17)
         | triangle(u, v, (0.35, -0.1), (0.35, -0.44), (0.55, -0.1)), c["main"]),
        ("windows", box(u, v, -0.13, -0.25, 0.15, 0.11) | box(u, v, 0.2, -0.25, 0.14, 0.11), GLASS),
        ("wheels", ellipse(u, v, -0.5, 0.32, 0.2, 0.2) | ellipse(u, v, 0.5, 0.32, 0.2, 0.2), BLACK),
        ("wheels", ellipse(u, v, -0.5, 0.32, 0.08, 0.08) | ellipse(u, v, 0.5, 0.32, 0.08, 0.08), (0.7, 0.7, 0.7)),
        ("body", box(u, v, 0.8, 0.02, 0.05, 0.05), (1.0, 0.9, 0.3)),
    ]


def house(u, v, c, j):
    """walls; roof; door; window; chimney."""
    return [
        ("walls", box(u, v, 0.0, 0.3, 0.55, 0.5), c["main"]),
        ("roof", triangle(u, v, (-0.72, -0.18), (0.72, -0.18), (0.0, -0.85)), c["dark"]),
        ("door", box(u, v, 0.22, 0.53, 0.14, 0.27), c["dark"]),
        ("window", box(u, v, -0.25, 0.2, 0.14, 0.13), GLASS),
        ("chimney", box(u, v, 0.45, -0.5, 0.07, 0.17), c["dark"]),
    ]


def fish(u, v, c, j):
    """tail fin; dorsal fin; body: body, gill and eye."""
    return [
        ("tail fin", triangle(u, v, (-0.45, 0.0), (-0.95, -0.4 - 0.05 * j["a"]), (-0.95, 0.4 + 0.05 * j["b"])),
         c["dark"]),
        ("dorsal fin", triangle(u, v, (-0.2, -0.2), (0.15, -0.2), (-0.15, -0.55)), c["dark"]),
        ("body", ellipse(u, v, 0.0, 0.0, 0.6, 0.32), c["main"]),
        ("body", arc(u, v, 0.25, 0.0, 0.3, 0.04, -0.45 * np.pi, 0.45 * np.pi), c["dark"]),
        ("body", ellipse(u, v, 0.38, -0.08, 0.07, 0.07), (1.0, 1.0, 1.0)),
        ("body", ellipse(u, v, 0.4, -0.08, 0.035, 0.035), BLACK),
    ]


def flower(u, v, c, j):
    """stem; leaf; petals: six discs; centre: the yellow disc in the middle."""
    pieces = [
        ("stem", segment(u, v, 0.0, -0.2, 0.05 * j["a"], 0.95, 0.08), GREEN),
        ("leaf", ellipse(u, v, 0.22, 0.5, 0.2, 0.08), GREEN),
    ]
    for k in range(6):
        a = k * np.pi / 3 + 0.3 * j["b"]
        pieces.append(("petals", ellipse(u, v, 0.3 * np.cos(a), -0.35 + 0.3 * np.sin(a), 0.17, 0.17), c["main"]))
    pieces.append(("centre", ellipse(u, v, 0.0, -0.35, 0.16, 0.16), (0.95, 0.8, 0.1)))
    return pieces


def butterfly(u, v, c, j):
    """wings: four wings and their spots; body; antennae."""
    return [
        ("wings", ellipse(u, v, -0.38, -0.3, 0.36, 0.32) | ellipse(u, v, 0.38, -0.3, 0.36, 0.32), c["main"]),
        ("wings", ellipse(u, v, -0.3, 0.3, 0.26, 0.26) | ellipse(u, v, 0.3, 0.3, 0.26, 0.26), c["main"]),
        ("wings", ellipse(u, v, -0.4, -0.3, 0.11, 0.11) | ellipse(u, v, 0.4, -0.3, 0.11, 0.11), c["light"]),
        ("body", ellipse(u, v, 0.0, 0.0, 0.07, 0.55), BLACK),
        ("antennae", segment(u, v, 0.0, -0.5, -0.25, -0.85, 0.04) | segment(u, v, 0.0, -0.5, 0.25, -0.85, 0.04),
         BLACK),
    ]


#: class name -> drawer
DRAWERS = {
    "goose": goose, "husky": husky, "wolf": wolf, "car": car,
    "house": house, "fish": fish, "flower": flower, "butterfly": butterfly,
}
#: colour families for each class's main colour (RGB low, high); husky and wolf share theirs on purpose
PALETTE = {
    "goose": ((0.55, 0.55, 0.55), (1.0, 1.0, 1.0)),
    "husky": ((0.3, 0.27, 0.25), (0.8, 0.76, 0.72)),
    "wolf": ((0.3, 0.27, 0.25), (0.8, 0.76, 0.72)),
    "car": ((0.1, 0.1, 0.1), (1.0, 1.0, 1.0)),
    "house": ((0.6, 0.5, 0.35), (1.0, 0.95, 0.85)),
    "fish": ((0.6, 0.3, 0.0), (1.0, 0.8, 0.3)),
    "flower": ((0.6, 0.1, 0.3), (1.0, 0.6, 0.9)),
    "butterfly": ((0.2, 0.1, 0.5), (1.0, 0.6, 0.2)),
}

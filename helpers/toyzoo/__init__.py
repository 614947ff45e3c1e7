"""Toy Zoo: a procedurally drawn image data set with ground-truth object masks, part maps and a background bias.

Every animal or object is drawn from simple shapes (``shapes``: ellipses, thick line segments,
triangles, boxes, arcs), each labelled with the part it belongs to (``animals``), in a canonical
frame, then placed at a random position, scale, rotation and mirror, with a random colour and a
dark outline (``drawing``). Each class has "its" background texture (``backgrounds``); ``bias`` is
the probability that an image of the class is drawn on that background (the rest are spread
evenly over the others). ``swap_backgrounds`` repaints the backgrounds behind the same objects;
``shortcuts`` plants other cues (a corner mark, a tinted animal) and intervenes on them.

Husky and wolf share body, head, ears, legs and colours and differ only in the tail: the husky's
curls up over its back, the wolf's hangs down.

Everything is vectorised over a batch of images, so 10,000 64x64 images take a few seconds; the
same ``seed`` always gives the same data set.
"""
from .animals import CLASSES, PARTS, part_index
from .backgrounds import BACKGROUNDS, HOME_BACKGROUND, home_background_ids, paint_background, render_backgrounds
from .dataset import ToyZoo, make_toy_zoo
from .drawing import GOOSE_PARTS, centered_goose_parts, draw_class
from .masks import grow_masks, shrink_masks
from .shortcuts import TINT, add_corner_mark, bias_backgrounds, corner_mark_box, tint_animals
from .swap import swap_backgrounds

__all__ = [
    "CLASSES", "PARTS", "part_index",
    "BACKGROUNDS", "HOME_BACKGROUND", "home_background_ids", "paint_background", "render_backgrounds",
    "ToyZoo", "make_toy_zoo",
    "GOOSE_PARTS", "centered_goose_parts", "draw_class",
    "grow_masks", "shrink_masks",
    "swap_backgrounds",
    "TINT", "add_corner_mark", "bias_backgrounds", "corner_mark_box", "tint_animals",
]

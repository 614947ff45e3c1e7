"""Shape primitives of the Toy Zoo: bool regions on canonical coordinates.

Every function takes ``u, v``: (N, H, W) float32 canonical coordinates of each pixel (the object
spans about -1..1; v points down) and returns an (N, H, W) bool region. Shape parameters are
numbers or arrays that broadcast against ``u`` (e.g. (N, 1, 1) per-image jitter).
"""
from __future__ import annotations

import numpy as np


def ellipse(u, v, cx, cy, rx, ry):
    """Axis-aligned ellipse with centre (cx, cy) and radii rx, ry."""
    return ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1.0


def segment(u, v, x0, y0, x1, y1, width):
    """Thick line ("capsule") from (x0, y0) to (x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return (u - x0 - t * dx) ** 2 + (v - y0 - t * dy) ** 2 <= (width / 2) ** 2


def triangle(u, v, a, b, c):
    """Filled triangle with corners ``a``, ``b``, ``c`` ((x, y) pairs), either orientation."""
    def side(p, q):
        return (u - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (v - q[1])

    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    return ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))


def box(u, v, cx, cy, hw, hh):
    """Axis-aligned rectangle with centre (cx, cy), half-width hw and half-height hh."""
    return (np.abs(u - cx) <= hw) & (np.abs(v - cy) <= hh)


def arc(u, v, cx, cy, radius, width, start, stop):
    """Part of a ring between angles ``start`` and ``stop`` (radians, measured from +u towards +v)."""
    r = np.sqrt((u - cx) ** 2 + (v - cy) ** 2)
    angle = np.mod(np.arctan2(v - cy, u - cx) - start, 2 * np.pi)
    return (np.abs(r - radius) <= width / 2) & (angle <= np.mod(stop - start, 2 * np.pi))

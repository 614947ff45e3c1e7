"""What both explorers share: the status line, the figure as PNG, the class-name check, closing."""
from __future__ import annotations

import html
import io
from collections.abc import Callable, Sequence

import ipywidgets as widgets
from matplotlib.figure import Figure


def png(figure: Figure) -> bytes:
    """``figure`` rendered as PNG bytes (for an ``ipywidgets.Image``: nothing is printed or displayed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def checked_class_names(class_names, num_classes: int) -> tuple[str, ...]:
    """``class_names`` as a tuple, checked to be one string per class of the model."""
    if isinstance(class_names, str) or not isinstance(class_names, Sequence) \
            or not all(isinstance(name, str) for name in class_names):
        raise TypeError(f"class_names: expected a sequence of strings, one per class, got {type(class_names).__name__}")
    if len(class_names) != num_classes:
        raise ValueError(f"class_names: expected {num_classes} names (the model has {num_classes} classes), "
                         f"got {len(class_names)}")
    return tuple(class_names)


def status_html(message: str, error: bool) -> str:
    """The status line's HTML: the message, escaped; an error in red with a warning sign."""
    text = html.escape(message)
    if error:
        return f'<div class="course-status course-error" style="color:#b00020">⚠ {text}</div>'
    return f'<div class="course-status">{text}</div>'


def short(name: str, limit: int = 40) -> str:
    """``name`` cut to at most ``limit`` characters (an ellipsis marks the cut)."""
    return name if len(name) <= limit else name[:limit - 1] + "…"


def close_tree(widget) -> None:
    """Close ``widget`` and every widget inside it (their front-end models go away too)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    for name in ("layout", "style"):
        part = getattr(widget, name, None)
        if isinstance(part, widgets.Widget):
            part.close()
    widgets.Widget.close(widget)


class StatusMixin:
    """For an explorer (a ``VBox`` with a ``status`` HTML widget): ``message``/``is_error``, closing, safe callbacks."""

    status: widgets.HTML
    message: str = ""
    is_error: bool = False

    def close(self) -> None:
        """Close the explorer and every control inside it."""
        close_tree(self)

    def _say(self, message: str, error: bool = False) -> None:
        self.message, self.is_error = message, error
        self.status.value = status_html(message, error)

    def _safely(self, action: Callable[[], object]) -> None:
        """Run ``action``; an error becomes the status line (a callback must never end in a traceback)."""
        try:
            action()
        except Exception as err:  # noqa: BLE001
            self._say(f"something went wrong: {type(err).__name__}: {err}", error=True)

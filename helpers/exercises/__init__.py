"""Check functions for the notebooks' exercises: friendly feedback instead of a bare AssertionError.

Each notebook's checks live in a module of this package (e.g. ``helpers.exercises.linear_models``).
A check prints one line starting with ✓ when the answer is right, and otherwise raises
``ExerciseError``: what was expected, what was found, and a hint. In Jupyter the error shows
as that message alone, without a traceback.

The grading steps every check is built from:

* ``call(function, *args, unavailable=...)`` runs the learner's function (``learner_code`` is the same as a
  ``with`` block): a left-in ``raise NotImplementedError`` becomes ``NotDoneYet``, any other
  error an ``ExerciseError`` that shows it and the learner's line it came from; the helper
  functions listed in ``unavailable`` are switched off meanwhile (``helpers_unavailable``), so an
  exercise that asks for a method cannot be passed by calling the course's implementation of it;
* ``expect_tensor`` checks the answer's type, shape, dtype and finiteness;
* ``close``/``difference`` compare it with the reference (``torch.allclose`` tolerances, in
  float64), ``difference`` saying in words what differs;
* ``diagnose`` tries typical mistakes (``Mistake``: a function computing what the mistake returns,
  what went wrong, a hint) and names the first one the answer matches;
* ``expect_match`` chains the last two: the reference, then the mistakes, then a message.
"""
from __future__ import annotations

import sys
import sysconfig
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import torch


class ExerciseError(AssertionError):
    """A check failed; the message says what was expected and gives a hint."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"✗ Not quite: {self.args[0]}"]


class NotDoneYet(ExerciseError, NotImplementedError):
    """The learner's code still raises NotImplementedError; also a NotImplementedError, for code that catches one."""


def expect(condition: bool, message: str, hint: str | None = None) -> None:
    """Raise ``ExerciseError(message + hint)`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseError(message + _hint(hint))


def _hint(hint: str | None) -> str:
    return f"\n  Hint: {hint}" if hint else ""


def passed(message: str) -> None:
    print(f"✓ Correct! {message}")


# ---------------------------------------------------------------------------------------
# running the learner's code

#: where library code lives: a frame outside these folders is the learner's (a notebook cell, a test)
_LIBRARY = tuple({str(Path(folder).resolve()) for folder in
                  (Path(__file__).parents[1], *map(sysconfig.get_paths().get, ("stdlib", "purelib", "platlib")))})


def _learner_line(error: BaseException) -> str:
    """'In f, line 3: x = ...': the innermost frame of ``error``'s traceback outside library code (a notebook cell)."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not str(Path(frame.filename).resolve()).startswith(_LIBRARY)]
    if not frames:
        return ""
    frame = frames[-1]
    return f"\n  In {frame.name}, line {frame.lineno}" + (f": {frame.line}" if frame.line else "")


def _who(function) -> str:
    name = getattr(function, "__name__", "")
    return f"your function `{name}`" if name.isidentifier() else "your function"


@contextmanager
def learner_code(who: str | Callable = "your function", raised: str | None = None,
                 hint: str | None = None, hints: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run the learner's code in the block and turn its errors into feedback.

    ``who`` names the code: a phrase, or the learner's function (then "your function `name`").
    ``NotImplementedError`` becomes ``NotDoneYet`` ("{who} still raises NotImplementedError");
    any other exception (but an ``ExerciseError``) becomes an ``ExerciseError`` that reads
    "{raised} {type}: {message}" (``raised`` defaults to "{who} raised"), the learner's line it
    came from, and ``hint``; the original error stays attached as ``__cause__``. ``hints`` maps a
    piece of an error's message to the hint that error gets instead (the first that matches).
    """
    who = who if isinstance(who, str) else _who(who)
    try:
        yield
    except ExerciseError:
        raise
    except NotImplementedError:
        raise NotDoneYet(f"{who} still raises NotImplementedError: it is not done yet."
                         + _hint("replace the `raise NotImplementedError` line with your code")) from None
    except Exception as error:  # noqa: BLE001 -- any error in the learner's code becomes feedback
        hint = next((h for text, h in (hints or {}).items() if text in str(error)), hint)
        raise ExerciseError(f"{raised or who + ' raised'} {type(error).__name__}: {error}"
                            + _learner_line(error) + _hint(hint)) from error


class HelperUnavailable(ExerciseError):
    """The learner's code called a helper that the exercise asks them to write themselves."""


def _blocked(function: Callable, instead: str) -> Callable:
    name = f"{function.__module__.split('.')[0]}.{function.__name__}"

    def blocked(*args, **kwargs):
        raise HelperUnavailable(f"`{name}` is switched off in this exercise: the point is to write it yourself."
                                + _hint(instead))

    blocked.__name__ = function.__name__
    return blocked


@contextmanager
def helpers_unavailable(functions: Iterable[Callable], instead: str,
                        namespaces: Iterable[dict] = ()) -> Iterator[None]:
    """Inside the block, each of ``functions`` raises ``HelperUnavailable`` (with the hint ``instead``) when called.

    It is replaced wherever it is bound: in every loaded ``helpers`` module (so ``helpers.f``,
    ``helpers.attribution.f`` and helpers that call it internally are all switched off) and in
    ``namespaces`` (e.g. the learner's function's ``__globals__``: the notebook's names). Every
    binding is put back on leaving the block, also after an error.
    """
    functions = list(functions)  # held for the whole block, so no other object can take one of their ids
    blockers = {id(f): _blocked(f, instead) for f in functions}
    modules = [vars(module) for name, module in list(sys.modules.items())
               if module is not None and (name == "helpers" or name.startswith("helpers."))]
    replaced: list[tuple[dict, str, Callable]] = []
    try:
        for namespace in [*modules, *namespaces]:
            for key, value in list(namespace.items()):
                if id(value) in blockers:
                    replaced.append((namespace, key, value))
                    namespace[key] = blockers[id(value)]
        yield
    finally:
        for namespace, key, value in reversed(replaced):
            namespace[key] = value


def call(function: Callable, *args, unavailable: Sequence[Callable] = (), instead: str = "",
         raised: str | None = None, hint: str | None = None, hints: Mapping[str, str] | None = None, **kwargs):
    """``function(*args, **kwargs)``, the learner's function, run inside ``learner_code`` (with ``raised``,
    ``hint`` and ``hints``).

    ``unavailable`` helpers are switched off meanwhile (``helpers_unavailable``, also in the
    function's own globals); ``instead`` says what to use in their place.
    """
    namespaces = [function.__globals__] if hasattr(function, "__globals__") else []
    with helpers_unavailable(unavailable, instead, namespaces), learner_code(function, raised, hint, hints):
        return function(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# the answer and the reference


def expect_tensor(value, name: str, shape: Sequence[int] | None = None,
                  dtype: torch.dtype | None = None) -> torch.Tensor:
    """Check ``value`` is a tensor (of ``shape``/``dtype``, if given) without NaN; return it detached, on the CPU."""
    if value is None:
        raise ExerciseError(f"{name} is None. Did you forget to `return` it, or to replace the "
                            "`raise NotImplementedError`?")
    expect(isinstance(value, torch.Tensor), f"{name} should be a torch.Tensor, but it is a {type(value).__name__}.")
    if shape is not None:
        expect(tuple(value.shape) == tuple(shape),
               f"{name} should have shape {tuple(shape)}, but it has shape {tuple(value.shape)}.",
               "check which dimension you reduced over, and whether you kept the batch dimension")
    if dtype is not None:
        expect(value.dtype == dtype, f"{name} should have dtype {dtype}, but it has dtype {value.dtype}.",
               "keep the input's dtype: do not convert it (e.g. with .double() or torch.tensor(..., dtype=...))")
    value = value.detach().cpu()
    if value.is_floating_point():
        expect(bool(torch.isfinite(value).all()), f"{name} contains NaN or infinite values.")
    return value


def difference(got: torch.Tensor, expected: torch.Tensor, name: str = "your answer",
               reference: str = "the expected answer", *, rtol: float = 1e-5, atol: float = 1e-8,
               scale: bool = False) -> str | None:
    """None if ``got`` matches ``expected``, else what differs, in words: the shape or the values.

    Values match as in ``torch.allclose(got, expected, rtol, atol)``, compared in float64 on the
    CPU; ``scale=True`` makes ``atol`` relative to the largest |expected| value.
    """
    if tuple(got.shape) != tuple(expected.shape):
        return f"{name} has shape {tuple(got.shape)}, {reference} has shape {tuple(expected.shape)}."
    got, expected = got.detach().cpu().double(), expected.detach().cpu().double()
    if scale and expected.numel():
        atol *= expected.abs().max().item() or 1.0
    if torch.allclose(got, expected, rtol=rtol, atol=atol):
        return None
    excess = (got - expected).abs() - rtol * expected.abs()
    where = tuple(int(i) for i in torch.unravel_index(excess.argmax(), excess.shape)) if excess.ndim else ()
    return (f"{name} differs from {reference} by up to {(got - expected).abs().max().item():.3g} "
            f"(at index {where}: {got[where].item():.4g} instead of {expected[where].item():.4g}).")


def close(got: torch.Tensor, expected: torch.Tensor, *, rtol: float = 1e-5, atol: float = 1e-8,
          scale: bool = False) -> bool:
    """Whether ``got`` has ``expected``'s shape and values (see ``difference``)."""
    return difference(got, expected, rtol=rtol, atol=atol, scale=scale) is None


class Mistake(NamedTuple):
    """A typical mistake: ``answer()`` computes what it returns (only when needed); ``what`` went wrong; a hint."""

    answer: Callable[[], torch.Tensor]
    what: str
    hint: str | None = None


def diagnose(got: torch.Tensor, mistakes: Iterable[Mistake],
             same: Callable[[torch.Tensor, torch.Tensor], bool] = close, context: str = "") -> None:
    """Raise ``ExerciseError(context + what + hint)`` for the first of ``mistakes`` whose answer is ``same`` as
    ``got``; return if there is none."""
    for mistake in mistakes:
        if same(got, mistake.answer()):
            raise ExerciseError(context + mistake.what + _hint(mistake.hint))


def expect_match(got: torch.Tensor, expected: torch.Tensor, name: str = "your answer", *,
                 reference: str = "the expected answer", mistakes: Iterable[Mistake] = (),
                 same: Callable[[torch.Tensor, torch.Tensor], bool] | None = None, context: str = "",
                 message: str | None = None, hint: str | None = None, **tolerances) -> None:
    """Return if ``got`` matches ``expected``; otherwise raise an ``ExerciseError``.

    It names the first of ``mistakes`` that ``got`` matches (``diagnose``, its message prefixed
    by ``context``), or else says ``message`` (default: what differs, from ``difference``) and
    ``hint``. ``same(got, answer)`` decides what matches (default: ``close`` with ``tolerances``).
    """
    same = same or (lambda a, b: close(a, b, **tolerances))
    if same(got, expected):
        return
    diagnose(got, mistakes, same, context)
    message = message or difference(got, expected, name, reference, **tolerances) or f"{name} differs from {reference}."
    raise ExerciseError(message + _hint(hint))


__all__ = ["ExerciseError", "HelperUnavailable", "Mistake", "NotDoneYet", "call", "close", "diagnose", "difference", "expect",
           "expect_match", "expect_tensor", "helpers_unavailable", "learner_code", "passed"]

"""Check functions for the notebooks' exercises: friendly feedback instead of a bare AssertionError.

Each notebook's checks live in a module of this package (e.g. ``helpers.exercises.linear_models``).
A check (decorated with ``check``) prints one line starting with ✓ when the answer is right, and otherwise raises
``ExerciseError``: what was expected, what was found, and a hint. In Jupyter the error shows
as that message alone, without a traceback. Whatever a check writes to stderr goes to stdout (nbgrader
gives a grade cell with output on stderr no points).

The grading steps every check is built from:

* ``call(function, *args, unavailable=...)`` runs the learner's function (``learner_code`` is the same as a
  ``with`` block): a left-in ``raise NotImplementedError`` becomes ``NotDoneYet``, any other
  error an ``ExerciseError`` that shows it and the learner's line it came from. Meanwhile a profiler
  refuses (``HelperUnavailable``) every call into the functions and packages listed in ``unavailable``
  (the helpers and the library that would do the exercise) and into the checks' own code: by code, not
  by name, so a clone, a reload or a copy that still calls the course's code is refused too;
* ``expect_tensor`` checks the answer's type, shape, dtype and finiteness;
* ``close``/``difference`` compare it with the reference (``torch.allclose`` tolerances, in
  float64), ``difference`` saying in words what differs; a check makes its reference only after the
  learner's function has returned, so none is on the stack for it to find;
* ``diagnose`` tries typical mistakes (``Mistake``: a function computing what the mistake returns,
  what went wrong, a hint) and names the first one the answer matches;
* ``expect_match`` chains the last two: the reference, then the mistakes, then a message.

Which exercise switches off what, and what a check cannot protect against (the learner's code runs
in the same Python process: a copy of the course's code written out as the learner's own, or code
that rebinds torch or the helpers a check relies on, is not caught), is in INSTRUCTOR_GUIDE.md,
"Grading with nbgrader"; tests/test_exercise_integrity.py and tests/test_nbgrader.py show it.
"""
from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import sys
import sysconfig
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from types import CodeType
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


def check(function: Callable) -> Callable:
    """Decorate a check: whatever it writes to stderr (its own warnings and progress bars, and the learner's code's)
    goes to stdout, since nbgrader gives a grade cell with any output on stderr no points."""
    @functools.wraps(function)
    def checked(*args, **kwargs):
        with redirect_stderr(sys.stdout):
            return function(*args, **kwargs)

    return checked


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
    Whatever the code writes to stderr (warnings, progress bars) goes to stdout, as in ``check``.
    """
    who = who if isinstance(who, str) else _who(who)
    try:
        with redirect_stderr(sys.stdout):
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
    """The learner's code called code the exercise switches off: a helper that would do it, or the check's own."""


#: the course's code, and this package's: its functions and methods are the checks' own code
_COURSE, _GRADING = str(Path(__file__).parents[1]), str(Path(__file__).parent)


def _checks_own_code() -> set[CodeType]:
    """The code of every function and method defined in this package, but the methods of the checks' own networks
    (``nn.Module`` subclasses), which the learner's function runs. Code compares by value, so a copy of the package
    (a reload, or the fresh import of nbgrader's hidden tests) has the same code."""
    codes = set()
    for name, module in list(sys.modules.items()):
        if module is None or not (name == __name__ or name.startswith(__name__ + ".")):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, type) and not issubclass(value, torch.nn.Module):
                codes.update(_code(f) for f in vars(value).values() if callable(f))
            elif callable(value):
                codes.add(_code(value))
    return {code for code in codes if code is not None and code.co_filename.startswith(_GRADING)}


def _code(function) -> CodeType | None:
    """The code a function (or a decorated one: ``functools.wraps``, ``torch.no_grad``, ``contextmanager``) runs."""
    return getattr(inspect.unwrap(function), "__code__", None)


def _installed(package: str) -> str | None:
    """The folder of an installed package (or a module's file), found without importing it; None if not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None:
        return None
    return os.path.join(spec.submodule_search_locations[0], "") if spec.submodule_search_locations else spec.origin


def _public_name(frame) -> str:
    """The name of the function running in ``frame`` by the shortest import path that reaches it
    (``helpers.saliency_map``, not ``helpers.attribution.gradients.saliency_map``); a class for its ``__init__``."""
    code = frame.f_code
    qualname = getattr(code, "co_qualname", code.co_name).removesuffix(".__init__")
    module = frame.f_globals.get("__name__", "?")
    owner = qualname.split(".")[0]
    defined = getattr(sys.modules.get(module), owner, None)
    parts = module.split(".")
    for i in range(1, len(parts)):
        prefix = ".".join(parts[:i])
        if defined is not None and getattr(sys.modules.get(prefix), owner, None) is defined:
            return f"{prefix}.{qualname}"
    return f"{module}.{qualname}"


def _refusal(frame, runner, folders: tuple[str, ...], own: bool, instead: str) -> str:
    """What to tell the learner whose code reached switched-off code in ``frame``: named by what the learner's code
    called, the outermost function of the course or of a switched-off package (``folders``) that led to ``frame``
    (below ``runner``)."""
    called = frame
    while (called.f_back is not None and called.f_back is not runner
           and called.f_back.f_code.co_filename.startswith((_COURSE, *folders))):
        called = called.f_back
    name = _public_name(called)
    if own:
        return f"`{name}` is the check's own code: it is switched off while your function runs." + _hint(instead)
    return f"`{name}` is switched off in this exercise." + _hint(instead)


def _watched(function: Callable, args, kwargs, unavailable: Sequence[Callable | str], instead: str):
    """``function(*args, **kwargs)`` while a profiler (``sys.setprofile``) watches every Python function it calls.

    The first call into switched-off code raises ``HelperUnavailable``, and so does the end of the call, even if the
    learner's code caught the first: the code of the functions in ``unavailable`` (compared by value, so clones,
    reloads and copies compiled from the same file count), a call into a package named in ``unavailable`` (e.g.
    ``"captum"``; importing it is fine: its modules run, and call the package itself), and the checks' own code
    (``_checks_own_code``); also in the threads the function starts. A function that switches the profiler off
    fails too.
    """
    codes = {_code(f) for f in unavailable if not isinstance(f, str)} - {None}
    own = _checks_own_code()
    folders = tuple(filter(None, (_installed(p) for p in unavailable if isinstance(p, str))))
    names = {code.co_name for code in codes | own}
    runner = sys._getframe()
    refused: list[str] = []
    watching = [True]  # threads the learner's function starts keep the profiler: it stops refusing at the end

    def watch(frame, event, _arg):
        if event != "call" or not watching:
            return
        code = frame.f_code
        blocked = code.co_name in names and (code in codes or code in own)
        caller = frame.f_back
        into_package = (bool(folders) and code.co_filename.startswith(folders) and code.co_name != "<module>"
                        and not (caller and caller.f_code.co_filename.startswith(folders)))  # not its own calls
        if blocked or into_package:
            refused.append(_refusal(frame, runner, folders, code in own, instead))
            raise HelperUnavailable(refused[0])  # this also ends the profiling; ``refused`` remembers

    previous, previous_in_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(watch)
    threading.setprofile(watch)  # also in the threads the learner's function starts
    try:
        return function(*args, **kwargs)
    finally:
        still_watched = sys.getprofile() is watch
        watching.clear()
        sys.setprofile(previous)
        threading.setprofile(previous_in_threads)
        if refused:
            raise HelperUnavailable(refused[0]) from None
        if not still_watched:
            raise ExerciseError("your function switched off the check's watch on the code it calls (sys.setprofile).")


def call(function: Callable, *args, unavailable: Sequence[Callable | str] = (), instead: str = "",
         raised: str | None = None, hint: str | None = None, hints: Mapping[str, str] | None = None, **kwargs):
    """``function(*args, **kwargs)``, the learner's function, run inside ``learner_code`` (with ``raised``,
    ``hint`` and ``hints``).

    Meanwhile the ``unavailable`` helpers (functions, or packages by name, e.g. ``"captum"``) and the checks' own code
    are switched off (``_watched``); ``instead`` says what to use in their place.
    """
    with learner_code(function, raised, hint, hints):
        return _watched(function, args, kwargs, unavailable, instead)


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


__all__ = ["ExerciseError", "HelperUnavailable", "Mistake", "NotDoneYet", "call", "check", "close", "diagnose",
           "difference", "expect", "expect_match", "expect_tensor", "learner_code", "passed"]

"""The class model explorer: pick a class, the objective, λ and the number of steps, press *Run*."""
from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torch import nn

from .._checks import check_model, check_positive_int
from ..ascent import resolve_settings
from ..class_model import class_model_visualization
from ..model_state import checked_scores, frozen_eval, model_input
from ..objectives import OBJECTIVES
from ..plotting import to_numpy_image
from ._common import StatusMixin, checked_class_names, png

#: the choices of λ (the L2 penalty's weight) offered by the class model explorer
L2_CHOICES = (0.0, 1e-4, 1e-3, 1e-2, 1e-1)


class ClassModelExplorer(StatusMixin, widgets.VBox):
    """Pick a class, an objective, λ and the number of steps; *Run* (see ``class_model_explorer``).

    Controls: ``target`` (values are class indices), ``objective``, ``l2`` (λ), ``steps`` and
    ``run_button``; ``progress_area`` shows a progress bar while a run started by the button goes on.
    Shown: ``view`` (the figure as a PNG) and ``status``. Kept: ``figure``, ``result`` (the
    ``ClassModelResult`` of the last run), ``message``, ``is_error``, ``runs`` (how many runs finished).
    """

    def __init__(self, model: nn.Module, class_names, *, steps: int, objective: str, l2: float, options: dict,
                 figure_width: float, progress: bool):
        self.model = model
        self.options = dict(options)
        self.figure_width = figure_width
        self.show_progress = progress
        self.figure: Figure | None = None
        self.result = None
        self.runs = 0
        shape = self.options.get("image_shape") or getattr(model, "image_shape", (3, 64, 64))
        probe = model_input(model, torch.full((1, *shape), 0.5))
        with frozen_eval(model), torch.no_grad():
            num_classes = checked_scores(model, probe, "image_shape").shape[1]
        self.class_names = checked_class_names(class_names, num_classes)
        style = {"description_width": "72px"}
        self.target = widgets.Dropdown(options=[(name, k) for k, name in enumerate(self.class_names)], value=0,
                                       description="class", style=style)
        self.objective = widgets.ToggleButtons(options=list(OBJECTIVES), value=objective,
                                               tooltips=["the class score S_c", "the probability P_c",
                                                         "the log-probability log P_c"],
                                               style={"button_width": "100px"})
        self.l2 = widgets.SelectionSlider(options=[(f"{value:g}", value) for value in L2_CHOICES], value=l2,
                                          description="λ (L2)", style=style, continuous_update=False)
        self.steps = widgets.IntSlider(value=steps, min=min(5, steps), max=max(400, steps), step=5, description="steps",
                                       style=style, continuous_update=False)
        self.run_button = widgets.Button(description="Run", icon="play", button_style="primary",
                                         tooltip="run gradient ascent with these settings")
        self.progress_area = widgets.Output()
        self.view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.status = widgets.HTML()
        super().__init__(children=[
            widgets.HBox([self.target, self.run_button]),
            widgets.HBox([widgets.Label("objective", layout=widgets.Layout(width="72px")), self.objective]),
            widgets.HBox([self.l2, self.steps]),
            self.progress_area,
            self.view,
            self.status,
        ])
        self.add_class("course-class-model-explorer")
        self.run_button.on_click(self._on_click)

    def __repr__(self) -> str:
        return (f"ClassModelExplorer(class={self.class_names[self.target.value]!r}, objective={self.objective.value!r}, "
                f"l2={self.l2.value:g}, steps={self.steps.value})")

    def run(self, progress: bool = False) -> None:
        """One run with the current settings; afterwards ``result``, ``figure`` and the view show it.

        ``progress`` shows tqdm's bar in ``progress_area`` (the *Run* button asks for it; runs from
        code do not, so a notebook's text output stays the same from run to run).
        """
        target, objective, l2, steps = self.target.value, self.objective.value, self.l2.value, self.steps.value
        name = self.class_names[target]
        self._say(f"running {steps} steps of gradient ascent for '{name}'…")
        self.run_button.disabled = True
        try:
            if progress:
                self.progress_area.clear_output()
                with self.progress_area:
                    result = class_model_visualization(self.model, target, objective, steps=steps, l2=l2,
                                                       progress=True, **self.options)
            else:
                result = class_model_visualization(self.model, target, objective, steps=steps, l2=l2,
                                                   progress=False, **self.options)
        except (ValueError, TypeError, RuntimeError) as err:
            self._say(f"the run failed: {err}", error=True)
            return
        finally:
            if progress:
                self.progress_area.clear_output()  # the bar goes, also after a failed run
            self.run_button.disabled = False
        self.result = result
        self.figure = self._draw(result, name, objective, l2, steps)
        self.view.value = png(self.figure)
        self.runs += 1
        self._say(f"'{name}' by {objective} ascent (λ = {l2:g}, {steps} steps): final score "
                  f"{float(result.score[0]):.1f}, probability {float(result.probability[0]):.2f}.")

    def _draw(self, result, name, objective, l2, steps) -> Figure:
        figure = Figure(figsize=(self.figure_width, self.figure_width * 0.34), dpi=90)
        axes = figure.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1.3, 1.3]})
        axes[0].imshow(to_numpy_image(result.image.detach().cpu()))
        axes[0].set_title(f"'{name}': {objective}\nλ = {l2:g}, {steps} steps", fontsize=9)
        axes[0].axis("off")
        history = {key: value[:, 0].detach().float().cpu().numpy() for key, value in result.history.items()}
        axes[1].plot(history["score"], label=f"S('{name}')")
        axes[1].plot(history["other_score"], label="mean of the others")
        axes[1].set_title("class scores", fontsize=9)
        axes[1].set_xlabel("step", fontsize=8)
        axes[1].legend(fontsize=7)
        axes[2].plot(history["probability"], color="C2")
        axes[2].set_ylim(-0.02, 1.02)
        axes[2].set_title(f"P('{name}')", fontsize=9)
        axes[2].set_xlabel("step", fontsize=8)
        for ax in axes[1:]:
            ax.tick_params(labelsize=7)
        figure.tight_layout()
        return figure

    def _on_click(self, _button=None) -> None:
        self._safely(lambda: self.run(progress=self.show_progress))


def class_model_explorer(model: nn.Module, class_names: Sequence[str], *, steps: int = 60, objective: str = "score",
                         l2: float = 1e-3, run: bool = True, progress: bool = True, figure_width: float = 8.4,
                         **options) -> ClassModelExplorer:
    """A widget to run class model visualization: pick class, objective, λ and steps, then press *Run*.

    model, class_names: the classifier and one name per class.
    steps, objective, l2: the controls' starting values (``l2`` one of ``L2_CHOICES``).
    run: make the first picture right away (with the starting values, class 0).
    progress: show a progress bar for runs started by the *Run* button.
    options: passed on to ``class_model_visualization`` (``settings``, an ``AscentSettings``, and any of
        its fields by name: ``lr``, ``jitter``, ``blur_every``, ``image_shape``, ``seed``, ...). They are
        checked here, when the explorer is made: a name that is not a setting is a ``TypeError`` naming
        it, a bad value a ``ValueError`` (not a failed run later).

    Press *Run* or call ``explorer.run()``; ``explorer.result`` is the ``ClassModelResult``.
    """
    check_model(model)
    check_positive_int(steps, "steps")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: expected one of {', '.join(map(repr, OBJECTIVES))}, got {objective!r}")
    if l2 not in L2_CHOICES:
        raise ValueError(f"l2: expected one of {L2_CHOICES}, got {l2!r}")
    fixed = {"target", "objective", "steps", "l2", "progress"} & set(options)
    if fixed:
        raise TypeError(f"options: {sorted(fixed)} are set by the explorer's controls, not as options")
    given = {name: value for name, value in options.items() if name != "settings"}
    resolve_settings(options.get("settings"), {**given, "steps": steps, "l2": l2})  # raises on a bad name or value
    explorer = ClassModelExplorer(model, class_names, steps=steps, objective=objective, l2=l2, options=options,
                                  figure_width=figure_width, progress=progress)
    if run:
        explorer.run()
    return explorer

"""The report's figures in page order, each drawn once and encoded once: its bytes go both into the page and into
``figures/``; the figures of several inputs are drawn by matplotlib in forked processes.

    >>> drawn = draw_figures(frames, analysis)   # name -> (SVG or PNG bytes, caption)
"""

from __future__ import annotations

import io
from typing import Any, Callable

import numpy as np

from sweeps import space as space_vocabulary
from sweeps.analysis.explain import frames as explanation_frames
from sweeps.report import plots
from sweeps.report.svg import (ablation_path_svg, escape_heatmaps_svg, function_space_svg, history_svg, importance_svg,
                               learning_curves_svg, mode_gallery_svg, mode_map_svg)
from sweeps.results import frames as tidy

def _labels(space: dict[str, Any]) -> dict[str, str]:
    """Axis labels: the space's title of each parameter, and its bins where searched on a log scale."""
    return {p: space_vocabulary.title(p) + (" (decade bins)" if getattr(d, "log", False) else "") for p, d in space.items()}


def references(h: dict[str, Any]) -> dict[str, float | None]:
    """The reference values a headline ``h`` knows, by the name a figure's line gets (None where unknown)."""
    return {"constant predictor": 1.0, "best straight line": h["line_value"], noise_name(h): h["noise_value"]}


def noise_name(h: dict[str, Any]) -> str:
    """"noise floor", or "estimated noise floor" when the study does not know its noise (the diagnosis estimated it)."""
    return "estimated noise floor" if h.get("noise_estimated") else "noise floor"


def _modes_by_setting(f: tidy.Frames, plots):
    return mode_map_svg(f.levers), (
        "How each setting's trials ended. Bars stack the failure modes, escaped (fit, green) first; numbers give "
        "the trials with that setting and the share that escaped. Numbers are put in bins (log-scale decades "
        "where the sweep searched them on a log scale). " + _basis(f.headline["levers_on"]))


def _basis(n: int) -> str:
    """What the shares were computed on: the ``n`` exploration trials, or every trial when there are none."""
    return (f"Computed on the {n} exploration trials, drawn at random before the sampler's model chose any: unbiased "
            "shares, if rough ones." if n else "Computed on every trial, as the sampler chose them: it tries promising "
            "settings more often, so a share is biased and a rarely-tried value's share rough.")


def _escape_lr_init_scale(f: tidy.Frames, plots):
    if not {"lr", "init_scale"} <= set(f.settings):
        return None
    col = "x_scaling" if "x_scaling" in f.settings else None
    labels = _labels(f.space)
    return escape_heatmaps_svg(f.settings, "lr", "init_scale", col, xlabel=labels["lr"],
                               ylabel=labels["init_scale"]), (
        "Share of trials that escaped the linear fit, by learning rate and initial weight scale"
        + (", one panel per input scaling." if col else ".") + " Each cell: the share, and its trials; grey: none. "
        "Every trial counts, as the sampler chose them (so the shares lean to what it found promising).")


def _escape_width_depth(f: tidy.Frames, plots):
    if not {"width", "depth"} <= set(f.settings):
        return None
    labels = _labels(f.space)
    return (escape_heatmaps_svg(f.settings, "width", "depth", None, xlabel=labels["width"], ylabel=labels["depth"]),
            "Share of trials that escaped, by network width and depth; every trial counts, as the sampler chose them.")


def _importance(f: tidy.Frames, plots):
    if not f.importances["importance"].notna().any():
        return None
    return importance_svg(f.importances), (
        "Optuna's PED-ANOVA importance: how differently the good trials are spread over a setting's values than "
        "all the trials the sampler drew, normalised to sum 1. Left: good = the best tenth of values; right: good "
        "= escaped (mode fit). It is conditional on what the sampler chose to try: a setting the sampler kept at "
        "one value in most trials has no contrast to measure, and is marked so rather than given a number; it "
        "says nothing about what that setting would do if changed (n/a: too few trials, or all or none escaped).")


def _first_slice(f: tidy.Frames):
    """The grid predictions along input 1 (for d > 1: the other inputs at their medians)."""
    return f.predictions[f.predictions["feature"] == 0]


def _several(f: tidy.Frames) -> bool:
    """Whether the study has d > 1 inputs and its held-out rows are known: no single curve shows a fit then."""
    return f.headline["features"] > 1 and f.held_out is not None and len(f.held_out) > 0


def _function_space(f: tidy.Frames, plots):
    if _several(f):
        return None
    known = f.headline["target_known"]
    return function_space_svg(_first_slice(f), f.data, number=f.headline["best_number"]), (
        ("The true function, the training data" if known else "The training data")
        + ", what the question's own config learns, and the best trial's fit.")


def _predicted_actual(f: tidy.Frames, plots):
    if not _several(f):
        return None
    n = f.held_out["row"].nunique()
    return plots.predicted_actual(f.held_out, number=f.headline["best_number"]).figure, (
        f"With {f.headline['features']} inputs no single curve shows a fit: here each of the {n} held-out "
        "(validation) rows, which no net trained on, is a point at its actual value and the net's prediction, for the "
        "best trial and for the question's own config. On the dashed diagonal a prediction is exact; a flat row of "
        "points is a constant prediction. Predictions beyond the plot are drawn at its edge.")


def _slices(f: tidy.Frames, plots):
    if not _several(f):
        return None
    near = tidy.slice_rows(f.data) if f.data is not None else None
    known = f.headline["target_known"]
    return plots.slices(f.predictions, near, number=f.headline["best_number"]), (
        "One slice per input: that input runs over its training range while the others sit at their training "
        "medians, and the lines are what the best trial's net and the question's config's net predict along it"
        + (" (black: the true function)" if known else "")
        + f". Grey dots: the {tidy.SLICE_SHARE:.0%} of training rows nearest the slice (in the other inputs, "
        "standardized); they scatter around the slice by what the other inputs add.")


def _gallery_by_mode(f: tidy.Frames, plots):
    if _several(f):
        return plots.held_out_gallery(f.held_out), (
            "What each failure mode looks like here: for each mode, the trial with the median value among that "
            "mode's trials, its held-out predictions against the actual values (dashed: exact).")
    return mode_gallery_svg(_first_slice(f), f.data), (
        "What each failure mode looks like here: for each mode, the trial with the median value among that mode's "
        "trials.")


def _learning_curves(f: tidy.Frames, plots):
    noise = ("the noise floor as estimated from the data (the study does not know its noise)"
             if f.headline.get("noise_estimated") else "the noise floor where the study knows it")
    return learning_curves_svg(f.curves, references(f.headline)), (
        "Validation loss during training for a sample of trials of each mode (log scale). Horizontal lines: a "
        f"constant prediction (1), the best straight line, and {noise}.")


def _history(f: tidy.Frames, plots):
    return history_svg(f.trials, references(f.headline), key=True), (
        "Every trial's value in the order the sampler tried them, coloured by mode, with the best so far.")


FIGURES: dict[str, Callable] = {
    "modes_by_setting": _modes_by_setting, "escape_lr_init_scale": _escape_lr_init_scale,
    "escape_width_depth": _escape_width_depth, "importance": _importance, "function_space": _function_space,
    "predicted_actual": _predicted_actual, "slices": _slices, "gallery_by_mode": _gallery_by_mode,
    "learning_curves": _learning_curves, "history": _history,
}
"""The page's figures in page order: name -> function(frames, plots) -> (SVG text or a matplotlib Figure,
caption), or None where the study does not search the parameters the figure needs."""


ABLATION_PATH = "ablation_path"
"""The name of the figure of the counterfactual analysis, after the others on the page."""
ABLATION_CAPTION = ("The ablation path: from the question's config (left), the one change that most improves the "
                    "median value at each step, to the target config (right); a dot per fresh seed, coloured by its "
                    "mode, the line joins the medians.")
MAX_DRAWING_PROCESSES = 3
"""More would not be faster on the drawing of a seed study's figures (benchmarks/README.md)."""


def draw_figures(frames: tidy.Frames, analysis: dict | None = None, processes: int | None = None) -> dict[str, tuple[bytes, str]]:
    """Each figure drawn once and encoded once: name -> (PNG or SVG bytes, caption), in page order, and the ablation path
    of ``analysis`` (a stored counterfactual analysis) last.

    The SVG figures are written here; those matplotlib draws (:func:`drawn_by_matplotlib`) are drawn in
    ``processes`` processes where there are several of them, each figure drawn whole by one, so the bytes are
    the same however many; default :func:`drawing_processes`. A figure is let go as soon as it is encoded.
    """
    names = [*FIGURES, *([ABLATION_PATH] if analysis is not None else [])]
    heavy = [name for name in names if drawn_by_matplotlib(name, frames)]
    processes = min(drawing_processes() if processes is None else processes, len(heavy))
    undrawn = object()
    drawn = dict.fromkeys(names, undrawn)
    if processes > 1:
        import gc
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool



        plots.prepare()
        gc.freeze()  # the children's collections then leave the inherited objects' pages unwritten, so uncopied
        try:  # forked: the children have this process's imports and frames, nothing is pickled but the figures' bytes
            with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                     initializer=_hold, initargs=(frames, analysis)) as pool:
                try:
                    drawn |= zip(heavy, pool.map(_draw_held, heavy))
                except BaseException:  # e.g. a live page cut short: the figures not yet begun are not drawn
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
        except (BrokenProcessPool, OSError):  # a child killed, or no fork to be had: drawn here instead
            pass
        finally:
            gc.unfreeze()
    for name in names:
        if drawn[name] is undrawn:
            drawn[name] = draw_figure(name, frames, analysis)
    return {name: d for name, d in drawn.items() if d is not None}


def drawn_by_matplotlib(name: str, frames: tidy.Frames) -> bool:
    """Whether figure ``name`` is drawn by matplotlib (a PNG) rather than written as SVG: the figures of
    studies with d > 1 inputs, which show held-out rows and slices."""
    return _several(frames) and name in ("predicted_actual", "slices", "gallery_by_mode")


def drawing_processes() -> int:
    """The processes :func:`draw_figures` draws in by default: one a core (at most MAX_DRAWING_PROCESSES) where this
    process may fork, which is on Linux with no other thread running (a thread's locks would stay held in
    a child); else 1."""
    import os
    import sys
    import threading

    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DRAWING_PROCESSES))


def draw_figure(name: str, frames: tidy.Frames, analysis: dict | None = None) -> tuple[bytes, str] | None:
    """Figure ``name`` (of FIGURES, or ABLATION_PATH) drawn and encoded: (PNG or SVG bytes, caption), or None where
    the study does not search the parameters it needs. A figure function returns a matplotlib Figure, or SVG
    text (:mod:`sweeps.report.svg`: those drawn without matplotlib)."""
    if name == ABLATION_PATH:
        return ablation_path_svg(explanation_frames(analysis).path_runs).encode(), ABLATION_CAPTION
    drawn = FIGURES[name](frames, plots)
    if drawn is None:
        return None
    figure, caption = drawn
    return (figure.encode() if isinstance(figure, str) else png_bytes(figure)), caption


def figure_format(data: bytes) -> str:
    """"svg" or "png": the format of a figure's bytes, and the extension of its file in ``figures/``."""
    return "svg" if data.startswith(b"<svg") else "png"


_held: tuple = ()
"""A drawing process's (frames, analysis), set once when it starts (:func:`_hold`)."""


def _hold(frames: tidy.Frames, analysis: dict | None) -> None:
    global _held
    _held = (frames, analysis)


def _draw_held(name: str) -> tuple[bytes, str] | None:
    return draw_figure(name, *_held)


def png_bytes(fig) -> bytes:
    """The figure as PNG, drawn once.

    ``savefig`` draws a figure with a layout engine twice (once to lay it out, once to render);
    one ``canvas.draw()`` runs the constrained layout and renders, and its pixels are encoded as they are.
    """
    from matplotlib.image import imsave

    fig.canvas.draw()
    buf = io.BytesIO()
    imsave(buf, np.asarray(fig.canvas.buffer_rgba()), format="png", dpi=fig.dpi)
    return buf.getvalue()

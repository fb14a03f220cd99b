"""The report's figures in page order, each drawn once (:mod:`sweeps.report.figures`) and written
once as SVG by matplotlib, text kept as text, with a tooltip on each dot, bar and cell: the same
bytes go into the page and into ``figures/``. Several figures are drawn in forked processes, side by
side.

    >>> drawn = draw_figures(frames, analysis)   # name -> (SVG bytes, caption)
"""

from __future__ import annotations

import logging
import signal
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from sweeps import space as space_vocabulary
from sweeps.analysis.explain import frames as explanation_frames
from sweeps.report import figures, hover
from sweeps.report.layout import legend_width, place
from sweeps.report.style import theme
from sweeps.results import frames as tidy

logger = logging.getLogger(__name__)

SVG_RC = {"svg.fonttype": "none"}
"""Text stays text in the SVG: the browser sets it, it can be selected and searched, and the file is
small."""
WIDTH = 12.0
"""The widest figure, in inches: 1152 CSS pixels (96 an inch), within the page's 1180-pixel column,
so its text shows at the size it was laid out for."""


def _labels(space: dict[str, Any]) -> dict[str, str]:
    """Axis labels: the space's title of each parameter, and its bins where searched on a log
    scale."""
    return {
        p: space_vocabulary.title(p) + (" (decade bins)" if getattr(d, "log", False) else "")
        for p, d in space.items()
    }


def references(h: dict[str, Any]) -> dict[str, float | None]:
    """The reference values a headline ``h`` knows, by the name a figure's line gets (None where
    unknown)."""
    return {
        "constant predictor": 1.0,
        "best straight line": h["line_value"],
        noise_name(h): h["noise_value"],
    }


def noise_name(h: dict[str, Any]) -> str:
    """ "noise floor", or "estimated noise floor" when the study does not know its noise (the
    diagnosis estimated it)."""
    return "estimated noise floor" if h.get("noise_estimated") else "noise floor"


def _axes(fig, width: float, height: float):
    """The one Axes of a page figure ``width`` x ``height`` inches."""
    fig.set_size_inches(width, height)
    return fig.add_subplot()


def _modes_by_setting(f: tidy.Frames, fig) -> str:
    figures.mode_map(f.tried, fig=fig)
    return (
        "How each setting's trials ended. Bars stack the failure modes, escaped (fit, green) "
        "first; numbers give the trials with that setting and the share that escaped. Numbers are "
        "put in bins (log-scale decades where the sweep searched them on a log scale). Computed on "
        f"every trial ({f.headline['trials']}), as the sampler chose them: it tries promising "
        "settings "
        "more often, so a share says what was tried alongside what, and a rarely tried value's "
        "share "
        "is rough."
    )


def _escape_lr_init_scale(f: tidy.Frames, fig) -> str | None:
    if not {"lr", "init_scale"} <= set(f.settings):
        return None
    col = "x_scaling" if "x_scaling" in f.settings else None
    labels = _labels(f.space)
    figures.escape_heatmaps(
        f.settings,
        "lr",
        "init_scale",
        col,
        fig=fig,
        xlabel=labels["lr"],
        ylabel=labels["init_scale"],
    )
    return (
        "Share of trials that escaped the linear fit, by learning rate and initial weight scale"
        + (", one panel per input scaling." if col else ".")
        + " Each cell: the share, and its trials; grey: none. Every trial counts, as the sampler "
        "chose them (so the shares lean to what it found promising)."
    )


def _escape_width_depth(f: tidy.Frames, fig) -> str | None:
    if not {"width", "depth"} <= set(f.settings):
        return None
    labels = _labels(f.space)
    figures.escape_heatmaps(
        f.settings, "width", "depth", None, fig=fig, xlabel=labels["width"], ylabel=labels["depth"]
    )
    return (
        "Share of trials that escaped, by network width and depth; every trial counts, as the "
        "sampler chose them."
    )


def _importance(f: tidy.Frames, fig) -> str | None:
    if not f.importances["importance"].notna().any():
        return None
    figures.importance_panels(f.importances, fig=fig)
    return (
        "Optuna's PED-ANOVA importance: how differently the good trials are spread over a "
        "setting's values than all the trials the sampler drew, normalised to sum 1. Left: good = "
        "the best tenth of values; right: good = escaped (mode fit). It is conditional on what the "
        "sampler chose to try: a setting the sampler kept at one value in most trials has no "
        "contrast to measure, and is marked so rather than given a number; it says nothing about "
        "what that setting would do if changed (n/a: too few trials, or all or none escaped)."
    )


def _first_slice(f: tidy.Frames):
    """The grid predictions along input 1 (for d > 1: the other inputs at their medians)."""
    return f.predictions[f.predictions["feature"] == 0]


def _several(f: tidy.Frames) -> bool:
    """Whether the study has d > 1 inputs and its held-out rows are known: no single curve shows a
    fit then."""
    return f.headline["features"] > 1 and f.held_out is not None and len(f.held_out) > 0


def _function_space(f: tidy.Frames, fig) -> str | None:
    if _several(f):
        return None
    ax = figures.function_space(
        _first_slice(f), f.data, ax=_axes(fig, 10.0, 4.2), number=f.headline["best_number"]
    )
    place(fig, ax)
    known = f.headline["target_known"]
    return (
        ("The true function, the training data" if known else "The training data")
        + f", what the question's own config learns{_run_of(f.headline, 'baseline_config')}, and "
        "the best "
        f"trial's fit{_run_of(f.headline, 'best_config')}."
    )


def _run_of(h: dict[str, Any], config: str) -> str:
    """Which training of a config (``h[config]``, the question's or the best trial's) a figure
    shows: `` (init seed 123, the median of its 3)``; empty when the config or its seed is not
    known."""
    seed = (h.get(config) or {}).get("seed")
    if seed is None:
        return ""
    repeats = h.get("repeats", 1)
    return f" (init seed {seed}" + (f", the median of its {repeats})" if repeats > 1 else ")")


def _each_trial(h: dict[str, Any]) -> str:
    """How a trial's line or value was chosen from its init seeds, for a caption."""
    repeats = h.get("repeats", 1)
    return (
        f" (each trial's median of its {repeats} init seeds)"
        if repeats > 1
        else " (one init seed a trial)"
    )


def _predicted_actual(f: tidy.Frames, fig) -> str | None:
    if not _several(f):
        return None
    place(
        fig,
        figures.predicted_actual(
            f.held_out, number=f.headline["best_number"], ax=_axes(fig, 6.0, 5.6)
        ),
    )
    n = f.held_out["row"].nunique()
    return (
        f"With {f.headline['features']} inputs no single curve shows a fit: here each of the {n} "
        "held-out (validation) rows, which no net trained on, is a point at its actual value and "
        "the net's prediction, for the best trial and for the question's own config. On the "
        "dashed diagonal a prediction is exact; a flat row of points is a constant prediction. "
        "Predictions beyond the plot are drawn at its edge."
    )


def _slices(f: tidy.Frames, fig) -> str | None:
    if not _several(f):
        return None
    near = tidy.slice_rows(f.data) if f.data is not None else None
    figures.slices(f.predictions, near, number=f.headline["best_number"], fig=fig)
    known = f.headline["target_known"]
    return (
        "One slice per input: that input runs over its training range while the others sit at "
        "their training medians, and the lines are what the best trial's net and the question's "
        "config's net predict along it"
        + (" (black: the true function)" if known else "")
        + f". Grey dots: the {tidy.SLICE_SHARE:.0%} of training rows nearest the slice (in the "
        "other "
        "inputs, standardized); they scatter around the slice by what the other inputs add."
    )


def _gallery_by_mode(f: tidy.Frames, fig) -> str:
    if _several(f):
        figures.held_out_gallery(f.held_out, fig=fig)
        return (
            "What each failure mode looks like here: for each mode, the trial with the median "
            "value among that mode's trials, its held-out predictions against the actual values "
            f"(dashed: exact){_each_trial(f.headline)}."
        )
    figures.mode_gallery(_first_slice(f), f.data, fig=fig)
    return (
        "What each failure mode looks like here: for each mode, the trial with the median value "
        "among that mode's "
        "trials"
        + _each_trial(f.headline)
        + (", over the true function (black)" if f.headline["target_known"] else "")
        + (" and the training data (grey)." if f.data is not None else ".")
    )


def _learning_curves(f: tidy.Frames, fig) -> str:
    figures.learning_curves(f.curves, references(f.headline), fig=fig)
    noise = (
        "the noise floor as estimated from the data (the study does not know its noise)"
        if f.headline.get("noise_estimated")
        else "the noise floor where the study knows it"
    )
    return (
        "Validation loss during training for a sample of trials of each "
        f"mode{_each_trial(f.headline)} "
        "(log scale); a dot where each run "
        f"ended. Horizontal lines: a constant prediction (1), the best straight line, and {noise}."
    )


def _history(f: tidy.Frames, fig) -> str:
    history_figure(f.trials, f.headline, fig=fig)
    return (
        f"Every trial's value{_each_trial(f.headline)} in the order the sampler tried them, "
        "coloured by "
        "mode, with the best so far."
    )


def history_figure(trials, headline: dict[str, Any], total: int | None = None, fig=None):
    """The history of a sweep's values (:func:`sweeps.report.figures.history`) as the page and the
    running page show it, with the reference lines of its ``headline``, in ``fig``; returns the
    Axes."""
    ax = figures.history(trials, references(headline), total=total, ax=_axes(fig, WIDTH, 3.8))
    legend = ax.get_legend()  # right of the Axes, 0.01 of its width away
    texts = legend.get_texts()
    keys = legend_width([t.get_text() for t in texts], texts[0].get_fontsize())
    place(fig, ax, right=0.01 * WIDTH + keys)
    return ax


def _ablation_path(analysis: dict, fig) -> str:
    runs = explanation_frames(analysis).path_runs
    width = min(WIDTH, 4.0 + 0.75 * runs["step"].nunique())
    place(fig, figures.ablation_path(runs, ax=_axes(fig, width, 4.6)))
    return (
        "The ablation path: from the question's config (left), the one change that most improves "
        "the median value at each step, to your config, fixed (right); a dot per fresh init seed "
        f"({runs['repeat'].nunique()} of them, the analysis's own, the "
        "same for every step), coloured by its mode, the line joins the medians."
    )


FIGURES: dict[str, Callable] = {
    "modes_by_setting": _modes_by_setting,
    "escape_lr_init_scale": _escape_lr_init_scale,
    "escape_width_depth": _escape_width_depth,
    "importance": _importance,
    "function_space": _function_space,
    "predicted_actual": _predicted_actual,
    "slices": _slices,
    "gallery_by_mode": _gallery_by_mode,
    "learning_curves": _learning_curves,
    "history": _history,
}
"""The page's figures in page order: name -> function(frames, fig) that draws the figure into
``fig`` (a blank matplotlib Figure) and returns its caption, or None where the study lacks what the
figure needs."""

ABLATION_PATH = "ablation_path"
"""The name of the figure of the counterfactual analysis, after the others on the page."""
SLOWEST_FIRST = (
    "modes_by_setting",
    "gallery_by_mode",
    "learning_curves",
    "escape_lr_init_scale",
    "slices",
)
"""The figures that take longest to draw: handed out first, so that no process is left with one at
the end."""
MAX_DRAWING_PROCESSES = 3
"""More would not be faster on the drawing of a seed study's figures (benchmarks/README.md)."""


def draw_figures(
    frames: tidy.Frames, analysis: dict | None = None, processes: int | None = None
) -> dict[str, tuple[bytes, str]]:
    """Each figure drawn once and encoded once: name -> (SVG bytes, caption), in page order, and the
    ablation path of ``analysis`` (a stored counterfactual analysis) last.

    The figures are drawn in ``processes`` forked processes, each figure whole by one, so the bytes
    are the same however many; default :func:`drawing_processes`. A figure is let go as soon as it
    is encoded. :func:`begin_drawing` has them drawn by a helper process instead.
    """
    names = [*FIGURES, *([ABLATION_PATH] if analysis is not None else [])]
    prepare()
    processes = min(drawing_processes() if processes is None else processes, len(names))
    undrawn = object()
    drawn = dict.fromkeys(names, undrawn)
    if processes > 1:
        import gc
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        slowest = {name: i for i, name in enumerate(SLOWEST_FIRST)}
        order = sorted(names, key=lambda n: slowest.get(n, len(slowest)))
        # the children's collections then leave the inherited objects' pages unwritten, so uncopied
        gc.freeze()
        # forked: the children have this process's imports and frames; only figures' bytes come back
        try:
            with ProcessPoolExecutor(
                processes,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_hold,
                initargs=(frames, analysis),
            ) as pool:
                try:
                    drawn |= zip(order, pool.map(_draw_held, order))
                # e.g. a live page cut short: the figures not yet begun are not drawn
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
        # a child killed, or no fork to be had: drawn here instead
        except (BrokenProcessPool, OSError):
            pass
        finally:
            gc.unfreeze()
    for name in names:
        if drawn[name] is undrawn:
            drawn[name] = draw_figure(name, frames, analysis)
    return {name: d for name, d in drawn.items() if d is not None}


def begin_drawing(
    frames: tidy.Frames, analysis: dict | None = None, helper: DrawingHelper | None = None
) -> Callable[[], dict[str, tuple[bytes, str]]]:
    """:func:`draw_figures`, begun now: returns the function that returns what it returns. With a
    ``helper`` (:func:`early_drawing`), the helper draws while this process goes on (to the parts
    of the page that need no figure), and this process imports neither matplotlib nor seaborn;
    without one, or if it fails, they are drawn here when the function is called.

        >>> drawn = begin_drawing(frames, helper=helper)
        >>> ...                                      # the page's other parts
        >>> figures = drawn()
    """
    if helper is None:
        return lambda: draw_figures(frames, analysis)
    pending = helper.begin(frames, analysis, None)

    def result() -> dict[str, tuple[bytes, str]]:
        drawn = pending()
        return draw_figures(frames, analysis) if drawn is None else drawn

    return result


def prepare(own_process: bool = False) -> None:
    """Import what drawing needs, at once: a process does it before it forks processes to draw.
    Waits for :func:`prepare_in_background`'s thread, if one was started. ``own_process``: this
    process only draws the report's figures (the drawing helper, the running page's process), so
    seaborn comes without its optional scipy (:func:`_import_drawing`)."""
    global _preparing
    if _preparing is not None:
        _preparing.join()
        _preparing = None
    _import_drawing(own_process)


SCIPY_FOR_SEABORN = ("scipy.stats", "scipy.cluster")
"""What seaborn imports of scipy if it can, for its kernel density estimates and its clustering,
which no figure of the report draws: most of the time ``import seaborn`` takes."""


def _import_drawing(own_process: bool = False) -> None:
    """matplotlib's Figure and SVG backend, and seaborn; in a process of the report's own
    (``own_process``), seaborn without scipy (:data:`SCIPY_FOR_SEABORN`), an optional dependency
    of seaborn's, which then uses its own KDE and offers no clustering."""
    import sys

    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    hide = own_process and not any(name in sys.modules for name in ("seaborn", *SCIPY_FOR_SEABORN))
    if hide:  # None in sys.modules: importing the name raises ImportError, and seaborn goes without
        sys.modules.update(dict.fromkeys(SCIPY_FOR_SEABORN))
    try:
        import seaborn  # noqa: F401
    finally:
        # hidden only while seaborn is imported: a later import of scipy.stats finds it as usual
        for name in SCIPY_FOR_SEABORN if hide else ():
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


class DrawingHelper:
    """A process forked to draw figures (:func:`early_drawing`): it imports matplotlib and seaborn
    at once, then draws each (frames, analysis) it is sent with :func:`draw_figures`."""

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._connection, theirs = context.Pipe()
        # not daemonic: daemonic processes may not fork the processes that draw
        self._process = context.Process(
            target=_help, args=(theirs, self._connection), name="sweeps-drawing"
        )
        self._process.start()
        theirs.close()

    def draw(
        self, frames: tidy.Frames, analysis: dict | None, processes: int | None
    ) -> dict[str, tuple[bytes, str]] | None:
        """What :func:`draw_figures` returns, drawn by the helper; None if it failed (the caller
        draws them itself, and meets the failure there if it was the drawing's)."""
        try:
            self._connection.send((frames, analysis, processes))
            return self._connection.recv()
        except (EOFError, OSError):  # the helper died, or could not be sent the frames
            return None

    def begin(
        self, frames: tidy.Frames, analysis: dict | None, processes: int | None
    ) -> Callable[[], dict[str, tuple[bytes, str]] | None]:
        """:meth:`draw`, begun in a thread of this process, which goes on meanwhile (sending waits
        until the helper has imported what it draws with); returns the function that waits for what
        it returns."""
        import threading

        drawn: list = [None]

        def draw() -> None:
            drawn[0] = self.draw(frames, analysis, processes)

        # daemonic: a report ended by an error or a signal does not wait for it at exit (the helper
        # is ended with the report, which ends the wait for its answer)
        sender = threading.Thread(target=draw, name="sweeps-drawing-sender", daemon=True)
        sender.start()

        def result() -> dict[str, tuple[bytes, str]] | None:
            sender.join()
            return drawn[0]

        return result

    def close(self) -> None:
        """End the helper: at once if it is still importing or drawing (a report that failed)."""
        self._connection.close()
        self._process.join(timeout=1.0)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _help(connection, senders) -> None:
    """A :class:`DrawingHelper`'s process: import, then draw what it is sent until the sender
    closes, or ends (killed: its end of the pipe closes with it, as this process holds no copy)."""
    # it inherited the CLI's handlers, which raise: Ctrl-C is its parent's to say, and SIGTERM (its
    # parent ending it, at once, after bad input) ends it quietly
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    senders.close()
    _import_drawing(own_process=True)
    while True:
        try:
            frames, analysis, processes = connection.recv()
        except (EOFError, OSError):  # the sender closed, or is gone
            return
        try:
            drawn = draw_figures(frames, analysis, processes)
        except Exception:  # the sender draws it again, and reports the failure itself
            logger.debug("drawing in the helper failed", exc_info=True)
            drawn = None
        try:
            connection.send(drawn)
        except OSError:  # the sender is gone
            return


@contextmanager
def early_drawing() -> Iterator[DrawingHelper | None]:
    """A :class:`DrawingHelper` started now, for :func:`draw_figures`'s ``helper``: it imports
    matplotlib and seaborn on another core while this process reads a sweep and builds its frames.
    None where this process has them already, or may not fork (:func:`drawing_processes`); the
    helper is ended when the block ends.

        >>> with early_drawing() as helper:
        ...     drawn = draw_figures(tidy.build(study, definition), helper=helper)
    """
    import sys

    helper = None
    if "seaborn" not in sys.modules and _preparing is None and drawing_processes() > 1:
        try:
            helper = DrawingHelper()
        except OSError:  # no process to be had: drawn here
            helper = None
    try:
        yield helper
    finally:
        if helper is not None:
            helper.close()


_preparing = None
"""The thread of :func:`prepare_in_background`, until :func:`prepare` has waited for it."""


def prepare_in_background() -> None:
    """Start :func:`prepare`'s imports in a thread of this process, so that they overlap other work
    (in a run, the analysis, whose workers leave this process waiting); :func:`draw_figures` waits
    for it before it forks."""
    import sys
    import threading

    global _preparing
    if _preparing is None and "seaborn" not in sys.modules:
        _preparing = threading.Thread(target=_import_drawing, name="import-drawing", daemon=True)
        _preparing.start()


def drawing_processes() -> int:
    """The processes :func:`draw_figures` draws in by default: one a core (at most
    MAX_DRAWING_PROCESSES) where this process may fork, which is on Linux with no other thread
    running (a thread's locks would stay held in a child); else 1."""
    import os
    import sys
    import threading

    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DRAWING_PROCESSES))


def draw_figure(
    name: str, frames: tidy.Frames, analysis: dict | None = None
) -> tuple[bytes, str] | None:
    """Figure ``name`` (of FIGURES, or ABLATION_PATH) drawn and written: (SVG bytes, caption), or
    None where the study lacks what it needs."""
    from matplotlib.figure import Figure

    with theme(SVG_RC):
        fig = Figure()  # not pyplot's: the report leaves its figures alone; placed once, as drawn
        caption = (
            _ablation_path(analysis, fig) if name == ABLATION_PATH else FIGURES[name](frames, fig)
        )
        return None if caption is None else (hover.svg_bytes(fig, salt=name), caption)


def history_svg(trials, headline: dict[str, Any], total: int | None = None) -> bytes:
    """The history figure (:func:`history_figure`) as SVG bytes, as the running page inlines it."""
    from matplotlib.figure import Figure

    with theme(SVG_RC):
        fig = Figure()
        history_figure(trials, headline, total=total, fig=fig)
        return hover.svg_bytes(fig, salt="history")


_held: tuple = ()
"""A drawing process's (frames, analysis), set once when it starts (:func:`_hold`)."""


def _hold(frames: tidy.Frames, analysis: dict | None) -> None:
    global _held
    _held = (frames, analysis)
    # A drawing process only draws: Ctrl-C (sent to the whole group) is its parent's to say, and
    # SIGTERM ends it quietly (it inherited the parent's handlers, which raise)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _draw_held(name: str) -> tuple[bytes, str] | None:
    return draw_figure(name, *_held)

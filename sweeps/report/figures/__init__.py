"""The report's figures, each drawn once, with seaborn, from the tidy frames of
:mod:`sweeps.results.frames`: the page writes them as SVG and a notebook shows the same Figure.

    >>> import sweeps
    >>> from sweeps.results import frames
    >>> f = frames.build("sqrt")  # by name: its data and trial files (curves, predictions) come
    along
    >>> ax = sweeps.report.history(f.trials)    # one Axes: ``ax=`` in (default: the current one)
    >>> fig = sweeps.report.mode_map(f.levers)  # small multiples: ``fig=`` in (default: a new one)

As with seaborn's own functions, a figure of one Axes draws into ``ax`` and returns it, and one of
several panels draws into ``fig`` (cleared, and sized to its panels) and returns it; without them,
pyplot provides them, so that Jupyter shows the figure. seaborn's theme applies only while a
function draws (:func:`sweeps.report.style.theme`), and every mode has its colour
(:data:`~sweeps.report.style.MODE_PALETTE`). The dots, bars, cells and lines carry their numbers as
tooltips (:mod:`sweeps.report.hover`) for the page. matplotlib and seaborn are imported when a
figure is drawn, not with this package.

A module a family of figures: :mod:`~sweeps.report.figures.modes` (how each setting's trials
ended), :mod:`~sweeps.report.figures.escape` (the share that escaped per cell of two settings),
:mod:`~sweeps.report.figures.importance`, :mod:`~sweeps.report.figures.fits` (function space),
:mod:`~sweeps.report.figures.curves` (learning curves, the sweep's history),
:mod:`~sweeps.report.figures.counterfactual` (the ablation path) and
:mod:`~sweeps.report.figures.held_out` (studies of several inputs); what they share is in
:mod:`~sweeps.report.figures.parts`.
"""

from sweeps.report.figures.counterfactual import ablation_path
from sweeps.report.figures.curves import curve_picks, history, learning_curves
from sweeps.report.figures.escape import escape_cells, escape_heatmap, escape_heatmaps
from sweeps.report.figures.fits import best_number, function_space, mode_gallery, representatives
from sweeps.report.figures.held_out import held_out_gallery, predicted_actual, slices
from sweeps.report.figures.importance import importance_bars, importance_panels
from sweeps.report.figures.modes import mode_map, mode_shares, setting_rows

__all__ = [
    "ablation_path",
    "best_number",
    "curve_picks",
    "escape_cells",
    "escape_heatmap",
    "escape_heatmaps",
    "function_space",
    "held_out_gallery",
    "history",
    "importance_bars",
    "importance_panels",
    "learning_curves",
    "mode_gallery",
    "mode_map",
    "mode_shares",
    "predicted_actual",
    "representatives",
    "setting_rows",
    "slices",
]

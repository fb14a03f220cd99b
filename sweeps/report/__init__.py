"""The report: each figure drawn once with seaborn from the tidy frames
(:mod:`sweeps.report.figures`), the page that inlines them (:mod:`~sweeps.report.page`), the running
page (:mod:`~sweeps.report.live`) and the files.

    >>> import sweeps
    >>> from sweeps.results import frames
    >>> f = frames.build("sqrt")  # by name: its data and trial files (curves, predictions) come
    along
    >>> ax = sweeps.report.history(f.trials)       # the page's figures, for a notebook
    >>> palette = sweeps.report.MODE_PALETTE         # one colour per mode, for your own plots
    >>> sns.scatterplot(f.trials, x="params_lr", y="value", hue="mode", palette=palette)
"""

from sweeps.report.figures import (
    ablation_path,
    escape_heatmap,
    escape_heatmaps,
    function_space,
    held_out_gallery,
    history,
    importance_bars,
    importance_panels,
    learning_curves,
    mode_gallery,
    mode_map,
    mode_shares,
    predicted_actual,
    slices,
)
from sweeps.report.style import MODE_PALETTE

__all__ = [
    "MODE_PALETTE",
    "ablation_path",
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
    "slices",
]

"""Which settings matter: PED-ANOVA importances for the objective and for escaping, as bars
(:func:`importance_bars`), the two side by side on one order (:func:`importance_panels`)."""

from __future__ import annotations

import numpy as np

from sweeps.report.figures.parts import TITLE_Y, added, ax_or_current, panels, seaborn, themed
from sweeps.report.hover import titled
from sweeps.report.layout import overhang, place
from sweeps.report.style import IMPORTANCE_COLORS
from sweeps.results.frames import no_contrast_text

IMPORTANCE_TITLES = {
    "objective": "for the objective (best tenth of trials)",
    "escape": "for escaping (mode fit)",
}


def importance_labels(importances, target: str, order: list[str]):
    """One target's importances in ``order``: (values, which settings have no contrast, each bar's
    text: its value, "no contrast: the sampler chose ... in ...% of trials", or "n/a" where the
    target had no contrast at all)."""
    rows = importances[importances["target"] == target].set_index("param").reindex(order)
    values = rows["importance"].to_numpy(dtype=float)
    flat = (
        ~rows["contrast"].fillna(True).astype(bool).to_numpy()
        if "contrast" in rows
        else np.zeros(len(rows), bool)
    )
    texts = [
        no_contrast_text(row) if no else "n/a" if np.isnan(v) else f"{v:.2f}"
        for v, no, (_, row) in zip(values, flat, rows.iterrows())
    ]
    return values, flat, texts


def importance_order(importances) -> list[str]:
    """The settings by their two importances' sum, largest first: the one order of both panels."""
    by = {
        t: importances[importances["target"] == t].set_index("param")["importance"]
        for t in IMPORTANCE_TITLES
    }
    return list(
        (by["escape"].fillna(0) + by["objective"].fillna(0))
        .sort_values(ascending=False, kind="stable")
        .index
    )


@themed
def importance_bars(importances, target: str, ax=None, order: list[str] | None = None):
    """One target's PED-ANOVA importances as horizontal bars.

    Parameters
    ----------
    importances : :func:`sweeps.results.frames.importances_frame`.
    target : "objective" or "escape".
    ax : matplotlib Axes, optional. Default: pyplot's current Axes.
    order : the settings top to bottom; default by importance, largest first.

    Returns
    -------
    The Axes. A setting without contrast reads "no contrast: the sampler chose ... in ...% of
    trials" instead of a number; one whose target had no contrast at all reads "n/a".
    """
    import pandas as pd

    ax = ax_or_current(ax)
    if order is None:
        rows = importances[importances["target"] == target]
        order = list(rows.set_index("param")["importance"].sort_values(ascending=False).index)
    values, flat, texts = importance_labels(importances, target, order)
    shown = np.where(flat, 0.0, np.nan_to_num(values))
    # first: seaborn skips the ticks
    ax.set(xlabel="importance (PED-ANOVA, sums to 1)", ylabel="setting")
    before = len(ax.patches)
    seaborn().barplot(
        pd.DataFrame({"param": order, "importance": shown}),
        x="importance",
        y="param",
        order=order,
        color=IMPORTANCE_COLORS.get(target, "#555555"),
        saturation=1,
        errorbar=None,
        width=0.7,
        ax=ax,
    )
    for bar, param, text in zip(added(ax.patches, before), order, texts):
        titled(bar, f"{param}: {text}")
    for i, (v, no, text) in enumerate(zip(shown, flat, texts)):
        ax.text(
            v + 0.01,
            i,
            text,
            va="center",
            fontsize=8,
            color="#777777" if no else "#111111",
            style="italic" if no else "normal",
        )
    ax.set_xlim(0, max(0.1, float(np.nanmax(values, initial=0)) * 1.25))
    ax.set_ylabel("")
    ax.grid(axis="y", visible=False)
    return ax


@themed
def importance_panels(importances, fig=None):
    """Importances for the objective and for escaping, side by side, on one order of the settings.

    Parameters
    ----------
    importances : :func:`sweeps.results.frames.importances_frame`.
    fig : matplotlib Figure, optional, cleared and sized to the panels. Default: a new pyplot
        figure.

    Returns
    -------
    The Figure.
    """
    order = importance_order(importances)
    fig, axes = panels(fig, 11.5, 0.3 * len(order) + 1.3, ncols=2, sharey=True)
    for ax, (target, heading) in zip(axes, IMPORTANCE_TITLES.items()):
        importance_bars(importances, target, ax=ax, order=order)
        ax.set_title(heading, fontsize=10, y=TITLE_Y)
    # a bar's text may reach past its panel's right edge: room for it, then placed again
    place(fig, axes, right_each=overhang(axes, place(fig, axes)["panel_width"]))
    return fig

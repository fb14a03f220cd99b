"""Which settings escape, causally: the fixed config with one setting moved at a time, the learning
rate retuned.

The fixed config is the question's with the smallest fix applied. For every setting the fix may
change, each of its values is tried in the fixed config, everything else held, over the
learning-rate grid from the analysis's fresh seeds: one row per setting, one cell per value, and the
cell's escape rate at its best rate. What the sampler tried (the raw shares of the sweep) only says
what was tried alongside what; this says what a setting does.
"""

from __future__ import annotations

from typing import Any

from sweeps.analysis.evidence import show
from sweeps.analysis.fixes import Changes, Search
from sweeps.analysis.tuning import Tuner


def causal_map(tuner: Tuner, found: Search, fixed: Changes) -> list[dict[str, Any]]:
    """One row per setting (the candidates', in the space's order): each value's cell, the fixed
    config's own marked, as plain JSON. ``fixed``: the fix's changes (a set of ``found``)."""
    fixed_values = dict(found.params) | dict(fixed)
    values = {
        setting: found.values(setting)
        for setting in dict.fromkeys(c.setting for c in found.candidates)
    }
    cells: dict[tuple[str, int], Changes] = {}
    for setting, options in values.items():
        for i, value in enumerate(options):
            moved = tuple(p for p in fixed if p[0] != setting)
            if value != found.params[setting]:
                moved = found.sort((*moved, (setting, value)))
            cells[setting, i] = moved
    sets = list(dict.fromkeys(cells.values()))
    configs = {s: found.config(s) for s in sets}
    # from the fixed config's own rate outwards; an escaping rate with all its seeds: each cell's
    # escape rate
    completed = tuner.tune(configs, complete=True, center=found.tuned[fixed].middle_lr)
    rows = []
    for setting, options in values.items():
        row = []
        for i, value in enumerate(options):
            t = completed[cells[setting, i]]
            best = t.best
            row.append(
                {
                    "value": value,
                    "label": show(value, setting),
                    "fixed": value == fixed_values[setting],
                    "question": value == found.params[setting],
                    "escapes": t.escapes,
                    "escape_rate": best.escape_rate,
                    "fits": best.fits,
                    "seeds": best.n,
                    "best_lr": t.best_lr,
                    "lr_range": list(t.lr_range) if t.escapes else None,
                    "modes_text": best.modes_text(),
                }
            )
        rows.append({"setting": setting, "cells": row})
    return rows

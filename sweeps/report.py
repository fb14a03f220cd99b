"""Tidy pandas frames from a stored study (no drawing): one row per trial, flat columns."""

from __future__ import annotations

import optuna


def trials_frame(opt: optuna.Study):
    """One row per trial: number, state, value, ``params_*``, mode, escape rate, ``metrics_*``, timings.

    Curves and grid predictions are left out (see :func:`curves_frame`); every column is flat.
    """
    import pandas as pd

    rows = []
    for t in opt.get_trials(deepcopy=False):
        a = t.user_attrs
        row = {"number": t.number, "state": t.state.name, "value": t.value}
        row |= {f"params_{k}": v for k, v in t.params.items()}
        row |= {"mode": a.get("mode"), "escape_rate": a.get("escape_rate"), "train_mse": a.get("train_mse"),
                "val_mse": a.get("val_mse"), "approx_error": a.get("approx_error"), "steps_done": a.get("steps_done"),
                "stopped": a.get("stopped"), "seconds": a.get("seconds"), "backend": a.get("backend"),
                "error": a.get("error")}
        row |= {f"metrics_{k}": v for k, v in (a.get("metrics") or {}).items()}
        rows.append(row)
    return pd.DataFrame(rows)

"""What went wrong, in numbers and words: metrics, the failure mode, and hints.

Every fit ends in exactly one mode, decided on validation data in this order:

- ``diverged``:  training stopped on an exploding or non-finite loss, or predictions are not finite.
- ``collapsed``: the prediction is nearly constant (its spread is under COLLAPSED_SPREAD of the target's).
- ``fit``:       the prediction captures at least FIT_CAPTURED of the target's structure beyond a line.
- ``linear``:    the prediction is itself (nearly) a straight line, while the target is not.
- ``underfit``:  anything else: it bends, but not enough, or not where the target does.

"Structure beyond a line" is ``line_mse - noise_floor``: what the best least-squares line (for
d > 1 input features, the least-squares hyperplane) cannot explain, less what nothing can explain.
The noise floor is estimated from the data (see :func:`noise_floor`), so a target that is a line
up to noise counts as ``fit`` when fit by a line, and a noisy target is not held to an error below
its noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from mlpcore import activations

COLLAPSED_SPREAD = 0.1
"""A prediction whose standard deviation is below this fraction of the target's is "constant"."""

FIT_CAPTURED = 0.9
"""Share of the target's structure beyond a line (above noise) that a ``fit`` must capture."""

LINEAR_DEVIATION = 0.05
"""A prediction whose own deviation from its best line carries less than this fraction of the
target's structure beyond a line is a straight line for all a user can see."""

LINEAR_TARGET_SHARE = 0.01
"""A target whose structure beyond a line (above noise) is under this share of its variance is a line."""

FLAT_SLOPE = 0.05
"""A unit is flat on a point where its slope is below this fraction of the activation's peak slope."""

SATURATED_POINTS = 0.9
"""A unit flat on at least this share of points (but not all) is saturated; on all of them, dead."""

STALLED_DROP = 0.01
"""A training loss that fell by less than this fraction over the whole run did not learn."""

STILL_FALLING = 0.01
"""A loss that fell by more than this fraction over the last tenth of the run was still improving."""

SLOW_DROP = 0.2
"""A loss that fell by less than this fraction over the run, and was still falling at the end, is
held back by its learning rate: at that pace, more steps would take many times the budget."""

KINK_MARGIN = 0.01
"""A breakpoint counts as inside the data when it is at least this share of the range from either end
(a kink a hair from the edge bends nothing a user could see)."""

UNSCALED_RANGE = 10.0
"""Unscaled data reaching beyond +-this puts pre-activations far outside the bend of any activation."""

MODES = ("diverged", "collapsed", "linear", "underfit", "fit")
"""Every mode, from worst to best."""


LOWER, HIGHER = "lower", "higher"
"""A hint's advice on the learning rate is a direction, not a value: the right value is the data's to tell."""


class Hint(str):
    """A hint: its words, and its advice as data (``advice``), so that the advice can be tried.

    ``advice`` holds the alternatives the hint offers, each the config changes it advises, such as
    ``{"x_scaling": "standard"}`` (the learning rate as a direction: ``{"lr": LOWER}``). No alternative
    advises a value the config already has. A hint that advises no setting (``train for more steps``, a fit's
    summary) has none.
    """

    advice: tuple[dict[str, Any], ...]

    def __new__(cls, text: str, advice=()) -> "Hint":
        hint = super().__new__(cls, text)
        hint.advice = tuple(dict(a) for a in advice)
        return hint

    def __reduce__(self):
        return Hint, (str(self), self.advice)


@dataclass(frozen=True)
class Diagnosis:
    mode: str
    metrics: dict[str, float | None]
    """Plain floats (None where undefined or non-finite), JSON-able as they stand."""
    hints: tuple[Hint, ...]

    @property
    def advice(self) -> tuple[tuple[dict[str, Any], ...], ...]:
        """Each hint's advice (:class:`Hint`), in the hints' order."""
        return tuple(getattr(h, "advice", ()) for h in self.hints)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "metrics": dict(self.metrics), "hints": [str(h) for h in self.hints],
                "advice": [[_plain(a) for a in advice] for advice in self.advice]}

    @classmethod
    def from_dict(cls, d: dict) -> "Diagnosis":
        advice = d.get("advice") or [()] * len(d["hints"])
        return cls(d["mode"], dict(d["metrics"]), tuple(Hint(h, a) for h, a in zip(d["hints"], advice)))

    def __str__(self) -> str:
        shown = ("mse", "line_mse", "noise_floor", "gain", "captured", "pred_spread", "pred_line_deviation",
                 "dead_fraction", "saturated_fraction", "kinks_in_range")
        lines = [f"mode: {self.mode}"]
        lines += [f"  {k:<20} {_fmt(self.metrics.get(k))}" for k in shown if k in self.metrics]
        lines += [f"  - {h}" for h in self.hints]
        return "\n".join(lines)


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def _plain(alternative: dict[str, Any]) -> dict[str, Any]:
    """An alternative as JSON holds it (a tuple of widths as a list)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in alternative.items()}


# --- numbers -------------------------------------------------------------------------------------


def line_fit(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Least-squares affine fit of ``v`` (n, k) on ``x`` (n, d), evaluated at ``x``."""
    design = np.column_stack([np.ones(len(x)), x])
    coef, *_ = np.linalg.lstsq(design, v, rcond=None)
    return design @ coef


def noise_floor(x: np.ndarray, y: np.ndarray) -> float:
    """Noise variance of y around a smooth function of x (n, d), with no model fitted.

    One feature: the Gasser-Sroka-Jennen-Steinmetz estimator. After sorting by x, each y_i is
    compared with the straight line through its two neighbours; for a smooth target the difference
    is noise only, with variance sigma**2 / c_i**2. It is exact for any locally linear target (so
    x**2 on integers gives ~0, not the curvature), and unbiased for noise of any size.

    d > 1 features: the same idea with nearest neighbours (:func:`_neighbour_noise`). Fewer than
    3 points (d + 3 for d > 1) give 0.
    """
    if x.shape[1] > 1:
        return _neighbour_noise(x, y)
    if len(x) < 3:
        return 0.0
    order = np.argsort(x[:, 0], kind="stable")
    xs, ys = x[order, 0], y[order]
    span = xs[2:] - xs[:-2]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(span > 0, (xs[2:] - xs[1:-1]) / span, 0.5)  # ties: the mean of the neighbours
    b = 1.0 - a
    e = a[:, None] * ys[:-2] + b[:, None] * ys[2:] - ys[1:-1]
    c2 = 1.0 / (a * a + b * b + 1.0)
    return float(np.mean(c2[:, None] * e * e))


NOISE_ROWS = 2000
"""Rows the d > 1 noise estimate looks at (evenly spaced through the data beyond that): the neighbour
search compares every pair of them."""


def _neighbour_noise(x: np.ndarray, y: np.ndarray) -> float:
    """The GSJ estimate in d > 1 inputs: each y_i against the plane through its d + 2 nearest neighbours.

    Neighbours are found in the standardized inputs (each column over its standard deviation, so no
    feature's units dominate). The plane's value at x_i is an affine combination w . y_nbrs (the
    least-squares plane, whose weights are the smallest reproducing x_i); the difference e_i is exact
    for any locally linear target and has variance sigma**2 (1 + |w|**2) for noise alone, so
    sum(e**2) / sum(1 + |w|**2) is unbiased for the noise variance. d + 2 neighbours is the fewest that
    fit a plane with one to spare: more would reach farther and add the target's curvature.
    """
    n, d = x.shape
    k = d + 2
    if n < k + 1:
        return 0.0
    keep = np.unique(np.linspace(0, n - 1, min(n, NOISE_ROWS)).round().astype(int))
    sd = x[keep].std(axis=0)
    z = (x[keep] - x[keep].mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    ys = y[keep].reshape(len(keep), -1)
    sq = np.sum(z * z, axis=1)
    near = np.empty((len(z), k), dtype=int)
    for start in range(0, len(z), 512):  # blocks of distances, not the whole (n, n) matrix at once
        block = slice(start, start + 512)
        dist = sq[block, None] - 2.0 * z[block] @ z.T + sq[None, :]
        dist[np.arange(dist.shape[0]), np.arange(start, start + dist.shape[0])] = np.inf  # not itself
        near[block] = np.argpartition(dist, k - 1, axis=1)[:, :k]
    design = np.concatenate([np.ones((len(z), 1, k)), np.swapaxes(z[near], 1, 2)], axis=1)  # (n, d + 1, k)
    at = np.concatenate([np.ones((len(z), 1)), z], axis=1)[:, :, None]  # (n, d + 1, 1)
    w = (np.swapaxes(design, 1, 2) @ np.linalg.pinv(design @ np.swapaxes(design, 1, 2)) @ at)[:, :, 0]  # (n, k)
    e = ys - np.einsum("nk,nkc->nc", w, ys[near])
    return float(np.mean(e * e / (1.0 + np.sum(w * w, axis=1))[:, None]))


def unit_slopes(model, x: np.ndarray) -> list[np.ndarray]:
    """Per hidden layer, each unit's slope on each point relative to the activation's peak: (n, width)."""
    act = activations.get(model.config.activation)
    zs = model.preactivations(x)[:-1]
    with np.errstate(all="ignore"):
        return [act.df(z, act.f(z)) / act.peak_slope for z in zs]


def unit_health(model, x: np.ndarray) -> tuple[float, float]:
    """(dead_fraction, saturated_fraction) over all hidden units on the points ``x``."""
    flat = np.concatenate([(s < FLAT_SLOPE) for s in unit_slopes(model, x)], axis=1)
    share = flat.mean(axis=0)
    dead = share == 1.0
    saturated = (share >= SATURATED_POINTS) & ~dead
    return float(dead.mean()), float(saturated.mean())


def kinks_in_range(model, x: np.ndarray) -> int | None:
    """How many first-layer ReLU-family units change their active state inside the data ``x`` (n, d).

    A unit's breakpoint is the hyperplane w.x + b = 0. It lies inside the data when -b falls within
    the span of the points' projections x.w, by KINK_MARGIN of that span from either end (a kink a
    hair from the edge bends nothing a user could see): then some points drive the unit and
    others do not. In 1-D that is x = -b/w inside x's range. None unless the hidden activation is kinked.
    """
    if not activations.get(model.config.activation).kinked:
        return None
    W, b = model.layout.views(model.theta)[0]
    bias = np.zeros(W.shape[1]) if b is None else b
    with np.errstate(all="ignore"):
        s = model.x_scaler.transform(np.asarray(x, dtype=float).reshape(len(x), -1)) @ W
    lo, hi = s.min(axis=0), s.max(axis=0)
    margin = KINK_MARGIN * (hi - lo)
    return int(np.sum((-bias > lo + margin) & (-bias < hi - margin)))


def data_metrics(x_train, y_train, x_val, y_val) -> dict[str, float]:
    """The numbers of the data alone, the same for every net fitted to them: var_y, line_mse (the best line's error),
    noise_floor and nonlinear_share (the structure beyond a line, above noise, over var_y). Arrays are (n, d)."""
    var_y = float(np.mean((y_val - y_val.mean(axis=0)) ** 2))
    line_mse = float(np.mean((y_val - line_fit(x_val, y_val)) ** 2))
    # One feature: the validation rows, sorted, are neighbours enough. For d > 1 rows lie farther apart, and every
    # row (training and validation: one noise) brings the neighbours nearer (x_val is x_train without a validation set).
    rows = (x_val, y_val) if x_val.shape[1] == 1 or x_val is x_train else (np.concatenate([x_train, x_val]),
                                                                            np.concatenate([y_train, y_val]))
    noise = min(noise_floor(*rows), line_mse)
    structure = line_mse - noise
    return {"var_y": var_y, "line_mse": line_mse, "noise_floor": noise,
            "nonlinear_share": structure / var_y if var_y > 0 else 0.0}


def prediction_metrics(pred: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, data: dict[str, float]) -> dict:
    """The numbers of one prediction ``pred`` of ``y_val`` (its shape) against the data's (:func:`data_metrics`):
    mse, r2, gain, captured, pred_spread and pred_line_deviation; None where undefined or not finite."""
    names = ("mse", "r2", "gain", "captured", "pred_spread", "pred_line_deviation")
    if not np.all(np.isfinite(pred)):
        return dict.fromkeys(names)
    var_y, line_mse = data["var_y"], data["line_mse"]
    structure = line_mse - data["noise_floor"]
    with np.errstate(all="ignore"):
        mse = float(np.mean((pred - y_val) ** 2))
        dev = float(np.mean((pred - line_fit(x_val, pred)) ** 2))
        return {"mse": mse, "r2": 1.0 - mse / var_y if var_y > 0 else None,
                "gain": 1.0 - mse / line_mse if line_mse > 0 else None,
                "captured": (line_mse - mse) / structure if structure > 0 else None,
                "pred_spread": float(np.std(pred)) / np.sqrt(var_y) if var_y > 0 else None,
                "pred_line_deviation": dev / structure if structure > 0 else None}


def fit_mse(data: dict[str, float]) -> float:
    """The validation MSE above which no prediction is ``fit`` on these data (:func:`data_metrics`): a bound to
    look at before :func:`classify` decides (a prediction below it can still be ``collapsed``)."""
    if data["nonlinear_share"] < LINEAR_TARGET_SHARE:
        return data["var_y"] - FIT_CAPTURED * (data["var_y"] - data["noise_floor"])
    return data["line_mse"] - FIT_CAPTURED * (data["line_mse"] - data["noise_floor"])


def fits_now(model, x_val: np.ndarray, y_val: np.ndarray, data: dict[str, float]) -> bool:
    """Whether ``model`` is ``fit`` on the validation data now: the mode :func:`diagnose` would give it (the mode
    depends on nothing else: :func:`classify`'s ``fit`` reads only these metrics)."""
    pred = model.predict(x_val).reshape(y_val.shape)
    return classify(data | prediction_metrics(pred, x_val, y_val, data), diverged=False) == "fit"


def compute_metrics(model, x_train, y_train, x_val, y_val, curve) -> dict[str, float | None]:
    """Every number the mode and hints are decided from (see the module docstring)."""
    pred = model.predict(x_val).reshape(y_val.shape)
    m: dict[str, float | None] = dict(data_metrics(x_train, y_train, x_val, y_val))
    m |= prediction_metrics(pred, x_val, y_val, m)
    if m["mse"] is not None:
        m["dead_fraction"], m["saturated_fraction"] = unit_health(model, x_val)
    else:
        m["dead_fraction"] = m["saturated_fraction"] = None
    m["kinks_in_range"] = kinks_in_range(model, x_train) if np.all(np.isfinite(model.theta)) else None
    m["hidden_units"] = float(sum(model.config.hidden))
    first, last = curve.train_loss[0], curve.train_loss[-1]
    tail = curve.train_loss[max(0, int(len(curve.train_loss) * 0.9) - 1)]
    with np.errstate(all="ignore"):
        m["loss_drop"] = 1.0 - last / first if first > 0 else 0.0
        m["tail_drop"] = 1.0 - last / tail if tail > 0 else 0.0
    m["final_train_mse"] = float(last)
    m["final_val_mse"] = float(curve.val_loss[-1])
    m["steps_done"] = float(curve.steps[-1])
    return {k: (float(v) if v is not None and np.isfinite(v) else None) for k, v in m.items()}


def classify(metrics: dict[str, float | None], diverged: bool) -> str:
    """The failure mode from the metrics alone (order and thresholds: module docstring)."""
    spread = metrics.get("pred_spread")
    if diverged or metrics.get("mse") is None:
        return "diverged"
    if spread is not None and spread < COLLAPSED_SPREAD:
        return "collapsed"
    if metrics["nonlinear_share"] < LINEAR_TARGET_SHARE:
        # The target is a line up to noise: judge the fit against all of its signal instead.
        signal = metrics["var_y"] - metrics["noise_floor"]
        explained = (metrics["var_y"] - metrics["mse"]) / signal if signal > 0 else 1.0
        return "fit" if explained >= FIT_CAPTURED else "underfit"
    if (metrics.get("captured") or -np.inf) >= FIT_CAPTURED:
        return "fit"
    if (metrics.get("pred_line_deviation") or 0.0) < LINEAR_DEVIATION:
        return "linear"
    return "underfit"


# --- words ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a hint rule may look at."""

    mode: str
    m: dict[str, float | None]
    config: object
    x: np.ndarray
    y: np.ndarray
    model: object


def _advice(c: Context, *alternatives: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The alternatives that change ``c.config``, each kept to the settings it changes (an lr direction always
    changes it); an alternative left with nothing to change is dropped."""
    out = []
    for alternative in alternatives:
        changes = {k: v for k, v in alternative.items() if k == "lr" or getattr(c.config, k) != v}
        if changes and changes not in out:
            out.append(changes)
    return tuple(out)


def _words(advice: tuple[dict[str, Any], ...]) -> str:
    """``advice`` as the hint says it: each alternative in the settings' own spelling, joined with "or"."""
    said = []
    for alternative in advice:
        said.append(" and ".join(LR_WORDS[v] if k == "lr" else f"{k}={v!r}" for k, v in alternative.items()))
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " or " + said[-1]


LR_WORDS = {LOWER: "lower the learning rate", HIGHER: "raise the learning rate"}

BIG_INIT_SCALE = 3.0
"""An init_scale above this multiplies the initial weights (or, for normal and uniform, their spread) enough that a
net can blow up at its first steps whatever its learning rate."""


def _hint_diverged(c: Context) -> Hint | None:
    if c.mode != "diverged":
        return None
    big_init = c.config.init_scale > BIG_INIT_SCALE
    steps = int(c.m['steps_done'] or 0)
    # A huge init scale is the cause to name first; a net that blew up before its first step no learning rate saves
    advice = _advice(c, *([{"init_scale": 1.0}] if big_init else []), *([] if big_init and steps == 0 else
                                                                         [{"lr": LOWER}]),
                     *([{"y_scaling": "standard"}] if np.abs(c.y).max() > UNSCALED_RANGE else []))
    why = f"the loss blew up by step {steps}"
    if big_init:
        why += f"; init_scale={c.config.init_scale:g} makes the first predictions huge"
    if c.config.y_scaling == "none" and np.abs(c.y).max() > UNSCALED_RANGE:
        why += f"; unscaled targets up to {np.abs(c.y).max():g} make gradients that large"
    lr = f" (lr={c.config.lr:g}; try {c.config.lr / 10:g})" if any("lr" in a for a in advice) else ""
    return Hint(f"{why}: {_words(advice)}{lr}", advice)


def _hint_output_range(c: Context) -> Hint | None:
    lo, hi = activations.get(c.config.output_activation).output_range
    reach = c.model.y_scaler.inverse(np.array([[lo], [hi]]))[:, 0] if np.isfinite([lo, hi]).any() else None
    if reach is None:
        return None
    lo_y, hi_y = np.nanmin(reach), np.nanmax(reach)
    if c.y.min() >= lo_y and c.y.max() <= hi_y:
        return None
    advice = _advice(c, {"output_activation": "identity"})
    return Hint(f"output_activation={c.config.output_activation!r} can only produce values in ({lo_y:.3g}, "
                f"{hi_y:.3g}), but the target spans [{c.y.min():.3g}, {c.y.max():.3g}]: use {_words(advice)}", advice)


def _hint_flat_output(c: Context) -> Hint | None:
    name = c.config.output_activation
    if name == "identity" or c.mode == "fit":
        return None
    out = activations.get(name)
    z = c.model.preactivations(c.x)[-1]
    with np.errstate(all="ignore"):
        flat = float(np.mean(out.df(z, out.f(z)) / out.peak_slope < FLAT_SLOPE))
    if flat < 0.5:
        return None
    advice = _advice(c, {"output_activation": "identity"})
    return Hint(f"the output unit ({name}) is flat on {flat:.0%} of the points, so almost no gradient reaches the "
                f"network: use {_words(advice)} for regression", advice)


def _hint_unscaled_x(c: Context) -> Hint | None:
    if c.config.x_scaling != "none" or np.abs(c.x).max() <= UNSCALED_RANGE or c.mode == "fit":
        return None
    advice = _advice(c, {"x_scaling": "standard"})
    return Hint(f"inputs are unscaled (x spans [{c.x.min():.3g}, {c.x.max():.3g}]), far from where activations "
                f"bend: set {_words(advice)}", advice)


def _hint_no_kinks(c: Context) -> Hint | None:
    if c.m.get("kinks_in_range") != 0 or c.mode == "fit":
        return None
    advice = _advice(c, {"x_scaling": "standard", "bias": True})
    fix = f"centre the inputs and keep biases ({_words(advice)})" if advice else "retrain from another init seed"
    if c.x.ndim == 2 and c.x.shape[1] > 1:
        return Hint(f"no {c.config.activation} breakpoint (the plane w.x + b = 0) of the {c.config.hidden[0]} "
                    f"first-layer units passes through the data: on every point each unit is either on or off, so "
                    f"the network is one plane; {fix}", advice)
    return Hint(f"no {c.config.activation} breakpoint (x = -b/w) of the {c.config.hidden[0]} first-layer units falls "
                f"inside the data [{c.x.min():.3g}, {c.x.max():.3g}]: there every unit is linear, so the network can "
                f"only draw a straight line; {fix}", advice)


def _hint_no_bias(c: Context) -> Hint | None:
    if c.config.bias or c.mode == "fit":
        return None
    advice = _advice(c, {"bias": True})
    return Hint("without biases every unit depends on w*x alone, so all units bend or centre at x = 0, "
                f"not where the data are: set {_words(advice)}", advice)


def _hint_saturated(c: Context) -> Hint | None:
    share = c.m.get("saturated_fraction") or 0.0
    if share < 0.5 or c.mode == "fit":
        return None
    advice = _advice(c, {"x_scaling": "standard"}, {"init_scale": c.config.init_scale / 10})
    return Hint(f"{share:.0%} of the {c.config.activation} units are saturated (flat on at least "
                f"{SATURATED_POINTS:.0%} of the points): {_words(advice)}", advice)


def _hint_dead(c: Context) -> Hint | None:
    share = c.m.get("dead_fraction") or 0.0
    if share < 0.5 or c.mode == "fit":
        return None
    if activations.get(c.config.activation).kinked:
        alternatives = [{"lr": LOWER}, *([{"bias_init": 0.1}] if c.config.bias_init <= 0 else []),
                        {"activation": "leaky_relu"}]
    else:
        alternatives = [{"x_scaling": "standard"}, {"init_scale": c.config.init_scale / 10}, {"lr": LOWER}]
    advice = _advice(c, *alternatives)
    return Hint(f"{share:.0%} of the {c.config.activation} units are dead (flat on every point, no gradient passes): "
                f"{_words(advice)}", advice)


def _hint_unscaled_y(c: Context) -> Hint | None:
    big = float(np.abs(c.y).max())
    if c.config.y_scaling != "none" or big <= UNSCALED_RANGE or c.mode == "fit":
        return None
    advice = _advice(c, {"y_scaling": "standard"})
    return Hint(f"targets are unscaled (|y| up to {big:.3g}): gradients and the right output weights grow with y, "
                f"so no single lr suits every layer; set {_words(advice)}", advice)


def _hint_stalled(c: Context) -> Hint | None:
    drop = c.m.get("loss_drop")
    if drop is None or drop >= STALLED_DROP or c.mode in ("fit", "diverged"):
        return None
    advice = _advice(c, {"lr": HIGHER}, {"optimizer": "adam"})
    return Hint(f"the training loss fell by only {max(drop, 0.0):.1%} in {int(c.m['steps_done'] or 0)} steps: "
                f"lr={c.config.lr:g} is too small for these data; {_words(advice)}", advice)


def _lr_bound(m: dict[str, float | None]) -> bool:
    """The loss moved (above STALLED_DROP) but barely (below SLOW_DROP), and was still falling."""
    drop = m.get("loss_drop")
    return drop is not None and STALLED_DROP <= drop < SLOW_DROP and (m.get("tail_drop") or 0.0) >= STILL_FALLING


def _hint_lr_too_small(c: Context) -> Hint | None:
    if not _lr_bound(c.m) or c.mode in ("fit", "diverged"):
        return None
    factor = 1.0 / c.m["loss_drop"]  # at this pace, the whole loss takes 1/drop times the lr (or the steps)
    return Hint(f"lr is too small for these data: the training loss fell by only {c.m['loss_drop']:.1%} in "
                f"{int(c.m['steps_done'] or 0)} steps, still falling; raise lr about {factor:.2g}x "
                f"(lr={c.config.lr:g} -> {c.config.lr * factor:.2g}) rather than train for more steps",
                _advice(c, {"lr": HIGHER}))


def _hint_still_falling(c: Context) -> Hint | None:
    if (c.m.get("tail_drop") or 0.0) < STILL_FALLING or _lr_bound(c.m) or c.mode in ("fit", "diverged"):
        return None
    return Hint(f"the loss was still falling at the end ({c.m['tail_drop']:.1%} in the last tenth): train for more "
                "steps")


def _hint_narrow(c: Context) -> Hint | None:
    units = sum(c.config.hidden)
    if units >= 3 or c.mode == "fit":
        return None
    advice = _advice(c, {"hidden": tuple(max(w, 10) for w in c.config.hidden)})
    return Hint(f"{units} hidden unit(s) can make at most {units} bend(s): widen the hidden layer "
                f"({_words(advice)})", advice)


def _hint_fit(c: Context) -> Hint | None:
    if c.mode != "fit":
        return None
    if c.m["nonlinear_share"] < LINEAR_TARGET_SHARE:
        return Hint("the target is a straight line up to noise, and the fit follows it")
    if c.m["captured"] > 1:  # its error is below the noise estimate: a share over 100% would say more than it knows
        return Hint("captures all of the target's structure beyond a straight line (its error is below the noise "
                    "floor estimated from the data)")
    return Hint(f"captures {c.m['captured']:.0%} of the target's structure beyond a straight line")


HINTS: tuple[Callable[[Context], Hint | None], ...] = (
    _hint_diverged,
    _hint_output_range,
    _hint_flat_output,
    _hint_unscaled_x,
    _hint_unscaled_y,
    _hint_no_kinks,
    _hint_no_bias,
    _hint_saturated,
    _hint_dead,
    _hint_stalled,
    _hint_lr_too_small,
    _hint_still_falling,
    _hint_narrow,
    _hint_fit,
)
"""Rules in the order their hints are shown: the most direct cause first."""


def diagnose(model, x_train, y_train, x_val, y_val, *, curve, diverged: bool) -> Diagnosis:
    """Metrics, failure mode and hints of a trained ``model``; arrays are (n, d), in data units."""
    metrics = compute_metrics(model, x_train, y_train, x_val, y_val, curve)
    mode = classify(metrics, diverged)
    ctx = Context(mode, metrics, model.config, x_train, y_train, model)
    hints = tuple(h for rule in HINTS if (h := rule(ctx)) is not None)
    return Diagnosis(mode, metrics, hints)

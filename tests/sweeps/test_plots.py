"""plots.py: every figure from report frames of a synthetic in-memory study (no training, so it is quick)."""

import io

import numpy as np
import optuna
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from mlpcore import MODES
from sweeps.results import frames as tidy
from sweeps.report import plots
from sweeps.space import space_to_json

SPACE = {
    "lr": FloatDistribution(1e-5, 1.0, log=True),
    "width": IntDistribution(1, 64, log=True),
    "depth": IntDistribution(1, 3),
    "init_scale": FloatDistribution(1e-3, 10.0, log=True),
    "activation": CategoricalDistribution(["tanh", "relu", "sigmoid"]),
    "x_scaling": CategoricalDistribution(["standard", "none"]),
    "batch_size": CategoricalDistribution([None, 8]),
}
X = np.linspace(0.0, 1.0, 50)
Y = X**2


def outcome(mode: str, rng) -> tuple[float, dict]:
    """A trial's value and user attrs as the runner records them, shaped like the mode."""
    pred = {"fit": Y + 0.01 * rng.standard_normal(50), "underfit": np.clip(X - 0.2, 0, None), "linear": X - 0.17,
            "collapsed": np.full(50, 0.33), "diverged": np.full(50, np.nan)}[mode]
    value = {"fit": 1e-3, "underfit": 0.05, "linear": 0.06, "collapsed": 1.0, "diverged": 10.0}[mode] * rng.uniform(1, 2)
    steps = list(range(0, 101, 10))
    val = [None if mode == "diverged" and s > 20 else 0.09 * (value + (1 - value) * np.exp(-s / 20)) for s in steps]
    if mode == "diverged":
        val[2] = 1e9
    return value, {"mode": mode, "escape_rate": float(mode == "fit"), "grid_pred": [None if np.isnan(v) else v for v in pred],
                   "curve": {"steps": steps, "train": val, "val": val}, "config": {"lr": 0.1},
                   "metrics": {"var_y": 0.09, "line_mse": 0.09 * 0.06, "mse": 0.09 * value}}


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    opt = optuna.create_study(study_name="synthetic")
    opt.set_user_attr("space", space_to_json(SPACE))
    opt.set_user_attr("grid", {"x": X.tolist(), "y": Y.tolist()})
    opt.set_user_attr("var_y_val", 0.09)
    opt.set_user_attr("study", {"title": "x squared", "question": "why a line?", "noise_sd": 0.01})
    base_value, base = outcome("linear", rng)
    opt.set_user_attr("baseline", base | {"value": base_value, "hints": ["scale x"]})
    sampler = optuna.samplers.RandomSampler(seed=0)
    for i in range(40):
        mode = MODES[i % 4 + 1] if i % 7 else "diverged"  # every mode, fit most often
        value, attrs = outcome(mode, rng)
        params = {k: sampler.sample_independent(opt, None, k, d) for k, d in SPACE.items()}
        opt.add_trial(optuna.trial.create_trial(params=params, distributions=SPACE, value=value, user_attrs=attrs,
                                                intermediate_values={s: v / 0.09 for s, v in zip(attrs["curve"]["steps"],
                                                                     attrs["curve"]["val"]) if v is not None}))
    return tidy.build(opt)


def png_pixels(fig) -> np.ndarray:
    from matplotlib.image import imread

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return imread(io.BytesIO(buf.getvalue()))[..., :3]


FIGURES = {
    "mode_map": lambda f: plots.mode_map(f.levers),
    "escape_heatmaps": lambda f: plots.escape_heatmaps(f.settings, "lr", "init_scale", "x_scaling"),
    "importance_panels": lambda f: plots.importance_panels(f.importances),
    "function_space": lambda f: plots.function_space(f.predictions).figure,
    "mode_gallery": lambda f: plots.mode_gallery(f.predictions),
    "learning_curves": lambda f: plots.learning_curves(f.curves, references={"constant predictor": 1.0}),
    "history": lambda f: plots.history(f.trials, references={"best straight line": 0.06}).figure,
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_draws_something(frames, name):
    pixels = png_pixels(FIGURES[name](frames))
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    assert (pixels < 0.9).any(axis=2).mean() > 0.02 and pixels.std() > 0.05


def test_one_distinct_colour_per_mode():
    assert set(plots.MODE_COLORS) == set(MODES) == set(plots.BEST_FIRST)
    assert len({c.lower() for c in plots.MODE_COLORS.values()}) == len(MODES)


@pytest.mark.parametrize("draw", [
    pytest.param(lambda f, ax: plots.mode_shares(f.levers, "activation", ax=ax), id="mode_shares"),
    pytest.param(lambda f, ax: plots.escape_heatmap(f.settings, "width", "depth", ax=ax), id="escape_heatmap"),
    pytest.param(lambda f, ax: plots.importance_bars(f.importances, "escape", ax=ax), id="importance_bars"),
    pytest.param(lambda f, ax: plots.function_space(f.predictions, ax=ax), id="function_space"),
    pytest.param(lambda f, ax: plots.history(f.trials, ax=ax), id="history"),
])
def test_single_panel_functions_draw_on_the_given_axes(frames, draw):
    fig, ax = plots.new_figure(5, 4)
    assert draw(frames, ax) is ax and ax.has_data()


def test_mode_bars_are_in_the_mode_colours_fit_first_best_value_on_top(frames):
    ax = plots.mode_shares(frames.levers, "activation")
    assert [c.get_label() for c in ax.containers] == list(plots.BEST_FIRST)
    for container in ax.containers:
        assert {to_hex(p.get_facecolor()) for p in container} == {plots.MODE_COLORS[container.get_label()].lower()}
    rows = frames.levers[frames.levers["param"] == "activation"].sort_values("escape_rate", ascending=False)
    top_label = max(ax.get_yticklabels(), key=lambda t: t.get_position()[1]).get_text()
    assert top_label == rows["value"].iloc[0]


def test_history_points_are_in_their_modes_colour(frames):
    ax = plots.history(frames.trials)
    done = frames.trials.sort_values("number")
    colours = [to_hex(c) for c in ax.collections[0].get_facecolors()]
    assert colours == [plots.MODE_COLORS[m].lower() for m in done["mode"]]
    assert ax.get_yscale() == "log"
    handles, labels = ax.get_legend_handles_labels()
    present = [m for m in plots.BEST_FIRST if (done["mode"] == m).any()]
    assert labels[:len(present)] == present and "best so far" in labels  # a legend marker per mode drawn
    assert [to_hex(h.get_facecolors()[0]) for h in handles[:len(present)]] == [plots.MODE_COLORS[m].lower()
                                                                               for m in present]


def test_the_theme_is_seaborns_written_out():
    """plots.THEME is what seaborn's set_theme sets (without importing seaborn where figures are drawn)."""
    import matplotlib as mpl
    import seaborn as sns
    from matplotlib.colors import to_rgba

    def changed(apply) -> dict:
        with mpl.rc_context():
            mpl.rcdefaults()
            base = dict(mpl.rcParams)
            apply()
            return {k: v for k, v in mpl.rcParams.items() if v != base[k]}

    theirs = changed(lambda: sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9))
    ours = changed(plots._theme)
    assert theirs.pop("image.cmap") == "rocket"  # no figure draws with the default colormap
    cycle = [to_rgba(c) for c in theirs.pop("axes.prop_cycle").by_key()["color"]]
    assert [to_rgba(c) for c in ours.pop("axes.prop_cycle").by_key()["color"]] == cycle
    assert ours == theirs


def test_gallery_has_one_panel_per_mode_in_its_colour(frames):
    fig = plots.mode_gallery(frames.predictions)
    for ax, mode in zip(fig.axes, plots.BEST_FIRST):
        assert ax.get_title().startswith(mode) and to_hex(ax.title.get_color()) == plots.MODE_COLORS[mode].lower()
        assert to_hex(ax.lines[-1].get_color()) == plots.MODE_COLORS[mode].lower()
    diverged = fig.axes[plots.BEST_FIRST.index("diverged")]
    assert any("no finite prediction" in t.get_text() for t in diverged.texts)


def test_representatives_are_each_modes_median_trial(frames):
    picks = plots.representatives(frames.predictions)
    done = tidy.complete(frames.trials)
    assert set(picks) == set(done["mode"])
    for mode, number in picks.items():
        values = done.loc[done["mode"] == mode].sort_values(["value", "number"])
        assert values["number"].iloc[(len(values) - 1) // 2] == number


def test_function_space_shows_the_best_trial_and_the_baseline(frames):
    ax = plots.function_space(frames.predictions)
    best = tidy.complete(frames.trials).sort_values("value").iloc[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"best trial #{best['number']}: fit, value {best['value']:.3g}" in labels
    assert any(label.startswith("the question's config: linear") for label in labels)


def test_learning_curves_say_when_a_loss_is_clipped(frames):
    fig = plots.learning_curves(frames.curves)
    diverged = fig.axes[plots.BEST_FIRST.index("diverged")]
    assert any("drawn at" in t.get_text() for t in diverged.texts)
    assert not any("drawn at" in t.get_text() for t in fig.axes[0].texts)
    assert all(ax.get_yscale() == "log" for ax in fig.axes)


def test_importance_without_contrast_reads_n_a(frames):
    imp = frames.importances.assign(importance=np.where(frames.importances["target"] == "escape", np.nan,
                                                        frames.importances["importance"]))
    ax = plots.importance_bars(imp, "escape")
    assert {t.get_text() for t in ax.texts} == {"n/a"}


def held_out(frames):
    """A held-out frame (as ``frames.held_out_frame`` gives for d > 1) of the synthetic study: its grid as the rows."""
    nets = frames.predictions[frames.predictions["source"] != "target"].copy()
    nets["row"] = nets.groupby(["source", "number"], dropna=False).cumcount()
    return nets.assign(actual=Y[nets["row"]], predicted=nets["y"])


def test_every_plot_draws_into_what_it_is_given_and_returns_what_it_drew(frames):
    """Single-axes plots take ``ax`` and return it; multi-panel ones take ``fig`` and return it."""
    refs = {"constant predictor": 1.0}
    single = {
        "mode_shares": lambda ax: plots.mode_shares(frames.levers, "lr", ax=ax),
        "escape_heatmap": lambda ax: plots.escape_heatmap(frames.settings, "lr", "init_scale", ax=ax),
        "importance_bars": lambda ax: plots.importance_bars(frames.importances, "objective", ax=ax),
        "function_space": lambda ax: plots.function_space(frames.predictions, ax=ax),
        "history": lambda ax: plots.history(frames.trials, ax=ax, references=refs),
        "predicted_actual": lambda ax: plots.predicted_actual(held_out(frames), ax=ax),
    }
    for name, draw in single.items():
        fig, ax = plots.new_figure(4, 3)
        assert draw(ax) is ax, name
        assert draw(None).figure is not fig, name
    multi = {
        "mode_map": lambda fig: plots.mode_map(frames.levers, fig=fig),
        "escape_heatmaps": lambda fig: plots.escape_heatmaps(frames.settings, "lr", "init_scale", "x_scaling", fig=fig),
        "importance_panels": lambda fig: plots.importance_panels(frames.importances, fig=fig),
        "mode_gallery": lambda fig: plots.mode_gallery(frames.predictions, fig=fig),
        "learning_curves": lambda fig: plots.learning_curves(frames.curves, references=refs, fig=fig),
        "held_out_gallery": lambda fig: plots.held_out_gallery(held_out(frames), fig=fig),
        "slices": lambda fig: plots.slices(pd.concat([frames.predictions, frames.predictions.assign(feature=1)]),
                                           fig=fig),
    }
    for name, draw in multi.items():
        fig, _ = plots.new_figure(4, 3)
        assert draw(fig) is fig and len(fig.axes) >= 2, name
        assert (png_pixels(fig) < 0.9).mean() > 0.01, name
        assert draw(None) is not fig, name

"""figures.py: every figure from report frames of a synthetic in-memory study (no training, so it is
quick), and the SVG the page inlines (drawing.py, hover.py)."""

import dataclasses
import re
from xml.etree import ElementTree

import matplotlib
import numpy as np
import optuna
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

import sweeps
from mlpcore import MODES
from sweeps.report import drawing, figures, hover
from sweeps.report.style import BEST_FIRST, CURVE_CLIP, IMPORTANCE_COLORS, MODE_PALETTE, fmt, theme
from sweeps.results import frames as tidy
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
    pred = {
        "fit": Y + 0.01 * rng.standard_normal(50), "underfit": np.clip(X - 0.2, 0, None),
        "linear": X - 0.17, "collapsed": np.full(50, 0.33), "diverged": np.full(50, np.nan)
    }[mode]
    value = {"fit": 1e-3, "underfit": 0.05, "linear": 0.06, "collapsed": 1.0, "diverged": 10.0
             }[mode] * rng.uniform(1, 2)
    steps = list(range(0, 101, 10))
    val = [
        None if mode == "diverged" and s > 20 else 0.09 * (value + (1 - value) * np.exp(-s / 20))
        for s in steps
    ]
    if mode == "diverged":
        val[2] = 1e9
    return value, {
        "mode": mode, "escape_rate": float(mode == "fit"),
        "grid_pred": [None if np.isnan(v) else v for v in pred],
        "curve": {"steps": steps, "train": val, "val": val}, "config": {"lr": 0.1},
        "metrics": {"var_y": 0.09, "line_mse": 0.09 * 0.06, "mse": 0.09 * value}
    }


def synthetic(modes: list[str]) -> optuna.Study:
    """An in-memory study of one trial a mode in ``modes``, each shaped like its mode (``outcome``),
    with the attrs a sweep stores."""
    rng = np.random.default_rng(0)
    opt = optuna.create_study(study_name="synthetic")
    opt.set_user_attr("space", space_to_json(SPACE))
    opt.set_user_attr("grid", {"x": X.tolist(), "y": Y.tolist()})
    opt.set_user_attr("var_y_val", 0.09)
    opt.set_user_attr("study", {"title": "x squared", "question": "why a line?", "noise_sd": 0.01})
    base_value, base = outcome("linear", rng)
    opt.set_user_attr("baseline", base | {"value": base_value, "hints": ["scale x"]})
    sampler = optuna.samplers.RandomSampler(seed=0)
    for mode in modes:
        value, attrs = outcome(mode, rng)
        params = {k: sampler.sample_independent(opt, None, k, d) for k, d in SPACE.items()}
        opt.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=SPACE, value=value, user_attrs=attrs,
                intermediate_values={
                    s: v / 0.09
                    for s, v in zip(attrs["curve"]["steps"], attrs["curve"]["val"]) if v is not None
                }))
    return opt


@pytest.fixture(scope="module")
def frames():
    # every mode, fit most often
    return tidy.build(synthetic([MODES[i % 4 + 1] if i % 7 else "diverged" for i in range(40)]))


REFS = {"constant predictor": 1.0, "best straight line": 0.06, "noise floor": 0.002}
SVG = "{http://www.w3.org/2000/svg}"


def held_out(frames):
    """A held-out frame (as ``frames.held_out_frame`` gives for d > 1) of the synthetic study: its
    grid as the rows."""
    nets = frames.predictions[frames.predictions["source"] != "target"].copy()
    nets["row"] = nets.groupby(["source", "number"], dropna=False).cumcount()
    return nets.assign(actual=Y[nets["row"]], predicted=nets["y"])


def path_runs():
    """An ablation path as ``sweeps.explain(...).path_runs`` gives it: three steps of three seeds.
    """
    return pd.DataFrame({
        "step": np.repeat([0, 1, 2], 3), "label": np.repeat(["question", "+ lr 0.1", "+ tanh"],
                                                            3), "repeat": np.tile([0, 1, 2], 3),
        "value": [0.5, 0.4, 0.6, 0.9, 1.0, 0.95, 0.01, 0.02,
                  0.015], "mode": ["linear"] * 3 + ["collapsed"] * 3 + ["fit"] * 3
    })


SINGLE = {
    "mode_shares": lambda f, ax: figures.mode_shares(f.levers, "activation", ax=ax),
    "escape_heatmap": lambda f, ax: figures.escape_heatmap(f.settings, "lr", "init_scale", ax=ax),
    "importance_bars": lambda f, ax: figures.importance_bars(f.importances, "objective", ax=ax),
    "function_space": lambda f, ax: figures.function_space(f.predictions, ax=ax),
    "history": lambda f, ax: figures.history(f.trials, REFS, ax=ax),
    "predicted_actual": lambda f, ax: figures.predicted_actual(held_out(f), ax=ax),
    "ablation_path": lambda f, ax: figures.ablation_path(path_runs(), ax=ax),
}
MULTI = {
    "mode_map": lambda f, fig: figures.mode_map(f.levers, fig=fig),
    "escape_heatmaps": lambda f, fig: figures.escape_heatmaps(f.settings, "lr", "init_scale",
                                                              "x_scaling", fig=fig),
    "importance_panels": lambda f, fig: figures.importance_panels(f.importances, fig=fig),
    "mode_gallery": lambda f, fig: figures.mode_gallery(f.predictions, fig=fig),
    "learning_curves": lambda f, fig: figures.learning_curves(f.curves, REFS, fig=fig),
    "held_out_gallery": lambda f, fig: figures.held_out_gallery(held_out(f), fig=fig),
    "slices": lambda f, fig: figures.slices(
        pd.concat([f.predictions, f.predictions.assign(feature=1)]), fig=fig),
}


def svg_root(fig) -> ElementTree.Element:
    """The figure as the page writes it (text as text), parsed."""
    with theme(drawing.SVG_RC):
        return ElementTree.fromstring(hover.svg_bytes(fig, salt="test"))


def titles(root) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}title")]


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_a_figure_of_one_axes_draws_into_the_given_ax_and_returns_it(frames, name):
    fig = Figure()
    ax = fig.add_subplot()
    assert SINGLE[name](frames, ax) is ax and ax.has_data()


@pytest.mark.parametrize("name", sorted(MULTI))
def test_small_multiples_draw_into_the_given_figure_and_return_it(frames, name):
    fig = Figure()
    assert MULTI[name](frames, fig) is fig and len([ax for ax in fig.axes if ax.has_data()]) >= 2


def test_without_ax_or_fig_the_figure_is_pyplots_so_that_jupyter_shows_it(frames):
    import matplotlib.pyplot as plt

    plt.close("all")
    try:
        ax = figures.history(frames.trials)
        assert ax is plt.gca() and plt.get_fignums() == [ax.figure.number
                                                         ]  # seaborn's rule: the current Axes
        fig = figures.mode_map(frames.levers)
        # small multiples: a figure of their own
        assert plt.gcf() is fig and len(plt.get_fignums()) == 2
    finally:
        plt.close("all")


def test_no_figure_changes_matplotlibs_settings_or_pyplots_figures(frames):
    import matplotlib.pyplot as plt

    before, figures_before = dict(matplotlib.rcParams), plt.get_fignums()
    for draw in SINGLE.values():
        fig = Figure()
        svg_root(fig) if draw(frames, fig.add_subplot()) is None else svg_root(fig)
    for draw in MULTI.values():
        svg_root(draw(frames, Figure()))
    assert dict(matplotlib.rcParams) == before and plt.get_fignums() == figures_before


def test_a_drawing_process_imports_seaborn_without_scipy_and_a_later_import_of_scipy_works():
    """The helper and the running page's process import seaborn without its optional scipy, and
    scipy.stats stays importable in them; a process that has scipy.stats already (a user's) keeps
    seaborn's full import."""
    import subprocess
    import sys

    own = ("import sys; from sweeps.report import drawing; drawing.prepare(own_process=True)\n"
           "import seaborn._statistics as s\n"
           "assert s._no_scipy and 'scipy.stats' not in sys.modules\n"
           "import scipy.stats; assert scipy.stats.norm.cdf(0) == 0.5")
    user = ("import scipy.stats; from sweeps.report import drawing\n"
            "drawing.prepare(own_process=True)\n"
            "import seaborn._statistics as s; assert not s._no_scipy")
    for code in (own, user):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_one_distinct_colour_per_mode_and_the_mode_column_orders_a_users_own_plot(frames):
    import seaborn as sns

    assert list(MODE_PALETTE) == list(MODES) and set(BEST_FIRST) == set(MODES)
    assert len({c.lower() for c in MODE_PALETTE.values()}) == len(MODES)
    assert sweeps.report.MODE_PALETTE is MODE_PALETTE and sweeps.report.history is figures.history
    for frame in (frames.trials, frames.curves, frames.predictions, frames.settings):
        assert list(frame["mode"].cat.categories) == list(MODES) and frame["mode"].cat.ordered
    ax = Figure().add_subplot()
    sns.scatterplot(frames.trials, x="number", y="value", hue="mode", palette=MODE_PALETTE, ax=ax)
    legend = ax.get_legend()
    assert [t.get_text()
            for t in legend.get_texts()] == list(MODES)  # worst to best, the project's order
    assert [to_hex(h.get_markerfacecolor())
            for h in legend.legend_handles] == [MODE_PALETTE[m].lower() for m in MODES]


def test_history_dots_are_each_trial_in_its_modes_colour_with_its_numbers_and_the_best_so_far_falls(
        frames):
    fig = Figure()
    ax = figures.history(frames.trials, REFS, total=60, ax=fig.add_subplot())
    done = tidy.complete(frames.trials).sort_values("number")
    dots = ax.collections[0]
    assert [to_hex(c)
            for c in dots.get_facecolors()] == [MODE_PALETTE[m].lower() for m in done["mode"]]
    assert ax.get_yscale() == "log" and ax.get_xlim()[1] >= 60  # the axis runs to the sweep's total
    best = next(line for line in ax.lines
                if line.get_label() != "_nolegend_" and len(line.get_ydata()) == len(done))
    assert np.allclose(best.get_ydata(),
                       done["value"].cummin()) and np.all(np.diff(best.get_ydata()) <= 0)
    for name, value in REFS.items():  # each reference line at its value
        line = next(line for line in ax.lines if line.get_label() == name)
        assert np.allclose(line.get_ydata(), [value, value])
    shown = [t for t in titles(svg_root(fig)) if t.startswith("trial #")]
    assert shown == [
        f"trial #{n}: {fmt(v)} ({m})"
        for n, v, m in zip(done["number"], done["value"], done["mode"])
    ]


def test_mode_shares_stack_each_values_modes_fit_first_in_their_colours_with_their_counts(frames):
    fig = Figure()
    ax = figures.mode_shares(frames.levers, "activation", ax=fig.add_subplot())
    rows = figures.setting_rows(frames.levers, "activation")
    expected = {(str(r.value), m): (getattr(r, m), r.trials)
                for r in rows.itertuples()
                for m in MODES if getattr(r, m)}
    assert len(ax.patches) == len(expected)
    by_row: dict[float, list] = {}
    for bar in ax.patches:
        by_row.setdefault(round(bar.get_y(), 6), []).append(bar)
    for bars in by_row.values():  # left to right in BEST_FIRST order, shares of one full bar
        colours = [to_hex(b.get_facecolor()) for b in sorted(bars, key=lambda b: b.get_x())]
        modes = [m for m in BEST_FIRST if MODE_PALETTE[m].lower() in colours]
        assert colours == [MODE_PALETTE[m].lower() for m in modes]
        assert sum(b.get_width() for b in bars) == pytest.approx(1.0)
    shown = titles(svg_root(fig))
    assert len(shown) == len(expected)
    for text in shown:
        param, value, mode, count, n = re.fullmatch(
            r"(\w+) = (.*): (\w+) in (\d+) of (\d+) trials \(\d+%\)", text).groups()
        assert param == "activation" and expected[value, mode] == (int(count), int(n))
    top = [t.get_text() for t in ax.get_yticklabels()][0]
    # best escape rate on top
    assert top == rows.sort_values("escape_rate", ascending=False)["value"].iloc[0]


def test_escape_heatmap_cells_give_the_frames_shares_and_counts(frames):
    fig = Figure()
    ax = figures.escape_heatmap(frames.settings, "lr", "init_scale", ax=fig.add_subplot(),
                                xlabel="learning rate", ylabel="init_scale: weights' scale")
    assert ax.get_xlabel() == "learning rate" and ax.get_ylabel() == "init_scale:\nweights' scale"
    cells = [t for t in titles(svg_root(fig)) if t.startswith("init_scale ")]
    lr, scale = frames.settings["lr"].cat.categories, frames.settings["init_scale"].cat.categories
    assert len(cells) == len(lr) * len(scale)
    expected = []
    for y in reversed(scale):  # the largest bin at the top: the first row drawn
        for x in lr:
            part = frames.settings[(frames.settings["init_scale"] == y)
                                   & (frames.settings["lr"] == x)]
            n = len(part)
            expected.append(f"init_scale {y}, lr {x}: " +
                            (f"{part['escaped'].mean():.0%} of {n} trial{'s' * (n != 1)} "
                             "escaped" if n else "no trial"))
    assert cells == expected


def test_importance_bars_are_the_importances_and_a_setting_without_contrast_says_so(frames):
    imp = frames.importances.copy()
    imp.loc[(imp["target"] == "escape") & (imp["param"] == "x_scaling"),
            ["contrast", "top_value", "top_share"]] = (False, "standard", 0.9)
    fig = Figure()
    ax = figures.importance_bars(imp, "escape", ax=fig.add_subplot())
    rows = imp[imp["target"] == "escape"].set_index("param")
    order = [t.get_text() for t in ax.get_yticklabels()]
    for bar, param in zip(ax.patches, order):
        expected = 0 if not rows.loc[param, "contrast"] else rows.loc[param, "importance"]
        assert bar.get_width() == pytest.approx(expected) and to_hex(
            bar.get_facecolor()) == IMPORTANCE_COLORS["escape"].lower()
    assert "no contrast: the sampler chose standard in 90% of trials" in [
        t.get_text() for t in ax.texts
    ]
    nan = frames.importances.assign(importance=np.where(frames.importances["target"] == "escape",
                                                        np.nan, frames.importances["importance"]))
    ax = figures.importance_bars(nan, "escape", ax=Figure().add_subplot())
    assert {t.get_text() for t in ax.texts} == {"n/a"}


def test_gallery_has_one_panel_per_mode_with_its_median_trial_in_its_colour(frames):
    fig = figures.mode_gallery(frames.predictions, fig=Figure())
    picks = figures.representatives(frames.predictions)
    for ax, mode in zip(fig.axes, BEST_FIRST):
        assert ax.get_title().startswith(mode) and to_hex(
            ax.title.get_color()) == MODE_PALETTE[mode].lower()
        fit = [line for line in ax.lines if to_hex(line.get_color()) == MODE_PALETTE[mode].lower()]
        rows = frames.predictions[(frames.predictions["source"] == "trial")
                                  & (frames.predictions["number"] == picks.get(mode))]
        if mode == "diverged":  # nothing finite to draw, and the panel says so
            assert any("no finite prediction" in t.get_text() for t in ax.texts)
        else:
            assert len(fit) == 1 and np.allclose(fit[0].get_ydata(), rows["y"].dropna())
    shown = titles(svg_root(fig))
    assert {f"trial #{n} ({m}): value"
            for m, n in picks.items() if m != "diverged"} <= {t.rsplit(" ", 1)[0]
                                                              for t in shown}


def test_representatives_are_each_modes_median_trial(frames):
    picks = figures.representatives(frames.predictions)
    done = tidy.complete(frames.trials)
    assert set(picks) == set(done["mode"])
    for mode, number in picks.items():
        values = done.loc[done["mode"] == mode].sort_values(["value", "number"])
        assert values["number"].iloc[(len(values) - 1) // 2] == number


def test_function_space_shows_the_best_trial_the_baseline_and_the_target(frames):
    ax = figures.function_space(frames.predictions, ax=Figure().add_subplot())
    best = tidy.complete(frames.trials).sort_values("value").iloc[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"best trial #{best['number']}: fit, value {best['value']:.3g}" in labels
    assert "true target" in labels
    assert any(label.startswith("the question's config: linear") for label in labels)
    line = next(l for l in ax.lines if l.get_label().startswith("best trial"))
    assert to_hex(line.get_color()) == MODE_PALETTE["fit"].lower()


def test_learning_curves_draw_each_picked_run_with_reference_lines_and_say_when_a_loss_is_clipped(
        frames):
    fig = figures.learning_curves(frames.curves, REFS, fig=Figure())
    picks = figures.curve_picks(frames.curves)
    for ax, (mode, (runs, picked)) in zip(fig.axes, picks.items()):
        assert ax.get_yscale() == "log" and ax.get_title(
        ) == f"{mode} ({len(picked)} of {len(runs)})"
        runs_drawn = [l for l in ax.lines if to_hex(l.get_color()) == MODE_PALETTE[mode].lower()]
        assert len(runs_drawn) == len([1 for _, rows in picked if (rows["rel"] > 0).any()])
        for name, value in REFS.items():
            drawn = [l.get_ydata() for l in ax.lines if l.get_label() == name]
            assert len(drawn) == 1 and np.allclose(drawn[0], [value, value])
    diverged = fig.axes[BEST_FIRST.index("diverged")]
    assert any(f"drawn at {CURVE_CLIP:g}" in t.get_text() for t in diverged.texts)
    assert not any("drawn at" in t.get_text() for t in fig.axes[0].texts)
    numbers = {
        int(re.match(r"trial #(\d+)", t).group(1))
        for t in titles(svg_root(fig)) if t.startswith("trial #")
    }
    assert numbers == {
        n
        for _, (_, picked) in picks.items()
        for n, rows in picked if (rows["rel"] > 0).any()
    }


def test_ablation_path_draws_a_dot_per_seed_in_its_modes_colour_column_by_column():
    runs = path_runs()
    fig = Figure()
    ax = figures.ablation_path(runs, ax=fig.add_subplot())
    dots = ax.collections[0]
    assert [to_hex(c)
            for c in dots.get_facecolors()] == [MODE_PALETTE[m].lower() for m in runs["mode"]]
    xs = dots.get_offsets()[:, 0]
    assert np.all(np.abs(xs - runs["step"]) < 0.5) and [t.get_text() for t in ax.get_xticklabels()
                                                        ] == ["question", "+ lr 0.1", "+ tanh"]
    shown = [t for t in titles(svg_root(fig)) if ", seed " in t]
    assert shown == [
        f"{l}, seed {r}: {fmt(v)} ({m})"
        for l, r, v, m in zip(runs["label"], runs["repeat"], runs["value"], runs["mode"])
    ]


SINGLE_ROWS = {"one fit among linear": ["linear"] * 4 + ["fit"], "a single trial": ["underfit"]}
"""A sweep where a mode has exactly one trial, and one where every trial has one mode (issue 31)."""


def of_inputs(f, inputs: int):
    """``f`` as the frames of a study of ``inputs`` inputs: for two, held-out rows (the grid's) and
    a slice per input (the same), as a study of several inputs has them."""
    if inputs == 1:
        return f
    slices = pd.concat([f.predictions, f.predictions.assign(feature=1)], ignore_index=True)
    return dataclasses.replace(f, held_out=held_out(f), predictions=slices,
                               headline=f.headline | {"features": inputs})


@pytest.mark.parametrize("inputs", [1, 2])
@pytest.mark.parametrize("case", list(SINGLE_ROWS))
def test_a_mode_of_one_trial_is_drawn_in_every_figure_and_the_report(tmp_path, case, inputs):
    from sweeps.report.files import write_report
    from sweeps.results.handle import Sweep

    opt = synthetic(SINGLE_ROWS[case])
    base = tidy.build(opt)
    if inputs == 1:  # each figure function (those of several inputs make their frames from these)
        for draw in SINGLE.values():
            fig = Figure()
            assert draw(base, fig.add_subplot()) is not None
            svg_root(fig)
        for draw in MULTI.values():
            svg_root(draw(base, Figure()))
    f = of_inputs(base, inputs)
    page = write_report(Sweep("synthetic", None, None, tmp_path, None, None, opt), frames=f,
                        analysis=None).read_text()
    several = {"predicted_actual", "slices"}
    shown = {"modes_by_setting", "escape_lr_init_scale", "escape_width_depth", "gallery_by_mode",
             "learning_curves", "history"} | (several if inputs > 1 else {"function_space"})
    for name in shown:
        assert f'<figure id="fig-{name}">' in page, name

    def tips(name: str) -> list[str]:
        return titles(ElementTree.parse(tmp_path / "synthetic" / "figures" / f"{name}.svg").getroot())

    done = tidy.complete(f.trials)
    assert sum(t.startswith("trial #") for t in tips("history")) == len(done)
    modes = set(done["mode"]) - {"diverged"}  # a diverged net has no finite prediction to draw
    picks = figures.representatives(f.predictions)
    if inputs == 1:  # each mode's panel draws its trial (the only one, for some), with its numbers
        assert {f"trial #{picks[m]} ({m})" for m in modes} <= {
            t.split(":")[0] for t in tips("gallery_by_mode")}
    else:  # each held-out row a dot with its numbers: per mode, and the best trial's and the baseline's
        rows = len(X)
        assert sum(t.startswith("row ") for t in tips("gallery_by_mode")) == rows * len(modes)
        assert sum(t.startswith("row ") for t in tips("predicted_actual")) == 2 * rows

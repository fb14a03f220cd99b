"""sweeps.results.frames and the report page, from one small real sweep that ends in every mode."""

import base64
import dataclasses
import html
import json
import math
import pickle
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from xml.etree import ElementTree

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

import mlpcore
import sweeps
from mlpcore import MODES
from sweeps.results import frames as tidy
from mlpcore.atomic import replace_file
from sweeps.report import drawing, figures, files, kept
from sweeps.report import page as report_page
from sweeps.results.handle import find, open_sweep
from sweeps.store.masking import mask
from sweeps.store.records import CURVE_POINTS, study_attr
from sweeps.store.trialfiles import TrialFiles
from sweeps.report.style import MODE_PALETTE

MIXED_STUDY = """
import numpy as np
from optuna.distributions import CategoricalDistribution as C, FloatDistribution as F, IntDistribution as I
from mlpcore import MLPConfig
from studies import Study

def sample(rng):
    x = rng.uniform(0.0, 25.0, 80)
    return x, np.sin(x / 4) + 0.05 * rng.standard_normal(80)

STUDY = Study(name="mixed", title="sin(x/4) on [0, 25]", question="a test study that ends in every mode",
              target=lambda x: np.sin(x / 4), sample=sample, noise_sd=0.05, trials=16, steps=300,
              space={"lr": F(1e-4, 3.0, log=True), "width": I(2, 32, log=True), "depth": I(1, 2),
                     "init_scale": F(0.1, 10.0, log=True), "activation": C(["tanh", "relu"]),
                     "x_scaling": C(["standard", "none"]), "optimizer": C(["adam", "sgd"]), "batch_size": C([None, 8])},
              baseline=MLPConfig(hidden=(4,), activation="relu", x_scaling="none", y_scaling="standard",
                                 optimizer="sgd", lr=1e-4, steps=300))
"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """(study file, out folder, optuna study, frames, report path) of a 16-trial sweep and its report."""
    root = tmp_path_factory.mktemp("report")
    path = root / "mixed.py"
    path.write_text(MIXED_STUDY)
    opt = sweeps.run(str(path), trials=16, jobs=1, out=root / "results", progress=False)
    frames = tidy.build(opt, find(str(path)), TrialFiles.of(root / "results" / "mixed"))
    page = files.report(str(path), out=root / "results")
    return str(path), root / "results", opt, frames, page


def test_the_sweep_has_a_mix_of_modes(sweep):
    done = tidy.complete(sweep[3].trials)
    assert done["escaped"].any() and not done["escaped"].all() and done["mode"].nunique() >= 3


# --- frames ------------------------------------------------------------------------------------


def test_levers_count_every_completed_trial_once_per_parameter(sweep):
    _, _, opt, frames, _ = sweep
    done = tidy.complete(tidy.explored(frames.trials))  # the exploration trials, drawn at random
    for param, rows in frames.levers.groupby("param"):
        assert rows["trials"].sum() == len(done), param
        assert rows["escaped"].sum() == done["escaped"].sum(), param
        assert (rows[list(MODES)].sum(axis=1) == rows["trials"]).all(), param
    # batch_size None is "full", and the counts match the params as Optuna stored them
    stored = [t.params["batch_size"] for t in opt.trials if t.state.name == "COMPLETE" and t.user_attrs.get("explore")]
    rows = frames.levers[frames.levers["param"] == "batch_size"].set_index("value")["trials"]
    assert rows.to_dict() == {"full": stored.count(None), "8": stored.count(8)}


@pytest.mark.parametrize("which", ["every trial", "exploration trials", "first five", "none"])
def test_each_levers_row_holds_the_numbers_of_its_values_trials(sweep, which):
    """Row by row, what pandas' groupby gives for each value (or bin) of each setting, empty ones
    too: trials, escaped, escape rate, best and median value, the trials of each mode."""
    _, _, opt, frames, _ = sweep
    trials = {"every trial": frames.trials, "exploration trials": tidy.explored(frames.trials),
              "first five": frames.trials.iloc[:5], "none": frames.trials.iloc[:0]}[which]
    settings = tidy.settings_frame(trials, frames.space)
    levers = tidy.levers_frame(opt, trials).set_index(["param", "value"])
    expected = 0
    for param in frames.space:
        for label, group in settings.groupby(param, observed=False, sort=True):
            row = levers.loc[(param, str(label))]
            assert row["trials"] == len(group) and row["escaped"] == group["escaped"].sum()
            for column, want in (("escape_rate", group["escaped"].mean() if len(group) else np.nan),
                                 ("best_value", group["value"].min()),
                                 ("median_value", group["value"].median())):
                assert row[column] == want or (np.isnan(row[column]) and np.isnan(want)), column
            counts = group["mode"].value_counts()
            assert [row[m] for m in MODES] == [counts.get(m, 0) for m in MODES]
            expected += 1
    assert len(levers) == expected


def test_headline_numbers_are_what_the_frames_say(sweep):
    _, _, opt, frames, _ = sweep
    h, done = frames.headline, tidy.complete(frames.trials)
    best = done.loc[done["value"].idxmin()]
    assert h["trials"] == len(done) == 16 and h["failed"] == 0
    assert h["escaped"] == (done["mode"] == "fit").sum() and h["escape_share"] == pytest.approx(h["escaped"] / 16)
    assert h["modes"] == done["mode"].value_counts().reindex(list(MODES), fill_value=0).to_dict()
    assert h["best_value"] == best["value"] and h["best_number"] == best["number"] and h["best_mode"] == best["mode"]
    assert h["best_config"] == opt.trials[h["best_number"]].user_attrs["config"]
    base = study_attr(opt, "baseline")
    assert h["line_value"] == pytest.approx(base["metrics"]["line_mse"] / base["metrics"]["var_y"])
    assert h["noise_value"] == pytest.approx(0.05**2 / opt.user_attrs["var_y_val"])
    assert h["baseline_value"] == base["value"] and h["baseline_mode"] == base["mode"]


def test_lever_sentences_quote_the_levers_frame(sweep):
    opt, trials = sweep[2], sweep[3].trials
    levers = tidy.levers_frame(opt, trials)  # every trial: none of this sweep's 15 exploration trials escaped
    h = tidy.headline(opt, trials, levers)
    assert h["levers"], "a 16-trial sweep has values with 5 trials to compare"
    for lever in h["levers"]:
        rows = levers[(levers["param"] == lever["param"]) & (levers["trials"] >= 5)]
        quoted = re.findall(r"(\d+)% escape \(n=(\d+)\)|: (\d+)% \(n=(\d+)\)", lever["sentence"])
        for match in quoted:
            pct, n = [int(v) for v in match if v]
            assert any(r.trials == n and round(100 * r.escape_rate) == pct for r in rows.itertuples()), lever
    # without the analysis (no swap test) the page labels the raw shares untested, never "what decides it"
    glance = report_page.headline_html(h)
    assert "Raw escape shares, not tested" in glance and "What decides it" not in glance
    assert all(f"<li>{lever['sentence']}</li>" in glance for lever in h["levers"][:4])


def test_the_intermediate_values_are_points_of_the_curves(sweep):
    _, _, opt, frames, _ = sweep
    c = frames.curves
    for t in opt.trials[:4]:
        val = c[(c["source"] == "trial") & (c["number"] == t.number) & (c["split"] == "val")].dropna(subset=["rel"])
        reported = dict(t.intermediate_values)  # a few points, for optuna-dashboard: the whole curve is in the file
        assert len(reported) == min(CURVE_POINTS, len(val)) and max(reported) == val["step"].max()
        assert {s: v for s, v in zip(val["step"], val["rel"]) if s in reported} == pytest.approx(reported)
    assert set(c["source"]) == {"trial", "baseline"} and set(c["split"]) == {"train", "val"}


def test_predictions_hold_the_target_baseline_and_every_trial_on_the_grid(sweep):
    _, _, opt, frames, _ = sweep
    p = frames.predictions
    grid = study_attr(opt, "grid")
    assert p.loc[p["source"] == "target", "y"].tolist() == grid["y"]
    assert p.loc[p["source"] == "baseline", "mode"].unique().tolist() == [study_attr(opt, "baseline")["mode"]]
    t = opt.trials[3]
    mine = p[(p["source"] == "trial") & (p["number"] == 3)]
    assert mine["x"].tolist() == grid["x"]
    stored = TrialFiles.of(sweep[1] / "mixed").read(t.number)["grid_pred"]
    assert np.allclose(mine["y"], [np.nan if v is None else v for v in stored], equal_nan=True)
    assert p.loc[p["source"] == "trial", "number"].nunique() == 16


def test_importances_cover_the_space_sum_to_one_and_repeat(sweep):
    _, _, opt, frames, _ = sweep
    imp = frames.importances
    assert set(imp["param"]) == set(tidy.search_space(opt)) and set(imp["target"]) == {"objective", "escape"}
    for target, rows in imp.groupby("target"):
        assert rows["importance"].sum() == pytest.approx(1.0), target
    pd.testing.assert_frame_equal(tidy.importances_frame(opt), imp)


def test_settings_frame_bins_numbers_as_the_levers_do(sweep):
    frames = sweep[3]
    s = frames.settings
    assert list(s["lr"].cat.categories) == ["1e-4–0.001", "0.001–0.01", "0.01–0.1", "0.1–1", "1–10"]
    lr = tidy.complete(frames.trials)["params_lr"].to_numpy()
    low = np.array([float(str(label).split("–")[0]) for label in s["lr"]])
    assert np.all((low <= lr) & (lr < low * 10))


# --- bins, labels, ranking (no sweep) ----------------------------------------------------------


@pytest.mark.parametrize(
    "dist, labels",
    [
        pytest.param(FloatDistribution(1e-6, 1.0, log=True), ["1e-6–1e-5", "1e-5–1e-4", "1e-4–0.001", "0.001–0.01",
                                                               "0.01–0.1", "0.1–1"], id="log-float-decades"),
        pytest.param(IntDistribution(1, 128, log=True), ["1", "2–3", "4–7", "8–15", "16–31", "32–63", "64–128"],
                     id="log-int-powers-of-two"),
        pytest.param(IntDistribution(1, 3), ["1", "2", "3"], id="small-int-each-value"),
        pytest.param(FloatDistribution(0.0, 1.0), ["0–0.2", "0.2–0.4", "0.4–0.6", "0.6–0.8", "0.8–1"], id="linear-float"),
    ],
)
def test_bins_read_well_and_cover_the_range(dist, labels):
    edges = tidy.bin_edges(dist)
    assert tidy.bin_labels(edges, isinstance(dist, IntDistribution)) == labels
    assert edges[0] <= dist.low and edges[-1] >= dist.high


def test_choice_labels_undo_what_pandas_does_to_categorical_params():
    frame = pd.DataFrame({"params_batch_size": [None, 1, 8, 32], "params_bias": [True, False, True, True]})
    assert tidy.choice_labels(frame["params_batch_size"], "batch_size", [None, 1, 8, 32]) == ["full", "1", "8", "32"]
    assert tidy.choice_labels(frame["params_bias"], "bias", [True, False]) == ["True", "False", "True", "True"]
    assert tidy.choice_labels([1.0, True], "x", [True, 1]) == ["1", "True"]  # True == 1, but a bool is not an int


def test_lever_ranking_discounts_small_counts_and_skips_rare_values():
    levers = pd.DataFrame([
        {"param": "a", "kind": "categorical", "value": "good", "trials": 50, "escaped": 40},
        {"param": "a", "kind": "categorical", "value": "bad", "trials": 5, "escaped": 0},
        {"param": "b", "kind": "categorical", "value": "good", "trials": 50, "escaped": 40},
        {"param": "b", "kind": "categorical", "value": "bad", "trials": 50, "escaped": 0},
        {"param": "c", "kind": "numeric", "value": "1–10", "trials": 50, "escaped": 40},
        {"param": "c", "kind": "numeric", "value": "10–100", "trials": 4, "escaped": 0},
    ]).assign(escape_rate=lambda f: f["escaped"] / f["trials"])
    ranking = tidy.lever_ranking(levers)
    assert ranking["param"].tolist() == ["b", "a"]  # same raw spread, b has the evidence; c has one value with 5+
    assert ranking.loc[0, "spread"] == pytest.approx(0.8)
    assert tidy.lever_sentence(ranking.iloc[0]) == "b=good: 80% escape (n=50); bad: 0% (n=50)"


def test_a_study_with_no_completed_trial_has_no_frames(tmp_path):
    import optuna

    opt = optuna.create_study(study_name="empty")
    with pytest.raises(ValueError, match="sweep 'empty' has no completed trial yet"):
        tidy.build(opt)


# --- the page ----------------------------------------------------------------------------------


SVG = "{http://www.w3.org/2000/svg}"


def embedded_pngs(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


def embedded_svgs(text: str) -> list[str]:
    return re.findall(r'<figure id="fig-\w+">(<svg .*?</svg>)<figcaption>', text, re.S)


def test_every_figure_is_embedded_saved_and_not_blank(sweep):
    page = sweep[4]
    text = page.read_text()
    assert embedded_pngs(text) == [] and not list((page.parent / files.FIGURES_DIR).glob("*.png"))
    svgs = embedded_svgs(text)  # every figure matplotlib's SVG, inline
    svg_files = {f.stem: f.read_bytes() for f in (page.parent / files.FIGURES_DIR).glob("*.svg")}
    drawn = re.findall(r'<figure id="fig-(\w+)">', text)  # page order
    assert len(drawn) >= 8 and sorted(svg_files) == sorted(drawn)
    assert [svg.encode() for svg in svgs] == [svg_files[name] for name in drawn]  # the same bytes
    for svg in svgs:
        root = ElementTree.fromstring(svg)  # well-formed, drawn on, text kept as text, numbers on hover
        assert len([e for e in root.iter() if e.tag == f"{SVG}path"]) >= 5
        assert root.find(f".//{SVG}text") is not None and root.find(f".//{SVG}title") is not None
    ids = re.findall(r' id="([^"]+)"', "".join(svgs))
    assert len(ids) == len(set(ids))  # no id twice in the page
    assert (page.parent / "trials.csv").is_file()


def test_the_pages_figures_give_each_trials_numbers_on_hover(sweep):
    """The history's dots are the completed trials, each titled with its number, value and mode; the width x depth
    heatmap's cells give the share and the trials of the frames."""
    frames, text = sweep[3], sweep[4].read_text()
    svgs = dict(zip(re.findall(r'<figure id="fig-(\w+)">', text), embedded_svgs(text)))
    done = tidy.complete(frames.trials).sort_values("number")
    shown = [t.text for t in ElementTree.fromstring(svgs["history"]).iter(f"{SVG}title")
             if t.text.startswith("trial #")]
    assert shown == [f"trial #{n}: {report_page.fmt(v)} ({m})" for n, v, m in zip(done["number"], done["value"],
                                                                                   done["mode"])]
    cells = [t.text for t in ElementTree.fromstring(svgs["escape_width_depth"]).iter(f"{SVG}title")
             if t.text.startswith("depth ")]
    rate, count = figures.escape_cells(frames.settings, "width", "depth")
    assert len(cells) == rate.size
    for cell in cells:
        depth, width, rest = re.fullmatch(r"depth (\S+), width (\S+): (.*)", cell).groups()
        n = int(count.loc[depth, width])
        assert rest == (f"{rate.loc[depth, width]:.0%} of {n} trial{'s' * (n != 1)} escaped" if n else "no trial")


def test_a_report_leaves_matplotlibs_settings_and_optunas_verbosity_as_they_were(sweep):
    import matplotlib

    from sweeps.cli import main

    path, out = sweep[:2]
    before, verbosity = dict(matplotlib.rcParams), optuna.logging.get_verbosity()
    assert main(["report", path, "--out", str(out)]) == 0
    assert dict(matplotlib.rcParams) == before and optuna.logging.get_verbosity() == verbosity


def test_the_page_is_self_contained(sweep):
    text = sweep[4].read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text) and "<link" not in text and "<script src" not in text
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")


def test_the_page_states_the_headline_numbers(sweep):
    h = sweep[3].headline
    text = sweep[4].read_text()
    assert f'<div class="big">{h["escape_share"]:.0%}</div>' in text
    assert f'<div class="big">{report_page.fmt(h["best_value"])}</div>' in text
    assert f'<div class="big">{h["trials"]}</div>' in text
    assert f"{h['escaped']} of {h['trials']} trials ended" in text
    assert h["repeats"] == 3 and "each the median of 3 init seeds" in text  # the study's default
    for lever in h["levers"][:4]:
        assert f"<li>{lever['sentence']}</li>" in text


def test_one_colour_per_mode_on_the_page(sweep):
    text = sweep[4].read_text()
    found = re.findall(r'class="mode(?:-| mode-)(\w+)" style="(?:width:[\d.]+%;)?background:(#[0-9A-Fa-f]{6})', text)
    assert {m for m, _ in found} >= set(tidy.complete(sweep[3].trials)["mode"])
    for mode, colour in found:
        assert colour == MODE_PALETTE[mode], mode


def test_the_page_gives_the_best_config_and_the_line_that_reuses_it(sweep):
    path, out, opt, frames, page = sweep
    text = page.read_text()
    shown = re.search(r'<pre id="best-config">(.*?)</pre>', text, re.S).group(1)
    cfg = mlpcore.MLPConfig.from_json(shown.replace("&quot;", '"'))
    assert cfg.to_dict() == sweeps.best_config(path, out=out).to_dict()
    assert f"cfg = sweeps.best_config({path!r}, out={str(out)!r})".replace("'", "&#x27;") in text


def test_headline_json_beside_the_page_matches(sweep):
    stored = json.loads((sweep[4].parent / "headline.json").read_text())
    h = sweep[3].headline
    assert stored["best_value"] == h["best_value"] and stored["modes"] == h["modes"]
    assert all(math.isfinite(stored[k]) for k in ("line_value", "noise_value", "escape_share"))


def test_the_footer_lists_every_run_of_the_sweep(sweep):
    """Runs are stored as ``run:<id>`` attributes; the footer read a ``runs`` key and was always empty."""
    path, out, opt, frames, page = sweep
    footer = re.search(r"<footer>.*</footer>", page.read_text(), re.S).group(0)
    items = re.findall(r"<li><code>(.*?)</code>", footer)
    recorded = [v["command"] for k, v in opt.user_attrs.items() if k.startswith("run:")]
    assert len(items) == len(recorded) == 1
    assert items[0] == html.escape(mask(recorded[0]))


def test_a_process_with_no_other_thread_draws_in_forked_processes_and_one_with_threads_does_not():
    # In a process of its own: under pytest-xdist this one runs threads.
    code = "from sweeps.report import drawing; import os; print(drawing.drawing_processes(), len(os.sched_getaffinity(0)))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    default, cores = map(int, r.stdout.split())
    assert default == min(cores, drawing.MAX_DRAWING_PROCESSES)
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert drawing.drawing_processes() == 1
    finally:
        release.set()
        other.join()


def test_every_output_file_is_replaced_atomically(sweep, monkeypatch):
    import mlpcore.atomic

    written = []

    def spy(path, data, **kw):
        written.append(path.name)
        return mlpcore.atomic.replace_file(path, data, **kw)

    monkeypatch.setattr(files, "replace_file", spy)
    monkeypatch.setattr(kept, "replace_file", spy)
    path, out, opt = sweep[:3]
    # figures kept from the last report are read back, not written: these are drawn again
    (out / opt.study_name / files.FIGURES_DIR / kept.DRAWN_NAME).unlink(missing_ok=True)
    files.write_all(out=out)
    files.write_outputs(open_sweep(path, out=out), tidy.trials_frame(opt))
    figures = {f.name for f in (out / opt.study_name / files.FIGURES_DIR).iterdir()}
    assert {"report.html", "headline.json", "trials.csv", "index.html", "best.json"} | figures <= set(written)
    assert len(figures) >= 7


def written_page(path) -> str:
    """A report page without the time it was written."""
    return re.sub(r"Report written [^<]*", "", path.read_text())


def test_a_report_of_what_the_last_report_drew_from_reads_its_figures_back(sweep, tmp_path, monkeypatch):
    """The same frames, analysis and code: the figures of figures/ are read back, not drawn, and the
    page is the same; a figure file changed since, or other frames, and they are drawn again."""
    path, out, opt = sweep[:3]
    folder = tmp_path / "results"
    shutil.copytree(out, folder)
    first = files.report(path, out=folder)  # the figures it draws, or kept from the sweep's report
    page, figures_dir = written_page(first), first.parent / files.FIGURES_DIR
    svgs = {f.name: f.read_bytes() for f in figures_dir.glob("*.svg")}

    def undrawable(*args, **kwargs):
        raise AssertionError("drawn again")

    table = folder / opt.study_name / files.TRIALS_NAME
    written = []
    with monkeypatch.context() as m:
        m.setattr(files, "begin_drawing", undrawable)
        m.setattr(files, "replace_file", lambda p, data: written.append(p.name) or replace_file(p, data))
        assert written_page(files.report(path, out=folder)) == page
        assert files.TRIALS_NAME not in written and files.REPORT_NAME in written  # the same table: kept
        csv = table.read_bytes()
        table.write_bytes(csv.replace(b"COMPLETE", b"complete"))  # changed since: written again, the same
        files.report(path, out=folder)
        assert written.count(files.TRIALS_NAME) == 1 and table.read_bytes() == csv
    assert {f.name: f.read_bytes() for f in figures_dir.glob("*.svg")} == svgs
    (figures_dir / "history.svg").write_bytes(svgs["history.svg"].replace(b"trial #", b"trial no. "))
    drawn = []
    real = files.begin_drawing
    monkeypatch.setattr(files, "begin_drawing", lambda *a, **k: drawn.append(1) or real(*a, **k))
    assert written_page(files.report(path, out=folder)) == page and drawn == [1]
    assert (figures_dir / "history.svg").read_bytes() == svgs["history.svg"]
    fewer = open_sweep(path, out=folder)
    frames = tidy.build(fewer.study, fewer.definition, fewer.files)
    files.write_report(fewer, frames=dataclasses.replace(frames, trials=frames.trials.iloc[:-1]))
    assert drawn == [1, 1]


def test_importances_of_the_same_trials_are_read_back_and_of_others_computed(sweep, tmp_path, monkeypatch):
    """A sweep's folder keeps its importances with the key of the trials they are of: the same trials read
    them back (no optuna.importance, which imports scikit-learn where it is installed), the same frame;
    a kept file of another shape is computed again, and another trial's value changes the key."""
    path, out, opt = sweep[:3]
    folder = tmp_path / "results"
    shutil.copytree(out, folder)
    (folder / "mixed" / tidy.IMPORTANCES_NAME).unlink(missing_ok=True)
    stored = open_sweep(path, out=folder)
    computed = []
    real = tidy._importance_rows
    monkeypatch.setattr(tidy, "_importance_rows", lambda *a: computed.append(1) or real(*a))
    first = tidy.build(stored.study, stored.definition, stored.files).importances
    assert computed == [1] and (folder / "mixed" / tidy.IMPORTANCES_NAME).is_file()
    again = tidy.build(stored.study, stored.definition, stored.files).importances
    assert computed == [1]
    assert pickle.dumps(again) == pickle.dumps(first)  # the same bytes: the figures kept from them found again
    pd.testing.assert_frame_equal(first, tidy.importances_frame(stored.study))  # nothing kept: computed
    (folder / "mixed" / tidy.IMPORTANCES_NAME).write_text('{"key": 1}')
    pd.testing.assert_frame_equal(tidy.build(stored.study, stored.definition, stored.files).importances, first)
    assert computed == [1, 1, 1]
    trials = tidy.trials_frame(stored.study)
    settings = tidy.settings_frame(trials, tidy.search_space(stored.study))
    first_done = trials.index[trials["state"] == "COMPLETE"][0]
    moved = trials.copy()
    moved.loc[first_done, "value"] *= 2
    other = trials.copy()
    other.loc[first_done, "params_lr"] *= 2  # a param's value, its bin the same
    key = tidy._importances_key(trials, settings)
    assert key == tidy._importances_key(trials.copy(), settings)
    assert key != tidy._importances_key(moved, settings) and key != tidy._importances_key(other, settings)


def test_a_live_page_says_running_and_reloads_and_the_final_one_does_not(sweep, tmp_path):
    from sweeps.report.live import LiveReport

    path, out, opt = sweep[:3]
    live = LiveReport(path, out=out, total=40)
    page = live.poke()  # what the background thread does every interval
    text = page.read_text()
    done = len(tidy.complete(sweep[3].trials))
    assert re.search(rf'<p class="live" id="live">running: {done} of 40 trials, updated \d\d:\d\d:\d\d', text)
    assert '<meta http-equiv="refresh"' in text
    history = re.search(r'<figure id="fig-history">(<svg .*?</svg>)</figure>', text, re.S).group(1)
    root = ElementTree.fromstring(history)  # the report's own history figure, its x axis to the sweep's total
    assert len([t for t in root.iter(f"{SVG}title") if t.text.startswith("trial #")]) == done
    assert "40" in [t.text.strip() for t in root.iter(f"{SVG}text") if t.text]
    final = files.report(path, out=out).read_text()
    assert "running:" not in final and 'http-equiv="refresh"' not in final


def test_one_process_rewrites_the_page_as_the_sweep_grows_and_the_final_page_replaces_it(tmp_path):
    """It exists mid-run and ends up final: the page says each stage's count of trials, and after the sweep
    the full page, with no banner and no reload, replaces it."""
    from sweeps.report.live import LiveReport
    from sweeps.pipeline import finish

    path = tmp_path / "mixed.py"
    path.write_text(MIXED_STUDY)
    out = tmp_path / "results"
    page = out / "mixed" / files.REPORT_NAME

    def shown() -> str:
        return page.read_text() if page.exists() else ""

    with LiveReport(str(path), out=out, total=8, interval=0.05, start_after=0) as live:
        for stage in (4, 8):  # the sweep runs in two parts; the page follows each
            opt = sweeps.run(str(path), trials=stage, jobs=1, out=out, progress=False)
            deadline = time.monotonic() + 120
            while (f"running: {stage} of 8 trials" not in shown() or live.rewrites < stage // 4) \
                    and time.monotonic() < deadline:  # the page replaced, and the process's line about it read
                time.sleep(0.05)
            assert f"running: {stage} of 8 trials" in shown()
        process = live._process
    assert live.rewrites >= 2 and live.busy > 0 and 0 < live.first  # one process, its CPU seconds said
    assert process.returncode in (143, -signal.SIGTERM)
    ended = shown()  # until the final page: the banner no longer says a count that has stopped being true
    assert "running:" not in ended and re.search(r"the sweep ended at \d\d:\d\d:\d\d", ended)
    assert 'http-equiv="refresh"' in ended and "Every trial so far" in ended
    assert live.mark_ended() is None and shown() == ended  # not a running page any more: left alone
    finish(open_sweep(str(path), out=out))
    final = shown()
    assert "running:" not in final and 'http-equiv="refresh"' not in final and 'id="fig-history"' in final
    assert live.mark_ended() is None and shown() == final  # the final page is never touched


def test_the_rewriting_process_ends_with_its_driver_and_leaves_no_temporary_file(sweep):
    """Its stdin closed (the driver gone, even killed), it ends by itself; closed mid-import, by SIGTERM."""
    from sweeps.report.live import LiveReport

    path, out, opt = sweep[:3]
    folder = out / opt.study_name
    live = LiveReport(path, out=out, total=40, interval=0.05, start_after=0).start()
    live._process.stdin.close()  # what the driver's end does to it
    assert live._process.wait(timeout=120) == 0
    live.close()
    # closed while it imports
    with LiveReport(path, out=out, total=40, interval=0.05, start_after=0) as live:
        time.sleep(0.3)
    # SIGTERM: through sys.exit(143) and the files' cleanup, or (still importing) before it had written anything
    assert live._process.returncode in (143, -signal.SIGTERM) and live.rewrites == 0
    assert not list(folder.rglob("*.tmp"))


def test_a_sweep_that_ends_before_the_page_starts_has_no_running_page_and_no_process(sweep):
    """The rewriting process starts start_after seconds into the sweep: a sweep closed before then
    leaves no process behind and the page as it was; one closed after it was started is ended as
    before."""
    from sweeps.report.live import START_AFTER, LiveReport

    path, out, opt = sweep[:3]
    page = out / opt.study_name / files.REPORT_NAME
    before = page.read_bytes()
    assert START_AFTER > 0 and LiveReport(path, out=out).start_after == START_AFTER
    with LiveReport(path, out=out, total=40, interval=0.05, start_after=30) as live:
        time.sleep(0.2)
    assert live._process is None and live.rewrites == 0 and page.read_bytes() == before
    with LiveReport(path, out=out, total=40, interval=0.05, start_after=0.2) as live:
        deadline = time.monotonic() + 120
        while live._process is None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert live._process is not None and live._process.returncode is not None
    page.write_bytes(before)  # the module's sweep as the other tests read it


def test_no_page_is_written_before_the_sweep_is_stored(tmp_path):
    """The process starts before the driver creates the sweep: it looks, and writes nothing, until it exists."""
    from sweeps.report.live import LiveReport

    live = LiveReport("sqrt", out=tmp_path, total=5)
    assert live.poke() is None
    assert not list(tmp_path.iterdir())  # not even a journal or a folder


def test_importances_without_contrast_say_so_instead_of_a_number():
    """A setting the sampler kept at one value in most trials, and that PED-ANOVA scores 0, has no contrast."""
    from optuna.distributions import CategoricalDistribution as C, FloatDistribution as F

    from matplotlib.figure import Figure

    from sweeps.space import space_to_json

    space = {"lr": F(1e-4, 1.0, log=True), "x_scaling": C(["standard", "none"])}
    opt = optuna.create_study()
    opt.set_user_attr("space", space_to_json(space))
    rng = np.random.default_rng(0)
    for i in range(50):
        lr = float(10 ** rng.uniform(-4, 0))
        mode = "fit" if lr > 0.01 else "linear"  # only lr decides; x_scaling is "standard" in 45 of 50 trials
        opt.add_trial(optuna.trial.create_trial(params={"lr": lr, "x_scaling": "none" if i % 10 == 0 else "standard"},
                                                distributions=space, value=1 / (1 + 100 * lr),
                                                user_attrs={"mode": mode}))
    imp = tidy.importances_frame(opt).set_index(["target", "param"])
    for target in ("objective", "escape"):
        row = imp.loc[(target, "x_scaling")]
        assert row["importance"] < tidy.NO_CONTRAST_SCORE and not row["contrast"]
        assert tidy.no_contrast_text(row) == "no contrast: the sampler chose standard in 90% of trials"
        assert imp.loc[(target, "lr"), "contrast"] and imp.loc[(target, "lr"), "importance"] > 0.5
    ax = figures.importance_bars(imp.reset_index(), "escape", ax=Figure().add_subplot())
    texts = [t.get_text() for t in ax.texts]
    assert "no contrast: the sampler chose standard in 90% of trials" in texts and "0.00" not in texts

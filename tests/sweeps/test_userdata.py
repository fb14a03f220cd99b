"""Your own data: a table or arrays in, a sweep whose workers and later commands see the same study."""

import io
import re
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

import studies
import sweeps
from mlpcore import MLPConfig
from sweeps.results import handle as userdata
from sweeps.search.progress import Progress
from sweeps.store.records import study_attr
from sweeps.store.trialfiles import TrialFiles

from conftest import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUICK = dict(trials=3, repeats=1, jobs=1, progress=False)


def table(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def rows(n=30):
    x = np.linspace(-1, 1, n)
    return "a,b,y\n" + "".join(f"{u},{-u},{u * u}\n" for u in x)


@pytest.mark.parametrize("text, args, message", [
    (rows(), ["--x", "a,c", "--y", "y"], "has no column(s) ['c']; its columns: ['a', 'b', 'y']"),
    (rows(), ["--x", "a", "--y", "a"], "column 'a' is both an input (--x) and the target (--y)"),
    (rows(), ["--x", "a,a", "--y", "y"], "--x names a column twice"),
    (rows().replace("-1.0,1.0", "-1.0,one", 1), ["--x", "a,b", "--y", "y"],
     "column 'b' of '{path}' is not numeric: row 1 holds 'one'"),
    (rows().replace("-1.0,1.0", "-1.0,", 1), ["--x", "a,b", "--y", "y"],
     "column 'b' of '{path}' has a missing or non-finite value at row 1"),
    (rows(5), ["--x", "a", "--y", "y"], "needs at least 10 rows, got 5"),
    (rows(), ["--x", "a", "--y", "y", "--val-fraction", "1.5"], "--val-fraction must be a number between 0 and 1"),
    (rows(), ["--x", "a", "--y", "y", "--baseline", "nope.json"], "config file 'nope.json' does not exist"),
    (rows(), ["--y", "y"], "a data file needs its columns: run"),
])
def test_bad_tables_are_one_line_and_exit_2_with_nothing_written(tmp_path, capsys, text, args, message):
    path = table(tmp_path, text)
    out = tmp_path / "results"
    assert main(["run", path, *args, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.format(path=path) in err, err
    assert not out.exists()


def test_a_missing_parquet_engine_is_named(tmp_path, monkeypatch, capsys):
    def no_engine(*a, **k):
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow', 'fastparquet'.")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    path = table(tmp_path, "", name="data.parquet")
    assert main(["run", path, "--x", "a", "--y", "y"]) == 2
    assert capsys.readouterr().err == "error: reading Parquet needs pyarrow: pip install 'sweeps-mlpcore[parquet]' (or pip install pyarrow)\n"


def test_a_table_becomes_a_study_named_after_the_file(tmp_path):
    s = studies.from_table(str(EXAMPLES / "surface.csv"), ["x1", "x2"], "y")
    assert s.name == "surface" and s.data().x_train.shape == (320, 2) and s.target is None
    assert s.title == "y from x1, x2 (400 rows)"  # the page's heading reads "surface: y from x1, x2 (400 rows)"
    one = studies.from_table(str(EXAMPLES / "sqrt_data.csv"), ["x"], "y", baseline=EXAMPLES / "sqrt_config.json",
                                    val_fraction=0.25)
    assert one.data().x_val.shape == (75,) and one.baseline.lr == 1e-6 and one.baseline.x_scaling == "none"


def test_a_study_object_runs_in_worker_processes_and_writes_every_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (60, 2))
    mine = studies.Study.from_arrays("mine", x, x[:, 0] ** 2 - x[:, 1], steps=60, space={"lr": True, "width": (2, 8)},
                                     baseline=MLPConfig(hidden=(3,), lr=0.05, steps=60))
    opt = sweeps.run(mine, out=tmp_path, report=True, explain=False, **(QUICK | {"jobs": 2}))
    folder = tmp_path / "mine"
    assert {"journal.log", "study.npz", "best.json", "trials.csv", "report.html"} <= {p.name for p in folder.iterdir()}
    t = opt.best_trial
    stored = TrialFiles.of(folder).read(t.number)  # what is large is in the trial's file, not in the journal
    assert len(stored["val_pred"]) == 12 and len(stored["grid_pred"]) == 200
    assert study_attr(opt, "grid")["y"] is None and opt.user_attrs["study"]["features"] == 2
    assert opt.metric_names == ["val_mse_over_var_y"]
    # JSON text, which optuna-dashboard shows whole (a JSON value longer than 1024 characters it cuts)
    assert isinstance(opt.user_attrs["space"], str) and isinstance(study_attr(opt, "space")["lr"], dict)
    # Later commands find the study by its name, through the snapshot.
    assert userdata.find("mine", tmp_path).fingerprint() == mine.fingerprint()
    assert sweeps.best_config("mine", out=tmp_path) == MLPConfig.from_dict(t.user_attrs["config"])
    # Other data under the same name is refused, and nothing is changed.
    before = (folder / "study.npz").read_bytes()
    other = studies.Study.from_arrays("mine", x, x[:, 1], steps=60)
    with pytest.raises(ValueError, match="holds study 'mine' with other data or settings"):
        sweeps.run(other, out=tmp_path, **QUICK)
    assert (folder / "study.npz").read_bytes() == before


def test_a_study_object_never_joins_a_sweep_of_another_study_of_its_name(tmp_path):
    sweeps.run("sqrt", out=tmp_path, **(QUICK | {"trials": 1}))
    journal = (tmp_path / "sqrt" / "journal.log").read_bytes()
    x = np.linspace(0, 1, 30)
    with pytest.raises(ValueError, match="holds a sweep of another study named 'sqrt'"):
        sweeps.run(studies.Study.from_arrays("sqrt", x, x**2), out=tmp_path, **QUICK)
    assert (tmp_path / "sqrt" / "journal.log").read_bytes() == journal and not (tmp_path / "sqrt" / "study.npz").exists()


def test_the_baseline_is_trained_exactly_as_declared(tmp_path):
    base = MLPConfig(hidden=(3,), lr=0.05, steps=40, momentum=0.3, patience=None)
    mine = studies.Study.from_arrays("asis", np.linspace(0, 1, 30), np.linspace(0, 1, 30) ** 2, baseline=base,
                                     steps=50, patience=5)
    opt = sweeps.run(mine, out=tmp_path, **QUICK)
    stored = study_attr(opt, "baseline")["config"]
    assert stored == base.replace(seed=stored["seed"]).to_dict()
    assert opt.trials[0].user_attrs["config"]["patience"] == 5  # search trials take the study's budget


def test_list_shows_custom_sweeps_with_trials_done_of_the_budget(tmp_path, capsys):
    mine = studies.Study.from_arrays("custom_one", np.linspace(0, 1, 30), np.linspace(0, 1, 30) ** 2, steps=30,
                                     title="my own data")
    sweeps.run(mine, out=tmp_path, **QUICK)
    assert main(["list", "--out", str(tmp_path)]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("custom_one"))
    assert line.split()[1] == "3/3" and line.endswith("my own data")


def test_the_csv_command_in_one_go(tmp_path, capsys):
    surface = pd.read_csv(EXAMPLES / "surface.csv").head(40)  # the example's first rows: a quick sweep
    path = tmp_path / "surface.csv"
    surface.to_csv(path, index=False)
    args = ["--x", "x1,x2", "--y", "y", "--trials", "3", "--repeats", "1", "--jobs", "1", "--out", str(tmp_path),
            "--no-report"]
    assert main(["run", str(path), *args]) == 0
    out = capsys.readouterr().out
    assert "study surface: 3/3 trials complete" in out and (tmp_path / "surface" / "trials.csv").is_file()
    assert main(["best", "surface", "--out", str(tmp_path)]) == 0
    assert MLPConfig.from_json(capsys.readouterr().out).to_dict() == json.loads(
        (tmp_path / "surface" / "best.json").read_text())["config"]
    assert main(["diagnose", "surface", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("surface: the engine's default config (no baseline config was given)")
    # explain finds the study through its snapshot, in its own process and in the workers
    assert main(["explain", "surface", "--out", str(tmp_path), "--repeats", "1", "--jobs", "1"]) == 0
    assert capsys.readouterr().out.startswith("surface: Trained as you trained it (2,000 full-batch steps, lr 0.01), "
                                              "from 1 fresh init seed, your config ends ")
    assert sweeps.explain("surface", out=tmp_path, repeats=1, jobs=1).overview["study"].tolist() == ["surface"]


def test_progress_counts_trials_done_before_and_gives_a_rate(tmp_path):
    opt = sweeps.run("sqrt", out=tmp_path, **(QUICK | {"trials": 2}))
    stream = io.StringIO()
    bar = Progress(opt, 10, enabled=True, done=2, stream=stream)
    assert "2/10 trials" in bar.line(5.0) and "trials/s" not in bar.line(5.0)
    bar.done = 6
    line = bar.line(8.0)
    assert "6/10 trials" in line and "0.5 trials/s, ETA 8s" in line  # 4 trials in 8 s, 4 left


def test_progress_stays_off_when_stderr_is_not_a_terminal_and_counts_from_the_resume(tmp_path, capfd):
    sweeps.run("sqrt", out=tmp_path, trials=2, repeats=1, jobs=1)
    assert "\r" not in capfd.readouterr().err
    sweeps.run("sqrt", out=tmp_path, trials=3, repeats=1, jobs=1, progress=True)
    counts = re.findall(r"\] (\d+)/3 trials", capfd.readouterr().err)
    assert counts and set(counts) <= {"2", "3"} and counts[-1] == "3"  # never 0/3 or 1/3 after 2 were done


# --- the report of a study of data: no true function, any number of inputs ---------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """(out folder, {name: optuna study}) of three tiny sweeps of data, each with its report: ``three`` (d = 3,
    no target), ``one`` (1-D, no target, a baseline config given) and ``known`` (1-D, its target given)."""
    out = tmp_path_factory.mktemp("data_reports")
    rng = np.random.default_rng(1)
    x3, x1 = rng.uniform(-1, 1, (60, 3)), rng.uniform(0, 1, 40)
    small = dict(steps=60, space={"lr": True, "width": (2, 8)})
    made = {"three": studies.Study.from_arrays("three", x3, x3[:, 0] ** 2 - x3[:, 1] + 0.5 * x3[:, 2], **small),
            "one": studies.Study.from_arrays("one", x1, np.sqrt(x1), baseline=MLPConfig(hidden=(3,), steps=60), **small),
            "known": studies.Study.from_arrays("known", x1, np.sqrt(x1), target=np.sqrt, **small)}
    return out, {name: sweeps.run(s, out=out, report=True, explain=False, **QUICK) for name, s in made.items()}


def frames_of(reports, name):
    from sweeps.results import frames as tidy

    out, opts = reports
    return tidy.build(opts[name], userdata.find(name, out), TrialFiles.of(out / name))


def test_a_page_of_several_inputs_shows_predicted_against_actual_and_one_slice_per_input(reports):
    out, _ = reports
    page = (out / "three" / "report.html").read_text()
    assert 'id="fig-predicted_actual"' in page and 'id="fig-slices"' in page and 'id="fig-gallery_by_mode"' in page
    assert 'id="fig-function_space"' not in page  # one curve in x cannot show a fit of three inputs
    assert "each of the 12 held-out (validation) rows" in page  # 20% of 60
    for one_input in ("one", "known"):  # the 1-D pages keep their curve in x
        text = (out / one_input / "report.html").read_text()
        assert 'id="fig-function_space"' in text and 'id="fig-slices"' not in text and "predicted_actual" not in text


FORKED_AND_NOT = """
import sys
from sweeps.results import frames as tidy
from sweeps.report import drawing
from sweeps.results.handle import open_sweep
name, out = sys.argv[1:]
sweep = open_sweep(name, out=out)
frames = tidy.build(sweep.study, sweep.definition, sweep.files)
several = [n for n in ("predicted_actual", "slices", "gallery_by_mode") if drawing.draw_figure(n, frames)]
one, two = drawing.draw_figures(frames, processes=1), drawing.draw_figures(frames, processes=2)
print(len(several), len(one), one == two, all(data.startswith(b"<svg") for data, _ in one.values()))
"""


def test_figures_drawn_by_forked_processes_are_the_bytes_one_process_draws(reports):
    """With several inputs the held-out and slice figures are drawn, and every figure is the same SVG whether
    drawn in forked processes or in one."""
    # In a process of its own: under pytest-xdist this one runs threads, so it never forks to draw.
    out, _ = reports
    r = subprocess.run([sys.executable, "-c", FORKED_AND_NOT, "three", str(out)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    several, figures, same, svgs = r.stdout.split()
    assert int(several) == 3 and int(figures) >= 6 and same == "True" and svgs == "True"


def test_the_slices_are_one_panel_per_input_with_each_nets_predictions_along_it(reports):
    from matplotlib.figure import Figure

    from sweeps.results import frames as tidy
    from sweeps.report import figures

    f = frames_of(reports, "three")
    best = reports[1]["three"].best_trial
    fig = figures.slices(f.predictions, tidy.slice_rows(f.data), number=best.number, fig=Figure())
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_xlabel() for ax in shown] == [f"x{j} (the other inputs at their medians)" for j in (1, 2, 3)]
    stored = TrialFiles.of(reports[0] / "three").read(best.number)["grid_pred"]
    grid = np.asarray(stored, dtype=float).reshape(3, -1)  # slice j: rows j*100 .. j*100+99
    for j, ax in enumerate(shown):
        line = next(l for l in ax.lines if l.get_label().startswith(f"best trial #{best.number}"))
        np.testing.assert_allclose(line.get_ydata(), grid[j][np.isfinite(grid[j])])
        assert not any(l.get_label() == "true target" for l in ax.lines)  # the study knows none


def test_slice_rows_are_the_training_rows_whose_other_inputs_lie_nearest_their_medians():
    from sweeps.results import frames as tidy

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 2))
    data = pd.DataFrame({"x": x[:, 0], "x1": x[:, 0], "x2": x[:, 1], "y": x.sum(axis=1), "split": "train"})
    data.loc[190:, "split"] = "val"  # held-out rows are never drawn beside a slice
    train = data[data["split"] == "train"]
    near = tidy.slice_rows(data)
    assert near.groupby("feature").size().to_dict() == {0: 19, 1: 19}  # 10% of 190 training rows
    for j, other in ((0, "x2"), (1, "x1")):
        distance = (train[other] - train[other].median()).abs()
        expected = train.loc[distance.sort_values(kind="stable").index[:19], f"x{j + 1}"]
        assert sorted(near.loc[near["feature"] == j, "x"]) == sorted(expected)


def test_predicted_against_actual_plots_each_held_out_row_of_the_best_trial_and_the_baseline(reports):
    from matplotlib.figure import Figure

    from sweeps.report import figures

    f = frames_of(reports, "three")
    opt = reports[1]["three"]
    y_val = userdata.find("three", reports[0]).data().y_val
    ax = figures.predicted_actual(f.held_out, number=opt.best_trial.number, ax=Figure().add_subplot())
    lo, hi = ax.get_xlim()
    points = {c.get_label().split(":")[0]: c.get_offsets() for c in ax.collections}
    files = TrialFiles.of(reports[0] / "three")
    for label, attrs in ((f"best trial #{opt.best_trial.number}", files.read(opt.best_trial.number)),
                         ("the question's config", files.read("baseline"))):
        expected = np.column_stack([y_val, np.clip(np.asarray(attrs["val_pred"], dtype=float), lo, hi)])
        np.testing.assert_allclose(points[label], expected)


def test_without_a_true_function_no_target_is_drawn_no_approximation_error_is_kept_and_the_page_says_so(reports):
    from matplotlib.figure import Figure

    from sweeps.report import figures
    from sweeps.report.style import TARGET_COLOR

    out, _ = reports
    for name, known in (("one", False), ("three", False), ("known", True)):
        columns = pd.read_csv(out / name / "trials.csv").columns
        assert ("approx_error" in columns) == known, name
        assert ('id="no-target"' in (out / name / "report.html").read_text()) == (not known), name
    assert "These data come without their true function" in (out / "one" / "report.html").read_text()
    assert pd.read_csv(out / "known" / "trials.csv")["approx_error"].notna().all()
    for name, known in (("one", False), ("known", True)):
        f = frames_of(reports, name)
        ax = figures.function_space(f.predictions, f.data, ax=Figure().add_subplot())
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert ("true target" in labels) == known, labels
        gallery = figures.mode_gallery(f.predictions, f.data, fig=Figure())
        black = [l for ax in gallery.axes for l in ax.lines if to_hex(l.get_color()) == TARGET_COLOR.lower()]
        assert len(black) == (len(gallery.axes) if known else 0)  # the target in every panel, or in none


def test_diagnose_and_runs_summary_name_the_baseline_alike(reports, capsys):
    out, opts = reports
    for name, words in (("one", "your config (the study's baseline)"),
                        ("known", "the engine's default config (no baseline config was given)")):
        assert main(["diagnose", name, "--out", str(out)]) == 0
        assert capsys.readouterr().out.startswith(f"{name}: {words}, ")
        # a rerun with nothing left trains nothing and prints the run's summary
        assert main(["run", name, "--out", str(out), "--trials", "3", "--repeats", "1", "--no-progress", "--no-report"]) == 0
        assert f"; {words}: {study_attr(opts[name], 'baseline')['value']:.4g} (" in capsys.readouterr().out

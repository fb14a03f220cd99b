"""A notebook's habits: every reader takes a study by its name (or file) as well as the Optuna study, a sweep of
data is found again by its name, and a figure drawn in the report's theme leaves the session's settings as the
session had them."""

import numpy as np

import studies
import sweeps
import sweeps.results.handle
from sweeps.results import frames, reading


def test_every_reader_takes_the_study_or_its_name(swept_tiny, monkeypatch):
    monkeypatch.chdir(swept_tiny.folder)
    opt = sweeps.load("tiny.py")
    assert sweeps.trials_frame("tiny.py").equals(sweeps.trials_frame(opt))
    assert sweeps.trials_frame("tiny.py", out="results").equals(sweeps.trials_frame(opt))
    assert sweeps.best_config(opt) == sweeps.best_config("tiny.py")
    assert reading.best_trial("tiny.py").number == reading.best_trial(opt).number
    assert frames.levers_frame("tiny.py").equals(frames.levers_frame(opt))
    files = sweeps.results.handle.open_sweep("tiny.py").files  # a study alone does not say where its files are
    assert frames.curves_frame("tiny.py").equals(frames.curves_frame(opt, files=files))
    assert len(frames.curves_frame("tiny.py")) and frames.curves_frame(opt).empty
    by_name = frames.build("tiny.py")
    assert by_name.data is not None and frames.build(opt).data is None  # the name brings the study's data along
    assert by_name.headline == frames.build(opt).headline


def test_a_name_that_is_no_sweep_is_one_clear_error(tmp_path):
    for read in (sweeps.trials_frame, frames.build, sweeps.best_config):
        try:
            read("nothing_here", out=tmp_path)
        except ValueError as e:
            assert "unknown study 'nothing_here'" in str(e)
        else:
            raise AssertionError(f"{read.__name__} read a sweep that does not exist")


def test_a_sweep_of_data_is_found_by_its_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 40)
    mine = studies.Study.from_arrays("mine", x, x**2, trials=2, repeats=1, steps=40, space={"lr": True})
    sweeps.run(mine, jobs=1, progress=False)
    again = studies.get("mine")  # results/mine/study.npz, as the sweep saved it
    assert again.name == "mine" and np.array_equal(again.data().x_train, mine.data().x_train)
    assert len(sweeps.trials_frame("mine")) == 2
    assert studies.get("mine", out=tmp_path / "results").fingerprint() == again.fingerprint()


def test_the_report_theme_leaves_the_session_interactive_as_a_figure_made_it():
    import matplotlib as mpl

    from sweeps.report.style import theme

    before = mpl.rcParams["interactive"], mpl.rcParams["axes.grid"]
    try:
        mpl.rcParams["interactive"] = False
        with theme():
            themed = mpl.rcParams["axes.grid"]
            mpl.rcParams["interactive"] = True  # as Jupyter does when pyplot is first imported inside a figure
        assert mpl.rcParams["interactive"] is True
        assert themed != before[1] and mpl.rcParams["axes.grid"] == before[1]  # the theme's own settings are undone
    finally:
        mpl.rcParams["interactive"] = before[0]

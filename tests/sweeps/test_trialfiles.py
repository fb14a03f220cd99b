"""The lean journal: each trial's curve, predictions and (when best as told) model in a file of its own.

The files are checked where a sweep leaves them (``run`` by the real CLI), through the code that writes
them in a sweep (``tracking.tell``, ``Driver.fail``), and through what reads them (the frames, ``best_model``).
"""

import base64
import gzip
import json
import logging
import os

import numpy as np
import optuna
import pytest

import sweeps
from sweeps.results import frames as tidy
from sweeps.results.handle import open_sweep
from sweeps.results.reading import best_trial, complete_trials
from sweeps.search.tracking import tell
from sweeps.store.factory import open_storage
from sweeps.store.liveness import Driver
from sweeps.store.records import CURVE_POINTS, IN_FILES, OUTCOME, RECORDED, Stop, study_attr
from sweeps.store.trialfiles import TrialFiles

from conftest import main


def _outcome(value: float) -> dict:
    """The least of a worker's outcome that ``tell`` records, with a curve of 11 checkpoints."""
    steps = list(range(0, 110, 10))
    return {"metrics": {"var_y": 1.0}, "curve": {"steps": steps, "train": [1.0] * 11, "val": [1.0 / (s + 1) for s in steps]},
            "grid_pred": [0.5, None], "model": {"theta": [1.0]}, "stopped": "steps", "value": value, "mode": "fit"}


def test_a_sweeps_journal_holds_the_small_records_and_each_trial_file_the_large(swept_tiny, tmp_path):
    sweep = open_sweep("tiny", out=swept_tiny.copy(tmp_path) / "results")
    done = complete_trials(sweep.study)
    assert done and sorted(t.number for t in done) == sweep.files.numbers()
    for t in done:
        assert not set(IN_FILES) & set(t.user_attrs) and "mode" in t.user_attrs and "config" in t.user_attrs
        stored = sweep.files.read(t.number)
        assert len(stored["curve"]["steps"]) > len(t.intermediate_values) <= CURVE_POINTS
        # The intermediate values are points of the stored curve, on the objective's scale.
        var_y = t.user_attrs["metrics"]["var_y"]
        curve = dict(zip(stored["curve"]["steps"], stored["curve"]["val"]))
        assert all(np.isclose(v, curve[s] / var_y) for s, v in t.intermediate_values.items())
    frames = tidy.build(sweep.study, sweep.definition, sweep.files)
    assert set(frames.curves.dropna(subset=["number"])["number"]) == {t.number for t in done}
    assert set(frames.predictions[frames.predictions["source"] == "trial"]["number"]) == {t.number for t in done}
    assert (frames.curves["source"] == "baseline").any() and "curve" not in study_attr(sweep.study, "baseline")


def test_a_trial_is_created_in_one_record_and_told_in_a_bounded_few(swept_tiny, tmp_path):
    """The journal's size a trial does not grow with its params or its outcome's keys: one record creates the
    trial with its params and stamps, and its tell writes its few own attrs, one outcome, a handful of curve
    points and its state."""
    folder = swept_tiny.copy(tmp_path) / "results"
    sweep = open_sweep("tiny", out=folder)
    with open(folder / "tiny" / "journal.log", "rb") as f:
        logs = [json.loads(line) for line in f]
    created = [log for log in logs if log["op_code"] == 4]  # Optuna's CREATE_TRIAL
    assert not [log for log in logs if log["op_code"] == 5]  # no SET_TRIAL_PARAM: the params came with the trial
    trials = sweep.study.get_trials(deepcopy=False)
    assert len(created) == len(trials)
    for log, t in zip(created, trials):
        assert log["state"] == optuna.trial.TrialState.RUNNING.value and log["params"] and set(log["params"]) == set(t.params)
        assert {"seeds", "driver"} <= set(log["user_attrs"])
        told = [r for r in logs if r.get("trial_id") == t.number]  # one study: trial ids are its numbers
        assert len(told) <= CURVE_POINTS + len(RECORDED) + 1 + 1  # curve points, own attrs, the outcome, the state
        assert OUTCOME in t.user_attrs and "seeds" in t.user_attrs


def test_the_best_model_predicts_what_its_trial_predicted(swept_tiny, tmp_path):
    out = swept_tiny.copy(tmp_path) / "results"
    sweep = open_sweep(str(tmp_path / "tiny.py"), out=out)
    best = best_trial(sweep.study)
    model = sweeps.best_model("tiny", out=out)
    grid = sweep.definition.data().x_grid
    stored = np.array(sweep.files.read(best.number)["grid_pred"], dtype=float)
    assert np.array_equal(model.predict(grid), stored, equal_nan=True)
    assert model.config.to_dict() == best.user_attrs["config"]
    # Only trials that were the best when told keep a model: never more than those that improved on it.
    kept = [n for n in sweep.files.numbers() if "model" in sweep.files.read(n)]
    values = {t.number: t.value for t in complete_trials(sweep.study)}
    assert best.number in kept and all(values[n] < min([np.inf] + [values[m] for m in values if m < n]) for n in kept)


def test_without_its_model_best_model_says_so_in_one_line(swept_tiny, tmp_path):
    out = swept_tiny.copy(tmp_path) / "results"
    sweep = open_sweep("tiny", out=out)
    n = best_trial(sweep.study).number
    sweep.files.write(n, {k: v for k, v in sweep.files.read(n).items() if k != "model"})
    with pytest.raises(ValueError, match=f"trial {n}\\) has no trained model .* mlpcore.fit\\(sweeps.best_config"):
        sweeps.best_model("tiny", out=out)


def test_a_trial_file_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    files = TrialFiles(tmp_path / "trials")
    files.write(3, _outcome(0.5))
    before = files.read(3)

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        files.write(3, _outcome(0.25) | {"grid_pred": [1.0, 2.0]})
    monkeypatch.undo()
    assert files.read(3) == before and sorted(p.name for p in files.folder.iterdir()) == ["3.json.gz"]


def test_a_trial_files_lists_are_packed_and_read_back_bit_for_bit(tmp_path):
    files = TrialFiles(tmp_path / "trials")
    steps = list(range(0, 300_001, 3_000))
    train = [float(v) for v in np.random.default_rng(0).lognormal(size=len(steps))] + [None]
    written = {"curve": {"steps": steps + [300_001], "train": train, "val": train[::-1]},
               "grid_pred": [0.1, None, float(np.nextafter(1.0, 2.0)), -0.0], "model": {"theta": [[1.0, 2.5]]}}
    files.write(7, written | {"val_pred": [1.5, float("nan"), float("inf")]})
    stored = json.loads(gzip.decompress(files.path(7).read_bytes()))
    assert set(stored["curve"]["steps"]) == {"<i8"} and set(stored["curve"]["train"]) == {"<f8"}
    assert set(stored["grid_pred"]) == {"<f8"} and stored["model"] == written["model"]  # the model as it is
    back = files.read(7)
    assert back == written | {"val_pred": [1.5, None, None]}  # a non-finite value reads as None, as before
    assert all(type(s) is int for s in back["curve"]["steps"]) and str(back["grid_pred"][3]) == "-0.0"


def test_a_trial_file_written_before_the_packing_reads_the_same(tmp_path):
    files = TrialFiles(tmp_path / "trials")
    before = {"curve": {"steps": [0, 10], "train": [2.0, None], "val": [1.0, 0.5]}, "grid_pred": [0.25, None]}
    files.folder.mkdir()
    files.path(3).write_bytes(gzip.compress(json.dumps(before).encode()))
    files.write(4, before)
    assert files.read(3) == files.read(4) == before and files.path(3).read_bytes() != files.path(4).read_bytes()


@pytest.mark.parametrize("packed", [{"<f8": "not base64!"}, {"<f8": base64.b64encode(b"seven b").decode()},
                                    {"<f4": ""}, {"<f8": "", "<i8": ""}, 3.5])
def test_a_damaged_packed_list_leaves_its_trial_drawn_without_its_file(tmp_path, caplog, packed):
    files = TrialFiles(tmp_path / "trials")
    files.folder.mkdir()
    files.path(5).write_bytes(gzip.compress(json.dumps({"grid_pred": packed}).encode()))
    with caplog.at_level(logging.WARNING, logger="sweeps.store.trialfiles"):
        assert files.read(5) == {}
    assert "trial file" in caplog.text and "cannot be read" in caplog.text


def test_trial_files_are_found_again_after_a_resume(tmp_path, tiny_study):
    out = tmp_path / "results"
    assert main(["run", tiny_study, "--trials", "3", "--jobs", "1", "--no-report", "--out", str(out)]) == 0
    first = open_sweep(tiny_study, out=out).files.numbers()
    assert main(["run", tiny_study, "--trials", "5", "--jobs", "1", "--no-report", "--out", str(out)]) == 0
    sweep = open_sweep(tiny_study, out=out)
    numbers = sorted(t.number for t in complete_trials(sweep.study))
    assert first == numbers[:3] and sweep.files.numbers() == numbers and len(numbers) == 5
    assert set(tidy.curves_frame(sweep.study, sweep.files).dropna(subset=["number"])["number"]) == set(numbers)


def test_a_trial_a_driver_discards_takes_its_file_with_it(tmp_path):
    store = open_storage(None, tmp_path)
    opt = optuna.create_study(study_name="kinds", storage=store)
    files = TrialFiles.of(tmp_path)
    driver = Driver(opt, store, files)
    told, lost, late = opt.ask(), opt.ask(), opt.ask()
    tell(opt, told, _outcome(0.5), store, files, keep_model=True, every_point=False)
    files.write(lost.number, _outcome(0.4))  # a driver killed between its file and its tell left this
    assert driver.fail(lost, Stop.DRIVER_DIED)
    other = open_storage(None, tmp_path)  # another driver took this one for dead and failed its trial
    Driver(optuna.load_study(study_name="kinds", storage=other), other, files).fail(late, Stop.DRIVER_DIED)
    with pytest.warns(RuntimeWarning, match="failed by another driver"):
        tell(opt, late, _outcome(0.3), store, files)
    assert files.numbers() == [told.number]
    again = optuna.load_study(study_name="kinds", storage=open_storage(None, tmp_path))
    assert [t.state.name for t in again.get_trials()] == ["COMPLETE", "FAIL", "FAIL"]
    assert files.read(told.number)["model"] == {"theta": [1.0]} and len(again.trials[0].intermediate_values) == CURVE_POINTS

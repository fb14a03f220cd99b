"""The trials frame kept beside a sweep's kept replay (sweeps.results.kept_trials): a report of an unchanged sweep
reads it and decodes no trial, with the very frames, figures and page a decoded sweep gives; a journal written
since, other code or a damaged file is never trusted. And the hash of frames by their values
(sweeps.results.fingerprint) that both keys are taken with."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from sweeps.report import files
from sweeps.results import frames as tidy
from sweeps.results import kept_trials
from sweeps.results.fingerprint import fingerprint
from sweeps.results.handle import open_sweep
from sweeps.store import replay
from sweeps.store.factory import open_storage
from sweeps.store.trialfiles import TrialFiles


@pytest.fixture
def sweep_dir(swept_tiny, tmp_path) -> Path:
    """A copy of the tiny sweep's folder, its replay kept again (a copy is another file) and no frame kept."""
    out = swept_tiny.copy(tmp_path) / "results"
    open_sweep("tiny", out=out)
    assert isinstance(open_sweep("tiny", out=out).store, replay.ReplayedStorage)
    (out / "tiny" / kept_trials.NAME).unlink(missing_ok=True)
    return out


def built(out: Path) -> tidy.Frames:
    return tidy.build(open_sweep("tiny", out=out))


def no_trials(*args):
    raise AssertionError("a trial was decoded")


def same_frames(a: tidy.Frames, b: tidy.Frames) -> None:
    assert fingerprint(a) == fingerprint(b)
    for name in ("trials", "settings", "curves", "predictions", "levers", "importances", "held_out"):
        if getattr(a, name) is None:  # held_out: one input feature
            assert getattr(b, name) is None
        else:
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.headline == b.headline


def test_a_second_build_reads_the_kept_frame_decodes_no_trial_and_gives_the_same_frames(sweep_dir, monkeypatch):
    first = built(sweep_dir)  # decodes the trials, keeps their frame
    assert (sweep_dir / "tiny" / kept_trials.NAME).is_file()
    monkeypatch.setattr(replay, "_trial", no_trials)
    again = built(sweep_dir)
    same_frames(again, first)
    assert again.headline["best_config"] and again.headline["best_number"] == first.headline["best_number"]
    monkeypatch.undo()
    decoded = tidy.build(open_sweep("tiny", out=sweep_dir, fresh=True))  # Optuna's replay, nothing kept read
    same_frames(decoded, first)


def test_a_run_keeps_the_frame_of_its_report_beside_the_replay_its_driver_kept(swept_tiny, monkeypatch):
    out = swept_tiny.folder / "results"
    sweep = open_sweep("tiny", out=out)
    kept = kept_trials.load(sweep.store)
    assert kept is not None  # the run's own report kept it
    monkeypatch.setattr(replay, "_trial", no_trials)
    pd.testing.assert_frame_equal(tidy.build(sweep).trials, kept.trials)


def test_a_report_from_the_kept_frame_reads_its_figures_back_and_writes_the_same_page(sweep_dir, monkeypatch):
    page = files.report("tiny", out=sweep_dir).read_text()
    assert (sweep_dir / "tiny" / kept_trials.NAME).is_file()
    monkeypatch.setattr(replay, "_trial", no_trials)
    monkeypatch.setattr(files, "begin_drawing", lambda *a, **k: no_trials())
    again = files.report("tiny", out=sweep_dir).read_text()

    def timeless(text):
        return re.sub(r"Report written [^<]*", "", text)

    assert timeless(again) == timeless(page)


def test_a_journal_written_since_is_framed_again_and_kept_again(sweep_dir):
    built(sweep_dir)
    study = optuna.load_study(study_name="tiny", storage=open_storage(None, sweep_dir / "tiny"))
    last = study.trials[-1]
    study.add_trial(optuna.trial.create_trial(params=last.params, distributions=last.distributions,
                                              value=last.value, user_attrs=last.user_attrs))
    sweep = open_sweep("tiny", out=sweep_dir)  # the journal replayed, and its replay kept again (another key)
    assert not isinstance(sweep.store, replay.ReplayedStorage)
    assert kept_trials.load(sweep.store) is None  # the frame kept is of the replay before
    assert len(tidy.build(sweep).trials) == len(study.trials)
    assert len(kept_trials.load(open_sweep("tiny", out=sweep_dir).store).trials) == len(study.trials)


def damage_code(kept):
    kept["key"]["code"] = "0" * 64  # framed by other code


def damage_packed(kept):
    column = next(c for c in kept["columns"] if "packed" in c)
    ((kind, text),) = column["packed"].items()
    column["packed"] = {kind: text[:-4]}  # not a whole number of values


def damage_length(kept):
    column = next(c for c in kept["columns"] if "values" in c)
    column["values"] = column["values"][:-1]  # a column shorter than the others


def damage_best(kept):
    del kept["best"]


@pytest.mark.parametrize("damage", [damage_code, damage_packed, damage_length, damage_best, None])
def test_a_damaged_or_foreign_kept_frame_is_never_trusted(sweep_dir, damage):
    first = built(sweep_dir)
    path = sweep_dir / "tiny" / kept_trials.NAME
    if damage is None:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # torn
    else:
        kept = json.loads(path.read_text())
        damage(kept)
        path.write_text(json.dumps(kept))
    assert kept_trials.load(open_sweep("tiny", out=sweep_dir).store) is None
    same_frames(built(sweep_dir), first)  # framed again from the trials...
    assert kept_trials.load(open_sweep("tiny", out=sweep_dir).store) is not None  # ... and kept again


def test_a_frame_is_kept_only_beside_a_kept_replay_and_only_when_it_reads_back_the_same(sweep_dir):
    sweep = open_sweep("tiny", out=sweep_dir)
    trials = tidy.trials_frame(sweep.study)
    path = sweep_dir / "tiny" / kept_trials.NAME
    replayed = open_sweep("tiny", out=sweep_dir, fresh=True).store  # the journal, replayed by Optuna
    (sweep_dir / "tiny" / replay.NAME).rename(sweep_dir / "kept")
    assert kept_trials.keep(replayed, trials, None, False) is None and not path.exists()  # no kept replay
    (sweep_dir / "kept").rename(sweep_dir / "tiny" / replay.NAME)
    odd = trials.assign(error=[{1, 2}] * len(trials))  # a value JSON cannot hold
    assert kept_trials.keep(sweep.store, odd, None, False) is None and not path.exists()
    odd = trials.assign(error=[(1, 2)] * len(trials))  # ... or would read back as another type
    assert kept_trials.keep(sweep.store, odd, None, False) is None and not path.exists()
    assert kept_trials.keep(sweep.store, trials, None, False) == path
    path.unlink()
    assert kept_trials.keep(replayed, trials, None, False) == path  # the journal its replay is current for
    assert kept_trials.load(sweep.store) is not None and kept_trials.load(replayed) is not None


def test_a_sweep_that_keeps_its_curves_in_the_journal_draws_them_from_its_decoded_trials(sweep_dir, tmp_path):
    """Sweeps stored before their trial files kept each trial's curve and predictions as user attrs."""
    old = tmp_path / "old"
    folder = old / "tiny"
    folder.mkdir(parents=True)
    source = open_sweep("tiny", out=sweep_dir)
    for snapshot in (sweep_dir / "tiny").glob("study.npz"):
        (folder / snapshot.name).write_bytes(snapshot.read_bytes())
    study = optuna.create_study(study_name="tiny", storage=open_storage(None, folder))
    for key, value in source.study.user_attrs.items():
        study.set_user_attr(key, value)
    for t in source.study.trials:
        kept = {k: v for k, v in source.files.read(t.number).items() if k != "model"}
        study.add_trial(optuna.trial.create_trial(
            state=t.state, params=t.params, distributions=t.distributions, value=t.value,
            user_attrs=t.user_attrs | kept))
    assert not TrialFiles.of(folder).folder.exists()
    open_sweep("tiny", out=old)  # its replay kept
    first = built(old)
    assert kept_trials.load(open_sweep("tiny", out=old).store).in_journal
    again = built(old)
    same_frames(again, first)
    assert set(again.curves["number"].dropna()) == {t.number for t in source.study.trials if t.state.name == "COMPLETE"}


@dataclass
class Pair:
    a: object
    b: object


def test_a_fingerprint_is_of_values_not_of_how_they_were_made():
    shared = "COMPLETE"
    one = pd.DataFrame({"state": [shared, shared], "x": [1.0, np.nan]})
    two = pd.DataFrame({"state": ["COMPLETE", "".join(["COMP", "LETE"])], "x": [1.0, np.nan]})
    assert fingerprint(one) == fingerprint(two)
    assert fingerprint(Pair(one, {"k": frozenset({3, 1})})) == fingerprint(Pair(two, {"k": frozenset({1, 3})}))


@pytest.mark.parametrize(
    "a, b",
    [
        (pd.DataFrame({"v": [1, 2]}), pd.DataFrame({"v": [1.0, 2.0]})),  # int and float
        (pd.DataFrame({"v": np.array([1, True], dtype=object)}), pd.DataFrame({"v": np.array([1, 1], dtype=object)})),
        (pd.DataFrame({"v": np.array([None], dtype=object)}), pd.DataFrame({"v": np.array(["None"], dtype=object)})),
        (pd.DataFrame({"v": [np.nan, 1.0]}), pd.DataFrame({"v": [1.0, np.nan]})),
        (pd.DataFrame({"v": [0.0]}), pd.DataFrame({"v": [-0.0]})),
        (pd.Series([1, None], dtype="Int64").to_frame(), pd.Series([1, 0], dtype="Int64").to_frame()),
        (pd.DataFrame({"v": ["a", None]}), pd.DataFrame({"v": ["a", "b"]})),
        (pd.DataFrame({"a": [1], "b": [1]}), pd.DataFrame({"b": [1], "a": [1]})),  # column order
        (pd.DataFrame({"v": [1, 2]}), pd.DataFrame({"v": [1, 2]}, index=[1, 0])),
        (tidy.mode_column(["fit", "linear"]), tidy.mode_column(["linear", "fit"])),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
    ],
)
def test_a_fingerprint_tells_apart_what_differs(a, b):
    wrap = (lambda v: pd.Series(v).to_frame()) if isinstance(a, pd.Categorical) else (lambda v: v)
    assert fingerprint(wrap(a)) != fingerprint(wrap(b))

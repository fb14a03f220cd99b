"""A journal's kept replay (sweeps.store.replay): a finished sweep opens from it with the very trials a replay
gives, any write to the journal makes it stale, it is read-only, and a damaged one is never trusted."""

import json
import os
import time
from pathlib import Path

import optuna
import pytest

from sweeps.results.handle import open_sweep
from sweeps.store import replay
from sweeps.store.factory import open_storage

from conftest import main


@pytest.fixture
def sweep_dir(swept_tiny, tmp_path) -> Path:
    """A copy of the tiny sweep's folder (``results/tiny``), its replay kept again: a copy is another file
    (inode, change time), whose first reader replays it and keeps the replay."""
    out = swept_tiny.copy(tmp_path) / "results"
    assert replay.header(out / "tiny" / "journal.log") is None
    assert not isinstance(open_sweep("tiny", out=out).store, replay.ReplayedStorage)
    return out


def replayed(out: Path):
    """The tiny sweep as Optuna's own replay of its journal gives it."""
    return optuna.load_study(study_name="tiny", storage=open_storage(None, out / "tiny"))


def test_a_finished_run_keeps_its_replay_and_a_reader_opens_the_same_trials_from_it(swept_tiny, sweep_dir):
    # the run's driver kept it, and nothing was written to the journal after (the report included)
    assert replay.header(swept_tiny.folder / "results" / "tiny" / "journal.log") is not None
    sweep = open_sweep("tiny", out=sweep_dir)
    assert isinstance(sweep.store, replay.ReplayedStorage)
    fresh = replayed(sweep_dir)
    kept = sweep.study.get_trials(deepcopy=False)
    assert kept == fresh.get_trials(deepcopy=False)  # every field, ids, times and attrs included
    assert [t.params for t in kept] == [t.params for t in fresh.trials]
    assert [t.distributions for t in kept] == [t.distributions for t in fresh.trials]
    assert sweep.study.user_attrs == fresh.user_attrs
    assert sweep.study.best_trial == fresh.best_trial
    assert sweep.store.summary == replay.summary(fresh.trials)
    assert sweep.where == str(sweep_dir / "tiny" / "journal.log")


def test_a_write_to_the_journal_makes_the_kept_replay_stale_and_the_next_reader_replays_and_keeps_it(sweep_dir):
    journal = sweep_dir / "tiny" / "journal.log"
    assert replay.header(journal) is not None
    study = optuna.load_study(study_name="tiny", storage=open_storage(None, sweep_dir / "tiny"))
    study.set_user_attr("note", "written after the run")  # one record appended
    assert replay.header(journal) is None
    sweep = open_sweep("tiny", out=sweep_dir)
    assert not isinstance(sweep.store, replay.ReplayedStorage)  # replayed, as without a kept replay
    assert sweep.study.user_attrs["note"] == "written after the run"
    again = open_sweep("tiny", out=sweep_dir)  # ... and its replay kept for the next reader
    assert isinstance(again.store, replay.ReplayedStorage)
    assert again.study.user_attrs["note"] == "written after the run"
    assert again.study.get_trials(deepcopy=False) == replayed(sweep_dir).get_trials(deepcopy=False)


def test_a_torn_tail_is_no_state_a_replay_can_be_kept_for(sweep_dir):
    journal = sweep_dir / "tiny" / "journal.log"
    os.remove(journal.with_name(replay.NAME))
    with open(journal, "ab") as f:
        f.write(b'{"op_code":')  # a record still being written, or torn
    storage = open_storage(None, sweep_dir / "tiny")
    assert replay.keep(storage, "tiny") is None
    assert not journal.with_name(replay.NAME).exists()


def test_a_kept_replay_refuses_every_write_and_the_journal_is_left_as_it_was(sweep_dir):
    journal = sweep_dir / "tiny" / "journal.log"
    before = journal.read_bytes()
    sweep = open_sweep("tiny", out=sweep_dir)
    with pytest.raises(TypeError, match="read-only"):
        sweep.study.set_user_attr("x", 1)
    with pytest.raises(TypeError, match="read-only"):
        sweep.study.ask()
    assert journal.read_bytes() == before
    fresh = open_sweep("tiny", out=sweep_dir, fresh=True)  # a writer replays the journal itself
    assert not isinstance(fresh.store, replay.ReplayedStorage)


@pytest.mark.parametrize(
    "damage",
    ["garbage", "another format", "another journal's key", "a trial line cut"],
)
def test_a_damaged_or_foreign_kept_replay_is_never_trusted(sweep_dir, damage):
    journal = sweep_dir / "tiny" / "journal.log"
    kept = journal.with_name(replay.NAME)
    lines = kept.read_bytes().splitlines(keepends=True)
    head = json.loads(lines[0])
    if damage == "garbage":
        kept.write_bytes(b"\x00not json\n" + b"".join(lines[1:]))
    elif damage == "another format":
        head["key"]["format"] = replay.FORMAT + 1
        kept.write_bytes(json.dumps(head).encode() + b"\n" + b"".join(lines[1:]))
    elif damage == "another journal's key":
        head["key"]["tail_sha256"] = "0" * 64
        kept.write_bytes(json.dumps(head).encode() + b"\n" + b"".join(lines[1:]))
    else:  # the header is right, a trial's line is not: said when the trials are read, not trusted
        kept.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2] + b"\n")
        sweep = open_sweep("tiny", out=sweep_dir)
        with pytest.raises(ValueError, match="is damaged .* remove it"):
            sweep.study.get_trials(deepcopy=False)
        return
    sweep = open_sweep("tiny", out=sweep_dir)
    assert not isinstance(sweep.store, replay.ReplayedStorage)
    assert sweep.study.get_trials(deepcopy=False) == replayed(sweep_dir).get_trials(deepcopy=False)


def test_list_prints_a_kept_sweep_from_its_header_without_decoding_a_trial(sweep_dir, monkeypatch, capsys):
    assert main(["list", "--out", str(sweep_dir)]) == 0
    replaying = capsys.readouterr().out
    assert "8/8" in replaying

    def no_trials(*args):
        raise AssertionError("list decoded a trial")

    monkeypatch.setattr(replay, "_trial", no_trials)
    assert main(["list", "--out", str(sweep_dir)]) == 0
    assert capsys.readouterr().out == replaying


def test_no_replay_is_kept_while_a_driver_of_the_sweep_still_runs(sweep_dir):
    from sweeps.store.liveness import PREFIX, process_identity

    journal = sweep_dir / "tiny" / "journal.log"
    storage = open_storage(None, sweep_dir / "tiny")
    study = optuna.load_study(study_name="tiny", storage=storage)
    beat = {**process_identity(os.getpid()), "beat": time.time(), "ended": False}  # this process: alive
    study.set_user_attr(PREFIX + "alive", beat)
    assert replay.keep(storage, "tiny") is None  # its journal grows while it runs
    assert replay.header(journal) is None
    study.set_user_attr(PREFIX + "alive", {**beat, "ended": True})
    assert replay.keep(storage, "tiny") is not None
    assert replay.header(journal)["summary"] == replay.summary(study.trials)


def test_sweeps_load_gives_a_study_to_write_to_and_the_readers_read_the_kept_replay(sweep_dir):
    import sweeps

    study = sweeps.load("tiny", out=sweep_dir)
    study.set_user_attr("mine", 1)  # a user's study is theirs to write
    assert sweeps.load("tiny", out=sweep_dir).user_attrs["mine"] == 1
    assert sweeps.best_config("tiny", out=sweep_dir) == sweeps.best_config(study)
    assert isinstance(open_sweep("tiny", out=sweep_dir).store, replay.ReplayedStorage)  # kept again


@pytest.mark.parametrize("enabled", [True, False])
def test_reading_a_sweep_leaves_the_garbage_collector_as_it_found_it(sweep_dir, enabled):
    """The readers pause Python's cyclic collector (`replay.no_collection`): a library's caller finds it as it
    left it, after a read that failed too."""
    import gc

    from sweeps.report.explorer import explorer_html
    from sweeps.results import frames

    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        sweep = open_sweep("tiny", out=sweep_dir)
        built = frames.build(sweep.study, sweep.definition, sweep.files)
        assert gc.isenabled() is enabled and explorer_html(built) and gc.isenabled() is enabled
        with pytest.raises(ValueError, match="no completed trial"):
            frames.build(optuna.create_study(study_name="empty"))
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()

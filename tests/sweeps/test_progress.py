"""Progress wherever a sweep runs: a status line in a terminal, a bar in a notebook, a line now and then in a log;
and one line before the kernel's first compile."""

import io
import logging

import optuna
import pytest

import mlpcore.warmup as warmup
from sweeps import cli
from sweeps.search import progress
from sweeps.search.progress import LOG, NOTEBOOK, TERMINAL, Progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def opt():
    study = optuna.create_study(study_name="toy")
    for value, mode in ((0.5, "linear"), (0.1, "fit"), (0.3, "fit")):
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs={"mode": mode}))
    return study


def test_the_mode_follows_where_the_sweep_runs(monkeypatch):
    assert progress.mode_for(None, _Tty()) == TERMINAL
    assert progress.mode_for(None, io.StringIO()) == LOG  # a log file, a pipe, CI
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    assert progress.mode_for(None, io.StringIO()) == NOTEBOOK
    assert progress.mode_for(True, io.StringIO()) == TERMINAL and progress.mode_for(False, _Tty()) is None


def test_outside_a_notebook_no_notebook_is_seen():
    assert not progress.in_notebook()


def test_a_log_gets_a_plain_line_every_so_often_and_one_at_the_end(opt):
    stream = io.StringIO()
    bar = Progress(opt, 10, done=3, stream=stream, mode=LOG, every=3600.0)
    bar.update(4)
    bar.close()
    assert stream.getvalue() == ""  # a short sweep says nothing in a log: its summary follows
    bar = Progress(opt, 10, done=3, stream=stream, mode=LOG, every=0.0)
    for done in (4, 5):
        bar.update(done)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 3
    assert lines[0].startswith("toy: 4/10 trials  best 0.1  escaped 2  ") and "trials/s, ETA" in lines[0]
    assert lines[-1].startswith("toy: 5/10 trials")


def test_a_terminal_gets_one_line_redrawn(opt):
    stream = _Tty()
    bar = Progress(opt, 10, done=3, stream=stream, mode=TERMINAL)
    bar.update(4)
    bar.update(5)
    bar.close()
    assert stream.getvalue().count("\r") == 2 and stream.getvalue().endswith("\n")
    assert "toy [###############...............] 5/10 trials  best 0.1  escaped 2" in stream.getvalue()


def test_a_notebook_gets_a_tqdm_bar(opt):
    stream = io.StringIO()
    bar = Progress(opt, 10, done=3, stream=stream, mode=NOTEBOOK)
    bar.update(4)
    bar.update(7)
    assert bar._bar.n == 7 and bar._bar.total == 10  # tqdm's widget, or its text bar without ipywidgets
    bar.close()


def test_disabled_shows_nothing(opt):
    stream = _Tty()
    bar = Progress(opt, 10, stream=stream, enabled=False)
    bar.update(4)
    bar.close()
    assert stream.getvalue() == "" and bar.mode is None


def test_the_first_compile_is_said_once_and_the_cli_shows_it(monkeypatch, caplog, capsys):
    monkeypatch.setattr(warmup, "compiled", lambda: False)
    monkeypatch.setattr(warmup, "_said", False)
    with caplog.at_level(logging.WARNING, logger="mlpcore"):
        assert warmup.announce() and warmup.announce()
    assert [r.getMessage() for r in caplog.records] == [warmup.COMPILING]  # once a process
    monkeypatch.setattr(warmup, "_said", False)
    with cli.console():
        warmup.announce()
    assert capsys.readouterr().err.splitlines() == [warmup.COMPILING]  # one line on stderr, as it is


def test_a_compiled_kernel_is_not_announced(monkeypatch, caplog):
    monkeypatch.setattr(warmup, "compiled", lambda: True)
    monkeypatch.setattr(warmup, "_said", False)
    with caplog.at_level(logging.WARNING, logger="mlpcore"):
        assert not warmup.announce()
    assert caplog.records == []

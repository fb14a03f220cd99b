"""Hardening, second round (issue 31): a study is one problem, only our studies are touched, nothing read back is
trusted, no secret on a command line, no page that lies after a kill, one signal contract, bounded messages, data of
any shape, drivers that never duplicate work, messages that say what to do.

test_bad_input.py's table holds the one-line refusals that need only a finished sweep; these need more set up.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import optuna
from optuna.trial import TrialState
import pytest

import pgcluster
from conftest import TINY_STUDY, bad_input_error, main, run_cli


def _plain_optuna_journal(path, names=("tiny",), multi=()):
    """A journal written by plain Optuna (no sweeps): a study of each name with two trials, and multi-objective ones."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    store = JournalStorage(JournalFileBackend(str(path)))
    for name in names:
        study = optuna.create_study(study_name=name, storage=store)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    for name in multi:
        study = optuna.create_study(study_name=name, storage=store, directions=["minimize", "maximize"])
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)
    return path.read_bytes()


# --- 1. a study is one problem ---------------------------------------------------------------------------------


def test_a_data_sweep_named_like_a_seed_study_is_not_appended_to_by_the_seed(tmp_path, monkeypatch, capsys):
    """A CSV named sqrt.csv made the study 'sqrt'; a later `run sqrt` (the seed: other data, other steps) is refused."""
    import studies
    from sweeps.search.driver import NumberedSampler
    from sweeps.search.tracking import open_study
    from sweeps.space import Space
    from sweeps.store.factory import open_storage
    from sweeps.store.records import Settings

    monkeypatch.chdir(tmp_path)
    x = np.linspace(0, 4, 40)
    (tmp_path / "sqrt.csv").write_text("x,y\n" + "".join(f"{a},{a ** 3}\n" for a in x))
    mine = studies.from_table("sqrt.csv", ["x"], "y")
    (tmp_path / "results" / "sqrt").mkdir(parents=True)
    mine.save(tmp_path / "results" / "sqrt" / "study.npz")
    store = open_storage(None, tmp_path / "results" / "sqrt")
    open_study(store, mine, Settings(0, 3, 16), NumberedSampler(Space.of(mine), 0))  # as run did
    journal = tmp_path / "results" / "sqrt" / "journal.log"
    before = journal.read_bytes()
    err = bad_input_error(["run", "sqrt"], capsys)
    assert "study 'sqrt' in results/sqrt/journal.log is another problem (other data; another target; training budget " \
           "2000 steps, patience 20 there, 1000 steps, patience 20 here" in err and "--name NAME" in err
    assert journal.read_bytes() == before


def test_name_gives_a_study_file_a_study_of_its_own(tmp_path, tiny_study, monkeypatch, capsys):
    import sweeps

    monkeypatch.chdir(tmp_path)
    assert main(["run", tiny_study, "--name", "tiny_two", "--trials", "1", "--jobs", "1", "--no-report"]) == 0
    assert "study tiny_two: 1/1 trials complete" in capsys.readouterr().out
    assert (tmp_path / "results" / "tiny_two" / "study.npz").is_file()
    assert not (tmp_path / "results" / "tiny").exists()
    assert sweeps.load("tiny_two").user_attrs["study"]["name"] == "tiny_two"
    assert main(["best", "tiny_two"]) == 0  # found by its name afterwards


def test_name_gives_a_data_file_its_name(tmp_path):
    import studies

    (tmp_path / "my data.csv").write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(20)))
    assert studies.from_table(tmp_path / "my data.csv", ["x"], "y", name="mine").name == "mine"


def test_the_problem_is_what_the_search_trains(tiny_study):
    """The words, the thread's answer and the asker's budget do not change the problem; data, steps, baseline do."""
    import studies

    tiny = studies.get(tiny_study)
    assert tiny.replace(title="another title", asked=studies.Budget(10_000)).problem() == tiny.problem()
    for change in ({"steps": 151}, {"patience": 3}, {"data_seed": 1}, {"baseline": tiny.baseline.replace(lr=0.1)},
                   {"target": np.cos}):
        assert tiny.replace(**change).problem() != tiny.problem(), change


# --- 2. only our studies ---------------------------------------------------------------------------------------


def test_a_foreign_study_is_refused_and_left_byte_for_byte(tmp_path, tiny_study, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "other.log"
    before = _plain_optuna_journal(other, multi=("both",))
    for args in (["run", tiny_study, "--storage", "other.log"], ["best", tiny_study, "--storage", "other.log"],
                 ["report", tiny_study, "--storage", "other.log"], ["diagnose", tiny_study, "--best", "--storage",
                                                                    "other.log"]):
        err = bad_input_error(args, capsys)
        assert "study 'tiny' in other.log was not created by sweeps (a foreign Optuna study); it is left as it is" in err
        assert other.read_bytes() == before
    assert main(["list", "--storage", "other.log"]) == 0
    out = capsys.readouterr().out
    assert "Traceback" not in out
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "skipped: study 'tiny' in other.log was not created by sweeps" in lines["tiny"]
    assert "skipped: study 'both' in other.log was not created by sweeps" in lines["both"]
    assert main(["report", "--all", "--storage", "other.log", "--out", "out"]) == 0  # listed as skipped, not reported
    index = (tmp_path / "out" / "index.html").read_text()
    assert "was not created by sweeps" in index and not (tmp_path / "out" / "tiny").exists()
    assert other.read_bytes() == before


# --- 3. nothing read back is trusted ---------------------------------------------------------------------------


def test_a_name_read_from_storage_names_no_file_outside_out(tmp_path, monkeypatch, capsys):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    store = JournalStorage(JournalFileBackend("shared.log"))
    for name in ("../../escaped2", "bad\x1b[31mname"):
        study = optuna.create_study(study_name=name, storage=store)
        study.set_user_attr("made_by", "sweeps")  # as if sweeps made it: the name alone must stop it
    assert main(["report", "--all", "--storage", "shared.log", "--out", "out"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["out", "shared.log"]
    assert sorted(p.name for p in (tmp_path / "a" / "b" / "out").iterdir()) == ["index.html"]
    capsys.readouterr()
    assert main(["list", "--storage", "shared.log"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "'../../escaped2' is not a study name" in out


# --- 4. no secret on a command line ----------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["Secr@et12/pass:wd%41", "abcd:efgh@ijkl", "p%40ss/w0rd@@zq9x", "only%2Fpi3ce"])
def test_a_password_is_masked_wherever_its_value_appears(secret, monkeypatch):
    from sweeps.store import masking
    from sweeps.store.masking import MASK, mask, remember

    monkeypatch.setattr(masking, "_secrets", set())  # this process's passwords: none but this test's

    url = f"postgresql://user:{secret}@127.0.0.1:1/db"
    remember(url)
    pieces = [p for p in __import__("re").split(r"[@:/]", secret) if len(p) >= 4]
    for text in (url, f"failed to resolve host '{secret.split('@', 1)[-1]}@127.0.0.1'", f"said {secret} twice {secret}",
                 f"decoded {__import__('urllib.parse').parse.unquote(secret)}"):
        masked = mask(text)
        assert MASK in masked and secret not in masked
        assert not any(p in masked for p in pieces), (text, masked)


def test_a_storage_url_from_the_environment_keeps_its_password_off_the_command_line(tmp_path, tiny_study):
    secret = "Secr@et12/pass:wd%41"
    env = {**os.environ, "SWEEPS_STORAGE": f"postgresql://sweeper:{secret}@127.0.0.1:1/sweeps"}
    r = subprocess.run([sys.executable, "-m", "sweeps", "best", tiny_study], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "cannot open storage 'postgresql://sweeper:***@" in r.stderr
    for piece in ("Secr", "et12", "pass", "wd%41"):
        assert piece not in r.stderr + r.stdout


@pytest.fixture(scope="module")
def postgres():
    yield from pgcluster.serve()


def test_a_postgresql_url_without_its_password_takes_it_from_pgpassword(tmp_path, tiny_study, postgres):
    url = postgres.create_database("nopassword").replace(f":{postgres.password}@", "@")
    assert postgres.password not in url
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    r = subprocess.run([sys.executable, "-m", "sweeps", "best", tiny_study, "--storage", url], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "cannot open storage" in r.stderr  # no password from anywhere: refused
    env["PGPASSWORD"] = postgres.password
    r = subprocess.run([sys.executable, "-m", "sweeps", "best", tiny_study, "--storage", url], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no sweep of 'tiny' in" in r.stderr  # connected: libpq took PGPASSWORD


# --- 9. drivers never duplicate work ---------------------------------------------------------------------------


def _asker(tmp_path, tiny_study, store=None):
    """One driver's ask loop on the study's journal, as `run` builds it (no workers: only asking is tested)."""
    import studies
    from sweeps.search.driver import AskTellLoop, NumberedSampler
    from sweeps.search.tracking import open_study
    from sweeps.space import Space
    from sweeps.store.factory import open_storage
    from sweeps.store.liveness import Driver
    from sweeps.store.records import Settings

    definition = studies.get(tiny_study)
    space, settings = Space.of(definition), Settings(0, 1, 16)
    store = store or open_storage(str(tmp_path / "j.log"), tmp_path)
    opt = open_study(store, definition, settings,
                     NumberedSampler(space, 0, space.start_params(definition.starts)))
    return AskTellLoop(opt, tiny_study, definition, space, settings, Driver(opt, store), None, 100)


def test_a_trial_is_drawn_by_the_number_storage_gave_it(tmp_path, tiny_study):
    """Driver a draws trial n, but driver b asks first and gets it: a's trial, created whole with the params drawn
    for n, is numbered n + 1; it is given back (failed, never trained), and a's next trial is drawn as its own
    number is, not as trial n (which b drew)."""
    (tmp_path / "alone").mkdir()
    alone = _asker(tmp_path / "alone", tiny_study)
    lone = [alone.ask()[1] for _ in range(5)]
    a, b = _asker(tmp_path, tiny_study), _asker(tmp_path, tiny_study)
    a.ask(), a.ask()  # trials 0 and 1
    draw = a.history.draw
    a.history.draw = lambda *args: (b.ask(), draw(*args))[1]  # b's ask lands between a's look and a's trial
    assert a.ask() is None
    a.history.draw = draw
    trial, params, _ = a.ask()
    assert trial.number == 4 and params == lone[4]
    got = a.opt.get_trials(deepcopy=False)
    assert got[2].params == lone[2] and got[3].state == TrialState.FAIL
    assert got[3].user_attrs["stopped_by"] == "over budget"


def test_several_drivers_asking_at_once_draw_distinct_points(tmp_path, tiny_study):
    drivers = [_asker(tmp_path, tiny_study) for _ in range(4)]
    start = threading.Barrier(len(drivers))

    def ask(loop):
        start.wait()
        for _ in range(6):
            loop.ask()

    threads = [threading.Thread(target=ask, args=(d,)) for d in drivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trials = drivers[0].opt.get_trials(deepcopy=False)
    assert len(trials) == 24
    # A trial drawn for a number another driver took is given back, never trained: the rest are distinct.
    given_back = [t for t in trials if t.state == TrialState.FAIL]
    assert all(t.user_attrs["stopped_by"] == "over budget" for t in given_back)
    running = [t for t in trials if t.state == TrialState.RUNNING]
    assert len(running) + len(given_back) == 24 and running
    assert len({json.dumps(t.params, sort_keys=True) for t in running}) == len(running)


# --- 5. the page knows when it is stale ------------------------------------------------------------------------


def _banner(page) -> str:
    import re

    return re.search(r'<p class="live" id="live">(.*?)</p>', page.read_text()).group(1)


def test_a_running_page_whose_driver_is_gone_is_settled_by_the_next_command(swept_tiny, tmp_path, monkeypatch, capsys):
    from sweeps.report.live import Rewriter

    root = swept_tiny.copy(tmp_path)
    monkeypatch.chdir(root)
    page = root / "results" / "tiny" / "report.html"
    alive = Rewriter("tiny.py", "results", None, 80, 5.0, driver=os.getpid()).rewrite()
    assert alive.resolve() == page and "running: 8 of 80 trials" in _banner(page)
    assert main(["list"]) == 0
    assert "running: 8 of 80 trials" in _banner(page)  # its driver (this process) is alive: left alone
    dead = subprocess.Popen(["true"])
    dead.wait()
    Rewriter("tiny.py", "results", None, 80, 5.0, driver=dead.pid).rewrite()
    assert "reloads itself" in page.read_text()
    assert main(["list"]) == 0
    assert _banner(page) == "this sweep was stopped at 8 of 80 trials; run the same command to resume"
    assert 'http-equiv="refresh"' not in page.read_text()
    assert main(["run", "tiny.py", "--no-report"]) == 0  # resumed to its own budget (8): the page says it is done
    assert _banner(page).startswith("this sweep has finished (8 of 8 trials) since this page was written; "
                                    "<code>python -m sweeps report tiny.py</code>")
    assert main(["report", "tiny.py"]) == 0
    assert 'id="live"' not in page.read_text()  # the full report


def test_a_killed_driver_leaves_a_page_that_says_where_it_stopped_and_no_traceback(tmp_path):
    (tmp_path / "tiny.py").write_text(TINY_STUDY)
    page = tmp_path / "results" / "tiny" / "report.html"
    driver = subprocess.Popen([sys.executable, "-m", "sweeps", "run", "tiny.py", "--trials", "5000", "--jobs", "1",
                               "--no-explain"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # the running page starts 20 s in (live.START_AFTER); a loaded machine is slow
    while not (page.is_file() and "running:" in page.read_text()):
        assert time.monotonic() < deadline and driver.poll() is None
        time.sleep(0.2)
    driver.kill()
    _, err = driver.communicate(timeout=60)  # the live process holds stderr until it has ended
    assert "Traceback" not in err and "Error" not in err, err
    said = _banner(page)
    assert said.startswith("this sweep was stopped at ") and said.endswith(" of 5000 trials; run the same command to "
                                                                          "resume")


# --- 6. one signal contract in every stage ---------------------------------------------------------------------


def test_sigterm_during_the_analysis_is_one_line_and_143(tmp_path):
    (tmp_path / "tiny.py").write_text(TINY_STUDY)
    cache = tmp_path / "results" / "tiny" / "analysis.sqlite"
    run = subprocess.Popen([sys.executable, "-m", "sweeps", "run", "tiny.py", "--jobs", "1", "--explain"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not cache.is_file():  # the analysis has begun
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143, err
    assert err.count("\n") == 1 and err.startswith("terminated (SIGTERM): "), err


@pytest.mark.parametrize("sig, code, words", [(signal.SIGINT, 130, "interrupted: "),
                                              (signal.SIGTERM, 143, "terminated (SIGTERM): ")], ids=["int", "term"])
def test_a_signal_while_the_report_is_written_is_one_line_and_its_code(swept_tiny, tmp_path, sig, code, words):
    root = swept_tiny.copy(tmp_path)
    page = root / "results" / "tiny" / "report.html"
    before = page.read_bytes()
    # the report waits once its frames are built, and says so: the signal lands inside it, every time
    inside = ("import sys, time, sweeps.cli\n"
              "from sweeps.results import frames\n"
              "built = frames.build\n"
              "def build(*args, **kwargs):\n"
              "    out = built(*args, **kwargs)\n"
              "    print('inside', flush=True)\n"
              "    time.sleep(60)\n"
              "    return out\n"
              "frames.build = build\n"
              "sys.exit(sweeps.cli.main(['report', 'tiny.py']))\n")
    report = subprocess.Popen([sys.executable, "-c", inside], cwd=root, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert report.stdout.readline() == "inside\n"
    os.killpg(report.pid, sig)  # as a terminal does: to the whole group, the drawing helper too
    out, err = report.communicate(timeout=60)
    assert report.returncode == code, err
    assert err.count("\n") == 1 and err.startswith(words), err
    text = page.read_bytes()
    assert text == before or text.rstrip().endswith(b"</html>")  # the old page or the new one, whole


# --- 7. bounded output and honest estimates --------------------------------------------------------------------


def test_a_huge_value_is_cut_in_the_one_line(capsys, tmp_path, monkeypatch, tiny_study):
    monkeypatch.chdir(tmp_path)
    err = bad_input_error(["diagnose", tiny_study, "--config", '{"lr": "' + "9" * 5_000_000 + '"}'], capsys)
    assert len(err) < 600 and "characters cut]" in err and err.startswith("error: lr must be a finite number")


def test_diagnose_says_a_long_training_and_stops_at_its_timeout(tmp_path, tiny_study, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    big = json.dumps({"hidden": [4096], "steps": 10_000_000})
    assert main(["diagnose", tiny_study, "--config", big, "--timeout", "1"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("warning: this training (the config given) may take about ") and err.count("\n") == 1
    assert "(10,000,000 steps of 60 rows through 12,289 parameters); --timeout SEC stops it there" in err
    assert "steps (timeout)" in out and "stopped by --timeout after " in out and "mode: " in out


def test_large_data_get_a_warning_with_the_estimate_and_a_batch_size(capsys):
    import studies
    from sweeps.cli import say_run_estimates

    x = np.random.default_rng(0).uniform(-1, 1, 150_000)
    say_run_estimates(studies.Study.from_arrays("big", x, np.sin(3 * x)), None)
    err = capsys.readouterr().err
    assert err.startswith("warning: 120,000 training rows: a trial of the first config (2,000 full-batch steps) may "
                          "take about ") and "a batch size (batch_size in your config" in err


def test_the_summary_lists_only_files_that_exist_and_says_why_there_is_none(tmp_path, tiny_study, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", tiny_study, "--trials", "2", "--jobs", "1", "--trial-timeout", "0.001"]) == 0
    out = capsys.readouterr().out
    assert "outputs: results/tiny/ (trials.csv)" in out and not (tmp_path / "results" / "tiny" / "best.json").exists()
    assert "no best config and no report: none of the trials completed; 2 failed, the last with: " in out


# --- 8. data of any shape ----------------------------------------------------------------------------------------


def test_every_figure_and_the_page_take_a_perfect_fit_and_tiny_losses(swept_tiny):
    import sweeps
    from sweeps.report.drawing import draw_figures
    from sweeps.report.page import headline_html
    from sweeps.results import frames as tidy

    f = tidy.build(sweeps.load(str(swept_tiny.folder / "tiny.py"), out=swept_tiny.folder / "results"))
    f.trials["value"] = f.trials["value"] * 1e-12
    f.curves["mse"] = f.curves["mse"] * 1e-12
    drawn = draw_figures(f, None)
    assert "history" in drawn and "learning_curves" in drawn
    perfect = f.headline | {"best_value": 0.0, "line_value": 0.0}
    assert "<div" in headline_html(perfect) and "<div" in headline_html(f.headline | {"best_value": 0.0})


def test_the_stored_grid_grows_linearly_with_the_inputs(tmp_path):
    import studies

    x = np.random.default_rng(0).uniform(-1, 1, (30, 40))
    s = studies.Study.from_arrays("wide", x, x.sum(axis=1) ** 2, trials=1)
    s.save(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as z:
        assert max(z[k].size for k in z.files if k != "meta") <= 100 * 40  # no (100 x 40) x 40 grid stored
    back = studies.Study.load(tmp_path / "s.npz")
    assert np.array_equal(back.data().x_grid, s.data().x_grid) and back.fingerprint() == s.fingerprint()


def test_out_of_memory_is_one_line_and_its_code(tmp_path, tiny_study):
    from conftest import run_patched

    script = ("import sys, studies.base\n"
              "def full(self): raise MemoryError()\n"
              "studies.base.Study.data = full\n"
              "from sweeps.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    r = run_patched(script, "diagnose", tiny_study, cwd=tmp_path)
    assert r.returncode == 71 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: out of memory")


WIDE = """
import numpy as np
from mlpcore import MLPConfig
from studies import Study

def sample(rng):
    x = rng.uniform(-2.0, 2.0, 80_000)
    return x, np.sin(2 * x)

STUDY = Study(name="wide", title="4096 units on 80,000 rows", question="a test study",
              target=lambda x: np.sin(2 * x), sample=sample, trials=4, steps=5, repeats=1,
              space={"width": [4096], "lr": (1e-3, 1e-2)},
              baseline=MLPConfig(hidden=(8,), steps=5))
"""
# the baseline fits in memory and the trials do not: a trial's worker is the one that runs out

ADDRESS_SPACE = 1200 << 20
"""Room for Python, numpy and numba in each process (about 600 MB of address space each), not
for a training of 4096 units on 80,000 rows, whose first layer asks for 2.4 GiB at once."""


def test_a_worker_out_of_memory_stops_the_sweep_in_one_line_and_its_code(tmp_path):
    import resource

    import sweeps
    from mlpcore.warmup import warm_up
    from sweeps.store.records import Stop, counts_as_done, stop_reason

    warm_up(quiet=True)  # the kernel compiled, and cached, here: not under the limit, in a worker
    (tmp_path / "wide.py").write_text(WIDE)

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    # one BLAS thread and two malloc arenas: the address space a process takes then depends little
    # on the machine's cores
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
    command = [sys.executable, "-m", "sweeps", "run", "wide.py", "--no-explain", "--jobs", "2"]
    r = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       preexec_fn=limited, env=env)
    err = r.stderr
    assert r.returncode == 71, err
    assert err.count("\n") == 1 and err.startswith("error: out of memory (")
    assert "Traceback" not in err
    assert re.search(r"\(trial \d+: MemoryError", err), err  # the training that ran out
    assert err.rstrip().endswith("anything finished is kept, run the same command again to resume")
    opt = sweeps.load(str(tmp_path / "wide.py"), out=tmp_path / "results")
    assert opt.trials
    for t in opt.trials:  # stopped, not failed: run again by the same command
        assert stop_reason(t) is Stop.OUT_OF_MEMORY and not counts_as_done(t)


def test_a_thread_with_no_room_for_its_stack_is_out_of_memory(tiny_study, monkeypatch, capsys):
    import studies.base

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(studies.base.Study, "data", no_thread)
    assert main(["diagnose", tiny_study]) == 71
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: out of memory (can't start new thread): ")


# --- 10. messages that say what to do ------------------------------------------------------------------------------


def test_a_journal_record_of_an_unknown_kind_is_said(swept_tiny, tmp_path, monkeypatch, capsys):
    root = swept_tiny.copy(tmp_path)
    monkeypatch.chdir(root)
    journal = root / "results" / "tiny" / "journal.log"
    journal.write_bytes(journal.read_bytes() + b'{"op_code": 99, "worker_id": "w"}\n')
    before = journal.read_bytes()
    err = bad_input_error(["best", "tiny.py"], capsys)
    assert "holds a record this Optuna cannot read (its last complete line: op_code 99, perhaps from a newer Optuna" \
        in err
    assert journal.read_bytes() == before


def test_list_says_why_a_study_is_skipped(swept_tiny, tmp_path, monkeypatch, capsys):
    root = swept_tiny.copy(tmp_path)
    monkeypatch.chdir(root)
    journal = root / "results" / "tiny" / "journal.log"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:5] + [b"{not json\n"] + lines[5:]))
    assert main(["list"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("tiny"))
    assert "skipped: journal file 'results/tiny/journal.log' cannot be read" in line or \
        "skipped: 'results/tiny/journal.log' is not an Optuna journal file (line 6" in line, line
    assert "None" not in line


def test_a_semicolon_separated_csv_is_read_by_its_separator(tmp_path):
    import studies

    (tmp_path / "semi.csv").write_text("x;y\n" + "".join(f"{i};{i * i}\n" for i in range(20)))
    s = studies.from_table(tmp_path / "semi.csv", ["x"], "y")
    assert sorted(np.concatenate([s.data().y_train, s.data().y_val])) == [i * i for i in range(20)]


def test_a_net_blown_up_by_a_huge_init_scale_is_told_to_lower_it():
    import mlpcore

    x = np.linspace(-1, 1, 40)
    for scale, steps in ((1e200, 0), (50.0, 1)):
        cfg = mlpcore.MLPConfig(init_scale=scale, activation="relu" if steps == 0 else "identity", optimizer="sgd",
                                lr=0.01, steps=100)
        r = mlpcore.fit(cfg, x, np.sin(3 * x))
        assert r.diagnosis.mode == "diverged"
        hint = next(h for h in r.diagnosis.hints if "blew up" in h)
        assert hint.split(": ", 1)[1].startswith("init_scale=1.0"), hint
        assert ("lower the learning rate" in hint) == (r.steps_done > 0), hint

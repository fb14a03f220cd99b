"""Crash and resume, drivers sharing a study, workers that die or hang: nothing finished is lost."""

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import optuna
import pytest
from optuna.trial import TrialState

import sweeps
from sweeps.search.pool import WorkerPool
from sweeps.search.tracker import _cmdline
from sweeps.store.records import counts_as_done

import pgcluster
from conftest import run_patched

KILLABLE = "trials=8, steps=150,"


def study_file(tmp_path, tiny_study, *, trials: int, steps: int, name: str = "tiny", extra: str = "") -> str:
    text = (open(tiny_study).read().replace(KILLABLE, f"trials={trials}, steps={steps}, {extra}")
            .replace('"tiny"', f'"{name}"'))
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return str(path)


def start(study: str, *args: str, cwd) -> subprocess.Popen:
    """The driver of a search, without the analysis after it (which test_explain.py covers)."""
    return subprocess.Popen([sys.executable, "-m", "sweeps", "run", study, "--no-explain", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def snapshot(study: str, **where) -> dict[int, tuple]:
    """Completed trials: number -> (params, value)."""
    opt = sweeps.load(study, **where)
    return {t.number: (t.params, t.value) for t in opt.get_trials(states=(TrialState.COMPLETE,))}


def test_sigkill_the_driver_at_random_moments_then_resume(tmp_path, tiny_study):
    study = study_file(tmp_path, tiny_study, trials=40, steps=800)
    rng = random.Random(7)
    kept: dict[int, tuple] = {}
    kills = 0
    journal = tmp_path / "results" / "tiny" / "journal.log"
    for _ in range(4):
        asked = _trials_created(journal)
        proc = start(study, "--jobs", "2", cwd=tmp_path)
        # Killed at a random moment once it has asked a trial: mid-sweep, whatever the machine's speed.
        assert _wait_until(lambda: _trials_created(journal) > asked or proc.poll() is not None)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        now = snapshot(study, out=tmp_path / "results")
        assert all(now[n] == kept[n] for n in kept), "a completed trial changed or vanished"
        kept = now
    assert kills >= 3
    assert len(kept) < 40  # the kills landed before the budget was done
    r = subprocess.run([sys.executable, "-m", "sweeps", "run", study, "--no-explain", "--no-report", "--jobs", "2"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    opt = sweeps.load(study, out=tmp_path / "results")
    final = {t.number: (t.params, t.value) for t in opt.get_trials(states=(TrialState.COMPLETE,))}
    assert all(final[n] == kept[n] for n in kept)  # trials lost: 0
    assert sum(counts_as_done(t) for t in opt.trials) == len(final) == 40
    assert not opt.get_trials(states=(TrialState.RUNNING,))
    for t in opt.get_trials(states=(TrialState.FAIL,)):
        assert "died" in t.user_attrs["stopped_by"]


def _kill_self(i):
    if i == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return i


def test_pool_fails_only_the_task_that_kills_its_worker():
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    out = dict(WorkerPool(_kill_self, 2).run([(i,) for i in range(6)]))
    assert {i: out[i] for i in (0, 1, 3, 4, 5)} == {0: 0, 1: 1, 3: 3, 4: 4, 5: 5}
    assert "worker process running this trial died" in out[2]["error"]


def _say_and_die(i, words):
    if i == 2:
        os.write(2, words.encode())
        os.abort()
    return i


@pytest.mark.parametrize("words, error", [
    ("LLVM ERROR: out of memory\n", "its worker process ran out of memory (LLVM ERROR: out of"),
    ("something broke\n", "running alone (a crash: Fatal Python error: Aborted)")])
def test_a_dying_worker_says_why_in_its_tasks_error_not_on_the_terminal(capfd, words, error):
    """What a worker says on stderr as it dies (LLVM, Python's fatal-error dump) decides how its
    task ends: out of memory (a sweep stops, exit 71) or a crash (its trial fails); none of it
    reaches the driver's stderr."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    capfd.readouterr()
    out = dict(WorkerPool(_say_and_die, 2).run([(i, words) for i in range(4)]))
    assert error in out[2]["error"]
    memory = "memory" in words
    assert out[2].get("out_of_memory", False) == memory
    for i in (0, 1, 3):  # a crash fails its task alone; no memory, every task in flight
        assert out[i] == i or (memory and out[i]["out_of_memory"]), out[i]
    assert capfd.readouterr().err == ""


def test_the_stderr_folder_of_a_killed_driver_is_removed_by_the_next(tmp_path, monkeypatch):
    """A driver killed outright runs no exit handler: its workers' stderr folder is left, until the
    next driver's first pool removes it (and no folder of a driver still running)."""
    import tempfile

    from sweeps.search import deaths

    gone = subprocess.Popen(["true"])
    gone.wait()
    left = tmp_path / f"{deaths.FOLDER_PREFIX}{gone.pid}-abc"
    left.mkdir()
    (left / "123").write_text("Fatal Python error: Aborted\n")
    running = tmp_path / f"{deaths.FOLDER_PREFIX}{os.getpid()}-def"
    running.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(deaths, "_folder", None)
    folder = deaths.stderr_folder()
    assert folder.is_dir() and folder.parent == tmp_path
    assert not left.exists() and running.is_dir()


def test_a_worker_the_kernel_killed_for_memory_ends_its_tasks_out_of_memory(monkeypatch):
    """SIGKILL from the out-of-memory killer leaves no words: the kernel's count of such kills
    tells (here rising at every look, as it would while the kernel kills our worker)."""
    import cloudpickle

    from sweeps.search import pool

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    kills = iter(range(10**6))
    monkeypatch.setattr(pool, "oom_kills", lambda: next(kills))
    out = dict(WorkerPool(_kill_self, 2).run([(i,) for i in range(4)]))
    assert out[2]["out_of_memory"] is True and "out-of-memory killer" in out[2]["error"]


def _environment(names):
    return {name: os.environ.get(name) for name in names}


def test_workers_run_with_the_worker_environment():
    """One BLAS thread each, and malloc keeping freed memory (see WORKER_ENV): set at spawn, or it is too late."""
    import cloudpickle

    from sweeps.search.pool import WORKER_ENV

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    [(_, env)] = WorkerPool(_environment, 1).run([(sorted(WORKER_ENV),)])
    assert env == WORKER_ENV


def test_joblib_parallel_works_before_and_after_a_pool_in_the_same_process():
    """loky keeps one executor per process: the pool's must be one joblib.Parallel can take over, and back."""
    import cloudpickle
    from joblib import Parallel, delayed

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    assert Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]
    assert dict(WorkerPool(abs, 2).run([(-i,) for i in range(4)])) == {0: 0, 1: 1, 2: 2, 3: 3}
    assert Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]
    assert dict(WorkerPool(abs, 2).run([(-i,) for i in range(4)])) == {0: 0, 1: 1, 2: 2, 3: 3}


def _mark_prepared(folder, fail):
    open(os.path.join(folder, str(os.getpid())), "w").close()
    if fail:
        raise RuntimeError("preparation failed")


def _pid_and_whether_prepared(folder, i):
    return os.getpid(), os.path.exists(os.path.join(folder, str(os.getpid())))


@pytest.mark.parametrize("fail", [False, True])
def test_every_worker_prepares_before_its_first_task_and_a_failed_preparation_is_harmless(tmp_path, fail):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    pool = WorkerPool(_pid_and_whether_prepared, 2, prepare=(_mark_prepared, (str(tmp_path), fail)))
    pool.start()
    deadline = time.time() + 60
    while len(os.listdir(tmp_path)) < 2 and time.time() < deadline:  # start() starts both, with no task yet
        time.sleep(0.05)
    assert len(os.listdir(tmp_path)) == 2
    out = dict(pool.run([(str(tmp_path), i) for i in range(8)]))
    assert sorted(out) == list(range(8)) and len(pool) == 0
    assert all(prepared for _, prepared in out.values())
    assert len(os.listdir(tmp_path)) == 2  # once per worker, not per task


def test_an_outside_kill_of_a_worker_costs_a_rerun_not_a_trial(tmp_path, tiny_study):
    study = study_file(tmp_path, tiny_study, trials=12, steps=6000)
    proc = start(study, "--jobs", "2", "--no-report", cwd=tmp_path)  # the report is not what is tested
    killed = None
    deadline = time.time() + 60
    while killed is None and time.time() < deadline:
        time.sleep(0.5)
        for pid in _children(proc.pid):
            if b"loky" in _cmdline(pid) or b"joblib" in _cmdline(pid):
                if b"resource_tracker" not in _cmdline(pid):
                    os.kill(pid, signal.SIGKILL)
                    killed = pid
                    break
    assert killed is not None
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    opt = sweeps.load(study, out=tmp_path / "results")
    assert len(opt.get_trials(states=(TrialState.COMPLETE,))) == 12


def test_a_killed_resource_tracker_costs_nothing_and_prints_nothing(tmp_path, tiny_study):
    """loky's tracker, killed mid-sweep, is started again when the driver next speaks to it: the
    new one must not print a KeyError for each semaphore it never heard of (issue 31)."""
    study = study_file(tmp_path, tiny_study, trials=8, steps=1500)
    proc = start(study, "--jobs", "2", "--no-report", cwd=tmp_path)
    journal = tmp_path / "results" / "tiny" / "journal.log"

    def tracker() -> int | None:
        command = b"from loky.backend.resource_tracker import main"
        return next((p for p in _children(proc.pid) if command in _cmdline(p)), None)

    assert _wait_until(lambda: tracker() is not None and _trials_created(journal) > 0
                       or proc.poll() is not None)
    killed = tracker()
    assert killed is not None and proc.poll() is None  # mid-sweep: the driver still runs
    os.kill(killed, signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    opt = sweeps.load(study, out=tmp_path / "results")
    assert len(opt.get_trials(states=(TrialState.COMPLETE,))) == 8
    assert "Traceback" not in err and "KeyError" not in err and "resource_tracker" not in err, err


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]




def test_trial_timeout_fails_the_stuck_trials_and_the_sweep_goes_on(tmp_path, tiny_study):
    # Every trial would run for minutes: no plateau stop, and only small learning rates (no divergence).
    slow = "patience=None, space={'lr': __import__('optuna').distributions.FloatDistribution(1e-4, 1e-3, log=True)},"
    study = study_file(tmp_path, tiny_study, trials=3, steps=10_000_000, extra=slow)
    r = subprocess.run([sys.executable, "-m", "sweeps", "run", study, "--no-explain", "--jobs", "2", "--trial-timeout",
                        "1.5"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    opt = sweeps.load(study, out=tmp_path / "results")
    failed = opt.get_trials(states=(TrialState.FAIL,))
    assert len(failed) == 3 and all("time limit of 1.5 s" in t.user_attrs["error"] for t in failed)


def run_drivers(study: str, n: int, trials: int, cwd, *extra: str, reports: int = 0) -> list[subprocess.CompletedProcess]:
    """``n`` drivers of one study at once, the first ``reports`` of them ending with the report (the others without)."""
    cmd = [sys.executable, "-m", "sweeps", "run", study, "--no-explain", "--jobs", "1", "--trials", str(trials), *extra]

    def driver(i: int) -> subprocess.CompletedProcess:
        return subprocess.run(cmd + ([] if i < reports else ["--no-report"]), cwd=cwd, capture_output=True, text=True,
                              timeout=600)

    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(driver, range(n)))


def check_shared_study(opt: optuna.Study, trials: int) -> None:
    complete = opt.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == trials  # no more, no fewer
    assert not opt.get_trials(states=(TrialState.RUNNING,))
    assert len({t.number for t in complete}) == trials
    seeds = [tuple(t.user_attrs["seeds"]) for t in complete]
    assert len(set(seeds)) == trials  # every trial evaluated once: no duplicates
    assert len({t.user_attrs["driver"] for t in complete}) >= 2  # they really shared it
    for t in opt.get_trials(states=(TrialState.FAIL,)):
        assert t.user_attrs["stopped_by"].startswith("over budget")


def test_four_drivers_share_one_journal_file(tmp_path, tiny_study):
    study = study_file(tmp_path, tiny_study, trials=24, steps=200)
    for r in run_drivers(study, 4, 24, tmp_path, reports=2):  # two write the same report at once
        assert r.returncode == 0, r.stderr
    check_shared_study(sweeps.load(study, out=tmp_path / "results"), 24)
    assert (tmp_path / "results" / "tiny" / "report.html").read_bytes().rstrip().endswith(b"</html>")


@pytest.fixture(scope="module")
def postgres():
    yield from pgcluster.serve()  # a skip on a machine without PostgreSQL, a failure in CI


def test_four_drivers_share_one_postgresql_study(tmp_path, tiny_study, postgres):
    url = postgres.create_database("four_drivers")
    study = study_file(tmp_path, tiny_study, trials=24, steps=200)
    for r in run_drivers(study, 4, 24, tmp_path, "--storage", url):  # reports: the journal case
        assert r.returncode == 0, r.stderr
    check_shared_study(sweeps.load(study, storage=url), 24)
    assert sweeps.best_config(study, storage=url).steps == 200


def _pid(i):
    return os.getpid()


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie counts as ended: it runs no more)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def _trials_created(journal) -> int:
    """Trials created in a journal file so far (Optuna's CREATE_TRIAL records, op code 4)."""
    try:
        with open(journal, "rb") as f:
            return sum(line.startswith(b'{"op_code":4,') for line in f)
    except FileNotFoundError:
        return 0


def _wait_until(condition, seconds: float = 60.0) -> bool:
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.1)
    return condition()


def test_a_worker_killed_while_idle_breaks_no_submit():
    """The regression of issue 13 §8: the pool held the broken executor, and the next submit raised."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    pool = WorkerPool(_pid, 2)
    victim = sorted(set(dict(pool.run([(i,) for i in range(4)])).values()))[0]
    os.kill(victim, signal.SIGKILL)
    assert _wait_until(lambda: _gone(victim))
    time.sleep(1.0)  # loky has seen the death and marked its executor broken: the case that raised
    out = dict(pool.run([(i,) for i in range(6)]))
    assert sorted(out) == list(range(6)) and victim not in out.values()


DRIVER = """
import os, sys, time
from sweeps.search.pool import WorkerPool
def ids(i):
    time.sleep(0.2)
    return os.getpid(), os.getppid()
print(sorted(set(dict(WorkerPool(ids, 2).run([(i,) for i in range(4)])).values())), flush=True)
time.sleep(600)
"""


def test_released_workers_end_with_their_threads_and_a_pool_used_again_gets_fresh_ones():
    """What the report needs before it forks its drawing processes (sweeps.pipeline.finish)."""
    import threading

    import cloudpickle

    from sweeps.search.pool import release_workers

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    def managers():  # loky's threads driving the workers (joblib's own copy of loky has its own: not these)
        return [t for t in threading.enumerate() if type(t).__module__.startswith("loky.")]

    pool = WorkerPool(_pid, 2)
    before = set(dict(pool.run([(i,) for i in range(4)])).values())
    assert managers()
    release_workers()
    assert managers() == [] and _wait_until(lambda: all(_gone(pid) for pid in before))
    after = set(dict(pool.run([(i,) for i in range(4)])).values())
    assert after and not after & before


def test_workers_end_with_a_sigkilled_driver(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    workers = eval(proc.stdout.readline())
    assert len(workers) == 2 and all(parent == proc.pid for _, parent in workers)  # loky's workers are its children
    proc.kill()
    proc.wait()
    assert _wait_until(lambda: all(_gone(pid) for pid, _ in workers), seconds=30)


def test_ctrl_c_during_an_ask_leaves_nothing_for_a_rerun_to_wait_for(tmp_path, tiny_study, monkeypatch):
    from sweeps.search import driver as runner
    from sweeps import space

    asked, original = [], space.Space.suggest

    def suggest(self, trial):
        asked.append(trial.number)
        if len(asked) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C between the ask and the stamps
        return original(self, trial)

    monkeypatch.setattr(space.Space, "suggest", suggest)
    with pytest.raises(KeyboardInterrupt):
        runner.search(tiny_study, trials=8, jobs=1, out=tmp_path, progress=False)
    opt = sweeps.load(tiny_study, out=tmp_path)
    assert len(opt.trials) == 3 and not opt.get_trials(states=(TrialState.RUNNING,))
    # trials are asked just in time, so those before the third may have finished before the Ctrl-C
    assert all(t.state == TrialState.COMPLETE or t.user_attrs["stopped_by"] == "interrupted"
               for t in opt.trials)
    assert opt.trials[-1].user_attrs["stopped_by"] == "interrupted"


def test_sigterm_is_ctrl_c_exit_143_and_the_workers_end(tmp_path, tiny_study):
    study = study_file(tmp_path, tiny_study, trials=40, steps=4000)
    proc = start(study, "--jobs", "2", cwd=tmp_path)
    assert _wait_until(lambda: len([p for p in _children(proc.pid) if b"loky.backend.popen" in _cmdline(p)]) == 2)
    workers = _children(proc.pid)
    assert _wait_until(lambda: (tmp_path / "results" / "tiny" / "journal.log").is_file()
                       and len(sweeps.load(study, out=tmp_path / "results").get_trials(
                           states=(TrialState.RUNNING,))) > 0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.count("\n") == 1 and err.startswith("terminated (SIGTERM)")
    assert _wait_until(lambda: all(_gone(pid) for pid in workers), seconds=30)
    opt = sweeps.load(study, out=tmp_path / "results")
    assert not opt.get_trials(states=(TrialState.RUNNING,))
    stopped = opt.get_trials(states=(TrialState.FAIL,))
    assert stopped and all(t.user_attrs["stopped_by"] == "interrupted" for t in stopped)


def test_summaries_count_interrupted_and_lost_trials_apart_from_failed_ones():
    from sweeps.results.reading import summary
    from sweeps.store.records import ending

    opt = optuna.create_study()
    for attrs in ({"error": "ValueError: x"}, {"stopped_by": "interrupted"}, {"stopped_by": "interrupted"},
                  {"stopped_by": "its driver 0123abcd died"}, {"stopped_by": "over budget: other drivers took"}):
        t = opt.ask()
        for k, v in attrs.items():
            t.set_user_attr(k, v)
        opt.tell(t, state=TrialState.FAIL)
    assert [ending(t) for t in opt.trials] == ["failed", "interrupted", "interrupted", "lost with a dead driver",
                                               "given back"]
    first = summary(opt).splitlines()[0]
    assert first.endswith(" trials complete, 1 failed, 2 interrupted, 1 given back, 1 lost with a dead driver")


OLD = {"report.html": b"<!doctype html><html>the previous report</html>\n", "trials.csv": b"old,trials\n",
       "headline.json": b'{"old": true}\n'}


# A report process that counts the files it writes (each is fsynced once, before its rename) and SIGKILLs
# itself at the fsync numbered argv[1]: the file in hand is written, not yet in place; earlier ones are.
KILLED_AT_FSYNC = """
import os, signal, sys
at, count = int(sys.argv[1]), [0]
real_fsync = os.fsync
def fsync(fd):
    count[0] += 1
    if count[0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_fsync(fd)
os.fsync = fsync
from sweeps.cli import main
code = main(sys.argv[2:])
print(count[0], file=sys.stderr)
sys.exit(code)
"""


def test_a_report_writer_killed_at_any_moment_leaves_the_old_files_or_the_new_ones_whole(tmp_path, swept_tiny):
    swept_tiny.copy(tmp_path)
    out_dir = tmp_path / "results" / "tiny"

    def report(kill_at: int) -> subprocess.CompletedProcess:
        # the figures drawn and written again, not read back as kept (sweeps.report.kept), and the
        # journal's replay and trials frame kept again (sweeps.store.replay, sweeps.results.kept_trials):
        # the kills fall among them too
        (out_dir / "figures" / "drawn.json").unlink(missing_ok=True)
        (out_dir / "journal.replay").unlink(missing_ok=True)
        (out_dir / "journal.frame").unlink(missing_ok=True)
        return run_patched(KILLED_AT_FSYNC, str(kill_at), "report", "tiny.py", cwd=tmp_path)

    whole = report(0)
    assert whole.returncode == 0, whole.stderr
    files = int(whole.stderr.splitlines()[-1])
    new = {name: (out_dir / name).read_bytes() for name in OLD}
    assert new["report.html"].rstrip().endswith(b"</html>") and files > len(OLD)
    for kill_at in sorted({1, files // 2, files}):  # the first file, one in the middle, the last
        for name, data in OLD.items():
            (out_dir / name).write_bytes(data)
        assert report(kill_at).returncode == -signal.SIGKILL
        states = set()
        for name, old in OLD.items():
            now = (out_dir / name).read_bytes()
            if name == "report.html" and now != old:  # the page holds the time it was written
                assert now.lower().startswith(b"<!doctype html>") and now.rstrip().endswith(b"</html>")
                assert len(now) == len(new[name])
            else:
                assert now in (old, new[name]), name
            states.add(now == old)
        if kill_at == 1:
            assert states == {True}  # killed writing the first file: every file is still the old one


def test_closing_the_pool_drops_only_the_manager_threads_exception(monkeypatch):
    import threading

    from sweeps.search.pool import MANAGER_THREAD, quiet_manager

    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.thread.name))

    def boom():
        raise BrokenPipeError("the worker's pipe is gone")

    def run(name):
        t = threading.Thread(target=boom, name=name)
        t.start()
        t.join()

    with quiet_manager():
        run(MANAGER_THREAD)
        run("someone-else")
    assert seen == ["someone-else"]
    run(MANAGER_THREAD)  # outside the block, shown as before
    assert seen == ["someone-else", MANAGER_THREAD]

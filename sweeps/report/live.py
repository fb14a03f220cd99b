"""The report page kept up to date while a sweep runs.

    with LiveReport("sqrt", out="results", total=120):
        sweeps.run("sqrt", ...)          # results/sqrt/report.html: the running page, rewritten
        every few seconds
    page.write_report("sqrt", ...)       # then the final page, without the banner and the reload

One process of its own (``python -m sweeps.report.live``) rewrites the page for as long as the sweep
runs: the headline and the history of values (:mod:`sweeps.report.live_page`, the report's own
figure), a few tenths of a CPU second a rewrite once its imports are done (paid once, as it starts).
It has its own interpreter, so the driver never waits for the GIL behind it, and runs at a lower
priority (NICENESS), so the sweep's workers have the cores first. It reads a still copy of the study
(:func:`frozen`: the page's numbers all see the same trials) through a storage object of its own
(like optuna-dashboard, a second reader of the same journal or database); a storage URL reaches it
in its environment, never on its command line, where any user's ``ps`` would show a password. It
starts :data:`START_AFTER` seconds into the sweep (a shorter sweep has no running page: its full
report follows at once), writes the first page as soon as a trial is complete, then rewrites it
every ``interval`` seconds, and after a rewrite that took ``c`` seconds of CPU it rests at least ``c
/ BUDGET`` seconds. It ends when :meth:`LiveReport.close` terminates it, or when the driver's end
closes its stdin.
"""

from __future__ import annotations

import contextlib
import html
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from datetime import datetime
from pathlib import Path

import optuna

import studies
from mlpcore.atomic import replace_file
from sweeps.report.files import REPORT_NAME
from sweeps.report.live_page import read_driver, restate, with_driver, write_live_page
from sweeps.report.page import RUNNING_BANNER, Live, live_banner
from sweeps.results.handle import Sweep, open_sweep
from sweeps.results.reading import budget, complete_trials
from sweeps.store.liveness import is_gone, process_identity
from sweeps.store.masking import mask
from sweeps.store.records import counts_as_done

START_AFTER = 20.0
"""Seconds into the sweep before the rewriting process starts. Its start (an interpreter that
imports pandas, matplotlib and seaborn) is the largest cost it has: a sweep that ends sooner has no
use for a running page (its full report follows at once) and pays nothing for one; a longer one
pays it once, then at most BUDGET of a core for the rewrites (benchmarks/README.md, "Issue 30: live
page")."""
INTERVAL = 5.0
"""Seconds between two rewrites of the live page (at least): often enough to follow a sweep, rarely
enough that the rewrites take a few percent of one core (benchmarks/README.md)."""
POLL = 1.0
"""Seconds between two looks for the first completed trial, before the first page is written."""
BUDGET = 0.05
"""The share of one core's time rewrites may take: a rewrite of c CPU seconds is followed by c /
BUDGET of rest."""
NICENESS = 10
"""The rewriting process's niceness: the sweep's workers have the cores first, and it runs in their
gaps."""
CLOSE_TIMEOUT = 10.0
"""Seconds :meth:`LiveReport.close` waits for the rewriting process to end after SIGTERM, before it
kills it."""
STORAGE_VARIABLE = "SWEEPS_LIVE_STORAGE"
"""The environment variable that hands the storage URL to the rewriting process."""


class LiveReport:
    """Rewrites the report page of ``study`` in the background until :meth:`close`.

    Parameters
    ----------
    study : the study reference given to ``run`` (a name or a .py file).
    out, storage : where the sweep is stored, as for ``run``.
    total : the trials the sweep runs to (for "running: 57 of 120 trials"); default the study's
            budget.
    interval : seconds between rewrites, at least (default :data:`INTERVAL`).
    start_after : seconds after :meth:`start` before the rewriting process starts (default
        :data:`START_AFTER`; 0: at once).
    """

    def __init__(
        self,
        study: str,
        *,
        out: str | Path = "results",
        storage: str | None = None,
        total: int | None = None,
        interval: float | None = None,
        start_after: float | None = None,
    ):
        self.study, self.out, self.storage = study, out, storage
        self.interval = INTERVAL if interval is None else interval
        self.start_after = START_AFTER if start_after is None else start_after
        self.total = total
        self.rewrites = 0
        """Pages the rewriting process has written."""
        self.busy = 0.0
        """CPU seconds the rewriting process has taken (as it last said: its imports, its looks and
        its rewrites)."""
        self.first: float | None = None
        """Seconds from :meth:`start` to the first page written, None before."""
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()  # between the timer that starts the process and close()
        self._closed = False
        self._started = 0.0
        self._page: str | None = None  # the page the process last said it wrote

    def start(self) -> LiveReport:
        if self.total is None:
            try:
                self.total = studies.get(self.study).trials
            except (
                ValueError
            ):  # a study known only by its stored sweep: the banner gives the trials done
                pass
        self._started = time.monotonic()
        if self.start_after > 0:
            self._timer = threading.Timer(self.start_after, self._spawn)
            self._timer.daemon = True  # a driver that leaves on an error does not wait for it
            self._timer.start()
        else:
            self._spawn()
        return self

    def _spawn(self) -> None:
        """Start the rewriting process and the thread that reads what it says; not once closed."""
        command = [
            sys.executable,
            "-m",
            "sweeps.report.live",
            self.study,
            "--out",
            str(self.out),
            "--interval",
            str(self.interval),
        ] + ([] if self.total is None else ["--total", str(self.total)])
        env = os.environ | ({STORAGE_VARIABLE: self.storage} if self.storage else {})
        with self._lock:
            if self._closed:
                return
            try:
                self._process = subprocess.Popen(
                    command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
            except OSError as e:  # e.g. no process to be had: the sweep runs without its live page
                warnings.warn(f"no live report during this run ({e})", RuntimeWarning, stacklevel=2)
                return
            self._reader = threading.Thread(target=self._read, name="live-report", daemon=True)
            self._reader.start()

    def close(self) -> None:
        """Stop; a rewrite in progress is cut short (every file it writes is replaced whole or not
        at all)."""
        with self._lock:
            self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()
        if self._process is None:
            return
        if self._process.poll() is None:
            # SIGTERM: the process exits through its files' cleanup (main below)
            self._process.terminate()
        try:
            self._process.wait(timeout=CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:  # stuck where a signal cannot reach Python code
            self._process.kill()
            self._process.wait()
        self._reader.join()
        self._process.stdin.close()
        self._process.stdout.close()

    def __enter__(self) -> LiveReport:
        return self.start()

    def __exit__(self, kind, *exc) -> None:
        self.close()
        if kind is None:
            self.mark_ended()
        else:
            self.mark_stopped()

    def mark_ended(self) -> Path | None:
        """Say on the running page that the sweep has ended and the full report follows: the last
        rewrite's count is no longer true while the analysis and the report run. Only the banner
        changes, and only in a page this object's process wrote and nothing has replaced since;
        returns its path, else None."""
        if self._page is None:
            return None
        path = Path(self._page)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return None
        banner = RUNNING_BANNER.search(text)
        if banner is None:  # no longer a running page (the final one, or not ours)
            return None
        ended = live_banner(
            f"the sweep ended at {datetime.now().strftime('%H:%M:%S')}; the full report replaces "
            "this page once it is written (this page reloads itself)"
        )
        text = text[: banner.start()] + ended + text[banner.end() :]
        driver = read_driver(text)
        if driver is not None:  # a later command that finds its driver gone says so (settle_page)
            text = with_driver(text, driver | {"state": "ended"})
        return replace_file(path, text)

    def mark_stopped(self) -> Path | None:
        """Say on the page that the sweep was stopped (Ctrl-C, SIGTERM, an error), with the trials
        done: the running page would otherwise say "running" for ever."""
        if self._page is None:
            return None
        try:
            return settle_page(
                open_sweep(self.study, out=self.out, storage=self.storage, fresh=True), stopped=True
            )
        # leaving on an error already: the next command settles the page
        except Exception:  # noqa: BLE001
            return None

    def _read(self) -> None:
        """Follow what the rewriting process says: a line "rewrote CPU_SECONDS PAGE" or
        "looked|ended CPU_SECONDS" per step."""
        for line in self._process.stdout:
            kind, _, rest = line.rstrip("\n").partition(" ")
            cpu, _, page = rest.partition(" ")
            if kind == "rewrote":
                self.rewrites += 1
                self._page = page
                if self.first is None:
                    self.first = time.monotonic() - self._started
            try:
                self.busy = float(cpu)
            except ValueError:
                pass

    def poke(self) -> Path | None:
        """Rewrite the page now, in this process, from a fresh snapshot; None while no trial is
        complete."""
        return Rewriter(self.study, self.out, self.storage, self.total, self.interval).rewrite()


class Rewriter:
    """One page's rewrites: opens the sweep once it is stored, then writes the running page from
    still copies."""

    def __init__(
        self,
        study: str,
        out: str | Path,
        storage: str | None,
        total: int | None,
        interval: float,
        driver: int | None = None,
    ):
        self.study, self.out, self.storage, self.total, self.interval = (
            study,
            out,
            storage,
            total,
            interval,
        )
        self.driver = driver
        """The pid of the driver the page runs for (this machine's), recorded on the page with a
        heartbeat."""
        self._opened: Sweep | None = None

    def rewrite(self) -> Path | None:
        """The running page written from a still copy of the sweep; None while it has no completed
        trial (or is not stored yet: the driver creates it after this process starts)."""
        if self._opened is None:
            try:
                self._opened = open_sweep(
                    self.study, out=self.out, storage=self.storage, fresh=True
                )
            except ValueError:
                return None
        if not complete_trials(
            self._opened.study
        ):  # a look, before a trial ends: no copy of the study yet
            return None
        opt = frozen(self._opened.study, self._opened.store)
        live = Live(
            done=len(complete_trials(opt)),
            total=self.total,
            updated=datetime.now().strftime("%H:%M:%S"),
            refresh=max(1, round(self.interval)),
        )
        record = (
            None
            if self.driver is None
            else (
                process_identity(self.driver)
                | {"state": "running", "total": self.total, "ref": self.study}
            )
        )
        return write_live_page(opt, self.out, live, record)

    def settle(self) -> Path | None:
        """The driver is gone: the page says where the sweep stopped (:func:`settle_page`)."""
        return None if self._opened is None else settle_page(self._opened, stopped=True)


def settle_page(sweep: Sweep, *, stopped: bool = False) -> Path | None:
    """Replace a running page whose driver is gone (or, with ``stopped``, whose driver is stopping)
    with one that says what happened: "this sweep was stopped at 31 of 80 trials; run the same
    command to resume", or, once the trials are done, that it finished since and how to write its
    report. A page with no driver record (the final report, or a page not ours) and one whose driver
    is alive are left alone; returns the path when rewritten.

    Any command that opens the sweep may call it (``run``, ``list``); the live process calls it when
    its driver dies without closing it."""
    path = sweep.dir / REPORT_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    driver = read_driver(text)
    if driver is None or not (stopped or driver.get("state") == "stopped" or is_gone(driver)):
        return None
    done = sum(counts_as_done(t) for t in sweep.study.get_trials(deepcopy=False))
    # The first time, the budget of the run the page was written for (a run killed records none);
    # afterwards, the latest run's, which may have resumed it to another budget
    first = driver.get("state") != "stopped" and isinstance(driver.get("total"), int)
    total = driver["total"] if first else budget(sweep.study)
    ref = html.escape(str(driver.get("ref") or sweep.ref))
    if total is None or done < total:
        words = (
            f"this sweep was stopped at {done}{f' of {total}' if total else ''} trials; "
            f"run the same command to resume"
        )
    else:
        words = (
            f"this sweep has finished ({done} of {total} trials) since this page was written; "
            f"<code>python -m sweeps report {ref}</code> writes its full report"
        )
    settled = restate(text, live_banner(words), driver | {"state": "stopped"})
    return None if settled == text else replace_file(path, settled)


def frozen(opt, store):
    """A still copy of the running sweep ``opt`` in memory, read once from ``store``, the storage
    object it is read from.

    The page's frames read the study many times; reading a study that the driver is writing would
    give each frame another set of trials (a best trial whose predictions are not yet in the
    predictions frame).
    """
    still = optuna.storages.InMemoryStorage()
    optuna.copy_study(from_study_name=opt.study_name, from_storage=store, to_storage=still)
    return optuna.load_study(study_name=opt.study_name, storage=still)


def main(argv: list[str] | None = None) -> int:
    """``python -m sweeps.report.live STUDY --out DIR [--total N] [--interval S]``: rewrite the
    running page until SIGTERM or the end of stdin, at the priority NICENESS, the storage URL (if
    any) from ``SWEEPS_LIVE_STORAGE``. What LiveReport runs; it prints "rewrote CPU_SECONDS PAGE" or
    "looked|ended CPU_SECONDS" after each step."""
    import argparse

    if hasattr(os, "nice"):
        os.nice(NICENESS)
    signal.signal(
        signal.SIGTERM, lambda *_: sys.exit(143)
    )  # cut short by close(): temporary files are removed
    signal.signal(
        signal.SIGINT, signal.SIG_IGN
    )  # Ctrl-C reaches the whole group: the driver says it, and closes this
    parser = argparse.ArgumentParser(prog="python -m sweeps.report.live")
    parser.add_argument("study")
    parser.add_argument("--out", default="results")
    parser.add_argument("--total", type=int)
    parser.add_argument("--interval", type=float, default=INTERVAL)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(
        optuna.logging.WARNING
    )  # our own process: no INFO lines on the terminal
    stop = threading.Event()
    threading.Thread(
        target=lambda: (sys.stdin.read(), stop.set()), daemon=True
    ).start()  # the driver is gone
    driver = os.getppid()
    # imported before the first trial ends, not in the first rewrite's time
    import pandas  # noqa: F401

    from sweeps.report.drawing import prepare

    prepare(own_process=True)  # matplotlib and seaborn, likewise

    page = Rewriter(
        args.study, args.out, os.environ.get(STORAGE_VARIABLE), args.total, args.interval, driver
    )
    said: set[str] = set()
    wait = 0.0
    failed = False
    try:
        while not stop.wait(wait):
            cpu = time.process_time()
            try:
                wrote = page.rewrite()
            # a failed live page must not stop the sweep; the final one retries
            except Exception as e:  # noqa: BLE001
                warning = (
                    f"warning: the live report was not updated ({type(e).__name__}: {mask(str(e))})"
                )
                if warning not in said:  # once, not every interval
                    said.add(warning)
                    print(warning, file=sys.stderr, flush=True)
                wrote, failed = None, True
            took = time.process_time() - cpu
            _say(
                f"rewrote {time.process_time():.3f} {wrote}"
                if wrote
                else f"looked {time.process_time():.3f}"
            )
            wait = max(args.interval, took / BUDGET) if wrote or failed else POLL
        # The driver closed stdin without stopping this process: it died (SIGKILL, a crash). The
        # page says so.
        with contextlib.suppress(Exception):
            page.settle()
    finally:
        _say(f"ended {time.process_time():.3f}")
    return 0


def _say(line: str) -> None:
    """A line to the driver; nothing when it is gone (its end of the pipe closed): this process
    then ends quietly."""
    try:
        print(line, flush=True)
    except (BrokenPipeError, ValueError):
        with contextlib.suppress(OSError):
            os.dup2(
                os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno()
            )  # no second error at exit's flush


if __name__ == "__main__":
    try:
        code = main()
    except (
        SystemExit
    ) as stopped:  # SIGTERM: the files being written were removed or completed on the way out
        code = stopped.code
    with contextlib.suppress(BrokenPipeError, ValueError):
        sys.stdout.flush()
    # At once: tearing down pandas, matplotlib and seaborn takes a niced process a second or more,
    # for nothing
    os._exit(code if isinstance(code, int) else 1)

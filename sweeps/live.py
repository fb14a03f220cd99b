"""The report page kept up to date while a sweep runs.

    with LiveReport("sqrt", out="results", total=120):
        sweeps.run("sqrt", ...)          # results/sqrt/report.html is rewritten every 15 s or so
    page.write_report("sqrt", ...)       # then the final page, without the banner and the reload

A background thread starts a process that rewrites ``report.html`` (``python -m sweeps.live``) and
waits for it. That process runs at a low priority (NICENESS), so the sweep's workers have the cores first,
and has its own interpreter, so the driver never waits for the GIL behind the drawing (a rewrite in
the driver's process cost the default sqrt sweep a fifth of its trials per second:
benchmarks/README.md). It draws from a still copy of the study (:func:`frozen`: the frames of one
page all see the same trials), read through a storage object of its own (like optuna-dashboard, a
second reader of the same journal or database); a storage URL reaches it in its environment, never
on its command line, where any user's ``ps`` would show a password. Rewrites never overlap, and
after one that took ``c`` seconds of CPU the next waits at least ``c / BUDGET`` seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

INTERVAL = 15.0
"""Seconds between two rewrites of the live page (at least)."""
BUDGET = 0.05
"""The share of one core's time rewrites may take: a rewrite of c CPU seconds is followed by c / BUDGET of rest."""
NICENESS = 10
"""The rewriting process's niceness. Beside two busy workers it gets about a tenth of a core: a rewrite then
takes ~10x its CPU time and costs the workers little (at 19, ~1.5%, a rewrite of a short sweep never ended
before the sweep did)."""
STORAGE_VARIABLE = "SWEEPS_LIVE_STORAGE"
"""The environment variable that hands the storage URL to the rewriting process."""


class LiveReport:
    """Rewrites the report page of ``study`` in the background until :meth:`close`.

    Parameters
    ----------
    study : the study reference given to ``run`` (a name or a .py file).
    out, storage : where the sweep is stored, as for ``run``.
    total : the trials the sweep runs to (for "running: 57 of 120 trials"); default the study's budget.
    interval : seconds between rewrites, at least (default :data:`INTERVAL`).
    """

    def __init__(self, study: str, *, out: str | Path = "results", storage: str | None = None,
                 total: int | None = None, interval: float | None = None):
        self.study, self.out, self.storage = study, out, storage
        self.interval = INTERVAL if interval is None else interval
        self.total = total
        self.rewrites = 0
        self.busy = 0.0
        """CPU seconds the rewriting processes took, in all."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-report", daemon=True)
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()  # guards _process between the thread and close()

    def start(self) -> LiveReport:
        if self.total is None:
            import studies

            try:
                self.total = studies.get(self.study).trials
            except ValueError:  # a study known only by its stored sweep: the banner gives the trials done
                pass
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop; a rewrite in progress is cut short (every file it writes is replaced whole or not at all)."""
        self._stop.set()
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()  # SIGTERM: the rewrite exits through its cleanup (main below)
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> LiveReport:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _loop(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            took = self._rewrite_elsewhere()
            self.busy += took
            wait = max(self.interval, took / BUDGET)

    def _rewrite_elsewhere(self) -> float:
        """Run one rewrite in its own process (see the module's docstring); returns the CPU seconds it took."""
        command = [sys.executable, "-m", "sweeps.live", self.study, "--out", str(self.out),
                   "--refresh", str(round(self.interval))] + ([] if self.total is None else ["--total", str(self.total)])
        env = os.environ | ({STORAGE_VARIABLE: self.storage} if self.storage else {})
        cpu = _children_cpu()
        with self._lock:
            if self._stop.is_set():
                return 0.0
            self._process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        if self._process.wait() == 0:
            self.rewrites += 1
        return _children_cpu() - cpu

    def poke(self) -> Path | None:
        """Rewrite the page now, in this process, from a fresh snapshot; None while no trial is complete."""
        from sweeps.loader import complete_trials
        from sweeps.page import Live, open_sweep, write_report

        opt, store = open_sweep(self.study, self.out, self.storage)
        opt = frozen(opt, store)
        done = len(complete_trials(opt))
        if not done:
            return None
        live = Live(done=done, total=self.total, updated=datetime.now().strftime("%H:%M:%S"),
                    refresh=round(self.interval))
        path = write_report(self.study, out=self.out, storage=self.storage, opt=opt, store=store, live=live)
        self.rewrites += 1
        return path


def frozen(opt, store):
    """A still copy of the running sweep ``opt`` in memory, read once from ``store``, the storage object it is read from.

    The page's frames read the study many times; reading a study that the driver is writing would give
    each frame another set of trials (a best trial whose predictions are not yet in the predictions frame).
    """
    import optuna

    still = optuna.storages.InMemoryStorage()
    optuna.copy_study(from_study_name=opt.study_name, from_storage=store, to_storage=still)
    return optuna.load_study(study_name=opt.study_name, storage=still)


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (and theirs), or wall seconds where that is not known."""
    try:
        import resource
    except ImportError:
        return time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    """``python -m sweeps.live STUDY --out DIR [--total N] [--refresh S]``: one rewrite of the live page, at the
    priority NICENESS, the storage URL (if any) from ``SWEEPS_LIVE_STORAGE``. What LiveReport runs."""
    import argparse

    if hasattr(os, "nice"):
        os.nice(NICENESS)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cut short by close(): temporary files are removed
    parser = argparse.ArgumentParser(prog="python -m sweeps.live")
    parser.add_argument("study")
    parser.add_argument("--out", default="results")
    parser.add_argument("--total", type=int)
    parser.add_argument("--refresh", type=float, default=INTERVAL)
    args = parser.parse_args(argv)
    page = LiveReport(args.study, out=args.out, storage=os.environ.get(STORAGE_VARIABLE), total=args.total,
                      interval=args.refresh)
    try:
        page.poke()
    except Exception as e:  # noqa: BLE001 - a failed live page must not stop the sweep; the final one retries
        from sweeps.masking import mask

        print(f"warning: the live report was not updated ({type(e).__name__}: {mask(str(e))})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

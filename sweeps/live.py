"""The report page kept up to date while a sweep runs.

    with LiveReport("sqrt", out="results", total=120):
        sweeps.run("sqrt", ...)          # results/sqrt/report.html is rewritten every 15 s or so
    page.write_report("sqrt", ...)       # then the final page, without the banner and the reload

A background thread rewrites ``report.html`` from a still copy of the study (:func:`frozen`: the frames
of one page all see the same trials). It opens its own storage object (like optuna-dashboard, a second reader of the same journal or database), so the driver's
storage is never used from two threads. Rewrites never overlap, and after one that took ``d``
seconds the next waits at least ``d / BUDGET`` seconds, so the page costs the sweep at most about
``BUDGET`` of one core's time however slow drawing gets.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from pathlib import Path

INTERVAL = 15.0
"""Seconds between two rewrites of the live page (at least)."""
BUDGET = 0.05
"""The share of the elapsed time rewrites may take: a rewrite of d seconds is followed by d / BUDGET of rest."""


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
        """Seconds spent rewriting, in all."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-report", daemon=True)

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
        """Stop; a rewrite in progress is finished first (the page is never left half written)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> LiveReport:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _loop(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            began = time.perf_counter()
            try:
                self.poke()
            except Exception as e:  # noqa: BLE001 - a failed live page must not stop the sweep; the final one retries
                print(f"warning: the live report was not updated ({type(e).__name__}: {e})", file=sys.stderr)
            took = time.perf_counter() - began
            self.busy += took
            wait = max(self.interval, took / BUDGET)

    def poke(self) -> Path | None:
        """Rewrite the page now from a fresh snapshot; None while no trial is complete."""
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

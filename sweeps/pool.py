"""Worker processes that fail one task at a time: joblib's loky executor, with crash isolation and time limits.

``joblib.Parallel`` aborts a whole batch when one worker dies or one task overruns its time
limit. A sweep must instead fail that one trial and go on, so this module drives joblib's
loky executor directly (the same reusable worker processes ``Parallel`` uses):

- at most ``jobs`` tasks run at once, so a task's start is known and its time limit exact;
- a task over its time limit gets its worker killed (loky can only kill all workers: the
  innocent tasks that were running are started again, and lose nothing but time);
- when a worker dies, every task that was running comes back as a suspect and is run again,
  alone: one that kills its worker again, alone, is the culprit and fails (out of memory, a
  crash); the others were bystanders (or the kill came from outside) and just finish late.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, Callable, Iterator, Sequence

from joblib.externals.loky import get_reusable_executor
from joblib.externals.loky.process_executor import BrokenProcessPool

WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Tiny matrices gain nothing from BLAS threads; one thread per worker keeps jobs from fighting for cores."""

IDLE_SECONDS = 300
"""Idle workers stay this long, so successive sweeps in one process reuse them."""


def failure(message: str, started: float) -> dict[str, Any]:
    """The outcome of a task that did not return: a plain-data error, like worker.evaluate's."""
    return {"error": message, "traceback": "", "seconds": time.monotonic() - started}


def _crashed(fut: Future) -> bool:
    return isinstance(fut.exception(), BrokenProcessPool)


class WorkerPool:
    """Runs ``fn(*args)`` for many argument tuples in ``jobs`` worker processes.

    ``run`` yields ``(index, result)`` as tasks finish; a task that overran ``time_limit`` or
    killed its worker yields an error outcome (see :func:`failure`) instead of raising.
    """

    def __init__(self, jobs: int, time_limit: float | None = None):
        self.jobs, self.time_limit = jobs, time_limit

    def _executor(self):
        return get_reusable_executor(max_workers=self.jobs, timeout=IDLE_SECONDS, env=WORKER_ENV)

    def run(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        queue: deque[int] = deque(range(len(tasks)))
        suspects: deque[int] = deque()
        running: dict[Future, tuple[int, float]] = {}
        suspect_running = False
        while queue or suspects or running:
            if suspects:  # a suspect runs alone, so a crash while it runs is its own
                if not running:
                    index = suspects.popleft()
                    self._submit(fn, tasks[index], index, running)
                    suspect_running = True
            else:
                while queue and len(running) < self.jobs:
                    index = queue.popleft()
                    self._submit(fn, tasks[index], index, running)
            done, _ = wait(list(running), timeout=self._poll_seconds(running), return_when=FIRST_COMPLETED)
            if any(_crashed(f) for f in done):
                # A dead worker breaks the pool: every running task ends now, one way or the other.
                wait(list(running))
                in_flight, culprit_known = list(running.items()), suspect_running
                running.clear()
                suspect_running = False
                for fut, (index, started) in in_flight:
                    if not _crashed(fut):
                        yield index, fut.result()
                    elif culprit_known:
                        yield index, failure("the worker process running this trial died twice, the second time "
                                             "running alone (out of memory, or a crash)", started)
                    else:
                        suspects.append(index)
                continue
            for fut in done:
                index, _ = running.pop(fut)
                yield index, fut.result()
            suspect_running = suspect_running and bool(running)
            overdue = self._overdue(running)
            if overdue:
                # loky kills workers all at once: fail the overdue tasks, start the others again.
                self._executor().shutdown(wait=True, kill_workers=True)
                for fut, (index, started) in list(running.items()):
                    if fut in overdue:
                        yield index, failure(f"the trial ran over its time limit of {self.time_limit:g} s", started)
                    else:
                        queue.appendleft(index)
                running.clear()
                suspect_running = False

    def _submit(self, fn: Callable, args: tuple, index: int, running: dict) -> None:
        running[self._executor().submit(fn, *args)] = (index, time.monotonic())

    def _poll_seconds(self, running: dict) -> float | None:
        if self.time_limit is None or not running:
            return None
        first_deadline = min(started for _, started in running.values()) + self.time_limit
        return max(0.0, first_deadline - time.monotonic()) + 0.01

    def _overdue(self, running: dict) -> set[Future]:
        if self.time_limit is None:
            return set()
        now = time.monotonic()
        return {fut for fut, (_, started) in running.items() if now - started > self.time_limit}

"""Worker processes that fail one task at a time: a loky executor, with crash isolation and time
limits.

``joblib.Parallel`` aborts a whole batch when one worker dies or one task overruns its time
limit. A sweep must instead fail that one trial and go on, so this module drives a loky
executor directly, through the public API of the ``loky`` package (``get_reusable_executor``,
``BrokenProcessPool``). That package is not joblib's vendored copy: its reusable executor is
its own, so a ``joblib.Parallel`` before or after a pool in one process keeps its own workers.
(``concurrent.futures`` cannot kill its workers before Python 3.14, nor give them an
environment at spawn, both of which the time limit and WORKER_ENV need.)

- with a time limit, at most ``jobs`` tasks are handed to loky at once, so a task's start is
  known and its limit exact; without one, one more is handed over, ready in the pipe for the
  first worker to finish (else that worker waits until this process, busy sampling, next
  looks at the pool);
- a task over its time limit gets its worker killed (loky can only kill all workers: the
  innocent tasks that were running are started again, and lose nothing but time);
- when a worker dies, every task that was running comes back as a suspect and is run again,
  alone: one that kills its worker again, alone, is the culprit and fails (a crash); the others
  were bystanders (or the kill came from outside) and just finish late. When the dead worker said
  it ran out of memory, or the kernel killed a process for memory meanwhile (see
  `sweeps.search.deaths`), the tasks that were running end at once, marked out of memory
  (``failure``): the caller decides what that stops;
- a worker killed while idle, or between a crash and the moment this process notices it, breaks
  the executor with no task of ours in it: a submit then finds it broken, the task waits, and
  the next submit goes to a fresh executor. A submit never raises;
- every worker dies with this process, whatever killed it (see `sweeps.search.orphans`);
- loky's resource tracker, killed, is started again here, quietly (see `sweeps.search.tracker`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, Callable, Iterator, Sequence

from loky import BrokenProcessPool, get_reusable_executor

from sweeps.search.deaths import (
    keep_stderr,
    last_line,
    last_words,
    oom_kills,
    out_of_memory,
    stderr_folder,
)
from sweeps.search.orphans import die_with_parent
from sweeps.search.tracker import ensure_quiet as quiet_tracker

logger = logging.getLogger(__name__)

WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(64 << 20),
}
"""Tiny matrices gain nothing from BLAS threads; one thread per worker keeps jobs from fighting for
cores.

glibc's malloc maps arrays over 128 KiB fresh from the kernel and returns them on free, so a
training that allocates the same few work arrays at every checkpoint would fault in fresh zeroed
pages each time; keeping freed memory (up to 64 MiB) spares the kernel that work
(benchmarks/README.md has the figures). Other C libraries ignore these variables."""

IDLE_SECONDS = 300
"""Idle workers stay this long, so successive sweeps in one process reuse them."""


_executors: weakref.WeakSet = weakref.WeakSet()
"""The loky executors the pools of this process have got (loky reuses one while its configuration
stays)."""


def release_workers() -> None:
    """End the pools' worker processes now, not IDLE_SECONDS after their last task, and with them
    the threads that drive them in this process: the report forks its drawing processes only where
    no other thread runs. A pool used again afterwards gets fresh workers."""
    if _executors:
        quiet_tracker()  # their semaphores are released to it
    with quiet_manager():
        for executor in list(_executors):
            executor.shutdown(wait=True)
    _executors.clear()


def failure(message: str, started: float, *, out_of_memory: bool = False) -> dict[str, Any]:
    """The outcome of a task that did not return: a plain-data error, like worker.train_once's
    (``out_of_memory``: its worker ran out of memory, marked as ``worker.Failure`` marks it)."""
    out = {"error": message, "traceback": "", "seconds": time.monotonic() - started}
    return (out | {"out_of_memory": True}) if out_of_memory else out


KILLED_FOR_MEMORY = "killed by the kernel's out-of-memory killer"
"""Why a worker that said nothing died, when the kernel killed a process for memory meanwhile."""


def _crashed(fut: Future) -> bool:
    return isinstance(fut.exception(), BrokenProcessPool)


def _start_worker(parent: int, prepare: tuple[Callable, tuple] | None, stderr: str) -> None:
    """A worker's first acts: its stderr into a file in folder ``stderr`` (see
    `sweeps.search.deaths`), die with ``parent`` (the driver), then run ``prepare``."""
    keep_stderr(stderr)
    die_with_parent(parent)
    if prepare is None:
        return
    init, args = prepare
    try:  # a worker whose initializer raises exits, and loky then breaks the whole pool
        init(*args)
    except MemoryError:  # its tasks then run out of memory too, and the driver says so
        pass
    # a task that needs what failed fails with the error itself, as its result
    except Exception as e:  # noqa: BLE001
        logger.warning(
            "a worker process could not prepare (%s: %s); its tasks report the error",
            type(e).__name__,
            e,
        )


MANAGER_THREAD = "ExecutorManagerThread"
"""The name of loky's thread that feeds and watches the workers."""


@contextlib.contextmanager
def quiet_manager() -> Iterator[None]:
    """Drop what loky's manager thread raises while the workers are killed on purpose (an
    interrupt).

    Killing the workers breaks the pipes the manager thread is reading; the traceback it would print
    says nothing the interrupt's one line does not. Exceptions of every other thread are shown as
    before.
    """
    shown = threading.excepthook

    def hook(args) -> None:
        if args.thread is None or args.thread.name != MANAGER_THREAD:
            shown(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = shown


class WorkerPool:
    """Runs ``fn(*args)`` tasks in ``jobs`` worker processes; tasks can be added at any time.

    ``submit(key, args)`` queues a task; ``next()`` blocks until some task ends and returns
    ``(key, result)``. A task that overran ``time_limit`` or killed its worker ends with an
    error outcome (see :func:`failure`) instead of raising.
    """

    def __init__(
        self,
        fn: Callable,
        jobs: int,
        time_limit: float | None = None,
        *,
        prepare: tuple[Callable, tuple] | None = None,
    ):
        """``prepare = (init, args)``: every worker runs ``init(*args)`` once when it starts, before
        its first task (imports, caches, a compile); an error there is ignored, so a task that
        needs what failed fails with the error itself. Call ``start()`` to start the workers
        early."""
        self.fn, self.jobs, self.time_limit = fn, jobs, time_limit
        self._slots = jobs if time_limit is not None else jobs + 1
        self._prepare = prepare
        self._args: dict[Any, tuple] = {}
        self._queue: deque = deque()
        self._suspects: deque = deque()
        self._running: dict[Future, tuple[Any, float]] = {}
        self._suspect_running = False
        self._ready: deque[tuple[Any, Any]] = deque()
        self._loky = None  # the executor, got once; again after a crash or a kill has broken it
        self._broken = (
            False  # a submit found the executor broken: start nothing until what runs has ended
        )

    def __len__(self) -> int:
        """Tasks submitted and not yet returned by ``next``."""
        return len(self._args)

    def wanted(self) -> int:
        """How many more tasks keep every worker busy with one more ready: the workers' slots (one
        each, and one in the pipe without a time limit) and one to hand over in :meth:`next` as the
        first of them ends, less the tasks submitted and not yet returned. A caller that submits
        while this is above zero keeps the workers as busy as a long queue would, and its tasks wait
        behind no more than that."""
        return self._slots + 1 - len(self._args)

    def submit(self, key: Any, args: tuple) -> None:
        self._args[key] = args
        self._queue.append(key)

    def next(self) -> tuple[Any, Any]:
        quiet_tracker()  # killed since the last look: started again now, not by loky at a release
        while not self._ready:
            if not self._args:
                raise LookupError("no task is pending")
            self._schedule()
            self._collect()
        # the freed worker starts its next task while the caller handles this result
        self._schedule()
        key, result = self._ready.popleft()
        del self._args[key]
        return key, result

    def run(self, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        """All ``tasks`` at once: ``(index, result)`` as each ends."""
        for i, args in enumerate(tasks):
            self.submit(i, args)
        for _ in tasks:
            yield self.next()

    def start(self) -> None:
        """Start the workers now (they prepare while the caller goes on), not at the first task."""
        self._submit(int)  # loky starts every worker at the first submit; this task is a no-op

    def close(self) -> None:
        """End the workers now (an interrupted sweep); tasks not yet returned are dropped."""
        if self._loky is not None:
            quiet_tracker()
            with quiet_manager():
                self._loky.shutdown(wait=True, kill_workers=True)
        self._loky = None
        for queue in (self._args, self._queue, self._suspects, self._running, self._ready):
            queue.clear()

    def _executor(self):
        if (
            self._loky is None or self._loky not in _executors
        ):  # none yet, or released (release_workers)
            quiet_tracker()  # a new executor registers its semaphores; the one it replaces releases
            self._loky = get_reusable_executor(
                self.jobs,
                timeout=IDLE_SECONDS,
                env=WORKER_ENV,
                initializer=_start_worker,
                initargs=(os.getpid(), self._prepare, str(stderr_folder())),
            )
            _executors.add(self._loky)
        return self._loky

    def _submit(self, fn: Callable, *args) -> Future | None:
        """``fn(*args)`` handed to the executor; None when it was found broken (a worker died)."""
        if self._broken and not self._running:
            self._loky, self._broken = (
                None,
                False,
            )  # what ran on the broken one has ended: take a fresh one
        if self._broken:
            return None
        try:
            return self._executor().submit(fn, *args)
        except BrokenProcessPool:
            self._broken = True
            return None

    def _start(self, key: Any, waiting: deque) -> bool:
        """Start task ``key`` (taken from ``waiting``); False, and ``key`` back in front, if it
        could not be."""
        fut = self._submit(self.fn, *self._args[key])
        if fut is None and not self._running:
            fut = self._submit(
                self.fn, *self._args[key]
            )  # nothing of ours ran on the broken one: start afresh
        if fut is None:
            waiting.appendleft(key)
            return False
        self._running[fut] = (key, time.monotonic())
        return True

    def _schedule(self) -> None:
        if self._suspects:  # a suspect runs alone, so a crash while it runs is its own
            if not self._running:
                self._suspect_running = self._start(self._suspects.popleft(), self._suspects)
            return
        while self._queue and len(self._running) < self._slots:
            if not self._start(self._queue.popleft(), self._queue):
                return

    def _collect(self) -> None:
        running = self._running
        kills = oom_kills()
        done, _ = wait(list(running), timeout=self._poll_seconds(), return_when=FIRST_COMPLETED)
        if any(_crashed(f) for f in done):
            # A dead worker breaks the pool: every running task ends now, one way or the other.
            wait(list(running))
            words = last_words(stderr_folder())
            # a process killed for memory while we waited: ours, most likely (the kernel picks the
            # largest)
            killed = kills is not None and (oom_kills() or 0) > kills
            memory = out_of_memory(words) or (KILLED_FOR_MEMORY if killed else None)
            self._loky, self._broken = None, False
            culprit_known, self._suspect_running = self._suspect_running, False
            in_flight = list(running.items())
            running.clear()
            for fut, (key, started) in in_flight:
                if not _crashed(fut):
                    self._ready.append((key, fut.result()))
                elif memory:
                    self._ready.append(
                        (
                            key,
                            failure(
                                f"its worker process ran out of memory ({memory})",
                                started,
                                out_of_memory=True,
                            ),
                        )
                    )
                elif culprit_known:
                    said = last_line(words)
                    self._ready.append(
                        (
                            key,
                            failure(
                                "the worker process running this trial died twice, the second time "
                                "running "
                                f"alone (a crash{f': {said}' if said else ''})",
                                started,
                            ),
                        )
                    )
                else:
                    self._suspects.append(key)
            return
        for fut in done:
            key, _ = running.pop(fut)
            self._ready.append((key, fut.result()))
        self._suspect_running = self._suspect_running and bool(running)
        overdue = self._overdue()
        if overdue:
            # loky kills workers all at once: fail the overdue tasks, start the others again.
            quiet_tracker()
            self._executor().shutdown(wait=True, kill_workers=True)
            self._loky, self._broken = None, False
            for fut, (key, started) in list(running.items()):
                if fut in overdue:
                    self._ready.append(
                        (
                            key,
                            failure(
                                f"the trial ran over its time limit of {self.time_limit:g} s",
                                started,
                            ),
                        )
                    )
                else:
                    self._queue.appendleft(key)
            running.clear()
            self._suspect_running = False

    def _poll_seconds(self) -> float | None:
        if self.time_limit is None or not self._running:
            return None
        first_deadline = min(started for _, started in self._running.values()) + self.time_limit
        return max(0.0, first_deadline - time.monotonic()) + 0.01

    def _overdue(self) -> set[Future]:
        if self.time_limit is None:
            return set()
        now = time.monotonic()
        return {
            fut for fut, (_, started) in self._running.items() if now - started > self.time_limit
        }

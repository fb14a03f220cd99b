"""Which drivers are alive: a heartbeat per driver, and the failing of trials whose driver died.

Every driver (one `python -m sweeps run`) has an id; it stamps the trials it asks with it and
keeps a heartbeat in the study (a study user attr ``driver:<id>``, refreshed every
HEARTBEAT_SECONDS by a thread). A RUNNING trial is *stale* when its driver is known dead:
on the same host, its process is gone; anywhere, its heartbeat is older than GRACE_SECONDS
or it said goodbye. Any driver may fail a stale trial; the budget then runs it again.
This works the same on a journal file and on PostgreSQL, so several drivers on several
machines can share a study.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from sweeps.store.grouped import grouped_writes
from sweeps.store.records import Stop
from sweeps.store.trialfiles import TrialFiles

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
GRACE_SECONDS = 60.0
"""A driver silent this long on another host is taken for dead (12 missed heartbeats)."""

PREFIX = "driver:"
HOST = socket.gethostname()


def _process_start(pid: int) -> str | None:
    """The start time of a process (Linux /proc), to tell a live pid from a reused one."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


@dataclass(frozen=True)
class DriverInfo:
    id: str
    host: str
    pid: int
    start: str | None
    beat: float
    ended: bool = False

    def to_dict(self) -> dict:
        return {
            "host": self.host,
            "pid": self.pid,
            "start": self.start,
            "beat": self.beat,
            "ended": self.ended,
        }

    def is_dead(self, now: float) -> bool:
        """Whether this driver is gone: it said goodbye, its process is gone (same host) or its
        heartbeat is stale."""
        if self.ended:
            return True
        if self.host == HOST:
            # Same machine: ask the kernel, no need to wait out the grace period.
            return (
                _process_start(self.pid) != self.start if self.start else not _pid_alive(self.pid)
            )
        return now - self.beat > GRACE_SECONDS


def drivers_of(user_attrs: dict) -> dict[str, DriverInfo]:
    """The drivers a study's user attrs record (their heartbeats), by id."""
    out = {}
    for key, d in user_attrs.items():
        if key.startswith(PREFIX) and isinstance(d, dict):
            out[key[len(PREFIX) :]] = DriverInfo(
                key[len(PREFIX) :],
                d.get("host"),
                d.get("pid", -1),
                d.get("start"),
                d.get("beat", 0.0),
                d.get("ended", False),
            )
    return out


def any_running(user_attrs: dict) -> bool:
    """Whether some driver of the study these are the user attrs of is still running."""
    now = time.time()
    return any(not d.is_dead(now) for d in drivers_of(user_attrs).values())


def process_identity(pid: int) -> dict:
    """Who process ``pid`` of this machine is (host, pid, start time), as a driver's heartbeat says
    it: what a page written for that process carries, so that a later look can tell whether it is
    still there."""
    return {"host": HOST, "pid": pid, "start": _process_start(pid), "beat": time.time()}


def is_gone(identity: dict, now: float | None = None) -> bool:
    """Whether the process of ``identity`` (:func:`process_identity`, its ``beat`` refreshed while
    it lives) is dead: on this machine, by the kernel; on another, when its beat is older than
    GRACE_SECONDS."""
    try:
        info = DriverInfo(
            "",
            identity["host"],
            int(identity["pid"]),
            identity.get("start"),
            float(identity.get("beat", 0.0)),
        )
    except (KeyError, TypeError, ValueError):
        return True  # an identity that does not read names no live process
    return info.is_dead(time.time() if now is None else now)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Driver:
    """This process as a driver of ``opt``, opened on ``store``: its id, its heartbeat thread, its
    view of the others."""

    def __init__(self, opt: optuna.Study, store: BaseStorage, files: TrialFiles | None = None):
        self.opt, self.store, self.files = opt, store, files
        self.study_id = store.get_study_id_from_name(opt.study_name)
        self.id = uuid.uuid4().hex[:12]
        self.pid = os.getpid()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def info(self, *, ended: bool = False) -> DriverInfo:
        return DriverInfo(self.id, HOST, self.pid, _process_start(self.pid), time.time(), ended)

    def beat(self, *, ended: bool = False) -> None:
        self.opt.set_user_attr(PREFIX + self.id, self.info(ended=ended).to_dict())

    def __enter__(self) -> "Driver":
        self.beat()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{self.id}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.beat(ended=True)
        # storage gone at exit: the others see the silence instead
        except Exception as e:  # noqa: BLE001
            # Leaving on an error, the caller says that error (often this one); leaving well, this
            # is news.
            logger.log(
                logging.DEBUG if kind is not None else logging.WARNING,
                "driver %s could not record its end (%s: %s); other drivers will take it for dead "
                "once its "
                "heartbeat is %g s old",
                self.id,
                type(e).__name__,
                e,
                GRACE_SECONDS,
            )

    def _loop(self) -> None:
        """Beat every HEARTBEAT_SECONDS. A beat that fails is retried at the next; a failure is said
        once when it starts, again once it has lasted GRACE_SECONDS (other drivers may then fail
        this one's trials), and its end."""
        failing_since: float | None = None
        said_dead = False
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            # a storage hiccup must not kill the sweep; the next beat retries
            except Exception as e:  # noqa: BLE001
                now = time.monotonic()
                if failing_since is None:
                    failing_since = now
                    logger.warning(
                        "driver %s: a heartbeat failed (%s: %s); retrying every %g s",
                        self.id,
                        type(e).__name__,
                        e,
                        HEARTBEAT_SECONDS,
                    )
                elif not said_dead and now - failing_since > GRACE_SECONDS:
                    said_dead = True
                    logger.error(
                        "driver %s: no heartbeat recorded for %.0f s (%s: %s); other drivers may "
                        "take it for "
                        "dead and run its trials again",
                        self.id,
                        now - failing_since,
                        type(e).__name__,
                        e,
                    )
                continue
            if failing_since is not None:
                logger.warning(
                    "driver %s: heartbeats recorded again after %.0f s",
                    self.id,
                    time.monotonic() - failing_since,
                )
                failing_since, said_dead = None, False

    def drivers(self) -> dict[str, DriverInfo]:
        return drivers_of(self.opt.user_attrs)

    def stale(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        """RUNNING trials whose driver is dead.

        A trial not yet stamped with its driver (it is stamped just after it is asked) may be
        another driver's, being stamped now: it is stale once no other driver is alive (a
        driver registers before it asks, and this one asks on the thread that reaps), or else
        once it is older than GRACE_SECONDS. A driver killed between asking and stamping
        (SIGKILL) leaves such a trial, and a sweep resumed alone must not wait for it.
        """
        drivers, now = self.drivers(), time.time()
        others_alive = any(not d.is_dead(now) for key, d in drivers.items() if key != self.id)
        out = []
        for t in trials:
            if t.state != TrialState.RUNNING or t.user_attrs.get("driver") == self.id:
                continue
            info = drivers.get(t.user_attrs.get("driver"))
            if info is None:
                started = t.datetime_start.timestamp() if t.datetime_start else 0.0
                if not others_alive or now - started > GRACE_SECONDS:
                    out.append(t)
            elif info.is_dead(now):
                out.append(t)
        return out

    def fail(self, trial: FrozenTrial | optuna.Trial, reason: Stop) -> bool:
        """Fail a RUNNING trial, stopped for ``reason``, and remove its file (a driver killed
        between writing it and telling the trial leaves one); False when it had finished
        meanwhile."""
        trial_id = self.store.get_trial_id_from_study_id_trial_number(self.study_id, trial.number)
        try:
            with grouped_writes(self.store):
                self.store.set_trial_user_attr(trial_id, "stopped_by", reason.value)
                self.store.set_trial_state_values(trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:
            return False
        if self.files is not None:
            self.files.remove(trial.number)
        return True

    def reap(self) -> int:
        """Fail every stale trial; how many were failed."""
        n = 0
        for t in self.stale(self.opt.get_trials(deepcopy=False, states=(TrialState.RUNNING,))):
            n += self.fail(t, Stop.DRIVER_DIED)
        return n

"""Ctrl-C and SIGTERM in the driver: one way out for both, never in the middle of a storage write.

While ``handled()`` is on, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt, so one
``except KeyboardInterrupt`` handles both), and SIGINT raises KeyboardInterrupt as usual.
Inside ``held()`` a first signal is only noted, and raised when the outermost ``held()`` block ends:
a trial asked is always stamped with its driver and seeds, a tell is whole, and nothing left
in the storage makes a rerun wait out the grace period of a silent driver.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM received: the sweep stops as it does on Ctrl-C, and the process exits 143."""


RAISES = {signal.SIGINT: KeyboardInterrupt, signal.SIGTERM: Terminated}
"""The exception each handled signal raises in the main thread."""

_held = 0
_pending: type[KeyboardInterrupt] | None = None


def _on_signal(signum: int, frame) -> None:
    global _pending
    if (
        _held and _pending is None
    ):  # a second signal does not wait (a write that hangs, a user who insists)
        _pending = RAISES[signum]
        return
    raise RAISES[signum]()


@contextmanager
def handled() -> Iterator[None]:
    """SIGINT and SIGTERM raise (see the module docstring) within this block; the old handlers after
    it.

    Outside the main thread (where Python cannot set handlers) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _pending
    old = {sig: signal.signal(sig, _on_signal) for sig in RAISES}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        _pending = None


@contextmanager
def held() -> Iterator[None]:
    """A signal that arrives within this block is raised when the block (the outermost one) has
    ended."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
    if not _held and _pending is not None:
        exc, _pending = _pending, None
        raise exc()

"""The one status line a running sweep keeps on stderr."""

from __future__ import annotations

import sys
import time

import optuna
from optuna.trial import TrialState

BAR_WIDTH = 30


class Progress:
    """One status line on stderr: trials done of total (those of earlier runs included), best value, how
    many escaped, trials per second and the time left at that rate.

    Parameters
    ----------
    opt : the study being run.
    total : the study's budget.
    enabled : draw the line at all (the runner's default: stderr is a terminal).
    done : trials the study held done when this run started; the rate counts only this run's.
    stream : where the line goes (default stderr).
    """

    def __init__(self, opt: optuna.Study, total: int, *, enabled: bool, done: int = 0, stream=None):
        self.opt, self.total, self.enabled = opt, total, enabled
        self.done = self.start_done = done
        self.t0 = time.time()
        self.stream = stream if stream is not None else sys.stderr

    def update(self, done: int) -> None:
        self.done = done
        if self.enabled:
            self.stream.write("\r" + self.line(time.time() - self.t0))
            self.stream.flush()

    def line(self, elapsed: float) -> str:
        """The status text after ``elapsed`` seconds of this run."""
        trials = self.opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        best = min((t.value for t in trials), default=None)
        escaped = sum(t.user_attrs.get("mode") == "fit" for t in trials)
        filled = int(BAR_WIDTH * min(self.done, self.total) / self.total)
        parts = [f"{self.opt.study_name} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total} trials"]
        if best is not None:
            parts.append(f"best {best:.4g}")
        parts.append(f"escaped {escaped}")
        ran = self.done - self.start_done
        rate = ran / elapsed if elapsed > 0 else 0.0
        left = max(self.total - self.done, 0)
        parts.append(f"{elapsed:.0f}s")
        if ran > 0:
            parts.append(f"{rate:.2g} trials/s, ETA {_duration(left / rate)}")
        return "  ".join(parts) + " "

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``1h02m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"

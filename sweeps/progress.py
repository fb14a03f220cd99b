"""The one status line a running sweep keeps on stderr."""

from __future__ import annotations

import sys
import time

import optuna
from optuna.trial import TrialState


class Progress:
    """One status line on stderr: trials done of total, best value, how many escaped."""

    def __init__(self, opt: optuna.Study, total: int, *, enabled: bool):
        self.opt, self.total, self.enabled = opt, total, enabled
        self.done, self.t0 = 0, time.time()

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        trials = self.opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        best = min((t.value for t in trials), default=None)
        escaped = sum(t.user_attrs.get("mode") == "fit" for t in trials)
        width = 30
        filled = int(width * min(done, self.total) / self.total)
        line = (f"\r{self.opt.study_name} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} trials"
                f"  best {best:.4g}" if best is not None else f"\r{self.opt.study_name} {done}/{self.total} trials")
        sys.stderr.write(f"{line}  escaped {escaped}  {time.time() - self.t0:.0f}s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")

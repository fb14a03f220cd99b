"""How a running sweep shows its progress, wherever it runs.

- in a terminal: one status line on stderr, redrawn in place;
- in a notebook (a Jupyter kernel): tqdm's notebook bar (tqdm comes with Optuna; without ipywidgets,
  tqdm's text
  bar);
- anywhere else (a log file, CI): one plain line every ``LOG_EVERY`` seconds, and a last one at the
  end.
"""

from __future__ import annotations

import importlib.util
import sys
import time

import optuna
from optuna.trial import TrialState

BAR_WIDTH = 30
LOG_EVERY = 30.0
"""Seconds between two lines of progress in a log."""

TERMINAL, NOTEBOOK, LOG = "terminal", "notebook", "log"
MODES = (TERMINAL, NOTEBOOK, LOG)


def mode_for(progress: bool | None, stream=None) -> str | None:
    """How to show progress on ``stream`` (default stderr): ``progress`` True asks for the
    terminal's status line anyway, False for nothing; None picks by where the sweep runs (a
    terminal, a notebook, or a log)."""
    if progress is not None:
        return TERMINAL if progress else None
    stream = sys.stderr if stream is None else stream
    if _is_tty(stream):
        return TERMINAL
    return NOTEBOOK if in_notebook() else LOG


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ZMQ shell); IPython is never imported
    here."""
    ipython = sys.modules.get("IPython")
    shell = (
        ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    )
    return type(shell).__name__ == "ZMQInteractiveShell"


class Progress:
    """Trials done of total (those of earlier runs included), best value, how many escaped, trials
    per second and the time left at that rate, shown as ``mode`` says.

    Parameters
    ----------
    opt : the study being run.
    total : the study's budget.
    enabled : show anything at all.
    done : trials the study held done when this run started; the rate counts only this run's.
    stream : where the line goes (default stderr).
    mode : TERMINAL, NOTEBOOK or LOG (see the module docstring; :func:`mode_for` picks one).
    every : seconds between two lines in a log.
    """

    def __init__(
        self,
        opt: optuna.Study,
        total: int,
        *,
        enabled: bool = True,
        done: int = 0,
        stream=None,
        mode: str | None = TERMINAL,
        every: float = LOG_EVERY,
    ):
        if mode is not None and mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
        self.opt, self.total, self.every = opt, total, every
        self.mode = mode if enabled else None
        self.enabled = self.mode is not None
        self.done = self.start_done = done
        self.t0 = self.logged = time.time()
        self.lines = 0  # lines written to a log
        self.stream = stream if stream is not None else sys.stderr
        self._bar = None  # the notebook's tqdm bar, made at the first update

    def update(self, done: int) -> None:
        self.done = done
        now = time.time()
        if self.mode == TERMINAL:
            self.stream.write("\r" + self.line(now - self.t0))
            self.stream.flush()
        elif self.mode == NOTEBOOK:
            bar = self._notebook_bar()
            bar.n = min(done, self.total)
            bar.set_postfix_str(self.facts(now - self.t0, rate=False), refresh=False)
            bar.refresh()
        elif self.mode == LOG and now - self.logged >= self.every:
            self._log(now)

    def line(self, elapsed: float) -> str:
        """The terminal's status text after ``elapsed`` seconds of this run."""
        filled = int(BAR_WIDTH * min(self.done, self.total) / self.total)
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}]"
        return (
            f"{self.opt.study_name} {bar} {self.done}/{self.total} trials  {self.facts(elapsed)} "
        )

    def facts(self, elapsed: float, *, rate: bool = True) -> str:
        """Best value, trials escaped, seconds so far and (with ``rate``) trials per second and the
        time left."""
        trials = self.opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        best = min((t.value for t in trials), default=None)
        escaped = sum(t.user_attrs.get("mode") == "fit" for t in trials)
        parts = [] if best is None else [f"best {best:.4g}"]
        parts.append(f"escaped {escaped}")
        if not rate:
            return ", ".join(parts)
        parts.append(f"{elapsed:.0f}s")
        ran = self.done - self.start_done
        if ran > 0:
            per_second = ran / elapsed if elapsed > 0 else float("inf")
            parts.append(
                f"{per_second:.2g} trials/s, ETA "
                f"{_duration(max(self.total - self.done, 0) / per_second)}"
            )
        return "  ".join(parts)

    def close(self) -> None:
        if self.mode == TERMINAL:
            self.stream.write("\n")
        elif self.mode == NOTEBOOK and self._bar is not None:
            self._bar.close()
        elif (
            self.mode == LOG and self.lines
        ):  # a log that said where the sweep was also says where it ended
            self._log(time.time())

    def _log(self, now: float) -> None:
        self.stream.write(
            f"{self.opt.study_name}: {self.done}/{self.total} trials  {self.facts(now - self.t0)}\n"
        )
        self.stream.flush()
        self.logged, self.lines = now, self.lines + 1

    def _notebook_bar(self):
        if self._bar is None:
            options = dict(
                total=self.total,
                initial=min(self.done, self.total),
                desc=self.opt.study_name,
                unit="trial",
            )
            if importlib.util.find_spec("ipywidgets") is not None:
                from tqdm.notebook import tqdm as notebook_tqdm

                self._bar = notebook_tqdm(**options)
            else:  # tqdm's widget needs ipywidgets: its text bar then, which a notebook shows too
                from tqdm import tqdm as text_tqdm

                self._bar = text_tqdm(file=self.stream, **options)
        return self._bar


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``1h02m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"

"""A run from end to end: the search, then the analysis, then the report, passing the one handle of
the sweep down.

    >>> study = sweeps.run("sqrt", trials=40, report=True)    # searched, explained, reported

The sweep is stored before the analysis and the report begin, so a failure in either only warns (and
says how to retry it alone); an operating error (OSError: a full disk, a read-only folder) is
raised, for the caller to say as one.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna

import studies
from sweeps.analysis.explain import analyse
from sweeps.report.drawing import prepare_in_background
from sweeps.report.files import write_outputs, write_report
from sweeps.results import frames as tidy
from sweeps.results.handle import Sweep
from sweeps.results.reading import complete_trials
from sweeps.search.driver import BATCH, search
from sweeps.search.pool import release_workers
from sweeps.search.pruning import DEFAULT as DEFAULT_PRUNER

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finished:
    """What :func:`finish` left: the analysis document (None when not run or not finished) and the
    report's path."""

    analysis: dict | None
    report: Path | None


def run(
    study: "str | studies.Study",
    *,
    trials: int | None = None,
    jobs: int | None = None,
    seed: int = 0,
    repeats: int | None = None,
    storage: str | None = None,
    out: str | Path = "results",
    timeout: float | None = None,
    trial_timeout: float | None = None,
    batch: int = BATCH,
    pruner: str = DEFAULT_PRUNER,
    progress: bool | None = None,
    report: bool = False,
    explain: bool = True,
    argv: list[str] | None = None,
) -> optuna.Study:
    """Run (or resume) the sweep of ``study`` until it holds ``trials`` finished trials; returns the
    Optuna study.

    Parameters are :func:`sweeps.search.driver.search`'s, and:

    report : also write best.json, trials.csv and report.html into ``out/NAME/``, as the command
             line does.
    explain : with ``report``, run the counterfactual analysis (:func:`sweeps.explain`) before the
              report, as the
        command line does.
    """
    sweep = search(
        study,
        trials=trials,
        jobs=jobs,
        seed=seed,
        repeats=repeats,
        storage=storage,
        out=out,
        timeout=timeout,
        trial_timeout=trial_timeout,
        batch=batch,
        pruner=pruner,
        progress=progress,
        argv=argv,
    )
    if report:
        finish(sweep, explain=explain, jobs=jobs)
    return sweep.study


def finish(
    sweep: Sweep, *, report: bool = True, explain: bool = False, jobs: int | None = None
) -> Finished:
    """What a run leaves beside its storage, for the CLI and the API alike: best.json and
    trials.csv, (with ``explain``) the counterfactual analysis, and (with ``report``) report.html.
    The frames are built once, and serve all three."""
    if not complete_trials(sweep.study):
        write_outputs(sweep, tidy.trials_frame(sweep.study))
        return Finished(None, None)
    frames = tidy.build(sweep)
    write_outputs(sweep, frames.trials)
    if report and explain:
        # matplotlib and seaborn imported while the analysis's workers train
        prepare_in_background()
    doc = None
    if explain:
        try:
            doc = analyse(sweep, jobs=jobs, trials=frames.trials)
        except (
            OSError
        ):  # a full disk or a read-only folder: an operating error, said as one by the caller
            raise
        # the sweep is stored; the analysis can be rerun alone
        except Exception as e:  # noqa: BLE001
            warnings.warn(
                f"the analysis was not finished ({type(e).__name__}: {e}); the sweep is stored; "
                f"retry with: python -m sweeps explain {sweep.ref}",
                RuntimeWarning,
                stacklevel=2,
            )
    if not report:
        return Finished(doc, None)
    # done with them: the report draws in forked processes, and forks only without threads
    release_workers()
    try:
        page = write_report(sweep, frames=frames, **({} if doc is None else {"analysis": doc}))
    except OSError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure here must not hide a finished sweep
        warnings.warn(
            f"the report was not written ({type(e).__name__}: {e}); the sweep is stored; "
            f"retry with: python -m sweeps report {sweep.ref}",
            RuntimeWarning,
            stacklevel=2,
        )
        return Finished(doc, None)
    logger.info("report: %s", page)
    return Finished(doc, page)

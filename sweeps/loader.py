"""Reading a finished (or running) sweep back: load it, its best config, and the files a run leaves.

``best_config("sqrt")`` is the one line of reuse: the config of the best trial, ready for
``mlpcore.fit``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import optuna
from optuna.trial import TrialState

import studies
from mlpcore import MODES, MLPConfig
from mlpcore.atomic import replace_file
from sweeps.storage import JOURNAL_NAME, describe, open_storage

BEST_NAME = "best.json"
TRIALS_NAME = "trials.csv"


def load(study: str, *, out: str | Path = "results", storage: str | None = None) -> optuna.Study:
    """The stored sweep of ``study`` (a name, or a study file's path); a clear error when there is none."""
    return opened(study, out=out, storage=storage)[0]


def opened(study: str, *, out: str | Path = "results", storage: str | None = None):
    """(the stored sweep of ``study``, the storage object it is read from), as :func:`load`: one opening (one
    replay of a journal) serves the sweep and what is stored beside it, such as its analysis."""
    name = study_name(study)
    out_dir = Path(out) / name
    if storage is None and not (out_dir / JOURNAL_NAME).is_file():
        raise ValueError(f"no sweep of {name!r} in {str(out_dir)!r}; run: python -m sweeps run {study}")
    store = open_storage(storage, out_dir)
    try:
        return optuna.load_study(study_name=name, storage=store), store
    except KeyError:
        raise ValueError(f"no sweep of {name!r} in {describe(store)}; run: python -m sweeps run {study}") from None


def study_name(ref: str) -> str:
    """The name of a study given by name or by file (the file is loaded to read it)."""
    return studies.get(ref).name if ref.endswith((".py", ".npz")) else ref


def runs(opt: optuna.Study) -> list[dict]:
    """Every run (one per driver process) of the sweep: command, host, versions, start, end; oldest first."""
    found = [v for k, v in opt.user_attrs.items() if k.startswith("run:") and isinstance(v, dict)]
    return sorted(found, key=lambda r: r.get("started", ""))


def budget(opt: optuna.Study) -> int | None:
    """The trials the latest run asked the study to hold (``--trials``); the study's default before any run."""
    found = runs(opt)
    return found[-1].get("trials_requested") if found else opt.user_attrs.get("study", {}).get("trials")


def complete_trials(opt: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def best_trial(opt: optuna.Study) -> optuna.trial.FrozenTrial:
    """The best trial: the lowest value among the completed trials, the lowest number on a tie.

    The one definition of "best" that the summary, ``best.json``, ``best_config`` and the report use.
    """
    trials = complete_trials(opt)
    if not trials:
        raise ValueError(f"sweep {opt.study_name!r} has no completed trial yet")
    return min(trials, key=lambda t: (t.value, t.number))


def best_config(study: str, *, out: str | Path = "results", storage: str | None = None) -> MLPConfig:
    """The config of the best trial of the stored sweep of ``study``.

    >>> cfg = sweeps.best_config("sqrt")
    >>> mlpcore.fit(cfg, x, y).model
    """
    return MLPConfig.from_dict(best_trial(load(study, out=out, storage=storage)).user_attrs["config"])


def mode_counts(opt: optuna.Study) -> dict[str, int]:
    """Completed trials per failure mode, every mode present (worst first), plus failed trials (by their own
    error), then trials a driver stopped (see sweeps.runner.ENDINGS)."""
    from sweeps.runner import ENDINGS, ending

    counts = Counter(t.user_attrs.get("mode") for t in complete_trials(opt))
    ends = Counter(ending(t) for t in opt.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
    return {m: counts.get(m, 0) for m in MODES} | {e: ends[e] for e in ("failed", *ENDINGS.values())}


def summary(opt: optuna.Study, out_dir: Path | None = None, baseline: str = "the study's baseline config") -> str:
    """The closing words of a run: best value, its config, modes, and where the outputs are. ``baseline``: how
    the baseline is named (``userdata.baseline_words``, as ``diagnose`` names it)."""
    trials = complete_trials(opt)
    counts = mode_counts(opt)
    repeats = opt.user_attrs.get("settings", {}).get("repeats", 1)
    each = f" (each the median of {repeats} init seeds)" if repeats > 1 else ""
    pruned = len(opt.get_trials(deepcopy=False, states=(TrialState.PRUNED,)))
    done = (f"{len(trials) + pruned}/{budget(opt)} trials: {len(trials)} complete, {pruned} pruned" if pruned
            else f"{len(trials)}/{budget(opt)} trials complete")
    stopped = "".join(f", {n} {e}" for e, n in list(counts.items())[len(MODES) + 1:] if n)
    lines = [f"study {opt.study_name}: {done}{each}, {counts['failed']} failed{stopped}"]
    lines.append("modes: " + ", ".join(f"{m} {counts[m]}" for m in (*MODES, "failed")))
    if trials:
        best = best_trial(opt)
        base = opt.user_attrs.get("baseline", {})
        lines.append(f"best value {best.value:.4g} (trial {best.number}, mode {best.user_attrs.get('mode')})"
                     + (f"; {baseline}: {base['value']:.4g} ({base['mode']})" if "value" in base else ""))
        lines.append("best config: " + json.dumps(best.user_attrs["config"]))
    if out_dir is not None:
        lines.append(f"outputs: {out_dir}/ (best.json, trials.csv)")
    return "\n".join(lines)


def write_outputs(opt: optuna.Study, out_dir: Path) -> None:
    """best.json and trials.csv beside the journal."""
    from sweeps.frames import trials_frame

    if complete_trials(opt):
        best = best_trial(opt)
        replace_file(out_dir / BEST_NAME, json.dumps({"study": opt.study_name, "trial": best.number, "value": best.value,
                                                     "mode": best.user_attrs.get("mode"),
                                                     "config": best.user_attrs["config"]}, indent=2) + "\n")
    write_trials_csv(trials_frame(opt), out_dir)


def write_trials_csv(trials, out_dir: Path) -> Path:
    """``out_dir/trials.csv`` from a :func:`sweeps.frames.trials_frame`, atomically."""
    return replace_file(out_dir / TRIALS_NAME, trials.to_csv(index=False))

"""The answer to the asker's question: what to change in *their* network, trained the way *they*
trained it.

``explain("sqrt")`` trains, in the worker pool and from the analysis's fixed fresh seeds, always
with the learning rate retuned over a log grid and at the budget the asker used
(``studies.Study.asked``):

1. the question's config as it was asked (its own learning rate): how it ends;
2. the smallest fix among the candidates (`sweeps.analysis.fixes`): the fewest changes that make it
   escape, and the lines of plain NumPy that make each change in a hand-written loop
   (`sweeps.analysis.numpy_lines`);
3. each hint of its diagnosis, its own advice tried (`sweeps.analysis.advice`);
4. the answer its thread gave, where the study declares one (`sweeps.analysis.answer`);
5. the fixed config with one setting moved at a time: which settings escape
   (`sweeps.analysis.causal`);
6. the same search at the sweep's own shorter budget, to say where the two differ;
7. the sweep's best trial beside the fixed config, at the asker's budget.

Nothing but the last reads the sweep: the fix, the verdicts and the map are the same from any sweep
of the study (any ``--seed``), and each training is kept (`sweeps.analysis.lab`), so a rerun trains
nothing twice. The document is written to ``out/NAME/analysis.json`` and is the same byte for byte
whatever ``jobs`` is.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, NamedTuple

import optuna

from mlpcore import MLPConfig
from mlpcore.atomic import replace_file
from sweeps import space as search_space
from sweeps.analysis.advice import check_hints
from sweeps.analysis.answer import check_answer
from sweeps.analysis.causal import causal_map
from sweeps.analysis.document import (
    Analysis,
    AtSearchBudget,
    BestTrial,
    Brief,
    Copy,
    Fix,
    Searched,
    Step,
    Swap,
)
from sweeps.analysis.evidence import Tally, change_text, seeds_text, show
from sweeps.analysis.fixes import Changes, Search, candidates, changes_text, path, search, without
from sweeps.analysis.lab import open_lab
from sweeps.analysis.numpy_lines import in_your_code
from sweeps.analysis.tuning import COARSE, GRID_WORDS, REPEATS, Tuner
from sweeps.results.handle import Sweep, open_sweep
from sweeps.results.reading import best_trial, complete_trials

__all__ = [
    "explain",
    "analyse",
    "frames",
    "stored_analysis",
    "Explanation",
    "REPEATS",
    "ANALYSIS_NAME",
]

logger = logging.getLogger(__name__)

ANALYSIS_NAME = "analysis.json"

FORMAT = 5
"""The analysis document's layout (:class:`sweeps.analysis.document.Analysis`; 4: at the asker's
budget, the learning rate retuned, the fix among candidates; 5: each hint names its init seeds,
and its numbers read as their range over them); a stored one of another layout is not read back,
and the next ``explain`` or ``run`` rewrites it."""


def analyse(
    sweep: Sweep | str,
    *,
    out: str | Path = "results",
    storage: str | None = None,
    repeats: int = REPEATS,
    jobs: int | None = None,
    trials=None,
) -> Analysis:
    """Run (or resume) the analysis of the stored ``sweep`` (its handle, or the study's name or
    file); return it as a plain-JSON document, also written to ``out/NAME/analysis.json``.
    ``trials`` is accepted for callers that hold the sweep's frames; the analysis reads only the
    sweep's best trial. Other parameters as :func:`explain`."""
    if not isinstance(sweep, Sweep):
        sweep = open_sweep(sweep, out=out, storage=storage)
    definition = sweep.definition
    if definition is None:
        raise ValueError(
            f"study {sweep.ref!r} is stored, but its definition cannot be found (a study file "
            "moved?); "
            f"the analysis retrains its question's config, so it needs it"
        )
    if not (isinstance(repeats, int) and not isinstance(repeats, bool) and 1 <= repeats <= 1000):
        raise ValueError(f"repeats must be a whole number from 1 to 1000, got {repeats!r}")
    lab = open_lab(sweep.worker_ref, definition.fingerprint(), sweep.dir, jobs)
    try:
        doc = _document(definition, Tuner(lab, repeats), sweep.study)
    finally:
        if lab.cache is not None:
            lab.cache.close()
    logger.info(
        "analysis of %s: %d trainings, %d of them run now (%.1f s), the rest kept from before",
        definition.name,
        len(lab.runs),
        lab.trained,
        lab.seconds,
    )
    replace_file(sweep.dir / ANALYSIS_NAME, json.dumps(doc, indent=1, sort_keys=False) + "\n")
    return doc


def _document(definition, tuner: Tuner, study: optuna.Study | None) -> Analysis:
    space = search_space.Space.of(definition)
    budget = definition.budget()
    asked = definition.baseline.replace(steps=budget.steps, batch_size=budget.batch_size)
    cands = candidates(space, space.params_of(asked))
    lab, r = tuner.lab, tuner.repeats
    cost: dict[str, int] = {}
    seconds = {"before": lab.seconds}

    def spent(phase: str) -> None:  # trainings each part uses, kept or not: the same on every rerun
        cost[phase] = len(lab.runs) - sum(cost.values())
        logger.info(
            "analysis of %s, %s: %d trainings, %.1f s training",
            definition.name,
            phase,
            cost[phase],
            lab.seconds - sum(seconds.values()),
        )
        seconds[phase] = lab.seconds - sum(seconds.values())

    runs = lab.outcomes(
        [asked.replace(seed=s) for s in tuner.seeds], give_up=False
    )  # its diagnosis: the whole run
    question = Tally(tuple(runs), r)
    spent("question")
    found = search(tuner, asked, space, cands)
    fix = found.fix
    spent("fix")
    doc: dict[str, Any] = {
        "format": FORMAT,
        "study": definition.name,
        "repeats": r,
        "seeds": list(tuner.seeds),
        "budget": budget.to_dict(),
        "lr_grid": list(COARSE),
        "question": {
            "lr": asked.lr,
            **question.to_dict(),
            "sentence": question_sentence(question, asked, budget),
        },
        "searched": searched(found),
    }
    doc["fix"] = fix_document(found, budget.describe())
    doc["path"] = [_step(found, s, i) for i, s in enumerate(path(found))]
    doc["swaps"] = swaps(found)
    doc["hints"] = check_hints(tuner, found, runs)
    spent("hints")
    answer = definition.answer
    doc["answer"] = (
        None
        if answer is None
        else check_answer(tuner, found, answer, space.params_of(answer.config), budget.describe())
    )
    spent("answer")
    doc["map"] = [] if fix is None else causal_map(tuner, found, fix)
    doc["lr_profile"] = (
        [] if fix is None else [{"lr": lr, **t.to_dict()} for lr, t in found.tuned[fix].by_lr]
    )
    spent("map")
    doc["at_search_budget"] = at_search_budget(tuner, definition, space, found)
    spent("at_search_budget")
    doc["copy"] = copy_config(found)
    doc["trainings"] = (
        cost  # of the parts that do not read the sweep: the same from any sweep of the study
    )
    doc["best_trial"] = None if study is None else best_beside(tuner, found, study, asked)
    return doc


def question_sentence(question: Tally, asked: MLPConfig, budget) -> str:
    return (
        f"Trained as you trained it ({budget.describe()}, lr {asked.lr:g}), from "
        f"{seeds_text(question.n)}, your "
        f"config ends {question.modes_text()}."
    )


def searched(found: Search) -> Searched:
    """What the fix search tried: the candidates, the sizes searched exhaustively, and beyond."""
    return {
        "candidates": len(found.candidates),
        "exhaustive_up_to": found.exhaustive_up_to,
        "sets_tried": {str(k): v for k, v in found.sizes().items()},
        "beyond": {
            "size": found.exhaustive_up_to + 1,
            "tried": found.tried_beyond,
            "of": found.total_beyond,
        }
        if found.tried_beyond
        else None,
        "candidate_list": [{"setting": c.setting, "value": c.value} for c in found.candidates],
    }


def _up_to(k: int) -> str:
    """``set of up to 2 changes``; ``single change`` for 1."""
    return "single change" if k == 1 else f"set of up to {k} changes"


def _at(t) -> str:
    lo, hi = t.lr_range
    return f"lr {lo:.3g}" if lo == hi else f"any lr in {lo:.3g}-{hi:.3g}"


def fix_document(found: Search, budget_words: str) -> Fix:
    """The smallest fix, its evidence (each change alone, and the fix without it), what was
    searched, in words."""
    q = found.params
    n = len(found.candidates)
    if found.fix is None:
        beyond = (
            f", nor any of the {found.tried_beyond} most promising sets of "
            f"{found.exhaustive_up_to + 1}"
            if found.tried_beyond
            else ""
        )
        return {
            "changes": None,
            "lr_range": None,
            "escape_rate": None,
            "fits": None,
            "seeds": None,
            "fit_by": None,
            "evidence": [],
            "alternatives": [],
            "in_your_code": [],
            "sentence": f"No {_up_to(found.exhaustive_up_to)} among the {n} candidates makes your "
            f"config escape at any lr from {GRID_WORDS}{beyond}, "
            f"trained as you trained it ({budget_words}).",
        }
    t = found.tuned[found.fix]
    best = t.best
    evidence = []
    for setting, value in found.fix:
        alone, rest = ((setting, value),), without(found.fix, setting)
        evidence.append(
            {
                "setting": setting,
                "from": q[setting],
                "to": value,
                "text": change_text(setting, q[setting], value),
                "without": _brief(found, rest),
                "alone": _brief(found, alone),
            }
        )
    out = {
        "changes": dict(found.fix),
        "lr_range": list(t.lr_range),
        "middle_lr": t.middle_lr,
        "best_lr": t.best_lr,
        "escape_rate": best.escape_rate,
        "fits": best.fits,
        "seeds": best.n,
        "fit_by": best.fit_by,
        "evidence": evidence,
        "alternatives": [
            {"changes": dict(a), "text": changes_text(a, q), **_brief(found, a)}
            for a in found.alternatives
        ],
        "in_your_code": in_your_code(dict(found.fix), _fixed(found), t.lr_range),
    }
    return out | {"sentence": fix_sentence(found, out, budget_words)}


def _fixed(found: Search) -> MLPConfig:
    """The question's config with the fix made and the learning rate to copy."""
    return found.config(found.fix).replace(lr=_to_copy(found.tuned[found.fix].middle_lr))


def _brief(found: Search, changes: Changes) -> Brief:
    t = found.tuned[changes]
    best = t.best
    return {
        "escapes": t.escapes,
        "lr_range": list(t.lr_range) if t.escapes else None,
        "best_lr": t.best_lr,
        "fits": best.fits,
        "seeds": best.n,
        "modes_text": best.modes_text(),
    }


def fix_sentence(found: Search, fix: Fix, budget_words: str) -> str:
    """``Your config escapes with 2 changes, the learning rate retuned: ...``, what each change
    does, and what was searched."""
    size, n = len(found.fix), len(found.candidates)
    t = found.tuned[found.fix]
    rate = (
        f"it fits {fix['fits']} of {seeds_text(fix['seeds'])} at {_at(t)}, "
        f"by step {fix['fit_by']:,} at most"
    )
    if size == 0:
        return (
            "Only the learning rate: your config escapes as it is, trained as you trained it "
            f"({budget_words}), "
            f"with lr {t.middle_lr:.3g} instead of {found.question.lr:g}: {rate}."
        )
    head = (
        f"Your config escapes with {size} change{'s' * (size > 1)} and the learning rate retuned, "
        "trained as you "
        f"trained it ({budget_words}): {changes_text(found.fix, found.params)}; {rate}."
    )
    if size == 1:
        needed = (
            f" Without it, your config ends {found.tuned[()].best.modes_text()} at its best rate."
        )
    else:
        needed = (
            " Each change is needed: "
            + "; ".join(
                f"without {e['setting']}, {e['without']['modes_text']} at its best rate"
                for e in fix["evidence"]
            )
            + "."
        )
    limit = (
        f"every {_up_to(found.exhaustive_up_to)} was tried"
        if not found.tried_beyond
        else f"every {_up_to(found.exhaustive_up_to)}, and the {found.tried_beyond} most promising "
        "sets "
        f"of {found.exhaustive_up_to + 1}, were tried"
    )
    return head + needed + f" No fix of fewer changes exists among these {n} candidates ({limit})."


def _step(found: Search, changes: Changes, i: int) -> Step:
    added = None if i == 0 else next(p for p in changes if p not in _prev(found, changes))
    t = found.tuned[changes]
    return {
        "step": i,
        "setting": None if added is None else added[0],
        "from": None if added is None else found.params[added[0]],
        "to": None if added is None else added[1],
        "changes": dict(changes),
        "best_lr": t.best_lr,
        **t.best.to_dict(),
        "runs": [{"value": run.value, "mode": run.mode} for run in t.best.runs],
    }


def _prev(found: Search, changes: Changes) -> set:
    steps = path(found)
    at = steps.index(changes)
    return set(steps[at - 1])


def swaps(found: Search) -> list[Swap]:
    """Each change of the fix swapped alone both ways: into the question's config, and out of the
    fixed one."""
    if not found.fix:
        return []
    out = []
    for direction, sets in (
        ("into your config", {s: ((s, v),) for s, v in found.fix}),
        ("out of the fixed config", {s: without(found.fix, s) for s, _ in found.fix}),
    ):
        for setting, changes in sets.items():
            t = found.tuned[changes]
            to = (
                dict(found.fix)[setting]
                if direction == "into your config"
                else found.params[setting]
            )
            out.append(
                {
                    "direction": direction,
                    "setting": setting,
                    "to": to,
                    "escapes": t.escapes,
                    "best_lr": t.best_lr,
                    "lr_range": list(t.lr_range) if t.escapes else None,
                    **t.best.to_dict(),
                }
            )
    return out


def at_search_budget(tuner: Tuner, definition, space, asked_found: Search) -> AtSearchBudget | None:
    """The smallest fix at the sweep's own budget, where it is shorter than the asker's: the same
    search."""
    question = definition.baseline
    if (question.steps, question.batch_size) == (
        asked_found.question.steps,
        asked_found.question.batch_size,
    ):
        return None
    found = search(tuner, question, space, asked_found.candidates)
    same = found.fix == asked_found.fix
    words = f"{question.steps:,} steps"
    if found.fix is None:
        sentence = (
            f"At the sweep's own {words}, no {_up_to(found.exhaustive_up_to)} escapes; "
            "the fix above needs your longer training."
        )
    elif same:
        sentence = f"At the sweep's own {words}, the smallest fix is the same."
    else:
        sentence = (
            (
                f"At the sweep's own {words}, the smallest fix differs: "
                f"{changes_text(found.fix, found.params)} "
                f"({found.tuned[found.fix].best.fit_text()} at {_at(found.tuned[found.fix])}). "
                "What a "
                "1,000-step run needs is not what yours needs."
            )
            if question.steps == 1000
            else (
                f"At the sweep's own {words}, the smallest fix differs: "
                f"{changes_text(found.fix, found.params)} "
                f"({found.tuned[found.fix].best.fit_text()} at {_at(found.tuned[found.fix])})."
            )
        )
    return {
        "steps": question.steps,
        "batch_size": question.batch_size,
        "changes": None if found.fix is None else dict(found.fix),
        "same": same,
        "sentence": sentence,
    }


READ_ONLY_WITH = {"momentum": ("optimizer", "momentum"), "bias_init": ("bias", True)}
"""Settings a config reads only with another's value: left out of the config to copy otherwise."""
LEFT_OUT = ("seed", "backend", "patience")
"""What the config to copy leaves out: the init seed (any will do), the backend (the engine's
choice), the plateau stop (the analysis's, not yours)."""


def _to_copy(v: float) -> float:
    """A float of the config to copy: 3 significant digits."""
    return float(f"{v:.3g}")


def copy_config(found: Search) -> Copy | None:
    """Your config, fixed: the question's with the fix applied and a learning rate from the middle
    of its escaping range, floats to 3 significant digits, settings it does not read left out."""
    if found.fix is None:
        return None
    t = found.tuned[found.fix]
    cfg = found.config(found.fix).replace(lr=t.middle_lr).to_dict()
    shown = {}
    for k, v in cfg.items():
        if k in LEFT_OUT or (
            k in READ_ONLY_WITH and cfg[READ_ONLY_WITH[k][0]] != READ_ONLY_WITH[k][1]
        ):
            continue
        shown[k] = _to_copy(v) if isinstance(v, float) else v
    return {
        "config": shown,
        "lr": _to_copy(t.middle_lr),
        "lr_range": list(t.lr_range),
        "fits": t.best.fits,
        "seeds": t.best.n,
    }


def best_beside(
    tuner: Tuner, found: Search, study: optuna.Study, asked: MLPConfig
) -> BestTrial | None:
    """The sweep's best trial, trained at the asker's budget from the same fresh seeds, beside the
    fixed config at its learning rate to copy: whether the two are tied within the spread of their
    seeds."""
    if not complete_trials(study) or found.fix is None:
        return None
    best = best_trial(study)
    config = MLPConfig.from_dict(best.user_attrs["config"]).replace(steps=asked.steps)
    theirs = Tally(
        tuple(tuner.lab.outcomes([config.replace(seed=s) for s in tuner.seeds])), tuner.repeats
    )
    t = found.tuned[found.fix]
    ours = t.at(t.middle_lr)
    a, b = [r.value for r in ours.runs], [r.value for r in theirs.runs]
    tied = min(a) <= max(b) and min(b) <= max(a)
    hidden = config.hidden
    widths = " and ".join(map(str, dict.fromkeys(hidden)))
    layers = f"{len(hidden)} layer{'s' * (len(hidden) > 1)} of {widths} units"
    verdict = (
        "tied with your config, fixed, within the spread of their init seeds"
        if tied
        else "better than your config, fixed"
        if theirs.value < ours.value
        else "worse than your config, fixed"
    )
    return {
        "trial": best.number,
        "hidden": list(hidden),
        "config": best.user_attrs["config"],
        **theirs.to_dict(),
        "fixed_value": ours.value,
        "tied": tied,
        "sentence": f"The sweep's best trial, #{best.number} ({layers}, lr {config.lr:.3g}), "
        "trained as you trained "
        f"it from the same {seeds_text(theirs.n)}: {theirs.modes_text()}, median value "
        f"{theirs.value:.3g} against {ours.value:.3g}: {verdict}.",
    }


# --- reading it back ---------------------------------------------------------------------------


def stored_analysis(sweep: Sweep) -> Analysis | None:
    """The analysis written beside ``sweep``, or None (none yet, another layout, or another study
    of that name)."""
    try:
        doc = json.loads((sweep.dir / ANALYSIS_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("study") != sweep.name:
        return None
    return doc


class Explanation(NamedTuple):
    """The analysis as tidy frames (flat columns; one row per the thing named)."""

    overview: Any
    """One row: study, budget, changes (JSON), lr_lo, lr_hi, escape_rate, fits, seeds, candidates,
    exhaustive_up_to, sentence."""
    question: Any
    """The question's config at the asker's budget, one row per mode: mode, seeds, of."""
    hints: Any
    """One row per hint of the question's config: hint, seeds (that got it), of, verdict,
    evidence."""
    swaps: Any
    """One row per swap: direction, setting, to, escapes, best_lr, seeds, fits, escape_rate, value,
    mode, modes_text."""
    path: Any
    """One row per step from the question's config to the fixed one: step, setting, from, to, fits,
    value, mode."""
    path_runs: Any
    """One row per training on the path, at each step's best rate: step, label, repeat, value,
    mode."""
    fix: Any
    """One row per change of the smallest fix: setting, from, to, and the fix without it / the
    change alone."""
    map: Any
    """The fixed config with one setting moved, one row per (setting, value): setting, value, label,
    fixed, question, escapes, escape_rate, fits, seeds, best_lr, modes_text."""
    answer: Any
    """The thread's answer, one row (none where the study declares none): source, text, changes
    (JSON), verdict, sentence."""


def frames(doc: Analysis) -> Explanation:
    """The frames of an analysis document (as :func:`analyse` returns and writes it)."""
    import pandas as pd  # a notebook's, not the analysis's: imported when frames are asked for

    fix = doc["fix"]
    overview = pd.DataFrame(
        [
            {
                "study": doc["study"],
                "budget": doc["budget"]["words"],
                "changes": json.dumps(fix["changes"]),
                "lr_lo": (fix["lr_range"] or [None])[0],
                "lr_hi": (fix["lr_range"] or [None, None])[-1],
                "escape_rate": fix["escape_rate"],
                "fits": fix["fits"],
                "seeds": fix["seeds"],
                "candidates": doc["searched"]["candidates"],
                "exhaustive_up_to": doc["searched"]["exhaustive_up_to"],
                "sentence": fix["sentence"],
            }
        ]
    )
    q = doc["question"]
    question = pd.DataFrame(
        [{"mode": m, "seeds": k, "of": q["seeds"]} for m, k in q["modes"].items()],
        columns=["mode", "seeds", "of"],
    )
    flat = ["seeds", "fits", "escape_rate", "value", "mode", "modes_text"]
    swaps_frame = pd.DataFrame(
        [
            {k: s[k] for k in ("direction", "setting", "to", "escapes", "best_lr", *flat)}
            for s in doc["swaps"]
        ],
        columns=["direction", "setting", "to", "escapes", "best_lr", *flat],
    )
    path_frame = pd.DataFrame(
        [
            {k: s[k] for k in ("step", "setting", "from", "to", "best_lr", *flat)}
            for s in doc["path"]
        ],
        columns=["step", "setting", "from", "to", "best_lr", *flat],
    )
    path_runs = pd.DataFrame(
        [
            {
                "step": s["step"],
                "label": step_label(s),
                "repeat": i,
                "value": run["value"],
                "mode": run["mode"],
            }
            for s in doc["path"]
            for i, run in enumerate(s["runs"])
        ],
        columns=["step", "label", "repeat", "value", "mode"],
    )
    fix_frame = pd.DataFrame(
        [
            {
                "setting": e["setting"],
                "from": e["from"],
                "to": e["to"],
                "change": e["text"],
                "without_fits": e["without"]["fits"],
                "without_modes": e["without"]["modes_text"],
                "alone_fits": e["alone"]["fits"],
                "alone_modes": e["alone"]["modes_text"],
            }
            for e in fix["evidence"]
        ],
        columns=[
            "setting",
            "from",
            "to",
            "change",
            "without_fits",
            "without_modes",
            "alone_fits",
            "alone_modes",
        ],
    )
    hint_columns = ["hint", "seeds", "of", "init_seeds", "verdict", "evidence"]
    hints = pd.DataFrame(
        [{k: h[k] for k in hint_columns} for h in doc["hints"]], columns=hint_columns
    )
    map_columns = [
        "setting",
        "value",
        "label",
        "fixed",
        "question",
        "escapes",
        "escape_rate",
        "fits",
        "seeds",
        "best_lr",
        "modes_text",
    ]
    map_frame = pd.DataFrame(
        [
            {"setting": row["setting"], **{k: c[k] for k in map_columns[1:]}}
            for row in doc["map"]
            for c in row["cells"]
        ],
        columns=map_columns,
    )
    a = doc.get("answer")
    answer_columns = ["source", "text", "changes", "verdict", "sentence"]
    answer = pd.DataFrame(
        []
        if a is None
        else [{k: json.dumps(a[k]) if k == "changes" else a.get(k) for k in answer_columns}],
        columns=answer_columns,
    )
    return Explanation(
        overview, question, hints, swaps_frame, path_frame, path_runs, fix_frame, map_frame, answer
    )


def step_label(step: Step) -> str:
    """A path step as the figure's axis names it: ``your config``, then ``+ x_scaling standard``."""
    if step["setting"] is None:
        return "your config"
    return f"+ {step['setting']} {show(step['to'], step['setting'])}"


def explain(
    study: str,
    *,
    out: str | Path = "results",
    storage: str | None = None,
    repeats: int = REPEATS,
    jobs: int | None = None,
) -> Explanation:
    """Explain the stored sweep of ``study`` with controlled evidence (see the module docstring).

    Parameters
    ----------
    study : a study name or the path of a ``.py`` file defining STUDY; its sweep must be stored.
    out, storage : where the sweep is stored (as for ``sweeps.run``); the analysis goes beside it.
    repeats : fresh seeds per learning rate (default 5); a config escapes when 80% of them fit.
    jobs : worker processes; default all cores. The result does not depend on it.

    Returns
    -------
    Explanation, a NamedTuple of DataFrames.
    """
    return frames(analyse(study, out=out, storage=storage, repeats=repeats, jobs=jobs))

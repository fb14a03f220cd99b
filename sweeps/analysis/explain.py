"""The counterfactual analysis of a sweep: which changes toward a config that fits make the question's config escape.

``explain("sqrt")`` retrains controlled variants of the question's config in the worker pool,
each from ``repeats`` fresh seeds, and returns tidy frames (:class:`Explanation`):

0. the target: the search trial that fits and is cheapest to train, checked on fresh seeds (:func:`aim`);
1. the question's config itself: the spread of its modes and how often each hint fires;
2. swap tests both ways: the question's config with one setting of the target config, and the
   target config with one setting of the question's put back;
3. the greedy ablation path from one to the other (`sweeps.analysis.ablation`);
4. the smallest fix: the fewest changes that escape, each necessary, together sufficient;
5. the raw lever shares of the search and the hints of the question, checked against swap tests
   (`sweeps.analysis.evidence`);
6. the answer the question got in its thread, where the study declares one: its config trained,
   and whether the evidence agrees (`sweeps.analysis.answer`).

Every training is stored as it ends, in the study's own storage but in a sibling Optuna study
``STUDY:explain`` (the search's sampler never sees it): one trial per batch of trainings of one
variant, plain-JSON attrs. Every variant trains from the same seeds, derived from (study seed,
the repeat): common random numbers, so the difference between two variants is their settings',
never their seeds' (a setting that changes nothing cannot look needed by luck). A rerun trains
only what is missing, identical variants are trained once, and the analysis
(stored as the study attr ``analysis``) is the same byte for byte whatever ``jobs`` is.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution

from mlpcore import MLPConfig
from mlpcore.network import layout_for
from sweeps import space as search_space
from sweeps.analysis.ablation import Changes, ablation_path, smallest_fix
from sweeps.analysis.answer import check_answer
from sweeps.analysis.evidence import (BACKWARD, FORWARD, Tally, change_text, check_hint, check_levers, claim_sentence,
                                      differs, hint_kind, hint_settings, show)
from sweeps.results.frames import ESCAPE_MODE, bin_edges, bin_labels, explored, lever_ranking, levers_frame, trials_frame, value_label
from sweeps.results.frames import search_space as stored_space
from sweeps.results.handle import Sweep, open_sweep
from sweeps.results.reading import best_trial, complete_trials
from sweeps.search.pool import WorkerPool
from sweeps.search.worker import VALUE_CAP, train_once
from sweeps.search.worker import prepare as prepare_worker

__all__ = ["explain", "analyse", "stored_analysis", "Explanation", "explain_name", "REPEATS"]

REPEATS = 5
"""Fresh seeds per variant: enough to tell "linear 3 of 5, collapsed 2 of 5" from one draw."""

SEED_KEY = 0xE4B1A1
"""Mixed into every variant's seeds, so they never coincide with a search trial's."""

FORMAT = 3
"""The analysis document's layout (2: aimed at a target config; 3: with the thread's answer checked); a stored one of
another layout is not read back, and the next ``explain`` or ``run`` rewrites it from the stored runs."""

KEPT = ("value", "mode", "hints")
KEPT_METRICS = ("gain", "loss_drop", "captured")
"""What a training keeps of the worker's outcome (curves and predictions stay in the search)."""


def explain_name(study_name: str) -> str:
    """The name of the sibling Optuna study that holds ``study_name``'s analysis."""
    return f"{study_name}:explain"


def variant_key(params: Mapping[str, Any]) -> str:
    """A variant's identity: its params as canonical JSON."""
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"))


def variant_seeds(seed: int, n: int) -> list[int]:
    """The first ``n`` init seeds every variant trains from, from (study seed, the repeat); a prefix stays the same."""
    return [int(s) for s in np.random.SeedSequence([seed, SEED_KEY]).generate_state(n, dtype=np.uint32)]


class Lab:
    """Trains change sets (and any other variant) of the question's config, keeping every run in the store."""

    def __init__(self, store: optuna.Study, study_ref: str, seed: int, question: dict, repeats: int, jobs: int):
        self.store, self.study_ref, self.seed, self.repeats, self.jobs = store, study_ref, seed, repeats, jobs
        self.question = question
        self.target: dict = question
        """The config the change sets take their values from (see :func:`aim`)."""
        self.diffs: Changes = ()
        self.runs: dict[str, dict[int, dict]] = {}
        for t in store.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            for run in t.user_attrs.get("runs", []):
                self.runs.setdefault(t.user_attrs["key"], {}).setdefault(run["repeat"], run)
        self.trained, self.seconds = 0, 0.0
        self._pool: WorkerPool | None = None

    def aim(self, target: Mapping[str, Any]) -> None:
        """Make ``target`` (a point of the space) the config that change sets take their values from."""
        self.target = {k: target.get(k, v) for k, v in self.question.items()}
        self.diffs = self.differences(self.target)

    def differences(self, params: Mapping[str, Any]) -> Changes:
        """The settings in which ``params`` (a point of the space) differs from the question's, in its order;
        a setting neither uses is no difference (e.g. momentum when neither optimizer has one)."""
        idle = search_space.inert(self.question) & search_space.inert(params)
        return tuple(k for k in self.question if differs(self.question[k], params[k]) and k not in idle)

    def params(self, changes: Changes) -> dict:
        return {k: (self.target[k] if k in changes else v) for k, v in self.question.items()}

    def tally(self, changes: Changes) -> Tally:
        return self.tally_params(self.params(changes))

    def tally_params(self, params: Mapping[str, Any]) -> Tally:
        runs = self.runs.get(variant_key(params), {})
        return Tally(tuple(runs[i] for i in range(self.repeats) if i in runs))

    def train(self, change_sets: Sequence[Changes], seeds: int) -> None:
        self.train_params([self.params(c) for c in change_sets], seeds)

    def train_params(self, variants: Sequence[Mapping[str, Any]], seeds: int) -> None:
        """Make sure each variant has its first ``seeds`` runs; store them in the order given, as each variant ends."""
        todo: dict[str, tuple[dict, list[int]]] = {}
        for params in variants:
            key = variant_key(params)
            have = self.runs.get(key, {})
            missing = [i for i in range(seeds) if i not in have]
            if missing and key not in todo:
                todo[key] = (dict(params), missing)
        if not todo:
            return
        if self._pool is None:
            self._pool = WorkerPool(train_once, self.jobs, prepare=(prepare_worker, (self.study_ref,)))
        started = time.perf_counter()
        done: dict[str, dict[int, dict]] = {key: {} for key in todo}
        for key, (params, missing) in todo.items():
            all_seeds = variant_seeds(self.seed, max(missing) + 1)
            for i in missing:
                self._pool.submit((key, i), (self.study_ref, params, all_seeds[i]))
        order = list(todo)
        while order:
            (key, i), outcome = self._pool.next()
            done[key][i] = kept(outcome, i)
            while order and len(done[order[0]]) == len(todo[order[0]][1]):
                self._store(order[0], todo[order[0]][0], done.pop(order.pop(0)))
        self.trained += sum(len(m) for _, m in todo.values())
        self.seconds += time.perf_counter() - started

    def _store(self, key: str, params: dict, runs: dict[int, dict]) -> None:
        ordered = [runs[i] for i in sorted(runs)]
        self.store.add_trial(optuna.trial.create_trial(
            value=float(np.median([r["value"] for r in ordered])),
            user_attrs={"key": key, "params": params, "runs": ordered}))
        self.runs.setdefault(key, {}).update(runs)


def kept(outcome: dict, repeat: int) -> dict:
    """The part of a worker's outcome the analysis keeps; a training that raised is an ``error`` run."""
    if "error" in outcome:
        return {"repeat": repeat, "seed": None, "value": VALUE_CAP, "mode": "error", "hints": [outcome["error"]],
                "gain": None, "loss_drop": None, "captured": None, "seconds": outcome.get("seconds")}
    metrics = outcome.get("metrics") or {}
    return {"repeat": repeat, "seed": outcome["seed"], **{k: outcome[k] for k in KEPT},
            **{k: metrics.get(k) for k in KEPT_METRICS}, "seconds": outcome.get("seconds")}


def open_store(storage, name: str) -> optuna.Study:
    """The sibling study ``name:explain`` in ``storage``, created if need be."""
    return optuna.create_study(study_name=explain_name(name), storage=storage, direction="minimize",
                               load_if_exists=True, sampler=optuna.samplers.RandomSampler(seed=0))


# --- the analysis ------------------------------------------------------------------------------


def analyse(sweep: Sweep | str, *, out: str | Path = "results", storage: str | None = None, repeats: int = REPEATS,
            jobs: int | None = None, trials=None) -> dict:
    """Run (or resume) the analysis of the stored ``sweep`` (its handle, or the study's name or file); return it as a
    plain-JSON document.

    The document is also stored as the attr ``analysis`` of the study ``STUDY:explain``, next to
    the sweep. ``trials``: the sweep's :func:`~sweeps.results.frames.trials_frame`, when the caller built it.
    Other parameters as :func:`explain`.
    """
    if not isinstance(sweep, Sweep):
        sweep = open_sweep(sweep, out=out, storage=storage)
    definition, ref, opt = sweep.definition, sweep.worker_ref, sweep.study
    if definition is None:
        raise ValueError(f"study {sweep.ref!r} is stored, but its definition cannot be found (a study file moved?); "
                         f"the analysis retrains its question's config, so it needs it")
    if not (isinstance(repeats, int) and not isinstance(repeats, bool) and 1 <= repeats <= 1000):
        raise ValueError(f"repeats must be a whole number from 1 to 1000, got {repeats!r}")
    store = open_store(sweep.store, definition.name)
    seed = opt.user_attrs.get("settings", {}).get("seed", 0)
    space = search_space.Space.of(definition)
    question = space.params_of(definition.baseline)
    lab = Lab(store, ref, seed, question, repeats, jobs or os.cpu_count() or 1)
    target = aim(lab, opt, definition.data().x_train)
    r = repeats
    everything = lab.diffs
    forward = [(s,) for s in everything]
    backward = [tuple(c for c in everything if c != s) for s in everything]
    lab.train([(), everything, *forward, *backward], r)
    path = ablation_path(lab)
    fix = smallest_fix(lab, path)
    levers, basis = lever_checks(lab, opt, trials_frame(opt) if trials is None else trials)
    doc = document(definition.name, lab, target, path, fix, levers)
    doc["levers"] = [dict(row) | {"sentence": claim_sentence(row)} for _, row in levers.iterrows()]
    doc["levers_basis"] = basis
    answer = definition.answer
    doc["answer"] = None if answer is None else check_answer(lab, answer, space.params_of(answer.config), fix.changes,
                                                             space.to_config(definition.baseline, question, seed=0).steps)
    store.set_user_attr("analysis", doc)
    store.set_user_attr("cost", {"trainings": lab.trained, "seconds": lab.seconds, "stored": len(lab.runs)})
    return doc


TARGET_TRIES = 3
"""Fitting search trials tried as the analysis's target, cheapest to train first, before the lowest-value one."""


def aim(lab: Lab, opt: optuna.Study, x_train: np.ndarray) -> dict:
    """Aim ``lab`` at its target config, and say which and why.

    The target is the search trial that fits and is cheapest to train (see :func:`multiply_adds`),
    provided it escapes from ``lab.repeats`` fresh seeds; up to TARGET_TRIES such trials are tried,
    then the lowest-value trial is taken. A fit is a fit: the cheapest one makes every variant of
    the analysis cheap, and lies nearer a small net's question than the search's winner does.
    """
    def cost(t: optuna.trial.FrozenTrial) -> int:
        return multiply_adds(MLPConfig.from_dict(t.user_attrs["config"]), x_train)

    def hidden(t: optuna.trial.FrozenTrial) -> list[int]:
        return list(t.user_attrs["config"]["hidden"])

    lowest = best_trial(opt)
    fitting = sorted((t for t in complete_trials(opt) if t.user_attrs.get("mode") == ESCAPE_MODE),
                     key=lambda t: (cost(t), t.value, t.number))[:TARGET_TRIES]
    candidates = {t.number: t for t in [*fitting, lowest]}
    chosen, tried = lowest, []
    for t in candidates.values():
        lab.aim(t.params)
        lab.train([lab.diffs], lab.repeats)
        tally = lab.tally(lab.diffs)
        tried.append({"trial": t.number, "hidden": hidden(t), "multiply_adds": cost(t), **tally.to_dict()})
        if tally.escapes(lab.repeats):
            chosen = t
            break
    lab.aim(chosen.params)
    out = {"trial": chosen.number, "hidden": hidden(chosen), "multiply_adds": cost(chosen),
           "lowest_value_trial": lowest.number, "lowest_value_hidden": hidden(lowest),
           "lowest_value_multiply_adds": cost(lowest), "tried": tried}
    return out | {"sentence": target_sentence(out)}


def target_sentence(target: dict) -> str:
    """What the analysis compares the question's config with, and why that one."""
    tried = {t["trial"]: t for t in target["tried"]}
    t = tried[target["trial"]]
    layers = "-".join(map(str, t["hidden"]))
    if target["trial"] == target["lowest_value_trial"]:
        head = (f"The target config is the search's best trial, #{t['trial']} (hidden layers {layers}): "
                f"from {t['seeds']} fresh seeds, {t['modes_text']}.")
    else:
        ratio = target["lowest_value_multiply_adds"] / max(t["multiply_adds"], 1)
        head = (f"The target config is trial #{t['trial']} (hidden layers {layers}), the cheapest fitting trial of "
                f"the search to train that fits {t['fits']} of {t['seeds']} fresh seeds; the best trial, "
                f"#{target['lowest_value_trial']} (hidden layers {'-'.join(map(str, target['lowest_value_hidden']))}), "
                f"costs {ratio:.3g}x its multiply-adds a training.")
    failed = [f"#{n} ({u['modes_text']})" for n, u in tried.items() if n != target["trial"]]
    return head + (f" Cheaper fitting trials that did not escape on fresh seeds: {', '.join(failed)}." if failed else "")


def multiply_adds(config: MLPConfig, x_train: np.ndarray) -> int:
    """A training's forward multiply-adds, steps x samples a step x weights: its cost on any machine."""
    rows, inputs = len(x_train), 1 if x_train.ndim == 1 else x_train.shape[1]
    weights = sum(b0 - w0 for w0, b0, _ in layout_for(config, inputs, 1).offsets())
    return config.steps * min(config.batch_size or rows, rows) * weights


def lever_checks(lab: Lab, opt: optuna.Study, every):
    """The search's raw lever claims (from its unbiased trials where it has them; ``every``: the trials frame) against
    swap tests of the target config."""
    trials = explored(every)
    basis = (f"the {len(trials)} exploration trials, drawn at random" if every["explore"].any() else
             f"all {len(trials)} trials, as the sampler chose them")
    ranking = lever_ranking(levers_frame(opt, trials))
    ranking = ranking[ranking["spread"] > 0]
    space = stored_space(opt)
    variants: dict[tuple[str, str], dict] = {}
    for _, row in ranking.iterrows():
        for label in (str(row["best"]), str(row["worst"])):
            value = label_value(row["param"], label, space[row["param"]], lab.target[row["param"]])
            variants[(row["param"], label)] = {**lab.target, row["param"]: value}
    lab.train_params(list(variants.values()), lab.repeats)
    tallies = {k: lab.tally_params(p) for k, p in variants.items()}
    return check_levers(ranking, tallies, lab.tally(lab.diffs), lab.repeats), basis


def label_value(param: str, label: str, dist, target_value):
    """The value a lever claim's label stands for: the choice itself, or for a bin, the target config's
    value when it lies in the bin, else the bin's (geometric, on a log scale) centre."""
    if isinstance(dist, CategoricalDistribution):
        return next(c for c in dist.choices if value_label(param, c) == label)
    edges = bin_edges(dist)
    integer = isinstance(dist, IntDistribution)
    i = bin_labels(edges, integer).index(label)
    lo, end = float(edges[i]), float(edges[i + 1])  # the bin is [lo, end)
    if lo <= target_value < end:
        return target_value
    hi = end - 1 if integer else end
    centre = float(np.sqrt(lo * hi)) if dist.log else (lo + hi) / 2
    return int(round(centre)) if integer else centre


def document(name: str, lab: Lab, target: dict, path, fix, levers) -> dict:
    """The analysis as plain JSON (no timings: the same runs give the same bytes)."""
    r, q, b = lab.repeats, lab.question, lab.target
    question = lab.tally(())
    reached = lab.tally(lab.diffs)
    hints = question_hints(lab, question, reached, fix)
    swaps = []
    for s in lab.diffs:
        swaps.append({"direction": FORWARD, "setting": s, "from": q[s], "to": b[s], **lab.tally((s,)).to_dict()})
    for s in lab.diffs:
        swaps.append({"direction": BACKWARD, "setting": s, "from": b[s], "to": q[s],
                      **lab.tally(tuple(c for c in lab.diffs if c != s)).to_dict()})
    steps = []
    for i, step in enumerate(path):
        t = lab.tally(step.changes)
        steps.append({"step": i, "setting": step.added, "from": None if step.added is None else q[step.added],
                      "to": None if step.added is None else b[step.added], "changes": list(step.changes),
                      "decided_by": step.decided_by, **t.to_dict(),
                      "runs": [{"value": run["value"], "mode": run["mode"]} for run in t.runs]})
    doc = {"format": FORMAT, "study": name, "repeats": r, "question_params": q, "target_params": b,
           "differences": [{"setting": s, "question": q[s], "target": b[s]} for s in lab.diffs],
           "question": question.to_dict(), "target": target | reached.to_dict(), "hints": hints, "swaps": swaps,
           "path": steps}
    doc["fix"] = fix_document(lab, fix)
    return doc


def question_hints(lab: Lab, question: Tally, reached: Tally, fix) -> list[dict]:
    """Each hint the question's config gets, how many of its seeds get it, and its verdict against the swap tests
    (a setting is needed when the target config fails with the question's value put back; where the smallest fix uses a
    setting whose hint that refutes, the evidence says so; a hint the target needs but the smallest fix does not follow
    is ``unneeded``: the question's config escapes without it)."""
    needed: dict[str, str | bool] = {s: False for s in lab.question}  # the target config escapes with the question's value
    for s in lab.diffs:
        back = lab.tally(tuple(c for c in lab.diffs if c != s))
        if not back.escapes(lab.repeats):
            needed[s] = (f"the target config with {s}={show(lab.question[s], s)} put back: {back.modes_text()}")
    in_fix = {s: lab.tally(tuple(c for c in fix.changes if c != s)) for s in fix.changes or ()}
    kinds: dict[str, dict] = {}
    for run in question.runs:
        for hint in dict.fromkeys(run["hints"]):
            entry = kinds.setdefault(hint_kind(hint), {"hint": hint, "seeds": 0})
            entry["seeds"] += 1
    out = []
    for entry in kinds.values():
        settings = hint_settings(entry["hint"])
        verdict, evidence = check_hint(entry["hint"], needed, reached, lab.target, lab.question, lab.repeats)
        used = [s for s in settings if s in in_fix and not needed[s]]
        if verdict == "refuted" and used:  # needed there only alongside the fix's other changes
            evidence += "; the smallest fix from the question's config does use " + ", ".join(
                f"{s} (without it: {in_fix[s].modes_text()})" for s in used) + ", alongside its other changes"
        kept = [s for s in settings if needed.get(s)]
        if verdict == "supported" and fix.changes is not None and not set(kept) & set(fix.changes):
            # the target needs the setting, but the question's config escapes keeping its own value
            verdict = "unneeded"
            evidence += ("; but the smallest fix keeps the question's " + ", ".join(
                f"{s}={show(lab.question[s], s)}" for s in kept) + f" and escapes ({lab.tally(fix.changes).fit_text()})")
        out.append({**entry, "of": question.n, "settings": settings, "verdict": verdict,
                    "evidence": evidence})
    return out


def fix_document(lab: Lab, fix) -> dict:
    """The smallest fix, its evidence (each change alone, and the fix without it) and its sentence."""
    r = lab.repeats
    if fix.changes is None:
        reached = lab.tally(lab.diffs)
        return {"changes": None, "found_by": fix.method, "escape_rate": None, "fits": None, "seeds": r,
                "evidence": [], "alternatives": [],
                "sentence": f"No set of changes escapes reliably: even the target config fits {reached.fits} of "
                            f"{reached.n} seeds ({reached.modes_text()})."}
    t = lab.tally(fix.changes)
    evidence = []
    for s in fix.changes:
        without = lab.tally(tuple(c for c in fix.changes if c != s))
        alone = lab.tally((s,))
        evidence.append({"setting": s, "from": lab.question[s], "to": lab.target[s],
                         "text": change_text(s, lab.question[s], lab.target[s]),
                         "without": without.to_dict(), "alone": alone.to_dict()})
    return {"changes": {s: lab.target[s] for s in fix.changes}, "found_by": fix.method, "escape_rate": t.escape_rate,
            "fits": t.fits, "seeds": t.n, "evidence": evidence, "alternatives": [list(a) for a in fix.alternatives],
            "sentence": fix_sentence(lab, fix.changes, t, evidence)}


def fix_sentence(lab: Lab, changes: Changes, t: Tally, evidence: list[dict]) -> str:
    """``Your config escapes with 3 changes: ... (fit 5 of 5 seeds). Each is needed: ... Each alone: ...``."""
    if not changes:
        return f"Your config already escapes: {t.modes_text()}."
    n = len(changes)
    head = (f"Your config escapes with {n} change{'s' if n > 1 else ''}: "
            + ", ".join(e["text"] for e in evidence) + f" ({t.fit_text()}).")
    if n == 1:
        return head + f" Without it, the question's config: {evidence[0]['without']['modes_text']}."
    needed = "; ".join(f"without {e['setting']}, {e['without']['modes_text']}" for e in evidence)
    alone = "; ".join(f"{e['setting']} alone, {e['alone']['modes_text']}" for e in evidence)
    return f"{head} Each is needed: {needed}. Each alone fails: {alone}."


# --- reading it back ---------------------------------------------------------------------------


class Explanation(NamedTuple):
    """The analysis as tidy frames (flat columns; one row per the thing named)."""

    overview: Any
    """One row: study, repeats, changes (JSON), escape_rate, fits, seeds, found_by, sentence."""
    question: Any
    """The question's config from ``repeats`` seeds, one row per mode: mode, seeds, of."""
    hints: Any
    """One row per hint of the question's config: hint, seeds (that got it), of, verdict, evidence."""
    swaps: Any
    """One row per swap test: direction, setting, from, to, seeds, fits, escape_rate, value, mode, modes_text."""
    path: Any
    """One row per step of the ablation path: step, setting, from, to, decided_by, seeds, fits, escape_rate, value, mode."""
    path_runs: Any
    """One row per training on the path: step, label, repeat, value, mode (what the figure draws)."""
    fix: Any
    """One row per change of the smallest fix: setting, from, to, and the fix without it / the change alone."""
    levers: Any
    """One row per raw lever claim of the search: param, claim, verdict, evidence, shown, sentence."""
    answer: Any
    """The thread's answer, one row (none where the study declares none): source, text, changes (JSON),
    seeds, fits, mode, modes_text, verdict, sentence."""


def frames(doc: dict) -> Explanation:
    """The frames of an analysis document (as :func:`analyse` returns and stores it)."""
    import pandas as pd

    fix = doc["fix"]
    overview = pd.DataFrame([{"study": doc["study"], "repeats": doc["repeats"],
                              "changes": json.dumps(fix["changes"]), "escape_rate": fix["escape_rate"],
                              "fits": fix["fits"], "seeds": fix["seeds"], "found_by": fix["found_by"],
                              "sentence": fix["sentence"]}])
    q = doc["question"]
    question = pd.DataFrame([{"mode": m, "seeds": k, "of": q["seeds"]} for m, k in q["modes"].items()],
                            columns=["mode", "seeds", "of"])
    flat = ["seeds", "fits", "escape_rate", "value", "mode", "modes_text"]
    swaps = pd.DataFrame([{k: s[k] for k in ("direction", "setting", "from", "to", *flat)} for s in doc["swaps"]],
                         columns=["direction", "setting", "from", "to", *flat])
    path = pd.DataFrame([{k: s[k] for k in ("step", "setting", "from", "to", "decided_by", *flat)}
                         for s in doc["path"]], columns=["step", "setting", "from", "to", "decided_by", *flat])
    path_runs = pd.DataFrame([{"step": s["step"], "label": step_label(s), "repeat": i, "value": run["value"],
                               "mode": run["mode"]} for s in doc["path"] for i, run in enumerate(s["runs"])],
                             columns=["step", "label", "repeat", "value", "mode"])
    fix_rows = [{"setting": e["setting"], "from": e["from"], "to": e["to"], "change": e["text"],
                 "without_fits": e["without"]["fits"], "without_modes": e["without"]["modes_text"],
                 "alone_fits": e["alone"]["fits"], "alone_modes": e["alone"]["modes_text"]}
                for e in fix["evidence"]]
    fix_frame = pd.DataFrame(fix_rows, columns=["setting", "from", "to", "change", "without_fits", "without_modes",
                                                "alone_fits", "alone_modes"])
    hints = pd.DataFrame(doc["hints"], columns=["hint", "seeds", "of", "settings", "verdict", "evidence"])
    levers = pd.DataFrame(doc["levers"], columns=["param", "claim", "verdict", "evidence", "shown", "sentence"])
    a = doc.get("answer")
    answer_columns = ["source", "text", "changes", "seeds", "fits", "mode", "modes_text", "verdict", "sentence"]
    answer = pd.DataFrame([] if a is None else [{k: json.dumps(a[k]) if k == "changes" else a.get(k)
                                                 for k in answer_columns}], columns=answer_columns)
    return Explanation(overview, question, hints, swaps, path, path_runs, fix_frame, levers, answer)


def step_label(step: dict) -> str:
    """A path step as the figure's axis names it: ``question``, then ``+ x_scaling standard``."""
    if step["setting"] is None:
        return "question"
    return f"+ {step['setting']} {change_text(step['setting'], step['from'], step['to']).split(' -> ')[1]}"


def stored_analysis(name: str, storage) -> dict | None:
    """The analysis stored next to sweep ``name`` in ``storage`` (a storage object or URL), or None (also when it
    was stored in another layout, see FORMAT)."""
    try:
        store = optuna.load_study(study_name=explain_name(name), storage=storage)
    except KeyError:
        return None
    doc = store.user_attrs.get("analysis")
    return doc if doc is not None and doc.get("format") == FORMAT else None


def explain(study: str, *, out: str | Path = "results", storage: str | None = None, repeats: int = REPEATS,
            jobs: int | None = None) -> Explanation:
    """Explain the stored sweep of ``study`` with controlled evidence (see the module docstring).

    Parameters
    ----------
    study : a study name or the path of a ``.py`` file defining STUDY; its sweep must be stored.
    out, storage : where the sweep is stored (as for ``sweeps.run``); the analysis goes beside it.
    repeats : fresh seeds per variant (default 5).
    jobs : worker processes; default all cores. The result does not depend on it.

    Returns
    -------
    Explanation, a NamedTuple of DataFrames.
    """
    return frames(analyse(study, out=out, storage=storage, repeats=repeats, jobs=jobs))

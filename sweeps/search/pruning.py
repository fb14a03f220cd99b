"""Pruning, reproducible: Optuna's median and Hyperband rules over fit's learning-curve checkpoints.

A pruning decision runs in two halves, like a trial. The driver computes, when it asks trial n,
the thresholds trial n must stay under at each checkpoint (a :data:`Rule`: plain data) from the
curves of trials numbered at most n - batch. The driver tells trials in order, so those are all
told before trial n is asked: the rule, and so every decision, is the same whatever ``--jobs`` is
(and on a resume). The worker turns the rule into fit's checkpoint callback (:func:`callback`),
which stops the training with ``stopped == "pruned"``; mlpcore knows nothing of Optuna.

The rules are Optuna 5.0's, over the same intermediate values the driver reports (validation
MSE over the target's variance, at the checkpoint steps):

- median (``MedianPruner``): from the first checkpoint at or after ``n_warmup_steps``, once
  ``n_startup_trials`` reference trials are COMPLETE, a training whose best value so far is above
  the median of the COMPLETE reference trials' values at that step is pruned.
- hyperband (``HyperbandPruner`` over ``SuccessiveHalvingPruner``): trial n's bracket is Optuna's
  (crc32 of "study_trial" over the brackets' budgets); rung r of bracket b is reached at the first
  checkpoint at or after ``min_resource * eta ** (b + r)``, and a training whose value there is not
  among the best 1/eta of its bracket's reference trials at that rung (itself included) is pruned.
  The references are COMPLETE and PRUNED trials, as Optuna's rung values include pruned ones.

Repeats: each seed's training of a trial is its own task and stops on its own against the same
rule. The trial is its median run (by value, seeds in order, see ``worker.combine``), as for its
value and mode; it is PRUNED when that run was pruned. Nothing depends on the order tasks end in.
"""

from __future__ import annotations

import binascii
import math
import warnings
from typing import Callable, TypedDict

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from mlpcore.train import checkpoint_steps
from sweeps.store.records import PRUNED


PRUNERS = ("none", "median", "hyperband")
DEFAULT = "none"

WARMUP_SHARE = 0.25
"""No pruning before this share of the steps: Optuna's ``n_warmup_steps`` for median, and
``min_resource`` (the first rung) for Hyperband. Nets that escape often sit near the mean or
the line for a while first (sine most of all)."""

STARTUP_TRIALS = 5
"""MedianPruner's ``n_startup_trials`` (Optuna's default): COMPLETE reference trials needed."""

REDUCTION_FACTOR = 3
"""HyperbandPruner's ``reduction_factor`` (Optuna's default): a rung keeps the best third."""


class Rule(TypedDict):
    """A trial's pruning rule, plain data handed to a worker: at each of ``steps`` (sorted), the
    threshold its intermediate value must not break."""

    pruner: str
    """"median" or "hyperband" (never "none": that trial gets no rule)."""
    steps: list[int]
    thresholds: list[float]


class PrunedAt(TypedDict):
    """What stopped a training (:func:`callback`'s ``pruned_at``): the checkpoint, the value it
    reported there and the threshold that value broke."""

    step: int
    value: float
    threshold: float


def check_pruner(pruner: str) -> None:
    if pruner not in PRUNERS:
        raise ValueError(f"pruner must be one of {list(PRUNERS)}, got {pruner!r}")


class References:
    """The curves of a study's finished trials on the checkpoint grid, and the rule each new trial
    gets.

    Parameters
    ----------
    study_name : the Optuna study's name (Hyperband's brackets hash it with the trial number).
    pruner : one of PRUNERS.
    steps : the study's training steps (every trial trains that many, on the same checkpoints).
    batch : the driver's window: trial n is compared with trials numbered at most n - batch.
    """

    def __init__(self, study_name: str, pruner: str, steps: int, batch: int):
        check_pruner(pruner)
        self.study_name, self.pruner, self.batch = study_name, pruner, batch
        self.grid = checkpoint_steps(steps)
        self.warmup = int(math.ceil(WARMUP_SHARE * steps))
        self.curves: dict[
            int, tuple[bool, np.ndarray]
        ] = {}  # number -> (COMPLETE?, (k,) values, NaN where none)
        self.brackets = hyperband_budgets(steps + 1, max(self.warmup, 1), REDUCTION_FACTOR)

    def rule(self, number: int, trials: list[FrozenTrial]) -> Rule | None:
        """The rule of trial ``number``, from those of ``trials`` numbered at most number -
        batch."""
        if self.pruner == "none":
            return None
        for t in trials:
            if (
                t.number <= number - self.batch
                and t.number not in self.curves
                and t.state in (TrialState.COMPLETE, TrialState.PRUNED)
            ):
                self.curves[t.number] = (
                    t.state == TrialState.COMPLETE,
                    self.on_grid(t.intermediate_values),
                )
        refs = [(c, v) for n, (c, v) in self.curves.items() if n <= number - self.batch]
        steps, thresholds = (self.median if self.pruner == "median" else self.hyperband)(
            number, refs
        )
        if not steps:
            return None
        return Rule(
            pruner=self.pruner,
            steps=[int(s) for s in steps],
            thresholds=[float(v) for v in thresholds],
        )

    def on_grid(self, values: dict[int, float]) -> np.ndarray:
        """A trial's intermediate values as a (k,) array on the checkpoint grid, NaN where it
        reported none."""
        out = np.full(len(self.grid), np.nan)
        for i, s in enumerate(self.grid):
            if int(s) in values:
                out[i] = values[int(s)]
        return out

    def median(self, number: int, refs: list) -> tuple[list, list]:
        """MedianPruner: the median of the COMPLETE references at each checkpoint from the warm-up
        on."""
        complete = [v for c, v in refs if c]
        if len(complete) < max(STARTUP_TRIALS, 1):
            return [], []
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", RuntimeWarning
            )  # a step no reference reached: NaN, no check
            med = np.nanpercentile(np.array(complete), 50.0, axis=0)
        keep = (self.grid >= self.warmup) & np.isfinite(med)
        return self.grid[keep].tolist(), med[keep].tolist()

    def hyperband(self, number: int, refs: list) -> tuple[list, list]:
        """Successive halving in trial ``number``'s bracket: each rung's promotion threshold."""
        bracket = hyperband_bracket(self.study_name, number, self.brackets)
        in_bracket = [
            v
            for n, (c, v) in sorted(self.curves.items())
            if n <= number - self.batch
            and hyperband_bracket(self.study_name, n, self.brackets) == bracket
        ]
        steps, thresholds = [], []
        rung = 0
        while (
            promotion := max(self.warmup, 1) * REDUCTION_FACTOR ** (bracket + rung)
        ) <= self.grid[-1]:
            at = first_finite_at_or_after(self.grid, promotion, in_bracket)
            if at is not None and len(
                at
            ):  # none reached this rung: promoted (Optuna's first-trial rule)
                competing = np.sort(at)
                idx = max(
                    (len(competing) + 1) // REDUCTION_FACTOR - 1, 0
                )  # the trial itself competes too
                steps.append(int(self.grid[np.searchsorted(self.grid, promotion)]))
                thresholds.append(float(competing[idx]))
            rung += 1
        return steps, thresholds


def first_finite_at_or_after(
    grid: np.ndarray, step: int, curves: list[np.ndarray]
) -> np.ndarray | None:
    """Each curve's first finite value at a checkpoint >= ``step`` (its rung value), for curves
    that have one."""
    start = int(np.searchsorted(grid, step))
    if start >= len(grid):
        return None
    values = []
    for v in curves:
        finite = np.flatnonzero(np.isfinite(v[start:]))
        if len(finite):
            values.append(v[start + finite[0]])
    return np.array(values)


def hyperband_budgets(max_resource: int, min_resource: int, eta: int) -> list[int]:
    """Optuna's trial allocation budget of each bracket
    (HyperbandPruner._calculate_trial_allocation_budget)."""
    n = math.floor(math.log(max_resource / min_resource, eta)) + 1
    return [math.ceil(n * eta ** (n - 1 - b) / (n - b)) for b in range(n)]


def hyperband_bracket(study_name: str, number: int, budgets: list[int]) -> int:
    """Optuna's bracket of a trial: crc32 of "study_trial" modulo the total budget, by budget."""
    n = binascii.crc32(f"{study_name}_{number}".encode()) % sum(budgets)
    for bracket, budget in enumerate(budgets):
        n -= budget
        if n < 0:
            return bracket
    raise AssertionError("unreachable")


def callback(rule: Rule, var_y: float) -> Callable[[int, np.ndarray, np.ndarray], str | None]:
    """fit's checkpoint callback for ``rule``: "pruned" once the training breaks a threshold.

    ``var_y`` scales the validation loss into the intermediate value the driver reports. The
    callback keeps what pruned the training in its ``pruned_at`` attribute (step, value, threshold).
    A checkpoint whose loss is not finite is not reported, so it is not checked (as in Optuna).
    """
    steps, thresholds = rule["steps"], rule["thresholds"]
    best_so_far = (
        rule["pruner"] == "median"
    )  # median compares the best value so far; a rung the value now
    state = {"next": 0, "best": math.inf}

    def on_checkpoint(step: int, train_loss: np.ndarray, val_loss: np.ndarray) -> str | None:
        value = float(val_loss[-1]) / var_y
        if not math.isfinite(value):
            return None
        state["best"] = min(state["best"], value)
        metric = state["best"] if best_so_far else value
        while state["next"] < len(steps) and steps[state["next"]] <= step:
            i = state["next"]
            state["next"] += 1
            if best_so_far and steps[i] < step:
                continue  # a median check is at its own step only
            if metric > thresholds[i]:
                on_checkpoint.pruned_at = PrunedAt(
                    step=int(step), value=metric, threshold=thresholds[i]
                )
                return PRUNED
        return None

    on_checkpoint.pruned_at = None
    return on_checkpoint

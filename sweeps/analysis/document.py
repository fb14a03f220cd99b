"""The analysis document's layout (``analysis.json``, :data:`sweeps.analysis.explain.FORMAT`), as
types: plain JSON, the keys in the order written. :mod:`sweeps.analysis.explain` writes it and reads
it back; the report (:mod:`sweeps.report.analysis_html`) shows it.

    >>> doc: Analysis = json.loads(path.read_text())
    >>> doc["fix"]["changes"]     # {"x_scaling": "standard", ...}, or None where no fix was found
"""

from __future__ import annotations

from typing import Any, TypedDict


class Seeds(TypedDict):
    """How one config ends from the analysis's fresh seeds
    (:meth:`sweeps.analysis.evidence.Tally.to_dict`)."""

    seeds: int
    fits: int
    escape_rate: float
    value: float
    mode: str
    modes: dict[str, int]
    modes_text: str
    fit_by: int | None


class Question(Seeds):
    """The question's config, trained as the asker trained it, at its own learning rate."""

    lr: float
    sentence: str


class Beyond(TypedDict):
    size: int
    tried: int
    of: int


class Candidate(TypedDict):
    setting: str
    value: Any


class Searched(TypedDict):
    """What the fix search tried: the candidates, the sizes searched exhaustively, and beyond."""

    candidates: int
    exhaustive_up_to: int
    sets_tried: dict[str, int]
    beyond: Beyond | None
    candidate_list: list[Candidate]


class Brief(TypedDict):
    """A set of changes, the learning rate retuned: whether it escapes, and how its best rate
    ends."""

    escapes: bool
    lr_range: list[float] | None
    best_lr: float | None
    fits: int
    seeds: int
    modes_text: str


class Evidence(TypedDict):
    """One change of the fix: the fix without it, and the change alone."""

    setting: str
    to: Any
    text: str
    without: Brief
    alone: Brief


class Fix(TypedDict, total=False):
    """The smallest fix (every value None, and no lrs, where none was found), in words too."""

    changes: dict[str, Any] | None
    lr_range: list[float] | None
    middle_lr: float
    best_lr: float
    escape_rate: float | None
    fits: int | None
    seeds: int | None
    fit_by: int | None
    evidence: list[Evidence]
    """Also ``from``, the question's value (a keyword in Python)."""
    alternatives: list[dict[str, Any]]
    """Other fixes of as few changes: ``changes``, ``text`` and a :class:`Brief`."""
    sentence: str


class Step(Seeds):
    """A step of the ablation path: the change it adds (none at step 0: the question's config) and
    its best rate's runs. Also ``from``, the question's value."""

    step: int
    setting: str | None
    to: Any
    changes: dict[str, Any]
    best_lr: float | None
    runs: list[dict[str, Any]]
    """Each training at the best rate: ``value`` and ``mode``."""


class Swap(Seeds):
    """One change of the fix swapped alone, into the question's config or out of the fixed one."""

    direction: str
    setting: str
    to: Any
    escapes: bool
    best_lr: float | None
    lr_range: list[float] | None


class AtSearchBudget(TypedDict):
    """The smallest fix at the sweep's own, shorter budget."""

    steps: int
    batch_size: int | None
    changes: dict[str, Any] | None
    same: bool
    sentence: str


class Copy(TypedDict):
    """The fixed config to copy, with a learning rate from the middle of its escaping range."""

    config: dict[str, Any]
    lr: float
    lr_range: list[float]
    fits: int
    seeds: int


class BestTrial(Seeds):
    """The sweep's best trial, trained as the asker trained it, beside the fixed config."""

    trial: int
    hidden: list[int]
    config: dict[str, Any]
    fixed_value: float
    tied: bool
    sentence: str


class Analysis(TypedDict):
    """The whole document, in the order written."""

    format: int
    study: str
    repeats: int
    seeds: list[int]
    budget: dict[str, Any]
    """The asker's budget (``studies.Budget.to_dict``): its ``words`` among them."""
    lr_grid: list[float]
    question: Question
    searched: Searched
    fix: Fix
    path: list[Step]
    swaps: list[Swap]
    hints: list[dict[str, Any]]
    """Each hint of the question's diagnosis over its init seeds: the seeds that got it
    (``init_seeds``), its numbers as their range over them, its advice tried
    (:mod:`sweeps.analysis.advice`)."""
    answer: dict[str, Any] | None
    """The thread's answer, tried (:mod:`sweeps.analysis.answer`); None where the study has none."""
    map: list[dict[str, Any]]
    """The fixed config with one setting moved at a time (:mod:`sweeps.analysis.causal`)."""
    lr_profile: list[dict[str, Any]]
    """The fix at each rate of the grid: ``lr`` and :class:`Seeds`."""
    at_search_budget: AtSearchBudget | None
    copy: Copy | None
    trainings: dict[str, int]
    """Trainings each part of the analysis used, by part."""
    best_trial: BestTrial | None

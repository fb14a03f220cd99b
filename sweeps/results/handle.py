"""A stored sweep, opened once: the one handle that the search, the analysis and the report pass
down.

A study is named by a reference: a seed study's name, the path of a ``.py`` file defining STUDY, the
path of a snapshot ``.npz``, or the name of a sweep of data stored under ``out``. A worker process,
a later ``report``, ``best`` or ``diagnose`` cannot import a study that is not a module, so the
search saves such a study as ``out/NAME/study.npz`` (data split once, baseline, space, budget;
written atomically) and every process loads that one file (:func:`save_snapshot`, :func:`resolve`).

    >>> sweep = open_sweep("sqrt")          # one opening: the journal's kept replay, or a replay
    >>> sweep.study.best_value, sweep.definition.baseline, sweep.dir
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna

import studies
from studies.base import NAME
from sweeps.store.factory import JOURNAL_NAME, open_storage
from sweeps.store import replay
from sweeps.store.grouped import Grouped, describe
from sweeps.store.records import is_ours, not_ours
from sweeps.store.trialfiles import TrialFiles

SNAPSHOT_NAME = studies.SNAPSHOT_NAME


@dataclass(frozen=True)
class Sweep:
    """A stored sweep: what it is, where it lives, and the storage it was read from (opened once).

    ``storage`` is the URL as the user gave it, password and all: it is handed on to other processes
    in their environment only, and shown masked (``describe(store)``).
    """

    ref: str
    """The study as the user named it: a name, a ``.py`` file or a snapshot ``.npz``."""
    definition: studies.Study | None
    """The study's declaration; None when only the stored sweep is known (its file is gone)."""
    worker_ref: str | None
    """What a worker process loads the definition by (:func:`resolve`)."""
    out: Path
    """The results root; the sweep's files are in ``out/NAME/``."""
    storage: str | None
    """The storage URL as given; None for the journal file ``out/NAME/journal.log``."""
    store: "Grouped | replay.ReplayedStorage"
    """The opened storage (a journal is replayed once, when it is opened), or its kept replay
    (read-only: `sweeps.store.replay`)."""
    study: optuna.Study
    """The Optuna study on ``store``."""

    @property
    def name(self) -> str:
        return self.study.study_name

    @property
    def dir(self) -> Path:
        """The sweep's own folder, ``out/NAME``."""
        return self.out / self.name

    @property
    def files(self) -> TrialFiles:
        """Each trial's curve, predictions and (when it was the best when told) trained model,
        beside the journal."""
        return TrialFiles.of(self.dir)

    @property
    def where(self) -> str:
        """Where the sweep is stored, for messages: the journal path or the URL, password masked."""
        return describe(self.store)


def open_sweep(
    ref: str,
    *,
    out: str | Path = "results",
    storage: str | None = None,
    store: Grouped | None = None,
    fresh: bool = False,
) -> Sweep:
    """The stored sweep of ``ref``, opened once; a one-line ValueError naming the study and where it
    was looked for.

    ``store``: the storage of ``storage``, when the caller has opened it already (several sweeps in
    one database). A sweep in its own journal file opens from the journal's kept replay while that
    is current (read-only: `sweeps.store.replay`); otherwise the journal is replayed and, unless
    ``fresh``, its replay kept for the next reader. ``fresh``: always replay, keep nothing (a page
    that follows a running sweep).
    """
    check_name(ref)
    definition, worker_ref = _definition(ref, out)
    name = definition.name if definition is not None else study_name(ref)
    out_dir = Path(out) / name
    if store is None and storage is None and not (out_dir / JOURNAL_NAME).is_file():
        if definition is None and not ref.endswith(".py"):
            raise ValueError(
                f"unknown study {ref!r}: no such study ({', '.join(studies.names())} "
                "or a .py file) "
                f"and no sweep of that name in {str(out)!r}"
            )
        raise ValueError(
            f"no sweep of {name!r} in {str(out_dir)!r}; run: python -m sweeps run {ref}"
        )
    own = store is None and storage is None  # the sweep's own journal file
    kept = replay.load(out_dir / JOURNAL_NAME) if own and not fresh else None
    try:
        with replay.no_collection():
            store = kept or (open_storage(storage, out_dir) if store is None else store)
            study = optuna.load_study(study_name=name, storage=store)
    except KeyError:
        if definition is None and not ref.endswith(".py"):
            raise ValueError(
                f"unknown study {ref!r}: no such study ({', '.join(studies.names())} "
                "or a .py file) "
                f"and no sweep of that name in {describe(store)!r}"
            ) from None
        raise ValueError(
            f"no sweep of {name!r} in {describe(store)}; run: python -m sweeps run {ref}"
        ) from None
    if not is_ours(study.user_attrs):
        raise not_ours(name, describe(store))
    if own and not fresh and kept is None:
        replay.keep(store, name)
    return Sweep(ref, definition, worker_ref, Path(out), storage, store, study)


def check_name(ref: str) -> None:
    """Refuse a reference that is neither a study file nor a plain study name
    (``studies.base.NAME``), as the command line does: a name read back from a storage names a
    folder only once it passes this."""
    if not (isinstance(ref, str) and (ref.endswith((".py", ".npz")) or NAME.fullmatch(ref))):
        shown = ref if len(ref) <= 60 else ref[:60] + "..."
        raise ValueError(
            f"{shown!r} is not a study name (letters, digits, _ and -, at most 100) "
            "nor a .py file; "
            f"it names no folder"
        )


def _definition(ref: str, out: str | Path) -> tuple[studies.Study | None, str | None]:
    """(the study's definition, its worker reference), or (None, None) when only a stored sweep can
    tell."""
    try:
        return resolve(ref, out)
    except ValueError:
        # a file that names a study must load: its error is the user's to see
        if ref.endswith((".py", ".npz")):
            raise
        return None, None


def study_name(ref: str) -> str:
    """The name of a study given by name or by file (the file is loaded to read it)."""
    return studies.get(ref).name if ref.endswith((".py", ".npz")) else ref


def is_snapshot(ref) -> bool:
    return isinstance(ref, str) and ref.endswith(".npz")


def save_snapshot(definition: studies.Study, out_dir: Path) -> str:
    """``out_dir/study.npz`` holding ``definition``, written once; refused when it holds another
    study."""
    path = out_dir / SNAPSHOT_NAME
    if not path.is_file() and (out_dir / JOURNAL_NAME).is_file():
        raise ValueError(
            f"{str(out_dir)!r} holds a sweep of another study named "
            f"{definition.name!r}; "
            f"use another --out, or give the new study another name"
        )
    if path.is_file():
        if studies.Study.load(path).fingerprint() != definition.fingerprint():
            raise ValueError(
                f"{str(path)!r} holds study {definition.name!r} with other data or "
                "settings; "
                f"use another --out, or give the new study another name"
            )
    else:
        definition.save(path)
    return str(path.resolve())


def find(ref: str, out: str | Path = "results") -> studies.Study:
    """A study by name, file or snapshot (``studies.get``), or the snapshot a sweep of data left in
    ``out/ref/``."""
    return resolve(ref, out)[0]


def run_reference(ref: str, out: str | Path = "results") -> str:
    """What ``run`` runs for ``ref``: a sweep of data known by its name in ``out`` is resumed from
    its snapshot; any other reference is run as given."""
    snapshot = Path(out) / ref / SNAPSHOT_NAME
    known = ref in studies.names() or ref.endswith((".py", ".npz"))
    return str(snapshot) if not known and snapshot.is_file() else ref


def resolve(ref: str, out: str | Path = "results") -> tuple[studies.Study, str]:
    """(the study, the reference a worker process loads it by) for :func:`find`: for a study of
    data, the path of the snapshot it came from (a worker cannot import it by its name); for a file,
    its absolute path (workers outlive a chdir); else the name."""
    ref = run_reference(ref, out)
    return studies.get(ref), str(Path(ref).resolve()) if ref.endswith((".py", ".npz")) else ref

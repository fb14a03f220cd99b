"""A sweep's journal, record by record, on two checkouts; and whether they ran the same trials.

    python benchmarks/bench_journal.py [--trees OLD NEW] [--study sqrt] [--jobs 2] [--out DIR]
    python benchmarks/bench_journal.py --compare DIR_A DIR_B [--study sqrt]

Runs ``python -m sweeps run STUDY --no-explain --no-report --jobs N --out DIR`` on the code of each
tree (default: the commit ``main`` of this repository, exported to a temporary folder, and this
checkout), one after the other, then for each journal: its bytes, bytes a trial, and the bytes and
count of each kind of record (Optuna's op codes; a user attr by its key). Last, trial by trial:
the params, value, state, mode and seeds of the two sweeps (same seed: they must be the same).
``--compare`` does the last two on two sweeps already run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

OPS = {
    0: "create study",
    2: "study user attr",
    4: "create trial",
    5: "param",
    6: "trial state",
    7: "intermediate value",
    8: "trial user attr",
}


def records(journal: Path) -> tuple[Counter, Counter, int]:
    """(bytes, count) of each kind of record of ``journal``, and its trials."""
    size, count, trials = Counter(), Counter(), 0
    with open(journal, "rb") as f:
        for line in f:
            r = json.loads(line)
            op = r["op_code"]
            trials += op == 4
            kind = OPS.get(op, str(op))
            if op == 8:
                kind += ": " + next(iter(r["user_attr"]))
            size[kind] += len(line)
            count[kind] += 1
    return size, count, trials


def describe(journal: Path) -> dict:
    size, count, trials = records(journal)
    total = journal.stat().st_size
    print(f"{journal}: {total:,} B, {trials} trials, {total / max(trials, 1):,.0f} B a trial, "
          f"{sum(count.values()) / max(trials, 1):.1f} records a trial")
    for kind, b in size.most_common():
        print(f"  {kind:<36} {count[kind]:>6} records {b:>10,} B  {b / max(trials, 1):>7,.0f} B a trial")
    return {"bytes": total, "trials": trials, "size": dict(size), "count": dict(count)}


def trials_of(journal: Path, study: str) -> list[dict]:
    """What must not change, trial by trial: params, value, state, mode, seeds."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    backend = JournalFileBackend(str(journal))
    opt = optuna.load_study(study_name=study, storage=JournalStorage(backend))
    return [
        {
            "number": t.number,
            "params": t.params,
            "value": t.value,
            "state": t.state.name,
            "mode": t.user_attrs.get("mode"),
            "seeds": t.user_attrs.get("seeds"),
        }
        for t in opt.get_trials(deepcopy=False)
    ]


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def compare(dir_a: Path, dir_b: Path, study: str) -> bool:
    a = trials_of(dir_a / study / "journal.log", study)
    b = trials_of(dir_b / study / "journal.log", study)
    differ = [
        (x["number"], k)
        for x, y in zip(a, b)
        for k in x
        if not same(x[k], y[k])
    ]
    print(f"trials: {len(a)} and {len(b)}; identical (params, value, state, mode, seeds): "
          f"{sum(1 for x, y in zip(a, b) if all(same(x[k], y[k]) for k in x))} of {min(len(a), len(b))}")
    for number, key in differ[:20]:
        print(f"  trial {number}: {key} differs")
    return not differ and len(a) == len(b)


def export_main() -> Path:
    tree = Path(tempfile.mkdtemp(prefix="bench-journal-main-"))
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(repo), "archive", "main"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def run(tree: Path, study: str, jobs: int, out: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sweeps", "run", study, "--no-explain", "--no-report",
                    "--jobs", str(jobs), "--out", str(out)], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", nargs=2, type=Path)
    ap.add_argument("--compare", nargs=2, type=Path)
    ap.add_argument("--study", default="sqrt")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.compare:
        for d in args.compare:
            describe(d / args.study / "journal.log")
        sys.exit(0 if compare(*args.compare, args.study) else 1)
    trees = args.trees or [export_main(), Path(__file__).resolve().parents[1]]
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-journal-"))
    dirs = []
    for i, tree in enumerate(trees):
        d = out / f"tree{i}"
        print(f"{tree}: {run(tree, args.study, args.jobs, d):.0f} s (load {os.getloadavg()[0]:.1f})")
        describe(d / args.study / "journal.log")
        dirs.append(d)
    sys.exit(0 if compare(*dirs, args.study) else 1)


if __name__ == "__main__":
    main()

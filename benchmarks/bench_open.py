"""Opening a 10,000-trial sweep, ``list`` and ``report`` on it, on the code of one or more checkouts.

    python benchmarks/bench_open.py --sweeps OLD_OUT:OLD_TREE NEW_OUT:NEW_TREE [--copies 84]
        [--study sqrt] [--rounds 2] [--skip-report]

Running 10,000 real trainings to time the opening of their study would take hours; the journal is
replayed record by record whatever the trainings were, so each given sweep (``OUT``: the ``--out``
of a finished ``run STUDY``, made by the code of ``TREE``) is grown to ``copies`` times its trials:
its study's records once, then its trials' records ``copies`` times over (each copy's trial ids
shifted by the trials before it), and its trial files linked under the new numbers. The result is
the journal that code writes for that many trials of that sweep, with repeated outcomes.

Then, in a fresh process each, interleaved over ``rounds``, every sweep on its own tree's code:

- ``open``: ``sweeps.open_sweep(STUDY)`` and one ``get_trials`` (what every command does first),
  after one first opening that is not timed in the table (printed): a run's driver keeps the
  journal's replay as its last act (`sweeps.store.replay`), so a reader after a run finds it;
  ``open`` is its own time (printed by the script), ``open, the process`` the command's, interpreter
  start, imports and exit included (the tables before 7 Dec 18:30 gave this one as ``open``);
- ``list``: ``python -m sweeps list --out DIR``;
- ``report``: ``python -m sweeps report STUDY --out DIR``, on the grown sweep and on the sweep as
  given (issue 33's target: at most 3x), each after one first report that is not timed in the
  table (printed): that one draws the figures and computes the importances (neither is copied),
  and the timed ones find them kept (`sweeps.report.kept`), with the trials frame
  (`sweeps.results.kept_trials`), as every ``report`` after a run does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIAL_OPS = (5, 6, 7, 8)  # the records of an existing trial, by its trial_id
NOT_COPIED = ("journal.log.flock", "report.html", "importances.json", "journal.replay", "journal.frame")
"""Left out of both copies, so that each first report works as one after its sweep changed: it
computes the importances and draws the figures (and keeps its trials frame), whatever the given
folder held from earlier reports."""


def grow(src: Path, dst: Path, study: str, copies: int) -> int:
    """``src/STUDY`` grown to ``copies`` times its trials in ``dst/STUDY``; the trials written."""
    lines = (src / study / "journal.log").read_bytes().splitlines(keepends=True)
    trials = sum(line.startswith(b'{"op_code":4,') for line in lines)
    out = dst / study
    out.mkdir(parents=True, exist_ok=True)
    for f in (src / study).iterdir():
        if f.is_file() and f.name not in ("journal.log", *NOT_COPIED):
            shutil.copy2(f, out / f.name)
    with open(out / "journal.log", "wb") as f:
        for k in range(copies):
            for line in lines:
                r = json.loads(line)
                op = r["op_code"]
                if op == 4:
                    f.write(line)
                elif op in TRIAL_OPS:
                    if k:
                        r["trial_id"] += k * trials
                        f.write(json.dumps(r, separators=(",", ":")).encode() + b"\n")
                    else:
                        f.write(line)
                elif k == 0:  # the study's own records, once
                    f.write(line)
    files = src / study / "trials"
    if files.is_dir():
        (out / "trials").mkdir(exist_ok=True)
        for p in files.iterdir():
            name = p.name.split(".", 1)
            if not name[0].isdigit():
                shutil.copy2(p, out / "trials" / p.name)
                continue
            for k in range(copies):
                os.link(p, out / "trials" / f"{int(name[0]) + k * trials}.{name[1]}")
    return trials * copies


OPEN = """
import sys, time
t0 = time.perf_counter()
import sweeps
from sweeps.results.handle import open_sweep
t1 = time.perf_counter()
s = open_sweep(sys.argv[1], out=sys.argv[2])
n = len(s.study.get_trials(deepcopy=False))
print(time.perf_counter() - t1, n)
"""


def timed(cmd: list[str], tree: Path) -> tuple[float, float | None]:
    """The command's wall time, and for the ``OPEN`` script the time it printed (its opening
    alone: no interpreter start, imports or exit)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr[-2000:]}")
    wall = time.perf_counter() - t0
    return wall, float(r.stdout.split()[0]) if cmd[1] == "-c" else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweeps", nargs="+", required=True, help="OUT:TREE, one a checkout")
    ap.add_argument("--study", default="sqrt")
    ap.add_argument("--copies", type=int, default=84)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--skip-report", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-open-"))
    py = sys.executable
    setups = []
    for i, spec in enumerate(args.sweeps):
        out, tree = (Path(p).resolve() for p in spec.split(":"))
        grown = work / f"grown{i}"
        n = grow(out, grown, args.study, args.copies)
        small = work / f"small{i}"
        shutil.copytree(out / args.study, small / args.study,
                        ignore=shutil.ignore_patterns(*NOT_COPIED, "figures"))
        size = (grown / args.study / "journal.log").stat().st_size
        print(f"{spec}: {n} trials, journal {size:,} B ({size / n:,.0f} B a trial)")
        setups.append((spec, tree, grown, small))
    for spec, tree, grown, small in setups:  # as after the run that made it: its driver's last act
        wall, first = timed([py, "-c", OPEN, args.study, str(grown)], tree)
        print(f"  {spec} first open (a replay; code that keeps it keeps it here): {first:.2f} s"
              f" ({wall:.2f} s the process)")
        for label, folder in (("120", small), ("10k", grown)) if not args.skip_report else ():
            wall, _ = timed([py, "-m", "sweeps", "report", args.study, "--out", str(folder)], tree)
            print(f"  {spec} first report {label} (draws the figures): {wall:.2f} s")
    times: dict[tuple[str, str], list[float]] = {}
    print(f"load before: {os.getloadavg()}")
    for _ in range(args.rounds):
        for spec, tree, grown, small in setups:
            jobs = {
                "open": [py, "-c", OPEN, args.study, str(grown)],
                "list": [py, "-m", "sweeps", "list", "--out", str(grown)],
            }
            if not args.skip_report:
                jobs["report 120"] = [py, "-m", "sweeps", "report", args.study, "--out", str(small)]
                jobs["report 10k"] = [py, "-m", "sweeps", "report", args.study, "--out", str(grown)]
            for what, cmd in jobs.items():
                wall, inside = timed(cmd, tree)
                if inside is not None:
                    times.setdefault((spec, what), []).append(inside)
                    what = "open, the process"
                times.setdefault((spec, what), []).append(wall)
                print(f"  {spec} {what}: {wall:.2f} s" + (f" ({inside:.2f} s opening)" if inside else ""),
                      flush=True)
    print(f"load after: {os.getloadavg()}")
    columns = ("open", "open, the process", "list", "report 120", "report 10k")
    print("| sweep | " + " | ".join(w for w in columns if (setups[0][0], w) in times) + " |")
    for spec, *_ in setups:
        cells = [f"{statistics.median(times[spec, w]):.2f} s" for w in columns if (spec, w) in times]
        print(f"| {spec} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

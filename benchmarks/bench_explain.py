"""What the analysis costs next to the search, what each of its savings saves, and whether its fix depends on
the sweep, for each seed study.

    python benchmarks/bench_explain.py [STUDY ...] [--seeds 0 1 2] [--jobs J] [--out DIR]

For every study and sweep seed: the default sweep (search only), then the analysis, each timed on the wall
clock, side by side in one process. The first seed's analysis starts from an empty store of trainings; each
later seed's starts from a copy of the first's store (``--fresh``: from an empty one too), so the trainings it
runs now are those the first did not ask for: only the sweep's best trial beside the fix, if the fix search
reads nothing of the sweep. It prints the
analysis's trainings by part (deterministic: the same on every machine), the steps it trained against the steps
its trainings would have taken without their stop rules (by how each ended), the trainings successive halving
saved (every set at every rate of the coarse grid from every seed, against those trained), and the fix each
seed's analysis found: the same for every seed, or the table says which differs.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import studies
import sweeps
from sweeps.analysis import explain, lab
from sweeps.analysis.tuning import COARSE, REPEATS


class _Spent(logging.Handler):
    """Keeps the analysis's own log lines (per part: trainings and seconds)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("studies", nargs="*", default=studies.names())
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--fresh", action="store_true", help="every seed's analysis from an empty store")
    args = p.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="bench-explain-"))
    labs: list[lab.Lab] = []
    real_open = explain.open_lab
    explain.open_lab = lambda *a, **k: labs.append(real_open(*a, **k)) or labs[-1]  # to read its counters
    log = logging.getLogger("sweeps.analysis.explain")
    spent = _Spent()
    log.addHandler(spent)
    log.setLevel(logging.INFO)
    print("| study | sweep seed | search | its trainings | analysis | trainings run now (all, by part) | steps "
          "trained / without stop rules | fix | lr range | escape rate |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.studies:
        fixes = {}
        for seed in args.seeds:
            out = root / f"{name}-seed{seed}"
            t0 = time.perf_counter()
            opt = sweeps.run(name, out=str(out), seed=seed, jobs=args.jobs, progress=False, report=False,
                             explain=False)
            t1 = time.perf_counter()
            first = root / f"{name}-seed{args.seeds[0]}" / name / lab.CACHE_NAME
            if seed != args.seeds[0] and not args.fresh:
                shutil.copyfile(first, out / name / lab.CACHE_NAME)
            labs.clear()
            doc = explain.analyse(name, out=str(out), jobs=args.jobs)
            t2 = time.perf_counter()
            used = labs[-1]
            fix = doc["fix"]
            fixes[seed] = json.dumps(fix["changes"], sort_keys=True)
            search_trainings = len(opt.trials) * opt.user_attrs["settings"]["repeats"]
            by_stop = ", ".join(f"{k} {v / 1e6:.1f}M" for k, v in sorted(used.steps.items()))
            print(f"| {name} | {seed} | {t1 - t0:.0f} s | {search_trainings} | {t2 - t1:.0f} s | "
                  f"{used.trained} ({len(used.runs)}: {', '.join(f'{k} {v}' for k, v in doc['trainings'].items())}) | "
                  f"{sum(used.steps.values()) / 1e6:.1f}M / {used.budgeted / 1e6:.1f}M ({by_stop}) | "
                  f"{fix['sentence'].split(': ', 1)[-1].split(';')[0] if fix['changes'] is not None else 'none'} | "
                  f"{fix.get('lr_range')} | {fix.get('escape_rate')} |", flush=True)
            sets = sum(doc["searched"]["sets_tried"].values())
            full = sets * len(COARSE) * REPEATS
            print(f"  successive halving, {name} seed {seed}: the fix search tried {sets} sets; every set at every "
                  f"coarse rate from all {REPEATS} seeds would be {full} trainings, against "
                  f"{doc['trainings']['fix']} trained ({doc['trainings']['fix'] / full:.0%})", flush=True)
            for line in spent.lines:
                print(f"  {line}")
            spent.lines.clear()
        same = len(set(fixes.values())) == 1
        print(f"  {name}: the fix from sweep seeds {args.seeds}: {'the same' if same else 'DIFFERS'} "
              f"({sorted(set(fixes.values()))})", flush=True)


if __name__ == "__main__":
    main()

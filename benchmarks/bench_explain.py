"""What the counterfactual analysis costs next to the search, for each seed study.

    python benchmarks/bench_explain.py [--out DIR] [--jobs J] [STUDY ...]

For every study: the default sweep (``sweeps.run``), then the analysis (``sweeps.analysis.explain``'s
``analyse``), each timed on the wall clock, side by side in one process; the trainings the
analysis added (the ``cost`` attr of ``STUDY:explain``) and its smallest fix. A second analysis
of the same sweep must train nothing (it reads what it stored).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import optuna

import studies
import sweeps
from sweeps.analysis.explain import analyse, explain_name
from sweeps.store.factory import open_storage


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("studies", nargs="*", default=studies.names())
    p.add_argument("--out", default=None)
    p.add_argument("--jobs", type=int, default=None)
    args = p.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="bench-explain-")
    print(f"| study | search | trainings of the search | analysis | trainings it adds | again (stored) | smallest fix |")
    print("|---|---|---|---|---|---|---|")
    for name in args.studies:
        t0 = time.perf_counter()
        opt = sweeps.run(name, out=out, jobs=args.jobs, progress=False)
        t1 = time.perf_counter()
        doc = analyse(name, out=out, jobs=args.jobs)
        t2 = time.perf_counter()
        analyse(name, out=out, jobs=args.jobs)
        t3 = time.perf_counter()
        store = optuna.load_study(study_name=explain_name(name), storage=open_storage(None, Path(out) / name))
        search_trainings = len(opt.trials) * opt.user_attrs["settings"]["repeats"]
        stored = sum(len(t.user_attrs["runs"]) for t in store.trials)
        cost = store.user_attrs
        print(f"| {name} | {t1 - t0:.1f} s | {search_trainings} | {t2 - t1:.1f} s | {stored} | {t3 - t2:.1f} s "
              f"({cost['cost']['trainings']} trained) | {doc['fix']['changes']} ({doc['fix']['fits']} of "
              f"{doc['fix']['seeds']}); target trial {doc['target']['trial']} of hidden layers {doc['target']['hidden']} |",
              flush=True)


if __name__ == "__main__":
    main()

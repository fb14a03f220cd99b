"""Does the sweep answer the user? Each seed study's default sweep, and its best config refit from fresh seeds.

    python benchmarks/bench_studies.py [--seeds N] [--jobs J]

For every seed study: the default sweep (``sweeps.run``, the study's budget, all cores), how
long it took, its best value and mode; then the best config (``sweeps.best_config``) and the
seed's own failing config (the study's baseline), each trained from N fresh init seeds on the
study's data, with the modes they reach. The best config should reach ``fit`` from (nearly)
every seed, the baseline from none.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter

from joblib import Parallel, delayed

import mlpcore
import studies
import sweeps
from sweeps.results.reading import best_trial

FRESH_SEED = 10_000
"""Fresh init seeds start here: far from the seeds the sweep derived for its trials."""


def mode_of(config: mlpcore.MLPConfig, study: str, seed: int) -> str:
    data = studies.get(study).data()
    return mlpcore.fit(config.replace(seed=seed), data.x_train, data.y_train, x_val=data.x_val,
                       y_val=data.y_val).diagnosis.mode


def modes(config: mlpcore.MLPConfig, study: str, seeds: int, jobs: int | None) -> str:
    got = Parallel(n_jobs=jobs or -1)(delayed(mode_of)(config, study, FRESH_SEED + i) for i in range(seeds))
    return ", ".join(f"{mode} {n}" for mode, n in Counter(got).most_common())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="fresh init seeds per refit")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    args = ap.parse_args()
    print("| study | default sweep | best value (mode) | best config from fresh seeds | baseline from fresh seeds |")
    print("|---|---:|---|---|---|")
    with tempfile.TemporaryDirectory() as out:
        for name in studies.names():
            t0 = time.perf_counter()
            opt = sweeps.run(name, jobs=args.jobs, out=out, progress=False)
            seconds = time.perf_counter() - t0
            best = best_trial(opt)
            print(f"| {name} | {len(opt.trials)} trials, {seconds:.0f} s | {best.value:.3g} "
                  f"({best.user_attrs['mode']}) | {modes(sweeps.best_config(name, out=out), name, args.seeds, args.jobs)} | "
                  f"{modes(studies.get(name).baseline, name, args.seeds, args.jobs)} |", flush=True)

if __name__ == "__main__":
    main()

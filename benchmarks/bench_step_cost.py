"""What a training step costs, for the question's config and each single change the fix search tries.

    python benchmarks/bench_step_cost.py [STUDY ...] [--steps 30000] [--only SETTING] [--rounds R]

The analysis trains every variant at the asker's own budget (sqrt: 300,000 full-batch steps of 500 rows),
so what a step costs decides what the analysis costs. For each study this times ``--steps`` steps of the
question's config and of each single change of it (``sweeps.analysis.fixes.candidates``), at the asker's
batch size, in this process (one core, the kernel compiled and warmed first), at a learning rate small
enough that no run diverges or fits early; and prints microseconds a step, and what a training to the
asker's budget would take.

``--only activation`` times the question's config and the changes of that setting alone. ``--rounds R``
times each R times, in turn, and keeps the least CPU time of this process (the machine's other work
does not count): with a checkout on PYTHONPATH, then another, two kernels side by side.
"""

from __future__ import annotations

import argparse
import time

import mlpcore
import studies
from sweeps import space as search_space
from sweeps.analysis.fixes import candidates
from sweeps.search.worker import study_and_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("studies", nargs="*", default=["sqrt"])
    ap.add_argument("--steps", type=int, default=30_000)
    ap.add_argument("--only", metavar="SETTING", help="only the changes of this setting")
    ap.add_argument("--rounds", type=int, default=1, help="least CPU time of R runs of each")
    args = ap.parse_args()
    for name in args.studies:
        definition = studies.get(name)
        _, data, _ = study_and_data(name)
        space = search_space.Space.of(definition)
        budget = definition.budget()
        asked = definition.baseline.replace(steps=args.steps, batch_size=budget.batch_size, patience=None,
                                            lr=1e-9)
        changes = [{}] + [{c.setting: c.value} for c in candidates(space, space.params_of(asked))
                          if args.only in (None, c.setting)]
        print(f"\n{name}: {len(data.x_train)} training rows, the asker's budget {budget.describe()}")
        print("| change | us a step | a training of the asker's budget |")
        print("|---|---:|---:|")
        configs = [search_space.apply(asked, change) for change in changes]
        for config in configs:
            mlpcore.fit(config.replace(steps=10), data.x_train, data.y_train)  # compiled and warm
        clock = time.perf_counter if args.rounds == 1 else time.process_time
        least = [float("inf")] * len(configs)
        for _ in range(args.rounds):
            for i, config in enumerate(configs):
                t0 = clock()
                r = mlpcore.fit(config, data.x_train, data.y_train, x_val=data.x_val, y_val=data.y_val)
                least[i] = min(least[i], (clock() - t0) / max(r.steps_done, 1))
        for change, per_step in zip(changes, least):
            label = ", ".join(f"{k} {v}" for k, v in change.items()) or "the question's config"
            print(f"| {label} | {per_step * 1e6:.2f} | {per_step * budget.steps:.1f} s |", flush=True)


if __name__ == "__main__":
    main()

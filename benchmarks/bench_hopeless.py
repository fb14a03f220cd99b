"""The analysis's give-up rule, checked against trainings run to their end.

    python benchmarks/bench_hopeless.py [STUDY ...] [--jobs J] [--seeds N] [--save FILE]

The analysis (``sweeps.analysis``) trains every variant of a fix search at the asker's budget, and gives a
training up once ``sweeps.analysis.lab.hopeless`` says it cannot fit in the steps left. That rule must never
give up a training that would have fit. For each study, this trains the variants the fix search screens first
(the question's config and each single change of it, at every learning rate of the coarse grid, from the first
``--seeds`` init seeds of the analysis) to the end of the asker's budget, stopping only once a net fits. Then it
replays each rule of a small grid (how far above the fit bound it must stay, the pace factor, the first
checkpoint it looks at) on the recorded curves:
how many trainings it would have given up that went on to fit (false stops: must be 0), and the share of the
steps it saves. The default rule is marked.

A second rule, rejected, is replayed on the same runs: a training at a rate a decade below one that did not
fit within a tenth of the budget is taken not to fit either (gradient descent at a tenth of the rate
follows nearly the same path, ten times slower). The table gives how many trainings it would skip and how
many of those fit (false skips).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import mlpcore
import studies
from mlpcore import MLPConfig
from sweeps import space as search_space
from sweeps.analysis import lab
from sweeps.analysis.fixes import candidates
from sweeps.analysis.tuning import COARSE, SEEDS
from sweeps.search.pool import WorkerPool
from sweeps.search.worker import prepare, study_and_data

RULES = [(far, pace, look) for far in (1.0, 10.0, 30.0, 100.0) for pace, look in ((10.0, 10), (10.0, 5), (3.0, 5))]


def full_run(study: str, config: dict) -> dict:
    """One training to the end of its budget, stopped only once it fits: its curve and ending."""
    _, data, _ = study_and_data(study)
    started = time.process_time()
    r = mlpcore.fit(MLPConfig.from_dict(config), data.x_train, data.y_train, x_val=data.x_val, y_val=data.y_val,
                    stop_when_fit=True)
    return {"steps": r.curve.steps.tolist(), "val": r.curve.val_loss.tolist(), "mode": r.diagnosis.mode,
            "stopped": r.stopped, "cpu": time.process_time() - started}


def given_up_at(run: dict, bound: float, budget: int, far: float, pace: float, look: int) -> int | None:
    """The checkpoint step at which the rule (far, pace, look) would have given ``run`` up (None: never)."""
    rule = lab.hopeless(bound, budget, pace_factor=pace, first_look=look, far=far)
    val = np.asarray(run["val"], dtype=float)
    for k, step in enumerate(run["steps"]):
        if rule(step, val[:k + 1], val[:k + 1]):
            return step
    return None


def variants(name: str) -> list[MLPConfig]:
    definition = studies.get(name)
    space = search_space.Space.of(definition)
    budget = definition.budget()
    asked = definition.baseline.replace(steps=budget.steps, batch_size=budget.batch_size, patience=None)
    sets = [{}] + [{c.setting: c.value} for c in candidates(space, space.params_of(asked))]
    return [search_space.apply(asked, s) for s in sets]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("studies", nargs="*", default=studies.names())
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--save", default=None, help="keep the recorded runs as JSON (one file per study)")
    p.add_argument("--load", default=None, help="replay the rules on runs kept by --save, training nothing")
    args = p.parse_args()
    for name in args.studies:
        configs = [v.replace(lr=lr, seed=s) for v in variants(name) for lr in COARSE for s in SEEDS[:args.seeds]]
        started = time.perf_counter()
        if args.load:
            runs = json.loads(Path(f"{args.load}.{name}.json").read_text())
        else:
            pool = WorkerPool(full_run, args.jobs, prepare=(prepare, (name,)))
            runs = [run for _, run in sorted(pool.run([(name, c.to_dict()) for c in configs]))]
            pool.close()
        wall = time.perf_counter() - started
        if args.save:
            Path(f"{args.save}.{name}.json").write_text(json.dumps(runs))
        bound, budget = lab.fit_bound(name), configs[0].steps
        fits = [r["mode"] == "fit" for r in runs]
        total = sum(r["steps"][-1] for r in runs)
        print(f"\n{name}: {len(runs)} trainings to the end of {budget:,} steps ({sum(fits)} fit), "
              f"{sum(r['cpu'] for r in runs):.0f} CPU s, {wall:.0f} s wall with {args.jobs} workers")
        print("| far (x fit bound) | pace factor | first look (checkpoint) | given up | false stops (would have fit) "
              "| steps saved |")
        print("|---|---|---|---|---|---|")
        for far, pace, look in RULES:
            stops = [given_up_at(r, bound, budget, far, pace, look) for r in runs]
            false = sum(1 for s, f, r in zip(stops, fits, runs) if s is not None and f and s < r["steps"][-1])
            saved = sum(r["steps"][-1] - s for s, r in zip(stops, runs) if s is not None)
            mark = " (default)" if (far, pace, look) == (lab.FAR, lab.PACE, lab.FIRST_LOOK) else ""
            print(f"| {far:g}{mark} | {pace:g} | {look} | {sum(s is not None for s in stops)} | {false} | "
                  f"{saved / total:.0%} |")
        skipped, false_skips, cpu_skipped = rate_rule(configs, runs)
        print(f"\nthe rate rule (rejected): {skipped} trainings skipped, {false_skips} of them fit; "
              f"{cpu_skipped:.0f} of {sum(r['cpu'] for r in runs):.0f} CPU s skipped")


def rate_rule(configs: list[MLPConfig], runs: list[dict]) -> tuple[int, int, float]:
    """Replay the rejected rate rule: (trainings it skips, how many of them fit, their CPU seconds).

    A training is skipped when the same config and seed a decade higher did not diverge and did not fit
    within the first tenth of the budget."""
    by = {(c.replace(lr=1.0, seed=0), c.seed, round(np.log10(c.lr), 3)): r for c, r in zip(configs, runs)}
    skipped = false = 0
    cpu = 0.0
    for (variant, seed, decade), run in by.items():
        up = by.get((variant, seed, round(decade + 1, 3)))
        if up is None or up["mode"] == "diverged" or up["stopped"].startswith("diverged"):
            continue
        fit_at = up["steps"][-1] if up["mode"] == "fit" else None
        if fit_at is None or fit_at > variant.steps / 10:
            skipped += 1
            cpu += run["cpu"]
            false += run["mode"] == "fit"
    return skipped, false, cpu


if __name__ == "__main__":
    main()

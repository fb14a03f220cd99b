"""What a training step of each smooth activation costs on the compiled kernel, in CPU time.

    PYTHONPATH=CHECKOUT python benchmarks/bench_activations.py [ACTIVATION ...] [--rounds 12]

A 1-10-1 network on sqrt's 500 training rows, full batch, SGD at a rate too small to move it; the
minimum over ``--rounds`` fits of 5,000 steps (CPU time of this process: the machine's other work
does not count). Run it with two checkouts on PYTHONPATH in turn to compare kernels side by side.
"""

from __future__ import annotations

import argparse
import time

import mlpcore
from sweeps.search.worker import study_and_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("activations", nargs="*", default=["tanh", "sigmoid", "elu", "softplus"])
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--steps", type=int, default=5_000)
    args = ap.parse_args()
    _, data, _ = study_and_data("sqrt")
    base = mlpcore.MLPConfig(hidden=(10,), init_scale=0.01, lr=1e-9, steps=args.steps)
    best = dict.fromkeys(args.activations, float("inf"))
    for a in args.activations:  # compiled and warm before timing
        mlpcore.fit(base.replace(activation=a), data.x_train, data.y_train)
    for _ in range(args.rounds):
        for a in args.activations:
            t = time.process_time()
            mlpcore.fit(base.replace(activation=a), data.x_train, data.y_train)
            best[a] = min(best[a], (time.process_time() - t) / args.steps * 1e6)
    print(f"us a step (min of {args.rounds}), {mlpcore.__file__}")
    for a, us in best.items():
        print(f"  {a:10s} {us:7.1f}")


if __name__ == "__main__":
    main()

"""Microseconds per training step of the seed-000 network, side by side in one run.

    python benchmarks/bench_engine.py [--steps N] [--repeats R]

The network: n=500, 1 -> 10 (relu) -> 1, full-batch SGD, float64. Rows:
- straightforward NumPy loop: a plain hand-written loop, the way the seed question writes one
  (fresh arrays every step, `np.dot`, boolean-mask ReLU backward); the reference.
- mlpcore numpy backend, loop only: `NumpyBackend.run` over the same steps.
- mlpcore fit(), end to end: data checks, scaling, 100 curve checkpoints, diagnosis, per step.
- mlpcore numba backend (when the compiled kernel is present).
Each is timed R times, interleaved; the median is reported, and ratios against the reference.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from mlpcore import MLPConfig, fit
from mlpcore.network import Network, init_params, layout_for
from mlpcore.train import make_backend

N, WIDTH = 500, 10


def data():
    rng = np.random.default_rng(0)
    x = np.abs(rng.standard_normal((N, 1)) * 1000)
    return x, np.sqrt(x) + 0.5 * rng.standard_normal((N, 1))


def straightforward_loop(x, y, steps):
    rng = np.random.default_rng(0)
    lr = 1e-6
    w1 = rng.standard_normal((1, WIDTH)) * 0.01
    b1 = np.zeros((1, WIDTH))
    w2 = rng.standard_normal((WIDTH, 1)) * 0.01
    b2 = np.zeros((1, 1))
    t0 = time.perf_counter()
    for _ in range(steps):
        h = np.maximum(0, np.dot(x, w1) + b1)
        out = np.dot(h, w2) + b2
        loss = np.sum((out - y) ** 2) / len(x)
        d_out = 2 * (out - y) / len(x)
        d_w2 = np.dot(h.T, d_out)
        d_b2 = np.sum(d_out, axis=0, keepdims=True)
        d_h = np.dot(d_out, w2.T)
        d_h[h <= 0] = 0
        d_w1 = np.dot(x.T, d_h)
        d_b1 = np.sum(d_h, axis=0, keepdims=True)
        w1 -= lr * d_w1
        b1 -= lr * d_b1
        w2 -= lr * d_w2
        b2 -= lr * d_b2
    assert np.isfinite(loss)
    return time.perf_counter() - t0


SEED_CONFIG = MLPConfig(hidden=(WIDTH,), activation="relu", init="normal", init_scale=0.01, x_scaling="none",
                        y_scaling="none", optimizer="sgd", lr=1e-6)


def backend_loop(backend_name):
    def run(x, y, steps):
        cfg = SEED_CONFIG.replace(backend=backend_name, steps=steps)
        layout = layout_for(cfg, 1, 1)
        net = Network(cfg, layout, init_params(cfg, layout, np.random.default_rng(0)))
        backend = make_backend(cfg, net)
        backend.run(x, y, None, 10, np.inf)  # warm up (and compile, for numba)
        t0 = time.perf_counter()
        backend.run(x, y, None, steps, np.inf)
        return time.perf_counter() - t0

    return run


def fit_end_to_end(backend_name):
    def run(x, y, steps):
        cfg = SEED_CONFIG.replace(backend=backend_name, steps=steps)
        return fit(cfg, x, y).seconds

    return run


def us_per_step(rows: dict, run_args: tuple, steps: int, repeats: int) -> dict[str, float]:
    """Median microseconds a step of each row, ``row(*run_args, steps) -> seconds``.

    The rows are timed in turn, ``repeats`` rounds, so that the machine's noise hits them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(repeats):
        for name, run in rows.items():
            times[name].append(run(*run_args, steps) / steps * 1e6)
    return {name: statistics.median(ts) for name, ts in times.items()}


def print_table(medians: dict[str, float], reference: str) -> None:
    """The medians as a Markdown table, with each row's speed-up over ``reference``."""
    print(f"| {'implementation':<42} | {'us/step':>9} | {'speed-up':>8} |")
    print(f"|{'-' * 44}|{'-' * 11}|{'-' * 10}|")
    for name, med in medians.items():
        print(f"| {name:<42} | {med:9.2f} | {medians[reference] / med:7.1f}x |")


def kernel_available() -> bool:
    try:
        import mlpcore.kernels  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    x, y = data()
    rows = {
        "straightforward NumPy loop (reference)": straightforward_loop,
        "mlpcore numpy backend, loop only": backend_loop("numpy"),
        "mlpcore fit(backend='numpy'), end to end": fit_end_to_end("numpy"),
    }
    if kernel_available():
        rows["mlpcore numba backend, loop only"] = backend_loop("numba")
        rows["mlpcore fit(backend='numba'), end to end"] = fit_end_to_end("numba")
    medians = us_per_step(rows, (x, y), args.steps, args.repeats)
    print(f"seed-000 network: n={N}, width {WIDTH}, relu, full-batch SGD, float64; "
          f"{args.steps} steps, median of {args.repeats}")
    print_table(medians, "straightforward NumPy loop (reference)")

if __name__ == "__main__":
    main()

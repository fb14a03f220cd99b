"""Microseconds per training step: the compiled kernel beside NumPy, scikit-learn, PyTorch and JAX.

    python benchmarks/bench_kernel.py [--repeats R] [--quick] [--cpu-time] [--only TITLE]

Three networks, float64 throughout, each timed R times with the rows interleaved; the table
shows medians and the speed-up over the section's reference row:
- seed 000: n = 500, 1 -> 10 (relu) -> 1, full-batch SGD. Reference: the straightforward
  NumPy loop of `bench_engine.py` (imported, not copied).
- seed 004 style: 1 -> 10 (sigmoid, no bias) -> 1, SGD on one sample a step. Reference: the
  mlpcore NumPy backend.
- narrow: n = 500, 1 -> 32 (tanh) -> 1, full-batch Adam. Reference: the mlpcore NumPy backend.
- wide: n = 500, 1 -> 64 -> 64 (tanh) -> 1, full-batch Adam, as narrow.
- wider: n = 500, 1 -> 128 -> 128 -> 128 (tanh) -> 1, full-batch Adam, as narrow.
The last three also print each row's GFLOP/s (the step's matrix products, ``step_flops``) and its
fraction of the core's multiply-add limit, itself a row: a loop of independent multiply-adds
(``_multiply_adds``) timed for the same flops, in the same rounds; beside it OpenBLAS's dgemm on
matrices that fit in cache (scipy's, the library the kernel's ``np.dot`` calls), as what a
matrix product reaches here.
scikit-learn (MLPRegressor, one epoch of one batch a step), PyTorch (eager, CPU) and JAX (jit
over a lax.fori_loop) rows appear when the package imports: `pip install -e ".[bench]"` for
scikit-learn; torch and jax by hand. Compile times are excluded (each row warms up first).

Every row runs on one thread, as each worker of a sweep does (joblib gives a worker one
core): BLAS, PyTorch and XLA are limited to one thread below, unless the environment
already sets OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / XLA_FLAGS otherwise.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy, torch or JAX load
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from bench_engine import backend_loop, data, print_table, straightforward_loop, us_per_step  # noqa: E402
from mlpcore import MLPConfig  # noqa: E402
from mlpcore.network import Network, init_params, layout_for  # noqa: E402
from mlpcore.train import BatchSampler, make_backend  # noqa: E402


def _optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


# --- the three networks ---------------------------------------------------------------------------------


class Case:
    """A network, its data, and the row functions that train it: run(steps) -> seconds."""

    def __init__(self, title, config, x, y, steps, reference):
        self.title, self.config, self.x, self.y, self.steps, self.reference = title, config, x, y, steps, reference
        self.rows = {}


def seed_000(steps):
    x, y = data()
    cfg = MLPConfig(hidden=(10,), activation="relu", init="normal", init_scale=0.01, x_scaling="none",
                    y_scaling="none", optimizer="sgd", lr=1e-6)
    case = Case("seed 000: n=500, 1-10-1 relu, full-batch SGD", cfg, x, y, steps,
                "straightforward NumPy loop (bench_engine)")
    case.rows[case.reference] = lambda k: straightforward_loop(x, y, k)
    case.rows["mlpcore numpy backend"] = lambda k: backend_loop("numpy")(x, y, k)
    case.rows["mlpcore numba kernel"] = lambda k: backend_loop("numba")(x, y, k)
    return case


def seed_004(steps):
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 15, (500, 1))
    cfg = MLPConfig(hidden=(10,), activation="sigmoid", bias=False, init="uniform", x_scaling="none",
                    y_scaling="none", optimizer="sgd", lr=0.01, batch_size=1)
    case = Case("seed 004 style: 1-10-1 sigmoid, no bias, SGD on 1 sample a step", cfg, x, np.sin(x), steps,
                "mlpcore numpy backend")
    for backend in ("numpy", "numba"):
        case.rows[f"mlpcore {backend} {'backend' if backend == 'numpy' else 'kernel'}"] = _mlpcore_row(case, backend)
    return case


def narrow(steps):
    return wide(steps, (32,), "narrow")


def wide(steps, hidden=(64, 64), title="wide"):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (500, 1))
    cfg = MLPConfig(hidden=hidden, activation="tanh", optimizer="adam", lr=1e-3)
    case = Case(f"{title}: n=500, 1-{'-'.join(map(str, hidden))}-1 tanh, full-batch Adam", cfg, x, np.sin(2 * x),
                steps, "mlpcore numpy backend")
    case.flops = step_flops((1, *hidden, 1), len(x))
    for backend in ("numpy", "numba"):
        case.rows[f"mlpcore {backend} {'backend' if backend == 'numpy' else 'kernel'}"] = _mlpcore_row(case, backend)
    return case


def wider(steps):
    return wide(steps, (128, 128, 128), "wider")


CASES = (seed_000, seed_004, narrow, wide, wider)
"""Each network, as make(steps) -> Case; STEPS[i] steps each."""
STEPS = (5000, 20_000, 2000, 300, 100)


# --- the core's multiply-add limit ---------------------------------------------------------------------


def step_flops(sizes, n: int) -> int:
    """Floating-point operations of a full-batch step's matrix products, a multiply-add counted as 2.

    Per layer of fan_in x fan_out weights: the forward product and the weight gradient, n fan_in fan_out
    multiply-adds each, and for every layer but the first, the product that passes delta down (as many
    again). The rest of a step (biases, activations, the loss, the optimizer) is O(n width), not counted.
    """
    layers = [fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
    return 2 * n * (2 * sum(layers) + sum(layers[1:]))


MIN_FLOPS = 2 * 10**9
"""The limit rows time at least this many flops (tens of milliseconds), then scale to the case's steps."""
CHAIN_ELEMENTS = 64
"""Elements of _multiply_adds's vector: 16 chains of 4 doubles (an AVX2 register), enough to keep two
multiply-add units busy through a latency of 4 cycles (8 would be: 2 units x 4 cycles)."""


def _multiply_adds(v, a, b, reps):
    """8 * len(v) * reps multiply-adds: each element a chain of 8 a round, the elements independent."""
    for _ in range(reps):
        for i in range(v.shape[0]):
            x = v[i]
            x = x * a + b
            x = x * a + b
            x = x * a + b
            x = x * a + b
            x = x * a + b
            x = x * a + b
            x = x * a + b
            x = x * a + b
            v[i] = x


def _limit_row(case):
    """The time the core's multiply-adds would take for ``case.flops`` a step, at the rate the loop above runs."""
    from numba import njit

    loop = njit(fastmath={"contract"})(_multiply_adds)  # contract: x * a + b as one multiply-add instruction
    v = np.ones(CHAIN_ELEMENTS)
    loop(v, 0.999999, 1e-7, 1)  # compile

    def run(k):
        reps = max(MIN_FLOPS, round(case.flops * k)) // (2 * 8 * CHAIN_ELEMENTS)
        t0 = time.perf_counter()
        loop(v, 0.999999, 1e-7, reps)  # a contraction towards 0.1: no overflow, no subnormals
        return (time.perf_counter() - t0) * case.flops * k / (reps * 2 * 8 * CHAIN_ELEMENTS)

    return run


DGEMM_SIDE = 192
"""Side of the square matrices of the dgemm row: three of 288 KB, in a core's L2 cache with room to spare."""


def _dgemm_row(case):
    """The time OpenBLAS's dgemm takes for ``case.flops`` a step, on square matrices that stay in cache."""
    from scipy.linalg.blas import dgemm

    rng = np.random.default_rng(0)
    a, b = (np.asfortranarray(rng.standard_normal((DGEMM_SIDE, DGEMM_SIDE))) for _ in range(2))
    c = np.asfortranarray(np.zeros((DGEMM_SIDE, DGEMM_SIDE)))
    per_call = 2 * DGEMM_SIDE**3

    def run(k):
        calls = max(MIN_FLOPS, round(case.flops * k)) // per_call
        t0 = time.perf_counter()
        for _ in range(calls):
            dgemm(1.0, a, b, 0.0, c, overwrite_c=1)
        return (time.perf_counter() - t0) * case.flops * k / (calls * per_call)

    return run


LIMIT = "core multiply-add limit (FMA loop)"
DGEMM = f"OpenBLAS dgemm {DGEMM_SIDE}^3, in cache"


def print_flop_table(medians: dict[str, float], reference: str, flops: int) -> None:
    """print_table with each row's GFLOP/s (``flops`` a step) and its fraction of the LIMIT row's."""
    limit = flops / medians[LIMIT] * 1e-3
    print(f"| {'implementation':<42} | {'us/step':>9} | {'speed-up':>8} | {'GFLOP/s':>7} | {'of limit':>8} |")
    print(f"|{'-' * 44}|{'-' * 11}|{'-' * 10}|{'-' * 9}|{'-' * 10}|")
    for name, med in medians.items():
        rate = flops / med * 1e-3
        print(f"| {name:<42} | {med:9.2f} | {medians[reference] / med:7.1f}x | {rate:7.1f} | {rate / limit:7.0%} |")


def _batches(case, k):
    b = case.config.batch_size
    return None if b is None else BatchSampler(len(case.x), b, np.random.default_rng(0)).take(k)


def _mlpcore_row(case, backend_name):
    def run(k):
        cfg = case.config.replace(backend=backend_name)
        layout = layout_for(cfg, 1, 1)
        backend = make_backend(cfg, Network(cfg, layout, init_params(cfg, layout, np.random.default_rng(0))))
        backend.run(case.x, case.y, _batches(case, 10), 10, np.inf)  # warm up (and compile, for numba)
        batches = _batches(case, k)
        t0 = time.perf_counter()
        backend.run(case.x, case.y, batches, k, np.inf)
        return time.perf_counter() - t0

    return run


# --- other libraries, each as its users would write the same training ------------------------------------


def _sklearn_row(case):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    cfg, n = case.config, len(case.x)
    batch = cfg.batch_size or n

    def run(k):
        epochs = max(1, k * batch // n)  # one epoch is n / batch steps
        model = MLPRegressor(hidden_layer_sizes=cfg.hidden, activation={"sigmoid": "logistic"}.get(cfg.activation,
                             cfg.activation), solver=cfg.optimizer, learning_rate_init=cfg.lr, batch_size=batch,
                             momentum=0.0, alpha=0.0, max_iter=epochs, shuffle=False, tol=0.0,
                             n_iter_no_change=epochs + 1, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            model.fit(case.x, case.y.ravel())
            seconds = time.perf_counter() - t0
        return seconds * k / (epochs * n // batch)

    return run


def _torch_row(case):
    import torch

    torch.set_num_threads(1)
    cfg = case.config
    x, y = torch.tensor(case.x), torch.tensor(case.y)
    act = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[cfg.activation]
    sizes = (1, *cfg.hidden, 1)

    def run(k):
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(fan_in, fan_out, bias=cfg.bias, dtype=torch.float64), act()]
        model = torch.nn.Sequential(*layers[:-1])
        opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[cfg.optimizer](model.parameters(), lr=cfg.lr)
        rows = None if cfg.batch_size is None else torch.tensor(_batches(case, k))
        t0 = time.perf_counter()
        for i in range(k):
            xb, yb = (x, y) if rows is None else (x[rows[i]], y[rows[i]])
            opt.zero_grad()
            loss = torch.mean((model(xb) - yb) ** 2)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    return run


def _jax_row(case):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    cfg = case.config
    act = {"relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh}[cfg.activation]
    sizes = (1, *cfg.hidden, 1)
    x, y = jnp.asarray(case.x), jnp.asarray(case.y)

    def loss(params, xb, yb):
        h = xb
        for l, layer in enumerate(params):
            h = h @ layer[0] + layer[1] if cfg.bias else h @ layer[0]
            if l < len(params) - 1:
                h = act(h)
        return jnp.mean((h - yb) ** 2)

    grad = jax.grad(loss)

    def step(i, state):
        params, m, v, rows = state
        xb, yb = (x, y) if rows is None else (x[rows[i]], y[rows[i]])
        g = grad(params, xb, yb)
        if cfg.optimizer == "sgd":
            return jax.tree.map(lambda p, gp: p - cfg.lr * gp, params, g), m, v, rows
        t = i + 1
        m = jax.tree.map(lambda a, gp: 0.9 * a + 0.1 * gp, m, g)
        v = jax.tree.map(lambda a, gp: 0.999 * a + 0.001 * gp * gp, v, g)
        params = jax.tree.map(lambda p, a, s: p - cfg.lr * (a / (1 - 0.9**t)) / (jnp.sqrt(s / (1 - 0.999**t)) + 1e-8),
                              params, m, v)
        return params, m, v, rows

    @jax.jit
    def train(params, rows, k):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return jax.lax.fori_loop(0, k, step, (params, zeros, zeros, rows))[0]

    rng = np.random.default_rng(0)
    params = [(jnp.asarray(rng.standard_normal((a, b)) * 0.1), jnp.zeros(b))[: 2 if cfg.bias else 1]
              for a, b in zip(sizes[:-1], sizes[1:])]

    def run(k):
        rows = None if cfg.batch_size is None else jnp.asarray(_batches(case, k))
        jax.block_until_ready(train(params, rows, k))  # compile: the batches' shape is part of the trace
        t0 = time.perf_counter()
        jax.block_until_ready(train(params, rows, k))
        return time.perf_counter() - t0

    return run


LIBRARIES = {"sklearn": ("scikit-learn MLPRegressor", _sklearn_row), "torch": ("PyTorch eager (CPU)", _torch_row),
             "jax": ("JAX jit + lax.fori_loop", _jax_row)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a tenth of the steps, for a smoke run")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time each row by this process's CPU time, not the wall clock (on a machine shared with other "
                         "work, the wall clock counts the waits for a core)")
    ap.add_argument("--only", default="", help="only the networks whose title contains this")
    args = ap.parse_args()
    if args.cpu_time:
        time.perf_counter = time.process_time  # the rows call time.perf_counter
    scale = 10 if args.quick else 1
    cases = [case for case in (make(steps // scale) for make, steps in zip(CASES, STEPS)) if args.only in case.title]
    for module, (label, make_row) in LIBRARIES.items():
        if _optional(module) is not None:
            for case in cases:
                case.rows[label] = make_row(case)
    for case in cases:
        if hasattr(case, "flops"):
            case.rows[LIMIT], case.rows[DGEMM] = _limit_row(case), _dgemm_row(case)
        medians = us_per_step(case.rows, (), case.steps, args.repeats)
        print(f"\n{case.title}; {case.steps} steps, median of {args.repeats}; speed-up over: {case.reference}")
        if hasattr(case, "flops"):
            print(f"{case.flops / 1e6:.2f} MFLOP a step in its matrix products (a multiply-add counted as 2)")
            print_flop_table(medians, case.reference, case.flops)
        else:
            print_table(medians, case.reference)
    print(f"\n{blas_line()}")


def blas_line() -> str:
    """Which BLAS kernels the rows ran on: OpenBLAS picks them for the CPU when it loads, unless
    OPENBLAS_CORETYPE pins them (JAX and PyTorch bring their own)."""
    from threadpoolctl import threadpool_info

    libraries = ", ".join(f"{os.path.basename(os.path.dirname(lib['filepath']))} {lib['internal_api']} "
                          f"{lib['version']} ({lib.get('architecture') or '?'})"
                          for lib in threadpool_info() if lib["user_api"] == "blas")
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    return f"BLAS: {libraries}; OPENBLAS_CORETYPE {'= ' + pinned if pinned else 'unset (OpenBLAS picks for the CPU)'}"


if __name__ == "__main__":
    main()

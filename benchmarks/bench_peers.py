"""The default sqrt sweep against what a user would run instead: Optuna + scikit-learn, Optuna + PyTorch.

    pip install -e ".[bench]" && python benchmarks/bench_peers.py [--rounds 3] [--trials 120] [--repeats 3]

Three setups, interleaved over ``--rounds`` rounds (ours, scikit-learn, PyTorch, then again), each a sweep of
the sqrt study's data of ``--trials`` trials, each trial trained from ``--repeats`` seeds and scored by the
median, on 2 processes or threads:

- ours: ``python -m sweeps run sqrt --no-explain --no-report --jobs 2`` (its own process, as a user runs it);
- scikit-learn: Optuna's multivariate TPE (seeded) over ``MLPRegressor``, ``study.optimize(n_jobs=2)`` (threads);
- PyTorch: the same, over a small MLP (``nn.Sequential`` of Linear + activation), one torch thread a training.

Reported per setup: wall time (median over rounds, and its ratio to ours), best value, and the share of trials
whose median training fits (the project's own classifier, ``mlpcore.diagnostics``, on the held-out rows).

Every difference between the setups, stated:

- The objective is the same for all: held-out MSE over the variance of the held-out target, on the same split.
- Ours searches 14 settings (sweeps.space, incl. init, init scale, output activation, bias, momentum); the peers
  search the 9 that MLPRegressor also has: lr, width, depth, activation (tanh, relu, logistic), x and y scaling
  (none or standard), optimizer (adam or sgd with momentum 0.9), batch (full or 32), weight decay (alpha).
- Ours draws its first 32 trials at random, then TPE (16 startup), keeping 16 trials in flight; the peers use
  Optuna's TPE with 16 startup trials and 2 in flight (n_jobs=2), from the same seed.
- Ours trains 1000 steps with its own early stop (patience); MLPRegressor trains ``max_iter=1000`` epochs, with
  its default stop (``tol=1e-4``, ``n_iter_no_change=10``: often a few hundred updates); the PyTorch MLP trains
  1000 steps without early stop. A batch of 32 is one step in ours and PyTorch, one epoch's worth in sklearn.
- Ours runs its trainings in 2 worker processes (compiled kernel); the peers in 2 threads of one process
  (MLPRegressor and torch release the GIL in their matrix products only).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

import studies
from mlpcore import diagnostics

SPACE = {
    "lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True),
    "width": optuna.distributions.IntDistribution(1, 128, log=True),
    "depth": optuna.distributions.IntDistribution(1, 3),
    "activation": optuna.distributions.CategoricalDistribution(["tanh", "relu", "logistic"]),
    "x_scaling": optuna.distributions.CategoricalDistribution(["none", "standard"]),
    "y_scaling": optuna.distributions.CategoricalDistribution(["none", "standard"]),
    "optimizer": optuna.distributions.CategoricalDistribution(["adam", "sgd"]),
    "batch": optuna.distributions.CategoricalDistribution(["full", "32"]),
    "alpha": optuna.distributions.FloatDistribution(1e-7, 1e-2, log=True),
}
STEPS = 1000


def _scaled(p, data):
    """(x_train, y_train, x_val, y back-transform) as the trial's scaling asks."""
    x_mu, x_sd = (data.x_train.mean(), data.x_train.std()) if p["x_scaling"] == "standard" else (0.0, 1.0)
    y_mu, y_sd = (data.y_train.mean(), data.y_train.std()) if p["y_scaling"] == "standard" else (0.0, 1.0)
    return ((data.x_train.reshape(-1, 1) - x_mu) / x_sd, (data.y_train - y_mu) / y_sd,
            (data.x_val.reshape(-1, 1) - x_mu) / x_sd, lambda y: y * y_sd + y_mu)


def train_sklearn(p, data, seed):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    x, y, xv, back = _scaled(p, data)
    model = MLPRegressor(hidden_layer_sizes=(p["width"],) * p["depth"], activation=p["activation"],
                         solver=p["optimizer"], learning_rate_init=p["lr"], alpha=p["alpha"], momentum=0.9,
                         batch_size=len(x) if p["batch"] == "full" else 32, max_iter=STEPS, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            model.fit(x, y)
            return back(model.predict(xv))
        except (ValueError, FloatingPointError):  # diverged to non-finite values
            return np.full(len(xv), np.nan)


def train_torch(p, data, seed):
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x, y, xv, back = _scaled(p, data)
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "logistic": torch.nn.Sigmoid}[p["activation"]]
    layers, fan_in = [], 1
    for _ in range(p["depth"]):
        layers += [torch.nn.Linear(fan_in, p["width"]), act()]
        fan_in = p["width"]
    net = torch.nn.Sequential(*layers, torch.nn.Linear(fan_in, 1)).double()
    opt = (torch.optim.Adam(net.parameters(), lr=p["lr"], weight_decay=p["alpha"]) if p["optimizer"] == "adam"
           else torch.optim.SGD(net.parameters(), lr=p["lr"], momentum=0.9, weight_decay=p["alpha"]))
    xt, yt = torch.tensor(x), torch.tensor(y).reshape(-1, 1)
    gen = np.random.default_rng(seed)
    for _ in range(STEPS):
        idx = slice(None) if p["batch"] == "full" else gen.choice(len(x), 32, replace=False)
        opt.zero_grad()
        loss = torch.mean((net(xt[idx]) - yt[idx]) ** 2)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return back(net(torch.tensor(xv)).numpy().ravel())


def score(pred, data, metrics):
    """(objective, mode) of held-out predictions, as the project scores a training."""
    var_y = float(np.var(data.y_val))
    if not np.all(np.isfinite(pred)):
        return 10.0, "diverged"
    m = metrics | diagnostics.prediction_metrics(pred, data.x_val.reshape(-1, 1), data.y_val, metrics)
    return float(min(np.mean((pred - data.y_val) ** 2) / var_y, 10.0)), diagnostics.classify(m, False)


def _suggest(trial, name, d):
    if isinstance(d, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, d.choices)
    if isinstance(d, optuna.distributions.IntDistribution):
        return trial.suggest_int(name, d.low, d.high, log=d.log)
    return trial.suggest_float(name, d.low, d.high, log=d.log)


def peer(train, trials: int, repeats: int, seed: int) -> tuple[float, float, float]:
    """(wall seconds, best value, share of trials that fit) of a peer's sweep."""
    data = studies.get("sqrt").data()
    metrics = diagnostics.data_metrics(data.x_train.reshape(-1, 1), data.y_train, data.x_val.reshape(-1, 1),
                                       data.y_val)
    modes = []

    def objective(trial):
        p = {k: _suggest(trial, k, d) for k, d in SPACE.items()}
        runs = sorted(score(train(p, data, seed * 1000 + trial.number * 10 + r), data, metrics) for r in range(repeats))
        value, mode = runs[(repeats - 1) // 2]
        modes.append(mode)
        return value

    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=16, multivariate=True)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials, n_jobs=2)
    return time.perf_counter() - t0, study.best_value, float(np.mean([m == "fit" for m in modes]))


def ours(trials: int, repeats: int, seed: int, out: Path) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sweeps", "run", "sqrt", "--no-explain", "--no-report", "--jobs", "2",
                    "--trials", str(trials), "--repeats", str(repeats), "--seed", str(seed), "--out", str(out)],
                   check=True, capture_output=True)
    wall = time.perf_counter() - t0
    from sweeps.results.handle import open_sweep
    from sweeps.results.reading import complete_trials

    done = complete_trials(open_sweep("sqrt", out=out).study)
    return wall, min(t.value for t in done), float(np.mean([t.user_attrs.get("mode") == "fit" for t in done]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a benchmark's own process: its output is the table
    results: dict[str, list] = {"ours": [], "scikit-learn": [], "pytorch": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            results["ours"].append(ours(args.trials, args.repeats, 0, Path(tmp) / f"ours{r}"))
            results["scikit-learn"].append(peer(train_sklearn, args.trials, args.repeats, 0))
            results["pytorch"].append(peer(train_torch, args.trials, args.repeats, 0))
            print(f"round {r + 1}: " + "; ".join(f"{k} {v[-1][0]:.0f} s" for k, v in results.items()), flush=True)
    base = statistics.median(w for w, _, _ in results["ours"])
    print(f"{'setup':<14} {'wall s (median)':>16} {'x ours':>7} {'best value':>11} {'fit share':>10}")
    for name, runs in results.items():
        wall = statistics.median(w for w, _, _ in runs)
        print(f"{name:<14} {wall:>16.1f} {wall / base:>7.2f} {min(b for _, b, _ in runs):>11.4g} "
              f"{statistics.median(s for _, _, s in runs):>10.0%}")


if __name__ == "__main__":
    main()

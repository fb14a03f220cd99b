"""fit(): check the data, scale it, train, record the learning curve, stop early, diagnose.

The training loop runs in segments between curve checkpoints. A segment is the unit a
backend runs: the NumPy reference here, or the compiled kernel (`kernels.py`) with the
same math, the same batches and the same stopping rule.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mlpcore.config import MLPConfig
from mlpcore import diagnostics
from mlpcore.diagnostics import Diagnosis, diagnose
from mlpcore.model import Model
from mlpcore.network import Network, init_params, layout_for
from mlpcore.optim import OPTIMIZERS
from mlpcore.scaling import Scaler

CHECKPOINTS = 100
"""The curve holds the loss at about this many evenly spaced steps (plus step 0)."""

EXPLODED_LOSS_RATIO = 1e4
"""A step's loss above this many times max(initial loss, loss of predicting 0) is divergence.

Both references are in scaled units; 1e4 is far above any noise of a mini-batch loss, and
far below the overflow that would follow a few steps later.
"""

PLATEAU_TOL = 1e-3
"""With ``patience`` set, a checkpoint counts as progress when the training loss drops by this fraction."""

CALLBACK_STOP = "callback"
"""TrainResult.stopped when the checkpoint callback stopped training without naming a reason."""
FIT_STOP = "fit"
"""TrainResult.stopped when ``stop_when_fit`` ended training at the first checkpoint whose diagnosis is ``fit``."""
_OWN_REASONS = ("steps", "diverged", "plateau", FIT_STOP)

OnCheckpoint = Callable[[int, np.ndarray, np.ndarray], "bool | str | None"]
"""fit()'s checkpoint callback: (step, train losses so far, validation losses so far) -> stop?"""


@dataclass(frozen=True)
class Curve:
    """Learning curve: training and validation MSE (in the target's units) at checkpoint steps."""

    steps: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray

    def to_dict(self) -> dict:
        return {k: getattr(self, k).tolist() for k in ("steps", "train_loss", "val_loss")}

    @classmethod
    def from_dict(cls, d: dict) -> "Curve":
        return cls(np.asarray(d["steps"], dtype=int), np.asarray(d["train_loss"]), np.asarray(d["val_loss"]))


@dataclass(frozen=True)
class TrainResult:
    model: Model
    curve: Curve
    diagnosis: Diagnosis
    steps_done: int
    seconds: float
    backend: str
    stopped: str
    """Why training ended: "steps" (budget spent), "diverged", "plateau", "fit" (``stop_when_fit``), or the
    reason the checkpoint callback gave (see :func:`fit`)."""
    info: dict = field(default_factory=dict)


# --- data checks -------------------------------------------------------------------------


def as_matrix(name: str, a, *, n_cols: int | None = None) -> tuple[np.ndarray, bool]:
    """``a`` as a finite float64 (n, d) array, and whether it was given 1-D. ValueError otherwise."""
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(a).__name__}") from None
    flat = arr.ndim == 1
    if flat:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n,) or (n, d), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one sample is needed")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad.any(axis=1)))
        raise ValueError(f"{name} must be finite, got {arr[i].tolist()} at row {i} ({int(bad.sum())} non-finite values)")
    if n_cols is not None and arr.shape[1] != n_cols:
        raise ValueError(f"{name} must have {n_cols} column(s) like the training data, got {arr.shape[1]}")
    return arr, flat


def check_pair(xname: str, x, yname: str, y, *, like: tuple[np.ndarray, np.ndarray] | None = None):
    """Validate inputs and targets together: (x2, y2, y_was_1d)."""
    x2, _ = as_matrix(xname, x, n_cols=None if like is None else like[0].shape[1])
    y2, flat = as_matrix(yname, y, n_cols=None if like is None else like[1].shape[1])
    if len(x2) != len(y2):
        raise ValueError(f"{xname} and {yname} must have the same length, got {len(x2)} and {len(y2)}")
    return x2, y2, flat


# --- batches -----------------------------------------------------------------------------


class BatchSampler:
    """Shuffled mini-batches: each epoch a fresh permutation cut into n // b batches of b.

    A partial last batch is dropped so every step sees exactly b samples (and the compiled
    kernel a rectangular index array).
    """

    def __init__(self, n: int, batch_size: int, rng: np.random.Generator):
        self.n, self.b, self.rng = n, batch_size, rng
        self.per_epoch = n // batch_size
        self.pending = np.empty((0, batch_size), dtype=np.int64)

    def take(self, k: int) -> np.ndarray:
        """Indices of the next ``k`` batches, shape (k, b)."""
        while len(self.pending) < k:
            epochs = -(-(k - len(self.pending)) // self.per_epoch)
            fresh = [self.rng.permutation(self.n)[: self.per_epoch * self.b] for _ in range(epochs)]
            self.pending = np.concatenate([self.pending, np.concatenate(fresh).reshape(-1, self.b)])
        out, self.pending = self.pending[:k], self.pending[k:]
        return out


def checkpoint_steps(steps: int) -> np.ndarray:
    """Step 0 and about CHECKPOINTS evenly spaced steps up to ``steps``, unique and increasing."""
    return np.unique(np.round(np.linspace(0, steps, CHECKPOINTS + 1)).astype(np.int64))


# --- the NumPy reference backend ------------------------------------------------------------


class NumpyBackend:
    """Runs training segments with :class:`Network` and an optimizer from `optim.py`."""

    name = "numpy"

    def __init__(self, config: MLPConfig, net: Network):
        self.net = net
        self.opt = OPTIMIZERS[config.optimizer]([net.theta], lr=config.lr, momentum=config.momentum)

    def mse(self, x: np.ndarray, y: np.ndarray, y_scaler: Scaler) -> float:
        """The loss of the curve: see Network.mse."""
        return self.net.mse(x, y, y_scaler)

    def run(self, x: np.ndarray, y: np.ndarray, batches: np.ndarray | None, k: int, limit: float) -> int:
        """Take up to ``k`` steps; return how many were taken before a loss broke ``limit`` (or k).

        ``batches`` is None for full batch, else (k, b) indices into x and y.
        """
        net, opt = self.net, self.opt
        params, grads = [net.theta], [net.grad]
        with np.errstate(all="ignore"):  # overflow is caught as divergence below, not warned about
            for i in range(k):
                if batches is None:
                    loss = net.loss_and_grad(x, y)
                else:
                    idx = batches[i]
                    loss = net.loss_and_grad(x[idx], y[idx])
                if not loss <= limit:  # also catches NaN
                    return i
                opt.step(params, grads)
        return k


def make_backend(config: MLPConfig, net: Network):
    """The backend ``config.backend`` asks for; ``auto`` takes the compiled kernel, or NumPy with a
    RuntimeWarning saying why when numba does not import (it is a required dependency)."""
    if config.backend in ("auto", "numba"):
        try:
            from mlpcore.kernels import KernelBackend
        except ImportError as e:
            if config.backend == "numba":
                raise ValueError(f"backend 'numba' needs a working numba, and importing the kernel failed: {e}; "
                                 f"pip install numba, or use backend='numpy'") from e
            warnings.warn(f"backend 'auto' runs on NumPy, slower: importing the numba kernel failed: {e}",
                          RuntimeWarning, stacklevel=3)
        else:
            while _FIRST_KERNEL_RUN:  # once per process (taken off first: the hook itself fits)
                _FIRST_KERNEL_RUN.pop(0)()
            return KernelBackend(config, net)
    return NumpyBackend(config, net)


_FIRST_KERNEL_RUN: list[Callable[[], object]] = []
"""What runs once per process before its first fit on the compiled kernel: ``mlpcore.warmup`` adds its warm-up
(load the cached kernel, or say so and compile it). warmup fits, so it sits above this module and adds itself."""


def before_first_kernel_run(hook: Callable[[], object]) -> None:
    """Run ``hook`` once, before this process's first fit on the compiled kernel."""
    _FIRST_KERNEL_RUN.append(hook)


# --- fit -------------------------------------------------------------------------------------


def fit(config: MLPConfig, x, y, *, x_val=None, y_val=None, on_checkpoint: OnCheckpoint | None = None,
        stop_when_fit: bool = False) -> TrainResult:
    """Train an MLP on (x, y) and diagnose the result.

    Parameters
    ----------
    config : MLPConfig
    x : array of shape (n,) or (n, n_in)
    y : array of shape (n,) or (n, n_out)
    x_val, y_val : optional validation data of the same kind; the training data when omitted.
        Diagnosis and the validation curve use them.
    on_checkpoint : optional callable ``(step, train_loss, val_loss) -> stop``, called at every checkpoint
        of the curve (step 0 included, after a diverged one never), with the curve's losses so far as
        read-only (k,) arrays, the last one at ``step``. A falsy return goes on; a non-empty string
        stops training there and is the result's ``stopped`` (e.g. "pruned"); any other truthy value
        stops it as ``CALLBACK_STOP``. The curve then ends at that checkpoint.
    stop_when_fit : end training at the first checkpoint where the net is ``fit`` (its diagnosis then is
        ``fit``, and ``stopped`` is "fit"): how long a config takes to fit, without the steps after it.

    Returns
    -------
    TrainResult
        ``model`` predicts in y's units; ``curve`` holds train and validation MSE at about
        100 checkpoints; ``diagnosis`` names the failure mode with metrics and hints.
    """
    if not isinstance(config, MLPConfig):
        raise ValueError(f"config must be an MLPConfig, got {type(config).__name__}")
    t0 = time.perf_counter()
    x2, y2, flat = check_pair("x", x, "y", y)
    if (x_val is None) != (y_val is None):
        raise ValueError("x_val and y_val must be given together (or both omitted)")
    if x_val is None:
        xv, yv = x2, y2
    else:
        xv, yv, _ = check_pair("x_val", x_val, "y_val", y_val, like=(x2, y2))

    x_scaler, y_scaler = Scaler.fit(config.x_scaling, x2), Scaler.fit(config.y_scaling, y2)
    xt, yt = x_scaler.transform(x2), y_scaler.transform(y2)
    rng = np.random.default_rng(config.seed)
    layout = layout_for(config, x2.shape[1], y2.shape[1])
    theta = init_params(config, layout, rng)
    net = Network(config, layout, theta)
    model = Model(config, layout, theta, x_scaler, y_scaler, flat)
    backend = make_backend(config, net)

    full_batch = config.batch_size is None or config.batch_size >= len(x2)
    sampler = None if full_batch else BatchSampler(len(x2), config.batch_size, rng)
    with np.errstate(all="ignore"):
        limit = EXPLODED_LOSS_RATIO * max(net.objective(xt, yt), float(np.mean(yt * yt)), np.finfo(float).tiny)

    xvt = xt if xv is x2 else x_scaler.transform(xv)
    data = diagnostics.data_metrics(x2, y2, xv, yv) if stop_when_fit else None
    fit_bound = diagnostics.fit_mse(data) * (1.0 + 1e-9) if stop_when_fit else -np.inf  # the curve's MSE may differ
    # from the diagnosis's in the last bits: the bound only says when to ask, the diagnosis decides

    def losses() -> tuple[float, float]:
        return backend.mse(xt, y2, y_scaler), backend.mse(xvt, yv, y_scaler)

    steps, train_curve, val_curve = [0], *zip(losses())
    train_curve, val_curve = list(train_curve), list(val_curve)
    done, stopped, best, stale = 0, "steps", train_curve[0], 0
    if not np.isfinite(limit):
        stopped = "diverged"  # the initial loss itself overflowed
    elif on_checkpoint is not None:
        stopped = _callback_stop(on_checkpoint, 0, train_curve, val_curve) or stopped
    for target in checkpoint_steps(config.steps)[1:] if stopped == "steps" else []:
        k = int(target) - done
        taken = backend.run(xt, yt, None if sampler is None else sampler.take(k), k, limit)
        done += taken
        tr, va = losses()
        if taken:  # no step taken: the parameters, and so the losses, are those of the last checkpoint
            steps.append(done)
            train_curve.append(tr)
            val_curve.append(va)
        if taken < k or not np.isfinite(tr):
            stopped = "diverged"
            break
        if va <= fit_bound and diagnostics.fits_now(model, xv, yv, data):
            stopped = FIT_STOP
            break
        if on_checkpoint is not None:
            reason = _callback_stop(on_checkpoint, done, train_curve, val_curve)
            if reason:
                stopped = reason
                break
        if config.patience is not None:
            if tr < best * (1.0 - PLATEAU_TOL):
                best, stale = tr, 0
            else:
                stale += 1
                if stale >= config.patience:
                    stopped = "plateau"
                    break

    curve = Curve(np.asarray(steps, dtype=np.int64), np.asarray(train_curve), np.asarray(val_curve))
    diagnosis = diagnose(model, x2, y2, xv, yv, curve=curve, diverged=stopped == "diverged")
    return TrainResult(model, curve, diagnosis, done, time.perf_counter() - t0, backend.name, stopped)


def _callback_stop(on_checkpoint: OnCheckpoint, step: int, train_curve: list, val_curve: list) -> str | None:
    """Call the checkpoint callback; the stop reason it gives, or None to go on."""
    train, val = np.array(train_curve), np.array(val_curve)
    train.flags.writeable = val.flags.writeable = False
    answer = on_checkpoint(step, train, val)
    if not answer:
        return None
    if isinstance(answer, str):
        if answer in _OWN_REASONS:
            raise ValueError(f"the checkpoint callback's stop reason {answer!r} is one of fit's own "
                             f"{list(_OWN_REASONS)}; name it otherwise (e.g. 'pruned')")
        return answer
    return CALLBACK_STOP

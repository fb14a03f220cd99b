"""The compiled training loop: `network.py` + `optim.py` + `NumpyBackend.run`, fused by Numba.

Why a second implementation: a sweep is thousands of small trainings, and at the seed
problems' size (n = 500, width 10) NumPy spends a step mostly on per-call overhead. Here one
call runs a whole curve segment in one compiled loop, with every buffer allocated once.

Layout: the buffers are *feature-major*, the transpose of network.py's batch-first arrays:
row ``o`` of ``acts[l]`` holds unit ``o``'s activation for every sample of the batch. Every
inner loop then runs over samples, contiguous, and LLVM vectorizes it; the loops over units
and layers are short and stay outside.

Rounding: elementwise math (activations, the loss, the optimizers) follows the NumPy
reference operation for operation, in IEEE order. The sums that NumPy hands to BLAS (the
products ``A @ W``, ``A.T @ delta``, ``delta @ W.T`` and the bias column sums) are compiled
with ``reassoc`` and ``contract`` (see ``BLAS_MATH``), so LLVM may split and fuse them as BLAS
itself does. The two differ by rounding only; the parity tests hold them to 1e-9 over 1000
steps. Never ``fastmath=True``: it assumes no NaN or inf, and divergence *is* NaN and inf.

Where the compiled code is cached: ``cache=True`` writes to ``__pycache__`` beside this file
when that folder is writable (an editable install), else to numba's per-user cache folder
(``~/.cache/numba`` on Linux); ``NUMBA_CACHE_DIR`` overrides both. joblib's loky workers are
fresh processes and load the same cache, so a sweep compiles once per machine, not per worker.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from mlpcore.activations import ACTIVATIONS, LEAKY_SLOPE
from mlpcore.config import MLPConfig
from mlpcore.losses import LOSSES
from mlpcore.network import Network
from mlpcore.optim import ADAM_BETA1, ADAM_BETA2, ADAM_EPS, OPTIMIZERS

# Kernel codes are literals, not an enumeration of the tables: numba's on-disk cache is keyed on
# this file alone, so a code must not move when another module gains an entry.
IDENTITY, RELU, LEAKY_RELU, ELU, TANH, SIGMOID, SOFTPLUS = range(7)
SGD, MOMENTUM, ADAM = range(3)
_ACTIVATION_KERNELS = {"identity": IDENTITY, "relu": RELU, "leaky_relu": LEAKY_RELU, "elu": ELU, "tanh": TANH,
                       "sigmoid": SIGMOID, "softplus": SOFTPLUS}
_OPTIMIZER_KERNELS = {"sgd": SGD, "momentum": MOMENTUM, "adam": ADAM}
_LOSS_KERNELS = ("mse",)

ACTIVATION_CODES = {name: _ACTIVATION_KERNELS[name] for name in ACTIVATIONS if name in _ACTIVATION_KERNELS}
"""Name -> kernel code, for every entry of ``activations.ACTIVATIONS`` the kernel implements."""
OPTIMIZER_CODES = {name: _OPTIMIZER_KERNELS[name] for name in OPTIMIZERS if name in _OPTIMIZER_KERNELS}
"""Name -> kernel code, for every entry of ``optim.OPTIMIZERS`` the kernel implements."""

BLAS_MATH = {"reassoc", "contract"}
"""Fast-math flags of the sums NumPy does in BLAS: reorder and fuse, but keep NaN and inf exact."""


def kernel_code(field: str, name: str, codes: dict[str, int]) -> int:
    """The kernel's code for ``name``; a ValueError naming the field when the kernel lacks it."""
    try:
        return codes[name]
    except KeyError:
        raise ValueError(f"{field} {name!r} has no compiled kernel; the numba backend runs {sorted(codes)}; "
                         f"use backend='numpy'") from None


class Hyper(NamedTuple):
    """Numbers the kernel takes at run time rather than freezing them, so the cache never goes stale."""

    lr: float
    momentum: float
    weight_decay: float
    leaky_slope: float
    beta1: float
    beta2: float
    eps: float


# --- the sums NumPy does in BLAS ------------------------------------------------------------------
# Buffers are passed whole with row indices, never as row views: a view costs two atomic
# reference-count updates, and a step makes dozens of them.


@njit(cache=True, fastmath=BLAS_MATH)
def _preactivation(z, acts, l, theta, w0, fan_in, fan_out, o):
    """z = (A @ W)[:, o] for unit o of layer l (no bias): one row of NumPy's ``np.dot(acts[l], W)``."""
    w = theta[w0 + o]
    for s in range(z.shape[0]):
        z[s] = w * acts[l, 0, s]
    for j in range(1, fan_in):
        w = theta[w0 + j * fan_out + o]
        for s in range(z.shape[0]):
            z[s] += w * acts[l, j, s]


@njit(cache=True, fastmath=BLAS_MATH)
def _weight_grads(grad, acts, l, deltas, cur, w0, b0, fan_in, fan_out, bias, b):
    """grad of W (acts[l].T @ delta) and of b (delta's column sums) of layer l."""
    for o in range(fan_out):
        if bias:
            total = 0.0
            for s in range(b):
                total += deltas[cur, o, s]
            grad[b0 + o] = total
        for j in range(fan_in):
            total = 0.0
            for s in range(b):
                total += acts[l, j, s] * deltas[cur, o, s]
            grad[w0 + j * fan_out + o] = total


@njit(cache=True, fastmath=BLAS_MATH)
def _backprop(deltas, cur, below, theta, w0, fan_in, fan_out, b):
    """deltas[below] = deltas[cur] @ W.T: d loss / d acts of layer l (before the slope of f)."""
    for j in range(fan_in):
        w = theta[w0 + j * fan_out]
        for s in range(b):
            deltas[below, j, s] = w * deltas[cur, 0, s]
        for o in range(1, fan_out):
            w = theta[w0 + j * fan_out + o]
            for s in range(b):
                deltas[below, j, s] += w * deltas[cur, o, s]


@njit(cache=True, fastmath=BLAS_MATH)
def _sum_squares(deltas, cur, n_out, b):
    """vdot(r, r) of the residuals held in deltas[cur]."""
    total = 0.0
    for o in range(n_out):
        for s in range(b):
            total += deltas[cur, o, s] * deltas[cur, o, s]
    return total


# --- elementwise math, as activations.py and losses.py write it ----------------------------------


@njit(cache=True)
def _activate(code, z, bias, acts, slopes, l, o, leaky_slope):
    """acts[l + 1, o] = f(z + bias) and slopes[l, o] = f'(z + bias), the factor backward multiplies by."""
    n = z.shape[0]
    if code == IDENTITY:
        for s in range(n):
            acts[l + 1, o, s] = z[s] + bias
    elif code == RELU:
        for s in range(n):
            zs = z[s] + bias
            acts[l + 1, o, s] = zs if not zs <= 0.0 else 0.0  # np.maximum: NaN passes through
            slopes[l, o, s] = 1.0 if zs > 0.0 else 0.0
    elif code == LEAKY_RELU:
        for s in range(n):
            zs = z[s] + bias
            acts[l + 1, o, s] = zs if zs > 0.0 else leaky_slope * zs
            slopes[l, o, s] = 1.0 if zs > 0.0 else leaky_slope
    elif code == ELU:
        for s in range(n):
            zs = z[s] + bias
            # where z <= 0 (or NaN), np.minimum(z, 0) is z itself
            acts[l + 1, o, s] = zs if zs > 0.0 else math.expm1(zs)
            slopes[l, o, s] = 1.0 if zs > 0.0 else acts[l + 1, o, s] + 1.0
    elif code == TANH:
        for s in range(n):
            t = math.tanh(z[s] + bias)
            acts[l + 1, o, s] = t
            slopes[l, o, s] = 1.0 - t * t
    elif code == SIGMOID:
        for s in range(n):
            g = 0.5 * (1.0 + math.tanh(0.5 * (z[s] + bias)))
            acts[l + 1, o, s] = g
            slopes[l, o, s] = g * (1.0 - g)
    elif code == SOFTPLUS:
        for s in range(n):
            zs = z[s] + bias
            acts[l + 1, o, s] = (zs if not zs <= 0.0 else 0.0) + math.log1p(math.exp(-abs(zs)))
            slopes[l, o, s] = 0.5 * (1.0 + math.tanh(0.5 * zs))


@njit(cache=True)
def _times_slope(deltas, cur, slopes, l, rows, b):
    """deltas[cur] *= slopes[l]: from d loss / d acts to d loss / d z."""
    for o in range(rows):
        for s in range(b):
            deltas[cur, o, s] = deltas[cur, o, s] * slopes[l, o, s]


# --- the optimizers, as optim.py writes them ---------------------------------------------------


@njit(cache=True)
def _update(code, theta, grad, state, t, hp):
    """One optimizer step on theta in place; ``state`` rows are (velocity or m, s); t counts Adam steps."""
    lr = hp.lr
    if code == SGD:
        for p in range(theta.shape[0]):
            theta[p] -= lr * grad[p]
    elif code == MOMENTUM:
        for p in range(theta.shape[0]):
            state[0, p] = state[0, p] * hp.momentum + grad[p]
            theta[p] -= lr * state[0, p]
    else:
        c1 = 1.0 - math.pow(hp.beta1, float(t))  # math.pow, as Python's float ** int
        c2 = 1.0 - math.pow(hp.beta2, float(t))
        for p in range(theta.shape[0]):
            g = grad[p]
            state[0, p] = state[0, p] * hp.beta1 + (1.0 - hp.beta1) * g
            state[1, p] = state[1, p] * hp.beta2 + (1.0 - hp.beta2) * (g * g)
            theta[p] -= lr * (state[0, p] / c1) / (math.sqrt(state[1, p] / c2) + hp.eps)


# --- one training segment ------------------------------------------------------------------------


@njit(cache=True)
def train_steps(theta, state, t, x, y, batches, k, limit, sizes, offsets, bias, hidden, output, optimizer, hp):
    """Take up to ``k`` steps on ``theta`` in place; return how many before a loss broke ``limit``.

    Parameters
    ----------
    theta : (P,) parameters in network.Layout order; state : (2, P) optimizer state, kept by the caller
    t : Adam steps taken before this call
    x, y : (n, n_in) and (n, n_out) training data
    batches : (m, b) sample indices; step i uses ``batches[i]``, or ``batches[0]`` for every step when m = 1
    sizes : (depth + 1,) layer widths; offsets : (depth, 3) network.Layout.offsets()
    hidden, output, optimizer : kernel codes; hp : Hyper
    """
    depth = sizes.shape[0] - 1
    n_in, n_out = sizes[0], sizes[depth]
    width = sizes.max()
    m, b = batches.shape
    acts = np.empty((depth + 1, width, b))  # acts[0]: the batch's inputs; acts[l + 1]: output of layer l
    slopes = np.empty((depth, width, b))  # f' of layer l at its pre-activation
    deltas = np.empty((2, width, b))  # d loss / d z of the current layer, and room for the one below
    targets = np.empty((n_out, b))
    z = np.empty(b)
    grad = np.empty(theta.shape[0])
    scale = 2.0 / (b * n_out)  # losses.py: d mean(r**2) / d r = 2 r / r.size

    for i in range(k):
        if i < m:  # one batch (m = 1) is gathered once for the whole segment
            for s in range(b):
                row = batches[i, s]
                for j in range(n_in):
                    acts[0, j, s] = x[row, j]
                for j in range(n_out):
                    targets[j, s] = y[row, j]

        # forward: z = A @ W + b, then the activation, one unit at a time
        for l in range(depth):
            fan_in, fan_out = sizes[l], sizes[l + 1]
            w0, b0 = offsets[l, 0], offsets[l, 1]
            for o in range(fan_out):
                _preactivation(z, acts, l, theta, w0, fan_in, fan_out, o)
                _activate(output if l == depth - 1 else hidden, z, theta[b0 + o] if bias else 0.0, acts, slopes, l,
                          o, hp.leaky_slope)

        # loss; the divergence rule stops before the update of a step whose loss is not <= limit
        cur = 0
        for o in range(n_out):
            for s in range(b):
                deltas[cur, o, s] = acts[depth, o, s] - targets[o, s]
        loss = _sum_squares(deltas, cur, n_out, b) / (b * n_out)
        if not loss <= limit:  # also catches NaN
            return i
        for o in range(n_out):
            for s in range(b):
                deltas[cur, o, s] = scale * deltas[cur, o, s]

        # backward, layer by layer: deltas[cur] is d loss / d acts of layer l, then d loss / d z
        for l in range(depth - 1, -1, -1):
            fan_in, fan_out = sizes[l], sizes[l + 1]
            w0, b0 = offsets[l, 0], offsets[l, 1]
            if (output if l == depth - 1 else hidden) != IDENTITY:
                _times_slope(deltas, cur, slopes, l, fan_out, b)
            _weight_grads(grad, acts, l, deltas, cur, w0, b0, fan_in, fan_out, bias, b)
            if l:
                _backprop(deltas, cur, 1 - cur, theta, w0, fan_in, fan_out, b)
                cur = 1 - cur

        if hp.weight_decay:  # grad += decay * W, on weights only
            for l in range(depth):
                for p in range(offsets[l, 0], offsets[l, 1]):
                    grad[p] += hp.weight_decay * theta[p]
        _update(optimizer, theta, grad, state, t + i + 1, hp)
    return k


class KernelBackend:
    """Runs training segments with :func:`train_steps`; a drop-in for ``train.NumpyBackend``.

    Holds the Network's ``theta`` (updated in place, so the Model sees every step) and the
    optimizer state, which persists across ``run`` calls as NumPy's optimizer object does.
    """

    name = "numba"

    def __init__(self, config: MLPConfig, net: Network):
        self.hidden = kernel_code("activation", config.activation, ACTIVATION_CODES)
        self.output = kernel_code("output_activation", config.output_activation, ACTIVATION_CODES)
        self.optimizer = kernel_code("optimizer", config.optimizer, OPTIMIZER_CODES)
        kernel_code("loss", config.loss, {name: 0 for name in LOSSES if name in _LOSS_KERNELS})
        self.theta = net.theta
        layout = net.layout
        self.sizes = np.asarray(layout.sizes, dtype=np.int64)
        self.offsets = np.asarray(layout.offsets(), dtype=np.int64)
        self.bias = layout.bias
        self.state = np.zeros((2, len(self.theta)))
        self.t = 0
        self.hp = Hyper(float(config.lr), float(config.momentum), float(config.weight_decay), float(LEAKY_SLOPE),
                        ADAM_BETA1, ADAM_BETA2, ADAM_EPS)
        self._full = np.empty((0, 0), dtype=np.int64)

    def run(self, x: np.ndarray, y: np.ndarray, batches: np.ndarray | None, k: int, limit: float) -> int:
        """Take up to ``k`` steps; return how many were taken before a loss broke ``limit`` (or k).

        ``batches`` is None for full batch, else (k, b) indices into x and y.
        """
        if batches is None:
            if self._full.shape != (1, len(x)):
                self._full = np.arange(len(x), dtype=np.int64)[None, :]
            batches = self._full
        taken = train_steps(self.theta, self.state, self.t, np.ascontiguousarray(x, dtype=np.float64),
                            np.ascontiguousarray(y, dtype=np.float64), np.ascontiguousarray(batches, dtype=np.int64),
                            k, float(limit), self.sizes, self.offsets, self.bias, self.hidden, self.output,
                            self.optimizer, self.hp)
        self.t += taken
        return taken

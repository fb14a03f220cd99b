"""The compiled training loop: `network.py` + `optim.py` + `NumpyBackend.run`, fused by Numba.

Why a second implementation: a sweep is thousands of small trainings, and at the seed
problems' size (n = 500, width 10) NumPy spends a step mostly on per-call overhead. Here one
call runs a whole curve segment in one compiled loop, with every buffer allocated once.

How a step runs, by batch and network (each path exercised by tests/mlpcore/test_kernels.py):
- batches of up to ``SMALL_BATCH`` samples: network.py's forward and backward one sample at a
  time, in scalars (``_sample_step``); a pass over 1 sample would be all set-up.
- larger batches: passes over the batch. The buffers are *feature-major*, the transpose of
  network.py's batch-first arrays: row ``o`` of ``acts[l]`` holds unit ``o``'s activation for
  every sample, so every inner loop runs over contiguous samples and LLVM vectorizes it (4
  doubles an instruction). Numba vectorizes loops only (its SLP vectorizer is off), so values
  cannot stay in registers across units: each weight costs a pass forward and one backward,
  fused where they read the same rows (``_layer_forward``, ``_layer_backward``).
- 1 -> h -> 1 networks (every seed problem) with identity, relu or leaky_relu hidden units:
  activations recomputed rather than stored, two hidden units a pass (``_recomputed_chunk``).

File map: elementary functions; passes over the batch; the 1 -> h -> 1 path; layers; one
sample at a time; optimizers; ``train_steps`` (the loop); ``KernelBackend`` (what fit() calls).
It is one file because numba's cache is keyed on the file that holds a compiled function,
not on the files it calls: split, an edit to a helper could leave a stale ``train_steps``.

Rounding: the math is NumPy's formula for formula, with three liberties, each worth a
factor in speed and each a difference of rounding only (the parity tests hold the two to
1e-9 over 1000 steps):
- sums over samples (``A.T @ delta``, the bias column sums, the loss) may be split and
  reordered (``reassoc``), as BLAS does them for NumPy, so that they vectorize;
- ``a * b + c`` may be one fused multiply-add (``contract``), as in BLAS;
- exp, expm1, log1p and tanh are this file's own, within 3 ulp of NumPy's (see below).
The optimizers are compiled strict: the same operations in the same order as optim.py. Never
``fastmath=True``: it assumes no NaN or inf, and divergence *is* NaN and inf.

Where the compiled code is cached: ``cache=True`` writes to ``__pycache__`` beside this file
when that folder is writable (an editable install), else to numba's per-user cache folder
(``~/.cache/numba`` on Linux); ``NUMBA_CACHE_DIR`` overrides both. joblib's loky workers are
fresh processes and load the same cache, so a sweep compiles once per machine, not per worker.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

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

SUM_MATH = {"reassoc", "contract"}
"""Fast-math flags of the passes that sum over samples: reorder and fuse, NaN and inf stay exact."""
SMALL_BATCH = 8
"""Batches of up to this many samples run one sample at a time (measured: as fast as passes at 8)."""
CHUNK = 512
"""Samples per pass at most: bounds the buffers for large batches (smaller chunks would fit L1,
but cost more in per-pass overhead than they save, measured at n = 500)."""
ELEMENTWISE_MATH = {"contract"}
"""Fast-math flags of the elementwise passes: fuse a * b + c, never reorder (exp's range
reduction relies on the order of its subtractions)."""


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


# --- exp, expm1, log1p, tanh that vectorize ---------------------------------------------------------
# A call into libm stops LLVM from vectorizing the loop around it: with math.tanh the kernel
# evaluated tanh one sample at a time, 5x slower per value than NumPy's SIMD tanh, and a tanh
# network trained slower compiled than in NumPy. These are plain arithmetic, inlined, so a loop
# over samples vectorizes whole. Each is within 3 ulp of NumPy's (tests/mlpcore/test_kernels.py
# sweeps them), with NaN, +-inf and +-0 as NumPy's.
#
# Method: x = k ln2 + r with |r| <= ln2 / 2 (ln2 split in two so k * LN2_HI is exact),
# expm1(r) by its Taylor series to r**14 / 14! (the next term is below 1e-19 of r), and 2**k
# put back in two halves so that no intermediate under- or overflows.

LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln2: 32 significant bits ...
LN2_LO = 1.90821492927058770002e-10  # ... and the rest
INV_LN2 = 1.44269504088896338700e00
_CLAMP = 1000.0
"""Arguments are clamped to +-1000 before reduction: exp is already 0 or inf far inside that."""


@intrinsic
def _pow2(typingctx, k):
    """2.0 ** k for an integer k in [-1022, 1023], built from its IEEE bits (no libm call)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        bits = builder.shl(builder.add(args[0], ir.Constant(i64, 1023)), ir.Constant(i64, 52))
        return builder.bitcast(bits, ir.DoubleType())

    return sig, codegen


@njit(cache=True, forceinline=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _reduce(x):
    """(k, r) with x = k ln2 + r and |r| <= ln2 / 2, for x clamped to [-1000, 1000] (NaN -> -1000)."""
    xc = x if x > -_CLAMP else -_CLAMP
    xc = xc if xc < _CLAMP else _CLAMP
    k = math.floor(xc * INV_LN2 + 0.5)
    return k, (xc - k * LN2_HI) - k * LN2_LO


@njit(cache=True, forceinline=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _expm1_small(r):
    """expm1(r) for |r| <= ln2 / 2."""
    # Horner, written out: a loop over a tuple would keep LLVM from vectorizing the caller's loop
    p = 1.1470745597729725e-11  # 1/14!
    p = p * r + 1.6059043836821613e-10  # 1/13!
    p = p * r + 2.08767569878681e-09  # 1/12!
    p = p * r + 2.505210838544172e-08  # 1/11!
    p = p * r + 2.755731922398589e-07  # 1/10!
    p = p * r + 2.7557319223985893e-06  # 1/9!
    p = p * r + 2.48015873015873e-05  # 1/8!
    p = p * r + 0.0001984126984126984  # 1/7!
    p = p * r + 0.001388888888888889  # 1/6!
    p = p * r + 0.008333333333333333  # 1/5!
    p = p * r + 0.041666666666666664  # 1/4!
    p = p * r + 0.16666666666666666  # 1/3!
    p = p * r + 0.5  # 1/2!
    return r + (r * r) * p


@njit(cache=True, forceinline=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def exp(x):
    """e ** x."""
    k, r = _reduce(x)
    half = k >> 1
    y = ((1.0 + _expm1_small(r)) * _pow2(half)) * _pow2(k - half)
    return y if x == x else x


@njit(cache=True, forceinline=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def expm1(x):
    """e ** x - 1, accurate near 0."""
    k, r = _reduce(x)
    em1 = _expm1_small(r)
    half = k >> 1
    if k < 56:  # 2**k - 1 is exact: keep em1's own accuracy
        scale = _pow2(half) * _pow2(k - half)
        y = scale * em1 + (scale - 1.0)
    else:  # the -1 is below the last bit; scaling in halves keeps 2**k from overflowing alone
        y = ((1.0 + em1) * _pow2(half)) * _pow2(k - half) - 1.0
    return x if x != x or x == 0.0 else y  # NaN, and the sign of a zero, pass through


@njit(cache=True, forceinline=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def log1p_unit(u):
    """log(1 + u) for 0 <= u <= 1, as 2 atanh(u / (2 + u)) by its series (u / (2 + u) <= 1/3)."""
    s = u / (2.0 + u)
    w = s * s
    p = 0.02857142857142857  # 1/35
    p = p * w + 0.030303030303030304  # 1/33
    p = p * w + 0.03225806451612903  # 1/31
    p = p * w + 0.034482758620689655  # 1/29
    p = p * w + 0.037037037037037035  # 1/27
    p = p * w + 0.04  # 1/25
    p = p * w + 0.043478260869565216  # 1/23
    p = p * w + 0.047619047619047616  # 1/21
    p = p * w + 0.05263157894736842  # 1/19
    p = p * w + 0.058823529411764705  # 1/17
    p = p * w + 0.06666666666666667  # 1/15
    p = p * w + 0.07692307692307693  # 1/13
    p = p * w + 0.09090909090909091  # 1/11
    p = p * w + 0.1111111111111111  # 1/9
    p = p * w + 0.14285714285714285  # 1/7
    p = p * w + 0.2  # 1/5
    p = p * w + 0.3333333333333333  # 1/3
    return 2.0 * (s + s * (w * p))


@njit(cache=True, forceinline=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def tanh(z):
    """tanh(z) = -t / (2 + t) with t = expm1(-2|z|), signed as z (exact at ±0, ±1 at ±inf)."""
    t = expm1(-2.0 * abs(z))
    return math.copysign(-t / (2.0 + t), z)


# --- passes over the batch ----------------------------------------------------------------------------
# Each function below is one loop over the batch's samples, and LLVM vectorizes it. They are
# separate functions, not branches of one, because LLVM vectorizes only one of several loops
# that sit in the branches of one function. Buffers are passed whole with row indices, never
# as row views: a view costs two atomic reference-count updates.


@njit(cache=True, error_model="numpy")
def _zero(buf, i, j, b):
    """buf[i, j] = 0."""
    for s in range(b):
        buf[i, j, s] = 0.0


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _accumulate(z, w, acts, l, j, b):
    """z += w * acts[l, j]: one term of a row of ``acts[l] @ W``."""
    for s in range(b):
        z[0, 0, s] += w * acts[l, j, s]


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _accumulate4(z, theta, p, stride, acts, l, j, b):
    """z += theta[p] * acts[l, j] + ... + theta[p + 3 stride] * acts[l, j + 3], in order: four terms, one store."""
    w0, w1, w2, w3 = theta[p], theta[p + stride], theta[p + 2 * stride], theta[p + 3 * stride]
    for s in range(b):
        z[0, 0, s] = (((z[0, 0, s] + w0 * acts[l, j, s]) + w1 * acts[l, j + 1, s]) + w2 * acts[l, j + 2, s]) \
            + w3 * acts[l, j + 3, s]


@njit(cache=True, forceinline=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _act(code, z, leaky_slope):
    """(f(z), f'(z)) for one value, formula for formula as activations.py (f' is what backward multiplies by)."""
    if code == IDENTITY:
        return z, 1.0  # NumPy skips the multiply by f'; times 1.0 is exact
    if code == RELU:
        return (z if not z <= 0.0 else 0.0), (1.0 if z > 0.0 else 0.0)  # as np.maximum: NaN passes through
    if code == LEAKY_RELU:
        return (z if z > 0.0 else leaky_slope * z), (1.0 if z > 0.0 else leaky_slope)
    if code == ELU:
        a = z if z > 0.0 else expm1(z)  # where z <= 0 (or NaN), np.minimum(z, 0) is z
        return a, (1.0 if z > 0.0 else a + 1.0)
    if code == TANH:
        a = tanh(z)
        return a, 1.0 - a * a
    if code == SIGMOID:
        a = 0.5 * (1.0 + tanh(0.5 * z))
        return a, a * (1.0 - a)
    return (z if not z <= 0.0 else 0.0) + log1p_unit(exp(-abs(z))), 0.5 * (1.0 + tanh(0.5 * z))  # SOFTPLUS


# The activation passes: acts[l + 1, o] = f(zs) and slopes[l, o] = f'(zs) with zs = z + w *
# acts[l, j] + bias (the last term of the pre-activation and the bias join the activation's
# pass, so a layer with one input is one pass per unit). One function per activation, each
# calling _act with a constant code: with the code known, LLVM vectorizes the loop.


@njit(cache=True, forceinline=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _activation_pass(code, z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
    """acts[l + 1, o], slopes[l, o] = f, f' of (z + w * acts[l, j] + bias) for activation ``code``."""
    for s in range(b):
        acts[l + 1, o, s], slopes[l, o, s] = _act(code, (z[0, 0, s] + w * acts[l, j, s]) + bias, leaky_slope)


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _identity(z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
    _activation_pass(IDENTITY, z, w, bias, acts, slopes, l, o, j, b, leaky_slope)


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _relu(z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
    _activation_pass(RELU, z, w, bias, acts, slopes, l, o, j, b, leaky_slope)


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _leaky_relu(z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
    _activation_pass(LEAKY_RELU, z, w, bias, acts, slopes, l, o, j, b, leaky_slope)


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _elu(z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
    _activation_pass(ELU, z, w, bias, acts, slopes, l, o, j, b, leaky_slope)


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _tanh(z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
    _activation_pass(TANH, z, w, bias, acts, slopes, l, o, j, b, leaky_slope)


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _sigmoid(z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
    _activation_pass(SIGMOID, z, w, bias, acts, slopes, l, o, j, b, leaky_slope)


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _softplus(z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
    _activation_pass(SOFTPLUS, z, w, bias, acts, slopes, l, o, j, b, leaky_slope)


@njit(cache=True, error_model="numpy")
def _activate(code, z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
    """The activation pass of ``code`` (see above)."""
    if code == IDENTITY:
        _identity(z, w, bias, acts, slopes, l, o, j, b, leaky_slope)
    elif code == RELU:
        _relu(z, w, bias, acts, slopes, l, o, j, b, leaky_slope)
    elif code == LEAKY_RELU:
        _leaky_relu(z, w, bias, acts, slopes, l, o, j, b, leaky_slope)
    elif code == ELU:
        _elu(z, w, bias, acts, slopes, l, o, j, b, leaky_slope)
    elif code == TANH:
        _tanh(z, w, bias, acts, slopes, l, o, j, b, leaky_slope)
    elif code == SIGMOID:
        _sigmoid(z, w, bias, acts, slopes, l, o, j, b, leaky_slope)
    else:
        _softplus(z, w, bias, acts, slopes, l, o, j, b, leaky_slope)


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _output_delta(acts, slopes, targets, c0, deltas, depth, n_out, b, scale):
    """deltas[0] = d loss / d z of the output layer (losses.py's 2 r / r.size, times f'); returns sum(r**2)."""
    total = 0.0
    for o in range(n_out):
        for s in range(b):
            r = acts[depth, o, s] - targets[o, c0 + s]
            total += r * r
            deltas[0, o, s] = (scale * r) * slopes[depth - 1, o, s]
    return total


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _bias_grad(deltas, cur, o, b):
    """sum of deltas[cur, o] over the batch: a bias's gradient."""
    total = 0.0
    for s in range(b):
        total += deltas[cur, o, s]
    return total


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _weight_grad(acts, l, j, deltas, cur, o, b):
    """sum of acts[l, j] * deltas[cur, o] over the batch: a weight's gradient."""
    total = 0.0
    for s in range(b):
        total += acts[l, j, s] * deltas[cur, o, s]
    return total


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _weight_grad_and_backprop_one(acts, l, j, deltas, cur, w, slopes, b):
    """_weight_grad for a layer of one unit, and deltas[1 - cur, j] = w * deltas[cur, 0] * f' of layer l - 1."""
    total = 0.0
    for s in range(b):
        d = deltas[cur, 0, s]
        total += acts[l, j, s] * d
        deltas[1 - cur, j, s] = (w * d) * slopes[l - 1, j, s]
    return total


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _shallow_grads(grad, acts, deltas, j, w, slopes, p_out, p_in, p_bias, b):
    """One hidden unit j of a 1 -> hidden -> 1 network, all its gradients in one pass.

    Its output weight's gradient, then d loss / d z of the unit (w * delta * f'), used at once for
    its input weight's and bias's gradients instead of being stored: the backward passes of
    both layers fused, for the shape of every seed problem.
    """
    g_out = g_in = g_bias = 0.0
    for s in range(b):
        d = deltas[0, 0, s]
        g_out += acts[1, j, s] * d
        dz = (w * d) * slopes[0, j, s]
        g_in += acts[0, 0, s] * dz
        g_bias += dz
    grad[p_out] += g_out
    grad[p_in] += g_in
    if p_bias >= 0:
        grad[p_bias] += g_bias


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _weight_grad_and_backprop(acts, l, j, deltas, cur, o, w, b):
    """_weight_grad, and deltas[1 - cur, j] += w * deltas[cur, o] from the same loads: a term of ``delta @ W.T``."""
    total = 0.0
    for s in range(b):
        d = deltas[cur, o, s]
        total += acts[l, j, s] * d
        deltas[1 - cur, j, s] += w * d
    return total


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _weight_grad_and_backprop4(grad, p, theta, acts, l, j, deltas, cur, o, b):
    """_weight_grad_and_backprop for the four weights p..p + 3 (units o..o + 3): one load of acts and delta below."""
    w0, w1, w2, w3 = theta[p], theta[p + 1], theta[p + 2], theta[p + 3]
    g0 = g1 = g2 = g3 = 0.0
    for s in range(b):
        a = acts[l, j, s]
        d0, d1, d2, d3 = deltas[cur, o, s], deltas[cur, o + 1, s], deltas[cur, o + 2, s], deltas[cur, o + 3, s]
        g0 += a * d0
        g1 += a * d1
        g2 += a * d2
        g3 += a * d3
        deltas[1 - cur, j, s] = (((deltas[1 - cur, j, s] + w0 * d0) + w1 * d1) + w2 * d2) + w3 * d3
    grad[p] += g0
    grad[p + 1] += g1
    grad[p + 2] += g2
    grad[p + 3] += g3


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _weight_grad_and_backprop_last(acts, l, j, deltas, cur, o, w, slopes, b):
    """As _weight_grad_and_backprop for the last term, then times f' of layer l - 1: d loss / d z there."""
    total = 0.0
    for s in range(b):
        d = deltas[cur, o, s]
        total += acts[l, j, s] * d
        deltas[1 - cur, j, s] = (deltas[1 - cur, j, s] + w * d) * slopes[l - 1, j, s]
    return total


# --- 1 -> hidden -> 1 with a piecewise-linear hidden activation: nothing stored ----------------------------
# For identity, relu and leaky_relu, f and f' cost less to recompute than to store and read
# back (the seed-000 step otherwise moves ~160 KB of activations and slopes through L2). Each
# hidden unit is then one pass forward (its activation, added straight into the output's
# pre-activation) and one pass backward (activation recomputed, all three of its gradients).
RECOMPUTED = (IDENTITY, RELU, LEAKY_RELU)


@njit(cache=True, forceinline=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _push_pass(code, acts, out, u, b, leaky_slope):
    """out += v * f(x * w + bias) for two hidden units u = (w, bias, v) x 2, x = acts[0, 0]: their terms of the
    output's ``acts @ W``, in unit order (two units a pass: one load of x and one store of out)."""
    w0, c0, v0, w1, c1, v1 = u[0], u[1], u[2], u[3], u[4], u[5]
    for s in range(b):
        x = acts[0, 0, s]
        a0, _ = _act(code, x * w0 + c0, leaky_slope)
        a1, _ = _act(code, x * w1 + c1, leaky_slope)
        out[0, 0, s] = (out[0, 0, s] + v0 * a0) + v1 * a1


@njit(cache=True, forceinline=True, fastmath=SUM_MATH, error_model="numpy")
def _pull_pass(code, acts, deltas, u, g, b, leaky_slope):
    """The gradients of two hidden units u = (w, bias, v) x 2, activations recomputed, into g = (w, bias, v) x 2."""
    w0, c0, v0, w1, c1, v1 = u[0], u[1], u[2], u[3], u[4], u[5]
    gw0 = gc0 = gv0 = gw1 = gc1 = gv1 = 0.0
    for s in range(b):
        x = acts[0, 0, s]
        d = deltas[0, 0, s]
        a0, da0 = _act(code, x * w0 + c0, leaky_slope)
        a1, da1 = _act(code, x * w1 + c1, leaky_slope)
        gv0 += a0 * d
        gv1 += a1 * d
        dz0 = (v0 * d) * da0
        dz1 = (v1 * d) * da1
        gw0 += x * dz0
        gw1 += x * dz1
        gc0 += dz0
        gc1 += dz1
    g[0], g[1], g[2], g[3], g[4], g[5] = gw0, gc0, gv0, gw1, gc1, gv1


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _push_identity(acts, out, u, b, leaky_slope):
    _push_pass(IDENTITY, acts, out, u, b, leaky_slope)


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _push_relu(acts, out, u, b, leaky_slope):
    _push_pass(RELU, acts, out, u, b, leaky_slope)


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _push_leaky_relu(acts, out, u, b, leaky_slope):
    _push_pass(LEAKY_RELU, acts, out, u, b, leaky_slope)


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _pull_identity(acts, deltas, u, g, b, leaky_slope):
    _pull_pass(IDENTITY, acts, deltas, u, g, b, leaky_slope)


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _pull_relu(acts, deltas, u, g, b, leaky_slope):
    _pull_pass(RELU, acts, deltas, u, g, b, leaky_slope)


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _pull_leaky_relu(acts, deltas, u, g, b, leaky_slope):
    _pull_pass(LEAKY_RELU, acts, deltas, u, g, b, leaky_slope)


@njit(cache=True, fastmath=SUM_MATH, error_model="numpy")
def _linear_output_delta(z, bias, targets, c0, deltas, b, scale, sums):
    """_output_delta for one identity output unit straight from its pre-activation z (no f, no f' to store).

    sums = (sum of squared residuals, sum of deltas: the output bias's gradient).
    """
    sq = total = 0.0
    for s in range(b):
        r = (z[0, 0, s] + bias) - targets[0, c0 + s]
        sq += r * r
        d = scale * r
        deltas[0, 0, s] = d
        total += d
    sums[0], sums[1] = sq, total


@njit(cache=True, error_model="numpy")
def _unit_pair(u, theta, offsets, h, bias, j):
    """u = (w, bias, v) of hidden units j and j + 1; a unit past the last (h odd) is all zero, and adds nothing."""
    for t in range(2):
        real = j + t < h
        u[3 * t] = theta[offsets[0, 0] + j + t] if real else 0.0
        u[3 * t + 1] = theta[offsets[0, 1] + j + t] if real and bias else 0.0
        u[3 * t + 2] = theta[offsets[1, 0] + j + t] if real else 0.0


@njit(cache=True, error_model="numpy")
def _recomputed_chunk(hidden, output, theta, offsets, h, bias, acts, slopes, deltas, z, targets, c0, grad, b, scale,
                      leaky_slope, u, g):
    """Forward and backward of a chunk for a 1 -> h -> 1 network with a RECOMPUTED hidden activation.

    Returns the chunk's sum of squared residuals. Hidden units go two a pass (a null unit pads
    an odd h: f(0) = 0 for these activations). The output unit is written as row 0 of acts[1]
    and slopes[0] (hidden activations are not stored), the last term of its pre-activation
    being 0 * x: zero, for finite inputs. u, g: (6,) scratch for a unit pair and its gradients.
    """
    _zero(z, 0, 0, b)
    for j in range(0, h, 2):
        _unit_pair(u, theta, offsets, h, bias, j)
        if hidden == IDENTITY:
            _push_identity(acts, z, u, b, leaky_slope)
        elif hidden == RELU:
            _push_relu(acts, z, u, b, leaky_slope)
        else:
            _push_leaky_relu(acts, z, u, b, leaky_slope)
    b_out = theta[offsets[1, 1]] if bias else 0.0
    if output == IDENTITY:  # (the default): residual, delta and the bias's gradient in one pass
        _linear_output_delta(z, b_out, targets, c0, deltas, b, scale, g)
        sq, bias_grad = g[0], g[1]
    else:
        _activate(output, z, 0.0, b_out, acts, slopes, 0, 0, 0, b, leaky_slope)
        sq = _output_delta(acts, slopes, targets, c0, deltas, 1, 1, b, scale)
        bias_grad = _bias_grad(deltas, 0, 0, b)
    if bias:
        grad[offsets[1, 1]] += bias_grad
    for j in range(0, h, 2):
        _unit_pair(u, theta, offsets, h, bias, j)
        if hidden == IDENTITY:
            _pull_identity(acts, deltas, u, g, b, leaky_slope)
        elif hidden == RELU:
            _pull_relu(acts, deltas, u, g, b, leaky_slope)
        else:
            _pull_leaky_relu(acts, deltas, u, g, b, leaky_slope)
        for t in range(min(2, h - j)):
            grad[offsets[0, 0] + j + t] += g[3 * t]
            if bias:
                grad[offsets[0, 1] + j + t] += g[3 * t + 1]
            grad[offsets[1, 0] + j + t] += g[3 * t + 2]
    return sq


# --- one layer, forward and backward -------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _layer_forward(code, acts, slopes, z, zeros, l, theta, w0, b0, fan_in, fan_out, bias, b, leaky_slope):
    """acts[l + 1] = f(acts[l] @ W + b) and slopes[l] = f'(...), one unit (row) at a time.

    z receives all but the last term of a unit's ``acts[l] @ W``; a layer with one input has
    none, and reads ``zeros`` instead.
    """
    last = fan_in - 1
    for o in range(fan_out):
        if last:
            _zero(z, 0, 0, b)
        j = 0
        while j + 4 <= last:  # wide layers: four terms a pass
            _accumulate4(z, theta, w0 + j * fan_out + o, fan_out, acts, l, j, b)
            j += 4
        for j in range(j, last):
            _accumulate(z, theta[w0 + j * fan_out + o], acts, l, j, b)
        _activate(code, z if last else zeros, theta[w0 + last * fan_out + o], theta[b0 + o] if bias else 0.0, acts,
                  slopes, l, o, last, b, leaky_slope)


@njit(cache=True, error_model="numpy")
def _layer_backward(grad, acts, slopes, deltas, cur, l, theta, w0, b0, fan_in, fan_out, bias, b):
    """Gradients of layer l's W and b from deltas[cur] = d loss / d z of layer l.

    For l > 0 also deltas[1 - cur] = (delta @ W.T) * f' of layer l - 1: its row j is built in the
    same passes over the batch as the gradients of W's row j, which read the same delta rows.
    """
    if bias:
        for o in range(fan_out):
            grad[b0 + o] += _bias_grad(deltas, cur, o, b)
    for j in range(fan_in):
        if l == 0:  # the first layer: nothing to pass further down
            for o in range(fan_out):
                grad[w0 + j * fan_out + o] += _weight_grad(acts, l, j, deltas, cur, o, b)
            continue
        if fan_out == 1:  # (the output layer of every 1-D problem)
            grad[w0 + j] += _weight_grad_and_backprop_one(acts, l, j, deltas, cur, theta[w0 + j], slopes, b)
            continue
        _zero(deltas, 1 - cur, j, b)
        o = 0
        while o + 4 < fan_out:  # wide layers: four weights a pass
            _weight_grad_and_backprop4(grad, w0 + j * fan_out + o, theta, acts, l, j, deltas, cur, o, b)
            o += 4
        for o in range(o, fan_out - 1):
            p = w0 + j * fan_out + o
            grad[p] += _weight_grad_and_backprop(acts, l, j, deltas, cur, o, theta[p], b)
        p = w0 + j * fan_out + fan_out - 1
        grad[p] += _weight_grad_and_backprop_last(acts, l, j, deltas, cur, fan_out - 1, theta[p], slopes, b)


# --- one sample at a time, for small batches ------------------------------------------------------------
# A pass over a batch of a few samples is all overhead (call, alias checks, loop set-up). For
# small batches the kernel instead runs network.py's forward and backward per sample, in
# scalars, accumulating the gradient: the same math, summed in another order.


@njit(cache=True, fastmath=ELEMENTWISE_MATH, error_model="numpy")
def _sample_step(x, y, row, theta, grad, a, da, delta, sizes, offsets, bias, hidden, output, leaky_slope, scale):
    """Adds sample ``row``'s d loss / d theta to grad; returns its sum of squared residuals.

    a[l] is the sample's activations of layer l (a[0] its inputs), da[l] the slopes f' of layer
    l, delta[cur] d loss / d z of the layer being differentiated.
    """
    depth = sizes.shape[0] - 1
    for j in range(sizes[0]):
        a[0, j] = x[row, j]
    for l in range(depth):
        fan_in, fan_out, w0, b0 = sizes[l], sizes[l + 1], offsets[l, 0], offsets[l, 1]
        code = output if l == depth - 1 else hidden
        for o in range(fan_out):
            z = 0.0
            for j in range(fan_in):
                z += a[l, j] * theta[w0 + j * fan_out + o]
            a[l + 1, o], da[l, o] = _act(code, z + theta[b0 + o] if bias else z, leaky_slope)
    sq = 0.0
    for o in range(sizes[depth]):
        r = a[depth, o] - y[row, o]
        sq += r * r
        delta[0, o] = (scale * r) * da[depth - 1, o]
    cur = 0
    for l in range(depth - 1, -1, -1):
        fan_in, fan_out, w0, b0 = sizes[l], sizes[l + 1], offsets[l, 0], offsets[l, 1]
        if bias:
            for o in range(fan_out):
                grad[b0 + o] += delta[cur, o]
        for j in range(fan_in):
            back = 0.0
            for o in range(fan_out):
                grad[w0 + j * fan_out + o] += a[l, j] * delta[cur, o]
                back += theta[w0 + j * fan_out + o] * delta[cur, o]
            if l:
                delta[1 - cur, j] = back * da[l - 1, j]
        cur = 1 - cur
    return sq


# --- the optimizers, as optim.py writes them ---------------------------------------------------


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
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
    chunk = min(b, CHUNK)
    inputs = np.empty((n_in, b))  # the batch, feature-major
    targets = np.empty((n_out, b))
    acts = np.empty((depth + 1, width, chunk))  # acts[0]: a chunk of inputs; acts[l + 1]: output of layer l
    slopes = np.empty((depth, width, chunk))  # f' of layer l at its pre-activation
    deltas = np.empty((2, width, chunk))  # d loss / d z of the current layer, and of the one below
    z = np.empty((1, 1, chunk))  # the pre-activation of one unit, shaped like a row of acts
    zeros = np.zeros((1, 1, chunk))
    sample_acts, sample_slopes = np.empty((depth + 1, width)), np.empty((depth, width))  # for _sample_step
    sample_deltas = np.empty((2, width))
    unit_pair, unit_grads = np.empty(6), np.empty(6)  # for _recomputed_chunk
    grad = np.empty(theta.shape[0])
    scale = 2.0 / (b * n_out)  # losses.py: d mean(r**2) / d r = 2 r / r.size
    shallow = depth == 2 and n_in == 1 and n_out == 1  # 1 -> hidden -> 1, the seeds' shape: see _shallow_grads

    for i in range(k):
        if i < m and b > SMALL_BATCH:  # one batch (m = 1) is gathered once for the whole segment
            for s in range(b):
                row = batches[i, s]
                for j in range(n_in):
                    inputs[j, s] = x[row, j]
                for j in range(n_out):
                    targets[j, s] = y[row, j]

        grad[:] = 0.0
        sq = 0.0  # the step's sum of squared residuals
        if b <= SMALL_BATCH:
            for s in range(b):
                sq += _sample_step(x, y, batches[i if i < m else 0, s], theta, grad, sample_acts, sample_slopes,
                                   sample_deltas, sizes, offsets, bias, hidden, output, hp.leaky_slope, scale)
        else:
            for c0 in range(0, b, chunk):
                c = min(chunk, b - c0)
                if i < m or b > chunk:  # (a batch in one chunk stays in acts[0] from step to step)
                    for j in range(n_in):
                        for s in range(c):
                            acts[0, j, s] = inputs[j, c0 + s]
                if shallow and hidden in RECOMPUTED:
                    sq += _recomputed_chunk(hidden, output, theta, offsets, sizes[1], bias, acts, slopes, deltas, z,
                                            targets, c0, grad, c, scale, hp.leaky_slope, unit_pair, unit_grads)
                    continue
                for l in range(depth):
                    _layer_forward(output if l == depth - 1 else hidden, acts, slopes, z, zeros, l, theta,
                                   offsets[l, 0], offsets[l, 1], sizes[l], sizes[l + 1], bias, c, hp.leaky_slope)
                sq += _output_delta(acts, slopes, targets, c0, deltas, depth, n_out, c, scale)
                if shallow:
                    w1 = offsets[1, 0]
                    if bias:
                        grad[offsets[1, 1]] += _bias_grad(deltas, 0, 0, c)
                    for j in range(sizes[1]):
                        _shallow_grads(grad, acts, deltas, j, theta[w1 + j], slopes, w1 + j, offsets[0, 0] + j,
                                       offsets[0, 1] + j if bias else -1, c)
                else:
                    cur = 0
                    for l in range(depth - 1, -1, -1):
                        _layer_backward(grad, acts, slopes, deltas, cur, l, theta, offsets[l, 0], offsets[l, 1],
                                        sizes[l], sizes[l + 1], bias, c)
                        cur = 1 - cur
        loss = sq / (b * n_out)
        if not loss <= limit:  # the divergence rule: no update from this step; also catches NaN
            return i

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

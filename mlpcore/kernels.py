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
- networks with a wide hidden-to-hidden layer (``uses_matmul_path``, from ``WIDE_LAYER``
  weights): every layer as matrix products, numba's ``np.dot`` (BLAS, one thread) over
  contiguous blocks of the same buffers, the biases inside the products (``_matmul_chunk``); their
  checkpoint losses from the same forward pass (``mse_of_blocks``).
- 1 -> h -> 1 networks (every seed problem) with identity, relu or leaky_relu hidden units:
  activations recomputed rather than stored, two hidden units a pass (``_recomputed_chunk``).
- the same networks on the full batch (``uses_piecewise_path``): the network is a piecewise-
  linear function of x, and is trained as one (``_piecewise_step``). KernelBackend hands the
  samples over in increasing order of x; each unit is then active on a prefix or a suffix of
  them, its boundary found by a search from last step's, and the output is one line A x + B
  between consecutive boundaries. A step is one pass over the samples plus O(h) (while the
  boundaries move little), not h passes (benchmarks/README.md has the figures). The active sets are NumPy's own, bit for bit (see the section's
  comment), so it is exact as the other paths are.

File map: elementary functions; passes over the batch; one compiled copy of a pass per code
(``_per_code``, from the one table ``CODES``); the 1 -> h -> 1 path; the piecewise-linear path;
layers; wide networks; one sample at a time; optimizers; ``train_steps`` (the loop, in a compiled copy per
kind of step: ``TRAINERS``); ``mse_of`` and ``mse_of_blocks`` (the learning curve's losses);
``KernelBackend`` (what fit() calls). ``warmup.py`` compiles it once per machine. It is one file
because numba's cache is keyed on the file that holds a compiled function, not on the files it
calls: split, an edit to a helper could leave a stale ``train_steps``.

Rounding: the math is NumPy's formula for formula, with four liberties, each worth a
factor in speed and each a difference of rounding only (the parity tests hold the two to
1e-9 over 1000 steps):
- sums over samples (``A.T @ delta``, the bias column sums, the loss) may be split and
  reordered (``reassoc``), as BLAS does them for NumPy, so that they vectorize;
- ``a * b + c`` may be one fused multiply-add (``contract``), as in BLAS. (In the passes, a
  hidden unit's ``x * w + b`` too: where NumPy's two roundings give z = 0 and the exact value
  is not 0, a relu-like unit's slope there can differ from NumPy's; the piecewise path's
  search is compiled strict, and never differs);
- the piecewise path sums per segment and distributes: out = (sum v s w) x + (sum v s b + c),
  and a unit's gradients from its sides' sums of delta and x * delta;
- exp, expm1, log1p and tanh are this file's own, within 3 ulp of NumPy's (see below).
The optimizers are compiled strict: the same operations in the same order as optim.py. Never
``fastmath=True``: it assumes no NaN or inf, and divergence *is* NaN and inf.

Where the compiled code is cached: ``cache=True`` writes to ``__pycache__`` beside this file
when that folder is writable (an editable install), else to numba's per-user cache folder
(``~/.cache/numba`` on Linux); ``NUMBA_CACHE_DIR`` overrides both. joblib's loky workers are
fresh processes and load the same cache, so a sweep compiles once per machine, not per worker.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, typeof, types
from numba.extending import intrinsic

from mlpcore.activations import ACTIVATIONS, LEAKY_SLOPE
from mlpcore.config import MLPConfig
from mlpcore.losses import LOSSES
from mlpcore.network import Network
from mlpcore.optim import ADAM_BETA1, ADAM_BETA2, ADAM_EPS, OPTIMIZERS
from mlpcore.scaling import Scaler

# Kernel codes are positions in these tables, not in activations.py's or optim.py's: numba's
# on-disk cache is keyed on this file alone, so a code must not move when another module gains an
# entry. An activation is added here, by name, and as a branch of ``_act_and_slope``.
_ACTIVATION_KERNELS = ("identity", "relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus")
CODES = range(len(_ACTIVATION_KERNELS))
"""Every activation code: each pass that evaluates an activation is compiled once per code."""
IDENTITY, RELU, LEAKY_RELU, ELU, TANH, SIGMOID, SOFTPLUS = CODES
_OPTIMIZER_KERNELS = ("sgd", "momentum", "adam")
SGD, MOMENTUM, ADAM = range(len(_OPTIMIZER_KERNELS))
_LOSS_KERNELS = ("mse",)

ACTIVATION_CODES = {name: _ACTIVATION_KERNELS.index(name) for name in ACTIVATIONS if name in _ACTIVATION_KERNELS}
"""Name -> kernel code, for every entry of ``activations.ACTIVATIONS`` the kernel implements."""
OPTIMIZER_CODES = {name: _OPTIMIZER_KERNELS.index(name) for name in OPTIMIZERS if name in _OPTIMIZER_KERNELS}
"""Name -> kernel code, for every entry of ``optim.OPTIMIZERS`` the kernel implements."""

SUM_MATH = {"reassoc", "contract"}
"""Fast-math flags of the passes that sum over samples: reorder and fuse, NaN and inf stay exact."""
SMALL_BATCH = 8
"""Batches of up to this many samples run one sample at a time (as fast as passes at 8: benchmarks/README.md)."""
CHUNK = 512
"""Samples per pass at most: bounds the buffers for large batches (smaller chunks would fit L1,
but cost more in per-pass overhead than they save)."""
ELEMENTWISE_MATH = {"contract"}
"""Fast-math flags of the elementwise passes: fuse a * b + c, never reorder (exp's range
reduction relies on the order of its subtractions)."""


NO_WRAPPERS = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}
"""numba's user-level options (``numba.core.options.DefaultOptions``) that skip the two wrappers it
otherwise compiles for every function, one to call it from Python and one from C. On a fresh
machine those wrappers were ~15% of the kernel's compile (benchmarks/README.md)."""


def _public(**options):
    """The decorator of a compiled function of this file that Python may call: cached, IEEE errors as
    NumPy's (no exception on a division by zero)."""
    return njit(cache=True, error_model="numpy", **options)


def _inner(**options):
    """The decorator of a private compiled function of this file, which only compiled code calls: as
    :func:`_public`, without the wrappers (NO_WRAPPERS). Called from Python, it would crash the process."""
    return _public(**NO_WRAPPERS, **options)


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


@_inner(forceinline=True, fastmath=ELEMENTWISE_MATH)
def _reduce(x):
    """(k, r) with x = k ln2 + r and |r| <= ln2 / 2, for x clamped to [-1000, 1000] (NaN -> -1000)."""
    xc = x if x > -_CLAMP else -_CLAMP
    xc = xc if xc < _CLAMP else _CLAMP
    k = math.floor(xc * INV_LN2 + 0.5)
    return k, (xc - k * LN2_HI) - k * LN2_LO


@_inner(forceinline=True, fastmath=ELEMENTWISE_MATH)
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


@_public(forceinline=True, fastmath=ELEMENTWISE_MATH)
def exp(x):
    """e ** x."""
    k, r = _reduce(x)
    half = k >> 1
    y = ((1.0 + _expm1_small(r)) * _pow2(half)) * _pow2(k - half)
    return y if x == x else x


@_public(forceinline=True, fastmath=ELEMENTWISE_MATH)
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


@_public(forceinline=True, fastmath=ELEMENTWISE_MATH)
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


SHIFT = 6755399441055744.0
"""1.5 * 2**52: x + SHIFT rounds x (|x| < 2**51) to an integer k, held in the low bits of the sum's IEEE bits."""
TANH_CLAMP = 40.0
"""Where :func:`expm1_nonpositive` clamps its argument: expm1 is -1 in float64 from -38 on, so the result is
the same either way."""


@intrinsic
def _pow2_shifted(typingctx, kd):
    """2.0 ** k from kd = k + SHIFT, for an integer k in [-1022, 1023]: k + 1023 put in the exponent bits.

    The low 12 bits of kd's IEEE bits are k's (two's complement, SHIFT's are zero), and shifting left by 52
    keeps only those: no float to integer conversion, which is most of :func:`_reduce` when vectorized.
    """
    sig = types.float64(types.float64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        bits = builder.add(builder.bitcast(args[0], i64), ir.Constant(i64, 1023))
        return builder.bitcast(builder.shl(bits, ir.Constant(i64, 52)), ir.DoubleType())

    return sig, codegen


@_inner(forceinline=True, fastmath=ELEMENTWISE_MATH)
def _reduce_shifted(y, clamp):
    """(kd, k, r) with y = k ln2 + r, |r| <= ln2 / 2 and kd = k + SHIFT, for y clamped to [-clamp, 0]:
    :func:`_reduce` with k by the SHIFT rounding, no float-to-integer conversion, which AVX2 has no
    vector instruction for."""
    yc = y if y > -clamp else -clamp
    kd = yc * INV_LN2 + SHIFT
    k = kd - SHIFT
    return kd, k, (yc - k * LN2_HI) - k * LN2_LO


@_inner(forceinline=True, fastmath=ELEMENTWISE_MATH)
def _expm1_negative(y):
    """expm1(y) for y < 0 (see :func:`expm1_nonpositive`)."""
    kd, _, r = _reduce_shifted(y, TANH_CLAMP)
    scale = _pow2_shifted(kd)
    return scale * _expm1_small(r) + (scale - 1.0)


@_public(forceinline=True, fastmath=ELEMENTWISE_MATH)
def expm1_nonpositive(y):
    """expm1(y) for y <= 0 (NaN as NaN): :func:`expm1` there bit for bit, in about half its time.

    2**k is one piece (k >= -58 once y is clamped to -40, where expm1 is already -1 in float64) and k
    comes from :func:`_reduce_shifted`: a loop over samples stays vectorized (tests/mlpcore/test_kernels.py).
    """
    return _expm1_negative(y) if y < 0.0 else y  # NaN, and the sign of a zero, pass through


@_public(forceinline=True, fastmath=ELEMENTWISE_MATH)
def exp_nonpositive(y):
    """e ** y for y <= 0 (NaN as NaN): :func:`exp` there bit for bit, with k and its halves by the SHIFT
    rounding (:func:`_reduce_shifted`)."""
    _, k, r = _reduce_shifted(y, _CLAMP)
    half = (0.5 * k - 0.25) + SHIFT  # floor(k / 2), as exp's k >> 1, plus SHIFT
    rest = (k - (half - SHIFT)) + SHIFT
    e = ((1.0 + _expm1_small(r)) * _pow2_shifted(half)) * _pow2_shifted(rest)
    return e if y == y else y


@_public(forceinline=True, fastmath=ELEMENTWISE_MATH)
def tanh(z):
    """tanh(z) = -t / (2 + t) with t = expm1(-2|z|), signed as z (exact at ±0, ±1 at ±inf, NaN as NaN).

    t by :func:`expm1_nonpositive`'s formula (without its test of zero and NaN, which tanh makes itself): bit
    for bit :func:`expm1` (tests/mlpcore/test_kernels.py).
    """
    t = _expm1_negative(-2.0 * abs(z))
    return math.copysign(-t / (2.0 + t), z) if z == z else z


# --- passes over the batch ----------------------------------------------------------------------------
# Each function below is one loop over the batch's samples, and LLVM vectorizes it. They are
# separate functions, not branches of one, because LLVM vectorizes only one of several loops
# that sit in the branches of one function. Buffers are passed whole with row indices, never
# as row views: a view costs two atomic reference-count updates.


@_inner()
def _zero(buf, i, j, b):
    """buf[i, j] = 0."""
    for s in range(b):
        buf[i, j, s] = 0.0


@_inner(fastmath=ELEMENTWISE_MATH)
def _accumulate(z, w, acts, l, j, b):
    """z += w * acts[l, j]: one term of a row of ``acts[l] @ W``."""
    for s in range(b):
        z[0, 0, s] += w * acts[l, j, s]


@_inner(fastmath=ELEMENTWISE_MATH)
def _accumulate4(z, theta, p, stride, acts, l, j, b):
    """z += theta[p] * acts[l, j] + ... + theta[p + 3 stride] * acts[l, j + 3], in order: four terms, one store."""
    w0, w1, w2, w3 = theta[p], theta[p + stride], theta[p + 2 * stride], theta[p + 3 * stride]
    for s in range(b):
        z[0, 0, s] = (((z[0, 0, s] + w0 * acts[l, j, s]) + w1 * acts[l, j + 1, s]) + w2 * acts[l, j + 2, s]) \
            + w3 * acts[l, j + 3, s]


@_inner(forceinline=True, fastmath=ELEMENTWISE_MATH)
def _act_and_slope(code, z, leaky_slope):
    """(f(z), f'(z)) for one value, formula for formula as activations.py (f' is what backward multiplies by)."""
    if code == IDENTITY:
        return z, 1.0  # NumPy skips the multiply by f'; times 1.0 is exact
    if code == RELU:
        return (z if not z <= 0.0 else 0.0), (1.0 if z > 0.0 else 0.0)  # as np.maximum: NaN passes through
    if code == LEAKY_RELU:
        return (z if z > 0.0 else leaky_slope * z), (1.0 if z > 0.0 else leaky_slope)
    if code == ELU:
        a = z if z > 0.0 else (expm1_nonpositive(z) if z != 0.0 else 0.0)  # np.minimum(z, 0) is z, but +0 at z = -0
        return a, (1.0 if z > 0.0 else a + 1.0)
    if code == TANH:
        a = tanh(z)
        return a, 1.0 - a * a
    if code == SIGMOID:
        a = 0.5 * (1.0 + tanh(0.5 * z))
        return a, a * (1.0 - a)
    return (z if not z <= 0.0 else 0.0) + log1p_unit(exp_nonpositive(-abs(z))), 0.5 * (1.0 + tanh(0.5 * z))  # SOFTPLUS


# --- one compiled copy of a pass per code -------------------------------------------------------------
# LLVM vectorizes a pass's loop over samples only where the activation is a constant, and only
# one of several loops that sit in the branches of one function. So each pass that evaluates an
# activation is written once, as ``make(code)``, and compiled once per code, the code a constant
# (a closure's free variable) in each copy; a dispatcher ``f(code, ...)`` then calls the copy of
# ``code``. Only the code may be a free variable: numba's cache keys a closure on its free
# variables' pickle, and a compiled function pickles with a per-process id. Each copy's name
# carries its code: numba's symbol for a compiled function is its qualified name and a counter
# of the process that compiled it, and where code compiled by several processes meets in the
# cache, LLVM links one body per symbol. Copies of one name, compiled by two workers at once,
# could then share a symbol, and one activation run in place of another (numba issue #10486).


def _per_code(codes, *, inline=False, **options):
    """Decorator of ``make(code) -> pass``: the dispatcher ``f(code, *pass's arguments)`` of its compiled copies.

    The dispatcher is an if-chain over ``codes`` with a direct call in each branch, what LLVM
    inlines and optimizes best (numba's ``literal_unroll`` over a tuple of the copies is a loop
    with a switch inside, slower: benchmarks/README.md). It is written out as source; ``inline``
    inlines it into its callers, the copies are inlined or not as ``options`` say.
    """

    def build(make):
        compile_copy = _inner(**options)
        copies = {f"_{make.__name__}_{code}": compile_copy(_named(make(code), code)) for code in codes}
        params = ", ".join(inspect.signature(make(codes[0])).parameters)
        branches = [f"    {'if' if i == 0 else 'elif'} code == {code}:\n        return {name}({params})"
                    for i, (code, name) in enumerate(zip(codes, copies))]
        source = f"def {make.__name__}(code, {params}):\n" + "\n".join(branches) + "\n"
        namespace = dict(copies)
        exec(compile(source, f"<{make.__name__} dispatcher>", "exec"), namespace)
        dispatcher = njit(forceinline=inline, error_model="numpy", **NO_WRAPPERS)(namespace[make.__name__])
        dispatcher.__doc__ = f"{make.__name__}(code, {params}): the pass of ``code`` (see {make.__name__}.make)."
        dispatcher.make = make
        dispatcher.copies = dict(zip(codes, copies.values()))  # code -> its compiled copy
        return dispatcher

    return build


def _named(copy, code):
    """The copy of a pass for ``code``, its name and qualified name suffixed with the code (see above)."""
    copy.__name__, copy.__qualname__ = f"{copy.__name__}_{code}", f"{copy.__qualname__}_{code}"
    return copy


@_per_code(CODES, fastmath=ELEMENTWISE_MATH)
def _activate(code):
    def activation_pass(z, w, bias, acts, slopes, l, o, j, b, leaky_slope):
        """acts[l + 1, o], slopes[l, o] = f, f' of (z + w * acts[l, j] + bias).

        The last term of the pre-activation and the bias join the activation's pass, so a layer
        with one input is one pass per unit.
        """
        for s in range(b):
            acts[l + 1, o, s], slopes[l, o, s] = _act_and_slope(code, (z[0, 0, s] + w * acts[l, j, s]) + bias,
                                                                leaky_slope)

    return activation_pass


@_inner(fastmath=SUM_MATH)
def _output_delta(acts, slopes, targets, c0, deltas, depth, n_out, b, scale):
    """deltas[0] = d loss / d z of the output layer (losses.py's 2 r / r.size, times f'); returns sum(r**2)."""
    total = 0.0
    for o in range(n_out):
        for s in range(b):
            r = acts[depth, o, s] - targets[o, c0 + s]
            total += r * r
            deltas[0, o, s] = (scale * r) * slopes[depth - 1, o, s]
    return total


@_inner(fastmath=SUM_MATH)
def _bias_grad(deltas, cur, o, b):
    """sum of deltas[cur, o] over the batch: a bias's gradient."""
    total = 0.0
    for s in range(b):
        total += deltas[cur, o, s]
    return total


@_inner(fastmath=SUM_MATH)
def _weight_grad(acts, l, j, deltas, cur, o, b):
    """sum of acts[l, j] * deltas[cur, o] over the batch: a weight's gradient."""
    total = 0.0
    for s in range(b):
        total += acts[l, j, s] * deltas[cur, o, s]
    return total


@_inner(fastmath=SUM_MATH)
def _weight_grad_and_backprop_one(acts, l, j, deltas, cur, w, slopes, b):
    """_weight_grad for a layer of one unit, and deltas[1 - cur, j] = w * deltas[cur, 0] * f' of layer l - 1."""
    total = 0.0
    for s in range(b):
        d = deltas[cur, 0, s]
        total += acts[l, j, s] * d
        deltas[1 - cur, j, s] = (w * d) * slopes[l - 1, j, s]
    return total


@_inner(fastmath=SUM_MATH)
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


@_inner(fastmath=SUM_MATH)
def _weight_grad_and_backprop(acts, l, j, deltas, cur, o, w, b):
    """_weight_grad, and deltas[1 - cur, j] += w * deltas[cur, o] from the same loads: a term of ``delta @ W.T``."""
    total = 0.0
    for s in range(b):
        d = deltas[cur, o, s]
        total += acts[l, j, s] * d
        deltas[1 - cur, j, s] += w * d
    return total


@_inner(fastmath=SUM_MATH)
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


@_inner(fastmath=SUM_MATH)
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


@_per_code(RECOMPUTED, inline=True, fastmath=ELEMENTWISE_MATH)
def _push(code):
    def push_pass(acts, out, u, b, leaky_slope):
        """out += v * f(x * w + bias) for two hidden units u = (w, bias, v) x 2, x = acts[0, 0]: their terms of
        the output's ``acts @ W``, in unit order (two units a pass: one load of x and one store of out)."""
        w0, c0, v0, w1, c1, v1 = u[0], u[1], u[2], u[3], u[4], u[5]
        for s in range(b):
            x = acts[0, 0, s]
            a0, _ = _act_and_slope(code, x * w0 + c0, leaky_slope)
            a1, _ = _act_and_slope(code, x * w1 + c1, leaky_slope)
            out[0, 0, s] = (out[0, 0, s] + v0 * a0) + v1 * a1

    return push_pass


@_per_code(RECOMPUTED, inline=True, fastmath=SUM_MATH)
def _pull(code):
    def pull_pass(acts, deltas, u, g, b, leaky_slope):
        """The gradients of two hidden units u = (w, bias, v) x 2, activations recomputed, into g = (w, bias, v) x 2."""
        w0, c0, v0, w1, c1, v1 = u[0], u[1], u[2], u[3], u[4], u[5]
        gw0 = gc0 = gv0 = gw1 = gc1 = gv1 = 0.0
        for s in range(b):
            x = acts[0, 0, s]
            d = deltas[0, 0, s]
            a0, da0 = _act_and_slope(code, x * w0 + c0, leaky_slope)
            a1, da1 = _act_and_slope(code, x * w1 + c1, leaky_slope)
            gv0 += a0 * d
            gv1 += a1 * d
            dz0 = (v0 * d) * da0
            dz1 = (v1 * d) * da1
            gw0 += x * dz0
            gw1 += x * dz1
            gc0 += dz0
            gc1 += dz1
        g[0], g[1], g[2], g[3], g[4], g[5] = gw0, gc0, gv0, gw1, gc1, gv1

    return pull_pass


@_inner(fastmath=SUM_MATH)
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


@_inner()
def _unit_pair(u, theta, offsets, h, bias, j):
    """u = (w, bias, v) of hidden units j and j + 1; a unit past the last (h odd) is all zero, and adds nothing."""
    for t in range(2):
        real = j + t < h
        u[3 * t] = theta[offsets[0, 0] + j + t] if real else 0.0
        u[3 * t + 1] = theta[offsets[0, 1] + j + t] if real and bias else 0.0
        u[3 * t + 2] = theta[offsets[1, 0] + j + t] if real else 0.0


@_inner()
def _recomputed_chunk(hidden, output, theta, offsets, h, bias, acts, slopes, deltas, z, targets, c0, grad, b, scale,
                      leaky_slope, u, g):
    """Forward and backward of a chunk for a 1 -> h -> 1 network with a RECOMPUTED hidden activation.

    Returns the chunk's sum of squared residuals. Hidden units go two a pass (a null unit pads
    an odd h: f(0) = 0 for these activations). The output unit is written as row 0 of acts[1]
    and slopes[0] (hidden activations are not stored), the last term of its pre-activation
    being 0 * x: zero, for finite inputs. u, g: (6,) scratch for a unit pair and its gradients.
    """
    zero, one = np.int64(0), np.int64(1)  # not literals: the layer passes' compiled copies serve here too
    _zero(z, zero, zero, b)
    for j in range(0, h, 2):
        _unit_pair(u, theta, offsets, h, bias, j)
        _push(hidden, acts, z, u, b, leaky_slope)
    b_out = theta[offsets[1, 1]] if bias else 0.0
    if output == IDENTITY:  # (the default): residual, delta and the bias's gradient in one pass
        _linear_output_delta(z, b_out, targets, c0, deltas, b, scale, g)
        sq, bias_grad = g[0], g[1]
    else:
        _activate(output, z, 0.0, b_out, acts, slopes, zero, zero, zero, b, leaky_slope)
        sq = _output_delta(acts, slopes, targets, c0, deltas, one, one, b, scale)
        bias_grad = _bias_grad(deltas, zero, zero, b)
    if bias:
        grad[offsets[1, 1]] += bias_grad
    for j in range(0, h, 2):
        _unit_pair(u, theta, offsets, h, bias, j)
        _pull(hidden, acts, deltas, u, g, b, leaky_slope)
        for t in range(min(2, h - j)):
            grad[offsets[0, 0] + j + t] += g[3 * t]
            if bias:
                grad[offsets[0, 1] + j + t] += g[3 * t + 1]
            grad[offsets[1, 0] + j + t] += g[3 * t + 2]
    return sq


# --- 1 -> h -> 1 with a piecewise-linear hidden activation, full batch: one line per segment of x ----------
# With one input, one hidden layer of identity, relu or leaky_relu units and one output, the
# network's output before its own activation is a piecewise-linear function of x, with a kink
# where each unit's pre-activation crosses 0. Over samples sorted by x, each unit is active on a
# suffix (w > 0) or a prefix (w <= 0) of them, so its boundary is one index, found by a search
# from last step's. Between consecutive boundaries the output is one line A x + B; a step is
# then one pass over the samples, line by line, that also sums delta and x * delta per
# segment, and every unit's gradients come from those sums on either side of its boundary:
#     sum_i h_ij delta_i = w_j Sxd_j + b_j Sd_j,  d/dw_j = v_j Sxd_j,  d/db_j = v_j Sd_j
# with Sd_j = sum of s_ij delta_i, Sxd_j = sum of s_ij x_i delta_i (s the unit's slope, 1 or
# the leak). O(n + h) a step instead of O(n h) while boundaries move a few samples a step (at
# worst, O(log n) a search and O(h**2) the sort that keeps them in order).
#
# Exact: the active sets are NumPy's own, bit for bit: the boundary search evaluates NumPy's
# z = fl(fl(x w) + b) > 0 (compiled strict: never a fused multiply-add, which could round a z
# of NumPy's 0 to a sign), and z is monotone in x because rounding is. What differs from
# NumPy is where sums are taken and distributed, a difference of rounding only, as long as
# nothing overflows: an inf in one order can be finite in another. So a step takes this path
# only with |x| and every parameter below PIECEWISE_RANGE, and keeps its result only if the
# sum of squared residuals is finite; otherwise (divergence) the step runs elementwise.
#
# Speed: everything but the pass over the samples is inlined into train_steps (forceinline),
# because a numba call with array arguments costs an atomic reference-count increment and
# decrement per array: at ten array arguments, more than the rest of a seed-000 step.
PIECEWISE_RANGE = 1e64
"""Bound on |x| and |parameter| for the piecewise path. With a finite loss, |r| < 1.4e154, every
slope f' <= 1, and then no product or sum of the step exceeds ~1e283, in either order."""


@_inner()
def _sorted_and_moderate(inputs, b):
    """Whether inputs[0, :b] is nondecreasing with every |x| < PIECEWISE_RANGE (False on NaN)."""
    for s in range(b):
        if not abs(inputs[0, s]) < PIECEWISE_RANGE or (s and not inputs[0, s - 1] <= inputs[0, s]):
            return False
    return True


@_inner(forceinline=True)
def _moderate(theta):
    """Whether every |parameter| < PIECEWISE_RANGE (False on NaN and inf)."""
    for p in range(theta.shape[0]):
        if not abs(theta[p]) < PIECEWISE_RANGE:
            return False
    return True


@_inner()  # strict on purpose: x * w + c must round twice, as NumPy's does
def _past_kink(x, w, c, rising):
    """Whether sample x is past the unit's kink, coming from x = -inf: where a rising unit (w > 0) is
    active and any other inactive, by NumPy's z > 0."""
    return (x * w + c > 0.0) == rising


@_inner(forceinline=True)
def _boundary(xs, n, w, c, hint):
    """The first i in [0, n] with xs[i] past the unit's kink (n if none), xs sorted.

    ``_past_kink`` is false then true along sorted samples, so this is a search: gallop from
    ``hint`` (last step's boundary: weights move little, so a step or two), then bisect.
    Ends for any w, c: a NaN makes the predicate constant.
    """
    rising = w > 0.0
    lo, hi = -1, n  # invariant: not past the kink at lo, past it at hi (both ends virtual)
    p = min(max(hint, 0), n)
    step = 1
    if p == n or _past_kink(xs[0, p], w, c, rising):  # the boundary is at p or left of it
        hi = p
        probe = p - 1
        while probe > lo:
            if not _past_kink(xs[0, probe], w, c, rising):
                lo = probe
                break
            hi = probe
            step *= 2
            probe = hi - step
    else:  # right of p
        lo = p
        probe = p + 1
        while probe < hi:
            if _past_kink(xs[0, probe], w, c, rising):
                hi = probe
                break
            lo = probe
            step *= 2
            probe = lo + step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _past_kink(xs[0, mid], w, c, rising):
            hi = mid
        else:
            lo = mid
    return hi


@_inner(forceinline=True)
def _segment_bounds(kinks, order, bounds, xs, n, theta, offsets, h, bias, hidden):
    """Each unit's boundary into kinks, units sorted by it into order, segment s = [bounds[s], bounds[s + 1]).

    Identity units have no kink: all are put at 0 (every segment but the last is empty).
    order is last step's, nearly sorted still: an insertion sort is O(h).
    """
    for j in range(h):
        if hidden == IDENTITY:
            kinks[j] = 0
        else:
            kinks[j] = _boundary(xs, n, theta[offsets[0, 0] + j], theta[offsets[0, 1] + j] if bias else 0.0,
                                 kinks[j])
    for r in range(1, h):
        j = order[r]
        q = r
        while q > 0 and kinks[order[q - 1]] > kinks[j]:
            order[q] = order[q - 1]
            q -= 1
        order[q] = j
    bounds[0] = 0
    for r in range(h):
        bounds[r + 1] = kinks[order[r]]
    bounds[h + 1] = n


@_inner(forceinline=True)
def _segment_lines(lines, order, theta, offsets, h, bias, leak):
    """lines[:, s] = (A, B): the output's pre-activation is A x + B on segment s.

    Left of every boundary, rising units (w > 0) are inactive (slope ``leak``) and the others
    active (slope 1); each boundary crossed then changes one unit's slope by 1 - leak.
    """
    a = 0.0
    b = theta[offsets[1, 1]] if bias else 0.0
    for j in range(h):
        w, v = theta[offsets[0, 0] + j], theta[offsets[1, 0] + j]
        c = theta[offsets[0, 1] + j] if bias else 0.0
        s = leak if w > 0.0 else 1.0
        a += (s * v) * w
        b += (s * v) * c
    lines[0, 0], lines[1, 0] = a, b
    for r in range(h):
        j = order[r]
        w, v = theta[offsets[0, 0] + j], theta[offsets[1, 0] + j]
        c = theta[offsets[0, 1] + j] if bias else 0.0
        jump = (1.0 - leak) * v if w > 0.0 else (leak - 1.0) * v
        a += jump * w
        b += jump * c
        lines[0, r + 1], lines[1, r + 1] = a, b


@_per_code(CODES, inline=True, fastmath=SUM_MATH)
def _segments(code):
    def segments_pass(xs, ys, bounds, lines, sums, nseg, scale, leaky_slope):
        """Forward and output delta of every sample, one line per segment; returns sum(r**2).

        sums[:, s] = (sum of delta, sum of x * delta) over segment s; delta is _output_delta's
        (the loss's gradient, times f' of the output activation), never stored.
        """
        sq = 0.0
        for s in range(nseg):
            a, b = lines[0, s], lines[1, s]
            d_sum = xd_sum = 0.0
            for i in range(bounds[s], bounds[s + 1]):  # unsigned: see train_steps's bounds
                x = xs[0, i]
                yhat, slope = _act_and_slope(code, a * x + b, leaky_slope)
                r = yhat - ys[0, i]
                sq += r * r
                d = (scale * r) * slope
                d_sum += d
                xd_sum += x * d
            sums[0, s], sums[1, s] = d_sum, xd_sum
        return sq

    return segments_pass


@_inner(forceinline=True)
def _with_leak(active, inactive, leak):
    """A sum over a unit's active side plus ``leak`` times that over its inactive side (skipped for relu,
    as NumPy's sum never sees the inactive side: 0 * inf would be NaN)."""
    return active + leak * inactive if leak else active


@_inner(forceinline=True)
def _piecewise_grads(grad, theta, offsets, h, bias, leak, order, sums, right):
    """Every gradient from the segment sums: grad is overwritten whole.

    Unit order[r]'s boundary sits after segment r: its left side is segments 0..r, its right
    side the rest. Each side is summed by itself, never as the total minus the other, which
    would cancel where one side is small. right[:, r] = (delta, x * delta) summed over
    segments r.. (scratch); the left sums run along in registers (a chain through memory
    would wait on every store).
    """
    nseg = h + 1
    right_d = right_xd = 0.0
    for s in range(nseg - 1, 0, -1):
        right_d += sums[0, s]
        right_xd += sums[1, s]
        right[0, s], right[1, s] = right_d, right_xd
    left_d = left_xd = 0.0
    for r in range(h):
        left_d += sums[0, r]
        left_xd += sums[1, r]
        right_d, right_xd = right[0, r + 1], right[1, r + 1]
        j = order[r]
        w, v = theta[offsets[0, 0] + j], theta[offsets[1, 0] + j]
        if w > 0.0:  # active right of the boundary
            sd, sxd = _with_leak(right_d, left_d, leak), _with_leak(right_xd, left_xd, leak)
        else:
            sd, sxd = _with_leak(left_d, right_d, leak), _with_leak(left_xd, right_xd, leak)
        grad[offsets[0, 0] + j] = v * sxd
        grad[offsets[1, 0] + j] = w * sxd  # sum of h delta, h = s (x w + b) ...
        if bias:
            grad[offsets[1, 0] + j] += theta[offsets[0, 1] + j] * sd  # ... + b's part
            grad[offsets[0, 1] + j] = v * sd
    if bias:
        grad[offsets[1, 1]] = left_d + sums[0, h]


@_inner(forceinline=True)
def _piecewise_step(grad, theta, offsets, h, bias, hidden, output, xs, ys, n, scale, leaky_slope, kinks, order,
                    bounds, lines, sums, right):
    """The loss gradient of a full-batch step into grad (whole); returns the sum of squared residuals.

    xs, ys : (1, n) samples sorted by x; kinks, order : last step's boundaries and their order
    (any values in range on the first step). The rest are scratch, of h + 1 or h + 2 columns.
    """
    leak = 1.0 if hidden == IDENTITY else (leaky_slope if hidden == LEAKY_RELU else 0.0)
    _segment_bounds(kinks, order, bounds, xs, n, theta, offsets, h, bias, hidden)
    _segment_lines(lines, order, theta, offsets, h, bias, leak)
    sq = _segments(output, xs, ys, bounds, lines, sums, h + 1, scale, leaky_slope)
    _piecewise_grads(grad, theta, offsets, h, bias, leak, order, sums, right)
    return sq


def uses_piecewise_path(config: MLPConfig, n_in: int, n_out: int) -> bool:
    """Whether full-batch steps of this network take the piecewise-linear path (``_piecewise_step``).

    They do for 1 -> h -> 1 networks with identity, relu or leaky_relu hidden units (any
    output activation, bias, optimizer, decay), mse loss, as long as the data are in increasing
    order of x (KernelBackend sorts them) and no parameter nears overflow (PIECEWISE_RANGE).
    Mini-batch steps never do: each would need its own sort.
    """
    return (n_in == 1 and n_out == 1 and len(config.hidden) == 1 and config.loss in _LOSS_KERNELS
            and ACTIVATION_CODES.get(config.activation) in RECOMPUTED)


# --- one layer, forward and backward -------------------------------------------------------------


@_inner()
def _layer_forward(code, acts, slopes, z, zeros, l, theta, w0, b0, fan_in, fan_out, bias, b, leaky_slope):
    """acts[l + 1] = f(acts[l] @ W + b) and slopes[l] = f'(...), one unit (row) at a time.

    z receives all but the last term of a unit's ``acts[l] @ W``; a layer with one input has
    none, and reads ``zeros`` instead.
    """
    last = fan_in - 1
    zero = np.int64(0)  # not literals (0): numba would compile each callee a second time for them
    for o in range(fan_out):
        if last:
            _zero(z, zero, zero, b)
        j = zero
        while j + 4 <= last:  # wide layers: four terms a pass
            _accumulate4(z, theta, w0 + j * fan_out + o, fan_out, acts, l, j, b)
            j += 4
        for j in range(j, last):
            _accumulate(z, theta[w0 + j * fan_out + o], acts, l, j, b)
        _activate(code, z if last else zeros, theta[w0 + last * fan_out + o], theta[b0 + o] if bias else 0.0, acts,
                  slopes, l, o, last, b, leaky_slope)


@_inner()
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
        o = np.int64(0)  # not a literal, as in _layer_forward
        while o + 4 < fan_out:  # wide layers: four weights a pass
            _weight_grad_and_backprop4(grad, w0 + j * fan_out + o, theta, acts, l, j, deltas, cur, o, b)
            o += 4
        for o in range(o, fan_out - 1):
            p = w0 + j * fan_out + o
            grad[p] += _weight_grad_and_backprop(acts, l, j, deltas, cur, o, theta[p], b)
        p = w0 + j * fan_out + fan_out - 1
        grad[p] += _weight_grad_and_backprop_last(acts, l, j, deltas, cur, fan_out - 1, theta[p], slopes, b)


# --- wide networks: matrix products --------------------------------------------------------------------
# Where a hidden-to-hidden layer is wide, its weights dominate the step, and the passes above
# (each weight a pass over the batch, 4 doubles an instruction, activations through memory)
# stay far from what the core can do; a matrix product blocks units and samples in registers
# and cache. Such networks train every layer on numba's ``np.dot`` (BLAS, from scipy) over
# contiguous blocks: layer l's activations are the first ``(sizes[l] + 1) * c`` values of row l of
# a 2-D buffer, a C-contiguous (sizes[l] + 1, c) block whose last row is all ones. BLAS runs on
# one thread (``_one_blas_thread``): on two, OpenBLAS rounds a product otherwise, and a trial's
# numbers would depend on whether its process had pinned BLAS (a sweep's workers do; its driver,
# a user's script need not).
#
# The row of ones carries the biases through the products: a layer's W (fan_in, fan_out) and b
# (fan_out) are adjacent in theta (network.Layout), so they are one (fan_in + 1, fan_out) matrix
# [W; b], and [W; b].T @ [A; 1] = W.T @ A + b. Backward, [A; 1] @ delta.T is the gradient of
# [W; b] in one product: the bias gradients are its last row, in place in grad. So a step makes
# three products per layer and, besides them, one pass a layer for the activation and one for
# f': no bias passes. (The bias is then a term of the product's sum rather than added after it:
# a difference of rounding, as BLAS's own order of summation is.)
WIDE_LAYER = 4096
"""Weights of a hidden-to-hidden layer from which the network trains on matrix products
(``_matmul_chunk``) instead of the passes, which are faster below (benchmarks/README.md)."""


def uses_matmul_path(sizes) -> bool:
    """Whether a network of these layer widths trains on matrix products: some hidden-to-hidden layer has at
    least WIDE_LAYER weights. (Steps of up to SMALL_BATCH samples still run one sample at a time.)"""
    return any(sizes[l] * sizes[l + 1] >= WIDE_LAYER for l in range(1, len(sizes) - 2))


MATMUL_BLOCK = 32768
"""Values (256 KB) of a layer's block on the matrix-product path at most: a batch is cut into chunks of as
many samples as fit, so that the block a product writes is still in L2 cache when the activation pass reads
it, and the same for the backward pass (benchmarks/README.md)."""


@_inner()
def _matmul_chunk_size(b, width):
    """Samples a chunk on the matrix-product path: at most CHUNK and MATMUL_BLOCK / width, the batch cut evenly."""
    most = max(1, min(CHUNK, MATMUL_BLOCK // width))
    pieces = (b + most - 1) // most
    return (b + pieces - 1) // pieces


@_inner()
def _one_input_forward(acts, theta, w0, b0, bias, fan_out, c):
    """acts[1] = x * w + b for a layer of one input: the product with K = 1 written out (BLAS spends more
    on packing than on it). Strict, no fused multiply-add: two roundings, as NumPy's."""
    for o in range(fan_out):
        w, b = theta[w0 + o], theta[b0 + o] if bias else -0.0  # -0.0: x + -0.0 is x, zeros' signs included
        for s in range(c):
            acts[1, o * c + s] = acts[0, s] * w + b


@_inner()
def _one_output_backward(deltas, cur, theta, w0, slopes, l, fan_in, c):
    """deltas[1 - cur] = (w * delta) * f' of layer l - 1 for a layer of one output: ``delta @ W.T`` (K = 1) and
    the slopes in one pass, rounded as NumPy's two steps."""
    for j in range(fan_in):
        w = theta[w0 + j]
        for s in range(c):
            deltas[1 - cur, j * c + s] = (w * deltas[cur, s]) * slopes[l - 1, j * c + s]


@_inner()
def _ones_row(acts, l, rows, c):
    """acts[l]'s (rows + 1, c) block gets its last row of ones (the biases' inputs)."""
    for s in range(c):
        acts[l, rows * c + s] = 1.0


@_inner(fastmath=SUM_MATH)
def _block_output_delta(acts, slopes, targets, c0, deltas, depth, n_out, c, scale):
    """_output_delta on (n_out, c) blocks."""
    total = 0.0
    for o in range(n_out):
        for s in range(c):
            r = acts[depth, o * c + s] - targets[o, c0 + s]
            total += r * r
            deltas[0, o * c + s] = (scale * r) * slopes[depth - 1, o * c + s]
    return total


@_inner()
def _block_times(deltas, i, slopes, l, n):
    """deltas[i, :n] *= slopes[l, :n]: d loss / d a to d loss / d z."""
    for p in range(n):
        deltas[i, p] *= slopes[l, p]


@_inner()
def _matmul_forward(theta, sizes, offsets, bias, hidden, output, acts, slopes, c, leaky_slope):
    """The forward pass of a chunk of c samples on matrix products: acts[l + 1], slopes[l] of every layer l from
    acts[0] (see _matmul_chunk). The activations by ``_units_pass``, whose compiled copies ``_sample_step``
    (the kernel's other part, warmup.py) shares through the cache."""
    depth = sizes.shape[0] - 1
    for l in range(depth):
        fan_in, fan_out, w0 = sizes[l], sizes[l + 1], offsets[l, 0]
        rows = fan_in + 1 if bias else fan_in
        if bias:
            _ones_row(acts, l, fan_in, c)
        if fan_in == 1:  # (the first layer of a 1-D problem)
            _one_input_forward(acts, theta, w0, offsets[l, 1], bias, fan_out, c)
        else:
            wb = theta[w0:w0 + rows * fan_out].reshape((rows, fan_out))  # [W; b]
            np.dot(wb.T, acts[l, :rows * c].reshape((rows, c)), acts[l + 1, :fan_out * c].reshape((fan_out, c)))
        _units_pass(output if l == depth - 1 else hidden, acts, slopes, l, fan_out * c, leaky_slope)


@_inner()
def _matmul_chunk(theta, grad, sizes, offsets, bias, hidden, output, acts, slopes, deltas, wgrad, targets, c0, c,
                  scale, leaky_slope):
    """Forward and backward of a chunk of c samples on matrix products; returns its sum of squared residuals.

    acts : (depth + 1, (width + 1) * chunk), layer l's activations in row l as a (sizes[l], c) block, then
    a row of ones where the layers have biases (row 0: the chunk's inputs); slopes : (depth, width * chunk)
    f'; deltas : (2, width * chunk) d loss / d z of the layer being differentiated and of the one below;
    wgrad : ((width + 1) * width,) scratch. The first chunk (c0 = 0) writes the gradients of weights and
    biases straight into grad (which the caller has zeroed), later ones add theirs.
    """
    depth = sizes.shape[0] - 1
    extra = 1 if bias else 0  # the row of ones
    _matmul_forward(theta, sizes, offsets, bias, hidden, output, acts, slopes, c, leaky_slope)
    sq = _block_output_delta(acts, slopes, targets, c0, deltas, depth, sizes[depth], c, scale)
    cur = np.int64(0)  # as in train_steps: a Literal[int] would compile the callees taking it twice
    for l in range(depth - 1, -1, -1):
        fan_in, fan_out, w0 = sizes[l], sizes[l + 1], offsets[l, 0]
        rows = fan_in + extra
        delta = deltas[cur, :fan_out * c].reshape((fan_out, c))
        block = acts[l, :rows * c].reshape((rows, c))
        if c0 == 0:
            np.dot(block, delta.T, grad[w0:w0 + rows * fan_out].reshape((rows, fan_out)))
        else:
            np.dot(block, delta.T, wgrad[:rows * fan_out].reshape((rows, fan_out)))
            for p in range(rows * fan_out):
                grad[w0 + p] += wgrad[p]
        if l and fan_out == 1:  # (the output layer of a 1-D problem)
            _one_output_backward(deltas, cur, theta, w0, slopes, l, fan_in, c)
        elif l:
            w = theta[w0:w0 + fan_in * fan_out].reshape((fan_in, fan_out))
            np.dot(w, delta, deltas[1 - cur, :fan_in * c].reshape((fan_in, c)))
            _block_times(deltas, 1 - cur, slopes, l - 1, fan_in * c)
        cur = 1 - cur
    return sq


# --- one sample at a time, for small batches ------------------------------------------------------------
# A pass over a batch of a few samples is all overhead (call, alias checks, loop set-up). For
# small batches the kernel instead runs network.py's forward and backward per sample, in
# scalars, accumulating the gradient: the same math, summed in another order. It is inlined
# into train_steps: a call that is not pays numba's reference counting, an atomic increment
# and decrement for each of its 8 array arguments, per sample.
# A layer's activations are a loop of their own over its units (``_units_pass``), which LLVM
# vectorizes as it does the passes (tanh, sigmoid, softplus and elu are some 30 operations a
# value; benchmarks/README.md has the figures).


@_per_code(CODES, inline=True, forceinline=True, fastmath=ELEMENTWISE_MATH)
def _units_pass(code):
    def units_pass(a, da, l, fan_out, leaky_slope):
        """a[l + 1, o], da[l, o] = f, f' of a[l + 1, o] (the pre-activation) for every unit o of layer l."""
        for o in range(fan_out):
            a[l + 1, o], da[l, o] = _act_and_slope(code, a[l + 1, o], leaky_slope)

    return units_pass


@_inner(forceinline=True, fastmath=ELEMENTWISE_MATH)
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
            a[l + 1, o] = z + theta[b0 + o] if bias else z
        _units_pass(code, a, da, l, fan_out, leaky_slope)
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
# Inlined into train_steps, as _sample_step is, for the same reason (a call's reference counting).


@_inner(forceinline=True)
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
# The loop is compiled twice, once per kind of step (TRAINERS). numba compiles every branch of a
# function and links and optimizes every callee into it: one loop over all the paths compiled
# last and alone, after everything it calls (~4 s on a fresh machine, while the other worker of a
# sweep waited). Each copy holds only its own paths' code, the other's branches cut by numba at
# compile time (a closure's constant flag), so warmup.py's two processes compile one each, side
# by side. Which copy runs a segment is decided in one place, :func:`trainer_kind`.

TRAINERS = ("layers", "paths")
"""The kinds of step, each a compiled copy of the training loop: the layers (their elementwise
passes, or matrix products where ``uses_matmul_path``); and the paths of 1 -> h -> 1 networks with
a RECOMPUTED hidden activation (piecewise, recomputed) and of every batch of at most SMALL_BATCH
samples (one sample at a time)."""


def trainer_kind(sizes, hidden: int, b: int) -> str:
    """The kind of step (one of TRAINERS) that trains a network of layer widths ``sizes`` and hidden activation
    code ``hidden`` on batches of ``b`` samples."""
    if b <= SMALL_BATCH or (len(sizes) == 3 and sizes[0] == 1 and sizes[2] == 1 and hidden in RECOMPUTED):
        return "paths"
    return "layers"


# numba compiles its own versions of NumPy's functions (sizes.max(), np.zeros) afresh in every
# process, for each compiled function that calls them, without a cache entry: ~0.5 s of a training
# loop's compile. These two loops are compiled functions of this file, cached once.
@_inner()
def _widest(sizes):
    """max(sizes): the widest layer."""
    width = sizes[0]
    for w in sizes:
        width = max(width, w)
    return width


@_inner()
def _zeros(chunk):
    """A (1, 1, chunk) row of zeros, shaped like a row of acts."""
    zeros = np.empty((1, 1, chunk))
    for s in range(chunk):
        zeros[0, 0, s] = 0.0
    return zeros


def _trainer(kind: str):
    paths = kind == "paths"  # a constant of the compiled copy: numba cuts the other kind's branches

    def train_steps(theta, state, t, x, y, batches, k, limit, sizes, offsets, bias, hidden, output, optimizer, hp,
                    piecewise, matmul):
        depth = sizes.shape[0] - 1
        n_in, n_out = sizes[0], sizes[depth]
        width = _widest(sizes)
        m, b = batches.shape
        chunk = _matmul_chunk_size(b, width) if not paths and matmul else min(b, CHUNK)
        inputs = np.empty((n_in, b))  # the batch, feature-major
        targets = np.empty((n_out, b))
        acts = np.empty((depth + 1, width + 1, chunk))  # acts[0]: a chunk of inputs; acts[l + 1]: output of layer l
        # (and room for _matmul_chunk's row of ones)
        slopes = np.empty((depth, width, chunk))  # f' of layer l at its pre-activation
        deltas = np.empty((2, width, chunk))  # d loss / d z of the current layer, and of the one below
        z = np.empty((1, 1, chunk))  # the pre-activation of one unit, shaped like a row of acts
        block_acts = acts.reshape((depth + 1, (width + 1) * chunk))  # the same buffers as _matmul_chunk's blocks
        block_slopes, block_deltas = slopes.reshape((depth, width * chunk)), deltas.reshape((2, width * chunk))
        wgrad = np.empty((width + 1) * width)
        zeros = _zeros(chunk)
        sample_acts, sample_slopes = np.empty((depth + 1, width)), np.empty((depth, width))  # for _sample_step
        sample_deltas = np.empty((2, width))
        unit_pair, unit_grads = np.empty(6), np.empty(6)  # for _recomputed_chunk
        grad = np.empty(theta.shape[0])
        scale = 2.0 / (b * n_out)  # losses.py: d mean(r**2) / d r = 2 r / r.size
        shallow = depth == 2 and n_in == 1 and n_out == 1  # 1 -> hidden -> 1, the seeds' shape: see _shallow_grads
        piecewise = paths and piecewise and shallow and hidden in RECOMPUTED and m == 1
        h = sizes[1]
        if paths:  # for _piecewise_step, carried from step to step (np.arange: a loop in its place ran the
            kinks, order = np.zeros(h, dtype=np.int64), np.arange(h)  # piecewise steps 6% slower)
        else:
            kinks = order = np.empty(0, dtype=np.int64)
        bounds = np.empty(h + 2, dtype=np.uint64)  # unsigned: an index numba cannot prove >= 0 it wraps as
        # Python does, and the wrap turns a vectorized loop's loads into gathers (slower: benchmarks/README.md)
        lines, sums, right = np.empty((2, h + 1)), np.empty((2, h + 1)), np.empty((2, h + 1))
        staged = False  # acts[0] holds the batch (one batch in one chunk stays there from step to step)
        piecewise_steps = 0  # steps taken on the piecewise path

        for i in range(k):
            if i < m and (b > SMALL_BATCH or piecewise):  # one batch (m = 1) is gathered once for the whole segment
                for s in range(b):
                    row = batches[i, s]
                    for j in range(n_in):
                        inputs[j, s] = x[row, j]
                    for j in range(n_out):
                        targets[j, s] = y[row, j]
                if paths and piecewise:
                    piecewise = _sorted_and_moderate(inputs, b)

            on_lines = False
            sq = 0.0  # the step's sum of squared residuals
            if paths:
                on_lines = piecewise and _moderate(theta)
                if on_lines:
                    sq = _piecewise_step(grad, theta, offsets, h, bias, hidden, output, inputs, targets, b, scale,
                                         hp.leaky_slope, kinks, order, bounds, lines, sums, right)
                    on_lines = sq < math.inf  # else residuals overflowed: the step again, elementwise (PIECEWISE_RANGE)
            if paths and not on_lines and b <= SMALL_BATCH:
                grad[:] = 0.0
                sq = 0.0
                for s in range(b):
                    sq += _sample_step(x, y, batches[i if i < m else 0, s], theta, grad, sample_acts, sample_slopes,
                                       sample_deltas, sizes, offsets, bias, hidden, output, hp.leaky_slope, scale)
            elif not on_lines:
                grad[:] = 0.0
                sq = 0.0
                for c0 in range(0, b, chunk):
                    c = min(chunk, b - c0)
                    if not staged:  # row 0: (n_in, chunk) for the passes, an (n_in, c) block for matrix products
                        stride = c if matmul else chunk
                        for j in range(n_in):
                            for s in range(c):
                                block_acts[0, j * stride + s] = inputs[j, c0 + s]
                    if not paths and matmul:
                        sq += _matmul_chunk(theta, grad, sizes, offsets, bias, hidden, output, block_acts,
                                            block_slopes, block_deltas, wgrad, targets, c0, c, scale, hp.leaky_slope)
                    elif paths:  # 1 -> h -> 1, hidden in RECOMPUTED (trainer_kind)
                        sq += _recomputed_chunk(hidden, output, theta, offsets, h, bias, acts, slopes, deltas, z,
                                                targets, c0, grad, c, scale, hp.leaky_slope, unit_pair, unit_grads)
                    else:
                        for l in range(depth):
                            _layer_forward(output if l == depth - 1 else hidden, acts, slopes, z, zeros, l, theta,
                                           offsets[l, 0], offsets[l, 1], sizes[l], sizes[l + 1], bias, c,
                                           hp.leaky_slope)
                        sq += _output_delta(acts, slopes, targets, c0, deltas, depth, n_out, c, scale)
                        if shallow:
                            w1 = offsets[1, 0]
                            if bias:
                                zero = np.int64(0)  # not a literal, as below
                                grad[offsets[1, 1]] += _bias_grad(deltas, zero, zero, c)
                            for j in range(sizes[1]):
                                _shallow_grads(grad, acts, deltas, j, theta[w1 + j], slopes, w1 + j,
                                               offsets[0, 0] + j, offsets[0, 1] + j if bias else -1, c)
                        else:
                            cur = np.int64(0)  # not 0: a Literal[int] would compile _layer_backward a second time
                            for l in range(depth - 1, -1, -1):
                                _layer_backward(grad, acts, slopes, deltas, cur, l, theta, offsets[l, 0],
                                                offsets[l, 1], sizes[l], sizes[l + 1], bias, c)
                                cur = 1 - cur
                staged = m == 1 and b <= chunk
            loss = sq / (b * n_out)
            if not loss <= limit:  # the divergence rule: no update from this step; also catches NaN
                return i, piecewise_steps

            if hp.weight_decay:  # grad += decay * W, on weights only
                for l in range(depth):
                    for p in range(offsets[l, 0], offsets[l, 1]):
                        grad[p] += hp.weight_decay * theta[p]
            _update(optimizer, theta, grad, state, t + i + 1, hp)
            if on_lines:
                piecewise_steps += 1
        return k, piecewise_steps

    train_steps.__doc__ = TRAIN_STEPS_DOC
    return _public()(_named(train_steps, kind))


TRAIN_STEPS_DOC = """Take up to ``k`` steps on ``theta`` in place; return (steps taken before a loss broke ``limit``,
how many of them ran the piecewise-linear path).

Parameters
----------
theta : (P,) parameters in network.Layout order; state : (2, P) optimizer state, kept by the caller
t : Adam steps taken before this call
x, y : (n, n_in) and (n, n_out) training data
batches : (m, b) sample indices; step i uses ``batches[i]``, or ``batches[0]`` for every step when m = 1
sizes : (depth + 1,) layer widths; offsets : (depth, 3) network.Layout.offsets()
hidden, output, optimizer : kernel codes; hp : Hyper
piecewise : ``uses_piecewise_path`` of the config: run the steps with ``_piecewise_step`` where
    that is exact (one batch, in increasing order of x, parameters far from overflow)
matmul : ``uses_matmul_path(sizes)``: run passes over the batch as matrix products (``_matmul_chunk``)

Only the copy of :func:`trainer_kind` for ``sizes``, ``hidden`` and ``b`` may be called (each holds
its own paths only)."""

TRAIN_STEPS = {kind: _trainer(kind) for kind in TRAINERS}
"""Kind of step -> the compiled training loop that takes it."""


# --- the loss of the model's predictions, at the learning curve's checkpoints ----------------------------


MATMUL_FORWARD = 512
"""Weights of a hidden-to-hidden layer from which fit()'s checkpoint losses take NumPy's forward
pass (BLAS's matrix products) instead of mse_of, which is faster below (benchmarks/README.md);
networks on the matrix-product path (WIDE_LAYER) take mse_of_blocks instead of either."""


@_inner(fastmath=SUM_MATH)
def _squared_errors(acts, depth, o, y, c0, c, y_scale, y_offset):
    """Sum over a chunk of (prediction - y)**2 for output o, the prediction in y's units."""
    sq = 0.0
    for s in range(c):
        r = acts[depth, o, s] * y_scale + y_offset - y[c0 + s, o]
        sq += r * r
    return sq


@_public()
def mse_of(theta, x, y, sizes, offsets, bias, hidden, output, leaky_slope, y_scale, y_offset):
    """mean((prediction - y)**2), the prediction ``out * y_scale + y_offset`` in y's units: Model.predict's math.

    x : (n, n_in) inputs, scaled as for training; y : (n, n_out) targets in their own units;
    y_scale, y_offset : (n_out,) the target scaler's inverse. fit() takes the training and the
    validation loss at each of ~100 checkpoints: with NumPy, most of a small network's training.
    """
    depth = sizes.shape[0] - 1
    n, n_in, n_out = x.shape[0], sizes[0], sizes[depth]
    chunk = min(n, CHUNK)
    width = _widest(sizes)
    acts = np.empty((depth + 1, width, chunk))
    slopes = np.empty((depth, width, chunk))  # _layer_forward's f', unused here
    z, zeros = np.empty((1, 1, chunk)), _zeros(chunk)
    sq = 0.0
    for c0 in range(0, n, chunk):
        c = min(chunk, n - c0)
        for j in range(n_in):
            for s in range(c):
                acts[0, j, s] = x[c0 + s, j]
        for l in range(depth):
            _layer_forward(output if l == depth - 1 else hidden, acts, slopes, z, zeros, l, theta, offsets[l, 0],
                           offsets[l, 1], sizes[l], sizes[l + 1], bias, c, leaky_slope)
        for o in range(n_out):
            sq += _squared_errors(acts, depth, o, y, c0, c, y_scale[o], y_offset[o])
    return sq / (n * n_out)


@_inner(fastmath=SUM_MATH)
def _block_squared_errors(acts, depth, o, y, c0, c, y_scale, y_offset):
    """_squared_errors on an (n_out, c) block."""
    sq = 0.0
    for s in range(c):
        r = acts[depth, o * c + s] * y_scale + y_offset - y[c0 + s, o]
        sq += r * r
    return sq


@_public()
def mse_of_blocks(theta, x, y, sizes, offsets, bias, hidden, output, leaky_slope, y_scale, y_offset):
    """:func:`mse_of` on the matrix-product path's forward pass (``_matmul_forward``), for networks that train on it:
    faster there than the passes, and than NumPy's forward (NumPy's tanh is not vectorized on every CPU).
    Call it with BLAS on one thread (``_one_blas_thread``), as the training loops."""
    depth = sizes.shape[0] - 1
    n, n_in, n_out = x.shape[0], sizes[0], sizes[depth]
    width = _widest(sizes)
    chunk = _matmul_chunk_size(n, width)
    acts = np.empty((depth + 1, (width + 1) * chunk))
    slopes = np.empty((depth, width * chunk))  # f', unused here
    sq = 0.0
    for c0 in range(0, n, chunk):
        c = min(chunk, n - c0)
        for j in range(n_in):
            for s in range(c):
                acts[0, j * c + s] = x[c0 + s, j]
        _matmul_forward(theta, sizes, offsets, bias, hidden, output, acts, slopes, c, leaky_slope)
        for o in range(n_out):
            sq += _block_squared_errors(acts, depth, o, y, c0, c, y_scale[o], y_offset[o])
    return sq / (n * n_out)


# --- the kernel in parts, so that two processes can share its compile (warmup.py) -------------------------
# The kernel compiles in ~15 s of CPU on a fresh machine. Its compiled functions have cache
# entries of their own, and numba compiling a caller loads a callee from the cache instead of
# compiling it again. So one process compiles the "layers" (the layer passes, mse_of, the update,
# the matrix products and the layers' training loop) while another compiles the "paths" (the
# piecewise, recomputed and one-sample steps and the paths' training loop), each about half of
# the whole (benchmarks/README.md), and then each loads the other's from the cache. The argument
# types are those the training loops and KernelBackend call them with, written out; a test checks
# them against what fits compile (a wrong one would cost a second compile, never a wrong result).


def part_signatures() -> dict[str, list]:
    """Part name -> [(compiled function, the argument types a training loop or KernelBackend calls it with)]."""
    f1, f2, f3 = (types.Array(types.float64, ndim, "C") for ndim in (1, 2, 3))
    i1, i2, u1 = types.Array(types.int64, 1, "C"), types.Array(types.int64, 2, "C"), types.Array(types.uint64, 1, "C")
    i, f, flag = types.int64, types.float64, types.boolean
    hyper = typeof(Hyper(*[0.0] * len(Hyper._fields)))
    trainer = (f1, f2, i, f2, f2, i2, i, f, i1, i2, flag, i, i, i, hyper, flag, flag)
    return {  # each about half of the compile, in an order that finds the other's shared callees in the cache
        "layers": [
            (_layer_forward, (i, f3, f3, f3, f3, i, f1, i, i, i, i, flag, i, f)),
            (mse_of, (f1, f2, f2, i1, i2, flag, i, i, f, f1, f1)),
            (_layer_backward, (f1, f3, f3, f3, i, i, f1, i, i, i, i, flag, i)),
            (_shallow_grads, (f1, f3, f3, i, f, f3, i, i, i, i)),
            (_update, (i, f1, f1, f2, i, hyper)),
            (_matmul_chunk, (f1, f1, i1, i2, flag, i, i, f2, f2, f2, f1, f2, i, i, f, f)),
            (mse_of_blocks, (f1, f2, f2, i1, i2, flag, i, i, f, f1, f1)),
            (TRAIN_STEPS["layers"], trainer),
        ],
        "paths": [
            (_piecewise_step, (f1, f1, i2, i, flag, i, i, f2, f2, i, f, f, i1, i1, u1, f2, f2, f2)),
            (_recomputed_chunk, (i, i, f1, i2, i, flag, f3, f3, f3, f3, f2, i, f1, i, f, f, f1, f1)),
            (_sample_step, (f2, f2, i, f1, f1, f2, f2, f2, i1, i2, flag, i, i, f, f)),
            (TRAIN_STEPS["paths"], trainer),
        ],
    }


PARTS = ("layers", "paths")
"""The parts of the kernel :func:`compile_part` compiles, each in a process of its own (warmup.py)."""


def compile_part(part: str) -> None:
    """Compile one of PARTS, or load it from numba's cache where it is there."""
    for dispatcher, signature in part_signatures()[part]:
        dispatcher.compile(signature)


@functools.cache
def _blas_controller():
    """threadpoolctl's handle on the BLAS libraries loaded once scipy's is (numba's np.dot calls scipy's)."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads the library numba's np.dot calls)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread(matmul: bool):
    """A context that limits BLAS to one thread while the kernel runs the matrix-product path (a no-op otherwise)."""
    return _blas_controller().limit(limits=1, user_api="blas") if matmul else contextlib.nullcontext()


class KernelBackend:
    """Runs training segments with the compiled training loops (``TRAIN_STEPS``); a drop-in for ``train.NumpyBackend``.

    Holds the Network's ``theta`` (updated in place, so the Model sees every step) and the
    optimizer state, which persists across ``run`` calls as NumPy's optimizer object does.
    """

    name = "numba"

    def __init__(self, config: MLPConfig, net: Network):
        self.hidden = kernel_code("activation", config.activation, ACTIVATION_CODES)
        self.output = kernel_code("output_activation", config.output_activation, ACTIVATION_CODES)
        self.optimizer = kernel_code("optimizer", config.optimizer, OPTIMIZER_CODES)
        kernel_code("loss", config.loss, {name: 0 for name in LOSSES if name in _LOSS_KERNELS})
        self.net, self.theta = net, net.theta
        layout = net.layout
        self.sizes = np.asarray(layout.sizes, dtype=np.int64)
        self.offsets = np.asarray(layout.offsets(), dtype=np.int64)
        self.bias = layout.bias
        self.state = np.zeros((2, len(self.theta)))
        self.t = 0
        self.hp = Hyper(float(config.lr), float(config.momentum), float(config.weight_decay), float(LEAKY_SLOPE),
                        ADAM_BETA1, ADAM_BETA2, ADAM_EPS)
        self.piecewise = uses_piecewise_path(config, layout.sizes[0], layout.sizes[-1])
        self.piecewise_steps = 0
        """Steps taken on the piecewise-linear path so far (tests check that it is taken)."""
        self.matmul = uses_matmul_path(layout.sizes)
        self._trainers = {}  # batch size -> the compiled loop of its kind of step (trainer_kind)
        self._full = np.empty((0, 0), dtype=np.int64)
        self._full_for = np.empty((0, 0))  # the inputs self._full was sorted for
        sizes = layout.sizes
        self._blas_forward = any(sizes[l] * sizes[l + 1] >= MATMUL_FORWARD for l in range(1, len(sizes) - 2))

    def run(self, x: np.ndarray, y: np.ndarray, batches: np.ndarray | None, k: int, limit: float) -> int:
        """Take up to ``k`` steps; return how many were taken before a loss broke ``limit`` (or k).

        ``batches`` is None for full batch, else (k, b) indices into x and y.
        """
        piecewise = self.piecewise and batches is None
        if batches is None:
            batches = self._full_batch(x)
        b = batches.shape[1]
        trainer = self._trainers.get(b)
        if trainer is None:  # once per batch size: a segment of the smallest networks takes a few microseconds
            trainer = self._trainers[b] = TRAIN_STEPS[trainer_kind(self.sizes, self.hidden, b)]
        with _one_blas_thread(self.matmul):
            taken, on_lines = trainer(self.theta, self.state, self.t, np.ascontiguousarray(x, dtype=np.float64),
                                      np.ascontiguousarray(y, dtype=np.float64),
                                      np.ascontiguousarray(batches, dtype=np.int64), k, float(limit), self.sizes,
                                      self.offsets, self.bias, self.hidden, self.output, self.optimizer, self.hp,
                                      piecewise, self.matmul)
        self.t += taken
        self.piecewise_steps += on_lines
        return taken

    def mse(self, x: np.ndarray, y: np.ndarray, y_scaler: Scaler) -> float:
        """The loss of the curve (see Network.mse): the forward pass of the matrix-product path for networks that
        train on it (:func:`mse_of_blocks`); else this kernel's passes (:func:`mse_of`), or NumPy's forward where
        a hidden-to-hidden layer is a matrix product that BLAS does faster (see MATMUL_FORWARD)."""
        if self.matmul:
            with _one_blas_thread(True):  # as train_steps: the same bits whatever BLAS threads the process allows
                return float(mse_of_blocks(self.theta, np.ascontiguousarray(x, dtype=np.float64),
                                           np.ascontiguousarray(y, dtype=np.float64), self.sizes, self.offsets,
                                           self.bias, self.hidden, self.output, self.hp.leaky_slope, y_scaler.scale,
                                           y_scaler.offset))
        if self._blas_forward:
            with _one_blas_thread(True):  # as train_steps: the same bits whatever BLAS threads the process allows
                return self.net.mse(x, y, y_scaler)
        return float(mse_of(self.theta, np.ascontiguousarray(x, dtype=np.float64),
                            np.ascontiguousarray(y, dtype=np.float64), self.sizes, self.offsets, self.bias,
                            self.hidden, self.output, self.hp.leaky_slope, y_scaler.scale, y_scaler.offset))

    def _full_batch(self, x: np.ndarray) -> np.ndarray:
        """Every sample, as one (1, n) batch: in increasing order of x for the piecewise path, which needs it.

        The order is kept while the inputs stay the same (fit passes the same data every segment).
        It only permutes the rows the kernel gathers: the caller's arrays are never reordered.
        """
        if not self.piecewise:
            if self._full.shape != (1, len(x)):
                self._full = np.arange(len(x), dtype=np.int64)[None, :]
        elif not np.array_equal(self._full_for, x):
            self._full = np.argsort(x[:, 0], kind="stable")[None, :]
            self._full_for = np.array(x, copy=True)
        return self._full

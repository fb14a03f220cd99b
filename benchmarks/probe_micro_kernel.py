"""Can numba's own loops replace OpenBLAS on the wide step's products? A probe for issue 33.4.

    OPENBLAS_NUM_THREADS=1 python benchmarks/probe_micro_kernel.py [--rounds 3] [--calls 2000]

The forward product of a 1-64-64-1 step's hidden layer, C (64, 496) = [W; b].T (64, 65) @
A (65, 496), three ways, in one process, interleaved, CPU time of one thread:

- ``blas``: ``np.dot`` in numba, which calls OpenBLAS's dgemm (what the kernel does);
- ``registers``: a 4 x 8 block of C in 32 scalar accumulators, K innermost (a micro-kernel's shape,
  left to LLVM to vectorize);
- ``rows``: four rows of C at a time, updated along a row of A (the loop LLVM vectorizes).

Each is checked against NumPy's product first.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit

K, M, N = 65, 64, 496


@njit(fastmath=True, boundscheck=False)
def registers(W, A, C):
    k_, m_ = W.shape
    n_ = A.shape[1]
    for i in range(0, m_, 4):
        for j in range(0, n_, 8):
            acc = np.zeros((4, 8))
            for k in range(k_):
                for r in range(4):
                    w = W[k, i + r]
                    for s in range(8):
                        acc[r, s] += w * A[k, j + s]
            C[i : i + 4, j : j + 8] = acc


@njit(fastmath=True, boundscheck=False)
def rows(W, A, C):
    k_, m_ = W.shape
    n_ = A.shape[1]
    for i in range(0, m_, 4):
        c0, c1, c2, c3 = C[i], C[i + 1], C[i + 2], C[i + 3]
        for j in range(n_):
            c0[j] = c1[j] = c2[j] = c3[j] = 0.0
        for k in range(k_):
            w0, w1, w2, w3 = W[k, i], W[k, i + 1], W[k, i + 2], W[k, i + 3]
            a = A[k]
            for j in range(n_):
                c0[j] += w0 * a[j]
                c1[j] += w1 * a[j]
                c2[j] += w2 * a[j]
                c3[j] += w3 * a[j]


@njit
def blas(W, A, C):
    np.dot(W.T, A, C)


@njit
def repeat(f, W, A, C, n):
    for _ in range(n):
        f(W, A, C)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    W, A = rng.standard_normal((K, M)), rng.standard_normal((K, N))
    C = np.empty((M, N))
    ways = {"blas": blas, "registers": registers, "rows": rows}
    for name, f in ways.items():
        repeat(f, W, A, C, 1)  # compiled before timing
        assert np.allclose(C, W.T @ A, rtol=1e-12, atol=1e-12), name
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, f in ways.items():
            t = time.process_time()
            repeat(f, W, A, C, args.calls)
            times[name].append((time.process_time() - t) / args.calls)
    for name, ts in times.items():
        best = min(ts)
        rate = 2 * K * M * N / best / 1e9
        print(f"{name:10s} {best * 1e6:8.1f} us  {rate:5.1f} GFLOP/s (best of {args.rounds})")


if __name__ == "__main__":
    main()

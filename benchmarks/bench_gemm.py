"""Matrix products of the kernels: ``np.dot`` in Numba vs ``tsrnn.kernels.blas.gemm``.

Times, on one BLAS thread and in float32, the products a training batch and an
inference shard make: the per-step recurrent products (32 rows: ``h @ W_hh^T``
forward, ``dR @ W_hh`` backward), the weight gradient ``dZ^T @ H`` over a
shard's 48 x 32 rows, the row-layout inference product (256 rows) and the
transposed LSTM inference product ``W_hh @ h^T`` (256 columns).  Both sides run
inside a jitted loop, so the numbers are what a kernel sees; GFLOP/s = 2 m n k /
time.  The float32 GEMM peak (NumPy, 2048 x 2048, same thread) is the anchor.

Usage::

    env -u OPENBLAS_CORETYPE python benchmarks/bench_gemm.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from tsrnn._threading import thread_limits  # noqa: E402
from tsrnn.kernels.blas import gemm  # noqa: E402

from _common import cpu_description, gemm_peak  # noqa: E402


@njit(nogil=True, error_model="numpy")
def _np_dot(A, B, C, trans_a, reps):
    for _ in range(reps):
        if trans_a:
            np.dot(A.T, B, C)
        else:
            np.dot(A, B, C)


@njit(nogil=True, error_model="numpy")
def _gemm(A, B, C, trans_a, reps):
    for _ in range(reps):
        gemm(A, B, C, 0.0, trans_a)


def _rate(fn, A, B, C, trans_a, flops):
    reps = max(10, int(3e8 / flops))
    fn(A, B, C, trans_a, 2)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fn(A, B, C, trans_a, reps)
        best = min(best, (time.perf_counter() - t0) / reps)
    return flops / best / 1e9


def shapes():
    """(name, m, k, n, trans_a) for every cell size the benchmarks use."""
    out = []
    for cell, G in (("elman", 1), ("gru", 3), ("lstm", 4)):
        for H in (16, 32, 64, 128):
            GH = G * H
            out += [(f"{cell} H={H} step fwd", 32, H, GH, False),
                    (f"{cell} H={H} step bwd", 32, GH, H, False),
                    (f"{cell} H={H} weight grad", GH, 48 * 32, H, True),
                    (f"{cell} H={H} infer rows", 256, H, GH, False)]
            if cell == "lstm":
                out.append((f"{cell} H={H} infer transposed", GH, H, 256, False))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    with thread_limits(1):
        peak = gemm_peak(1)
        print(f"# bench_gemm {time.strftime('%Y-%m-%d %H:%M')} cpu: {cpu_description()}; "
              f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
        print(f"float32 GEMM peak, 1 thread: {peak:.0f} GFLOP/s")
        print(f"{'product':34s} {'m x k @ k x n':>20s} | {'np.dot':>7s} {'gemm':>7s} {'ratio':>6s}")
        for name, m, k, n, ta in shapes():
            A = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
            B = rng.standard_normal((k, n)).astype(np.float32)
            C = np.empty((m, n), np.float32)
            flops = 2.0 * m * n * k
            r_np = _rate(_np_dot, A, B, C, ta, flops)
            r_g = _rate(_gemm, A, B, C, ta, flops)
            ref = (A.T if ta else A).astype(np.float64) @ B
            assert np.allclose(C, ref, rtol=1e-3, atol=1e-3 * k), name
            rows.append(dict(product=name, m=m, k=k, n=n, trans_a=ta, np_dot=r_np, gemm=r_g))
            shape = f"{'(%dx%d)^T' % (k, m) if ta else '(%dx%d)' % (m, k)}@({k}x{n})"
            print(f"{name:34s} {shape:>20s} | {r_np:7.0f} {r_g:7.0f} {r_g / r_np:6.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(peak=peak, rows=rows), fh, indent=1)


if __name__ == "__main__":
    main()

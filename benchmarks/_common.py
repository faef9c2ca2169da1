"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import time

import numpy as np


def cpu_description() -> str:
    """``"<model name>, <n> logical cores"`` from /proc/cpuinfo ("unknown" elsewhere)."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores"


def gemm_peak(threads, n=2048, reps=5):
    """Float32 GEMM rate (GFLOP/s) of NumPy's BLAS on ``threads`` threads: an n x n
    product, best of ``reps`` (the anchor every benchmark compares against)."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.T.copy()
    with threadpool_limits(threads):
        a @ b
        best = min(_timeit(lambda: a @ b) for _ in range(reps))
    return 2 * n ** 3 / best / 1e9


def _timeit(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0

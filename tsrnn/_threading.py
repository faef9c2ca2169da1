"""Thread-count control for Numba kernels (restored in ``finally``)."""

from __future__ import annotations

import contextlib
import os
import threading

_lock = threading.RLock()
_pool = None


def resolve_n_jobs(n_jobs) -> int:
    """Map scikit-learn style ``n_jobs`` to a thread count for Numba.

    ``None`` or ``-1`` means every thread Numba may use; a negative value ``-k``
    means all but ``k - 1``; a positive value is capped at Numba's maximum.
    """
    import numba

    max_threads = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return max_threads
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int,)) and not hasattr(n_jobs, "__index__"):
        raise TypeError(f"n_jobs must be an int or None, got {n_jobs!r}")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs=0 is not valid; use None (all cores), a positive count or -1")
    if n_jobs < 0:
        return max(1, max_threads + 1 + n_jobs)
    return min(n_jobs, max_threads)


_malloc_tuned = False


def tune_malloc():
    """Keep glibc from returning and re-faulting the kernels' temporaries every batch.

    A training step allocates and frees a few MiB of per-shard work arrays.  With
    glibc's defaults, blocks over 128 KiB come from ``mmap`` and free memory over
    128 KiB at the top of the heap is handed back to the OS, so each batch pays
    fresh page faults: measured 3.5 vs 2.4 s per epoch for an LSTM with 64 units
    (benchmarks/RESULTS.md).  Once per process, this raises the trim threshold to
    64 MiB and the mmap threshold to 32 MiB (what glibc's own dynamic rule reaches
    after a 32 MiB block is freed).  It affects the whole process: set
    ``TSRNN_MALLOC_TUNE=0`` to leave malloc alone.  A no-op without glibc.
    """
    global _malloc_tuned
    if _malloc_tuned:
        return
    _malloc_tuned = True
    if os.environ.get("TSRNN_MALLOC_TUNE", "1").strip().lower() in ("0", "false", "no", "off"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):   # not glibc (macOS, Windows, musl)
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    mallopt(M_TRIM_THRESHOLD, 64 << 20)
    mallopt(M_MMAP_THRESHOLD, 32 << 20)


@contextlib.contextmanager
def thread_limits(n_jobs=None):
    """Run kernels with ``n_jobs`` Numba threads and single-threaded BLAS.

    BLAS calls made from inside the parallel kernels must not start threads of
    their own (that would oversubscribe the cores and make timings erratic).
    The previous settings are restored on exit, also after an exception.
    """
    import numba

    tune_malloc()
    n = resolve_n_jobs(n_jobs)
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with _blas_single_thread():
            yield n
    finally:
        numba.set_num_threads(previous)


_blas_ctl = None


@contextlib.contextmanager
def _blas_single_thread():
    global _blas_ctl
    if os.environ.get("TSRNN_BLAS_LIMIT", "1") == "0":
        yield
        return
    from threadpoolctl import ThreadpoolController

    with _lock:
        if _blas_ctl is None:
            # the BLAS Numba calls (SciPy's) must be loaded before the scan
            import scipy.linalg.cython_blas  # noqa: F401

            _blas_ctl = ThreadpoolController()
        ctl = _blas_ctl
    with ctl.limit(limits=1, user_api="blas"):
        yield


def _executor():
    global _pool
    with _lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1)),
                                       thread_name_prefix="tsrnn")
        return _pool


def run_blocks(n_tasks, work):
    """Run ``work(t0, t1)`` over ``range(n_tasks)`` cut into contiguous blocks, one
    block per thread (Numba's current thread count, see :func:`thread_limits`).

    ``work`` must be a ``nogil`` jitted kernel (or call one) so that the blocks
    run in parallel; the calling thread runs the first block itself.  Which
    thread runs which task never changes a result: each task writes its own
    outputs, and the caller reduces them in task order.  Exceptions propagate.

    This replaces a ``prange`` loop in the drivers: a parallel Numba function
    takes two to three times longer to compile than the serial kernel it calls
    (measured by benchmarks/bench_startup.py), which users pay on a cold start.
    """
    import numba

    n_threads = min(numba.get_num_threads(), n_tasks)
    if n_threads <= 1:
        work(0, n_tasks)
        return
    per, extra = divmod(n_tasks, n_threads)
    bounds, start = [], 0
    for k in range(n_threads):
        stop = start + per + (1 if k < extra else 0)
        bounds.append((start, stop))
        start = stop
    pool = _executor()
    futures = [pool.submit(work, a, b) for a, b in bounds[1:]]
    try:
        work(*bounds[0])
    finally:
        for f in futures:
            f.result()

"""Thread-count control for Numba kernels (restored in ``finally``)."""

from __future__ import annotations

import contextlib
import os
import threading
import time

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


#: reads of a flag a worker makes before it sleeps (about a millisecond), and the
#: caller before it polls: long enough to bridge the Python between two batches
SPIN_READS = 1 << 20
_LINE = 8   # int64 slots per worker: one 64-byte cache line each


class _SpinPool:
    """Persistent worker threads that wait for their next task spinning (without
    the GIL, :func:`tsrnn.kernels.spin.spin_until_changed`) before sleeping.

    ``flags[w * _LINE]`` is worker ``w``'s task generation (written by the caller),
    ``flags[w * _LINE + 1]`` the last generation it finished.  One caller at a time
    (:meth:`run` is guarded by ``busy``; others use the executor).
    """

    def __init__(self, n_workers):
        import numpy as np

        from tsrnn.kernels.spin import spin_until_changed

        self.spin = spin_until_changed
        self.n = n_workers
        self.flags = np.zeros(n_workers * _LINE, np.int64)
        self.tasks = [None] * n_workers
        self.errors = [None] * n_workers
        self.sleeping = [False] * n_workers
        self.cv = threading.Condition()
        self.busy = threading.Lock()
        self.pid = os.getpid()
        for w in range(n_workers):
            threading.Thread(target=self._worker, args=(w,), daemon=True,
                             name=f"tsrnn-spin-{w}").start()

    def _worker(self, w):
        flags, k = self.flags, w * _LINE
        gen = 0
        while True:
            if not self.spin(flags, k, gen, SPIN_READS):
                with self.cv:
                    self.sleeping[w] = True
                    while flags[k] == gen:
                        # woken by run(); the timeout only bounds a missed wake-up
                        self.cv.wait(1.0)
                    self.sleeping[w] = False
            gen = int(flags[k])
            try:
                self.tasks[w]()
            except BaseException as exc:   # re-raised by the caller
                self.errors[w] = exc
            self.tasks[w] = None
            flags[k + 1] = gen

    def run(self, first, others):
        """Run ``others[w]()`` on worker ``w`` and ``first()`` here; wait for all."""
        flags = self.flags
        for w, task in enumerate(others):
            self.tasks[w] = task
            self.errors[w] = None
            flags[w * _LINE] += 1
        if any(self.sleeping[:len(others)]):
            with self.cv:
                self.cv.notify_all()
        try:
            first()
        finally:
            for w in range(len(others)):
                k = w * _LINE
                gen = flags[k]
                if flags[k + 1] != gen and not self.spin(flags, k + 1, gen - 1, SPIN_READS):
                    while flags[k + 1] != gen:
                        time.sleep(1e-4)
        for exc in self.errors[:len(others)]:
            if exc is not None:
                raise exc


_spin_pool = None


def _spin_pool_for(n_workers):
    """The process's spin pool (None when another call holds it or it is too small)."""
    global _spin_pool
    from tsrnn import _config

    if not _config.SPIN:
        return None
    with _lock:
        if _spin_pool is None or _spin_pool.pid != os.getpid():
            _spin_pool = _SpinPool(max(1, (os.cpu_count() or 1) - 1))
        pool = _spin_pool
    if pool.n < n_workers or not pool.busy.acquire(blocking=False):
        return None
    return pool


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
    The other blocks go to a pool of threads that spin briefly for their next
    task (:class:`_SpinPool`; ``TSRNN_SPIN=0`` uses a plain thread pool): a
    dispatch then costs ~25 instead of ~79 us on the project machine.
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
    pool = _spin_pool_for(n_threads - 1)
    if pool is not None:
        try:
            pool.run(lambda: work(*bounds[0]),
                     [(lambda a=a, b=b: work(a, b)) for a, b in bounds[1:]])
        finally:
            pool.busy.release()
        return
    pool = _executor()
    futures = [pool.submit(work, a, b) for a, b in bounds[1:]]
    try:
        work(*bounds[0])
    finally:
        for f in futures:
            f.result()

"""Modern continuous Hopfield network retrieval (Ramsauer et al., 2020).

"Hopfield Networks is All You Need" (ICLR 2021) stores ``M`` patterns, the
rows of ``X`` (M, d), and retrieves from a state (query) ``xi`` (d,) with the
update

    xi_new = X^T softmax(beta * (X xi + b))

where ``beta > 0`` is the inverse temperature and ``b`` (M,) an optional
per-pattern logit offset (zero in the paper; ``b_j = -||x_j||^2 / 2`` turns
the logits into ``-beta/2 ||x_j - xi||^2`` plus a constant, i.e. a
Gaussian-kernel mean-shift step that does not favour long patterns).  The
update is the concave-convex procedure on the energy

    E(xi) = -1/beta log sum_j exp(beta (x_j . xi + b_j)) + xi . xi / 2
            + 1/beta log M + max_j ||x_j||^2 / 2

so every step decreases ``E`` (the paper's Theorem 1; the offsets keep the
log-sum-exp convex, so the property holds with them).  :func:`hopfield_energy`
computes ``E``.

Layers (house rule 1):

* :func:`retrieve_one` -- the allocation-free kernel: ``n_iter`` updates of
  one query, using caller-provided buffers; softmax made stable by
  subtracting the largest logit; dot products and sums accumulate in float64
  whatever the storage dtype.
* :func:`_retrieve_shards` -- shards of queries, spread over threads by
  :func:`tsrnn._threading.run_blocks`;
  each query is independent of the others, so results do not depend on the
  thread count or the shard size.
* :func:`hopfield_retrieve` -- the driver: validates, allocates the outputs
  and per-shard buffers, sets the thread count.

Leave-one-out: with ``leave_one_out=True`` the *first* stored pattern that is
exactly equal (bitwise, element by element) to a query is left out of that
query's retrieval, for every update step.  A window that is itself stored
would otherwise retrieve itself almost exactly; exactly one copy is removed,
so a query repeated among the patterns still finds its other copies (a flat
stretch stays "normal").  A query whose only stored pattern is left out keeps
its initial state (retrieval error 0).
"""

from __future__ import annotations

import numpy as np

from tsrnn._config import SHARD_SIZE, jit

__all__ = ["retrieve_one", "hopfield_retrieve", "hopfield_energy"]


@jit
def retrieve_one(XT, X, bias, q, beta, n_iter, leave_one_out, xi, xn, logits, out_row):
    """``n_iter`` Hopfield updates of one query; returns the squared retrieval error.

    Parameters
    ----------
    XT : (d, M) array
        The stored patterns, transposed and C-contiguous (the similarity pass
        runs over contiguous rows of it, which vectorises).
    X : (M, d) array
        The same patterns, row-major (the retrieval pass).
    bias : (M,) float64
        Logit offsets ``b_j`` (zeros for the paper's rule).
    q : (d,) array
        The query (the initial state).
    beta : float
        Inverse temperature (> 0).
    n_iter : int
        Number of updates (0 returns the query itself).
    leave_one_out : bool
        Leave out the first stored pattern exactly equal to ``q``.
    xi, xn : (d,) float64
        Work buffers (state, next state).
    logits : (M,) float64
        Work buffer.
    out_row : (d,) array
        Receives the retrieved state.

    Returns
    -------
    float
        ``||xi_final - q||^2`` (squared Euclidean retrieval error), in float64.
    """
    d = XT.shape[0]
    M = XT.shape[1]
    skip = -1
    if leave_one_out:
        for j in range(M):
            same = True
            for k in range(d):
                if X[j, k] != q[k]:
                    same = False
                    break
            if same:
                skip = j
                break
    for k in range(d):
        xi[k] = q[k]
    if skip < 0 or M > 1:
        for _ in range(n_iter):
            # logits_j = beta * (x_j . xi + b_j), accumulated as axpy over rows of XT
            for j in range(M):
                logits[j] = bias[j]
            for k in range(d):
                a = xi[k]
                for j in range(M):
                    logits[j] += XT[k, j] * a
            mx = -np.inf
            for j in range(M):
                if j != skip:
                    v = beta * logits[j]
                    logits[j] = v
                    if v > mx:
                        mx = v
            total = 0.0
            for j in range(M):
                if j == skip:
                    logits[j] = 0.0
                else:
                    e = np.exp(logits[j] - mx)
                    logits[j] = e
                    total += e
            inv = 1.0 / total
            for k in range(d):
                xn[k] = 0.0
            for j in range(M):
                w = logits[j] * inv
                if w != 0.0:
                    for k in range(d):
                        xn[k] += w * X[j, k]
            for k in range(d):
                xi[k] = xn[k]
    err = 0.0
    for k in range(d):
        out_row[k] = xi[k]
        diff = xi[k] - q[k]
        err += diff * diff
    return err


@jit
def _retrieve_shards(s0, s1, XT, X, bias, Q, beta, n_iter, leave_one_out, shard_size,
                     xi_buf, xn_buf, logit_buf, out, err):
    """Retrieve the rows of ``Q`` (n, d) of shards ``s0 .. s1-1`` into ``out`` (n, d),
    errors into ``err`` (n,).

    Shard ``s`` (queries ``s*shard_size`` onwards) uses row ``s`` of the work
    buffers ``xi_buf``, ``xn_buf`` (n_shards, d) and ``logit_buf`` (n_shards, M).
    """
    n = Q.shape[0]
    for s in range(s0, s1):
        i0 = s * shard_size
        i1 = min(n, i0 + shard_size)
        for i in range(i0, i1):
            err[i] = retrieve_one(XT, X, bias, Q[i], beta, n_iter, leave_one_out,
                                  xi_buf[s], xn_buf[s], logit_buf[s], out[i])


def _as_matrix(a, name):
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows = vectors), got shape {arr.shape}")
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got dtype {arr.dtype}; "
                        f"convert it with .astype(np.float64)")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; drop or impute them first")
    return np.ascontiguousarray(arr)


def hopfield_retrieve(patterns, queries, beta, n_iter=1, bias=None, leave_one_out=False,
                      shard_size=None, n_jobs=None):
    """Retrieve each query from the stored patterns (modern Hopfield update).

    Parameters
    ----------
    patterns : ndarray, shape (M, d), float32 or float64
        The stored patterns ``X``.
    queries : ndarray, shape (n, d), same dtype
        The initial states.
    beta : float > 0
        Inverse temperature.
    n_iter : int >= 0, default 1
        Number of updates ``xi <- X^T softmax(beta (X xi + b))``.
    bias : ndarray, shape (M,), or None
        Logit offsets ``b`` (None = zeros, the paper's rule).
    leave_one_out : bool, default False
        Leave out, for each query, the first stored pattern exactly equal to it
        (see the module docstring).
    shard_size : int or None
        Queries per parallel task (``TSRNN_SHARD_SIZE`` by default).  Results
        do not depend on it.
    n_jobs : int or None
        Numba threads (None = all).

    Returns
    -------
    retrieved : ndarray, shape (n, d), dtype of ``patterns``
    sq_error : ndarray of float64, shape (n,)
        Squared Euclidean retrieval errors ``||retrieved - query||^2``
        (computed from the float64 states before the cast to the output dtype).

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.kernels.hopfield import hopfield_retrieve
    >>> X = np.eye(3)                         # three orthogonal patterns
    >>> q = np.array([[0.9, 0.1, 0.0]])       # a noisy copy of the first
    >>> r, e = hopfield_retrieve(X, q, beta=20.0)
    >>> r.round(3).tolist(), bool(e[0] < 0.02)
    ([[1.0, 0.0, 0.0]], True)
    """
    from tsrnn._threading import run_blocks, thread_limits

    X = _as_matrix(patterns, "patterns")
    Q = _as_matrix(queries, "queries")
    if Q.dtype != X.dtype:
        Q = Q.astype(X.dtype)
    M, d = X.shape
    if M < 1:
        raise ValueError("patterns is empty; store at least one pattern")
    if Q.shape[1] != d:
        raise ValueError(f"queries have {Q.shape[1]} features but the patterns have {d}; "
                         f"pass vectors of the same length")
    beta = float(beta)
    if not (np.isfinite(beta) and beta > 0.0):
        raise ValueError(f"beta must be a finite number > 0, got {beta!r}")
    n_iter = int(n_iter)
    if n_iter < 0:
        raise ValueError(f"n_iter must be >= 0, got {n_iter}")
    if bias is None:
        b = np.zeros(M)
    else:
        b = np.ascontiguousarray(bias, dtype=np.float64)
        if b.shape != (M,) or not np.isfinite(b).all():
            raise ValueError(f"bias must be {M} finite numbers (one per pattern), got shape "
                             f"{b.shape}")
    shard = SHARD_SIZE if shard_size is None else int(shard_size)
    if shard < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard}")
    n = Q.shape[0]
    out = np.empty((n, d), X.dtype)
    err = np.empty(n)
    if n == 0:
        return out, err
    n_shards = (n + shard - 1) // shard
    xi_buf = np.empty((n_shards, d))
    xn_buf = np.empty((n_shards, d))
    logit_buf = np.empty((n_shards, M))
    XT = np.ascontiguousarray(X.T)
    loo = bool(leave_one_out)

    def work(s0, s1):
        _retrieve_shards(s0, s1, XT, X, b, Q, beta, n_iter, loo, shard,
                         xi_buf, xn_buf, logit_buf, out, err)

    with thread_limits(n_jobs):
        run_blocks(n_shards, work)
    return out, err


def hopfield_energy(patterns, xi, beta, bias=None):
    """Energy ``E(xi)`` of the modern Hopfield network (float64, NumPy).

    ``E(xi) = -lse(beta, X xi + b) + xi.xi / 2 + log(M) / beta + max_j ||x_j||^2 / 2``
    with ``lse(beta, z) = log(sum_j exp(beta z_j)) / beta`` (computed stably).
    Each update of :func:`hopfield_retrieve` (without leave-one-out) does not
    increase it.

    Parameters
    ----------
    patterns : ndarray (M, d)
    xi : ndarray (d,) or (n, d)
    beta : float > 0
    bias : ndarray (M,) or None

    Returns
    -------
    float or ndarray (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.kernels.hopfield import hopfield_energy, hopfield_retrieve
    >>> X = np.random.default_rng(0).normal(size=(5, 4))
    >>> q = np.ones((1, 4))
    >>> r, _ = hopfield_retrieve(X, q, beta=0.5)
    >>> bool(hopfield_energy(X, r[0], 0.5) <= hopfield_energy(X, q[0], 0.5))
    True
    """
    X = np.asarray(patterns, dtype=np.float64)
    v = np.asarray(xi, dtype=np.float64)
    single = v.ndim == 1
    V = np.atleast_2d(v)
    z = beta * (V @ X.T)
    if bias is not None:
        z = z + beta * np.asarray(bias, dtype=np.float64)[None, :]
    mx = z.max(axis=1, keepdims=True)
    lse = (mx[:, 0] + np.log(np.exp(z - mx).sum(axis=1))) / beta
    e = (-lse + 0.5 * (V * V).sum(axis=1) + np.log(X.shape[0]) / beta
         + 0.5 * float((X * X).sum(axis=1).max()))
    return float(e[0]) if single else e

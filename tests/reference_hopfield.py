"""Slow, obviously-correct NumPy reference of the modern Hopfield retrieval (house rule 6).

Written from the update rule of Ramsauer et al. (2020), one query at a time,
in float64, with ``scipy.special.softmax``:

    xi <- X^T softmax(beta * (X xi + b))

With ``leave_one_out``, the first row of ``X`` equal to the query is removed
from ``X`` (and ``b``) before the updates.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

__all__ = ["ref_retrieve"]


def ref_retrieve(patterns, queries, beta, n_iter=1, bias=None, leave_one_out=False):
    """Retrieved vectors (n, d) and squared errors (n,), float64."""
    X = np.asarray(patterns, dtype=np.float64)
    Q = np.asarray(queries, dtype=np.float64)
    b = np.zeros(len(X)) if bias is None else np.asarray(bias, dtype=np.float64)
    out = np.empty_like(Q)
    for i, q in enumerate(Q):
        keep = np.ones(len(X), bool)
        if leave_one_out:
            equal = np.flatnonzero((np.asarray(patterns)[:, :] == np.asarray(queries)[i]).all(axis=1))
            if equal.size:
                keep[equal[0]] = False
        Xi, bi = X[keep], b[keep]
        xi = q.copy()
        if len(Xi):
            for _ in range(n_iter):
                xi = Xi.T @ softmax(beta * (Xi @ xi + bi))
        out[i] = xi
    return out, ((out - Q) ** 2).sum(axis=1)

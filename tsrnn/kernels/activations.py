"""Scalar activation functions used inside kernels.

Two implementations of each transcendental activation:

* precise: ``math.tanh``/``math.exp`` (libm), used for float64 and whenever
  ``TSRNN_FAST_ACTIVATIONS=0``;
* fast: branch-free rational approximations that LLVM vectorises (this
  llvmlite has no SVML, so libm calls stay scalar).  ``fast_tanh`` is
  ``x * P(x^2) / Q(x^2)`` with P of degree 6 and Q of degree 3 in x^2, fitted
  by iteratively reweighted least squares on [0, 9] (tanh(9) = 1 - 3e-8); its
  maximum absolute error evaluated in float32 is 3.5e-7 (tested), about 3 ulp
  of 1.0.  ``fast_sigmoid(x) = 0.5 + 0.5 * fast_tanh(x / 2)``.

Kernels use the fast path for float32 parameters only.
"""

from __future__ import annotations

import math

import numpy as np

from tsrnn._config import jit

# Cell codes, shared by every kernel (integer codes, never jitted callables).
ELMAN_TANH = 0
ELMAN_RELU = 1
LSTM = 2
GRU = 3
# the recurrent family of tsrnn/kernels/family.py (one gate block each)
JORDAN = 4
INDRNN = 5
CTRNN = 6

#: number of gate blocks per cell code
N_GATES = {ELMAN_TANH: 1, ELMAN_RELU: 1, LSTM: 4, GRU: 3, JORDAN: 1, INDRNN: 1, CTRNN: 1}

# activation kinds for apply_act
ACT_SIGMOID = 0
ACT_TANH = 1
ACT_RELU = 2

_CLAMP = np.float32(9.0)
_P0 = np.float32(9.9999998449070959e-01)
_P1 = np.float32(1.3089136439907981e-01)
_P2 = np.float32(3.1097312644763563e-03)
_P3 = np.float32(1.1216039642264574e-05)
_P4 = np.float32(-2.0483489500231231e-08)
_P5 = np.float32(5.4064001855333893e-11)
_P6 = np.float32(-8.8284256595543517e-14)
_Q1 = np.float32(4.6422461948370169e-01)
_Q2 = np.float32(2.4518043282699870e-02)
_Q3 = np.float32(2.5546333884609825e-04)
_ONE = np.float32(1.0)
_HALF = np.float32(0.5)


@jit(inline="always")
def sigmoid(x):
    # stable for large |x|: never evaluates exp of a large positive number
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@jit(inline="always")
def tanh(x):
    return math.tanh(x)


@jit(inline="always")
def relu(x):
    return x if x > 0.0 else 0.0 * x


@jit(inline="always")
def fast_tanh(x):
    x = min(max(x, -_CLAMP), _CLAMP)
    t = x * x
    p = ((((((_P6 * t + _P5) * t + _P4) * t + _P3) * t + _P2) * t + _P1) * t + _P0) * x
    q = ((_Q3 * t + _Q2) * t + _Q1) * t + _ONE
    return min(max(p / q, -_ONE), _ONE)


@jit(inline="always")
def fast_sigmoid(x):
    return _HALF + _HALF * fast_tanh(_HALF * x)


@jit(inline="always")
def apply_squash(v, j0, j1, kind, fast):
    """Tanh (``kind == ACT_TANH``) or sigmoid (any other kind) in place on ``v[j0:j1]``.

    The loops index a view from 0: with ``range(j0, j1)`` Numba cannot prove the
    index non-negative and keeps a negative-index select on every access, which
    stops LLVM from vectorising (3.4 vs 0.23 ns per sigmoid measured).  Kernels
    that never need relu call this directly: fewer inlined loops to compile.
    """
    w = v[j0:j1]
    n = w.shape[0]
    if kind == ACT_TANH:
        if fast:
            for j in range(n):
                w[j] = fast_tanh(w[j])
        else:
            for j in range(n):
                w[j] = math.tanh(w[j])
    else:
        if fast:
            for j in range(n):
                w[j] = fast_sigmoid(w[j])
        else:
            for j in range(n):
                w[j] = sigmoid(w[j])


@jit(inline="always")
def apply_act(v, j0, j1, kind, fast):
    """Apply activation ``kind`` in place to ``v[j0:j1]`` (1-D contiguous array).

    The branches sit outside the loops so that each loop vectorises (see
    :func:`apply_squash` for why the loops index a view).
    """
    if kind == ACT_RELU:
        w = v[j0:j1]
        for j in range(w.shape[0]):
            w[j] = max(w[j], 0.0 * w[j])
    else:
        apply_squash(v, j0, j1, kind, fast)


@jit(inline="always")
def n_gates(cell):
    if cell == LSTM:
        return 4
    if cell == GRU:
        return 3
    return 1

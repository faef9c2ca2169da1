"""Scalar activation functions used inside kernels (numerically stable)."""

from __future__ import annotations

import math

from tsrnn._config import jit

# Cell codes, shared by every kernel (integer codes, never jitted callables).
ELMAN_TANH = 0
ELMAN_RELU = 1
LSTM = 2
GRU = 3

#: number of gate blocks per cell code
N_GATES = {ELMAN_TANH: 1, ELMAN_RELU: 1, LSTM: 4, GRU: 3}


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
def n_gates(cell):
    if cell == LSTM:
        return 4
    if cell == GRU:
        return 3
    return 1

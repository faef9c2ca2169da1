"""Element-wise losses and their derivatives (allocation-free kernels).

Loss codes: 0 = mse, 1 = mae, 2 = huber (``delta``), 3 = pinball (per-output
quantile).  All losses are averaged over every element (batch x time x output),
as PyTorch's ``reduction="mean"``.
"""

from __future__ import annotations

import numpy as np

from tsrnn._config import jit

NO_LOSS = -1
MSE = 0
MAE = 1
HUBER = 2
PINBALL = 3

LOSS_CODES = {"mse": MSE, "mae": MAE, "huber": HUBER, "pinball": PINBALL}


@jit(inline="always")
def loss_elem(code, pred, target, delta, q):
    """Return (loss, dloss/dpred) for one element."""
    e = pred - target
    if code == MSE:
        return e * e, 2.0 * e
    if code == MAE:
        if e > 0.0:
            return e, 1.0
        if e < 0.0:
            return -e, -1.0
        return 0.0, 0.0
    if code == HUBER:
        a = abs(e)
        if a <= delta:
            return 0.5 * e * e, e
        if e > 0.0:
            return delta * (a - 0.5 * delta), delta
        return delta * (a - 0.5 * delta), -delta
    # pinball (quantile) loss: u = target - pred
    u = -e
    if u > 0.0:
        return q * u, -q
    if u < 0.0:
        return (q - 1.0) * u, 1.0 - q
    return 0.0, 0.0


@jit
def loss_rows(code, pred, target, delta, quantiles, scale, dpred):
    """Loss sum (float64) over rows of ``pred`` (n, O); writes scaled gradient.

    ``dpred`` receives ``scale * dloss/dpred`` (``scale`` = 1 / element count of
    the whole batch, so per-shard gradients add up to the batch mean).
    """
    total = 0.0
    n, o = pred.shape
    for i in range(n):
        for k in range(o):
            lv, g = loss_elem(code, pred[i, k], target[i, k], delta, quantiles[k])
            total += lv
            dpred[i, k] = g * scale
    return total


def loss_numpy(code, pred, target, delta=1.0, quantiles=None):
    """Vectorised NumPy mean loss (used by validation and metrics)."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    e = pred - target
    if code == MSE:
        return float(np.mean(e * e))
    if code == MAE:
        return float(np.mean(np.abs(e)))
    if code == HUBER:
        a = np.abs(e)
        return float(np.mean(np.where(a <= delta, 0.5 * e * e, delta * (a - 0.5 * delta))))
    if code == PINBALL:
        q = np.asarray(quantiles, dtype=np.float64)
        u = -e
        return float(np.mean(np.maximum(q * u, (q - 1.0) * u)))
    raise ValueError(f"unknown loss code {code}")

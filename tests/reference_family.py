"""Slow, obviously-correct NumPy reference of the Jordan, IndRNN and CTRNN cells.

Written from the equations, independently of :mod:`tsrnn.kernels.family`: one
sample at a time, one step at a time, float64, plain vectors.  ``sd`` maps the
parameter names of :func:`tsrnn.nn.family.family_layout` to arrays.

* Jordan: ``h_t = act(W_ih x_t + W_ch c_t + b_ih)``, ``y_t = W_o h_t + b_o``,
  ``c_0 = h0[0]``; ``c_{t+1} = y_t`` (free running) or ``Y[t]`` (teacher
  forcing).  The final state is the last context (``y_{T-1}`` or ``Y[T-1]``).
* IndRNN: ``h^l_t = act(W_ih x^l_t + u * h^l_{t-1} + b_ih)`` plus ``h^{l-1}_t``
  for ``l >= 1`` when ``residual``; ``x^0 = x``, ``x^l = h^{l-1}``.
* CTRNN: ``alpha = clip(dt_t / exp(log_tau), 0, 1)``,
  ``h_t = h_{t-1} + alpha * (-h_{t-1} + W_hh act(h_{t-1}) + W_ih x_t + b)``.

The head reads the last layer at every step (``seq_out``) or the last step.
The loss is the mean over every element (``reference.ref_loss``).
"""

from __future__ import annotations

import math

import numpy as np

from reference import ref_loss

__all__ = ["ref_family_forward", "ref_family_loss"]


def _act(name, v):
    if name == "tanh":
        return np.array([math.tanh(float(a)) for a in v])
    if name == "relu":
        return np.array([max(float(a), 0.0) for a in v])
    raise ValueError(f"reference: unknown activation {name!r}")


def _get(sd, name):
    return np.asarray(sd[name], dtype=np.float64)


def ref_family_forward(cell, sd, X, num_layers=1, act="tanh", seq_out=True, h0=None, dt=None,
                       Y=None, teacher=False, residual=False):
    """Predictions (B, T or 1, O) and final states of a batch.

    ``cell``: "jordan", "indrnn" or "ctrnn".  ``h0``: (L, B, H), or (1, B, O)
    for Jordan (zeros when None).  ``dt``: (B, T) time deltas (CTRNN; ones
    when None).  ``Y``: (B, T, O) targets (Jordan teacher forcing).
    """
    X = np.asarray(X, dtype=np.float64)
    B, T, _ = X.shape
    W_o = _get(sd, "head.weight")
    b_o = _get(sd, "head.bias")
    O, H = W_o.shape
    L = num_layers
    preds = []
    if cell == "jordan":
        h_fin = np.zeros((1, B, O))
        c0 = np.zeros((1, B, O)) if h0 is None else np.asarray(h0, dtype=np.float64)
        Wih, Wch, bih = (_get(sd, f"rnn.{k}_l0") for k in ("weight_ih", "weight_ch", "bias_ih"))
        for b in range(B):
            c = c0[0, b]
            ys = []
            for t in range(T):
                h = _act(act, Wih @ X[b, t] + Wch @ c + bih)
                y = W_o @ h + b_o
                ys.append(y)
                c = np.asarray(Y[b, t], dtype=np.float64) if teacher else y
            h_fin[0, b] = c
            preds.append(ys if seq_out else ys[-1:])
        return np.array(preds), h_fin

    h0 = np.zeros((L, B, H)) if h0 is None else np.asarray(h0, dtype=np.float64)
    dt = np.ones((B, T)) if dt is None else np.asarray(dt, dtype=np.float64)
    h_fin = np.zeros((L, B, H))
    for b in range(B):
        seq = [X[b, t] for t in range(T)]
        for l in range(L):
            Wih = _get(sd, f"rnn.weight_ih_l{l}")
            Whh = _get(sd, f"rnn.weight_hh_l{l}")
            bih = _get(sd, f"rnn.bias_ih_l{l}")
            h = h0[l, b]
            out = []
            for t in range(T):
                x = seq[t]
                if cell == "indrnn":
                    h = _act(act, Wih @ x + Whh * h + bih)
                    if residual and l > 0:
                        h = h + x
                elif cell == "ctrnn":
                    tau = np.exp(_get(sd, f"rnn.log_tau_l{l}"))
                    alpha = np.clip(dt[b, t] / tau, 0.0, 1.0) if dt[b, t] > 0 else np.zeros(H)
                    f = -h + Whh @ _act(act, h) + Wih @ x + bih
                    h = h + alpha * f
                else:
                    raise ValueError(f"reference: unknown cell {cell!r}")
                out.append(h)
            h_fin[l, b] = h
            seq = out
        ys = [W_o @ seq[t] + b_o for t in range(T)]
        preds.append(ys if seq_out else ys[-1:])
    return np.array(preds), h_fin


def ref_family_loss(cell, sd, X, Y, loss="mse", delta=1.0, quantiles=None, **kw):
    """Mean loss of :func:`ref_family_forward`'s predictions against ``Y``."""
    pred, _ = ref_family_forward(cell, sd, X, Y=Y, **kw)
    Y = np.asarray(Y, dtype=np.float64)
    if not kw.get("seq_out", True):
        Y = Y[:, -1:] if Y.shape[1] != 1 else Y
    return ref_loss(pred, Y, loss, delta=delta, quantiles=quantiles)

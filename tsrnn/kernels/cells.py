"""Per-step forward and backward of each recurrent cell (allocation-free).

Every function works on one time step of a shard of ``bs`` sequences stored
gate-major along the last axis (PyTorch's gate order):

* Elman: ``h = act(z + r)`` (one gate block)
* LSTM:  blocks ``i, f, g, o``; ``c = f*c_prev + i*g``; ``h = o*tanh(c)``
* GRU:   blocks ``r, z, n``; ``n = tanh(z_n + r*(W_hn h_prev + b_hn))``;
  ``h = (1-z)*n + z*h_prev``

``z`` is the input projection ``x W_ih^T + b_ih`` and ``r`` the recurrent
projection ``h_prev W_hh^T + b_hh`` of the step, both of shape (bs, G*H).
Loops run over contiguous rows with the activation applied in separate
passes (:func:`~tsrnn.kernels.activations.apply_act`) so that they vectorise.
Every loop indexes per-gate views from 0 (``ai[j]``, never ``a[H + j]``): Numba
cannot prove ``H + j`` non-negative and keeps a negative-index select on each
access, which stops LLVM from vectorising the loop.
"""

from __future__ import annotations

import numpy as np

from tsrnn._config import jit
from tsrnn.kernels.activations import (ACT_RELU, ACT_SIGMOID, ACT_TANH, ELMAN_RELU, GRU, LSTM,
                                       _ONE, apply_act)


@jit
def forward_step(cell, fast, z, r, bz, b_hn, h_prev, c_prev, a_out, s_out, u_out, h_out):
    """One step forward.

    ``bz`` (G*H,) is the bias added to ``z + r`` (b_ih + b_hh; for GRU's
    candidate block b_ih only) and ``b_hn`` (H,) GRU's candidate bias inside
    ``r * (W_hn h + b_hn)`` (unused by the other cells).
    Writes the activated gates to ``a_out`` (bs, G*H), the cell's extra states
    to ``s_out`` and ``u_out`` (bs, H) (LSTM: c_t and tanh(c_t); GRU:
    W_hn h_prev + b_hn; Elman: unused) and the new hidden state to ``h_out``.
    ``fast`` selects the vectorised activation approximations.
    """
    bs, H = h_out.shape
    if cell == LSTM:
        for b in range(bs):
            a = a_out[b]
            zb = z[b]
            rb = r[b]
            for j in range(4 * H):
                a[j] = zb[j] + rb[j] + bz[j]
            apply_act(a, 0, 2 * H, ACT_SIGMOID, fast)
            apply_act(a, 2 * H, 3 * H, ACT_TANH, fast)
            apply_act(a, 3 * H, 4 * H, ACT_SIGMOID, fast)
            ai = a[0:H]
            af = a[H:2 * H]
            ag = a[2 * H:3 * H]
            ao = a[3 * H:4 * H]
            cp = c_prev[b]
            s = s_out[b]
            u = u_out[b]
            hb = h_out[b]
            for j in range(H):
                s[j] = af[j] * cp[j] + ai[j] * ag[j]
            for j in range(H):
                u[j] = s[j]
            apply_act(u, 0, H, ACT_TANH, fast)
            for j in range(H):
                hb[j] = ao[j] * u[j]
    elif cell == GRU:
        bzn = bz[2 * H:3 * H]
        for b in range(bs):
            a = a_out[b]
            zb = z[b]
            rb = r[b]
            for j in range(2 * H):
                a[j] = zb[j] + rb[j] + bz[j]
            apply_act(a, 0, 2 * H, ACT_SIGMOID, fast)
            ar = a[0:H]
            az = a[H:2 * H]
            an = a[2 * H:3 * H]
            zn = zb[2 * H:3 * H]
            rn = rb[2 * H:3 * H]
            s = s_out[b]
            for j in range(H):
                s[j] = rn[j] + b_hn[j]
            for j in range(H):
                an[j] = zn[j] + bzn[j] + ar[j] * s[j]
            apply_act(a, 2 * H, 3 * H, ACT_TANH, fast)
            hp = h_prev[b]
            hb = h_out[b]
            for j in range(H):
                hb[j] = (_ONE - az[j]) * an[j] + az[j] * hp[j]
    else:
        for b in range(bs):
            a = a_out[b]
            zb = z[b]
            rb = r[b]
            for j in range(H):
                a[j] = zb[j] + rb[j] + bz[j]
        # one gate block: the whole (bs, H) block is contiguous, activate it flat
        a1 = a_out.reshape(bs * H)
        apply_act(a1, 0, bs * H, ACT_RELU if cell == ELMAN_RELU else ACT_TANH, fast)
        h1 = h_out.reshape(bs * H)
        for k in range(bs * H):
            h1[k] = a1[k]


@jit
def backward_step(cell, dh, dc, a, s, u, h_prev, c_prev, dz, dr, dh_prev):
    """One step backward.

    ``dh`` (bs, H) is the total gradient on h_t.  For LSTM ``dc`` holds the
    gradient on c_t coming from step t+1 and is overwritten with the gradient
    on c_{t-1}.  Writes the gradient of the gate pre-activations: ``dz`` for the
    input projection and ``dr`` for the recurrent projection (they differ only
    for GRU's candidate gate: for the other cells the caller passes the same
    array as ``dz`` and ``dr``, and only ``dz`` is written), and the element-wise
    part of the gradient on
    h_{t-1} to ``dh_prev`` (GRU: z*dh; zero for the others; the matrix part
    ``dr @ W_hh`` is added by the caller).

    Each loop writes one array (few runtime alias checks, so LLVM vectorises).
    """
    bs, H = dh.shape
    # unsigned offsets: Numba adds no negative-index select to ``ab[j + h1]``
    # (views per gate cost ~10 ns each per row, more than the loop at H=16)
    h1 = np.uint64(H)
    h2 = h1 + h1
    h3 = h2 + h1
    if cell == LSTM:
        for b in range(bs):
            ab = a[b]
            ub = u[b]
            cp = c_prev[b]
            dhb = dh[b]
            dcb = dc[b]
            dzb = dz[b]
            for j in range(h1):
                dcb[j] = dcb[j] + dhb[j] * ab[j + h3] * (_ONE - ub[j] * ub[j])
            for j in range(h1):
                i = ab[j]
                f = ab[j + h1]
                g = ab[j + h2]
                o = ab[j + h3]
                dcv = dcb[j]
                dzb[j] = dcv * g * i * (_ONE - i)
                dzb[j + h1] = dcv * cp[j] * f * (_ONE - f)
                dzb[j + h2] = dcv * i * (_ONE - g * g)
                dzb[j + h3] = dhb[j] * ub[j] * o * (_ONE - o)
            for j in range(h1):
                dcb[j] = dcb[j] * ab[j + h1]
        _zero(dh_prev)
    elif cell == GRU:
        for b in range(bs):
            ab = a[b]
            sb = s[b]
            hp = h_prev[b]
            dhb = dh[b]
            dzb = dz[b]
            drb = dr[b]
            dpb = dh_prev[b]
            for j in range(h1):
                rg = ab[j]
                zg = ab[j + h1]
                n = ab[j + h2]
                dhv = dhb[j]
                dn = dhv * (_ONE - zg) * (_ONE - n * n)
                dzg = dhv * (hp[j] - n) * zg * (_ONE - zg)
                drg = dn * sb[j] * rg * (_ONE - rg)
                dzb[j] = drg
                dzb[j + h1] = dzg
                dzb[j + h2] = dn
                drb[j] = drg
                drb[j + h1] = dzg
                drb[j + h2] = dn * rg
                dpb[j] = dhv * zg
    elif cell == ELMAN_RELU:
        for b in range(bs):
            ab = a[b]
            dhb = dh[b]
            dzb = dz[b]
            for j in range(H):
                dzb[j] = dhb[j] if ab[j] > 0.0 else 0.0 * dhb[j]
        _zero(dh_prev)
    else:
        for b in range(bs):
            ab = a[b]
            dhb = dh[b]
            dzb = dz[b]
            for j in range(H):
                dzb[j] = dhb[j] * (_ONE - ab[j] * ab[j])
        _zero(dh_prev)


@jit(inline="always")
def _zero(m):
    """m[...] = 0 for a C-contiguous 2-D array, as one flat loop."""
    f = m.reshape(m.size)
    for k in range(f.shape[0]):
        f[k] = 0.0

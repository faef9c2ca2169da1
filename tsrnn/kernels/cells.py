"""Per-step forward and backward of each recurrent cell (allocation-free).

Every function works on one time step of a shard of ``bs`` sequences stored
gate-major along the last axis (PyTorch's gate order):

* Elman: ``h = act(z + r)`` (one gate block)
* LSTM:  blocks ``i, f, g, o``; ``c = f*c_prev + i*g``; ``h = o*tanh(c)``
* GRU:   blocks ``r, z, n``; ``n = tanh(z_n + r*(W_hn h_prev + b_hn))``;
  ``h = (1-z)*n + z*h_prev``

``z`` is the input projection ``x W_ih^T + b_ih`` and ``r`` the recurrent
projection ``h_prev W_hh^T + b_hh`` of the step, both of shape (bs, G*H).
Loops run over the contiguous part of each row with the activation applied in
separate in-place passes, so that LLVM vectorises them.  They index the 2-D
arrays directly with unsigned gate offsets (``a[b, j + h2]``, ``h2`` a uint64):

* a signed offset (``a[b, 2 * H + j]`` or ``range(j0, j1)``) cannot be proven
  non-negative, so Numba keeps a negative-index select on every access and
  the loop stays scalar (3.4 vs 0.23 ns per sigmoid measured);
* per-row views (``a[b][2 * H:3 * H]``) vectorise but cost a reference-count
  update each, which dominated at small hidden sizes (GRU, 64 rows of
  H = 16: 8.3 us with views, 3.7 us without).

The forward steps of LSTM and GRU now do use a few per-row views, with the
activations as flat passes over them: measured faster at every size (GRU, 32
rows: 1.65 -> 1.54 us at H = 16, 2.59 -> 1.82 at H = 64).  The backward steps keep
the 2-D indexing: one fused GRU loop over views was slower at H = 16 (0.60 ->
0.93 us), and fused loops with 2-D offsets did not vectorise at all.
"""

from __future__ import annotations

import numpy as np

from tsrnn._config import jit
from tsrnn.kernels.activations import (ACT_RELU, ACT_SIGMOID, ACT_TANH, ELMAN_RELU, GRU, LSTM,
                                       _ONE, apply_act, apply_squash)


@jit(inline="always")
def _preact_row(ab, zb, rb, bz, n):
    """``ab[:n] = zb[:n] + rb[:n] + bz[:n]``: one row's gate pre-activations (1-D views)."""
    for j in range(n):
        ab[j] = zb[j] + rb[j] + bz[j]


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
    h1 = np.uint64(H)
    h2 = h1 + h1
    a = a_out
    if cell == LSTM:
        # gates through per-row views, the cell state with 2-D unsigned offsets, tanh(c)
        # as one flat pass over the block: measured the fastest mix (32 rows: 0.98 vs
        # 1.32 us at H=16, 1.68 vs 1.99 at H=32, the same at H=64)
        h3 = h2 + h1
        for b in range(bs):
            ab = a[b]
            _preact_row(ab, z[b], r[b], bz, 4 * H)
            apply_squash(ab, 0, 2 * H, ACT_SIGMOID, fast)
            apply_squash(ab, 2 * H, 3 * H, ACT_TANH, fast)
            apply_squash(ab, 3 * H, 4 * H, ACT_SIGMOID, fast)
            for j in range(h1):
                s_out[b, j] = a[b, j + h1] * c_prev[b, j] + a[b, j] * a[b, j + h2]
        u1 = u_out.reshape(bs * H)
        s1 = s_out.reshape(bs * H)
        for k in range(bs * H):
            u1[k] = s1[k]
        apply_squash(u1, 0, bs * H, ACT_TANH, fast)
        for b in range(bs):
            for j in range(h1):
                h_out[b, j] = a[b, j + h3] * u_out[b, j]
    elif cell == GRU:
        # per-row 1-D views, the candidate's two loops fused: 2.57 -> 1.81 us per
        # 32 rows at H=64, 4.88 -> 3.69 at H=128, bit-identical (session 5)
        bn = bz[2 * H:]
        for b in range(bs):
            ab = a[b]
            zb = z[b]
            rb = r[b]
            sb = s_out[b]
            hb = h_out[b]
            hpb = h_prev[b]
            _preact_row(ab, zb, rb, bz, 2 * H)
            apply_squash(ab, 0, 2 * H, ACT_SIGMOID, fast)
            ar = ab[:H]
            az = ab[H:2 * H]
            an = ab[2 * H:]
            zn = zb[2 * H:]
            rn = rb[2 * H:]
            for j in range(H):
                sv = rn[j] + b_hn[j]
                sb[j] = sv
                an[j] = zn[j] + bn[j] + ar[j] * sv
            apply_squash(ab, 2 * H, 3 * H, ACT_TANH, fast)
            for j in range(H):
                hb[j] = (_ONE - az[j]) * an[j] + az[j] * hpb[j]
    else:
        for b in range(bs):
            for j in range(h1):
                a[b, j] = z[b, j] + r[b, j] + bz[j]
        # one gate block: the whole (bs, H) block is contiguous, activate it flat
        a1 = a_out.reshape(bs * H)
        apply_act(a1, 0, bs * H, ACT_RELU if cell == ELMAN_RELU else ACT_TANH, fast)
        h1f = h_out.reshape(bs * H)
        for k in range(bs * H):
            h1f[k] = a1[k]


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
    """
    bs, H = dh.shape
    h1 = np.uint64(H)
    h2 = h1 + h1
    h3 = h2 + h1
    if cell == LSTM:
        for b in range(bs):
            for j in range(h1):
                dc[b, j] = dc[b, j] + dh[b, j] * a[b, j + h3] * (_ONE - u[b, j] * u[b, j])
            for j in range(h1):
                i = a[b, j]
                dz[b, j] = dc[b, j] * a[b, j + h2] * i * (_ONE - i)
            for j in range(h1):
                f = a[b, j + h1]
                dz[b, j + h1] = dc[b, j] * c_prev[b, j] * f * (_ONE - f)
            for j in range(h1):
                g = a[b, j + h2]
                dz[b, j + h2] = dc[b, j] * a[b, j] * (_ONE - g * g)
            for j in range(h1):
                o = a[b, j + h3]
                dz[b, j + h3] = dh[b, j] * u[b, j] * o * (_ONE - o)
            for j in range(h1):
                dc[b, j] = dc[b, j] * a[b, j + h1]
        _zero(dh_prev)
    elif cell == GRU:
        for b in range(bs):
            for j in range(h1):
                n = a[b, j + h2]
                dz[b, j + h2] = dh[b, j] * (_ONE - a[b, j + h1]) * (_ONE - n * n)
            for j in range(h1):
                zg = a[b, j + h1]
                dz[b, j + h1] = dh[b, j] * (h_prev[b, j] - a[b, j + h2]) * zg * (_ONE - zg)
            for j in range(h1):
                rg = a[b, j]
                dz[b, j] = dz[b, j + h2] * s[b, j] * rg * (_ONE - rg)
            for j in range(h2):
                dr[b, j] = dz[b, j]
            for j in range(h1):
                dr[b, j + h2] = dz[b, j + h2] * a[b, j]
            for j in range(h1):
                dh_prev[b, j] = dh[b, j] * a[b, j + h1]
    elif cell == ELMAN_RELU:
        for b in range(bs):
            for j in range(h1):
                dz[b, j] = dh[b, j] if a[b, j] > 0.0 else 0.0 * dh[b, j]
        _zero(dh_prev)
    else:
        for b in range(bs):
            for j in range(h1):
                dz[b, j] = dh[b, j] * (_ONE - a[b, j] * a[b, j])
        _zero(dh_prev)


@jit(inline="always")
def _zero(m):
    """m[...] = 0 for a C-contiguous 2-D array, as one flat loop."""
    f = m.reshape(m.size)
    for k in range(f.shape[0]):
        f[k] = 0.0

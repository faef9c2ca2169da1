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
"""

from __future__ import annotations

from tsrnn._config import jit
from tsrnn.kernels.activations import (ACT_RELU, ACT_SIGMOID, ACT_TANH, ELMAN_RELU, GRU, LSTM,
                                       apply_act)


@jit
def forward_step(cell, fast, z, r, h_prev, c_prev, a_out, s_out, u_out, h_out):
    """One step forward.

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
                a[j] = zb[j] + rb[j]
            apply_act(a, 0, 2 * H, ACT_SIGMOID, fast)
            apply_act(a, 2 * H, 3 * H, ACT_TANH, fast)
            apply_act(a, 3 * H, 4 * H, ACT_SIGMOID, fast)
            cp = c_prev[b]
            s = s_out[b]
            u = u_out[b]
            for j in range(H):
                c = a[H + j] * cp[j] + a[j] * a[2 * H + j]
                s[j] = c
                u[j] = c
            apply_act(u, 0, H, ACT_TANH, fast)
            hb = h_out[b]
            for j in range(H):
                hb[j] = a[3 * H + j] * u[j]
    elif cell == GRU:
        for b in range(bs):
            a = a_out[b]
            zb = z[b]
            rb = r[b]
            for j in range(2 * H):
                a[j] = zb[j] + rb[j]
            apply_act(a, 0, 2 * H, ACT_SIGMOID, fast)
            s = s_out[b]
            for j in range(H):
                rn = rb[2 * H + j]
                s[j] = rn
                a[2 * H + j] = zb[2 * H + j] + a[j] * rn
            apply_act(a, 2 * H, 3 * H, ACT_TANH, fast)
            hb = h_out[b]
            hp = h_prev[b]
            for j in range(H):
                zg = a[H + j]
                hb[j] = (1.0 - zg) * a[2 * H + j] + zg * hp[j]
    else:
        kind = ACT_RELU if cell == ELMAN_RELU else ACT_TANH
        for b in range(bs):
            a = a_out[b]
            zb = z[b]
            rb = r[b]
            for j in range(H):
                a[j] = zb[j] + rb[j]
            apply_act(a, 0, H, kind, fast)
            hb = h_out[b]
            for j in range(H):
                hb[j] = a[j]


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
    if cell == LSTM:
        for b in range(bs):
            ab = a[b]
            ub = u[b]
            cp = c_prev[b]
            dhb = dh[b]
            dcb = dc[b]
            dzb = dz[b]
            for j in range(H):
                i = ab[j]
                f = ab[H + j]
                g = ab[2 * H + j]
                o = ab[3 * H + j]
                tc = ub[j]
                dhv = dhb[j]
                dcv = dcb[j] + dhv * o * (1.0 - tc * tc)
                di = dcv * g * i * (1.0 - i)
                df = dcv * cp[j] * f * (1.0 - f)
                dg = dcv * i * (1.0 - g * g)
                do = dhv * tc * o * (1.0 - o)
                dzb[j] = di
                dzb[H + j] = df
                dzb[2 * H + j] = dg
                dzb[3 * H + j] = do
                dcb[j] = dcv * f
                dh_prev[b, j] = 0.0
    elif cell == GRU:
        for b in range(bs):
            ab = a[b]
            sb = s[b]
            hp = h_prev[b]
            dhb = dh[b]
            dzb = dz[b]
            drb = dr[b]
            dpb = dh_prev[b]
            for j in range(H):
                rg = ab[j]
                zg = ab[H + j]
                n = ab[2 * H + j]
                dhv = dhb[j]
                dn = dhv * (1.0 - zg) * (1.0 - n * n)
                dzg = dhv * (hp[j] - n) * zg * (1.0 - zg)
                drg = dn * sb[j] * rg * (1.0 - rg)
                dzb[j] = drg
                dzb[H + j] = dzg
                dzb[2 * H + j] = dn
                drb[j] = drg
                drb[H + j] = dzg
                drb[2 * H + j] = dn * rg
                dpb[j] = dhv * zg
    elif cell == ELMAN_RELU:
        for b in range(bs):
            ab = a[b]
            dhb = dh[b]
            dzb = dz[b]
            for j in range(H):
                d = dhb[j] if ab[j] > 0.0 else 0.0 * dhb[j]
                dzb[j] = d
                dh_prev[b, j] = 0.0
    else:
        for b in range(bs):
            ab = a[b]
            dhb = dh[b]
            dzb = dz[b]
            for j in range(H):
                h = ab[j]
                d = dhb[j] * (1.0 - h * h)
                dzb[j] = d
                dh_prev[b, j] = 0.0

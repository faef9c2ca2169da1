"""Per-step forward and backward of each recurrent cell (allocation-free).

Every function works on one time step of a shard of ``bs`` sequences stored
gate-major along the last axis (PyTorch's gate order):

* Elman: ``h = act(z + r)`` (one gate block)
* LSTM:  blocks ``i, f, g, o``; ``c = f*c_prev + i*g``; ``h = o*tanh(c)``
* GRU:   blocks ``r, z, n``; ``n = tanh(z_n + r*(W_hn h_prev + b_hn))``;
  ``h = (1-z)*n + z*h_prev``

``z`` is the input projection ``x W_ih^T + b_ih`` and ``r`` the recurrent
projection ``h_prev W_hh^T + b_hh`` of the step, both of shape (bs, G*H).
"""

from __future__ import annotations

from tsrnn._config import jit
from tsrnn.kernels.activations import ELMAN_RELU, GRU, LSTM, relu, sigmoid, tanh


@jit
def forward_step(cell, z, r, h_prev, c_prev, a_out, s_out, h_out):
    """One step forward.

    Writes the activated gates to ``a_out`` (bs, G*H), the cell's extra state
    to ``s_out`` (bs, H) (LSTM: c_t; GRU: W_hn h_prev + b_hn; Elman: unused)
    and the new hidden state to ``h_out`` (bs, H).
    """
    bs, H = h_out.shape
    if cell == LSTM:
        for b in range(bs):
            for j in range(H):
                i = sigmoid(z[b, j] + r[b, j])
                f = sigmoid(z[b, H + j] + r[b, H + j])
                g = tanh(z[b, 2 * H + j] + r[b, 2 * H + j])
                o = sigmoid(z[b, 3 * H + j] + r[b, 3 * H + j])
                c = f * c_prev[b, j] + i * g
                a_out[b, j] = i
                a_out[b, H + j] = f
                a_out[b, 2 * H + j] = g
                a_out[b, 3 * H + j] = o
                s_out[b, j] = c
                h_out[b, j] = o * tanh(c)
    elif cell == GRU:
        for b in range(bs):
            for j in range(H):
                rg = sigmoid(z[b, j] + r[b, j])
                zg = sigmoid(z[b, H + j] + r[b, H + j])
                rn = r[b, 2 * H + j]
                n = tanh(z[b, 2 * H + j] + rg * rn)
                a_out[b, j] = rg
                a_out[b, H + j] = zg
                a_out[b, 2 * H + j] = n
                s_out[b, j] = rn
                h_out[b, j] = (1.0 - zg) * n + zg * h_prev[b, j]
    elif cell == ELMAN_RELU:
        for b in range(bs):
            for j in range(H):
                h = relu(z[b, j] + r[b, j])
                a_out[b, j] = h
                h_out[b, j] = h
    else:  # Elman tanh
        for b in range(bs):
            for j in range(H):
                h = tanh(z[b, j] + r[b, j])
                a_out[b, j] = h
                h_out[b, j] = h


@jit
def backward_step(cell, dh, dc, a, s, h_prev, c_prev, dz, dr, dh_prev):
    """One step backward.

    ``dh`` (bs, H) is the total gradient on h_t.  For LSTM ``dc`` holds the
    gradient on c_t coming from step t+1 and is overwritten with the gradient
    on c_{t-1}.  Writes the gradient of the gate pre-activations: ``dz`` for the
    input projection and ``dr`` for the recurrent projection (they differ only
    for GRU's candidate gate), and the element-wise part of the gradient on
    h_{t-1} to ``dh_prev`` (GRU: z*dh; zero for the others; the matrix part
    ``dr @ W_hh`` is added by the caller).
    """
    bs, H = dh.shape
    if cell == LSTM:
        for b in range(bs):
            for j in range(H):
                i = a[b, j]
                f = a[b, H + j]
                g = a[b, 2 * H + j]
                o = a[b, 3 * H + j]
                tc = tanh(s[b, j])
                dhv = dh[b, j]
                dcv = dc[b, j] + dhv * o * (1.0 - tc * tc)
                di = dcv * g * i * (1.0 - i)
                df = dcv * c_prev[b, j] * f * (1.0 - f)
                dg = dcv * i * (1.0 - g * g)
                do = dhv * tc * o * (1.0 - o)
                dz[b, j] = di
                dz[b, H + j] = df
                dz[b, 2 * H + j] = dg
                dz[b, 3 * H + j] = do
                dr[b, j] = di
                dr[b, H + j] = df
                dr[b, 2 * H + j] = dg
                dr[b, 3 * H + j] = do
                dc[b, j] = dcv * f
                dh_prev[b, j] = 0.0
    elif cell == GRU:
        for b in range(bs):
            for j in range(H):
                rg = a[b, j]
                zg = a[b, H + j]
                n = a[b, 2 * H + j]
                dhv = dh[b, j]
                dn = dhv * (1.0 - zg) * (1.0 - n * n)
                dzg = dhv * (h_prev[b, j] - n) * zg * (1.0 - zg)
                drg = dn * s[b, j] * rg * (1.0 - rg)
                dz[b, j] = drg
                dz[b, H + j] = dzg
                dz[b, 2 * H + j] = dn
                dr[b, j] = drg
                dr[b, H + j] = dzg
                dr[b, 2 * H + j] = dn * rg
                dh_prev[b, j] = dhv * zg
    elif cell == ELMAN_RELU:
        for b in range(bs):
            for j in range(H):
                d = dh[b, j] if a[b, j] > 0.0 else 0.0
                dz[b, j] = d
                dr[b, j] = d
                dh_prev[b, j] = 0.0
    else:
        for b in range(bs):
            for j in range(H):
                h = a[b, j]
                d = dh[b, j] * (1.0 - h * h)
                dz[b, j] = d
                dr[b, j] = d
                dh_prev[b, j] = 0.0

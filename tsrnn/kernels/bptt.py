"""Chunked (truncated) backpropagation through time over a batch, in parallel.

The driver :func:`batch_forward_backward` splits a batch of sequences into
fixed-size shards, runs :func:`shard_forward_backward` on each shard in a
``prange`` loop with a private gradient buffer per shard, and sums the
buffers in shard order.  Because neither the shard size nor the summation
order depends on the number of threads, a fixed seed gives bitwise identical
results for any thread count.

Stateful truncated BPTT is the same call on consecutive chunks of
``bptt`` steps: the caller passes the final states of a chunk (``h_out``,
``c_out``) as the initial states (``h0``, ``c0``) of the next; no gradient
flows into the initial states, so the gradient is cut at chunk boundaries.

Parameter layout (a flat vector, PyTorch's shapes): for layer ``l``
``offsets[l] = (W_ih, W_hh, b_ih, b_hh)`` with shapes (G*H, I_l), (G*H, H),
(G*H,), (G*H,); the linear head is ``head_offsets = (W, b)`` with shapes
(O, H) and (O,).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from tsrnn._config import jit, pjit
from tsrnn.kernels.activations import GRU, n_gates
from tsrnn.kernels.cells import backward_step, forward_step
from tsrnn.kernels.losses import NO_LOSS, loss_rows


@jit
def _view2(params, off, rows, cols):
    return params[off:off + rows * cols].reshape((rows, cols))


@jit(inline="always")
def _row_step(r, bs, seq_out):
    """(time step, sequence) of row ``r`` of the head's time-major output."""
    if seq_out:
        t = r // bs
        return t, r - t * bs
    return 0, r


@jit
def _add_bias_rows(m, params, off):
    n, k = m.shape
    for i in range(n):
        for j in range(k):
            m[i, j] += params[off + j]


@jit
def _add_bias_cols(m, params, off, j0, j1):
    """m[:, j0:j1] += params[off + j0 : off + j1] (a slice of a bias vector)."""
    n = m.shape[0]
    for i in range(n):
        for j in range(j0, j1):
            m[i, j] += params[off + j]


@jit
def _col_sums_into(m, out, off):
    n, k = m.shape
    for j in range(k):
        out[off + j] = 0.0
    for i in range(n):
        for j in range(k):
            out[off + j] += m[i, j]


@jit
def shard_forward_backward(params, offsets, head_offsets, cell, fast, hidden_size, seq_out,
                           X, Y, idx, b0, bs, h0, c0, h_out, c_out,
                           loss_code, delta, quantiles, scale, want_grad, pred, grad):
    """Forward (and backward) pass of ``bs`` sequences ``X[idx[b0:b0+bs]]``.

    Returns the loss summed over the shard's elements (float64; 0 without a
    loss).  Writes predictions to ``pred[b0:b0+bs]``, final states to
    ``h_out/c_out[:, b0:b0+bs]`` and, when ``want_grad``, the shard's gradient
    (already scaled by ``scale``) to ``grad`` (length = number of parameters).
    """
    dtype = params.dtype
    T = X.shape[1]
    I = X.shape[2]
    H = hidden_size
    L = offsets.shape[0]
    G = n_gates(cell)
    GH = G * H
    O = pred.shape[2]
    n = T * bs

    # time-major copy of the shard's input
    x0 = np.empty((T, bs, I), dtype)
    for b in range(bs):
        src = idx[b0 + b]
        for t in range(T):
            for k in range(I):
                x0[t, b, k] = X[src, t, k]

    A = np.empty((L, T, bs, GH), dtype)   # activated gates
    S = np.empty((L, T, bs, H), dtype)    # LSTM c_t / GRU W_hn h + b_hn
    U = np.empty((L, T, bs, H), dtype)    # LSTM tanh(c_t)
    Hs = np.empty((L, T, bs, H), dtype)   # hidden states
    Hp = np.empty((L, T, bs, H), dtype)   # h_{t-1} sequence (Hp[l, 0] = h0)
    Cp = np.empty((L, bs, H), dtype)      # c_{-1} per layer (LSTM)
    Z = np.empty((T, bs, GH), dtype)
    R = np.empty((bs, GH), dtype)

    for l in range(L):
        Il = I if l == 0 else H
        w_ih = _view2(params, offsets[l, 0], GH, Il)
        w_hh = _view2(params, offsets[l, 1], GH, H)
        if l == 0:
            xin = x0.reshape((n, I))
        else:
            xin = Hs[l - 1].reshape((n, H))
        z2 = Z.reshape((n, GH))
        np.dot(xin, w_ih.T, z2)
        _add_bias_rows(z2, params, offsets[l, 2])
        # b_hh folds into the input projection, except GRU's candidate block,
        # which sits inside r * (W_hn h + b_hn)
        nb = 2 * H if cell == GRU else GH
        _add_bias_cols(z2, params, offsets[l, 3], 0, nb)
        for b in range(bs):
            for j in range(H):
                Hp[l, 0, b, j] = h0[l, b0 + b, j]
                Cp[l, b, j] = c0[l, b0 + b, j]
        for t in range(T):
            hp = Hp[l, t]
            np.dot(hp, w_hh.T, R)
            if cell == GRU:
                _add_bias_cols(R, params, offsets[l, 3], 2 * H, GH)
            cp = Cp[l] if t == 0 else S[l, t - 1]
            forward_step(cell, fast, Z[t], R, hp, cp, A[l, t], S[l, t], U[l, t], Hs[l, t])
            if t + 1 < T:
                Hp[l, t + 1] = Hs[l, t]
        for b in range(bs):
            for j in range(H):
                h_out[l, b0 + b, j] = Hs[l, T - 1, b, j]
                c_out[l, b0 + b, j] = S[l, T - 1, b, j] if G == 4 else 0.0

    # linear head
    w_o = _view2(params, head_offsets[0], O, H)
    if seq_out:
        hin = Hs[L - 1].reshape((n, H))
        nrow = n
    else:
        hin = Hs[L - 1, T - 1]
        nrow = bs
    out = np.empty((nrow, O), dtype)
    np.dot(hin, w_o.T, out)
    _add_bias_rows(out, params, head_offsets[1])
    for r in range(nrow):
        t, b = _row_step(r, bs, seq_out)
        for k in range(O):
            pred[b0 + b, t, k] = out[r, k]

    loss = 0.0
    if loss_code == NO_LOSS:
        return loss
    target = np.empty((nrow, O), dtype)
    for r in range(nrow):
        t, b = _row_step(r, bs, seq_out)
        src = idx[b0 + b]
        for k in range(O):
            target[r, k] = Y[src, t, k]
    dout = np.empty((nrow, O), dtype)
    loss = loss_rows(loss_code, out, target, delta, quantiles, scale, dout)
    if not want_grad:
        return loss

    # ---- backward ----
    np.dot(dout.T, hin, _view2(grad, head_offsets[0], O, H))
    _col_sums_into(dout, grad, head_offsets[1])
    dH = np.zeros((T, bs, H), dtype)
    if seq_out:
        np.dot(dout, w_o, dH.reshape((n, H)))
    else:
        np.dot(dout, w_o, dH[T - 1])
    # only GRU's recurrent gate gradient differs from the input one (r * dn);
    # the other cells share one buffer
    dR = np.empty((T, bs, GH), dtype) if cell == GRU else Z
    dh = np.empty((bs, H), dtype)
    dhp = np.empty((bs, H), dtype)
    dc = np.empty((bs, H), dtype)
    for l in range(L - 1, -1, -1):
        Il = I if l == 0 else H
        w_ih = _view2(params, offsets[l, 0], GH, Il)
        w_hh = _view2(params, offsets[l, 1], GH, H)
        dhp[:, :] = 0.0
        dc[:, :] = 0.0
        for t in range(T - 1, -1, -1):
            for b in range(bs):
                for j in range(H):
                    dh[b, j] = dH[t, b, j] + dhp[b, j]
            cp = Cp[l] if t == 0 else S[l, t - 1]
            backward_step(cell, dh, dc, A[l, t], S[l, t], U[l, t], Hp[l, t], cp, Z[t], dR[t], dhp)
            if t > 0:
                # dh_{t-1} = elementwise part + dR_t @ W_hh
                np.dot(dR[t], w_hh, dh)
                for b in range(bs):
                    for j in range(H):
                        dhp[b, j] += dh[b, j]
        dz2 = Z.reshape((n, GH))
        dr2 = dR.reshape((n, GH))
        if l == 0:
            xin = x0.reshape((n, I))
        else:
            xin = Hs[l - 1].reshape((n, H))
        np.dot(dz2.T, xin, _view2(grad, offsets[l, 0], GH, Il))
        np.dot(dr2.T, Hp[l].reshape((n, H)), _view2(grad, offsets[l, 1], GH, H))
        _col_sums_into(dz2, grad, offsets[l, 2])
        _col_sums_into(dr2, grad, offsets[l, 3])
        if l > 0:
            np.dot(dz2, w_ih, dH.reshape((n, H)))
    return loss


@pjit
def batch_forward_backward(params, offsets, head_offsets, cell, fast, hidden_size, seq_out,
                           X, Y, idx, h0, c0, h_out, c_out,
                           loss_code, delta, quantiles, want_grad, pred, grad, shard_size):
    """Loss (mean over elements), gradient and predictions for one batch.

    Parameters
    ----------
    params : (P,) float array, flat parameter vector.
    offsets : (L, 4) int64; head_offsets : (2,) int64 -- see module docstring.
    cell : int cell code; fast : bool (vectorised activation approximations);
    hidden_size : int; seq_out : bool (head on every step).
    X : (N, T, I) inputs; Y : (N, T or 1, O) targets (ignored without a loss).
    idx : (B,) int64 rows of X/Y forming the batch.
    h0, c0 : (L, B, H) initial states; h_out, c_out : (L, B, H) final states.
    loss_code : int (``losses.NO_LOSS`` for inference); delta : Huber delta;
    quantiles : (O,) pinball quantile per output.
    want_grad : bool; pred : (B, T or 1, O) predictions (written);
    grad : (P,) gradient of the mean loss (written when ``want_grad``).
    shard_size : samples per parallel task (fixes the reduction order).

    Returns the mean loss over all B x T_out x O elements (float64).
    """
    B = idx.shape[0]
    n_shards = (B + shard_size - 1) // shard_size
    P = params.shape[0]
    Ty = pred.shape[1]
    O = pred.shape[2]
    scale = 1.0 / (B * Ty * O)
    losses = np.zeros(n_shards)
    if want_grad:
        gbuf = np.zeros((n_shards, P), params.dtype)
    else:
        gbuf = np.zeros((1, 1), params.dtype)
    for s in prange(n_shards):
        b0 = s * shard_size
        bs = min(shard_size, B - b0)
        g = gbuf[s] if want_grad else gbuf[0]
        losses[s] = shard_forward_backward(
            params, offsets, head_offsets, cell, fast, hidden_size, seq_out,
            X, Y, idx, b0, bs, h0, c0, h_out, c_out,
            loss_code, delta, quantiles, scale, want_grad, pred, g)
    if want_grad:
        # fixed-order reduction over shards, parallel over parameters
        n_blocks = (P + 1023) // 1024
        for blk in prange(n_blocks):
            p0 = blk * 1024
            p1 = min(P, p0 + 1024)
            for p in range(p0, p1):
                acc = gbuf[0, p]
                for s in range(1, n_shards):
                    acc += gbuf[s, p]
                grad[p] = acc
    total = 0.0
    for s in range(n_shards):
        total += losses[s]
    return total * scale

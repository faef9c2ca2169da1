"""Jordan, IndRNN and CTRNN cells: chunked BPTT over a batch, in parallel.

Three recurrent cells whose recurrence is not ``W_hh h_{t-1}`` of an Elman
network, trained by the same scheme as :mod:`tsrnn.kernels.bptt`: the batch is
split into fixed-size shards, each shard runs forward and backward (spread over
threads by :func:`tsrnn._threading.run_blocks`) and writes its own gradient row, and the rows are summed in
shard order, so results are bitwise identical for any thread count.  All
buffers of a shard are time-major (``[t, b, :]``) and every matrix product is
one ``np.dot`` on contiguous arrays.

Models (``x_t`` the input of a step, ``H`` hidden units, ``O`` outputs, head
``y_t = W_o h_t + b_o`` on the last layer; ``act`` is one of the ``ACT_*``
codes of :mod:`tsrnn.kernels.activations`, tanh or relu):

Jordan (``JORDAN``, one layer)
    ``h_t = act(W_ih x_t + W_ch c_t + b_ih)``, ``y_t = W_o h_t + b_o``.
    Free running: ``c_t = y_{t-1}`` and BPTT flows through the output
    feedback (``dy_{t-1} += W_ch^T dpre_t``).  Teacher forcing: ``c_t =
    Y[t-1]``, the target of the previous step, and no gradient flows through
    the context.  ``c_0`` is the initial context (``h0[0]``, shape (O,)); the
    final state is the last context, ``y_{T-1}`` (free) or ``Y[T-1]``
    (teacher).  The head runs on every step (the feedback needs it); with
    ``seq_out=False`` only ``y_{T-1}`` enters the loss and ``pred``.
IndRNN (``INDRNN``, Li et al., CVPR 2018)
    ``h^l_t = act(W_ih x^l_t + u ⊙ h^l_{t-1} + b_ih) [+ h^{l-1}_t]`` with a
    per-neuron recurrent vector ``u``; ``x^0 = x`` and ``x^l = h^{l-1}``; the
    bracketed residual term is added for ``l >= 1`` when ``residual``.  The
    recurrent constraint ``|u| <= gamma^(1/T)`` is enforced by the caller
    (:func:`tsrnn.nn.family.indrnn_clip_recurrent`) after each update.
CTRNN (``CTRNN``)
    ``tau dh/dt = -h + W_hh act(h) + W_ih x + b`` integrated by one explicit
    Euler step per observation with its own time delta ``dt_t``::

        alpha_t = clip(dt_t / tau, 0, 1),   tau = exp(log_tau)  (per neuron)
        h_t = h_{t-1} + alpha_t * (-h_{t-1} + W_hh act(h_{t-1}) + W_ih x_t + b)

    ``dt`` is given per sample and step, so irregularly sampled series need
    no resampling.  Stability: with ``alpha`` in [0, 1] the update is the
    convex combination ``(1 - alpha) h_{t-1} + alpha (W_hh act(h_{t-1}) +
    W_ih x_t + b)``; for a bounded ``act`` (tanh, the intended one) every
    state obeys ``|h_t| <= max(|h_{t-1}|, ||W_hh||_inf + |W_ih x_t + b|)``,
    whatever ``dt`` and ``tau`` (explicit Euler of ``-h/tau`` alone would
    diverge for ``dt > 2 tau``).  ``alpha`` is computed as ``dt * exp(-log_tau)``
    and clamped, so overflow of ``exp`` gives ``alpha = 1`` (or 0 when
    ``dt = 0``), never NaN; ``dt <= 0`` (or NaN) skips the step (``alpha = 0``;
    callers should reject negative ``dt``).  The gradient is the one of the
    clamped forward: ``d alpha / d log_tau = -alpha`` where ``0 < dt/tau <= 1``
    and 0 where the clamp is active (``dt/tau > 1``); at ``dt/tau == 1``
    exactly it is the derivative from below, so a time constant initialised
    on the clamp (``tau = dt = 1``) can still learn to grow.  Layer ``l >= 1``
    reads ``h^{l-1}``.

Parameter layout (flat vector; ``offsets`` (L, 4) int64, -1 where unused):

* IndRNN: ``(W_ih (H, I_l), u (H,), b_ih (H,), -1)``
* CTRNN:  ``(W_ih (H, I_l), W_hh (H, H), b (H,), log_tau (H,))``
* Jordan: ``(W_ih (H, I), W_ch (H, O), b_ih (H,), -1)``, L = 1
* head:   ``head_offsets = (W_o (O, H), b_o (O,))``

No gradient flows into the initial states (truncated BPTT: pass ``h_out`` of
one chunk as ``h0`` of the next).
"""

from __future__ import annotations

import math

import numpy as np

from tsrnn._config import jit
from tsrnn.kernels.activations import ACT_RELU, ACT_TANH, INDRNN, JORDAN, apply_act
from tsrnn.kernels.blas import gemm
from tsrnn.kernels.bptt import (_add_bias_rows, _col_sums_into, _head_forward, _load_x,
                                _loss_head_rows, _view2, _write_pred, run_sharded)
from tsrnn.kernels.losses import NO_LOSS

__all__ = ["family_forward_backward", "family_shard"]


# ----------------------------------------------------------------- helpers
@jit
def _act_rows(m, kind, fast):
    """Apply activation ``kind`` in place to every row of ``m`` (n, k)."""
    for i in range(m.shape[0]):
        apply_act(m[i], 0, m.shape[1], kind, fast)


@jit
def _mul_dact(d, a, kind):
    """``d *= act'(pre)`` given the activated values ``a = act(pre)`` (n, k)."""
    n, k = d.shape
    if kind == ACT_TANH:
        for i in range(n):
            for j in range(k):
                d[i, j] *= 1.0 - a[i, j] * a[i, j]
    elif kind == ACT_RELU:
        for i in range(n):
            for j in range(k):
                if not a[i, j] > 0.0:
                    d[i, j] = 0.0
    else:  # sigmoid
        for i in range(n):
            for j in range(k):
                d[i, j] *= a[i, j] * (1.0 - a[i, j])


@jit
def _head(params, head_offsets, top, seq_out, Y, idx, b0, bs, pred,
          loss_code, delta, quantiles, scale, backward, grad, dtop):
    """Linear head on ``top`` (T, bs, H): predictions, loss, head gradient.

    When ``backward``, writes the head's gradient into ``grad`` and the
    gradient on ``top`` into ``dtop`` (T, bs, H), which must be zero.
    """
    T = top.shape[0]
    H = top.shape[2]
    O = pred.shape[2]
    n = T * bs
    w_o = _view2(params, head_offsets[0], O, H)
    if seq_out:
        hin = top.reshape((n, H))
        nrow = n
    else:
        hin = top[T - 1]
        nrow = bs
    out = _head_forward(params, head_offsets, hin, w_o, bs, seq_out, b0, pred)
    if loss_code == NO_LOSS:
        return 0.0
    dout = np.empty((nrow, O), top.dtype)
    loss = _loss_head_rows(out, seq_out, Y, idx, b0, bs, loss_code, delta, quantiles, scale, dout)
    if backward:
        np.dot(dout.T, hin, _view2(grad, head_offsets[0], O, H))
        _col_sums_into(dout, grad, head_offsets[1])
        if seq_out:
            np.dot(dout, w_o, dtop.reshape((n, H)))
        else:
            np.dot(dout, w_o, dtop[T - 1])
    return loss


# ------------------------------------------------------------------ IndRNN
@jit
def _indrnn_shard(params, offsets, head_offsets, act, fast, H, seq_out, X, Y, idx, b0, bs,
                  h0, h_out, loss_code, delta, quantiles, scale, want_grad, residual, pred, grad):
    dtype = params.dtype
    T = X.shape[1]
    I = X.shape[2]
    L = offsets.shape[0]
    n = T * bs
    x0 = _load_x(X, idx, b0, bs, dtype)
    A = np.empty((L, T, bs, H), dtype)    # act(pre) per layer and step
    Hs = np.empty((L, T, bs, H), dtype)   # h_t (A plus the residual input)
    Hp = np.empty((L, T, bs, H), dtype)   # h_{t-1} (Hp[l, 0] = h0)
    Z = np.empty((T, bs, H), dtype)       # input projection, then d pre
    for l in range(L):
        Il = I if l == 0 else H
        w_ih = _view2(params, offsets[l, 0], H, Il)
        uo = offsets[l, 1]
        if l == 0:
            xin = x0.reshape((n, I))
        else:
            xin = Hs[l - 1].reshape((n, H))
        z2 = Z.reshape((n, H))
        np.dot(xin, w_ih.T, z2)
        _add_bias_rows(z2, params, offsets[l, 2])
        for b in range(bs):
            for j in range(H):
                Hp[l, 0, b, j] = h0[l, b0 + b, j]
        res = residual and l > 0
        u = params[uo:uo + H]   # a view: indices from 0 vectorise (see cells.py)
        for t in range(T):
            hp = Hp[l, t]
            a = A[l, t]
            zt = Z[t]
            h = Hs[l, t]
            for b in range(bs):
                ab = a[b]
                for j in range(H):
                    ab[j] = zt[b, j] + u[j] * hp[b, j]
                apply_act(ab, 0, H, act, fast)
            if res:
                xr = Hs[l - 1, t]
                for b in range(bs):
                    for j in range(H):
                        h[b, j] = a[b, j] + xr[b, j]
            else:
                h[:, :] = a
            if t + 1 < T:
                Hp[l, t + 1] = h
        for b in range(bs):
            for j in range(H):
                h_out[l, b0 + b, j] = Hs[l, T - 1, b, j]

    backward = want_grad and loss_code != NO_LOSS
    dH = np.zeros((T, bs, H), dtype) if backward else np.zeros((1, 1, 1), dtype)
    loss = _head(params, head_offsets, Hs[L - 1], seq_out, Y, idx, b0, bs, pred,
                 loss_code, delta, quantiles, scale, backward, grad, dH)
    if not backward:
        return loss

    # ---- backward: dH holds the gradient on h^l_t from above (head or layer l+1)
    dnext = np.empty((bs, H), dtype)   # u * dpre_{t+1}: the gradient on h_t through h_{t+1}
    for l in range(L - 1, -1, -1):
        Il = I if l == 0 else H
        w_ih = _view2(params, offsets[l, 0], H, Il)
        uo = offsets[l, 1]
        u = params[uo:uo + H]
        dnext[:, :] = 0.0
        for t in range(T - 1, -1, -1):
            dht = dH[t]
            dz = Z[t]
            for b in range(bs):
                for j in range(H):
                    d = dht[b, j] + dnext[b, j]
                    dht[b, j] = d          # total gradient on h^l_t (residual path)
                    dz[b, j] = d
            _mul_dact(dz, A[l, t], act)
            for b in range(bs):
                for j in range(H):
                    dnext[b, j] = u[j] * dz[b, j]
        dz2 = Z.reshape((n, H))
        if l == 0:
            xin = x0.reshape((n, I))
        else:
            xin = Hs[l - 1].reshape((n, H))
        gemm(dz2, xin, _view2(grad, offsets[l, 0], H, Il), 0.0, True)
        _col_sums_into(dz2, grad, offsets[l, 2])
        hp2 = Hp[l].reshape((n, H))
        gu = grad[uo:uo + H]
        for j in range(H):
            gu[j] = 0.0
        for r in range(n):
            for j in range(H):
                gu[j] += dz2[r, j] * hp2[r, j]
        if l > 0:
            dh2 = dH.reshape((n, H))
            # accumulated onto the identity path with a residual connection
            gemm(dz2, w_ih, dh2, 1.0 if residual else 0.0, False)
    return loss


# ------------------------------------------------------------------- CTRNN
@jit(inline="always")
def _ct_alpha(dtv, inv_tau):
    """Euler step fraction ``clip(dt / tau, 0, 1)``; 0 for dt <= 0 or NaN."""
    if not dtv > 0.0:
        return 0.0
    r = dtv * inv_tau
    if r < 1.0:
        return r
    return 1.0


@jit(inline="always")
def _ct_unclamped(dtv, inv_tau):
    """True where ``d alpha / d log_tau = -alpha``: ``0 < dt / tau <= 1``.

    At ``dt / tau == 1`` exactly (``dt = 1`` with ``tau = 1``, e.g. at
    initialisation) this is the one-sided derivative from below, so a
    time constant sitting on the clamp can still learn to grow.
    """
    return dtv > 0.0 and dtv * inv_tau <= 1.0


@jit
def _ctrnn_shard(params, offsets, head_offsets, act, fast, H, seq_out, X, Y, dt, idx, b0, bs,
                 h0, h_out, loss_code, delta, quantiles, scale, want_grad, pred, grad):
    dtype = params.dtype
    T = X.shape[1]
    I = X.shape[2]
    L = offsets.shape[0]
    n = T * bs
    x0 = _load_x(X, idx, b0, bs, dtype)
    DT = np.empty((T, bs), np.float64)
    for b in range(bs):
        src = idx[b0 + b]
        for t in range(T):
            DT[t, b] = dt[src, t]
    Hs = np.empty((L, T, bs, H), dtype)   # h_t
    Hp = np.empty((L, T, bs, H), dtype)   # h_{t-1}
    Sg = np.empty((L, T, bs, H), dtype)   # act(h_{t-1})
    F = np.empty((L, T, bs, H), dtype)    # f_t = -h_{t-1} + W_hh act(h_{t-1}) + W_ih x_t + b
    Al = np.empty((L, T, bs, H), dtype)   # alpha_t
    Z = np.empty((T, bs, H), dtype)       # input projection, then d f
    R = np.empty((bs, H), dtype)
    inv_tau = np.empty(H, np.float64)
    for l in range(L):
        Il = I if l == 0 else H
        w_ih = _view2(params, offsets[l, 0], H, Il)
        w_hh = _view2(params, offsets[l, 1], H, H)
        lto = offsets[l, 3]
        for j in range(H):
            inv_tau[j] = math.exp(-float(params[lto + j]))
        if l == 0:
            xin = x0.reshape((n, I))
        else:
            xin = Hs[l - 1].reshape((n, H))
        z2 = Z.reshape((n, H))
        np.dot(xin, w_ih.T, z2)
        _add_bias_rows(z2, params, offsets[l, 2])
        for b in range(bs):
            for j in range(H):
                Hp[l, 0, b, j] = h0[l, b0 + b, j]
        for t in range(T):
            hp = Hp[l, t]
            s = Sg[l, t]
            s[:, :] = hp
            _act_rows(s, act, fast)
            np.dot(s, w_hh.T, R)
            f = F[l, t]
            al = Al[l, t]
            h = Hs[l, t]
            zt = Z[t]
            for b in range(bs):
                dtv = DT[t, b]
                for j in range(H):
                    fv = R[b, j] + zt[b, j] - hp[b, j]
                    a = _ct_alpha(dtv, inv_tau[j])
                    f[b, j] = fv
                    al[b, j] = a
                    h[b, j] = hp[b, j] + al[b, j] * fv
            if t + 1 < T:
                Hp[l, t + 1] = h
        for b in range(bs):
            for j in range(H):
                h_out[l, b0 + b, j] = Hs[l, T - 1, b, j]

    backward = want_grad and loss_code != NO_LOSS
    dH = np.zeros((T, bs, H), dtype) if backward else np.zeros((1, 1, 1), dtype)
    loss = _head(params, head_offsets, Hs[L - 1], seq_out, Y, idx, b0, bs, pred,
                 loss_code, delta, quantiles, scale, backward, grad, dH)
    if not backward:
        return loss

    # ---- backward
    dnext = np.empty((bs, H), dtype)   # gradient on h_t through h_{t+1}
    dlt = np.empty(H, dtype)           # gradient on log_tau
    for l in range(L - 1, -1, -1):
        Il = I if l == 0 else H
        w_ih = _view2(params, offsets[l, 0], H, Il)
        w_hh = _view2(params, offsets[l, 1], H, H)
        lto = offsets[l, 3]
        for j in range(H):
            inv_tau[j] = math.exp(-float(params[lto + j]))
        dnext[:, :] = 0.0
        dlt[:] = 0.0
        for t in range(T - 1, -1, -1):
            dht = dH[t]
            dz = Z[t]
            al = Al[l, t]
            f = F[l, t]
            for b in range(bs):
                dtv = DT[t, b]
                for j in range(H):
                    d = dht[b, j] + dnext[b, j]
                    a = al[b, j]
                    df = a * d
                    dz[b, j] = df                 # d f_t (= d of W_ih x + b)
                    dnext[b, j] = d - df          # identity path and -h_{t-1} in f
                    if _ct_unclamped(dtv, inv_tau[j]):   # d alpha / d log_tau = -alpha
                        dlt[j] -= d * f[b, j] * a
            if t > 0:
                np.dot(dz, w_hh, R)               # gradient on act(h_{t-1})
                _mul_dact(R, Sg[l, t], act)
                for b in range(bs):
                    for j in range(H):
                        dnext[b, j] += R[b, j]
        dz2 = Z.reshape((n, H))
        if l == 0:
            xin = x0.reshape((n, I))
        else:
            xin = Hs[l - 1].reshape((n, H))
        gemm(dz2, xin, _view2(grad, offsets[l, 0], H, Il), 0.0, True)
        gemm(dz2, Sg[l].reshape((n, H)), _view2(grad, offsets[l, 1], H, H), 0.0, True)
        _col_sums_into(dz2, grad, offsets[l, 2])
        for j in range(H):
            grad[lto + j] = dlt[j]
        if l > 0:
            gemm(dz2, w_ih, dH.reshape((n, H)), 0.0, False)
    return loss


# ------------------------------------------------------------------ Jordan
@jit
def _jordan_shard(params, offsets, head_offsets, act, fast, H, seq_out, X, Y, idx, b0, bs,
                  h0, h_out, loss_code, delta, quantiles, scale, want_grad, teacher, pred, grad):
    dtype = params.dtype
    T = X.shape[1]
    I = X.shape[2]
    O = pred.shape[2]
    n = T * bs
    w_ih = _view2(params, offsets[0, 0], H, I)
    w_ch = _view2(params, offsets[0, 1], H, O)
    w_o = _view2(params, head_offsets[0], O, H)
    tf = teacher and loss_code != NO_LOSS
    x0 = _load_x(X, idx, b0, bs, dtype)
    x2 = x0.reshape((n, I))
    Z = np.empty((T, bs, H), dtype)     # input projection, then d pre
    z2 = Z.reshape((n, H))
    np.dot(x2, w_ih.T, z2)
    _add_bias_rows(z2, params, offsets[0, 2])
    Cp = np.empty((T, bs, O), dtype)    # contexts c_t
    Hs = np.empty((T, bs, H), dtype)    # h_t
    Out = np.empty((T, bs, O), dtype)   # y_t
    c2 = Cp.reshape((n, O))
    h2 = Hs.reshape((n, H))
    o2 = Out.reshape((n, O))
    for b in range(bs):
        for k in range(O):
            Cp[0, b, k] = h0[0, b0 + b, k]
    if tf:
        for t in range(1, T):
            for b in range(bs):
                src = idx[b0 + b]
                for k in range(O):
                    Cp[t, b, k] = Y[src, t - 1, k]
        np.dot(c2, w_ch.T, h2)
        for r in range(n):
            for j in range(H):
                h2[r, j] += z2[r, j]
        _act_rows(h2, act, fast)
        np.dot(h2, w_o.T, o2)
        _add_bias_rows(o2, params, head_offsets[1])
        for b in range(bs):
            src = idx[b0 + b]
            for k in range(O):
                h_out[0, b0 + b, k] = Y[src, T - 1, k]
    else:
        for t in range(T):
            ht = Hs[t]
            np.dot(Cp[t], w_ch.T, ht)
            zt = Z[t]
            for b in range(bs):
                for j in range(H):
                    ht[b, j] += zt[b, j]
            _act_rows(ht, act, fast)
            np.dot(ht, w_o.T, Out[t])
            _add_bias_rows(Out[t], params, head_offsets[1])
            if t + 1 < T:
                Cp[t + 1] = Out[t]
        for b in range(bs):
            for k in range(O):
                h_out[0, b0 + b, k] = Out[T - 1, b, k]

    if seq_out:
        out = o2
    else:
        out = Out[T - 1]
    _write_pred(out, seq_out, b0, bs, pred)
    if loss_code == NO_LOSS:
        return 0.0
    dout = np.empty(out.shape, dtype)
    loss = _loss_head_rows(out, seq_out, Y, idx, b0, bs, loss_code, delta, quantiles, scale, dout)
    if not want_grad:
        return loss

    # ---- backward: dY[t] = total gradient on y_t (loss + output feedback)
    dY = np.zeros((T, bs, O), dtype)
    dy2 = dY.reshape((n, O))
    if seq_out:
        dy2[:, :] = dout
    else:
        dY[T - 1] = dout
    if tf:
        np.dot(dy2, w_o, z2)
        _mul_dact(z2, h2, act)
    else:
        dc = np.zeros((bs, O), dtype)   # W_ch^T dpre_{t+1}: gradient on c_{t+1} = y_t
        for t in range(T - 1, -1, -1):
            dyt = dY[t]
            for b in range(bs):
                for k in range(O):
                    dyt[b, k] += dc[b, k]
            dz = Z[t]
            np.dot(dyt, w_o, dz)
            _mul_dact(dz, Hs[t], act)
            if t > 0:
                np.dot(dz, w_ch, dc)
    np.dot(dy2.T, h2, _view2(grad, head_offsets[0], O, H))
    _col_sums_into(dy2, grad, head_offsets[1])
    np.dot(z2.T, x2, _view2(grad, offsets[0, 0], H, I))
    np.dot(z2.T, c2, _view2(grad, offsets[0, 1], H, O))
    _col_sums_into(z2, grad, offsets[0, 2])
    return loss


# ------------------------------------------------------------------ driver
@jit(inline="always")
def family_shard(params, offsets, head_offsets, cell, act, fast, hidden_size, seq_out,
                 X, Y, dt, idx, b0, bs, h0, h_out, loss_code, delta, quantiles, scale,
                 want_grad, pred, grad, teacher, residual):
    """Forward (and backward) pass of the ``bs`` sequences ``X[idx[b0:b0+bs]]``.

    Returns the loss summed over the shard's elements (0 without a loss);
    writes ``pred[b0:b0+bs]``, ``h_out[:, b0:b0+bs]`` and, when ``want_grad``,
    the shard's gradient (already multiplied by ``scale``) to ``grad``.
    """
    if cell == JORDAN:
        return _jordan_shard(params, offsets, head_offsets, act, fast, hidden_size, seq_out,
                             X, Y, idx, b0, bs, h0, h_out, loss_code, delta, quantiles, scale,
                             want_grad, teacher, pred, grad)
    if cell == INDRNN:
        return _indrnn_shard(params, offsets, head_offsets, act, fast, hidden_size, seq_out,
                             X, Y, idx, b0, bs, h0, h_out, loss_code, delta, quantiles, scale,
                             want_grad, residual, pred, grad)
    return _ctrnn_shard(params, offsets, head_offsets, act, fast, hidden_size, seq_out,
                        X, Y, dt, idx, b0, bs, h0, h_out, loss_code, delta, quantiles, scale,
                        want_grad, pred, grad)


@jit
def _shard_range(s0, s1, shard_size, params, offsets, head_offsets, cell, act, fast, hidden_size,
                 seq_out, X, Y, dt, idx, h0, h_out, loss_code, delta, quantiles, scale, want_grad,
                 pred, gbuf, losses, teacher, residual):
    """Shards ``s0 .. s1-1`` of a batch, one after the other (one thread's share)."""
    B = idx.shape[0]
    for s in range(s0, s1):
        b0 = s * shard_size
        bs = min(shard_size, B - b0)
        g = gbuf[s] if want_grad else gbuf[0]
        losses[s] = family_shard(
            params, offsets, head_offsets, cell, act, fast, hidden_size, seq_out,
            X, Y, dt, idx, b0, bs, h0, h_out, loss_code, delta, quantiles, scale,
            want_grad, pred, g, teacher, residual)


def family_forward_backward(params, offsets, head_offsets, cell, act, fast, hidden_size, seq_out,
                            X, Y, dt, idx, h0, h_out, loss_code, delta, quantiles,
                            want_grad, pred, grad, shard_size, teacher, residual):
    """Loss (mean over elements), gradient and predictions of a Jordan, IndRNN or CTRNN batch.

    Parameters
    ----------
    params : (P,) float32 or float64 array
        Flat parameter vector.
    offsets : (L, 4) int64 array
        Per-layer offsets (see the module docstring); -1 where unused.
    head_offsets : (2,) int64 array
        Offsets of the head's ``W_o`` (O, H) and ``b_o`` (O,).
    cell : int
        ``JORDAN``, ``INDRNN`` or ``CTRNN`` (:mod:`tsrnn.kernels.activations`).
    act : int
        ``ACT_TANH`` or ``ACT_RELU``: Jordan/IndRNN activation, CTRNN's ``act(h)``.
    fast : bool
        Use the float32 activation approximations (pass True for float32 only).
    hidden_size : int
    seq_out : bool
        Head output (and loss) on every step, else on the last step only.
    X : (N, T, I) array
        Inputs, dtype of ``params``.
    Y : (N, T or 1, O) array
        Targets (ignored when ``loss_code == NO_LOSS``; a (1, 1, O) dummy is fine).
    dt : (N, T) array
        Time deltas, dtype of ``params``; read by CTRNN only (others: a (1, 1) dummy).
    idx : (B,) int64 array
        Rows of ``X``/``Y``/``dt`` forming the batch.
    h0 : (L, B, H) array, or (1, B, O) for Jordan
        Initial states (Jordan: initial context).  No gradient flows into them.
    h_out : array shaped like ``h0``
        Receives the final states (Jordan: last context).
    loss_code : int
        A code of :mod:`tsrnn.kernels.losses`, ``NO_LOSS`` for inference.
    delta : float
        Huber delta.
    quantiles : (O,) float64 array
        Pinball quantile per output.
    want_grad : bool
    pred : (B, T or 1, O) array
        Receives the predictions.
    grad : (P,) array
        Receives the gradient of the mean loss when ``want_grad``.
    shard_size : int
        Samples per parallel task; fixes the reduction order.
    teacher : bool
        Jordan teacher forcing (needs ``seq_out`` and ``Y`` with T steps);
        ignored (free running) when ``loss_code == NO_LOSS``.
    residual : bool
        IndRNN residual connections for layers >= 1.

    Returns
    -------
    float
        Mean loss over all B x T_out x O elements (0.0 without a loss).

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.kernels.activations import ACT_TANH, INDRNN
    >>> from tsrnn.kernels.losses import MSE
    >>> from tsrnn.nn.family import family_layout, family_offsets
    >>> names, shapes = family_layout(INDRNN, 2, 4, 1, 1)
    >>> off, head = family_offsets(names, shapes)
    >>> params = np.full(sum(int(np.prod(s)) for s in shapes), 0.1)
    >>> X = np.ones((3, 5, 2)); Y = np.zeros((3, 5, 1)); dt = np.ones((1, 1))
    >>> idx = np.arange(3); h0 = np.zeros((1, 3, 4)); h_out = np.empty_like(h0)
    >>> pred = np.empty((3, 5, 1)); grad = np.empty_like(params)
    >>> loss = family_forward_backward(params, off, head, INDRNN, ACT_TANH, False, 4, True,
    ...                                X, Y, dt, idx, h0, h_out, MSE, 1.0, np.full(1, 0.5),
    ...                                True, pred, grad, 2, False, False)
    >>> bool(loss > 0.0), bool(np.all(np.isfinite(grad)))
    (True, True)
    """
    if shard_size < 1:
        raise ValueError("shard_size must be >= 1")
    if cell == JORDAN and teacher and loss_code != NO_LOSS:
        if not seq_out or Y.shape[1] != X.shape[1]:
            raise ValueError("Jordan teacher forcing needs seq_out=True and targets Y of shape "
                             "(N, T, O); pass teacher=False or return sequences")
    want_grad, teacher, residual = bool(want_grad), bool(teacher), bool(residual)

    def shards(s0, s1, scale, gbuf, losses):
        _shard_range(s0, s1, shard_size, params, offsets, head_offsets, cell, act, fast,
                     hidden_size, seq_out, X, Y, dt, idx, h0, h_out, loss_code, delta, quantiles,
                     scale, want_grad, pred, gbuf, losses, teacher, residual)

    return run_sharded(shards, idx.shape[0], shard_size, params, pred, want_grad, grad)

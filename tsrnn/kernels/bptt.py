"""Chunked (truncated) backpropagation through time over a batch, in parallel.

The driver :func:`batch_forward_backward` splits a batch of sequences into
fixed-size shards, runs :func:`shard_forward_backward` on each shard (spread
over threads by :func:`tsrnn._threading.run_blocks`) with a private gradient
buffer per shard, and sums the buffers in shard order.  Because neither the shard size nor the summation
order depends on the number of threads, a fixed seed gives bitwise identical
results for any thread count.

Stateful truncated BPTT is the same call on consecutive chunks of
``bptt`` steps: the caller passes the final states of a chunk (``h_out``,
``c_out``) as the initial states (``h0``, ``c0``) of the next; no gradient
flows into the initial states, so the gradient is cut at chunk boundaries.

Parameter layout (a flat vector, PyTorch's shapes): for layer ``l`` and
direction ``d`` (0 forward, 1 reverse when bidirectional)
``offsets[l * n_dir + d] = (W_ih, W_hh, b_ih, b_hh)`` with shapes (G*H, I_l),
(G*H, H), (G*H,), (G*H,), where I_l is the input size for l = 0 and
n_dir*H above; the linear head is ``head_offsets = (W, b)`` with shapes
(O, n_dir*H) and (O,).
"""

from __future__ import annotations

import numpy as np

from tsrnn._config import jit
from tsrnn.kernels.activations import ACT_SIGMOID, ACT_TANH, GRU, LSTM, apply_squash, n_gates
from tsrnn.kernels.blas import SMALL_MNK, gemm
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
    bias = params[off:off + k]
    for i in range(n):
        row = m[i]
        for j in range(k):
            row[j] += bias[j]


@jit
def _aligned_flat(n, dtype):
    """An uninitialised 1-D array of ``n`` values starting on a 64-byte boundary."""
    buf = np.empty(n + 16, dtype)
    per = 64 // buf.itemsize
    off = (per - (buf.ctypes.data // buf.itemsize) % per) % per
    return buf[off:off + n]


@jit(inline="always")
def _empty64(shape, dtype):
    """``np.empty(shape, dtype)`` whose data start on a 64-byte boundary.

    Numba's ``np.empty`` aligns to 32 bytes (a 256 KiB array measured at 32 mod
    64 every time); OpenBLAS's AVX-512 small-matrix kernels on blocked products
    run up to 20 % slower on operands that are not 64-byte aligned
    (benchmarks/RESULTS.md, session 5).  Used for the kernels' matrix operands.
    The allocation itself is a separate (not inlined) function: inlined at the
    dozen call sites it added 2 s to a cold first fit.
    """
    n = np.int64(1)   # not a literal 1: that compiled _aligned_flat a second time
    for d in shape:
        n *= d
    return _aligned_flat(n, dtype).reshape(shape)


@jit(inline="always")
def _transpose_into(w, out):
    """out[k, i] = w[i, k] for a C-contiguous (m, k) ``w`` and (k, m) ``out``.

    In 16 x 16 tiles: both tiles stay in L1.  The plain double loop wrote one
    element per cache line, and for an LSTM with H=128 it was 6 % of a
    one-thread training epoch (it runs once per shard; benchmarks/RESULTS.md).
    """
    m, kk = w.shape
    for i0 in range(0, m, 16):
        i1 = min(i0 + 16, m)
        for k0 in range(0, kk, 16):
            k1 = min(k0 + 16, kk)
            for k in range(k0, k1):
                for i in range(i0, i1):
                    out[k, i] = w[i, k]


@jit(inline="always")
def _copy_flat(src, dst):
    """dst[...] = src[...] for two C-contiguous 2-D arrays of the same shape (one flat loop)."""
    a = src.reshape(src.size)
    b = dst.reshape(dst.size)
    for k in range(a.shape[0]):
        b[k] = a[k]


@jit
def _col_sums_into(m, out, off):
    n, k = m.shape
    o = out[off:off + k]
    for j in range(k):
        o[j] = 0.0
    for i in range(n):
        row = m[i]
        for j in range(k):
            o[j] += row[j]


@jit
def _reverse_time_into(src, buf):
    """Copy ``src`` (T, bs, k) into ``buf`` with the time axis reversed; returns the view."""
    T, bs, k = src.shape
    out = buf[:T * bs * k].reshape((T, bs, k))
    for t in range(T):
        for b in range(bs):
            for j in range(k):
                out[T - 1 - t, b, j] = src[t, b, j]
    return out


@jit(inline="always")
def _slot(t, full):
    """Index of step ``t`` in a buffer that keeps every step (``full``) or two slots."""
    return t if full else t % 2


@jit(inline="always")
def _layer_input(l, D, x0, Hs, Xc):
    """Input sequence (T, bs, I_l) of layer ``l``: the shard's input, the previous
    layer's states, or both directions' states concatenated (time order)."""
    if l == 0:
        return x0
    if D == 1:
        return Hs[l - 1]
    return Xc[l - 1]


#: batches of at least this many sequences use the transposed LSTM inference kernel
#: (smaller ones, e.g. a forecaster's last window, run the training kernel's forward
#: pass, so that a first fit + predict does not compile a second kernel)
LSTM_T_MIN_BATCH = 256


@jit
def lstm_infer_t(params, offsets, fast, H, X, idx, b0, bs, h0, c0, h_out, c_out, Htop, full):
    """LSTM forward without a gradient, one direction, in the transposed layout.

    Every step is ``Z^T = [W_hh | W_ih | b] @ [h_{t-1}^T; x_t^T; 1]``: the (4H, bs)
    result holds each gate's values for the whole shard contiguously, so the
    element-wise part runs as a few long flat loops instead of short per-row ones
    (with 256-row inference shards).  While the product is one BLAS call (small
    H) it is one call per step, the input projection and the biases riding in
    it; above that, ``W_hh @ h^T`` (blocked) plus ``[W_ih | b] @ [x^T; 1]``.  Each
    layer keeps two (H + I_l + 1, bs) operand blocks: step ``t`` reads one and
    writes ``h_t`` into the first H rows of the other; the input rows are filled
    in just before the product.

    Reads the shard's sequences ``X[idx[b0:b0+bs]]`` (N, T, I) in place; writes the
    final states of every layer to ``h_out/c_out[:, b0:b0+bs]`` and the top layer's
    states to ``Htop`` (T or 2 slots, bs, H; every step when ``full``, else the last
    step in its slot).
    """
    dtype = params.dtype
    T = X.shape[1]
    I = X.shape[2]
    L = offsets.shape[0]
    GH = 4 * H
    nb = H * bs
    Kmax = H + max(I, H) + 1
    ops = _empty64((2, Kmax * bs), dtype)    # the two step operands of a layer
    wbuf = _empty64((GH * Kmax,), dtype)     # [W_hh | W_ih | b] of a layer
    # states of a lower layer for the one above (every step; the layer above reads
    # step t before it overwrites it with its own h_t)
    Hl = _empty64((T if L > 1 else 1, nb), dtype)
    ZT = _empty64((GH, bs), dtype)
    z1 = ZT.reshape(GH * bs)
    gi = z1[:nb]
    gf = z1[nb:2 * nb]
    go = z1[2 * nb:3 * nb]
    gc = z1[3 * nb:]
    c = np.empty(nb, dtype)
    for l in range(L):
        Il = I if l == 0 else H
        K = H + Il + 1
        w_ih = _view2(params, offsets[l, 0], GH, Il)
        w_hh = _view2(params, offsets[l, 1], GH, H)
        # one product per step while it is a single BLAS call; above that, the
        # blocked recurrent product plus a k = I_l + 1 one: a k = H + I_l + 1 product
        # splits into awkward blocks (LSTM H=32, 256 rows: 65 -> 68 ms, benchmarks/RESULTS.md)
        fold = GH * K * bs <= SMALL_MNK
        w = wbuf[:GH * K].reshape((GH, K))
        whh = wbuf[:GH * H].reshape((GH, H))
        wx = wbuf[GH * H:GH * K].reshape((GH, Il + 1))
        # gate blocks reordered i, f, o, g: the three sigmoid gates become one run;
        # row i's recurrent part and [input | bias] part, in whichever layout is used
        for i in range(GH):
            src = i if i < 2 * H else (i + H if i < 3 * H else i - H)
            dh = w[i, :H] if fold else whh[i]
            dx = w[i, H:] if fold else wx[i]
            for k in range(H):
                dh[k] = w_hh[src, k]
            for k in range(Il):
                dx[k] = w_ih[src, k]
            dx[Il] = params[offsets[l, 2] + src] + params[offsets[l, 3] + src]
        op0 = ops[0, :K * bs].reshape((K, bs))
        op1 = ops[1, :K * bs].reshape((K, bs))
        h0f = ops[0, :nb]
        h1f = ops[1, :nb]
        # the same blocks as (H, bs) states and (I_l + 1, bs) inputs
        oh0 = h0f.reshape((H, bs))
        oh1 = h1f.reshape((H, bs))
        ox0 = ops[0, nb:K * bs].reshape((Il + 1, bs))
        ox1 = ops[1, nb:K * bs].reshape((Il + 1, bs))
        for j in range(H):
            for b in range(bs):
                op0[j, b] = h0[l, b0 + b, j]
                c[j * bs + b] = c0[l, b0 + b, j]
        for b in range(bs):
            op0[H + Il, b] = 1.0
            op1[H + Il, b] = 1.0
        hn = h0f   # after the loop: the last step's state
        for t in range(T):
            even = t % 2 == 0
            cur = op0 if even else op1
            hn = h1f if even else h0f      # h_t goes to the other block's first rows
            if l == 0:
                for b in range(bs):
                    src = idx[b0 + b]
                    for k in range(I):
                        cur[H + k, b] = X[src, t, k]
            else:
                hlt = Hl[t]
                for k in range(H):
                    for b in range(bs):
                        cur[H + k, b] = hlt[k * bs + b]
            if fold:
                gemm(w, cur, ZT, 0.0, False)
            else:
                gemm(wx, ox0 if even else ox1, ZT, 0.0, False)
                gemm(whh, oh0 if even else oh1, ZT, 1.0, False)
            apply_squash(z1, 0, 3 * nb, ACT_SIGMOID, fast)
            for p in range(2):
                # tanh of the candidate g, then (p = 1) of the new cell state
                apply_squash(z1, 3 * nb, 4 * nb, ACT_TANH, fast)
                if p == 0:
                    for q in range(nb):
                        c[q] = gf[q] * c[q] + gi[q] * gc[q]
                    for q in range(nb):
                        gc[q] = c[q]
            for q in range(nb):
                hn[q] = go[q] * gc[q]
            if l < L - 1:
                hlt = Hl[t]
                for q in range(nb):
                    hlt[q] = hn[q]
            elif full or t == T - 1:
                ks = _slot(t, full)
                for j in range(H):
                    for b in range(bs):
                        Htop[ks, b, j] = hn[j * bs + b]
        for j in range(H):
            for b in range(bs):
                h_out[l, b0 + b, j] = hn[j * bs + b]
                c_out[l, b0 + b, j] = c[j * bs + b]


@jit
def _load_x(X, idx, b0, bs, dtype):
    """Time-major copy (T, bs, I) of the shard's input."""
    T = X.shape[1]
    I = X.shape[2]
    x0 = np.empty((T, bs, I), dtype)
    for b in range(bs):
        src = idx[b0 + b]
        for t in range(T):
            for k in range(I):
                x0[t, b, k] = X[src, t, k]
    return x0


@jit
def _loss_head_rows(out, seq_out, Y, idx, b0, bs, loss_code, delta, quantiles, scale, dout):
    """Loss summed over the rows of the (time-major) head output ``out``."""
    nrow, O = out.shape
    target = np.empty((nrow, O), out.dtype)
    for r in range(nrow):
        t, b = _row_step(r, bs, seq_out)
        src = idx[b0 + b]
        for k in range(O):
            target[r, k] = Y[src, t, k]
    return loss_rows(loss_code, out, target, delta, quantiles, scale, dout)


@jit
def _write_pred(out, seq_out, b0, bs, pred):
    nrow, O = out.shape
    for r in range(nrow):
        t, b = _row_step(r, bs, seq_out)
        for k in range(O):
            pred[b0 + b, t, k] = out[r, k]


@jit
def _head_forward(params, head_offsets, hin, w_o, bs, seq_out, b0, pred):
    """Linear head ``out = hin @ W_o^T + b_o`` (rows: steps x sequences, time-major,
    or sequences); copies it to ``pred[b0:b0+bs]`` and returns it."""
    out = np.empty((hin.shape[0], w_o.shape[0]), hin.dtype)
    np.dot(hin, w_o.T, out)
    _add_bias_rows(out, params, head_offsets[1])
    _write_pred(out, seq_out, b0, bs, pred)
    return out


@jit
def _lstm_infer_range(s0, s1, shard_size, params, offsets, head_offsets, fast, H, seq_out,
                      X, Y, idx, h0, c0, h_out, c_out, loss_code, delta, quantiles, scale,
                      pred, losses):
    """Shards ``s0 .. s1-1`` of a one-direction LSTM without a gradient, through
    :func:`lstm_infer_t` (a kernel of its own: it is compiled on the first large
    inference, not on every first fit)."""
    dtype = params.dtype
    B = idx.shape[0]
    T = X.shape[1]
    w_o = _view2(params, head_offsets[0], pred.shape[2], H)
    for s in range(s0, s1):
        b0 = s * shard_size
        bs = min(shard_size, B - b0)
        Htop = np.empty((T if seq_out else 2, bs, H), dtype)
        lstm_infer_t(params, offsets, fast, H, X, idx, b0, bs, h0, c0, h_out, c_out, Htop,
                     seq_out)
        # the head reads every step, or the last step's (bs, H) slot as it is
        hin = Htop.reshape((T * bs, H)) if seq_out else Htop[_slot(T - 1, False)]
        out = _head_forward(params, head_offsets, hin, w_o, bs, seq_out, b0, pred)
        losses[s] = 0.0
        if loss_code != NO_LOSS:
            dout = np.empty(out.shape, dtype)
            losses[s] = _loss_head_rows(out, seq_out, Y, idx, b0, bs, loss_code, delta,
                                        quantiles, scale, dout)


@jit(inline="always")   # compiled once, inside _shard_range (saves ~1.5 s of a cold start)
def shard_forward_backward(params, offsets, head_offsets, cell, fast, hidden_size, n_dir, seq_out,
                           X, Y, idx, b0, bs, h0, c0, h_out, c_out,
                           loss_code, delta, quantiles, scale, want_grad, pred, grad):
    """Forward (and backward) pass of ``bs`` sequences ``X[idx[b0:b0+bs]]``.

    Returns the loss summed over the shard's elements (float64; 0 without a
    loss).  Writes predictions to ``pred[b0:b0+bs]``, final states to
    ``h_out/c_out[:, b0:b0+bs]`` and, when ``want_grad``, the shard's gradient
    (already scaled by ``scale``) to ``grad`` (length = number of parameters).

    With ``n_dir == 2`` every layer runs a forward direction and a reverse
    direction (the same recurrence over the time-reversed input); the next
    layer and the head read both directions concatenated, PyTorch's layout.
    Per direction, all buffers are in processing order (step ``s`` of the
    reverse direction is time ``T - 1 - s``).
    """
    dtype = params.dtype
    T = X.shape[1]
    I = X.shape[2]
    H = hidden_size
    D = n_dir
    DH = D * H
    L = offsets.shape[0] // D
    G = n_gates(cell)
    GH = G * H
    O = pred.shape[2]
    n = T * bs
    Imax = max(I, DH)

    x0 = _load_x(X, idx, b0, bs, dtype)   # time-major copy of the shard's input

    LD = L * D
    # without a gradient only the current and the previous step are kept (two
    # slots): a smaller working set (inference and validation run faster)
    Tk = T if want_grad else 2
    A = np.empty((LD, Tk, bs, GH), dtype)   # activated gates
    S = np.empty((LD, Tk, bs, H), dtype)    # LSTM c_t / GRU W_hn h + b_hn
    U = np.empty((LD, Tk, bs, H), dtype)    # LSTM tanh(c_t)
    # hidden states (processing order); two slots when nothing reads the earlier
    # steps (inference of a one-layer, one-direction, last-step model)
    full = want_grad or seq_out or L > 1 or D == 2
    Ts = T if full else 2
    Hs = _empty64((LD, Ts, bs, H), dtype)
    Hp = _empty64((LD, Tk, bs, H), dtype)   # h_{s-1} sequence (Hp[ld, 0] = h0)
    Cp = np.empty((LD, bs, H), dtype)      # c_{-1} per layer and direction (LSTM)
    # input projections: all steps at once with a gradient (the buffer is reused
    # for dZ); one step at a time without (a working set that stays in cache)
    Z = _empty64((T if want_grad else 1, bs, GH), dtype)
    R = _empty64((bs, GH), dtype)
    bz = np.empty(GH, dtype)   # b_ih + b_hh (GRU candidate: b_ih only), added in forward_step
    # transposed weight copies: x @ W^T as a plain (non-transposed) product runs at
    # 1.5-2.3x the speed in OpenBLAS for these shapes (benchmarks/RESULTS.md)
    wiT_buf = _empty64((Imax * GH,), dtype)
    whT = _empty64((H, GH), dtype)
    # concatenated outputs of each layer (time order), only for two directions
    Xc = np.empty((L, T, bs, DH), dtype) if D == 2 else np.empty((1, 1, 1, 1), dtype)
    xbuf = np.empty(T * bs * Imax if D == 2 else 1, dtype)   # time-reversed layer input

    for l in range(L):
        Il = I if l == 0 else DH
        src3 = _layer_input(l, D, x0, Hs, Xc)
        for d in range(D):
            ld = l * D + d
            w_ih = _view2(params, offsets[ld, 0], GH, Il)
            w_hh = _view2(params, offsets[ld, 1], GH, H)
            xin3 = src3 if d == 0 else _reverse_time_into(src3, xbuf)
            wiT = wiT_buf[:Il * GH].reshape((Il, GH))
            _transpose_into(w_ih, wiT)
            _transpose_into(w_hh, whT)
            if want_grad:
                gemm(xin3.reshape((n, Il)), wiT, Z.reshape((n, GH)), 0.0, False)
            # both biases are added once per step inside forward_step (no pass over
            # the T x bs rows here); b_hh folds into b_ih, except GRU's candidate
            # block, whose b_hn sits inside r * (W_hn h + b_hn)
            b_ih = params[offsets[ld, 2]:offsets[ld, 2] + GH]
            b_hh = params[offsets[ld, 3]:offsets[ld, 3] + GH]
            nb = 2 * H if cell == GRU else GH
            for j in range(GH):
                bz[j] = b_ih[j] + b_hh[j] if j < nb else b_ih[j]
            b_hn = b_hh[nb:GH]
            for b in range(bs):
                for j in range(H):
                    Hp[ld, 0, b, j] = h0[ld, b0 + b, j]
                    Cp[ld, b, j] = c0[ld, b0 + b, j]
            for t in range(T):
                k = _slot(t, want_grad)   # A/S/U/Hp keep every step only with a gradient
                hp = Hp[ld, k] if want_grad or t == 0 else Hs[ld, _slot(t - 1, full)]
                gemm(hp, whT, R, 0.0, False)
                if want_grad:
                    zt = Z[t]
                else:
                    zt = Z[0]
                    gemm(xin3[t], wiT, zt, 0.0, False)
                cp = Cp[ld] if t == 0 else S[ld, _slot(t - 1, want_grad)]
                forward_step(cell, fast, zt, R, bz, b_hn, hp, cp, A[ld, k], S[ld, k], U[ld, k],
                             Hs[ld, _slot(t, full)])
                if want_grad and t + 1 < T:
                    _copy_flat(Hs[ld, t], Hp[ld, t + 1])
            for b in range(bs):
                for j in range(H):
                    h_out[ld, b0 + b, j] = Hs[ld, _slot(T - 1, full), b, j]
                    c_out[ld, b0 + b, j] = S[ld, _slot(T - 1, want_grad), b, j] if G == 4 else 0.0
            if D == 2:
                for t in range(T):
                    ts = t if d == 0 else T - 1 - t
                    for b in range(bs):
                        for j in range(H):
                            Xc[l, t, b, d * H + j] = Hs[ld, ts, b, j]

    # linear head: every step reads the concatenated outputs; the last-step head
    # reads the final state of each direction (PyTorch's h_n)
    w_o = _view2(params, head_offsets[0], O, DH)
    if seq_out:
        if D == 1:
            hin = Hs[L - 1].reshape((n, H))
        else:
            hin = Xc[L - 1].reshape((n, DH))
        nrow = n
    else:
        hin = np.empty((bs, DH), dtype)
        for d in range(D):
            for b in range(bs):
                for j in range(H):
                    hin[b, d * H + j] = Hs[(L - 1) * D + d, _slot(T - 1, full), b, j]
        nrow = bs
    out = _head_forward(params, head_offsets, hin, w_o, bs, seq_out, b0, pred)
    loss = 0.0
    if loss_code == NO_LOSS:
        return loss
    dout = np.empty((nrow, O), dtype)
    loss = _loss_head_rows(out, seq_out, Y, idx, b0, bs, loss_code, delta, quantiles, scale,
                           dout)
    if not want_grad:
        return loss

    # ---- backward ----
    np.dot(dout.T, hin, _view2(grad, head_offsets[0], O, DH))
    _col_sums_into(dout, grad, head_offsets[1])
    # dXo: gradient on the current layer's (concatenated) output, time order
    dXo = np.zeros((T, bs, DH), dtype)
    if seq_out:
        np.dot(dout, w_o, dXo.reshape((n, DH)))
    else:
        dlast = np.empty((bs, DH), dtype)
        np.dot(dout, w_o, dlast)
        for d in range(D):
            tl = T - 1 if d == 0 else 0
            for b in range(bs):
                for j in range(H):
                    dXo[tl, b, d * H + j] = dlast[b, d * H + j]
    dXn = np.empty((T, bs, DH), dtype)       # gradient on the layer's input
    dxs = np.empty((n, DH), dtype)           # one direction's input gradient
    # gradient on one direction's states, processing order: for one direction that
    # is dXo itself (no copy); two directions copy their half of it, per direction
    dH = dXo if D == 1 else np.empty((T, bs, H), dtype)
    # only GRU's recurrent gate gradient differs from the input one (r * dn);
    # the other cells share one buffer
    dR = _empty64((T, bs, GH), dtype) if cell == GRU else Z
    dh = np.empty((bs, H), dtype)
    dhp = _empty64((bs, H), dtype)
    dc = np.empty((bs, H), dtype)
    for l in range(L - 1, -1, -1):
        Il = I if l == 0 else DH
        src3 = _layer_input(l, D, x0, Hs, Xc)
        for d in range(D):
            ld = l * D + d
            w_ih = _view2(params, offsets[ld, 0], GH, Il)
            w_hh = _view2(params, offsets[ld, 1], GH, H)
            if D == 2:
                for s in range(T):
                    ts = s if d == 0 else T - 1 - s
                    for b in range(bs):
                        for j in range(H):
                            dH[s, b, j] = dXo[ts, b, d * H + j]
            for b in range(bs):
                for j in range(H):
                    dhp[b, j] = 0.0
                    dc[b, j] = 0.0
            dh1 = dh.reshape(bs * H)
            dhp1 = dhp.reshape(bs * H)
            for t in range(T - 1, -1, -1):
                dHt = dH[t].reshape(bs * H)
                for k in range(bs * H):
                    dh1[k] = dHt[k] + dhp1[k]
                cp = Cp[ld] if t == 0 else S[ld, t - 1]
                backward_step(cell, dh, dc, A[ld, t], S[ld, t], U[ld, t], Hp[ld, t], cp, Z[t], dR[t],
                              dhp)
                if t > 0:
                    # dh_{t-1} = elementwise part + dR_t @ W_hh (accumulated by BLAS)
                    gemm(dR[t], w_hh, dhp, 1.0, False)
            dz2 = Z.reshape((n, GH))
            dr2 = dR.reshape((n, GH))
            xin3 = src3 if d == 0 else _reverse_time_into(src3, xbuf)
            xin = xin3.reshape((n, Il))
            gemm(dz2, xin, _view2(grad, offsets[ld, 0], GH, Il), 0.0, True)
            gemm(dr2, Hp[ld].reshape((n, H)), _view2(grad, offsets[ld, 1], GH, H), 0.0, True)
            _col_sums_into(dz2, grad, offsets[ld, 2])
            if cell == GRU:
                _col_sums_into(dr2, grad, offsets[ld, 3])
            else:   # dR is dZ: the two bias gradients are equal
                gb = grad[offsets[ld, 2]:offsets[ld, 2] + GH]
                gh = grad[offsets[ld, 3]:offsets[ld, 3] + GH]
                for j in range(GH):
                    gh[j] = gb[j]
            if l > 0:
                if D == 1:
                    gemm(dz2, w_ih, dXn.reshape((n, DH)), 0.0, False)
                else:
                    gemm(dz2, w_ih, dxs, 0.0, False)
                    dx3 = dxs.reshape((T, bs, DH))
                    for s in range(T):
                        ts = s if d == 0 else T - 1 - s
                        for b in range(bs):
                            for j in range(DH):
                                if d == 0:
                                    dXn[ts, b, j] = dx3[s, b, j]
                                else:
                                    dXn[ts, b, j] += dx3[s, b, j]
        if l > 0:
            for t in range(T):
                for b in range(bs):
                    for j in range(DH):
                        dXo[t, b, j] = dXn[t, b, j]
    return loss


@jit
def _shard_range(s0, s1, shard_size, params, offsets, head_offsets, cell, fast, hidden_size, n_dir,
                 seq_out, X, Y, idx, h0, c0, h_out, c_out, loss_code, delta, quantiles, scale,
                 want_grad, pred, gbuf, losses):
    """Shards ``s0 .. s1-1`` of a batch, one after the other (one thread's share)."""
    B = idx.shape[0]
    for s in range(s0, s1):
        b0 = s * shard_size
        bs = min(shard_size, B - b0)
        g = gbuf[s] if want_grad else gbuf[0]
        losses[s] = shard_forward_backward(
            params, offsets, head_offsets, cell, fast, hidden_size, n_dir, seq_out,
            X, Y, idx, b0, bs, h0, c0, h_out, c_out,
            loss_code, delta, quantiles, scale, want_grad, pred, g)


@jit
def sum_rows(gbuf, grad):
    """grad = sum of the rows of ``gbuf`` in row order (fixed, thread-independent)."""
    n, P = gbuf.shape
    for p in range(P):
        grad[p] = gbuf[0, p]
    for s in range(1, n):
        for p in range(P):
            grad[p] += gbuf[s, p]


def batch_forward_backward(params, offsets, head_offsets, cell, fast, hidden_size, n_dir, seq_out,
                           X, Y, idx, h0, c0, h_out, c_out,
                           loss_code, delta, quantiles, want_grad, pred, grad, shard_size):
    """Loss (mean over elements), gradient and predictions for one batch.

    Parameters
    ----------
    params : (P,) float array, flat parameter vector.
    offsets : (L * n_dir, 4) int64; head_offsets : (2,) int64 -- see module docstring.
    cell : int cell code; fast : bool (vectorised activation approximations);
    hidden_size : int; n_dir : 1 or 2 (bidirectional); seq_out : bool (head on
    every step).
    X : (N, T, I) inputs; Y : (N, T or 1, O) targets (ignored without a loss).
    idx : (B,) int64 rows of X/Y forming the batch.
    h0, c0 : (L * n_dir, B, H) initial states; h_out, c_out : final states
    (PyTorch's order: layer-major, forward direction before reverse).
    loss_code : int (``losses.NO_LOSS`` for inference); delta : Huber delta;
    quantiles : (O,) pinball quantile per output.
    want_grad : bool; pred : (B, T or 1, O) predictions (written);
    grad : (P,) gradient of the mean loss (written when ``want_grad``).
    shard_size : samples per parallel task (fixes the reduction order).

    Returns the mean loss over all B x T_out x O elements (float64).

    The shards are spread over Numba's current number of threads
    (:func:`tsrnn._threading.run_blocks`: a pool of Python threads calling the
    ``nogil`` kernel), each shard writes its own gradient row, and the rows are
    summed in shard order.
    """
    want_grad = bool(want_grad)
    if cell == LSTM and not want_grad and n_dir == 1 and idx.shape[0] >= LSTM_T_MIN_BATCH:
        def lstm_shards(s0, s1, scale, gbuf, losses):
            _lstm_infer_range(s0, s1, shard_size, params, offsets, head_offsets, fast,
                              hidden_size, seq_out, X, Y, idx, h0, c0, h_out, c_out, loss_code,
                              delta, quantiles, scale, pred, losses)

        return run_sharded(lstm_shards, idx.shape[0], shard_size, params, pred, False, grad)

    def shards(s0, s1, scale, gbuf, losses):
        _shard_range(s0, s1, shard_size, params, offsets, head_offsets, cell, fast, hidden_size,
                     n_dir, seq_out, X, Y, idx, h0, c0, h_out, c_out, loss_code, delta, quantiles,
                     scale, want_grad, pred, gbuf, losses)

    return run_sharded(shards, idx.shape[0], shard_size, params, pred, want_grad, grad)


def run_sharded(shards, B, shard_size, params, pred, want_grad, grad):
    """The driver part every sharded kernel shares.

    Allocates one loss slot and (with ``want_grad``) one gradient row per shard,
    runs ``shards(s0, s1, scale, gbuf, losses)`` over blocks of shards on the
    current number of threads (:func:`tsrnn._threading.run_blocks`), sums the
    gradient rows into ``grad`` in shard order, and returns the mean loss over the
    ``B x T_out x O`` elements of ``pred``.
    """
    from tsrnn._threading import run_blocks

    n_shards = (B + shard_size - 1) // shard_size
    scale = 1.0 / (B * pred.shape[1] * pred.shape[2])
    losses = np.zeros(n_shards)
    gbuf = np.zeros((n_shards, params.shape[0]) if want_grad else (1, 1), params.dtype)
    run_blocks(n_shards, lambda s0, s1: shards(s0, s1, scale, gbuf, losses))
    if want_grad:
        sum_rows(gbuf, grad)   # fixed order: shard 0, 1, ...
    total = 0.0
    for s in range(n_shards):
        total += losses[s]
    return total * scale

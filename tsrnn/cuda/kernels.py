"""numba.cuda kernels: forward + BPTT of Elman/LSTM/GRU stacks, losses, Adam, clipping.

This module imports ``numba.cuda``; :mod:`tsrnn.cuda` imports it only on demand
(see :func:`tsrnn.cuda.cuda_status`).  The driver is :class:`tsrnn.cuda.engine.CudaRunner`.
The equations, gate order, loss definitions and the flat parameter layout are those
of the CPU kernels (:mod:`tsrnn.kernels.cells`, :mod:`tsrnn.kernels.losses`,
:mod:`tsrnn.kernels.bptt`, :mod:`tsrnn.kernels.optim`).

Design (small recurrent models: hidden 16-128, window ~48, batch ~1024)
-------------------------------------------------------------------------
``fwd_bwd`` -- one thread block per *tile* of ``tile`` sequences of the batch; the
recurrence over time and over the layers runs inside the kernel, so one launch
does the forward pass, the loss, and the whole backward pass of its tile:

* threads stride over the tile's (sequence, gate row) pairs for the projections
  and over (sequence, unit) pairs for the element-wise cell update: two
  ``syncthreads`` per time step forward and two backward;
* the hidden state, the LSTM cell state and the step's gate pre-activations live
  in shared memory; the layer's recurrent (and input) weights are copied into
  shared memory once per layer and reused at every step when they fit in the
  48 KiB a block may use without opting in, otherwise they are read from global
  memory (through L1/L2: all blocks read the same few hundred KiB).  The forward
  pass reads a transposed copy of the weights (``wt``, made by
  :func:`transpose_weights`) so that neighbouring threads (neighbouring gate rows)
  read neighbouring addresses; the backward pass reads the original layout, where
  neighbouring threads are neighbouring hidden units;
* activations of every step (gates, LSTM cell states, hidden states) go to
  global workspaces (``A, S, U, Hs``: (layers, T, B, ...)) for the backward pass;
* the gradient of every parameter is summed over the tile's sequences and steps by
  one thread per parameter element and written to the block's row of
  ``grad_part`` (blocks x parameters); :func:`reduce_grad` sums the rows in block
  order.  No atomics anywhere: a fixed batch, tile and block size give bitwise
  identical results run to run.  Results depend on ``tile`` (it fixes the
  summation order), as the CPU results depend on the shard size.
* the loss is accumulated in float64: per thread, then per block in thread order
  (``loss_thr`` -> ``loss_part``), then over blocks by :func:`reduce_grad`.

The cell code and the dtype are compile-time constants of a kernel built by
:func:`rnn_kernel` (one specialisation per (cell, dtype), cached), so the cell
branches are resolved at compile time and float32 kernels do float32 arithmetic
(constants are typed float32).  The losses are computed in the parameter dtype and
summed in float64.

What to tune on hardware (none of it changes results, except ``tile``)
------------------------------------------------------------------------
* ``tile`` and the block size: occupancy versus per-block work; the default aims at
  about one block per SM for a batch of 1024 (tile 8).
* Shared memory beyond 48 KiB (``cuFuncSetAttribute`` opt-in, up to 227 KiB on
  H100) would keep LSTM/GRU weights of hidden 64-128 on chip; this numba has no
  binding for it.  Alternative: keep each thread's weight rows in registers
  (persistent-RNN style) with compile-time hidden sizes.
* The per-step projections are scalar FMA loops; for hidden >= 64 tensor cores
  (WMMA) or a register-tiled (sequences x rows) micro-kernel would cut the
  shared-memory traffic; the input projection of layer 0 could be one batched
  GEMM over all steps before the recurrence.
* The weight-gradient partials re-read the tile's workspaces once per parameter
  element; a shared-memory tiled outer-product (or doing them in a separate
  GEMM-like kernel over all blocks' rows) would be faster for hidden >= 64.
* The step loops read the weights through one array that is either the shared copy
  or global memory, so those loads compile to generic ``ld`` (not ``ld.shared``);
  two specialisations (weights on/off chip as a compile-time constant) would fix it.
* ``fastmath`` (``__expf``/``tanh.approx``) for float32 activations (TSRNN_FASTMATH=1
  turns on numba's CUDA fastmath for all of these kernels).
* CUDA graphs or a persistent kernel over the batches of an epoch to remove the
  launch overhead (four launches per batch: transpose, fwd_bwd, reduce, Adam).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numba
import numpy as np
from numba import cuda

from tsrnn import _config
from tsrnn.kernels.activations import ELMAN_RELU, ELMAN_TANH, GRU, LSTM, N_GATES
from tsrnn.kernels.losses import HUBER, MAE, MSE, NO_LOSS

__all__ = ["GPU_CELLS", "rnn_kernel", "fwd_bwd_signature", "shared_elements", "transpose_weights",
           "reduce_grad", "adam_kernel", "sumsq_partials", "norm_finalize", "scale_by_factor",
           "NORM_BLOCKS", "NORM_THREADS"]

#: cell codes the GPU kernels implement
GPU_CELLS = (ELMAN_TANH, ELMAN_RELU, LSTM, GRU)

# flags from tsrnn._config (TSRNN_FASTMATH, TSRNN_CACHE).  The (cell, dtype) kernels are
# closures, which numba cannot cache on disk; the module-level kernels are cached.
_FLAGS = dict(fastmath=_config.FASTMATH)
_CACHED = dict(fastmath=_config.FASTMATH, cache=_config.CACHE)

#: launch shape of the norm reduction on a GPU (part of the summation order)
NORM_BLOCKS = 64
NORM_THREADS = 256


def shared_elements(tile, hidden, gates, imax, sh_ih, sh_hh):
    """Elements of the dynamic shared array ``fwd_bwd`` uses (same partition as the kernel)."""
    GH = gates * hidden
    n = tile * (4 * hidden + GH)
    if sh_ih:
        n += GH * imax
    if sh_hh:
        n += GH * hidden
    return n


def fwd_bwd_signature(dtype):
    """numba types of ``fwd_bwd``'s arguments (in order), e.g. for ``cuda.compile_ptx``."""
    DT = numba.float32 if np.dtype(dtype) == np.float32 else numba.float64
    i64 = numba.int64

    def arr(nd, dt=DT):
        return numba.types.Array(dt, nd, "C")

    return (arr(1), arr(1), arr(2, i64), arr(1, i64), i64, i64,          # params .. seq_out
            arr(3), arr(3), arr(1, i64), arr(3), arr(3), arr(3), arr(3),  # X .. c_out
            i64, DT, arr(1), DT, i64, i64, i64, i64, i64,                 # loss_code .. sh_hh
            arr(4), arr(4), arr(4), arr(4), arr(3), arr(3), arr(3),       # A .. dX
            arr(3), arr(3), arr(1, numba.float64), arr(1, numba.float64), arr(2))


@lru_cache(maxsize=None)
def rnn_kernel(cell, dtype_name):
    """The forward/backward kernel for one cell code and dtype ("float32"/"float64").

    Launch ``kernel[n_blocks, threads, stream, shared_bytes](*args)`` with
    ``n_blocks = ceil(B / tile)`` and ``shared_bytes = itemsize *
    shared_elements(...)``.  Arguments (see :func:`fwd_bwd_signature`):

    params (P,), wt (P,) (transposed weight copy), offsets (L, 4), head_offsets (2,),
    hidden, seq_out, X (N, T, I), Y (N, Ty, O), idx (B,), h0, c0 (L, B, H),
    h_out, c_out (L, B, H), loss_code, delta, quantiles (O,), scale (1 / element
    count), want_grad, tile, imax (max layer input size), sh_ih, sh_hh (weights in
    shared memory), workspaces A (L, T, B, G*H), S, U, Hs (L, T, B, H), dZ (T, B, G*H),
    dR (T, B, G*H) for GRU (else (1, 1, 1)), dX (T, B, H), pred and dout (B, Ty, O),
    loss_thr (n_blocks * threads,) float64, loss_part (n_blocks,) float64,
    grad_part (n_blocks, P).
    """
    if cell not in GPU_CELLS:
        raise ValueError(f"cell code {cell} has no CUDA kernel; GPU cells: {GPU_CELLS}")
    npdt = np.dtype(dtype_name).type
    DT = numba.float32 if npdt is np.float32 else numba.float64
    G = N_GATES[cell]
    ZERO = npdt(0.0)
    ONE = npdt(1.0)
    TWO = npdt(2.0)
    HALF = npdt(0.5)
    IS_LSTM = cell == LSTM
    IS_GRU = cell == GRU
    IS_RELU = cell == ELMAN_RELU

    @cuda.jit(device=True, **_FLAGS)
    def sigm(x):
        if x >= ZERO:
            return ONE / (ONE + math.exp(-x))
        e = math.exp(x)
        return e / (ONE + e)

    @cuda.jit(device=True, **_FLAGS)
    def loss_elem(code, p, y, delta, q):
        """(loss, dloss/dpred) of one element, as tsrnn.kernels.losses.loss_elem."""
        e = p - y
        if code == MSE:
            return e * e, TWO * e
        if code == MAE:
            if e > ZERO:
                return e, ONE
            if e < ZERO:
                return -e, -ONE
            return ZERO, ZERO
        if code == HUBER:
            a = abs(e)
            if a <= delta:
                return HALF * e * e, e
            if e > ZERO:
                return delta * (a - HALF * delta), delta
            return delta * (a - HALF * delta), -delta
        u = -e
        if u > ZERO:
            return q * u, -q
        if u < ZERO:
            return (q - ONE) * u, ONE - q
        return ZERO, ZERO

    @cuda.jit(**_FLAGS)
    def fwd_bwd(params, wt, offsets, head_offsets, hidden, seq_out,
                X, Y, idx, h0, c0, h_out, c_out,
                loss_code, delta, quantiles, scale, want_grad, tile, imax, sh_ih, sh_hh,
                A, S, U, Hs, dZ, dR, dX, pred, dout, loss_thr, loss_part, grad_part):
        sh = cuda.shared.array(0, DT)
        tid = cuda.threadIdx.x
        nth = cuda.blockDim.x
        blk = cuda.blockIdx.x
        H = hidden
        GH = G * H
        B = idx.shape[0]
        T = X.shape[1]
        I = X.shape[2]
        L = offsets.shape[0]
        Ty = pred.shape[1]
        O = pred.shape[2]
        b0 = blk * tile
        tb = B - b0
        if tb > tile:
            tb = tile
        # partition of the dynamic shared array (see shared_elements)
        o_ih = 0
        o_hh = o_ih + (GH * imax if sh_ih else 0)
        o_h = o_hh + (GH * H if sh_hh else 0)   # h_t forward / dh_{t-1} (matrix part) backward
        o_c = o_h + tile * H                    # LSTM c_t forward / dc backward
        o_g = o_c + tile * H                    # gate pre-activations / recurrent gate gradient
        o_e = o_g + tile * GH                   # GRU W_hn h + b_hn / element-wise part of dh_{t-1}

        # ------------------------------------------------------------ forward
        for l in range(L):
            Il = I if l == 0 else H
            cuda.syncthreads()
            if sh_ih:
                for e in range(tid, Il * GH, nth):
                    sh[o_ih + e] = wt[offsets[l, 0] + e]
                wi = sh
                wi0 = o_ih
            else:
                wi = wt
                wi0 = offsets[l, 0]
            if sh_hh:
                for e in range(tid, H * GH, nth):
                    sh[o_hh + e] = wt[offsets[l, 1] + e]
                wh = sh
                wh0 = o_hh
            else:
                wh = wt
                wh0 = offsets[l, 1]
            for w in range(tid, tb * H, nth):
                b = w // H
                j = w - b * H
                sh[o_h + w] = h0[l, b0 + b, j]
                if IS_LSTM:
                    sh[o_c + w] = c0[l, b0 + b, j]
            bi = offsets[l, 2]
            bh = offsets[l, 3]
            cuda.syncthreads()
            for t in range(T):
                # gate pre-activations: x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
                for w in range(tid, tb * GH, nth):
                    b = w // GH
                    row = w - b * GH
                    bg = b0 + b
                    z = params[bi + row]
                    if l == 0:
                        src = idx[bg]
                        for k in range(Il):
                            z += X[src, t, k] * wi[wi0 + k * GH + row]
                    else:
                        for k in range(Il):
                            z += Hs[l - 1, t, bg, k] * wi[wi0 + k * GH + row]
                    r = params[bh + row]
                    hb = o_h + b * H
                    for k in range(H):
                        r += sh[hb + k] * wh[wh0 + k * GH + row]
                    if IS_GRU and row >= 2 * H:
                        sh[o_g + w] = z
                        sh[o_e + b * H + row - 2 * H] = r
                    else:
                        sh[o_g + w] = z + r
                cuda.syncthreads()
                # element-wise cell update
                for w in range(tid, tb * H, nth):
                    b = w // H
                    j = w - b * H
                    bg = b0 + b
                    gb = o_g + b * GH
                    if IS_LSTM:
                        ig = sigm(sh[gb + j])
                        fg = sigm(sh[gb + H + j])
                        gg = math.tanh(sh[gb + 2 * H + j])
                        og = sigm(sh[gb + 3 * H + j])
                        c = fg * sh[o_c + w] + ig * gg
                        tc = math.tanh(c)
                        h = og * tc
                        A[l, t, bg, j] = ig
                        A[l, t, bg, H + j] = fg
                        A[l, t, bg, 2 * H + j] = gg
                        A[l, t, bg, 3 * H + j] = og
                        S[l, t, bg, j] = c
                        U[l, t, bg, j] = tc
                        sh[o_c + w] = c
                    elif IS_GRU:
                        rg = sigm(sh[gb + j])
                        zg = sigm(sh[gb + H + j])
                        rn = sh[o_e + w]
                        n = math.tanh(sh[gb + 2 * H + j] + rg * rn)
                        h = (ONE - zg) * n + zg * sh[o_h + w]
                        A[l, t, bg, j] = rg
                        A[l, t, bg, H + j] = zg
                        A[l, t, bg, 2 * H + j] = n
                        S[l, t, bg, j] = rn
                    else:
                        v = sh[gb + j]
                        if IS_RELU:
                            h = v if v > ZERO else ZERO * v
                        else:
                            h = math.tanh(v)
                        A[l, t, bg, j] = h
                    Hs[l, t, bg, j] = h
                    sh[o_h + w] = h
                cuda.syncthreads()
            for w in range(tid, tb * H, nth):
                b = w // H
                j = w - b * H
                h_out[l, b0 + b, j] = sh[o_h + w]
                c_out[l, b0 + b, j] = sh[o_c + w] if IS_LSTM else ZERO

        # --------------------------------------------------------- head, loss
        wo = head_offsets[0]
        bo = head_offsets[1]
        Lt = L - 1
        lsum = 0.0
        for w in range(tid, tb * Ty * O, nth):
            b = w // (Ty * O)
            rem = w - b * Ty * O
            t = rem // O
            o = rem - t * O
            bg = b0 + b
            ts = t if seq_out else T - 1
            v = params[bo + o]
            for j in range(H):
                v += params[wo + o * H + j] * Hs[Lt, ts, bg, j]
            pred[bg, t, o] = v
            if loss_code != NO_LOSS:
                lv, g = loss_elem(loss_code, v, Y[idx[bg], t, o], delta, quantiles[o])
                lsum += lv
                dout[bg, t, o] = g * scale
        loss_thr[blk * nth + tid] = lsum
        cuda.syncthreads()
        if tid == 0:
            acc = 0.0
            for k in range(nth):
                acc += loss_thr[blk * nth + k]
            loss_part[blk] = acc
        if want_grad == 0 or loss_code == NO_LOSS:
            return

        # ----------------------------------------------------------- backward
        # gradient on the top layer's outputs
        for w in range(tid, T * tb * H, nth):
            t = w // (tb * H)
            rem = w - t * tb * H
            b = rem // H
            j = rem - b * H
            bg = b0 + b
            v = ZERO
            if seq_out:
                for o in range(O):
                    v += dout[bg, t, o] * params[wo + o * H + j]
            elif t == T - 1:
                for o in range(O):
                    v += dout[bg, 0, o] * params[wo + o * H + j]
            dX[t, bg, j] = v
        # head gradient partials
        for e in range(tid, O * H, nth):
            o = e // H
            j = e - o * H
            acc = ZERO
            for b in range(tb):
                bg = b0 + b
                for t in range(Ty):
                    ts = t if seq_out else T - 1
                    acc += dout[bg, t, o] * Hs[Lt, ts, bg, j]
            grad_part[blk, wo + e] = acc
        for o in range(tid, O, nth):
            acc = ZERO
            for b in range(tb):
                for t in range(Ty):
                    acc += dout[b0 + b, t, o]
            grad_part[blk, bo + o] = acc

        for l in range(L - 1, -1, -1):
            Il = I if l == 0 else H
            cuda.syncthreads()
            if sh_ih and l > 0:
                for e in range(tid, GH * Il, nth):
                    sh[o_ih + e] = params[offsets[l, 0] + e]
                wi = sh
                wi0 = o_ih
            else:
                wi = params
                wi0 = offsets[l, 0]
            if sh_hh:
                for e in range(tid, GH * H, nth):
                    sh[o_hh + e] = params[offsets[l, 1] + e]
                wh = sh
                wh0 = o_hh
            else:
                wh = params
                wh0 = offsets[l, 1]
            for w in range(tid, tb * H, nth):
                sh[o_h + w] = ZERO
                sh[o_c + w] = ZERO
            cuda.syncthreads()
            for t in range(T - 1, -1, -1):
                # element-wise part: gate gradients of step t
                for w in range(tid, tb * H, nth):
                    b = w // H
                    j = w - b * H
                    bg = b0 + b
                    gb = o_g + b * GH
                    dh = dX[t, bg, j] + sh[o_h + w]
                    if IS_LSTM:
                        ig = A[l, t, bg, j]
                        fg = A[l, t, bg, H + j]
                        gg = A[l, t, bg, 2 * H + j]
                        og = A[l, t, bg, 3 * H + j]
                        tc = U[l, t, bg, j]
                        cp = c0[l, bg, j] if t == 0 else S[l, t - 1, bg, j]
                        dc = sh[o_c + w] + dh * og * (ONE - tc * tc)
                        di = dc * gg * ig * (ONE - ig)
                        df = dc * cp * fg * (ONE - fg)
                        dg = dc * ig * (ONE - gg * gg)
                        do = dh * tc * og * (ONE - og)
                        dZ[t, bg, j] = di
                        dZ[t, bg, H + j] = df
                        dZ[t, bg, 2 * H + j] = dg
                        dZ[t, bg, 3 * H + j] = do
                        sh[gb + j] = di
                        sh[gb + H + j] = df
                        sh[gb + 2 * H + j] = dg
                        sh[gb + 3 * H + j] = do
                        sh[o_c + w] = dc * fg
                    elif IS_GRU:
                        rg = A[l, t, bg, j]
                        zg = A[l, t, bg, H + j]
                        n = A[l, t, bg, 2 * H + j]
                        hp = h0[l, bg, j] if t == 0 else Hs[l, t - 1, bg, j]
                        dn = dh * (ONE - zg) * (ONE - n * n)
                        dzg = dh * (hp - n) * zg * (ONE - zg)
                        drg = dn * S[l, t, bg, j] * rg * (ONE - rg)
                        drn = dn * rg
                        dZ[t, bg, j] = drg
                        dZ[t, bg, H + j] = dzg
                        dZ[t, bg, 2 * H + j] = dn
                        dR[t, bg, j] = drg
                        dR[t, bg, H + j] = dzg
                        dR[t, bg, 2 * H + j] = drn
                        sh[gb + j] = drg
                        sh[gb + H + j] = dzg
                        sh[gb + 2 * H + j] = drn
                        sh[o_e + w] = dh * zg
                    else:
                        a = A[l, t, bg, j]
                        if IS_RELU:
                            d = dh if a > ZERO else ZERO * dh
                        else:
                            d = dh * (ONE - a * a)
                        dZ[t, bg, j] = d
                        sh[gb + j] = d
                cuda.syncthreads()
                if t > 0:
                    # dh_{t-1} = element-wise part + dR_t W_hh
                    for w in range(tid, tb * H, nth):
                        b = w // H
                        k = w - b * H
                        gb = o_g + b * GH
                        v = sh[o_e + w] if IS_GRU else ZERO
                        for row in range(GH):
                            v += sh[gb + row] * wh[wh0 + row * H + k]
                        sh[o_h + w] = v
                    cuda.syncthreads()
            # gradient on the layer's input (the outputs of layer l - 1)
            if l > 0:
                for w in range(tid, T * tb * Il, nth):
                    t = w // (tb * Il)
                    rem = w - t * tb * Il
                    b = rem // Il
                    k = rem - b * Il
                    bg = b0 + b
                    v = ZERO
                    for row in range(GH):
                        v += dZ[t, bg, row] * wi[wi0 + row * Il + k]
                    dX[t, bg, k] = v
            # weight-gradient partials of this block
            for e in range(tid, GH * Il, nth):
                row = e // Il
                k = e - row * Il
                acc = ZERO
                for t in range(T):
                    for b in range(tb):
                        bg = b0 + b
                        if l == 0:
                            x = X[idx[bg], t, k]
                        else:
                            x = Hs[l - 1, t, bg, k]
                        acc += dZ[t, bg, row] * x
                grad_part[blk, offsets[l, 0] + e] = acc
            for e in range(tid, GH * H, nth):
                row = e // H
                k = e - row * H
                acc = ZERO
                for t in range(T):
                    for b in range(tb):
                        bg = b0 + b
                        hp = h0[l, bg, k] if t == 0 else Hs[l, t - 1, bg, k]
                        if IS_GRU:
                            acc += dR[t, bg, row] * hp
                        else:
                            acc += dZ[t, bg, row] * hp
                grad_part[blk, offsets[l, 1] + e] = acc
            for row in range(tid, GH, nth):
                acc = ZERO
                acc_r = ZERO
                for t in range(T):
                    for b in range(tb):
                        acc += dZ[t, b0 + b, row]
                        if IS_GRU:
                            acc_r += dR[t, b0 + b, row]
                grad_part[blk, offsets[l, 2] + row] = acc
                grad_part[blk, offsets[l, 3] + row] = acc_r if IS_GRU else acc

    return fwd_bwd


@cuda.jit(**_CACHED)
def transpose_weights(params, offsets, input_size, hidden, gates, wt):
    """``wt`` = ``params`` with every W_ih (G*H, I_l) and W_hh (G*H, H) transposed in place
    of itself (same offsets); biases and the head are not used from ``wt``."""
    e0 = cuda.grid(1)
    stride = cuda.gridsize(1)
    GH = gates * hidden
    for l in range(offsets.shape[0]):
        Il = input_size if l == 0 else hidden
        off = offsets[l, 0]
        for q in range(e0, GH * Il, stride):
            row = q // Il
            k = q - row * Il
            wt[off + k * GH + row] = params[off + q]
        off = offsets[l, 1]
        for q in range(e0, GH * hidden, stride):
            row = q // hidden
            k = q - row * hidden
            wt[off + k * GH + row] = params[off + q]


@cuda.jit(**_CACHED)
def reduce_grad(grad_part, grad, want_grad, loss_part, loss_out, slot, scale):
    """``grad[p] = sum_k grad_part[k, p]`` in block order (grid-stride over p); thread 0
    also writes the batch's mean loss ``scale * sum_k loss_part[k]`` to ``loss_out[slot]``."""
    p0 = cuda.grid(1)
    nb = loss_part.shape[0]
    if want_grad != 0:
        for p in range(p0, grad.shape[0], cuda.gridsize(1)):
            acc = grad_part[0, p]
            for k in range(1, nb):
                acc += grad_part[k, p]
            grad[p] = acc
    if p0 == 0:
        s = 0.0
        for k in range(nb):
            s += loss_part[k]
        loss_out[slot] = s * scale


@cuda.jit(**_CACHED)
def adam_kernel(params, grad, m, v, neg_step_size, bc2_sqrt, w1, omw1, lerp_low, b2, omb2, eps,
                wd, decay, use_wd, decoupled):
    """One Adam/AdamW step, element by element as tsrnn.kernels.optim.adam_step
    (scalars already derived in float64 and rounded to the parameter dtype)."""
    for i in range(cuda.grid(1), params.shape[0], cuda.gridsize(1)):
        p = params[i]
        g = grad[i]
        if use_wd != 0:
            if decoupled != 0:
                p = p * decay
            else:
                g = g + wd * p
        mi = m[i]
        d = g - mi
        if lerp_low != 0:
            mi = mi + w1 * d
        else:
            mi = g - d * omw1
        m[i] = mi
        vi = v[i] * b2
        vi = vi + omb2 * g * g
        v[i] = vi
        denom = math.sqrt(vi) / bc2_sqrt + eps
        params[i] = p + neg_step_size * mi / denom


@cuda.jit(**_CACHED)
def sumsq_partials(x, partial):
    """Per-block float64 sums of squares of ``x``: grid-stride per thread, then a fixed
    tree over the block (power-of-two block size; dynamic shared memory of
    ``8 * threads`` bytes).  The launch shape is part of the summation order."""
    sh = cuda.shared.array(0, numba.float64)
    tid = cuda.threadIdx.x
    acc = 0.0
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        xi = numba.float64(x[i])
        acc += xi * xi
    sh[tid] = acc
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if tid < s:
            sh[tid] += sh[tid + s]
        cuda.syncthreads()
        s //= 2
    if tid == 0:
        partial[cuda.blockIdx.x] = sh[0]


@cuda.jit(**_CACHED)
def norm_finalize(partial, max_norm, out, factor):
    """``out[0]`` = global norm; ``factor[0]`` = clip factor in the gradient dtype (1 when
    no clipping applies: ``max_norm <= 0``, norm not finite, or factor >= 1)."""
    if cuda.grid(1) != 0:
        return
    s = 0.0
    for k in range(partial.shape[0]):
        s += partial[k]
    norm = math.sqrt(s)
    out[0] = norm
    f = 1.0
    if max_norm > 0.0 and not math.isinf(norm) and not math.isnan(norm):
        c = max_norm / (norm + 1e-6)
        if c < 1.0:
            f = c
    out[1] = f
    factor[0] = f


@cuda.jit(**_CACHED)
def scale_by_factor(x, factor):
    """``x *= factor[0]`` (a one-element array of ``x``'s dtype), skipped when it is 1."""
    f = factor[0]
    if f != 1.0:
        for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
            x[i] = x[i] * f

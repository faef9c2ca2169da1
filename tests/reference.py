"""Slow, obviously-correct NumPy reference of the recurrent engine (house rule 6).

Written from the equations (PyTorch's ``nn.RNN/LSTM/GRU`` + ``nn.Linear``),
independently of the Numba kernels: one sample at a time, one step at a time,
float64 throughout, plain vectors and ``np.outer``.  Used by
``tests/test_engine.py`` to check :class:`tsrnn.nn.Network`.

Equations (``x`` the input of the step, ``h``/``c`` the previous state;
``a_ih = W_ih x + b_ih``, ``a_hh = W_hh h + b_hh``, both split into gate
blocks of ``H`` rows in PyTorch's order):

* Elman: ``h' = act(a_ih + a_hh)`` with ``act`` = tanh or relu.
* LSTM (blocks i, f, g, o): ``i = s(.), f = s(.), g = tanh(.), o = s(.)``;
  ``c' = f*c + i*g``; ``h' = o*tanh(c')``.
* GRU (blocks r, z, n): ``r = s(a_ih_r + a_hh_r)``, ``z = s(a_ih_z + a_hh_z)``,
  ``n = tanh(a_ih_n + r*a_hh_n)``, ``h' = (1-z)*n + z*h``.

Head: ``y_t = W h_t + b`` on the last layer's state, at the last step
(``return_sequences=False``) or at every step.

Losses (mean over every element of ``Y``): mse ``e^2``, mae ``|e|``, huber
(PyTorch ``HuberLoss(delta)``: ``e^2/2`` if ``|e| <= delta`` else
``delta*(|e| - delta/2)``), pinball (``u = y - pred``,
``max(q*u, (q-1)*u)`` with one quantile ``q`` per output).

Initial states ``h0``/``c0`` are constants: no gradient flows into them.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ref_forward", "ref_loss", "ref_loss_and_grad", "ref_elem_loss"]


# ----------------------------------------------------------------- helpers
def _sigmoid(v):
    return np.array([1.0 / (1.0 + math.exp(-float(a))) for a in v])


def _tanh(v):
    return np.array([math.tanh(float(a)) for a in v])


def _cell_kind(cfg):
    cell = cfg["cell"].lower()
    if cell in ("elman", "rnn"):
        return "elman_" + cfg.get("nonlinearity", "tanh").lower()
    if cell in ("lstm", "gru"):
        return cell
    raise ValueError(f"reference: unknown cell {cell!r}")


def _layer_params(sd, l, suffix=""):
    get = lambda k: np.asarray(sd[f"rnn.{k}_l{l}{suffix}"], dtype=np.float64)  # noqa: E731
    return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")


def _as_3d(X, input_size):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        X = X[:, :, None]
    assert X.shape[2] == input_size
    return X


def _states(s, L, B, H):
    if s is None:
        return np.zeros((L, B, H))
    return np.asarray(s, dtype=np.float64).reshape(L, B, H)


# ------------------------------------------------------------- one step
def _step_forward(kind, x, h, c, Wih, Whh, bih, bhh):
    """Return (h_new, c_new, cache) for one sample and one step."""
    H = h.shape[0]
    a_ih = Wih @ x + bih
    a_hh = Whh @ h + bhh
    if kind.startswith("elman"):
        a = a_ih + a_hh
        h_new = _tanh(a) if kind == "elman_tanh" else np.maximum(a, 0.0)
        return h_new, c, dict(x=x, h=h, a=a, h_new=h_new)
    if kind == "lstm":
        a = a_ih + a_hh
        i = _sigmoid(a[0:H])
        f = _sigmoid(a[H:2 * H])
        g = _tanh(a[2 * H:3 * H])
        o = _sigmoid(a[3 * H:4 * H])
        c_new = f * c + i * g
        tc = _tanh(c_new)
        h_new = o * tc
        return h_new, c_new, dict(x=x, h=h, c=c, i=i, f=f, g=g, o=o, tc=tc)
    # GRU
    r = _sigmoid(a_ih[0:H] + a_hh[0:H])
    z = _sigmoid(a_ih[H:2 * H] + a_hh[H:2 * H])
    hn = a_hh[2 * H:3 * H]
    n = _tanh(a_ih[2 * H:3 * H] + r * hn)
    h_new = (1.0 - z) * n + z * h
    return h_new, c, dict(x=x, h=h, r=r, z=z, n=n, hn=hn)


def _step_backward(kind, cache, dh_new, dc_new, Wih, Whh, g):
    """Backward of one step.

    ``dh_new``/``dc_new``: gradient on the step's outputs.  Accumulates the
    parameter gradients into ``g = [dWih, dWhh, dbih, dbhh]`` and returns
    ``(dx, dh_prev, dc_prev)``.
    """
    x, h = cache["x"], cache["h"]
    if kind.startswith("elman"):
        if kind == "elman_tanh":
            da = dh_new * (1.0 - cache["h_new"] ** 2)
        else:
            da = dh_new * (cache["a"] > 0.0)
        d_ih = d_hh = da
        dh_direct = np.zeros_like(h)
        dc_prev = dc_new
    elif kind == "lstm":
        i, f, gg, o, tc, c = (cache[k] for k in ("i", "f", "g", "o", "tc", "c"))
        dc = dc_new + dh_new * o * (1.0 - tc ** 2)
        do = dh_new * tc
        di = dc * gg
        df = dc * c
        dg = dc * i
        dc_prev = dc * f
        da = np.concatenate([di * i * (1.0 - i), df * f * (1.0 - f),
                             dg * (1.0 - gg ** 2), do * o * (1.0 - o)])
        d_ih = d_hh = da
        dh_direct = np.zeros_like(h)
    else:  # GRU
        r, z, n, hn = (cache[k] for k in ("r", "z", "n", "hn"))
        dn = dh_new * (1.0 - z)
        dz = dh_new * (h - n)
        dh_direct = dh_new * z
        dan = dn * (1.0 - n ** 2)          # gradient on the candidate's pre-activation
        dr = dan * hn
        dar = dr * r * (1.0 - r)
        daz = dz * z * (1.0 - z)
        d_ih = np.concatenate([dar, daz, dan])
        d_hh = np.concatenate([dar, daz, dan * r])
        dc_prev = dc_new
    g[0] += np.outer(d_ih, x)
    g[1] += np.outer(d_hh, h)
    g[2] += d_ih
    g[3] += d_hh
    dx = Wih.T @ d_ih
    dh_prev = Whh.T @ d_hh + dh_direct
    return dx, dh_prev, dc_prev


# -------------------------------------------------------------- forward
def _forward_sample(sd, cfg, x_seq, h0, c0):
    """Forward of one sample; returns (top hidden sequence, h_T, c_T, caches).

    Bidirectional (``cfg["bidirectional"]``): each layer also runs the same
    recurrence with the ``_reverse`` parameters over the time-reversed input,
    its outputs are put back in time order and concatenated after the forward
    direction's; states are ordered layer by layer, forward first.
    """
    kind = _cell_kind(cfg)
    L = cfg["num_layers"]
    suffixes = ("", "_reverse") if cfg.get("bidirectional") else ("",)
    D = len(suffixes)
    inp = x_seq
    caches, h_fin, c_fin = [], [], []
    for l in range(L):
        outs_dir = []
        for d, sfx in enumerate(suffixes):
            Wih, Whh, bih, bhh = _layer_params(sd, l, sfx)
            h, c = h0[l * D + d].copy(), c0[l * D + d].copy()
            seq = inp if d == 0 else inp[::-1]
            outs, lc = [], []
            for t in range(seq.shape[0]):
                h, c, cache = _step_forward(kind, seq[t], h, c, Wih, Whh, bih, bhh)
                outs.append(h)
                lc.append(cache)
            caches.append(lc)
            h_fin.append(h)
            c_fin.append(c)
            outs = np.array(outs)
            outs_dir.append(outs if d == 0 else outs[::-1])
        inp = np.concatenate(outs_dir, axis=1)
    return inp, np.array(h_fin), np.array(c_fin), caches


def ref_forward(sd, cfg, X, h0=None, c0=None):
    """Reference outputs and final states.

    Parameters
    ----------
    sd : dict name -> array (a ``Network.state_dict()``)
    cfg : dict (``Network.get_config()``)
    X : (B, T, I) or (B, T) when input_size == 1
    h0, c0 : optional (L, B, H) initial states

    Returns
    -------
    y : (B, O) or (B, T, O) with ``return_sequences``
    h_n : (L, B, H)
    c_n : (L, B, H) for LSTM, else None
    """
    X = _as_3d(X, cfg["input_size"])
    B, T, _ = X.shape
    D = 2 if cfg.get("bidirectional") else 1
    L, H = cfg["num_layers"] * D, cfg["hidden_size"]
    h0 = _states(h0, L, B, H)
    c0 = _states(c0, L, B, H)
    W = np.asarray(sd["head.weight"], dtype=np.float64)
    bo = np.asarray(sd["head.bias"], dtype=np.float64)
    ys, hn, cn = [], np.zeros((L, B, H)), np.zeros((L, B, H))
    for b in range(B):
        top, hf, cf, _ = _forward_sample(sd, cfg, X[b], h0[:, b], c0[:, b])
        if cfg["return_sequences"]:
            ys.append(np.array([W @ top[t] + bo for t in range(T)]))
        else:
            # the many-to-one head reads each direction's final state (h_n)
            ys.append(W @ np.concatenate(list(hf[L - D:])) + bo)
        hn[:, b] = hf
        cn[:, b] = cf
    is_lstm = _cell_kind(cfg) == "lstm"
    return np.array(ys), hn, (cn if is_lstm else None)


# ---------------------------------------------------------------- losses
def ref_elem_loss(loss, pred, target, delta=1.0, q=0.5):
    """(loss, dloss/dpred) of one scalar element."""
    e = pred - target
    if loss == "mse":
        return e * e, 2.0 * e
    if loss == "mae":
        return abs(e), (1.0 if e > 0 else -1.0 if e < 0 else 0.0)
    if loss == "huber":
        if abs(e) <= delta:
            return 0.5 * e * e, e
        return delta * (abs(e) - 0.5 * delta), delta * (1.0 if e > 0 else -1.0)
    if loss == "pinball":
        u = target - pred
        value = max(q * u, (q - 1.0) * u)
        if u > 0:
            return value, -q
        if u < 0:
            return value, 1.0 - q
        return value, 0.0
    raise ValueError(f"reference: unknown loss {loss!r}")


def _quantile_vector(quantiles, O):
    if quantiles is None:
        return np.full(O, 0.5)
    return np.broadcast_to(np.asarray(quantiles, dtype=np.float64), (O,))


def _target_3d(Y, cfg, B, T):
    O = cfg["output_size"]
    Y = np.asarray(Y, dtype=np.float64)
    if cfg["return_sequences"]:
        return Y.reshape(B, T, O)
    return Y.reshape(B, 1, O)


def ref_loss(pred, Y, loss="mse", delta=1.0, quantiles=None):
    """Mean loss over all elements of ``pred`` (same shape as ``Y``)."""
    pred = np.asarray(pred, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(pred.shape)
    q = _quantile_vector(quantiles, pred.shape[-1])
    total = 0.0
    for idx in np.ndindex(pred.shape):
        total += ref_elem_loss(loss, pred[idx], Y[idx], delta, q[idx[-1]])[0]
    return total / pred.size


# -------------------------------------------------------------- backward
def ref_loss_and_grad(sd, cfg, X, Y, loss="mse", delta=1.0, quantiles=None, h0=None, c0=None):
    """Mean loss and its gradient by manual BPTT (initial states are constants).

    Returns ``(loss, grads)`` with ``grads`` keyed like ``sd``.
    """
    kind = _cell_kind(cfg)
    if cfg.get("bidirectional"):
        raise NotImplementedError("reference backward is unidirectional; bidirectional gradients "
                                  "are checked by central differences and against torch")
    X = _as_3d(X, cfg["input_size"])
    B, T, _ = X.shape
    L, H, O = cfg["num_layers"], cfg["hidden_size"], cfg["output_size"]
    seq = cfg["return_sequences"]
    h0 = _states(h0, L, B, H)
    c0 = _states(c0, L, B, H)
    Y3 = _target_3d(Y, cfg, B, T)
    Ty = T if seq else 1
    N = B * Ty * O
    q = _quantile_vector(quantiles, O)
    W = np.asarray(sd["head.weight"], dtype=np.float64)
    bo = np.asarray(sd["head.bias"], dtype=np.float64)
    params = [_layer_params(sd, l) for l in range(L)]
    grads = {k: np.zeros(np.shape(v)) for k, v in sd.items()}
    lgrads = [[grads[f"rnn.{k}_l{l}"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
              for l in range(L)]
    total = 0.0
    for b in range(B):
        top, _, _, caches = _forward_sample(sd, cfg, X[b], h0[:, b], c0[:, b])
        # gradient on the top layer's hidden states from the head
        dtop = np.zeros((T, H))
        steps = range(T) if seq else [T - 1]
        for k, t in enumerate(steps):
            y = W @ top[t] + bo
            for o in range(O):
                value, d = ref_elem_loss(loss, y[o], Y3[b, k, o], delta, q[o])
                total += value
                d /= N
                grads["head.weight"][o] += d * top[t]
                grads["head.bias"][o] += d
                dtop[t] += d * W[o]
        # back through the layers, top to bottom; each layer through time
        dseq = dtop
        for l in range(L - 1, -1, -1):
            Wih, Whh, _, _ = params[l]
            dh_next = np.zeros(H)
            dc_next = np.zeros(H)
            dinp = [None] * T
            for t in range(T - 1, -1, -1):
                dx, dh_next, dc_next = _step_backward(
                    kind, caches[l][t], dseq[t] + dh_next, dc_next, Wih, Whh, lgrads[l])
                dinp[t] = dx
            # dh_next / dc_next now hold the gradient on h0/c0: dropped (no gradient into them)
            dseq = np.array(dinp)
    return total / N, grads

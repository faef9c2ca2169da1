"""Parameter initialisers.

``"pytorch"``
    PyTorch's defaults: every recurrent weight and bias ~ U(-1/sqrt(H), 1/sqrt(H));
    the linear head ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
``"xavier"``
    Glorot/Xavier uniform per gate block (fan_in = input size, fan_out = H) for
    input and recurrent weights, zero biases.
``"orthogonal"``
    Xavier-uniform input weights, orthogonal recurrent weights per gate block,
    zero biases (the Keras default for recurrent layers).
``"identity"``
    IRNN (Le, Jaitly & Hinton 2015): recurrent weights = identity per gate block,
    input weights ~ N(0, 0.001^2), zero biases.  Meant for ``cell="elman"`` with
    ``nonlinearity="relu"``.

``forget_bias`` (LSTM only) sets the forget gate's input bias to the given value
and its recurrent bias to 0 (Jozefowicz et al. 2015 recommend 1.0).
"""

from __future__ import annotations

import numpy as np

INITS = ("pytorch", "xavier", "orthogonal", "identity")


def as_generator(random_state) -> np.random.Generator:
    """Turn ``None``/int/``RandomState``/``Generator`` into a ``Generator``."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        f"random_state must be None, an int, a numpy Generator or RandomState; got {type(random_state).__name__}"
    )


def _orthogonal(rng, n):
    a = rng.standard_normal((n, n))
    q, r = np.linalg.qr(a)
    return q * np.sign(np.diag(r))


def _xavier(rng, fan_out, fan_in):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_out, fan_in))


def initialise(layout, flat, scheme="pytorch", forget_bias=None, random_state=None, **family_kw):
    """Fill ``flat`` (the parameter vector of ``layout``) in place.

    Jordan, IndRNN and CTRNN layouts go to
    :func:`tsrnn.nn.family.initialise_family` (``family_kw`` are passed on).
    """
    if scheme not in INITS:
        raise ValueError(f"init={scheme!r} is not supported; use one of {INITS}")
    rng = as_generator(random_state)
    H = layout.hidden_size
    G = layout.n_gates
    views = layout.views(flat)
    from tsrnn.nn.family import FAMILY_CELLS, initialise_family

    if layout.cell_code in FAMILY_CELLS:
        name = FAMILY_CELLS[layout.cell_code]
        if scheme != "pytorch":
            raise ValueError(f"init={scheme!r} applies to cell='elman', 'lstm' and 'gru'; "
                             f"cell={name!r} has its own initialisation (see tsrnn.nn.family); "
                             f"leave init='pytorch'")
        if forget_bias is not None:
            raise ValueError("forget_bias applies to cell='lstm' only")
        initialise_family(layout.names, layout.shapes, views, layout.cell_code, rng, **family_kw)
        return
    blocks = [(l, sfx) for l in range(layout.num_layers) for sfx in layout.suffixes]
    for l, sfx in blocks:
        w_ih = views[f"rnn.weight_ih_l{l}{sfx}"]
        w_hh = views[f"rnn.weight_hh_l{l}{sfx}"]
        b_ih = views[f"rnn.bias_ih_l{l}{sfx}"]
        b_hh = views[f"rnn.bias_hh_l{l}{sfx}"]
        in_l = w_ih.shape[1]
        if scheme == "pytorch":
            k = 1.0 / np.sqrt(H)
            for arr in (w_ih, w_hh, b_ih, b_hh):
                arr[...] = rng.uniform(-k, k, size=arr.shape)
            continue
        b_ih[...] = 0.0
        b_hh[...] = 0.0
        for g in range(G):
            blk = slice(g * H, (g + 1) * H)
            if scheme == "identity":
                w_ih[blk] = rng.normal(0.0, 1e-3, size=(H, in_l))
                w_hh[blk] = np.eye(H)
            else:
                w_ih[blk] = _xavier(rng, H, in_l)
                w_hh[blk] = _xavier(rng, H, H) if scheme == "xavier" else _orthogonal(rng, H)
    if forget_bias is not None:
        if G != 4:
            raise ValueError("forget_bias applies to cell='lstm' only")
        for l, sfx in blocks:
            views[f"rnn.bias_ih_l{l}{sfx}"][H:2 * H] = forget_bias
            views[f"rnn.bias_hh_l{l}{sfx}"][H:2 * H] = 0.0
    w_o = views["head.weight"]
    k = 1.0 / np.sqrt(w_o.shape[1])
    w_o[...] = rng.uniform(-k, k, size=w_o.shape)
    views["head.bias"][...] = rng.uniform(-k, k, size=views["head.bias"].shape)

"""The recurrent engine (tsrnn.nn.Network + tsrnn.kernels) against the slow
NumPy reference in ``tests/reference.py`` and against central differences.

Sizes are tiny (batch <= 5, time <= 6, hidden <= 5; the CI machine has 2
cores) and every kernel call goes through ``Network``, so only the two
cached specialisations (float32, float64) of the kernels are ever compiled.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference import ref_forward, ref_loss, ref_loss_and_grad
from tsrnn.nn import Network

CELLS = [("elman", "tanh"), ("elman", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
CELL_IDS = ["elman-tanh", "elman-relu", "lstm", "gru"]
LOSSES = ["mse", "mae", "huber", "pinball"]

B, T, I, H = 3, 5, 2, 4
RTOL_FWD = 1e-10
ATOL_FWD = 1e-12


def make_net(cell, nonlin, layers=1, seq=False, out=1, dtype="float64", seed=0, **kw):
    return Network(input_size=I, hidden_size=H, cell=cell, nonlinearity=nonlin,
                   num_layers=layers, output_size=out, return_sequences=seq,
                   dtype=dtype, random_state=seed, **kw)


def make_data(net, batch=B, steps=T, seed=1, scale=1.0):
    rng = np.random.default_rng(seed)
    X = scale * rng.normal(size=(batch, steps, net.input_size))
    return X


def make_states(net, batch=B, seed=2):
    rng = np.random.default_rng(seed)
    shape = (net.num_layers, batch, net.hidden_size)
    h0 = 0.5 * rng.normal(size=shape)
    if net.cell == "elman" and net.nonlinearity == "relu":
        h0 = np.abs(h0)  # a relu state is never negative
    c0 = 0.5 * rng.normal(size=shape) if net.is_lstm else None
    return h0, c0


def targets_away_from_kinks(pred, loss, seed=3, delta=1.0):
    """Targets whose error is never close to a kink of ``loss``.

    mae / pinball: |pred - y| in [0.5, 1.5] with random sign.  huber (delta):
    half of the errors in the quadratic zone (|e| in [0.2, 0.6] delta), half in
    the linear zone (|e| in [2, 3] delta).  mse: anything.
    """
    rng = np.random.default_rng(seed)
    sign = rng.choice([-1.0, 1.0], size=pred.shape)
    if loss == "huber":
        small = rng.uniform(0.2, 0.6, size=pred.shape) * delta
        large = rng.uniform(2.0, 3.0, size=pred.shape) * delta
        mag = np.where(rng.random(pred.shape) < 0.5, small, large)
    else:
        mag = rng.uniform(0.5, 1.5, size=pred.shape)
    return pred - sign * mag


def loss_kwargs(loss, out):
    if loss == "huber":
        return dict(delta=0.7)
    if loss == "pinball":
        return dict(quantiles=[0.1, 0.9][:out] if out == 2 else 0.3)
    return {}


def assert_grads_close(got, want, rtol=1e-9, atol=1e-12):
    assert set(got) == set(want)
    for k in want:
        assert got[k].shape == want[k].shape, k
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=atol, err_msg=k)


# ======================================================================= forward
@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("seq", [False, True], ids=["last", "seq"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "state"])
def test_forward_matches_reference(cell, nonlin, layers, seq, with_state):
    net = make_net(cell, nonlin, layers, seq, out=2)
    X = make_data(net)
    h0, c0 = make_states(net) if with_state else (None, None)
    y, state = net.forward(X, h0=h0, c0=c0, return_state=True)
    y_ref, h_ref, c_ref = ref_forward(net.state_dict(), net.get_config(), X, h0, c0)
    assert y.shape == ((B, T, 2) if seq else (B, 2))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, y_ref, rtol=RTOL_FWD, atol=ATOL_FWD)
    if net.is_lstm:
        h, c = state
        np.testing.assert_allclose(c, c_ref, rtol=RTOL_FWD, atol=ATOL_FWD)
    else:
        h = state
    assert h.shape == (layers, B, H)
    np.testing.assert_allclose(h, h_ref, rtol=RTOL_FWD, atol=ATOL_FWD)
    # plain call == forward without state
    np.testing.assert_array_equal(net(X, h0=h0, c0=c0), y)


def test_forward_state_changes_output():
    """Initial states are actually used (guards the with_state tests above)."""
    net = make_net("lstm", "tanh", 2)
    X = make_data(net)
    h0, c0 = make_states(net)
    y0 = net.forward(X)
    assert not np.allclose(net.forward(X, h0=h0), y0)
    assert not np.allclose(net.forward(X, c0=c0), y0)


def test_forward_2d_input_when_single_feature():
    net = Network(1, 3, cell="gru", dtype="float64", random_state=0)
    X = np.random.default_rng(0).normal(size=(4, 6))
    np.testing.assert_array_equal(net.forward(X), net.forward(X[:, :, None]))
    y_ref, _, _ = ref_forward(net.state_dict(), net.get_config(), X)
    np.testing.assert_allclose(net.forward(X), y_ref, rtol=RTOL_FWD, atol=ATOL_FWD)


# ===================================================================== gradients
@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("seq", [False, True], ids=["many-to-one", "many-to-many"])
@pytest.mark.parametrize("loss", LOSSES)
def test_gradients_match_reference(cell, nonlin, layers, seq, loss):
    out = 2 if (layers == 2 or loss == "pinball") else 1
    net = make_net(cell, nonlin, layers, seq, out=out, seed=layers)
    X = make_data(net, seed=4)
    h0, c0 = make_states(net, seed=5) if layers == 2 else (None, None)
    kw = loss_kwargs(loss, out)
    pred = ref_forward(net.state_dict(), net.get_config(), X, h0, c0)[0]
    Y = targets_away_from_kinks(pred, loss, delta=kw.get("delta", 1.0))
    value, grads = net.loss_and_grad(X, Y, loss=loss, h0=h0, c0=c0, **kw)
    ref_value, ref_grads = ref_loss_and_grad(net.state_dict(), net.get_config(), X, Y,
                                             loss=loss, h0=h0, c0=c0, **kw)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(value, ref_loss(pred, Y, loss, **kw), rtol=1e-12)
    assert_grads_close(grads, ref_grads)
    # every tensor receives a gradient (the test would be vacuous otherwise)
    for k, g in grads.items():
        assert np.abs(g).max() > 0, k


def test_pinball_uses_each_outputs_quantile():
    net = make_net("gru", "tanh", out=2)
    X = make_data(net)
    pred = net.forward(X)
    Y = pred + 1.0  # every u = y - pred = 1 > 0: loss = mean(q)
    value, grads = net.loss_and_grad(X, Y, loss="pinball", quantiles=[0.2, 0.7])
    assert value == pytest.approx(0.45, rel=1e-12)
    # d mean / d bias_o = sum over the batch of -q_o / (B * O) = -q_o / O
    np.testing.assert_allclose(grads["head.bias"], [-0.2 / 2, -0.7 / 2], rtol=1e-12)
    # a scalar quantile applies to every output
    value, _ = net.loss_and_grad(X, Y, loss="pinball", quantiles=0.25)
    assert value == pytest.approx(0.25, rel=1e-12)
    with pytest.raises(ValueError, match="quantiles"):
        net.loss_and_grad(X, Y, loss="pinball", quantiles=[0.2, 1.0])


def test_huber_matches_torch_definition_piecewise():
    net = make_net("elman", "tanh")
    X = make_data(net)
    pred = net.forward(X)
    e = np.array([[0.3], [-2.0], [5.0]])
    value, _ = net.loss_and_grad(X, pred - e, loss="huber", delta=1.5)
    a = np.abs(e)
    want = np.where(a <= 1.5, 0.5 * e ** 2, 1.5 * (a - 0.75)).mean()
    assert value == pytest.approx(want, rel=1e-10)


# ========================================================== finite differences
def _probe_indices(net, n_per_tensor=8, seed=0):
    """A fixed subset of parameter indices spread over every tensor."""
    rng = np.random.default_rng(seed)
    idx = []
    for name, start, shape in zip(net.layout.names, net.layout.starts, net.layout.shapes):
        size = int(np.prod(shape))
        k = min(size, n_per_tensor)
        idx.extend(start + rng.choice(size, size=k, replace=False))
    return np.array(sorted(idx))


def _numeric_grad(net, X, Y, idx, eps=1e-6, **kw):
    base = net.params.copy()
    num = np.empty(len(idx))
    for n, p in enumerate(idx):
        net.params[:] = base
        net.params[p] = base[p] + eps
        lp, _ = net.loss_and_grad(X, Y, **kw)
        net.params[p] = base[p] - eps
        lm, _ = net.loss_and_grad(X, Y, **kw)
        num[n] = (lp - lm) / (2 * eps)
    net.params[:] = base
    return num


def _flat(net, grads):
    flat = np.zeros(net.n_params)
    for name, g in grads.items():
        net.layout.view(flat, name)[...] = g
    return flat


@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("layers,seq", [(1, False), (2, True)], ids=["1L-last", "2L-seq"])
@pytest.mark.parametrize("loss", LOSSES)
def test_central_difference_gradient(cell, nonlin, layers, seq, loss):
    """Kernel gradient == central differences of the kernel's own loss (float64).

    Targets sit far from every kink of mae / huber / pinball (see
    ``targets_away_from_kinks``) so a +-1e-6 step never crosses one.  For the
    relu Elman cell the pre-activations are random and (for these seeds)
    never within 1e-6 of 0.
    """
    out = 2
    net = make_net(cell, nonlin, layers, seq, out=out, seed=10 + layers)
    X = make_data(net, batch=4, steps=5, seed=11)
    h0, c0 = make_states(net, batch=4, seed=12)
    kw = loss_kwargs(loss, out)
    pred = net.forward(X, h0=h0, c0=c0)
    Y = targets_away_from_kinks(pred, loss, seed=13, delta=kw.get("delta", 1.0))
    kw.update(loss=loss, h0=h0, c0=c0)
    idx = _probe_indices(net)
    assert len(idx) >= 30 or len(idx) == net.n_params
    _, grads = net.loss_and_grad(X, Y, **kw)
    analytic = _flat(net, grads)[idx]
    numeric = _numeric_grad(net, X, Y, idx, **kw)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert np.abs(numeric).max() > 1e-3  # not a vacuous comparison


@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
def test_central_difference_every_parameter(cell, nonlin):
    """Every parameter of a small 2-layer many-to-many net, mse loss."""
    net = Network(2, 3, cell=cell, nonlinearity=nonlin, num_layers=2, output_size=2,
                  return_sequences=True, dtype="float64", random_state=21)
    X = make_data(net, batch=3, steps=4, seed=22)
    Y = np.random.default_rng(23).normal(size=(3, 4, 2))
    _, grads = net.loss_and_grad(X, Y)
    idx = np.arange(net.n_params)
    numeric = _numeric_grad(net, X, Y, idx)
    np.testing.assert_allclose(_flat(net, grads), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
def test_reference_gradient_is_itself_correct(cell, nonlin):
    """The reference's BPTT against central differences of the reference loss,
    so the reference and the kernel cannot share a mistake."""
    net = make_net(cell, nonlin, layers=2, seq=True, out=2, seed=31)
    X = make_data(net, batch=2, steps=4, seed=32)
    h0, c0 = make_states(net, batch=2, seed=33)
    Y = np.random.default_rng(34).normal(size=(2, 4, 2))
    sd, cfg = net.state_dict(), net.get_config()
    _, grads = ref_loss_and_grad(sd, cfg, X, Y, "mse", h0=h0, c0=c0)
    eps = 1e-6
    for name in sd:
        flat = sd[name].reshape(-1)
        for p in np.random.default_rng(35).choice(flat.size, size=min(3, flat.size), replace=False):
            old = flat[p]
            flat[p] = old + eps
            lp = ref_loss(ref_forward(sd, cfg, X, h0, c0)[0], Y)
            flat[p] = old - eps
            lm = ref_loss(ref_forward(sd, cfg, X, h0, c0)[0], Y)
            flat[p] = old
            np.testing.assert_allclose(grads[name].reshape(-1)[p], (lp - lm) / (2 * eps),
                                       rtol=1e-6, atol=1e-8, err_msg=f"{name}[{p}]")


# ================================================================ truncated BPTT
@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("layers", [1, 2])
def test_stateful_truncated_bptt(cell, nonlin, layers):
    n_chunks, chunk = 3, 4
    steps = n_chunks * chunk
    net = make_net(cell, nonlin, layers, seq=True, out=1, seed=40 + layers)
    X = make_data(net, batch=2, steps=steps, seed=41)
    Y = np.random.default_rng(42).normal(size=(2, steps, 1))
    sd, cfg = net.state_dict(), net.get_config()

    full_y, full_state = net.forward(X, return_state=True)
    full_loss, full_grads = net.loss_and_grad(X, Y)

    # (a) chunked forward with carried state == one pass
    h, c = None, None
    ys, chunk_grads, chunk_losses = [], [], []
    for k in range(n_chunks):
        sl = slice(k * chunk, (k + 1) * chunk)
        y, state = net.forward(X[:, sl], h0=h, c0=c, return_state=True)
        value, grads, state2 = net.loss_and_grad(X[:, sl], Y[:, sl], h0=h, c0=c,
                                                 return_state=True)
        # (b) the chunk's gradient is the truncated one: the reference gradient
        # of this chunk alone, its initial state a constant
        ref_value, ref_grads = ref_loss_and_grad(sd, cfg, X[:, sl], Y[:, sl], "mse", h0=h, c0=c)
        np.testing.assert_allclose(value, ref_value, rtol=1e-12)
        assert_grads_close(grads, ref_grads)
        ys.append(y)
        chunk_losses.append(value)
        chunk_grads.append(grads)
        # inference and training compute the same states; LSTM inference sums in
        # another order (bias inside the product, transposed layout), so equal to
        # rounding, not bitwise
        if net.is_lstm:
            h, c = state
            np.testing.assert_allclose(state2[0], h, rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(state2[1], c, rtol=1e-13, atol=1e-15)
        else:
            h = state
            np.testing.assert_array_equal(state2, h)
    np.testing.assert_allclose(np.concatenate(ys, axis=1), full_y, rtol=1e-12, atol=1e-14)
    if net.is_lstm:
        np.testing.assert_allclose(h, full_state[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(c, full_state[1], rtol=1e-12, atol=1e-14)
    else:
        np.testing.assert_allclose(h, full_state, rtol=1e-12, atol=1e-14)
    # the loss is the same quantity either way (equal chunk lengths) ...
    assert np.mean(chunk_losses) == pytest.approx(full_loss, rel=1e-12)
    # ... but the gradient is not: the truncated gradient ignores the paths
    # through the chunk boundaries, which the full gradient includes
    trunc = {k: np.mean([g[k] for g in chunk_grads], axis=0) for k in full_grads}
    diff = max(np.abs(trunc[k] - full_grads[k]).max() for k in full_grads)
    assert diff > 1e-4
    # the head sees no recurrence: its gradient is identical in both
    np.testing.assert_allclose(trunc["head.weight"], full_grads["head.weight"], rtol=1e-10)
    np.testing.assert_allclose(trunc["head.bias"], full_grads["head.bias"], rtol=1e-10)


# ================================================================== dtypes
@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
def test_float32_matches_float64(cell, nonlin):
    net64 = make_net(cell, nonlin, layers=2, seq=True, out=2, seed=50)
    net32 = make_net(cell, nonlin, layers=2, seq=True, out=2, seed=50, dtype="float32")
    net32.load_state_dict(net64.state_dict())
    X = make_data(net64, seed=51)
    Y = np.random.default_rng(52).normal(size=(B, T, 2))
    y64 = net64.forward(X)
    y32 = net32.forward(X)
    assert y32.dtype == np.float32 and net32.params.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-5)
    l64, g64 = net64.loss_and_grad(X, Y)
    l32, g32 = net32.loss_and_grad(X, Y)
    assert l32 == pytest.approx(l64, rel=1e-5)
    for k in g64:
        assert g32[k].dtype == np.float32
        np.testing.assert_allclose(g32[k], g64[k], rtol=1e-4, atol=1e-5, err_msg=k)


# ============================================================== determinism
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_thread_count_does_not_change_results(dtype, cell):
    kw = dict(input_size=2, hidden_size=4, cell=cell, num_layers=2, output_size=2,
              return_sequences=True, dtype=dtype, random_state=60, shard_size=8)
    net1 = Network(n_jobs=1, **kw)
    net2 = Network(n_jobs=2, **kw)
    np.testing.assert_array_equal(net1.params, net2.params)
    rng = np.random.default_rng(61)
    X = rng.normal(size=(40, 5, 2))
    Y = rng.normal(size=(40, 5, 2))
    l1, g1 = net1.loss_and_grad(X, Y)
    l2, g2 = net2.loss_and_grad(X, Y)
    assert l1 == l2
    for k in g1:
        assert np.array_equal(g1[k], g2[k]), k
    np.testing.assert_array_equal(net1.forward(X), net2.forward(X))
    # with 5 shards of 8 the summation order differs from a single shard:
    # the values agree to rounding, confirming shards are really used
    net_one = Network(n_jobs=1, **{**kw, "shard_size": 40})
    l_one, g_one = net_one.loss_and_grad(X, Y)
    tol = 1e-5 if dtype == "float32" else 1e-12
    assert l_one == pytest.approx(l1, rel=tol)
    for k in g1:
        np.testing.assert_allclose(g_one[k], g1[k], rtol=tol * 10, atol=tol, err_msg=k)


def test_same_seed_same_weights_different_seed_different_weights():
    a = make_net("lstm", "tanh", seed=7)
    b = make_net("lstm", "tanh", seed=7)
    c = make_net("lstm", "tanh", seed=8)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


# ============================================================ state dict
def test_state_dict_names_and_shapes():
    net = Network(3, 5, cell="lstm", num_layers=2, output_size=2, random_state=0)
    sd = net.state_dict()
    assert list(sd) == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                        "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
                        "head.weight", "head.bias"]
    assert sd["rnn.weight_ih_l0"].shape == (20, 3)
    assert sd["rnn.weight_hh_l0"].shape == (20, 5)
    assert sd["rnn.weight_ih_l1"].shape == (20, 5)
    assert sd["rnn.bias_hh_l1"].shape == (20,)
    assert sd["head.weight"].shape == (2, 5)
    assert sd["head.bias"].shape == (2,)
    assert sum(v.size for v in sd.values()) == net.n_params
    gru = Network(3, 5, cell="gru", random_state=0).state_dict()
    assert gru["rnn.weight_hh_l0"].shape == (15, 5)
    elman = Network(3, 5, cell="rnn", random_state=0).state_dict()
    assert elman["rnn.weight_hh_l0"].shape == (5, 5)


def test_state_dict_round_trip():
    src = make_net("gru", "tanh", layers=2, seq=True, out=2, seed=70)
    dst = make_net("gru", "tanh", layers=2, seq=True, out=2, seed=71)
    assert not np.array_equal(src.params, dst.params)
    sd = src.state_dict()
    # state_dict holds copies
    sd["head.bias"][...] = 123.0
    assert not np.any(src.params == 123.0)
    sd = src.state_dict()
    assert dst.load_state_dict(sd) is dst
    np.testing.assert_array_equal(dst.params, src.params)
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    X = make_data(src)
    np.testing.assert_array_equal(dst.forward(X), src.forward(X))
    # bare PyTorch keys (no "rnn." prefix) load into the recurrent part
    bare = {k[4:] if k.startswith("rnn.") else k: v for k, v in sd.items()}
    third = make_net("gru", "tanh", layers=2, seq=True, out=2, seed=72)
    third.load_state_dict(bare)
    np.testing.assert_array_equal(third.params, src.params)
    # rebuild from the config
    rebuilt = Network(**src.get_config())
    rebuilt.load_state_dict(sd)
    np.testing.assert_array_equal(rebuilt.forward(X), src.forward(X))


def test_load_state_dict_converts_dtype():
    src = make_net("lstm", "tanh", seed=73)
    dst = make_net("lstm", "tanh", seed=74, dtype="float32")
    dst.load_state_dict(src.state_dict())
    assert dst.params.dtype == np.float32
    np.testing.assert_array_equal(dst.params, src.params.astype(np.float32))


def test_load_state_dict_rejects_bad_input():
    net = make_net("lstm", "tanh", layers=2, seed=75)
    before = net.params.copy()
    good = net.state_dict()

    bad = dict(good, **{"rnn.weight_hh_l1": np.zeros((4 * H, H + 1))})
    with pytest.raises(ValueError, match=r"rnn\.weight_hh_l1.*\(16, 5\).*\(16, 4\)"):
        net.load_state_dict(bad)

    bad = dict(good, **{"rnn.weight_hh_l7": np.zeros((4 * H, H))})
    with pytest.raises(KeyError, match="weight_hh_l7"):
        net.load_state_dict(bad)

    nan = {k: v.copy() for k, v in good.items()}
    nan["head.weight"][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"head\.weight.*NaN"):
        net.load_state_dict(nan)
    inf = {k: v.copy() for k, v in good.items()}
    inf["rnn.bias_ih_l0"][3] = np.inf
    with pytest.raises(ValueError, match=r"bias_ih_l0"):
        net.load_state_dict(inf)

    missing = {k: v for k, v in good.items() if k != "head.bias"}
    with pytest.raises(KeyError, match=r"head\.bias"):
        net.load_state_dict(missing)
    with pytest.raises(TypeError, match="list"):
        net.load_state_dict([1, 2, 3])
    # nothing was half-loaded by the failed calls
    np.testing.assert_array_equal(net.params, before)

    # a partial load with strict=False keeps the rest
    net.load_state_dict({"head.bias": np.array([5.0])}, strict=False)
    assert net.state_dict()["head.bias"][0] == 5.0
    np.testing.assert_array_equal(net.state_dict()["rnn.weight_ih_l0"], good["rnn.weight_ih_l0"])


# =========================================================== initialisers
def test_orthogonal_init_gives_orthogonal_recurrent_blocks():
    H5 = 5
    for cell, G in (("lstm", 4), ("gru", 3), ("elman", 1)):
        net = Network(2, H5, cell=cell, num_layers=2, init="orthogonal", dtype="float64",
                      random_state=80)
        sd = net.state_dict()
        for l in range(2):
            w = sd[f"rnn.weight_hh_l{l}"]
            for g in range(G):
                blk = w[g * H5:(g + 1) * H5]
                np.testing.assert_allclose(blk @ blk.T, np.eye(H5), atol=1e-12)
                assert not np.allclose(blk, np.eye(H5))
            assert not np.any(sd[f"rnn.bias_ih_l{l}"]) and not np.any(sd[f"rnn.bias_hh_l{l}"])
            bound = np.sqrt(6.0 / (sd[f"rnn.weight_ih_l{l}"].shape[1] + H5))
            assert np.abs(sd[f"rnn.weight_ih_l{l}"]).max() <= bound
        if G > 1:  # blocks are drawn independently
            assert not np.allclose(w[:H5], w[H5:2 * H5])


def test_identity_init():
    net = Network(2, 4, cell="elman", nonlinearity="relu", num_layers=2, init="identity",
                  dtype="float64", random_state=81)
    sd = net.state_dict()
    for l in range(2):
        np.testing.assert_array_equal(sd[f"rnn.weight_hh_l{l}"], np.eye(4))
        assert np.abs(sd[f"rnn.weight_ih_l{l}"]).max() < 0.01
        assert np.abs(sd[f"rnn.weight_ih_l{l}"]).max() > 0
        assert not np.any(sd[f"rnn.bias_ih_l{l}"]) and not np.any(sd[f"rnn.bias_hh_l{l}"])
    lstm = Network(2, 3, cell="lstm", init="identity", dtype="float64", random_state=81)
    w = lstm.state_dict()["rnn.weight_hh_l0"]
    for g in range(4):
        np.testing.assert_array_equal(w[g * 3:(g + 1) * 3], np.eye(3))


def test_forget_bias():
    Hf = 3
    for init in ("pytorch", "orthogonal"):
        net = Network(2, Hf, cell="lstm", num_layers=2, init=init, forget_bias=1.0,
                      dtype="float64", random_state=82)
        sd = net.state_dict()
        for l in range(2):
            np.testing.assert_array_equal(sd[f"rnn.bias_ih_l{l}"][Hf:2 * Hf], 1.0)
            np.testing.assert_array_equal(sd[f"rnn.bias_hh_l{l}"][Hf:2 * Hf], 0.0)
            # the other gates are untouched
            assert not np.any(sd[f"rnn.bias_ih_l{l}"][np.r_[0:Hf, 2 * Hf:4 * Hf]] == 1.0)
    # None keeps the initialiser's value
    a = Network(2, Hf, cell="lstm", forget_bias=None, random_state=83)
    b = Network(2, Hf, cell="lstm", random_state=83)
    np.testing.assert_array_equal(a.params, b.params)
    with pytest.raises(ValueError, match="lstm"):
        Network(2, Hf, cell="gru", forget_bias=1.0)


def test_pytorch_init_bounds():
    Hp = 5
    net = Network(3, Hp, cell="gru", num_layers=2, output_size=2, dtype="float64",
                  random_state=84)
    k = 1.0 / np.sqrt(Hp)
    sd = net.state_dict()
    for name, v in sd.items():
        assert np.abs(v).max() <= k, name
    allrnn = np.concatenate([v.ravel() for n, v in sd.items() if n.startswith("rnn.")])
    # uniform on [-k, k]: the spread reaches well towards the bound (not a narrower law)
    assert np.abs(allrnn).max() > 0.9 * k
    assert allrnn.min() < 0 < allrnn.max()
    assert abs(allrnn.mean()) < 0.1 * k


def test_xavier_init_bounds():
    net = Network(3, 5, cell="lstm", init="xavier", dtype="float64", random_state=85)
    sd = net.state_dict()
    assert np.abs(sd["rnn.weight_ih_l0"]).max() <= np.sqrt(6.0 / 8)
    assert np.abs(sd["rnn.weight_hh_l0"]).max() <= np.sqrt(6.0 / 10)
    assert not np.any(sd["rnn.bias_ih_l0"])


# ========================================================= input validation
def test_wrong_feature_count():
    net = make_net("gru", "tanh")
    with pytest.raises(ValueError, match=r"3 features.*input_size=2"):
        net.forward(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"input_size=2"):
        net.forward(np.zeros((2, 4)))  # 2-D only when input_size == 1
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        net.forward(np.zeros(2))


def test_nan_and_inf_inputs():
    net = make_net("lstm", "tanh")
    X = np.zeros((2, 4, 2))
    X[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 NaN"):
        net.forward(X)
    X[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"X contains 2 NaN or infinite"):
        net.loss_and_grad(X, np.zeros((2, 1)))
    Y = np.array([[0.0], [np.nan]])
    with pytest.raises(ValueError, match=r"Y contains 1 NaN"):
        net.loss_and_grad(np.zeros((2, 4, 2)), Y)
    h0 = np.zeros((1, 2, H))
    h0[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"h0 contains"):
        net.forward(np.zeros((2, 4, 2)), h0=h0)


def test_non_numeric_input():
    net = make_net("gru", "tanh")
    with pytest.raises(TypeError, match=r"X must be numeric.*<U1"):
        net.forward(np.full((2, 4, 2), "a"))
    with pytest.raises(TypeError, match=r"X must be numeric.*object"):
        net.forward(np.array([[[1.0, None]]], dtype=object))
    with pytest.raises(TypeError, match=r"Y must be numeric"):
        net.loss_and_grad(np.zeros((2, 4, 2)), [["x"], ["y"]])


def test_wrong_target_shape():
    net = make_net("gru", "tanh", out=2)
    X = np.zeros((3, 4, 2))
    with pytest.raises(ValueError, match=r"Y has shape \(3, 1\), expected \(3, 2\)"):
        net.loss_and_grad(X, np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"Y has shape \(2, 2\)"):
        net.loss_and_grad(X, np.zeros((2, 2)))
    seq = make_net("gru", "tanh", seq=True)
    with pytest.raises(ValueError, match=r"Y has shape \(3, 1\), expected \(3, 4, 1\)"):
        seq.loss_and_grad(X, np.zeros((3, 1)))
    # accepted shorthand shapes
    one = make_net("gru", "tanh")
    a, _ = one.loss_and_grad(X, np.ones(3))
    b, _ = one.loss_and_grad(X, np.ones((3, 1)))
    assert a == b
    c, _ = seq.loss_and_grad(X, np.ones((3, 4)))
    d, _ = seq.loss_and_grad(X, np.ones((3, 4, 1)))
    assert c == d


def test_wrong_state_shape():
    net = make_net("lstm", "tanh", layers=2)
    X = np.zeros((3, 4, 2))
    with pytest.raises(ValueError, match=r"h0 has shape \(1, 3, 4\), expected .*\(2, 3, 4\)"):
        net.forward(X, h0=np.zeros((1, 3, H)))
    with pytest.raises(ValueError, match=r"c0 has shape \(2, 2, 4\)"):
        net.loss_and_grad(X, np.zeros((3, 1)), c0=np.zeros((2, 2, H)))


def test_bad_names_and_parameters():
    with pytest.raises(ValueError, match=r"cell='transformer'.*lstm"):
        Network(2, 3, cell="transformer")
    with pytest.raises(ValueError, match=r"nonlinearity='sigmoid'"):
        Network(2, 3, cell="elman", nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"init='he'"):
        Network(2, 3, init="he")
    with pytest.raises(ValueError, match=r"dtype='float16'"):
        Network(2, 3, dtype="float16")
    with pytest.raises(TypeError, match=r"hidden_size must be an integer, got 2.5"):
        Network(2, 2.5)
    with pytest.raises(ValueError, match=r"num_layers must be >= 1, got 0"):
        Network(2, 3, num_layers=0)
    net = make_net("gru", "tanh")
    X, Y = np.zeros((2, 4, 2)), np.zeros((2, 1))
    with pytest.raises(ValueError, match=r"loss='hinge'.*mse"):
        net.loss_and_grad(X, Y, loss="hinge")
    with pytest.raises(ValueError, match=r"delta must be > 0.0, got -1"):
        net.loss_and_grad(X, Y, loss="huber", delta=-1.0)
    # names are exact (as in scikit-learn), with a hint; "rnn" is an alias
    with pytest.raises(ValueError, match=r"cell='LSTM'.*did you mean 'lstm'"):
        Network(2, 3, cell="LSTM")
    assert Network(2, 3, cell="rnn").state_dict()["rnn.weight_hh_l0"].shape == (3, 3)


def test_quantiles_of_wrong_length_are_rejected_clearly():
    net = Network(2, 3, output_size=2, dtype="float64", random_state=0)
    with pytest.raises(ValueError, match=r"quantiles has 3 values.*output_size=2"):
        net.loss_and_grad(np.zeros((2, 4, 2)), np.zeros((2, 2)), loss="pinball",
                          quantiles=[0.1, 0.5, 0.9])


@pytest.mark.parametrize("cell", ["gru", "elman"])
def test_c0_for_a_cell_without_cell_state_is_rejected(cell):
    net = Network(2, 3, cell=cell, dtype="float64", random_state=0)
    with pytest.raises(ValueError, match="c0 was given"):
        net.forward(np.zeros((2, 4, 2)), c0=np.ones((1, 2, 3)))


def test_values_beyond_float32_range_are_named_not_called_nan():
    net = Network(1, 2, cell="gru", random_state=0)  # float32
    X = np.ones((2, 3, 1))
    X[0, 1, 0] = 1e300
    with pytest.raises(ValueError, match=r"beyond the float32 range.*dtype='float64'"):
        net.forward(X)


# LSTM inference of big batches runs its own kernel (bptt.lstm_infer_t: transposed,
# gate-major layout, biases inside the input product); check it against the NumPy reference
# for deep stacks (three layers use both alternating state buffers), both heads,
# given initial states, ragged shards and float32's fast activations.
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("seq", [False, True], ids=["last", "seq"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lstm_inference_kernel_matches_reference(layers, seq, dtype, monkeypatch):
    import tsrnn.kernels.bptt as bptt
    import tsrnn.nn.network as network

    monkeypatch.setattr(network, "INFERENCE_SHARD", 3)   # shards of 3, 3 and 1 sequences
    monkeypatch.setattr(bptt, "LSTM_T_MIN_BATCH", 1)     # the kernel also for 7 sequences
    net = make_net("lstm", None, layers, seq=seq, out=2, dtype=dtype, seed=60 + layers,
                   shard_size=3)
    X = make_data(net, batch=7, steps=9, seed=61).astype(dtype)
    g = np.random.default_rng(62)
    h0 = g.normal(size=(layers, 7, net.hidden_size)).astype(dtype)
    c0 = g.normal(size=(layers, 7, net.hidden_size)).astype(dtype)
    y, (hn, cn) = net.forward(X, h0=h0, c0=c0, return_state=True)
    y_ref, hn_ref, cn_ref = ref_forward(net.state_dict(), net.get_config(), X, h0=h0, c0=c0)
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(y, y_ref, **tol)
    np.testing.assert_allclose(hn, hn_ref, **tol)
    np.testing.assert_allclose(cn, cn_ref, **tol)


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_inference_kernel_with_the_input_product_apart_matches_reference(layers):
    # 4H x (H + I + 1) x shard above one BLAS call (here 4*40 x 44 x 256 > 2**19): the
    # kernel runs W_hh @ h^T and [W_ih | b] @ [x^T; 1] as two products instead of one
    from tsrnn.kernels.blas import SMALL_MNK
    from tsrnn.nn.network import INFERENCE_SHARD

    net = Network(input_size=3, hidden_size=40, cell="lstm", num_layers=layers,
                  dtype="float64", random_state=72)
    assert 4 * 40 * (40 + 3 + 1) * INFERENCE_SHARD > SMALL_MNK
    X = np.random.default_rng(73).normal(size=(INFERENCE_SHARD + 3, 4, 3))
    h0 = np.random.default_rng(74).normal(size=(layers, X.shape[0], 40))
    y, (hn, cn) = net.forward(X, h0=h0, return_state=True)
    y_ref, hn_ref, cn_ref = ref_forward(net.state_dict(), net.get_config(), X, h0=h0)
    for a, b in [(y, y_ref), (hn, hn_ref), (cn, cn_ref)]:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_lstm_inference_of_a_big_batch_matches_reference():
    # >= LSTM_T_MIN_BATCH sequences: the transposed kernel without any patching
    from tsrnn.kernels.bptt import LSTM_T_MIN_BATCH

    net = make_net("lstm", None, 1, out=1, seed=70)
    X = make_data(net, batch=LSTM_T_MIN_BATCH + 5, steps=6, seed=71)
    y = net.forward(X)
    y_ref, _, _ = ref_forward(net.state_dict(), net.get_config(), X)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-13)

"""Bidirectional (deep) stacks: NumPy reference, central differences, PyTorch.

``Network(bidirectional=True)`` against the reference forward in
``tests/reference.py`` (each layer runs the same recurrence with the
``_reverse`` parameters over the reversed input), against central differences
of the kernel's own loss in float64, and against ``torch.nn.RNN/LSTM/GRU(
bidirectional=True)`` followed by a ``Linear`` head on ``out[:, t]`` (every
step) or on ``cat(h_n[-2], h_n[-1])`` (many-to-one).
"""

from __future__ import annotations

import numpy as np
import pytest

from reference import ref_forward
from test_engine import (_flat, _numeric_grad, _probe_indices, loss_kwargs,
                         targets_away_from_kinks)
from tsrnn.nn import Network
from tsrnn.nn.trainer import Trainer

CELLS = [("elman", "tanh"), ("elman", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
CELL_IDS = ["elman-tanh", "elman-relu", "lstm", "gru"]
B, T, I, H = 3, 5, 2, 4


def make(cell, nonlin, layers=1, seq=False, out=2, dtype="float64", seed=0, **kw):
    return Network(I, H, cell=cell, nonlinearity=nonlin, num_layers=layers, output_size=out,
                   return_sequences=seq, dtype=dtype, random_state=seed, bidirectional=True, **kw)


def states(net, batch, seed):
    rng = np.random.default_rng(seed)
    h0 = 0.5 * rng.normal(size=net.state_shape(batch))
    if net.nonlinearity == "relu" and net.cell == "elman":
        h0 = np.abs(h0)
    c0 = 0.5 * rng.normal(size=net.state_shape(batch)) if net.is_lstm else None
    return h0, c0


def test_names_shapes_and_state_shape():
    net = make("lstm", "tanh", layers=2)
    sd = net.state_dict()
    assert list(sd)[:8] == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                            "rnn.bias_hh_l0", "rnn.weight_ih_l0_reverse",
                            "rnn.weight_hh_l0_reverse", "rnn.bias_ih_l0_reverse",
                            "rnn.bias_hh_l0_reverse"]
    assert sd["rnn.weight_ih_l1"].shape == (4 * H, 2 * H)
    assert sd["rnn.weight_ih_l1_reverse"].shape == (4 * H, 2 * H)
    assert sd["head.weight"].shape == (2, 2 * H)
    assert net.state_shape(7) == (4, 7, H)
    assert net.get_config()["bidirectional"] is True
    assert "bidirectional=True" in repr(net)
    with pytest.raises(ValueError, match=r"num_layers \* 2"):
        net.forward(np.zeros((B, T, I)), h0=np.zeros((2, B, H)))
    with pytest.raises(TypeError, match="bidirectional must be True or False"):
        Network(I, H, bidirectional="yes")


@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("layers,seq", [(1, False), (2, True), (2, False)],
                         ids=["1L-last", "2L-seq", "2L-last"])
def test_forward_matches_reference(cell, nonlin, layers, seq):
    net = make(cell, nonlin, layers, seq, seed=layers)
    X = np.random.default_rng(1).normal(size=(B, T, I))
    h0, c0 = states(net, B, seed=2)
    y, st = net.forward(X, h0=h0, c0=c0, return_state=True)
    y_ref, h_ref, c_ref = ref_forward(net.state_dict(), net.get_config(), X, h0, c0)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    h = st[0] if net.is_lstm else st
    np.testing.assert_allclose(h, h_ref, rtol=1e-10, atol=1e-12)
    if net.is_lstm:
        np.testing.assert_allclose(st[1], c_ref, rtol=1e-10, atol=1e-12)


def test_reverse_direction_really_reads_the_future():
    """With every step's head, the output at t changes when a later input changes."""
    net = make("gru", "tanh", seq=True, out=1, seed=3)
    X = np.random.default_rng(4).normal(size=(1, T, I))
    X2 = X.copy()
    X2[0, -1] += 1.0
    y, y2 = net.forward(X), net.forward(X2)
    assert np.abs(y[0, 0] - y2[0, 0]).max() > 1e-6
    uni = Network(I, H, cell="gru", return_sequences=True, dtype="float64", random_state=3)
    assert np.array_equal(uni.forward(X)[0, :-1], uni.forward(X2)[0, :-1])


@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("layers,seq,loss", [(1, False, "mse"), (2, True, "huber"),
                                             (2, False, "pinball")],
                         ids=["1L-last-mse", "2L-seq-huber", "2L-last-pinball"])
def test_central_difference_gradient(cell, nonlin, layers, seq, loss):
    net = make(cell, nonlin, layers, seq, seed=10 + layers)
    X = np.random.default_rng(11).normal(size=(4, T, I))
    h0, c0 = states(net, 4, seed=12)
    kw = loss_kwargs(loss, 2)
    pred = net.forward(X, h0=h0, c0=c0)
    Y = targets_away_from_kinks(pred, loss, seed=13, delta=kw.get("delta", 1.0))
    kw.update(loss=loss, h0=h0, c0=c0)
    idx = _probe_indices(net, n_per_tensor=6)
    _, grads = net.loss_and_grad(X, Y, **kw)
    analytic = _flat(net, grads)[idx]
    numeric = _numeric_grad(net, X, Y, idx, **kw)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    # every reverse tensor receives a gradient
    for name in net.layout.names:
        if name.endswith("_reverse"):
            assert np.abs(grads[name]).max() > 0, name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_thread_count_and_shard_size_do_not_change_results(dtype):
    kw = dict(cell="lstm", nonlin="tanh", layers=2, seq=True, dtype=dtype, seed=60)
    rng = np.random.default_rng(61)
    X = rng.normal(size=(40, T, I))
    Y = rng.normal(size=(40, T, 2))
    a = make(n_jobs=1, shard_size=8, **kw).loss_and_grad(X, Y)
    b = make(n_jobs=2, shard_size=8, **kw).loss_and_grad(X, Y)
    assert a[0] == b[0]
    for k in a[1]:
        assert np.array_equal(a[1][k], b[1][k]), k
    c = make(n_jobs=2, shard_size=40, **kw).loss_and_grad(X, Y)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for k in a[1]:
        np.testing.assert_allclose(c[1][k], a[1][k], rtol=tol * 10, atol=tol, err_msg=k)


def test_float32_close_to_float64():
    n64 = make("gru", "tanh", layers=2, seq=True, seed=5)
    n32 = make("gru", "tanh", layers=2, seq=True, seed=5, dtype="float32")
    X = np.random.default_rng(6).normal(size=(B, T, I))
    np.testing.assert_allclose(n32.forward(X), n64.forward(X), rtol=1e-5, atol=1e-5)


def test_training_a_bidirectional_net_learns_a_two_sided_task():
    """Target at t = x_{t-1} + x_{t+1}: only a net that reads both sides can fit it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 8, 1))
    Y = np.zeros_like(X)
    Y[:, 1:-1, 0] = X[:, :-2, 0] + X[:, 2:, 0]
    losses = {}
    for bi in (False, True):
        net = Network(1, 8, cell="gru", return_sequences=True, bidirectional=bi,
                      dtype="float64", random_state=0)
        hist = Trainer(net, learning_rate=1e-2, epochs=40, batch_size=32,
                       random_state=0).fit_windows(X, Y)
        losses[bi] = hist.loss_curve[-1]
    assert losses[True] < 0.2 * losses[False]


def test_fit_stream_refuses_bidirectional():
    net = make("gru", "tanh", seq=True, out=1)
    with pytest.raises(ValueError, match="bidirectional"):
        Trainer(net, epochs=1).fit_stream(np.zeros((100, I)), np.zeros((100, 1)), n_streams=2,
                                          bptt=10)


# ------------------------------------------------------------- estimators
def test_regressor_with_a_bidirectional_encoder():
    from tsrnn import RNNRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 10))
    y = X[:, 0] - X[:, -1]          # needs the first and the last step
    reg = RNNRegressor(cell="gru", hidden_size=8, epochs=30, learning_rate=1e-2,
                       bidirectional=True, random_state=0).fit(X, y)
    assert reg.network_.bidirectional
    assert "rnn.weight_ih_l0_reverse" in reg.network_.state_dict()
    assert reg.score(X, y) > 0.8


def test_detector_reconstruction_with_a_bidirectional_encoder(tmp_path):
    import pandas as pd

    from tsrnn import RNNAnomalyDetector, load

    t = np.arange(400)
    y = pd.Series(np.sin(2 * np.pi * t / 20) + 0.05 * np.random.default_rng(1).normal(size=400),
                  index=pd.date_range("2024-01-01", periods=400, freq="h"))
    det = RNNAnomalyDetector(cell="gru", hidden_size=8, window=16, method="reconstruction",
                             bidirectional=True, epochs=5, random_state=0).fit(y)
    assert det.network_.bidirectional
    s = det.decision_function(y, causal=True)
    assert s.index.equals(y.index) and np.isfinite(s).all()
    # causal: appending future data leaves earlier scores unchanged
    longer = pd.concat([y, y.iloc[:50].set_axis(y.index[-1] + (np.arange(1, 51) * y.index.freq))])
    s2 = det.decision_function(longer, causal=True)
    np.testing.assert_allclose(s2.iloc[:400].to_numpy(), s.to_numpy(), rtol=1e-6, atol=1e-9)
    det.save(tmp_path / "d.tsrnn")
    again = load(tmp_path / "d.tsrnn")
    np.testing.assert_array_equal(again.decision_function(y).to_numpy(), det.decision_function(y).to_numpy())


def test_forecaster_still_refuses_bidirectional_and_says_why():
    import pandas as pd

    from tsrnn import RNNForecaster

    y = pd.Series(np.arange(100.0), index=pd.date_range("2024", periods=100, freq="D"))
    with pytest.raises(ValueError, match="bidirectional=True is not allowed for RNNForecaster"):
        RNNForecaster(bidirectional=True, window=10, horizon=2, epochs=1).fit(y)


# ------------------------------------------------------------- PyTorch
torch = pytest.importorskip("torch")

TORCH_CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


def torch_pair(cell, nonlin, layers, seq, out, seed):
    torch.manual_seed(seed)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    kw = dict(nonlinearity=nonlin) if cell == "rnn" else {}
    rnn = cls(I, H, num_layers=layers, batch_first=True, bidirectional=True,
              dtype=torch.float64, **kw)
    head = torch.nn.Linear(2 * H, out, dtype=torch.float64)
    sd = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
    sd.update({f"head.{k}": v for k, v in head.state_dict().items()})
    net = Network(I, H, cell=cell, nonlinearity=nonlin, num_layers=layers, output_size=out,
                  return_sequences=seq, bidirectional=True, dtype="float64", random_state=1)
    net.load_state_dict(sd)
    return rnn, head, net


def torch_out(rnn, head, X, seq, state=None):
    out, st = rnn(X, state) if state is not None else rnn(X)
    h_n = st[0] if isinstance(st, tuple) else st
    y = head(out) if seq else head(torch.cat([h_n[-2], h_n[-1]], dim=1))
    return y, st


@pytest.mark.parametrize("cell,nonlin", TORCH_CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("layers,seq", [(1, False), (2, True), (2, False)],
                         ids=["1L-last", "2L-seq", "2L-last"])
def test_matches_torch_outputs_states_and_gradients(cell, nonlin, layers, seq):
    rnn, head, net = torch_pair(cell, nonlin, layers, seq, out=2, seed=layers)
    g = np.random.default_rng(20)
    Xn = g.normal(size=(B, T, I))
    h0, c0 = states(net, B, seed=21)
    Yn = g.normal(size=(B, T, 2) if seq else (B, 2))
    state = torch.from_numpy(h0)
    if cell == "lstm":
        state = (state, torch.from_numpy(c0))
    y_t, st_t = torch_out(rnn, head, torch.from_numpy(Xn), seq, state)
    y, st = net.forward(Xn, h0=h0, c0=c0, return_state=True)
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(st[0], st_t[0].detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(st[1], st_t[1].detach().numpy(), rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(st, st_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    loss_t = torch.nn.MSELoss()(y_t, torch.from_numpy(Yn))
    loss_t.backward()
    want = {f"rnn.{k}": p.grad.numpy() for k, p in rnn.named_parameters()}
    want.update({f"head.{k}": p.grad.numpy() for k, p in head.named_parameters()})
    value, grads = net.loss_and_grad(Xn, Yn, h0=h0, c0=c0)
    assert value == pytest.approx(loss_t.item(), rel=1e-10)
    assert set(grads) == set(want)
    for k in want:
        np.testing.assert_allclose(grads[k], want[k], rtol=1e-9, atol=1e-12, err_msg=k)

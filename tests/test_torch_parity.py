"""Forward outputs, final states and gradients against PyTorch (house rule 6).

``torch.nn.RNN/LSTM/GRU(batch_first=True)`` followed by ``torch.nn.Linear``
(last step or every step); the torch ``state_dict`` is copied into a tsrnn
``Network`` under the ``rnn.*`` / ``head.*`` names.  Skipped without torch.
"""

from __future__ import annotations

import numpy as np
import pytest

from tsrnn.nn import Network

torch = pytest.importorskip("torch")

I, H, B, T = 3, 4, 3, 5

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", None), ("gru", None)]
CELL_IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]


def build(cell, nonlin, layers, seq, out, dtype=torch.float64, seed=0):
    """A torch model (rnn, head) and the tsrnn Network holding the same weights."""
    torch.manual_seed(seed)
    if cell == "rnn":
        rnn = torch.nn.RNN(I, H, num_layers=layers, nonlinearity=nonlin, batch_first=True,
                           dtype=dtype)
    elif cell == "lstm":
        rnn = torch.nn.LSTM(I, H, num_layers=layers, batch_first=True, dtype=dtype)
    else:
        rnn = torch.nn.GRU(I, H, num_layers=layers, batch_first=True, dtype=dtype)
    head = torch.nn.Linear(H, out, dtype=dtype)
    sd = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
    sd.update({f"head.{k}": v for k, v in head.state_dict().items()})
    net = Network(I, H, cell=cell, nonlinearity=nonlin or "tanh", num_layers=layers,
                  output_size=out, return_sequences=seq,
                  dtype="float64" if dtype == torch.float64 else "float32", random_state=123)
    net.load_state_dict(sd)
    return rnn, head, net


def torch_forward(rnn, head, X, seq, state=None):
    out, st = rnn(X, state) if state is not None else rnn(X)
    y = head(out) if seq else head(out[:, -1])
    return y, st


def data(seed=1, dtype=torch.float64):
    g = np.random.default_rng(seed)
    return g.normal(size=(B, T, I)), g


@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("seq", [False, True], ids=["last", "seq"])
def test_forward_and_final_state(cell, nonlin, layers, seq):
    rnn, head, net = build(cell, nonlin, layers, seq, out=2)
    Xn, g = data()
    hn = 0.5 * g.normal(size=(layers, B, H))
    cn = 0.5 * g.normal(size=(layers, B, H))
    X = torch.from_numpy(Xn)
    with torch.no_grad():
        for with_state in (False, True):
            if with_state:
                h0 = torch.from_numpy(hn)
                state = (h0, torch.from_numpy(cn)) if cell == "lstm" else h0
                y_t, st_t = torch_forward(rnn, head, X, seq, state)
                y, st = net.forward(Xn, h0=hn, c0=cn if cell == "lstm" else None,
                                    return_state=True)
            else:
                y_t, st_t = torch_forward(rnn, head, X, seq)
                y, st = net.forward(Xn, return_state=True)
            np.testing.assert_allclose(y, y_t.numpy(), rtol=1e-10, atol=1e-12)
            if cell == "lstm":
                np.testing.assert_allclose(st[0], st_t[0].numpy(), rtol=1e-10, atol=1e-12)
                np.testing.assert_allclose(st[1], st_t[1].numpy(), rtol=1e-10, atol=1e-12)
            else:
                np.testing.assert_allclose(st, st_t.numpy(), rtol=1e-10, atol=1e-12)


LOSSES = {"mse": lambda: torch.nn.MSELoss(), "mae": lambda: torch.nn.L1Loss(),
          "huber": lambda: torch.nn.HuberLoss(delta=0.5)}


@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("seq", [False, True], ids=["last", "seq"])
@pytest.mark.parametrize("loss", list(LOSSES))
def test_gradients(cell, nonlin, layers, seq, loss):
    out = 2 if layers == 2 else 1
    rnn, head, net = build(cell, nonlin, layers, seq, out=out, seed=layers)
    Xn, g = data(seed=2)
    hn = 0.5 * g.normal(size=(layers, B, H))
    if nonlin == "relu":
        hn = np.abs(hn)
    cn = 0.5 * g.normal(size=(layers, B, H))
    Yn = g.normal(size=(B, T, out) if seq else (B, out))
    use_state = layers == 2  # exercise initial states (no gradient into them)

    X = torch.from_numpy(Xn)
    if use_state:
        h0 = torch.from_numpy(hn)
        state = (h0, torch.from_numpy(cn)) if cell == "lstm" else h0
        y_t, _ = torch_forward(rnn, head, X, seq, state)
    else:
        y_t, _ = torch_forward(rnn, head, X, seq)
    criterion = LOSSES[loss]()
    L_t = criterion(y_t, torch.from_numpy(Yn))
    rnn.zero_grad()
    head.zero_grad()
    L_t.backward()
    want = {f"rnn.{k}": p.grad.numpy() for k, p in rnn.named_parameters()}
    want.update({f"head.{k}": p.grad.numpy() for k, p in head.named_parameters()})

    kw = dict(delta=0.5) if loss == "huber" else {}
    if use_state:
        kw.update(h0=hn, c0=cn if cell == "lstm" else None)
    value, grads = net.loss_and_grad(Xn, Yn, loss=loss, **kw)
    assert value == pytest.approx(L_t.item(), rel=1e-10)
    assert set(grads) == set(want)
    for k in want:
        np.testing.assert_allclose(grads[k], want[k], rtol=1e-6, atol=1e-10, err_msg=k)
        # in float64 the agreement is in fact to rounding
        np.testing.assert_allclose(grads[k], want[k], rtol=1e-9, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("cell,nonlin", CELLS, ids=CELL_IDS)
def test_float32_forward(cell, nonlin):
    rnn, head, net = build(cell, nonlin, 2, True, out=2, dtype=torch.float32, seed=5)
    Xn, _ = data(seed=6)
    with torch.no_grad():
        y_t, st_t = torch_forward(rnn, head, torch.from_numpy(Xn.astype(np.float32)), True)
    y, st = net.forward(Xn, return_state=True)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, y_t.numpy(), rtol=1e-5, atol=1e-5)
    h = st[0] if cell == "lstm" else st
    h_t = st_t[0] if cell == "lstm" else st_t
    np.testing.assert_allclose(h, h_t.numpy(), rtol=1e-5, atol=1e-5)


def test_bare_torch_state_dict_loads():
    """A bare ``torch.nn.LSTM`` state_dict (no prefix) with strict=False."""
    torch.manual_seed(9)
    lstm = torch.nn.LSTM(I, H, batch_first=True, dtype=torch.float64)
    net = Network(I, H, cell="lstm", dtype="float64", random_state=0)
    head_before = net.state_dict()["head.weight"]
    net.load_state_dict(lstm.state_dict(), strict=False)
    for k, v in lstm.state_dict().items():
        np.testing.assert_array_equal(net.state_dict()[f"rnn.{k}"], v.numpy())
    np.testing.assert_array_equal(net.state_dict()["head.weight"], head_before)
    Xn, _ = data(seed=10)
    with torch.no_grad():
        _, (h_t, c_t) = lstm(torch.from_numpy(Xn))
    _, (h, c) = net.forward(Xn, return_state=True)
    np.testing.assert_allclose(h, h_t.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c, c_t.numpy(), rtol=1e-10, atol=1e-12)

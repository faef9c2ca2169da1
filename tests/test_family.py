"""Jordan, IndRNN and CTRNN kernels (tsrnn.kernels.family) against the NumPy
reference in ``tests/reference_family.py`` and against central differences.

Sizes are tiny (B=5, T=6, H=4, I=2, O=2) and every kernel call goes through
:func:`run` with the same argument types, so only two specialisations of the
parallel driver (float64, float32) are ever compiled.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from reference_family import ref_family_forward, ref_family_loss
from tsrnn.kernels.activations import ACT_RELU, ACT_TANH, CTRNN, INDRNN, JORDAN
from tsrnn.kernels.family import family_forward_backward
from tsrnn.kernels.losses import LOSS_CODES, NO_LOSS
from tsrnn.nn.family import (family_layout, family_offsets, family_size, indrnn_clip_recurrent,
                             indrnn_recurrent_max, indrnn_recurrent_min, initialise_family)

B, T, H, I, O = 5, 6, 4, 2, 2
CODES = {"jordan": JORDAN, "indrnn": INDRNN, "ctrnn": CTRNN}
ACTS = {"tanh": ACT_TANH, "relu": ACT_RELU}
IDX = np.array([3, 0, 4, 1, 2], dtype=np.int64)   # batch rows (not in data order)


class Model:
    """A flat parameter vector with named views, initialised by initialise_family."""

    def __init__(self, cell, layers=1, act="tanh", seed=0, dtype=np.float64, **init_kw):
        self.cell, self.layers, self.act = cell, layers, act
        self.names, self.shapes = family_layout(CODES[cell], I, H, layers, O)
        self.offsets, self.head = family_offsets(self.names, self.shapes)
        self.flat = np.zeros(family_size(self.shapes), dtype)
        self.views = {}
        pos = 0
        for name, shape in zip(self.names, self.shapes):
            size = int(np.prod(shape))
            self.views[name] = self.flat[pos:pos + size].reshape(shape)
            pos += size
        initialise_family(self.names, self.shapes, self.views, CODES[cell], seed, **init_kw)

    def astype(self, dtype):
        other = Model.__new__(Model)
        other.__dict__.update(self.__dict__)
        other.flat = self.flat.astype(dtype)
        return other

    def state_shape(self, batch):
        return (1, batch, O) if self.cell == "jordan" else (self.layers, batch, H)

    def run(self, X, Y=None, dt=None, h0=None, loss="mse", seq_out=True, teacher=False,
            residual=False, want_grad=True, shard=2, idx=None, delta=0.7, quantiles=(0.2, 0.7),
            fast=None):
        """(mean loss, pred, h_out, grad) from the kernel; always the same argument types."""
        dtype = self.flat.dtype
        X = np.ascontiguousarray(X, dtype)
        N, steps = X.shape[:2]
        idx = np.arange(N, dtype=np.int64) if idx is None else np.ascontiguousarray(idx, np.int64)
        batch = idx.shape[0]
        if Y is None or loss is None:
            code, Y = NO_LOSS, np.zeros((1, 1, O), dtype)
        else:
            code = LOSS_CODES[loss]
            Y = np.asarray(Y)
            Y = np.ascontiguousarray(Y if seq_out or Y.shape[1] == 1 else Y[:, -1:], dtype)
        dt = np.ones((1, 1), dtype) if dt is None else np.ascontiguousarray(dt, dtype)
        if self.cell == "ctrnn" and dt.shape != (N, steps):
            dt = np.ones((N, steps), dtype)
        shape = self.state_shape(batch)
        h0 = np.zeros(shape, dtype) if h0 is None else np.ascontiguousarray(h0, dtype)
        h_out = np.empty(shape, dtype)
        pred = np.empty((batch, steps if seq_out else 1, O), dtype)
        grad = np.zeros_like(self.flat)
        fast = (dtype == np.float32) if fast is None else fast
        value = family_forward_backward(
            self.flat, self.offsets, self.head, CODES[self.cell], ACTS[self.act], bool(fast), H,
            bool(seq_out), X, Y, dt, idx, h0, h_out, code, float(delta),
            np.asarray(quantiles, np.float64), bool(want_grad), pred, grad, int(shard),
            bool(teacher), bool(residual))
        return value, pred, h_out, grad


def make_data(seed=1, batch=B, steps=T, dt_kind="irregular"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, steps, I))
    Y = rng.normal(size=(batch, steps, O))
    if dt_kind == "irregular":
        dt = rng.uniform(0.1, 3.0, size=(batch, steps))   # some dt/tau > 1: clamp active
    else:  # equal spacing, not 1: tau = 1 = dt would sit exactly on the alpha clamp
        dt = np.full((batch, steps), 0.8)
    return X, Y, dt


def make_h0(model, batch=B, seed=2):
    h0 = 0.5 * np.random.default_rng(seed).normal(size=model.state_shape(batch))
    return np.abs(h0) if model.act == "relu" else h0


# id -> (Model kwargs, run kwargs)
CASES = {
    "jordan-free-seq": (dict(cell="jordan"), dict()),
    "jordan-free-last": (dict(cell="jordan"), dict(seq_out=False)),
    "jordan-teacher": (dict(cell="jordan"), dict(teacher=True)),
    "jordan-relu": (dict(cell="jordan", act="relu"), dict()),
    "indrnn-1L": (dict(cell="indrnn", act="relu"), dict()),
    "indrnn-2L-last": (dict(cell="indrnn", layers=2, act="relu"), dict(seq_out=False)),
    "indrnn-2L-res": (dict(cell="indrnn", layers=2, act="relu"), dict(residual=True)),
    "indrnn-2L-tanh-res-last": (dict(cell="indrnn", layers=2, act="tanh"),
                                dict(residual=True, seq_out=False)),
    "ctrnn-1L": (dict(cell="ctrnn"), dict()),
    "ctrnn-2L-last": (dict(cell="ctrnn", layers=2), dict(seq_out=False)),
    "ctrnn-2L-regular": (dict(cell="ctrnn", layers=2), dict(dt_kind="regular")),
}


def setup_case(case, seed=0):
    mkw, rkw = CASES[case]
    rkw = dict(rkw)
    model = Model(seed=seed, **mkw)
    X, Y, dt = make_data(seed + 1, dt_kind=rkw.pop("dt_kind", "irregular"))
    h0 = make_h0(model, seed=seed + 2)
    return model, X, Y, dt, h0, rkw


def ref_kwargs(model, h0, dt, rkw):
    return dict(num_layers=model.layers, act=model.act, seq_out=rkw.get("seq_out", True), h0=h0,
                dt=dt[IDX], teacher=rkw.get("teacher", False), residual=rkw.get("residual", False))


# ======================================================================= forward
@pytest.mark.parametrize("case", list(CASES))
def test_forward_matches_reference(case):
    model, X, Y, dt, h0, rkw = setup_case(case)
    value, pred, h_out, _ = model.run(X, Y, dt, h0, idx=IDX, want_grad=False, **rkw)
    kw = ref_kwargs(model, h0, dt, rkw)
    want, h_want = ref_family_forward(model.cell, model.views, X[IDX], Y=Y[IDX], **kw)
    np.testing.assert_allclose(pred, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_out, h_want, rtol=1e-10, atol=1e-12)
    Yr = Y[IDX] if kw["seq_out"] else Y[IDX][:, -1:]
    assert value == pytest.approx(ref_family_loss(model.cell, model.views, X[IDX], Yr, **kw),
                                  rel=1e-10)
    # inference (no loss) gives the same predictions
    _, pred2, h2, _ = model.run(X, None, dt, h0, idx=IDX, want_grad=False, **rkw)
    if not rkw.get("teacher"):
        np.testing.assert_array_equal(pred2, pred)
        np.testing.assert_array_equal(h2, h_out)


def test_jordan_teacher_without_loss_runs_free():
    model, X, Y, dt, h0, _ = setup_case("jordan-teacher")
    _, free, hf, _ = model.run(X, None, h0=h0, teacher=False, want_grad=False)
    _, tf_noloss, ht, _ = model.run(X, None, h0=h0, teacher=True, want_grad=False)
    _, tf, h_tf, _ = model.run(X, Y, h0=h0, teacher=True, want_grad=False)
    np.testing.assert_array_equal(tf_noloss, free)
    np.testing.assert_array_equal(ht, hf)
    assert not np.allclose(tf, free)
    np.testing.assert_array_equal(h_tf[0], Y[:, -1])  # final context = last target
    np.testing.assert_allclose(tf[:, 0], free[:, 0], rtol=1e-13)  # step 0 uses c_0 in both modes


def test_jordan_teacher_needs_sequence_output():
    model, X, Y, _, _, _ = setup_case("jordan-teacher")
    with pytest.raises(ValueError, match="teacher forcing"):
        model.run(X, Y, teacher=True, seq_out=False)


# ===================================================================== gradients
def numeric_grad(model, X, Y, eps=1e-6, **kw):
    base = model.flat.copy()
    num = np.empty_like(base)
    for p in range(base.size):
        model.flat[p] = base[p] + eps
        lp = model.run(X, Y, want_grad=False, **kw)[0]
        model.flat[p] = base[p] - eps
        lm = model.run(X, Y, want_grad=False, **kw)[0]
        model.flat[p] = base[p]
        num[p] = (lp - lm) / (2 * eps)
    return num


GRAD_CASES = [(c, loss) for c in CASES for loss in ("mse", "huber")] + [
    ("jordan-free-last", "pinball"), ("indrnn-2L-res", "pinball"), ("ctrnn-2L-last", "pinball")]


@pytest.mark.parametrize("case,loss", GRAD_CASES, ids=[f"{c}-{l}" for c, l in GRAD_CASES])
def test_central_difference_gradient(case, loss):
    """Every parameter: kernel gradient == central differences of the kernel's loss."""
    model, X, Y, dt, h0, rkw = setup_case(case, seed=10)
    kw = dict(dt=dt, h0=h0, idx=IDX, loss=loss, **rkw)
    value, _, _, grad = model.run(X, Y, **kw)
    num = numeric_grad(model, X, Y, **kw)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)
    # the kernel's loss is the reference loss, so the check is on the right function
    rk = ref_kwargs(model, h0, dt, rkw)
    Yr = Y[IDX] if rk["seq_out"] else Y[IDX][:, -1:]
    want = ref_family_loss(model.cell, model.views, X[IDX], Yr, loss=loss, delta=0.7,
                           quantiles=[0.2, 0.7], **rk)
    assert value == pytest.approx(want, rel=1e-10)
    # every tensor receives a gradient (the test would be vacuous otherwise)
    for name in model.names:
        assert np.abs(_grad_view(model, grad, name)).max() > 1e-6, name


def _grad_view(model, grad, name):
    k = model.names.index(name)
    start = sum(int(np.prod(s)) for s in model.shapes[:k])
    return grad[start:start + int(np.prod(model.shapes[k]))]


# ============================================================ precision, shards
F32_CASES = ["jordan-free-seq", "jordan-teacher", "indrnn-2L-res", "ctrnn-2L-last"]


@pytest.mark.parametrize("case", F32_CASES)
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "libm"])
def test_float32_close_to_float64(case, fast):
    model, X, Y, dt, h0, rkw = setup_case(case, seed=20)
    kw = dict(dt=dt, h0=h0, idx=IDX, **rkw)
    v64, p64, h64, g64 = model.run(X, Y, **kw)
    m32 = model.astype(np.float32)
    v32, p32, h32, g32 = m32.run(X, Y, fast=fast, **kw)
    assert p32.dtype == np.float32 and g32.dtype == np.float32
    np.testing.assert_allclose(p32, p64, atol=2e-5)
    np.testing.assert_allclose(h32, h64, atol=2e-5)
    assert v32 == pytest.approx(v64, rel=2e-5)
    np.testing.assert_allclose(g32, g64, atol=2e-5 * max(1.0, np.abs(g64).max()))


SHARD_CASES = ["jordan-free-last", "jordan-teacher", "indrnn-2L-res", "ctrnn-2L-last"]


@pytest.mark.parametrize("case", SHARD_CASES)
def test_shard_size_does_not_change_result(case):
    model, X, Y, dt, h0, rkw = setup_case(case, seed=30)
    kw = dict(dt=dt, h0=h0, idx=IDX, **rkw)
    ref = model.run(X, Y, shard=2, **kw)
    for shard in (1, 16):
        got = model.run(X, Y, shard=shard, **kw)
        assert got[0] == pytest.approx(ref[0], rel=1e-13)
        for a, b in zip(got[1:], ref[1:]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
@pytest.mark.parametrize("case", SHARD_CASES)
def test_bitwise_identical_for_any_thread_count(case):
    model, _, _, _, _, rkw = setup_case(case, seed=40)
    n = 24
    X, Y, dt = make_data(41, batch=n)
    h0 = make_h0(model, batch=n, seed=42)
    kw = dict(dt=dt, h0=h0, shard=2, **rkw)
    before = numba.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append(model.run(X, Y, **kw))
    finally:
        numba.set_num_threads(before)
    (v1, *a1), (v2, *a2) = results
    assert v1 == v2
    for a, b in zip(a1, a2):
        np.testing.assert_array_equal(a, b)


# ============================================================== truncated BPTT
@pytest.mark.parametrize("case", ["jordan-free-seq", "indrnn-2L-res", "ctrnn-2L-last"])
def test_chunks_chained_through_state_equal_whole_sequence(case):
    model, X, Y, dt, h0, rkw = setup_case(case, seed=50)
    rkw["seq_out"] = True
    _, whole, h_whole, _ = model.run(X, None, dt, h0, want_grad=False, **rkw)
    _, p1, h1, _ = model.run(X[:, :2], None, dt[:, :2], h0, want_grad=False, **rkw)
    _, p2, h2, _ = model.run(X[:, 2:], None, dt[:, 2:], h1, want_grad=False, **rkw)
    np.testing.assert_allclose(np.concatenate([p1, p2], axis=1), whole, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h2, h_whole, rtol=1e-12, atol=1e-14)


# ==================================================================== IndRNN
def test_indrnn_recurrent_bounds_and_projection():
    assert indrnn_recurrent_max(10, gamma=2.0) == pytest.approx(2.0 ** 0.1)
    assert indrnn_recurrent_min(10, epsilon=0.5) == pytest.approx(0.5 ** 0.1)
    with pytest.raises(ValueError, match="n_steps"):
        indrnn_recurrent_max(0)
    model = Model("indrnn", layers=2, act="relu", seed=3, n_steps=T)
    u_max = indrnn_recurrent_max(T)
    for l in range(2):
        u = model.views[f"rnn.weight_hh_l{l}"]
        assert np.all((u >= 0) & (u <= u_max))
        np.testing.assert_array_equal(model.views[f"rnn.bias_ih_l{l}"], 0.0)
    before = model.flat.copy()
    model.views["rnn.weight_hh_l0"][:] = [3.0, -3.0, 0.5, -0.5]
    model.views["rnn.weight_hh_l1"][:] = [-9.0, 1.0, 0.0, 9.0]
    indrnn_clip_recurrent(model.flat, model.offsets, H, u_max)
    for l in range(2):
        assert np.abs(model.views[f"rnn.weight_hh_l{l}"]).max() <= u_max
    np.testing.assert_array_equal(model.views["rnn.weight_hh_l0"], [u_max, -u_max, 0.5, -0.5])
    for name in model.names:
        if not name.startswith("rnn.weight_hh"):
            np.testing.assert_array_equal(model.views[name], before[_slice(model, name)].reshape(
                model.views[name].shape))
    m2 = Model("indrnn", seed=3, n_steps=T, u_min=indrnn_recurrent_min(T))
    assert m2.views["rnn.weight_hh_l0"].min() >= indrnn_recurrent_min(T)


def _slice(model, name):
    k = model.names.index(name)
    start = sum(int(np.prod(s)) for s in model.shapes[:k])
    return slice(start, start + int(np.prod(model.shapes[k])))


# ===================================================================== CTRNN
def test_ctrnn_equal_dt_is_a_resampled_regular_model():
    """dt = c everywhere with tau equals dt = 1 with tau / c."""
    model, X, _, _, h0, _ = setup_case("ctrnn-2L-last", seed=60)
    c = 0.37
    _, p_c, h_c, _ = model.run(X, None, np.full((B, T), c), h0, want_grad=False)
    _, p_1, _, _ = model.run(X, None, np.ones((B, T)), h0, want_grad=False)
    scaled = model.astype(np.float64)
    scaled.flat = model.flat.copy()
    for l in range(2):
        scaled.flat[_slice(model, f"rnn.log_tau_l{l}")] -= np.log(c)
    _, p_s, h_s, _ = scaled.run(X, None, np.ones((B, T)), h0, want_grad=False)
    np.testing.assert_allclose(p_s, p_c, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_s, h_c, rtol=1e-12, atol=1e-14)
    assert not np.allclose(p_c, p_1)
    # irregular sampling: a different, finite answer
    _, p_irr, _, _ = model.run(X, None, make_data(61)[2], h0, want_grad=False)
    assert np.all(np.isfinite(p_irr)) and not np.allclose(p_irr, p_c)


def test_ctrnn_zero_dt_holds_the_state():
    model, X, _, _, h0, _ = setup_case("ctrnn-2L-last", seed=62)
    _, pred, h_out, _ = model.run(X, None, np.zeros((B, T)), h0, want_grad=False, seq_out=True)
    np.testing.assert_array_equal(h_out, h0)
    head = h0[-1] @ model.views["head.weight"].T + model.views["head.bias"]
    np.testing.assert_allclose(pred, np.repeat(head[:, None], T, axis=1), rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_ctrnn_extreme_dt_and_tau_stay_finite_and_bounded(dtype):
    model, X, Y, _, h0, _ = setup_case("ctrnn-2L-last", seed=63)
    model.views["rnn.weight_hh_l0"][:] *= 50.0
    model.views["rnn.weight_ih_l1"][:] *= 50.0
    model.views["rnn.log_tau_l0"][:] = [-800.0, -30.0, 30.0, 800.0]   # exp overflows both ways
    rng = np.random.default_rng(64)
    dt = rng.choice([0.0, 1e-30, 1.0, 1e6, 1e30], size=(B, T))
    m = model.astype(dtype)
    value, pred, h_out, grad = m.run(X, Y, dt, h0, seq_out=True)
    for arr in (pred, h_out, grad):
        assert np.all(np.isfinite(arr))
    assert np.isfinite(value)
    # layer 0's state obeys the convex-combination bound
    W = model.views["rnn.weight_hh_l0"]
    drive = np.abs(X @ model.views["rnn.weight_ih_l0"].T + model.views["rnn.bias_ih_l0"]).max()
    bound = max(np.abs(h0[0]).max(), np.abs(W).sum(axis=1).max() + drive)
    assert np.abs(h_out[0]).max() <= bound * (1 + 1e-6)


# ================================================================ layout, init
def test_layout_and_offsets():
    names, shapes = family_layout(CTRNN, 3, 4, 2, 2)
    assert names == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.log_tau_l0",
                     "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.log_tau_l1",
                     "head.weight", "head.bias"]
    assert shapes == [(4, 3), (4, 4), (4,), (4,), (4, 4), (4, 4), (4,), (4,), (2, 4), (2,)]
    off, head = family_offsets(names, shapes)
    assert off.dtype == np.int64 and off.shape == (2, 4) and off.flags.c_contiguous
    assert off.tolist() == [[0, 12, 28, 32], [36, 52, 68, 72]] and head.tolist() == [76, 84]
    names, shapes = family_layout(JORDAN, 3, 4, 1, 2)
    assert names[:3] == ["rnn.weight_ih_l0", "rnn.weight_ch_l0", "rnn.bias_ih_l0"]
    assert shapes[1] == (4, 2)
    off, head = family_offsets(names, shapes)
    assert off.tolist() == [[0, 12, 20, -1]] and head.tolist() == [24, 32]
    names, shapes = family_layout(INDRNN, 3, 4, 2, 1)
    assert shapes[1] == (4,) and shapes[3] == (4, 4)
    assert family_offsets(names, shapes)[0][:, 3].tolist() == [-1, -1]
    with pytest.raises(ValueError, match="num_layers=2"):
        family_layout(JORDAN, 3, 4, 2, 2)
    with pytest.raises(ValueError, match="cell code"):
        family_layout(2, 3, 4, 1, 1)
    with pytest.raises(ValueError, match="hidden_size"):
        family_layout(INDRNN, 3, 0, 1, 1)


def test_initialisation_choices():
    m = Model("ctrnn", layers=2, seed=5, tau_range=(0.5, 8.0))
    np.testing.assert_allclose(np.exp(m.views["rnn.log_tau_l1"]), np.geomspace(0.5, 8.0, H))
    np.testing.assert_array_equal(m.views["rnn.bias_ih_l0"], 0.0)
    k = 1 / np.sqrt(H)
    for name in ("rnn.weight_ih_l0", "rnn.weight_hh_l1", "head.weight", "head.bias"):
        assert np.abs(m.views[name]).max() <= k and np.abs(m.views[name]).max() > 0
    j = Model("jordan", seed=5)
    assert np.abs(j.views["rnn.bias_ih_l0"]).max() > 0
    again = Model("jordan", seed=5)
    np.testing.assert_array_equal(j.flat, again.flat)
    with pytest.raises(ValueError, match="tau_range"):
        Model("ctrnn", tau_range=(0.0, 1.0))


# =================================================================== learning
@pytest.mark.parametrize("cell,act,lr", [("jordan", "tanh", 0.2), ("indrnn", "relu", 0.1),
                                         ("ctrnn", "tanh", 0.2)])
def test_gradient_descent_reduces_loss(cell, act, lr):
    """Next-step prediction of two sine waves (output 2 = input 2 shifted)."""
    model = Model(cell, act=act, seed=7, n_steps=12) if cell == "indrnn" else Model(cell, act=act, seed=7)
    t = np.arange(13)[None, :] + np.arange(8)[:, None] * 1.7
    s = np.stack([np.sin(0.5 * t), np.cos(0.3 * t)], axis=-1)
    X, Y = s[:, :-1], s[:, 1:]
    dt = np.ones((8, 12))
    u_max = indrnn_recurrent_max(12)
    first = None
    for _ in range(150):
        value, _, _, grad = model.run(X, Y, dt, shard=4)
        first = value if first is None else first
        model.flat -= lr * grad
        if cell == "indrnn":
            indrnn_clip_recurrent(model.flat, model.offsets, H, u_max)
    assert value < 0.3 * first, (first, value)


def test_ctrnn_tau_on_the_clamp_gets_the_gradient_from_below():
    """dt = tau = 1 (the default init's fastest neuron with unit spacing) sits on
    alpha = min(dt/tau, 1) = 1; its log_tau gradient is the one-sided
    derivative towards larger tau (alpha < 1), not the clamp's 0."""
    model, X, Y, _, h0, _ = setup_case("ctrnn-1L", seed=70)
    np.testing.assert_array_equal(model.views["rnn.log_tau_l0"][0], 0.0)
    dt = np.ones((B, T))
    value, _, _, grad = model.run(X, Y, dt, h0)
    p = _slice(model, "rnn.log_tau_l0").start
    eps = 1e-7
    model.flat[p] += eps
    above = model.run(X, Y, dt, h0, want_grad=False)[0]
    model.flat[p] -= eps
    assert grad[p] != 0.0
    assert grad[p] == pytest.approx((above - value) / eps, rel=1e-4)

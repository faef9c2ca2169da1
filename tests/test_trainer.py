"""Tests of the Python epoch loop (tsrnn.nn.trainer.Trainer).

Every test asserts numbers: learning thresholds, bitwise determinism, the
weights restored by early stopping / the NaN guard / Ctrl-C, the learning
rates actually handed to the optimizer, and the shapes of the TBPTT chunks.
Data sets are tiny (the CI machine has 2 cores).
"""

import gc
import math
import tracemalloc
import warnings

import numpy as np
import pytest

from tsrnn.nn import Network
from tsrnn.nn.schedules import StepLR
from tsrnn.nn.trainer import History, Trainer, TrainingDivergedError


# ----------------------------------------------------------------- helpers
def _windows3(sine_windows, n_points, noise=0.0, seed=0, window=24):
    X, y = sine_windows(n_points, window=window, noise=noise, seed=seed)
    return X[:, :, None], y[:, None]


def _flat(net, grads):
    """Flat gradient vector from the name -> array dict of loss_and_grad."""
    flat = np.zeros(net.n_params, net.dtype)
    for name, view in net.layout.views(flat).items():
        view[...] = grads[name]
    return flat


def _regression_data(n=128, T=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 1))
    return X, X.sum(axis=1)


class _StepRecorder:
    """Wraps ``trainer.optimizer.step``: records lrs, snapshots, can raise on call N."""

    def __init__(self, trainer, raise_on=None, steps_per_epoch=None):
        self.trainer = trainer
        self.inner = trainer.optimizer.step
        self.raise_on = raise_on
        self.steps_per_epoch = steps_per_epoch
        self.calls = 0
        self.lrs = []
        self.epoch_end_params = []

    def __call__(self, params, grad, lr):
        self.calls += 1
        if self.raise_on is not None and self.calls == self.raise_on:
            raise KeyboardInterrupt
        self.lrs.append(lr)
        self.inner(params, grad, lr)
        if self.steps_per_epoch and self.calls % self.steps_per_epoch == 0:
            self.epoch_end_params.append(params.copy())


# --------------------------------------------------------------- learning
def test_learns_noisy_sine(sine_windows):
    # period 25, noise sd 0.1 -> noise floor (irreducible MSE) = 0.01
    X, Y = _windows3(sine_windows, 1000, noise=0.1, seed=0)
    assert X.shape == (976, 24, 1)
    net = Network(1, 16, cell="gru", random_state=0)
    hist = Trainer(net, epochs=10, batch_size=32, learning_rate=1e-2, random_state=0).fit_windows(X, Y)
    assert isinstance(hist, History)
    assert hist.n_epochs == 10 and len(hist.loss_curve) == 10 and len(hist.epoch_times) == 10
    assert not (hist.stopped_early or hist.interrupted or hist.diverged)
    threshold = 0.02  # twice the noise floor
    mse = float(np.mean((net.forward(X) - Y) ** 2))
    assert mse < threshold, f"training MSE {mse:.4f} >= {threshold}"  # ~0.012-0.014 over seeds
    assert hist.loss_curve[-1] < threshold
    assert hist.loss_curve[-1] < hist.loss_curve[0] / 5
    # best epoch bookkeeping (no validation: monitors the training loss)
    assert hist.best_loss == min(hist.loss_curve)
    assert hist.loss_curve[hist.best_epoch] == hist.best_loss


def test_float32_and_float64_give_the_same_loss_curve(sine_windows):
    X, Y = _windows3(sine_windows, 225, noise=0.1, seed=1)
    curves, params = {}, {}
    for dt in ("float32", "float64"):
        net = Network(1, 8, cell="lstm", dtype=dt, random_state=3)
        hist = Trainer(net, epochs=2, batch_size=32, learning_rate=1e-2, random_state=3).fit_windows(X, Y)
        assert net.params.dtype == np.dtype(dt)
        curves[dt], params[dt] = hist.loss_curve, net.params.astype(np.float64)
    np.testing.assert_allclose(curves["float32"], curves["float64"], rtol=1e-3)
    np.testing.assert_allclose(params["float32"], params["float64"], rtol=1e-3, atol=1e-4)


# ------------------------------------------------------------ determinism
def _train_params(X, Y, net_seed, shuffle_seed, n_jobs=None, epochs=2):
    net = Network(1, 8, cell="gru", random_state=net_seed, n_jobs=n_jobs)
    Trainer(net, epochs=epochs, batch_size=64, learning_rate=1e-2, random_state=shuffle_seed,
            n_jobs=n_jobs).fit_windows(X, Y)
    return net.params.copy()


def test_same_seed_gives_bitwise_identical_params(sine_windows):
    X, Y = _windows3(sine_windows, 220, noise=0.1, seed=2, window=12)
    a = _train_params(X, Y, 5, 5)
    b = _train_params(X, Y, 5, 5)
    assert np.array_equal(a, b)
    # a different seed of the initialiser, or of the shuffling, changes the result
    assert not np.array_equal(a, _train_params(X, Y, 6, 5))
    assert not np.array_equal(a, _train_params(X, Y, 5, 6))


def test_thread_count_does_not_change_the_params(sine_windows):
    # batch 64, default shard size 32 -> 2 shards per batch, reduced in a fixed order
    X, Y = _windows3(sine_windows, 268, noise=0.1, seed=3, window=12)
    assert X.shape[0] == 256
    p1 = _train_params(X, Y, 7, 7, n_jobs=1)
    p2 = _train_params(X, Y, 7, 7, n_jobs=2)
    assert np.array_equal(p1, p2)


# --------------------------------------------------------- early stopping
def test_early_stopping_restores_the_best_weights(sine_windows):
    X, Y = _windows3(sine_windows, 160, seed=0, window=16)
    rng = np.random.default_rng(0)
    # the validation targets are noise unrelated to the inputs: cannot keep improving
    X_val = rng.normal(size=(64, 16, 1))
    Y_val = 3.0 * rng.normal(size=(64, 1))
    epochs, patience = 40, 2
    net = Network(1, 8, cell="gru", random_state=0)
    tr = Trainer(net, epochs=epochs, batch_size=32, learning_rate=2e-2, early_stopping=patience,
                 random_state=0)
    hist = tr.fit_windows(X, Y, X_val, Y_val)
    assert hist.stopped_early
    assert hist.n_epochs < epochs
    assert hist.n_epochs == hist.best_epoch + 1 + patience
    assert len(hist.validation_loss_curve) == len(hist.loss_curve) == hist.n_epochs
    assert hist.best_loss == min(hist.validation_loss_curve)
    assert hist.validation_loss_curve[hist.best_epoch] == hist.best_loss
    # the final weights are those of the best epoch: recompute the validation loss
    val_now = tr.evaluate_windows(tr.network._check_X(X_val), tr.network._check_Y(Y_val, X_val[..., :1]))
    assert val_now == pytest.approx(hist.best_loss, rel=1e-6)
    assert val_now != pytest.approx(hist.validation_loss_curve[-1], rel=1e-6)


def test_early_stopping_without_restore_keeps_the_last_weights(sine_windows):
    X, Y = _windows3(sine_windows, 160, seed=0, window=16)
    rng = np.random.default_rng(0)
    X_val = rng.normal(size=(64, 16, 1))
    Y_val = 3.0 * rng.normal(size=(64, 1))
    net = Network(1, 8, cell="gru", random_state=0)
    tr = Trainer(net, epochs=40, batch_size=32, learning_rate=2e-2, early_stopping=2,
                 restore_best_weights=False, random_state=0)
    hist = tr.fit_windows(X, Y, X_val, Y_val)
    assert hist.stopped_early
    val_now = tr.evaluate_windows(net._check_X(X_val), net._check_Y(Y_val, net._check_X(X_val)))
    assert val_now == pytest.approx(hist.validation_loss_curve[-1], rel=1e-6)


# ---------------------------------------------------------------- NaN guard
def test_nan_guard_raises_and_restores_finite_weights():
    X, Y = _regression_data()
    net = Network(1, 8, cell="gru", random_state=0)
    p0 = net.params.copy()
    tr = Trainer(net, optimizer="sgd", epochs=5, batch_size=32, learning_rate=1e6, random_state=0)
    with pytest.raises(TrainingDivergedError, match="learning_rate") as info:
        tr.fit_windows(X, Y)
    assert isinstance(info.value, FloatingPointError) and isinstance(info.value, ValueError)
    assert np.isfinite(net.params).all()
    # diverged in the first epoch: the initial weights are restored
    assert np.array_equal(net.params, p0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_guard_warn_policy(dtype):
    X, Y = _regression_data()
    net = Network(1, 8, cell="gru", random_state=0, dtype=dtype)
    epochs = 20
    tr = Trainer(net, optimizer="sgd", epochs=epochs, batch_size=32, learning_rate=1e6,
                 nan_policy="warn", random_state=0)
    with pytest.warns(RuntimeWarning, match="learning_rate"):
        hist = tr.fit_windows(X, Y)
    assert hist.diverged
    assert hist.n_epochs <= epochs
    assert len(hist.loss_curve) == hist.n_epochs - 1  # the faulty epoch is not recorded
    assert all(math.isfinite(v) for v in hist.loss_curve)
    assert np.isfinite(net.params).all()


def test_clip_grad_norm_bounds_the_first_sgd_update():
    X, Y = _regression_data(n=64)
    net = Network(1, 8, cell="lstm", dtype="float64", random_state=0)
    _, grads = net.loss_and_grad(X, Y)
    g = _flat(net, grads)
    gnorm = float(np.linalg.norm(g))
    lr, max_norm = 0.1, 1e-3
    assert gnorm > 10 * max_norm  # clipping is active
    p0 = net.params.copy()
    # one epoch, one batch, no shuffle -> exactly one optimizer step on the full gradient
    Trainer(net, optimizer="sgd", epochs=1, batch_size=64, learning_rate=lr, clip_grad_norm=max_norm,
            shuffle=False).fit_windows(X, Y)
    delta = net.params - p0
    assert np.linalg.norm(delta) <= lr * max_norm * (1 + 1e-9)
    np.testing.assert_allclose(delta, -lr * g * (max_norm / (gnorm + 1e-6)), rtol=1e-7, atol=1e-15)


def test_clip_grad_norm_keeps_a_huge_lr_run_finite():
    X, Y = _regression_data()
    net = Network(1, 8, cell="gru", random_state=0)
    p0 = net.params.astype(np.float64)
    lr, max_norm, epochs, steps_per_epoch = 1e6, 1e-6, 3, 4
    tr = Trainer(net, optimizer="sgd", epochs=epochs, batch_size=32, learning_rate=lr,
                 clip_grad_norm=max_norm, random_state=0)
    hist = tr.fit_windows(X, Y)  # the same run without clipping diverges (test above)
    assert not hist.diverged and hist.n_epochs == epochs
    assert np.isfinite(net.params).all()
    # every step moves the weights by at most lr * max_norm = 1 (plus float32 rounding)
    moved = np.linalg.norm(net.params.astype(np.float64) - p0)
    assert moved <= epochs * steps_per_epoch * lr * max_norm * 1.001


# ----------------------------------------------------------------- Ctrl-C
def test_keyboard_interrupt_keeps_the_best_epoch(sine_windows):
    X, Y = _windows3(sine_windows, 152, noise=0.1, seed=4, window=24)
    assert X.shape[0] == 128
    net = Network(1, 8, cell="gru", random_state=0)
    tr = Trainer(net, epochs=10, batch_size=32, learning_rate=1e-2, random_state=0)
    rec = _StepRecorder(tr, raise_on=11, steps_per_epoch=4)  # 4 steps/epoch: dies in epoch 2
    tr.optimizer.step = rec
    with pytest.warns(RuntimeWarning, match="interrupted"):
        hist = tr.fit_windows(X, Y)
    assert hist.interrupted and not hist.diverged and not hist.stopped_early
    assert hist.n_epochs == 2 and len(hist.loss_curve) == 2
    assert len(rec.epoch_end_params) == 2
    assert hist.best_epoch in (0, 1)
    assert hist.best_loss == min(hist.loss_curve)
    assert np.array_equal(net.params, rec.epoch_end_params[hist.best_epoch])


def test_keyboard_interrupt_in_the_first_epoch_message():
    X, Y = _regression_data()
    net = Network(1, 8, cell="gru", random_state=0)
    tr = Trainer(net, epochs=3, batch_size=32, learning_rate=1e-2, random_state=0)
    tr.optimizer.step = _StepRecorder(tr, raise_on=3)
    with pytest.warns(RuntimeWarning, match="interrupted") as record:
        hist = tr.fit_windows(X, Y)
    assert hist.interrupted and hist.n_epochs == 0 and hist.best_epoch == -1
    assert "epoch -1" not in str(record[0].message)


# ---------------------------------------------------------- LR schedules
@pytest.mark.parametrize("schedule", [{"name": "step", "step_size": 2, "gamma": 0.5},
                                      StepLR(step_size=2, gamma=0.5)])
def test_step_schedule_drives_the_learning_rate(schedule):
    X, Y = _regression_data(n=64)
    net = Network(1, 4, cell="elman", random_state=0)
    lr0, epochs = 0.1, 5
    tr = Trainer(net, epochs=epochs, batch_size=32, learning_rate=lr0, lr_schedule=schedule,
                 random_state=0)
    rec = _StepRecorder(tr)
    tr.optimizer.step = rec
    hist = tr.fit_windows(X, Y)
    expected = [lr0 * 0.5 ** (e // 2) for e in range(epochs)]  # 0.1 0.1 0.05 0.05 0.025
    np.testing.assert_allclose(hist.lr_curve, expected, rtol=1e-12)
    # the optimizer really received these rates: 2 steps per epoch
    np.testing.assert_allclose(rec.lrs, np.repeat(expected, 2), rtol=1e-12)
    if isinstance(schedule, StepLR):
        assert schedule.last_epoch == 0  # the instance passed in is not modified


# ------------------------------------------------------ stateful TBPTT
def _stream(n, noise=0.0, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    s = np.sin(2 * np.pi * np.arange(n + 1) / 25) + noise * rng.normal(size=n + 1)
    s = s.astype(dtype)
    return np.ascontiguousarray(s[:-1, None]), np.ascontiguousarray(s[1:, None])


def test_fit_stream_learns_a_sine():
    X, Y = _stream(1200)
    net = Network(1, 16, cell="gru", return_sequences=True, random_state=0)
    hist = Trainer(net, epochs=10, learning_rate=1e-2, random_state=0).fit_stream(X, Y, n_streams=8, bptt=25)
    assert hist.n_epochs == 10
    # the per-step loss falls by at least 20x (observed ~300x) and ends below 0.01
    assert hist.loss_curve[-1] < hist.loss_curve[0] / 20
    assert hist.loss_curve[-1] < 0.01


def test_fit_stream_chunks_carry_the_state_and_keep_the_latest_data(monkeypatch):
    L, n_streams, bptt = 1003, 8, 40  # 1003 % 8 = 3 steps dropped, 125 steps/stream
    X, Y = _stream(L, noise=0.1, seed=1)
    net = Network(1, 4, cell="lstm", return_sequences=True, random_state=0)
    calls = []
    orig = net._run

    def spy(Xc, Yc, idx, h0, c0, *rest):
        out = orig(Xc, Yc, idx, h0, c0, *rest)
        h_out, c_out = rest[6], rest[7]  # (loss, delta, q, want_grad, pred, grad, h_out, c_out, dt)
        calls.append((Xc.copy(), Yc.copy(), h0.copy(), c0.copy(), h_out.copy(), c_out.copy()))
        return out

    monkeypatch.setattr(net, "_run", spy)
    hist = Trainer(net, epochs=1, learning_rate=1e-2, random_state=0).fit_stream(
        X, Y, n_streams=n_streams, bptt=bptt)
    assert hist.n_epochs == 1 and math.isfinite(hist.loss_curve[0])
    Ls, start = L // n_streams, L % n_streams
    assert [c[0].shape for c in calls] == [(8, 40, 1), (8, 40, 1), (8, 40, 1), (8, 5, 1)]
    # stream s, chunk k holds steps start + s*Ls + k*bptt ... of the series
    for k, (xc, yc, *_unused) in enumerate(calls):
        for s in range(n_streams):
            lo = start + s * Ls + k * bptt
            hi = min(start + (s + 1) * Ls, lo + bptt)
            np.testing.assert_array_equal(xc[s, :, 0], X[lo:hi, 0].astype(np.float32))
            np.testing.assert_array_equal(yc[s, :, 0], Y[lo:hi, 0].astype(np.float32))
    # state: zeros at the start of the epoch, then carried from chunk to chunk
    assert not calls[0][2].any() and not calls[0][3].any()
    for prev, nxt in zip(calls[:-1], calls[1:]):
        assert np.array_equal(nxt[2], prev[4]) and np.array_equal(nxt[3], prev[5])
        assert prev[4].any()


def test_fit_stream_validation_path():
    X, Y = _stream(1000)
    Xv, Yv = _stream(300, seed=2)
    net = Network(1, 8, cell="gru", return_sequences=True, random_state=0)
    tr = Trainer(net, epochs=3, learning_rate=1e-2, random_state=0)
    hist = tr.fit_stream(X, Y, n_streams=7, bptt=30, X_val=Xv, Y_val=Yv)
    assert len(hist.validation_loss_curve) == hist.n_epochs == 3
    assert all(math.isfinite(v) for v in hist.validation_loss_curve)
    assert hist.best_loss == min(hist.validation_loss_curve)
    # the last validation loss is that of the final weights (no early stopping)
    again = tr.evaluate_stream(net._check_X(Xv[None]), net._check_Y(Yv[None], Xv[None]), 30)
    assert again == pytest.approx(hist.validation_loss_curve[-1], rel=1e-9)
    # and also 1-D series are accepted
    hist1 = Trainer(net, epochs=1, random_state=0).fit_stream(X[:, 0], Y[:, 0], n_streams=4, bptt=50,
                                                              X_val=Xv[:, 0], Y_val=Yv[:, 0])
    assert len(hist1.validation_loss_curve) == 1


def test_fit_stream_input_errors():
    X, Y = _stream(200)
    many_to_one = Network(1, 4, cell="gru", return_sequences=False, random_state=0)
    with pytest.raises(ValueError, match="return_sequences"):
        Trainer(many_to_one, epochs=1).fit_stream(X, Y)
    net = Network(1, 4, cell="gru", return_sequences=True, random_state=0)
    with pytest.raises(ValueError, match="n_streams=32"):
        Trainer(net, epochs=1).fit_stream(X[:20], Y[:20], n_streams=32)
    # (the message shows the series with a leading stream axis: (1, 199, 1))
    with pytest.raises(ValueError, match="199"):
        Trainer(net, epochs=1).fit_stream(X, Y[:-1])
    with pytest.raises(TypeError, match="bptt"):
        Trainer(net, epochs=1).fit_stream(X, Y, bptt=2.5)


def _record_stream_epoch(L, n_streams, bptt):
    X, Y = _stream(L, dtype=np.float32)
    net = Network(1, 8, cell="gru", return_sequences=True, random_state=0)
    shapes, buffers = [], []
    orig_run, orig_buf = net._run, net._buffers

    def run(Xc, Yc, idx, h0, c0, *rest):
        shapes.append((Xc.shape, Yc.shape, h0.shape, rest[4].shape))  # rest[4] is pred
        return orig_run(Xc, Yc, idx, h0, c0, *rest)

    def buf(B, T):
        out = orig_buf(B, T)
        buffers.append(tuple(a.shape for a in out))
        return out

    net._run, net._buffers = run, buf
    Trainer(net, epochs=1, learning_rate=1e-2, random_state=0).fit_stream(X, Y, n_streams=n_streams,
                                                                            bptt=bptt)
    return shapes, buffers


def test_fit_stream_working_arrays_do_not_grow_with_the_series():
    n_streams, bptt = 16, 50
    small = _record_stream_epoch(4_800, n_streams, bptt)  # 300 steps per stream
    large = _record_stream_epoch(19_200, n_streams, bptt)  # 1200 steps per stream
    for L, (shapes, buffers) in ((4_800, small), (19_200, large)):
        n_chunks = math.ceil((L // n_streams) / bptt)
        assert len(shapes) == n_chunks
        for xs, ys, hs, ps in shapes:
            assert xs[0] == n_streams and 1 <= xs[1] <= bptt and xs[2] == 1
            assert ys == xs and ps == xs  # per-step targets and predictions
            assert hs == (1, n_streams, 8)
        for pred, h, c in buffers:
            assert pred[0] == n_streams and pred[1] <= bptt
            assert h == c == (1, n_streams, 8)
    # 4x the data -> 4x the kernel calls, each on arrays of the same size
    assert len(large[0]) == 4 * len(small[0])
    assert max(s[0][1] for s in large[0]) == max(s[0][1] for s in small[0]) == bptt


def test_fit_stream_peak_traced_memory_does_not_grow_with_the_series():
    # tracemalloc sees numpy's buffers and (here) the kernel's NRT work arrays.
    # Numba's dispatcher leaves ~400 bytes of cyclic garbage per call that only a
    # full collection frees, so collect after each kernel call to measure live
    # memory.  The input arrays are allocated before tracing starts.
    n_streams, bptt = 16, 100

    def peak(L):
        X, Y = _stream(L, dtype=np.float32)
        net = Network(1, 8, cell="gru", return_sequences=True, random_state=0)
        tr = Trainer(net, epochs=1, learning_rate=1e-2, random_state=0)
        tr.fit_stream(X[:400], Y[:400], n_streams=n_streams, bptt=bptt)  # warm-up
        orig = net._run

        def run(*a):
            out = orig(*a)
            gc.collect()
            return out

        net._run = run
        gc.collect()
        tracemalloc.start()
        try:
            tr.fit_stream(X, Y, n_streams=n_streams, bptt=bptt)
            return tracemalloc.get_traced_memory()[1], X.nbytes
        finally:
            tracemalloc.stop()

    (p_small, _), (p_large, x_large) = peak(4_800), peak(19_200)
    assert p_large <= 1.5 * p_small, (p_small, p_large)
    # a single series-length copy of X (float32) would add 4 bytes per step = x_large
    assert p_large - p_small < 0.1 * x_large, (p_small, p_large)


# ------------------------------------------------------------- validation
def test_trainer_rejects_bad_settings():
    net = Network(1, 4, cell="gru", random_state=0)
    with pytest.raises(ValueError, match="-0.1"):
        Trainer(net, learning_rate=-0.1)
    with pytest.raises(ValueError, match="'bogus'"):
        Trainer(net, loss="bogus")
    with pytest.raises(ValueError, match="'ignore'"):
        Trainer(net, nan_policy="ignore")
    with pytest.raises(ValueError, match="early_stopping"):
        Trainer(net, early_stopping=0)
    X, Y = _regression_data(n=8)
    with pytest.raises(ValueError, match=r"\(7, 1\)"):
        Trainer(net, epochs=1).fit_windows(X, Y[:7])
    Xn = X.copy()
    Xn[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Trainer(net, epochs=1).fit_windows(Xn, Y)


def test_no_warning_on_a_clean_run():
    X, Y = _regression_data(n=32)
    net = Network(1, 4, cell="gru", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = Trainer(net, epochs=2, batch_size=16, learning_rate=1e-2, random_state=0).fit_windows(X, Y)
    assert not (hist.diverged or hist.interrupted or hist.stopped_early)
    assert hist.best_epoch in (0, 1)

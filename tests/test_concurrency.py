"""Concurrency: estimators fitted in parallel Python threads give the same results
as fitted one after the other, and the Numba thread count is restored after a fit
(also after one that raises inside the thread-limit context)."""

from __future__ import annotations

import threading

import numba
import numpy as np
import pandas as pd
import pytest

from tsrnn import RNNForecaster, RNNRegressor
from tsrnn._threading import thread_limits
from tsrnn.nn.trainer import TrainingDivergedError


def _data(seed=0, n=160, window=12):
    rng = np.random.default_rng(seed)
    s = np.sin(np.arange(n + window) / 4.0) + 0.05 * rng.normal(size=n + window)
    X = np.lib.stride_tricks.sliding_window_view(s[:-1], window)[:n].copy()
    y = s[window:window + n].copy()
    return X, y


def _run_in_threads(fns):
    results = [None] * len(fns)
    errors = []
    barrier = threading.Barrier(len(fns))

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    return results


@pytest.mark.parametrize("n_jobs", [1, None])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_two_regressors_in_threads_match_sequential(cell, n_jobs):
    X, y = _data()
    kw = dict(cell=cell, hidden_size=8, epochs=3, batch_size=16, learning_rate=1e-2,
              n_jobs=n_jobs)

    def fit(seed):
        r = RNNRegressor(random_state=seed, **kw).fit(X, y)
        return r.network_.params.copy(), r.predict(X), list(r.loss_curve_)

    sequential = [fit(0), fit(1)]
    before = numba.get_num_threads()
    threaded = _run_in_threads([lambda: fit(0), lambda: fit(1)])
    assert numba.get_num_threads() == before
    for (p_s, y_s, l_s), (p_t, y_t, l_t) in zip(sequential, threaded):
        np.testing.assert_array_equal(p_s, p_t)
        np.testing.assert_array_equal(y_s, y_t)
        assert l_s == l_t
    # the two seeds really give different models (the comparison is not vacuous)
    assert not np.array_equal(sequential[0][0], sequential[1][0])


def test_two_forecasters_in_threads_match_sequential():
    idx = pd.date_range("2024-01-01", periods=150, freq="h")
    y = pd.Series(np.sin(np.arange(150) / 4.0), index=idx, name="y")
    kw = dict(cell="gru", hidden_size=4, window=12, horizon=3, epochs=2, batch_size=16)

    def fit(seed):
        f = RNNForecaster(random_state=seed, **kw).fit(y)
        return f.network_.params.copy(), f.predict().to_numpy()

    sequential = [fit(0), fit(1)]
    threaded = _run_in_threads([lambda: fit(0), lambda: fit(1)])
    for (p_s, f_s), (p_t, f_t) in zip(sequential, threaded):
        np.testing.assert_array_equal(p_s, p_t)
        np.testing.assert_array_equal(f_s, f_t)


def test_thread_count_restored_after_successful_fit():
    X, y = _data(n=40)
    before = numba.get_num_threads()
    RNNRegressor(hidden_size=4, epochs=1, n_jobs=1, random_state=0).fit(X, y)
    assert numba.get_num_threads() == before


def test_thread_count_restored_when_fit_raises_inside_thread_limits():
    # a huge learning rate diverges during training, i.e. inside the
    # thread_limits(n_jobs=1) context of Trainer._loop; nan_policy="raise"
    # makes the fit raise from there
    X, y = _data(n=64)
    y = y * 1e6
    before = numba.get_num_threads()
    assert before > 1 or numba.config.NUMBA_NUM_THREADS == 1
    reg = RNNRegressor(cell="elman", hidden_size=4, epochs=5, learning_rate=1e30,
                       optimizer="sgd", nan_policy="raise", n_jobs=1, random_state=0)
    with pytest.raises(TrainingDivergedError, match="diverged"):
        reg.fit(X, y)
    assert numba.get_num_threads() == before


def test_thread_limits_restores_on_exception():
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError):
        with thread_limits(1) as n:
            assert n == 1
            assert numba.get_num_threads() == 1
            raise RuntimeError("boom")
    assert numba.get_num_threads() == before


def test_thread_count_restored_in_each_thread():
    # numba's thread count is thread-local: a fit in a worker thread must not
    # leak its setting into that thread either
    X, y = _data(n=40)
    seen = []

    def work():
        b = numba.get_num_threads()
        RNNRegressor(hidden_size=4, epochs=1, n_jobs=1, random_state=0).fit(X, y)
        seen.append((b, numba.get_num_threads()))

    _run_in_threads([work, work])
    assert all(b == a for b, a in seen), seen


def test_malloc_tuning_is_once_and_can_be_switched_off(monkeypatch):
    import ctypes

    from tsrnn import _threading

    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc())
    monkeypatch.setattr(_threading, "_malloc_tuned", False)
    monkeypatch.setenv("TSRNN_MALLOC_TUNE", "0")
    _threading.tune_malloc()
    assert calls == []
    monkeypatch.setattr(_threading, "_malloc_tuned", False)
    monkeypatch.setenv("TSRNN_MALLOC_TUNE", "1")
    _threading.tune_malloc()
    _threading.tune_malloc()   # once per process
    assert calls == [(-1, 64 << 20), (-3, 32 << 20)]

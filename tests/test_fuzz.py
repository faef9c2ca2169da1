"""Hypothesis fuzz suite: malformed and valid-but-odd input everywhere data enters.

Property checked for every generated input: the call either succeeds and returns
finite output of the documented shape, or raises ``ValueError``/``TypeError``
(``NotFittedError`` and ``TrainingDivergedError`` are ``ValueError`` subclasses)
with a non-empty message.  Any other exception (IndexError, KeyError,
ZeroDivisionError, AttributeError, numba typing errors, ...) fails the test.
Warnings are *not* turned into errors.

Profiles (registered in ``tests/conftest.py``): ``ci`` (default, fast) and
``long`` (>= 10,000 generated inputs over the whole module)::

    pytest tests/test_fuzz.py --hypothesis-profile=long

The number of inputs actually tried is printed in pytest's terminal summary
("tsrnn fuzz: N generated inputs tried").

All estimators are tiny (hidden_size 2, window 2-6, horizon 1-3, one epoch,
one thread) so that each example takes milliseconds once the kernels are
compiled (they are compiled once per process and cached on disk).
"""

from __future__ import annotations

import collections
import math

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, note  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tsrnn import RNNAnomalyDetector, RNNForecaster, RNNRegressor  # noqa: E402
from tsrnn.nn import Network  # noqa: E402

#: examples tried per test (read by the terminal-summary hook in conftest.py)
_FUZZ_COUNTS: collections.Counter = collections.Counter()
#: how the calls ended: "ok" (returned) / "rejected" (ValueError/TypeError)
_FUZZ_OUTCOMES: collections.Counter = collections.Counter()


_CURRENT = [""]


def _attempt(fn):
    """Run ``fn``; return ``(True, result)`` or ``(False, exc)`` for an accepted
    ValueError/TypeError.  Anything else propagates and fails the test."""
    try:
        out = fn()
    except (ValueError, TypeError) as exc:
        msg = str(exc).strip()
        assert msg, f"{type(exc).__name__} raised with an empty message"
        _FUZZ_OUTCOMES[_CURRENT[0] + ":rejected"] += 1
        note(f"rejected: {type(exc).__name__}: {msg[:200]}")
        return False, exc
    _FUZZ_OUTCOMES[_CURRENT[0] + ":ok"] += 1
    return True, out


def _finite(a):
    a = np.asarray(a, dtype=np.float64)
    return bool(np.isfinite(a).all())


# ============================================================== strategies
_FLOAT_SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300, 1e-300, 3.4e38]


@st.composite
def values(draw, n):
    """n values of a random dtype: float (with NaN/inf sometimes), int, bool,
    object (mixed numbers/strings/None), str, float32, constant, huge."""
    kind = draw(st.sampled_from(
        ["float"] * 10 + ["float_special", "int", "bool", "object", "str",
         "float32", "constant", "huge", "complex", "datetime"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "float":
        return np.sin(np.arange(n) / 3.0) + 0.1 * rng.normal(size=n)
    if kind == "float_special":
        v = rng.normal(size=n)
        if n:
            k = draw(st.integers(1, max(1, n)))
            pos = rng.integers(0, n, size=k)
            v[pos] = [draw(st.sampled_from(_FLOAT_SPECIALS)) for _ in range(k)]
        return v
    if kind == "int":
        return rng.integers(-5, 5, size=n)
    if kind == "bool":
        return rng.integers(0, 2, size=n).astype(bool)
    if kind == "object":
        pool = [1.0, 2, "3", "x", None, np.nan, 4.5, True]
        return np.array([pool[i] for i in rng.integers(0, len(pool), size=n)], dtype=object)
    if kind == "str":
        return np.array([str(x) for x in rng.integers(0, 9, size=n)])
    if kind == "float32":
        return rng.normal(size=n).astype(np.float32)
    if kind == "constant":
        return np.full(n, draw(st.sampled_from([0.0, 1.0, -7.5, 1e6])))
    if kind == "huge":
        return rng.normal(size=n) * draw(st.sampled_from([1e15, 1e30, 1e-30]))
    if kind == "complex":
        return rng.normal(size=n) + 1j * rng.normal(size=n)
    return pd.date_range("2020-01-01", periods=n, freq="D").to_numpy()


@st.composite
def index(draw, n):
    """An index of length n: regular/irregular/duplicated/unsorted/tz-aware/mixed-tz
    DatetimeIndex, PeriodIndex, RangeIndex (any step), int/float/str indexes."""
    kind = draw(st.sampled_from(
        ["dt"] * 6 + ["range", "period", "dt_irregular", "dt_dup", "dt_unsorted", "dt_tz", "dt_mixed_tz", "dt_nat",
         "period", "range", "range_step", "int_gaps", "float", "str", "dt_nofreq"]))
    freq = draw(st.sampled_from(["h", "h", "h", "h", "D", "MS", "15min", "W", "B"]))
    start = draw(st.sampled_from(["2020-01-01", "2021-03-28", "1999-12-31 23:00"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind in ("dt", "dt_nofreq"):
        idx = pd.date_range(start, periods=n, freq=freq)
        return pd.DatetimeIndex(list(idx)) if kind == "dt_nofreq" else idx
    if kind == "dt_irregular":
        full = pd.date_range(start, periods=2 * n + 2, freq=freq)
        pos = np.sort(rng.choice(len(full), size=n, replace=False))
        return full[pos]
    if kind == "dt_dup":
        idx = pd.date_range(start, periods=n, freq=freq)
        if n >= 2:
            i = int(rng.integers(1, n))
            vals = idx.to_numpy().copy()
            vals[i] = vals[i - 1]
            idx = pd.DatetimeIndex(vals)
        return idx
    if kind == "dt_unsorted":
        idx = pd.date_range(start, periods=n, freq=freq)
        return idx[rng.permutation(n)]
    if kind == "dt_tz":
        tz = draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]))
        return pd.date_range(start, periods=n, freq=freq, tz=tz)
    if kind == "dt_mixed_tz":
        idx = pd.date_range(start, periods=n, freq=freq)
        stamps = [t.tz_localize("UTC") if i % 2 else t.tz_localize("Asia/Tokyo")
                  for i, t in enumerate(idx)]
        return pd.Index(stamps, dtype=object)
    if kind == "dt_nat":
        vals = pd.date_range(start, periods=n, freq=freq).to_numpy().copy()
        if n:
            vals[int(rng.integers(0, n))] = np.datetime64("NaT")
        return pd.DatetimeIndex(vals)
    if kind == "period":
        pfreq = draw(st.sampled_from(["M", "D", "Q", "Y", "h"]))
        return pd.period_range("2000-01", periods=n, freq=pfreq)
    if kind == "range":
        return pd.RangeIndex(n)
    if kind == "range_step":
        step = draw(st.sampled_from([2, 5, -1]))
        return pd.RangeIndex(start=100, stop=100 + step * n, step=step)
    if kind == "int_gaps":
        return pd.Index(np.sort(rng.choice(3 * n + 1, size=n, replace=False)).astype(np.int64))
    if kind == "float":
        return pd.Index(np.arange(n) * 0.5)
    return pd.Index([f"t{i}" for i in range(n)])


@st.composite
def series(draw, min_size=0, max_size=80):
    n = draw(st.integers(min_size, max_size))
    v = draw(values(n))
    idx = draw(index(n))
    name = draw(st.sampled_from([None, "y", 0, "load"]))
    return pd.Series(v, index=idx, name=name, dtype=None if v.dtype != object else object)


def good_series(n, freq="h", seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.Series(np.sin(t / 3.0) + 0.1 * rng.normal(size=n),
                     index=pd.date_range("2024-01-01", periods=n, freq=freq), name="y")


def tiny(**kw):
    return dict(hidden_size=2, epochs=1, batch_size=16, n_jobs=1, random_state=0, **kw)


cells = st.sampled_from(["lstm", "gru", "elman", "rnn", "jordan", "indrnn", "ctrnn"])
odd = None  # defined below

#: odd values for any parameter: wrong types, negative, zero, unknown strings, nan
_odd = st.sampled_from([None, -1, 0, 1, 2, 2.5, -0.5, 0.0, 1e9, "3", "abc", "", True, False,
                       np.nan, np.inf, [1], (0.1, 0.9), {"a": 1}, np.int64(2), np.float32(0.1)])
#: mostly-plausible values mixed with odd ones
odd = st.one_of(_odd, st.sampled_from([1, 2, 3, 0.01, 0.1, 0.5, "lstm", "gru", "adam", "sgd", "mae",
                                       "huber", "minmax", "robust", "window", "none", "cosine",
                                       "quantile", "likelihood", "reconstruction", "recursive",
                                       "float64", "auto", "warn", "interpolate", "relu",
                                       "xavier", "orthogonal", -1, None]))


# ============================================================ forecaster
@given(y=series(), cell=cells, window=st.integers(2, 6), horizon=st.integers(1, 3),
       strategy=st.sampled_from(["mimo", "recursive"]),
       missing=st.sampled_from(["error", "interpolate"]),
       freq=st.sampled_from([None, None, None, "h", "D", "bogus"]))
def test_fuzz_forecaster_fit_predict(y, cell, window, horizon, strategy, missing, freq):
    _FUZZ_COUNTS["forecaster_fit"] += 1
    _CURRENT[0] = "forecaster_fit"
    f = RNNForecaster(cell=cell, window=window, horizon=horizon, strategy=strategy,
                      missing=missing, freq=freq, **tiny())
    ok, _ = _attempt(lambda: f.fit(y))
    if not ok:
        assert not hasattr(f, "network_")
        return
    fc = f.predict()
    assert isinstance(fc, pd.Series)
    assert len(fc) == horizon
    assert _finite(fc.to_numpy())
    # a forecast never lands on an already observed timestamp
    if isinstance(y.index, (pd.DatetimeIndex, pd.PeriodIndex)) and y.index.is_monotonic_increasing:
        assert fc.index[0] > y.index[-1]


_PARAM_NAMES = ["cell", "hidden_size", "num_layers", "window", "horizon", "strategy", "epochs",
                "batch_size", "learning_rate", "optimizer", "loss", "clip_grad_norm",
                "lr_schedule", "early_stopping", "validation_fraction", "scaler", "calendar",
                "quantiles", "freq", "missing", "max_windows_per_series", "nonlinearity", "init",
                "forget_bias", "bidirectional", "dtype", "device", "nan_policy", "n_jobs",
                "random_state"]


@given(overrides=st.dictionaries(st.sampled_from(_PARAM_NAMES), odd, min_size=1, max_size=3),
       n=st.integers(20, 60))
def test_fuzz_forecaster_params(overrides, n):
    _FUZZ_COUNTS["forecaster_params"] += 1
    _CURRENT[0] = "forecaster_params"
    # keep big legal values from making the example slow
    for k in ("window", "horizon", "hidden_size", "num_layers", "epochs", "batch_size",
              "max_windows_per_series", "early_stopping"):
        v = overrides.get(k)
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and v == v and v > 50:
            overrides[k] = 3
    params = dict(window=4, horizon=2, **tiny())
    params.update(overrides)
    f = RNNForecaster(**params)
    before = f.get_params()
    ok, _ = _attempt(lambda: f.fit(good_series(n)))
    # never mutate a constructor parameter
    after = f.get_params()
    for k, v in before.items():
        assert (after[k] is v) or (after[k] == v) or (v != v), k
    if ok:
        fc = f.predict()
        assert len(fc) == f.horizon and _finite(fc.to_numpy())


@given(n_x=st.integers(0, 30), n_cols=st.integers(0, 3), bad=st.sampled_from(
    ["none", "nan", "str", "shifted", "dup", "plain"]), horizon=st.integers(1, 3))
def test_fuzz_forecaster_covariates_at_predict(n_x, n_cols, bad, horizon):
    _FUZZ_COUNTS["forecaster_covariates"] += 1
    _CURRENT[0] = "forecaster_covariates"
    f = _fitted_with_covariates(horizon)
    future = pd.date_range(f._panel_.indices[0][-1], periods=n_x + 1, freq="h")[1:]
    data = np.random.default_rng(n_x).normal(size=(n_x, n_cols))
    X = pd.DataFrame(data, index=future, columns=[f"c{i}" for i in range(n_cols)])
    if bad == "nan" and n_x and n_cols:
        X.iloc[0, 0] = np.nan
    elif bad == "str" and n_cols:
        X[X.columns[0]] = "a"
    elif bad == "shifted":
        X.index = X.index + pd.Timedelta("7h")
    elif bad == "dup" and n_x >= 2:
        X.index = X.index[[0] + list(range(n_x - 1))]
    elif bad == "plain":
        X = data
    elif bad == "none":
        X = None
    ok, fc = _attempt(lambda: f.predict(X=X))
    if ok:
        assert len(fc) == horizon and _finite(fc.to_numpy())


_COV_CACHE = {}


def _fitted_with_covariates(horizon):
    if horizon not in _COV_CACHE:
        y = good_series(60)
        X = pd.DataFrame({"c0": np.cos(np.arange(80) / 4.0)},
                         index=pd.date_range(y.index[0], periods=80, freq="h"))
        _COV_CACHE[horizon] = RNNForecaster(window=4, horizon=horizon, **tiny()).fit(y, X=X)
    return _COV_CACHE[horizon]


# ============================================================== detector
_DET_CACHE = {}


def _fitted_detector(method):
    if method not in _DET_CACHE:
        _DET_CACHE[method] = RNNAnomalyDetector(window=4, method=method, threshold="quantile",
                                                **tiny()).fit(good_series(60))
    return _DET_CACHE[method]


@given(y=series(), cell=cells, window=st.integers(2, 6),
       method=st.sampled_from(["forecast", "reconstruction", "hopfield"]),
       threshold=st.sampled_from(["dynamic", "quantile", "likelihood", 2.0]))
def test_fuzz_detector_fit(y, cell, window, method, threshold):
    _FUZZ_COUNTS["detector_fit"] += 1
    _CURRENT[0] = "detector_fit"
    d = RNNAnomalyDetector(cell=cell, window=window, method=method, threshold=threshold,
                           likelihood_window=20, **tiny())
    ok, _ = _attempt(lambda: d.fit(y))
    if ok:
        assert len(d.decision_scores_) == len(y)
        assert _finite(d.decision_scores_.to_numpy())
        assert set(np.unique(d.labels_.to_numpy())) <= {0, 1}
        assert math.isfinite(d.threshold_)


@given(y=series(), method=st.sampled_from(["forecast", "reconstruction", "hopfield"]),
       causal=st.booleans())
def test_fuzz_detector_decision_function(y, method, causal):
    _FUZZ_COUNTS["detector_decision_function"] += 1
    _CURRENT[0] = "detector_decision_function"
    d = _fitted_detector(method)
    ok, s = _attempt(lambda: d.decision_function(y, causal=causal))
    if ok:
        assert isinstance(s, pd.Series) and len(s) == len(y)
        assert _finite(s.to_numpy())
        lab = d.predict(y, causal=causal)
        assert set(np.unique(lab.to_numpy())) <= {0, 1}


_STREAMERS = {}


def _streaming_detector(method, online):
    """A fresh copy (streaming mutates the detector) of a small fitted detector."""
    import copy

    key = (method, online)
    if key not in _STREAMERS:
        _STREAMERS[key] = RNNAnomalyDetector(
            window=4, method=method, threshold="likelihood", likelihood_window=20,
            online_learning_rate=0.01 if online else None, **tiny()).fit(good_series(60))
    return copy.deepcopy(_STREAMERS[key])


@given(y_new=series(max_size=12), method=st.sampled_from(["forecast", "reconstruction", "hopfield"]),
       online=st.booleans(), data=st.data())
def test_fuzz_detector_streaming(y_new, method, online, data):
    """update() with arbitrary continuations and score_one() with arbitrary values:
    clear errors only, finite scores, and a rejected call leaves the stream as it was."""
    assume(not (online and method == "hopfield"))
    _FUZZ_COUNTS["detector_streaming"] += 1
    _CURRENT[0] = "detector_streaming"
    d = _streaming_detector(method, online)
    if data.draw(st.booleans()):  # a plausible continuation, odd values sometimes
        n = len(y_new)
        idx = pd.date_range(d._last_index_[-1], periods=n + 1, freq="h")[1:]
        y_new = pd.Series(y_new.to_numpy(), index=idx, dtype=y_new.dtype)
    before = (d._history_.copy(), d._last_index_.copy(),
              None if d.network_ is None else d.network_.params.copy())
    ok, s = _attempt(lambda: d.update(y_new))
    if ok:
        assert len(s) == len(y_new) and _finite(s.to_numpy())
    else:
        assert np.array_equal(d._history_, before[0]) and d._last_index_.equals(before[1])
        if before[2] is not None:
            assert np.array_equal(d.network_.params, before[2])
    value = data.draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                st.sampled_from([None, "1", [1.0, 2.0], np.float32(1.5), True])))
    ok, v = _attempt(lambda: d.score_one(value))
    if ok:
        assert math.isfinite(v)


@given(overrides=st.dictionaries(st.sampled_from(
    ["cell", "window", "method", "threshold", "contamination", "likelihood_window",
     "likelihood_short_window", "smoothing_window", "dynamic_window", "refractory",
     "online_learning_rate", "scaler", "missing", "loss", "learning_rate", "epochs",
     "validation_fraction", "early_stopping", "dtype", "n_jobs", "nan_policy", "device"]),
    odd, min_size=1, max_size=3))
def test_fuzz_detector_params(overrides):
    _FUZZ_COUNTS["detector_params"] += 1
    _CURRENT[0] = "detector_params"
    for k in ("window", "epochs", "likelihood_window", "dynamic_window", "smoothing_window"):
        v = overrides.get(k)
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and v == v and v > 30:
            overrides[k] = 12
    params = dict(window=4, **tiny())
    params.update(overrides)
    d = RNNAnomalyDetector(**params)
    ok, _ = _attempt(lambda: d.fit(good_series(60)))
    if ok:
        assert _finite(d.decision_scores_.to_numpy())


# ============================================================= regressor
@st.composite
def arrays(draw, max_ndim=4, max_side=6):
    ndim = draw(st.integers(0, max_ndim))
    shape = tuple(draw(st.lists(st.integers(0, max_side), min_size=ndim, max_size=ndim)))
    size = int(np.prod(shape)) if shape else 1
    v = np.asarray(draw(values(size)))
    out = v.reshape(shape) if v.size == size else np.zeros(shape)
    wrap = draw(st.sampled_from(["array", "array", "list", "frame", "fortran"]))
    if wrap == "list":
        return out.tolist()
    if wrap == "frame" and out.ndim == 2:
        return pd.DataFrame(out)
    if wrap == "fortran":
        return np.asfortranarray(out)
    return out


@st.composite
def regression_data(draw):
    """Half the time a coherent (X, y) pair (possibly with odd values), else anything."""
    if draw(st.booleans()):
        return draw(arrays()), draw(arrays(max_ndim=3))
    n, w = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    f = draw(st.sampled_from([None, 1, 2]))
    shape = (n, w) if f is None else (n, w, f)
    X = np.asarray(draw(values(int(np.prod(shape)))))
    X = X.reshape(shape) if X.size == np.prod(shape) else np.zeros(shape)
    h = draw(st.sampled_from([None, 1, 3]))
    yshape = (n,) if h is None else (n, h)
    y = np.sin(np.arange(np.prod(yshape))).reshape(yshape)
    if draw(st.booleans()):
        y = draw(values(int(np.prod(yshape)))).reshape(yshape)
    return X, y


@given(data=regression_data(), cell=cells)
def test_fuzz_regressor_fit_predict(data, cell):
    X, y = data
    _FUZZ_COUNTS["regressor_fit"] += 1
    _CURRENT[0] = "regressor_fit"
    r = RNNRegressor(cell=cell, **tiny())
    ok, _ = _attempt(lambda: r.fit(X, y))
    if ok:
        Xa = np.asarray(X)
        p = r.predict(X)
        assert p.shape[0] == Xa.shape[0]
        assert p.shape == np.asarray(y).shape or p.shape == (Xa.shape[0], r.n_outputs_)
        assert _finite(p)


_REG_CACHE = {}


@given(X=st.one_of(arrays(), arrays().map(lambda a: np.resize(np.asarray(a), (4, 3)))))
def test_fuzz_regressor_predict(X):
    _FUZZ_COUNTS["regressor_predict"] += 1
    _CURRENT[0] = "regressor_predict"
    if "r" not in _REG_CACHE:
        rng = np.random.default_rng(0)
        _REG_CACHE["r"] = RNNRegressor(**tiny()).fit(rng.normal(size=(20, 3)), rng.normal(size=20))
    r = _REG_CACHE["r"]
    ok, p = _attempt(lambda: r.predict(X))
    if ok:
        assert p.shape == (np.asarray(X).shape[0],) and _finite(p)


@given(overrides=st.dictionaries(st.sampled_from(
    ["cell", "hidden_size", "num_layers", "nonlinearity", "epochs", "batch_size",
     "learning_rate", "optimizer", "loss", "clip_grad_norm", "lr_schedule", "early_stopping",
     "validation_fraction", "init", "forget_bias", "bidirectional", "dtype", "device",
     "nan_policy", "n_jobs", "random_state"]), odd, min_size=1, max_size=3))
def test_fuzz_regressor_params(overrides):
    _FUZZ_COUNTS["regressor_params"] += 1
    _CURRENT[0] = "regressor_params"
    for k in ("hidden_size", "num_layers", "epochs", "batch_size"):
        v = overrides.get(k)
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and v == v and v > 50:
            overrides[k] = 3
    params = tiny()
    params.update(overrides)
    r = RNNRegressor(**params)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    ok, _ = _attempt(lambda: r.fit(X, y))
    if ok:
        assert _finite(r.predict(X))


# =============================================================== network
_NETS = {}


def _net(cell, input_size, output_size, return_sequences, dtype):
    key = (cell, input_size, output_size, return_sequences, dtype)
    if key not in _NETS:
        _NETS[key] = Network(input_size, 2, cell=cell, output_size=output_size,
                             return_sequences=return_sequences, dtype=dtype, random_state=0,
                             n_jobs=1)
    return _NETS[key]


@given(cell=cells, input_size=st.integers(1, 2), output_size=st.integers(1, 2),
       return_sequences=st.booleans(), dtype=st.sampled_from(["float32", "float64"]),
       data=st.data(), h0=st.one_of(st.none(), st.none(), arrays(max_ndim=4, max_side=3)),
       loss=st.sampled_from(["mse", "mae", "huber", "pinball", "nope", 3]),
       quantiles=st.sampled_from([None, 0.5, [0.1, 0.9], [0.0], "x", [2.0, 0.5]]),
       delta=st.sampled_from([1.0, 0.0, -1.0, np.nan, "1"]))
def test_fuzz_network(cell, input_size, output_size, return_sequences, dtype, data, h0, loss,
                      quantiles, delta):
    if data.draw(st.booleans()):
        X, Y = data.draw(arrays()), data.draw(arrays())
    else:  # coherent shapes, odd values sometimes
        B, T = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 6))
        X = np.random.default_rng(B * T).normal(size=(B, T, input_size))
        if data.draw(st.booleans()):
            X = np.asarray(data.draw(values(X.size))).reshape(X.shape)
        Y = np.zeros((B, T, output_size) if return_sequences else (B, output_size))
    _FUZZ_COUNTS["network"] += 1
    _CURRENT[0] = "network"
    net = _net(cell, input_size, output_size, return_sequences, dtype)
    p0 = net.params.copy()
    ok, out = _attempt(lambda: net.forward(X, h0=h0))
    if ok:
        Xa = np.asarray(X)
        B, T = Xa.shape[0], Xa.shape[1]
        want = (B, T, output_size) if return_sequences else (B, output_size)
        assert out.shape == want and _finite(out)
    ok, res = _attempt(lambda: net.loss_and_grad(X, Y, loss=loss, h0=h0, delta=delta,
                                                 quantiles=quantiles))
    if ok:
        value, grads = res
        assert math.isfinite(value)
        sd = net.state_dict()
        assert set(grads) == set(sd)
        for k, g in grads.items():
            assert g.shape == sd[k].shape and _finite(g)
    # neither call may touch the weights
    np.testing.assert_array_equal(net.params, p0)


small = st.one_of(st.integers(1, 3), st.integers(1, 3), odd)


@given(input_size=small, hidden_size=small, cell=st.one_of(cells, odd), num_layers=small,
       output_size=small, nonlinearity=st.sampled_from(["tanh", "relu", "gelu", 1]),
       init=st.sampled_from(["pytorch", "xavier", "orthogonal", "identity", "zeros", None]),
       dtype=st.sampled_from(["float32", "float64", "float16", "int32", np.float64, None]))
def test_fuzz_network_params(input_size, hidden_size, cell, num_layers, output_size,
                             nonlinearity, init, dtype):
    _FUZZ_COUNTS["network_params"] += 1
    _CURRENT[0] = "network_params"
    for v in (input_size, hidden_size, num_layers, output_size):
        assume(not (isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                    and v == v and v > 50))

    def build():
        net = Network(input_size, hidden_size, cell=cell, num_layers=num_layers,
                      output_size=output_size, nonlinearity=nonlinearity, init=init,
                      dtype=dtype, random_state=0, n_jobs=1)
        X = np.zeros((2, 3, net.input_size), net.dtype)
        return net, net.forward(X)

    ok, res = _attempt(build)
    if ok:
        net, out = res
        assert out.shape == (2, net.output_size) and _finite(out)


# ------------------------------------------------------------------ CLI
_CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.integers(-10**6, 10**6).map(str),
                  st.sampled_from(["", "abc", "NaN", "inf", "2024-13-45", "1e999", '"x,y"', " "]))
_TIME = st.one_of(
    st.dates(min_value=__import__("datetime").date(2000, 1, 1),
             max_value=__import__("datetime").date(2030, 1, 1)).map(str),
    st.integers(0, 10**4).map(str),
    st.sampled_from(["", "not a date", "2024-01-01T00:00:00+05:00", "2024-02-30"]))


@st.composite
def _mostly_valid_rows(draw):
    """A regular daily series of 8-30 rows with 0-2 corrupted cells."""
    import datetime

    n = draw(st.integers(8, 30))
    start = draw(st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2030, 1, 1)))
    rows = [[str(start + datetime.timedelta(days=i)), repr(float(np.sin(i / 2.0)) + 5.0)]
            for i in range(n)]
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(0, 1))
        rows[i][j] = draw(_TIME if j == 0 else _CELL)
    return [tuple(r) for r in rows]


@given(rows=st.one_of(st.lists(st.tuples(_TIME, _CELL), min_size=0, max_size=30),
                      _mostly_valid_rows()),
       header=st.sampled_from(["ds,y", "y,ds", "time,value", "ds", ""]),
       cmd=st.sampled_from(["forecast", "detect"]))
def test_cli_never_tracebacks(rows, header, cmd):
    """Random CSVs through the command line: exit 0 with output, or exit 2 with one
    'tsrnn: error:' line -- never an internal error or a traceback."""
    import contextlib
    import io

    from tsrnn.cli import main

    import tempfile
    from pathlib import Path

    _CURRENT[0] = "test_cli_never_tracebacks"
    _FUZZ_COUNTS["test_cli_never_tracebacks"] += 1
    d = Path(tempfile.mkdtemp(prefix="tsrnn-cli-fuzz-"))
    src = d / "in.csv"
    src.write_text("\n".join([header] + [f"{a},{b}" for a, b in rows]) + "\n")
    out = d / "out.csv"
    args = [cmd, str(src), "--time-col", "ds", "--target-col", "y", "--window", "2",
            "--hidden-size", "2", "--epochs", "1", "--quiet", "-o", str(out)]
    if cmd == "forecast":
        args += ["--horizon", "1"]
    import shutil

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(args)
        produced = out.exists()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    text = err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, text
    _FUZZ_OUTCOMES["test_cli_never_tracebacks:" + ("ok" if code == 0 else "rejected")] += 1
    if code == 0:
        assert produced
    else:
        assert code == 2, text
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("tsrnn: error:"), text

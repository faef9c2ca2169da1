"""WindowTransformer / WindowScaler: shapes, values, errors, and the pipeline idiom."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tsrnn import RNNRegressor
from tsrnn.data.windows import WindowScaler, WindowTransformer


def naive_xy(s, window, horizon, step):
    X, Y = [], []
    for start in range(0, len(s) - window - horizon + 1, step):
        X.append(s[start:start + window])
        Y.append(s[start + window:start + window + horizon])
    return np.array(X), np.array(Y)


@pytest.mark.parametrize("window, horizon, step", [(3, 1, 1), (4, 2, 1), (5, 3, 2), (1, 1, 3), (6, 4, 5)])
def test_transform_xy_matches_naive(window, horizon, step):
    s = np.arange(20.0) ** 1.5
    X, Y = WindowTransformer(window, horizon, step).transform_xy(s)
    Xn, Yn = naive_xy(s, window, horizon, step)
    np.testing.assert_array_equal(X, Xn)
    np.testing.assert_array_equal(Y, Yn[:, 0] if horizon == 1 else Yn)
    assert X.shape == (len(Xn), window)
    assert Y.shape == ((len(Xn),) if horizon == 1 else (len(Xn), horizon))


def test_transform_ends_at_the_last_value_and_make_xy_alias():
    s = pd.Series(np.arange(10.0), index=pd.date_range("2024", periods=10, freq="D"))
    wt = WindowTransformer(4, horizon=2, step=3)
    W = wt.fit(s).transform(s)
    np.testing.assert_array_equal(W, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    X1, Y1 = wt.make_xy(s)
    X2, Y2 = wt.transform_xy(s.to_numpy())
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Y1, Y2)
    assert wt.fit_transform(s).shape == (3, 4)


def test_multivariate_windows_and_target_column():
    a = np.arange(12.0)
    arr = np.stack([a, 100 + a], axis=1)            # (12, 2)
    X, Y = WindowTransformer(3, horizon=2, target=1).transform_xy(arr)
    assert X.shape == (8, 3, 2) and Y.shape == (8, 2)
    np.testing.assert_array_equal(X[0], arr[:3])
    np.testing.assert_array_equal(Y[0], [103.0, 104.0])
    assert WindowTransformer(3).transform(pd.DataFrame(arr)).shape == (10, 3, 2)


@pytest.mark.parametrize("params, data, exc, pattern", [
    (dict(window=0), np.arange(10.0), ValueError, "window"),
    (dict(window=3, horizon=1.5), np.arange(10.0), ValueError, "horizon"),
    (dict(window=3, step=0), np.arange(10.0), ValueError, "step"),
    (dict(window=8, horizon=3), np.arange(10.0), ValueError, "at least 11"),
    (dict(window=3), np.array([1.0, np.nan, 3, 4, 5]), ValueError, "NaN"),
    (dict(window=3), np.array(["a"] * 6), TypeError, "numeric"),
    (dict(window=3), np.zeros((5, 2, 2)), ValueError, r"\(5, 2, 2\)"),
    (dict(window=3, target=2), np.zeros((6, 2)), ValueError, "target=2"),
], ids=["window", "horizon", "step", "short", "nan", "strings", "3d", "target"])
def test_errors(params, data, exc, pattern):
    with pytest.raises(exc, match=pattern):
        WindowTransformer(**params).transform_xy(data)


def test_transform_too_short():
    with pytest.raises(ValueError, match="window=5"):
        WindowTransformer(5).transform(np.arange(3.0))


def test_window_scaler_global_and_per_window():
    rng = np.random.default_rng(0)
    X = 10 + 3 * rng.normal(size=(40, 6, 2))
    sc = WindowScaler().fit(X)
    Z = sc.transform(X)
    np.testing.assert_allclose(Z.mean(axis=(0, 1)), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=(0, 1)), 1, atol=1e-12)
    np.testing.assert_allclose(sc.inverse_transform(Z), X)
    X2 = X[:, :, 0]
    Z2 = WindowScaler().fit_transform(X2)
    assert Z2.shape == X2.shape
    Zw = WindowScaler(per_window=True).fit_transform(X2)
    np.testing.assert_allclose(Zw.mean(axis=1), 0, atol=1e-12)
    assert WindowScaler().fit(X2.astype(np.float32)).transform(X2.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="expecting 6 features"):
        sc.transform(X[:, :4])


def test_pipeline_grid_search_time_series_split():
    t = np.arange(260.0)
    series = pd.Series(5 + np.sin(2 * np.pi * t / 20))
    wt = WindowTransformer(20, horizon=4)
    X, Y = wt.transform_xy(series)
    assert X.shape == (237, 20) and Y.shape == (237, 4)
    pipe = make_pipeline(WindowScaler(), RNNRegressor(hidden_size=4, epochs=3, batch_size=32,
                                                      learning_rate=1e-2, random_state=0))
    search = GridSearchCV(pipe, {"rnnregressor__hidden_size": [4, 8]},
                          cv=TimeSeriesSplit(n_splits=2, gap=4)).fit(X, Y)
    assert search.best_params_["rnnregressor__hidden_size"] in (4, 8)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    nxt = search.predict(wt.transform(series)[-1:])
    assert nxt.shape == (1, 4) and np.isfinite(nxt).all()
    # clone gives an unfitted twin with the same parameters
    cl = clone(pipe)
    assert cl.get_params()["rnnregressor__hidden_size"] == 4
    # StandardScaler (one mean per lag column) works on 2-D windows too
    p2 = make_pipeline(StandardScaler(), RNNRegressor(hidden_size=4, epochs=2, random_state=0)).fit(X, Y)
    assert p2.predict(X[:2]).shape == (2, 4)

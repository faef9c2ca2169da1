"""Tests for tsrnn.data.scalers."""

import json

import numpy as np
import pytest

from tsrnn.data.scalers import (
    IdentityScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
    fit_per_series,
    make_scaler,
    positive_columns,
    scaler_from_state,
    window_denormalize,
    window_level,
    window_normalize,
)

NAMES = ["standard", "minmax", "robust", None]


@pytest.fixture
def x():
    rng = np.random.default_rng(0)
    return np.column_stack([rng.normal(5.0, 3.0, 200), rng.exponential(2.0, 200),
                            np.linspace(-10, 10, 200)])


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name, x):
    s = make_scaler(name).fit(x)
    z = s.transform(x)
    assert z.shape == x.shape and z.dtype == np.float64
    np.testing.assert_allclose(s.inverse_transform(z), x, rtol=1e-12, atol=1e-12)
    # 1-D input for a single column; float32 stays float32; 3-D windows broadcast
    s1 = make_scaler(name).fit(x[:, 0])
    np.testing.assert_allclose(s1.inverse_transform(s1.transform(x[:, 0])), x[:, 0])
    z32 = s.transform(x.astype(np.float32))
    assert z32.dtype == np.float32
    w = np.stack([x[:10], x[10:20]])  # (2, 10, 3)
    np.testing.assert_allclose(s.transform(w)[1], z[10:20])


def test_statistics(x):
    z = StandardScaler().fit_transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1.0)
    z = MinMaxScaler().fit_transform(x)
    np.testing.assert_allclose(z.min(axis=0), -1.0)
    np.testing.assert_allclose(z.max(axis=0), 1.0)
    r = RobustScaler().fit(x)
    np.testing.assert_allclose(r.center_, np.median(x, axis=0))
    q75, q25 = np.percentile(x, [75, 25], axis=0)
    np.testing.assert_allclose(r.scale_, q75 - q25)
    np.testing.assert_array_equal(IdentityScaler().fit_transform(x), x)


@pytest.mark.parametrize("name", NAMES)
def test_constant_series(name):
    c = np.full((50, 2), 7.25)
    s = make_scaler(name).fit(c)
    z = s.transform(c)
    assert np.all(np.isfinite(z))
    assert np.all(s.scale_ == 1.0)
    np.testing.assert_allclose(s.inverse_transform(z), c)
    # floating-point "almost constant" does not blow up either
    s.fit(np.array([0.1 + 0.2, 0.3, 0.30000000000000004]))
    assert np.all(np.isfinite(s.transform(np.array([0.3, 1.0]))))


def test_robust_zero_iqr_falls_back_to_std():
    x = np.zeros(100)
    x[::25] = 10.0  # mostly zeros: IQR 0, std > 0
    r = RobustScaler().fit(x)
    assert r.scale_[0] == pytest.approx(np.std(x))


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip(name, x):
    s = make_scaler(name).fit(x)
    state = json.loads(json.dumps(s.get_state()))
    for t in (scaler_from_state(state), type(s).from_state(state)):
        assert type(t) is type(s)
        np.testing.assert_array_equal(t.transform(x), s.transform(x))
    # unfitted state round-trips too
    u = scaler_from_state(make_scaler(name).get_state())
    with pytest.raises(RuntimeError, match="not fitted"):
        u.transform(x)


def test_errors(x):
    with pytest.raises(ValueError, match="not supported.*'standard'"):
        make_scaler("zscore")
    with pytest.raises(ValueError, match="window_normalize"):
        make_scaler("window")
    assert isinstance(make_scaler("none"), IdentityScaler)
    assert isinstance(make_scaler("MinMax"), MinMaxScaler)
    assert make_scaler(StandardScaler().fit(x)).center_ is None  # fresh copy
    s = StandardScaler().fit(x)
    with pytest.raises(ValueError, match="3 column"):
        s.transform(x[:, :2])
    with pytest.raises(ValueError, match="not a StandardScaler state"):
        StandardScaler.from_state(MinMaxScaler().fit(x).get_state())
    with pytest.raises(ValueError, match="not a scaler state"):
        scaler_from_state({"name": "weird"})
    with pytest.raises(ValueError, match="empty"):
        StandardScaler().fit(np.empty((0, 2)))
    with pytest.raises(TypeError, match="numeric"):
        StandardScaler().fit(np.array(["a", "b"]))


def test_fit_per_series(x):
    scalers = fit_per_series("standard", [x, x * 2 + 1])
    np.testing.assert_allclose(scalers[1].center_, 2 * scalers[0].center_ + 1)


def test_window_normalisation():
    rng = np.random.default_rng(1)
    w = np.concatenate([rng.uniform(1, 5, (8, 12, 1)), rng.normal(0, 1, (8, 12, 1))], axis=2)
    pos = positive_columns(w.reshape(-1, 2))
    np.testing.assert_array_equal(pos, [True, False])
    level = window_level(w)
    np.testing.assert_array_equal(level, w[:, -1, :])
    z = window_normalize(w, level, pos)
    np.testing.assert_allclose(z[:, -1, :], 0.0, atol=1e-12)  # 0 at the level
    np.testing.assert_allclose(z[..., 0], w[..., 0] / level[:, None, 0] - 1.0)
    np.testing.assert_allclose(z[..., 1], w[..., 1] - level[:, None, 1])
    np.testing.assert_allclose(window_denormalize(z, level, pos), w)
    # a forecast of another length denormalises with the same levels
    yh = rng.normal(size=(8, 3, 2))
    np.testing.assert_allclose(window_normalize(window_denormalize(yh, level, pos), level, pos), yh)
    # 2-D (batch, T) windows of a univariate series; float32 preserved
    w1 = w[..., 0].astype(np.float32)
    l1 = window_level(w1)
    assert l1.shape == (8,)
    z1 = window_normalize(w1, l1, True)
    assert z1.dtype == np.float32
    np.testing.assert_allclose(window_denormalize(z1, l1, True), w1, rtol=1e-6)
    # non-positive levels never divide
    zz = window_normalize(np.array([[1.0, 0.0]]), np.array([0.0]), True)
    assert np.all(np.isfinite(zz))
    with pytest.raises(ValueError, match="shape"):
        window_level(np.ones(3))

"""Tests for tsrnn.metrics: hand-computed values, edge cases, and the M4 Hourly numbers."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsrnn.metrics import (
    m4_evaluate,
    mae,
    mase,
    naive2,
    owa,
    rmse,
    seasonal_indices,
    seasonal_naive,
    seasonality_test,
    smape,
)

M4_DIR = Path(__file__).resolve().parents[1].parent / "shared/datasets/m4"


# ----------------------------------------------------------------- point metrics
def test_mae_hand_computed():
    # |1-2| + |2-2| + |3-5| = 3 -> 3/3
    assert mae([1.0, 2.0, 3.0], [2.0, 2.0, 5.0]) == pytest.approx(1.0)


def test_rmse_hand_computed():
    # errors 3, 4 -> sqrt((9 + 16) / 2) = sqrt(12.5)
    assert rmse([0.0, 0.0], [3.0, 4.0]) == pytest.approx(np.sqrt(12.5))
    # errors 1, -1, 2, 0 -> sqrt((1 + 1 + 4 + 0) / 4) = sqrt(1.5)
    assert rmse([1, 2, 3, 4], [0, 3, 1, 4]) == pytest.approx(np.sqrt(1.5))


def test_smape_hand_computed():
    # 200*50/(100+50) = 66.666..., 200*0/(50+50) = 0 -> mean 33.333...
    assert smape([100.0, 50.0], [50.0, 50.0]) == pytest.approx(100.0 / 3.0)
    # 200*2/(1+3) = 100; 200*1/(4+3) = 28.571428...; mean = 64.285714...
    assert smape([1.0, 4.0], [3.0, 3.0]) == pytest.approx((100.0 + 200.0 / 7.0) / 2.0)


def test_smape_zeros():
    # 0/0 counts as 0; 200*|0-1|/(0+1) = 200 (the maximum)
    assert smape([0.0, 0.0], [0.0, 1.0]) == pytest.approx(100.0)
    assert smape([0.0, 0.0], [0.0, 0.0]) == 0.0
    # opposite signs reach the maximum 200: 200*2/(1+1)
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)


def test_mase_hand_computed():
    # in-sample lag-2 errors |3-1|, |4-2|, |6-3| = 2, 2, 3 -> scale 7/3
    # forecast errors |7-6|, |9-6| = 1, 3 -> 2; MASE = 2 / (7/3) = 6/7
    assert mase([7.0, 9.0], [6.0, 6.0], [1.0, 2.0, 3.0, 4.0, 6.0], m=2) == pytest.approx(6 / 7)
    # lag 1: |3-1|, |2-3| = 2, 1 -> scale 1.5; error |4-1| = 3 -> MASE 2
    assert mase([4.0], [1.0], [1.0, 3.0, 2.0]) == pytest.approx(2.0)


def test_metrics_accept_series_and_lists():
    y = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2020", periods=3, freq="D"))
    p = pd.Series([2.0, 2.0, 5.0])  # different index: alignment is positional
    assert mae(y, p) == pytest.approx(1.0)
    assert mae(y, p.to_numpy()) == mae([1, 2, 3], (2, 2, 5))
    assert mase(y, p, pd.Series([1.0, 3.0, 2.0])) == pytest.approx(1.0 / 1.5)
    assert isinstance(smape(y, p), float)


def test_mase_constant_training_series_raises():
    with pytest.raises(ValueError, match="MASE scale is 0"):
        mase([1.0, 2.0], [1.0, 1.0], np.full(10, 5.0))
    # exactly periodic at lag m: also a zero scale
    with pytest.raises(ValueError, match="MASE scale is 0"):
        mase([1.0], [1.0], np.tile([1.0, 2.0], 5), m=2)


def test_mase_short_training_series_raises():
    with pytest.raises(ValueError, match=r"y_train has 2 value\(s\).*m \+ 1 = 3"):
        mase([1.0], [1.0], [1.0, 2.0], m=2)
    with pytest.raises(ValueError, match="m must be >= 1"):
        mase([1.0], [1.0], [1.0, 2.0], m=0)
    with pytest.raises(TypeError, match="m must be an integer"):
        mase([1.0], [1.0], [1.0, 2.0], m=1.5)


@pytest.mark.parametrize("metric", [mae, rmse, smape])
def test_shape_mismatch_and_nan_are_clear(metric):
    with pytest.raises(ValueError, match=r"same shape.*\(3,\).*\(2,\)"):
        metric([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="y_pred contains 1 NaN"):
        metric([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(ValueError, match="y_true contains 1 NaN"):
        metric(pd.Series([1.0, None]), [1.0, 2.0])
    with pytest.raises(ValueError, match="y_true is empty"):
        metric([], [])
    with pytest.raises(TypeError, match="y_true must be numeric"):
        metric(["a", "b"], [1.0, 2.0])


def test_nullable_pandas_na_is_reported_as_nan():
    y = pd.Series([1.0, None, 3.0], dtype="Float64")
    with pytest.raises(ValueError, match="y_true contains 1 NaN"):
        mae(y, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="y_train contains 1 NaN"):
        mase([1.0], [1.0], y)


def test_mase_rejects_2d_training_series():
    with pytest.raises(ValueError, match=r"y_train must be 1-D, got an array of shape \(2, 2\)"):
        mase([1.0], [1.0], [[1.0, 2.0], [3.0, 4.0]])


# ------------------------------------------------------------------ seasonality
def _acf_loop(x, k):
    """The M4 benchmark code's autocorrelation, written as loops."""
    mean = sum(x) / len(x)
    s1 = sum((x[i] - mean) * (x[i - k] - mean) for i in range(k, len(x)))
    s2 = sum((v - mean) ** 2 for v in x)
    return s1 / s2


def _seasonality_test_loop(x, m):
    if m <= 1 or len(x) < 3 * m:
        return False
    s = 1.0 + 2.0 * sum(_acf_loop(x, k) ** 2 for k in range(1, m))
    return abs(_acf_loop(x, m)) > 1.645 * np.sqrt(s / len(x))


def test_seasonality_test_pure_seasonal_is_true():
    pattern = 10 + np.sin(2 * np.pi * np.arange(24) / 24) + 0.3 * np.cos(4 * np.pi * np.arange(24) / 24)
    assert seasonality_test(np.tile(pattern, 5), 24) is True
    assert seasonality_test(np.tile([1.0, 5.0, 3.0, 2.0], 6), 4) is True


def test_seasonality_test_white_noise_is_false():
    rng = np.random.default_rng(42)
    for m in (4, 7, 12, 24):
        x = rng.normal(size=500)
        assert seasonality_test(x, m) is bool(_seasonality_test_loop(list(x), m)) is False


def test_seasonality_test_matches_loop_reference():
    rng = np.random.default_rng(1)
    t = np.arange(60)
    for amp in (0.0, 0.2, 0.5, 1.0, 3.0):
        x = 5 + amp * np.sin(2 * np.pi * t / 12) + rng.normal(size=60)
        assert seasonality_test(x, 12) == _seasonality_test_loop(list(x), 12)


def test_seasonality_test_degenerate_cases_are_not_seasonal():
    x = np.tile([1.0, 5.0, 3.0, 2.0], 6)
    assert seasonality_test(x, 1) is False          # m <= 1
    assert seasonality_test(x[:11], 4) is False     # n = 11 < 3m = 12
    assert seasonality_test(x[:12], 4) is True      # n = 3m is enough
    assert seasonality_test(np.full(30, 2.0), 4) is False  # no variance


def test_seasonal_indices_hand_computed():
    # [1, 3, 1, 3, ...]: the 2x2 MA is 0.25*1 + 0.5*3 + 0.25*1 = 2 everywhere
    np.testing.assert_allclose(seasonal_indices(np.tile([1.0, 3.0], 4), 2), [0.5, 1.5])
    # odd m: the 3-MA of [1, 3, 2, ...] is 2 everywhere
    np.testing.assert_allclose(seasonal_indices(np.tile([1.0, 3.0, 2.0], 4), 3), [0.5, 1.5, 1.0])
    # y = [2, 4, 4, 8, 6], m = 2: trend at t=1..3 is (1+4+2)/2 = 3.5, (2+4+4)/2 = 5,
    # (2+8+3)/2 = 6.5; ratios 4/3.5 = 8/7, 4/5, 8/6.5 = 16/13.
    # season 0 (t=2): 0.8; season 1 (t=1,3): (8/7 + 16/13)/2 = 108/91; normalise to mean 1
    raw = np.array([0.8, 108 / 91])
    np.testing.assert_allclose(seasonal_indices([2.0, 4.0, 4.0, 8.0, 6.0], 2), raw / raw.mean())


def _decompose_reference(y, m):
    """R's decompose(type="multiplicative") seasonal figure, via pandas rolling means."""
    s = pd.Series(y)
    if m % 2 == 0:
        trend = s.rolling(m).mean().rolling(2).mean().shift(-(m // 2))
    else:
        trend = s.rolling(m, center=True).mean()
    ratio = (s / trend).to_numpy()
    figure = np.array([np.nanmean(ratio[i::m]) for i in range(m)])
    return figure / figure.mean()


@pytest.mark.parametrize("m,n", [(12, 100), (12, 144), (7, 50), (24, 24 * 5 + 7), (4, 8)])
def test_seasonal_indices_match_decompose_reference(m, n):
    rng = np.random.default_rng(m * n)
    t = np.arange(n)
    y = (50 + 0.3 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / m)) + rng.normal(size=n)
    si = seasonal_indices(y, m)
    np.testing.assert_allclose(si, _decompose_reference(y, m), rtol=1e-12)
    assert si.shape == (m,) and si.mean() == pytest.approx(1.0)


def test_seasonal_indices_errors():
    with pytest.raises(ValueError, match="at least two full periods"):
        seasonal_indices(np.arange(1.0, 8.0), 4)
    with pytest.raises(ValueError, match="m >= 2"):
        seasonal_indices(np.arange(1.0, 8.0), 1)
    with pytest.raises(ValueError, match="moving average of y_train is 0"):
        seasonal_indices(np.tile([1.0, -1.0], 4), 2)


# ------------------------------------------------------------- reference forecasts
def test_seasonal_naive_hand_computed():
    np.testing.assert_array_equal(seasonal_naive([1.0, 2.0, 3.0, 4.0, 5.0], 3, 2), [4.0, 5.0, 4.0])
    np.testing.assert_array_equal(seasonal_naive([1.0, 2.0, 3.0], 2, 1), [3.0, 3.0])
    np.testing.assert_array_equal(seasonal_naive([1.0, 2.0, 3.0], 7, 3), [1, 2, 3, 1, 2, 3, 1])
    with pytest.raises(ValueError, match="at least one full season"):
        seasonal_naive([1.0, 2.0], 3, 4)
    with pytest.raises(ValueError, match="h must be >= 1"):
        seasonal_naive([1.0, 2.0], 0, 1)


def test_naive2_hand_computed():
    # indices 0.5, 1.5, 1.0 on the level 2; the last value (t=11) is season 2
    np.testing.assert_allclose(naive2(np.tile([1.0, 3.0, 2.0], 4), 4, 3), [1.0, 3.0, 2.0, 1.0])
    # m = 1: plain naive
    np.testing.assert_array_equal(naive2([1.0, 2.0, 4.0], 2, 1), [4.0, 4.0])


def test_naive2_seasonal_equals_reseasonalised_naive():
    rng = np.random.default_rng(0)
    m, n, h = 12, 100, 18
    t = np.arange(n)
    y = (100 + 0.5 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / m)) + rng.normal(size=n)
    assert seasonality_test(y, m)
    # direct computation, as the M4 R code does it: the seasonal component over the
    # sample, the deseasonalised series, its naive forecast, times the last cycle of
    # the seasonal component repeated over the horizon
    si = _decompose_reference(y, m)
    seasonal = si[t % m]
    deseason = y / seasonal
    si_out = np.resize(seasonal[-m:], h)
    expected = deseason[-1] * si_out
    np.testing.assert_allclose(naive2(y, h, m), expected, rtol=1e-12)
    # and it differs from the plain naive forecast
    assert not np.allclose(naive2(y, h, m), y[-1])


def test_naive2_non_seasonal_is_naive():
    rng = np.random.default_rng(3)
    y = rng.normal(10.0, 1.0, size=200)
    assert not seasonality_test(y, 12)
    np.testing.assert_array_equal(naive2(y, 5, 12), np.full(5, y[-1]))
    # too short for the test (n < 3m): naive as well
    np.testing.assert_array_equal(naive2(np.tile([1.0, 3.0], 2), 3, 2), [3.0, 3.0, 3.0])


# --------------------------------------------------------------------------- OWA
def test_owa_hand_computed():
    assert owa(9.0, 1.0, 18.0, 2.0) == pytest.approx(0.5)
    # 0.5 * (10/20 + 3/2) = 1.0
    assert owa(10.0, 3.0, 20.0, 2.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="smape_naive2 must be > 0"):
        owa(1.0, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="mase_model must be a finite"):
        owa(1.0, np.nan, 1.0, 1.0)


def _three_series():
    rng = np.random.default_rng(7)
    m, h = 6, 6
    out = []
    for k, (n, level) in enumerate([(48, 20.0), (60, 50.0), (37, 8.0)]):
        t = np.arange(n + h)
        amp = 0.3 if k < 2 else 0.0  # the third one is not seasonal
        y = (level + 0.1 * t) * (1 + amp * np.sin(2 * np.pi * t / m)) + rng.normal(size=n + h)
        out.append((y[:n], y[n:]))
    return out, m, h


def test_owa_of_naive2_against_itself_is_one():
    series, m, h = _three_series()
    trains, tests = [s[0] for s in series], [s[1] for s in series]
    preds = [naive2(tr, h, m) for tr in trains]
    res = m4_evaluate(trains, tests, preds, m)
    assert res["owa"] == pytest.approx(1.0)
    assert res["smape"] == pytest.approx(res["smape_naive2"])
    assert res["mase"] == pytest.approx(res["mase_naive2"])


def test_m4_evaluate_three_series():
    series, m, h = _three_series()
    trains = [pd.Series(s[0]) for s in series]   # Series are accepted too
    tests = [s[1] for s in series]
    preds = [seasonal_naive(tr, h, m) for tr in trains]
    res = m4_evaluate(trains, tests, preds, m)
    s_model = np.mean([smape(te, p) for te, p in zip(tests, preds)])
    m_model = np.mean([mase(te, p, tr, m) for tr, te, p in zip(trains, tests, preds)])
    n2 = [naive2(tr, h, m) for tr in trains]
    s_n2 = np.mean([smape(te, p) for te, p in zip(tests, n2)])
    m_n2 = np.mean([mase(te, p, tr, m) for tr, te, p in zip(trains, tests, n2)])
    assert res["n_series"] == 3
    assert res["smape"] == pytest.approx(s_model)
    assert res["mase"] == pytest.approx(m_model)
    assert res["smape_naive2"] == pytest.approx(s_n2)
    assert res["mase_naive2"] == pytest.approx(m_n2)
    # OWA is the ratio of the means, not the mean of per-series OWAs
    assert res["owa"] == pytest.approx(0.5 * (s_model / s_n2 + m_model / m_n2))
    # the seasonal series really are detected as seasonal, the third is not
    assert [seasonality_test(tr, m) for tr in trains] == [True, True, False]


def test_m4_evaluate_errors():
    series, m, h = _three_series()
    trains, tests = [s[0] for s in series], [s[1] for s in series]
    preds = [seasonal_naive(tr, h, m) for tr in trains]
    with pytest.raises(ValueError, match="same number of series"):
        m4_evaluate(trains, tests, preds[:2], m)
    bad = list(preds)
    bad[1] = bad[1][:-1]
    with pytest.raises(ValueError, match="series 1: y_test has 6 values but y_pred has 5"):
        m4_evaluate(trains, tests, bad, m)
    with pytest.raises(TypeError, match="list of series"):
        m4_evaluate(trains[0], tests[0], preds[0], m)
    with pytest.raises(ValueError, match="at least one series"):
        m4_evaluate([], [], [], m)


# ----------------------------------------------------------------- M4 Hourly data
def _read_m4(name):
    frame = pd.read_csv(M4_DIR / name, index_col=0)
    # each row: id, then the values; shorter series pad with trailing empty cells
    return frame.index.to_list(), [row.dropna().to_numpy(dtype=np.float64) for _, row in frame.iterrows()]


@pytest.mark.skipif(
    not ((M4_DIR / "Hourly-train.csv").is_file() and (M4_DIR / "Hourly-test.csv").is_file()),
    reason="M4 Hourly data not found under ../shared/datasets/m4",
)
def test_m4_hourly_naive2_and_seasonal_naive_reproduce_published_numbers():
    ids_train, trains = _read_m4("Hourly-train.csv")
    ids_test, tests = _read_m4("Hourly-test.csv")
    assert ids_train == ids_test and len(trains) == 414
    assert all(len(te) == 48 for te in tests)
    # no gaps inside a series: every NaN was trailing padding
    raw = pd.read_csv(M4_DIR / "Hourly-train.csv", index_col=0).to_numpy()
    assert sum(len(tr) for tr in trains) == int(np.isfinite(raw).sum())
    h, m = 48, 24
    preds = [seasonal_naive(tr, h, m) for tr in trains]
    res = m4_evaluate(trains, tests, preds, m)
    # published M4 results, Hourly: Naive2 18.383 / 2.395; seasonal naive 13.912 / 1.193
    assert res["smape_naive2"] == pytest.approx(18.383, abs=0.01)
    assert res["mase_naive2"] == pytest.approx(2.395, abs=0.01)
    assert res["smape"] == pytest.approx(13.912, abs=0.01)
    assert res["mase"] == pytest.approx(1.193, abs=0.01)
    assert res["owa"] == pytest.approx(0.627, abs=0.002)

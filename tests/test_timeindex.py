"""Tests for tsrnn.data.timeindex: index checks, future indices, JSON, calendar features."""

import json

import numpy as np
import pandas as pd
import pytest

from tsrnn.data.timeindex import (
    calendar_features,
    check_index,
    continues,
    freq_category,
    freq_from_str,
    freq_to_str,
    future_index,
    index_from_json,
    index_to_json,
    regularize,
    seasonal_period,
)

FREQS = ["h", "D", "B", "W-SUN", "W-MON", "MS", "ME", "QS", "QE", "YS", "YE", "min", "s",
         "15min", "2h"]


def _no_freq(idx):
    return pd.DatetimeIndex(idx, freq=None)


# --------------------------------------------------------------------------- future index


@pytest.mark.parametrize("freq", FREQS)
@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_future_index_matches_date_range(freq, tz):
    n, h = 30, 7
    full = pd.date_range("2023-01-01", periods=n + h, freq=freq, tz=tz, name="ds")
    idx, f = check_index(_no_freq(full[:n]))  # frequency has to be inferred
    assert idx.freq == full.freq and f == full.freq
    fut = future_index(idx, h)
    expected = full[n:]
    assert isinstance(fut, pd.DatetimeIndex)
    assert fut.equals(expected)
    assert list(fut) == list(expected)
    assert fut.freq == expected.freq
    assert fut.name == "ds"
    assert str(fut.tz) == str(tz) if tz else fut.tz is None
    assert fut.unit == idx.unit


@pytest.mark.parametrize("freq", FREQS)
def test_future_index_with_explicit_freq(freq):
    full = pd.date_range("2021-06-01", periods=12, freq=freq)
    fut = future_index(_no_freq(full[:2]), 10, freq=freq)  # 2 points: not inferable
    assert fut.equals(full[2:])


def test_future_index_keeps_unit():
    idx = pd.date_range("2020-01-01", periods=5, freq="D", unit="ns")
    assert future_index(idx, 3).unit == "ns"


def test_future_index_across_dst():
    # hourly across the spring-forward night, and daily across the fall-back day
    full = pd.date_range("2021-03-27", periods=60, freq="h", tz="Europe/Paris")
    assert future_index(_no_freq(full[:30]), 30).equals(full[30:])
    days = pd.date_range("2021-10-25", periods=14, freq="D", tz="Europe/Paris")
    fut = future_index(days[:5], 9)
    assert fut.equals(days[5:])
    assert all(t.hour == 0 for t in fut)


@pytest.mark.parametrize("freq", ["M", "Q", "Y", "D", "W-SUN", "h", "2M"])
def test_future_index_period(freq):
    full = pd.period_range("2020-01-01", periods=20, freq=freq, name="p")
    fut = future_index(full[:15], 5)
    assert isinstance(fut, pd.PeriodIndex)
    assert fut.equals(full[15:])
    assert fut.name == "p"


def test_future_index_range():
    assert future_index(pd.RangeIndex(0, 20, 2), 3).equals(pd.RangeIndex(20, 26, 2))
    assert future_index(pd.RangeIndex(5, 8), 2).equals(pd.RangeIndex(8, 10))
    fut = future_index(pd.Index([3, 6, 9, 12], name="t"), 2)
    assert list(fut) == [15, 18] and fut.name == "t"
    assert list(future_index(pd.RangeIndex(0, 10), 2, freq=5)) == [14, 19]


def test_future_index_errors():
    with pytest.raises(ValueError, match="pass freq="):
        future_index(pd.DatetimeIndex(["2020-01-01"]), 3)
    with pytest.raises(ValueError, match="not on the 'W-SUN' grid"):
        future_index(pd.date_range("2020-01-31", periods=3, freq="ME"), 2, freq="W-SUN")
    with pytest.raises(ValueError, match="horizon"):
        future_index(pd.RangeIndex(3), 0)
    with pytest.raises(ValueError, match="PeriodIndex frequency 'M'"):
        future_index(pd.period_range("2020-01", periods=3, freq="M"), 2, freq="Q")


# --------------------------------------------------------------------------- check_index


def test_check_index_types():
    idx, f = check_index(pd.Index([0, 2, 4, 6]))
    assert isinstance(idx, pd.RangeIndex) and f == 2 and list(idx) == [0, 2, 4, 6]
    idx, f = check_index(pd.RangeIndex(10))
    assert f == 1 and idx.equals(pd.RangeIndex(10))
    p = pd.period_range("2020Q1", periods=6, freq="Q")
    idx, f = check_index(p)
    assert idx.equals(p) and f == p.freq
    d = pd.date_range("2020-01-01", periods=4, freq="D", tz="UTC")
    idx, f = check_index(_no_freq(d))
    assert idx.freq == f and str(idx.tz) == "UTC"
    # object index of same-zone timestamps is converted
    obj = pd.Index(list(d), dtype=object)
    assert check_index(obj)[0].equals(d)


def test_check_index_short_needs_freq():
    two = pd.DatetimeIndex(["2020-01-01", "2020-01-02"])
    with pytest.raises(ValueError, match="cannot infer the frequency.*pass freq="):
        check_index(two)
    idx, f = check_index(two, freq="D")
    assert f == pd.offsets.Day() and idx.freq == f


def test_check_index_unsorted():
    d = pd.date_range("2020-01-01", periods=5, freq="D")
    with pytest.raises(ValueError, match=r"not sorted.*\.sort_index\(\)"):
        check_index(d[[0, 2, 1, 3, 4]])
    with pytest.raises(ValueError, match="not sorted"):
        check_index(pd.Index([3, 2, 1]))


def test_check_index_duplicates():
    d = pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-02", "2020-01-03"])
    with pytest.raises(ValueError, match=r"duplicated.*2020-01-02.*groupby"):
        check_index(d)


def test_check_index_irregular_names_first_gap():
    d = pd.date_range("2020-01-01", periods=20, freq="D")
    gappy = d.delete([4, 5, 11])
    with pytest.raises(ValueError, match=r"first gap is between 2020-01-04.* and 2020-01-07.*"
                                         r"freq='D'.*asfreq\('D'\)"):
        check_index(gappy)
    m = pd.date_range("2020-01-31", periods=24, freq="ME").delete(5)
    with pytest.raises(ValueError, match=r"2020-05-31.*2020-07-31.*'ME'"):
        check_index(m)


def test_check_index_gaps_with_freq_returns_grid():
    d = pd.date_range("2020-01-01", periods=20, freq="D")
    gappy = d.delete([4, 5, 11])
    grid, f = check_index(gappy, freq="D")
    assert grid.equals(d) and grid.freq == f
    s = pd.Series(np.arange(17.0), index=gappy)
    r = regularize(s, "D")
    assert r.index.equals(d) and r.isna().sum() == 3 and r.index.freq == f
    assert r.dropna().tolist() == s.tolist()
    # no gaps: same values, freq attached
    r2 = regularize(pd.Series([1.0, 2.0, 3.0], index=_no_freq(d[:3])))
    assert r2.index.freq == pd.offsets.Day()
    # integer index with gaps on a step grid
    grid, f = check_index(pd.Index([0, 2, 6, 8]), freq=2)
    assert list(grid) == [0, 2, 4, 6, 8] and f == 2
    # period index with gaps
    p = pd.period_range("2020-01", periods=10, freq="M")
    with pytest.raises(ValueError, match=r"missing periods.*2020-03.*2020-05"):
        check_index(p.delete(3))
    assert check_index(p.delete(3), freq="M")[0].equals(p)


def test_check_index_freq_mismatch():
    d = pd.date_range("2020-01-01", periods=30, freq="D")
    with pytest.raises(ValueError, match=r"freq='h' does not match.*regularly spaced at 'D'"):
        check_index(d, freq="h")
    with pytest.raises(ValueError, match=r"freq='W-SUN' does not match.*not on the 'W-SUN' grid"):
        check_index(d, freq="W-SUN")
    with pytest.raises(ValueError, match=r"does not match.*'2D'"):
        check_index(d[::2], freq="D")
    b = pd.bdate_range("2020-01-01", periods=30)
    with pytest.raises(ValueError, match="regularly spaced at 'B'"):
        check_index(b, freq="D")
    with pytest.raises(ValueError, match="'ME' instead"):
        check_index(pd.date_range("2020-01-31", periods=5, freq="ME"), freq="M")
    with pytest.raises(ValueError, match="PeriodIndex of y, whose frequency is 'M'"):
        check_index(pd.period_range("2020-01", periods=5, freq="M"), freq="D")
    with pytest.raises(ValueError, match="step 2"):
        check_index(pd.RangeIndex(0, 10, 2), freq=1)
    # too many holes for the given freq
    with pytest.raises(ValueError, match="would be missing"):
        check_index(d[[0, 1, 10, 20, 29]], freq="D")


def test_check_index_bad_types():
    with pytest.raises(TypeError, match=r"pd\.to_datetime"):
        check_index(pd.Index(["2020-01-01", "2020-01-02", "2020-01-03"]))
    with pytest.raises(TypeError, match="floats"):
        check_index(pd.Index([0.5, 1.5, 2.5]))
    with pytest.raises(TypeError, match="MultiIndex"):
        check_index(pd.MultiIndex.from_product([["a"], [1, 2]]))
    mixed = pd.Index([pd.Timestamp("2020-01-01", tz="UTC"),
                      pd.Timestamp("2020-01-02", tz="Europe/Paris")])
    with pytest.raises(ValueError, match=r"mixes time zones.*utc=True"):
        check_index(mixed)
    with pytest.raises(ValueError, match="empty"):
        check_index(pd.DatetimeIndex([]))
    with pytest.raises(ValueError, match="NaT"):
        check_index(pd.DatetimeIndex(["2020-01-01", None, "2020-01-03"]))
    with pytest.raises(ValueError, match="irregularly spaced integer index"):
        check_index(pd.Index([0, 1, 3, 4]))


# --------------------------------------------------------------------------- JSON


@pytest.mark.parametrize("freq", FREQS)
def test_freq_str_round_trip(freq):
    off = pd.tseries.frequencies.to_offset(freq)
    s = freq_to_str(off)
    assert isinstance(s, str)
    assert freq_from_str(json.loads(json.dumps(s))) == off


def test_freq_str_ints_and_aliases():
    assert freq_to_str(3) == "3" and freq_from_str("3") == 3
    assert freq_to_str(None) is None and freq_from_str(None) is None
    assert freq_to_str("M") == "ME"  # period alias accepted
    assert freq_to_str(pd.period_range("2020", periods=2, freq="Q").freq) == "QE-DEC"


@pytest.mark.parametrize("idx", [
    pd.date_range("2020-01-01", periods=10, freq="h", name="t"),
    pd.date_range("2021-03-20", periods=10, freq="D", tz="Europe/Paris"),
    pd.date_range("2020-01-31", periods=10, freq="ME", unit="ns"),
    pd.date_range("2020-01-05", periods=10, freq="W-SUN", tz="UTC"),
    pd.bdate_range("2020-01-01", periods=10),
    pd.period_range("2020-01", periods=10, freq="M", name="month"),
    pd.period_range("2020-01-06", periods=10, freq="W-SUN"),
    pd.period_range("2020Q1", periods=10, freq="Q"),
    pd.RangeIndex(0, 20, 2, name="step"),
])
def test_index_json_round_trip(idx):
    d = json.loads(json.dumps(index_to_json(idx)))
    assert d["length"] == 10
    last = index_from_json(d)
    assert len(last) == 1 and last[0] == idx[-1]
    assert last.name == idx.name
    assert future_index(last, 5).equals(future_index(idx, 5))
    if isinstance(idx, pd.DatetimeIndex):
        assert str(last.tz) == str(idx.tz) and last.unit == idx.unit


def test_index_to_json_needs_freq():
    with pytest.raises(ValueError, match="pass freq="):
        index_to_json(pd.DatetimeIndex(["2020-01-01"]))
    d = index_to_json(pd.DatetimeIndex(["2020-01-01"]), freq="D")
    assert d["freq"] == "D"


# --------------------------------------------------------------------------- continues


def test_continues():
    old = pd.date_range("2020-01-01", periods=10, freq="D")
    new = pd.date_range("2020-01-11", periods=3, freq="D")
    idx, f = continues(old, _no_freq(new))
    assert idx.equals(new) and f == old.freq
    # from the stored description, and from a bare Timestamp + freq
    assert continues(index_from_json(index_to_json(old)), new)[0].equals(new)
    assert continues(old[-1], new, freq="D")[0].equals(new)
    # a single new point works since the frequency is known
    assert continues(old, new[:1])[0].equals(new[:1])
    with pytest.raises(ValueError, match=r"overlaps.*2020-01-10"):
        continues(old, pd.date_range("2020-01-09", periods=3, freq="D"))
    with pytest.raises(ValueError, match=r"2 time step\(s\) are missing"):
        continues(old, pd.date_range("2020-01-13", periods=3, freq="D"))
    with pytest.raises(ValueError, match=r"tz-naive ones.*tz_localize\(None\)"):
        continues(old, new.tz_localize("UTC"))
    with pytest.raises(TypeError, match="PeriodIndex.*DatetimeIndex"):
        continues(old, pd.period_range("2020-01-11", periods=3, freq="D"))
    with pytest.raises(ValueError, match="does not match"):
        continues(old, pd.date_range("2020-01-11", periods=5, freq="h"))


def test_continues_tz_and_other_kinds():
    old = pd.date_range("2020-01-01", periods=5, freq="h", tz="UTC")
    new = pd.date_range("2020-01-01 05:00", periods=3, freq="h", tz="UTC").tz_convert("Asia/Tokyo")
    idx, _ = continues(old, new)
    assert str(idx.tz) == "UTC" and idx[0] == new[0]
    p = pd.period_range("2020-01", periods=5, freq="M")
    assert continues(p, pd.period_range("2020-06", periods=2, freq="M"))[1] == p.freq
    with pytest.raises(ValueError, match="1 time step"):
        continues(p, pd.period_range("2020-07", periods=2, freq="M"))
    r = pd.RangeIndex(0, 10, 2)
    assert list(continues(r, pd.RangeIndex(10, 14, 2))[0]) == [10, 12]
    with pytest.raises(ValueError, match="overlaps"):
        continues(r, pd.RangeIndex(8, 14, 2))


# --------------------------------------------------------------------------- calendar


@pytest.mark.parametrize("freq, names", [
    ("h", ["hour", "dayofweek"]),
    ("2h", ["hour", "dayofweek"]),
    ("15min", ["hour", "minute", "dayofweek"]),
    ("D", ["dayofweek", "dayofyear"]),
    ("B", ["dayofweek", "dayofyear"]),
    ("W-SUN", ["weekofyear"]),
    ("MS", ["month"]),
    ("ME", ["month"]),
    ("QE", ["quarter"]),
    ("YE", []),
])
def test_calendar_features(freq, names):
    idx = pd.date_range("2019-12-01", periods=400, freq=freq, tz="Europe/Paris")
    X, got = calendar_features(idx)
    assert got == [f"{n}_{sc}" for n in names for sc in ("sin", "cos")]
    assert X.shape == (400, 2 * len(names)) and X.dtype == np.float64
    assert np.all(np.abs(X) <= 1.0)
    if X.shape[1]:
        np.testing.assert_allclose(X[:, 0::2] ** 2 + X[:, 1::2] ** 2, 1.0)
        X2, _ = calendar_features(_no_freq(idx), freq=freq)
        np.testing.assert_array_equal(X, X2)  # deterministic, freq given or attached


def test_calendar_feature_values():
    idx = pd.date_range("2024-01-01", periods=24, freq="h")  # a Monday
    X, names = calendar_features(idx)
    np.testing.assert_allclose(X[0], [0.0, 1.0, 0.0, 1.0], atol=1e-12)  # hour 0, Monday
    np.testing.assert_allclose(X[6, :2], [1.0, 0.0], atol=1e-12)  # 6h: quarter turn
    # PeriodIndex gives the same monthly features as the DatetimeIndex
    pm = pd.period_range("2020-01", periods=24, freq="M")
    dm = pd.date_range("2020-01-31", periods=24, freq="ME")
    np.testing.assert_allclose(calendar_features(pm)[0], calendar_features(dm)[0])
    X, names = calendar_features(pd.RangeIndex(10))
    assert X.shape == (10, 0) and names == []
    X, _ = calendar_features(pd.period_range("2020", periods=5, freq="Y"))
    assert X.shape == (5, 0)
    with pytest.raises(ValueError, match="pass freq="):
        calendar_features(pd.DatetimeIndex(["2020-01-01", "2020-03-05"]))


def test_seasonal_period_and_category():
    expected = {"h": 24, "D": 7, "B": 5, "W-SUN": 52, "W-MON": 52, "MS": 12, "ME": 12,
                "QS": 4, "QE": 4, "YS": 1, "YE": 1, "15min": 96, "30min": 48, "2h": 12,
                "min": 1440}
    for f, p in expected.items():
        assert seasonal_period(f) == p, f
        assert seasonal_period(pd.tseries.frequencies.to_offset(f)) == p
    assert seasonal_period(None) == 1 and seasonal_period(2) == 1
    assert seasonal_period(pd.period_range("2020", periods=2, freq="M").freq) == 12
    assert freq_category("6h") == "subdaily" and freq_category("2MS") == "monthly"
    assert freq_category(1) is None


def test_no_pandas_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. pandas 3's infer_freq FutureWarning
        idx = _no_freq(pd.date_range("2020-01-01", periods=50, freq="B"))
        grid, f = check_index(idx)
        future_index(grid, 3)
        calendar_features(grid)
        with pytest.raises(ValueError, match="irregular"):
            check_index(idx.delete(7))

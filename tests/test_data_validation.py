"""Tests for tsrnn.data.validation: to_panel, Panel.format_output, check_min_length."""

import numpy as np
import pandas as pd
import pytest

from tsrnn.data.timeindex import future_index
from tsrnn.data.validation import Panel, check_min_length, to_panel


def _daily(n=10, start="2024-01-01", name=None, tz=None, freq="D"):
    idx = pd.date_range(start, periods=n, freq=freq, tz=tz)
    return pd.Series(np.arange(n, dtype=float), index=pd.DatetimeIndex(idx, freq=None), name=name)


def _futures(panel, h):
    return [future_index(ix, h) for ix in panel.indices]


# --------------------------------------------------------------------------- kinds


def test_series_round_trip():
    y = _daily(name="sales")
    p = to_panel(y)
    assert isinstance(p, Panel)
    assert p.kind == "series" and p.ids == ["sales"] and p.columns == ["sales"]
    assert p.values[0].shape == (10, 1) and p.values[0].dtype == np.float64
    assert p.freq == pd.offsets.Day() and p.indices[0].freq == p.freq
    np.testing.assert_array_equal(p.values[0][:, 0], y.to_numpy())
    # in-sample output mirrors the input exactly
    back = p.format_output(p.values)
    pd.testing.assert_series_equal(back, y, check_freq=False)
    fut = p.format_output([np.ones(3)], _futures(p, 3))
    assert isinstance(fut, pd.Series) and fut.name == "sales"
    assert fut.index.equals(pd.date_range("2024-01-11", periods=3, freq="D"))
    # extra columns -> DataFrame
    iv = p.format_output({"lower": [np.zeros(3)], "upper": [np.ones(3)]}, _futures(p, 3))
    assert list(iv.columns) == ["lower", "upper"] and iv.index.freq == p.freq
    both = p.format_output([np.ones(3)], _futures(p, 3), extra={"lower": [np.zeros(3)]})
    assert list(both.columns) == ["sales", "lower"]
    assert p.format_output(p.values, column_suffix="_score").name == "sales_score"


def test_unnamed_series_and_values_are_copied():
    y = _daily()
    p = to_panel(y)
    assert p.ids == ["y"] and p.format_output([np.ones(2)], _futures(p, 2)).name is None
    p.values[0][:] = -1.0
    assert y.iloc[0] == 0.0  # the user's data is never modified


def test_wide_frame_round_trip():
    idx = pd.date_range("2024-01-01", periods=8, freq="h", name="time")
    df = pd.DataFrame({"a": np.arange(8.0), "b": np.arange(8) % 2 == 0, "c": np.arange(8)},
                      index=idx)
    p = to_panel(df)
    assert p.kind == "frame" and p.columns == ["a", "b", "c"] and p.values[0].shape == (8, 3)
    np.testing.assert_array_equal(p.values[0][:, 1], [1, 0] * 4)  # bool as float
    back = p.format_output(p.values)
    pd.testing.assert_frame_equal(back, df.astype(float))
    fut = _futures(p, 2)
    out = p.format_output([np.ones((2, 3))], fut)
    assert list(out.columns) == ["a", "b", "c"] and out.index.name == "time"
    iv = p.format_output({"lower": [np.zeros((2, 3))], "upper": [np.ones((2, 3))]}, fut)
    assert isinstance(iv.columns, pd.MultiIndex)
    assert list(iv.columns) == [(c, k) for c in "abc" for k in ("lower", "upper")]
    assert list(iv["b"].columns) == ["lower", "upper"]
    # one score per time step for the whole frame (width 1) -> a Series
    s = p.format_output([np.ones(8)], column_suffix="_score")
    assert isinstance(s, pd.Series) and s.name == "score"
    with pytest.raises(ValueError, match="must have shape"):
        p.format_output([np.ones((2, 2))], fut)


def test_list_and_dict_round_trip():
    a, b = _daily(10, name="a"), _daily(6, start="2024-01-03", name="b")
    p = to_panel([a, b])
    assert p.kind == "list" and p.ids == [0, 1] and p.lengths == [10, 6]
    out = p.format_output([np.ones(2), np.zeros(2)], _futures(p, 2))
    assert isinstance(out, list) and [s.name for s in out] == ["a", "b"]
    assert out[1].index[0] == pd.Timestamp("2024-01-09")
    pd.testing.assert_series_equal(p.format_output(p.values)[1], b, check_freq=False)
    q = to_panel({"x": a, "y": b})
    assert q.kind == "dict" and q.ids == ["x", "y"]
    out = q.format_output([np.ones(2), np.zeros(2)], _futures(q, 2))
    assert list(out) == ["x", "y"] and out["y"].tolist() == [0.0, 0.0]
    iv = q.format_output({"lower": [np.zeros(2)] * 2, "upper": [np.ones(2)] * 2}, _futures(q, 2))
    assert list(iv["x"].columns) == ["lower", "upper"]


def test_long_round_trip_any_row_order():
    ds_a = pd.date_range("2024-01-01", periods=5, freq="MS")
    ds_b = pd.date_range("2024-03-01", periods=4, freq="MS")
    long = pd.DataFrame({
        "unique_id": ["b"] * 4 + ["a"] * 5,
        "ds": list(ds_b) + list(ds_a),
        "y": np.arange(9.0),
        "other": "ignored",
    }).sample(frac=1.0, random_state=0)
    p = to_panel(long)
    assert p.kind == "long" and p.ids == ["a", "b"] and p.freq == pd.offsets.MonthBegin()
    np.testing.assert_array_equal(p.values[0][:, 0], [4, 5, 6, 7, 8])
    np.testing.assert_array_equal(p.values[1][:, 0], [0, 1, 2, 3])
    back = p.format_output(p.values)
    expected = long[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected)
    fut = p.format_output([np.ones(2), np.zeros(2)], _futures(p, 2))
    assert list(fut.columns) == ["unique_id", "ds", "y"]
    assert fut["ds"].tolist() == [pd.Timestamp("2024-06-01"), pd.Timestamp("2024-07-01"),
                                  pd.Timestamp("2024-07-01"), pd.Timestamp("2024-08-01")]
    iv = p.format_output({"lower": [np.zeros(2)] * 2, "upper": [np.ones(2)] * 2}, _futures(p, 2))
    assert list(iv.columns) == ["unique_id", "ds", "lower", "upper"]
    both = p.format_output([np.ones(2)] * 2, _futures(p, 2), extra={"lower": [np.zeros(2)] * 2})
    assert list(both.columns) == ["unique_id", "ds", "y", "lower"]


def test_long_custom_columns_and_no_id():
    long = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "t": [0, 1, 2, 0, 1, 2],
                         "v": np.arange(6.0)})
    p = to_panel(long, id_col="item", time_col="t", target_col="v")
    assert p.ids == [1, 2] and p.freq == 1
    out = p.format_output([np.ones(1)] * 2, _futures(p, 1))
    assert list(out.columns) == ["item", "t", "v"] and out["t"].tolist() == [3, 3]
    assert out["item"].dtype == long["item"].dtype
    single = to_panel(pd.DataFrame({"ds": pd.date_range("2024", periods=4, freq="W"),
                                    "y": np.arange(4.0)}))
    assert single.n_series == 1 and single.freq == pd.offsets.Week(weekday=6)
    out = single.format_output([np.ones(2)], _futures(single, 2))
    assert list(out.columns) == ["ds", "y"]


def test_period_and_range_indices():
    s = pd.Series(np.arange(6.0), index=pd.period_range("2020Q1", periods=6, freq="Q"))
    p = to_panel(s)
    assert p.index_kind == "period"
    assert p.format_output([np.ones(2)], _futures(p, 2)).index[0] == pd.Period("2021Q3")
    r = to_panel(pd.Series(np.arange(5.0), index=pd.Index([0, 2, 4, 6, 8])))
    assert isinstance(r.indices[0], pd.RangeIndex) and r.freq == 2


def test_tz_aware_and_b_freq_mixture():
    p = to_panel(_daily(tz="America/New_York"))
    assert str(p.indices[0].tz) == "America/New_York"
    # 5 weekdays alone look daily ('D'); together with longer business-daily data: 'B'
    x = pd.Series(np.arange(12.0), index=pd.bdate_range("2024-01-01", periods=12))
    z = pd.Series(np.arange(5.0), index=pd.bdate_range("2024-01-01", periods=5))
    assert to_panel({"x": x, "z": z}).freq == pd.offsets.BusinessDay()


# --------------------------------------------------------------------------- missing


def test_missing_error_and_interpolate():
    y = _daily(8)
    y.iloc[[0, 3, 4]] = np.nan
    with pytest.raises(ValueError, match=r"3 missing value\(s\).*2024-01-01.*missing='interpolate'"):
        to_panel(y)
    p = to_panel(y, missing="interpolate")
    np.testing.assert_allclose(p.values[0][:, 0], [1, 1, 2, 3, 4, 5, 6, 7])
    assert p.n_filled == [3]
    with pytest.raises(ValueError, match="missing"):
        to_panel(y, missing="drop")


def test_interpolation_is_in_time():
    # month-end steps differ in length: time interpolation weights by days
    idx = pd.date_range("2023-01-31", periods=3, freq="ME")  # Jan 31, Feb 28, Mar 31
    y = pd.Series([0.0, np.nan, 59.0], index=idx)
    p = to_panel(y, missing="interpolate")
    np.testing.assert_allclose(p.values[0][1, 0], 28.0)


def test_missing_timestamps_with_freq():
    y = _daily(10).drop(pd.Timestamp("2024-01-05"))
    with pytest.raises(ValueError, match="irregular"):
        to_panel(y)
    with pytest.raises(ValueError, match=r"1 of them at timestamps absent from the index"):
        to_panel(y, freq="D")
    p = to_panel(y, freq="D", missing="interpolate")
    assert len(p.indices[0]) == 10 and p.values[0][4, 0] == 4.0


def test_all_nan_and_inf():
    y = _daily(5) * np.nan
    with pytest.raises(ValueError, match="only missing values"):
        to_panel(y, missing="interpolate")
    df = pd.DataFrame({"a": np.arange(5.0), "b": np.nan}, index=_daily(5).index)
    with pytest.raises(ValueError, match=r"column 'b'.*only missing values.*drop that column"):
        to_panel(df, missing="interpolate")
    z = _daily(5)
    z.iloc[2] = np.inf
    with pytest.raises(ValueError, match=r"1 infinite value\(s\).*2024-01-03"):
        to_panel(z)
    with pytest.raises(ValueError, match="infinite"):
        to_panel(z, missing="interpolate")


# --------------------------------------------------------------------------- errors


def test_non_numeric():
    with pytest.raises(TypeError, match=r"column 'c' of y is not numeric.*'x'.*pd\.to_numeric"):
        to_panel(pd.DataFrame({"a": np.arange(3.0), "c": ["x", "y", "z"]},
                              index=pd.date_range("2024", periods=3)))
    with pytest.raises(TypeError, match="not numeric"):
        to_panel(pd.Series(["1", "2", "x"], index=pd.date_range("2024", periods=3)))
    with pytest.raises(TypeError, match="not numeric"):
        to_panel(pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2024", periods=3), dtype=object))
    # nullable numbers and booleans are fine
    p = to_panel(pd.Series([1, None, 3], dtype="Int64", index=pd.date_range("2024", periods=3)),
                 missing="interpolate")
    np.testing.assert_allclose(p.values[0][:, 0], [1, 2, 3])


def test_index_errors_propagate():
    y = _daily(6)
    with pytest.raises(ValueError, match="sort_index"):
        to_panel(y.iloc[::-1])
    with pytest.raises(ValueError, match="duplicated"):
        to_panel(pd.concat([y, y.iloc[:1]]).sort_index())
    with pytest.raises(TypeError, match="to_datetime"):
        to_panel(pd.Series([1.0, 2.0], index=["2024-01-01", "2024-01-02"]))
    with pytest.raises(ValueError, match="pass freq="):
        to_panel(y.iloc[:2])
    assert to_panel(y.iloc[:2], freq="D").lengths == [2]


def test_long_format_errors():
    long = pd.DataFrame({"unique_id": ["a"] * 3, "ds": pd.date_range("2024", periods=3),
                         "value": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['y'\].*'value'.*target_col="):
        to_panel(long)
    ok = to_panel(long, target_col="value")
    assert ok.ids == ["a"]
    dup = pd.concat([long, long.iloc[[1]]])
    with pytest.raises(ValueError, match=r"1 duplicated \(unique_id, ds\) pair.*'a'.*groupby"):
        to_panel(dup, target_col="value")
    with pytest.raises(TypeError, match=r"column 'ds'.*pd\.to_datetime"):
        to_panel(long.assign(ds=long["ds"].astype(str)), target_col="value")
    with pytest.raises(ValueError, match="missing id"):
        to_panel(long.assign(unique_id=[None, "a", "a"]), target_col="value")
    with pytest.raises(ValueError, match="empty"):
        to_panel(long.iloc[:0], target_col="value")
    gappy = pd.DataFrame({"unique_id": ["a"] * 4, "ds": pd.to_datetime(
        ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-06"]), "y": 1.0})
    with pytest.raises(ValueError, match=r"series 'a' of y has irregular"):
        to_panel(gappy)


def test_container_errors():
    with pytest.raises(ValueError, match="empty list"):
        to_panel([])
    with pytest.raises(ValueError, match="empty dict"):
        to_panel({})
    with pytest.raises(ValueError, match="empty"):
        to_panel(pd.Series([], dtype=float))
    with pytest.raises(ValueError, match="without columns"):
        to_panel(pd.DataFrame(index=pd.date_range("2024", periods=3)))
    with pytest.raises(TypeError, match=r"y\[1\] is a ndarray.*pd\.Series"):
        to_panel([_daily(), np.arange(3.0)])
    with pytest.raises(TypeError, match=r"y\['b'\] is a DataFrame"):
        to_panel({"a": _daily(), "b": _daily().to_frame()})
    with pytest.raises(TypeError, match="must be a pandas Series"):
        to_panel(np.arange(5.0))
    with pytest.raises(ValueError, match=r"mixes frequencies.*'D'.*'h'"):
        to_panel([_daily(), _daily(freq="h")])
    with pytest.raises(TypeError, match="mixes index types"):
        to_panel([_daily(), pd.Series(np.arange(5.0))])
    with pytest.raises(ValueError, match="mixes time zones"):
        to_panel([_daily(), _daily(tz="UTC")])
    df = pd.DataFrame(np.ones((3, 2)), columns=["a", "a"], index=pd.date_range("2024", periods=3))
    with pytest.raises(ValueError, match="duplicated column names"):
        to_panel(df)


def test_check_min_length():
    p = to_panel({"abc": _daily(30), "d": _daily(80)})
    check_min_length(p, 30)
    with pytest.raises(ValueError, match=r"^series 'abc' has 30 observations; window \+ horizon "
                                         r"= 72 are needed; lower window or horizon$"):
        check_min_length(p, 72, "window + horizon")

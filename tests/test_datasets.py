"""Tests for tsrnn.datasets."""

from importlib import resources

import json

import numpy as np
import pandas as pd
import pytest

from tsrnn.datasets import NABSeries, load_airline, load_nab


def test_load_airline_values():
    y = load_airline()
    assert isinstance(y, pd.Series)
    assert len(y) == 144
    assert y.name == "passengers"
    assert y.dtype == np.float64
    assert y.iloc[0] == 112 and y.iloc[-1] == 432
    assert y.sum() == 40363
    assert not y.isna().any()


def test_load_airline_index_is_monthly():
    y = load_airline()
    idx = y.index
    assert isinstance(idx, pd.DatetimeIndex)
    assert idx.freqstr == "MS"
    assert idx[0] == pd.Timestamp("1949-01-01")
    assert idx[-1] == pd.Timestamp("1960-12-01")
    assert idx.is_monotonic_increasing and idx.is_unique
    pd.testing.assert_index_equal(
        idx, pd.date_range("1949-01-01", periods=144, freq="MS", name=idx.name)
    )


def test_load_airline_returns_fresh_copy():
    y = load_airline()
    y.iloc[0] = -1.0
    assert load_airline().iloc[0] == 112


def test_airline_file_is_package_data():
    path = resources.files("tsrnn.datasets").joinpath("data", "airline.csv")
    assert path.is_file()
    assert path.read_text(encoding="utf-8").splitlines()[0] == "month,passengers"


def test_load_nab_nyc_taxi():
    taxi = load_nab("nyc_taxi")
    assert isinstance(taxi, NABSeries)
    y = taxi.y
    assert isinstance(y, pd.Series) and y.name == "value" and y.dtype == np.float64
    assert len(y) == 10320 and not y.isna().any()
    assert y.iloc[0] == 10844 and y.iloc[1] == 8127 and y.sum() == 156219716
    assert isinstance(y.index, pd.DatetimeIndex) and y.index.freqstr == "30min"
    pd.testing.assert_index_equal(
        y.index, pd.date_range("2014-07-01", "2015-01-31 23:30", freq="30min", name="timestamp"))
    assert taxi.name == "nyc_taxi" and taxi.file == "realKnownCause/nyc_taxi.csv"


def test_load_nab_windows_and_labels():
    taxi = load_nab()
    assert len(taxi.windows) == 5
    assert taxi.windows[0] == (pd.Timestamp("2014-10-30 15:30"), pd.Timestamp("2014-11-03 22:30"))
    assert taxi.windows[-1] == (pd.Timestamp("2015-01-24 20:30"), pd.Timestamp("2015-01-29 03:30"))
    assert all(s < e for s, e in taxi.windows)
    assert all(a[1] < b[0] for a, b in zip(taxi.windows, taxi.windows[1:]))
    lab = taxi.labels
    assert lab.name == "label" and lab.dtype == np.int64
    pd.testing.assert_index_equal(lab.index, taxi.y.index)
    assert set(lab.unique()) == {0, 1}
    assert int(lab.sum()) == 1035  # 5 windows of 207 rows (NAB's null results: FN = 1035)
    for start, end in taxi.windows:  # both ends inclusive
        assert lab[start] == 1 and lab[end] == 1
        assert lab[start - pd.Timedelta("30min")] == 0 and lab[end + pd.Timedelta("30min")] == 0


def test_load_nab_unpacks_and_aliases():
    y, windows = load_nab("nyc_taxi")
    assert len(y) == 10320 and len(windows) == 5
    pd.testing.assert_series_equal(load_nab("realKnownCause/nyc_taxi.csv").y, y)


def test_load_nab_unknown_name_lists_what_ships():
    with pytest.raises(ValueError, match="nyc_taxi"):
        load_nab("art_daily_jumpsup")


def test_nab_files_are_package_data():
    data = resources.files("tsrnn.datasets").joinpath("data")
    assert data.joinpath("nab_nyc_taxi.csv").read_text(encoding="utf-8").startswith("timestamp,value\n")
    wins = json.loads(data.joinpath("nab_nyc_taxi_windows.json").read_text(encoding="utf-8"))
    assert list(wins) == ["realKnownCause/nyc_taxi.csv"] and len(wins["realKnownCause/nyc_taxi.csv"]) == 5
    licence = data.joinpath("NAB_LICENSE.txt").read_text(encoding="utf-8")
    assert "Numenta" in licence and "Permission is hereby granted, free of charge" in licence

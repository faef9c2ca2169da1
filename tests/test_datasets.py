"""Tests for tsrnn.datasets."""

from importlib import resources

import numpy as np
import pandas as pd

from tsrnn.datasets import load_airline


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

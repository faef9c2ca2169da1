"""Loaders for the small data sets shipped with tsrnn.

Each loader reads a file from ``tsrnn/datasets/data/`` through :mod:`importlib.resources`
(so it works from a wheel, a zip or an editable install) and returns a pandas object with
a regular time index. To add a data set: put the file in ``data/``, describe it in
``_DATASETS`` below, and write a thin public ``load_*`` function around
:func:`_read_series` (or :func:`_data_path` for other layouts); export it from
``tsrnn/datasets/__init__.py``.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

DATA_MODULE = "tsrnn.datasets"
DATA_DIR = "data"

# name -> how to read it: file under data/, the time column, its format, the value
# column, the frequency of the returned index and the name of the returned Series.
_DATASETS = {
    "airline": {
        "file": "airline.csv",
        "time_col": "month",
        "time_format": "%Y-%m",
        "value_col": "passengers",
        "freq": "MS",
        "name": "passengers",
    },
}


def _data_path(filename):
    """A :class:`importlib.resources` traversable for ``data/<filename>``."""
    path = resources.files(DATA_MODULE).joinpath(DATA_DIR, filename)
    if not path.is_file():
        raise FileNotFoundError(
            f"tsrnn data file {DATA_DIR}/{filename} is missing from the installed package; "
            f"reinstall tsrnn (the wheel ships tsrnn/datasets/data/*)"
        )
    return path


def _read_series(key):
    """Read the data set ``key`` of ``_DATASETS`` as a Series on a regular DatetimeIndex."""
    spec = _DATASETS[key]
    with _data_path(spec["file"]).open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh)
    index = pd.DatetimeIndex(
        pd.to_datetime(frame[spec["time_col"]], format=spec["time_format"]),
        freq=spec["freq"],
        name=spec["time_col"],
    )
    values = frame[spec["value_col"]].to_numpy(dtype="float64")
    return pd.Series(values, index=index, name=spec["name"])


def load_airline():
    """Monthly international airline passengers, 1949-1960 (the "airline" series).

    The classic AirPassengers data of Box & Jenkins (*Time Series Analysis: Forecasting
    and Control*, 1976, Series G): monthly totals of international airline passengers,
    in thousands, January 1949 to December 1960 — 144 values with a trend and a
    multiplicative yearly seasonality (period 12). Public domain.

    Returns
    -------
    pandas.Series
        144 float64 values named ``"passengers"`` on a :class:`pandas.DatetimeIndex`
        of month starts (``freq="MS"``) named ``"month"``.

    Examples
    --------
    >>> from tsrnn.datasets import load_airline
    >>> y = load_airline()
    >>> len(y), y.index.freqstr
    (144, 'MS')
    >>> y.head(3)
    month
    1949-01-01    112.0
    1949-02-01    118.0
    1949-03-01    132.0
    Freq: MS, Name: passengers, dtype: float64
    """
    return _read_series("airline")

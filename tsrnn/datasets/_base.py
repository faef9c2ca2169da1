"""Loaders for the small data sets shipped with tsrnn.

Each loader reads a file from ``tsrnn/datasets/data/`` through :mod:`importlib.resources`
(so it works from a wheel, a zip or an editable install) and returns a pandas object with
a regular time index. To add a data set: put the file in ``data/``, describe it in
``_DATASETS`` below, and write a thin public ``load_*`` function around
:func:`_read_series` (or :func:`_data_path` for other layouts); export it from
``tsrnn/datasets/__init__.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
    "nab_nyc_taxi": {
        "file": "nab_nyc_taxi.csv",
        "time_col": "timestamp",
        "time_format": "%Y-%m-%d %H:%M:%S",
        "value_col": "value",
        "freq": "30min",
        "name": "value",
        # NAB extras: the windows file and the file's name in the NAB corpus
        "windows": "nab_nyc_taxi_windows.json",
        "nab_file": "realKnownCause/nyc_taxi.csv",
    },
}

# NAB series that ship with tsrnn: short name -> key of _DATASETS
_NAB = {"nyc_taxi": "nab_nyc_taxi"}


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


@dataclass(frozen=True)
class NABSeries:
    """A Numenta Anomaly Benchmark series with its labelled anomaly windows.

    Attributes
    ----------
    y : pandas.Series
        The values on a regular :class:`pandas.DatetimeIndex`.
    windows : list of (pandas.Timestamp, pandas.Timestamp)
        NAB's anomaly windows, ``(start, end)``, both ends inclusive, in time order.
    labels : pandas.Series
        0/1 (int64) on ``y``'s index, 1 inside a window; named ``"label"``.
    name : str
        The short name (``"nyc_taxi"``).
    file : str
        The file's name in the NAB corpus (``"realKnownCause/nyc_taxi.csv"``), the key
        to use with :func:`tsrnn.nab.score_corpus`.

    Unpacks as ``y, windows = load_nab()``.
    """

    y: pd.Series
    windows: list
    labels: pd.Series
    name: str
    file: str

    def __iter__(self):
        return iter((self.y, self.windows))


def load_nab(name="nyc_taxi"):
    """A series of the Numenta Anomaly Benchmark (NAB v1.1) with its anomaly windows.

    Only ``"nyc_taxi"`` ships with tsrnn: the number of New York City taxi passengers in
    30-minute buckets, 2014-07-01 to 2015-01-31 (10 320 values), from NAB's
    ``realKnownCause/nyc_taxi.csv``, with NAB's five labelled anomaly windows (NYC
    marathon, Thanksgiving, Christmas, New Year, a January snow storm). NAB is
    Copyright 2014-2024 Numenta Inc. and MIT-licensed; its licence ships as
    ``tsrnn/datasets/data/NAB_LICENSE.txt``. The full corpus (58 files) is scored with
    :mod:`tsrnn.nab`.

    Parameters
    ----------
    name : str, default "nyc_taxi"
        The series; ``"realKnownCause/nyc_taxi.csv"`` (the NAB file name) is accepted too.

    Returns
    -------
    NABSeries
        ``.y`` (float64 Series named ``"value"`` on a DatetimeIndex named ``"timestamp"``
        with ``freq="30min"``), ``.windows`` (list of ``(start, end)`` Timestamps),
        ``.labels`` (0/1 Series aligned to ``.y``), ``.name`` and ``.file``; it unpacks
        as ``y, windows = load_nab()``.

    Raises
    ------
    ValueError
        For a series that does not ship with tsrnn.

    Examples
    --------
    >>> from tsrnn.datasets import load_nab
    >>> taxi = load_nab("nyc_taxi")
    >>> len(taxi.y), taxi.y.index.freqstr, len(taxi.windows), int(taxi.labels.sum())
    (10320, '30min', 5, 1035)
    >>> taxi.windows[0]
    (Timestamp('2014-10-30 15:30:00'), Timestamp('2014-11-03 22:30:00'))
    >>> y, windows = load_nab()
    """
    key = _NAB.get(name)
    if key is None:
        by_file = {_DATASETS[k]["nab_file"]: k for k in _NAB.values()}
        key = by_file.get(name)
    if key is None:
        shipped = sorted(_NAB) + sorted(_DATASETS[k]["nab_file"] for k in _NAB.values())
        raise ValueError(
            f"NAB series {name!r} does not ship with tsrnn; available: {shipped}. "
            f"The full NAB corpus is at https://github.com/numenta/NAB (score it with tsrnn.nab)"
        )
    spec = _DATASETS[key]
    y = _read_series(key)
    with _data_path(spec["windows"]).open("r", encoding="utf-8") as fh:
        raw = json.load(fh)[spec["nab_file"]]
    windows = sorted((pd.Timestamp(start), pd.Timestamp(end)) for start, end in raw)
    labels = pd.Series(0, index=y.index, name="label", dtype="int64")
    for start, end in windows:
        labels[(y.index >= start) & (y.index <= end)] = 1
    short = next(k for k, v in _NAB.items() if v == key)
    return NABSeries(y=y, windows=windows, labels=labels, name=short, file=spec["nab_file"])

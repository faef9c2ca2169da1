"""Forecast accuracy metrics and the M4 competition's reference forecasts.

Everything here is plain NumPy: inputs may be lists, NumPy arrays or pandas Series,
outputs are Python floats (metrics) or NumPy arrays (forecasts, indices).

The definitions follow the M4 competitor's guide and the organisers' R benchmark code
(``Benchmarks and Evaluation.R`` in the M4-methods repository):

* sMAPE in percent, ``200 |y - yhat| / (|y| + |yhat|)`` averaged over the horizon;
* MASE scaled by the in-sample mean absolute error of the seasonal naive forecast at
  lag ``m``;
* Naive2: the naive forecast of the seasonally adjusted series (classical
  multiplicative decomposition), applied only where the 90 % autocorrelation test at
  lag ``m`` finds seasonality;
* OWA of a set of series: the mean of the ratios of the set's mean sMAPE and mean MASE
  to those of Naive2.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "mae",
    "rmse",
    "smape",
    "mase",
    "seasonality_test",
    "seasonal_indices",
    "naive2",
    "seasonal_naive",
    "owa",
    "m4_evaluate",
]


# --------------------------------------------------------------------------- helpers
def _as_array(x, name, ndim=None):
    """Float64 array from an array-like or pandas object; reject NaN/inf and empties."""
    if x is None:
        raise TypeError(f"{name} is required, got None")
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        try:  # nullable pandas dtypes (Float64, Int64 with <NA>) -> float with NaN
            x = x.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            x = x.to_numpy()
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(
            f"{name} must be numeric, got an array of dtype {arr.dtype}; convert it with "
            f"pd.to_numeric or .astype(float) first"
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one value")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int(arr.size - finite.sum())
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s) out of {arr.size}; "
            f"drop or impute them before scoring"
        )
    return arr


def _pair(y_true, y_pred):
    y_true = _as_array(y_true, "y_true")
    y_pred = _as_array(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got y_true {y_true.shape} "
            f"and y_pred {y_pred.shape}"
        )
    return y_true, y_pred


def _check_period(m, name="m"):
    if isinstance(m, bool) or not isinstance(m, numbers.Integral):
        raise TypeError(f"{name} must be an integer seasonal period, got {m!r} "
                        f"({type(m).__name__})")
    m = int(m)
    if m < 1:
        raise ValueError(f"{name} must be >= 1 (1 = no seasonality), got {m}")
    return m


def _check_horizon(h):
    if isinstance(h, bool) or not isinstance(h, numbers.Integral):
        raise TypeError(f"h must be an integer forecast horizon, got {h!r} ({type(h).__name__})")
    h = int(h)
    if h < 1:
        raise ValueError(f"h must be >= 1, got {h}")
    return h


def _acf(x, max_lag):
    """Sample autocorrelations at lags 1..max_lag (as R's ``acf``); None if constant."""
    d = x - x.mean()
    denom = float(d @ d)
    if denom == 0.0:
        return None
    n = x.shape[0]
    return np.array([float(d[k:] @ d[: n - k]) / denom for k in range(1, max_lag + 1)])


# --------------------------------------------------------------------------- metrics
def mae(y_true, y_pred):
    """Mean absolute error.

    Parameters
    ----------
    y_true, y_pred : array-like or pandas.Series
        Observed and forecast values, same shape, finite.

    Returns
    -------
    float

    Examples
    --------
    >>> from tsrnn.metrics import mae
    >>> mae([1.0, 2.0, 3.0], [2.0, 2.0, 5.0])  # (1 + 0 + 2) / 3
    1.0
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def rmse(y_true, y_pred):
    """Root mean squared error.

    Parameters
    ----------
    y_true, y_pred : array-like or pandas.Series
        Observed and forecast values, same shape, finite.

    Returns
    -------
    float

    Examples
    --------
    >>> from tsrnn.metrics import rmse
    >>> rmse([0.0, 0.0], [3.0, 4.0])  # sqrt((9 + 16) / 2)
    3.5355339059327378
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def smape(y_true, y_pred):
    """Symmetric mean absolute percentage error, M4 definition, in percent.

    ``mean(200 * |y - yhat| / (|y| + |yhat|))``; a term with ``y = yhat = 0`` counts
    as 0. The value lies in [0, 200].

    Parameters
    ----------
    y_true, y_pred : array-like or pandas.Series
        Observed and forecast values, same shape, finite.

    Returns
    -------
    float

    Examples
    --------
    >>> from tsrnn.metrics import smape
    >>> smape([100.0, 0.0], [50.0, 0.0])  # (200 * 50 / 150 + 0) / 2
    33.333333333333336
    """
    y_true, y_pred = _pair(y_true, y_pred)
    num = 200.0 * np.abs(y_true - y_pred)
    den = np.abs(y_true) + np.abs(y_pred)
    terms = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return float(np.mean(terms))


def _mase_scale(y_train, m):
    n = y_train.shape[0]
    if n < m + 1:
        raise ValueError(
            f"y_train has {n} value(s); the seasonal naive scale of MASE at lag m={m} needs "
            f"at least m + 1 = {m + 1}"
        )
    scale = float(np.mean(np.abs(y_train[m:] - y_train[:-m])))
    if scale == 0.0:
        raise ValueError(
            f"the MASE scale is 0: y_train (length {n}) equals itself shifted by m={m} "
            f"(e.g. a constant or exactly periodic series), so every in-sample seasonal naive error is 0 and "
            f"MASE is undefined; use mae or smape for this series"
        )
    return scale


def mase(y_true, y_pred, y_train, m=1):
    """Mean absolute scaled error, M4 definition.

    The mean absolute forecast error divided by the in-sample mean absolute error of
    the seasonal naive forecast at lag ``m``:
    ``mean|y - yhat| / mean_{t >= m} |y_train[t] - y_train[t - m]|``.

    Parameters
    ----------
    y_true, y_pred : array-like or pandas.Series
        Observed and forecast values over the horizon, same shape, finite.
    y_train : 1-D array-like or pandas.Series
        The in-sample series the forecast was made from (at least ``m + 1`` values,
        not equal to its own lag-``m`` shift).
    m : int, default 1
        Seasonal period of the scaling naive forecast (1 = plain naive).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``y_train`` is shorter than ``m + 1`` or the scale is 0.

    Examples
    --------
    >>> from tsrnn.metrics import mase
    >>> # scale: mean(|3-1|, |4-2|, |6-3|) = 7/3; error: mean(|7-6|, |9-6|) = 2
    >>> mase([7.0, 9.0], [6.0, 6.0], y_train=[1.0, 2.0, 3.0, 4.0, 6.0], m=2)
    0.857142857142857...
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_train = _as_array(y_train, "y_train", ndim=1)
    m = _check_period(m)
    return float(np.mean(np.abs(y_true - y_pred)) / _mase_scale(y_train, m))


# --------------------------------------------------------------- seasonality (M4)
def seasonality_test(y_train, m):
    """M4's 90 % autocorrelation test for seasonality at lag ``m``.

    With ``r_k`` the sample autocorrelation at lag ``k`` and ``n`` the length of the
    series, the series is seasonal when
    ``|r_m| > 1.645 * sqrt((1 + 2 * sum_{k=1}^{m-1} r_k**2) / n)``.
    A series with ``m <= 1``, fewer than ``3 m`` values, or no variance is not
    seasonal.

    Parameters
    ----------
    y_train : 1-D array-like or pandas.Series
    m : int
        Seasonal period (e.g. 12 for monthly, 24 for hourly data).

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.metrics import seasonality_test
    >>> seasonality_test(np.tile([1.0, 5.0, 3.0, 2.0], 6), m=4)
    True
    >>> seasonality_test(np.tile([1.0, 5.0, 3.0, 2.0], 6), m=1)
    False
    """
    y = _as_array(y_train, "y_train", ndim=1)
    m = _check_period(m)
    n = y.shape[0]
    if m <= 1 or n < 3 * m:
        return False
    r = _acf(y, m)
    if r is None:
        return False
    limit = 1.645 * np.sqrt((1.0 + 2.0 * np.sum(r[: m - 1] ** 2)) / n)
    return bool(abs(r[m - 1]) > limit)


def _centred_ma(y, m):
    """Centred moving average of order m (2 x m for even m), NaN where undefined."""
    if m % 2 == 0:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        w = np.ones(m) / m
    half = (w.shape[0] - 1) // 2
    out = np.full(y.shape[0], np.nan)
    out[half : y.shape[0] - half] = np.convolve(y, w, mode="valid")
    return out


def seasonal_indices(y_train, m):
    """Multiplicative seasonal indices of classical decomposition.

    The trend is the centred moving average of order ``m`` (a 2 x ``m`` moving average
    when ``m`` is even); the index of season ``i`` is the mean of ``y / trend`` over the
    positions ``i, i + m, i + 2m, ...`` where the trend is defined, and the indices are
    normalised to mean 1. This is R's ``decompose(type="multiplicative")`` as used by
    the M4 benchmarks.

    Parameters
    ----------
    y_train : 1-D array-like or pandas.Series
        At least ``2 m`` values; the moving average must not vanish.
    m : int
        Seasonal period, >= 2.

    Returns
    -------
    numpy.ndarray of shape (m,)
        ``indices[i]`` belongs to the positions ``t`` with ``t % m == i`` (counted from
        the first value of ``y_train``).

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.metrics import seasonal_indices
    >>> seasonal_indices(np.tile([1.0, 3.0], 4), m=2)  # trend 2 everywhere
    array([0.5, 1.5])
    """
    y = _as_array(y_train, "y_train", ndim=1)
    m = _check_period(m)
    if m < 2:
        raise ValueError(f"seasonal indices need a seasonal period m >= 2, got m={m}")
    n = y.shape[0]
    if n < 2 * m:
        raise ValueError(
            f"y_train has {n} value(s); classical decomposition with period m={m} needs at "
            f"least two full periods ({2 * m} values)"
        )
    trend = _centred_ma(y, m)
    if np.any(trend == 0.0):
        raise ValueError(
            "multiplicative decomposition failed: the centred moving average of y_train "
            "is 0 at some point; multiplicative seasonal indices need a series with a "
            "nonzero level (shift it to positive values)"
        )
    ratio = y / trend  # NaN where the moving average is undefined (both ends)
    pad = (-n) % m
    table = np.r_[ratio, np.full(pad, np.nan)].reshape(-1, m)
    figure = np.nanmean(table, axis=0)
    mean = figure.mean()
    if not np.isfinite(mean) or mean == 0.0:
        raise ValueError(
            "multiplicative decomposition failed: the seasonal ratios average to 0; "
            "multiplicative seasonal indices need a series with a positive level"
        )
    return figure / mean


# ----------------------------------------------------------- reference forecasts
def naive2(y_train, h, m):
    """M4's Naive2 forecast.

    If :func:`seasonality_test` finds seasonality at lag ``m``, the series is divided by
    its multiplicative :func:`seasonal_indices`, forecast by its last value, and
    multiplied by the indices continuing the seasonal cycle; otherwise it is the plain
    naive forecast (the last value repeated).

    Parameters
    ----------
    y_train : 1-D array-like or pandas.Series
    h : int
        Forecast horizon.
    m : int
        Seasonal period (1 = no seasonality: plain naive).

    Returns
    -------
    numpy.ndarray of shape (h,)

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.metrics import naive2
    >>> naive2(np.tile([1.0, 3.0, 2.0], 4), h=4, m=3)  # indices 0.5, 1.5, 1.0
    array([1., 3., 2., 1.])
    >>> naive2([1.0, 2.0, 4.0], h=2, m=1)
    array([4., 4.])
    """
    y = _as_array(y_train, "y_train", ndim=1)
    h = _check_horizon(h)
    m = _check_period(m)
    n = y.shape[0]
    if not seasonality_test(y, m):
        return np.full(h, y[-1])
    si = seasonal_indices(y, m)
    level = y[-1] / si[(n - 1) % m]
    return level * si[(n + np.arange(h)) % m]


def seasonal_naive(y_train, h, m):
    """Seasonal naive forecast: the value one season earlier, cycled over the horizon.

    Parameters
    ----------
    y_train : 1-D array-like or pandas.Series
        At least ``m`` values.
    h : int
        Forecast horizon.
    m : int
        Seasonal period (1 = plain naive).

    Returns
    -------
    numpy.ndarray of shape (h,)

    Examples
    --------
    >>> from tsrnn.metrics import seasonal_naive
    >>> seasonal_naive([1.0, 2.0, 3.0, 4.0, 5.0], h=3, m=2)
    array([4., 5., 4.])
    """
    y = _as_array(y_train, "y_train", ndim=1)
    h = _check_horizon(h)
    m = _check_period(m)
    if y.shape[0] < m:
        raise ValueError(
            f"y_train has {y.shape[0]} value(s); the seasonal naive forecast with period "
            f"m={m} needs at least one full season ({m} values)"
        )
    last = y[-m:]
    return last[np.arange(h) % m].copy()


# --------------------------------------------------------------------------- M4 OWA
def owa(smape_model, mase_model, smape_naive2, mase_naive2):
    """Overall weighted average of M4: ``0.5 * (sMAPE/sMAPE_Naive2 + MASE/MASE_Naive2)``.

    Parameters
    ----------
    smape_model, mase_model : float
        The model's (mean) sMAPE and MASE.
    smape_naive2, mase_naive2 : float
        Naive2's (mean) sMAPE and MASE on the same series; must be > 0.

    Returns
    -------
    float
        1.0 means as accurate as Naive2; lower is better.

    Examples
    --------
    >>> from tsrnn.metrics import owa
    >>> owa(9.0, 1.0, 18.0, 2.0)  # 0.5 * (0.5 + 0.5)
    0.5
    """
    vals = {}
    for name, v in (("smape_model", smape_model), ("mase_model", mase_model),
                    ("smape_naive2", smape_naive2), ("mase_naive2", mase_naive2)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise ValueError(f"{name} must be a finite real number, got {v!r}")
        vals[name] = float(v)
    for name in ("smape_naive2", "mase_naive2"):
        if vals[name] <= 0.0:
            raise ValueError(f"{name} must be > 0 to serve as the OWA denominator, "
                             f"got {vals[name]}")
    return 0.5 * (vals["smape_model"] / vals["smape_naive2"]
                  + vals["mase_model"] / vals["mase_naive2"])


def m4_evaluate(y_trains, y_tests, y_preds, m):
    """Score a set of forecasts as the M4 competition did.

    sMAPE and MASE are computed per series (MASE scaled at lag ``m``), averaged over the
    set, and compared with the Naive2 forecasts of the same series; OWA is
    ``0.5 * (mean sMAPE / mean sMAPE_Naive2 + mean MASE / mean MASE_Naive2)``.

    Parameters
    ----------
    y_trains : list of 1-D array-likes
        In-sample series.
    y_tests : list of 1-D array-likes
        Out-of-sample values; ``y_tests[i]`` sets the horizon of series ``i``.
    y_preds : list of 1-D array-likes
        Forecasts, ``len(y_preds[i]) == len(y_tests[i])``.
    m : int
        Seasonal period (used by MASE and by Naive2).

    Returns
    -------
    dict
        ``smape``, ``mase`` (the model's means), ``smape_naive2``, ``mase_naive2``,
        ``owa`` and ``n_series``.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.metrics import m4_evaluate, naive2
    >>> y = np.tile([10.0, 30.0, 20.0], 5) + np.arange(15.0)
    >>> train, test = y[:12], y[12:]
    >>> r = m4_evaluate([train], [test], [naive2(train, 3, 3)], m=3)
    >>> round(r["owa"], 6), r["n_series"]
    (1.0, 1)
    """
    m = _check_period(m)
    seqs = {"y_trains": y_trains, "y_tests": y_tests, "y_preds": y_preds}
    for name, s in seqs.items():
        if isinstance(s, np.ndarray) and s.ndim == 1 and s.dtype != object:
            raise TypeError(f"{name} must be a list of series (one per series), got a 1-D "
                            f"array of shape {s.shape}; wrap a single series as [{name[:-1]}]")
        try:
            len(s)
        except TypeError:
            raise TypeError(f"{name} must be a list of series, got {type(s).__name__}") from None
    lens = {name: len(s) for name, s in seqs.items()}
    if len(set(lens.values())) != 1:
        raise ValueError(f"y_trains, y_tests and y_preds must hold the same number of series, "
                         f"got {lens}")
    if lens["y_trains"] == 0:
        raise ValueError("m4_evaluate needs at least one series, got empty lists")
    s_model, m_model, s_n2, m_n2 = [], [], [], []
    for i, (tr, te, pr) in enumerate(zip(y_trains, y_tests, y_preds)):
        try:
            tr = _as_array(tr, "y_train", ndim=1)
            te = _as_array(te, "y_test", ndim=1)
            pr = _as_array(pr, "y_pred", ndim=1)
            if te.shape != pr.shape:
                raise ValueError(f"y_test has {te.shape[0]} values but y_pred has {pr.shape[0]}")
            scale = _mase_scale(tr, m)
            fc = naive2(tr, te.shape[0], m)
        except ValueError as exc:
            raise ValueError(f"series {i}: {exc}") from exc
        s_model.append(smape(te, pr))
        m_model.append(float(np.mean(np.abs(te - pr))) / scale)
        s_n2.append(smape(te, fc))
        m_n2.append(float(np.mean(np.abs(te - fc))) / scale)
    out = {
        "smape": float(np.mean(s_model)),
        "mase": float(np.mean(m_model)),
        "smape_naive2": float(np.mean(s_n2)),
        "mase_naive2": float(np.mean(m_n2)),
    }
    out["owa"] = owa(out["smape"], out["mase"], out["smape_naive2"], out["mase_naive2"])
    out["n_series"] = len(s_model)
    return out

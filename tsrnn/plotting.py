"""Plots of forecasts, anomalies and backtests (matplotlib, an optional extra).

matplotlib is imported lazily, inside the functions, so ``import tsrnn`` never needs
it; install it with ``pip install 'tsrnn[plot]'``.  Every function draws on ``ax`` (or
on a new figure when ``ax`` is None) and returns the Axes, so plots compose with the
usual matplotlib calls (``ax.figure.savefig(...)``).  Datetime and period indexes get a
date-aware x axis (:class:`matplotlib.dates.AutoDateLocator` with a
:class:`~matplotlib.dates.ConciseDateFormatter`); a ``PeriodIndex`` is drawn at the
start timestamps of its periods.

Functions
---------
plot_forecast     observed series, point forecast and a prediction-interval band
plot_anomalies    a series with its anomalous points, labelled windows and scores
plot_backtest     the tidy output of :meth:`RNNForecaster.backtest`
forecaster_plot   :meth:`RNNForecaster.plot`: the fitted history with its forecast
detector_plot     :meth:`RNNAnomalyDetector.plot`: a series with its scores and labels

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np, pandas as pd
>>> from tsrnn.plotting import plot_forecast
>>> idx = pd.date_range("2024-01-01", periods=30, freq="D")
>>> y = pd.Series(np.arange(30.0), index=idx, name="sales")
>>> fut = pd.date_range("2024-01-31", periods=5, freq="D")
>>> fc = pd.Series(np.arange(30.0, 35.0), index=fut, name="sales")
>>> iv = pd.DataFrame({"lower": fc - 1, "upper": fc + 1})
>>> ax = plot_forecast(y, fc, interval=iv, title="Sales")
>>> ax.get_title(), [t.get_text() for t in ax.get_legend().get_texts()]
('Sales', ['observed', 'forecast', 'prediction interval'])
>>> import matplotlib.pyplot as plt; plt.close("all")
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = ["plot_forecast", "plot_anomalies", "plot_backtest", "forecaster_plot", "detector_plot"]

_MISSING = "plotting needs matplotlib: pip install 'tsrnn[plot]'"
_OBSERVED_COLOR = "black"
_ANOMALY_COLOR = "tab:red"


# ================================================================== helpers
def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return plt


def _get_ax(ax):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _as_frame(obj, name, default_name="y"):
    """A Series or DataFrame as a DataFrame (a Series keeps its name as the column)."""
    if isinstance(obj, pd.Series):
        col = obj.name if obj.name is not None else default_name
        return obj.to_frame(name=col)
    if isinstance(obj, pd.DataFrame):
        if obj.shape[1] == 0:
            raise ValueError(f"{name} has no columns")
        return obj
    raise TypeError(f"{name} must be a pandas Series or DataFrame, got {type(obj).__name__}; "
                    f"wrap a NumPy array as pd.Series(values, index=...)")


def _is_date_index(index):
    return isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex))


def _x_values(index):
    """x coordinates matplotlib understands: datetimes for date indexes, numbers otherwise."""
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            return np.asarray(index.to_pydatetime(), dtype=object)
        return index.to_numpy()
    if isinstance(index, pd.MultiIndex):
        raise TypeError("a MultiIndex cannot be plotted on one time axis; select one series first")
    values = index.to_numpy()
    if not np.issubdtype(values.dtype, np.number):
        raise TypeError(f"the index must be a DatetimeIndex, PeriodIndex or numeric index, got a "
                        f"{type(index).__name__} of dtype {index.dtype}")
    return values


def _x_scalar(value, dates):
    """A window bound as an x coordinate."""
    if dates:
        if isinstance(value, pd.Period):
            value = value.to_timestamp()
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"window bounds of a date-indexed series must be timestamps, got "
                            f"{value!r}") from exc
        return ts.to_pydatetime()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"window bounds of a numerically indexed series must be numbers, got {value!r}")


def _check_same_axis(a, b, name_a, name_b):
    if _is_date_index(a) != _is_date_index(b):
        raise TypeError(f"{name_a} has a {type(a).__name__} but {name_b} has a {type(b).__name__}; "
                        f"both need date indexes or both numeric ones")


def _date_axis(ax):
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _finish(ax, title, dates, legend=True):
    if title is not None:
        ax.set_title(title)
    if dates:
        _date_axis(ax)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")
    ax.grid(True, alpha=0.3)


def _aligned(values, index, name):
    """``values`` (Series aligned on ``index``, or array-like of its length) as an array."""
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise ValueError(f"{name} must be one column, got {values.shape[1]}")
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        if values.index.equals(index):
            return values.to_numpy()
        if len(values.index.intersection(index)) == 0:
            raise ValueError(f"{name}'s index does not overlap the series' index")
        return values.reindex(index).to_numpy()
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a pandas Series or an array-like, got {type(values).__name__}")
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != len(index):
        raise ValueError(f"{name} must have one value per timestamp ({len(index)}), got shape {arr.shape}")
    return arr


def _check_history(history):
    if history is None:
        return None
    if isinstance(history, bool) or not isinstance(history, numbers.Integral):
        raise TypeError(f"history must be an int (the number of last observations shown) or None, "
                        f"got {type(history).__name__}")
    if history < 1:
        raise ValueError(f"history must be >= 1, got {history}")
    return int(history)


# ================================================================ forecasts
def _interval_for(interval, col, single):
    """(lower, upper) Series of ``interval`` for column ``col``."""
    cols = interval.columns
    if isinstance(cols, pd.MultiIndex):
        if col in cols.get_level_values(0):
            sub = interval[col]
        elif single and cols.get_level_values(0).nunique() == 1:
            sub = interval[cols.get_level_values(0)[0]]
        else:
            raise ValueError(f"interval has no (column, lower/upper) entries for column {col!r}; "
                             f"its columns are {list(cols)}")
    else:
        if not single:
            raise ValueError("a wide forecast needs an interval with MultiIndex columns "
                             "(column, lower/upper), as predict_interval returns for a wide frame")
        sub = interval
    missing = [c for c in ("lower", "upper") if c not in sub.columns]
    if missing:
        raise ValueError(f"interval needs columns 'lower' and 'upper' (from predict_interval), "
                         f"got {list(sub.columns)}")
    return sub["lower"], sub["upper"]


def plot_forecast(y, forecast, interval=None, ax=None, title=None, history=None,
                  interval_label=None):
    """Plot observed values, a point forecast and its prediction interval.

    Parameters
    ----------
    y : pandas Series or wide DataFrame
        Observed values (one line per column).
    forecast : pandas Series or DataFrame
        Point forecasts, e.g. :meth:`RNNForecaster.predict`, in the form of ``y``
        (a DataFrame with the columns of ``y``, or a subset of them).
    interval : DataFrame, optional
        Columns ``lower`` and ``upper`` (:meth:`RNNForecaster.predict_interval`); for a
        wide frame the MultiIndex columns ``(column, lower/upper)``.
    ax : matplotlib Axes, optional
        Drawn on a new figure when None.
    title : str, optional
        Default ``"Forecast"``.
    history : int, optional
        Show only the last ``history`` observations.
    interval_label : str, optional
        Legend label of the band (default ``"prediction interval"``).

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    A single series is drawn in black with its forecast in colour; the columns of a
    wide frame are drawn each in its own colour, the forecast dashed.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from tsrnn.plotting import plot_forecast
    >>> y = pd.Series([1.0, 2.0, 3.0, 2.0], index=pd.period_range("2024-01", periods=4, freq="M"))
    >>> fc = pd.Series([2.5, 3.0], index=pd.period_range("2024-05", periods=2, freq="M"))
    >>> ax = plot_forecast(y, fc)
    >>> len(ax.get_lines()), ax.get_title()
    (2, 'Forecast')
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    Y = _as_frame(y, "y")
    F = _as_frame(forecast, "forecast", default_name=Y.columns[0])
    if interval is not None and not isinstance(interval, pd.DataFrame):
        raise TypeError(f"interval must be a DataFrame with columns lower and upper (from "
                        f"predict_interval), got {type(interval).__name__}")
    history = _check_history(history)
    _check_same_axis(Y.index, F.index, "y", "forecast")
    if interval is not None:
        _check_same_axis(Y.index, interval.index, "y", "interval")
    single = Y.shape[1] == 1 and F.shape[1] == 1
    if single:
        pairs = [(Y.columns[0], Y.iloc[:, 0], F.iloc[:, 0])]
    else:
        unknown = [c for c in F.columns if c not in Y.columns]
        if unknown:
            raise ValueError(f"forecast has columns {unknown} that y does not have "
                             f"(y has {list(Y.columns)})")
        pairs = [(c, Y[c], F[c]) for c in F.columns]
    if history is not None:
        Y = Y.iloc[-history:]
    ax = _get_ax(ax)
    dates = _is_date_index(Y.index)
    band_label = interval_label if interval_label is not None else "prediction interval"
    for i, (col, _, fser) in enumerate(pairs):
        obs = Y[col]
        if single:
            obs_color, fc_color, obs_label, fc_label = _OBSERVED_COLOR, "C0", "observed", "forecast"
            blabel = band_label
        else:
            obs_color = fc_color = f"C{i % 10}"
            obs_label, fc_label, blabel = f"{col}", f"{col} forecast", f"{col} {band_label}"
        ax.plot(_x_values(obs.index), obs.to_numpy(dtype=float), color=obs_color, lw=1.2,
                label=obs_label)
        ax.plot(_x_values(fser.index), fser.to_numpy(dtype=float), color=fc_color, lw=1.8,
                ls="-" if single else "--", label=fc_label)
        if interval is not None:
            lo, up = _interval_for(interval, col, single)
            ax.fill_between(_x_values(lo.index), lo.to_numpy(dtype=float),
                            up.reindex(lo.index).to_numpy(dtype=float), color=fc_color,
                            alpha=0.25, lw=0, label=blabel)
    if isinstance(y, pd.Series) and y.name is not None:
        ax.set_ylabel(str(y.name))
    _finish(ax, "Forecast" if title is None else title, dates)
    return ax


# ================================================================ anomalies
def plot_anomalies(y, scores=None, labels=None, threshold=None, windows=None, ax=None, title=None):
    """Plot a series with its anomalies, and optionally its anomaly scores below.

    Parameters
    ----------
    y : pandas Series or wide DataFrame
    scores : Series or array-like, optional
        Anomaly scores, one per timestamp (e.g. :meth:`RNNAnomalyDetector.decision_function`);
        drawn on a second Axes below the series, sharing its x axis.
    labels : Series or array-like of 0/1, optional
        Anomalous timestamps (1) get red markers.  When omitted but ``scores`` and
        ``threshold`` are given, ``scores > threshold`` is marked.
    threshold : float, optional
        Drawn as a dashed line on the scores' Axes (needs ``scores``).
    windows : list of (start, end), optional
        Shaded spans, e.g. the labelled anomaly windows of NAB.
    ax : matplotlib Axes, or a pair of Axes when ``scores`` is given, optional
    title : str, optional
        Default ``"Anomalies"``.

    Returns
    -------
    matplotlib Axes, or, when ``scores`` is given, a NumPy array of two Axes
    ``[series_ax, scores_ax]``.
    """
    Y = _as_frame(y, "y")
    dates = _is_date_index(Y.index)
    x = _x_values(Y.index)
    s = None if scores is None else _aligned(scores, Y.index, "scores").astype(float)
    if threshold is not None:
        if s is None:
            raise ValueError("threshold is drawn on the scores; pass scores too")
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise TypeError(f"threshold must be a number, got {type(threshold).__name__}")
        threshold = float(threshold)
    if labels is not None:
        lab = _aligned(labels, Y.index, "labels")
        lab = np.nan_to_num(lab.astype(float)) == 1
    elif s is not None and threshold is not None:
        lab = s > threshold
    else:
        lab = None
    spans = []
    if windows is not None:
        if isinstance(windows, (str, bytes)) or not hasattr(windows, "__iter__"):
            raise TypeError(f"windows must be a list of (start, end) pairs, got {type(windows).__name__}")
        for w in windows:
            if isinstance(w, (str, bytes)) or not hasattr(w, "__len__") or len(w) != 2:
                raise TypeError(f"each window must be a (start, end) pair, got {w!r}")
            spans.append((_x_scalar(w[0], dates), _x_scalar(w[1], dates)))

    if s is None:
        ax0 = _get_ax(ax)
        ax1 = None
    elif ax is None:
        plt = _pyplot()
        _, (ax0, ax1) = plt.subplots(2, 1, sharex=True, figsize=(10, 5.5),
                                     gridspec_kw={"height_ratios": [2, 1]})
    else:
        try:
            ax0, ax1 = ax
        except (TypeError, ValueError):
            raise TypeError("with scores, ax must be a pair of Axes (series, scores) or None") from None
        ax0, ax1 = _get_ax(ax0), _get_ax(ax1)

    single = Y.shape[1] == 1
    for i, col in enumerate(Y.columns):
        ax0.plot(x, Y[col].to_numpy(dtype=float), color=_OBSERVED_COLOR if single else f"C{i % 10}",
                 lw=1.0, label="observed" if single else str(col))
    for k, (a, b) in enumerate(spans):
        ax0.axvspan(a, b, color="tab:orange", alpha=0.2, lw=0,
                    label="anomaly window" if k == 0 else None)
    if lab is not None and lab.any():
        xs = x[lab]
        for i, col in enumerate(Y.columns):
            ax0.scatter(xs, Y[col].to_numpy(dtype=float)[lab], color=_ANOMALY_COLOR, s=25, zorder=3,
                        label="anomaly" if i == 0 else None)
    _finish(ax0, "Anomalies" if title is None else title, dates and ax1 is None)
    if ax1 is None:
        return ax0
    ax1.plot(x, s, color="C0", lw=1.0, label="score")
    if threshold is not None:
        ax1.axhline(threshold, color=_ANOMALY_COLOR, ls="--", lw=1.0, label="threshold")
    for a, b in spans:
        ax1.axvspan(a, b, color="tab:orange", alpha=0.2, lw=0)
    ax1.set_ylabel("score")
    _finish(ax1, None, dates)
    return np.array([ax0, ax1], dtype=object)


# ================================================================ backtests
def plot_backtest(bt, y=None, ax=None, title=None, series=None, column=None):
    """Plot the forecasts of every cutoff of a backtest against the actual values.

    Parameters
    ----------
    bt : DataFrame
        :meth:`RNNForecaster.backtest` output (columns ``cutoff, time, prediction, actual``,
        and ``id`` / ``column`` for several series / a wide frame).
    y : pandas Series, optional
        The full observed series, drawn instead of the backtest's ``actual`` values.
    ax : matplotlib Axes, optional
    title : str, optional
        Default ``"Backtest"``.
    series, column : optional
        Which ``id`` / ``column`` to show when the backtest holds several.

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(bt, pd.DataFrame):
        raise TypeError(f"bt must be the DataFrame returned by RNNForecaster.backtest, got "
                        f"{type(bt).__name__}")
    missing = [c for c in ("cutoff", "time", "prediction", "actual") if c not in bt.columns]
    if missing:
        raise ValueError(f"bt lacks the columns {missing}; pass the DataFrame returned by "
                         f"RNNForecaster.backtest (columns cutoff, time, prediction, actual)")
    for key, chosen, label in (("id", series, "series"), ("column", column, "column")):
        if key in bt.columns:
            options = list(pd.unique(bt[key]))
            if chosen is None:
                if len(options) > 1:
                    raise ValueError(f"bt holds several {key}s {options[:10]}; pick one with "
                                     f"{label}=...")
            else:
                if chosen not in options:
                    raise ValueError(f"{label}={chosen!r} is not in bt (has {options[:10]})")
                bt = bt[bt[key] == chosen]
    if bt.empty:
        raise ValueError("bt has no rows")
    if y is not None and not isinstance(y, pd.Series):
        raise TypeError(f"y must be a pandas Series or None, got {type(y).__name__}")

    def tindex(values):
        idx = pd.Index(values)
        if isinstance(idx.dtype, pd.PeriodDtype):
            idx = pd.PeriodIndex(idx)
        return idx

    times = tindex(bt["time"])
    dates = _is_date_index(times)
    if y is not None:
        _check_same_axis(y.index, times, "y", "bt's time column")
    ax = _get_ax(ax)
    if y is not None:
        ax.plot(_x_values(y.index), y.to_numpy(dtype=float), color=_OBSERVED_COLOR, lw=1.2,
                label="actual")
    else:
        act = bt.drop_duplicates("time").sort_values("time")
        ax.plot(_x_values(tindex(act["time"])), act["actual"].to_numpy(dtype=float),
                color=_OBSERVED_COLOR, lw=1.2, label="actual")
    groups = list(bt.groupby("cutoff", sort=True))
    alpha = float(np.clip(3.0 / max(len(groups), 1) ** 0.5, 0.15, 0.8))
    for k, (_, g) in enumerate(groups):
        g = g.sort_values("time")
        ax.plot(_x_values(tindex(g["time"])), g["prediction"].to_numpy(dtype=float), color="C0",
                alpha=alpha, lw=1.0,
                label=f"forecasts ({len(groups)} cutoffs)" if k == 0 else None)
    _finish(ax, "Backtest" if title is None else title, dates)
    return ax


# ============================================================ estimators
def _check_fitted(est):
    if not hasattr(est, "network_"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"this {type(est).__name__} is not fitted yet; call fit before plot")


def forecaster_plot(forecaster, y=None, coverage=0.9, ax=None, **kw):
    """The fitted history of a forecaster with its forecast and prediction interval.

    Used as :meth:`RNNForecaster.plot`.

    Parameters
    ----------
    forecaster : fitted RNNForecaster (one series or one wide frame)
    y : Series or wide DataFrame, optional
        Observed values to draw (default: the history the forecaster holds).
    coverage : float or None, default 0.9
        Coverage of the interval band; None, or an interval the forecaster cannot
        produce (``predict_interval`` raises ValueError), draws no band.
    ax : matplotlib Axes, optional
    **kw
        Passed to :func:`plot_forecast` (``title``, ``history``).

    Returns
    -------
    matplotlib Axes
    """
    _check_fitted(forecaster)
    panel = getattr(forecaster, "_panel_", None)
    kind = getattr(panel, "kind", "series")
    if getattr(forecaster, "n_series_", 1) != 1 or kind not in ("series", "frame"):
        raise ValueError("plot draws one series or one wide frame; this forecaster holds "
                         f"{getattr(forecaster, 'n_series_', '?')} series ({kind} input): call "
                         "tsrnn.plotting.plot_forecast(y_i, forecast_i) for the series you want")
    if y is None:
        values, index = forecaster._values_[0], forecaster._indices_[0]
        cols = list(forecaster.columns_)
        if kind == "series":
            y = pd.Series(values[:, 0], index=index, name=cols[0])
        else:
            y = pd.DataFrame(values, index=index, columns=cols)
    fc = forecaster.predict()
    interval, label = None, None
    if coverage is not None:
        try:
            interval = forecaster.predict_interval(coverage=coverage)
            label = f"{coverage:.0%} interval"
        except ValueError:
            interval = None
    kw.setdefault("interval_label", label)
    return plot_forecast(y, fc, interval=interval, ax=ax, **kw)


def detector_plot(detector, y, causal=True, ax=None, **kw):
    """A series with the anomaly scores and labels of a fitted detector.

    Used as :meth:`RNNAnomalyDetector.plot`.

    Parameters
    ----------
    detector : fitted RNNAnomalyDetector
    y : Series or wide DataFrame
        The data to score.
    causal : bool, default True
        Passed to ``decision_function`` (streaming scores).
    ax : pair of matplotlib Axes, optional
    **kw
        Passed to :func:`plot_anomalies` (``windows``, ``title``, ``threshold``).
        The threshold line defaults to ``detector.threshold_`` except with the
        ``"dynamic"`` threshold, which is recomputed on the scored data.

    Returns
    -------
    NumPy array of two Axes ``[series_ax, scores_ax]``.
    """
    _check_fitted(detector)
    scores = detector.decision_function(y, causal=causal)
    if hasattr(detector, "_label"):
        labels = pd.Series(detector._label(scores.to_numpy()), index=scores.index)
    else:  # pragma: no cover - any detector with predict
        labels = detector.predict(y, causal=causal)
    if "threshold" not in kw:
        thr = getattr(detector, "threshold_", None)
        if getattr(detector, "threshold", None) == "dynamic" or thr is None or not np.isfinite(thr):
            thr = None
        kw["threshold"] = thr
    if "title" not in kw:
        kw["title"] = f"Anomalies ({type(detector).__name__})"
    return plot_anomalies(y, scores=scores, labels=labels, ax=ax, **kw)

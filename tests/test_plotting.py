"""Tests of tsrnn.plotting (skipped without matplotlib; Agg backend, tiny models)."""

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from tsrnn.plotting import (  # noqa: E402
    detector_plot,
    forecaster_plot,
    plot_anomalies,
    plot_backtest,
    plot_forecast,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _daily(n=60, start="2024-01-01", name="sales"):
    idx = pd.date_range(start, periods=n, freq="D")
    return pd.Series(np.sin(np.arange(n) / 4.0) + 5.0, index=idx, name=name)


def _forecast(y, h=7):
    fut = pd.date_range(y.index[-1] + pd.Timedelta(days=1), periods=h, freq="D")
    fc = pd.Series(np.full(h, y.iloc[-1]), index=fut, name=y.name)
    iv = pd.DataFrame({"lower": fc - 0.5, "upper": fc + 0.5})
    return fc, iv


def _legend(ax):
    leg = ax.get_legend()
    return [] if leg is None else [t.get_text() for t in leg.get_texts()]


def _assert_date_axis(ax, first, last):
    assert isinstance(ax.xaxis.get_major_locator(), mdates.AutoDateLocator)
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    lo, hi = (mdates.num2date(v).replace(tzinfo=None) for v in ax.get_xlim())
    assert lo <= pd.Timestamp(first).to_pydatetime() and hi >= pd.Timestamp(last).to_pydatetime()
    # limits hug the data (matplotlib's 5% margins): real dates, not epoch-days of integers
    span = pd.Timestamp(last) - pd.Timestamp(first)
    assert pd.Timestamp(first) - pd.Timestamp(lo) <= 0.1 * span + pd.Timedelta(days=1)
    assert pd.Timestamp(hi) - pd.Timestamp(last) <= 0.1 * span + pd.Timedelta(days=1)


def _assert_png(ax, path):
    ax.figure.savefig(path)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000


# ------------------------------------------------------------ plot_forecast
def test_plot_forecast_series(tmp_path):
    y = _daily()
    fc, iv = _forecast(y)
    ax = plot_forecast(y, fc, interval=iv)
    assert isinstance(ax, Axes)
    assert len(ax.get_lines()) == 2
    assert len(ax.collections) == 1
    assert ax.get_title() == "Forecast"
    assert _legend(ax) == ["observed", "forecast", "prediction interval"]
    assert ax.get_lines()[0].get_color() == "black"
    _assert_date_axis(ax, y.index[0], fc.index[-1])
    assert ax.get_ylabel() == "sales"
    _assert_png(ax, tmp_path / "fc.png")


def test_plot_forecast_history_title_and_existing_ax():
    y = _daily()
    fc, _ = _forecast(y)
    fig, ax0 = plt.subplots()
    ax = plot_forecast(y, fc, ax=ax0, title="Sales", history=10)
    assert ax is ax0
    assert ax.get_title() == "Sales"
    assert len(ax.get_lines()[0].get_xdata()) == 10
    assert len(ax.collections) == 0
    _assert_date_axis(ax, y.index[-10], fc.index[-1])


def test_plot_forecast_period_and_range_index():
    yp = pd.Series(np.arange(24.0), index=pd.period_range("2020-01", periods=24, freq="M"))
    fp = pd.Series([24.0, 25.0], index=pd.period_range("2022-01", periods=2, freq="M"))
    ax = plot_forecast(yp, fp)
    _assert_date_axis(ax, "2020-01-01", "2022-02-01")
    yr = pd.Series(np.arange(20.0))
    fr = pd.Series([20.0, 21.0], index=pd.RangeIndex(20, 22))
    ax = plot_forecast(yr, fr)
    assert not isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    assert ax.get_xlim()[1] >= 21


def test_plot_forecast_wide_frame():
    a, b = _daily(name="a"), _daily(name="b") * 2
    Y = pd.concat([a, b], axis=1)
    fa, _ = _forecast(a)
    F = pd.DataFrame({"a": fa, "b": fa * 2})
    iv = pd.concat({c: pd.DataFrame({"lower": F[c] - 1, "upper": F[c] + 1}) for c in F}, axis=1)
    ax = plot_forecast(Y, F, interval=iv)
    assert len(ax.get_lines()) == 4 and len(ax.collections) == 2
    assert _legend(ax) == ["a", "a forecast", "a prediction interval",
                           "b", "b forecast", "b prediction interval"]


def test_plot_forecast_bad_inputs():
    y = _daily()
    fc, iv = _forecast(y)
    with pytest.raises(TypeError, match="y must be a pandas Series or DataFrame"):
        plot_forecast(y.to_numpy(), fc)
    with pytest.raises(TypeError, match="forecast must be"):
        plot_forecast(y, list(fc))
    with pytest.raises(TypeError, match="interval must be a DataFrame"):
        plot_forecast(y, fc, interval=fc)
    with pytest.raises(ValueError, match="lower"):
        plot_forecast(y, fc, interval=iv.rename(columns={"lower": "lo"}))
    with pytest.raises(TypeError, match="history must be an int"):
        plot_forecast(y, fc, history=2.5)
    with pytest.raises(ValueError, match="history must be >= 1"):
        plot_forecast(y, fc, history=0)
    with pytest.raises(TypeError, match="both need date indexes"):
        plot_forecast(y, pd.Series([1.0, 2.0]))
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_forecast(y, fc, ax="left")


# ----------------------------------------------------------- plot_anomalies
def test_plot_anomalies_series_only(tmp_path):
    y = _daily(90)
    labels = pd.Series(0, index=y.index)
    labels.iloc[[20, 50, 51]] = 1
    win = [(y.index[45], y.index[55])]
    ax = plot_anomalies(y, labels=labels, windows=win)
    assert isinstance(ax, Axes)
    assert len(ax.get_lines()) == 1
    assert len(ax.collections) == 1
    assert len(ax.collections[0].get_offsets()) == 3
    assert len(ax.patches) == 1
    assert ax.get_title() == "Anomalies"
    assert _legend(ax) == ["observed", "anomaly window", "anomaly"]
    _assert_date_axis(ax, y.index[0], y.index[-1])
    _assert_png(ax, tmp_path / "an.png")


def test_plot_anomalies_with_scores(tmp_path):
    y = _daily(90)
    scores = pd.Series(np.linspace(0, 4, 90), index=y.index)
    axes = plot_anomalies(y, scores=scores, threshold=3.0, title="Sensor",
                          windows=[("2024-02-10", "2024-02-20")])
    assert isinstance(axes, np.ndarray) and axes.shape == (2,)
    top, bottom = axes
    assert top.get_title() == "Sensor"
    # labels derived from scores > threshold
    assert len(top.collections[0].get_offsets()) == int((scores > 3.0).sum())
    assert len(bottom.get_lines()) == 2
    assert bottom.get_lines()[1].get_linestyle() == "--"
    assert _legend(bottom) == ["score", "threshold"]
    assert bottom.get_shared_x_axes().joined(top, bottom)
    _assert_date_axis(bottom, y.index[0], y.index[-1])
    _assert_png(top, tmp_path / "an2.png")


def test_plot_anomalies_bad_inputs():
    y = _daily(30)
    with pytest.raises(TypeError, match="y must be"):
        plot_anomalies([1, 2, 3])
    with pytest.raises(ValueError, match="one value per timestamp"):
        plot_anomalies(y, labels=[0, 1])
    with pytest.raises(ValueError, match="pass scores too"):
        plot_anomalies(y, threshold=1.0)
    with pytest.raises(TypeError, match=r"\(start, end\) pair"):
        plot_anomalies(y, windows=[(y.index[0],)])
    with pytest.raises(TypeError, match="windows must be a list"):
        plot_anomalies(y, windows=5)
    with pytest.raises(TypeError, match="pair of Axes"):
        _, ax = plt.subplots()
        plot_anomalies(y, scores=np.zeros(30), ax=ax)


# ------------------------------------------------------------ plot_backtest
def _backtest_frame(y, cutoffs=(30, 35, 40), h=5):
    rows = []
    for c in cutoffs:
        t = y.index[c + 1: c + 1 + h]
        rows.append(pd.DataFrame({"cutoff": y.index[c], "time": t, "prediction": y.iloc[c],
                                  "actual": y.iloc[c + 1: c + 1 + h].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def test_plot_backtest(tmp_path):
    y = _daily()
    bt = _backtest_frame(y)
    ax = plot_backtest(bt)
    assert len(ax.get_lines()) == 1 + 3
    assert ax.get_title() == "Backtest"
    assert _legend(ax) == ["actual", "forecasts (3 cutoffs)"]
    _assert_date_axis(ax, bt["time"].min(), bt["time"].max())
    ax2 = plot_backtest(bt, y=y, title="BT")
    assert len(ax2.get_lines()[0].get_xdata()) == len(y) and ax2.get_title() == "BT"
    _assert_png(ax, tmp_path / "bt.png")


def test_plot_backtest_bad_inputs():
    y = _daily()
    bt = _backtest_frame(y)
    with pytest.raises(TypeError, match="bt must be the DataFrame"):
        plot_backtest(bt.to_numpy())
    with pytest.raises(ValueError, match="lacks the columns"):
        plot_backtest(bt.drop(columns="actual"))
    two = pd.concat([bt.assign(column="a"), bt.assign(column="b")], ignore_index=True)
    with pytest.raises(ValueError, match="column="):
        plot_backtest(two)
    assert len(plot_backtest(two, column="b").get_lines()) == 4


# ------------------------------------------------------------ estimators
@pytest.fixture(scope="module")
def fitted():
    from tsrnn import RNNAnomalyDetector, RNNForecaster

    idx = pd.date_range("2024-01-01", periods=120, freq="D")
    y = pd.Series(np.sin(np.arange(120) / 5.0), index=idx, name="v")
    common = dict(cell="gru", hidden_size=4, window=8, epochs=2, random_state=0)
    f = RNNForecaster(horizon=6, **common).fit(y)
    d = RNNAnomalyDetector(threshold="quantile", **common).fit(y)
    return y, f, d


def test_forecaster_plot(fitted, tmp_path):
    y, f, _ = fitted
    ax = forecaster_plot(f, coverage=0.5, history=40)
    assert len(ax.get_lines()) == 2 and len(ax.collections) == 1
    assert len(ax.get_lines()[0].get_xdata()) == 40
    assert _legend(ax) == ["observed", "forecast", "50% interval"]
    assert ax.get_ylabel() == "v"
    _assert_date_axis(ax, y.index[-40], f.predict().index[-1])
    _assert_png(ax, tmp_path / "f.png")
    # an impossible coverage silently drops the band; coverage=None too
    ax = forecaster_plot(f, y=y, coverage=0.999)
    assert len(ax.collections) == 0
    assert len(forecaster_plot(f, coverage=None).collections) == 0


def test_detector_plot(fitted, tmp_path):
    y, _, d = fitted
    y_test = y.copy()
    y_test.iloc[100] += 4.0
    axes = detector_plot(d, y_test, windows=[(y.index[98], y.index[103])])
    top, bottom = axes
    assert top.get_title() == "Anomalies (RNNAnomalyDetector)"
    assert len(bottom.get_lines()) == 2
    assert bottom.get_lines()[1].get_ydata()[0] == pytest.approx(d.threshold_)
    assert len(top.patches) == 1
    _assert_date_axis(bottom, y.index[0], y.index[-1])
    _assert_png(top, tmp_path / "d.png")


def test_estimator_plots_need_fitted():
    from sklearn.exceptions import NotFittedError

    from tsrnn import RNNAnomalyDetector, RNNForecaster

    with pytest.raises(NotFittedError):
        forecaster_plot(RNNForecaster())
    with pytest.raises(NotFittedError):
        detector_plot(RNNAnomalyDetector(), _daily())


def test_missing_matplotlib_message(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    y = _daily()
    fc, _ = _forecast(y)
    with pytest.raises(ImportError, match=r"pip install 'tsrnn\[plot\]'"):
        plot_forecast(y, fc)


def test_estimator_plot_methods(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from tsrnn import RNNAnomalyDetector, RNNForecaster

    plt.switch_backend("Agg")
    idx = pd.date_range("2024-03-01", periods=200, freq="h")
    y = pd.Series(np.sin(np.arange(200) * 2 * np.pi / 24), index=idx, name="v")
    f = RNNForecaster(cell="gru", hidden_size=4, window=8, horizon=4, epochs=2, random_state=0).fit(y)
    ax = f.plot(coverage=None)
    assert ax.get_title()
    d = RNNAnomalyDetector(cell="gru", hidden_size=4, window=8, epochs=2, threshold="quantile",
                           random_state=0).fit(y)
    axes = d.plot(y)
    assert len(np.atleast_1d(axes)) == 2
    plt.close("all")

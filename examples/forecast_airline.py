"""Forecast the AirPassengers series (shipped with tsrnn) 24 months ahead.

    python examples/forecast_airline.py          # prints accuracy, saves airline_forecast.png
    python examples/forecast_airline.py --tiny   # seconds; what CI runs

The last 24 months are held out; the forecaster is compared with the seasonal
naive forecast (same month last year) on them.
"""

import argparse

import numpy as np

from tsrnn import RNNForecaster
from tsrnn.datasets import load_airline
from tsrnn.metrics import mae, seasonal_naive, smape


def main(tiny=False, plot="airline_forecast.png"):
    y = load_airline()
    h = 24
    train, test = y[:-h], y[-h:]
    f = RNNForecaster(cell="gru", hidden_size=8 if tiny else 32, window=36, horizon=h,
                      scaler="window", calendar=True, epochs=5 if tiny else 300,
                      batch_size=16, learning_rate=3e-3, random_state=0)
    f.fit(train)
    fc = f.predict()
    iv = f.predict_interval(coverage=0.8)
    naive = seasonal_naive(train.to_numpy(), h, 12)
    print(f"RNNForecaster GRU: MAE {mae(test, fc):.1f}, sMAPE {smape(test, fc):.2f}%  "
          f"| seasonal naive: MAE {mae(test, naive):.1f}, sMAPE {smape(test, naive):.2f}%")
    inside = np.mean((test.to_numpy() >= iv['lower'].to_numpy()) & (test.to_numpy() <= iv['upper'].to_numpy()))
    print(f"80% interval covers {inside:.0%} of the {h} held-out months")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib for the plot)")
        return fc
    ax = y.plot(figsize=(9, 4), label="observed", color="black")
    fc.plot(ax=ax, label="forecast")
    ax.fill_between(iv.index, iv["lower"], iv["upper"], alpha=0.3, label="80% interval")
    ax.set_title("AirPassengers: 24-month RNN forecast")
    ax.legend()
    plt.tight_layout()
    plt.savefig(plot)
    print(f"plot saved to {plot}")
    return fc


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    main(ap.parse_args().tiny)

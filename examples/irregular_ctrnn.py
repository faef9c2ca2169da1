"""Irregularly sampled data with a continuous-time RNN: no resampling needed.

A sensor reports at irregular times (gaps between 6 minutes and 4 hours).  From its last
16 readings we predict the value one hour after the last one.  A CTRNN integrates its
state over the real time between readings when it is given the gaps (``dt``); the same
model fed only the values (as if the readings were evenly spaced) does much worse.

    python examples/irregular_ctrnn.py            # a few seconds once the kernels are compiled
    python examples/irregular_ctrnn.py --tiny     # what CI runs
"""

import argparse

import numpy as np
import pandas as pd

from tsrnn import RNNRegressor

WINDOW = 16


def signal(hours):
    """Daily cycle plus a 6-hour ripple."""
    return np.sin(2 * np.pi * hours / 24) + 0.3 * np.sin(2 * np.pi * hours / 6)


def make_readings(n, seed=0):
    """A Series of n readings at irregular timestamps."""
    rng = np.random.default_rng(seed)
    gaps_h = np.clip(rng.exponential(1.0, size=n), 0.1, 4.0)
    index = (pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum(gaps_h), unit="h")).round("s")
    hours = (index - index[0]) / pd.Timedelta("1h")
    values = signal(hours.to_numpy()) + 0.05 * rng.standard_normal(n)
    return pd.Series(values, index=index, name="reading")


def windows(readings):
    """X (n, WINDOW), the gaps before each reading in hours (n, WINDOW), and the
    target: the noise-free signal one hour after each window's last reading."""
    hours = ((readings.index - readings.index[0]) / pd.Timedelta("1h")).to_numpy()
    gaps = np.diff(hours, prepend=hours[0])          # pandas did the date arithmetic
    v = readings.to_numpy()
    X = np.lib.stride_tricks.sliding_window_view(v, WINDOW)[1:]
    dt = np.lib.stride_tricks.sliding_window_view(gaps, WINDOW)[1:]
    y = signal(hours[WINDOW:] + 1.0)
    return X, dt, y


def main(tiny=False):
    readings = make_readings(600 if tiny else 3000)
    X, dt, y = windows(readings)
    split = int(0.8 * len(X))
    results = {}
    for use_dt in (True, False):
        reg = RNNRegressor(cell="ctrnn", hidden_size=16, epochs=40 if tiny else 80,
                           learning_rate=1e-2, batch_size=32, random_state=0)
        reg.fit(X[:split], y[:split], dt=dt[:split] if use_dt else None)
        pred = reg.predict(X[split:], dt=dt[split:] if use_dt else None)
        results["with dt" if use_dt else "without dt"] = float(np.mean((pred - y[split:]) ** 2))
    print(f"{len(readings)} readings, gaps {readings.index.to_series().diff().min()} .. "
          f"{readings.index.to_series().diff().max()}")
    for k, v in results.items():
        print(f"CTRNN {k:<11} test MSE {v:.4f}")
    print(f"(variance of the target: {np.var(y[split:]):.4f})")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true")
    main(tiny=ap.parse_args().tiny)

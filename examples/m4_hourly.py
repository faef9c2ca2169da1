"""One global RNN over M4 Hourly series (reads ../shared/datasets/m4, not shipped).

    python examples/m4_hourly.py              # 40 series, ~1 minute
    python examples/m4_hourly.py --tiny       # 5 series, seconds (CI)

Fits one forecaster on many series given as a long DataFrame (Nixtla's
unique_id / ds / y columns), forecasts the 48 test hours of each and prints
sMAPE, MASE and OWA against Naive2 (M4's definitions). The full benchmark over
all 414 series is benchmarks/m4_hourly.py.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tsrnn import RNNForecaster
from tsrnn.metrics import m4_evaluate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "m4"


def read(path, n):
    rows = pd.read_csv(path, nrows=n)
    return {r.iloc[0]: r.iloc[1:].dropna().to_numpy(dtype=float) for _, r in rows.iterrows()}


def main(tiny=False, plot="m4_hourly.png"):
    if not (DATA / "Hourly-train.csv").exists():
        print(f"M4 data not found under {DATA}; skipping")
        return None
    n = 5 if tiny else 40
    train, test = read(DATA / "Hourly-train.csv", n), read(DATA / "Hourly-test.csv", n)
    long = pd.concat([pd.DataFrame({"unique_id": k, "ds": np.arange(len(v)), "y": v})
                      for k, v in train.items()], ignore_index=True)
    f = RNNForecaster(cell="gru", hidden_size=16 if tiny else 64, window=168, horizon=48,
                      scaler="window", loss="mae", epochs=2 if tiny else 15, batch_size=64,
                      learning_rate=2e-3, lr_schedule="cosine", max_windows_per_series=240,
                      random_state=0)
    f.fit(long)
    fc = f.predict()  # long DataFrame: unique_id, ds, y
    ids = list(train)
    preds = [fc.loc[fc.unique_id == k, "y"].to_numpy() for k in ids]
    res = m4_evaluate([train[k] for k in ids], [test[k] for k in ids], preds, 24)
    print(f"{n} M4 Hourly series: sMAPE {res['smape']:.3f}, MASE {res['mase']:.3f}, "
          f"OWA {res['owa']:.3f} (Naive2 = 1; seasonal naive on all 414 series: 0.627)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return res
    k = ids[0]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(np.arange(len(train[k]))[-336:], train[k][-336:], color="black", label="history")
    t = np.arange(len(train[k]), len(train[k]) + 48)
    ax.plot(t, test[k], color="gray", label="actual")
    ax.plot(t, preds[0], label="forecast")
    ax.set_title(f"M4 {k}: 48-hour forecast from one global GRU")
    ax.legend()
    fig.tight_layout()
    fig.savefig(plot)
    print(f"plot saved to {plot}")
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    main(ap.parse_args().tiny)

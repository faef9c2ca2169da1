"""M4 Hourly benchmark: ONE global RNNForecaster over all 414 series.

Reads ../shared/datasets/m4/Hourly-{train,test}.csv (414 series, horizon 48,
seasonal period 24), fits one model, and prints sMAPE, MASE and OWA (M4's
definitions, tsrnn.metrics) next to the published M4 table, the fit and predict
wall times, and the empirical coverage of 80 % and 95 % intervals.

Settings were chosen with ``--validate``: the last 48 points of every TRAINING
series are held out and scored instead of the test file (the test file is not
read at all then).  The final run scores the test file.

    python benchmarks/m4_hourly.py --validate      # choose settings on the training data
    python benchmarks/m4_hourly.py                 # final: fit on train, score on test
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "m4"
H, M = 48, 24
PUBLISHED = [("best submission (Doornik et al.)", 8.913, 0.801, 0.410),
             ("ES-RNN (Smyl, M4 winner)", 9.328, 0.893, 0.440),
             ("FFORMA", 11.506, 0.819, 0.484),
             ("seasonal naive", 13.912, 1.193, 0.627),
             ("MLP benchmark", 13.842, 2.607, 0.921),
             ("Naive2", 18.383, 2.395, 1.000),
             ("RNN benchmark (M4 organisers')", 14.698, 3.048, 1.036)]


def read_m4(path):
    out = {}
    with open(path, newline="") as fh:
        rows = csv.reader(fh)
        next(rows)
        for row in rows:
            vals = np.array([float(v) for v in row[1:] if v != ""])
            out[row[0]] = vals
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--validate", action="store_true", help="score the last 48 training points instead of the test file")
    ap.add_argument("--cell", default="gru")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--window", type=int, default=168)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--scaler", default="window")
    ap.add_argument("--max-windows", type=int, default=240)
    ap.add_argument("--strategy", default="mimo")
    ap.add_argument("--loss", default="mae")
    ap.add_argument("--n-series", type=int, default=None, help="use only the first N series (smoke runs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    from tsrnn import RNNForecaster
    from tsrnn.metrics import m4_evaluate, seasonal_naive

    train = read_m4(DATA / "Hourly-train.csv")
    ids = list(train)[: args.n_series]
    if args.validate:
        test = {k: train[k][-H:] for k in ids}
        train = {k: train[k][:-H] for k in ids}
        label = "validation (last 48 training points)"
    else:
        test = read_m4(DATA / "Hourly-test.csv")
        label = "test"
    series = {k: pd.Series(train[k]) for k in ids}
    f = RNNForecaster(cell=args.cell, hidden_size=args.hidden, window=args.window, horizon=H,
                      strategy=args.strategy, epochs=args.epochs, batch_size=args.batch,
                      learning_rate=args.lr, loss=args.loss, scaler=args.scaler,
                      max_windows_per_series=args.max_windows, validation_fraction=0.1,
                      lr_schedule="cosine", clip_grad_norm=1.0, random_state=args.seed,
                      verbose=args.verbose)
    t0 = time.perf_counter()
    f.fit(series)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fc = f.predict()
    pred_s = time.perf_counter() - t0
    iv80 = f.predict_interval(coverage=0.8)
    iv95 = f.predict_interval(coverage=0.95)
    y_tr = [train[k] for k in ids]
    y_te = [test[k][:H] for k in ids]
    y_hat = [np.asarray(fc[k]) for k in ids]
    res = m4_evaluate(y_tr, y_te, y_hat, M)
    snaive = m4_evaluate(y_tr, y_te, [seasonal_naive(y, H, M) for y in y_tr], M)
    cov = {}
    for name, iv in (("80", iv80), ("95", iv95)):
        inside = [np.mean((y_te[i] >= iv[k]["lower"].to_numpy()) & (y_te[i] <= iv[k]["upper"].to_numpy()))
                  for i, k in enumerate(ids)]
        cov[name] = float(np.mean(inside))
    print(f"# M4 Hourly, {len(ids)} series, scored on {label}")
    print(f"settings: {vars(args)}")
    print(f"fit {fit_s:.1f}s ({f.n_iter_} epochs, {np.median(f.epoch_times_):.1f}s/epoch), "
          f"predict {pred_s:.2f}s; interval coverage: 80% -> {cov['80']:.3f}, 95% -> {cov['95']:.3f}")
    print(f"{'method':<34} {'sMAPE':>7} {'MASE':>7} {'OWA':>7}")
    print(f"{'tsrnn ' + args.cell.upper() + ' (this run)':<34} {res['smape']:>7.3f} {res['mase']:>7.3f} {res['owa']:>7.3f}")
    print(f"{'seasonal naive (same data, anchor)':<34} {snaive['smape']:>7.3f} {snaive['mase']:>7.3f} {snaive['owa']:>7.3f}")
    print("published M4 Hourly (test set):")
    for name, s, m, o in PUBLISHED:
        print(f"{name:<34} {s:>7.3f} {m:>7.3f} {o:>7.3f}")
    return res, cov, fit_s


if __name__ == "__main__":
    main()

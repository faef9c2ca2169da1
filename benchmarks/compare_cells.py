"""Every recurrent cell on one forecasting task: accuracy and time per epoch.

One global RNNForecaster per cell on the first ``--n-series`` series of M4 Hourly
(../shared/datasets/m4, horizon 48, seasonal period 24), same settings for every
cell, scored on the M4 test file with M4's sMAPE / MASE / OWA (tsrnn.metrics), next
to seasonal naive in the same run.  Time per epoch is the median over the epochs,
so the first epoch's Numba compile is excluded (it is reported separately as the
first epoch's excess over the median).

    python benchmarks/compare_cells.py                     # 100 series, all cells
    python benchmarks/compare_cells.py --cells gru indrnn  # a subset
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from m4_hourly import DATA, H, M, read_m4

CELLS = ["elman", "jordan", "indrnn", "ctrnn", "gru", "lstm"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", nargs="+", default=CELLS)
    ap.add_argument("--n-series", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--window", type=int, default=96)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--max-windows", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)

    from tsrnn import RNNForecaster
    from tsrnn.metrics import m4_evaluate, seasonal_naive

    train = read_m4(DATA / "Hourly-train.csv")
    test = read_m4(DATA / "Hourly-test.csv")
    ids = list(train)[: args.n_series]
    series = {k: pd.Series(train[k]) for k in ids}
    y_tr = [train[k] for k in ids]
    y_te = [test[k][:H] for k in ids]
    rows = []
    for cell in args.cells:
        f = RNNForecaster(cell=cell, hidden_size=args.hidden, window=args.window, horizon=H,
                          epochs=args.epochs, batch_size=64, learning_rate=args.lr, loss="mae",
                          scaler="window", max_windows_per_series=args.max_windows,
                          lr_schedule="cosine", clip_grad_norm=1.0, random_state=args.seed,
                          n_jobs=args.threads)
        t0 = time.perf_counter()
        f.fit(series)
        fit_s = time.perf_counter() - t0
        fc = f.predict()
        res = m4_evaluate(y_tr, y_te, [np.asarray(fc[k]) for k in ids], M)
        et = np.asarray(f.epoch_times_)
        rows.append((cell, f.network_.n_params, res["smape"], res["mase"], res["owa"],
                     float(np.median(et)), float(et[0] - np.median(et)), fit_s))
    snaive = m4_evaluate(y_tr, y_te, [seasonal_naive(y, H, M) for y in y_tr], M)
    print(f"# M4 Hourly, first {len(ids)} series, test file; settings {vars(args)}")
    print(f"{'cell':<8} {'params':>7} {'sMAPE':>7} {'MASE':>7} {'OWA':>7} {'s/epoch':>8} "
          f"{'compile':>8} {'fit s':>7}")
    for cell, p, sm, ma, owa, ep, comp, fit_s in rows:
        print(f"{cell:<8} {p:>7} {sm:>7.3f} {ma:>7.3f} {owa:>7.3f} {ep:>8.2f} {comp:>8.1f} {fit_s:>7.1f}")
    print(f"{'snaive':<8} {'':>7} {snaive['smape']:>7.3f} {snaive['mase']:>7.3f} {snaive['owa']:>7.3f}")
    return rows


if __name__ == "__main__":
    main()

"""NAB v1.1 benchmark for RNNAnomalyDetector (one configuration for the whole corpus).

For each of the 58 series: train on its probationary period only (the first 15 %
of rows, at most 750), then score the whole series causally (the score at t uses
data up to t).  Scores are written in NAB's layout
(``<out>/<detector>/<category>/<detector>_<file>.csv`` with
``timestamp,value,anomaly_score,label``) so NAB's own scorer can read them, and
scored here with tsrnn.nab (scaled-sigmoid window scoring, per-profile
threshold swept over the whole corpus, normalised between the null and the
perfect detector).  Labels are never used to fit or to choose settings.

    python benchmarks/nab.py                   # full corpus, Hopfield memory (8 s)
    python benchmarks/nab.py --method reconstruction --epochs 60   # the GRU autoencoder
    python benchmarks/nab.py --files 5         # smoke run on the first 5 files
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "nab"
PUBLISHED = [("ARTime", 74.9, 65.1, 80.4), ("Numenta HTM", 70.5, 62.6, 75.2),
             ("CAD OSE", 69.9, 67.0, 73.2), ("earthgecko Skyline", 58.2, 46.2, 63.9),
             ("KNN CAD", 58.0, 43.4, 64.8), ("Relative Entropy", 54.6, 47.6, 58.8),
             ("Random Cut Forest", 51.7, 38.4, 59.7), ("Twitter ADVec", 47.1, 33.6, 53.5),
             ("Windowed Gaussian", 39.6, 20.9, 47.4), ("Random", 11.0, 1.2, 19.5),
             ("PyOD LSTMAD (measured here, BENCHMARKS.md)", 8.4, 5.2, 13.4)]


def detect(values, args):
    from tsrnn import RNNAnomalyDetector

    n = len(values)
    prob = min(int(0.15 * n), 750)
    y = pd.Series(values, dtype=float)  # positional index: NAB aligns by row
    det = RNNAnomalyDetector(cell=args.cell, hidden_size=args.hidden, window=args.window,
                             bidirectional=args.bidirectional,
                             method=args.method, threshold="likelihood",
                             likelihood_window=args.likelihood_window,
                             likelihood_short_window=args.short_window, refractory=args.refractory,
                             epochs=args.epochs,
                             batch_size=32, learning_rate=args.lr, random_state=args.seed,
                             n_jobs=args.threads)
    det.fit(y[:prob])
    scores = det.decision_function(y, causal=True).to_numpy().copy()
    scores[:prob] = 0.0  # the probationary period is not scored by NAB
    return scores


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cell", default="gru")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--method", default="hopfield",
                    help="hopfield (default, best score), reconstruction (the GRU row) or forecast")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--likelihood-window", type=int, default=8640)
    ap.add_argument("--short-window", type=int, default=1)
    ap.add_argument("--refractory", type=int, default=200)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bidirectional", action="store_true", help="bidirectional encoder")
    ap.add_argument("--files", type=int, default=None)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "nab_results"))
    ap.add_argument("--detector", default="tsrnn")
    args = ap.parse_args(argv)

    from tsrnn import nab

    corpus = nab.load_corpus(ROOT)
    files = sorted(corpus)[: args.files]
    t0 = time.perf_counter()
    scores = {}
    for k, f in enumerate(files):
        scores[f] = detect(corpus[f]["value"].to_numpy(dtype=float), args)
    elapsed = time.perf_counter() - t0
    nab.write_results(scores, ROOT, args.out, detector=args.detector)
    res = nab.score_corpus(scores, ROOT)
    print(f"# NAB v1.1, {len(files)} files, {elapsed:.0f}s for fitting and scoring; settings {vars(args)}")
    print(f"{'detector':<44} {'standard':>9} {'low FP':>9} {'low FN':>9}")
    name = "Hopfield" if args.method == "hopfield" else args.cell.upper() + " " + args.method
    print(f"{'tsrnn ' + name + ' + likelihood (this run)':<44} "
          f"{res['standard']['score']:>9.1f} {res['reward_low_FP_rate']['score']:>9.1f} "
          f"{res['reward_low_FN_rate']['score']:>9.1f}")
    for name, a, b, c in PUBLISHED:
        print(f"{name:<44} {a:>9.1f} {b:>9.1f} {c:>9.1f}")
    return res


if __name__ == "__main__":
    main()

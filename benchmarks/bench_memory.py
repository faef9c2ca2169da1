"""Memory of stateful TBPTT training and chunked scoring on a long series.

Trains ``Network(return_sequences=True)`` (GRU, hidden 16) with
``Trainer.fit_stream`` (n_streams 64, bptt 64, 1 epoch) on a synthetic float32
series of N points (one-step-ahead targets), then scores the whole series with
``Network.forward`` in chunks that carry the hidden state, keeping only a running
error sum.  Each N runs in a fresh subprocess so that the peak RSS
(``ru_maxrss``) belongs to that N alone.

Usage::

    python benchmarks/bench_memory.py                 # N = 1,000,000 and 10,000,000
    python benchmarks/bench_memory.py 1000000 3000000 # any list of N
    python benchmarks/bench_memory.py --one 1000000   # one run, JSON on stdout

What to look for: ``peak - baseline - input`` (the working memory of training and
scoring) should not grow with N; the input array (X and Y are views of one
float32 array of N + 1 values) is reported separately.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

MiB = 1024.0 ** 2


def _rss_now():
    """Current RSS in bytes (psutil if installed, else /proc, else the peak)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        pass
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return _peak()


def _peak():
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb * (1 if sys.platform == "darwin" else 1024)


def one(n_points, n_streams=64, bptt=64, hidden=16, epochs=1, chunk=4096, n_jobs=None):
    import numpy as np

    from tsrnn.nn import Network
    from tsrnn.nn.trainer import Trainer

    def net_and_trainer():
        net = Network(1, hidden, cell="gru", output_size=1, return_sequences=True,
                      dtype="float32", random_state=0, n_jobs=n_jobs)
        tr = Trainer(net, epochs=epochs, learning_rate=1e-3, random_state=0, n_jobs=n_jobs)
        return net, tr

    # warm-up on a small series: compile (or load from cache) every kernel used below
    net, tr = net_and_trainer()
    s = np.sin(np.arange(n_streams * bptt * 2 + 1, dtype=np.float32) / 10.0)
    tr.fit_stream(s[:-1, None], s[1:, None], n_streams=n_streams, bptt=bptt)
    net.forward(s[None, :chunk, None], return_state=True)
    out = {"n_points": n_points, "n_streams": n_streams, "bptt": bptt, "hidden": hidden,
           "epochs": epochs, "chunk": chunk}
    out["baseline_rss_mib"] = _rss_now() / MiB
    out["baseline_peak_mib"] = _peak() / MiB

    # generate in blocks so that no N-sized temporary inflates the peak
    rng = np.random.default_rng(0)
    series = np.empty(n_points + 1, dtype=np.float32)
    for a in range(0, n_points + 1, 1 << 16):
        b = min(n_points + 1, a + (1 << 16))
        tt = np.arange(a, b, dtype=np.float64)
        series[a:b] = np.sin(tt / 10.0) + 0.1 * rng.standard_normal(b - a)
    out["input_mib"] = series.nbytes / MiB
    X, Y = series[:-1, None], series[1:, None]  # views, no copy
    out["after_input_rss_mib"] = _rss_now() / MiB
    out["after_input_peak_mib"] = _peak() / MiB

    net, tr = net_and_trainer()
    t0 = time.perf_counter()
    hist = tr.fit_stream(X, Y, n_streams=n_streams, bptt=bptt)
    out["train_s"] = time.perf_counter() - t0
    out["train_loss"] = hist.loss_curve[-1] if hist.loss_curve else None
    out["after_train_rss_mib"] = _rss_now() / MiB
    out["after_train_peak_mib"] = _peak() / MiB

    # score: one stream, chunk by chunk, carrying the state; keep a running sum only
    t0 = time.perf_counter()
    h = None
    sse = 0.0
    for k in range(0, n_points, chunk):
        xc = X[k:k + chunk][None]
        pred, h = net.forward(xc, h0=h, return_state=True)
        err = pred[0, :, 0] - Y[k:k + chunk, 0]
        sse += float(np.dot(err, err))
    out["score_s"] = time.perf_counter() - t0
    out["score_mse"] = sse / n_points
    out["after_score_rss_mib"] = _rss_now() / MiB
    out["peak_mib"] = _peak() / MiB
    # growth of the peak during training + scoring, beyond baseline and input
    out["working_peak_mib"] = out["peak_mib"] - max(out["baseline_peak_mib"],
                                                    out["baseline_rss_mib"] + out["input_mib"])
    return out


def main(argv):
    if argv[:1] == ["--one"]:
        print(json.dumps(one(int(float(argv[1])))))
        return 0
    sizes = [int(float(a)) for a in argv] or [1_000_000, 10_000_000]
    rows = []
    for n in sizes:
        res = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True,
                             text=True, check=False)
        if res.returncode != 0:
            print(res.stderr, file=sys.stderr)
            return res.returncode
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"N={n:>11,d}  input {r['input_mib']:8.1f} MiB | RSS MiB: baseline {r['baseline_rss_mib']:7.1f}"
              f"  +input {r['after_input_rss_mib']:7.1f}  after train {r['after_train_rss_mib']:7.1f}"
              f"  after score {r['after_score_rss_mib']:7.1f}  peak {r['peak_mib']:7.1f}"
              f" | working peak (peak - baseline - input) {r['working_peak_mib']:6.1f} MiB"
              f" | train {r['train_s']:.1f} s  score {r['score_s']:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

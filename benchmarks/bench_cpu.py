"""CPU training/inference benchmark: tsrnn (RNNRegressor) vs a hand-written PyTorch loop.

Task (../shared/BENCHMARKS.md): a 20,000-point series (daily + weekly sines,
linear trend, Gaussian noise, standardised), windows of 48 -> next value
(19,952 windows), batch 64, Adam, MSE, float32, one recurrent layer + linear
head.  Both libraries run side by side in this process at the same thread
count; seconds per epoch are the median of the timed epochs after one warm-up
epoch.  Ratios are torch time / tsrnn time (> 1: tsrnn faster).

    env -u OPENBLAS_CORETYPE python benchmarks/bench_cpu.py          # full table
    python benchmarks/bench_cpu.py --cells gru --hidden 32 --threads 1 --epochs 2
    python benchmarks/bench_cpu.py --report benchmarks/out/bench_cpu.json  # targets only
    python benchmarks/bench_cpu.py --report run1.json run2.json run3.json --markdown  # medians
    # thread scaling on a many-core machine (batch 32 x threads: one shard per thread)
    python benchmarks/bench_cpu.py --threads 1,2,4,8,16 --batch-per-thread 32 --no-startup

The project machines export ``OPENBLAS_CORETYPE=Haswell``, which makes the
OpenBLAS the kernels call run its AVX2 kernels at half the speed of its
AVX-512 ones (PyTorch does not use OpenBLAS); the script warns when it is set.

Prints the BLAS in use (threadpoolctl), the float32 GEMM peak measured here,
the cold (empty Numba cache) and warm first-fit times in fresh processes, and
one row per (threads, cell, hidden).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from _common import cpu_description, gemm_peak

WINDOW = 48
GATES = {"lstm": 4, "gru": 3, "elman": 1}


def make_series(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64)
    y = (np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168) + 1e-4 * t
         + 0.2 * rng.standard_normal(n))
    return ((y - y.mean()) / y.std()).astype(np.float32)


def make_windows(y, window=WINDOW):
    from numpy.lib.stride_tricks import sliding_window_view

    X = np.ascontiguousarray(sliding_window_view(y[:-1], window))
    return X, y[window:].copy()


def flops_per_sample(cell, H, I=1, window=WINDOW):
    return 3 * window * 2 * GATES[cell] * H * (I + H)


# ------------------------------------------------------------------ torch
def torch_run(cell, H, X, y, threads, epochs, batch=64, seed=0):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[cell]
    rnn = cls(1, H, batch_first=True)
    head = torch.nn.Linear(H, 1)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    Xt = torch.from_numpy(X).unsqueeze(-1)
    yt = torch.from_numpy(y).unsqueeze(-1)
    N = Xt.shape[0]
    gen = torch.Generator().manual_seed(seed)
    times, losses = [], []
    for _ in range(epochs):
        perm = torch.randperm(N, generator=gen)
        t0 = time.perf_counter()
        total = 0.0
        for i in range(0, N, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            out = head(rnn(Xt[idx])[0][:, -1])
            loss = torch.nn.functional.mse_loss(out, yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        times.append(time.perf_counter() - t0)
        losses.append(total / N)
    with torch.no_grad():
        rnn(Xt[:256])
        inf = []
        for _ in range(3):
            t0 = time.perf_counter()
            head(rnn(Xt)[0][:, -1])
            inf.append(time.perf_counter() - t0)
    return times, losses, min(inf)


# ------------------------------------------------------------------ tsrnn
def tsrnn_run(cell, H, X, y, threads, epochs, batch=64, seed=0):
    from tsrnn import RNNRegressor

    reg = RNNRegressor(cell=cell, hidden_size=H, epochs=epochs, batch_size=batch,
                       learning_rate=1e-3, optimizer="adam", dtype="float32",
                       n_jobs=threads, random_state=seed)
    reg.fit(X, y)
    reg.predict(X[:256])
    inf = []
    for _ in range(3):
        t0 = time.perf_counter()
        reg.predict(X)
        inf.append(time.perf_counter() - t0)
    return reg.epoch_times_, reg.loss_curve_, min(inf)


# --------------------------------------------------------------- startup
_STARTUP = r"""
import time, json, numpy as np
t0 = time.perf_counter()
import tsrnn
from tsrnn import RNNRegressor

t1 = time.perf_counter()
X = np.random.default_rng(0).standard_normal((64, 48)).astype(np.float32); y = X[:, -1].copy()
RNNRegressor(cell="lstm", hidden_size=16, epochs=1, random_state=0).fit(X, y).predict(X)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_fit": t2 - t1}))
"""


def startup_times():
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            res = subprocess.run([sys.executable, "-c", _STARTUP], env=env, capture_output=True,
                                 text=True, check=True)
            out[label] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def versions():
    import numba
    import threadpoolctl

    info = {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = "not installed"
    import scipy.linalg.cython_blas  # noqa: F401  (the BLAS the kernels call, via Numba)

    blas = [f"{d['internal_api']} {d.get('version')} ({d.get('threading_layer')}, "
            f"{d.get('architecture')} kernels, {d['filepath'].split('/')[-1]}"
            f"{': used by the tsrnn kernels' if 'scipy.libs' in d['filepath'] else ''})"
            for d in threadpoolctl.threadpool_info() if d["user_api"] == "blas"]
    info["blas"] = "; ".join(blas)
    info["cpu"] = cpu_description()
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "unset")
    return info


def train_target(cell, H):
    """The Performance issue's training target (torch time / tsrnn time), or None."""
    if cell == "lstm":
        return 2.0 if H <= 32 else 1.2 if H <= 64 else 1.0
    return 5.0 if H <= 64 else None


def targets_report(rows, peaks, n_windows):
    """Per row: each target, whether it is met, and the GFLOP/s it demands.

    The demanded rate is the model's matrix FLOPs (``flops_per_sample``; forward
    only for inference) divided by torch's time over the target ratio, shown as
    a share of the float32 GEMM peak measured in the same run: a target above
    ~80 % of the peak cannot be met by any kernel built on BLAS calls.
    """
    lines = ["", "targets: training (LSTM >= 2/1.2/1 at H <= 32/64/128, GRU/Elman >= 5 at H <= 64), "
             "inference >= 3 at every size; 'needs' = GFLOP/s the target demands (% of the GEMM peak)",
             f"{'thr':>3} {'cell':>5} {'H':>4} | {'train':>6} {'target':>6} {'met':>4} {'needs':>13} | "
             f"{'infer':>6} {'met':>4} {'needs':>13}"]
    for r in rows:
        if "ratio" not in r:
            continue
        peak = peaks[str(r["threads"])] if isinstance(next(iter(peaks)), str) else peaks[r["threads"]]
        fl = flops_per_sample(r["cell"], r["hidden"]) * n_windows
        tgt = train_target(r["cell"], r["hidden"])
        if tgt is None:
            train = f"{r['ratio']:>6.2f} {'-':>6} {'-':>4} {'-':>13}"
        else:
            need = fl / (r["torch_s"] / tgt) / 1e9
            train = (f"{r['ratio']:>6.2f} {tgt:>6.1f} {'yes' if r['ratio'] >= tgt else 'no':>4} "
                     f"{need:>6.0f} ({100 * need / peak:>3.0f}%)")
        need_i = fl / 3 / (r["torch_inf_s"] / 3.0) / 1e9
        lines.append(f"{r['threads']:>3} {r['cell']:>5} {r['hidden']:>4} | {train} | {r['inf_ratio']:>6.2f} "
                     f"{'yes' if r['inf_ratio'] >= 3.0 else 'no':>4} {need_i:>6.0f} ({100 * need_i / peak:>3.0f}%)")
    return "\n".join(lines)


def median_rows(runs):
    """Per (threads, cell, hidden): the median of every numeric field over the runs."""
    keyed = {}
    for rows in runs:
        for r in rows:
            keyed.setdefault((r["threads"], r["cell"], r["hidden"]), []).append(r)
    out = []
    for (th, cell, H), rs in keyed.items():
        row = dict(threads=th, cell=cell, hidden=H, n_runs=len(rs))
        for k in rs[0]:
            if k not in row and all(isinstance(x.get(k), (int, float)) for x in rs):
                row[k] = statistics.median(x[k] for x in rs)
        out.append(row)
    return out


def markdown_rows(rows):
    lines = ["| threads | cell | H | torch s/epoch | tsrnn s/epoch | ratio | tsrnn GFLOP/s | "
             "torch infer s | tsrnn infer s | infer ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tgt = train_target(r["cell"], r["hidden"])
        rat = f"{r['ratio']:.2f}"
        inf = f"{r['inf_ratio']:.2f}"
        rat = f"**{rat}**" if tgt is not None and r["ratio"] >= tgt else rat
        inf = f"**{inf}**" if r["inf_ratio"] >= 3.0 else inf
        lines.append(f"| {r['threads']} | {r['cell']} | {r['hidden']} | {r['torch_s']:.3f} | "
                     f"{r['tsrnn_s']:.3f} | {rat} | {r['tsrnn_gflops']:.1f} | {r['torch_inf_s']:.3f} | "
                     f"{r['tsrnn_inf_s']:.3f} | {inf} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default="lstm,gru,elman")
    ap.add_argument("--hidden", default="16,32,64,128")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (after 1 warm-up)")
    ap.add_argument("--batch", type=int, default=64, help="batch size of both libraries (default 64)")
    ap.add_argument("--batch-per-thread", type=int, default=None, metavar="N",
                    help="batch = N x threads instead of --batch: for thread-scaling runs (a batch "
                         "has one parallel shard per 32 sequences, so batch 64 keeps at most 2 "
                         "threads busy; N=32 gives every thread one shard)")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    ap.add_argument("--report", metavar="JSON", nargs="+",
                    help="only print the targets report of saved run(s); with several files, "
                         "per row the median over the runs (each ratio against its own run's anchor)")
    ap.add_argument("--markdown", action="store_true", help="with --report: also print the rows as "
                    "a Markdown table")
    ap.add_argument("--peaks", help="with --report: GEMM peaks per thread count, e.g. 117,235 "
                    "(for runs saved before the peaks were stored)")
    args = ap.parse_args(argv)
    if args.report:
        runs = []
        for path in args.report:
            with open(path) as fh:
                runs.append(json.load(fh))
        peaks = None
        if all(r["info"].get("gemm_peak") for r in runs):
            peaks = {k: statistics.median(r["info"]["gemm_peak"][k] for r in runs)
                     for k in runs[0]["info"]["gemm_peak"]}
        if args.peaks:
            peaks = {i + 1: float(p) for i, p in enumerate(args.peaks.split(","))}
        if not peaks:
            ap.error("the saved run has no GEMM peaks; pass --peaks")
        rows = median_rows([r["rows"] for r in runs])
        print(f"{len(runs)} run(s); GEMM peak (median): "
              + ", ".join(f"{k} thread(s) {v:.0f} GFLOP/s" for k, v in peaks.items()))
        if args.markdown:
            print(markdown_rows(rows))
        print(targets_report(rows, peaks, len(make_windows(make_series())[0])))
        return

    import tsrnn  # noqa: F401  (import cost is not part of the timings)

    info = versions()
    print("# bench_cpu", time.strftime("%Y-%m-%d %H:%M"), json.dumps(info))
    if os.environ.get("OPENBLAS_CORETYPE"):
        print(f"WARNING: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} is set: it forces OpenBLAS's "
              "kernels for that core (on this project's AVX-512 machine, Haswell halves the GEMM speed "
              "of the kernels' BLAS, not PyTorch's); run as `env -u OPENBLAS_CORETYPE python "
              "benchmarks/bench_cpu.py` to measure what users get", flush=True)
    threads_list = [int(t) for t in args.threads.split(",")]
    peaks = {}
    for th in threads_list:
        peaks[th] = gemm_peak(th)
        print(f"float32 GEMM peak, {th} thread(s): {peaks[th]:.0f} GFLOP/s")
    info["gemm_peak"] = {str(k): v for k, v in peaks.items()}
    if not args.no_startup:
        st = startup_times()
        print(f"startup (fresh process): cold cache import {st['cold']['import']:.2f}s + first fit "
              f"{st['cold']['first_fit']:.2f}s; warm cache import {st['warm']['import']:.2f}s + first fit "
              f"{st['warm']['first_fit']:.2f}s")
    y = make_series()
    X, t = make_windows(y)
    # compile every kernel once (not timed)
    tsrnn_run("gru", 8, X[:256], t[:256], 1, 1)
    rows = []
    hdr = (f"{'thr':>3} {'cell':>5} {'H':>4} | {'torch s/ep':>10} {'tsrnn s/ep':>10} {'ratio':>6} | "
           f"{'tsrnn GF/s':>10} | {'torch inf':>9} {'tsrnn inf':>9} {'ratio':>6} | {'loss torch':>10} {'loss tsrnn':>10}")
    print(hdr)
    print("-" * len(hdr))
    for th in threads_list:
        for cell in args.cells.split(","):
            for H in [int(h) for h in args.hidden.split(",")]:
                ep = args.epochs + 1
                batch = args.batch_per_thread * th if args.batch_per_thread else args.batch
                ts_times, ts_loss, ts_inf = tsrnn_run(cell, H, X, t, th, ep, batch=batch)
                ts = statistics.median(ts_times[1:])
                row = dict(threads=th, cell=cell, hidden=H, batch=batch, tsrnn_s=ts, tsrnn_inf_s=ts_inf,
                           tsrnn_loss=ts_loss[-1], tsrnn_windows_per_s=len(X) / ts,
                           tsrnn_gflops=flops_per_sample(cell, H) * len(X) / ts / 1e9)
                if not args.no_torch:
                    tt_times, tt_loss, tt_inf = torch_run(cell, H, X, t, th, ep, batch=batch)
                    tt = statistics.median(tt_times[1:])
                    row.update(torch_s=tt, torch_inf_s=tt_inf, torch_loss=tt_loss[-1],
                               ratio=tt / ts, inf_ratio=tt_inf / ts_inf)
                rows.append(row)
                print(f"{th:>3} {cell:>5} {H:>4} | {row.get('torch_s', float('nan')):>10.3f} {ts:>10.3f} "
                      f"{row.get('ratio', float('nan')):>6.2f} | {row['tsrnn_gflops']:>10.1f} | "
                      f"{row.get('torch_inf_s', float('nan')):>9.3f} {ts_inf:>9.3f} "
                      f"{row.get('inf_ratio', float('nan')):>6.2f} | {row.get('torch_loss', float('nan')):>10.4f} "
                      f"{row['tsrnn_loss']:>10.4f}", flush=True)
    if not args.no_torch:
        print(targets_report(rows, peaks, len(X)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"info": info, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()

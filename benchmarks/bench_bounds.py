"""How close the LSTM rows of ``bench_cpu.py`` are to what one core can do.

A lower bound for a one-thread training epoch and for predicting all windows,
built from the two things the time cannot go below:

* the kernels' matrix products, each timed alone with the exact shapes, block
  rule and BLAS call the kernels make (:func:`tsrnn.kernels.blas.gemm` in a
  jitted loop, one BLAS thread, 64-byte aligned operands): per training shard
  of 32 windows the input projection, 48 forward ``h @ W_hh^T``, 47 backward
  ``dZ @ W_hh`` and the two weight gradients; per 256-window inference shard the
  48 transposed step products of ``bptt.lstm_infer_t``;
* the activations: three sigmoids and two tanh per unit and step
  (:func:`tsrnn.kernels.activations.apply_squash` over flat float32 arrays, the
  same fast approximations the kernels use).

Everything else (the cell update, copies, the head, the optimiser, Python) is
left out, so the bound is optimistic.  The script also measures tsrnn itself
(``RNNRegressor`` epoch on one thread, ``Network.forward`` of all windows) and,
given ``bench_cpu.py`` JSON files, prints the best torch / tsrnn ratio the bound
allows against PyTorch's one-thread times from those runs (median over files).

Usage::

    env -u OPENBLAS_CORETYPE python benchmarks/bench_bounds.py \\
        [--hidden 16,32,64,128] [--against benchmarks/out/bench_cpu_s6a.json ...] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from tsrnn import _config  # noqa: E402
from tsrnn._config import jit  # noqa: E402
from tsrnn.kernels.activations import ACT_SIGMOID, ACT_TANH, apply_squash  # noqa: E402
from tsrnn.kernels.blas import SMALL_MNK, gemm  # noqa: E402
from tsrnn.kernels.bptt import _empty64  # noqa: E402

from _common import cpu_description, gemm_peak  # noqa: E402
from bench_cpu import make_series, make_windows  # noqa: E402

T = 48
BATCH = 64
INFER_SHARD = 256


@jit
def _gemm_loop(A, B, C, beta, trans_a, reps):
    for _ in range(reps):
        gemm(A, B, C, beta, trans_a)


@jit
def _act_loop(v, kind, reps):
    for _ in range(reps):
        apply_squash(v, 0, v.shape[0], kind, True)


@jit
def _aligned(rows, cols, seed):
    a = _empty64((rows, cols), np.float32)
    np.random.seed(seed)
    for i in range(rows):
        for j in range(cols):
            a[i, j] = np.random.standard_normal() * 0.1
    return a


def _best(fn, reps, repeat=5):
    fn(2)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(reps)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def product_time(m, k, n, beta=0.0, trans_a=False):
    """Seconds of one ``C(m, n) = op(A) @ B`` call of the kernels' gemm."""
    A = _aligned(k, m, 1) if trans_a else _aligned(m, k, 1)
    B = _aligned(k, n, 2)
    C = _aligned(m, n, 3)
    reps = max(20, int(2e8 / (2 * m * n * k)))
    return _best(lambda r: _gemm_loop(A, B, C, beta, trans_a, r), reps)


def activation_time(n_sigmoid, n_tanh):
    """Seconds to squash ``n_sigmoid`` + ``n_tanh`` float32 values (flat runs)."""
    out = 0.0
    for count, kind in ((n_sigmoid, ACT_SIGMOID), (n_tanh, ACT_TANH)):
        v = (0.5 * np.random.default_rng(0).standard_normal(count)).astype(np.float32)
        reps = max(20, int(2e7 / count))
        out += _best(lambda r: _act_loop(v, kind, r), reps)
    return out


def training_bound(H, n_windows, shard=None, I=1):
    """(products s, activations s) of one training epoch on one core."""
    bs = shard or _config.SHARD_SIZE
    GH = 4 * H
    n = T * bs
    per_shard = (product_time(n, I, GH)                        # input projection
                 + T * product_time(bs, H, GH)                 # h @ W_hh^T
                 + (T - 1) * product_time(bs, GH, H, 1.0)      # dZ @ W_hh
                 + product_time(GH, n, I, 0.0, True)           # dW_ih
                 + product_time(GH, n, H, 0.0, True))          # dW_hh
    shards = n_windows / bs
    act = activation_time(3 * bs * H, 2 * bs * H) * T * shards
    return per_shard * shards, act


def inference_bound(H, n_windows, I=1):
    """(products s, activations s) of predicting ``n_windows`` windows on one core."""
    bs = INFER_SHARD
    GH = 4 * H
    K = H + I + 1
    if GH * K * bs <= SMALL_MNK:     # one product per step (lstm_infer_t's rule)
        step = product_time(GH, K, bs)
    else:
        step = product_time(GH, I + 1, bs) + product_time(GH, H, bs, 1.0)
    shards = n_windows / bs
    act = activation_time(3 * bs * H, 2 * bs * H) * T * shards
    return step * T * shards, act


def measure_tsrnn(H, X, y):
    """(seconds per training epoch, seconds to predict every window), one thread."""
    from tsrnn import RNNRegressor
    from tsrnn.nn.network import Network

    reg = RNNRegressor(cell="lstm", hidden_size=H, epochs=2, batch_size=BATCH,
                       learning_rate=1e-3, optimizer="adam", dtype="float32", n_jobs=1,
                       random_state=0).fit(X, y)
    net = Network(1, H, cell="lstm", dtype="float32", random_state=0, n_jobs=1)
    X3 = X[:, :, None]
    net.forward(X3[:512])
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        net.forward(X3)
        best = min(best, time.perf_counter() - t0)
    return reg.epoch_times_[-1], best


def torch_times(paths):
    """{H: (torch s/epoch, torch inference s)}: one-thread LSTM rows, median over files."""
    rows = {}
    for p in paths:
        with open(p) as fh:
            for r in json.load(fh)["rows"]:
                if r["threads"] == 1 and r["cell"] == "lstm" and "torch_s" in r:
                    rows.setdefault(r["hidden"], []).append((r["torch_s"], r["torch_inf_s"]))
    return {H: (statistics.median(a for a, _ in v), statistics.median(b for _, b in v))
            for H, v in rows.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", default="16,32,64,128")
    ap.add_argument("--against", nargs="*", default=[], metavar="JSON",
                    help="bench_cpu.py JSON files: PyTorch's one-thread times")
    ap.add_argument("--no-measure", action="store_true", help="bounds only")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if os.environ.get("OPENBLAS_CORETYPE"):
        print(f"WARNING: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} is set; "
              "rerun with `env -u OPENBLAS_CORETYPE` (it halves the kernels' BLAS speed)")
    X, y = make_windows(make_series())
    torch = torch_times(args.against)
    from tsrnn._threading import thread_limits

    print(f"CPU: {cpu_description()}; float32 GEMM peak, 1 thread: {gemm_peak(1):.0f} GFLOP/s")
    print(f"{len(X)} windows of {T}; training shards of {_config.SHARD_SIZE}, "
          f"inference shards of {INFER_SHARD}; seconds, one thread")
    hdr = (f"{'H':>4} | {'train: products':>15} {'act':>6} {'bound':>6} {'tsrnn':>6} "
           f"{'/bound':>6} | {'infer: products':>15} {'act':>6} {'bound':>6} {'tsrnn':>6} "
           f"{'/bound':>6} | {'best ratio train':>16} {'infer':>6}")
    print(hdr)
    print("-" * len(hdr))
    out = []
    for H in (int(h) for h in args.hidden.split(",")):
        with thread_limits(1):
            tp, ta = training_bound(H, len(X))
            ip, ia = inference_bound(H, len(X))
        row = dict(hidden=H, train_products_s=tp, train_act_s=ta, train_bound_s=tp + ta,
                   infer_products_s=ip, infer_act_s=ia, infer_bound_s=ip + ia)
        if not args.no_measure:
            row["tsrnn_s"], row["tsrnn_inf_s"] = measure_tsrnn(H, X, y)
        if H in torch:
            row["torch_s"], row["torch_inf_s"] = torch[H]
            row["best_ratio"] = torch[H][0] / row["train_bound_s"]
            row["best_inf_ratio"] = torch[H][1] / row["infer_bound_s"]
        out.append(row)

        def f(key, fmt="6.3f"):
            return format(row[key], fmt) if key in row else f"{'-':>{fmt.split('.')[0]}}"

        tr = row["tsrnn_s"] / row["train_bound_s"] if "tsrnn_s" in row else None
        ir = row["tsrnn_inf_s"] / row["infer_bound_s"] if "tsrnn_inf_s" in row else None
        print(f"{H:4d} | {tp:15.3f} {ta:6.3f} {tp + ta:6.3f} {f('tsrnn_s')} "
              f"{(format(tr, '6.2f') if tr else '     -')} | {ip:15.3f} {ia:6.3f} {ip + ia:6.3f} "
              f"{f('tsrnn_inf_s')} {(format(ir, '6.2f') if ir else '     -')} | "
              f"{f('best_ratio', '16.2f')} {f('best_inf_ratio', '6.2f')}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cpu": cpu_description(), "rows": out}, fh, indent=1)


if __name__ == "__main__":
    main()

"""GPU training benchmark: tsrnn's CUDA kernels (CudaRunner) vs torch + cuDNN.

Same model, data and batch on both sides: one recurrent layer (LSTM, GRU or Elman
tanh) of hidden 16/32/64/128 + a linear head on the last step, float32, Adam
(lr 1e-3), MSE, batches of 1024 windows of 48 steps of one feature (the same
series as bench_cpu.py), data resident on the GPU, shuffled every epoch.  Both run
side by side in this process; one warm-up epoch (compilation, cuDNN autotuning) is
excluded, then the timed epochs are measured end to end (synchronised).  The ratio
is tsrnn samples/s divided by torch samples/s (> 1: tsrnn faster).

Before timing, a parity check runs one batch through both with the same weights
(tsrnn's state_dict loads into torch unchanged) and prints the largest relative
difference of the loss and of the gradient.

    python benchmarks/bench_gpu.py                         # LSTM and GRU, hidden 16..128
    python benchmarks/bench_gpu.py --cells lstm --hidden 64 --epochs 3 --json

Without a usable GPU it prints what is missing and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np

WINDOW = 48
BATCH = 1024


def make_windows(n_windows, window=WINDOW, seed=0):
    """(n_windows, window, 1) windows of a standardised daily + weekly sine with trend and
    noise, and the value after each window (n_windows, 1)."""
    n = n_windows + window
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64)
    y = (np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168) + 1e-4 * t
         + 0.2 * rng.standard_normal(n))
    y = ((y - y.mean()) / y.std()).astype(np.float32)
    from numpy.lib.stride_tricks import sliding_window_view

    X = np.ascontiguousarray(sliding_window_view(y[:-1], window)[:n_windows])[:, :, None]
    return X, y[window:window + n_windows, None].copy()


def torch_model(torch, cell, H):
    rnn_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[cell]

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn_cls(1, H, batch_first=True)
            self.head = torch.nn.Linear(H, 1)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    return Model()


def parity(torch, cell, H, X, Y):
    """Max relative differences (loss, gradient) between CudaRunner and torch on one batch."""
    from tsrnn.cuda.engine import CudaRunner
    from tsrnn.nn import Network

    net = Network(1, H, cell=cell, dtype="float32", random_state=1)
    runner = CudaRunner(net)
    loss, grad = runner.loss_and_grad(X[:BATCH], Y[:BATCH])
    model = torch_model(torch, cell, H).cuda()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    xb = torch.from_numpy(X[:BATCH]).cuda()
    yb = torch.from_numpy(Y[:BATCH]).cuda()
    tloss = torch.nn.functional.mse_loss(model(xb), yb)
    tloss.backward()
    named = dict(model.named_parameters())
    tgrad = np.concatenate([named[n].grad.detach().cpu().numpy().ravel()
                            for n in net.layout.names])
    return (abs(loss - float(tloss)) / max(abs(float(tloss)), 1e-12),
            float(np.abs(grad - tgrad).max() / max(np.abs(tgrad).max(), 1e-12)))


def bench_tsrnn(cell, H, X, Y, epochs, lr):
    from numba import cuda

    from tsrnn.cuda.engine import CudaRunner
    from tsrnn.nn import Network

    net = Network(1, H, cell=cell, dtype="float32", random_state=0)
    runner = CudaRunner(net)
    dX, dY = runner.to_device(X, Y)
    t0 = time.perf_counter()
    runner.fit_windows(dX, dY, epochs=1, batch_size=BATCH, lr=lr, seed=0)   # warm-up + JIT
    cuda.synchronize()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    hist = runner.fit_windows(dX, dY, epochs=epochs, batch_size=BATCH, lr=lr, seed=1)
    cuda.synchronize()
    return epochs * X.shape[0] / (time.perf_counter() - t0), first, hist[-1]


def bench_torch(torch, cell, H, X, Y, epochs, lr):
    torch.manual_seed(0)
    model = torch_model(torch, cell, H).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    dX = torch.from_numpy(X).cuda()
    dY = torch.from_numpy(Y).cuda()
    N = X.shape[0]
    gen = torch.Generator(device="cpu").manual_seed(0)

    def epoch():
        perm = torch.randperm(N, generator=gen).cuda()
        total = torch.zeros((), device="cuda")
        for s in range(0, N, BATCH):
            idx = perm[s:s + BATCH]
            loss = torch.nn.functional.mse_loss(model(dX[idx]), dY[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * idx.shape[0]
        return float(total) / N

    t0 = time.perf_counter()
    epoch()
    torch.cuda.synchronize()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(epochs):
        last = epoch()
    torch.cuda.synchronize()
    return epochs * N / (time.perf_counter() - t0), first, last


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=["lstm", "gru", "elman"])
    ap.add_argument("--hidden", nargs="+", type=int, default=[16, 32, 64, 128])
    ap.add_argument("--batches", type=int, default=16, help="batches of 1024 per epoch")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--no-parity", action="store_true", help="skip the one-batch parity check")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)

    from tsrnn.cuda import cuda_status, device_summary

    usable, reason = cuda_status()
    if not usable:
        print(f"bench_gpu: no usable GPU: {reason}", file=sys.stderr)
        return 2
    try:
        import torch
    except ImportError:
        print("bench_gpu: torch is not installed (pip install torch with CUDA support); it is the "
              "baseline this benchmark compares against", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print(f"bench_gpu: numba sees a GPU but torch {torch.__version__} has no CUDA "
              "(install a CUDA build of torch)", file=sys.stderr)
        return 2
    torch.backends.cudnn.enabled = True

    import numba

    import tsrnn

    info = device_summary()
    env = {
        "gpu": info["gpu"], "compute_capability": info["compute_capability"],
        "driver": info["driver"], "nvvm": info["nvvm"], "numba": numba.__version__,
        "tsrnn": tsrnn.__version__, "torch": torch.__version__, "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(), "numpy": np.__version__,
        "python": platform.python_version(),
    }
    X, Y = make_windows(args.batches * BATCH)
    rows = []
    for cell in args.cells:
        for H in args.hidden:
            row = {"cell": cell, "hidden": H, "batch": BATCH, "window": WINDOW,
                   "samples_per_epoch": int(X.shape[0])}
            if not args.no_parity:
                row["parity_loss_rel"], row["parity_grad_rel"] = parity(torch, cell, H, X, Y)
            ts, ts_first, ts_loss = bench_tsrnn(cell, H, X, Y, args.epochs, args.lr)
            tt, tt_first, tt_loss = bench_torch(torch, cell, H, X, Y, args.epochs, args.lr)
            row.update(tsrnn_samples_per_s=ts, torch_samples_per_s=tt, ratio=ts / tt,
                       tsrnn_first_epoch_s=ts_first, torch_first_epoch_s=tt_first,
                       tsrnn_last_loss=ts_loss, torch_last_loss=tt_loss)
            rows.append(row)
            if not args.json:
                if len(rows) == 1:
                    print(" ".join(f"{k}={v}" for k, v in env.items()))
                    print(f"{'cell':6} {'H':>4} {'tsrnn/s':>12} {'torch/s':>12} {'ratio':>7} "
                          f"{'first(ts)':>9} {'first(tt)':>9} {'parity':>9}")
                par = row.get("parity_grad_rel", float("nan"))
                print(f"{cell:6} {H:4d} {ts:12.0f} {tt:12.0f} {ts / tt:7.2f} {ts_first:9.2f} "
                      f"{tt_first:9.2f} {par:9.1e}", flush=True)
    if args.json:
        print(json.dumps({"env": env, "epochs": args.epochs, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""tsrnn vs what users run instead: NeuralForecast's LSTM and Darts' BlockRNNModel.

Same task as ``bench_cpu.py``: a 20,000-point synthetic series, windows of 48 ->
next value (19,952 windows), batch 64, Adam(lr 1e-3), MSE, float32, one recurrent
layer of hidden size H + a linear head.  Seconds per epoch are the median of the
timed epochs after one warm-up epoch; ratio = peer s/epoch / tsrnn s/epoch at the
same H, cell and thread count (> 1: tsrnn faster).

Needs torch, neuralforecast and darts, so it is run from a separate virtualenv
that also has tsrnn installed, e.g.::

    python3 -m venv /work/venv-peers
    /work/venv-peers/bin/pip install torch==2.13.0 neuralforecast darts
    /work/venv-peers/bin/pip install -e .
    /work/venv-peers/bin/python benchmarks/bench_peers.py --cells lstm,gru \
        --hidden 16,32,64,128 --json benchmarks/out/bench_peers.json

Every row runs in a fresh subprocess of this script (same interpreter), one at a
time, so no library's thread pools, Lightning state or warm caches leak into
another's timings; the thread count is set the same way in each
(``OMP_NUM_THREADS`` / ``torch.set_num_threads`` / tsrnn ``n_jobs``).

What one "epoch" is for each library (and what is timed):

- tsrnn: ``RNNRegressor.epoch_times_`` -- one pass over the 19,952 windows in
  shuffled batches of 64 (312 steps, the last one of 48), as in bench_cpu.py.
  The Numba kernels are compiled (or loaded from cache) by a small fit first.
- NeuralForecast (``neuralforecast.models.LSTM``, ``recurrent=False``): training
  is counted in steps.  Each step takes the one series, unfolds all 19,952
  windows and draws ``windows_batch_size=64`` of them at random (without
  replacement inside a step, with replacement across steps).  One "epoch" here
  is 312 steps (= ceil(19,952 / 64), 19,968 windows seen), and
  ``max_steps = 312 * (1 + timed epochs)``.  Times come from a Lightning callback
  (``on_train_batch_end`` timestamps); an epoch is the time between the end of
  step k*312-1 and the end of step (k+1)*312-1, so it includes NeuralForecast's
  per-step window building, sampling, scaling (``scaler_type="identity"``) and
  Lightning's per-step logging.  Lightning's own "epoch" is one pass over the
  series dataloader, i.e. one step here.
- Darts (``BlockRNNModel(model="LSTM")``): Darts builds its own training dataset
  (19,952 samples of 48 -> 1) and a shuffled DataLoader with batch 64; one
  Lightning epoch is one pass over it (312 batches).  Timed from
  ``on_train_epoch_start`` to ``on_train_epoch_end`` in a callback, so it includes
  Darts' per-sample ``__getitem__`` and collation.

``--big-free`` allocates and frees one 16 MiB array in each row's process before
fitting; that alone makes tsrnn 33-48 % faster at H >= 64 here (glibc's dynamic mmap
threshold, most likely), and bench_cpu.py gets it as a side effect of its GEMM-peak
measurement.  The default (off) is what a fresh user process gets.

Not identical across libraries: weight initialisation, NeuralForecast's random
window sampling (vs. shuffled passes), the per-library loss bookkeeping, and
Lightning's overheads (which are the point: this is what a user of those
libraries pays).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cpu_description  # noqa: E402
from bench_cpu import make_series, make_windows  # noqa: E402

WINDOW = 48
BATCH = 64


def steps_per_epoch(n_windows, batch=BATCH):
    return -(-n_windows // batch)


# ------------------------------------------------------------------ workers
def run_tsrnn(cell, H, threads, epochs, seed=0):
    from tsrnn import RNNRegressor

    y = make_series()
    X, t = make_windows(y)
    # compile / load every kernel once (not timed)
    RNNRegressor(cell=cell, hidden_size=8, epochs=1, batch_size=BATCH, dtype="float32",
                 n_jobs=threads, random_state=0).fit(X[:256], t[:256])
    reg = RNNRegressor(cell=cell, hidden_size=H, epochs=epochs, batch_size=BATCH,
                       learning_rate=1e-3, optimizer="adam", dtype="float32",
                       n_jobs=threads, random_state=seed)
    reg.fit(X, t)
    EXTRA.update(steps_per_epoch=steps_per_epoch(len(X)), dtype=str(reg.dtype))
    return list(reg.epoch_times_), float(reg.loss_curve_[-1]), len(X)


EXTRA = {}


def _lightning_callback():
    import pytorch_lightning as pl

    # The lists live outside the instance: NeuralForecast deep-copies its models
    # (and their trainer kwargs) before fitting, so the instance passed in is not the
    # one Lightning calls.
    stamps = {"batch_end": [], "epoch_start": [], "epoch_end": []}

    class Timer(pl.Callback):
        batch_end = stamps["batch_end"]
        epoch_start = stamps["epoch_start"]
        epoch_end = stamps["epoch_end"]

        def __deepcopy__(self, memo):
            return self

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            stamps["batch_end"].append(time.perf_counter())

        def on_train_epoch_start(self, trainer, pl_module):
            stamps["epoch_start"].append(time.perf_counter())

        def on_train_epoch_end(self, trainer, pl_module):
            stamps["epoch_end"].append(time.perf_counter())

    return Timer()


def _quiet():
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric",
                 "neuralforecast", "darts"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run_neuralforecast(cell, H, threads, epochs, seed=0):
    import pandas as pd
    import torch
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MSE
    from neuralforecast.models import GRU, LSTM

    _quiet()
    torch.set_num_threads(threads)
    y = make_series()
    n_windows = len(y) - WINDOW
    spe = steps_per_epoch(n_windows)
    df = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(y)), "y": y})
    cb = _lightning_callback()
    cls = {"lstm": LSTM, "gru": GRU}[cell]
    model = cls(h=1, input_size=WINDOW, encoder_n_layers=1, encoder_hidden_size=H,
                decoder_layers=1, decoder_hidden_size=1, recurrent=False, loss=MSE(),
                max_steps=spe * epochs, learning_rate=1e-3, val_check_steps=spe * epochs,
                batch_size=1, windows_batch_size=BATCH, scaler_type="identity",
                start_padding_enabled=False, random_seed=seed + 1, accelerator="cpu",
                devices=1, enable_progress_bar=False, enable_model_summary=False,
                logger=False, enable_checkpointing=False, callbacks=[cb])
    nf = NeuralForecast(models=[model], freq=1)
    nf.fit(df=df, val_size=0)
    ends = cb.batch_end
    assert len(ends) == spe * epochs, (len(ends), spe * epochs)
    times = [ends[(k + 1) * spe - 1] - ends[k * spe - 1] for k in range(1, epochs)]
    times = [ends[spe - 1] - ends[0]] + times  # warm-up epoch (minus its first step)
    fitted = nf.models[0]
    EXTRA.update(steps_per_epoch=spe, dtype=str(next(fitted.parameters()).dtype),
                 windows_per_step=fitted.windows_batch_size)
    traj = [l for _, l in fitted.train_trajectories][-spe:]
    return times, float(np.mean(traj)), n_windows


def run_darts(cell, H, threads, epochs, seed=0):
    import torch
    from darts import TimeSeries
    from darts.models import BlockRNNModel

    _quiet()
    torch.set_num_threads(threads)
    y = make_series()
    series = TimeSeries.from_values(y.astype(np.float32))
    cb = _lightning_callback()
    model = BlockRNNModel(model=cell.upper(), input_chunk_length=WINDOW, output_chunk_length=1,
                          hidden_dim=H, n_rnn_layers=1, dropout=0.0, batch_size=BATCH,
                          n_epochs=epochs, loss_fn=torch.nn.MSELoss(),
                          optimizer_cls=torch.optim.Adam, optimizer_kwargs={"lr": 1e-3},
                          random_state=seed, save_checkpoints=False,
                          pl_trainer_kwargs=dict(accelerator="cpu", devices=1,
                                                 enable_progress_bar=False,
                                                 enable_model_summary=False, logger=False,
                                                 enable_checkpointing=False, callbacks=[cb]))
    model.fit(series, verbose=False)
    assert len(cb.epoch_end) == epochs, (len(cb.epoch_end), epochs)
    times = [e - s for s, e in zip(cb.epoch_start, cb.epoch_end)]
    EXTRA.update(steps_per_epoch=len(cb.batch_end) / epochs,
                 dtype=str(next(model.model.parameters()).dtype))
    loss = model.trainer.callback_metrics.get("train_loss")
    return times, float(loss) if loss is not None else float("nan"), len(y) - WINDOW


WORKERS = {"tsrnn": run_tsrnn, "neuralforecast": run_neuralforecast, "darts": run_darts}
MODEL_NAME = {"tsrnn": "RNNRegressor(cell={c!r})", "neuralforecast": "models.{C}",
              "darts": "BlockRNNModel({C})"}


def worker(spec):
    lib, cell, H, threads, epochs, big_free = spec.split(":")
    H, threads, epochs = int(H), int(threads), int(epochs)
    if big_free == "1":
        # Allocate and free one 16 MiB array first.  glibc then raises its dynamic
        # mmap threshold, so later medium-sized temporaries come from the heap
        # instead of fresh (page-faulting) mmaps.  bench_cpu.py gets this as a side
        # effect of its GEMM-peak measurement; a fresh user process does not.
        np.ones((2048, 2048), np.float32)
    t0 = time.perf_counter()
    times, loss, n = WORKERS[lib](cell, H, threads, epochs)
    print("RESULT " + json.dumps({"times": times, "loss": loss, "n_windows": n, **EXTRA,
                                  "wall": time.perf_counter() - t0}), flush=True)


def run_row(lib, cell, H, threads, epochs, big_free=False):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               PYTHONWARNINGS="ignore")
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--_worker",
                          f"{lib}:{cell}:{H}:{threads}:{epochs}:{int(big_free)}"],
                         env=env, capture_output=True, text=True)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode != 0 or not lines:
        sys.stderr.write(res.stdout[-3000:] + res.stderr[-5000:])
        raise RuntimeError(f"{lib} {cell} H={H} threads={threads} failed (rc {res.returncode})")
    return json.loads(lines[-1][len("RESULT "):])


def versions():
    import importlib.metadata as md

    info = {"python": platform.python_version()}
    for pkg in ("numpy", "numba", "torch", "neuralforecast", "darts", "pytorch-lightning",
                "lightning", "tsrnn"):
        try:
            info[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        info["tsrnn_commit"] = subprocess.run(["git", "-C", here, "log", "-1", "--oneline"],
                                              capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    info["cpu"] = cpu_description()
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default="lstm", help="comma list of lstm,gru")
    ap.add_argument("--hidden", default="32,64")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (after 1 warm-up)")
    ap.add_argument("--libs", default="tsrnn,neuralforecast,darts")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    ap.add_argument("--big-free", action="store_true",
                    help="allocate and free a 16 MiB array in each row's process before "
                         "fitting (raises glibc's mmap threshold, as bench_cpu.py's GEMM "
                         "warm-up does as a side effect)")
    ap.add_argument("--_worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._worker:
        worker(args._worker)
        return

    libs = args.libs.split(",")
    missing = []
    for mod in ("torch", "pytorch_lightning", "neuralforecast", "darts", "tsrnn"):
        if mod in ("neuralforecast", "darts") and mod not in libs:
            continue
        try:
            __import__(mod)
        except ImportError as exc:
            missing.append(f"{mod} ({exc})")
    if missing:
        sys.exit("bench_peers.py: cannot import " + ", ".join(missing) + ".\nRun it from a "
                 "virtualenv with `pip install torch==2.13.0 neuralforecast darts` and "
                 "`pip install -e .` (tsrnn), or pass --libs to skip a peer.")

    info = versions()
    print("# bench_peers", time.strftime("%Y-%m-%d %H:%M"), json.dumps(info),
          "big_free" if args.big_free else "", flush=True)
    ep = args.epochs + 1
    rows = []
    hdr = (f"{'library':<15} {'model':<26} {'H':>4} {'thr':>3} {'s/epoch':>8} {'ratio':>6} "
           f"{'loss':>7} {'row wall s':>10}")
    print(hdr)
    print("-" * len(hdr), flush=True)
    for th in [int(t) for t in args.threads.split(",")]:
        for cell in args.cells.split(","):
            for H in [int(h) for h in args.hidden.split(",")]:
                base = None
                for lib in libs:
                    r = run_row(lib, cell, H, th, ep, args.big_free)
                    s = statistics.median(r["times"][1:])
                    if lib == "tsrnn":
                        base = s
                    ratio = s / base if base else float("nan")
                    model = MODEL_NAME[lib].format(c=cell, C=cell.upper())
                    row = dict(library=lib, model=model, cell=cell, hidden=H, threads=th,
                               s_per_epoch=s, ratio_vs_tsrnn=ratio, epoch_times=r["times"],
                               loss=r["loss"], n_windows=r["n_windows"], row_wall_s=r["wall"],
                               steps_per_epoch=r.get("steps_per_epoch"), dtype=r.get("dtype"))
                    rows.append(row)
                    print(f"{lib:<15} {model:<26} {H:>4} {th:>3} {s:>8.3f} {ratio:>6.2f} "
                          f"{r['loss']:>7.4f} {r['wall']:>10.1f}", flush=True)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"info": info, "epochs_timed": args.epochs, "big_free": args.big_free,
                       "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()

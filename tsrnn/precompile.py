"""Compile (or load from Numba's on-disk cache) tsrnn's kernels ahead of use.

    python -m tsrnn.precompile                  # float32 and float64, the core kernels
    python -m tsrnn.precompile float32          # only what a float32 fit needs (the default dtype)
    python -m tsrnn.precompile --all            # also Jordan/IndRNN/CTRNN and the Hopfield retrieval

The core kernels are what ``RNNForecaster``, ``RNNRegressor`` and
``RNNAnomalyDetector`` run with the Elman, LSTM and GRU cells (uni- or
bidirectional, any number of layers: one compiled specialisation serves them all,
the cell is a run-time argument), every optimizer, gradient clipping and
inference (including the LSTM inference kernel for batches of 256 sequences or
more).  Each kernel is compiled once per dtype.

Where the cache lives: next to the kernel sources (``tsrnn/kernels/__pycache__``),
or under ``$NUMBA_CACHE_DIR`` when that is set, or Numba's user-wide cache
directory when the package folder is not writable; ``python -m tsrnn.precompile``
prints it.  Set ``NUMBA_CACHE_DIR`` to the same value when precompiling and when
running.  Later processes load the kernels in a fraction of a second instead of
compiling them (tens of seconds per dtype on 2 cores).  Entries are keyed by the
kernel sources and tsrnn's JIT flags (:data:`tsrnn._config.CACHE_TAG`), so an
upgrade or ``TSRNN_FASTMATH=1`` compiles afresh; stale entries are never loaded
but are not deleted either: removing the cache directory is always safe.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

DTYPES = ("float32", "float64")


def cache_location():
    """The directory Numba reads and writes tsrnn's compiled kernels in."""
    from tsrnn.kernels.bptt import shard_forward_backward

    cache = getattr(shard_forward_backward, "_cache", None)
    return getattr(cache, "_cache_path", None)


def compiled_specialisations():
    """``{kernel name: number of compiled or loaded signatures}`` in this process."""
    from numba.core.registry import CPUDispatcher

    out = {}
    for name, mod in list(sys.modules.items()):
        if not name.startswith("tsrnn.") or mod is None:
            continue
        for obj in list(vars(mod).values()):
            if (isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == name
                    and obj.overloads):
                out[f"{name}.{obj.py_func.__qualname__}"] = len(obj.overloads)
    return out


def _core(dt, X, Y):
    from tsrnn.nn import Network
    from tsrnn.nn.trainer import Trainer

    for opt in ("adam", "sgd", "rmsprop"):
        net = Network(1, 2, cell="gru", dtype=dt, random_state=0)
        # a tiny clip_grad_norm makes sure the rescaling kernel runs too
        Trainer(net, optimizer=opt, epochs=1, batch_size=4, clip_grad_norm=1e-6,
                clip_value=1.0).fit_windows(X, Y)
    net.forward(X)
    # big LSTM inference batches run a kernel of their own (bptt.lstm_infer_t)
    from tsrnn.kernels.bptt import LSTM_T_MIN_BATCH

    lstm = Network(1, 2, cell="lstm", dtype=dt, random_state=0)
    lstm.forward(np.zeros((LSTM_T_MIN_BATCH, X.shape[1], 1), dt))


def _extra(dt, X, Y):
    from tsrnn.kernels.hopfield import hopfield_retrieve
    from tsrnn.nn import Network
    from tsrnn.nn.trainer import Trainer

    for cell in ("jordan", "indrnn", "ctrnn"):
        net = Network(1, 2, cell=cell, dtype=dt, random_state=0)
        Trainer(net, epochs=1, batch_size=4).fit_windows(X, Y)
        net.forward(X)
    P = np.ascontiguousarray(X[:, :, 0], dtype=dt)
    hopfield_retrieve(P, P, 1.0)


def precompile(dtypes=DTYPES, verbose=True, all_kernels=False):
    """Run the kernels once per dtype on tiny inputs; returns seconds per dtype.

    Parameters
    ----------
    dtypes : iterable of {"float32", "float64"}
    verbose : bool
        Print one line per dtype and where the cache lives.
    all_kernels : bool
        Also the Jordan/IndRNN/CTRNN kernels and the Hopfield retrieval (not
        needed for the Elman, LSTM and GRU cells).
    """
    times = {}
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3, 1))
    Y = rng.standard_normal((4, 1))
    for dt in dtypes:
        if dt not in DTYPES:
            raise ValueError(f"unknown dtype {dt!r}; use one of {', '.join(DTYPES)}")
        t0 = time.perf_counter()
        _core(dt, X, Y)
        if all_kernels:
            _extra(dt, X, Y)
        times[dt] = time.perf_counter() - t0
        if verbose:
            print(f"{dt}: ready in {times[dt]:.1f}s", flush=True)
    if verbose:
        specs = compiled_specialisations()
        print(f"{sum(specs.values())} kernel signatures compiled or loaded (kernels loaded from the "
              f"cache carry their callees inside); cache: {cache_location()}")
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tsrnn.precompile",
                                 description="Compile tsrnn's Numba kernels into the on-disk cache.")
    ap.add_argument("dtypes", nargs="*", metavar="DTYPE",
                    help="float32 and/or float64 (default: both)")
    ap.add_argument("--all", action="store_true", dest="all_kernels",
                    help="also the Jordan/IndRNN/CTRNN kernels and the Hopfield retrieval")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    bad = [d for d in args.dtypes if d not in DTYPES]
    if bad:
        ap.error(f"unknown dtype {bad[0]!r}; use float32 and/or float64")
    if os.environ.get("TSRNN_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        print("warning: TSRNN_CACHE=0, nothing will be kept on disk", file=sys.stderr)
    precompile(tuple(args.dtypes) or DTYPES, verbose=not args.quiet, all_kernels=args.all_kernels)


if __name__ == "__main__":
    main()

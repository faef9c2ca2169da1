"""Compile (or load from Numba's on-disk cache) every tsrnn kernel ahead of use.

    python -m tsrnn.precompile            # float32 and float64
    python -m tsrnn.precompile float32

Compiled kernels are cached next to the kernel sources (``tsrnn/kernels/__pycache__``)
or under ``$NUMBA_CACHE_DIR`` when that is set; later processes load them in well
under a second instead of compiling (about 20 s per dtype on 2 cores).
"""

from __future__ import annotations

import sys
import time

import numpy as np


def precompile(dtypes=("float32", "float64"), verbose=True):
    """Run every kernel once per dtype on tiny inputs; returns seconds per dtype."""
    from tsrnn.nn import Network
    from tsrnn.nn.trainer import Trainer

    times = {}
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3, 1))
    Y = rng.standard_normal((4, 1))
    for dt in dtypes:
        t0 = time.perf_counter()
        for opt in ("adam", "sgd", "rmsprop"):
            net = Network(1, 2, cell="gru", dtype=dt, random_state=0)
            Trainer(net, optimizer=opt, epochs=1, batch_size=4, clip_grad_norm=1.0).fit_windows(X, Y)
        net.forward(X)
        times[dt] = time.perf_counter() - t0
        if verbose:
            print(f"{dt}: ready in {times[dt]:.1f}s")
    return times


if __name__ == "__main__":
    precompile(tuple(sys.argv[1:]) or ("float32", "float64"))

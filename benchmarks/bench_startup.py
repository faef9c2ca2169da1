"""Cold-start benchmark: import, first fit and predict in a fresh interpreter.

Every measurement runs in a new Python process (``subprocess``) that times

1. ``import tsrnn``,
2. ``from tsrnn import RNNForecaster`` (pulls pandas, scikit-learn and numba),
3. ``fit`` of a small LSTM forecaster on 500 points,
4. ``predict``,

and the total of the four (measured inside the child, from before ``import tsrnn``
to after ``predict``; the child's interpreter start-up is reported separately as
the process wall time seen by the parent).

Two cache states:

* **cold**: ``NUMBA_CACHE_DIR`` points at a new, empty temporary directory, so
  every kernel the fit needs is compiled (and written there);
* **warm**: the same directory again, so the kernels are loaded from Numba's
  on-disk cache.  Repeated ``--warm-repeat`` times; medians are reported.

With ``--precompile`` a third state is measured: an empty directory filled by
``python -m tsrnn.precompile float32`` (timed), then the same child; it must
compile nothing.

The task: an hourly series of 500 points (daily sine around a level of 10, plus
Gaussian noise, seed 0) and ``RNNForecaster(cell="lstm", hidden_size=16,
window=24, horizon=12, epochs=5, batch_size=64, random_state=0)`` (float32, other
parameters at their defaults: Adam, MSE, standard scaler, 10 % held-out windows
for the conformal intervals).

Also reported: the number of compiled specialisations (signatures of tsrnn's
jitted functions in memory after the run, and cache files written), the
per-function compile times of the cold run (Numba's ``numba:compile`` events and
the LLVM timers Numba keeps per overload), and with ``--importtime`` where the
import time goes (``python -X importtime``, self time summed per top-level
package).

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --warm-repeat 7 --cold-repeat 2 --importtime --precompile \\
        --json benchmarks/out/bench_startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from _common import cpu_description

TARGETS = {"import": 0.8, "warm_total": 1.5, "cold_total": 15.0}
SETTINGS = dict(cell="lstm", hidden_size=16, window=24, horizon=12, epochs=5, batch_size=64,
                random_state=0)
N_POINTS = 500
PHASES = ("import_tsrnn", "import_estimator", "fit", "predict", "total")

# ----------------------------------------------------------------- the child
_CHILD = r"""
import json, sys, time
cfg = json.loads(sys.argv[1])
t0 = time.perf_counter()
import tsrnn
t1 = time.perf_counter()
from tsrnn import RNNForecaster
t2 = time.perf_counter()

import numpy as np
import pandas as pd
from numba.core import event as _ev
from numba.core.registry import CPUDispatcher

_stack, _events = [], []

class _Listener(_ev.Listener):
    def on_start(self, event):
        _stack.append([event.data["dispatcher"], str(event.data["args"]), time.perf_counter(), 0.0])

    def on_end(self, event):
        disp, args, start, nested = _stack.pop()
        dur = time.perf_counter() - start
        if _stack:
            _stack[-1][3] += dur
        f = disp.py_func
        parent = None
        for item in reversed(_stack):
            pf = item[0].py_func
            if pf.__module__.startswith("tsrnn"):
                parent = pf.__module__ + "." + pf.__qualname__
                break
        _events.append(dict(func=f.__module__ + "." + f.__qualname__, args=args,
                            incl=dur, self=dur - nested, depth=len(_stack), parent=parent))

_ev.register("numba:compile", _Listener())

n = cfg["n_points"]
t = np.arange(n)
y = pd.Series(10.0 + np.sin(2 * np.pi * t / 24) + 0.1 * np.random.default_rng(0).standard_normal(n),
              index=pd.date_range("2024-01-01", periods=n, freq="h"), name="y")
f = RNNForecaster(**cfg["settings"])
t3 = time.perf_counter()
f.fit(y)
t4 = time.perf_counter()
fc = f.predict()
t5 = time.perf_counter()

specs, llvm = {}, {}
for name, mod in list(sys.modules.items()):
    if not name.startswith("tsrnn") or mod is None:
        continue
    for attr, obj in list(vars(mod).items()):
        if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == name and obj.overloads:
            key = name + "." + obj.py_func.__qualname__
            specs[key] = len(obj.overloads)
            for cres in obj.overloads.values():
                tm = cres.metadata.get("timers", {}) if cres.metadata else {}
                if tm:
                    llvm[key] = llvm.get(key, 0.0) + tm.get("llvm_lock", 0.0)
import numba
print("@@RESULT@@" + json.dumps(dict(
    import_tsrnn=t1 - t0, import_estimator=t2 - t1, fit=t4 - t3, predict=t5 - t4,
    total=(t2 - t0) + (t5 - t3), threads=numba.get_num_threads(),
    n_compiled=sum(1 for e in _events if e["func"].startswith("tsrnn")),
    n_compile_events=len(_events), specialisations=specs, llvm=llvm, events=_events,
    final_loss=f.loss_curve_[-1], forecast_head=float(fc.iloc[0]))))
"""


def run_child(cache_dir, n_points=N_POINTS, settings=None):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env.pop("TSRNN_CACHE", None)
    cfg = json.dumps(dict(n_points=n_points, settings=settings or SETTINGS))
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", _CHILD, cfg], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"child process failed (exit {res.returncode}):\n{res.stderr[-4000:]}")
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("@@RESULT@@")][-1]
    out = json.loads(line[len("@@RESULT@@"):])
    out["process_wall"] = wall
    return out


def cache_files(cache_dir):
    nbi = nbc = 0
    for _root, _dirs, files in os.walk(cache_dir):
        nbi += sum(f.endswith(".nbi") for f in files)
        nbc += sum(f.endswith(".nbc") for f in files)
    return {"index_files": nbi, "data_files": nbc}


def precompiled_run(dtypes=("float32",)):
    with tempfile.TemporaryDirectory(prefix="tsrnn-precompiled-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        env.pop("TSRNN_CACHE", None)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tsrnn.precompile", *dtypes], env=env, check=True,
                       capture_output=True, text=True)
        pre = time.perf_counter() - t0
        out = run_child(cache)
        out["precompile_s"] = pre
        out["cache_files"] = cache_files(cache)
        return out


# -------------------------------------------------------------- import time
def importtime(stmt="from tsrnn import RNNForecaster", repeat=3):
    """Self time (s) of every imported module summed per top-level package; median of runs."""
    runs = []
    for _ in range(repeat):
        res = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt], capture_output=True,
                             text=True, check=True)
        per = defaultdict(float)
        for line in res.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
            if not m:
                continue
            per[m.group(4).split(".")[0]] += int(m.group(1)) / 1e6
        runs.append(per)
    keys = set().union(*runs)
    med = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in keys}
    return dict(sorted(med.items(), key=lambda kv: -kv[1]))


def group_importtime(per_pkg, top=("sklearn", "scipy", "pandas", "numba", "llvmlite", "numpy",
                                   "joblib", "narwhals", "threadpoolctl", "tsrnn")):
    out = {k: per_pkg.get(k, 0.0) for k in top}
    out["other"] = sum(v for k, v in per_pkg.items() if k not in top)
    out["sum"] = sum(per_pkg.values())
    return out


# ------------------------------------------------------------------ report
def compile_breakdown(events):
    """Per tsrnn function: compile time including/excluding nested compiles.
    Numba-internal overloads compiled on the way (np.empty, error messages...)
    are summed by name and by the tsrnn function that needed them."""
    rows = {}
    internal = defaultdict(float)
    by_parent = defaultdict(float)
    for e in events:
        if e["func"].startswith("tsrnn"):
            r = rows.setdefault(e["func"], dict(n=0, incl=0.0, self=0.0))
            r["n"] += 1
            r["incl"] += e["incl"]
            r["self"] += e["self"]
        else:
            internal[e["func"]] += e["self"]
            by_parent[e["parent"] or "(none)"] += e["self"]
    return rows, dict(internal), dict(by_parent)


def versions():
    info = {"python": platform.python_version()}
    for mod in ("numpy", "numba", "llvmlite", "pandas", "sklearn", "scipy"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = "not installed"
    info["cpu"] = cpu_description()
    info["PYTHONDONTWRITEBYTECODE"] = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    return info


def _med(runs, key):
    return statistics.median(r[key] for r in runs)


def _fmt_range(runs, key):
    vals = [r[key] for r in runs]
    med = statistics.median(vals)
    if len(vals) == 1:
        return f"{med:.3f}"
    return f"{med:.3f} ({min(vals):.2f}-{max(vals):.2f})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warm-repeat", type=int, default=5, help="warm-cache runs (median reported)")
    ap.add_argument("--cold-repeat", type=int, default=1, help="cold-cache runs, each in a new empty cache")
    ap.add_argument("--precompile", action="store_true",
                    help="also time `python -m tsrnn.precompile float32` into an empty cache, then a fit")
    ap.add_argument("--importtime", action="store_true",
                    help="also break the estimator import down by package (python -X importtime)")
    ap.add_argument("--json", help="also write everything to this JSON file")
    args = ap.parse_args(argv)

    info = versions()
    info["loadavg_start"] = os.getloadavg()
    info["date"] = time.strftime("%Y-%m-%d %H:%M")
    print("# bench_startup", info["date"], json.dumps(info))
    print(f"# task: {N_POINTS} hourly points, RNNForecaster({', '.join(f'{k}={v!r}' for k, v in SETTINGS.items())})")

    cold, warm = [], []
    cold_files = None
    for i in range(max(1, args.cold_repeat)):
        with tempfile.TemporaryDirectory(prefix="tsrnn-cold-") as cache:
            cold.append(run_child(cache))
            if i == 0:
                cold_files = cache_files(cache)
                for _ in range(args.warm_repeat):
                    warm.append(run_child(cache))
    pre = precompiled_run() if args.precompile else None
    info["loadavg_end"] = os.getloadavg()

    # ---- main table
    cols = [("cold", cold), ("warm", warm)] + ([("precompiled", [pre])] if pre else [])
    print()
    print(f"{'seconds':<28}" + "".join(f"{name + f' (n={len(runs)})':>26}" for name, runs in cols)
          + f"{'target':>10}")
    target_of = {"import_tsrnn": TARGETS["import"], "import_estimator": TARGETS["import"]}
    for key in PHASES + ("process_wall",):
        label = {"import_tsrnn": "import tsrnn", "import_estimator": "import RNNForecaster",
                 "total": "total (in process)", "process_wall": "process wall (incl. start-up)"}.get(key, key)
        tgt = target_of.get(key)
        if key == "total":
            tgt_s = f"{TARGETS['cold_total']:g} / {TARGETS['warm_total']:g}"
        else:
            tgt_s = f"{tgt:g}" if tgt is not None else ""
        print(f"{label:<28}" + "".join(f"{_fmt_range(runs, key):>26}" for _, runs in cols) + f"{tgt_s:>10}")
    print(f"{'tsrnn kernels compiled':<28}" + "".join(
        f"{statistics.median(r['n_compiled'] for r in runs):>26g}" for _, runs in cols))
    print(f"{'kernel signatures in memory*':<28}" + "".join(
        f"{statistics.median(sum(r['specialisations'].values()) for r in runs):>26g}" for _, runs in cols))
    print("* compiled or loaded; a kernel loaded from the cache carries its callees inside (not counted)")
    print(f"cache files written by the cold run: {cold_files['index_files']} index (.nbi), "
          f"{cold_files['data_files']} data (.nbc)")
    if pre:
        print(f"precompile (python -m tsrnn.precompile float32, empty cache): {pre['precompile_s']:.1f} s, "
              f"{pre['cache_files']['data_files']} cache files; the fit after it compiled "
              f"{pre['n_compiled']} tsrnn kernels")
    ok_import = _med(warm, "import_tsrnn") <= TARGETS["import"]
    ok_est = _med(warm, "import_estimator") + _med(warm, "import_tsrnn") <= TARGETS["import"]
    ok_warm = _med(warm, "total") <= TARGETS["warm_total"]
    ok_cold = _med(cold, "total") <= TARGETS["cold_total"]
    print(f"targets: import tsrnn <= {TARGETS['import']} s: {'met' if ok_import else 'NOT met'}; "
          f"import tsrnn + RNNForecaster <= {TARGETS['import']} s: {'met' if ok_est else 'NOT met'}; "
          f"warm total <= {TARGETS['warm_total']} s: {'met' if ok_warm else 'NOT met'}; "
          f"cold total <= {TARGETS['cold_total']} s: {'met' if ok_cold else 'NOT met'}")

    # ---- compile breakdown of the (first) cold run
    rows, internal, by_parent = compile_breakdown(cold[0]["events"])
    print("\ncold run, compile time per tsrnn kernel (s; 'self' excludes nested compiles, "
          "'llvm' = Numba's LLVM timer for its overloads, inclusive):")
    print(f"{'function':<48}{'n':>3}{'incl':>8}{'self':>8}{'llvm':>8}")
    for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["incl"]):
        print(f"{name:<48}{r['n']:>3}{r['incl']:>8.2f}{r['self']:>8.2f}{cold[0]['llvm'].get(name, 0.0):>8.2f}")
    tot_internal = sum(internal.values())
    print(f"Numba-internal overloads compiled along the way: {tot_internal:.2f} s self time in "
          f"{sum(1 for e in cold[0]['events'] if not e['func'].startswith('tsrnn'))} compiles; largest:")
    for name, v in sorted(internal.items(), key=lambda kv: -kv[1])[:6]:
        print(f"    {v:6.2f}  {name}")
    print("  by the tsrnn kernel that needed them: " + ", ".join(
        f"{k.split('.')[-1]} {v:.2f}" for k, v in sorted(by_parent.items(), key=lambda kv: -kv[1])))

    imp = None
    if args.importtime:
        imp = group_importtime(importtime())
        print("\nimport of RNNForecaster by package (python -X importtime, self time summed, median of 3; s):")
        print("  " + ", ".join(f"{k} {v:.3f}" for k, v in imp.items()))

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(dict(info=info, settings=dict(SETTINGS, n_points=N_POINTS), targets=TARGETS,
                           cold=cold, warm=warm, precompiled=pre, cold_cache_files=cold_files,
                           compile_breakdown=rows, internal_overloads=internal, importtime=imp),
                      fh, indent=1)


if __name__ == "__main__":
    main()

"""Numenta Anomaly Benchmark (NAB v1.1) scoring.

A re-implementation of the NAB scoring method (Lavin & Ahmad, "Evaluating real-time
anomaly detection algorithms -- the Numenta Anomaly Benchmark", ICMLA 2015) that follows
the conventions of NAB v1.1's ``Sweeper``/scorer, so that a result set scored here and by
NAB's own code gives the same numbers:

* **Corpus layout.** ``root`` is a NAB checkout (or a directory shaped like one):
  ``data/<category>/<file>.csv`` (columns ``timestamp,value``),
  ``labels/combined_windows.json`` (file -> list of ``[start, end]``) and
  ``config/profiles.json`` (profile -> ``{"CostMatrix": {...}}``). Files are named by
  their path relative to ``data/``, e.g. ``"realKnownCause/nyc_taxi.csv"``.
* **Scores.** One anomaly score per row of the data file, aligned by position (not by
  timestamp). A row is a *detection* when its score is ``>= threshold``.
* **Windows.** A window covers the rows from the first row whose timestamp is ``>= start``
  to the last row before the first timestamp ``> end`` (both ends inclusive; with NAB's
  labels both ends are exact timestamps of the file). Only rows after the probationary
  period -- the first ``min(floor(0.15 * n), 750)`` rows of a file -- are scored; a window
  with no row after it is ignored.
* **Weights.** With the scaled sigmoid ``sigma(y) = 2 / (1 + exp(5 y)) - 1``:

  - a detection at row ``i`` inside a window with rows ``[l, r]`` (width ``w = r - l + 1``)
    sits at ``y = -(r - i + 1) / w`` (``-1`` at the left edge, ``-1/w`` at the right edge)
    and is worth ``tpWeight * sigma(y) / sigma(-1)`` (exactly ``tpWeight`` at the left
    edge); only the earliest detection in each window counts;
  - a detection outside every window, after a window with rows ``[l, r]``, sits at
    ``y = (i - r) / (w - 1)`` and costs ``fpWeight * sigma(y)`` (``sigma(y) = -1`` for
    ``y >= 3``); before the first window of its file it costs ``-fpWeight``;
  - a window without a detection costs ``-fnWeight``.

* **Threshold.** One threshold per profile for the whole corpus, chosen by NAB's
  exhaustive sweep: every distinct score value (and "detect nothing", reported as
  ``1.1`` like NAB) is tried and the one with the highest total raw score wins; ties go
  to the highest threshold (as NAB's stable sort does).
* **Normalisation.** ``100 * (raw - null) / (perfect - null)`` where
  ``null = -fnWeight * (number of scored windows)`` is the score of the detector that
  never detects anything and ``perfect = tpWeight * (number of windows)`` that of the
  detector that fires at the first row of every window. On the full corpus these are the
  numbers of NAB's ``results/null`` files (-116 standard, -232 low FN) and 116.

The threshold sweep sorts all scores once and evaluates every threshold with cumulative
sums (``O(N log N)``), so the 58-file corpus (365 558 rows) is scored in well under a
second once it is read.

Examples
--------
A corpus of one file, 40 hourly rows, one window on rows 20..24 (probation: 6 rows):

>>> import json, tempfile
>>> from pathlib import Path
>>> import numpy as np, pandas as pd
>>> from tsrnn import nab
>>> root = Path(tempfile.mkdtemp())
>>> (root / "data" / "demo").mkdir(parents=True)
>>> ts = pd.date_range("2020-01-01", periods=40, freq="h")
>>> pd.DataFrame({"timestamp": ts, "value": np.arange(40.0)}).to_csv(
...     root / "data" / "demo" / "toy.csv", index=False)
>>> (root / "labels").mkdir()
>>> _ = (root / "labels" / "combined_windows.json").write_text(json.dumps(
...     {"demo/toy.csv": [[str(ts[20]), str(ts[24])]]}))
>>> scores = {"demo/toy.csv": np.where(np.arange(40) == 20, 1.0, 0.0)}  # fires at the start
>>> res = nab.score_corpus(scores, root, profiles={"standard": nab.STANDARD_COST_MATRIX})
>>> res["standard"]["score"], res["standard"]["threshold"], res["standard"]["tp"]
(100.0, 1.0, 1)
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "PROFILE_NAMES",
    "STANDARD_COST_MATRIX",
    "load_corpus",
    "load_windows",
    "load_profiles",
    "load_labels",
    "scaled_sigmoid",
    "probationary_length",
    "score_corpus",
    "write_results",
    "read_results",
]

PROFILE_NAMES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
STANDARD_COST_MATRIX = {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 1.0, "tnWeight": 1.0}
PROBATION_PERCENT = 0.15
NO_DETECTION_THRESHOLD = 1.1  # NAB's starting threshold: nothing is detected
_COST_KEYS = ("tpWeight", "fpWeight", "fnWeight", "tnWeight")
_DETECTOR_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


# --------------------------------------------------------------------------- reading

def _root(root) -> Path:
    path = Path(root)
    if not (path / "data").is_dir():
        raise FileNotFoundError(
            f"{str(path)!r} is not a NAB corpus: expected a directory with data/<category>/*.csv, "
            f"labels/combined_windows.json and config/profiles.json (a NAB v1.1 checkout)"
        )
    return path


def _data_files(root: Path) -> list[str]:
    data = root / "data"
    return sorted(p.relative_to(data).as_posix() for p in data.glob("*/*.csv"))


def load_corpus(root) -> dict[str, pd.DataFrame]:
    """Read every data file of a NAB corpus.

    Parameters
    ----------
    root : str or Path
        The NAB directory (holds ``data/``).

    Returns
    -------
    dict
        ``"category/file.csv"`` -> DataFrame with columns ``timestamp`` (datetime64) and
        ``value``, in the file's row order (58 files, 365 558 rows for NAB v1.1), sorted
        by file name.
    """
    root = _root(root)
    corpus = {}
    for name in _data_files(root):
        frame = pd.read_csv(root / "data" / name)
        if "timestamp" not in frame or "value" not in frame:
            raise ValueError(f"{name}: expected columns timestamp,value, got {list(frame.columns)}")
        frame["timestamp"] = pd.to_datetime(frame["timestamp"])
        corpus[name] = frame[["timestamp", "value"]]
    return corpus


def load_windows(root) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """Read the anomaly windows, ``labels/combined_windows.json``.

    Returns
    -------
    dict
        ``"category/file.csv"`` -> list of ``(start, end)`` :class:`pandas.Timestamp`
        pairs in time order (116 windows in 58 files for NAB v1.1; some files have none).
    """
    path = Path(root) / "labels" / "combined_windows.json"
    if not path.is_file():
        raise FileNotFoundError(f"no anomaly windows at {str(path)!r} (NAB's labels/combined_windows.json)")
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    return {
        name: sorted((pd.Timestamp(start), pd.Timestamp(end)) for start, end in wins)
        for name, wins in sorted(raw.items())
    }


def load_profiles(root) -> dict[str, dict[str, float]]:
    """Read the scoring profiles, ``config/profiles.json``.

    Returns
    -------
    dict
        profile name -> cost matrix ``{"tpWeight", "fpWeight", "fnWeight", "tnWeight"}``
        (floats). NAB v1.1: ``standard`` (1, 0.11, 1), ``reward_low_FP_rate``
        (1, 0.22, 1) and ``reward_low_FN_rate`` (1, 0.11, 2) for (tp, fp, fn).
    """
    path = Path(root) / "config" / "profiles.json"
    if not path.is_file():
        raise FileNotFoundError(f"no scoring profiles at {str(path)!r} (NAB's config/profiles.json)")
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    return {name: _cost_matrix(spec, name) for name, spec in raw.items()}


def _cost_matrix(spec, name) -> dict[str, float]:
    if isinstance(spec, dict) and "CostMatrix" in spec:
        spec = spec["CostMatrix"]
    if not isinstance(spec, dict) or any(k not in spec for k in _COST_KEYS[:3]):
        raise ValueError(
            f"profile {name!r}: expected a cost matrix with tpWeight, fpWeight, fnWeight "
            f"(optionally nested under 'CostMatrix'), got {spec!r}"
        )
    out = {k: float(spec.get(k, 1.0)) for k in _COST_KEYS}
    if out["tpWeight"] <= 0 or out["fpWeight"] < 0 or out["fnWeight"] < 0:
        raise ValueError(f"profile {name!r}: weights must be tpWeight > 0, fpWeight >= 0, "
                         f"fnWeight >= 0, got {out}")
    return out


def _resolve_profiles(profiles, root) -> dict[str, dict[str, float]]:
    if profiles is None:
        return load_profiles(root)
    if isinstance(profiles, str):
        profiles = [profiles]
    if isinstance(profiles, dict):
        return {name: _cost_matrix(spec, name) for name, spec in profiles.items()}
    available = load_profiles(root)
    out = {}
    for name in profiles:
        if name not in available:
            raise ValueError(f"unknown NAB profile {name!r}; {root} defines {sorted(available)}")
        out[name] = available[name]
    return out


# --------------------------------------------------------------------------- the scoring rule

def scaled_sigmoid(y):
    """NAB's scaled sigmoid ``2 / (1 + exp(5 y)) - 1``, and ``-1`` for ``y >= 3``.

    ``y`` is the position relative to a window's right edge in units of the window length:
    ``-1`` at its left edge (0.98661), ``0`` at its right edge, positive after it.

    Examples
    --------
    >>> from tsrnn.nab import scaled_sigmoid
    >>> [round(float(scaled_sigmoid(y)), 5) for y in (-1.0, -0.5, 0.0, 1.0, 3.0)]
    [0.98661, 0.84828, 0.0, -0.98661, -1.0]
    """
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(over="ignore"):
        val = 2.0 * (1.0 / (1.0 + np.exp(5.0 * y))) - 1.0
    return np.where(y >= 3.0, -1.0, val)


def probationary_length(n_rows, probation_percent=PROBATION_PERCENT) -> int:
    """Rows at the start of a file that are not scored: ``min(floor(p * n), p * 5000)``.

    Examples
    --------
    >>> from tsrnn.nab import probationary_length
    >>> probationary_length(4032), probationary_length(10320)
    (604, 750)
    """
    return int(math.ceil(min(math.floor(probation_percent * n_rows), probation_percent * 5000)))


def _window_rows(timestamps: np.ndarray, windows) -> list[tuple[int, int]]:
    """Row ranges ``[l, r]`` (inclusive) of the windows, scanning forward like NAB does."""
    ts = timestamps
    n = len(ts)
    rows = []
    pos = 0
    for start, end in windows:
        start = np.datetime64(pd.Timestamp(start).to_datetime64())
        end = np.datetime64(pd.Timestamp(end).to_datetime64())
        tail = ts[pos:]
        hit = np.flatnonzero(tail >= start)
        if hit.size == 0:
            break
        left = pos + int(hit[0])
        after = np.flatnonzero(ts[left:] > end)
        right = (left + int(after[0]) - 1) if after.size else n - 1
        if right < left:  # window between two rows: no row inside
            continue
        rows.append((left, right))
        pos = right + 1
    return rows


def _file_weights(n, timestamps, windows):
    """Per row: window number in the file (-1 outside) and the unweighted sweep score.

    In a window: ``sigma(y) / sigma(-1)`` (to be multiplied by tpWeight); outside: the
    (negative) ``sigma(y)`` of the position after the preceding window, ``-1`` before the
    first one (to be multiplied by fpWeight).
    """
    win = np.full(n, -1, dtype=np.int64)
    unw = np.full(n, -1.0)
    max_tp = float(scaled_sigmoid(-1.0))
    rows = _window_rows(timestamps, windows)
    idx = np.arange(n, dtype=np.float64)
    for k, (left, right) in enumerate(rows):
        width = right - left + 1
        win[left:right + 1] = k
        unw[left:right + 1] = scaled_sigmoid(-(right - idx[left:right + 1] + 1) / width) / max_tp
        nxt = rows[k + 1][0] if k + 1 < len(rows) else n
        if right + 1 < nxt:
            seg = idx[right + 1:nxt]
            if width > 1:
                unw[right + 1:nxt] = scaled_sigmoid((seg - right) / (width - 1))
            else:  # NAB divides by zero here; the position is "infinitely" far
                unw[right + 1:nxt] = -1.0
    return win, unw, len(rows)


def _as_scores(name, values, n):
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"scores[{name!r}] must be a 1-D array with one score per row of the data file "
            f"({n} rows, aligned by position), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"scores[{name!r}] has {bad} NaN/inf values; NAB needs a finite score "
                         f"for every row (use 0.0 where the detector has no opinion yet)")
    return arr


def score_corpus(scores, root, profiles=None, *, probation_percent=PROBATION_PERCENT,
                 per_file=False, curve=False):
    """Score a detector's anomaly scores on a NAB corpus, NAB v1.1 style.

    Parameters
    ----------
    scores : dict
        ``"category/file.csv"`` -> 1-D array of anomaly scores, one per row of the data
        file, in its row order. Usually the 58 files of the corpus; a subset is scored
        (and normalised) on its own windows only, which is useful for smoke runs but is
        not comparable with NAB's scoreboard.
    root : str or Path
        The NAB directory (``data/``, ``labels/combined_windows.json``,
        ``config/profiles.json``).
    profiles : None, str, list of str or dict, optional
        None: every profile of ``config/profiles.json``; names: those profiles; a dict:
        name -> cost matrix (``{"tpWeight", "fpWeight", "fnWeight"}``, optionally under
        ``"CostMatrix"``), which does not need ``config/profiles.json``.
    probation_percent : float, default 0.15
        Share of each file (at most ``probation_percent * 5000`` rows) left unscored.
    per_file : bool, default False
        Also return each file's raw score at the chosen threshold (``"files"``).
    curve : bool, default False
        Also return the whole sweep (``"curve"``): a DataFrame with one row per candidate
        threshold, highest first (``threshold, raw, score, tp, fp, fn``).

    Returns
    -------
    dict
        profile -> ``{"score", "threshold", "raw", "tp", "fp", "fn", "null", "perfect"}``:
        the normalised score (0 = never detect, 100 = perfect), the threshold chosen by the
        exhaustive sweep (1.1 when detecting nothing is best), the raw total, the number of
        detected windows (``tp``), of scored detections outside windows (``fp``, rows) and
        of missed windows (``fn``), and the raw scores of the null and perfect detectors.
        NAB's own result CSVs count TP/FN in rows, not windows.

    Examples
    --------
    See the module docstring.
    """
    if not isinstance(scores, dict) or not scores:
        raise TypeError(f"scores must be a non-empty dict file -> array of scores, got {type(scores).__name__}")
    root = _root(root)
    profiles = _resolve_profiles(profiles, root)
    windows = load_windows(root)
    available = set(_data_files(root))
    unknown = sorted(set(scores) - available)
    if unknown:
        raise ValueError(
            f"{len(unknown)} file(s) of scores are not in {str(root / 'data')!r}: {unknown[:5]}; "
            f"use names relative to data/, e.g. 'realKnownCause/nyc_taxi.csv'"
        )

    files = sorted(scores)
    s_all, win_all, unw_all, file_all = [], [], [], []
    n_windows_total = 0
    n_win_offset = 0
    for f_id, name in enumerate(files):
        ts = pd.to_datetime(pd.read_csv(root / "data" / name, usecols=["timestamp"])["timestamp"]).to_numpy()
        n = len(ts)
        s = _as_scores(name, scores[name], n)
        win, unw, n_file_windows = _file_weights(n, ts, windows.get(name, []))
        n_windows_total += len(windows.get(name, []))
        keep = slice(probationary_length(n, probation_percent), None)
        win = win[keep]
        s_all.append(s[keep])
        win_all.append(np.where(win >= 0, win + n_win_offset, -1))
        unw_all.append(unw[keep])
        file_all.append(np.full(win.shape[0], f_id, dtype=np.int64))
        n_win_offset += n_file_windows

    s = np.concatenate(s_all)
    win = np.concatenate(win_all)
    unw = np.concatenate(unw_all)
    fid = np.concatenate(file_all)
    scored_windows = np.unique(win[win >= 0])
    n_scored = scored_windows.size

    # -- the sweep: sort once (descending, stable), then cumulative sums over thresholds
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    win_sorted = win[order]
    in_win = win_sorted >= 0
    is_fp = ~in_win
    # earliest detected row of each window as the threshold goes down: a running minimum
    # of the row number within each window's points (taken in score order)
    pos_w = np.flatnonzero(in_win)
    by_win = np.argsort(win_sorted[pos_w], kind="stable")
    pos_w = pos_w[by_win]
    gid = win_sorted[pos_w]
    row = order[pos_w]  # row number in the concatenated (scored) corpus, earlier = smaller
    big = np.int64(s.shape[0] + 1)
    shift = (np.int64(n_win_offset) - gid) * big  # earlier groups get larger keys
    earliest = np.minimum.accumulate(shift + row) - shift
    first = np.ones(gid.shape[0], dtype=bool)
    first[1:] = gid[1:] != gid[:-1]
    prev = np.empty_like(earliest)
    prev[1:] = earliest[:-1]
    prev[first] = earliest[first]
    new_u = unw[earliest]
    old_u = np.where(first, 0.0, unw[prev])
    # group ends: the last sorted point of every distinct score value
    ends = np.flatnonzero(np.append(s_sorted[1:] != s_sorted[:-1], True))
    top = float(s_sorted[0])
    nothing = NO_DETECTION_THRESHOLD if top < NO_DETECTION_THRESHOLD else float(np.nextafter(top, np.inf))
    thresholds = np.concatenate(([nothing], s_sorted[ends]))
    tp_count = np.concatenate(([0], np.cumsum(np.bincount(pos_w[first], minlength=s.shape[0]))[ends]))
    fp_count = np.concatenate(([0], np.cumsum(is_fp)[ends]))
    fp_w = np.where(is_fp, unw[order], 0.0)

    results = {}
    for name, cost in profiles.items():
        tpw, fpw, fnw = cost["tpWeight"], cost["fpWeight"], cost["fnWeight"]
        delta = fpw * fp_w
        delta[pos_w] = np.where(first, fnw, 0.0) + tpw * (new_u - old_u)
        base = -fnw * n_scored
        totals = base + np.concatenate(([0.0], np.cumsum(delta)[ends]))
        best_val = totals.max()
        best = int(np.flatnonzero(totals >= best_val - 1e-9 * max(1.0, abs(best_val)))[0])
        raw = float(totals[best])
        null = -fnw * n_scored
        perfect = tpw * n_windows_total
        denom = perfect - null
        res = {
            "score": float(100.0 * (raw - null) / denom) if denom > 0 else float("nan"),
            "threshold": float(thresholds[best]),
            "raw": raw,
            "tp": int(tp_count[best]),
            "fp": int(fp_count[best]),
            "fn": int(n_scored - tp_count[best]),
            "null": float(null),
            "perfect": float(perfect),
        }
        if per_file:
            upto = int(ends[best - 1]) + 1 if best > 0 else 0
            per = np.bincount(fid[order[:upto]], weights=delta[:upto], minlength=len(files))
            per_base = -fnw * np.bincount(_window_files(win, fid), minlength=len(files))
            res["files"] = {f: float(per_base[i] + per[i]) for i, f in enumerate(files)}
        if curve:
            res["curve"] = pd.DataFrame({
                "threshold": thresholds, "raw": totals,
                "score": 100.0 * (totals - null) / denom if denom > 0 else np.nan,
                "tp": tp_count, "fp": fp_count, "fn": n_scored - tp_count,
            })
        results[name] = res
    return results


def _window_files(win, fid):
    """File id of every scored window (one entry per window)."""
    mask = win >= 0
    _, first_idx = np.unique(win[mask], return_index=True)
    return fid[mask][first_idx]


# --------------------------------------------------------------------------- result files

def _check_detector_name(detector):
    if not isinstance(detector, str) or not _DETECTOR_NAME.match(detector):
        raise ValueError(
            f"detector name {detector!r} is not usable by NAB: NAB splits result file names "
            f"at '_' and '.', so use letters, digits and '-' only (e.g. 'tsrnn' or 'tsrnnLSTM')"
        )
    return detector


def load_labels(root, corpus=None) -> dict[str, np.ndarray]:
    """0/1 label per row (1 inside a window, ends inclusive) for every data file."""
    root = _root(root)
    corpus = load_corpus(root) if corpus is None else corpus
    windows = load_windows(root)
    labels = {}
    for name, frame in corpus.items():
        lab = np.zeros(len(frame), dtype=np.int64)
        for left, right in _window_rows(frame["timestamp"].to_numpy(), windows.get(name, [])):
            lab[left:right + 1] = 1
        labels[name] = lab
    return labels


def write_results(scores, root, out_dir, detector="tsrnn"):
    """Write anomaly scores in NAB's results layout, readable by NAB's own scorer.

    One CSV per file at ``out_dir/<detector>/<category>/<detector>_<file>.csv`` with
    columns ``timestamp,value,anomaly_score,label`` in the data file's row order and
    count (``label`` is 1 inside a window; NAB ignores it and ``value``).

    Parameters
    ----------
    scores : dict
        ``"category/file.csv"`` -> 1-D array of anomaly scores in ``[0, 1]``, one per row.
    root : str or Path
        The NAB directory.
    out_dir : str or Path
        Where the ``<detector>/`` folder goes (NAB's ``results/``).
    detector : str, default "tsrnn"
        Letters, digits and '-' only (NAB splits names at '_' and '.').

    Returns
    -------
    list of Path
        The files written, in the order of ``sorted(scores)``.
    """
    _check_detector_name(detector)
    root = _root(root)
    available = set(_data_files(root))
    unknown = sorted(set(scores) - available)
    if unknown:
        raise ValueError(f"{len(unknown)} file(s) of scores are not in {str(root / 'data')!r}: {unknown[:5]}")
    windows = load_windows(root)
    out_dir = Path(out_dir)
    written = []
    for name in sorted(scores):
        raw = pd.read_csv(root / "data" / name, dtype={"timestamp": str})
        s = _as_scores(name, scores[name], len(raw))
        if s.size and (s.min() < 0.0 or s.max() > 1.0):
            raise ValueError(f"scores[{name!r}] must lie in [0, 1] for NAB, got range "
                             f"[{s.min():.6g}, {s.max():.6g}]")
        lab = np.zeros(len(raw), dtype=np.int64)
        ts = pd.to_datetime(raw["timestamp"]).to_numpy()
        for left, right in _window_rows(ts, windows.get(name, [])):
            lab[left:right + 1] = 1
        category, fname = name.split("/")
        path = out_dir / detector / category / f"{detector}_{fname}"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame({"timestamp": raw["timestamp"], "value": raw["value"],
                              "anomaly_score": s, "label": lab})
        frame.to_csv(path, index=False)
        written.append(path)
    return written


def read_results(results_dir, detector="tsrnn") -> dict[str, np.ndarray]:
    """Read a detector's NAB result files back: ``"category/file.csv"`` -> anomaly scores.

    ``results_dir`` is the folder holding ``<detector>/`` (NAB's ``results/``); this reads
    the layout :func:`write_results` and NAB's own detectors write.
    """
    _check_detector_name(detector)
    base = Path(results_dir) / detector
    if not base.is_dir():
        raise FileNotFoundError(f"no results for detector {detector!r} under {str(base)!r}")
    prefix = detector + "_"
    out = {}
    for path in sorted(base.glob(f"*/{prefix}*.csv")):
        frame = pd.read_csv(path, usecols=["anomaly_score"])
        out[f"{path.parent.name}/{path.name[len(prefix):]}"] = frame["anomaly_score"].to_numpy(np.float64)
    return out

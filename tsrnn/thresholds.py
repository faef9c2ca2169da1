"""Turning per-timestamp errors into anomaly scores and 0/1 labels.

Everything here is plain NumPy/SciPy (plus pandas' rolling windows), pure and
deterministic: the same input gives the same output, bit for bit.

* :func:`dynamic_threshold` -- the nonparametric dynamic threshold of Hundman
  et al. (KDD 2018, "Detecting Spacecraft Anomalies Using LSTMs and Nonparametric
  Dynamic Thresholding"; the ``telemanom`` reference code), with its pruning step.
* :func:`anomaly_likelihood`, :func:`likelihood_score` -- the anomaly likelihood
  of Ahmad et al. (2017, Neurocomputing, "Unsupervised real-time anomaly
  detection for streaming data"; the NAB/HTM detector), causal, with a
  log-scaled score that keeps extreme values apart.
* :func:`gaussian_tail_score` -- the map from a z-statistic to that score,
  computed in log space (``scipy.stats.norm.logsf``), strictly increasing and
  below 1 for every finite z.
* :func:`quantile_threshold` -- PyOD's contamination threshold.
* :func:`robust_zscores`, :func:`causal_robust_zscores` -- median/MAD
  normalisation, batch or causal (expanding or rolling window).

Inputs are 1-D arrays (lists, NumPy arrays or pandas Series) of finite floats;
NaN, infinities, empty input and bad parameters raise a ``ValueError`` that
says what was received.
"""

from __future__ import annotations

import bisect
import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = [
    "DynamicThresholdResult",
    "dynamic_threshold",
    "AnomalyLikelihood",
    "anomaly_likelihood",
    "likelihood_score",
    "gaussian_tail_score",
    "quantile_threshold",
    "robust_zscores",
    "causal_robust_zscores",
    "MAD_TO_STD",
]

#: Consistency constant of the MAD for Gaussian data (1 / Phi^-1(3/4), rounded).
MAD_TO_STD = 1.4826

_LOG_1E_10 = math.log(1e-10)


# --------------------------------------------------------------------------- validation
def _as_1d(x, name):
    """Float64 1-D array from an array-like / pandas object; reject NaN, inf, empty."""
    if x is None:
        raise ValueError(f"{name} is required, got None")
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        try:  # nullable pandas dtypes -> float with NaN (rejected below)
            x = x.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            x = x.to_numpy()
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be numeric, got an array of dtype {arr.dtype}; convert it "
                         f"with pd.to_numeric or .astype(float) first")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}; pass one "
                         f"column (e.g. {name}[:, 0]) or {name}.ravel()")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(f"{name} contains {bad.size} NaN or infinite value(s) (first at position "
                         f"{bad[0]}: {arr[bad[0]]}); drop or impute them first")
    return arr


def _int(value, name, minimum=None, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(value, name, low=None, high=None, low_open=False, high_open=False, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    ok = math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        interval = f"{left}{lo}, {hi}{right}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return value


# --------------------------------------------------------------------------- helpers
def _runs(mask):
    """Half-open (start, end) index pairs of the runs of True in a boolean array."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _dilate(mask, buffer):
    """Extend every True of ``mask`` by ``buffer`` positions on each side."""
    if buffer == 0 or not mask.any():
        return mask
    c = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
    n = mask.size
    idx = np.arange(n)
    lo = np.clip(idx - buffer, 0, n)
    hi = np.clip(idx + buffer + 1, 0, n)
    return (c[hi] - c[lo]) > 0


def _ewma(errors, span, alpha):
    """Pandas' adjusted EWMA (``Series.ewm(span=...).mean()``), as telemanom uses."""
    if alpha is None:
        alpha = 2.0 / (span + 1.0)
    if alpha == 1.0:
        return errors.copy()
    return pd.Series(errors).ewm(alpha=alpha, adjust=True).mean().to_numpy(dtype=np.float64)


def _z_grid(z_range, z_step):
    if not isinstance(z_range, (tuple, list)) or len(z_range) != 2:
        raise ValueError(f"z_range must be a (low, high) pair, got {z_range!r}")
    lo = _float(z_range[0], "z_range[0]", low=0.0, low_open=True)
    hi = _float(z_range[1], "z_range[1]", low=0.0, low_open=True)
    if hi < lo:
        raise ValueError(f"z_range must satisfy low <= high, got {z_range!r}")
    step = _float(z_step, "z_step", low=0.0, low_open=True)
    k = int(math.floor((hi - lo) / step + 1e-9))
    return lo + step * np.arange(k + 1, dtype=np.float64)


def _select_z(e_s, zs, error_buffer):
    """Hundman et al.'s argmax over z of (dmu/mu + dsigma/sigma) / (|e_a| + |E_seq|^2).

    Ties go to the larger z (telemanom's ``s >= max_s`` over increasing z).  A z
    that flags nothing, or half of the points or more, is not eligible (the
    second is telemanom's sanity check); returns None when no z is eligible.
    ``e_s`` must have a positive mean and std.
    """
    n = e_s.size
    mu = float(np.mean(e_s))
    sd = float(np.std(e_s))
    best_z, best = None, -np.inf
    for z in zs:
        eps = mu + z * sd
        above = e_s > eps
        if not above.any():
            continue
        flagged = _dilate(above, error_buffer)
        n_a = int(flagged.sum())
        if n_a >= 0.5 * n:
            continue
        kept = e_s[~above]
        n_seq = len(_runs(flagged))
        score = ((mu - kept.mean()) / mu + (sd - kept.std()) / sd) / (n_a + n_seq ** 2)
        if score >= best:
            best, best_z = score, float(z)
    return best_z


def _prune(seq_max, non_anomalous_max, min_percent):
    """Indices (into ``seq_max``) of the sequences that survive Hundman et al.'s pruning.

    The sequence maxima are sorted in decreasing order and the largest
    non-anomalous smoothed error appended; with d_i = (m_i - m_{i+1}) / m_i,
    every sequence ranked after the last i with d_i > min_percent becomes
    nominal (all of them when no d_i exceeds it).  Ties in the sort keep the
    original (time) order.
    """
    seq_max = np.asarray(seq_max, dtype=np.float64)
    if seq_max.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-seq_max, kind="stable")
    m = np.concatenate((seq_max[order], [non_anomalous_max]))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (m[:-1] - m[1:]) / m[:-1]
    big = np.flatnonzero(d > min_percent)
    if big.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.sort(order[: big[-1] + 1])


def _threshold_window(e_s, zs, error_buffer, prune, min_percent):
    """Labels, epsilon and z of one window of smoothed, non-negative errors."""
    mu = float(np.mean(e_s))
    sd = float(np.std(e_s))
    labels = np.zeros(e_s.size, dtype=np.int64)
    if not (sd > 1e-12 * max(abs(mu), 1.0)) or mu <= 0.0:
        return labels, mu + float(zs[-1]) * sd, float(zs[-1])
    z = _select_z(e_s, zs, error_buffer)
    if z is None:  # nothing eligible: flag nothing, epsilon at or above every e_s
        eps = max(mu + float(zs[-1]) * sd, float(e_s.max()))
        return labels, eps, (eps - mu) / sd
    eps = mu + z * sd
    flagged = _dilate(e_s > eps, error_buffer)
    seqs = _runs(flagged)
    if not seqs:
        return labels, eps, z
    if prune:
        seq_max = [float(e_s[a:b].max()) for a, b in seqs]
        rest = e_s[~flagged]
        non_max = float(rest.max()) if rest.size else 0.0
        seqs = [seqs[i] for i in _prune(seq_max, non_max, min_percent)]
    for a, b in seqs:
        labels[a:b] = 1
    return labels, eps, z


# --------------------------------------------------------------------------- dynamic threshold
@dataclass(frozen=True)
class DynamicThresholdResult:
    """What :func:`dynamic_threshold` returns.

    Attributes
    ----------
    labels : ndarray of int64, shape (n,)
        1 = anomalous, 0 = nominal.
    threshold : ndarray of float64, shape (n,)
        The threshold epsilon that judged each point, on the scale of the input
        errors (constant without ``window``).
    smoothed : ndarray of float64, shape (n,)
        The EWMA-smoothed errors that were compared with ``threshold``.
    sequences : list of (start, end)
        The anomalous sequences, half-open: ``labels[start:end]`` are all 1.
    z : ndarray of float64, shape (n,)
        The chosen z (threshold = mean + z * std of the smoothed window).
    """

    labels: np.ndarray
    threshold: np.ndarray
    smoothed: np.ndarray
    sequences: list
    z: np.ndarray


def dynamic_threshold(errors, window=None, smoothing_window=30, smoothing_alpha=None,
                      z_range=(2.0, 10.0), z_step=0.5, min_percent=0.13, prune=True,
                      step=None, error_buffer=0):
    """Nonparametric dynamic threshold (Hundman et al., KDD 2018) with pruning.

    1. Smooth: ``e_s`` = EWMA of the errors (pandas ``ewm(span=smoothing_window,
       adjust=True).mean()``, or ``alpha=smoothing_alpha``), causal.
    2. Threshold each window of ``e_s`` (the whole array when ``window`` is None):
       epsilon = mean(e_s) + z std(e_s) (population std), with z on the grid
       ``z_range[0], z_range[0] + z_step, ..., <= z_range[1]`` maximising

           (delta_mean / mean + delta_std / std) / (|e_a| + |E_seq|**2)

       where delta_mean, delta_std are the drops of the mean and std of e_s when
       the points above epsilon are removed, e_a the points above epsilon
       (widened by ``error_buffer``) and E_seq the runs they form.  As in
       telemanom, ties go to the larger z and a z flagging half of the window
       or more is ineligible; when no z is eligible nothing is flagged and
       epsilon is max(mean + z_max std, max(e_s)) (``z`` reports the matching
       value).
    3. Prune (``prune=True``): sort the maximum e_s of each anomalous sequence in
       decreasing order, append the largest e_s outside them, compute
       d_i = (m_i - m_{i+1}) / m_i and reclassify as nominal every sequence
       ranked after the last i with d_i > ``min_percent`` (all of them when no
       d_i exceeds it).

    Parameters
    ----------
    errors : array-like of float, shape (n,)
        Error magnitudes, e.g. absolute prediction errors (scaled or not: the
        criterion is scale-invariant).  The criterion divides by the mean, so it
        is defined for non-negative errors; when some are negative (e.g. robust
        z-scores, which are centred on the median) the errors are shifted by
        their global minimum before thresholding, which makes the smallest error
        the zero point, and ``threshold``/``smoothed`` are reported back on the
        input's scale.
    window : int or None, default None
        None: one threshold for the whole array.  An int ``w`` (telemanom:
        2100 = 30 batches of 70): sliding windows of ``w`` smoothed errors that
        advance by ``step``; the first window judges its ``w`` points, every
        later window judges only its newest ``step`` points (the block it ends
        with), so each point is judged exactly once, against the ``w`` smoothed
        errors ending with its block.  Arrays of at most ``w`` points use one
        window.
    smoothing_window : int >= 1, default 30
        EWMA span (1 = no smoothing).  Ignored when ``smoothing_alpha`` is given.
    smoothing_alpha : float in (0, 1] or None
        EWMA smoothing factor, instead of the span.
    z_range : (float, float), default (2.0, 10.0)
        Smallest and largest z tried (both > 0, inclusive).
    z_step : float > 0, default 0.5
    min_percent : float in [0, 1), default 0.13
        The pruning's minimum percent decrease p (0.13 in the paper).
    prune : bool, default True
    step : int >= 1 or None
        Advance of the sliding windows; None = ``max(1, window // 30)``
        (telemanom's ratio: batches of 70 in windows of 2100).
    error_buffer : int >= 0, default 0
        Points added on each side of every point above epsilon before grouping
        into sequences (telemanom uses about 100 to merge nearby anomalies; 0 is
        the paper's formulation).

    Returns
    -------
    DynamicThresholdResult
        ``labels``, ``threshold`` (per point), ``smoothed``, ``sequences``
        (half-open), ``z`` (per point).

    Notes
    -----
    Simplifications with respect to telemanom: the "inverse" pass (flagging
    unusually *low* errors, ``e_s`` mirrored about its mean) is not run; the
    checks that compare the errors' scale with the raw values' (which need the
    raw series) and the ``len(E_seq) <= 5`` guard are not applied; all runs
    count in |E_seq| (telemanom drops single-point runs); the sequence maxima
    include each sequence's last point; pruning uses d_i > p where telemanom
    keeps on d_i >= p.  The first smoothed errors are not replaced by their mean.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.thresholds import dynamic_threshold
    >>> e = np.abs(np.random.default_rng(0).normal(size=1000))
    >>> e[400:405] += 8.0
    >>> res = dynamic_threshold(e, smoothing_window=1)      # no smoothing
    >>> res.sequences, int(res.labels.sum()), float(res.z[0])
    ([(400, 405)], 5, 9.0)
    >>> dynamic_threshold(e).sequences     # EWMA span 30: the smoothed bump lags
    [(403, 409)]
    """
    e = _as_1d(errors, "errors")
    n = e.size
    window = _int(window, "window", minimum=2, allow_none=True)
    smoothing_window = _int(smoothing_window, "smoothing_window", minimum=1)
    smoothing_alpha = _float(smoothing_alpha, "smoothing_alpha", low=0.0, high=1.0,
                             low_open=True, allow_none=True)
    zs = _z_grid(z_range, z_step)
    min_percent = _float(min_percent, "min_percent", low=0.0, high=1.0, high_open=True)
    if not isinstance(prune, (bool, np.bool_)):
        raise ValueError(f"prune must be True or False, got {prune!r}")
    error_buffer = _int(error_buffer, "error_buffer", minimum=0)
    step = _int(step, "step", minimum=1, allow_none=True)
    if window is not None:
        if step is None:
            step = max(1, window // 30)
        if step > window:
            raise ValueError(f"step must be <= window, got step={step}, window={window}")

    e_min = float(e.min())
    shift = -e_min if e_min < 0.0 else 0.0
    smoothed = _ewma(e + shift, smoothing_window, smoothing_alpha)
    labels = np.zeros(n, dtype=np.int64)
    eps_all = np.empty(n, dtype=np.float64)
    z_all = np.empty(n, dtype=np.float64)

    if window is None or n <= window:
        lab, eps, z = _threshold_window(smoothed, zs, error_buffer, bool(prune), min_percent)
        labels[:] = lab
        eps_all[:] = eps
        z_all[:] = z
    else:
        blocks = [(0, window)] + [(b, min(b + step, n)) for b in range(window, n, step)]
        for b0, b1 in blocks:
            w0 = b1 - window
            lab, eps, z = _threshold_window(smoothed[w0:b1], zs, error_buffer, bool(prune),
                                            min_percent)
            labels[b0:b1] = lab[b0 - w0:]
            eps_all[b0:b1] = eps
            z_all[b0:b1] = z

    return DynamicThresholdResult(labels=labels, threshold=eps_all - shift,
                                  smoothed=smoothed - shift, sequences=_runs(labels == 1),
                                  z=z_all)


# --------------------------------------------------------------------------- likelihood
@dataclass(frozen=True)
class AnomalyLikelihood:
    """What :func:`anomaly_likelihood` returns (arrays of shape (n,)).

    Attributes
    ----------
    likelihood : ndarray
        L_t = 1 - Q(z_t) in [0, 1] (0.5 before ``min_periods`` errors).  Rounds
        to exactly 1.0 for z_t above about 8.3: use ``score`` to rank.
    score : ndarray
        ``gaussian_tail_score(z_t)``: log-scaled, in [0, 1), strictly increasing
        in z_t, no ties for distinct z_t (0.5 at L = 1 - 1e-5).
    z : ndarray
        (short_mean - mean) / std (0 before ``min_periods`` errors).
    mean, std : ndarray
        The Gaussian fitted on the long window (NaN before ``min_periods``);
        ``std`` is floored at ``min_std``.
    short_mean : ndarray
        Moving average of the last ``short_window`` errors.
    """

    likelihood: np.ndarray
    score: np.ndarray
    z: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    short_mean: np.ndarray


def gaussian_tail_score(z):
    """Map z-statistics to [0, 1) through the Gaussian tail, computed in log space.

    With Q the Gaussian tail (``norm.sf``) and ``x = log Q(z) / log(1e-10)``
    (NAB's log-likelihood, ``log(1 - L) / log(1e-10)``, without its 1e-10
    offset, which saturates at L = 1), the score is ``x`` for ``x <= 0.5``
    (Q >= 1e-5) and ``1 - 0.25 / x`` above: continuous with a continuous
    derivative, strictly increasing, below 1 for every finite z, and equal to
    0.5 exactly where L = 1 - 1e-5.  ``log Q`` comes from ``norm.logsf``, so
    z = 40, 50, 100 (where L rounds to 1.0 and a logistic squash ties) still get
    distinct scores; ties remain only below z of about -38 (score 0) and between
    z values that differ by less than float64 resolution.

    Parameters
    ----------
    z : float or array-like of float (finite)

    Returns
    -------
    float or ndarray of float64 (same shape as ``z``)

    Examples
    --------
    >>> from tsrnn.thresholds import gaussian_tail_score
    >>> [round(float(s), 6) for s in gaussian_tail_score([0.0, 4.264891, 40.0, 50.0, 100.0])]
    [0.030103, 0.5, 0.992846, 0.995413, 0.99885]
    """
    scalar = np.ndim(z) == 0
    arr = np.asarray(z)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"z must be numeric, got an array of dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"z must be finite, got {int((~np.isfinite(arr)).sum())} NaN or "
                         f"infinite value(s)")
    x = norm.logsf(arr) / _LOG_1E_10  # >= 0; +0.0 for very negative z
    x = np.maximum(x, 0.0)
    with np.errstate(divide="ignore"):
        s = np.where(x <= 0.5, x, 1.0 - 0.25 / np.where(x > 0.5, x, 1.0))
    return float(s) if scalar else s


def anomaly_likelihood(errors, long_window=8640, short_window=10, min_periods=100, min_std=1e-6):
    """Causal anomaly likelihood of Ahmad et al. (2017), the NAB/HTM post-processing.

    At each t, using only ``errors[:t + 1]``:

    * mean_t, std_t: sample mean and standard deviation (ddof=1) of the last
      ``long_window`` errors (W; fewer at the start), std floored at ``min_std``;
    * short_mean_t: mean of the last ``short_window`` errors (W' = 10);
    * z_t = (short_mean_t - mean_t) / std_t and L_t = 1 - Q(z_t), Q the
      Gaussian tail.  Anomalous -> L close to 1.

    Before ``min(min_periods, long_window)`` errors are available, z = 0,
    L = 0.5 (the probationary period).  As in the paper's formula the Gaussian
    is fitted on the raw errors and the tail is one-sided (NuPIC fits it on the
    moving averages and mirrors values below the mean, making L >= 0.5); the
    statistics are recomputed at every step (NuPIC: every 100).

    Parameters
    ----------
    errors : array-like of float, shape (n,)
        Raw anomaly scores / errors in time order.
    long_window : int >= 2, default 8640
        W, NAB's historic window (30 days of 5-minute data).
    short_window : int >= 1, default 10
        W'.
    min_periods : int >= 2, default 100
        Errors needed before the likelihood departs from 0.5 (capped at
        ``long_window``).
    min_std : float > 0, default 1e-6
        Floor of the long-window standard deviation (flat stretches).

    Returns
    -------
    AnomalyLikelihood
        ``likelihood``, ``score`` (log-scaled, tie-free), ``z``, ``mean``,
        ``std``, ``short_mean``.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.thresholds import anomaly_likelihood
    >>> e = np.abs(np.random.default_rng(0).normal(size=600))
    >>> e[500:] += 3.0                     # the errors jump at t = 500
    >>> res = anomaly_likelihood(e, long_window=400)
    >>> float(res.likelihood[0])            # probationary period
    0.5
    >>> int(np.argmax(res.score)), round(float(res.likelihood[509]), 4)
    (509, 0.9999)
    """
    e = _as_1d(errors, "errors")
    long_window = _int(long_window, "long_window", minimum=2)
    short_window = _int(short_window, "short_window", minimum=1)
    min_periods = min(_int(min_periods, "min_periods", minimum=2), long_window)
    min_std = _float(min_std, "min_std", low=0.0, low_open=True)

    s = pd.Series(e)
    roll = s.rolling(long_window, min_periods=min_periods)
    mean = roll.mean().to_numpy(dtype=np.float64)
    std = roll.std(ddof=1).to_numpy(dtype=np.float64)
    short = s.rolling(short_window, min_periods=1).mean().to_numpy(dtype=np.float64)
    ready = np.isfinite(mean)
    std = np.where(ready, np.maximum(np.nan_to_num(std, nan=0.0), min_std), np.nan)
    z = np.zeros(e.size, dtype=np.float64)
    z[ready] = (short[ready] - mean[ready]) / std[ready]
    likelihood = -np.expm1(norm.logsf(z))
    return AnomalyLikelihood(likelihood=likelihood, score=gaussian_tail_score(z), z=z,
                             mean=mean, std=std, short_mean=short)


def likelihood_score(errors, long_window=8640, short_window=10, min_periods=100, min_std=1e-6):
    """Log-scaled anomaly-likelihood scores in [0, 1): ``anomaly_likelihood(...).score``.

    The scores rank timestamps like the likelihood L_t but keep apart the extreme
    ones that L rounds to 1.0 (see :func:`gaussian_tail_score`); a threshold of
    0.5 on the score is a likelihood of 1 - 1e-5, and before ``min_periods``
    errors the score is that of L = 0.5 (about 0.0301).  Causal: appending
    errors does not change earlier scores.  Parameters as in
    :func:`anomaly_likelihood`.

    Returns
    -------
    ndarray of float64, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.thresholds import likelihood_score
    >>> e = np.abs(np.random.default_rng(1).normal(size=400))
    >>> e[300:320] += 50.0
    >>> s = likelihood_score(e, long_window=200)
    >>> bool(s.max() < 1.0), len(np.unique(s[300:320])) == 20
    (True, True)
    """
    return anomaly_likelihood(errors, long_window=long_window, short_window=short_window,
                              min_periods=min_periods, min_std=min_std).score


# --------------------------------------------------------------------------- quantile
def quantile_threshold(scores, contamination=0.01):
    """The ``1 - contamination`` empirical quantile of the training scores (PyOD).

    ``contamination`` is the expected proportion of anomalies in the *training*
    data; points scoring strictly above the returned threshold are labelled 1,
    so about that fraction of the (continuous, untied) training scores is.
    The quantile interpolates linearly (``np.quantile``'s default, like PyOD's
    ``np.percentile``).

    Parameters
    ----------
    scores : array-like of float, shape (n,)
    contamination : float in (0, 0.5], default 0.01

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.thresholds import quantile_threshold
    >>> quantile_threshold(np.arange(101.0), contamination=0.1)
    90.0
    """
    s = _as_1d(scores, "scores")
    contamination = _float(contamination, "contamination", low=0.0, high=0.5, low_open=True)
    return float(np.quantile(s, 1.0 - contamination))


# --------------------------------------------------------------------------- robust z-scores
def _robust_scale(ref):
    """(median, scale) of ``ref``: 1.4826 MAD, else std, else 1."""
    med = float(np.median(ref))
    scale = MAD_TO_STD * float(np.median(np.abs(ref - med)))
    if scale <= 0.0:
        scale = float(np.std(ref))
        if scale <= 0.0:
            scale = 1.0
    return med, scale


def robust_zscores(errors, reference=None):
    """Robust z-scores ``(errors - median) / (1.4826 MAD)`` with the statistics of ``reference``.

    When the MAD of ``reference`` is 0 (more than half of its values equal), the
    standard deviation (ddof=0) is used instead, and 1 when that is 0 too.

    Parameters
    ----------
    errors : array-like of float, shape (n,)
    reference : array-like of float or None
        The data the median and MAD come from (e.g. training errors); defaults
        to ``errors``.

    Returns
    -------
    ndarray of float64, shape (n,)

    Examples
    --------
    >>> from tsrnn.thresholds import robust_zscores
    >>> robust_zscores([1.0, 2.0, 3.0, 4.0, 100.0]).round(4).tolist()
    [-1.3489, -0.6745, 0.0, 0.6745, 65.4256]
    >>> robust_zscores([1.0, 3.0], reference=[2.0, 2.0, 2.0])   # MAD = std = 0 -> scale 1
    array([-1.,  1.])
    """
    e = _as_1d(errors, "errors")
    ref = e if reference is None else _as_1d(reference, "reference")
    med, scale = _robust_scale(ref)
    return (e - med) / scale


def _kth_deviation(s, c, k):
    """k-th smallest (0-based) of |s_i - c| for a sorted list ``s``.

    The k + 1 values closest to c form a contiguous block s[a:a+k+1], whose
    largest deviation is max(c - s[a], s[a+k] - c); the first term decreases and
    the second increases with a, so a binary search finds the best block.
    """
    m = len(s)
    lo, hi = 0, m - k
    while lo < hi:
        mid = (lo + hi) // 2
        if s[mid + k] - c >= c - s[mid]:
            hi = mid
        else:
            lo = mid + 1
    best = math.inf
    if lo < m - k:
        best = s[lo + k] - c
    if lo > 0:
        best = min(best, c - s[lo - 1])
    return best


def causal_robust_zscores(errors, min_periods=30, window=None):
    """Robust z-scores where the median and MAD at t use only errors up to t.

    At each t the statistics come from ``errors[:t + 1]`` (expanding, ``window``
    None) or from the last ``window`` errors up to and including t; the value
    at t is ``(errors[t] - median_t) / (1.4826 MAD_t)`` with the same fallbacks
    as :func:`robust_zscores` (std, ddof=0, then 1).  With ``window=None`` the
    last value equals ``robust_zscores(errors)[-1]``.  Before ``min_periods``
    errors are available the z-score is 0.

    The median and MAD are exact: a sorted buffer is updated by bisection and
    the MAD is found by a binary search over the sorted values, so each step
    costs O(log n) comparisons plus one memory move of the buffer (O(n) in
    the worst case, a few microseconds), about 0.1 s per 10,000 points.

    Parameters
    ----------
    errors : array-like of float, shape (n,)
    min_periods : int >= 1, default 30
    window : int or None
        Rolling window length (>= ``min_periods``); None = expanding.

    Returns
    -------
    ndarray of float64, shape (n,)

    Examples
    --------
    >>> from tsrnn.thresholds import causal_robust_zscores
    >>> causal_robust_zscores([1.0, 2.0, 3.0, 4.0, 100.0], min_periods=3).round(4).tolist()
    [0.0, 0.0, 0.6745, 1.0117, 65.4256]
    """
    e = _as_1d(errors, "errors")
    min_periods = _int(min_periods, "min_periods", minimum=1)
    window = _int(window, "window", minimum=1, allow_none=True)
    if window is not None and window < min_periods:
        raise ValueError(f"window must be >= min_periods, got window={window}, "
                         f"min_periods={min_periods}")
    n = e.size
    out = np.zeros(n, dtype=np.float64)
    vals = e.tolist()
    buf = []
    std = None
    for t in range(n):
        x = vals[t]
        if window is not None and t >= window:
            del buf[bisect.bisect_left(buf, vals[t - window])]
        bisect.insort(buf, x)
        m = len(buf)
        if m < min_periods:
            continue
        h = m // 2
        if m % 2:
            med = buf[h]
            mad = _kth_deviation(buf, med, h)
        else:
            med = (buf[h - 1] + buf[h]) / 2
            mad = (_kth_deviation(buf, med, h - 1) + _kth_deviation(buf, med, h)) / 2
        scale = MAD_TO_STD * mad
        if scale <= 0.0:
            if std is None:  # computed once, only when some MAD is 0
                ser = pd.Series(e)
                roll = ser.expanding() if window is None else ser.rolling(window, min_periods=1)
                std = roll.std(ddof=0).to_numpy(dtype=np.float64)
            scale = float(std[t])
            if not scale > 0.0:
                scale = 1.0
        out[t] = (x - med) / scale
    return out

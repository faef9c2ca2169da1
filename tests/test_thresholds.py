"""Tests of tsrnn.thresholds: dynamic threshold, anomaly likelihood, quantile, robust z-scores.

Every test is small (pure NumPy/SciPy, well under a second) and compares with a
hand-computed value or a slow, obviously-correct reference written here.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from tsrnn import thresholds as th
from tsrnn.thresholds import (
    anomaly_likelihood,
    causal_robust_zscores,
    dynamic_threshold,
    gaussian_tail_score,
    likelihood_score,
    quantile_threshold,
    robust_zscores,
)

SPIKES = (300, 1000, 1700)


def _noise_with_spikes(seed=0, n=2000, heights=(8.0, 8.0, 8.0), width=3, set_value=False):
    e = np.abs(np.random.default_rng(seed).normal(size=n))
    for s, h in zip(SPIKES, heights):
        if set_value:
            e[s:s + width] = h
        else:
            e[s:s + width] += h
    return e


# =========================================================================== references
def _runs_naive(flags):
    seqs, start = [], None
    for i, f in enumerate(flags):
        if f and start is None:
            start = i
        if not f and start is not None:
            seqs.append((start, i))
            start = None
    if start is not None:
        seqs.append((start, len(flags)))
    return seqs


def _dynamic_naive(e_s, zs, prune=True, p=0.13):
    """The paper's criterion and pruning, written with lists and loops (no buffer)."""
    e_s = [float(v) for v in e_s]
    n = len(e_s)
    mu = sum(e_s) / n
    sd = math.sqrt(sum((v - mu) ** 2 for v in e_s) / n)
    best, best_z = -math.inf, None
    for z in zs:
        eps = mu + z * sd
        anom = [v > eps for v in e_s]
        n_a = sum(anom)
        if n_a == 0 or n_a >= 0.5 * n:
            continue
        kept = [v for v, a in zip(e_s, anom) if not a]
        mk = sum(kept) / len(kept)
        sk = math.sqrt(sum((v - mk) ** 2 for v in kept) / len(kept))
        n_seq = len(_runs_naive(anom))
        score = ((mu - mk) / mu + (sd - sk) / sd) / (n_a + n_seq ** 2)
        if score >= best:
            best, best_z = score, z
    if best_z is None:
        return [], None, None
    eps = mu + best_z * sd
    anom = [v > eps for v in e_s]
    seqs = _runs_naive(anom)
    if prune and seqs:
        maxima = [max(e_s[a:b]) for a, b in seqs]
        nominal = [v for v, a in zip(e_s, anom) if not a]
        ranked = sorted(range(len(seqs)), key=lambda i: (-maxima[i], i))
        m = [maxima[i] for i in ranked] + [max(nominal)]
        last = -1
        for i in range(len(ranked)):
            if (m[i] - m[i + 1]) / m[i] > p:
                last = i
        seqs = sorted(seqs[i] for i in ranked[:last + 1])
    return seqs, best_z, eps


# =========================================================================== dynamic threshold
def test_dynamic_hand_computed_single_outlier():
    # mean 1.9, std 2.7: z = 2.0 and 2.5 flag only the 10 (same score), z >= 3
    # (epsilon >= 10) flags nothing; ties go to the larger z -> epsilon = 1.9 + 2.5 * 2.7
    e = np.array([1.0] * 9 + [10.0])
    res = dynamic_threshold(e, smoothing_window=1)
    assert res.z[0] == 2.5
    np.testing.assert_allclose(res.threshold, 8.65, rtol=1e-12)
    np.testing.assert_array_equal(res.labels, [0] * 9 + [1])
    assert res.sequences == [(9, 10)]
    np.testing.assert_array_equal(res.smoothed, e)
    assert res.labels.dtype == np.int64 and res.threshold.shape == (10,)


def test_dynamic_criterion_prefers_one_run_of_two_over_one_point():
    # [1 x 18, 7, 10]: mean 1.75, std 2.2995; z = 2 flags the 7 and the 10 (one run:
    # denominator 2 + 1, score (0.4286 + 1) / 3 = 0.476); z = 2.5 .. 3.5 flag only the 10
    # (denominator 1 + 1, score (0.248 + 0.417) / 2 = 0.333) -> z = 2 wins.
    e = np.array([1.0] * 18 + [7.0, 10.0])
    zs = th._z_grid((2.0, 10.0), 0.5)
    assert len(zs) == 17 and zs[0] == 2.0 and zs[-1] == 10.0
    mu, sd = e.mean(), e.std()
    both = ((mu - 1.0) / mu + (sd - 0.0) / sd) / (2 + 1)
    kept = e[:-1]
    one = ((mu - kept.mean()) / mu + (sd - kept.std()) / sd) / (1 + 1)
    assert both == pytest.approx(0.4762, abs=1e-4) and one == pytest.approx(0.3327, abs=1e-4)
    res = dynamic_threshold(e, smoothing_window=1)
    assert res.sequences == [(18, 20)] and res.z[0] == 2.0
    np.testing.assert_allclose(res.threshold[0], mu + 2.0 * sd, rtol=1e-12)
    seqs, z, eps = _dynamic_naive(e, list(zs))
    assert (seqs, z) == (res.sequences, res.z[0])


def test_dynamic_criterion_squares_the_number_of_sequences():
    # [1 x 20] with e[5] = 8, e[15] = 10: mean 1.8, std sqrt(5.86) = 2.4207.
    # z = 2, 2.5 flag both (two runs: denominator 2 + 2**2 = 6, score 0.2407);
    # z = 3 flags the 10 alone (denominator 1 + 1, score 0.2970) and wins; z >= 3.5 flags
    # nothing.  Without the square (2 + 2) the pair would score 0.3611 and win.
    e = np.ones(20)
    e[5], e[15] = 8.0, 10.0
    res = dynamic_threshold(e, smoothing_window=1)
    assert res.z[0] == 3.0 and res.sequences == [(15, 16)]
    np.testing.assert_allclose(res.threshold[0], 1.8 + 3.0 * math.sqrt(5.86), rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dynamic_matches_naive_reference(seed):
    rng = np.random.default_rng(seed)
    e = np.abs(rng.normal(size=300))
    e[rng.integers(0, 300, size=4)] += rng.uniform(2, 8, size=4)
    zs = list(th._z_grid((2.0, 10.0), 0.5))
    for prune in (True, False):
        res = dynamic_threshold(e, smoothing_window=1, prune=prune)
        seqs, z, eps = _dynamic_naive(e, zs, prune=prune)
        assert res.sequences == seqs
        assert res.z[0] == z
        np.testing.assert_allclose(res.threshold[0], eps, rtol=1e-12)


def test_dynamic_finds_exactly_three_spikes():
    e = _noise_with_spikes(seed=1, heights=(9.0, 9.0, 9.0), set_value=True)
    res = dynamic_threshold(e, smoothing_window=1)
    assert res.sequences == [(s, s + 3) for s in SPIKES]
    assert res.labels.sum() == 9


def test_dynamic_pruning_removes_small_bump():
    e = _noise_with_spikes(seed=2)
    e[1300:1302] += 2.5  # a small bump, just above a low threshold
    kw = dict(smoothing_window=1, z_range=(2.0, 2.0))
    kept = dynamic_threshold(e, prune=False, **kw)
    pruned = dynamic_threshold(e, prune=True, **kw)
    assert (1300, 1302) in kept.sequences and len(kept.sequences) > 10
    assert pruned.sequences == [(s, s + 3) for s in SPIKES]
    np.testing.assert_array_equal(kept.threshold, pruned.threshold)


def test_prune_hand_computed():
    # maxima 10, 9.5, 5, 4.8; nominal max 4.5
    # d = .05, .4737, .04, .0625 -> last d > .13 at rank 1: keep the 10 and the 9.5
    keep = th._prune([5.0, 10.0, 4.8, 9.5], 4.5, 0.13)
    np.testing.assert_array_equal(keep, [1, 3])
    # no decrease above p: everything becomes nominal
    assert th._prune([5.0, 4.9], 4.8, 0.13).size == 0
    # p = 0 keeps everything above the nominal max
    np.testing.assert_array_equal(th._prune([5.0, 4.9], 4.8, 0.0), [0, 1])


def test_dynamic_smoothing_is_pandas_ewma():
    e = _noise_with_spikes(seed=3)[:500]
    res = dynamic_threshold(e, smoothing_window=30)
    np.testing.assert_allclose(res.smoothed, pd.Series(e).ewm(span=30).mean().to_numpy(),
                               rtol=1e-12)
    res = dynamic_threshold(e, smoothing_alpha=0.2)
    np.testing.assert_allclose(res.smoothed, pd.Series(e).ewm(alpha=0.2).mean().to_numpy(),
                               rtol=1e-12)


def test_dynamic_windowed_finds_spikes_of_different_sizes():
    # globally, the criterion prefers the tallest spike only; windows of 500 see one at a time
    e = _noise_with_spikes(seed=0, heights=(10.0, 8.0, 6.0))
    res = dynamic_threshold(e, smoothing_window=1, window=500, step=50)
    assert res.sequences == [(s, s + 3) for s in SPIKES]
    # thresholds are constant over the first window and over each block of 50
    assert np.all(res.threshold[:500] == res.threshold[0])
    blocks = res.threshold[500:].reshape(-1, 50)
    assert np.all(blocks == blocks[:, :1])
    assert len(np.unique(res.threshold)) > 1


def test_dynamic_windowed_causal_up_to_block_end():
    e = _noise_with_spikes(seed=4, heights=(10.0, 8.0, 6.0))
    res = dynamic_threshold(e, window=400, step=40)
    f = e.copy()
    f[1200:] = np.abs(np.random.default_rng(9).normal(size=800)) * 5  # 1200 = 400 + 20 * 40
    res2 = dynamic_threshold(f, window=400, step=40)
    np.testing.assert_array_equal(res.labels[:1200], res2.labels[:1200])
    np.testing.assert_array_equal(res.threshold[:1200], res2.threshold[:1200])


def test_dynamic_window_covering_everything_equals_global():
    e = _noise_with_spikes(seed=5)
    a = dynamic_threshold(e)
    b = dynamic_threshold(e, window=len(e))
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.threshold, b.threshold)


def test_dynamic_default_step_and_last_partial_block():
    e = _noise_with_spikes(seed=6)[:1057]
    res = dynamic_threshold(e, window=300)  # step = 10: blocks end at 310, ..., 1050, 1057
    assert res.labels.shape == (1057,)
    assert np.all(res.threshold[1050:] == res.threshold[1050])
    assert res.threshold[1049] != res.threshold[1050]


def test_dynamic_scale_and_shift():
    e = _noise_with_spikes(seed=1, heights=(9.0, 9.0, 9.0), set_value=True)
    e[0] = 0.0  # the minimum: shifting by it is then the identity on e
    base = dynamic_threshold(e, smoothing_window=1)
    scaled = dynamic_threshold(7.0 * e, smoothing_window=1)
    np.testing.assert_array_equal(base.labels, scaled.labels)
    np.testing.assert_allclose(scaled.threshold, 7.0 * base.threshold, rtol=1e-12)
    # negative inputs (e.g. median-centred z-scores) are shifted by their minimum
    shifted = dynamic_threshold(e - 3.0, smoothing_window=1)
    np.testing.assert_array_equal(base.labels, shifted.labels)
    np.testing.assert_allclose(shifted.threshold, base.threshold - 3.0, atol=1e-12)
    np.testing.assert_allclose(shifted.smoothed, e - 3.0, atol=1e-12)


def test_dynamic_constant_and_tiny_inputs():
    res = dynamic_threshold(np.full(50, 2.0))
    assert res.labels.sum() == 0 and res.sequences == []
    np.testing.assert_allclose(res.threshold, 2.0)
    res = dynamic_threshold([3.0])
    assert res.labels.tolist() == [0]
    res = dynamic_threshold(np.zeros(20))
    assert res.labels.sum() == 0


def test_dynamic_half_the_points_is_never_an_anomaly():
    # z = 0.1 would flag the six 1's (mean 0.6, std 0.49): 60 % >= 50 % -> ineligible
    e = np.array([0.0] * 4 + [1.0] * 6)
    res = dynamic_threshold(e, smoothing_window=1, z_range=(0.1, 0.1))
    assert res.labels.sum() == 0 and res.sequences == []
    assert res.threshold[0] == 1.0
    np.testing.assert_allclose(res.z[0], (1.0 - 0.6) / e.std())
    # z = 0.1 on [0 x 6, 1 x 4] flags 40 %: eligible
    res = dynamic_threshold(np.r_[[0.0] * 6, [1.0] * 4], smoothing_window=1,
                            z_range=(0.1, 0.1), prune=False)
    assert res.sequences == [(6, 10)]


def test_dynamic_error_buffer_widens_sequences():
    e = np.array([1.0] * 20 + [10.0] + [1.0] * 20)
    res = dynamic_threshold(e, smoothing_window=1, error_buffer=2)
    assert res.sequences == [(18, 23)]


def test_dynamic_deterministic_and_accepts_series():
    e = _noise_with_spikes(seed=7)
    a = dynamic_threshold(e, window=500)
    b = dynamic_threshold(pd.Series(e), window=500)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.threshold, b.threshold)


@pytest.mark.parametrize("kwargs, match", [
    (dict(window=1), r"window must be >= 2, got 1"),
    (dict(window=2.5), r"window must be an integer, got 2.5"),
    (dict(smoothing_window=0), r"smoothing_window must be >= 1, got 0"),
    (dict(smoothing_alpha=0.0), r"smoothing_alpha must be .* got 0.0"),
    (dict(smoothing_alpha=1.5), r"smoothing_alpha must be .* got 1.5"),
    (dict(z_range=(3.0, 2.0)), r"z_range must satisfy low <= high, got \(3.0, 2.0\)"),
    (dict(z_range=3.0), r"z_range must be a \(low, high\) pair, got 3.0"),
    (dict(z_range=(0.0, 2.0)), r"z_range\[0\] must be .* got 0.0"),
    (dict(z_step=0), r"z_step must be .* got 0"),
    (dict(min_percent=1.0), r"min_percent must be .* got 1.0"),
    (dict(prune="yes"), r"prune must be True or False, got 'yes'"),
    (dict(error_buffer=-1), r"error_buffer must be >= 0, got -1"),
    (dict(window=100, step=101), r"step must be <= window, got step=101, window=100"),
])
def test_dynamic_bad_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dynamic_threshold(np.arange(10.0), **kwargs)


# =========================================================================== likelihood
def _likelihood_naive(e, W, Wp, min_periods, min_std=1e-6):
    z = np.zeros(len(e))
    for t in range(len(e)):
        hist = e[max(0, t - W + 1):t + 1]
        if len(hist) < min(min_periods, W):
            continue
        mu, sd = hist.mean(), max(hist.std(ddof=1), min_std)
        z[t] = (e[max(0, t - Wp + 1):t + 1].mean() - mu) / sd
    return z


def test_likelihood_matches_naive_reference():
    e = np.abs(np.random.default_rng(0).normal(size=120))
    e[90:95] += 4
    res = anomaly_likelihood(e, long_window=40, short_window=5, min_periods=10)
    z = _likelihood_naive(e, 40, 5, 10)
    np.testing.assert_allclose(res.z, z, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.likelihood, norm.cdf(z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.score, gaussian_tail_score(z), rtol=1e-12)
    assert np.all(res.likelihood[:9] == 0.5) and np.all(np.isnan(res.mean[:9]))
    assert np.isfinite(res.mean[9])


def test_likelihood_hand_computed():
    # W = 4, W' = 2, min_periods = 3: at t = 3 the window is [1, 2, 3, 10]:
    # mean 4, sample std sqrt((9 + 4 + 1 + 36) / 3) = sqrt(50/3); short mean 6.5
    res = anomaly_likelihood([1.0, 2.0, 3.0, 10.0], long_window=4, short_window=2, min_periods=3)
    z3 = 2.5 / math.sqrt(50.0 / 3.0)
    # t = 2: window [1, 2, 3]: mean 2, std 1, short mean 2.5 -> z = 0.5
    np.testing.assert_allclose(res.z, [0.0, 0.0, 0.5, z3], rtol=1e-12)
    np.testing.assert_allclose(res.likelihood[2:], norm.cdf([0.5, z3]), rtol=1e-12)
    assert res.likelihood[0] == res.likelihood[1] == 0.5


def test_likelihood_peaks_after_level_shift_and_decays():
    rng = np.random.default_rng(3)
    e = np.abs(rng.normal(size=1500))
    e[1000:] += 3.0
    res = anomaly_likelihood(e, long_window=300, short_window=10, min_periods=100)
    peak = int(np.argmax(res.score))
    assert 1000 <= peak < 1015
    assert res.likelihood[peak] > 0.999
    assert res.likelihood[:1000].max() < res.likelihood[peak]
    # the long window absorbs the new level: the likelihood falls back
    assert res.likelihood[1400:].max() < 0.99


def test_likelihood_is_causal():
    e = np.abs(np.random.default_rng(4).normal(size=800))
    e[500:520] += 5
    full = anomaly_likelihood(e, long_window=200, min_periods=50)
    for k in (60, 333, 510):
        part = anomaly_likelihood(e[:k], long_window=200, min_periods=50)
        np.testing.assert_array_equal(part.score, full.score[:k])
        np.testing.assert_array_equal(part.likelihood, full.likelihood[:k])


def test_likelihood_flat_history_uses_min_std():
    e = np.r_[np.ones(200), 1.5]
    res = anomaly_likelihood(e, long_window=100, short_window=1, min_periods=50, min_std=0.01)
    assert res.z[199] == 0.0 and res.likelihood[199] == 0.5
    # window [1 x 99, 1.5]: std = sqrt(0.25 * 99/100 / 99 * 100 ...) > min_std
    w = e[-100:]
    np.testing.assert_allclose(res.z[-1], (1.5 - w.mean()) / w.std(ddof=1), rtol=1e-9)


def test_likelihood_min_periods_capped_at_long_window():
    res = anomaly_likelihood(np.arange(30.0) % 7, long_window=10, short_window=1,
                             min_periods=100)
    assert res.likelihood[8] == 0.5 and res.likelihood[9] != 0.5


def test_likelihood_score_equals_field_and_keeps_extremes_apart():
    base = np.abs(np.random.default_rng(5).normal(size=500))
    finals = [50.0, 100.0, 200.0, 400.0, 800.0]
    last = []
    for v in finals:  # the same history, ever larger last errors
        e = np.r_[base, v]
        res = anomaly_likelihood(e, long_window=400, short_window=1)
        s = likelihood_score(e, long_window=400, short_window=1)
        np.testing.assert_array_equal(s, res.score)
        assert res.likelihood[-1] == 1.0  # L itself saturates in float64
        last.append(s[-1])
    assert np.all(np.diff(last) > 0) and max(last) < 1.0


# =========================================================================== tail score
def test_tail_score_no_ties_for_large_z():
    s = gaussian_tail_score([40.0, 50.0, 100.0])
    assert s[0] < s[1] < s[2] < 1.0
    assert norm.cdf(40.0) == norm.cdf(100.0) == 1.0  # what a plain likelihood gives
    z = np.r_[np.linspace(-30, 200, 4001), 1e3, 1e4, 1e5, 1e6]
    s = gaussian_tail_score(z)
    assert np.all(np.diff(s) > 0) and s[-1] < 1.0 and s[0] >= 0.0


def test_tail_score_anchors_and_nab_agreement():
    assert gaussian_tail_score(norm.isf(1e-5)) == pytest.approx(0.5, abs=1e-12)
    assert gaussian_tail_score(0.0) == pytest.approx(math.log(0.5) / math.log(1e-10))
    # NAB's log-likelihood log(1.0000000001 - L) / log(1e-10) where it does not saturate
    z = np.linspace(-3, 4.2, 50)
    nab = np.log(1.0000000001 - norm.cdf(z)) / np.log(1.0 - 0.9999999999)
    np.testing.assert_allclose(gaussian_tail_score(z), nab, atol=2e-5)
    # continuity at the junction x = 0.5
    zj = norm.isf(1e-5)
    assert abs(gaussian_tail_score(zj + 1e-9) - gaussian_tail_score(zj - 1e-9)) < 1e-8
    assert isinstance(gaussian_tail_score(1.0), float)


def test_tail_score_rejects_nan():
    with pytest.raises(ValueError, match="z must be finite, got 1 NaN"):
        gaussian_tail_score([0.0, np.nan])


# =========================================================================== quantile
def test_quantile_threshold_hand_computed():
    assert quantile_threshold(np.arange(101.0), contamination=0.1) == 90.0
    assert quantile_threshold([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert quantile_threshold(np.arange(11.0), 0.05) == pytest.approx(9.5)


def test_quantile_threshold_labels_contamination_fraction():
    train = np.random.default_rng(0).normal(size=10000)
    for c in (0.01, 0.05, 0.2):
        thr = quantile_threshold(train, contamination=c)
        assert abs((train > thr).mean() - c) <= 1.5 / train.size


@pytest.mark.parametrize("c", [0, 0.0, -0.1, 0.51, 1.0, float("nan"), "0.1", True, None])
def test_quantile_threshold_bad_contamination(c):
    with pytest.raises(ValueError, match="contamination must be"):
        quantile_threshold([1.0, 2.0, 3.0], contamination=c)


# =========================================================================== robust z-scores
def test_robust_zscores_hand_computed():
    # median 3, |e - 3| = 2, 1, 0, 1, 97 -> MAD 1
    z = robust_zscores([1.0, 2.0, 3.0, 4.0, 100.0])
    np.testing.assert_allclose(z, np.array([-2, -1, 0, 1, 97]) / 1.4826, rtol=1e-15)


def test_robust_zscores_with_outliers():
    rng = np.random.default_rng(0)
    e = np.r_[rng.normal(size=1000), np.full(20, 50.0)]
    z = robust_zscores(e)
    assert np.all(z[1000:] > 40)  # the outliers stand out ...
    assert abs(np.median(np.abs(z[:1000])) - 0.6745) < 0.08  # ... inliers look standard
    classic = (e - e.mean()) / e.std()
    assert classic[1000:].max() < 8  # where mean/std z-scores are swamped


def test_robust_zscores_reference_and_fallbacks():
    ref = [0.0, 2.0, 4.0]  # median 2, MAD 2 -> scale 2.9652
    np.testing.assert_allclose(robust_zscores([2.0, 5.0], reference=ref), [0.0, 3 / 2.9652])
    # MAD 0 -> std: ref [0, 0, 0, 0, 5] has median 0, MAD 0, std 2
    np.testing.assert_allclose(robust_zscores([0.0, 5.0], reference=[0, 0, 0, 0, 5.0]),
                               [0.0, 2.5])
    # all equal -> scale 1
    np.testing.assert_array_equal(robust_zscores([1.0, 3.0], reference=[2.0, 2.0]), [-1.0, 1.0])


def _causal_naive(e, min_periods, window=None):
    out = np.zeros(len(e))
    for t in range(len(e)):
        ref = e[: t + 1] if window is None else e[max(0, t - window + 1): t + 1]
        if len(ref) >= min_periods:
            out[t] = robust_zscores(e[t:t + 1], reference=ref)[0]
    return out


@pytest.mark.parametrize("window", [None, 7, 50])
def test_causal_robust_zscores_matches_naive(window):
    rng = np.random.default_rng(1)
    e = np.r_[rng.normal(size=150), rng.integers(0, 3, size=80).astype(float), 30.0,
              rng.standard_cauchy(size=40)]
    got = causal_robust_zscores(e, min_periods=5, window=window)
    np.testing.assert_allclose(got, _causal_naive(e, 5, window), rtol=1e-9, atol=1e-12)


def test_causal_robust_zscores_hand_computed_and_last_value():
    # t = 2: [1, 2, 3]: median 2, MAD 1; t = 3: [1, 2, 3, 4]: median 2.5, MAD 1
    got = causal_robust_zscores([1.0, 2.0, 3.0, 4.0, 100.0], min_periods=3)
    np.testing.assert_allclose(got, [0, 0, 1 / 1.4826, 1.5 / 1.4826, 97 / 1.4826])
    e = np.random.default_rng(2).normal(size=301)
    assert causal_robust_zscores(e)[-1] == pytest.approx(robust_zscores(e)[-1], rel=1e-12)


def test_causal_robust_zscores_is_causal_and_mad_zero_fallback():
    e = np.random.default_rng(3).normal(size=400)
    full = causal_robust_zscores(e, min_periods=10, window=60)
    np.testing.assert_array_equal(causal_robust_zscores(e[:250], min_periods=10, window=60),
                                  full[:250])
    # mostly zeros: the MAD is 0, the std takes over; all zeros -> scale 1
    z = causal_robust_zscores([0.0, 0.0, 0.0, 0.0, 4.0], min_periods=1)
    np.testing.assert_allclose(z, [0, 0, 0, 0, 4.0 / 1.6])  # std of [0,0,0,0,4] = 1.6


def test_causal_robust_zscores_bad_params():
    with pytest.raises(ValueError, match="window must be >= min_periods, got window=5, "
                                         "min_periods=30"):
        causal_robust_zscores(np.arange(10.0), window=5)
    with pytest.raises(ValueError, match="min_periods must be >= 1, got 0"):
        causal_robust_zscores(np.arange(10.0), min_periods=0)


# =========================================================================== validation
@pytest.mark.parametrize("func", [
    dynamic_threshold, anomaly_likelihood, likelihood_score, quantile_threshold,
    robust_zscores, causal_robust_zscores,
])
def test_input_validation(func):
    with pytest.raises(ValueError, match=r"contains 1 NaN or infinite value\(s\) \(first at "
                                         r"position 2: nan\)"):
        func([1.0, 2.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="contains 1 NaN or infinite"):
        func(np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="is empty"):
        func([])
    with pytest.raises(ValueError, match=r"must be 1-D, got an array of shape \(2, 2\)"):
        func(np.ones((2, 2)))
    with pytest.raises(ValueError, match="must be numeric, got an array of dtype"):
        func(["a", "b"])
    with pytest.raises(ValueError, match="is required, got None"):
        func(None)


def test_robust_zscores_validates_reference():
    with pytest.raises(ValueError, match="reference contains 1 NaN"):
        robust_zscores([1.0], reference=[np.nan, 1.0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(long_window=1), "long_window must be >= 2, got 1"),
    (dict(short_window=0), "short_window must be >= 1, got 0"),
    (dict(min_periods=1), "min_periods must be >= 2, got 1"),
    (dict(min_std=0.0), "min_std must be .* got 0.0"),
])
def test_likelihood_bad_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        anomaly_likelihood(np.arange(10.0), **kwargs)

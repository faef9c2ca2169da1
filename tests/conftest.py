"""Shared fixtures for the tsrnn test-suite (keep every data set small: 2 cores)."""

import numpy as np
import pytest


def _sine(n_points, period=25.0, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_points, dtype=np.float64)
    return np.sin(2 * np.pi * t / period) + noise * rng.normal(size=n_points)


def _windows(series, window):
    """(n, window) windows of ``series`` and the value following each one."""
    series = np.asarray(series, dtype=np.float64)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], window).copy()
    y = series[window:].copy()
    return X, y


@pytest.fixture
def sine():
    """Factory: ``sine(n_points, period=25, noise=0, seed=0) -> 1-D array``."""
    return _sine


@pytest.fixture
def sine_windows():
    """Factory: ``sine_windows(n_points, window=24, period=25, noise=0, seed=0) -> X (n, window), y (n,)``."""

    def make(n_points, window=24, period=25.0, noise=0.0, seed=0):
        return _windows(_sine(n_points, period, noise, seed), window)

    return make


# ---------------------------------------------------------------- hypothesis
# Profiles for the fuzz suite (tests/test_fuzz.py).  "ci" is loaded by default;
# run the full >= 10,000-input fuzz campaign with
#     pytest tests/test_fuzz.py --hypothesis-profile=long
# (the hypothesis pytest plugin loads the named profile after this file runs).
# The number of generated inputs actually tried is printed in the terminal summary.
try:
    from hypothesis import HealthCheck, settings as _hyp_settings

    _HYP_COMMON = dict(deadline=None, derandomize=False, print_blob=True,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                              HealthCheck.data_too_large])
    _hyp_settings.register_profile("ci", max_examples=150, **_HYP_COMMON)
    _hyp_settings.register_profile("long", max_examples=1300, **_HYP_COMMON)
    _hyp_settings.register_profile("dev", max_examples=20, **_HYP_COMMON)
    _hyp_settings.load_profile("ci")
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass


def pytest_terminal_summary(terminalreporter):
    """Report how many generated inputs the fuzz suite threw at tsrnn."""
    import sys

    for mod in list(sys.modules.values()):
        counts = getattr(mod, "_FUZZ_COUNTS", None)
        if isinstance(counts, dict) and counts and getattr(mod, "__name__", "").endswith("test_fuzz"):
            total = sum(counts.values())
            outcomes = getattr(mod, "_FUZZ_OUTCOMES", {})
            terminalreporter.write_sep("-", f"tsrnn fuzz: {total} generated inputs tried")
            for k in sorted(counts):
                terminalreporter.write_line(f"  {k}: {counts[k]}")
            if outcomes:
                for k in sorted(outcomes):
                    terminalreporter.write_line(f"  outcome {k}: {outcomes[k]}")
            break

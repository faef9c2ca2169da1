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

"""Fast activation approximations: maximum error against float64 libm."""

import numpy as np
import pytest

from tsrnn._config import jit
from tsrnn.kernels.activations import (ACT_RELU, ACT_SIGMOID, ACT_TANH, apply_act)


@jit
def _apply(v, kind, fast):
    apply_act(v, 0, v.shape[0], kind, fast)


GRID = np.concatenate([np.linspace(-30, 30, 600_001), [0.0, -0.0, 1e-8, -1e-8, 9.0, -9.0]]).astype(np.float32)


def _exact(kind, x):
    x = x.astype(np.float64)
    if kind == ACT_TANH:
        return np.tanh(x)
    if kind == ACT_SIGMOID:
        return 1.0 / (1.0 + np.exp(-x))
    return np.maximum(x, 0.0)


@pytest.mark.parametrize("kind,bound", [(ACT_TANH, 3.6e-7), (ACT_SIGMOID, 2.0e-7)])
def test_fast_float32_activation_max_error(kind, bound):
    v = GRID.copy()
    _apply(v, kind, True)
    err = np.abs(v.astype(np.float64) - _exact(kind, GRID))
    assert err.max() <= bound, (kind, err.max(), GRID[err.argmax()])
    # outputs stay inside the function's range and are monotone
    lo, hi = (-1.0, 1.0) if kind == ACT_TANH else (0.0, 1.0)
    assert v.min() >= lo and v.max() <= hi
    # monotone up to float32 rounding of the rational function (a few ulp)
    assert np.diff(v[:600_001]).min() >= -4e-7


@pytest.mark.parametrize("kind", [ACT_TANH, ACT_SIGMOID, ACT_RELU])
def test_precise_path_matches_numpy_in_float64(kind):
    x = np.linspace(-50, 50, 20_001)
    v = x.copy()
    _apply(v, kind, False)
    np.testing.assert_allclose(v, _exact(kind, x), rtol=1e-15, atol=1e-300)


def test_fast_tanh_is_odd():
    v = GRID.copy()
    w = (-GRID).copy()
    _apply(v, ACT_TANH, True)
    _apply(w, ACT_TANH, True)
    np.testing.assert_array_equal(v, -w)

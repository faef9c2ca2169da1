"""The examples run (tiny settings) so that they never rot."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quickstart_runs_and_learns():
    rmse, naive = _load("quickstart").main(tiny=True)
    assert np.isfinite(rmse) and rmse < 1.0


def test_forecast_airline_runs(tmp_path):
    fc = _load("forecast_airline").main(tiny=True, plot=str(tmp_path / "a.png"))
    assert len(fc) == 24 and np.isfinite(fc.to_numpy()).all()


def test_m4_hourly_example_runs(tmp_path):
    mod = _load("m4_hourly")
    if not (mod.DATA / "Hourly-train.csv").exists():
        pytest.skip("M4 data not available")
    res = mod.main(tiny=True, plot=str(tmp_path / "m.png"))
    assert np.isfinite(res["owa"])


def test_detect_nyc_taxi_runs(tmp_path):
    scores = _load("detect_nyc_taxi").main(tiny=True, plot=str(tmp_path / "n.png"))
    assert len(scores) == 10320 and np.isfinite(scores.to_numpy()).all()


def test_irregular_ctrnn_uses_the_gaps():
    res = _load("irregular_ctrnn").main(tiny=True)
    assert res["with dt"] < 0.6 * res["without dt"] < 1.0   # measured: 0.017 vs 0.047

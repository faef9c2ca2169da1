"""The command line (tsrnn.cli): tiny models, CSVs in tmp_path, main([...]) called directly."""

import importlib.util
import os
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from tsrnn.cli import main

TINY = ["--cell", "gru", "--hidden-size", "4", "--window", "8", "--epochs", "2",
        "--batch-size", "16", "--quiet"]
HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def _series_csv(path, n=60, freq="D", start="2024-01-01"):
    t = np.arange(n)
    y = 10 + np.sin(2 * np.pi * t / 7) + 0.01 * t
    pd.DataFrame({"ds": pd.date_range(start, periods=n, freq=freq).strftime("%Y-%m-%d"),
                  "y": y}).to_csv(path, index=False)
    return path


def _long_csv(path, n=50):
    rows = []
    for k, sid in enumerate(["a", "b", "c"]):
        for i, d in enumerate(pd.date_range("2024-01-01", periods=n - 5 * k, freq="D")):
            rows.append((sid, d.strftime("%Y-%m-%d"), 5 + k + np.sin(i / 3.0)))
    pd.DataFrame(rows, columns=["id", "ds", "y"]).to_csv(path, index=False)
    return path


def _assert_user_error(code, capsys):
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("tsrnn: error:"), err
    assert "Traceback" not in err
    return lines[0]


def test_forecast_single_series(tmp_path, capsys):
    data = _series_csv(tmp_path / "d.csv")
    out = tmp_path / "fc.csv"
    code = main(["forecast", str(data), "--horizon", "5", "-o", str(out)] + TINY)
    assert code == 0, capsys.readouterr().err
    fc = pd.read_csv(out)
    assert list(fc.columns) == ["ds", "prediction"]
    assert len(fc) == 5
    assert list(pd.to_datetime(fc["ds"])) == list(pd.date_range("2024-03-01", periods=5, freq="D"))
    assert np.isfinite(fc["prediction"]).all()


def test_forecast_integer_time_and_coverage(tmp_path, capsys):
    data = tmp_path / "d.csv"
    pd.DataFrame({"t": np.arange(100, 160), "v": np.sin(np.arange(60) / 3.0)}).to_csv(data, index=False)
    out = tmp_path / "fc.csv"
    code = main(["forecast", str(data), "--time-col", "t", "--target-col", "v", "--horizon", "4",
                 "--coverage", "0.8", "-o", str(out)] + TINY)
    assert code == 0, capsys.readouterr().err
    fc = pd.read_csv(out)
    assert list(fc.columns) == ["t", "prediction", "lower", "upper"]
    assert fc["t"].tolist() == [160, 161, 162, 163]
    assert (fc["lower"] <= fc["upper"]).all()


def test_forecast_long_format(tmp_path, capsys):
    data = _long_csv(tmp_path / "long.csv")
    out = tmp_path / "fc.csv"
    code = main(["forecast", str(data), "--id-col", "id", "--horizon", "3", "--coverage", "0.9",
                 "-o", str(out)] + TINY)
    assert code == 0, capsys.readouterr().err
    fc = pd.read_csv(out)
    assert list(fc.columns) == ["id", "ds", "prediction", "lower", "upper"]
    assert len(fc) == 3 * 3
    last = {"a": "2024-02-19", "b": "2024-02-14", "c": "2024-02-09"}
    for sid, end in last.items():
        got = pd.to_datetime(fc.loc[fc["id"] == sid, "ds"]).tolist()
        assert got == list(pd.date_range(end, periods=4, freq="D")[1:])


def test_save_then_predict_gives_same_forecast(tmp_path, capsys):
    data = _series_csv(tmp_path / "d.csv")
    out1, out2, model = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "m.tsrnn"
    assert main(["forecast", str(data), "--horizon", "4", "-o", str(out1), "--save", str(model)]
                + TINY) == 0
    assert model.exists()
    assert main(["predict", "--model", str(model), "-o", str(out2), "--quiet"]) == 0
    a, b = pd.read_csv(out1), pd.read_csv(out2)
    assert list(a.columns) == list(b.columns)
    assert a["ds"].tolist() == b["ds"].tolist()
    np.testing.assert_allclose(a["prediction"], b["prediction"], rtol=1e-6)

    # --data: new observations move the forecast origin
    new = tmp_path / "new.csv"
    pd.DataFrame({"ds": pd.date_range("2024-03-01", periods=3, freq="D").strftime("%Y-%m-%d"),
                  "y": [10.0, 10.5, 11.0]}).to_csv(new, index=False)
    out3 = tmp_path / "c.csv"
    assert main(["predict", "--model", str(model), "--data", str(new), "--horizon", "2",
                 "-o", str(out3), "--quiet"]) == 0
    c = pd.read_csv(out3)
    assert pd.to_datetime(c["ds"]).tolist() == list(pd.date_range("2024-03-04", periods=2, freq="D"))
    capsys.readouterr()


def test_forecast_to_stdout(tmp_path, capsys):
    data = _series_csv(tmp_path / "d.csv")
    assert main(["forecast", str(data), "--horizon", "2"] + TINY) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ds,prediction" and len(out) == 3


def test_detect(tmp_path, capsys):
    n = 120
    t = np.arange(n)
    y = np.sin(2 * np.pi * t / 12)
    y[90] += 5
    data = tmp_path / "d.csv"
    pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="h"),
                  "value": y, "other": np.cos(t / 5.0)}).to_csv(data, index=False)
    out = tmp_path / "s.csv"
    code = main(["detect", str(data), "--time-col", "timestamp", "--target-col", "value",
                 "--threshold", "quantile", "--train-fraction", "0.6", "-o", str(out)] + TINY)
    assert code == 0, capsys.readouterr().err
    s = pd.read_csv(out)
    assert list(s.columns) == ["timestamp", "value", "score", "label"]
    assert len(s) == n
    assert not s.isna().any().any()
    assert set(s["label"].unique()) <= {0, 1}

    out2 = tmp_path / "s2.csv"
    code = main(["detect", str(data), "--time-col", "timestamp", "--target-col", "value",
                 "--target-col", "other", "--causal", "--threshold", "2.5", "-o", str(out2)] + TINY)
    assert code == 0, capsys.readouterr().err
    s2 = pd.read_csv(out2)
    assert list(s2.columns) == ["timestamp", "value", "other", "score", "label"]
    assert not s2.isna().any().any()

    # the Hopfield memory and the new cells are reachable from the command line
    out3 = tmp_path / "s3.csv"
    code = main(["detect", str(data), "--time-col", "timestamp", "--target-col", "value",
                 "--method", "hopfield", "--threshold", "quantile", "--train-fraction", "0.6",
                 "--causal", "-o", str(out3)] + TINY)
    assert code == 0, capsys.readouterr().err
    s3 = pd.read_csv(out3)
    assert len(s3) == n and s3["score"].idxmax() == 90
    out4 = tmp_path / "s4.csv"
    code = main(["detect", str(data), "--time-col", "timestamp", "--target-col", "value",
                 "--threshold", "quantile", "-o", str(out4)] + TINY + ["--cell", "ctrnn"])
    assert code == 0, capsys.readouterr().err
    assert not pd.read_csv(out4).isna().any().any()


@pytest.mark.parametrize("case", ["empty", "header_only", "missing_col", "bad_dates", "non_numeric",
                                  "no_file", "bad_model", "model_is_csv", "bad_option_value",
                                  "too_short"])
def test_user_errors_are_one_line(tmp_path, capsys, case):
    good = _series_csv(tmp_path / "good.csv")
    p = tmp_path / "bad.csv"
    if case == "empty":
        p.write_text("")
        argv = ["forecast", str(p)]
    elif case == "header_only":
        p.write_text("ds,y\n")
        argv = ["forecast", str(p)]
    elif case == "missing_col":
        argv = ["forecast", str(good), "--target-col", "sales"]
    elif case == "bad_dates":
        p.write_text("ds,y\n2024-01-01,1\n2024-01-02,2\nabc,3\n")
        argv = ["forecast", str(p)]
    elif case == "non_numeric":
        p.write_text("ds,y\n2024-01-01,1\n2024-01-02,x\n2024-01-03,3\n")
        argv = ["forecast", str(p)]
    elif case == "no_file":
        argv = ["forecast", str(tmp_path / "nope.csv")]
    elif case == "bad_model":
        m = tmp_path / "m.tsrnn"
        with zipfile.ZipFile(m, "w") as zf:
            zf.writestr("junk.txt", "not a model")
        argv = ["predict", "--model", str(m)]
    elif case == "model_is_csv":
        argv = ["predict", "--model", str(good)]
    elif case == "bad_option_value":
        argv = ["forecast", str(good), "--freq", "not-a-freq"]
    elif case == "too_short":
        p.write_text("ds,y\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n")
        argv = ["forecast", str(p)]
    line = _assert_user_error(main(argv + TINY[-1:] if argv[0] == "predict" else argv + TINY),
                              capsys)
    if case == "bad_dates":
        assert "'ds'" in line and "row 3" in line and "'abc'" in line
    if case == "missing_col":
        assert "'sales'" in line
    if case == "non_numeric":
        assert "'y'" in line and "'x'" in line


def test_usage_errors_exit_2(capsys):
    assert main(["forecast"]) == 2
    assert main(["frobnicate"]) == 2
    assert main([]) == 2
    assert main(["--help"]) == 0
    capsys.readouterr()


def test_plot_flag(tmp_path, capsys):
    data = _series_csv(tmp_path / "d.csv")
    png = tmp_path / "fc.png"
    code = main(["forecast", str(data), "--horizon", "3", "-o", str(tmp_path / "fc.csv"),
                 "--plot", str(png)] + TINY)
    err = capsys.readouterr().err
    if importlib.util.find_spec("matplotlib") is None or importlib.util.find_spec("tsrnn.plotting") is None:
        assert code == 2 and err.startswith("tsrnn: error:")
    else:
        assert code == 0, err
        assert png.stat().st_size > 0


def test_demo_quick(tmp_path, capsys):
    code = main(["demo", "--quick", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "MAE" in captured.out and "alerts" in captured.out
    if HAS_MPL and importlib.util.find_spec("tsrnn.plotting") is not None:
        assert (tmp_path / "airline_forecast.png").stat().st_size > 0
        assert (tmp_path / "nyc_taxi_anomalies.png").stat().st_size > 0


def test_python_m_tsrnn_help():
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "tsrnn", "--help"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    for cmd in ("demo", "forecast", "detect", "predict"):
        assert cmd in r.stdout


@pytest.mark.skipif(not HAS_MPL or importlib.util.find_spec("tsrnn.plotting") is None,
                    reason="needs matplotlib and tsrnn.plotting")
def test_plot_long_and_predict(tmp_path, capsys):
    data = _long_csv(tmp_path / "long.csv")
    model = tmp_path / "m.tsrnn"
    assert main(["forecast", str(data), "--id-col", "id", "--horizon", "3", "--coverage", "0.8",
                 "-o", str(tmp_path / "fc.csv"), "--plot", str(tmp_path / "a.png"),
                 "--save", str(model)] + TINY) == 0
    assert main(["predict", "--model", str(model), "-o", str(tmp_path / "p.csv"),
                 "--plot", str(tmp_path / "b.png"), "--quiet"]) == 0
    assert (tmp_path / "a.png").stat().st_size > 0 and (tmp_path / "b.png").stat().st_size > 0
    capsys.readouterr()

"""The ``tsrnn`` command line: ``demo``, ``forecast``, ``detect`` and ``predict``.

Installed as the console script ``tsrnn`` (also ``python -m tsrnn``)::

    tsrnn demo                                   # bundled data, accuracy + plots
    tsrnn forecast data.csv --time-col ds --target-col y --horizon 24 -o forecast.csv
    tsrnn forecast long.csv --id-col id --save model.tsrnn -o forecast.csv
    tsrnn detect data.csv --time-col timestamp --target-col value -o scores.csv
    tsrnn predict --model model.tsrnn --data new.csv -o forecast.csv

User errors (missing files, bad CSVs, missing columns, unparsable dates,
invalid options) print one line ``tsrnn: error: ...`` on stderr and exit with
status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

PROG = "tsrnn"


class UserError(Exception):
    """An error in what the user gave; printed as one line, exit status 2."""


# =================================================================== parser
def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _coverage(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), e.g. 0.9, got {text!r}")
    return value


def _threshold(text):
    if text in ("dynamic", "likelihood", "quantile"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'dynamic', 'likelihood', 'quantile' or a number, got {text!r}") from None


def _add_common(p, *, window, hidden, epochs, lr, batch, cell):
    g = p.add_argument_group("model and training")
    g.add_argument("--cell", default=cell, choices=("lstm", "gru", "elman", "rnn", "jordan", "indrnn", "ctrnn"),
                   help=f"recurrent cell (default {cell})")
    g.add_argument("--window", type=_positive_int, default=window,
                   help=f"input length: past steps the network reads (default {window})")
    g.add_argument("--hidden-size", type=_positive_int, default=hidden,
                   help=f"hidden units (default {hidden})")
    g.add_argument("--epochs", type=_positive_int, default=epochs, help=f"(default {epochs})")
    g.add_argument("--learning-rate", type=_positive_float, default=lr, help=f"(default {lr})")
    g.add_argument("--batch-size", type=_positive_int, default=batch, help=f"(default {batch})")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--freq", default=None,
                   help="frequency of the time column when it cannot be inferred (e.g. 'h', 'D', 'MS')")
    g.add_argument("--missing", default="error", choices=("error", "interpolate"),
                   help="what to do with missing values or gaps (default error)")


def _add_columns(p, multi_target=False):
    g = p.add_argument_group("CSV columns")
    g.add_argument("--time-col", default="ds", help="time column (default ds): dates or integers")
    if multi_target:
        g.add_argument("--target-col", action="append", default=None,
                       help="value column (default y); repeat for a multivariate series")
    else:
        g.add_argument("--target-col", default="y", help="value column (default y)")


def _add_output(p):
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or messages")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Recurrent neural networks for time series: forecasting and anomaly detection.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="fit a forecaster and a detector on the bundled data",
                       description="Forecast AirPassengers (last 24 months held out) and detect "
                                   "anomalies in NAB's NYC taxi series; print accuracy and write plots.")
    p.add_argument("--out", default=".", help="folder for the PNG plots (default: current folder)")
    p.add_argument("--quick", action="store_true", help="tiny settings (seconds; for tests)")
    p.add_argument("--no-plot", action="store_true", help="do not write plots")
    _add_output(p)

    p = sub.add_parser("forecast", help="fit a forecaster on a CSV and write its forecast",
                       description="Fit a forecaster on a CSV (one series, or many in long format "
                                   "with --id-col) and write the next --horizon values.")
    p.add_argument("data", help="CSV file")
    _add_columns(p)
    p.add_argument("--id-col", default=None, help="series id column (long format: many series)")
    p.add_argument("--horizon", type=_positive_int, default=24, help="steps to forecast (default 24)")
    p.add_argument("--coverage", type=_coverage, default=None,
                   help="add lower/upper columns of a prediction interval with this coverage (e.g. 0.9)")
    p.add_argument("--strategy", default="mimo", choices=("mimo", "recursive"))
    p.add_argument("--scaler", default="standard",
                   choices=("standard", "minmax", "robust", "window", "none"))
    p.add_argument("--calendar", action="store_true", help="add calendar features")
    p.add_argument("-o", "--output", default=None, help="output CSV (default: standard output)")
    p.add_argument("--plot", default=None, metavar="PNG", help="write a plot of the forecast")
    p.add_argument("--save", default=None, metavar="MODEL", help="save the fitted model (.tsrnn)")
    _add_common(p, window=24, hidden=32, epochs=100, lr=3e-3, batch=32, cell="lstm")
    _add_output(p)

    p = sub.add_parser("detect", help="score a CSV series for anomalies",
                       description="Fit an anomaly detector on a CSV series (or its first "
                                   "--train-fraction) and write time, value, score, label.")
    p.add_argument("data", help="CSV file")
    _add_columns(p, multi_target=True)
    p.add_argument("--method", default="forecast", choices=("forecast", "reconstruction", "hopfield"))
    p.add_argument("--threshold", type=_threshold, default="dynamic",
                   help="dynamic, likelihood, quantile or a number (default dynamic)")
    p.add_argument("--contamination", type=_positive_float, default=0.01,
                   help="expected anomaly fraction in the training data (threshold=quantile)")
    p.add_argument("--train-fraction", type=_fraction, default=1.0,
                   help="fit on this first fraction of the series, score all of it (default 1.0)")
    p.add_argument("--causal", action="store_true",
                   help="causal scores (each uses only the past), as in streaming")
    p.add_argument("-o", "--output", default=None, help="output CSV (default: standard output)")
    p.add_argument("--plot", default=None, metavar="PNG", help="write a plot of the scores")
    _add_common(p, window=48, hidden=32, epochs=20, lr=1e-3, batch=64, cell="gru")
    _add_output(p)

    p = sub.add_parser("predict", help="forecast with a saved model",
                       description="Load a forecaster saved with 'tsrnn forecast --save' and write "
                                   "its forecast, optionally after absorbing new observations.")
    p.add_argument("--model", required=True, help="model file (.tsrnn)")
    p.add_argument("--data", default=None,
                   help="CSV of new observations that follow the fitted data (same columns)")
    p.add_argument("--horizon", type=_positive_int, default=None,
                   help="steps to forecast (default: the model's horizon)")
    p.add_argument("--coverage", type=_coverage, default=None,
                   help="add lower/upper columns of a prediction interval")
    p.add_argument("-o", "--output", default=None, help="output CSV (default: standard output)")
    p.add_argument("--plot", default=None, metavar="PNG", help="write a plot of the forecast")
    _add_output(p)
    return parser


def _version():
    try:
        from importlib.metadata import version
        return version("tsrnn")
    except Exception:  # noqa: BLE001 - not installed
        return "unknown"


# ==================================================================== input
def _read_csv(path):
    import pandas as pd

    if not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    if os.path.isdir(path):
        raise UserError(f"{path} is a folder; give a CSV file")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty or has no columns; expected a CSV with a header line") from None
    except pd.errors.ParserError as exc:
        msg = " ".join(str(exc).split())
        raise UserError(f"{path} is not a readable CSV: {msg}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a text CSV file (cannot decode it as UTF-8)") from None
    if frame.shape[0] == 0:
        raise UserError(f"{path} has a header but no data rows")
    return frame


def _need_columns(frame, path, cols):
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        have = ", ".join(repr(str(c)) for c in frame.columns[:20])
        more = ", ..." if frame.shape[1] > 20 else ""
        raise UserError(f"{path} has no column {names}; its columns are {have}{more} "
                        f"(choose them with --time-col/--target-col/--id-col)")


def _parse_time(col, path):
    """Dates (DatetimeIndex values) or integers from a CSV column."""
    import pandas as pd

    name = col.name
    if col.isna().any():
        row = int(col.isna().to_numpy().nonzero()[0][0]) + 1
        raise UserError(f"column {name!r} of {path} has an empty time value (row {row}); "
                        f"every row needs a time")
    if pd.api.types.is_integer_dtype(col.dtype):
        return col.to_numpy()
    try:
        with _quiet_warnings():
            parsed = pd.to_datetime(col)
    except (ValueError, TypeError, OverflowError):
        with _quiet_warnings():
            try:
                coerced = pd.to_datetime(col, errors="coerce", format="mixed")
            except (ValueError, TypeError):
                coerced = pd.Series(pd.NaT, index=col.index)
        bad = coerced.isna().to_numpy().nonzero()[0]
        i = int(bad[0]) if len(bad) else 0
        raise UserError(f"column {name!r} of {path} has values that are not dates "
                        f"(row {i + 1}: {str(col.iloc[i])!r}); use ISO dates such as "
                        f"2024-01-31 or 2024-01-31 13:00, or integers") from None
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.to_numpy()


def _parse_values(col, path):
    import pandas as pd

    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("float64")
    num = pd.to_numeric(col, errors="coerce")
    bad = (num.isna() & col.notna()).to_numpy().nonzero()[0]
    if len(bad):
        i = int(bad[0])
        raise UserError(f"column {col.name!r} of {path} has values that are not numbers "
                        f"(row {i + 1}: {str(col.iloc[i])!r})")
    return num.astype("float64")


class _quiet_warnings:
    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def _series_from_csv(path, time_col, target_cols):
    """One series: a Series (one target) or a wide DataFrame on the time column."""
    import pandas as pd

    frame = _read_csv(path)
    _need_columns(frame, path, [time_col] + list(target_cols))
    index = pd.Index(_parse_time(frame[time_col], path), name=time_col)
    if len(target_cols) == 1:
        c = target_cols[0]
        return pd.Series(_parse_values(frame[c], path).to_numpy(), index=index, name=c)
    data = {c: _parse_values(frame[c], path).to_numpy() for c in target_cols}
    return pd.DataFrame(data, index=index)


def _long_from_csv(path, id_col, time_col, target_col):
    import pandas as pd

    frame = _read_csv(path)
    _need_columns(frame, path, [id_col, time_col, target_col])
    if frame[id_col].isna().any():
        row = int(frame[id_col].isna().to_numpy().nonzero()[0][0]) + 1
        raise UserError(f"column {id_col!r} of {path} has an empty series id (row {row})")
    return pd.DataFrame({
        id_col: frame[id_col].to_numpy(),
        time_col: _parse_time(frame[time_col], path),
        target_col: _parse_values(frame[target_col], path).to_numpy(),
    })


# =================================================================== output
def _forecast_frame(f, fc, iv=None):
    """Forecast (and interval) as a flat table: [id,] time, prediction[, lower, upper]."""
    import pandas as pd

    if isinstance(fc, pd.Series):
        out = pd.DataFrame({f.time_col: fc.index, "prediction": fc.to_numpy()})
        if iv is not None:
            out["lower"] = iv["lower"].to_numpy()
            out["upper"] = iv["upper"].to_numpy()
        return out
    if isinstance(fc, pd.DataFrame) and f.time_col in fc.columns:  # long
        out = fc.rename(columns={f.target_col: "prediction"}).reset_index(drop=True)
        if iv is not None:
            out["lower"] = iv["lower"].to_numpy()
            out["upper"] = iv["upper"].to_numpy()
        return out
    raise UserError(f"this model was fitted on a {type(fc).__name__} of several columns; the "
                    f"command line handles one series or a long table")


def _write_csv(frame, path, what, quiet):
    if path is None or path == "-":
        frame.to_csv(sys.stdout, index=False)
        return
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UserError(f"cannot write {path}: the folder {d} does not exist")
    frame.to_csv(path, index=False)
    if not quiet:
        print(f"wrote {what} to {path}", file=sys.stderr)


def _plotting():
    """Import tsrnn.plotting lazily, with a non-interactive backend."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        from tsrnn import plotting
    except ImportError as exc:
        raise UserError(f"plots need matplotlib and tsrnn.plotting ({exc}); install it with "
                        f"'pip install matplotlib' or leave out --plot") from None
    return plotting


def _save_plot(ax, path, quiet):
    import numpy as np

    fig = np.atleast_1d(ax).ravel()[0].figure
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UserError(f"cannot write {path}: the folder {d} does not exist")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    try:
        import matplotlib.pyplot as plt
        plt.close(fig)
    except Exception:  # noqa: BLE001
        pass
    if not quiet:
        print(f"wrote plot to {path}", file=sys.stderr)


def _train_kwargs(args):
    return dict(cell=args.cell, hidden_size=args.hidden_size, window=args.window,
                epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
                freq=args.freq, missing=args.missing, random_state=args.seed,
                verbose=not args.quiet)


# ================================================================= commands
def cmd_forecast(args):
    from tsrnn import RNNForecaster

    plotting = _plotting() if args.plot else None
    if args.id_col:
        y = _long_from_csv(args.data, args.id_col, args.time_col, args.target_col)
    else:
        y = _series_from_csv(args.data, args.time_col, [args.target_col])
    f = RNNForecaster(horizon=args.horizon, strategy=args.strategy,
                      scaler=None if args.scaler == "none" else args.scaler, calendar=args.calendar,
                      id_col=args.id_col or "unique_id", time_col=args.time_col,
                      target_col=args.target_col, **_train_kwargs(args))
    f.fit(y)
    fc = f.predict()
    iv = f.predict_interval(coverage=args.coverage) if args.coverage else None
    _write_csv(_forecast_frame(f, fc, iv), args.output, "the forecast", args.quiet)
    if args.save:
        path = f.save(args.save)
        if not args.quiet:
            print(f"saved the model to {path}", file=sys.stderr)
    if plotting is not None:
        _plot_forecast(plotting, f, fc, iv, args.plot, args.quiet)
    return 0


def _plot_forecast(plotting, f, fc, iv, path, quiet):
    """Plot the forecast of the first series after the history the model holds."""
    import pandas as pd

    idx = getattr(f, "_indices_", None)
    vals = getattr(f, "_values_", None)
    if isinstance(fc, pd.DataFrame):  # long: the first series
        sid = fc[f.id_col].iloc[0]
        fcs = fc[fc[f.id_col] == sid].set_index(f.time_col)[f.target_col]
        ivs = None if iv is None else iv[iv[f.id_col] == sid].set_index(f.time_col)[["lower", "upper"]]
        ids = list(getattr(getattr(f, "_panel_", None), "ids", [sid]))
        i = ids.index(sid) if sid in ids else 0
        title = f"{sid}: forecast"
    else:
        fcs, ivs, i, title = fc, iv, 0, "forecast"
    if idx is not None and vals is not None:
        ys = pd.Series(vals[i][:, 0], index=idx[i], name=f.target_col)
    else:
        ys = pd.Series([], dtype="float64", index=fcs.index[:0])
    ax = plotting.plot_forecast(ys, fcs, interval=ivs, title=title)
    _save_plot(ax, path, quiet)


def cmd_detect(args):
    import pandas as pd
    from tsrnn import RNNAnomalyDetector

    plotting = _plotting() if args.plot else None
    targets = args.target_col or ["y"]
    y = _series_from_csv(args.data, args.time_col, targets)
    n_train = max(1, int(round(args.train_fraction * len(y))))
    d = RNNAnomalyDetector(method=args.method, threshold=args.threshold,
                           contamination=args.contamination, **_train_kwargs(args))
    d.fit(y.iloc[:n_train])
    scores = d.decision_function(y, causal=args.causal)
    labels = d.predict(y, causal=args.causal)
    out = pd.DataFrame({args.time_col: y.index})
    if isinstance(y, pd.Series):
        out["value"] = y.to_numpy()
    else:
        for c in y.columns:
            out[c] = y[c].to_numpy()
    out["score"] = scores.to_numpy()
    out["label"] = labels.to_numpy().astype(int)
    _write_csv(out, args.output, "the scores", args.quiet)
    if not args.quiet:
        print(f"{int(out['label'].sum())} of {len(out)} timestamps labelled anomalous "
              f"(threshold {float(d.threshold_):.4g})", file=sys.stderr)
    if plotting is not None:
        ax = plotting.plot_anomalies(y, scores=scores, labels=labels, threshold=d.threshold_,
                                     title="anomaly scores")
        _save_plot(ax, args.plot, args.quiet)
    return 0


def cmd_predict(args):
    from tsrnn import RNNForecaster
    from tsrnn import load

    plotting = _plotting() if args.plot else None
    if not os.path.exists(args.model):
        raise UserError(f"no such model file: {args.model}")
    f = load(args.model)
    if not isinstance(f, RNNForecaster):
        raise UserError(f"{args.model} holds a {type(f).__name__}, not an RNNForecaster; "
                        f"'tsrnn predict' needs a model saved by 'tsrnn forecast --save'")
    y_new = None
    if args.data:
        kind = getattr(getattr(f, "_panel_", None), "kind", "series")
        if kind == "long":
            y_new = _long_from_csv(args.data, f.id_col, f.time_col, f.target_col)
        else:
            y_new = _series_from_csv(args.data, f.time_col, [f.target_col])
        f.update(y_new)
    fc = f.predict(horizon=args.horizon)
    iv = f.predict_interval(coverage=args.coverage, horizon=args.horizon) if args.coverage else None
    _write_csv(_forecast_frame(f, fc, iv), args.output, "the forecast", args.quiet)
    if plotting is not None:
        _plot_forecast(plotting, f, fc, iv, args.plot, args.quiet)
    return 0


def cmd_demo(args):
    from tsrnn import RNNAnomalyDetector, RNNForecaster, metrics
    from tsrnn.datasets import load_airline, load_nab

    plotting = None
    if not args.no_plot:
        try:
            plotting = _plotting()
        except UserError as exc:
            print(f"{PROG}: warning: {exc}; no plots will be written", file=sys.stderr)
    out_dir = args.out
    if plotting is not None and not os.path.isdir(out_dir):
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the folder {out_dir}: {exc.strerror}") from None
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    verbose = not args.quiet
    t_start = time.perf_counter()

    # ---------------------------------------------------------------- forecasting
    y = load_airline()
    h = 24
    y_train, y_test = y.iloc[:-h], y.iloc[-h:]
    if args.quick:
        fkw = dict(hidden_size=4, window=24, epochs=2, batch_size=16)
    else:
        fkw = dict(hidden_size=32, window=36, epochs=200, batch_size=16)
    say(f"[1/2] forecasting: AirPassengers, {len(y_train)} months to fit, the last {h} held out")
    f = RNNForecaster(cell="gru", horizon=h, scaler="window", calendar=True, learning_rate=3e-3,
                      random_state=0, verbose=verbose, **fkw).fit(y_train)
    fc = f.predict()
    iv = f.predict_interval(coverage=0.8)
    snaive = metrics.seasonal_naive(y_train.to_numpy(), h, 12)
    mae_rnn = metrics.mae(y_test.to_numpy(), fc.to_numpy())
    mae_naive = metrics.mae(y_test.to_numpy(), snaive)
    say(f"      MAE on the held-out 24 months: GRU {mae_rnn:.1f}, seasonal naive {mae_naive:.1f} "
        f"(thousands of passengers)")
    if plotting is not None:
        ax = plotting.plot_forecast(y, fc, interval=iv,
                                    title=f"AirPassengers: GRU forecast of the last {h} months "
                                          f"(MAE {mae_rnn:.1f} vs seasonal naive {mae_naive:.1f})")
        _save_plot(ax, os.path.join(out_dir, "airline_forecast.png"), args.quiet)

    # ---------------------------------------------------------- anomaly detection
    taxi = load_nab("nyc_taxi")
    yt = taxi.y
    n_fit = 750
    if args.quick:
        yt = yt.iloc[:2000]
        dkw = dict(hidden_size=4, window=8, epochs=2)
    else:
        dkw = dict(hidden_size=32, window=48, epochs=20)
    say(f"[2/2] anomaly detection: NYC taxi ({len(yt)} half-hours), fitted on the first {n_fit}")
    d = RNNAnomalyDetector(cell="gru", threshold="likelihood", likelihood_short_window=1,
                           refractory=200, random_state=0, verbose=verbose,
                           **dkw).fit(yt.iloc[:n_fit])
    scores = d.decision_function(yt, causal=True)
    labels = d.predict(yt, causal=True)
    alerts = yt.index[labels.to_numpy() == 1]
    windows = [(s, e) for s, e in taxi.windows if s <= yt.index[-1]]
    hit = [(s, e) for s, e in windows if ((alerts >= s) & (alerts <= e)).any()]
    in_windows = sum(int(((alerts >= s) & (alerts <= e)).sum()) for s, e in windows)
    say(f"      {len(alerts)} alerts; {in_windows} inside NAB's labelled windows; "
        f"{len(hit)} of {len(windows)} windows hit:")
    for s, e in windows:
        mark = "hit " if (s, e) in hit else "miss"
        say(f"        [{mark}] {s:%Y-%m-%d %H:%M} .. {e:%Y-%m-%d %H:%M}")
    if plotting is not None:
        ax = plotting.plot_anomalies(yt, scores=scores, labels=labels, threshold=d.threshold_,
                                     windows=windows,
                                     title=f"NYC taxi: {len(alerts)} alerts, {len(hit)} of "
                                           f"{len(windows)} labelled windows hit")
        _save_plot(ax, os.path.join(out_dir, "nyc_taxi_anomalies.png"), args.quiet)
    say(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0


COMMANDS = {"demo": cmd_demo, "forecast": cmd_forecast, "detect": cmd_detect,
            "predict": cmd_predict}


# ===================================================================== main
def _one_line(exc):
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 user error, 1 internal error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (argparse prints them)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    debug = getattr(args, "debug", False)
    try:
        from tsrnn.io import ModelFileError
    except ImportError:  # pragma: no cover
        ModelFileError = ValueError  # noqa: N806
    import pandas as pd

    user_errors = (UserError, ModelFileError, FileNotFoundError, IsADirectoryError,
                   PermissionError, pd.errors.ParserError, pd.errors.EmptyDataError,
                   ValueError, TypeError, KeyError)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except user_errors as exc:
        if debug:
            raise
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)) and exc.filename:
            msg = f"{exc.strerror or _one_line(exc)}: {exc.filename}"
        elif isinstance(exc, KeyError):
            msg = f"missing key or column {exc.args[0]!r}" if exc.args else "missing key"
        else:
            msg = _one_line(exc)
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line unless --debug
        if debug:
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)} "
              f"(run again with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

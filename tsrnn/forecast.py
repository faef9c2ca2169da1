"""RNNForecaster: pandas in, pandas out; one global recurrent model over one or many series."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd

from tsrnn._checks import check_choice, check_dtype, check_float, check_int
from tsrnn.base import RNNEstimatorMixin, check_dtype_range, check_is_fitted
from tsrnn.data import scalers as _scalers
from tsrnn.data import timeindex as _ti
from tsrnn.data.validation import check_min_length, to_panel


STRATEGIES = ("mimo", "recursive")
SCALERS = ("standard", "minmax", "robust", "window", "none")


def _conformal_quantile(scores, coverage):
    """Split-conformal quantile: the ceil((n+1) c)-th smallest score (inf if n too small)."""
    n = scores.shape[0]
    k = int(math.ceil((n + 1) * coverage))
    if k > n:
        return np.full(scores.shape[1:], np.inf)
    return np.sort(scores, axis=0)[k - 1]


class RNNForecaster(RNNEstimatorMixin):
    """Recurrent-network forecaster for one or many time series.

    Fits ONE global model over every series given (per-series scaling), and
    forecasts ``horizon`` steps after the end of each series, on the correct
    future index.

    Parameters
    ----------
    cell : {"lstm", "gru", "elman", "rnn", "jordan", "indrnn", "ctrnn"}, default "lstm"
        Recurrent cell (see :class:`tsrnn.nn.Network`; benchmarks/RESULTS.md
        compares them on one task).
    hidden_size : int, default 64
    num_layers : int, default 1
    window : int, default 48
        Input length (past steps the network reads).
    horizon : int, default 24
        Steps forecast by :meth:`predict` (the MIMO head's width).
    strategy : {"mimo", "recursive"}, default "mimo"
        ``"mimo"``: one multi-output head predicts the whole horizon at once;
        ``"recursive"``: a one-step model iterated on its own predictions.
    epochs, batch_size, learning_rate, optimizer, clip_grad_norm, lr_schedule :
        Training, as in :class:`~tsrnn.RNNRegressor`.
    loss : {"mse", "mae", "huber"}, default "mse"
        Point loss (ignored when ``quantiles`` is given: pinball loss is used).
    early_stopping : int or None, default None
        Patience in epochs on the held-out tail (see ``validation_fraction``).
    validation_fraction : float, default 0.1
        Fraction of each series' windows, taken from its END, held out of
        training.  They serve for early stopping and as the calibration set of
        the split-conformal intervals of :meth:`predict_interval`.  0 disables
        both.
    scaler : {"standard", "minmax", "robust", "window", None}, default "standard"
        Per-series scaling.  ``"window"`` normalises every window by its own last
        level (divides by it for strictly positive series, subtracts it
        otherwise, after a per-series standard scaling) -- the normalisation
        that made ES-RNN and N-BEATS strong on M4.  Outputs are always
        inverse-transformed.
    calendar : bool, default False
        Add sin/cos calendar features of the index (hour of day, day of week,
        ... depending on the frequency) as known future inputs.
    quantiles : list of float or None
        Train a pinball-loss head for these quantiles (0.5 is added if
        missing); :meth:`predict` returns the median and
        :meth:`predict_interval` reads the matching quantiles.
    freq : str or None
        Frequency of a DatetimeIndex when it cannot be inferred.
    missing : {"error", "interpolate"}, default "error"
    id_col, time_col, target_col : str
        Column names of a long DataFrame (Nixtla's ``unique_id``, ``ds``, ``y``).
    max_windows_per_series : int or None
        Keep only the most recent windows of each long series for training.
    nonlinearity, init, forget_bias, bidirectional, cell_options, dtype, device, nan_policy,
    n_jobs, random_state, verbose :
        As in :class:`~tsrnn.RNNRegressor`.  ``bidirectional=True`` is refused:
        a forecaster must be causal.

    Attributes
    ----------
    network_ : tsrnn.nn.Network
    freq_ : pandas offset, str or int
    n_series_ : int
    columns_ : list
        Names of the jointly modelled columns (one for a Series).
    loss_curve_, validation_loss_curve_, best_epoch_, n_iter_, epoch_times_
    conformal_scores_ : ndarray (n_calibration, horizon, n_columns) or None
        Absolute calibration residuals in the scaled space.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tsrnn import RNNForecaster
    >>> idx = pd.date_range("2024-01-01", periods=240, freq="h")
    >>> y = pd.Series(np.sin(2 * np.pi * np.arange(240) / 24), index=idx, name="load")
    >>> f = RNNForecaster(cell="gru", hidden_size=16, window=24, horizon=6, epochs=5,
    ...                   random_state=0).fit(y)
    >>> fc = f.predict()
    >>> fc.index[0], len(fc)
    (Timestamp('2024-01-11 00:00:00'), 6)
    """

    def __init__(self, cell="lstm", hidden_size=64, num_layers=1, window=48, horizon=24,
                 strategy="mimo", epochs=100, batch_size=64, learning_rate=1e-3, optimizer="adam",
                 loss="mse", clip_grad_norm=None, lr_schedule=None, early_stopping=None,
                 validation_fraction=0.1, scaler="standard", calendar=False, quantiles=None,
                 freq=None, missing="error", id_col="unique_id", time_col="ds", target_col="y",
                 max_windows_per_series=None, nonlinearity=None, init="pytorch",
                 forget_bias=None, bidirectional=False, dtype="float32", device="cpu",
                 nan_policy="raise", n_jobs=None, random_state=None, verbose=False,
                 cell_options=None):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.window = window
        self.horizon = horizon
        self.strategy = strategy
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.loss = loss
        self.clip_grad_norm = clip_grad_norm
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scaler = scaler
        self.calendar = calendar
        self.quantiles = quantiles
        self.freq = freq
        self.missing = missing
        self.id_col = id_col
        self.time_col = time_col
        self.target_col = target_col
        self.max_windows_per_series = max_windows_per_series
        self.nonlinearity = nonlinearity
        self.init = init
        self.forget_bias = forget_bias
        self.bidirectional = bidirectional
        self.dtype = dtype
        self.device = device
        self.nan_policy = nan_policy
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.cell_options = cell_options

    # ================================================================ checks
    def _validate_params(self):
        if self.bidirectional:
            raise ValueError(
                "bidirectional=True is not allowed for RNNForecaster: a forecast at time t may only "
                "use data up to t, and a backward-running layer would read the future; use "
                "bidirectional=False (bidirectional encoders belong to RNNAnomalyDetector's "
                "reconstruction mode or RNNRegressor)")
        self._validate_common()
        check_int(self.window, "window", minimum=1)
        check_int(self.horizon, "horizon", minimum=1)
        check_choice(self.strategy, "strategy", STRATEGIES)
        check_choice(self.loss, "loss", ("mse", "mae", "huber"))
        scaler = "none" if self.scaler is None else self.scaler
        check_choice(scaler, "scaler", SCALERS)
        check_choice(self.missing, "missing", ("error", "interpolate"))
        check_int(self.max_windows_per_series, "max_windows_per_series", minimum=1, allow_none=True)
        self._quantiles_ = self._check_quantiles(self.quantiles)

    @staticmethod
    def _check_quantiles(quantiles):
        if quantiles is None:
            return None
        try:
            q = np.asarray(quantiles, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise TypeError(f"quantiles must be a list of numbers in (0, 1), got {quantiles!r}") from None
        if q.size == 0 or not np.all((q > 0) & (q < 1)):
            raise ValueError(f"quantiles must be numbers strictly between 0 and 1, got {quantiles!r}")
        q = np.unique(np.round(np.concatenate([q, [0.5]]), 12))
        return q

    # ========================================================= feature plumbing
    @property
    def _n_out_steps(self):
        return self.horizon if self.strategy == "mimo" else 1

    def _scaler_kind(self):
        return "none" if self.scaler is None else self.scaler.lower()

    def _fit_scalers(self, values_list):
        kind = self._scaler_kind()
        scalers, positive = [], []
        for v in values_list:
            pos = bool(np.all(v > 0))
            if kind == "window":
                sc = _scalers.make_scaler(None if pos else "standard")
            else:
                sc = _scalers.make_scaler(None if kind == "none" else kind)
            sc.fit(v)
            scalers.append(sc)
            positive.append(pos)
        return scalers, positive

    def _covariates(self, index, X_values):
        """Calendar features and user covariates for the timestamps of ``index``."""
        parts = []
        if self.calendar:
            cal, _ = _ti.calendar_features(index, self.freq_)
            parts.append(cal)
        if X_values is not None:
            parts.append((X_values - self._x_loc_) / self._x_scale_)
        if not parts:
            return np.zeros((len(index), 0))
        return np.concatenate(parts, axis=1)

    def _level_window(self):
        """Steps averaged into a window's level (``scaler="window"``): one
        seasonal period of the frequency when it fits in the window, else the
        whole window.  (The last value alone was tried on M4 Hourly and was
        worse: see benchmarks/RESULTS.md.)"""
        m = _ti.seasonal_period(self.freq_) if not isinstance(self.freq_, (int, np.integer)) else 1
        return m if 1 < m <= self.window else self.window

    def _window_norm(self, xv, positive, level):
        """Normalise values ``xv`` (..., d) by per-window ``level`` (n, d): the
        relative (positive series) or absolute deviation from the level, divided
        by one global spread ``_win_scale_`` measured on the training windows."""
        z = xv / level - 1.0 if positive else xv - level
        return z / self._win_scale_

    def _window_denorm(self, z, positive, level):
        z = z * self._win_scale_
        if positive:
            return (z + 1.0) * level
        return z + level

    def _window_width(self, width, positive, level):
        """A width in the window-normalised space -> the series-scaled space."""
        width = width * self._win_scale_
        return width * level if positive else width

    def _build_windows(self, vs, cov, ends, positive):
        """Input windows ending at positions ``ends`` (inclusive) of one series.

        ``vs`` (n, d): scaled values; ``cov`` (n + extra, c): covariates of every
        timestamp (they may extend past the values, for forecasting).  Returns
        X (len(ends), T, I) and the per-window levels (len(ends), d) (None
        unless the window scaler is used).
        """
        rows = (ends - self.window + 1)[:, None] + np.arange(self.window)[None, :]
        return self._assemble(vs[rows], cov, ends, positive)

    def _assemble(self, win, cov, ends, positive):
        """Windows from explicit recent values ``win`` (m, w, d) whose last step
        sits at series positions ``ends`` (covariates are looked up there)."""
        w = self.window
        m, _, d = win.shape
        c = cov.shape[1]
        mimo = self.strategy == "mimo"
        T = w + (self.horizon if (mimo and c > 0) else 0)
        X = np.zeros((m, T, self._input_size_))
        X[:, :w, :d] = win
        level = None
        if self._scaler_kind() == "window":
            k = self._level_steps_
            level = win[:, -k:, :].mean(axis=1) if k > 1 else win[:, -1, :].copy()
            if positive:
                level = np.where(level > 0, level, 1.0)
            X[:, :w, :d] = self._window_norm(win, positive, level[:, None, :])
        if c > 0:
            rows = (ends - w + 1)[:, None] + np.arange(w)[None, :]
            if mimo:
                X[:, :w, d:d + c] = cov[rows]
                frows = ends[:, None] + 1 + np.arange(self.horizon)[None, :]
                X[:, w:, d:d + c] = cov[frows]
                X[:, w:, d + c] = 1.0
            else:
                X[:, :, d:d + c] = cov[rows + 1]
        return X, level

    def _targets(self, vs, ends, positive, level):
        k = self._n_out_steps
        rows = ends[:, None] + 1 + np.arange(k)[None, :]
        Y = vs[rows]  # (m, k, d)
        if level is not None:
            Y = self._window_norm(Y, positive, level[:, None, :])
        return Y.reshape(len(ends), -1)

    def _expand_quantiles(self, Y):
        if self._quantiles_ is None:
            return Y
        return np.repeat(Y, len(self._quantiles_), axis=1)

    def _decode(self, out, n_steps):
        """Network outputs (m, O) -> point (m, k, d) and quantiles (m, k, d, nq) or None."""
        d = self.n_columns_
        if self._quantiles_ is None:
            return out.reshape(out.shape[0], n_steps, d), None
        nq = len(self._quantiles_)
        qs = out.reshape(out.shape[0], n_steps, d, nq)
        med = int(np.argmin(np.abs(self._quantiles_ - 0.5)))
        # quantile crossing: sort along the quantile axis
        qs = np.sort(qs, axis=-1)
        return qs[..., med], qs

    # ==================================================================== fit
    def fit(self, y, X=None):
        """Fit one global model on ``y`` (Series, wide DataFrame, list/dict of
        Series or long DataFrame); ``X``: optional future-known covariates, in
        the same form as ``y`` (a DataFrame per series, indexed like it).
        Returns ``self``."""
        state = dict(self.__dict__)
        try:
            return self._fit(y, X)
        except BaseException:
            # a failed (re)fit leaves a previously fitted forecaster as it was
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, y, X=None):
        self._seed_base = None
        self._validate_params()
        panel = to_panel(y, id_col=self.id_col, time_col=self.time_col, target_col=self.target_col,
                         freq=self.freq, missing=self.missing, name="y")
        self._panel_ = panel
        self.freq_ = panel.freq
        self.n_series_ = len(panel.values)
        self.n_columns_ = panel.values[0].shape[1]
        self.columns_ = list(panel.columns)
        check_min_length(panel, self.window + self._n_out_steps, "window + horizon"
                         if self.strategy == "mimo" else "window + 1")
        self._x_hist_ = self._check_X_for(panel, X, future=False)
        self._win_scale_ = 1.0
        self._level_steps_ = self._level_window()
        self._indices_ = list(panel.indices)
        self._values_ = [v.astype(np.float64) for v in panel.values]
        self._prepare_covariate_scaling()
        self._scalers_, self._positive_ = self._fit_scalers(self._values_)
        self._n_cov_ = (len(_ti.calendar_features(self._indices_[0][:1], self.freq_)[1])
                        if self.calendar else 0) + (self._x_hist_[0].shape[1] if self._x_hist_ else 0)
        mimo = self.strategy == "mimo"
        self._input_size_ = self.n_columns_ + self._n_cov_ + (1 if mimo and self._n_cov_ > 0 else 0)
        Xtr, Ytr, Xva, Yva = self._training_windows()
        nq = 1 if self._quantiles_ is None else len(self._quantiles_)
        out_size = self._n_out_steps * self.n_columns_ * nq
        net = self._build_network(self._input_size_, out_size)
        if self._quantiles_ is not None:
            qvec = np.tile(self._quantiles_, self._n_out_steps * self.n_columns_)
            trainer = self._build_trainer(net, loss="pinball", quantiles=qvec)
        else:
            trainer = self._build_trainer(net)
        dt = check_dtype(self.dtype)
        check_dtype_range(Xtr, dt)
        check_dtype_range(Ytr, dt)
        Xtr, Ytr = Xtr.astype(dt), self._expand_quantiles(Ytr).astype(dt)
        if Xva is not None and self.early_stopping is not None:
            hist = trainer.fit_windows(Xtr, Ytr, Xva.astype(dt), self._expand_quantiles(Yva).astype(dt))
        else:
            hist = trainer.fit_windows(Xtr, Ytr)
        self.network_ = net
        self._store_history(hist)
        self.conformal_scores_ = None
        if Xva is not None and self._quantiles_ is None:
            out = net.forward(Xva.astype(dt)).astype(np.float64)
            k = self._n_out_steps
            pred, _ = self._decode(out, k)
            self.conformal_scores_ = np.abs(Yva.reshape(len(Yva), k, self.n_columns_) - pred)
        return self

    def _prepare_covariate_scaling(self):
        if self._x_hist_:
            allx = np.concatenate(self._x_hist_, axis=0)
            self._x_loc_ = allx.mean(axis=0)
            sd = allx.std(axis=0)
            self._x_scale_ = np.where(sd > 0, sd, 1.0)
        else:
            self._x_loc_ = self._x_scale_ = None

    def _series_windows(self, i, ends):
        vs = self._scalers_[i].transform(self._values_[i])
        cov = self._covariates(self._indices_[i], self._x_hist_[i] if self._x_hist_ else None)
        X, level = self._build_windows(vs, cov, ends, self._positive_[i])
        Y = self._targets(vs, ends, self._positive_[i], level)
        return X, Y

    def _training_windows(self):
        Xs, Ys, Xv, Yv = [], [], [], []
        k = self._n_out_steps
        frac = check_float(self.validation_fraction, "validation_fraction", minimum=0.0, maximum=0.9)
        for i, v in enumerate(self._values_):
            n = v.shape[0]
            # windows need covariates one step past their end (recursive) or
            # `horizon` steps past (mimo) -- both lie inside the history here
            last_end = n - k - 1
            ends = np.arange(self.window - 1, last_end + 1)
            if self.max_windows_per_series is not None:
                ends = ends[-self.max_windows_per_series:]
            n_val = int(math.floor(frac * len(ends))) if frac > 0 else 0
            if n_val == 0 and frac > 0 and len(ends) >= 4:
                n_val = 1
            X, Y = self._series_windows(i, ends)
            if n_val:
                Xs.append(X[:-n_val]); Ys.append(Y[:-n_val])
                Xv.append(X[-n_val:]); Yv.append(Y[-n_val:])
            else:
                Xs.append(X); Ys.append(Y)
        Xtr = np.concatenate(Xs)
        Ytr = np.concatenate(Ys)
        if self._scaler_kind() == "window" and len(Xtr):
            # one global spread of the window-normalised values (inputs)
            d = self.n_columns_
            spread = float(np.std(Xtr[:, :self.window, :d]))
            if spread > 0 and np.isfinite(spread):
                self._win_scale_ = spread
                Xtr[:, :self.window, :d] /= spread
                Ytr /= spread
                for a in Xv:
                    a[:, :self.window, :d] /= spread
                for a in Yv:
                    a /= spread
        if len(Xtr) == 0:
            raise ValueError("no training windows left after holding out the validation tail; "
                             "lower validation_fraction or window")
        if Xv:
            return Xtr, Ytr, np.concatenate(Xv), np.concatenate(Yv)
        return Xtr, Ytr, None, None

    # ============================================================= covariates
    def _check_X_for(self, panel, X, future, horizon=None):
        """Validate covariates and align them to the timestamps they describe.

        At fit/update (``future=False``) the rows must cover every timestamp of
        each series of ``panel``; at predict (``future=True``) the ``horizon``
        timestamps after the end of each fitted series.  Frames indexed like
        ``y`` (or long frames with ``time_col``) are aligned by timestamp; frames
        with a plain RangeIndex starting at 0 (or arrays) are taken row by row.
        Returns a list of (n_i, p) float arrays, or None.
        """
        has_x = bool(getattr(self, "_x_hist_", None))
        if X is None:
            if future and has_x:
                raise ValueError("this forecaster was fitted with covariates X; pass X for the "
                                 f"forecast horizon (the {horizon} future timestamps of every series)")
            return None
        if future and not has_x:
            raise ValueError("X was given, but the forecaster was fitted without covariates; "
                             "refit with X or drop it")
        frames = self._split_X(X, panel)
        out = []
        for i, frame in enumerate(frames):
            sid = panel.ids[i]
            target = self._future(i, horizon) if future else panel.indices[i]
            arr = self._align_X(frame, target, sid)
            out.append(arr)
        p = {a.shape[1] for a in out}
        if len(p) != 1:
            raise ValueError(f"X has different numbers of columns across series: {sorted(p)}")
        if future and out[0].shape[1] != self._x_hist_[0].shape[1]:
            raise ValueError(f"X has {out[0].shape[1]} columns, but the forecaster was fitted with "
                             f"{self._x_hist_[0].shape[1]}")
        return out

    def _align_X(self, frame, target, sid):
        n = len(target)
        idx = getattr(frame, "index", None)
        positional = idx is None or (
            isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1
            and not isinstance(target, pd.RangeIndex))
        if positional:
            arr = frame.to_numpy(dtype=np.float64) if hasattr(frame, "to_numpy") else np.asarray(frame, float)
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.shape[0] < n:
                raise ValueError(f"X for series {sid!r} has {arr.shape[0]} rows; {n} are needed "
                                 f"(one per timestamp {target[0]} .. {target[-1]})")
            arr = arr[:n]
        else:
            if isinstance(frame, pd.Series):
                frame = frame.to_frame()
            where = frame.index.get_indexer(target) if frame.index.is_unique else None
            if where is None:
                raise ValueError(f"X for series {sid!r} has duplicated timestamps")
            if (where < 0).any():
                missing = list(target[where < 0][:3])
                raise ValueError(f"X for series {sid!r} lacks {int((where < 0).sum())} of the needed "
                                 f"timestamps (e.g. {missing}); give covariates for {target[0]} .. "
                                 f"{target[-1]}")
            try:
                arr = frame.to_numpy(dtype=np.float64)[where]
            except (TypeError, ValueError):
                raise TypeError(f"X for series {sid!r} must be numeric; convert its columns with "
                                f"pd.to_numeric") from None
        if not np.isfinite(arr).all():
            raise ValueError(f"X for series {sid!r} contains NaN or infinite values")
        return arr

    def _split_X(self, X, panel):
        """Covariates in the same form as y -> list of 2-D frames per series."""
        kind = panel.kind
        n = len(panel.values)
        if kind == "long":
            if not isinstance(X, pd.DataFrame):
                raise TypeError(f"y was a long DataFrame, so X must be one too (with {self.id_col!r} "
                                f"and {self.time_col!r} columns); got {type(X).__name__}")
            need = [self.time_col] + ([self.id_col] if panel.has_id_col else [])
            missing = [c for c in need if c not in X.columns]
            if missing:
                raise ValueError(f"X is missing the columns {missing}")
            cols = [c for c in X.columns if c not in (self.id_col, self.time_col, self.target_col)]
            out = []
            for sid in panel.ids:
                part = X[X[self.id_col] == sid] if panel.has_id_col else X
                out.append(part.set_index(self.time_col)[cols])
            return out
        if kind == "list":
            if not isinstance(X, (list, tuple)) or len(X) != n:
                raise TypeError(f"y was a list of {n} series, so X must be a list of {n} frames")
            return list(X)
        if kind == "dict":
            if not isinstance(X, dict) or set(X) != set(panel.ids):
                raise TypeError("y was a dict of series, so X must be a dict with the same keys")
            return [X[k] for k in panel.ids]
        return [X]

    # ================================================================ predict
    def _future(self, i, horizon):
        return _ti.future_index(self._indices_[i], horizon, self.freq_)

    def _forecast_scaled(self, horizon, X=None):
        """Scaled point forecasts (S, horizon, d) and quantiles (S, horizon, d, nq) or None."""
        check_is_fitted(self, "network_")
        S = self.n_series_
        x_future = self._check_X_for(self._panel_, X, future=True, horizon=horizon)
        if x_future is not None:
            for i, a in enumerate(x_future):
                if a.shape[0] < horizon:
                    raise ValueError(f"X for series {self._panel_.ids[i]!r} has {a.shape[0]} rows; "
                                     f"{horizon} are needed for horizon={horizon}")
        vs_list, cov_list = [], []
        for i in range(S):
            vs_list.append(self._scalers_[i].transform(self._values_[i]))
            fidx = self._future(i, horizon + self.horizon)
            full_idx = self._indices_[i].append(fidx)
            xh = None
            if self._x_hist_:
                pad = np.zeros((self.horizon, self._x_hist_[i].shape[1]))
                xh = np.concatenate([self._x_hist_[i], x_future[i][:horizon], pad])
                pad_needed = len(full_idx) - xh.shape[0]
                if pad_needed > 0:
                    xh = np.concatenate([xh, np.zeros((pad_needed, xh.shape[1]))])
            cov_list.append(self._covariates(full_idx, xh))
        d = self.n_columns_
        point = np.zeros((S, horizon, d))
        qs = None if self._quantiles_ is None else np.zeros((S, horizon, d, len(self._quantiles_)))
        step = self._n_out_steps
        done = 0
        first_levels = None
        while done < horizon:
            Xw, levels = [], []
            for i in range(S):
                vs = vs_list[i]
                X, level = self._build_windows(vs, cov_list[i], np.array([vs.shape[0] - 1]),
                                               self._positive_[i])
                Xw.append(X)
                levels.append(level)
            if first_levels is None:
                first_levels = [None if lv is None else lv[0] for lv in levels]
            out = self.network_.forward(np.concatenate(Xw).astype(self.network_.dtype)).astype(np.float64)
            p, q = self._decode(out, step)
            take = min(step, horizon - done)
            for i in range(S):
                pi = p[i]
                qi = None if q is None else q[i]
                if levels[i] is not None:
                    pi = self._window_denorm(pi, self._positive_[i], levels[i][0][None, :])
                    if qi is not None:
                        qi = self._window_denorm(qi, self._positive_[i], levels[i][0][None, :, None])
                point[i, done:done + take] = pi[:take]
                if qs is not None:
                    qs[i, done:done + take] = qi[:take]
                vs_list[i] = np.concatenate([vs_list[i], pi[:take]])
            done += take
        return point, qs, first_levels

    def _resolve_horizon(self, horizon):
        return self.horizon if horizon is None else check_int(horizon, "horizon", minimum=1)

    def predict(self, horizon=None, X=None):
        """Point forecasts for the ``horizon`` steps after the end of every series.

        Returns pandas in the form of the fitted ``y``: a Series, a wide
        DataFrame, a list/dict of Series, or a long DataFrame.  ``horizon``
        beyond the fitted one iterates the model on its own forecasts.
        """
        horizon = self._resolve_horizon(horizon)
        point, _, _ = self._forecast_scaled(horizon, X)
        values = [self._scalers_[i].inverse_transform(point[i]) for i in range(self.n_series_)]
        indices = [self._future(i, horizon) for i in range(self.n_series_)]
        return self._panel_.format_output(values, indices)

    def predict_interval(self, coverage=0.9, horizon=None, X=None):
        """Prediction intervals: a DataFrame with ``lower`` and ``upper``.

        Without ``quantiles``: split-conformal intervals from the absolute
        residuals of the held-out tail windows (per horizon step, pooled over
        series, in the scaled space; symmetric around the point forecast).
        With ``quantiles``: the trained quantiles ``(1 - coverage) / 2`` and
        ``(1 + coverage) / 2`` (they must be among the fitted ones).
        """
        check_is_fitted(self, "network_")
        coverage = check_float(coverage, "coverage", minimum=0.0, maximum=1.0, strict_min=True)
        if coverage >= 1.0:
            raise ValueError("coverage must be < 1")
        horizon = self._resolve_horizon(horizon)
        point, qs, levels = self._forecast_scaled(horizon, X)
        S = self.n_series_
        if self._quantiles_ is not None:
            lo_q, hi_q = (1 - coverage) / 2, (1 + coverage) / 2
            pos = []
            for qv in (lo_q, hi_q):
                hit = np.where(np.abs(self._quantiles_ - qv) < 1e-9)[0]
                if hit.size == 0:
                    raise ValueError(
                        f"coverage={coverage} needs the quantiles {lo_q:g} and {hi_q:g}, but the "
                        f"forecaster was trained for {list(self._quantiles_)}; refit with them in "
                        f"quantiles= or pick a matching coverage")
                pos.append(int(hit[0]))
            lower_s, upper_s = qs[..., pos[0]], qs[..., pos[1]]
        else:
            if self.conformal_scores_ is None or len(self.conformal_scores_) == 0:
                raise ValueError("no calibration windows: refit with validation_fraction > 0 (the "
                                 "held-out tail calibrates the conformal intervals) or with quantiles=")
            n_cal = len(self.conformal_scores_)
            if math.ceil((n_cal + 1) * coverage) > n_cal:
                need = int(math.ceil(coverage / (1 - coverage)))
                raise ValueError(
                    f"coverage={coverage} needs at least {need} calibration windows, but only {n_cal} "
                    f"were held out; raise validation_fraction, use more or longer series, lower "
                    f"coverage, or train quantiles=")
            qk = _conformal_quantile(self.conformal_scores_, coverage)  # (k, d)
            if self.strategy == "mimo":
                width = np.concatenate([qk] * int(math.ceil(horizon / qk.shape[0])))[:horizon]
                if horizon > qk.shape[0]:
                    # beyond the trained horizon the error of iterated blocks grows;
                    # widen by sqrt(number of blocks) (a random-walk assumption)
                    blocks = np.arange(horizon) // qk.shape[0] + 1
                    width = width * np.sqrt(blocks)[:, None]
            else:
                width = qk[0][None, :] * np.sqrt(np.arange(1, horizon + 1))[:, None]
            widths = np.repeat(width[None], S, axis=0)
            if self._scaler_kind() == "window":
                # calibration residuals live in the window-normalised space
                for i in range(S):
                    widths[i] = self._window_width(widths[i], self._positive_[i], levels[i][None, :])
            lower_s, upper_s = point - widths, point + widths
        lows, ups = [], []
        for i in range(S):
            lo = self._scalers_[i].inverse_transform(lower_s[i])
            up = self._scalers_[i].inverse_transform(upper_s[i])
            lows.append(np.minimum(lo, up))
            ups.append(np.maximum(lo, up))
        indices = [self._future(i, horizon) for i in range(S)]
        return self._panel_.format_output({"lower": lows, "upper": ups}, indices)

    # ====================================================== new data helpers
    def _new_panel(self, y, name, missing):
        """Validate data that continues / overlaps the fitted series."""
        if isinstance(y, (pd.Series, pd.DataFrame)) and self._panel_.kind != "long":
            got, want = _ti.index_kind(y.index), _ti.index_kind(self._indices_[0])
            if got != want:
                raise TypeError(f"{name} has a {type(y.index).__name__}, but the forecaster was "
                                f"fitted on a {type(self._indices_[0]).__name__}; give {name} the "
                                f"same kind of index as the training data")
        return to_panel(y, id_col=self.id_col, time_col=self.time_col, target_col=self.target_col,
                        freq=self.freq_, missing=missing, name=name)

    def _positions(self, panel, name):
        """Fitted position of every series of ``panel`` (one fitted series and one
        new series match whatever their ids)."""
        if self.n_series_ == 1 and len(panel.ids) == 1:
            return [0]
        pos = {sid: i for i, sid in enumerate(self._panel_.ids)}
        out = []
        for sid in panel.ids:
            if sid not in pos:
                raise ValueError(f"{name} has series {sid!r}, which was not in the data the "
                                 f"forecaster was fitted on (known: {list(pos)[:10]})")
            out.append(pos[sid])
        return out

    def _steps_until(self, i, last):
        """Steps from the end of fitted series ``i`` to timestamp ``last``."""
        end = self._indices_[i][-1]
        if isinstance(self._indices_[i], pd.RangeIndex) or isinstance(self.freq_, (int, np.integer)):
            step = int(self.freq_) if isinstance(self.freq_, (int, np.integer)) else self._indices_[i].step
            return int((last - end) // step)
        if isinstance(self._indices_[i], pd.PeriodIndex):
            return int(len(pd.period_range(end, last, freq=self.freq_)) - 1)
        return int(len(pd.date_range(end, last, freq=self.freq_)) - 1)

    # ================================================================= update
    def update(self, y_new, X_new=None, update_scaler=True):
        """Absorb new observations without refitting the network.

        ``y_new`` continues every fitted series (same form as in ``fit``; for
        many series, any subset may be given).  The next :meth:`predict` starts
        after them.  With ``update_scaler`` the per-series scalers are refitted
        on the whole history.  Returns ``self``.
        """
        check_is_fitted(self, "network_")
        panel = self._new_panel(y_new, "y_new", self.missing)
        if panel.values[0].shape[1] != self.n_columns_:
            raise ValueError(f"y_new has {panel.values[0].shape[1]} column(s); the forecaster was "
                             f"fitted on {self.n_columns_}")
        positions = self._positions(panel, "y_new")
        x_new = None
        if self._x_hist_:
            if X_new is None:
                raise ValueError("the forecaster was fitted with covariates; pass X_new for the new rows")
            x_new = self._check_X_for(panel, X_new, future=False)
        elif X_new is not None:
            raise ValueError("X_new was given, but the forecaster was fitted without covariates")
        # check everything first, so that a failed update changes nothing
        for j, i in enumerate(positions):
            _ti.continues(self._indices_[i][-1], panel.indices[j], self.freq_)
        for j, i in enumerate(positions):
            self._indices_[i] = self._indices_[i].append(panel.indices[j])
            self._values_[i] = np.concatenate([self._values_[i], panel.values[j]])
            if x_new is not None:
                self._x_hist_[i] = np.concatenate([self._x_hist_[i], x_new[j]])
            if update_scaler:
                self._scalers_[i].fit(self._values_[i])
        return self

    # ================================================================ scoring
    def score(self, y_true, X=None):
        """Negative mean absolute error of :meth:`predict` against ``y_true``
        (higher is better, scikit-learn's convention), over the timestamps of
        the forecast that ``y_true`` contains."""
        check_is_fitted(self, "network_")
        panel = self._new_panel(y_true, "y_true", "error")
        positions = self._positions(panel, "y_true")
        horizon = max(self._steps_until(i, panel.indices[j][-1]) for j, i in enumerate(positions))
        if horizon < 1:
            raise ValueError("y_true does not overlap the forecast period: it lies inside the "
                             "fitted history; score() compares forecasts with observations that "
                             "follow the end of the training data")
        point, _, _ = self._forecast_scaled(horizon, X)
        errs = []
        for j, i in enumerate(positions):
            fidx = self._future(i, horizon)
            pred = self._scalers_[i].inverse_transform(point[i])
            where = fidx.get_indexer(panel.indices[j])
            ok = where >= 0
            if not ok.any():
                raise ValueError(f"y_true for series {panel.ids[j]!r} does not overlap the forecast "
                                 f"period {fidx[0]} .. {fidx[-1]}")
            errs.append(np.abs(panel.values[j][ok] - pred[where[ok]]).ravel())
        return -float(np.mean(np.concatenate(errs)))

    # ============================================================== backtest
    def backtest(self, y=None, start=0.5, stride=1, horizon=None, refit=False, X=None):
        """Forecasts from many cutoffs, in one tidy DataFrame.

        Parameters
        ----------
        y : same forms as ``fit`` or None (the fitted history)
            Series the forecaster was fitted on keep their fitted scalers; other
            series are scaled with statistics of their data up to the first
            cutoff, so no cutoff sees its future through the scaler.
        start : float in (0, 1), int or timestamp
            First cutoff: a fraction of each series' length, a position, or a
            timestamp.  A cutoff is the last observed time of a forecast.
        stride : int
            Steps between cutoffs.
        horizon : int, default ``self.horizon``
        refit : bool
            Refit a clone on the data up to each cutoff (slow: one fit per
            cutoff).  Without it, the fitted network forecasts every cutoff in
            one batched pass.

        Returns
        -------
        DataFrame with columns ``[id], cutoff, time, [column], prediction, actual``
        (``id`` for many series, ``column`` for a wide frame).
        """
        check_is_fitted(self, "network_")
        horizon = self._resolve_horizon(horizon)
        stride = check_int(stride, "stride", minimum=1)
        if y is None:
            values, indices, ids, xh = self._values_, self._indices_, self._panel_.ids, self._x_hist_
        else:
            panel = to_panel(y, id_col=self.id_col, time_col=self.time_col,
                             target_col=self.target_col, freq=self.freq_, missing=self.missing,
                             name="y")
            values = [v.astype(np.float64) for v in panel.values]
            indices, ids = list(panel.indices), panel.ids
            if self._x_hist_ and X is None:
                raise ValueError("this forecaster was fitted with covariates; pass X (covariates for "
                                 "every timestamp of y) to backtest")
            if X is not None and not self._x_hist_:
                raise ValueError("X was given, but the forecaster was fitted without covariates")
            xh = self._check_X_for(panel, X, future=False) if self._x_hist_ else None
            # series the forecaster knows keep their fitted scalers; others get
            # scalers fitted on the data up to their first cutoff (no look-ahead)
            known = {sid: i for i, sid in enumerate(self._panel_.ids)}
            if self.n_series_ == 1 and len(ids) == 1:
                fitted_pos = [0]
            else:
                fitted_pos = [known.get(sid) for sid in ids]
        frames = []
        series_iter = enumerate(zip(values, indices, ids))
        if self.verbose:
            from tqdm.auto import tqdm

            series_iter = tqdm(series_iter, total=len(values), desc="backtest", unit="series",
                               leave=False)
        for i, (v, idx, sid) in series_iter:
            n = v.shape[0]
            c0 = self._cutoff_position(start, idx, n)
            last = n - horizon - 1
            cut = np.arange(max(c0, self.window - 1), last + 1, stride)
            if cut.size == 0:
                continue
            if refit:
                preds = self._backtest_refit(v, idx, cut, horizon, None if xh is None else xh[i])
            else:
                preds = self._backtest_batched(v, idx, cut, horizon,
                                               i if y is None else fitted_pos[i],
                                               None if xh is None else xh[i])
            for k, cpos in enumerate(cut):
                tgt = idx[cpos + 1: cpos + 1 + horizon]
                for j, col in enumerate(self.columns_):
                    fr = {"cutoff": idx[cpos], "time": tgt, "prediction": preds[k, :, j],
                          "actual": v[cpos + 1: cpos + 1 + horizon, j]}
                    if self.n_series_ > 1 or self._panel_.kind in ("list", "dict", "long"):
                        fr = {"id": sid, **fr}
                    if self.n_columns_ > 1:
                        fr["column"] = col
                    frames.append(pd.DataFrame(fr))
        if not frames:
            raise ValueError(f"no cutoff leaves {horizon} future observations; lower start or horizon")
        cols = ["id"] if "id" in frames[0] else []
        cols += ["cutoff", "time"] + (["column"] if self.n_columns_ > 1 else []) + ["prediction", "actual"]
        return pd.concat(frames, ignore_index=True)[cols]

    def _cutoff_position(self, start, idx, n):
        if isinstance(start, (float, np.floating)) and 0 < start < 1:
            return int(start * n)
        if isinstance(start, (int, np.integer)) and not isinstance(start, bool):
            return int(start) if start >= 0 else n + int(start)
        try:
            return int(idx.get_indexer([start])[0]) if idx.get_indexer([start])[0] >= 0 else int(
                np.searchsorted(idx, start))
        except (TypeError, ValueError):
            raise ValueError(f"start={start!r} is not a fraction in (0, 1), an integer position or "
                             f"a timestamp of the series") from None

    def _backtest_batched(self, v, idx, cut, horizon, fitted_i, xh):
        """All cutoffs of one series in one batched pass per model step."""
        if fitted_i is not None:
            sc, pos = self._scalers_[fitted_i], self._positive_[fitted_i]
        else:
            sc = _scalers.make_scaler(None if self._scaler_kind() in ("none",) else
                                      ("standard" if self._scaler_kind() == "window" else self._scaler_kind()))
            seen = v[:cut[0] + 1]
            pos = bool(np.all(seen > 0))
            if self._scaler_kind() == "window" and pos:
                sc = _scalers.make_scaler(None)
            sc.fit(seen)
        vs = sc.transform(v)
        fidx = _ti.future_index(idx, horizon + self.horizon, self.freq_)
        full_idx = idx.append(fidx)
        xfull = None
        if xh is not None:
            xfull = np.concatenate([xh, np.zeros((len(full_idx) - len(xh), xh.shape[1]))])
        cov = self._covariates(full_idx, xfull)
        m = len(cut)
        d = self.n_columns_
        step = self._n_out_steps
        preds = np.zeros((m, horizon, d))
        # each cutoff grows its own scaled history as the model iterates
        hist = np.zeros((m, self.window + horizon + step, d))
        w = self.window
        for k, cpos in enumerate(cut):
            hist[k, :w] = vs[cpos - w + 1: cpos + 1]
        done = 0
        ends0 = np.asarray(cut)
        while done < horizon:
            X, levels = self._assemble(hist[:, done:done + w], cov, ends0 + done, pos)
            out = self.network_.forward(X.astype(self.network_.dtype)).astype(np.float64)
            p, _ = self._decode(out, step)
            if levels is not None:
                p = self._window_denorm(p, pos, levels[:, None, :])
            take = min(step, horizon - done)
            preds[:, done:done + take] = p[:, :take]
            hist[:, w + done: w + done + take] = p[:, :take]
            done += take
        return np.stack([sc.inverse_transform(preds[k]) for k in range(m)])

    def _backtest_refit(self, v, idx, cut, horizon, xh):
        preds = []
        cuts = cut
        if self.verbose:
            from tqdm.auto import tqdm

            cuts = tqdm(cut, desc="backtest refits", unit="fit", leave=False)
        for cpos in cuts:
            est = copy.deepcopy(self)
            sub = pd.DataFrame(v[:cpos + 1], index=idx[:cpos + 1], columns=self.columns_)
            y_sub = sub.iloc[:, 0] if self.n_columns_ == 1 else sub
            if self.n_columns_ == 1:
                y_sub.name = self.columns_[0]
            Xs = None if xh is None else pd.DataFrame(xh[:cpos + 1], index=idx[:cpos + 1])
            est.set_params(verbose=False)
            est.fit(y_sub, Xs)
            Xf = None if xh is None else pd.DataFrame(xh[cpos + 1: cpos + 1 + horizon])
            point, _, _ = est._forecast_scaled(horizon, Xf)
            preds.append(est._scalers_[0].inverse_transform(point[0]))
        return np.stack(preds)

    # ================================================================= plots
    def plot(self, y=None, coverage=0.9, ax=None, **kwargs):
        """Plot the history (or ``y``), the forecast and its interval (matplotlib).

        See :func:`tsrnn.plotting.forecaster_plot`; returns the Axes.
        """
        from tsrnn.plotting import forecaster_plot

        return forecaster_plot(self, y=y, coverage=coverage, ax=ax, **kwargs)

    # ============================================================ persistence
    def save(self, path):
        """Save to ``path`` in tsrnn's versioned format (arrays + JSON, no pickle)."""
        from tsrnn.io import save_state

        check_is_fitted(self, "network_")
        meta, arrays = self._to_state()
        return save_state(path, "RNNForecaster", meta, arrays)

    def _to_state(self):
        from tsrnn.io import to_jsonable

        params = {k: v for k, v in self.get_params().items()}
        for k in ("optimizer", "lr_schedule"):
            if not (params[k] is None or isinstance(params[k], (str, dict))):
                raise TypeError(f"cannot save a forecaster whose {k} is a {type(params[k]).__name__} "
                                f"instance; pass it by name")
        if not (params["random_state"] is None or isinstance(params["random_state"], (int, np.integer))):
            params["random_state"] = None
        arrays = {"network.params": self.network_.params}
        series = []
        for i in range(self.n_series_):
            arrays[f"values.{i}"] = self._values_[i]
            if self._x_hist_:
                arrays[f"x.{i}"] = self._x_hist_[i]
            series.append({"index": _ti.index_to_json(self._indices_[i], self.freq_),
                           "scaler": self._scalers_[i].get_state(),
                           "positive": bool(self._positive_[i])})
        if self.conformal_scores_ is not None:
            arrays["conformal_scores"] = self.conformal_scores_
        if self._x_hist_:
            arrays["x_loc"] = self._x_loc_
            arrays["x_scale"] = self._x_scale_
        meta = {
            "params": params,
            "network": self.network_.get_config(),
            "panel": self._panel_.to_json(),
            "freq": _ti.freq_to_str(self.freq_),
            "series": series,
            "n_columns": self.n_columns_,
            "columns": [str(c) for c in self.columns_],
            "input_size": self._input_size_,
            "n_cov": self._n_cov_,
            "win_scale": float(self._win_scale_),
            "level_steps": int(self._level_steps_),
            "quantiles": None if self._quantiles_ is None else list(map(float, self._quantiles_)),
            "has_x": bool(self._x_hist_),
            "history": {"loss_curve": self.loss_curve_, "validation_loss_curve": self.validation_loss_curve_,
                        "best_epoch": self.best_epoch_, "n_iter": self.n_iter_,
                        "epoch_times": self.epoch_times_, "stopped_early": self.stopped_early_,
                        "interrupted": self.interrupted_, "diverged": self.diverged_},
        }
        return to_jsonable(meta, nonfinite="null"), arrays


def _full_index(d, freq):
    """The whole regular index of a stored series (its last point, length and freq)."""
    last = _ti.index_from_json(d)
    n = int(d["length"])
    if isinstance(last, pd.RangeIndex):
        step = last.step
        stop = last[0] + step
        return pd.RangeIndex(stop - n * step, stop, step, name=last.name)
    if isinstance(last, pd.PeriodIndex):
        return pd.period_range(end=last[0], periods=n, freq=last.freq, name=last.name)
    return pd.date_range(end=last[0], periods=n, freq=last.freq, name=last.name, unit=last.unit)


def _from_state(meta, arrays):
    """Rebuild a fitted RNNForecaster from :func:`tsrnn.io.load_state` output."""
    from tsrnn.data.validation import Panel
    from tsrnn.nn.network import Network

    est = RNNForecaster(**meta["params"])
    est._validate_params()
    net = Network(**meta["network"])
    p = arrays["network.params"]
    if p.shape != net.params.shape:
        raise ValueError(f"network parameters have shape {p.shape}, expected {net.params.shape}")
    net.params[:] = p
    est.network_ = net
    est.freq_ = _ti.freq_from_str(meta["freq"])
    est.n_series_ = len(meta["series"])
    est.n_columns_ = int(meta["n_columns"])
    est.columns_ = list(meta["columns"])
    est._input_size_ = int(meta["input_size"])
    est._n_cov_ = int(meta["n_cov"])
    est._win_scale_ = float(meta["win_scale"])
    est._level_steps_ = int(meta["level_steps"])
    est._quantiles_ = None if meta["quantiles"] is None else np.asarray(meta["quantiles"])
    est._values_ = [arrays[f"values.{i}"] for i in range(est.n_series_)]
    est._indices_ = [_full_index(s["index"], est.freq_) for s in meta["series"]]
    est._panel_ = Panel.from_json(meta["panel"], est._values_, est._indices_, est.freq_)
    est._scalers_ = [_scalers.scaler_from_state(s["scaler"]) for s in meta["series"]]
    est._positive_ = [bool(s["positive"]) for s in meta["series"]]
    est._x_hist_ = [arrays[f"x.{i}"] for i in range(est.n_series_)] if meta["has_x"] else None
    est._x_loc_ = arrays.get("x_loc")
    est._x_scale_ = arrays.get("x_scale")
    est.conformal_scores_ = arrays.get("conformal_scores")
    h = meta["history"]
    est.loss_curve_ = h["loss_curve"]
    est.validation_loss_curve_ = h["validation_loss_curve"]
    est.best_epoch_ = h["best_epoch"]
    est.n_iter_ = h["n_iter"]
    est.epoch_times_ = h["epoch_times"]
    est.stopped_early_ = h["stopped_early"]
    est.interrupted_ = h["interrupted"]
    est.diverged_ = h["diverged"]
    est.device_ = "cpu"
    return est


__all__ = ["RNNForecaster"]

"""Cut a time series into (X, y) windows for :class:`~tsrnn.RNNRegressor`, and scale them.

:class:`WindowTransformer` is a stateless scikit-learn style helper: ``transform``
turns a series into input windows, ``transform_xy`` (alias ``make_xy``) into input
windows and the ``horizon`` values that follow each one.

The idiom
---------
A scikit-learn ``Pipeline`` only transforms ``X``: a step cannot create or reshape
``y``.  Cut the windows once, outside the pipeline, then put the scaling and the
regressor in it; everything model selection needs (``clone``, ``GridSearchCV`` with
``TimeSeriesSplit``) then works on the windows, whose order is the series' order::

    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
    from sklearn.pipeline import make_pipeline
    from tsrnn import RNNRegressor
    from tsrnn.data.windows import WindowScaler, WindowTransformer

    wt = WindowTransformer(48, horizon=24)
    X, Y = wt.transform_xy(series)            # (n, 48), (n, 24)
    pipe = make_pipeline(WindowScaler(), RNNRegressor(hidden_size=32, random_state=0))
    search = GridSearchCV(pipe, {"rnnregressor__hidden_size": [16, 32]},
                          cv=TimeSeriesSplit(n_splits=3)).fit(X, Y)
    next_24 = search.predict(wt.transform(series)[-1:])   # the last window -> forecast

``WindowScaler`` standardises every lag with ONE mean and standard deviation per
feature (all lags are the same variable), learnt on the training windows, and works
on 2-D ``(n, window)`` and 3-D ``(n, window, n_features)`` X.  Scikit-learn's
``StandardScaler`` also works on 2-D windows (one mean per lag column).  Targets are
not scaled by a pipeline; wrap the regressor in
``sklearn.compose.TransformedTargetRegressor(regressor, transformer=StandardScaler())``
when the series' level is far from 0.

Note that overlapping windows of one series are not independent samples: use
``TimeSeriesSplit`` (``gap=horizon`` avoids target overlap between folds), never
a shuffled ``KFold``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["WindowTransformer", "WindowScaler"]


def _check_pos_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _as_series_array(y, name="y"):
    """1-D series -> (n, 1); 2-D (n, features) kept.  Float64, finite."""
    if y is None:
        raise ValueError(f"{name} is required, got None")
    if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray):
        y = y.to_numpy()
    arr = np.asarray(y)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}; convert it with "
                        f"pd.to_numeric or .astype(float) first")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise ValueError(f"{name} must be a 1-D series or a 2-D (n_timesteps, n_features) array, "
                         f"got shape {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; impute them (e.g. "
                         f"interpolate) before cutting windows")
    return arr


class WindowTransformer(TransformerMixin, BaseEstimator):
    """Sliding windows over a series: inputs for :class:`~tsrnn.RNNRegressor`.

    Stateless (``fit`` only validates the parameters).

    Parameters
    ----------
    window : int
        Steps per input window.
    horizon : int, default 1
        Values that follow each window in the targets of :meth:`transform_xy`.
    step : int, default 1
        Stride between the starts of consecutive windows.
    target : int, default 0
        For 2-D (n_timesteps, n_features) input, the column whose future values
        are the targets.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.data.windows import WindowTransformer
    >>> X, Y = WindowTransformer(3, horizon=2).transform_xy(np.arange(7.0))
    >>> X.shape, Y.shape
    ((3, 3), (3, 2))
    >>> X[0], Y[0]
    (array([0., 1., 2.]), array([3., 4.]))
    >>> WindowTransformer(3).transform(np.arange(5.0))[-1]
    array([2., 3., 4.])
    """

    def __init__(self, window, horizon=1, step=1, target=0):
        self.window = window
        self.horizon = horizon
        self.step = step
        self.target = target

    def _validate(self):
        return (_check_pos_int(self.window, "window"), _check_pos_int(self.horizon, "horizon"),
                _check_pos_int(self.step, "step"))

    def fit(self, X=None, y=None):
        """Validate the parameters; returns ``self`` (nothing is learnt)."""
        self._validate()
        return self

    def _windows(self, arr, n_windows, window, step):
        from numpy.lib.stride_tricks import sliding_window_view

        # (n - window + 1, n_features, window) -> (n_windows, window, n_features)
        view = sliding_window_view(arr, window, axis=0)[: (n_windows - 1) * step + 1 : step]
        return np.ascontiguousarray(np.swapaxes(view, 1, 2))

    def _squeeze(self, W, univariate):
        return W[:, :, 0] if univariate else W

    def transform(self, X):
        """Every input window of ``X`` (the last one ends at the last value).

        Returns ``(n_windows, window)`` for a 1-D series, ``(n_windows, window,
        n_features)`` for 2-D input, with ``n_windows = (n - window) // step + 1``
        counted back from the END of the series (so the last window is the most
        recent one, the input of a forecast).
        """
        window, _, step = self._validate()
        univariate = np.ndim(X.to_numpy() if hasattr(X, "to_numpy") else X) == 1
        arr = _as_series_array(X, "X")
        n = arr.shape[0]
        if n < window:
            raise ValueError(f"X has {n} time steps, fewer than window={window}; pass a longer "
                             f"series or a smaller window")
        n_windows = (n - window) // step + 1
        start = n - window - (n_windows - 1) * step
        return self._squeeze(self._windows(arr[start:], n_windows, window, step), univariate)

    def transform_xy(self, y):
        """Input windows and the ``horizon`` values following each.

        Returns ``(X, Y)``: ``X`` as in :meth:`transform` (windows that have a full
        horizon after them, from the START of the series); ``Y`` of shape
        ``(n_windows,)`` when ``horizon == 1``, else ``(n_windows, horizon)``.
        For 2-D input the targets come from column ``target``.
        """
        window, horizon, step = self._validate()
        univariate = np.ndim(y.to_numpy() if hasattr(y, "to_numpy") else y) == 1
        arr = _as_series_array(y, "y")
        n, n_feat = arr.shape
        if isinstance(self.target, bool) or not isinstance(self.target, numbers.Integral) \
                or not -n_feat <= self.target < n_feat:
            raise ValueError(f"target={self.target!r} is not a column of an input with "
                             f"{n_feat} feature(s)")
        if n < window + horizon:
            raise ValueError(f"the series has {n} time steps; window={window} + horizon={horizon} "
                             f"need at least {window + horizon}")
        n_windows = (n - window - horizon) // step + 1
        X = self._windows(arr, n_windows, window, step)
        Y = self._windows(arr[window:, [self.target]], n_windows, horizon, step)[:, :, 0]
        if horizon == 1:
            Y = Y[:, 0]
        return self._squeeze(X, univariate), np.ascontiguousarray(Y)

    make_xy = transform_xy

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.one_d_array = True
        return tags


class WindowScaler(TransformerMixin, BaseEstimator):
    """Standardise windows of shape ``(n, window)`` or ``(n, window, n_features)``.

    One mean and one standard deviation per feature, over every sample and every
    lag of the training windows (lags are the same variable at different times,
    so they share their scale); with ``per_window=True`` each window is instead
    standardised by its own statistics (stateless; useful when series levels drift).

    Parameters
    ----------
    with_mean, with_std : bool, default True
    per_window : bool, default False

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_step_features,)
        (Global mode only.)

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.data.windows import WindowScaler
    >>> X = np.arange(12.0).reshape(4, 3)
    >>> Z = WindowScaler().fit_transform(X)
    >>> round(float(Z.mean()), 12), round(float(Z.std()), 12)
    (0.0, 1.0)
    """

    def __init__(self, with_mean=True, with_std=True, per_window=False):
        self.with_mean = with_mean
        self.with_std = with_std
        self.per_window = per_window

    @staticmethod
    def _as3(X):
        if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
            X = X.to_numpy()
        arr = np.asarray(X)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) \
                or np.issubdtype(arr.dtype, np.complexfloating):
            raise ValueError(f"X must be real numeric, got dtype {arr.dtype}")
        if arr.ndim not in (2, 3):
            raise ValueError(f"X must be 2-D (n, window) or 3-D (n, window, n_features), got shape "
                             f"{arr.shape}. Reshape your data, or cut windows with WindowTransformer")
        out_dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64
        arr = np.asarray(arr, dtype=out_dtype)
        return (arr[:, :, None] if arr.ndim == 2 else arr), arr.ndim == 2

    def fit(self, X, y=None):
        X3, _ = self._as3(X)
        self.n_features_in_ = X3.shape[1]
        if self.per_window:
            self.mean_ = self.scale_ = None
            return self
        mean = X3.mean(axis=(0, 1)) if self.with_mean else np.zeros(X3.shape[2])
        scale = X3.std(axis=(0, 1)) if self.with_std else np.ones(X3.shape[2])
        self.mean_ = mean
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X3, two_d = self._as3(X)
        if X3.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X3.shape[1]} features, but WindowScaler is expecting "
                             f"{self.n_features_in_} features as input (window length)")
        if self.per_window:
            mean = X3.mean(axis=1, keepdims=True) if self.with_mean else 0.0
            std = X3.std(axis=1, keepdims=True) if self.with_std else 1.0
            if self.with_std:
                std = np.where(std > 0, std, 1.0)
            Z = (X3 - mean) / std
        else:
            Z = (X3 - self.mean_) / self.scale_
        Z = Z.astype(X3.dtype, copy=False)
        return Z[:, :, 0] if two_d else Z

    def inverse_transform(self, X):
        check_is_fitted(self, "n_features_in_")
        if self.per_window:
            raise ValueError("per_window=True is not invertible (each window's statistics are "
                             "discarded); use per_window=False")
        X3, two_d = self._as3(X)
        Z = X3 * self.scale_ + self.mean_
        return Z[:, :, 0] if two_d else Z

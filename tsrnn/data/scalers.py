"""Per-series scalers for (n, d) arrays, and per-window normalisation.

Every scaler is affine, ``z = (x - center_) / scale_`` column by column, with a state made
of plain lists so that it can be stored in JSON. A zero (or non-finite) scale, as for a
constant series, is replaced by 1.0: no division by zero, no NaN.

Examples
--------
>>> import numpy as np
>>> from tsrnn.data.scalers import make_scaler, scaler_from_state
>>> x = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0]])
>>> s = make_scaler("minmax").fit(x)
>>> s.transform(x)
array([[-1.,  0.],
       [ 0.,  0.],
       [ 1.,  0.]])
>>> s2 = scaler_from_state(s.get_state())
>>> np.allclose(s2.inverse_transform(s2.transform(x)), x)
True
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "StandardScaler",
    "MinMaxScaler",
    "RobustScaler",
    "IdentityScaler",
    "make_scaler",
    "scaler_from_state",
    "fit_per_series",
    "window_level",
    "positive_columns",
    "window_normalize",
    "window_denormalize",
]

_EPS = np.finfo(np.float64).eps


def _as_2d(x, what="x"):
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{what} must be numeric, got an array of dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 1-D (n,) or 2-D (n, d), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"cannot fit a scaler on an empty array (shape {arr.shape})")
    return arr


def _safe(center, scale):
    center = np.where(np.isfinite(center), center, 0.0)
    tiny = 10.0 * _EPS * np.maximum(1.0, np.abs(center))
    scale = np.where(np.isfinite(scale) & (scale > tiny), scale, 1.0)
    return center.astype(np.float64), scale.astype(np.float64)


def _out_dtype(arr):
    return arr.dtype if arr.dtype in (np.float32, np.float64) else np.dtype(np.float64)


class BaseScaler:
    """Affine per-column scaler: ``transform(x) = (x - center_) / scale_``."""

    name = None

    def __init__(self):
        self.center_ = None
        self.scale_ = None

    def _stats(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, x):
        """Learn per-column statistics of ``x`` (n,) or (n, d); NaNs are ignored."""
        arr = _as_2d(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            center, scale = self._stats(arr)
        self.center_, self.scale_ = _safe(np.asarray(center, dtype=np.float64),
                                          np.asarray(scale, dtype=np.float64))
        return self

    def _params(self, x):
        if self.center_ is None:
            raise RuntimeError(
                f"this {type(self).__name__} is not fitted yet; call fit(x) before transform"
            )
        arr = np.asarray(x)
        d = self.center_.shape[0]
        if arr.ndim == 0 or (arr.shape[-1] != d and not (arr.ndim == 1 and d == 1)):
            raise ValueError(
                f"the scaler was fitted on {d} column(s) but got an array of shape {arr.shape}"
            )
        dt = _out_dtype(arr)
        return arr, self.center_.astype(dt), self.scale_.astype(dt), dt

    def transform(self, x):
        """Scale ``x`` of shape (..., d) (or (n,) when d == 1); keeps float32/float64.

        Values too large for the dtype after scaling become inf silently; the
        estimators check the scaled range (``check_dtype_range``) and raise a
        ValueError that names it."""
        arr, c, s, dt = self._params(x)
        with np.errstate(over="ignore", invalid="ignore"):
            return ((arr.astype(dt, copy=False) - c) / s).astype(dt, copy=False)

    def inverse_transform(self, x):
        """Undo :meth:`transform`."""
        arr, c, s, dt = self._params(x)
        return (arr.astype(dt, copy=False) * s + c).astype(dt, copy=False)

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def get_state(self) -> dict:
        """JSON-able state: ``{"name", "center", "scale"}`` (lists of floats, or None)."""
        return {
            "name": self.name,
            "center": None if self.center_ is None else [float(v) for v in self.center_],
            "scale": None if self.scale_ is None else [float(v) for v in self.scale_],
        }

    @classmethod
    def from_state(cls, state):
        """Rebuild a scaler from :meth:`get_state` output."""
        if cls is BaseScaler:
            return scaler_from_state(state)
        if not isinstance(state, dict) or state.get("name") != cls.name:
            raise ValueError(f"not a {cls.__name__} state: {state!r}")
        obj = cls()
        if state.get("center") is not None:
            obj.center_ = np.asarray(state["center"], dtype=np.float64)
            obj.scale_ = np.asarray(state["scale"], dtype=np.float64)
            if obj.center_.shape != obj.scale_.shape or obj.center_.ndim != 1:
                raise ValueError(f"inconsistent scaler state: {state!r}")
        return obj

    def __repr__(self):
        return f"{type(self).__name__}()"


class StandardScaler(BaseScaler):
    """Zero mean, unit (population) standard deviation per column."""

    name = "standard"

    def _stats(self, x):
        return np.nanmean(x, axis=0), np.nanstd(x, axis=0)


class MinMaxScaler(BaseScaler):
    """Map ``[min, max]`` of each column to ``[-1, 1]``."""

    name = "minmax"

    def _stats(self, x):
        lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
        return (hi + lo) / 2.0, (hi - lo) / 2.0


class RobustScaler(BaseScaler):
    """Subtract the median, divide by the inter-quartile range.

    A zero IQR (e.g. a mostly-constant series) falls back to the standard deviation, then
    to 1.0.
    """

    name = "robust"

    def _stats(self, x):
        q25, med, q75 = np.nanpercentile(x, [25.0, 50.0, 75.0], axis=0)
        iqr = q75 - q25
        _, std = _safe(med, np.nanstd(x, axis=0))
        tiny = 10.0 * _EPS * np.maximum(1.0, np.abs(med))
        return med, np.where(np.isfinite(iqr) & (iqr > tiny), iqr, std)


class IdentityScaler(BaseScaler):
    """No scaling (``scaler=None``)."""

    name = "none"

    def _stats(self, x):
        d = x.shape[1]
        return np.zeros(d), np.ones(d)


_SCALERS = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "robust": RobustScaler,
    "none": IdentityScaler,
    "identity": IdentityScaler,
}


def make_scaler(name):
    """A fresh, unfitted scaler: "standard", "minmax", "robust", or None / "none".

    Examples
    --------
    >>> make_scaler("standard"), make_scaler(None)
    (StandardScaler(), IdentityScaler())
    """
    if name is None:
        return IdentityScaler()
    if isinstance(name, BaseScaler):
        return type(name)()
    if isinstance(name, str) and name.lower() in _SCALERS:
        return _SCALERS[name.lower()]()
    if isinstance(name, str) and name.lower() == "window":
        raise ValueError(
            "scaler='window' is not a per-series scaler: it normalises every input window by "
            "its last value (see window_normalize); handle it before calling make_scaler"
        )
    raise ValueError(
        f"scaler={name!r} is not supported; use one of 'standard', 'minmax', 'robust', "
        f"'window' or None"
    )


def scaler_from_state(state):
    """Rebuild any scaler from its :meth:`~BaseScaler.get_state` dict."""
    if not isinstance(state, dict) or state.get("name") not in _SCALERS:
        raise ValueError(f"not a scaler state: {state!r}")
    return _SCALERS[state["name"]].from_state(state)


def fit_per_series(name, arrays):
    """One fitted scaler per array (e.g. ``Panel.values``)."""
    return [make_scaler(name).fit(a) for a in arrays]


# --------------------------------------------------------------------------- windows


def window_level(windows):
    """Last value of each input window, per column.

    ``windows`` of shape (batch, T, d) gives (batch, d); (batch, T) gives (batch,).
    """
    w = np.asarray(windows)
    if w.ndim not in (2, 3) or w.shape[1] == 0:
        raise ValueError(f"windows must have shape (batch, T) or (batch, T, d) with T >= 1, "
                         f"got {w.shape}")
    return np.array(w[:, -1], copy=True)


def positive_columns(values):
    """True for each column of ``values`` (n,) / (n, d) whose values are all > 0."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        return np.array([bool(np.all(v[np.isfinite(v)] > 0))])
    return np.array([bool(np.all(c[np.isfinite(c)] > 0)) for c in v.T])


def _broadcast(x, level, positive):
    x = np.asarray(x)
    dt = _out_dtype(x)
    lv = np.asarray(level, dtype=dt)
    if x.ndim == lv.ndim + 1:
        lv = np.expand_dims(lv, 1)
    elif x.ndim != lv.ndim:
        raise ValueError(f"level of shape {np.shape(level)} does not fit windows of shape {x.shape}")
    pos = np.asarray(positive, dtype=bool)
    if pos.ndim == 1 and x.ndim == 2 and pos.shape[0] == 1:
        pos = pos[0]
    mode = pos & (lv > 0)  # relative (divide) where the series is positive
    safe = np.where(mode, lv, np.ones_like(lv))
    return x.astype(dt, copy=False), lv, mode, safe, dt


def window_normalize(x, level, positive):
    """Normalise windows by their level (the last input value, see :func:`window_level`).

    For strictly positive columns (``positive`` True) the result is the relative change
    ``x / level - 1``; otherwise the difference ``x - level``. Both are 0 at the level.

    Parameters
    ----------
    x : ndarray (batch, T, d) or (batch, T)
    level : ndarray (batch, d) or (batch,)
    positive : bool or ndarray of bool (d,)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[2.0, -1.0], [4.0, 1.0]]])          # batch 1, T 2, d 2
    >>> lv = window_level(x)
    >>> z = window_normalize(x, lv, positive=[True, False])
    >>> z
    array([[[-0.5, -2. ],
            [ 0. ,  0. ]]])
    >>> np.allclose(window_denormalize(z, lv, [True, False]), x)
    True
    """
    x, lv, mode, safe, dt = _broadcast(x, level, positive)
    return np.where(mode, x / safe - 1.0, x - lv).astype(dt, copy=False)


def window_denormalize(z, level, positive):
    """Inverse of :func:`window_normalize` (``z`` may have another length, e.g. the horizon)."""
    z, lv, mode, safe, dt = _broadcast(z, level, positive)
    return np.where(mode, (z + 1.0) * safe, z + lv).astype(dt, copy=False)

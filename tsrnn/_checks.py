"""Small validation helpers shared by every floor (no pandas, no sklearn)."""

from __future__ import annotations

import numbers

import numpy as np

DTYPES = {"float32": np.float32, "float64": np.float64}


def check_dtype(dtype) -> np.dtype:
    """Accept "float32"/"float64" (or the numpy types) and return the np.dtype."""
    if isinstance(dtype, str) and dtype in DTYPES:
        return np.dtype(DTYPES[dtype])
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is not None and dt in (np.float32, np.float64):
        return dt
    raise ValueError(f"dtype={dtype!r} is not supported; use 'float32' (default) or 'float64'")


def check_int(value, name, minimum=None, maximum=None, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(value, name, minimum=None, maximum=None, allow_none=False,
                strict_min=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None:
        if strict_min and value <= minimum:
            raise ValueError(f"{name} must be > {minimum}, got {value}")
        if not strict_min and value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_interval(name, value, low=None, low_inclusive=True, high=None, high_inclusive=False,
                   allow_inf=False):
    """Return ``float(value)`` after checking it is a real number (finite unless
    ``allow_inf``) in the interval given by ``low``/``high`` and their inclusivity."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    ok = not np.isnan(v) and (allow_inf or np.isfinite(v))
    if ok and low is not None:
        ok = v >= low if low_inclusive else v > low
    if ok and high is not None:
        ok = v <= high if high_inclusive else v < high
    if not ok:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        left = "[" if (low is not None and low_inclusive) else "("
        right = "]" if (high is not None and high_inclusive) else ")"
        kind = "number" if allow_inf else "finite number"
        raise ValueError(f"{name} must be a {kind} in {left}{lo}, {hi}{right}, got {value!r}")
    return v


def check_choice(value, name, choices):
    """``value`` if it is one of ``choices`` (exact, case-sensitive, as in scikit-learn)."""
    if isinstance(value, str) and value in choices:
        return value
    hint = ""
    if isinstance(value, str) and value.lower() in choices:
        hint = f" (names are lower-case: did you mean {value.lower()!r}?)"
    raise ValueError(f"{name}={value!r} is not supported; use one of {sorted(choices)}{hint}")


def as_float_array(x, name, dtype, ndim=None, allow_ndim=None):
    """Convert to a C-contiguous float array of ``dtype``; reject NaN/inf and
    non-numeric data with a message that says what was received."""
    if x is None:
        raise TypeError(f"{name} is required, got None")
    if hasattr(x, "tocsr") or hasattr(x, "to_dense") and hasattr(x, "nnz"):
        raise TypeError(f"{name} is a sparse matrix ({type(x).__name__}); tsrnn needs dense input: "
                        f"pass {name}.toarray()")
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(
            f"{name} must be numeric, got an array of dtype {arr.dtype}; convert it with "
            f"pd.to_numeric or .astype(float) first"
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    allowed = allow_ndim if allow_ndim is not None else ((ndim,) if ndim is not None else None)
    if allowed is not None and arr.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{name} must be {want}, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one sample")
    src = arr
    with np.errstate(over="ignore"):
        arr = np.ascontiguousarray(arr, dtype=dtype)
    if not all_finite(arr):
        if all_finite(np.ascontiguousarray(src)):
            top = float(np.max(np.abs(src)))
            raise ValueError(
                f"{name} has values up to {top:.3g}, beyond the {np.dtype(dtype).name} range "
                f"({float(np.finfo(dtype).max):.3g}); rescale the data or pass dtype='float64'")
        bad = int(np.size(arr) - np.isfinite(arr).sum())
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s); drop or impute them "
            f"(e.g. interpolate) before fitting"
        )
    return arr


def all_finite(arr, block=1 << 20):
    """``np.isfinite(arr).all()`` in blocks, so that a long series does not need
    a full-length temporary (memory stays independent of the length)."""
    flat = arr.reshape(-1)
    for i in range(0, flat.size, block):
        if not np.isfinite(flat[i:i + block]).all():
            return False
    return True

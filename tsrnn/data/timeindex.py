"""Time indices: validation, frequencies, future indices and calendar features.

Three index types are supported everywhere in tsrnn:

- ``DatetimeIndex`` (naive or tz-aware) with a frequency that is attached, inferred with
  :func:`pandas.infer_freq`, or passed as ``freq=``;
- ``PeriodIndex`` (carries its own frequency);
- ``RangeIndex`` (or an integer index with a constant step), the frequency being the step.

All date arithmetic is delegated to pandas (:func:`pandas.date_range`,
:func:`pandas.period_range`, :func:`pandas.tseries.frequencies.to_offset`), so anchored
frequencies ("W-SUN", "ME", "QS", "B", ...) and time zones behave exactly as in pandas.

Examples
--------
>>> import pandas as pd
>>> from tsrnn.data.timeindex import check_index, future_index
>>> idx, freq = check_index(pd.date_range("2024-01-31", periods=3, freq="ME"))
>>> freq
<MonthEnd>
>>> future_index(idx, 2)
DatetimeIndex(['2024-04-30', '2024-05-31'], dtype='datetime64[...]', freq='ME')
"""

from __future__ import annotations

import datetime as _dt
import numbers
import warnings

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from pandas.tseries.offsets import BaseOffset, Tick

from tsrnn._checks import check_int

__all__ = [
    "index_kind",
    "check_index",
    "regularize",
    "future_index",
    "freq_to_str",
    "freq_from_str",
    "index_to_json",
    "index_from_json",
    "continues",
    "calendar_features",
    "seasonal_period",
    "freq_category",
]

_KIND_NAMES = {"datetime": "DatetimeIndex", "period": "PeriodIndex", "range": "RangeIndex"}

# a frequency under which more than this share of the grid would be missing is rejected
_MAX_MISSING_SHARE = 0.5

_FREQ_EXAMPLES = "'h', 'D', 'B', 'W-SUN', 'MS', 'ME', 'QS', 'QE', 'YS', 'YE', '15min'"


# --------------------------------------------------------------------------- helpers


def _infer_freq(index):
    """The frequency pandas infers for ``index`` (an offset) or None; never warns."""
    if len(index) < 3:
        return None
    with warnings.catch_warnings():
        # pandas 3 warns that infer_freq will return an offset instead of a string
        warnings.simplefilter("ignore")
        try:
            f = pd.infer_freq(index)
        except (TypeError, ValueError):
            return None
    return None if f is None else to_offset(f)


def _td_to_offset(td):
    """Offset for a Timedelta; whole days become "nD" (pandas 3 would give "24h")."""
    td = pd.Timedelta(td)
    day = pd.Timedelta(days=1)
    if td >= day and td % day == pd.Timedelta(0):
        return to_offset(f"{td // day}D")
    return to_offset(td)


def _to_offset(freq, name="freq"):
    """A pandas offset from a string / offset / timedelta, with a helpful error."""
    if isinstance(freq, BaseOffset):
        return freq
    if isinstance(freq, (pd.Timedelta, _dt.timedelta, np.timedelta64)):
        td = pd.Timedelta(freq)
        if td <= pd.Timedelta(0):
            raise ValueError(f"{name}={freq!r} must be a positive time step")
        return _td_to_offset(td)
    if isinstance(freq, str):
        try:
            off = to_offset(freq)
        except ValueError as exc:
            raise ValueError(
                f"{name}={freq!r} is not a valid pandas frequency for a DatetimeIndex ({exc}); "
                f"use an alias such as {_FREQ_EXAMPLES}"
            ) from None
        if off.n <= 0:
            raise ValueError(f"{name}={freq!r} must be a positive step")
        return off
    raise TypeError(
        f"{name} must be a pandas frequency string (e.g. {_FREQ_EXAMPLES}), a DateOffset or "
        f"a Timedelta, got {freq!r} ({type(freq).__name__})"
    )


def _period_alias(freq):
    """The offset of a period alias such as "M" (None when ``freq`` is not one)."""
    if isinstance(freq, str):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return pd.PeriodDtype(freq).freq
            except (TypeError, ValueError):
                pass
    return None


def _to_period_freq(freq, name="freq"):
    """Parse ``freq`` the way a PeriodIndex understands it ("M" and "ME" both work)."""
    off = _period_alias(freq)
    return off if off is not None else _to_offset(freq, name)


def _parse_any_freq(freq, name="freq"):
    """Offset from a datetime alias ("ME") or, failing that, a period alias ("M")."""
    try:
        return _to_offset(freq, name)
    except ValueError:
        off = _period_alias(freq)
        if off is None:
            raise
        return off


def _is_int(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def _parse_step(freq, name="freq"):
    """Positive integer step for an integer index ("2" and 2 both work)."""
    if isinstance(freq, str) and freq.strip().lstrip("+-").isdigit():
        freq = int(freq)
    if not _is_int(freq):
        raise TypeError(
            f"{name} for an integer (Range) index must be a positive integer step, "
            f"got {freq!r} ({type(freq).__name__})"
        )
    if int(freq) <= 0:
        raise ValueError(f"{name} must be a positive integer step, got {freq}")
    return int(freq)


def _freqstr(freq):
    if freq is None:
        return None
    if _is_int(freq):
        return str(int(freq))
    return getattr(freq, "freqstr", str(freq))


def index_kind(index) -> str:
    """``"datetime"``, ``"period"`` or ``"range"`` (RangeIndex / integer index).

    Examples
    --------
    >>> import pandas as pd
    >>> index_kind(pd.RangeIndex(5)), index_kind(pd.period_range("2020", periods=2, freq="Y"))
    ('range', 'period')
    """
    if isinstance(index, pd.DatetimeIndex):
        return "datetime"
    if isinstance(index, pd.PeriodIndex):
        return "period"
    if isinstance(index, pd.RangeIndex) or (
        isinstance(index, pd.Index) and pd.api.types.is_integer_dtype(index.dtype)
        and not pd.api.types.is_bool_dtype(index.dtype)
    ):
        return "range"
    raise TypeError(f"unsupported index type {type(index).__name__} (dtype {index.dtype})")


def _coerce_index(index, name):
    """Return a DatetimeIndex, PeriodIndex, RangeIndex or integer Index, or raise."""
    if not isinstance(index, pd.Index):
        try:
            index = pd.Index(index)
        except Exception:  # pragma: no cover - exotic inputs
            raise TypeError(f"the index of {name} must be a pandas Index, got {type(index).__name__}")
    if isinstance(index, pd.MultiIndex):
        raise TypeError(
            f"the index of {name} is a MultiIndex; tsrnn needs one time index per series: pass "
            f"several series as a long DataFrame (columns unique_id, ds, y), a dict or a list of Series"
        )
    if isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex, pd.RangeIndex)):
        return index
    if isinstance(index, pd.TimedeltaIndex):
        raise TypeError(
            f"the index of {name} is a TimedeltaIndex, which is not supported; convert it to "
            f"timestamps (pd.Timestamp('2000-01-01') + index) or use a RangeIndex"
        )
    dtype = index.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise TypeError(f"the index of {name} is boolean; use a DatetimeIndex, PeriodIndex or RangeIndex")
    if pd.api.types.is_integer_dtype(dtype):
        return index
    if pd.api.types.is_float_dtype(dtype):
        raise TypeError(
            f"the index of {name} holds floats ({index[:3].tolist()}...); use timestamps "
            f"(pd.to_datetime), a PeriodIndex or integer positions (.reset_index(drop=True))"
        )
    if dtype == object:
        values = [v for v in index if not (v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)))]
        if values and all(isinstance(v, (_dt.datetime, np.datetime64)) for v in values):
            tzs = {str(getattr(v, "tzinfo", None)) for v in values}
            if len(tzs) > 1:
                raise ValueError(
                    f"the index of {name} mixes time zones ({', '.join(sorted(tzs))}); convert it to "
                    f"one zone, e.g. pd.to_datetime(index, utc=True) (then .tz_convert('Europe/Paris') "
                    f"for local time)"
                )
            return pd.DatetimeIndex(index, name=index.name)
        if values and all(isinstance(v, pd.Period) for v in values):
            try:
                return pd.PeriodIndex(index, name=index.name)
            except Exception:
                raise ValueError(
                    f"the index of {name} holds Periods of different frequencies; convert them to one "
                    f"frequency (e.g. with .asfreq('M'))"
                ) from None
    if dtype == object or pd.api.types.is_string_dtype(dtype):
        example = index[0] if len(index) else ""
        raise TypeError(
            f"the index of {name} holds {type(example).__name__} values such as {example!r}, not "
            f"timestamps; convert it first, e.g. y.index = pd.to_datetime(y.index)"
        )
    raise TypeError(
        f"the index of {name} has unsupported dtype {dtype}; use a DatetimeIndex, PeriodIndex or "
        f"RangeIndex"
    )


def _check_sorted_unique(index, name):
    if not index.is_monotonic_increasing:
        bad = np.flatnonzero(np.asarray(index[1:] < index[:-1]))
        i = int(bad[0]) + 1 if bad.size else 1
        raise ValueError(
            f"the index of {name} is not sorted: {index[i]} comes after {index[i - 1]} "
            f"(position {i}); sort it with .sort_index()"
        )
    if not index.is_unique:
        dup = index[index.duplicated()]
        raise ValueError(
            f"the index of {name} has {len(dup)} duplicated timestamp(s), the first is {dup[0]}; "
            f"aggregate the duplicates first, e.g. with .groupby(level=0).mean()"
        )


def _too_sparse(n_grid, n, freq, name):
    if n_grid > n / (1.0 - _MAX_MISSING_SHARE):
        raise ValueError(
            f"freq={_freqstr(freq)!r} does not fit {name}: on that grid {n_grid - n} of "
            f"{n_grid} timestamps would be missing; check freq (or regularise the data yourself "
            f"with .asfreq() / .resample())"
        )


# --------------------------------------------------------------------------- check_index


def check_index(index, freq=None, name="y"):
    """Validate a time index and attach its frequency.

    Parameters
    ----------
    index : pandas.Index
        DatetimeIndex (naive or tz-aware), PeriodIndex, RangeIndex or an integer index.
    freq : str, DateOffset, Timedelta or int, optional
        The frequency. If None it is taken from the index (``index.freq``, the PeriodIndex
        frequency, the RangeIndex step) or inferred with :func:`pandas.infer_freq`.
    name : str
        How the data is called in error messages.

    Returns
    -------
    index : pandas.Index
        The regular index with its frequency attached (DatetimeIndex / PeriodIndex with
        ``freq`` set, or a RangeIndex). When ``freq`` is given and the data has missing
        timestamps that all lie on the ``freq`` grid, this is the *full* grid, which is then
        longer than the input: reindex the data onto it with :func:`regularize`.
    freq : DateOffset or int
        A pandas offset (DatetimeIndex, PeriodIndex) or the integer step (RangeIndex).

    Raises
    ------
    TypeError
        Unsupported index types (strings, floats, MultiIndex, ...).
    ValueError
        Empty, unsorted, duplicated, irregular index, or a ``freq`` that does not match.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04"])
    >>> full, freq = check_index(idx, freq="D")
    >>> len(full), freq
    (4, <Day>)
    >>> check_index(pd.Index([0, 2, 4]))
    (RangeIndex(start=0, stop=6, step=2), 2)
    """
    index = _coerce_index(index, name)
    n = len(index)
    if n == 0:
        raise ValueError(f"{name} is empty: it has no observations")
    kind = index_kind(index)
    if kind != "range" and index.hasnans:
        pos = int(np.flatnonzero(np.asarray(index.isna()))[0])
        raise ValueError(
            f"the index of {name} contains {int(index.isna().sum())} missing timestamp(s) (NaT), "
            f"the first at position {pos}; drop those rows first"
        )
    _check_sorted_unique(index, name)
    if kind == "range":
        return _check_int_index(index, freq, name)
    if kind == "period":
        return _check_period_index(index, freq, name)
    return _check_datetime_index(index, freq, name)


def _check_int_index(index, freq, name):
    values = np.asarray(index, dtype=np.int64)
    n = len(values)
    given = None if freq is None else _parse_step(freq)
    if n == 1:
        step = given or (index.step if isinstance(index, pd.RangeIndex) else 1)
        start = int(values[0])
        return pd.RangeIndex(start, start + step, step, name=index.name), step
    diffs = np.diff(values)
    regular = bool(np.all(diffs == diffs[0]))
    if given is None:
        if regular:
            step = int(diffs[0])
            return pd.RangeIndex(int(values[0]), int(values[-1]) + step, step, name=index.name), step
        uniq, counts = np.unique(diffs, return_counts=True)
        mode = int(uniq[np.argmax(counts)])
        i = int(np.flatnonzero(diffs != mode)[0])
        raise ValueError(
            f"{name} has an irregularly spaced integer index: the step between {values[i]} and "
            f"{values[i + 1]} is {diffs[i]}, while most steps are {mode}; pass freq={mode} to "
            f"treat the missing positions as missing values (with missing='interpolate'), or "
            f"reindex the data onto a regular range first"
        )
    step = given
    off = (values - values[0]) % step != 0
    if off.any():
        j = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"freq={step} does not match the integer index of {name}: {values[j]} is not on the "
            f"grid {values[0]}, {values[0] + step}, {values[0] + 2 * step}, ...; check freq"
        )
    grid = pd.RangeIndex(int(values[0]), int(values[-1]) + step, step, name=index.name)
    if len(grid) != n:
        if regular:
            raise ValueError(
                f"freq={step} does not match {name}, whose integer index is regularly spaced with "
                f"step {diffs[0]}; pass freq={diffs[0]} or leave freq=None"
            )
        _too_sparse(len(grid), n, step, name)
    return grid, step


def _check_period_index(index, freq, name):
    pf = index.freq
    if freq is not None:
        given = _to_period_freq(freq)
        if given != pf:
            raise ValueError(
                f"freq={_freqstr(freq)!r} does not match the PeriodIndex of {name}, whose "
                f"frequency is '{index.freqstr}'; leave freq=None (a PeriodIndex carries its "
                f"own frequency)"
            )
    n = len(index)
    ords = index.asi8
    step = pf.n
    diffs = np.diff(ords)
    if n == 1 or bool(np.all(diffs == step)):
        return index, pf
    if freq is None:
        i = int(np.flatnonzero(diffs != step)[0])
        raise ValueError(
            f"{name} has missing periods: the first gap is between {index[i]} and {index[i + 1]} "
            f"(the next period would be {index[i] + 1}); pass freq='{index.freqstr}' to treat "
            f"them as missing values (with missing='interpolate'), or reindex the data onto "
            f"pd.period_range(start, end, freq='{index.freqstr}') first"
        )
    grid = pd.period_range(index[0], index[-1], freq=pf, name=index.name)
    off = ~np.asarray(index.isin(grid))
    if off.any():  # pragma: no cover - only with exotic multiples
        raise ValueError(f"period {index[off][0]} of {name} is not on the '{index.freqstr}' grid")
    _too_sparse(len(grid), n, pf, name)
    return grid, pf


def _date_grid(start, end, freq, like):
    return pd.date_range(start=start, end=end, freq=freq, unit=like.unit, name=like.name)


def _guess_freq(index):
    """Most common frequency inferred on short windows (for error messages)."""
    n = len(index)
    w = min(n, 8)
    if w < 3:
        return None
    starts = np.unique(np.linspace(0, n - w, num=min(25, n - w + 1)).astype(int))
    counts = {}
    for s in starts:
        f = _infer_freq(index[s:s + w])
        if f is not None:
            counts[f] = counts.get(f, 0) + 1
    return max(counts, key=counts.get) if counts else None


def _irregular_datetime_error(index, name):
    diffs = index[1:] - index[:-1]
    mode = pd.Series(diffs).value_counts().index[0]
    cand = None
    for c in (_guess_freq(index), _td_to_offset(mode)):
        if c is None:
            continue
        grid = _date_grid(index[0], index[-1], c, index)
        if len(grid) and grid[0] == index[0] and bool(np.asarray(index.isin(grid)).all()):
            cand = c
            break
    if cand is not None:
        i = int(np.flatnonzero(np.asarray(grid[:len(index)] != index))[0])
        detail = (
            f"the first gap is between {index[i - 1]} and {index[i]} (at frequency "
            f"'{cand.freqstr}' the next timestamp would be {grid[i]})"
        )
    else:
        i = int(np.flatnonzero(np.asarray(diffs != mode))[0])
        detail = (
            f"the step between {index[i]} and {index[i + 1]} is {diffs[i]}, while most steps "
            f"are {mode}"
        )
    f = f"'{cand.freqstr}'" if cand is not None else "freq"
    return ValueError(
        f"{name} has irregular time steps and no frequency could be inferred: {detail}. If "
        f"timestamps are missing, pass freq={f} (the missing timestamps become missing values: "
        f"combine with missing='interpolate'), or regularise the data first with .asfreq({f})"
    )


def _check_datetime_index(index, freq, name):
    n = len(index)
    own = index.freq if index.freq is not None else _infer_freq(index)
    if freq is None:
        if own is not None:
            out = index if index.freq == own else pd.DatetimeIndex(index, freq=own)
            return out, own
        if n < 3:
            raise ValueError(
                f"cannot infer the frequency of {name} from only {n} timestamp(s); pass freq= "
                f"(for example freq='D')"
            )
        raise _irregular_datetime_error(index, name)
    given = _to_offset(freq)
    if own is not None and own == given:
        out = index if index.freq == given else pd.DatetimeIndex(index, freq=given)
        return out, given
    fs = given.freqstr
    hint = (
        f"its timestamps are regularly spaced at '{own.freqstr}': pass freq='{own.freqstr}' or "
        f"leave freq=None" if own is not None else "check freq"
    )
    grid = _date_grid(index[0], index[-1], given, index)
    if len(grid) == 0 or grid[0] != index[0]:
        raise ValueError(
            f"freq={fs!r} does not match {name}: its first timestamp {index[0]} is not on the "
            f"'{fs}' grid; {hint}"
        )
    off = ~np.asarray(index.isin(grid))
    if off.any():
        raise ValueError(
            f"freq={fs!r} does not match {name}: the timestamp {index[off][0]} is not on the "
            f"'{fs}' grid that starts at {index[0]}; {hint}"
        )
    if len(grid) != n:
        if own is not None:
            raise ValueError(f"freq={fs!r} does not match {name}: {hint}")
        _too_sparse(len(grid), n, given, name)
    return grid, given


def regularize(data, freq=None, name="y"):
    """Reindex a Series / DataFrame onto its full regular time grid.

    Timestamps missing from the index (all of which must lie on the ``freq`` grid) get
    NaN values; the returned object's index has its frequency attached.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series([1.0, 2.0, 4.0], index=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"]))
    >>> regularize(s, "D").tolist()
    [1.0, 2.0, nan, 4.0]
    """
    if not isinstance(data, (pd.Series, pd.DataFrame)):
        raise TypeError(f"{name} must be a pandas Series or DataFrame, got {type(data).__name__}")
    grid, _ = check_index(data.index, freq, name)
    if len(grid) == len(data.index):
        return data.set_axis(grid, axis=0)
    return data.reindex(grid)


# --------------------------------------------------------------------------- future index


def _int_step(index):
    if isinstance(index, pd.RangeIndex):
        return index.step
    if len(index) == 1:
        return 1
    return check_index(index, None, "index")[1]


def future_index(index, horizon, freq=None):
    """The ``horizon`` time points following ``index[-1]``.

    Parameters
    ----------
    index : DatetimeIndex, PeriodIndex or RangeIndex
        Only its last element, frequency, time zone and name are used.
    horizon : int
        Number of future time points (>= 1).
    freq : str, DateOffset or int, optional
        Overrides the frequency attached to (or inferred from) ``index``.

    Returns
    -------
    DatetimeIndex (freq set, same tz and name), PeriodIndex or RangeIndex.

    Examples
    --------
    >>> import pandas as pd
    >>> future_index(pd.date_range("2024-01-05", periods=3, freq="B"), 2)  # Sun, Mon, Tue
    DatetimeIndex(['2024-01-10', '2024-01-11'], dtype='datetime64[...]', freq='B')
    >>> future_index(pd.RangeIndex(0, 10, 2), 3)
    RangeIndex(start=10, stop=16, step=2)
    """
    horizon = check_int(horizon, "horizon", minimum=1)
    index = _coerce_index(index, "index")
    if len(index) == 0:
        raise ValueError("the index is empty; there is no last time point to continue from")
    kind = index_kind(index)
    if kind == "range":
        step = _parse_step(freq) if freq is not None else _int_step(index)
        last = int(index[-1])
        return pd.RangeIndex(last + step, last + step * (horizon + 1), step, name=index.name)
    if kind == "period":
        if freq is not None and _to_period_freq(freq) != index.freq:
            raise ValueError(
                f"freq={_freqstr(freq)!r} does not match the PeriodIndex frequency "
                f"'{index.freqstr}'; leave freq=None"
            )
        return pd.period_range(start=index[-1], periods=horizon + 1, freq=index.freq,
                               name=index.name)[1:]
    f = _to_offset(freq) if freq is not None else (
        index.freq if index.freq is not None else _infer_freq(index))
    if f is None:
        raise ValueError(
            f"cannot tell the frequency of the index (ending {index[-1]}): it has no freq "
            f"attached and none can be inferred; pass freq="
        )
    last = index[-1]
    rng = pd.date_range(start=last, periods=horizon + 1, freq=f, unit=index.unit, name=index.name)
    if rng[0] != last:
        raise ValueError(
            f"the last timestamp {last} is not on the '{f.freqstr}' grid (the next '{f.freqstr}' "
            f"timestamp is {rng[0]}); check freq"
        )
    return rng[1:]


# --------------------------------------------------------------------------- JSON


def freq_to_str(freq):
    """A JSON-able string for a frequency (offset alias, or the integer step as a string).

    Examples
    --------
    >>> freq_to_str("W"), freq_to_str(pd.offsets.MonthEnd()), freq_to_str(2), freq_to_str("M")
    ('W-SUN', 'ME', '2', 'ME')
    """
    if freq is None:
        return None
    if _is_int(freq):
        return str(int(freq))
    if isinstance(freq, str) and freq.strip().lstrip("+-").isdigit():
        return str(int(freq))
    return _parse_any_freq(freq).freqstr


def freq_from_str(s):
    """Inverse of :func:`freq_to_str`: a pandas offset, an int step, or None.

    Examples
    --------
    >>> freq_from_str("QE-DEC"), freq_from_str("2"), freq_from_str(None)
    (<QuarterEnd: startingMonth=12>, 2, None)
    """
    if s is None:
        return None
    if _is_int(s):
        return int(s)
    if isinstance(s, BaseOffset):
        return s
    if not isinstance(s, str):
        raise TypeError(f"expected a frequency string, got {s!r} ({type(s).__name__})")
    if s.strip().lstrip("+-").isdigit():
        return int(s)
    return _parse_any_freq(s)


def _pd_repr(x):
    return f"pd.{x!r}" if isinstance(x, (pd.Timestamp, pd.Period)) else repr(x)


def _json_name(name):
    if name is None or isinstance(name, (str, bool)):
        return name
    if _is_int(name):
        return int(name)
    if isinstance(name, numbers.Real):
        return float(name)
    return str(name)


def index_to_json(index, freq=None):
    """A small JSON-able dict describing the *end* of ``index``: kind, last point, freq, tz.

    Enough to rebuild the last time point with :func:`index_from_json` and continue it with
    :func:`future_index` (the full index is not stored).

    Examples
    --------
    >>> import pandas as pd
    >>> d = index_to_json(pd.date_range("2024-03-30", periods=3, freq="D", tz="Europe/Paris"))
    >>> d["kind"], d["last"], d["freq"], d["tz"]
    ('datetime', '2024-04-01T00:00:00+02:00', 'D', 'Europe/Paris')
    """
    index = _coerce_index(index, "index")
    if len(index) == 0:
        raise ValueError("cannot store an empty index")
    kind = index_kind(index)
    d = {"kind": kind, "length": int(len(index)), "name": _json_name(index.name)}
    if kind == "range":
        step = _parse_step(freq) if freq is not None else _int_step(index)
        d.update(last=int(index[-1]), freq=str(step))
    elif kind == "period":
        last = index[-1]
        d.update(last=str(last), ordinal=int(last.ordinal), freq=freq_to_str(index.freq))
    else:
        f = _to_offset(freq) if freq is not None else (
            index.freq if index.freq is not None else _infer_freq(index))
        if f is None:
            raise ValueError("the index has no frequency and none can be inferred; pass freq=")
        tz = index.tz
        d.update(last=index[-1].isoformat(), freq=freq_to_str(f),
                 tz=None if tz is None else str(tz), unit=index.unit)
    return d


def index_from_json(d):
    """Rebuild a length-1 index (the last time point, with freq, tz and name) from
    :func:`index_to_json` output.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.period_range("2024-01", periods=5, freq="M", name="month")
    >>> index_from_json(index_to_json(idx))
    PeriodIndex(['2024-05'], dtype='period[M]', name='month')
    """
    if not isinstance(d, dict) or "kind" not in d or "last" not in d:
        raise ValueError(f"not a stored index description: {d!r}")
    kind, name = d["kind"], d.get("name")
    freq = freq_from_str(d.get("freq"))
    if kind == "range":
        step = freq if freq is not None else 1
        last = int(d["last"])
        return pd.RangeIndex(last, last + step, step, name=name)
    if kind == "period":
        if "ordinal" in d:
            p = pd.Period(ordinal=int(d["ordinal"]), freq=freq)
        else:
            p = pd.Period(d["last"], freq=freq)
        return pd.PeriodIndex([p], name=name)
    if kind == "datetime":
        ts = pd.Timestamp(d["last"])
        tz = d.get("tz")
        if tz is not None:
            try:
                ts = ts.tz_convert(tz)
            except Exception:  # keep the fixed UTC offset of the ISO string
                pass
        unit = d.get("unit", "ns")
        idx = pd.date_range(start=ts, periods=1, freq=freq, unit=unit, name=name)
        if idx[0] != ts:
            raise ValueError(f"stored timestamp {ts} is not on its stored frequency {d.get('freq')!r}")
        return idx
    raise ValueError(f"unknown index kind {kind!r} in {d!r}")


# --------------------------------------------------------------------------- update


def continues(index_old_last, index_new, freq=None, name="y_new"):
    """Check that ``index_new`` starts one step after ``index_old_last`` and is regular.

    Parameters
    ----------
    index_old_last : Timestamp, Period, int or pandas.Index
        The last time point the model has seen (or an index ending with it, e.g. the output
        of :func:`index_from_json`).
    index_new : pandas.Index
        The index of the new observations.
    freq : optional
        The model's frequency (defaults to the one attached to ``index_old_last``).

    Returns
    -------
    (index, freq)
        As :func:`check_index` for ``index_new`` (the full grid when ``freq`` is given and
        timestamps are missing: reindex with :func:`regularize`).

    Examples
    --------
    >>> import pandas as pd
    >>> old = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> new = pd.date_range("2024-01-04", periods=2, freq="D")
    >>> continues(old, new)[0][0]
    Timestamp('2024-01-04 00:00:00')
    """
    old = index_old_last
    if not isinstance(old, pd.Index):
        old = pd.Index([old])
    old = _coerce_index(old, "the fitted data")
    if len(old) == 0:
        raise ValueError("the fitted index is empty")
    new = _coerce_index(index_new, name)
    ko, kn = index_kind(old), index_kind(new)
    if ko != kn:
        raise TypeError(
            f"{name} has a {_KIND_NAMES[kn]} but the model was fitted on data with a "
            f"{_KIND_NAMES[ko]}; pass new observations indexed like the training data"
        )
    if ko == "datetime":
        if (old.tz is None) != (new.tz is None):
            if old.tz is None:
                fix = "remove the time zone with .tz_localize(None)"
            else:
                fix = f"localize it with .tz_localize('{old.tz}')"
            raise ValueError(
                f"{name} has {'tz-aware' if new.tz is not None else 'tz-naive'} timestamps but the "
                f"model was fitted on "
                f"{'tz-naive ones' if old.tz is None else f'tz-aware ones ({old.tz})'}; {fix}"
            )
        if old.tz is not None:
            new = new.tz_convert(old.tz)
    if freq is None:
        if ko == "datetime":
            freq = old.freq
        elif ko == "period":
            freq = old.freq
        elif isinstance(old, pd.RangeIndex):
            freq = old.step
        elif len(old) >= 2:
            freq = _int_step(old)
    new_idx, f = check_index(new, freq, name)
    expected = future_index(old, 1, f)[0]
    first, last = new_idx[0], old[-1]
    if first != expected:
        if first <= last:
            raise ValueError(
                f"{name} overlaps the data the model has already seen: it starts at {first} but "
                f"the fitted data ends at {last}; pass only the new observations (those after "
                f"{last}), e.g. {name}[{name}.index > {_pd_repr(last)}]"
            )
        if ko == "datetime":
            between = pd.date_range(start=expected, end=first, freq=f, unit=new_idx.unit)
            missing = len(between) - 1 if len(between) and between[-1] == first else None
        elif ko == "period":
            missing = (first.ordinal - expected.ordinal) // f.n
        else:
            missing = (int(first) - int(expected)) // int(f)
        what = (f"{missing} time step(s) are missing" if missing is not None
                else f"{first} is not on the '{_freqstr(f)}' grid")
        raise ValueError(
            f"{name} does not continue the fitted data: it ends at {last}, so the next time "
            f"point is {expected}, but {name} starts at {first} ({what}); {name} must start "
            f"exactly one step after the last observation"
        )
    return new_idx, f


# --------------------------------------------------------------------------- calendar


def _resolve_freq(index, freq):
    if freq is not None:
        if isinstance(index, pd.PeriodIndex):
            return _to_period_freq(freq)
        if index_kind(index) == "range":
            return _parse_step(freq)
        return _to_offset(freq)
    if isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)) and index.freq is not None:
        return index.freq
    if isinstance(index, pd.DatetimeIndex):
        return _infer_freq(index)
    return None


def _mean_step_days(offset):
    if isinstance(offset, Tick):
        return pd.Timedelta(offset) / pd.Timedelta(days=1)
    rng = pd.date_range("2001-01-01", periods=51, freq=offset)
    return (rng[-1] - rng[0]) / pd.Timedelta(days=1) / 50.0


def freq_category(freq):
    """Coarse class of a frequency: "subdaily", "daily", "weekly", "monthly", "quarterly",
    "yearly", or None for an integer step / None.

    Business days count as "daily"; multiples fall into the class of their mean step
    ("6h" is sub-daily, "2MS" monthly, "6MS" quarterly).

    Examples
    --------
    >>> [freq_category(f) for f in ("15min", "B", "W-MON", "MS", "QE", "YS", 3)]
    ['subdaily', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', None]
    """
    if freq is None or _is_int(freq):
        return None
    if isinstance(freq, str) and freq.strip().lstrip("+-").isdigit():
        return None
    d = _mean_step_days(_parse_any_freq(freq))
    if d < 1.0 - 1e-9:
        return "subdaily"
    if d < 6.5:
        return "daily"
    if d < 27.0:
        return "weekly"
    if d < 85.0:
        return "monthly"
    if d < 360.0:
        return "quarterly"
    return "yearly"


def seasonal_period(freq) -> int:
    """A sensible default seasonal period for a frequency.

    Hourly 24 (sub-daily: one day, e.g. 96 for 15min, capped to an hour/minute cycle for
    very fine steps), daily 7, business-daily 5, weekly 52, monthly 12, quarterly 4, anything
    else (yearly, integer steps, None) 1. Multiples divide the period when they can
    ("2h" -> 12, "2MS" -> 6), otherwise 1.

    Examples
    --------
    >>> [seasonal_period(f) for f in ("h", "D", "B", "W-SUN", "MS", "QE", "YE", None)]
    [24, 7, 5, 52, 12, 4, 1, 1]
    """
    cat = freq_category(freq)
    if cat is None or cat == "yearly":
        return 1
    off = _parse_any_freq(freq)
    d = _mean_step_days(off)

    def _round(p):
        r = int(round(p))
        return r if r >= 2 and abs(p - r) / p < 0.02 else None

    if cat == "subdaily":
        for cycle in (1.0, 1.0 / 24.0, 1.0 / 1440.0):  # day, hour, minute
            r = _round(cycle / d)
            if r is not None and r <= 1440:
                return r
        return 1
    cycle = {"daily": 7.0, "weekly": 365.25, "monthly": 365.25, "quarterly": 365.25}[cat]
    return _round(cycle / d) or 1


def _sincos(values, period, name, cols, names):
    ang = 2.0 * np.pi * np.asarray(values, dtype=np.float64) / period
    cols.append(np.sin(ang))
    cols.append(np.cos(ang))
    names.extend([f"{name}_sin", f"{name}_cos"])


def calendar_features(index, freq=None):
    """Deterministic sin/cos calendar encodings of a time index, chosen by frequency.

    =================  ==================================================
    frequency          features (each as ``_sin`` and ``_cos``)
    =================  ==================================================
    sub-daily          hour, minute (only when the step is < 1h), dayofweek
    daily, business    dayofweek, dayofyear
    weekly             weekofyear (ISO week)
    monthly            month
    quarterly          quarter
    yearly, integer    none (shape ``(n, 0)``)
    =================  ==================================================

    Local wall-clock time is used for tz-aware indices.

    Returns
    -------
    features : ndarray of shape (n, k), float64, values in [-1, 1]
    names : list of str

    Examples
    --------
    >>> import pandas as pd
    >>> X, names = calendar_features(pd.date_range("2024-01-01", periods=48, freq="h"))
    >>> X.shape, names
    ((48, 4), ['hour_sin', 'hour_cos', 'dayofweek_sin', 'dayofweek_cos'])
    """
    index = _coerce_index(index, "index")
    n = len(index)
    kind = index_kind(index)
    if kind == "range":
        return np.empty((n, 0), dtype=np.float64), []
    f = _resolve_freq(index, freq)
    if f is None:
        raise ValueError(
            "cannot tell the frequency of the index to build calendar features; pass freq="
        )
    cat = freq_category(f)
    cols, names = [], []
    if cat == "subdaily":
        _sincos(index.hour, 24.0, "hour", cols, names)
        if _mean_step_days(f) < 1.0 / 24.0 - 1e-12:
            _sincos(index.minute, 60.0, "minute", cols, names)
        _sincos(index.day_of_week, 7.0, "dayofweek", cols, names)
    elif cat == "daily":
        _sincos(index.day_of_week, 7.0, "dayofweek", cols, names)
        days_in_year = np.where(np.asarray(index.is_leap_year), 366.0, 365.0)
        _sincos((np.asarray(index.day_of_year, dtype=np.float64) - 1.0) * 365.0 / days_in_year,
                365.0, "dayofyear", cols, names)
    elif cat == "weekly":
        if kind == "datetime":
            week = index.isocalendar()["week"].to_numpy(dtype=np.float64)
        else:
            week = np.asarray(index.week, dtype=np.float64)
        _sincos(week - 1.0, 52.1775, "weekofyear", cols, names)
    elif cat == "monthly":
        _sincos(np.asarray(index.month) - 1, 12.0, "month", cols, names)
    elif cat == "quarterly":
        _sincos(np.asarray(index.quarter) - 1, 4.0, "quarter", cols, names)
    if not cols:
        return np.empty((n, 0), dtype=np.float64), []
    X = np.ascontiguousarray(np.column_stack(cols), dtype=np.float64)
    np.clip(X, -1.0, 1.0, out=X)
    return X, names

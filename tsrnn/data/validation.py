"""Turn user input into a :class:`Panel` of float64 arrays, and predictions back into pandas.

Accepted inputs (``kind``):

- ``"series"``: a pandas Series (one univariate series);
- ``"frame"``: a wide DataFrame with a time index (one series whose columns are modelled
  jointly);
- ``"list"`` / ``"dict"``: several Series (one univariate series each);
- ``"long"``: a long DataFrame with columns ``unique_id`` (optional), ``ds`` and ``y``
  (names configurable), one row per (series, time point), rows in any order (series come
  out sorted by id, each sorted by time; other columns are ignored). It is recognised by
  having the time column (or the id column) among its columns.

Every series shares one frequency. Missing timestamps on the frequency grid become missing
values; missing values raise (``missing="error"``) or are filled (``missing="interpolate"``).

Examples
--------
>>> import pandas as pd
>>> from tsrnn.data.validation import to_panel
>>> y = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2024-01-01", periods=3, freq="D"), name="sales")
>>> panel = to_panel(y)
>>> panel.kind, panel.ids, panel.values[0].shape, panel.freq
('series', ['sales'], (3, 1), <Day>)
>>> fut = pd.date_range("2024-01-04", periods=2, freq="D")
>>> panel.format_output([[10.0, 11.0]], [fut])
2024-01-04    10.0
2024-01-05    11.0
Freq: D, Name: sales, dtype: float64
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numbers

import numpy as np
import pandas as pd

from tsrnn._checks import check_choice
from tsrnn.data.timeindex import _coerce_index, _infer_freq, _freqstr, check_index, index_kind

__all__ = ["Panel", "to_panel", "check_min_length"]

_MAIN = "__main__"
_KIND_NAMES = {"datetime": "DatetimeIndex", "period": "PeriodIndex", "range": "RangeIndex"}


def _suffixed(base, suffix):
    if suffix is None:
        return base
    if base is None:
        return suffix.lstrip("_") or None
    return f"{base}{suffix}"


@dataclass
class Panel:
    """Validated series as float64 arrays, plus what is needed to answer in the input's form.

    Attributes
    ----------
    ids : list
        One id per series (the Series name, the dict key, the list position, the long
        table's id; ``name`` for a single Series without a name or a wide DataFrame).
    indices : list of pandas.Index
        Regular time index of each series, frequency attached.
    values : list of ndarray of shape (n_i, d), float64
        The observations (after reindexing onto the grid and filling missing values).
    columns : list
        The ``d`` column labels (the DataFrame columns; ``[series name]`` or ``[target_col]``
        for univariate input).
    kind : {"series", "frame", "list", "dict", "long"}
    freq : DateOffset or int
        The common frequency (a pandas offset, or the integer step of a RangeIndex).
    names : list
        Per-series Series name (series / list / dict input), else None entries.
    n_filled : list of int
        Number of missing values filled by interpolation, per series.
    """

    ids: list
    indices: list
    values: list
    columns: list
    kind: str
    freq: object = None
    names: list = field(default_factory=list)
    name: str = "y"
    id_col: str = "unique_id"
    time_col: str = "ds"
    target_col: str = "y"
    n_filled: list = field(default_factory=list)
    id_index: object = None  # long format: pd.Index of ids with the input's dtype
    has_id_col: bool = True  # long format: whether the input had an id column
    column_index: object = None  # wide frame: the original columns Index

    @property
    def n_series(self) -> int:
        return len(self.values)

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    @property
    def lengths(self) -> list:
        return [len(v) for v in self.values]

    @property
    def index_kind(self) -> str:
        return index_kind(self.indices[0])

    # ----------------------------------------------------------- persistence

    def to_json(self) -> dict:
        """What :meth:`format_output` needs, as JSON-able values (no data, no indices)."""
        def lab(x):
            if x is None or isinstance(x, (str, bool)):
                return x
            if isinstance(x, numbers.Integral):
                return int(x)
            if isinstance(x, numbers.Real):
                return float(x)
            return str(x)

        return {
            "ids": [lab(i) for i in self.ids],
            "columns": [lab(c) for c in self.columns],
            "kind": self.kind,
            "names": [lab(n) for n in self.names],
            "name": self.name,
            "id_col": self.id_col,
            "time_col": self.time_col,
            "target_col": self.target_col,
            "has_id_col": bool(self.has_id_col),
            "has_column_index": self.column_index is not None,
        }

    @classmethod
    def from_json(cls, d, values, indices, freq=None):
        """Rebuild a panel from :meth:`to_json` output plus the stored data."""
        if not isinstance(d, dict) or "kind" not in d or "ids" not in d:
            raise ValueError(f"not a stored panel description: {d!r}")
        panel = cls(ids=list(d["ids"]), indices=list(indices), values=list(values),
                    columns=list(d["columns"]), kind=d["kind"], freq=freq,
                    names=list(d["names"]), name=d["name"], id_col=d["id_col"],
                    time_col=d["time_col"], target_col=d["target_col"],
                    n_filled=[0] * len(values), has_id_col=bool(d["has_id_col"]))
        if d["kind"] == "long":
            panel.id_index = pd.Index(panel.ids)
        if d.get("has_column_index"):
            panel.column_index = pd.Index(panel.columns)
        return panel

    # ------------------------------------------------------------------ output

    def _as_2d(self, a, h, key, i):
        arr = np.asarray(a, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        d = self.n_columns
        what = "values" if key == _MAIN else f"output {key!r}"
        if arr.ndim != 2 or arr.shape[0] != h or arr.shape[1] not in (d, 1):
            raise ValueError(
                f"{what} for series {self.ids[i]!r} must have shape ({h}, {d}) (or ({h},)), "
                f"got {arr.shape}"
            )
        return arr

    def format_output(self, values, indices=None, column_suffix=None, extra=None, main_name=None):
        """Return per-series arrays in the form of the input.

        Parameters
        ----------
        values : list of array-like (h_i, d) or (h_i,), or dict of such lists
            One array per series. A dict (e.g. ``{"lower": [...], "upper": [...]}``) gives
            several outputs per column, named by the dict keys.
        indices : list of pandas.Index, optional
            One index per series (e.g. from :func:`~tsrnn.data.timeindex.future_index`);
            defaults to the panel's own indices (in-sample outputs).
        column_suffix : str, optional
            Appended to the names of the main values (``"_score"``: "sales" -> "sales_score").
        extra : dict of lists, optional
            Additional outputs shown next to the main values (same shapes), e.g. intervals.
        main_name : optional
            Label of the main values when they share a table with other outputs.

        Returns
        -------
        Series / DataFrame (single series; a DataFrame with columns per output, or for a wide
        frame with several outputs MultiIndex columns ``(column, output)``), a list or dict of
        those, or a long DataFrame with columns ``id_col, time_col, <outputs>``.
        Arrays of width 1 for a wide frame with ``d > 1`` columns give one column per output.
        """
        if isinstance(values, dict):
            outputs = dict(values)
        else:
            outputs = {_MAIN: values}
            if extra:
                outputs.update(extra)
        if not outputs:
            raise ValueError("nothing to format: no outputs were given")
        if indices is None:
            indices = self.indices
        indices = list(indices)
        if len(indices) != self.n_series:
            raise ValueError(f"expected {self.n_series} indices (one per series), got {len(indices)}")
        blocks = {}
        for k, arrs in outputs.items():
            if isinstance(arrs, np.ndarray) and self.n_series == 1 and arrs.ndim <= 2:
                arrs = [arrs]  # the single series' array itself
            else:
                arrs = list(arrs)  # a list, or an array stacked over series
            if len(arrs) != self.n_series:
                raise ValueError(
                    f"expected {self.n_series} arrays (one per series) for "
                    f"{'the values' if k == _MAIN else repr(k)}, got {len(arrs)}"
                )
            blocks[k] = [self._as_2d(a, len(indices[i]), k, i) for i, a in enumerate(arrs)]
        widths = {b.shape[1] for bl in blocks.values() for b in bl}
        if len(widths) > 1:
            raise ValueError(f"all outputs must have the same number of columns, got {sorted(widths)}")
        width = widths.pop()
        single = list(blocks) == [_MAIN]

        def label(k, base):
            if k != _MAIN:
                return k
            if main_name is not None:
                return main_name
            lab = _suffixed(base, column_suffix)
            return self.target_col if lab is None else lab

        def one_series(i, base):
            idx = indices[i]
            if single:
                return pd.Series(blocks[_MAIN][i][:, 0], index=idx,
                                 name=main_name if main_name is not None
                                 else _suffixed(base, column_suffix))
            return pd.DataFrame({label(k, base): blocks[k][i][:, 0] for k in blocks}, index=idx)

        if self.kind == "series":
            return one_series(0, self.names[0])
        if self.kind == "list":
            return [one_series(i, self.names[i]) for i in range(self.n_series)]
        if self.kind == "dict":
            return {sid: one_series(i, self.names[i]) for i, sid in enumerate(self.ids)}
        if self.kind == "frame":
            idx = indices[0]
            if width == 1 and self.n_columns > 1:
                return one_series(0, None)
            cols = self.columns
            if single:
                names = [_suffixed(c, column_suffix) if isinstance(c, str) or column_suffix else c
                         for c in cols]
                out = pd.DataFrame(blocks[_MAIN][0], index=idx, columns=names)
                if column_suffix is None and self.column_index is not None:
                    out.columns = self.column_index
                return out
            main_lab = main_name if main_name is not None else (
                column_suffix.lstrip("_") if column_suffix else self.target_col)
            keys = [main_lab if k == _MAIN else k for k in blocks]
            data = {}
            for j, c in enumerate(cols):
                for k, kl in zip(blocks, keys):
                    data[(c, kl)] = blocks[k][0][:, j]
            out = pd.DataFrame(data, index=idx)
            out.columns = pd.MultiIndex.from_tuples(list(data), names=[None, None])
            return out
        if self.kind == "long":
            lengths = [len(ix) for ix in indices]
            ids = self.id_index if self.id_index is not None else pd.Index(self.ids)
            data = {}
            if self.has_id_col:
                data[self.id_col] = ids.repeat(lengths)
            times = indices[0].append(list(indices[1:])) if len(indices) > 1 else indices[0]
            data[self.time_col] = pd.Index(times)
            for k in blocks:
                col = label(k, self.target_col)
                data[col] = np.concatenate([b[:, 0] for b in blocks[k]]) if blocks[k] else []
            return pd.DataFrame(data)
        raise ValueError(f"unknown panel kind {self.kind!r}")  # pragma: no cover


# --------------------------------------------------------------------------- helpers


def _column_to_float(s, label, fix):
    """float64 copy of a numeric/bool Series; TypeError naming the column otherwise."""
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt) or (
        pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_complex_dtype(dt)
    ):
        return s.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    example, where = None, None
    try:
        coerced = pd.to_numeric(s, errors="coerce")
        bad = s[coerced.isna() & s.notna()]
        if len(bad):
            example, where = bad.iloc[0], bad.index[0]
    except (TypeError, ValueError):
        pass
    if example is None and s.notna().any():
        first = s[s.notna()]
        example, where = first.iloc[0], first.index[0]
    at = f", e.g. the value {example!r} at {where}" if example is not None else ""
    raise TypeError(
        f"{label} is not numeric (dtype {dt}{at}); convert it first, e.g. "
        f"{fix} = pd.to_numeric({fix}, errors='coerce') (values that cannot be parsed become "
        f"NaN: then pass missing='interpolate')"
    )


def _own_freq(idx):
    kind = index_kind(idx)
    if kind == "datetime":
        return idx.freq if idx.freq is not None else _infer_freq(idx)
    if kind == "period":
        return idx.freq
    if isinstance(idx, pd.RangeIndex):
        return idx.step if len(idx) > 1 else None
    if len(idx) > 1:
        d = np.diff(np.asarray(idx, dtype=np.int64))
        return int(d[0]) if d[0] > 0 and bool(np.all(d == d[0])) else None
    return None


def _conforms(idx, freq):
    try:
        grid, _ = check_index(idx, freq, "x")
    except (TypeError, ValueError):
        return False
    return len(grid) == len(idx)


def _resolve_indices(items, freq, name):
    """check_index for every series with one common frequency."""
    for it in items:
        it["index"] = _coerce_index(it["index"], it["label"])
    kinds = [index_kind(it["index"]) for it in items]
    for it, k in zip(items, kinds):
        if k != kinds[0]:
            raise TypeError(
                f"{name} mixes index types: {items[0]['label']} has a {_KIND_NAMES[kinds[0]]} but "
                f"{it['label']} has a {_KIND_NAMES[k]}; use the same kind of index for all series"
            )
    if kinds[0] == "datetime":
        tzs = [str(it["index"].tz) for it in items]
        for it, tz in zip(items, tzs):
            if tz != tzs[0]:
                raise ValueError(
                    f"{name} mixes time zones: {items[0]['label']} is in {tzs[0]} but {it['label']} "
                    f"is in {tz}; convert them to one zone (.tz_convert) or remove the zones "
                    f"(.tz_localize(None))"
                )
    if freq is None and len(items) > 1:
        owns = []
        for it in items:
            own = _own_freq(it["index"])
            if own is None and len(it["index"]) >= 3:
                check_index(it["index"], None, it["label"])  # raises the precise error
            owns.append(own)
        distinct = []
        for o in owns:
            if o is not None and all(o != x for x in distinct):
                distinct.append(o)
        if len(distinct) == 1:
            freq = distinct[0]
        elif len(distinct) > 1:
            fits = [f for f in distinct if all(_conforms(it["index"], f) for it in items)]
            if not fits:
                a = next(i for i, o in enumerate(owns) if o is not None and o == distinct[0])
                b = next(i for i, o in enumerate(owns) if o is not None and o == distinct[1])
                raise ValueError(
                    f"{name} mixes frequencies: {items[a]['label']} has frequency "
                    f"'{_freqstr(distinct[0])}' but {items[b]['label']} has "
                    f"'{_freqstr(distinct[1])}'; all series must share one frequency: resample "
                    f"them to a common one first (e.g. s.resample('D').mean()), or fit one model "
                    f"per frequency"
                )
            freq = fits[0]
    out = []
    for it in items:
        out.append(check_index(it["index"], freq, it["label"]))
    return out


def _handle_missing(vals, index, label, columns, missing, n_gap):
    d = vals.shape[1]

    def where(c):
        return f"{label} (column {columns[c]!r})" if d > 1 else label

    inf = np.isinf(vals)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        raise ValueError(
            f"{where(c)} contains {int(inf.sum())} infinite value(s), the first at {index[r]}; "
            f"replace them with NaN (e.g. y.replace([np.inf, -np.inf], np.nan)) and pass "
            f"missing='interpolate'"
        )
    nan = np.isnan(vals)
    if not nan.any():
        return vals, 0
    all_nan = nan.all(axis=0)
    if all_nan.any():
        c = int(np.flatnonzero(all_nan)[0])
        drop = "; drop that column" if d > 1 else ""
        raise ValueError(f"{where(c)} contains only missing values (NaN){drop}")
    k = int(nan.sum())
    if missing == "error":
        r, c = np.argwhere(nan)[0]
        gaps = f" ({n_gap} of them at timestamps absent from the index)" if n_gap else ""
        col = f" in column {columns[c]!r}" if d > 1 else ""
        raise ValueError(
            f"{label} has {k} missing value(s){gaps}, the first at {index[r]}{col}; pass "
            f"missing='interpolate' to fill them (interpolation in time, nearest value at the "
            f"edges), or fill them yourself beforehand"
        )
    frame = pd.DataFrame(vals, index=index)
    method = "time" if isinstance(index, pd.DatetimeIndex) else "linear"
    frame = frame.interpolate(method=method, limit_area="inside").ffill().bfill()
    return frame.to_numpy(dtype=np.float64, copy=True), k


def _series_item(s, sid, label, fix):
    if len(s) == 0:
        raise ValueError(f"{label} is empty: it has no observations")
    return {"id": sid, "label": label, "index": s.index,
            "values": _column_to_float(s, label, fix)[:, None], "name": s.name}


def _check_items_are_series(seq, name, keys):
    for k, s in zip(keys, seq):
        if not isinstance(s, pd.Series):
            what = f"{name}[{k!r}]"
            if isinstance(s, pd.DataFrame):
                hint = ("; put several columns of one series in a single wide DataFrame, or "
                        "several series in a long DataFrame (columns unique_id, ds, y)")
            else:
                hint = "; wrap it as pd.Series(values, index=time_index)"
            raise TypeError(f"{what} is a {type(s).__name__}: each item must be a pandas Series{hint}")


def _looks_long(df, id_col, time_col):
    try:
        return time_col in df.columns or id_col in df.columns
    except TypeError:  # pragma: no cover - unhashable labels
        return False


def _long_items(df, id_col, time_col, target_col, name):
    present = [c for c in (id_col, time_col) if c in df.columns]
    lacking = [c for c in (time_col, target_col) if c not in df.columns]
    if lacking:
        raise ValueError(
            f"{name} looks like a long-format table (it has column(s) {present}) but lacks "
            f"column(s) {lacking}; its columns are {list(df.columns)}; say which columns hold "
            f"the id, the time and the value with id_col=, time_col=, target_col="
        )
    if len(df) == 0:
        raise ValueError(f"{name} is empty: it has no rows")
    tcol = df[time_col]
    if tcol.dtype == object or pd.api.types.is_string_dtype(tcol.dtype):
        ex = tcol.dropna().iloc[0] if tcol.notna().any() else None
        raise TypeError(
            f"column {time_col!r} of {name} holds {type(ex).__name__} values such as {ex!r}, not "
            f"timestamps; convert it first: {name}[{time_col!r}] = pd.to_datetime({name}[{time_col!r}])"
        )
    tidx = _coerce_index(pd.Index(tcol, name=time_col), f"column {time_col!r} of {name}")
    values = _column_to_float(df[target_col], f"column {target_col!r} of {name}",
                              f"{name}[{target_col!r}]")
    has_id = id_col in df.columns
    if has_id:
        ids_raw = df[id_col]
        if ids_raw.isna().any():
            raise ValueError(
                f"column {id_col!r} of {name} has {int(ids_raw.isna().sum())} missing id(s); drop "
                f"or fill those rows"
            )
        try:  # series in sorted id order (deterministic whatever the row order)
            codes, uniques = pd.factorize(ids_raw, sort=True)
        except TypeError:  # ids of mixed, unorderable types: order of appearance
            codes, uniques = pd.factorize(ids_raw, sort=False)
        uniques = pd.Index(uniques)
    else:
        codes = np.zeros(len(df), dtype=np.intp)
        uniques = pd.Index([name])
    key = pd.DataFrame({"i": codes, "t": tidx})
    dup = key.duplicated()
    if dup.any():
        j = int(np.flatnonzero(dup.to_numpy())[0])
        pair = (uniques[codes[j]], tidx[j]) if has_id else tidx[j]
        by = f"[{id_col!r}, {time_col!r}]" if has_id else f"{time_col!r}"
        raise ValueError(
            f"{name} has {int(dup.sum())} duplicated ({id_col}, {time_col}) pair(s), the first is "
            f"{pair}; aggregate them first, e.g. "
            f"{name}.groupby({by}, as_index=False)[{target_col!r}].mean()"
        )
    rank = np.empty(len(tidx), dtype=np.intp)
    rank[np.asarray(tidx.argsort())] = np.arange(len(tidx))
    order = np.lexsort((rank, codes))
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    items = []
    for g in range(len(uniques)):
        sel = order[bounds[g]:bounds[g + 1]]
        sid = uniques[g]
        items.append({"id": sid, "label": f"series {sid!r} of {name}" if has_id else name,
                      "index": tidx.take(sel), "values": values[sel][:, None], "name": None})
    return items, uniques, has_id


# --------------------------------------------------------------------------- to_panel


def to_panel(y, id_col="unique_id", time_col="ds", target_col="y", freq=None, missing="error",
             name="y"):
    """Validate user data and convert it to a :class:`Panel`.

    Parameters
    ----------
    y : Series, DataFrame (wide or long), list of Series or dict of Series
    id_col, time_col, target_col : str
        Column names of the long format (``id_col`` may be absent: one series).
    freq : str, DateOffset or int, optional
        Common frequency; inferred when None. With ``freq`` given, timestamps missing from
        the index (on the ``freq`` grid) become missing values.
    missing : {"error", "interpolate"}
        What to do with missing values (NaN, or timestamps absent from the grid).
    name : str
        How the data is called in error messages.

    Returns
    -------
    Panel

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"unique_id": ["a", "a", "a", "b", "b", "b"],
    ...                      "ds": list(pd.date_range("2024-01-01", periods=3)) * 2,
    ...                      "y": [1.0, None, 3.0, 4.0, 5.0, 6.0]})
    >>> p = to_panel(long, missing="interpolate")
    >>> p.kind, p.ids, p.values[0].ravel().tolist(), p.n_filled
    ('long', ['a', 'b'], [1.0, 2.0, 3.0], [1, 0])
    """
    missing = check_choice(missing, "missing", {"error", "interpolate"})
    id_index, has_id, column_index = None, True, None
    if isinstance(y, pd.Series):
        kind = "series"
        items = [_series_item(y, y.name if y.name is not None else name, name, name)]
        columns = [y.name if y.name is not None else target_col]
    elif isinstance(y, pd.DataFrame):
        if _looks_long(y, id_col, time_col):
            kind = "long"
            items, id_index, has_id = _long_items(y, id_col, time_col, target_col, name)
            columns = [target_col]
        else:
            kind = "frame"
            if y.shape[1] == 0:
                raise ValueError(f"{name} is a DataFrame without columns")
            if y.shape[0] == 0:
                raise ValueError(f"{name} is empty: it has no rows")
            if not y.columns.is_unique:
                dups = list(y.columns[y.columns.duplicated()].unique())
                raise ValueError(f"{name} has duplicated column names {dups}; rename them")
            cols = list(y.columns)
            vals = np.column_stack([
                _column_to_float(y.iloc[:, j], f"column {c!r} of {name}", f"{name}[{c!r}]")
                for j, c in enumerate(cols)])
            items = [{"id": name, "label": name, "index": y.index, "values": vals, "name": None}]
            columns = cols
            column_index = y.columns
    elif isinstance(y, dict):
        kind = "dict"
        if len(y) == 0:
            raise ValueError(f"{name} is an empty dict; pass at least one Series")
        keys = list(y)
        _check_items_are_series(y.values(), name, keys)
        items = [_series_item(s, k, f"{name}[{k!r}]", f"{name}[{k!r}]") for k, s in y.items()]
        columns = [target_col]
    elif isinstance(y, (list, tuple)):
        kind = "list"
        if len(y) == 0:
            raise ValueError(f"{name} is an empty list; pass at least one Series")
        _check_items_are_series(y, name, range(len(y)))
        items = [_series_item(s, i, f"{name}[{i}]", f"{name}[{i}]") for i, s in enumerate(y)]
        columns = [target_col]
    else:
        hint = ""
        if isinstance(y, np.ndarray):
            hint = "; wrap a NumPy array as pd.Series(values, index=time_index)"
        raise TypeError(
            f"{name} must be a pandas Series, a DataFrame (wide with a time index, or long with "
            f"columns {id_col!r}, {time_col!r}, {target_col!r}), or a list/dict of Series; got "
            f"{type(y).__name__}{hint}"
        )

    checked = _resolve_indices(items, freq, name)
    common = checked[0][1]
    indices, values, n_filled = [], [], []
    for it, (grid, _f) in zip(items, checked):
        vals = it["values"]
        n_gap = len(grid) - len(it["index"])
        if n_gap:
            pos = grid.get_indexer(it["index"])
            full = np.full((len(grid), vals.shape[1]), np.nan)
            full[pos] = vals
            vals = full
        vals, k = _handle_missing(vals, grid, it["label"], columns, missing, n_gap)
        indices.append(grid)
        values.append(np.ascontiguousarray(vals, dtype=np.float64))
        n_filled.append(k)
    return Panel(
        ids=[it["id"] for it in items], indices=indices, values=values, columns=columns,
        kind=kind, freq=common, names=[it["name"] for it in items], name=name, id_col=id_col,
        time_col=time_col, target_col=target_col, n_filled=n_filled, id_index=id_index,
        has_id_col=has_id, column_index=column_index,
    )


def check_min_length(panel, min_len, what="window + horizon", hint="lower window or horizon"):
    """Raise if a series of ``panel`` has fewer than ``min_len`` observations.

    Examples
    --------
    >>> import pandas as pd
    >>> p = to_panel(pd.Series(range(30), name="abc", dtype=float))
    >>> check_min_length(p, 72)
    Traceback (most recent call last):
    ...
    ValueError: series 'abc' has 30 observations; window + horizon = 72 are needed; lower window or horizon
    """
    for sid, v in zip(panel.ids, panel.values):
        if len(v) < min_len:
            raise ValueError(
                f"series {sid!r} has {len(v)} observations; {what} = {min_len} are needed; {hint}"
            )

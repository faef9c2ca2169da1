"""Many series beyond one machine: one :class:`~tsrnn.RNNForecaster` per series (or
per group of series), fitted in parallel on a Dask cluster or locally with joblib.

:func:`fit_predict_many` splits a long DataFrame (Nixtla's ``unique_id``, ``ds``,
``y``) by id, fits one forecaster per group of ``group_size`` ids (``group_size=1``:
one local model per series; larger: one global model per group) and returns the
forecasts of every series as one long DataFrame ``[id_col, time_col, target_col]``
(``horizon`` rows per series, in the order the ids first appear).

- ``client=dask.distributed.Client(...)``: each group's rows are scattered to the
  cluster and fitted there (``client.map``); the results are gathered.
- no client: joblib ``Parallel(n_jobs, backend)``; ``backend="loky"`` (default) runs
  worker processes, which is the robust choice (every process compiles or loads the
  cached Numba kernels once); ``backend="threading"`` avoids process start-up and
  works well too, because the Numba kernels release the GIL.

Each model trains with ``threads_per_model`` kernel threads (default 1: the
parallelism is across models).  Results do not depend on the backend, the number of
workers or ``threads_per_model``: every group gets the same ``random_state`` and the
kernels reduce in a fixed order, so a given group always gets the same weights.

Running on Spark
----------------
:func:`forecast_group` is the per-group function; with PySpark's grouped-map
``applyInPandas`` it runs once per series on the executors (not tested in CI)::

    import functools
    from tsrnn.distributed import forecast_group

    fn = functools.partial(forecast_group, horizon=24, window=48, epochs=50,
                           hidden_size=32, random_state=0)
    schema = "unique_id string, ds timestamp, y double"
    forecasts = (spark_df                                  # columns unique_id, ds, y
                 .groupBy("unique_id")                      # one model per series
                 .applyInPandas(fn, schema=schema))

For one model per group of series, add a group column first (e.g.
``F.abs(F.hash("unique_id")) % n_groups``) and ``groupBy`` it instead.  tsrnn (and
its Numba cache directory, ``NUMBA_CACHE_DIR``) must be installed on every executor.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["fit_predict_many", "forecast_group"]


def forecast_group(data, horizon, id_col="unique_id", time_col="ds", target_col="y",
                   threads_per_model=1, **forecaster_params):
    """Fit one :class:`~tsrnn.RNNForecaster` on the long DataFrame ``data`` (one or
    several series) and return its long-format forecasts ``[id_col, time_col,
    target_col]``, ``horizon`` rows per series.  ``forecaster_params`` go to the
    forecaster (``n_jobs`` is ``threads_per_model``)."""
    from tsrnn.forecast import RNNForecaster

    if "n_jobs" in forecaster_params:
        raise TypeError("pass the kernel threads of each model as threads_per_model=, not n_jobs=")
    model = RNNForecaster(horizon=horizon, id_col=id_col, time_col=time_col,
                          target_col=target_col, n_jobs=threads_per_model, **forecaster_params)
    out = model.fit(data[[id_col, time_col, target_col]]).predict()
    return out.reset_index(drop=True)


def _check_long(data, id_col, time_col, target_col):
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a long pandas DataFrame with columns {id_col!r}, "
                        f"{time_col!r}, {target_col!r}; got {type(data).__name__}")
    missing = [c for c in (id_col, time_col, target_col) if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks column(s) {missing} (it has {list(data.columns)}); pass "
                         f"id_col=, time_col=, target_col= to name them")
    if len(data) == 0:
        raise ValueError("data is empty; pass at least one series")


def _groups(data, id_col, group_size):
    ids = pd.unique(data[id_col])
    codes = pd.Index(ids).get_indexer(data[id_col])
    parts = []
    for start in range(0, len(ids), group_size):
        mask = (codes >= start) & (codes < start + group_size)
        parts.append(data.loc[mask])
    return parts


def fit_predict_many(data, horizon, id_col="unique_id", time_col="ds", target_col="y",
                     client=None, n_jobs=None, group_size=1, backend="loky",
                     threads_per_model=1, **forecaster_params):
    """Fit one forecaster per series (or per group of series) in parallel; forecast.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per (series, time stamp), columns ``id_col``,
        ``time_col``, ``target_col``.
    horizon : int
        Steps to forecast after the end of each series.
    id_col, time_col, target_col : str
    client : dask.distributed.Client or None
        Fit on this Dask cluster; None: locally with joblib.
    n_jobs : int or None
        joblib workers when ``client`` is None (joblib's meaning: None is 1 unless
        inside a ``joblib.parallel_config`` context, -1 is all cores).
    group_size : int, default 1
        Series per model: 1 fits a local model per series; ``k`` fits one global
        model on each run of ``k`` consecutive ids.
    backend : str, default "loky"
        joblib backend ("loky" processes, "threading", ...).
    threads_per_model : int, default 1
        Kernel threads of each model (its ``n_jobs``).
    **forecaster_params
        Passed to :class:`~tsrnn.RNNForecaster` (``window``, ``epochs``,
        ``random_state``, ...).

    Returns
    -------
    pandas.DataFrame
        ``[id_col, time_col, target_col]`` forecasts, ``horizon`` rows per series,
        series in the order their ids first appear in ``data``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tsrnn.distributed import fit_predict_many
    >>> ds = pd.date_range("2024-01-01", periods=40, freq="h")
    >>> df = pd.concat([pd.DataFrame({"unique_id": k, "ds": ds, "y": np.sin(np.arange(40) / 3) + i})
    ...                 for i, k in enumerate(["a", "b"])])
    >>> fc = fit_predict_many(df, horizon=3, window=8, hidden_size=4, epochs=2, random_state=0)
    >>> fc.shape, list(fc.columns), list(fc["unique_id"].unique())
    ((6, 3), ['unique_id', 'ds', 'y'], ['a', 'b'])
    """
    from tsrnn._checks import check_int

    _check_long(data, id_col, time_col, target_col)
    check_int(horizon, "horizon", minimum=1)
    check_int(group_size, "group_size", minimum=1)
    check_int(threads_per_model, "threads_per_model", minimum=1)
    if "n_jobs" in forecaster_params:  # pragma: no cover - n_jobs is a named parameter
        raise TypeError("use threads_per_model= for the kernel threads of each model")
    parts = _groups(data, id_col, group_size)
    kwargs = dict(horizon=horizon, id_col=id_col, time_col=time_col, target_col=target_col,
                  threads_per_model=threads_per_model, **forecaster_params)

    if client is not None:
        # kwargs travel as ONE positional dict: Client.submit/map have keywords of
        # their own (batch_size, key, workers, ...) that would swallow ours
        scattered = client.scatter(parts)
        futures = [client.submit(_forecast_group_kw, part, kwargs) for part in scattered]
        results = client.gather(futures)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, backend=backend)(
            delayed(forecast_group)(part, **kwargs) for part in parts)
    out = pd.concat(results, ignore_index=True)
    # the forecaster orders the series of a group its own way: restore data's order
    order = pd.Index(pd.unique(data[id_col])).get_indexer(out[id_col])
    return out.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def _forecast_group_kw(part, kwargs):
    return forecast_group(part, **kwargs)

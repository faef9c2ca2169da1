"""tsrnn.distributed: one model per series (or group), locally with joblib and on Dask."""

import numpy as np
import pandas as pd
import pytest

from tsrnn import RNNForecaster
from tsrnn.distributed import fit_predict_many, forecast_group

PARAMS = dict(window=8, hidden_size=4, epochs=2, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def long_df():
    frames = []
    for i, (sid, n) in enumerate([("b", 40), ("a", 36), ("c", 44)]):
        ds = pd.date_range("2024-01-01", periods=n, freq="h")
        frames.append(pd.DataFrame({"unique_id": sid, "ds": ds,
                                    "y": np.sin(np.arange(n) / 3 + i) + 2 * i}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def separately(long_df):
    out = []
    for sid in ["b", "a", "c"]:
        one = long_df[long_df["unique_id"] == sid]
        out.append(RNNForecaster(horizon=3, n_jobs=1, **PARAMS).fit(one).predict())
    return pd.concat(out, ignore_index=True)


def test_local_threads_equals_fitting_each_series(long_df, separately):
    fc = fit_predict_many(long_df, horizon=3, n_jobs=2, backend="threading", **PARAMS)
    assert list(fc.columns) == ["unique_id", "ds", "y"]
    assert list(fc["unique_id"].unique()) == ["b", "a", "c"] and len(fc) == 9
    pd.testing.assert_frame_equal(fc, separately)
    # each forecast starts right after its series ends
    for sid, part in fc.groupby("unique_id"):
        last = long_df.loc[long_df["unique_id"] == sid, "ds"].max()
        assert part["ds"].iloc[0] == last + pd.Timedelta(hours=1)


def test_sequential_default_backend_and_thread_count_do_not_matter(long_df, separately):
    fc = fit_predict_many(long_df, horizon=3, **PARAMS)  # n_jobs=None: sequential
    pd.testing.assert_frame_equal(fc, separately)
    fc2 = fit_predict_many(long_df, horizon=3, threads_per_model=2, **PARAMS)
    pd.testing.assert_frame_equal(fc2, separately)


def test_groups_fit_one_global_model_each(long_df):
    fc = fit_predict_many(long_df, horizon=2, group_size=2, **PARAMS)
    ba = long_df[long_df["unique_id"].isin(["b", "a"])]
    expected_ba = RNNForecaster(horizon=2, n_jobs=1, **PARAMS).fit(ba).predict()
    key = ["unique_id", "ds"]
    pd.testing.assert_frame_equal(fc.iloc[:4].sort_values(key).reset_index(drop=True),
                                  expected_ba.sort_values(key).reset_index(drop=True))
    # a global model on two series differs from the local one of "b"
    local_b = fit_predict_many(ba, horizon=2, **PARAMS)
    assert not np.allclose(fc["y"].iloc[:2], local_b["y"].iloc[:2])
    assert list(fc["unique_id"]) == ["b", "b", "a", "a", "c", "c"]


def test_custom_column_names_and_errors(long_df):
    df = long_df.rename(columns={"unique_id": "store", "ds": "when", "y": "sales"})
    fc = fit_predict_many(df, horizon=2, id_col="store", time_col="when", target_col="sales",
                          **PARAMS)
    assert list(fc.columns) == ["store", "when", "sales"] and len(fc) == 6
    with pytest.raises(ValueError, match="unique_id"):
        fit_predict_many(df, horizon=2, **PARAMS)
    with pytest.raises(TypeError, match="DataFrame"):
        fit_predict_many(df["sales"], horizon=2)
    with pytest.raises(ValueError, match="group_size"):
        fit_predict_many(long_df, horizon=2, group_size=0, **PARAMS)
    with pytest.raises(TypeError, match="threads_per_model"):
        forecast_group(long_df, horizon=2, n_jobs=2, **PARAMS)


def test_dask_local_cluster_matches_local(long_df, separately):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        fc = fit_predict_many(long_df, horizon=3, client=client, **PARAMS)
    pd.testing.assert_frame_equal(fc, separately)


def test_loky_processes_match(long_df, separately):
    fc = fit_predict_many(long_df, horizon=3, n_jobs=2, backend="loky", **PARAMS)
    pd.testing.assert_frame_equal(fc, separately)

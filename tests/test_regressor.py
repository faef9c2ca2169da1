"""Tests of RNNRegressor: shapes, learning, scikit-learn conventions and input validation."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import estimator_checks

from tsrnn import RNNRegressor
from tsrnn.nn.trainer import Trainer

FAST = dict(hidden_size=4, epochs=2, batch_size=32, random_state=0)


@pytest.fixture
def data(sine_windows):
    X, y = sine_windows(224, window=24, noise=0.05, seed=0)
    assert X.shape == (200, 24)
    return X, y


# ------------------------------------------------------------------ shapes
def test_2d_X_1d_y_shapes(data):
    X, y = data
    reg = RNNRegressor(**FAST)
    assert reg.fit(X, y) is reg
    pred = reg.predict(X[:7])
    assert pred.shape == (7,) and pred.dtype == np.float32
    assert reg.n_features_in_ == 24 and reg.window_ == 24
    assert reg.n_step_features_ == 1 and reg.n_outputs_ == 1
    assert np.isfinite(pred).all()


def test_3d_X_2d_y_multi_output_shapes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 12, 2))
    Y = np.stack([X[:, -1, 0], X[:, -1, 1], X[:, -2, 0]], axis=1)  # horizon 3
    reg = RNNRegressor(**FAST).fit(X, Y)
    pred = reg.predict(X[:5])
    assert pred.shape == (5, 3)
    assert reg.n_features_in_ == 12 and reg.window_ == 12
    assert reg.n_step_features_ == 2 and reg.n_outputs_ == 3
    # a (n, 1) target stays 2-D
    reg1 = RNNRegressor(**FAST).fit(X, Y[:, :1])
    assert reg1.predict(X[:5]).shape == (5, 1)


def test_float64_and_pandas_inputs(data):
    X, y = data
    reg = RNNRegressor(dtype="float64", **FAST).fit(pd.DataFrame(X), pd.Series(y))
    pred = reg.predict(pd.DataFrame(X[:4]))
    assert pred.dtype == np.float64 and pred.shape == (4,)
    np.testing.assert_array_equal(pred, reg.predict(X[:4]))


# ---------------------------------------------------------------- learning
@pytest.mark.parametrize("cell", ["lstm", "gru", "elman", "rnn"])
def test_each_cell_learns_a_clean_sine(cell, sine_windows):
    X, y = sine_windows(424, window=24, noise=0.0)
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
    reg = RNNRegressor(cell=cell, hidden_size=8, epochs=15, batch_size=32, learning_rate=1e-2,
                       random_state=0).fit(X_train, y_train)
    assert reg.score(X_test, y_test) > 0.9  # held-out next-step R^2
    assert len(reg.loss_curve_) == reg.n_iter_ == 15
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]


# --------------------------------------------------------- sklearn conventions
def test_init_only_stores_parameters():
    reg = RNNRegressor(cell="bogus", hidden_size=-5, learning_rate="x", device="cuda")
    assert reg.cell == "bogus" and reg.hidden_size == -5 and reg.learning_rate == "x"
    assert reg.device == "cuda"
    assert not [k for k in vars(reg) if k.endswith("_")]


def test_get_set_params_and_clone(data):
    X, y = data
    reg = RNNRegressor(cell="gru", hidden_size=8, epochs=3)
    params = reg.get_params()
    assert params["cell"] == "gru" and params["hidden_size"] == 8 and params["epochs"] == 3
    assert params["learning_rate"] == 1e-3 and params["dtype"] == "float32" and params["device"] == "cpu"
    assert reg.set_params(hidden_size=4, epochs=2) is reg
    assert reg.hidden_size == 4 and reg.epochs == 2
    with pytest.raises(ValueError):
        reg.set_params(hidden_sizes=3)
    reg.fit(X, y)
    cl = clone(reg)
    assert cl.get_params() == reg.get_params()
    assert not hasattr(cl, "network_")


def test_fitted_attributes_end_with_underscore(data):
    X, y = data
    reg = RNNRegressor(**FAST)
    before = set(vars(reg))
    params_before = reg.get_params()
    reg.fit(X, y)
    new = set(vars(reg)) - before
    public = {k for k in new if not k.startswith("_")}
    assert public and all(k.endswith("_") for k in public), public
    for attr in ("network_", "n_features_in_", "loss_curve_", "validation_loss_curve_", "best_epoch_",
                 "n_iter_", "epoch_times_", "stopped_early_", "interrupted_", "diverged_"):
        assert hasattr(reg, attr), attr
    assert reg.get_params() == params_before  # fit does not mutate constructor parameters
    assert reg.n_iter_ == 2 and len(reg.epoch_times_) == 2
    assert reg.validation_loss_curve_ == []  # no early stopping -> no validation split


def test_predict_before_fit_raises_not_fitted(data):
    X, _ = data
    with pytest.raises(NotFittedError):
        RNNRegressor().predict(X)


def test_predict_with_another_window_length(data):
    X, y = data
    reg = RNNRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="expecting 24 features") as info:
        reg.predict(X[:, :20])
    assert "20" in str(info.value)


def test_predict_with_equivalent_3d_X(data):
    X, y = data
    reg = RNNRegressor(**FAST).fit(X, y)
    try:
        pred3 = reg.predict(X[:5, :, None])
    except ValueError as exc:
        msg = str(exc)
        assert not ("has 24 features" in msg and "expecting 24 features" in msg), msg
    else:
        np.testing.assert_array_equal(pred3, reg.predict(X[:5]))


@pytest.mark.parametrize("check", [
    "check_no_attributes_set_in_init", "check_parameters_default_constructible",
    "check_get_params_invariance", "check_set_params", "check_dont_overwrite_parameters",
    "check_fit_check_is_fitted", "check_n_features_in", "check_n_features_in_after_fitting",
    "check_estimators_pickle", "check_fit_idempotent", "check_estimators_overwrite_params",
    "check_fit_score_takes_y", "check_estimators_dtypes", "check_regressors_int",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_fit2d_1sample", "check_regressor_data_not_an_array", "check_estimators_nan_inf",
    "check_supervised_y_2d",
])
def test_sklearn_estimator_checks(check):
    # a fast subset of sklearn's check_estimator (the full run takes ~30 s)
    getattr(estimator_checks, check)("RNNRegressor", RNNRegressor(hidden_size=4, epochs=2, cell="gru"))


def test_refit_with_int_seed_is_reproducible(data):
    X, y = data
    reg = RNNRegressor(**FAST)
    p1 = reg.fit(X, y).predict(X)
    p2 = reg.fit(X, y).predict(X)
    assert np.array_equal(p1, p2)
    p3 = RNNRegressor(**{**FAST, "random_state": 1}).fit(X, y).predict(X)
    assert not np.array_equal(p1, p3)


# --------------------------------------------------------- sklearn tooling
def test_in_a_pipeline(data):
    X, y = data
    pipe = Pipeline([("scale", FunctionTransformer(lambda a: 0.5 * a)),
                     ("rnn", RNNRegressor(**FAST))])
    pipe.fit(X, y)
    assert pipe.predict(X[:3]).shape == (3,)
    direct = RNNRegressor(**FAST).fit(0.5 * X, y)
    np.testing.assert_array_equal(pipe.predict(X), direct.predict(0.5 * X))
    assert np.isfinite(pipe.score(X, y))


def test_grid_search_with_time_series_split(data):
    X, y = data
    search = GridSearchCV(RNNRegressor(epochs=2, batch_size=32, random_state=0),
                          {"hidden_size": [4, 8]}, cv=TimeSeriesSplit(n_splits=2))
    search.fit(X, y)
    assert search.best_params_["hidden_size"] in (4, 8)
    assert len(search.cv_results_["params"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.hidden_size == search.best_params_["hidden_size"]
    assert search.predict(X[:4]).shape == (4,)


def test_pickle_round_trip(data):
    X, y = data
    reg = RNNRegressor(**FAST).fit(X, y)
    other = pickle.loads(pickle.dumps(reg))
    assert np.array_equal(other.predict(X), reg.predict(X))
    assert other.loss_curve_ == reg.loss_curve_


# --------------------------------------------------------- early stopping
def test_early_stopping_uses_the_last_fraction(data, monkeypatch):
    X, y = data
    seen = {}
    orig = Trainer.fit_windows

    def spy(self, X_, Y_, X_val=None, Y_val=None):
        seen.update(X=X_.copy(), X_val=None if X_val is None else X_val.copy(),
                    Y_val=None if Y_val is None else Y_val.copy())
        return orig(self, X_, Y_, X_val, Y_val)

    monkeypatch.setattr(Trainer, "fit_windows", spy)
    reg = RNNRegressor(hidden_size=4, epochs=30, batch_size=32, learning_rate=5e-2, early_stopping=2,
                       validation_fraction=0.2, random_state=0).fit(X, y)
    n_val = 40  # 20 % of 200, the most recent windows (no shuffling: windows overlap)
    np.testing.assert_array_equal(seen["X_val"][:, :, 0], X[-n_val:].astype(np.float32))
    np.testing.assert_array_equal(seen["Y_val"][:, 0], y[-n_val:].astype(np.float32))
    np.testing.assert_array_equal(seen["X"][:, :, 0], X[:-n_val].astype(np.float32))
    assert len(reg.validation_loss_curve_) == len(reg.loss_curve_) == reg.n_iter_
    assert 0 <= reg.best_epoch_ < reg.n_iter_
    assert reg.validation_loss_curve_[reg.best_epoch_] == min(reg.validation_loss_curve_)
    if reg.stopped_early_:
        assert reg.n_iter_ == reg.best_epoch_ + 3


# --------------------------------------------------------------- NaN guard
def test_divergence_raises_or_warns(data):
    from tsrnn.nn.trainer import TrainingDivergedError

    X, y = data
    kw = dict(FAST, optimizer="sgd", learning_rate=1e6, epochs=3)
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        RNNRegressor(**kw).fit(X, y)
    with pytest.warns(RuntimeWarning, match="learning_rate"):
        reg = RNNRegressor(nan_policy="warn", **kw).fit(X, y)
    assert reg.diverged_ and np.isfinite(reg.predict(X)).all()


# -------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("make, exc, pattern", [
    (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y), ValueError, "NaN"),
    (lambda X, y: (X.astype(object), y), TypeError, "object"),
    (lambda X, y: (X[:, 0], y), ValueError, r"\(200,\)"),
    (lambda X, y: (X[:, :, None, None], y), ValueError, r"\(200, 24, 1, 1\)"),
    (lambda X, y: (X, y[:-1]), ValueError, "199"),
    (lambda X, y: (X, np.where(np.arange(y.size) == 3, np.inf, y)), ValueError, "y contains 1 NaN or inf"),
], ids=["nan", "object", "1d", "4d", "length", "inf-y"])
def test_bad_data(data, make, exc, pattern):
    X, y = make(*data)
    with pytest.raises(exc, match=pattern):
        RNNRegressor(**FAST).fit(X, y)


@pytest.mark.parametrize("params, exc, pattern", [
    ({"cell": "bogus"}, ValueError, "'bogus'"),
    ({"learning_rate": -0.1}, ValueError, "-0.1"),
    ({"device": "cuda"}, ValueError, "cuda"),
    ({"bidirectional": "yes"}, TypeError, "bidirectional must be True or False"),
    ({"hidden_size": 2.5}, TypeError, "2.5"),
    ({"n_jobs": 0}, ValueError, "n_jobs=0"),
    ({"dtype": "float16"}, ValueError, "float16"),
    ({"optimizer": "lbfgs"}, ValueError, "lbfgs"),
    ({"loss": "bogus"}, ValueError, "'bogus'"),
    ({"validation_fraction": 1.5}, ValueError, "1.5"),
    ({"lr_schedule": "linear"}, ValueError, "linear"),
])
def test_bad_parameters_raise_in_fit(data, params, exc, pattern):
    X, y = data
    reg = RNNRegressor(**{**FAST, **params})  # __init__ accepts anything
    with pytest.raises(exc, match=pattern):
        reg.fit(X, y)


def test_fit_without_y_says_y_is_required(data):
    X, _ = data
    with pytest.raises((ValueError, TypeError), match="None"):
        RNNRegressor(**FAST).fit(X, None)


def test_sparse_X_message(data):
    sp = pytest.importorskip("scipy.sparse")
    X, y = data
    with pytest.raises((ValueError, TypeError), match="(?i)sparse"):
        RNNRegressor(**FAST).fit(sp.csr_matrix(X), y)


# ------------------------------------------------------------- threads
def test_n_jobs_does_not_change_predictions(data):
    X, y = data
    common = dict(hidden_size=8, epochs=2, batch_size=64, random_state=0)  # 4 shards of 16
    p1 = RNNRegressor(n_jobs=1, **common).fit(X, y).predict(X)
    p2 = RNNRegressor(n_jobs=2, **common).fit(X, y).predict(X)
    assert np.array_equal(p1, p2)

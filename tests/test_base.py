"""tsrnn.base.ParamsMixin: scikit-learn's parameter protocol without importing scikit-learn."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils import get_tags

from tsrnn import RNNAnomalyDetector, RNNForecaster, RNNRegressor
from tsrnn.base import ParamsMixin


def test_estimator_imports_do_not_import_sklearn():
    code = ("import sys; from tsrnn import RNNForecaster, RNNAnomalyDetector; "
            "print(sorted(m for m in sys.modules if m == 'sklearn' or m.startswith('sklearn.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_repr_shows_changed_parameters_only():
    assert repr(RNNForecaster()) == "RNNForecaster()"
    assert repr(RNNForecaster(hidden_size=5, quantiles=[0.1, 0.9])) == \
        "RNNForecaster(hidden_size=5, quantiles=[0.1, 0.9])"
    # a value equal to the default is not shown; one of another type is
    assert "epochs=" not in repr(RNNAnomalyDetector(epochs=RNNAnomalyDetector().epochs))
    assert "epochs=30.0" in repr(RNNAnomalyDetector(epochs=30.0))
    arr = np.array([0.1, 0.9])
    assert "quantiles=array" in repr(RNNForecaster(quantiles=arr))   # no ambiguous-truth error


def test_set_params_checks_names_and_returns_self():
    f = RNNForecaster()
    assert f.set_params(hidden_size=7, window=9) is f
    assert (f.hidden_size, f.window) == (7, 9)
    assert f.set_params() is f
    with pytest.raises(ValueError, match="Invalid parameter 'hiden_size' for estimator RNNForecaster"):
        f.set_params(hiden_size=3)


class _Inner(ParamsMixin):
    def __init__(self, a=1, b=2):
        self.a = a
        self.b = b


class _Outer(ParamsMixin):
    def __init__(self, inner=None, c=3):
        self.inner = inner
        self.c = c


def test_nested_params_and_clone():
    o = _Outer(inner=_Inner(a=5))
    p = o.get_params()
    assert p["inner__a"] == 5 and p["inner__b"] == 2 and p["c"] == 3
    assert "inner__a" not in o.get_params(deep=False)
    o.set_params(inner__b=8, c=4)
    assert o.inner.b == 8 and o.c == 4
    c = clone(o)
    assert c is not o and c.inner is not o.inner and c.get_params()["inner__b"] == 8


def test_args_constructor_is_refused():
    class Bad(ParamsMixin):
        def __init__(self, *args):
            self.args = args

    with pytest.raises(RuntimeError, match=r"\*args"):
        Bad().get_params()


def test_html_repr_and_tags():
    html = RNNAnomalyDetector(window=8)._repr_html_()
    assert "RNNAnomalyDetector" in html
    tags = get_tags(RNNForecaster())
    assert tags.target_tags.required is False
    # the regressor keeps scikit-learn's own base class and tags
    assert get_tags(RNNRegressor()).estimator_type == "regressor"


def test_check_random_state_matches_sklearn():
    from sklearn.utils import check_random_state as sk

    from tsrnn.base import check_random_state

    assert check_random_state(None) is sk(None)
    assert check_random_state(3).randint(1000) == sk(3).randint(1000)
    rs = np.random.RandomState(1)
    assert check_random_state(rs) is rs
    for bad in ("a", 1.5, True):
        with pytest.raises(ValueError, match="cannot be used to seed"):
            check_random_state(bad)


def test_not_fitted_error_is_sklearns():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="This RNNAnomalyDetector instance is not fitted yet"):
        RNNAnomalyDetector().decision_function(np.zeros(50))

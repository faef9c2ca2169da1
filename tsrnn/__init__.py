"""tsrnn: recurrent neural networks for time series, with Numba kernels.

The estimators are imported lazily so that ``import tsrnn`` stays fast.
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "RNNAnomalyDetector": "tsrnn.anomaly",
    "RNNForecaster": "tsrnn.forecast",
    "RNNRegressor": "tsrnn.regressor",
    "load": "tsrnn.io",
    "Network": "tsrnn.nn.network",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tsrnn' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

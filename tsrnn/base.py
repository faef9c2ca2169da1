"""What every tsrnn estimator shares: the common parameters, their validation,
building the network and the trainer, and the fitted training history.

:class:`ParamsMixin` is scikit-learn's estimator protocol (``get_params``,
``set_params``, the changed-parameters ``repr``, the notebook HTML view, tags)
written out so that importing the forecaster or the detector does not import
scikit-learn: ``sklearn.base`` pulls in SciPy, ~0.5 s of the 1.0 s an estimator
import took (benchmarks/RESULTS.md).  scikit-learn is imported when a
scikit-learn function is actually used (``clone`` works on any object with
``get_params``).  :class:`~tsrnn.RNNRegressor` keeps scikit-learn's own
``BaseEstimator`` (``check_estimator`` asks for it).
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

from tsrnn._checks import check_choice, check_dtype, check_float, check_int
from tsrnn._threading import resolve_n_jobs
from tsrnn.nn.network import CELLS, Network
from tsrnn.nn.trainer import NAN_POLICIES, Trainer

#: options of the Jordan / IndRNN cells an estimator passes to Network
CELL_OPTIONS = ("feedback", "residual", "recurrent_max")

DEVICES = ("cpu", "cuda", "auto")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


def resolve_device(device) -> str:
    """Validate ``device`` and return the backend that will run ("cpu" for now).

    The estimators train on the CPU in this version: ``"auto"`` resolves to the CPU,
    and ``"cuda"`` raises a ValueError that says what is missing on this machine
    (:func:`tsrnn.cuda.cuda_status`) or, on a usable GPU, that only the low-level
    :class:`tsrnn.cuda.CudaRunner` runs there yet.
    """
    device = check_choice(device, "device", DEVICES)
    if device == "cuda":
        from tsrnn.cuda import cuda_status

        usable, reason = cuda_status()
        if not usable:
            raise ValueError(f"device='cuda' is not usable here: {reason}. Use device='cpu' or "
                             f"device='auto'")
        raise ValueError(
            f"device='cuda': a GPU is usable ({reason}), but the estimators do not train on it "
            f"in this version; tsrnn.cuda.CudaRunner trains a tsrnn.nn.Network on the GPU. "
            f"Use device='cpu' or device='auto' here")
    return "cpu"


def check_dtype_range(values, dtype, name="y"):
    """Refuse (scaled) values that do not fit the compute dtype, before a cast turns
    them into inf (and a misleading 'contains infinite values' error)."""
    import numpy as np

    dt = check_dtype(dtype)
    if dt == np.float64 or values.size == 0:
        return
    top = float(np.max(np.abs(values)))
    if top > float(np.finfo(dt).max):
        raise ValueError(
            f"{name} reaches {top:.3g} after scaling, beyond the {dt.name} range "
            f"({float(np.finfo(dt).max):.3g}); use a scaler (e.g. scaler='standard'), rescale the "
            f"data or pass dtype='float64'")


def check_is_fitted(estimator, attributes):
    """scikit-learn's ``check_is_fitted`` for named fitted attributes: raises its
    ``NotFittedError`` (same message) when one is missing; scikit-learn is imported
    only then, so a fitted model predicts without importing it."""
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    if not all(hasattr(estimator, name) for name in names):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. Call "
                             f"'fit' with appropriate arguments before using this estimator.")


def check_random_state(seed):
    """scikit-learn's ``check_random_state`` without importing it: None -> NumPy's global
    RandomState, an int -> a new RandomState, a RandomState -> itself; anything else
    (bools included, which scikit-learn would take as 0 or 1) is a ValueError."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


class ParamsMixin:
    """scikit-learn's parameter protocol without importing scikit-learn.

    Parameters are the arguments of ``__init__``, stored unchanged as attributes
    of the same name (validated at ``fit``), as scikit-learn requires.
    """

    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}.__init__ must not take *args (scikit-learn's "
                                   f"estimator convention)")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep=True):
        """Parameters of this estimator (``deep``: also those of nested estimators, as ``name__param``).

        Returns
        -------
        dict
        """
        out = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params):
        """Set parameters (``name`` or ``nested__name``); returns ``self``.

        Raises
        ------
        ValueError
            For a name that is not a parameter of this estimator.
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            name, delim, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {self._get_param_names()!r}.")
            if delim:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def _changed_params(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = {}
        for key, value in self.get_params(deep=False).items():
            default = defaults.get(key, inspect.Parameter.empty)
            try:
                same = value is default or (type(value) is type(default) and bool(value == default))
            except Exception:   # arrays and other objects without a boolean ==
                same = False
            if not same:
                changed[key] = value
        return changed

    def __repr__(self):
        items = ", ".join(f"{k}={v!r}" for k, v in self._changed_params().items())
        return f"{type(self).__name__}({items})"

    def _repr_html_(self):
        """Notebook view: scikit-learn's estimator diagram (imports scikit-learn when displayed)."""
        try:
            try:
                from sklearn.utils._repr_html.estimator import estimator_html_repr
            except ImportError:   # scikit-learn < 1.7
                from sklearn.utils._estimator_html_repr import estimator_html_repr
            return estimator_html_repr(self)
        except Exception:   # a private scikit-learn helper: fall back to the plain repr
            import html

            return f"<pre>{html.escape(repr(self))}</pre>"

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False))


class RNNEstimatorMixin(ParamsMixin):
    """Shared plumbing (validation of the common parameters, network, trainer)."""

    def _validate_common(self):
        check_choice(self.cell, "cell", CELLS)
        check_int(self.hidden_size, "hidden_size", minimum=1)
        check_int(self.num_layers, "num_layers", minimum=1)
        check_int(self.epochs, "epochs", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_float(self.learning_rate, "learning_rate", minimum=0.0, strict_min=True)
        if isinstance(self.optimizer, str):
            check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_float(self.clip_grad_norm, "clip_grad_norm", minimum=0.0, strict_min=True, allow_none=True)
        check_int(self.early_stopping, "early_stopping", minimum=1, allow_none=True)
        check_float(self.validation_fraction, "validation_fraction", minimum=0.0, maximum=0.9)
        check_dtype(self.dtype)
        check_choice(self.nan_policy, "nan_policy", NAN_POLICIES)
        if self.n_jobs is not None:
            resolve_n_jobs(self.n_jobs)
        bidirectional = getattr(self, "bidirectional", False)
        if not isinstance(bidirectional, bool) and type(bidirectional).__name__ != "bool_":
            raise TypeError(f"bidirectional must be True or False, got {bidirectional!r}")
        opts = getattr(self, "cell_options", None)
        if opts is not None:
            if not isinstance(opts, dict):
                raise TypeError(f"cell_options must be a dict or None, got {type(opts).__name__}")
            unknown = set(opts) - set(CELL_OPTIONS)
            if unknown:
                raise ValueError(f"cell_options has unknown key(s) {sorted(unknown)}; known: "
                                 f"{', '.join(CELL_OPTIONS)} (see tsrnn.nn.Network)")
        self.device_ = resolve_device(self.device)

    def _build_network(self, input_size, output_size, return_sequences=False):
        return Network(input_size=input_size, hidden_size=self.hidden_size, cell=self.cell,
                       num_layers=self.num_layers, output_size=output_size,
                       return_sequences=return_sequences, nonlinearity=self.nonlinearity,
                       init=self.init, forget_bias=self.forget_bias, dtype=self.dtype,
                       random_state=self._seed(0), n_jobs=self.n_jobs,
                       bidirectional=bool(getattr(self, "bidirectional", False)),
                       **(getattr(self, "cell_options", None) or {}))

    def _seed(self, offset):
        """Derive independent integer seeds from ``random_state`` (int/None/RandomState)."""
        if getattr(self, "_seed_base", None) is None:
            self._seed_base = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        return (self._seed_base + 7919 * offset) % (2**31 - 1)

    def _build_trainer(self, network, **overrides):
        kwargs = dict(loss=self.loss, optimizer=self.optimizer, learning_rate=self.learning_rate,
                      epochs=self.epochs, batch_size=self.batch_size, lr_schedule=self.lr_schedule,
                      clip_grad_norm=self.clip_grad_norm, early_stopping=self.early_stopping,
                      nan_policy=self.nan_policy, verbose=self.verbose,
                      random_state=self._seed(1), n_jobs=self.n_jobs)
        kwargs.update(overrides)
        return Trainer(network, **kwargs)

    def _store_history(self, hist):
        self.loss_curve_ = list(hist.loss_curve)
        self.validation_loss_curve_ = list(hist.validation_loss_curve)
        self.best_epoch_ = hist.best_epoch
        self.n_iter_ = hist.n_epochs
        self.epoch_times_ = list(hist.epoch_times)
        self.stopped_early_ = hist.stopped_early
        self.interrupted_ = hist.interrupted
        self.diverged_ = hist.diverged

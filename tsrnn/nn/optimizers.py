"""Optimizers on a flat parameter vector, and gradient clipping.

Each optimizer owns its state arrays (same length and dtype as the flat
parameter vector) and updates the parameters in place through the Numba
kernels of :mod:`tsrnn.kernels.optim`.  The learning rate is passed to every
:meth:`step` so an LR schedule (:mod:`tsrnn.nn.schedules`) can drive it.

The update rules are those of ``torch.optim.SGD``, ``Adam``, ``AdamW`` and
``RMSprop`` (same hyper-parameter names and defaults); state is saved as plain
numbers and NumPy arrays (:meth:`state_dict`), so checkpoints need no pickle.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from tsrnn._checks import check_interval

from tsrnn.kernels import optim as _k

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "OPTIMIZERS",
    "make_optimizer",
    "clip_gradients",
]

# shared zero-length stand-ins for unused buffers (never written to)
_EMPTY = {np.dtype(np.float32): np.zeros(0, np.float32),
          np.dtype(np.float64): np.zeros(0, np.float64)}


# --------------------------------------------------------------------------- validation


def _check_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def _check_n_params(n_params):
    if isinstance(n_params, bool) or not isinstance(n_params, numbers.Integral) or n_params < 0:
        raise ValueError(f"n_params must be a non-negative integer, got {n_params!r}")
    return int(n_params)


def _check_float(name, value, low=0.0, high=None, low_inclusive=True, high_inclusive=False):
    """Return ``float(value)`` after checking it is a finite real in the given range."""
    return check_interval(name, value, low=low, low_inclusive=low_inclusive, high=high,
                          high_inclusive=high_inclusive)


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_lr(lr):
    # Fast path for the per-step call.
    if type(lr) is float and lr >= 0.0 and lr != math.inf:
        return lr
    return _check_float("lr", lr)


# --------------------------------------------------------------------------- base class


class Optimizer:
    """Base class: state arrays for ``n_params`` parameters of one dtype.

    Subclasses define ``name``, ``_hyper`` (hyper-parameter names saved in the
    state dict), ``_state_arrays`` (array attribute names) and ``_step``.
    """

    name = "optimizer"
    _hyper: tuple = ()
    _state_arrays: tuple = ()

    def __init__(self, n_params, dtype="float32"):
        self.n_params = _check_n_params(n_params)
        self.dtype = _check_dtype(dtype)
        self.step_count = 0

    # -- helpers ---------------------------------------------------------------------
    def _zeros(self, used=True):
        if used:
            return np.zeros(self.n_params, self.dtype)
        return _EMPTY[self.dtype]

    def _check_arrays(self, params, grad):
        n = self.n_params
        dt = self.dtype
        for label, a in (("params", params), ("grad", grad)):
            if (
                not isinstance(a, np.ndarray)
                or a.ndim != 1
                or a.shape[0] != n
                or a.dtype != dt
            ):
                raise ValueError(
                    f"{label} must be a 1-D {dt} array of length {n} "
                    f"(this optimizer's n_params and dtype), got "
                    f"{type(a).__name__} with shape {getattr(a, 'shape', None)} "
                    f"and dtype {getattr(a, 'dtype', None)}"
                )

    # -- public API ------------------------------------------------------------------
    def step(self, params, grad, lr):
        """Update ``params`` in place with gradient ``grad`` and learning rate ``lr``.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            Flat parameter vector (updated in place).
        grad : ndarray of shape (n_params,)
            Gradient of the loss; not modified.
        lr : float
            Learning rate for this step (>= 0).
        """
        lr = _check_lr(lr)
        self._check_arrays(params, grad)
        self.step_count += 1
        self._step(params, grad, lr)

    def _step(self, params, grad, lr):  # pragma: no cover - abstract
        raise NotImplementedError

    def reset(self):
        """Forget all state (buffers to zero, step count to 0)."""
        self.step_count = 0
        for name in self._state_arrays:
            getattr(self, name).fill(0)

    def hyper_parameters(self):
        """Dict of the hyper-parameters (plain Python values)."""
        out = {}
        for h in self._hyper:
            v = getattr(self, h)
            out[h] = tuple(v) if isinstance(v, tuple) else v
        return out

    def state_dict(self):
        """State as a dict of plain numbers, strings and NumPy arrays (no pickle needed).

        Arrays are copies.  Keys: ``"name"``, ``"n_params"``, ``"dtype"``,
        ``"step"``, the hyper-parameters, and one array per state buffer.
        """
        d = {
            "name": self.name,
            "n_params": self.n_params,
            "dtype": self.dtype.name,
            "step": self.step_count,
        }
        for h, v in self.hyper_parameters().items():
            d[h] = list(v) if isinstance(v, tuple) else v
        for a in self._state_arrays:
            d[a] = getattr(self, a).copy()
        return d

    def load_state_dict(self, state):
        """Restore state saved by :meth:`state_dict` (hyper-parameters included).

        Arrays are copied (and cast to this optimizer's dtype).  Raises
        ``ValueError`` when the optimizer name or the number of parameters
        differs, or when a key is missing.
        """
        if not isinstance(state, dict):
            raise ValueError(f"state must be a dict from state_dict(), got {type(state).__name__}")
        name = str(np.asarray(state.get("name")).item())
        if name != self.name:
            raise ValueError(f"state is for optimizer {name!r}, cannot load it into {self.name!r}")
        missing = [k for k in ("n_params", "step", *self._hyper, *self._state_arrays)
                   if k not in state]
        if missing:
            raise ValueError(
                f"optimizer state is missing keys {missing}; got keys {sorted(state)}"
            )
        n = int(state["n_params"])
        if n != self.n_params:
            raise ValueError(
                f"state is for {n} parameters, this optimizer has n_params={self.n_params}"
            )
        step = int(state["step"])
        if step < 0:
            raise ValueError(f"step must be >= 0, got {state['step']!r}")
        # validate the hyper-parameters (and size the buffers) through the constructor
        hyper = {}
        for h in self._hyper:
            v = state[h]
            if isinstance(v, np.ndarray):  # e.g. read back from an .npz file
                v = v.item() if v.ndim == 0 else v.tolist()
            hyper[h] = v
        fresh = type(self)(self.n_params, self.dtype, **hyper)
        for a in self._state_arrays:
            arr = np.asarray(state[a])
            target = getattr(fresh, a)
            if arr.shape != target.shape:
                raise ValueError(
                    f"state array {a!r} has shape {arr.shape}, expected {target.shape}"
                )
            if target.size:
                target[...] = arr
        for h in self._hyper:
            setattr(self, h, getattr(fresh, h))
        for a in self._state_arrays:
            setattr(self, a, getattr(fresh, a))
        self.step_count = step

    def __repr__(self):
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyper_parameters().items())
        return f"{type(self).__name__}(n_params={self.n_params}, dtype={self.dtype.name!r}, {hp})"


# --------------------------------------------------------------------------- optimizers


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    Parameters
    ----------
    n_params : int
        Length of the flat parameter vector.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of the momentum buffer.
    momentum : float, default 0.0
        Momentum factor (>= 0).
    dampening : float, default 0.0
        Dampening for momentum.
    nesterov : bool, default False
        Nesterov momentum (requires ``momentum > 0`` and ``dampening == 0``).
    weight_decay : float, default 0.0
        L2 penalty added to the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.nn.optimizers import SGD
    >>> opt = SGD(3, dtype="float64", momentum=0.9)
    >>> w = np.array([1.0, -2.0, 0.5])
    >>> opt.step(w, np.array([0.5, 0.5, -1.0]), lr=0.1)
    >>> w
    array([ 0.95, -2.05,  0.6 ])
    """

    name = "sgd"
    _hyper = ("momentum", "dampening", "nesterov", "weight_decay")
    _state_arrays = ("momentum_buffer",)

    def __init__(self, n_params, dtype="float32", momentum=0.0, dampening=0.0,
                 nesterov=False, weight_decay=0.0):
        super().__init__(n_params, dtype)
        self.momentum = _check_float("momentum", momentum)
        self.dampening = _check_float("dampening", dampening, low=None)
        self.nesterov = _check_bool("nesterov", nesterov)
        self.weight_decay = _check_float("weight_decay", weight_decay)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError(
                "nesterov=True requires momentum > 0 and dampening == 0, got "
                f"momentum={momentum!r}, dampening={dampening!r}"
            )
        self.momentum_buffer = self._zeros(self.momentum != 0.0)

    def _step(self, params, grad, lr):
        _k.sgd_step(params, grad, self.momentum_buffer, lr, self.momentum, self.dampening,
                    self.nesterov, self.weight_decay, self.step_count == 1)


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (weight decay as an L2 term in the gradient).

    Parameters
    ----------
    n_params : int
        Length of the flat parameter vector.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of the moment estimates.
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the first and second moment estimates, each in [0, 1).
    eps : float, default 1e-8
        Added to the denominator for numerical stability.
    weight_decay : float, default 0.0
        L2 penalty added to the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.nn.optimizers import Adam
    >>> opt = Adam(2, dtype="float64")
    >>> w = np.zeros(2)
    >>> opt.step(w, np.array([3.0, -0.5]), lr=0.01)   # first step moves by ~lr
    >>> np.round(w, 6)
    array([-0.01,  0.01])
    """

    name = "adam"
    _hyper = ("betas", "eps", "weight_decay")
    _state_arrays = ("exp_avg", "exp_avg_sq")
    _decoupled = False

    def __init__(self, n_params, dtype="float32", betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0):
        super().__init__(n_params, dtype)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (_check_float("betas[0]", b1, high=1.0),
                      _check_float("betas[1]", b2, high=1.0))
        self.eps = _check_float("eps", eps)
        self.weight_decay = _check_float("weight_decay", weight_decay)
        self.exp_avg = self._zeros()
        self.exp_avg_sq = self._zeros()

    def _step(self, params, grad, lr):
        b1, b2 = self.betas
        _k.adam_step(params, grad, self.exp_avg, self.exp_avg_sq, self.step_count, lr,
                     b1, b2, self.eps, self.weight_decay, self._decoupled)


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW`` (decoupled weight decay).

    Same parameters as :class:`Adam`, except ``weight_decay`` defaults to 0.01
    and shrinks the parameters by ``1 - lr * weight_decay`` before each update.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.nn.optimizers import AdamW
    >>> opt = AdamW(2, dtype="float64", weight_decay=0.1)
    >>> w = np.ones(2)
    >>> opt.step(w, np.zeros(2), lr=0.5)   # zero gradient: only the decay acts
    >>> w
    array([0.95, 0.95])
    """

    name = "adamw"
    _decoupled = True

    def __init__(self, n_params, dtype="float32", betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=1e-2):
        super().__init__(n_params, dtype, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Parameters
    ----------
    n_params : int
        Length of the flat parameter vector.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the parameters and of the state.
    alpha : float, default 0.99
        Smoothing constant of the squared-gradient average, in [0, 1].
    eps : float, default 1e-8
        Added to the denominator for numerical stability.
    weight_decay : float, default 0.0
        L2 penalty added to the gradient.
    momentum : float, default 0.0
        Momentum factor (>= 0).
    centered : bool, default False
        Normalise by an estimate of the gradient's variance instead of its
        second moment.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.nn.optimizers import RMSprop
    >>> opt = RMSprop(2, dtype="float64", alpha=0.75, eps=0.0)
    >>> w = np.zeros(2)
    >>> opt.step(w, np.array([2.0, -2.0]), lr=0.1)   # g / sqrt(0.25 * g**2) = 2 sign(g)
    >>> w
    array([-0.2,  0.2])
    """

    name = "rmsprop"
    _hyper = ("alpha", "eps", "weight_decay", "momentum", "centered")
    _state_arrays = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, n_params, dtype="float32", alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False):
        super().__init__(n_params, dtype)
        self.alpha = _check_float("alpha", alpha, high=1.0, high_inclusive=True)
        self.eps = _check_float("eps", eps)
        self.weight_decay = _check_float("weight_decay", weight_decay)
        self.momentum = _check_float("momentum", momentum)
        self.centered = _check_bool("centered", centered)
        self.square_avg = self._zeros()
        self.momentum_buffer = self._zeros(self.momentum > 0.0)
        self.grad_avg = self._zeros(self.centered)

    def _step(self, params, grad, lr):
        _k.rmsprop_step(params, grad, self.square_avg, self.momentum_buffer, self.grad_avg,
                        lr, self.alpha, self.eps, self.momentum, self.centered,
                        self.weight_decay)


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def make_optimizer(name, n_params, dtype="float32", **kwargs):
    """Build an optimizer from its name, or check and return an instance.

    Parameters
    ----------
    name : {"sgd", "adam", "adamw", "rmsprop"} or Optimizer
        Case-insensitive name, or an :class:`Optimizer` instance (returned
        as-is after checking its ``n_params`` and ``dtype``).
    n_params : int
        Length of the flat parameter vector.
    dtype : {"float32", "float64"}, default "float32"
    **kwargs
        Hyper-parameters of the chosen optimizer (torch names: ``momentum``,
        ``nesterov``, ``betas``, ``eps``, ``weight_decay``, ``alpha``,
        ``centered``, ...).

    Returns
    -------
    Optimizer

    Examples
    --------
    >>> from tsrnn.nn.optimizers import make_optimizer
    >>> make_optimizer("AdamW", 10, "float64", weight_decay=0.0)
    AdamW(n_params=10, dtype='float64', betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)
    >>> make_optimizer("lbfgs", 10)
    Traceback (most recent call last):
    ...
    ValueError: optimizer must be one of 'sgd', 'adam', 'adamw', 'rmsprop' or an Optimizer instance, got 'lbfgs'
    """
    allowed = ", ".join(repr(k) for k in OPTIMIZERS)
    if isinstance(name, Optimizer):
        if kwargs:
            raise ValueError(
                f"optimizer hyper-parameters {sorted(kwargs)} cannot be applied to an "
                f"optimizer instance ({name!r}); set them when constructing it, or pass "
                "the optimizer by name"
            )
        n = _check_n_params(n_params)
        dt = _check_dtype(dtype)
        if name.n_params != n or name.dtype != dt:
            raise ValueError(
                f"optimizer instance was built for n_params={name.n_params}, "
                f"dtype={name.dtype.name!r}, but the network has n_params={n}, "
                f"dtype={dt.name!r}; build it with those values or pass the optimizer by name"
            )
        return name
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {allowed} or an Optimizer instance, got {name!r}"
        )
    cls = OPTIMIZERS[name.lower()]
    bad = [k for k in kwargs if k not in cls._hyper]
    if bad:
        raise ValueError(
            f"unknown hyper-parameter(s) {bad} for optimizer {name!r}; "
            f"allowed: {list(cls._hyper)}"
        )
    return cls(n_params, dtype, **kwargs)


# --------------------------------------------------------------------------- clipping


def clip_gradients(grad, clip_grad_norm=None, clip_value=None):
    """Clip a flat gradient in place; return its global L2 norm before clipping.

    Norm clipping follows ``torch.nn.utils.clip_grad_norm_``: when
    ``clip_grad_norm / (norm + 1e-6) < 1`` the gradient is scaled by that
    factor.  Value clipping follows ``torch.nn.utils.clip_grad_value_`` and is
    applied after norm clipping.  The norm is accumulated in float64 in a fixed
    order (bitwise reproducible).  When the norm is not finite the gradient is
    left untouched; test ``math.isfinite`` on the returned value to skip the
    step (NaN guard).

    Parameters
    ----------
    grad : ndarray of shape (n,), float32 or float64
        Flat gradient (modified in place).
    clip_grad_norm : float or None
        Maximum global L2 norm (> 0), or None for no norm clipping.
    clip_value : float or None
        Maximum absolute value of each element (> 0), or None.

    Returns
    -------
    float
        Global L2 norm of ``grad`` before clipping.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.nn.optimizers import clip_gradients
    >>> g = np.array([3.0, 4.0])
    >>> clip_gradients(g, clip_grad_norm=1.0)
    5.0
    >>> np.round(g, 6)
    array([0.6, 0.8])
    """
    if not isinstance(grad, np.ndarray) or grad.ndim != 1 or grad.dtype not in _EMPTY:
        raise ValueError(
            "grad must be a 1-D float32 or float64 array, got "
            f"{type(grad).__name__} with shape {getattr(grad, 'shape', None)} "
            f"and dtype {getattr(grad, 'dtype', None)}"
        )
    norm = float(_k.grad_global_norm(grad))
    if clip_grad_norm is not None:
        max_norm = _check_float("clip_grad_norm", clip_grad_norm, low_inclusive=False)
        if math.isfinite(norm):
            factor = max_norm / (norm + 1e-6)
            if factor < 1.0:
                _k.scale_inplace(grad, factor)
    if clip_value is not None:
        cv = _check_float("clip_value", clip_value, low_inclusive=False)
        _k.clip_by_value(grad, cv)
    return norm

"""Learning-rate schedules, driven once per epoch from the Python training loop.

A schedule holds the current learning rate in :attr:`Schedule.lr`; the trainer
reads it before every optimizer step and calls :meth:`Schedule.step` once at the
*end* of each epoch (with the validation loss, which :class:`ReduceLROnPlateau`
needs and the others ignore).  The rules are those of
``torch.optim.lr_scheduler`` (``StepLR``, ``CosineAnnealingLR`` in closed form,
``ReduceLROnPlateau``).

``base_lr`` is a keyword argument of every schedule.  It may be left out when
the schedule is handed to :func:`make_schedule` (for instance through an
estimator's parameters): the factory then binds the estimator's learning rate
to a fresh copy, so the object the user passed is never modified.
"""

from __future__ import annotations

import copy
import math
import numbers

from tsrnn._checks import check_interval

__all__ = [
    "Schedule",
    "ConstantLR",
    "StepLR",
    "CosineLR",
    "ReduceLROnPlateau",
    "SCHEDULES",
    "make_schedule",
]


_check_real = check_interval


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


class Schedule:
    """Base class of the learning-rate schedules.

    Subclasses set ``name`` and ``_params`` (constructor parameter names saved
    in the state dict) and implement ``_compute_lr`` (closed form of the epoch
    count) or override :meth:`step`.
    """

    name = "schedule"
    _params: tuple = ()

    def __init__(self, *, base_lr=None):
        self.base_lr = None if base_lr is None else _check_real("base_lr", base_lr, low=0.0)
        self.last_epoch = 0

    # -- public API ------------------------------------------------------------------
    @property
    def lr(self):
        """Learning rate to use during the current epoch."""
        self._require_base_lr()
        return self._compute_lr()

    def step(self, metric=None):
        """Advance one epoch; call at the end of each epoch (``metric`` is ignored)."""
        self.last_epoch += 1

    def reset(self):
        """Go back to epoch 0 (the learning rate returns to ``base_lr``)."""
        self.last_epoch = 0

    def state_dict(self):
        """State as a dict of plain numbers and strings."""
        d = {"name": self.name, "base_lr": self.base_lr, "last_epoch": self.last_epoch}
        for p in self._params:
            d[p] = getattr(self, p)
        return d

    def load_state_dict(self, state):
        """Restore a state saved by :meth:`state_dict` (parameters included)."""
        if not isinstance(state, dict):
            raise ValueError(f"state must be a dict from state_dict(), got {type(state).__name__}")
        name = str(_plain(state.get("name")))
        if name != self.name:
            raise ValueError(f"state is for schedule {name!r}, cannot load it into {self.name!r}")
        missing = [k for k in ("base_lr", "last_epoch", *self._params) if k not in state]
        if missing:
            raise ValueError(f"schedule state is missing keys {missing}; got keys {sorted(state)}")
        base_lr = state["base_lr"]
        fresh = type(self)(**{p: _plain(state[p]) for p in self._params},
                           base_lr=None if base_lr is None else _plain(base_lr))
        for p in (*self._params, "base_lr"):
            setattr(self, p, getattr(fresh, p))
        self.last_epoch = _check_int("last_epoch", _plain(state["last_epoch"]), 0)

    # -- helpers ---------------------------------------------------------------------
    def _require_base_lr(self):
        if self.base_lr is None:
            raise RuntimeError(
                f"{type(self).__name__} has no base_lr; construct it with base_lr=... "
                "or pass it through make_schedule(spec, base_lr, epochs)"
            )

    def _compute_lr(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        args = [f"{p}={getattr(self, p)!r}" for p in self._params]
        args.append(f"base_lr={self.base_lr!r}")
        return f"{type(self).__name__}({', '.join(args)})"


def _plain(v):
    """0-d NumPy arrays / scalars (e.g. read back from an .npz) to Python values."""
    item = getattr(v, "item", None)
    if item is not None and getattr(v, "ndim", None) == 0:
        return item()
    return v


class ConstantLR(Schedule):
    """Keep the learning rate at ``base_lr``.

    Examples
    --------
    >>> from tsrnn.nn.schedules import ConstantLR
    >>> s = ConstantLR(base_lr=0.01)
    >>> s.step(); s.lr
    0.01
    """

    name = "constant"

    def _compute_lr(self):
        return self.base_lr


class StepLR(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs (``torch`` ``StepLR``).

    ``lr = base_lr * gamma ** (epoch // step_size)``.

    Parameters
    ----------
    step_size : int
        Period of the decay, in epochs (>= 1).
    gamma : float, default 0.1
        Multiplicative factor (> 0).
    base_lr : float, optional
        Initial learning rate.

    Examples
    --------
    >>> from tsrnn.nn.schedules import StepLR
    >>> s = StepLR(2, gamma=0.5, base_lr=1.0)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(s.lr)
    ...     s.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    name = "step"
    _params = ("step_size", "gamma")

    def __init__(self, step_size, gamma=0.1, *, base_lr=None):
        super().__init__(base_lr=base_lr)
        self.step_size = _check_int("step_size", step_size, 1)
        self.gamma = _check_real("gamma", gamma, low=0.0, low_inclusive=False)

    def _compute_lr(self):
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)


class CosineLR(Schedule):
    """Cosine annealing from ``base_lr`` to ``eta_min`` over ``T_max`` epochs.

    Closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR``::

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    (past ``T_max`` the cosine continues, as in PyTorch).

    Parameters
    ----------
    T_max : int
        Half period, in epochs (>= 1); :func:`make_schedule` uses ``epochs``.
    eta_min : float, default 0.0
        Minimum learning rate (>= 0).
    base_lr : float, optional
        Initial learning rate.

    Examples
    --------
    >>> from tsrnn.nn.schedules import CosineLR
    >>> s = CosineLR(4, base_lr=1.0)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(round(s.lr, 4))
    ...     s.step()
    >>> lrs
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    name = "cosine"
    _params = ("T_max", "eta_min")

    def __init__(self, T_max, eta_min=0.0, *, base_lr=None):
        super().__init__(base_lr=base_lr)
        self.T_max = _check_int("T_max", T_max, 1)
        self.eta_min = _check_real("eta_min", eta_min, low=0.0)

    def _compute_lr(self):
        return self.eta_min + (self.base_lr - self.eta_min) * (
            1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2


class ReduceLROnPlateau(Schedule):
    """Reduce the learning rate when a metric stops improving (``torch`` ``ReduceLROnPlateau``).

    After more than ``patience`` epochs without improvement the learning rate
    is multiplied by ``factor`` (not below ``min_lr``; changes smaller than
    ``eps`` are ignored), then ``cooldown`` epochs pass before bad epochs are
    counted again.  An improvement means ``metric < best * (1 - threshold)``
    in ``mode="min"`` with ``threshold_mode="rel"`` (``best * (1 + threshold)``
    and ``>`` in ``mode="max"``; ``best -/+ threshold`` with
    ``threshold_mode="abs"``).  A NaN metric counts as a bad epoch.

    Parameters
    ----------
    factor : float, default 0.1
        Multiplicative factor, in (0, 1).
    patience : int, default 10
        Number of bad epochs tolerated before reducing.
    threshold : float, default 1e-4
        Minimal significant change (>= 0).
    mode : {"min", "max"}, default "min"
    cooldown : int, default 0
    min_lr : float, default 0.0
    threshold_mode : {"rel", "abs"}, default "rel"
    eps : float, default 1e-8
    base_lr : float, optional
        Initial learning rate.

    Examples
    --------
    >>> from tsrnn.nn.schedules import ReduceLROnPlateau
    >>> s = ReduceLROnPlateau(factor=0.5, patience=1, base_lr=1.0)
    >>> for val_loss in [1.0, 0.9, 0.95, 0.97, 0.96]:
    ...     s.step(val_loss)
    >>> s.lr
    0.5
    """

    name = "plateau"
    _params = ("factor", "patience", "threshold", "mode", "cooldown", "min_lr",
               "threshold_mode", "eps")

    def __init__(self, factor=0.1, patience=10, threshold=1e-4, mode="min", cooldown=0,
                 min_lr=0.0, threshold_mode="rel", eps=1e-8, *, base_lr=None):
        super().__init__(base_lr=base_lr)
        self.factor = _check_real("factor", factor, low=0.0, low_inclusive=False, high=1.0)
        self.patience = _check_int("patience", patience, 0)
        self.threshold = _check_real("threshold", threshold, low=0.0)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.mode = mode
        self.cooldown = _check_int("cooldown", cooldown, 0)
        self.min_lr = _check_real("min_lr", min_lr, low=0.0)
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.threshold_mode = threshold_mode
        self.eps = _check_real("eps", eps, low=0.0)
        self._reset_state()

    def _reset_state(self):
        self.current_lr = self.base_lr
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def reset(self):
        super().reset()
        self._reset_state()

    def _compute_lr(self):
        return self.base_lr if self.current_lr is None else self.current_lr

    def _is_better(self, a, best):
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metric=None):
        """Advance one epoch given the epoch's validation ``metric`` (required)."""
        if metric is None:
            raise ValueError(
                "ReduceLROnPlateau.step needs the epoch's metric (e.g. the validation "
                "loss), got None; use a validation split or another schedule"
            )
        self._require_base_lr()
        try:
            current = float(metric)
        except (TypeError, ValueError):
            raise ValueError(f"metric must be a real number, got {metric!r}") from None
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            old = self.current_lr
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self.current_lr = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def state_dict(self):
        d = super().state_dict()
        d.update(current_lr=self.current_lr, best=self.best,
                 num_bad_epochs=self.num_bad_epochs, cooldown_counter=self.cooldown_counter)
        return d

    def load_state_dict(self, state):
        extra = ("current_lr", "best", "num_bad_epochs", "cooldown_counter")
        if isinstance(state, dict):
            missing = [k for k in extra if k not in state]
            if missing:
                raise ValueError(
                    f"schedule state is missing keys {missing}; got keys {sorted(state)}"
                )
        super().load_state_dict(state)
        cur = _plain(state["current_lr"])
        self.current_lr = None if cur is None else _check_real("current_lr", cur, low=0.0)
        self.best = _check_real("best", _plain(state["best"]), allow_inf=True)
        self.num_bad_epochs = _check_int("num_bad_epochs", _plain(state["num_bad_epochs"]), 0)
        self.cooldown_counter = _check_int("cooldown_counter",
                                           _plain(state["cooldown_counter"]), 0)


SCHEDULES = {"constant": ConstantLR, "step": StepLR, "cosine": CosineLR,
             "plateau": ReduceLROnPlateau}


def _defaults(name, epochs):
    if name == "step":
        return {"step_size": max(1, epochs // 3)}
    if name == "cosine":
        return {"T_max": epochs}
    return {}


def make_schedule(spec, base_lr, epochs):
    """Build the learning-rate schedule of a training run.

    Parameters
    ----------
    spec : None, str, dict or Schedule
        ``None`` or ``"constant"``: constant LR.  ``"step"``: :class:`StepLR`
        with ``step_size = max(1, epochs // 3)`` and ``gamma = 0.1``.
        ``"cosine"``: :class:`CosineLR` with ``T_max = epochs``.
        ``"plateau"``: :class:`ReduceLROnPlateau` with torch's defaults.
        A dict ``{"name": ..., **parameters}`` overrides those defaults.
        A :class:`Schedule` instance is copied and reset (the object passed is
        not modified); its ``base_lr``, when set, takes precedence.
        Names are case-insensitive.
    base_lr : float
        Initial learning rate (the estimator's ``learning_rate``).
    epochs : int
        Number of training epochs.

    Returns
    -------
    Schedule

    Examples
    --------
    >>> from tsrnn.nn.schedules import make_schedule
    >>> make_schedule({"name": "step", "step_size": 10, "gamma": 0.5}, 1e-3, 100)
    StepLR(step_size=10, gamma=0.5, base_lr=0.001)
    >>> make_schedule("cosine", 1e-3, 50)
    CosineLR(T_max=50, eta_min=0.0, base_lr=0.001)
    >>> make_schedule("linear", 1e-3, 50)
    Traceback (most recent call last):
    ...
    ValueError: lr schedule must be None, one of 'constant', 'step', 'cosine', 'plateau', a dict {"name": ..., **parameters} or a Schedule instance, got 'linear'
    """
    base_lr = _check_real("base_lr", base_lr, low=0.0)
    epochs = _check_int("epochs", epochs, 1)
    allowed = ", ".join(repr(k) for k in SCHEDULES)
    expected = (f"None, one of {allowed}, a dict {{\"name\": ..., **parameters}} "
                "or a Schedule instance")
    if isinstance(spec, Schedule):
        sched = copy.deepcopy(spec)
        if sched.base_lr is None:
            sched.base_lr = base_lr
        sched.reset()
        return sched
    if spec is None:
        name, params = "constant", {}
    elif isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict):
        if "name" not in spec:
            raise ValueError(f"lr schedule dict needs a 'name' key ({allowed}), got {spec!r}")
        params = dict(spec)
        name = params.pop("name")
        if not isinstance(name, str):
            raise ValueError(f"lr schedule must be {expected}, got name {name!r}")
    else:
        raise ValueError(f"lr schedule must be {expected}, got {spec!r}")
    key = name.lower()
    if key not in SCHEDULES:
        raise ValueError(f"lr schedule must be {expected}, got {name!r}")
    cls = SCHEDULES[key]
    bad = [k for k in params if k not in cls._params]
    if bad:
        raise ValueError(
            f"unknown parameter(s) {bad} for lr schedule {key!r}; allowed: {list(cls._params)}"
        )
    kwargs = {**_defaults(key, epochs), **params}
    return cls(**kwargs, base_lr=base_lr)

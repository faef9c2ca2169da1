"""RNNRegressor: a plain scikit-learn regressor on windows."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from tsrnn._checks import as_float_array, check_choice
from tsrnn.base import RNNEstimatorMixin
from tsrnn.kernels.losses import LOSS_CODES


def _precheck_array(x, name):
    """Errors worded as scikit-learn words them (its estimator checks match on
    the text): complex data, 1-D X, zero features.  Everything else is left to
    :func:`tsrnn._checks.as_float_array`."""
    if x is None or hasattr(x, "tocsr") or hasattr(x, "nnz"):
        return
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        x = x.to_numpy()
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}; "
                         f"pass real values (e.g. {name}.real or np.abs({name}))")
    if name != "X" or arr.dtype == object and arr.ndim < 2:
        return
    if arr.ndim <= 1:
        raise ValueError(
            f"X must be 2-D (n_samples, window) or 3-D (n_samples, window, n_features), got an "
            f"array of shape {arr.shape}. Reshape your data either using X.reshape(-1, 1) if "
            f"each sample is a window of a single step or X.reshape(1, -1) if X is a single "
            f"window; to cut windows from a series use tsrnn.data.windows.WindowTransformer")
    if arr.ndim in (2, 3) and arr.shape[0] > 0 and arr.shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            f"required: X must hold windows of at least one step")


class RNNRegressor(RegressorMixin, BaseEstimator, RNNEstimatorMixin):
    """Recurrent-network regressor on fixed-length windows.

    A scikit-learn regressor whose samples are sequences: ``X`` of shape
    ``(n_samples, window)`` (one feature per step) or ``(n_samples, window,
    n_features)``; ``y`` of shape ``(n_samples,)`` or ``(n_samples, horizon)``.
    The network reads the whole window and a linear head on the last hidden
    state predicts the targets.

    Parameters
    ----------
    cell : {"lstm", "gru", "elman", "rnn", "jordan", "indrnn", "ctrnn"}, default "lstm"
        Recurrent cell (see :class:`tsrnn.nn.Network`; benchmarks/RESULTS.md
        compares them on one task).
    hidden_size : int, default 32
    num_layers : int, default 1
    nonlinearity : {"tanh", "relu"} or None, default None
        Activation of the Elman, Jordan, IndRNN and CTRNN cells (None: relu for
        IndRNN, tanh otherwise).
    cell_options : dict or None, default None
        Options of the Jordan / IndRNN cells passed to :class:`tsrnn.nn.Network`:
        ``feedback`` ("free" or "teacher", Jordan), ``residual`` (bool, IndRNN),
        ``recurrent_max`` (float, IndRNN).
    epochs : int, default 50
    batch_size : int, default 64
    learning_rate : float, default 1e-3
    optimizer : {"adam", "adamw", "sgd", "rmsprop"}, default "adam"
    loss : {"mse", "mae", "huber", "pinball"}, default "mse"
    clip_grad_norm : float or None, default None
    lr_schedule : None, "step", "cosine", "plateau" or dict, default None
    early_stopping : int or None, default None
        Patience (epochs) on the validation loss.  The validation set is the
        LAST ``validation_fraction`` of the samples in the order given (windows
        cut from one series overlap, so a random split would leak).
    validation_fraction : float, default 0.1
        Used only with ``early_stopping``.
    init : {"pytorch", "xavier", "orthogonal", "identity"}, default "pytorch"
    forget_bias : float or None, default None
    bidirectional : bool, default False
        Read each window in both directions (see :class:`tsrnn.nn.Network`): the
        head sees the final state of each direction.
    dtype : {"float32", "float64"}, default "float32"
    device : {"cpu", "cuda", "auto"}, default "cpu"
    nan_policy : {"raise", "warn"}, default "raise"
    n_jobs : int or None, default None
        Kernel threads (None: all cores).
    random_state : int, RandomState or None
    verbose : bool, default False
        tqdm progress bar over epochs.

    Attributes
    ----------
    network_ : tsrnn.nn.Network
    n_features_in_ : int
        ``X.shape[1]`` as scikit-learn defines it (the window length for 2-D X).
    window_ : int
    n_step_features_ : int
    n_outputs_ : int
    loss_curve_, validation_loss_curve_ : list of float
    best_epoch_, n_iter_ : int
    epoch_times_ : list of float
        Wall seconds of each epoch (training pass only).
    stopped_early_, interrupted_, diverged_ : bool

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import RNNRegressor
    >>> t = np.arange(400, dtype=float)
    >>> s = np.sin(2 * np.pi * t / 25)
    >>> X = np.stack([s[i:i + 24] for i in range(360)]); y = s[24:384]
    >>> reg = RNNRegressor(cell="gru", hidden_size=16, epochs=20, learning_rate=1e-2,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.score(X, y) > 0.9
    True
    """

    def __init__(self, cell="lstm", hidden_size=32, num_layers=1, nonlinearity=None, epochs=50,
                 batch_size=64, learning_rate=1e-3, optimizer="adam", loss="mse",
                 clip_grad_norm=None, lr_schedule=None, early_stopping=None,
                 validation_fraction=0.1, init="pytorch", forget_bias=None, bidirectional=False,
                 dtype="float32", device="cpu", nan_policy="raise", n_jobs=None,
                 random_state=None, verbose=False, cell_options=None):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.nonlinearity = nonlinearity
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.loss = loss
        self.clip_grad_norm = clip_grad_norm
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.init = init
        self.forget_bias = forget_bias
        self.bidirectional = bidirectional
        self.dtype = dtype
        self.device = device
        self.nan_policy = nan_policy
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.cell_options = cell_options

    # ----------------------------------------------------------------- input
    def _check_X(self, X, reset):
        from tsrnn._checks import check_dtype

        _precheck_array(X, "X")
        arr = as_float_array(X, "X", check_dtype(self.dtype), allow_ndim=(2, 3))
        if reset:
            self.n_features_in_ = arr.shape[1]
            self.window_ = arr.shape[1]
            self.n_step_features_ = 1 if arr.ndim == 2 else arr.shape[2]
        else:
            n_feat = 1 if arr.ndim == 2 else arr.shape[2]
            if arr.shape[1] != self.window_ or n_feat != self.n_step_features_:
                if self.n_step_features_ == 1:
                    expected = f"(n_samples, {self.window_}) or (n_samples, {self.window_}, 1)"
                else:
                    expected = f"(n_samples, {self.window_}, {self.n_step_features_})"
                raise ValueError(
                    f"X has shape {arr.shape}, but this RNNRegressor was fitted on windows of "
                    f"{self.window_} steps with {self.n_step_features_} feature(s) per step: expected "
                    f"{expected}. (X has {arr.shape[1]} features, but RNNRegressor is expecting "
                    f"{self.n_features_in_} features as input.)")
        if arr.ndim == 2:
            arr = arr[:, :, None]
        return np.ascontiguousarray(arr)

    def fit(self, X, y, dt=None):
        """Fit on windows ``X`` and targets ``y``; returns ``self``.

        ``dt`` (n_samples, window), optional: for ``cell="ctrnn"``, the time
        elapsed before each step of each window, so irregularly sampled
        windows need no resampling (express it in a typical-step unit, e.g.
        divide the gaps by their median).  Pass the same kind of ``dt`` to
        :meth:`predict`.
        """
        from tsrnn._checks import check_dtype

        self._seed_base = None
        self._validate_common()
        check_choice(self.loss, "loss", tuple(LOSS_CODES))
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; "
                "pass the targets of the windows (shape (n_samples,) or (n_samples, horizon))")
        X3 = self._check_X(X, reset=True)
        _precheck_array(y, "y")
        y_arr = as_float_array(y, "y", check_dtype(self.dtype), allow_ndim=(1, 2))
        if y_arr.shape[0] != X3.shape[0]:
            raise ValueError(f"X and y have different numbers of samples: {X3.shape[0]} and {y_arr.shape[0]}")
        self._y_1d = y_arr.ndim == 1
        Y = y_arr[:, None] if self._y_1d else y_arr
        self.n_outputs_ = Y.shape[1]
        net = self._build_network(X3.shape[2], self.n_outputs_)
        dt = net._check_dt(dt, X3)
        trainer = self._build_trainer(net)
        n = X3.shape[0]
        n_val = int(round(self.validation_fraction * n)) if self.early_stopping is not None else 0
        if n_val > 0 and n - n_val >= 1:
            kw = {} if dt is None else dict(dt=dt[:-n_val], dt_val=dt[-n_val:])
            hist = trainer.fit_windows(X3[:-n_val], Y[:-n_val], X3[-n_val:], Y[-n_val:], **kw)
        else:
            hist = trainer.fit_windows(X3, Y, **({} if dt is None else dict(dt=dt)))
        self.network_ = net
        self._store_history(hist)
        return self

    def predict(self, X, dt=None):
        """Predictions, shape ``(n_samples,)`` or ``(n_samples, n_outputs)``
        (``dt``: CTRNN time deltas, as in :meth:`fit`)."""
        check_is_fitted(self, "network_")
        X3 = self._check_X(X, reset=False)
        out = self.network_.forward(X3, dt=dt)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

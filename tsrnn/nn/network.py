"""The low-level recurrent network: spec, flat parameters, forward, loss and gradient."""

from __future__ import annotations

import numpy as np

from tsrnn import _config
from tsrnn._checks import as_float_array, check_choice, check_dtype, check_float, check_int
from tsrnn._threading import thread_limits
from tsrnn.kernels.activations import (ACT_RELU, ACT_TANH, CTRNN, ELMAN_RELU, ELMAN_TANH, GRU,
                                       INDRNN, JORDAN, LSTM)
from tsrnn.kernels.losses import LOSS_CODES, NO_LOSS
from tsrnn.nn.init import INITS, initialise
from tsrnn.nn.params import ParamLayout

#: accepted ``cell=`` names (aliases map to the same kernel)
CELLS = ("elman", "rnn", "lstm", "gru", "jordan", "indrnn", "ctrnn")
#: cells run by tsrnn.kernels.family (no gates, no bidirectional)
FAMILY = {"jordan": JORDAN, "indrnn": INDRNN, "ctrnn": CTRNN}
FEEDBACKS = ("free", "teacher")
#: smallest shard of a forward pass without gradient (inference, validation)
INFERENCE_SHARD = 256
LOSSES = tuple(LOSS_CODES)


def default_nonlinearity(cell: str) -> str:
    """IndRNN defaults to ReLU (Li et al. 2018), every other cell to tanh."""
    return "relu" if cell == "indrnn" else "tanh"


def cell_code(cell: str, nonlinearity: str | None = "tanh") -> int:
    """Integer kernel code of a cell name (``"rnn"`` is an alias of ``"elman"``)."""
    name = check_choice(cell, "cell", CELLS)
    if name == "lstm":
        return LSTM
    if name == "gru":
        return GRU
    if name in FAMILY:
        return FAMILY[name]
    act = check_choice(nonlinearity or "tanh", "nonlinearity", ("tanh", "relu"))
    return ELMAN_RELU if act == "relu" else ELMAN_TANH


class Network:
    """A stack of recurrent layers with a linear head, trained by Numba kernels.

    Gate order, equations and parameter names are PyTorch's
    (``torch.nn.RNN/LSTM/GRU`` followed by ``torch.nn.Linear``), so a
    ``state_dict`` moves between tsrnn and PyTorch unchanged.

    Parameters
    ----------
    input_size : int
        Features per time step.
    hidden_size : int
        Units per recurrent layer.
    cell : {"lstm", "gru", "elman", "rnn", "jordan", "indrnn", "ctrnn"}, default "lstm"
        Recurrent cell; ``"rnn"`` is an alias of ``"elman"``.  The last three
        (:mod:`tsrnn.kernels.family` has their equations):

        * ``"jordan"``: one hidden layer whose context is the network's
          previous OUTPUT, ``h_t = act(W_ih x_t + W_ch y_{t-1} + b)``; see
          ``feedback``.
        * ``"indrnn"`` (Li et al. 2018): ``h_t = act(W_ih x_t + u * h_{t-1} + b)``
          with a per-neuron recurrent weight ``u``, ReLU by default; ``|u|`` is
          kept below ``recurrent_max`` after every optimizer step; deep stacks
          with ``residual`` connections.
        * ``"ctrnn"``: continuous-time RNN ``tau dh/dt = -h + W act(h) + W_in x + b``
          integrated by an Euler step of length ``dt`` per observation, learnable
          per-neuron ``tau``.  Pass ``dt`` (the time between observations) to
          :meth:`forward` / :meth:`loss_and_grad` / the trainer to model
          irregularly sampled series without resampling.
    num_layers : int, default 1
        Stacked recurrent layers.
    output_size : int, default 1
        Outputs of the linear head.
    return_sequences : bool, default False
        ``False``: the head reads the last step (many-to-one, output
        ``(batch, output_size)``); ``True``: every step (many-to-many, output
        ``(batch, time, output_size)``).
    nonlinearity : {"tanh", "relu"} or None, default None
        Activation of the Elman, Jordan, IndRNN and CTRNN cells (None: relu for
        IndRNN, tanh otherwise).
    init : {"pytorch", "xavier", "orthogonal", "identity"}, default "pytorch"
        Initialiser, see :mod:`tsrnn.nn.init`.
    forget_bias : float or None
        LSTM forget-gate bias (``None`` keeps the initialiser's value).
    dtype : {"float32", "float64"}, default "float32"
    random_state : int, Generator, RandomState or None
        Seed of the initialiser.
    n_jobs : int or None
        Threads for the kernels (``None``: all).
    shard_size : int or None
        Sequences per parallel task of a gradient computation (default
        ``TSRNN_SHARD_SIZE``, 32); passes without a gradient (``forward``,
        validation) use at least 256.  Results are identical for any thread count
        at a fixed shard size.
    bidirectional : bool, default False
        Run every layer also over the reversed sequence (PyTorch's
        ``bidirectional=True``: parameters ``..._reverse``, layer ``l > 0`` and the
        head read both directions concatenated, states of shape
        ``(num_layers * 2, batch, hidden)`` ordered layer by layer, forward
        first).  The many-to-one head reads the final state of each direction
        (``h_n``: the forward direction after the last step, the reverse one
        after the first), so it has seen the whole window; with
        ``return_sequences=True`` the head at step t reads both directions' outputs
        at t.  An output at t then depends on future inputs: not for causal
        forecasting.  Elman, LSTM and GRU only.
    feedback : {"free", "teacher"}, default "free"
        Jordan only.  ``"free"``: the context is the model's own previous
        output and training backpropagates through it; ``"teacher"``: training
        feeds the true previous target (needs ``return_sequences=True``);
        prediction without targets always runs free.
    residual : bool, default True
        IndRNN only: layers ``l >= 1`` add their input (deep residual IndRNN).
    recurrent_max : float or None, default None
        IndRNN only: bound on ``|u|``.  None: ``2 ** (1 / T)`` with ``T`` the
        training window (or ``bptt``) length, so the gradient over ``T`` steps
        grows at most 2-fold (the paper's bound for ReLU).

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        The flat parameter vector; :meth:`state_dict` holds views of copies of it.
    layout : ParamLayout

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.nn import Network
    >>> net = Network(input_size=1, hidden_size=8, cell="gru", dtype="float64", random_state=0)
    >>> X = np.random.default_rng(0).normal(size=(4, 10, 1))
    >>> net.forward(X).shape
    (4, 1)
    >>> loss, grads = net.loss_and_grad(X, np.zeros((4, 1)))
    >>> sorted(grads)[:2]
    ['head.bias', 'head.weight']
    >>> grads["rnn.weight_hh_l0"].shape
    (24, 8)
    """

    def __init__(self, input_size, hidden_size, cell="lstm", num_layers=1, output_size=1,
                 return_sequences=False, nonlinearity=None, init="pytorch",
                 forget_bias=None, dtype="float32", random_state=None, n_jobs=None,
                 shard_size=None, bidirectional=False, feedback="free", residual=True,
                 recurrent_max=None):
        self.input_size = check_int(input_size, "input_size", minimum=1)
        self.hidden_size = check_int(hidden_size, "hidden_size", minimum=1)
        self.cell = check_choice(cell, "cell", CELLS)
        self.num_layers = check_int(num_layers, "num_layers", minimum=1)
        self.output_size = check_int(output_size, "output_size", minimum=1)
        self.return_sequences = bool(return_sequences)
        if nonlinearity is None:
            nonlinearity = default_nonlinearity(self.cell)
        self.nonlinearity = check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
        self.init = check_choice(init, "init", INITS)
        self.forget_bias = check_float(forget_bias, "forget_bias", allow_none=True)
        self.dtype = check_dtype(dtype)
        self.n_jobs = n_jobs
        self.shard_size = check_int(shard_size, "shard_size", minimum=1, allow_none=True)
        if not isinstance(bidirectional, (bool, np.bool_)):
            raise TypeError(f"bidirectional must be True or False, got {bidirectional!r}")
        self.bidirectional = bool(bidirectional)
        self.feedback = check_choice(feedback, "feedback", FEEDBACKS)
        if self.feedback == "teacher" and self.cell == "jordan" and not self.return_sequences:
            raise ValueError("feedback='teacher' feeds the previous step's target, so it needs a "
                             "target per step: pass return_sequences=True (or feedback='free')")
        if not isinstance(residual, (bool, np.bool_)):
            raise TypeError(f"residual must be True or False, got {residual!r}")
        self.residual = bool(residual)
        self.recurrent_max = check_float(recurrent_max, "recurrent_max", minimum=0.0,
                                         strict_min=True, allow_none=True)
        self.cell_code = cell_code(self.cell, self.nonlinearity)
        self.layout = ParamLayout.build(self.cell_code, self.input_size, self.hidden_size,
                                        self.num_layers, self.output_size, self.bidirectional)
        self._offsets, self._head_offsets = self.layout.offsets()
        params = np.zeros(self.layout.size, dtype=np.float64)
        family_kw = {}
        if self.cell == "indrnn" and self.recurrent_max is not None:
            # draw |u| below the given bound: gamma ** (1 / 1) = recurrent_max
            family_kw = dict(n_steps=1, gamma=self.recurrent_max)
        initialise(self.layout, params, self.init, self.forget_bias, random_state, **family_kw)
        self.params = params.astype(self.dtype)

    @property
    def _fast(self) -> bool:
        # vectorised activation approximations (max error 3.5e-7) for float32 only
        return self.dtype == np.float32 and _config.FAST_ACTIVATIONS

    # ------------------------------------------------------------------ spec
    @property
    def n_params(self) -> int:
        return self.layout.size

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def is_family(self) -> bool:
        """Jordan, IndRNN or CTRNN (run by :mod:`tsrnn.kernels.family`)."""
        return self.cell in FAMILY

    def state_shape(self, batch: int) -> tuple:
        """Shape of the initial/final states for ``batch`` sequences (Jordan: the
        context, i.e. the previous output, ``(1, batch, output_size)``)."""
        if self.cell == "jordan":
            return (1, batch, self.output_size)
        return (self.num_layers * self.num_directions, batch, self.hidden_size)

    def apply_constraints(self, n_steps: int) -> None:
        """Project the parameters onto their constraints after an update
        (IndRNN: ``|u| <= recurrent_max``, default ``2 ** (1 / n_steps)``)."""
        if self.cell != "indrnn":
            return
        from tsrnn.nn.family import indrnn_clip_recurrent, indrnn_recurrent_max

        bound = self.recurrent_max or indrnn_recurrent_max(max(int(n_steps), 1))
        indrnn_clip_recurrent(self.params, self._offsets, self.hidden_size, bound)

    @property
    def is_lstm(self) -> bool:
        return self.cell_code == LSTM

    def get_config(self) -> dict:
        """Constructor arguments (JSON-serialisable) that rebuild this network."""
        return dict(input_size=self.input_size, hidden_size=self.hidden_size, cell=self.cell,
                    num_layers=self.num_layers, output_size=self.output_size,
                    return_sequences=self.return_sequences, nonlinearity=self.nonlinearity,
                    init=self.init, forget_bias=self.forget_bias, dtype=self.dtype.name,
                    shard_size=self.shard_size, bidirectional=self.bidirectional,
                    feedback=self.feedback, residual=self.residual,
                    recurrent_max=self.recurrent_max)

    def copy(self) -> "Network":
        other = Network.__new__(Network)
        other.__dict__.update(self.__dict__)
        other.params = self.params.copy()
        return other

    def __repr__(self):
        return (f"Network(input_size={self.input_size}, hidden_size={self.hidden_size}, "
                f"cell={self.cell!r}, num_layers={self.num_layers}, output_size={self.output_size}, "
                f"return_sequences={self.return_sequences}, "
                + ("bidirectional=True, " if self.bidirectional else "")
                + f"dtype={self.dtype.name!r})")

    # ------------------------------------------------------------ state dict
    def state_dict(self) -> dict:
        """Parameters by PyTorch name (copies): ``rnn.weight_ih_l0``, ..., ``head.bias``."""
        return {k: v.copy() for k, v in self.layout.views(self.params).items()}

    def load_state_dict(self, state_dict, strict=True):
        """Load parameters by name.

        Accepts this network's :meth:`state_dict`, a PyTorch ``state_dict`` whose
        values are tensors or arrays (``"rnn."``/``"head."`` prefixed, or the bare
        keys of a ``torch.nn.LSTM/GRU/RNN``), converted to this network's dtype.
        With ``strict=False`` missing keys keep their current values.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"state_dict must be a mapping of name -> array, got {type(state_dict).__name__}")
        known = set(self.layout.names)
        incoming = {}
        for key, value in state_dict.items():
            name = key if key in known else f"rnn.{key}"
            if name not in known:
                raise KeyError(f"unexpected parameter {key!r}; this network has: {', '.join(self.layout.names)}")
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            incoming[name] = np.asarray(value)
        missing = known - set(incoming)
        if strict and missing:
            raise KeyError(f"missing parameters {sorted(missing)}; pass strict=False to keep their current values")
        new = self.params.copy()
        for name, value in incoming.items():
            view = self.layout.view(new, name)
            if value.shape != view.shape:
                raise ValueError(f"parameter {name!r} has shape {value.shape}, expected {view.shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"parameter {name!r} contains NaN or infinite values")
            view[...] = value
        self.params[:] = new
        return self

    # --------------------------------------------------------------- inputs
    def _check_X(self, X, name="X"):
        arr = as_float_array(X, name, self.dtype, allow_ndim=(2, 3))
        if arr.ndim == 2:
            if self.input_size != 1:
                raise ValueError(
                    f"{name} has shape {arr.shape} (batch, time) but input_size={self.input_size}; "
                    f"pass a 3-D array (batch, time, {self.input_size})")
            arr = arr[:, :, None]
        if arr.shape[2] != self.input_size:
            raise ValueError(f"{name} has {arr.shape[2]} features per step (shape {arr.shape}), "
                             f"but the network was built with input_size={self.input_size}")
        if arr.shape[1] < 1:
            raise ValueError(f"{name} has no time steps (shape {arr.shape})")
        return np.ascontiguousarray(arr)

    def _check_Y(self, Y, X):
        B, T = X.shape[0], X.shape[1]
        O = self.output_size
        arr = as_float_array(Y, "Y", self.dtype, allow_ndim=(1, 2, 3))
        if self.return_sequences:
            if arr.ndim == 2 and O == 1:
                arr = arr[:, :, None]
            expected = (B, T, O)
        else:
            if arr.ndim == 1 and O == 1:
                arr = arr[:, None]
            if arr.ndim == 2:
                arr = arr[:, None, :]
            expected = (B, 1, O)
        if arr.shape != expected:
            shown = expected if self.return_sequences else (B, O)
            raise ValueError(f"Y has shape {np.shape(Y)}, expected {shown} for X of shape {X.shape[:2] + (self.input_size,)}")
        return np.ascontiguousarray(arr)

    def _check_state(self, s, B, name):
        shape = self.state_shape(B)
        if s is None:
            return np.zeros(shape, self.dtype)
        if hasattr(s, "detach"):
            s = s.detach().cpu().numpy()
        arr = as_float_array(s, name, self.dtype, allow_ndim=(3,))
        if arr.shape != shape:
            what = ("(1, batch, output_size): a Jordan state is the previous output"
                    if self.cell == "jordan" else
                    "(num_layers * 2, batch, hidden)" if self.bidirectional else
                    "(num_layers, batch, hidden)")
            raise ValueError(f"{name} has shape {arr.shape}, expected {what} = {shape}")
        return arr

    def _check_states(self, h0, c0, B):
        if c0 is not None and not self.is_lstm:
            raise ValueError(f"c0 was given, but cell={self.cell!r} has no cell state; "
                             f"pass c0 only to an LSTM")
        return self._check_state(h0, B, "h0"), self._check_state(c0, B, "c0")

    def _quantiles(self, loss_code, quantiles):
        O = self.output_size
        if quantiles is None:
            q = np.full(O, 0.5)
        else:
            q = np.asarray(quantiles, dtype=np.float64).ravel()
            if q.size == 1:
                q = np.full(O, q[0])
            elif q.size != O:
                raise ValueError(f"quantiles has {q.size} values {list(q)}, but the network has "
                                 f"output_size={O}; pass one quantile per output or a scalar")
            if not ((q > 0) & (q < 1)).all():
                raise ValueError(f"quantiles must lie strictly between 0 and 1, got {quantiles!r}")
        return q

    # -------------------------------------------------------------- kernels
    def _run(self, X, Y, idx, h0, c0, loss_code, delta, quantiles, want_grad, pred, grad,
             h_out, c_out, dt=None):
        """Unchecked kernel call (arrays already validated and contiguous; ``dt``
        (N, T) for CTRNN, None = unit steps)."""
        shard = self.shard_size or _config.SHARD_SIZE
        if not want_grad and not self.is_family:
            # no gradient, no reduction: bigger shards make bigger per-step matrix
            # products (inference 7-25 % faster at H >= 64 with 256 than 64,
            # benchmarks/RESULTS.md)
            shard = max(shard, INFERENCE_SHARD)
        if self.is_family:
            from tsrnn.kernels.family import family_forward_backward

            if dt is None:
                dt = self._unit_dt(X.shape[0], X.shape[1])
            act = ACT_RELU if self.nonlinearity == "relu" else ACT_TANH
            return family_forward_backward(
                self.params, self._offsets, self._head_offsets, self.cell_code, act, self._fast,
                self.hidden_size, self.return_sequences, X, Y, dt, idx, h0, h_out, loss_code,
                float(delta), quantiles, bool(want_grad), pred, grad, shard,
                self.feedback == "teacher", self.residual)
        from tsrnn.kernels.bptt import batch_forward_backward

        return batch_forward_backward(
            self.params, self._offsets, self._head_offsets, self.cell_code, self._fast, self.hidden_size,
            self.num_directions, self.return_sequences, X, Y, idx, h0, c0, h_out, c_out, loss_code, float(delta),
            quantiles, bool(want_grad), pred, grad, shard)

    def _unit_dt(self, N, T):
        if self.cell != "ctrnn":
            return np.ones((1, 1), self.dtype)
        cache = self.__dict__.setdefault("_dt_cache", {})
        if (N, T) not in cache:
            cache.clear()
            cache[(N, T)] = np.ones((N, T), self.dtype)
        return cache[(N, T)]

    def _check_dt(self, dt, X, name="dt"):
        """Validate per-step time deltas for ``X`` (N, T, I): (N, T), (T,) or a scalar."""
        if dt is None:
            return None
        if self.cell != "ctrnn":
            raise ValueError(f"{name} (time deltas) is only used by cell='ctrnn'; this network has "
                             f"cell={self.cell!r}")
        N, T = X.shape[0], X.shape[1]
        if np.ndim(dt) == 0 and not hasattr(dt, "__len__"):
            dt = np.full(T, dt, dtype=np.float64) if isinstance(dt, (int, float, np.number)) else dt
        arr = as_float_array(dt, name, self.dtype, allow_ndim=(1, 2))
        if arr.ndim < 2:
            if arr.ndim == 1 and arr.shape[0] != T:
                raise ValueError(f"{name} has {arr.shape[0]} values but X has {T} time steps; pass "
                                 f"one delta per step, shape ({T},) or ({N}, {T})")
            arr = np.broadcast_to(arr, (N, T))
        if arr.shape != (N, T):
            raise ValueError(f"{name} has shape {arr.shape}, expected (batch, time) = {(N, T)}")
        if (arr < 0).any():
            raise ValueError(f"{name} contains negative time deltas (min {float(arr.min()):g}); "
                             f"time deltas are the (non-negative) gaps between observations")
        return np.ascontiguousarray(arr)

    def _buffers(self, B, T):
        Ty = T if self.return_sequences else 1
        pred = np.empty((B, Ty, self.output_size), self.dtype)
        h_out = np.empty(self.state_shape(B), self.dtype)
        c_out = np.empty(self.state_shape(B), self.dtype)
        return pred, h_out, c_out

    def _state_result(self, h_out, c_out):
        return (h_out, c_out) if self.is_lstm else h_out

    # ------------------------------------------------------------ public API
    def forward(self, X, h0=None, c0=None, return_state=False, dt=None):
        """Outputs for a batch of sequences.

        Parameters
        ----------
        X : array of shape (batch, time, input_size) (or (batch, time) when input_size == 1)
        h0, c0 : arrays of shape (num_layers * num_directions, batch, hidden_size), optional
            Initial hidden (and, for LSTM, cell) states; zeros by default.
        return_state : bool
            Also return the final state: ``h`` (Elman, GRU) or ``(h, c)`` (LSTM),
            as ``torch.nn.RNN/GRU/LSTM`` do.
        dt : array of shape (batch, time) or (time,), optional
            CTRNN only: time since the previous observation of each step (in the
            unit the model was trained with, e.g. the usual sampling interval);
            None = 1 everywhere.

        Returns
        -------
        y : ndarray of shape (batch, output_size), or (batch, time, output_size)
            with ``return_sequences=True``.
        """
        X = self._check_X(X)
        dt = self._check_dt(dt, X)
        B, T = X.shape[0], X.shape[1]
        h0, c0 = self._check_states(h0, c0, B)
        pred, h_out, c_out = self._buffers(B, T)
        idx = np.arange(B, dtype=np.int64)
        dummy_y = np.zeros((1, 1, 1), self.dtype)
        with thread_limits(self.n_jobs):
            self._run(X, dummy_y, idx, h0, c0, NO_LOSS, 1.0, self._quantiles(NO_LOSS, None),
                      False, pred, np.zeros(1, self.dtype), h_out, c_out, dt)
        y = pred if self.return_sequences else pred[:, 0, :]
        if return_state:
            return y, self._state_result(h_out, c_out)
        return y

    __call__ = forward

    def loss_and_grad(self, X, Y, loss="mse", h0=None, c0=None, delta=1.0, quantiles=None,
                      return_state=False, dt=None):
        """Mean loss over all output elements and its gradient.

        Parameters
        ----------
        X : array (batch, time, input_size)
        Y : array (batch, output_size), or (batch, time, output_size) with
            ``return_sequences=True``.
        loss : {"mse", "mae", "huber", "pinball"}
            ``"huber"`` uses ``delta`` (PyTorch's ``HuberLoss``); ``"pinball"`` uses
            ``quantiles`` (one per output, or a scalar for all).
        h0, c0 : optional initial states; no gradient flows into them (this is
            how truncated BPTT cuts the gradient at chunk boundaries).
        return_state : bool
            Also return the final state (see :meth:`forward`).
        dt : optional time deltas (CTRNN), see :meth:`forward`.

        Returns
        -------
        loss : float
        grads : dict of name -> ndarray, the keys and shapes of :meth:`state_dict`.
        """
        code = LOSS_CODES[check_choice(loss, "loss", LOSSES)]
        delta = check_float(delta, "delta", minimum=0.0, strict_min=True)
        q = self._quantiles(code, quantiles)
        X = self._check_X(X)
        Y = self._check_Y(Y, X)
        dt = self._check_dt(dt, X)
        B, T = X.shape[0], X.shape[1]
        h0, c0 = self._check_states(h0, c0, B)
        pred, h_out, c_out = self._buffers(B, T)
        grad = np.zeros(self.n_params, self.dtype)
        idx = np.arange(B, dtype=np.int64)
        with thread_limits(self.n_jobs):
            value = self._run(X, Y, idx, h0, c0, code, delta, q, True, pred, grad, h_out, c_out, dt)
        grads = {k: v.copy() for k, v in self.layout.views(grad).items()}
        if return_state:
            return float(value), grads, self._state_result(h_out, c_out)
        return float(value), grads

"""The Python epoch loop around the jitted batch kernel.

One call to :func:`tsrnn.kernels.bptt.batch_forward_backward` per mini-batch
(or per TBPTT chunk) computes loss and gradient in parallel; everything that
users interact with -- shuffling, validation, early stopping, learning-rate
schedules, the progress bar, the NaN/inf guard and Ctrl-C -- stays in Python.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from tsrnn._checks import check_choice, check_float, check_int
from tsrnn._threading import thread_limits
from tsrnn.kernels.losses import LOSS_CODES, NO_LOSS
from tsrnn.nn.init import as_generator
from tsrnn.nn.optimizers import clip_gradients, make_optimizer
from tsrnn.nn.schedules import make_schedule

logger = logging.getLogger("tsrnn")

NAN_POLICIES = ("raise", "warn")


class TrainingDivergedError(FloatingPointError, ValueError):
    """Raised when the loss or the weights become NaN/inf during training.

    The network keeps the best weights seen before the fault.
    """


@dataclass
class History:
    """What happened during :meth:`Trainer.fit_windows` / :meth:`Trainer.fit_stream`."""

    loss_curve: list = field(default_factory=list)
    validation_loss_curve: list = field(default_factory=list)
    lr_curve: list = field(default_factory=list)
    epoch_times: list = field(default_factory=list)
    best_epoch: int = -1
    best_loss: float = math.inf
    n_epochs: int = 0
    stopped_early: bool = False
    interrupted: bool = False
    diverged: bool = False


class Trainer:
    """Mini-batch training of a :class:`~tsrnn.nn.Network`.

    Parameters
    ----------
    network : Network
        Trained in place.
    loss : {"mse", "mae", "huber", "pinball"}
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or an optimizer instance
    learning_rate : float
    epochs : int
    batch_size : int
        Windows per step (stateless) -- for :meth:`fit_stream` the number of
        streams is the batch.
    optimizer_kwargs : dict, optional
        Extra hyper-parameters (``momentum``, ``betas``, ``weight_decay``...).
    lr_schedule : None, str, dict or schedule
        See :func:`tsrnn.nn.schedules.make_schedule`.
    clip_grad_norm, clip_value : float, optional
        Clip the gradient by global L2 norm / element-wise value each step.
    early_stopping : int or None
        Patience in epochs; monitors the validation loss when there is one,
        else the training loss.
    min_delta : float
        Improvement smaller than this does not reset the patience.
    restore_best_weights : bool
        With early stopping, end with the weights of the best epoch.
    nan_policy : {"raise", "warn"}
        On a NaN/inf loss or weights: restore the best weights so far, then
        raise :class:`TrainingDivergedError` or warn and stop.
    shuffle : bool
        Shuffle windows every epoch (stateless training only).
    delta, quantiles : loss parameters (Huber delta, pinball quantiles).
    verbose : bool or int
        Show a tqdm progress bar over epochs.
    random_state : int, Generator or None
        Drives the shuffling.
    n_jobs : int or None
        Kernel threads.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.nn import Network
    >>> from tsrnn.nn.trainer import Trainer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 8, 1)); Y = X.sum(axis=1)
    >>> net = Network(1, 8, cell="gru", random_state=0)
    >>> hist = Trainer(net, epochs=3, batch_size=16, learning_rate=1e-2, random_state=0).fit_windows(X, Y)
    >>> len(hist.loss_curve)
    3
    """

    def __init__(self, network, loss="mse", optimizer="adam", learning_rate=1e-3, epochs=10,
                 batch_size=64, optimizer_kwargs=None, lr_schedule=None, clip_grad_norm=None,
                 clip_value=None, early_stopping=None, min_delta=0.0, restore_best_weights=True,
                 nan_policy="raise", shuffle=True, delta=1.0, quantiles=None, verbose=False,
                 random_state=None, n_jobs=None):
        self.network = network
        self.loss = check_choice(loss, "loss", tuple(LOSS_CODES))
        self.learning_rate = check_float(learning_rate, "learning_rate", minimum=0.0, strict_min=True)
        self.epochs = check_int(epochs, "epochs", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.optimizer = make_optimizer(optimizer, network.n_params, network.dtype, **self.optimizer_kwargs)
        self.lr_schedule = make_schedule(lr_schedule, self.learning_rate, self.epochs)
        self.clip_grad_norm = check_float(clip_grad_norm, "clip_grad_norm", minimum=0.0,
                                          strict_min=True, allow_none=True)
        self.clip_value = check_float(clip_value, "clip_value", minimum=0.0, strict_min=True,
                                      allow_none=True)
        self.early_stopping = check_int(early_stopping, "early_stopping", minimum=1, allow_none=True)
        self.min_delta = check_float(min_delta, "min_delta", minimum=0.0)
        self.restore_best_weights = bool(restore_best_weights)
        self.nan_policy = check_choice(nan_policy, "nan_policy", NAN_POLICIES)
        self.shuffle = bool(shuffle)
        self.delta = check_float(delta, "delta", minimum=0.0, strict_min=True)
        self.quantiles = quantiles
        self.verbose = verbose
        self.rng = as_generator(random_state)
        self.n_jobs = n_jobs
        self._loss_code = LOSS_CODES[self.loss]
        self._q = network._quantiles(self._loss_code, quantiles)
        self._state_cache = {}
        self._n_steps = 1

    # ---------------------------------------------------------------- utils
    def _zeros_state(self, B):
        st = self._state_cache.get(B)
        if st is None:
            net = self.network
            z = np.zeros(net.state_shape(B), net.dtype)
            st = self._state_cache[B] = (z, z)
        return st

    def _progress(self):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.epochs, desc="fit", unit="epoch", leave=False)

    def _step(self, grad, lr):
        if self.clip_grad_norm is not None or self.clip_value is not None:
            clip_gradients(grad, self.clip_grad_norm, self.clip_value)
        self.optimizer.step(self.network.params, grad, lr)
        # projected gradient descent for constrained cells (IndRNN's |u| bound)
        self.network.apply_constraints(self._n_steps)

    def evaluate_windows(self, X, Y, batch_size=1024, dt=None):
        """Mean loss of validated windows ``X, Y`` (no gradient; ``dt`` validated
        time deltas for CTRNN)."""
        net = self.network
        N, T = X.shape[0], X.shape[1]
        total = 0.0
        grad = np.zeros(1, net.dtype)
        for i in range(0, N, batch_size):
            idx = np.arange(i, min(N, i + batch_size), dtype=np.int64)
            B = idx.shape[0]
            pred, h_out, c_out = net._buffers(B, T)
            h0, c0 = self._zeros_state(B)
            total += B * net._run(X, Y, idx, h0, c0, self._loss_code, self.delta, self._q, False,
                                  pred, grad, h_out, c_out, dt)
        return total / N

    # ------------------------------------------------------------ the loop
    def _loop(self, run_epoch, validate):
        """Generic epoch loop; ``run_epoch(lr) -> mean train loss (may be nan)``."""
        net = self.network
        hist = History()
        best_params = net.params.copy()
        wait = 0
        bar = self._progress()
        try:
            with thread_limits(self.n_jobs):
                for epoch in range(self.epochs):
                    lr = self.lr_schedule.lr
                    hist.lr_curve.append(lr)
                    t0 = time.perf_counter()
                    train_loss = run_epoch(lr)
                    hist.epoch_times.append(time.perf_counter() - t0)
                    val_loss = validate() if validate is not None else None
                    monitored = val_loss if val_loss is not None else train_loss
                    if not (math.isfinite(train_loss) and math.isfinite(monitored)
                            and np.isfinite(net.params).all()):
                        net.params[:] = best_params
                        hist.diverged = True
                        hist.n_epochs = epoch + 1
                        self._diverged(epoch, train_loss, hist)
                        break
                    hist.loss_curve.append(train_loss)
                    if val_loss is not None:
                        hist.validation_loss_curve.append(val_loss)
                    hist.n_epochs = epoch + 1
                    if monitored < hist.best_loss - self.min_delta:
                        hist.best_loss = monitored
                        hist.best_epoch = epoch
                        best_params[:] = net.params
                        wait = 0
                    else:
                        wait += 1
                    self.lr_schedule.step(monitored)
                    if bar is not None:
                        post = {"loss": f"{train_loss:.4g}"}
                        if val_loss is not None:
                            post["val"] = f"{val_loss:.4g}"
                        bar.set_postfix(post, refresh=False)
                        bar.update(1)
                    logger.debug("epoch %d loss %.6g val %s lr %.3g", epoch, train_loss, val_loss, lr)
                    if self.early_stopping is not None and wait >= self.early_stopping:
                        hist.stopped_early = True
                        logger.info("early stopping at epoch %d (best epoch %d, loss %.6g)",
                                    epoch, hist.best_epoch, hist.best_loss)
                        break
        except KeyboardInterrupt:
            hist.interrupted = True
            net.params[:] = best_params
            which = f"epoch {hist.best_epoch}" if hist.best_epoch >= 0 else "the initial weights"
            warnings.warn(f"training interrupted after {hist.n_epochs} complete epoch(s); the best "
                          f"weights so far ({which}) were kept", RuntimeWarning, stacklevel=3)
        finally:
            if bar is not None:
                bar.close()
        if (self.early_stopping is not None and self.restore_best_weights and hist.best_epoch >= 0
                and not hist.diverged):
            net.params[:] = best_params
        return hist

    def _diverged(self, epoch, loss, hist):
        msg = (f"training diverged in epoch {epoch} (loss={loss}); the weights of the best epoch "
               f"({hist.best_epoch if hist.best_epoch >= 0 else 'initial'}) were restored. Lower "
               f"learning_rate, set clip_grad_norm (e.g. 1.0) or scale the data.")
        if self.nan_policy == "raise":
            raise TrainingDivergedError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=4)

    # ---------------------------------------------------- stateless windows
    def fit_windows(self, X, Y, X_val=None, Y_val=None, dt=None, dt_val=None):
        """Train on windows (each sample a sequence, gradient through the whole window).

        ``X`` (N, T, I), ``Y`` (N, O) or (N, T, O) as :meth:`Network.loss_and_grad`
        accepts them; optional validation windows of the same form.  ``dt`` /
        ``dt_val`` (N, T): per-step time deltas of a CTRNN (None: unit steps).
        """
        net = self.network
        X = net._check_X(X)
        Y = net._check_Y(Y, X)
        dt = net._check_dt(dt, X)
        if X_val is not None:
            X_val = net._check_X(X_val, "X_val")
            Y_val = net._check_Y(Y_val, X_val)
            dt_val = net._check_dt(dt_val, X_val, "dt_val")
        N, T = X.shape[0], X.shape[1]
        self._n_steps = T
        grad = np.zeros(net.n_params, net.dtype)
        bs = min(self.batch_size, N)
        bufs = {}

        def run_epoch(lr):
            order = self.rng.permutation(N).astype(np.int64) if self.shuffle else np.arange(N, dtype=np.int64)
            total = 0.0
            for i in range(0, N, bs):
                idx = order[i:i + bs]
                B = idx.shape[0]
                if B not in bufs:
                    bufs[B] = net._buffers(B, T)
                pred, h_out, c_out = bufs[B]
                h0, c0 = self._zeros_state(B)
                loss = net._run(X, Y, idx, h0, c0, self._loss_code, self.delta, self._q, True,
                                pred, grad, h_out, c_out, dt)
                if not math.isfinite(loss):
                    return math.nan
                total += loss * B
                self._step(grad, lr)
            return total / N

        validate = None
        if X_val is not None:
            validate = lambda: self.evaluate_windows(X_val, Y_val, dt=dt_val)  # noqa: E731
        return self._loop(run_epoch, validate)

    # ------------------------------------------------- stateful streams TBPTT
    def fit_stream(self, X, Y, n_streams=32, bptt=64, X_val=None, Y_val=None, dt=None,
                   dt_val=None):
        """Stateful truncated BPTT on one long sequence.

        The series ``X`` (L, I) with per-step targets ``Y`` (L, O) is cut into
        ``n_streams`` contiguous streams (the first ``L mod n_streams`` steps are
        dropped so that the most recent data is kept), processed side by side in
        chunks of ``bptt`` steps.  The hidden state is carried from chunk to chunk
        within an epoch and the gradient is cut at chunk boundaries, so working
        memory is O(n_streams x bptt x hidden), whatever the series length.
        The network must have ``return_sequences=True``.

        Validation (optional): ``X_val``/``Y_val`` of shape (L_val, I)/(L_val, O)
        are run as one stream, in chunks, starting from a zero state.
        ``dt`` / ``dt_val`` (L,) / (L_val,): per-step time deltas of a CTRNN.
        """
        net = self.network
        if not net.return_sequences:
            raise ValueError("fit_stream needs a Network with return_sequences=True (a target per step)")
        if getattr(net, "bidirectional", False):
            raise ValueError("fit_stream carries the state forward in time, which a bidirectional "
                             "network cannot do (its reverse direction starts at the end of each "
                             "chunk); use fit_windows or a unidirectional network")
        n_streams = check_int(n_streams, "n_streams", minimum=1)
        bptt = check_int(bptt, "bptt", minimum=1)
        X, Y = self._check_stream(X, Y, "X", "Y")
        L = X.shape[0]
        if L < n_streams:
            raise ValueError(f"the series has {L} steps, fewer than n_streams={n_streams}; lower n_streams")
        Ls = L // n_streams
        start = L - Ls * n_streams
        Xs = X[start:].reshape(n_streams, Ls, X.shape[1])
        Ys = Y[start:].reshape(n_streams, Ls, Y.shape[1])
        dts = None
        if dt is not None:
            dts = net._check_dt(np.asarray(dt)[None], X[None])[0][start:].reshape(n_streams, Ls)
        self._n_steps = bptt
        grad = np.zeros(net.n_params, net.dtype)
        idx = np.arange(n_streams, dtype=np.int64)

        def run_epoch(lr):
            h = np.zeros(net.state_shape(n_streams), net.dtype)
            c = np.zeros(net.state_shape(n_streams), net.dtype)
            total = 0.0
            for k in range(0, Ls, bptt):
                xc = np.ascontiguousarray(Xs[:, k:k + bptt])
                yc = np.ascontiguousarray(Ys[:, k:k + bptt])
                dc = None if dts is None else np.ascontiguousarray(dts[:, k:k + bptt])
                pred, h_out, c_out = net._buffers(n_streams, xc.shape[1])
                loss = net._run(xc, yc, idx, h, c, self._loss_code, self.delta, self._q, True,
                                pred, grad, h_out, c_out, dc)
                if not math.isfinite(loss):
                    return math.nan
                total += loss * xc.shape[1]
                self._step(grad, lr)
                h, c = h_out, c_out
            return total / Ls

        validate = None
        if X_val is not None:
            Xv, Yv = self._check_stream(X_val, Y_val, "X_val", "Y_val")
            Xv, Yv = Xv[None], Yv[None]
            dtv = None if dt_val is None else net._check_dt(np.asarray(dt_val)[None], Xv, "dt_val")
            validate = lambda: self.evaluate_stream(Xv, Yv, bptt, dtv)  # noqa: E731
        return self._loop(run_epoch, validate)

    def _check_stream(self, X, Y, xname, yname):
        net = self.network
        X = np.asarray(X)
        Y = np.asarray(Y)
        if X.ndim == 1:
            X = X[:, None]
        if Y.ndim == 1:
            Y = Y[:, None]
        if X.ndim != 2 or Y.ndim != 2:
            raise ValueError(f"{xname} and {yname} must be (steps, features) and (steps, outputs); "
                             f"got shapes {X.shape} and {Y.shape}")
        X3 = net._check_X(X[None], xname)
        Y3 = net._check_Y(Y[None], X3)
        return X3[0], Y3[0]

    def evaluate_stream(self, Xv, Yv, bptt, dt=None):
        """Mean loss over one stream (1, L, I) run chunk by chunk from a zero state
        (``dt`` (1, L): validated CTRNN time deltas)."""
        net = self.network
        idx = np.zeros(1, dtype=np.int64)
        h, c = self._zeros_state(1)
        L = Xv.shape[1]
        total = 0.0
        grad = np.zeros(1, net.dtype)
        for k in range(0, L, bptt):
            xc = np.ascontiguousarray(Xv[:, k:k + bptt])
            yc = np.ascontiguousarray(Yv[:, k:k + bptt])
            pred, h_out, c_out = net._buffers(1, xc.shape[1])
            dc = None if dt is None else np.ascontiguousarray(dt[:, k:k + bptt])
            total += xc.shape[1] * net._run(xc, yc, idx, h, c, self._loss_code, self.delta, self._q,
                                            False, pred, grad, h_out, c_out, dc)
            h, c = h_out, c_out
        return total / L


__all__ = ["Trainer", "History", "TrainingDivergedError", "NO_LOSS"]

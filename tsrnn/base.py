"""What every tsrnn estimator shares: the common parameters, their validation,
building the network and the trainer, and the fitted training history."""

from __future__ import annotations

from sklearn.base import BaseEstimator

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


class RNNEstimatorMixin(BaseEstimator):
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
        from sklearn.utils import check_random_state

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

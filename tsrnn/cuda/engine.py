"""Device driver of a :class:`tsrnn.nn.Network`: parameters, optimizer state, data and
workspaces stay on the GPU; results come back as NumPy arrays.

:class:`CudaRunner` launches the kernels of :mod:`tsrnn.cuda.kernels`: per batch one
``fwd_bwd`` launch (forward, loss and BPTT of every tile of sequences), one
``reduce_grad`` launch (gradient partials summed in block order), then optionally the
clipping kernels and one ``adam_kernel`` launch.  Nothing is copied back to the host
inside :meth:`CudaRunner.fit_windows` except the per-batch losses, once per epoch.
"""

from __future__ import annotations

import math

import numpy as np

from tsrnn.cuda import require_cuda
from tsrnn.kernels.activations import GRU, LSTM, N_GATES
from tsrnn.kernels.losses import LOSS_CODES, NO_LOSS

__all__ = ["CudaRunner"]

#: dynamic shared memory a block may use without the opt-in attribute
DEFAULT_SHARED_LIMIT = 48 * 1024


def _is_device_array(a) -> bool:
    return hasattr(a, "copy_to_host") and hasattr(a, "shape")


def _launch_1d(n, threads, max_blocks):
    """[blocks, threads] for a grid-stride kernel over n elements."""
    return max(1, min(max_blocks, (int(n) + threads - 1) // threads)), threads


class CudaRunner:
    """Train and run a :class:`tsrnn.nn.Network` on the GPU.

    The network's flat parameters are copied to the device at construction and stay
    there (with Adam's moment estimates) until :meth:`params_to_host`.  Supported:
    Elman (tanh/relu), LSTM and GRU stacks, unidirectional, the head on the last
    step or on every step, losses mse/mae/huber/pinball, float32 or float64.

    Parameters
    ----------
    network : tsrnn.nn.Network
        Read for its spec and initial ``params``; never modified.
    tile : int or None
        Sequences per thread block (fixes the gradient summation order; results are
        bitwise reproducible for a fixed tile).  None: ``clip(B // 128, 1, 16)``.
    threads : int or None
        Threads per block; None: ``min(256, tile * gates * hidden)`` rounded up to a
        multiple of 32.
    shared_limit : int, default 49152
        Bytes of dynamic shared memory a block may use (at most 48 KiB); the tile's
        states and gates always live there, the recurrent (and input) weights too when
        they fit, else they are read from global memory.  0 keeps the weights in
        global memory.

    Raises
    ------
    ValueError
        For bidirectional networks and the cells jordan/indrnn/ctrnn (CPU only for now).
    RuntimeError
        When no usable GPU (or the CUDA simulator) is present, saying what is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.nn import Network
    >>> from tsrnn.cuda.engine import CudaRunner
    >>> net = Network(1, 32, cell="lstm", random_state=0)
    >>> X = np.random.default_rng(0).normal(size=(4096, 48, 1)).astype(np.float32)
    >>> y = X[:, -1, :] * 0.5
    >>> runner = CudaRunner(net)                              # doctest: +SKIP
    >>> history = runner.fit_windows(X, y, epochs=5, batch_size=1024, lr=1e-2)  # doctest: +SKIP
    >>> net.params[:] = runner.params_to_host()               # doctest: +SKIP
    """

    def __init__(self, network, tile=None, threads=None, shared_limit=DEFAULT_SHARED_LIMIT):
        cell = getattr(network, "cell", "?")
        if getattr(network, "num_directions", 1) != 1:
            raise ValueError("bidirectional networks are not on the GPU yet; use device='cpu' "
                             "or bidirectional=False")
        from tsrnn.cuda.kernels import GPU_CELLS  # imports numba.cuda

        if network.cell_code not in GPU_CELLS:
            raise ValueError(f"cell={cell!r} is not on the GPU yet (CUDA kernels exist for "
                             "'elman'/'rnn', 'lstm' and 'gru'); use device='cpu'")
        for name, value, top in (("tile", tile, 1 << 20), ("threads", threads, 1024)):
            if value is not None and (isinstance(value, bool) or int(value) != value
                                      or not 1 <= value <= top):
                raise ValueError(f"{name} must be an integer in [1, {top}] or None, got {value!r}")
        if not 0 <= int(shared_limit) <= DEFAULT_SHARED_LIMIT:
            raise ValueError(f"shared_limit must be in [0, {DEFAULT_SHARED_LIMIT}] bytes (more "
                             f"needs an opt-in this numba cannot make), got {shared_limit!r}")
        require_cuda(allow_simulator=True)
        from numba import cuda
        from numba.core import config

        self._cuda = cuda
        # the simulator runs one Python thread per CUDA thread: small launches there.
        # The norm reduction's launch shape is part of its summation order.
        self._sim = bool(config.ENABLE_CUDASIM)
        kern = _kernels()
        if self._sim:
            self._ew_threads, self._ew_max_blocks = 16, 2
            self._norm_shape = (2, 8)
        else:
            self._ew_threads, self._ew_max_blocks = 256, 4096
            self._norm_shape = (kern.NORM_BLOCKS, kern.NORM_THREADS)
        self.cell_code = int(network.cell_code)
        self.hidden_size = int(network.hidden_size)
        self.num_layers = int(network.num_layers)
        self.input_size = int(network.input_size)
        self.output_size = int(network.output_size)
        self.return_sequences = bool(network.return_sequences)
        self.gates = N_GATES[self.cell_code]
        params = np.ascontiguousarray(network.params)
        self.dtype = params.dtype
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"network.params must be float32 or float64, got {self.dtype}")
        self.n_params = params.shape[0]
        self.tile = None if tile is None else int(tile)
        self.threads = None if threads is None else int(threads)
        self.shared_limit = int(shared_limit)
        self._kernel = _kernels().rnn_kernel(self.cell_code, self.dtype.name)
        self._d_params = cuda.to_device(params)
        self._d_wt = cuda.device_array(self.n_params, self.dtype)
        self._wt_stale = True
        self._d_offsets = cuda.to_device(np.ascontiguousarray(network._offsets, dtype=np.int64))
        self._d_head = cuda.to_device(np.ascontiguousarray(network._head_offsets, dtype=np.int64))
        if self._d_offsets.shape != (self.num_layers, 4):
            raise ValueError(f"network._offsets has shape {self._d_offsets.shape}, expected "
                             f"({self.num_layers}, 4)")
        self._d_grad = cuda.to_device(np.zeros(self.n_params, self.dtype))
        self._d_m = cuda.to_device(np.zeros(self.n_params, self.dtype))
        self._d_v = cuda.to_device(np.zeros(self.n_params, self.dtype))
        self.step_count = 0
        self._d_norm = cuda.to_device(np.zeros(2, np.float64))
        self._d_factor = cuda.to_device(np.ones(1, self.dtype))
        self._d_norm_part = cuda.to_device(np.zeros(self._norm_shape[0], np.float64))
        self._d_loss1 = cuda.to_device(np.zeros(1, np.float64))
        self._d_dummy_y = cuda.to_device(np.zeros((1, 1, 1), self.dtype))
        self._work = {}
        self._zeros = {}
        self._quant = {}
        self._states = {}
        self._flip = {}
        #: (h_out, c_out) device arrays of the last call (valid until the call after next)
        self.final_state_device = None

    # ------------------------------------------------------------- helpers
    def _ew(self, n):
        return _launch_1d(n, self._ew_threads, self._ew_max_blocks)

    def _launch_shape(self, B):
        """(tile, threads, sh_ih, sh_hh, imax, shared bytes) for a batch of B sequences."""
        H, G = self.hidden_size, self.gates
        GH = G * H
        item = self.dtype.itemsize
        imax = self.input_size if self.num_layers == 1 else max(self.input_size, H)
        tile = self.tile or int(min(16, max(1, B // 128)))
        tile = max(1, min(tile, B))
        # the tile's states and gates always live in shared memory
        per_seq = (4 * H + GH) * item
        cap = self.shared_limit or DEFAULT_SHARED_LIMIT
        if tile * per_seq > cap:
            tile = max(1, cap // per_seq)
        base = tile * (4 * H + GH)
        sh_hh = (base + GH * H) * item <= self.shared_limit
        sh_ih = sh_hh and (base + GH * H + GH * imax) * item <= self.shared_limit
        threads = self.threads or (8 if self._sim else min(256, max(32, -(-tile * GH // 32) * 32)))
        kern = _kernels()
        nbytes = item * kern.shared_elements(tile, H, G, imax, sh_ih, sh_hh)
        return tile, threads, sh_ih, sh_hh, imax, nbytes

    def _workspace(self, B, T):
        key = (B, T)
        ws = self._work.get(key)
        if ws is not None:
            return ws
        cuda = self._cuda
        L, H, GH, dt = self.num_layers, self.hidden_size, self.gates * self.hidden_size, self.dtype
        Ty = T if self.return_sequences else 1
        tile, threads, sh_ih, sh_hh, imax, nbytes = self._launch_shape(B)
        nb = -(-B // tile)
        ws = dict(
            tile=tile, threads=threads, sh_ih=int(sh_ih), sh_hh=int(sh_hh), imax=imax,
            shared=nbytes, n_blocks=nb, Ty=Ty,
            A=cuda.device_array((L, T, B, GH), dt),
            S=cuda.device_array((L, T, B, H), dt),
            U=cuda.device_array((L, T, B, H) if self.cell_code == LSTM else (1, 1, 1, 1), dt),
            Hs=cuda.device_array((L, T, B, H), dt),
            dZ=cuda.device_array((T, B, GH), dt),
            dR=cuda.device_array((T, B, GH) if self.cell_code == GRU else (1, 1, 1), dt),
            dX=cuda.device_array((T, B, H), dt),
            pred=cuda.device_array((B, Ty, self.output_size), dt),
            dout=cuda.device_array((B, Ty, self.output_size), dt),
            loss_thr=cuda.device_array(nb * threads, np.float64),
            loss_part=cuda.device_array(nb, np.float64),
            grad_part=cuda.device_array((nb, self.n_params), dt),
        )
        if len(self._work) > 8:   # batch shapes of an epoch: full and last; drop old ones
            self._work.clear()
        self._work[key] = ws
        return ws

    def _zero_state(self, B):
        z = self._zeros.get(B)
        if z is None:
            z = self._cuda.to_device(np.zeros((self.num_layers, B, self.hidden_size), self.dtype))
            self._zeros[B] = z
        return z

    def _state_out(self, B):
        """Output state buffers, alternating between two pairs, so that the final states
        of one call can be passed (as device arrays) as the initial states of the next."""
        pairs = self._states.get(B)
        if pairs is None:
            shape = (self.num_layers, B, self.hidden_size)
            pairs = [tuple(self._cuda.device_array(shape, self.dtype) for _ in range(2))
                     for _ in range(2)]
            self._states[B] = pairs
            self._flip[B] = 0
        k = self._flip[B]
        self._flip[B] = 1 - k
        return pairs[k]

    def _quantiles(self, quantiles):
        O = self.output_size
        q = np.full(O, 0.5) if quantiles is None else np.asarray(quantiles, np.float64).ravel()
        if q.size == 1:
            q = np.full(O, q[0])
        if q.size != O or not ((q > 0) & (q < 1)).all():
            raise ValueError(f"quantiles must be one value in (0, 1) per output ({O}) or a scalar, "
                             f"got {quantiles!r}")
        key = tuple(q.tolist())
        d = self._quant.get(key)
        if d is None:
            d = self._quant[key] = self._cuda.to_device(q.astype(self.dtype))
        return d

    def _loss_code(self, loss):
        if isinstance(loss, str):
            if loss not in LOSS_CODES:
                raise ValueError(f"loss must be one of {sorted(LOSS_CODES)}, got {loss!r}")
            return LOSS_CODES[loss]
        code = int(loss)
        if code not in LOSS_CODES.values():
            raise ValueError(f"loss code must be one of {sorted(LOSS_CODES.values())} "
                             f"({LOSS_CODES}), got {loss!r}")
        return code

    def to_device(self, X=None, Y=None):
        """Copy (validated) inputs and/or targets to the device, in this runner's dtype, so
        that repeated calls reuse them.  Returns the device arrays ``(X, Y)`` (None where
        not given): X (N, T, input_size); Y (N, T, output_size) with
        ``return_sequences`` else (N, 1, output_size)."""
        dX = None if X is None else self._prep_X(X)
        dY = None
        if Y is not None:
            if dX is None:
                raise ValueError("to_device(Y=...) needs X too (Y's shape depends on X's)")
            dY = self._prep_Y(Y, dX.shape[0], dX.shape[1])
        return dX, dY

    def _prep_X(self, X):
        if _is_device_array(X):
            if X.dtype != self.dtype or len(X.shape) != 3 or X.shape[2] != self.input_size:
                raise ValueError(f"device X must be {self.dtype} of shape (N, T, {self.input_size}), "
                                 f"got {X.dtype} {tuple(X.shape)}")
            return X
        arr = np.asarray(X, dtype=self.dtype)
        if arr.ndim == 2 and self.input_size == 1:
            arr = arr[:, :, None]
        if arr.ndim != 3 or arr.shape[2] != self.input_size or arr.shape[1] < 1:
            raise ValueError(f"X has shape {np.shape(X)}, expected (N, T, {self.input_size})")
        if not np.isfinite(arr).all():
            raise ValueError("X contains NaN or infinite values")
        return self._cuda.to_device(np.ascontiguousarray(arr))

    def _prep_Y(self, Y, N, T):
        O = self.output_size
        expected = (N, T, O) if self.return_sequences else (N, 1, O)
        if _is_device_array(Y):
            if Y.dtype != self.dtype or tuple(Y.shape) != expected:
                raise ValueError(f"device Y must be {self.dtype} of shape {expected}, got "
                                 f"{Y.dtype} {tuple(Y.shape)}")
            return Y
        arr = np.asarray(Y, dtype=self.dtype)
        if self.return_sequences:
            if arr.ndim == 2 and O == 1:
                arr = arr[:, :, None]
        else:
            if arr.ndim == 1 and O == 1:
                arr = arr[:, None]
            if arr.ndim == 2:
                arr = arr[:, None, :]
        if arr.shape[1:] != expected[1:] or arr.shape[0] != N:
            raise ValueError(f"Y has shape {np.shape(Y)}, expected "
                             f"{expected if self.return_sequences else (N, O)}")
        if not np.isfinite(arr).all():
            raise ValueError("Y contains NaN or infinite values")
        return self._cuda.to_device(np.ascontiguousarray(arr))

    def _prep_idx(self, idx, N):
        if idx is None:
            idx = np.arange(N, dtype=np.int64)
        if _is_device_array(idx):
            return idx
        arr = np.ascontiguousarray(idx, dtype=np.int64).ravel()
        if arr.size == 0 or arr.min() < 0 or arr.max() >= N:
            raise ValueError(f"idx must hold row numbers in [0, {N}), got {idx!r}")
        return self._cuda.to_device(arr)

    def _prep_state(self, s, B, name):
        if s is None:
            return self._zero_state(B)
        shape = (self.num_layers, B, self.hidden_size)
        if _is_device_array(s):
            if s.dtype != self.dtype or tuple(s.shape) != shape:
                raise ValueError(f"device {name} must be {self.dtype} of shape {shape}, got "
                                 f"{s.dtype} {tuple(s.shape)}")
            return s
        arr = np.ascontiguousarray(s, dtype=self.dtype)
        if arr.shape != shape:
            raise ValueError(f"{name} has shape {arr.shape}, expected (num_layers, batch, hidden) "
                             f"= {shape}")
        return self._cuda.to_device(arr)

    def _refresh_wt(self):
        if self._wt_stale:
            kern = _kernels()
            kern.transpose_weights[self._ew(self.n_params)](
                self._d_params, self._d_offsets, self.input_size, self.hidden_size, self.gates,
                self._d_wt)
            self._wt_stale = False

    def _run(self, dX, dY, didx, h0, c0, loss_code, delta, quantiles, want_grad, loss_out,
             slot):
        """Launch fwd_bwd + reduce_grad; returns (workspace, h_out, c_out). No host sync."""
        B = didx.shape[0]
        T = dX.shape[1]
        ws = self._workspace(B, T)
        h_out, c_out = self._state_out(B)
        self._refresh_wt()
        t = self.dtype.type
        scale = 1.0 / (B * ws["Ty"] * self.output_size)
        self._kernel[ws["n_blocks"], ws["threads"], 0, ws["shared"]](
            self._d_params, self._d_wt, self._d_offsets, self._d_head, self.hidden_size,
            int(self.return_sequences), dX, dY, didx, h0, c0, h_out, c_out,
            int(loss_code), t(delta), quantiles, t(scale), int(want_grad), ws["tile"], ws["imax"],
            ws["sh_ih"], ws["sh_hh"], ws["A"], ws["S"], ws["U"], ws["Hs"], ws["dZ"], ws["dR"],
            ws["dX"], ws["pred"], ws["dout"], ws["loss_thr"], ws["loss_part"], ws["grad_part"])
        if loss_code != NO_LOSS:
            _kernels().reduce_grad[self._ew(self.n_params)](
                ws["grad_part"], self._d_grad, int(want_grad), ws["loss_part"], loss_out, slot,
                scale)
        return ws, h_out, c_out

    def _state_result(self, h_out, c_out):
        h = h_out.copy_to_host()
        return (h, c_out.copy_to_host()) if self.cell_code == LSTM else h

    # ------------------------------------------------------------ public API
    def loss_and_grad(self, X, Y, idx=None, h0=None, c0=None, loss_code="mse", delta=1.0,
                      quantiles=None, return_state=False):
        """Mean loss and flat gradient of one batch (``X[idx]``, ``Y[idx]``).

        Parameters
        ----------
        X : array (N, T, input_size) or a device array from :meth:`to_device`.
        Y : array (N, output_size) / (N, T, output_size) or a device array.
        idx : (B,) int rows of X/Y forming the batch (host or device); None: all rows.
        h0, c0 : (num_layers, B, hidden) initial states (host or device arrays, e.g.
            :attr:`final_state_device` of the previous chunk for stateful TBPTT; no
            gradient flows into them); None: zeros.
        loss_code : {"mse", "mae", "huber", "pinball"} or its integer code.
        delta : Huber threshold; quantiles : pinball quantile per output (or a scalar).
        return_state : also return the final state (``h``, or ``(h, c)`` for LSTM).

        Returns
        -------
        loss : float
        grad : ndarray (n_params,), the gradient in the network's flat layout (it also
            stays on the device for :meth:`clip_grad_norm` and :meth:`adam_step`).
        """
        code = self._loss_code(loss_code)
        if not (float(delta) > 0.0):
            raise ValueError(f"delta must be > 0, got {delta!r}")
        dX = self._prep_X(X)
        dY = self._prep_Y(Y, dX.shape[0], dX.shape[1])
        didx = self._prep_idx(idx, dX.shape[0])
        B = didx.shape[0]
        h0 = self._prep_state(h0, B, "h0")
        c0 = self._prep_state(c0, B, "c0")
        q = self._quantiles(quantiles)
        _, h_out, c_out = self._run(dX, dY, didx, h0, c0, code, float(delta), q, True,
                                    self._d_loss1, 0)
        self.final_state_device = (h_out, c_out)
        loss = float(self._d_loss1.copy_to_host()[0])
        grad = self._d_grad.copy_to_host()
        if return_state:
            return loss, grad, self._state_result(h_out, c_out)
        return loss, grad

    def forward(self, X, h0=None, c0=None, return_state=False):
        """Outputs (B, output_size), or (B, T, output_size) with ``return_sequences``."""
        dX = self._prep_X(X)
        B = dX.shape[0]
        didx = self._prep_idx(None, B)
        h0 = self._prep_state(h0, B, "h0")
        c0 = self._prep_state(c0, B, "c0")
        q = self._quantiles(None)
        ws, h_out, c_out = self._run(dX, self._d_dummy_y, didx, h0, c0, NO_LOSS, 1.0, q, False,
                                     self._d_loss1, 0)
        self.final_state_device = (h_out, c_out)
        pred = ws["pred"].copy_to_host()
        y = pred if self.return_sequences else pred[:, 0, :]
        if return_state:
            return y, self._state_result(h_out, c_out)
        return y

    def adam_step(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
        """One ``torch.optim.Adam`` step (``decoupled=True``: AdamW) on the device with the
        device gradient of the last :meth:`loss_and_grad`; same arithmetic as
        :func:`tsrnn.kernels.optim.adam_step`."""
        lr, b1, b2 = float(lr), float(betas[0]), float(betas[1])
        eps, weight_decay = float(eps), float(weight_decay)
        if not (lr >= 0.0 and 0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0 and eps >= 0.0
                and weight_decay >= 0.0):
            raise ValueError(f"invalid Adam hyper-parameters lr={lr}, betas={betas}, eps={eps}, "
                             f"weight_decay={weight_decay}")
        self.step_count += 1
        t = self.dtype.type
        fstep = float(self.step_count)
        bc1 = 1.0 - math.pow(b1, fstep)
        bc2 = 1.0 - math.pow(b2, fstep)
        w1 = 1.0 - b1
        _kernels().adam_kernel[self._ew(self.n_params)](
            self._d_params, self._d_grad, self._d_m, self._d_v, t(-(lr / bc1)), t(math.sqrt(bc2)),
            t(w1), t(1.0 - w1), int(w1 < 0.5), t(b2), t(1.0 - b2), t(eps), t(weight_decay),
            t(1.0 - lr * weight_decay), int(weight_decay != 0.0), int(bool(decoupled)))
        self._wt_stale = True

    def _clip_async(self, max_norm):
        kern = _kernels()
        nb, nt = self._norm_shape
        kern.sumsq_partials[nb, nt, 0, 8 * nt](self._d_grad, self._d_norm_part)
        kern.norm_finalize[1, 1](self._d_norm_part, float(max_norm), self._d_norm, self._d_factor)
        kern.scale_by_factor[self._ew(self.n_params)](self._d_grad, self._d_factor)

    def clip_grad_norm(self, max_norm):
        """Clip the device gradient to global L2 norm ``max_norm`` as
        ``torch.nn.utils.clip_grad_norm_`` (factor ``max_norm / (norm + 1e-6)`` when below 1;
        untouched when the norm is not finite); returns the norm before clipping.  The norm
        is summed in float64 in a fixed order (deterministic)."""
        max_norm = float(max_norm)
        if not max_norm > 0.0:
            raise ValueError(f"max_norm must be > 0, got {max_norm!r}")
        self._clip_async(max_norm)
        return float(self._d_norm.copy_to_host()[0])

    def fit_windows(self, X, Y, epochs=1, batch_size=1024, lr=1e-3, seed=0, loss="mse", delta=1.0,
                    quantiles=None, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                    clip_grad_norm=None):
        """Minimal training loop: Adam on shuffled mini-batches of windows, data resident.

        Every epoch draws ``np.random.default_rng(seed).permutation`` (one generator for
        the whole run, as the CPU trainer) and copies it to the device once; batches are
        slices of it.  The per-batch losses are copied back once per epoch.

        Returns
        -------
        list of float
            Mean training loss of each epoch (batch losses weighted by batch size).
            Training stops after an epoch whose loss is not finite.
        """
        code = self._loss_code(loss)
        epochs, batch_size = int(epochs), int(batch_size)
        if epochs < 1 or batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
        if clip_grad_norm is not None and not float(clip_grad_norm) > 0.0:
            raise ValueError(f"clip_grad_norm must be > 0 or None, got {clip_grad_norm!r}")
        dX, dY = self.to_device(X, Y)
        N = dX.shape[0]
        bs = min(batch_size, N)
        starts = list(range(0, N, bs))
        sizes = np.array([min(bs, N - s) for s in starts], dtype=np.float64)
        q = self._quantiles(quantiles)
        d_losses = self._cuda.device_array(len(starts), np.float64)
        rng = np.random.default_rng(seed)
        history = []
        for _ in range(epochs):
            d_perm = self._cuda.to_device(rng.permutation(N).astype(np.int64))
            for k, s in enumerate(starts):
                didx = d_perm[s:s + bs]
                B = didx.shape[0]
                zero = self._zero_state(B)
                self._run(dX, dY, didx, zero, zero, code, float(delta), q, True, d_losses, k)
                if clip_grad_norm is not None:
                    self._clip_async(float(clip_grad_norm))
                self.adam_step(lr, betas, eps, weight_decay)
            losses = d_losses.copy_to_host()
            history.append(float((losses * sizes).sum() / N))
            if not math.isfinite(history[-1]):
                break
        return history

    def params_to_host(self):
        """The flat parameter vector (NumPy copy, the network's layout and dtype)."""
        return self._d_params.copy_to_host()

    def grad_to_host(self):
        """The device gradient (NumPy copy)."""
        return self._d_grad.copy_to_host()

    def set_grad(self, grad):
        """Replace the device gradient (to apply :meth:`clip_grad_norm` / :meth:`adam_step`
        to a gradient computed elsewhere)."""
        arr = np.ascontiguousarray(grad, dtype=self.dtype)
        if arr.shape != (self.n_params,):
            raise ValueError(f"grad must have shape ({self.n_params},), got {arr.shape}")
        self._d_grad.copy_to_device(arr)

    def set_params(self, params):
        """Replace the device parameters (e.g. after ``network.load_state_dict``)."""
        arr = np.ascontiguousarray(params, dtype=self.dtype)
        if arr.shape != (self.n_params,):
            raise ValueError(f"params must have shape ({self.n_params},), got {arr.shape}")
        self._d_params.copy_to_device(arr)
        self._wt_stale = True


def _kernels():
    from tsrnn.cuda import kernels

    return kernels

"""Parameters of the Jordan, IndRNN and CTRNN cells: layout, initialisation, constraints.

The kernels live in :mod:`tsrnn.kernels.family` (equations in its module
docstring).  Parameters form one flat vector, in this order per layer ``l``
(``I_l`` = input size for ``l = 0``, else ``H``), then the linear head:

* Jordan (one layer): ``rnn.weight_ih_l0`` (H, I), ``rnn.weight_ch_l0`` (H, O),
  ``rnn.bias_ih_l0`` (H,);
* IndRNN: ``rnn.weight_ih_l{l}`` (H, I_l), ``rnn.weight_hh_l{l}`` (H,),
  ``rnn.bias_ih_l{l}`` (H,);
* CTRNN: ``rnn.weight_ih_l{l}`` (H, I_l), ``rnn.weight_hh_l{l}`` (H, H),
  ``rnn.bias_ih_l{l}`` (H,), ``rnn.log_tau_l{l}`` (H,);

followed by ``head.weight`` (O, H) and ``head.bias`` (O,).  IndRNN's
``weight_hh`` is the per-neuron recurrent vector ``u``; CTRNN's time constants
are ``tau = exp(log_tau)``.

IndRNN recurrent constraint (Li et al., "Independently Recurrent Neural
Network (IndRNN): Building A Longer and Deeper RNN", CVPR 2018):
with ReLU the gradient carried over ``T`` steps by neuron ``j`` scales like
``u_j^T``, so ``|u_j| <= gamma^(1/T)`` keeps it below ``gamma`` (no
explosion), see :func:`indrnn_recurrent_max`, and ``|u_j| >= epsilon^(1/T)``
keeps at least a fraction ``epsilon`` of it (long memory, applied by the paper
to the neurons that must remember), see :func:`indrnn_recurrent_min`.
:func:`indrnn_clip_recurrent` projects ``u`` onto ``[-max, max]`` in place; call
it after every optimizer step.  The lower bound is not enforced (a neuron may
legitimately learn to forget); pass ``u_min`` to :func:`initialise_family` to
start above it.
"""

from __future__ import annotations

import re

import numpy as np

from tsrnn.kernels.activations import CTRNN, INDRNN, JORDAN
from tsrnn.nn.init import as_generator

__all__ = ["FAMILY_CELLS", "family_layout", "family_offsets", "family_size", "initialise_family",
           "indrnn_recurrent_max", "indrnn_recurrent_min", "indrnn_clip_recurrent"]

#: cell codes handled by :mod:`tsrnn.kernels.family`
FAMILY_CELLS = {JORDAN: "jordan", INDRNN: "indrnn", CTRNN: "ctrnn"}

# column of each per-layer tensor in the (L, 4) offsets array
_COLUMN = {"weight_ih": 0, "weight_hh": 1, "weight_ch": 1, "bias_ih": 2, "log_tau": 3}
_NAME = re.compile(r"^rnn\.(weight_ih|weight_hh|weight_ch|bias_ih|log_tau)_l(\d+)$")


def _check_cell(cell_code):
    if cell_code not in FAMILY_CELLS:
        known = ", ".join(f"{c} ({n})" for c, n in FAMILY_CELLS.items())
        raise ValueError(f"cell code {cell_code!r} is not a Jordan/IndRNN/CTRNN code; use one of {known}")


def family_layout(cell_code, input_size, hidden_size, num_layers, output_size):
    """Names and shapes of the parameters, in flat-vector order.

    Parameters
    ----------
    cell_code : int
        ``JORDAN``, ``INDRNN`` or ``CTRNN`` from :mod:`tsrnn.kernels.activations`.
    input_size, hidden_size, num_layers, output_size : int

    Returns
    -------
    names : list of str
    shapes : list of tuple

    Raises
    ------
    ValueError
        For an unknown cell code, a size < 1, or a Jordan network with
        ``num_layers > 1`` (its context is the network's output).

    Examples
    --------
    >>> from tsrnn.kernels.activations import INDRNN
    >>> names, shapes = family_layout(INDRNN, 3, 4, 1, 2)
    >>> list(zip(names, shapes))  # doctest: +NORMALIZE_WHITESPACE
    [('rnn.weight_ih_l0', (4, 3)), ('rnn.weight_hh_l0', (4,)), ('rnn.bias_ih_l0', (4,)),
     ('head.weight', (2, 4)), ('head.bias', (2,))]
    """
    _check_cell(cell_code)
    for label, v in (("input_size", input_size), ("hidden_size", hidden_size),
                     ("num_layers", num_layers), ("output_size", output_size)):
        if int(v) != v or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}")
    I, H, L, O = int(input_size), int(hidden_size), int(num_layers), int(output_size)
    if cell_code == JORDAN and L != 1:
        raise ValueError(f"a Jordan network has exactly one recurrent layer (its context is the "
                         f"network's output), got num_layers={num_layers}; use num_layers=1, or "
                         f"cell='elman' for a deep stack")
    names, shapes = [], []
    for l in range(L):
        in_l = I if l == 0 else H
        names.append(f"rnn.weight_ih_l{l}")
        shapes.append((H, in_l))
        if cell_code == JORDAN:
            names.append("rnn.weight_ch_l0")
            shapes.append((H, O))
        elif cell_code == INDRNN:
            names.append(f"rnn.weight_hh_l{l}")
            shapes.append((H,))
        else:
            names.append(f"rnn.weight_hh_l{l}")
            shapes.append((H, H))
        names.append(f"rnn.bias_ih_l{l}")
        shapes.append((H,))
        if cell_code == CTRNN:
            names.append(f"rnn.log_tau_l{l}")
            shapes.append((H,))
    names += ["head.weight", "head.bias"]
    shapes += [(O, H), (O,)]
    return names, shapes


def family_size(shapes):
    """Length of the flat parameter vector."""
    return int(sum(int(np.prod(s)) for s in shapes))


def family_offsets(names, shapes):
    """Kernel offsets from the layout of :func:`family_layout`.

    Returns
    -------
    offsets : (L, 4) int64 array
        Per layer the start of ``weight_ih``, ``weight_hh``/``weight_ch``,
        ``bias_ih`` and ``log_tau`` in the flat vector, -1 where the cell has
        no such tensor.
    head_offsets : (2,) int64 array
        Start of ``head.weight`` and ``head.bias``.

    Examples
    --------
    >>> from tsrnn.kernels.activations import CTRNN
    >>> off, head = family_offsets(*family_layout(CTRNN, 1, 2, 1, 1))
    >>> off.tolist(), head.tolist()
    ([[0, 2, 6, 8]], [10, 12])
    """
    if len(names) != len(shapes):
        raise ValueError(f"got {len(names)} names but {len(shapes)} shapes")
    starts, pos = {}, 0
    for name, shape in zip(names, shapes):
        starts[name] = pos
        pos += int(np.prod(shape))
    layers = {}
    for name, start in starts.items():
        m = _NAME.match(name)
        if m is not None:
            layers.setdefault(int(m.group(2)), {})[_COLUMN[m.group(1)]] = start
        elif name not in ("head.weight", "head.bias"):
            raise ValueError(f"unexpected parameter name {name!r} in a Jordan/IndRNN/CTRNN layout")
    L = len(layers)
    if sorted(layers) != list(range(L)):
        raise ValueError(f"layer numbers must run 0..L-1, got {sorted(layers)}")
    if "head.weight" not in starts or "head.bias" not in starts:
        raise ValueError("the layout has no head.weight/head.bias")
    offsets = np.full((L, 4), -1, dtype=np.int64)
    for l, cols in layers.items():
        for c, start in cols.items():
            offsets[l, c] = start
    head = np.array([starts["head.weight"], starts["head.bias"]], dtype=np.int64)
    return offsets, head


# ------------------------------------------------------------------ IndRNN
def indrnn_recurrent_max(n_steps, gamma=2.0):
    """Upper bound ``gamma ** (1 / n_steps)`` on IndRNN's ``|u|`` (ReLU).

    The gradient a ReLU IndRNN neuron carries over ``n_steps`` steps is at
    most ``|u|^n_steps``, so this bound keeps it below ``gamma``.

    Examples
    --------
    >>> round(indrnn_recurrent_max(10, gamma=2.0), 6)
    1.071773
    """
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer (the BPTT length), got {n_steps!r}")
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0, got {gamma!r}")
    return float(gamma) ** (1.0 / int(n_steps))


def indrnn_recurrent_min(n_steps, epsilon=0.5):
    """Paper's lower bound ``epsilon ** (1 / n_steps)`` on ``|u|`` for long memory.

    A neuron with ``|u| >= epsilon^(1/T)`` keeps at least the fraction
    ``epsilon`` of its gradient over ``T`` steps (ReLU, positive pre-activations).

    Examples
    --------
    >>> round(indrnn_recurrent_min(10, epsilon=0.5), 6)
    0.933033
    """
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer (the BPTT length), got {n_steps!r}")
    if not 0 < epsilon <= 1:
        raise ValueError(f"epsilon must lie in (0, 1], got {epsilon!r}")
    return float(epsilon) ** (1.0 / int(n_steps))


def indrnn_clip_recurrent(params, offsets, hidden_size, max_abs):
    """Project every layer's IndRNN recurrent vector ``u`` onto ``[-max_abs, max_abs]`` in place.

    Parameters
    ----------
    params : (P,) float array
        The flat parameter vector (modified in place).
    offsets : (L, 4) int64 array
        From :func:`family_offsets`; column 1 is the start of ``u``.
    hidden_size : int
    max_abs : float
        Usually :func:`indrnn_recurrent_max` of the BPTT length.

    Returns
    -------
    params

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.0, 0.0, 3.0, -3.0, 0.5, 9.0])
    >>> indrnn_clip_recurrent(p, np.array([[0, 2, 4, -1]]), 2, 1.5).tolist()
    [0.0, 0.0, 1.5, -1.5, 0.5, 9.0]
    """
    if not max_abs >= 0:
        raise ValueError(f"max_abs must be >= 0, got {max_abs!r}")
    H = int(hidden_size)
    for l in range(offsets.shape[0]):
        o = int(offsets[l, 1])
        u = params[o:o + H]
        np.clip(u, -max_abs, max_abs, out=u)
    return params


# ---------------------------------------------------------------- initialise
def initialise_family(names, shapes, views, cell_code, rng=None, *, n_steps=None, gamma=2.0,
                      u_min=0.0, tau_range=(1.0, 10.0)):
    """Fill the parameters of a Jordan, IndRNN or CTRNN network in place.

    Choices (``k = 1/sqrt(H)``, ``U`` uniform):

    * input weights ``weight_ih`` (all cells) and Jordan's ``weight_ch``,
      CTRNN's ``weight_hh`` and the head: ``U(-k, k)`` (PyTorch's defaults for
      ``nn.RNN``/``nn.Linear``);
    * biases: Jordan and the head ``U(-k, k)`` (PyTorch); IndRNN and CTRNN 0
      (ReLU IndRNN: no neuron starts dead or saturated; CTRNN: the rest state
      is 0);
    * IndRNN ``u ~ U(u_min, u_max)``, ``u_max = indrnn_recurrent_max(n_steps,
      gamma)`` when ``n_steps`` is given, else 1 (the paper's ``U(0, 1)``).
      Pass ``u_min = indrnn_recurrent_min(n_steps, epsilon)`` for the paper's
      long-memory initialisation ``U(epsilon^(1/T), gamma^(1/T))``;
    * CTRNN ``log_tau``: time constants log-spaced over ``tau_range`` across
      the ``H`` neurons (multi-timescale memory: ``tau = 1`` follows the
      input at once, ``tau = 10`` integrates over ~10 unit steps).  ``dt``
      should be expressed in units of the typical sampling interval.

    Parameters
    ----------
    names, shapes : sequences
        From :func:`family_layout`.
    views : dict
        ``name -> writable array`` (views into the flat vector).
    cell_code : int
    rng : None, int, numpy Generator or RandomState
    n_steps : int, optional
        BPTT length (IndRNN's ``u_max``).
    gamma : float
        IndRNN gradient bound (see :func:`indrnn_recurrent_max`).
    u_min : float
        Lower end of IndRNN's ``u`` draws.
    tau_range : (float, float)
        CTRNN time constants (smallest, largest), both > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.kernels.activations import INDRNN
    >>> names, shapes = family_layout(INDRNN, 1, 3, 2, 1)
    >>> flat = np.zeros(family_size(shapes))
    >>> starts = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    >>> views = {n: flat[a:a + int(np.prod(s))].reshape(s) for n, s, a in zip(names, shapes, starts)}
    >>> initialise_family(names, shapes, views, INDRNN, 0, n_steps=20)
    >>> bool(np.all(np.abs(views["rnn.weight_hh_l1"]) <= indrnn_recurrent_max(20)))
    True
    """
    _check_cell(cell_code)
    rng = as_generator(rng)
    H = shapes[0][0]
    k = 1.0 / np.sqrt(H)
    u_max = indrnn_recurrent_max(n_steps, gamma) if n_steps is not None else 1.0
    if not 0.0 <= u_min <= u_max:
        raise ValueError(f"u_min must lie in [0, u_max={u_max:g}], got {u_min!r}")
    lo, hi = (float(v) for v in tau_range)
    if not 0 < lo <= hi or not np.isfinite(hi):
        raise ValueError(f"tau_range must be (smallest, largest) with 0 < smallest <= largest, "
                         f"got {tau_range!r}")
    for name, shape in zip(names, shapes):
        arr = views[name]
        if tuple(arr.shape) != tuple(shape):
            raise ValueError(f"view {name!r} has shape {arr.shape}, expected {tuple(shape)}")
        kind = name.split(".")[1].rsplit("_l", 1)[0] if name.startswith("rnn.") else name
        if kind == "bias_ih" and cell_code in (INDRNN, CTRNN):
            arr[...] = 0.0
        elif kind == "weight_hh" and cell_code == INDRNN:
            arr[...] = rng.uniform(u_min, u_max, size=shape)
        elif kind == "log_tau":
            arr[...] = np.linspace(np.log(lo), np.log(hi), shape[0])
        else:
            arr[...] = rng.uniform(-k, k, size=shape)

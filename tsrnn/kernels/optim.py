"""Optimizer, clipping and guard kernels on a flat 1-D parameter vector.

Every kernel here is allocation-free and updates its arrays in place.  They
follow the single-tensor code paths of ``torch.optim`` operation by operation:

* state arrays (momentum buffers, moment estimates) have the dtype of the
  parameters, and every scalar hyper-parameter is rounded to that dtype before
  use, so a float32 update is computed in float32 as PyTorch does on the CPU;
* scalars that PyTorch derives in Python (``1 - beta``, bias corrections,
  ``lr / bias_correction1``) are derived here in float64 first, then rounded.

The Python wrappers in :mod:`tsrnn.nn.optimizers` pass scalars as Python
``float`` / ``int`` / ``bool`` so each kernel compiles once per dtype.

:func:`grad_global_norm` accumulates in float64 in a fixed order (four
interleaved partial sums combined in a fixed pattern), so the norm is
bitwise reproducible whatever the thread count.
"""

from __future__ import annotations

import math

import numpy as np

from tsrnn._config import jit

__all__ = [
    "sgd_step",
    "adam_step",
    "rmsprop_step",
    "grad_global_norm",
    "scale_inplace",
    "clip_by_value",
    "all_finite",
]


@jit
def sgd_step(params, grad, buf, lr, momentum, dampening, nesterov, weight_decay, first):
    """One ``torch.optim.SGD`` step, in place.

    Parameters
    ----------
    params, grad : 1-D arrays (n,)
        Parameters (updated) and gradient (not modified).
    buf : 1-D array (n,) or (0,)
        Momentum buffer (updated); unused (may be empty) when ``momentum == 0``.
    lr, momentum, dampening, weight_decay : float
    nesterov : bool
    first : bool
        True on the first step: the buffer is set to the (decayed) gradient,
        as PyTorch does when it creates the buffer.
    """
    t = params.dtype.type
    lr_ = t(lr)
    mom = t(momentum)
    omd = t(1.0 - dampening)
    wd = t(weight_decay)
    use_wd = weight_decay != 0.0
    use_mom = momentum != 0.0
    n = params.shape[0]
    for i in range(n):
        g = grad[i]
        if use_wd:
            g = g + wd * params[i]
        if use_mom:
            if first:
                b = g
            else:
                b = buf[i] * mom
                b = b + omd * g
            buf[i] = b
            if nesterov:
                g = g + mom * b
            else:
                g = b
        params[i] = params[i] - lr_ * g


@jit
def adam_step(params, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, decoupled):
    """One ``torch.optim.Adam`` (``decoupled=False``) or ``AdamW`` step, in place.

    Parameters
    ----------
    params, grad : 1-D arrays (n,)
        Parameters (updated) and gradient (not modified).
    m, v : 1-D arrays (n,)
        First and second moment estimates (updated).
    step : int
        1-based step count *after* this step (PyTorch increments first).
    lr, beta1, beta2, eps, weight_decay : float
    decoupled : bool
        False: L2 penalty added to the gradient (Adam).  True: parameters are
        multiplied by ``1 - lr * weight_decay`` first (AdamW).
    """
    t = params.dtype.type
    fstep = float(step)
    bc1 = 1.0 - math.pow(beta1, fstep)
    bc2 = 1.0 - math.pow(beta2, fstep)
    neg_step_size = t(-(lr / bc1))
    bc2_sqrt = t(math.sqrt(bc2))
    w1 = 1.0 - beta1  # lerp weight, as torch's exp_avg.lerp_(grad, 1 - beta1)
    w1_ = t(w1)
    omw1 = t(1.0 - w1)
    lerp_low = w1 < 0.5
    b2 = t(beta2)
    omb2 = t(1.0 - beta2)
    eps_ = t(eps)
    wd = t(weight_decay)
    decay = t(1.0 - lr * weight_decay)
    use_wd = weight_decay != 0.0
    n = params.shape[0]
    for i in range(n):
        p = params[i]
        g = grad[i]
        if use_wd:
            if decoupled:
                p = p * decay
            else:
                g = g + wd * p
        # exp_avg.lerp_(grad, w1), torch's two-sided lerp formula
        mi = m[i]
        d = g - mi
        if lerp_low:
            mi = mi + w1_ * d
        else:
            mi = g - d * omw1
        m[i] = mi
        # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        vi = v[i] * b2
        vi = vi + omb2 * g * g
        v[i] = vi
        denom = math.sqrt(vi) / bc2_sqrt + eps_
        params[i] = p + neg_step_size * mi / denom


@jit
def rmsprop_step(params, grad, sq, buf, grad_avg, lr, alpha, eps, momentum, centered,
                 weight_decay):
    """One ``torch.optim.RMSprop`` step, in place.

    Parameters
    ----------
    params, grad : 1-D arrays (n,)
        Parameters (updated) and gradient (not modified).
    sq : 1-D array (n,)
        Running average of the squared gradient (updated).
    buf : 1-D array (n,) or (0,)
        Momentum buffer; used only when ``momentum > 0``.
    grad_avg : 1-D array (n,) or (0,)
        Running average of the gradient; used only when ``centered``.
    lr, alpha, eps, momentum, weight_decay : float
    centered : bool
    """
    t = params.dtype.type
    lr_ = t(lr)
    neg_lr = t(-lr)
    a = t(alpha)
    oma = t(1.0 - alpha)
    w = 1.0 - alpha  # grad_avg.lerp_(grad, 1 - alpha)
    w_ = t(w)
    omw = t(1.0 - w)
    lerp_low = w < 0.5
    eps_ = t(eps)
    mom = t(momentum)
    wd = t(weight_decay)
    use_wd = weight_decay != 0.0
    use_mom = momentum > 0.0
    n = params.shape[0]
    for i in range(n):
        g = grad[i]
        if use_wd:
            g = g + wd * params[i]
        s = sq[i] * a
        s = s + oma * g * g
        sq[i] = s
        if centered:
            ga = grad_avg[i]
            d = g - ga
            if lerp_low:
                ga = ga + w_ * d
            else:
                ga = g - d * omw
            grad_avg[i] = ga
            avg = math.sqrt(s - ga * ga)
        else:
            avg = math.sqrt(s)
        avg = avg + eps_
        if use_mom:
            b = buf[i] * mom
            b = b + g / avg
            buf[i] = b
            params[i] = params[i] - lr_ * b
        else:
            params[i] = params[i] + neg_lr * g / avg


@jit
def grad_global_norm(grad):
    """L2 norm of a 1-D array, accumulated in float64 in a fixed order.

    Four interleaved partial sums (element ``i`` goes to sum ``i % 4``, the
    tail to the first) are combined as ``(s0 + s1) + (s2 + s3)``.  The result
    is ``nan``/``inf`` when the array holds non-finite values.
    """
    n = grad.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    n4 = n - n % 4
    for i in range(0, n4, 4):
        x0 = np.float64(grad[i])
        x1 = np.float64(grad[i + 1])
        x2 = np.float64(grad[i + 2])
        x3 = np.float64(grad[i + 3])
        s0 += x0 * x0
        s1 += x1 * x1
        s2 += x2 * x2
        s3 += x3 * x3
    for i in range(n4, n):
        x = np.float64(grad[i])
        s0 += x * x
    return math.sqrt((s0 + s1) + (s2 + s3))


@jit
def scale_inplace(grad, factor):
    """``grad *= factor`` (factor rounded to the array dtype first)."""
    f = grad.dtype.type(factor)
    for i in range(grad.shape[0]):
        grad[i] = grad[i] * f


@jit
def clip_by_value(grad, clip_value):
    """Clamp every element to ``[-clip_value, clip_value]`` in place (NaN stays NaN)."""
    t = grad.dtype.type
    hi = t(clip_value)
    lo = t(-clip_value)
    for i in range(grad.shape[0]):
        g = grad[i]
        if g > hi:
            grad[i] = hi
        elif g < lo:
            grad[i] = lo


@jit
def all_finite(x):
    """True when no element of the 1-D array is NaN or +/-inf."""
    for i in range(x.shape[0]):
        if not np.isfinite(x[i]):
            return False
    return True

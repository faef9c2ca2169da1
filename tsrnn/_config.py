"""One place for JIT flags and engine defaults, driven by environment variables.

Every jitted function in tsrnn is decorated through :func:`jit` or :func:`pjit`
so that caching, fastmath and the GIL policy can be changed without touching
kernel code.

Environment variables
---------------------
TSRNN_CACHE : "1" (default) or "0"
    Use Numba's on-disk cache (``__pycache__`` next to the kernel sources, or
    ``NUMBA_CACHE_DIR`` when that is set).
TSRNN_FASTMATH : "0" (default) or "1"
    Allow LLVM fast-math in kernels.  Off by default: gradients are checked
    against PyTorch to 1e-6 in float64.
TSRNN_FAST_ACTIVATIONS : "1" (default) or "0"
    In float32, use branch-free rational approximations of tanh and sigmoid
    (max abs error 3.5e-7) that vectorise; float64 always uses libm.
TSRNN_SHARD_SIZE : int, default 16
    Number of samples (windows or streams) one parallel task processes.  The
    gradient is reduced over shards in a fixed order, so results do not depend
    on the thread count, but they do depend on the shard size.
"""

from __future__ import annotations

import os

__all__ = ["CACHE", "FASTMATH", "FAST_ACTIVATIONS", "SHARD_SIZE", "jit", "pjit"]


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"environment variable {name}={raw!r} is not a boolean; use 0 or 1")


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"environment variable {name}={raw!r} must be >= {minimum}")
    return value


CACHE = _env_flag("TSRNN_CACHE", True)
FASTMATH = _env_flag("TSRNN_FASTMATH", False)
FAST_ACTIVATIONS = _env_flag("TSRNN_FAST_ACTIVATIONS", True)
SHARD_SIZE = _env_int("TSRNN_SHARD_SIZE", 16)


def _flags(**overrides):
    flags = dict(cache=CACHE, fastmath=FASTMATH, nogil=True, error_model="numpy")
    flags.update(overrides)
    return flags


def jit(func=None, **overrides):
    """``numba.njit`` with tsrnn's flags (serial kernels)."""
    import numba

    if func is None:
        return lambda f: numba.njit(**_flags(**overrides))(f)
    return numba.njit(**_flags(**overrides))(func)


def pjit(func=None, **overrides):
    """``numba.njit(parallel=True)`` with tsrnn's flags (drivers using prange)."""
    return jit(func, parallel=True, **overrides)

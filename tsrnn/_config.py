"""One place for JIT flags and engine defaults, driven by environment variables.

Every jitted function in tsrnn is decorated through :func:`jit` so that
caching, fastmath and the GIL policy can be changed without touching kernel
code (parallelism comes from :func:`tsrnn._threading.run_blocks`, not from
``prange``).

Environment variables
---------------------
TSRNN_CACHE : "1" (default) or "0"
    Use Numba's on-disk cache (``__pycache__`` next to the kernel sources, or
    ``NUMBA_CACHE_DIR`` when that is set; a user-wide directory when the
    sources' folder is not writable).  Fill it ahead of use with
    ``python -m tsrnn.precompile``.
TSRNN_FASTMATH : "0" (default) or "1"
    Allow LLVM fast-math in kernels.  Off by default: gradients are checked
    against PyTorch to 1e-6 in float64.  Without it the kernels still let LLVM
    fuse ``a * b + c`` into one FMA instruction (``fastmath={"contract"}``: one
    rounding instead of two, never less accurate); the float32 activation
    polynomials and gate updates run 12-21 % faster with it (measured,
    benchmarks/RESULTS.md).
TSRNN_FAST_ACTIVATIONS : "1" (default) or "0"
    In float32, use branch-free rational approximations of tanh and sigmoid
    (max abs error 3.5e-7) that vectorise; float64 always uses libm.
TSRNN_SPIN : "1" (default) or "0"
    Parallel kernels hand their blocks to worker threads that spin (without the
    GIL, up to ~0.25 ms) for their next task before sleeping
    (:func:`tsrnn._threading.run_blocks`); "0" uses a plain thread pool.
TSRNN_SHARD_SIZE : int, default 32
    Number of samples (windows or streams) one parallel task processes
    (32: 10-17 % faster per batch than 16 at 1 and 2 threads, benchmarks/RESULTS.md;
    a batch of 64 then feeds two threads, so use bigger batches on many cores).  The
    gradient is reduced over shards in a fixed order, so results do not depend
    on the thread count, but they do depend on the shard size.
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["CACHE", "FASTMATH", "FAST_ACTIVATIONS", "SHARD_SIZE", "SPIN", "jit"]


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
SHARD_SIZE = _env_int("TSRNN_SHARD_SIZE", 32)
SPIN = _env_flag("TSRNN_SPIN", True)


def _flags(**overrides):
    flags = dict(cache=CACHE, fastmath=True if FASTMATH else {"contract"}, nogil=True,
                 error_model="numpy")
    flags.update(overrides)
    return flags


def _kernel_sources_digest() -> str:
    """SHA-256 (16 hex digits) of every kernel module's source (``tsrnn/kernels/*.py``)."""
    kdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
    h = hashlib.sha256()
    try:
        names = sorted(n for n in os.listdir(kdir) if n.endswith(".py"))
        for name in names:
            with open(os.path.join(kdir, name), "rb") as fh:
                h.update(name.encode() + b"\0" + fh.read() + b"\0")
    except OSError:
        return "unreadable"
    return h.hexdigest()[:16]


#: Extra part of every cache key: the kernel sources and the global JIT flags.
#: Numba keys a cached function by its own bytecode and its own file's time
#: stamp only, so without this a kernel that calls a jitted function from
#: another file (bptt -> cells, activations, losses) kept the old callee after
#: that file changed, and a cache written with TSRNN_FASTMATH=0 was loaded with
#: TSRNN_FASTMATH=1.
CACHE_TAG = ("tsrnn", _kernel_sources_digest(), repr(sorted(_flags().items())))
_CACHE_CLASS = None


def _cache_class():
    global _CACHE_CLASS
    if _CACHE_CLASS is None:
        from numba.core.caching import FunctionCache

        class KernelCache(FunctionCache):
            """Numba's per-function disk cache, with :data:`CACHE_TAG` in the index key."""

            def _index_key(self, sig, codegen):
                return super()._index_key(sig, codegen) + (CACHE_TAG,)

        _CACHE_CLASS = KernelCache
    return _CACHE_CLASS


def _njit(func, flags):
    import numba

    disp = numba.njit(**flags)(func)
    if flags.get("cache"):
        try:
            disp._cache = _cache_class()(disp.py_func)
        except (ImportError, AttributeError, TypeError):  # pragma: no cover - other Numba versions
            pass  # keep Numba's own cache (keyed without CACHE_TAG)
    return disp


def jit(func=None, **overrides):
    """``numba.njit`` with tsrnn's flags (``nogil`` serial kernels)."""
    if func is None:
        return lambda f: _njit(f, _flags(**overrides))
    return _njit(func, _flags(**overrides))


"""Wait for a flag without the GIL, spinning (used by :mod:`tsrnn._threading`).

Waking a sleeping thread costs tens of microseconds on virtual machines (the
idle virtual CPU has to be woken by the hypervisor): a pool of Python threads
that sleep between tasks spent 79 us per two-thread dispatch on the project
machine, a third of a small model's batch.  Spinning on a flag for a bounded
number of iterations, outside the GIL, cut it to ~25 us through
:func:`tsrnn._threading.run_blocks` (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from numba import types
from numba.extending import intrinsic

from tsrnn._config import jit


@intrinsic
def _load_acquire(typingctx, arr, i):
    """``arr[i]`` of an int64 array as an atomic (acquire) load: LLVM may neither
    hoist it out of the loop nor assume no other thread writes it."""
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.load_atomic(builder.gep(ary.data, [args[1]]), "acquire", 8)

    return types.int64(arr, i), codegen


@jit
def spin_until_changed(flags, i, old, max_iter):
    """Spin until ``flags[i] != old`` (True) or ``max_iter`` reads passed (False)."""
    for _ in range(max_iter):
        if _load_acquire(flags, i) != old:
            return True
    return False

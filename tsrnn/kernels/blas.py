"""Matrix products for the kernels: BLAS ``gemm`` in cache-sized blocks.

``np.dot`` inside a Numba kernel makes one BLAS call per product and cannot
accumulate (``beta``).  The kernels' products are small and repeated every
time step, and one call per product leaves speed on the table in OpenBLAS
(SciPy's, the BLAS Numba uses): a product whose ``m * n * k`` is at most about
10**6 runs in OpenBLAS's "small matrix" kernel, which reads the operands in
place; a bigger one first copies (packs) both operands, every call.  The
recurrent weights get packed again at each of the 48 steps of a window, and
the weight gradient ``dZ^T @ H`` (``k`` = steps x shard rows) runs on the
transposed-operand path of the big kernel.  Measured on the project machine
(1 thread, float32, GFLOP/s, ``np.dot`` -> :func:`gemm`): per-step products at
H = 128 and 32 rows 126-136 -> 199-248; weight gradients (k = 1536) 85-205 ->
209-249 (benchmarks/RESULTS.md).  Splitting into blocks of at most
:data:`SMALL_MNK` keeps every call on the small kernel; the ``k`` blocks are
summed by BLAS itself (``beta = 1``), in a fixed order.

Everything goes through Numba's own BLAS entry point (``numba_xxgemm``, the
function ``np.dot`` calls), so cached kernels stay cacheable and the BLAS is
the one ``threadpoolctl`` limits (:mod:`tsrnn._threading`).
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from tsrnn._config import jit

#: Largest ``m * n * k`` of one BLAS call (OpenBLAS's small-matrix kernels take
#: products up to about 10**6; a power of two below that measured best).
SMALL_MNK = 1 << 19

# Numba's wrapper around SciPy's ?gemm (column-major, Fortran calling convention):
# numba_xxgemm(kind, transa, transb, m, n, k, *alpha, *a, lda, *b, ldb, *beta, *c, ldc)
_xxgemm = types.ExternalFunction("numba_xxgemm", types.intc(
    types.char, types.char, types.char, types.intp, types.intp, types.intp,
    types.voidptr, types.voidptr, types.intp, types.voidptr, types.intp,
    types.voidptr, types.voidptr, types.intp))

_N = ord("n")
_T = ord("t")
_S = ord("s")   # float32
_D = ord("d")   # float64


@intrinsic
def _ptr(typingctx, arr, offset):
    """Address of ``arr.flat[offset]`` of a C-contiguous array (no slice object,
    so no reference counting in the block loop)."""
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.bitcast(builder.gep(ary.data, [args[1]]), cgutils.voidptr_t)

    return types.voidptr(arr, offset), codegen


@intrinsic
def _scalar(typingctx, arr, value):
    """Address of a stack slot holding ``value`` converted to ``arr``'s dtype
    (BLAS takes alpha and beta by reference)."""
    def codegen(context, builder, sig, args):
        v = context.cast(builder, args[1], sig.args[1], sig.args[0].dtype)
        return builder.bitcast(cgutils.alloca_once_value(builder, v), cgutils.voidptr_t)

    return types.voidptr(arr, value), codegen


@jit(inline="always")
def _blocks(m, n, k):
    """Block sizes (mb, nb, kb) for an (m, k) @ (k, n) product (see :func:`gemm`)."""
    if m * n * k <= SMALL_MNK:
        return m, n, k
    # k in blocks of 64, up to 128 rows, and as many columns as fit SMALL_MNK.
    # Measured with single-threaded BLAS (session 5, benchmarks/RESULTS.md): with
    # 64-byte aligned operands (the kernels allocate them so) blocks beat one whole
    # call for the inference shards too, e.g. (256 x 128) @ (128 x 128) 209 -> 271
    # GFLOP/s, GRU's training step (32 x 128) @ (128 x 384) 207 -> 260; the earlier
    # rule kept many-row, short-k products whole, which wins only when the operands
    # are 32 bytes off a 64-byte boundary (Numba's np.empty).  A B operand whose rows
    # are a multiple of 256 floats apart reads 64 of them through few cache sets:
    # k in blocks of 32 there ((256 x 64) @ (64 x 256) 259 -> 269).
    kb = min(k, 64)
    if kb == 64 and n % 256 == 0:
        kb = 32
    mb = min(m, 128)
    return mb, min(n, max(16, SMALL_MNK // (mb * kb))), kb


@jit(inline="always")
def gemm(A, B, C, beta, trans_a):
    """``C = op(A) @ B + beta * C`` (see :func:`_gemm`)."""
    # ``trans_a != 0`` is a plain bool: a literal True/False from the call site would
    # compile _gemm twice (Numba specialises on literal booleans).  Inlining the
    # one-call path here instead saved ~30 ns per small product but doubled the
    # compile time of the BPTT kernel (cold first fit 14 -> 24 s): not kept
    _gemm(A, B, C, beta, trans_a != 0)


@jit
def _gemm(A, B, C, beta, trans_a):
    """``C = op(A) @ B + beta * C`` for C-contiguous 2-D arrays, in blocks.

    Parameters
    ----------
    A : (m, k) array, or (k, m) with ``trans_a`` (then ``op(A) = A.T``).
    B : (k, n) array.
    C : (m, n) array, written (``beta = 0``: its old values are ignored, also NaN).
    beta : float, 0 or 1 (accumulate into ``C``).
    trans_a : bool.

    Blocks of ``k`` are summed in order (the first with ``beta``, the rest with
    1), so the result does not depend on anything but the shapes.
    """
    if trans_a:
        k, m = A.shape
    else:
        m, k = A.shape
    n = B.shape[1]
    if not (_contiguous(A) and _contiguous(B) and _contiguous(C)):
        raise ValueError("gemm needs C-contiguous arrays")
    if m == 0 or n == 0:
        return
    if k == 0:
        for i in range(m):
            for j in range(n):
                C[i, j] = 0.0 if beta == 0.0 else C[i, j] * beta
        return
    kind = _S if A.itemsize == 4 else _D
    one = _scalar(A, 1.0)
    # row-major C = op(A) B is column-major C^T = B^T op(A)^T
    ta = _T if trans_a else _N
    lda = m if trans_a else k
    mb, nb, kb = _blocks(m, n, k)
    for i0 in range(0, m, mb):
        mi = min(mb, m - i0)
        for j0 in range(0, n, nb):
            nj = min(nb, n - j0)
            for p0 in range(0, k, kb):
                kp = min(kb, k - p0)
                bet = _scalar(A, beta if p0 == 0 else 1.0)
                a0 = p0 * m + i0 if trans_a else i0 * k + p0
                _xxgemm(kind, _N, ta, nj, mi, kp, one, _ptr(B, p0 * n + j0), n,
                        _ptr(A, a0), lda, bet, _ptr(C, i0 * n + j0), n)


@jit(inline="always")
def _contiguous(X):
    """C-contiguous 2-D array (strides checked directly: cheaper than ``X.flags``)."""
    r, c = X.shape
    s = X.itemsize
    return X.size == 0 or ((c <= 1 or X.strides[1] == s) and (r <= 1 or X.strides[0] == c * s))

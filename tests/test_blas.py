"""tsrnn.kernels.blas.gemm against NumPy's matmul (the slow reference)."""

import numpy as np
import pytest

from tsrnn.kernels.blas import SMALL_MNK, _blocks, gemm

# shapes the kernels use (per-step, weight gradient, inference), shapes that are cut
# into blocks with ragged edges, and degenerate ones
SHAPES = [(32, 128, 512), (32, 512, 128), (256, 128, 512), (256, 64, 256), (1536, 1, 64),
          (100, 300, 70), (65, 129, 67), (5, 7, 3), (1, 1, 1), (0, 3, 4), (3, 4, 0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_gemm_matches_numpy(dtype, m, k, n, trans_a, beta):
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    A = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    C0 = rng.standard_normal((m, n)).astype(dtype)
    C = C0.copy()
    gemm(A, B, C, beta, trans_a)
    ref = (A.T if trans_a else A).astype(np.float64) @ B.astype(np.float64) + beta * C0
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(C, ref, rtol=tol * 10, atol=tol * max(k, 1))


def test_gemm_beta0_ignores_nan_in_output():
    A = np.ones((40, 200), np.float32)
    B = np.ones((200, 130), np.float32)
    C = np.full((40, 130), np.nan, np.float32)
    gemm(A, B, C, 0.0, False)
    assert np.all(C == 200.0)


def test_gemm_empty_inner_dimension():
    C = np.full((3, 4), 2.0)
    gemm(np.empty((3, 0)), np.empty((0, 4)), C, 1.0, False)
    assert np.all(C == 2.0)
    gemm(np.empty((3, 0)), np.empty((0, 4)), C, 0.0, False)
    assert np.all(C == 0.0)


def test_gemm_refuses_non_contiguous():
    A = np.ones((8, 8))[:, ::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        gemm(A, np.ones((4, 3)), np.empty((8, 3)), 0.0, False)


@pytest.mark.parametrize("m,n,k", [(32, 512, 128), (32, 128, 512), (384, 128, 1536),
                                   (256, 512, 128), (256, 256, 64), (512, 256, 128),
                                   (32, 64, 64), (7, 5, 3)])
def test_blocks_stay_small_or_whole(m, n, k):
    mb, nb, kb = _blocks(m, n, k)
    assert 1 <= mb <= m and 1 <= nb <= n and 1 <= kb <= k
    whole = (mb, nb, kb) == (m, n, k)
    # one call exactly when the whole product fits OpenBLAS's small-matrix kernel
    assert whole == (m * n * k <= SMALL_MNK)
    assert whole or mb * nb * kb <= SMALL_MNK


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 17, 4096, 65536])
def test_aligned_flat_is_64_byte_aligned(dtype, n):
    from tsrnn.kernels.bptt import _aligned_flat

    for _ in range(5):   # Numba's own np.empty gives 32 mod 64 for some sizes every time
        a = _aligned_flat(n, dtype)
        assert a.shape == (n,) and a.dtype == dtype and a.flags.c_contiguous
        assert a.ctypes.data % 64 == 0


@pytest.mark.parametrize("m,k", [(1, 1), (16, 16), (17, 33), (37, 19), (512, 128)])
def test_tiled_transpose_matches_numpy(m, k):
    from numba import njit

    from tsrnn.kernels.bptt import _transpose_into

    @njit
    def transpose(w, out):
        _transpose_into(w, out)

    w = np.arange(m * k, dtype=np.float32).reshape(m, k)
    out = np.full((k, m), np.nan, np.float32)
    transpose(w, out)
    np.testing.assert_array_equal(out, w.T)

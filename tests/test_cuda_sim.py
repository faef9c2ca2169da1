"""CUDA backend: kernels under the CUDA simulator compared with the CPU path.

The kernel tests (marked ``sim_only``) run only when ``NUMBA_ENABLE_CUDASIM=1`` is set
for the whole process (numba reads it once, at the first import of numba.cuda).  In
the normal test run, :func:`test_simulator_suite_passes` runs this file in a
subprocess with the simulator on, so CI always exercises them.  Sizes stay tiny
(B <= 4, T <= 4, H = 3): the simulator runs one Python thread per CUDA thread.

Comparisons are in float64 against ``tsrnn.nn.Network`` (the CPU kernels) and
``tsrnn.nn.optimizers`` (Adam, clipping).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
sim_only = pytest.mark.skipif(not SIM, reason="needs NUMBA_ENABLE_CUDASIM=1 (run by "
                                              "test_simulator_suite_passes in a subprocess)")
ROOT = Path(__file__).resolve().parents[1]

if SIM:
    # the simulator's block manager polls its threads while holding the GIL: a short
    # switch interval makes each syncthreads() cost ~0.1 ms instead of ~5 ms
    sys.setswitchinterval(2e-4)

CELLS = [("elman", "tanh"), ("elman", "relu"), ("lstm", None), ("gru", None)]
TOL = dict(rtol=1e-10, atol=1e-12)


def _net(cell, nonlin=None, L=1, seq=False, I=2, H=3, O=1, dtype="float64", seed=0):
    from tsrnn.nn import Network

    return Network(I, H, cell=cell, num_layers=L, output_size=O, return_sequences=seq,
                   nonlinearity=nonlin, dtype=dtype, random_state=seed)


def _flat(net, grads):
    return np.concatenate([grads[name].ravel() for name in net.layout.names])


def _data(net, B=4, T=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(B, T, net.input_size))
    Y = rng.normal(size=(B, T if net.return_sequences else 1, net.output_size))
    if not net.return_sequences:
        Y = Y[:, 0, :]
    h0 = 0.5 * rng.normal(size=(net.num_layers, B, net.hidden_size))
    c0 = 0.5 * rng.normal(size=h0.shape) if net.is_lstm else None
    return X, Y, h0, c0


def _runner(net, **kw):
    from tsrnn.cuda.engine import CudaRunner

    kw.setdefault("tile", 3)      # B = 4: two blocks, the second one partial
    kw.setdefault("threads", 4)   # fewer threads than work items: strided loops
    return CudaRunner(net, **kw)


def _states_close(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, **TOL)
    else:
        np.testing.assert_allclose(a, b, **TOL)


# ------------------------------------------------------------------ any machine
def test_import_is_lazy():
    code = ("import sys, tsrnn, tsrnn.cuda; from tsrnn.cuda import cuda_status; "
            "assert 'numba.cuda' not in sys.modules, 'numba.cuda imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_cuda_status_names_what_is_missing():
    from tsrnn.cuda import cuda_status

    usable, reason = cuda_status()
    assert isinstance(usable, bool) and isinstance(reason, str) and reason
    if SIM:
        assert not usable and "simulator" in reason
        assert cuda_status(allow_simulator=True)[0] is True
        return
    if usable:
        pytest.skip(f"a usable GPU is present: {reason}")
    keywords = ("numba.cuda", "driver", "GPU", "libNVVM", "disabled", "compute capability")
    assert any(k in reason for k in keywords), reason


def test_runner_refuses_unsupported_networks():
    from tsrnn.cuda.engine import CudaRunner
    from tsrnn.nn import Network

    with pytest.raises(ValueError, match="bidirectional"):
        CudaRunner(Network(1, 3, cell="gru", bidirectional=True))
    for cell in ("jordan", "indrnn", "ctrnn"):
        with pytest.raises(ValueError, match=f"cell='{cell}' is not on the GPU"):
            CudaRunner(Network(1, 3, cell=cell))


def test_runner_without_gpu_says_why():
    from tsrnn.cuda import cuda_status
    from tsrnn.cuda.engine import CudaRunner

    if cuda_status(allow_simulator=True)[0]:
        pytest.skip("a GPU (or the simulator) is usable here")
    with pytest.raises(RuntimeError, match="device='cuda' is not usable: .*"):
        CudaRunner(_net("lstm"))


def test_bench_gpu_exits_clearly_without_gpu():
    from tsrnn.cuda import cuda_status

    if SIM:
        pytest.skip("the benchmark needs a real GPU; tested in the normal run")
    if cuda_status()[0]:
        pytest.skip("a GPU is usable here: the benchmark would run")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_gpu.py")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"})
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "no usable GPU" in out.stderr


def test_kernels_compile_to_ptx(monkeypatch):
    """The simulator runs the kernels as Python; this compiles them with the real CUDA
    compiler (libNVVM, no GPU needed) so that code only the simulator accepts fails here."""
    if SIM:
        pytest.skip("numba.cuda is the simulator in this process")
    from numba import cuda

    try:
        from numba.cuda.cudadrv import nvvm
        import numba.cuda.dispatcher as dispatcher
    except ImportError as exc:  # pragma: no cover - other numba layouts
        pytest.skip(f"numba.cuda internals differ: {exc}")
    if not nvvm.is_available() or not hasattr(dispatcher, "get_current_device"):
        pytest.skip("libNVVM (CUDA toolkit) not found: cannot compile kernels to PTX")
    from types import SimpleNamespace

    from tsrnn.cuda import kernels as K

    # device functions are compiled for the current device's compute capability; use
    # fresh kernel closures so that no device function compiled here is reused later
    monkeypatch.setattr(dispatcher, "get_current_device",
                        lambda: SimpleNamespace(compute_capability=(8, 0)))
    K.rnn_kernel.cache_clear()
    try:
        for cell in K.GPU_CELLS:
            ptx, _ = cuda.compile_ptx(K.rnn_kernel(cell, "float32").py_func,
                                      K.fwd_bwd_signature("float32"), cc=(8, 0))
            assert ".entry" in ptx
    finally:
        K.rnn_kernel.cache_clear()
    import numba

    f32, f64, i64 = numba.float32, numba.float64, numba.int64

    def arr(nd, dt=f32):
        return numba.types.Array(dt, nd, "C")

    sigs = {
        K.transpose_weights: (arr(1), arr(2, i64), i64, i64, i64, arr(1)),
        K.reduce_grad: (arr(2), arr(1), i64, arr(1, f64), arr(1, f64), i64, f64),
        K.adam_kernel: (arr(1),) * 4 + (f32,) * 4 + (i64,) + (f32,) * 5 + (i64, i64),
        K.sumsq_partials: (arr(1), arr(1, f64)),
        K.norm_finalize: (arr(1, f64), f64, arr(1, f64), arr(1)),
        K.scale_by_factor: (arr(1), arr(1)),
    }
    for kern, sig in sigs.items():
        cuda.compile_ptx(kern.py_func, sig, cc=(8, 0))


def test_simulator_suite_passes():
    """Run the simulator-only tests of this file in a subprocess with the simulator on."""
    if SIM:
        pytest.skip("already under the simulator")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    env.pop("NUMBA_DISABLE_CUDA", None)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-o", "addopts=", str(Path(__file__).resolve())],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    elapsed = time.perf_counter() - t0
    tail = (out.stdout + out.stderr)[-6000:]
    assert out.returncode == 0, tail
    assert " passed" in out.stdout and " failed" not in out.stdout, tail
    print(f"simulator suite: {out.stdout.strip().splitlines()[-1]} ({elapsed:.1f} s)")


# ------------------------------------------------------- under the simulator
@sim_only
@pytest.mark.parametrize("seq", [False, True], ids=["last", "every"])
@pytest.mark.parametrize("L", [1, 2])
@pytest.mark.parametrize("cell,nonlin", CELLS, ids=[f"{c}-{n}" for c, n in CELLS])
def test_loss_grad_state_match_cpu(cell, nonlin, L, seq):
    net = _net(cell, nonlin, L=L, seq=seq, O=2 if seq else 1)
    X, Y, h0, c0 = _data(net)
    ref_loss, ref_grads, ref_state = net.loss_and_grad(X, Y, h0=h0, c0=c0, return_state=True)
    loss, grad, state = _runner(net).loss_and_grad(X, Y, h0=h0, c0=c0, return_state=True)
    assert abs(loss - ref_loss) <= 1e-12 * max(1.0, abs(ref_loss))
    np.testing.assert_allclose(grad, _flat(net, ref_grads), **TOL)
    _states_close(state, ref_state)


@sim_only
@pytest.mark.parametrize("cell,nonlin", CELLS, ids=[f"{c}-{n}" for c, n in CELLS])
def test_forward_matches_cpu(cell, nonlin):
    # (layers, every step, threads): 32 threads leave most of them idle
    for L, seq, threads in ((2, True, 4), (1, False, 32)):
        net = _net(cell, nonlin, L=L, seq=seq, O=2, seed=3)
        X, _, h0, c0 = _data(net, B=3, T=4, seed=4)
        ref, ref_state = net.forward(X, h0=h0, c0=c0, return_state=True)
        out, state = _runner(net, tile=2, threads=threads).forward(X, h0=h0, c0=c0,
                                                                   return_state=True)
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, **TOL)
        _states_close(state, ref_state)


@sim_only
@pytest.mark.parametrize("loss,kw", [("mae", {}), ("huber", {"delta": 0.4}),
                                     ("pinball", {"quantiles": [0.1, 0.8]})])
def test_losses_match_cpu(loss, kw):
    net = _net("lstm", L=1, seq=True, O=2, seed=5)
    X, Y, h0, c0 = _data(net, seed=6)
    ref_loss, ref_grads = net.loss_and_grad(X, Y, loss=loss, h0=h0, c0=c0, **kw)
    got_loss, grad = _runner(net).loss_and_grad(X, Y, h0=h0, c0=c0, loss_code=loss, **kw)
    assert abs(got_loss - ref_loss) <= 1e-12
    np.testing.assert_allclose(grad, _flat(net, ref_grads), **TOL)


@sim_only
def test_float32_matches_cpu_loosely():
    net = _net("gru", L=2, seq=False, dtype="float32", seed=7)
    X, Y, h0, _ = _data(net, seed=8)
    ref_loss, ref_grads = net.loss_and_grad(X, Y, h0=h0)
    loss, grad = _runner(net).loss_and_grad(X.astype(np.float32), Y.astype(np.float32),
                                            h0=h0.astype(np.float32))
    assert grad.dtype == np.float32
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    np.testing.assert_allclose(grad, _flat(net, ref_grads), rtol=1e-4, atol=1e-6)


@sim_only
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_shared_and_global_weights_agree_bitwise(cell):
    net = _net(cell, L=2, seq=True, seed=9)
    X, Y, h0, c0 = _data(net, seed=10)
    on_chip = _runner(net)
    off_chip = _runner(net, shared_limit=0)
    assert on_chip._launch_shape(4)[2:4] == (True, True)
    assert off_chip._launch_shape(4)[2:4] == (False, False)
    a = on_chip.loss_and_grad(X, Y, h0=h0, c0=c0)
    b = off_chip.loss_and_grad(X, Y, h0=h0, c0=c0)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


@sim_only
def test_idx_and_device_resident_data():
    net = _net("gru", L=1, seq=False, seed=11)
    X, Y, _, _ = _data(net, B=4, seed=12)
    idx = np.array([3, 0, 2])
    ref_loss, ref_grads = net.loss_and_grad(X[idx], Y[idx])
    r = _runner(net, tile=2)
    dX, dY = r.to_device(X, Y)
    loss, grad = r.loss_and_grad(dX, dY, idx=idx)
    assert abs(loss - ref_loss) <= 1e-12
    np.testing.assert_allclose(grad, _flat(net, ref_grads), **TOL)


@sim_only
def test_deterministic_bitwise():
    net = _net("lstm", L=2, seq=True, seed=13)
    X, Y, h0, c0 = _data(net, seed=14)
    a = _runner(net).loss_and_grad(X, Y, h0=h0, c0=c0)
    b = _runner(net).loss_and_grad(X, Y, h0=h0, c0=c0)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    Xf, Yf = np.random.default_rng(15).normal(size=(2, 6, 3, 2))
    Yf = Yf[:, -1, :1]
    net1 = _net("gru", seed=16)
    r1, r2 = _runner(net1), _runner(net1)
    h1 = r1.fit_windows(Xf, Yf, epochs=1, batch_size=4, lr=0.01, seed=3, clip_grad_norm=0.5)
    h2 = r2.fit_windows(Xf, Yf, epochs=1, batch_size=4, lr=0.01, seed=3, clip_grad_norm=0.5)
    assert h1 == h2 and np.array_equal(r1.params_to_host(), r2.params_to_host())


@sim_only
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_tbptt_chained_chunks_match_cpu(cell):
    net = _net(cell, L=2, seq=True, seed=17)
    rng = np.random.default_rng(18)
    X = rng.normal(size=(2, 6, net.input_size))
    Y = rng.normal(size=(2, 6, 1))
    chunks = [slice(0, 3), slice(3, 6)]
    # CPU: the final state of a chunk is the initial state of the next
    ref, state = [], None
    for sl in chunks:
        h0, c0 = (state if net.is_lstm else (state, None)) if state is not None else (None, None)
        loss, grads, state = net.loss_and_grad(X[:, sl], Y[:, sl], h0=h0, c0=c0,
                                               return_state=True)
        ref.append((loss, _flat(net, grads), state))
    # GPU: chain on the device, without copying the states back
    r = _runner(net, tile=1, threads=3)
    h0 = c0 = None
    for (ref_loss, ref_grad, ref_state), sl in zip(ref, chunks):
        loss, grad, st = r.loss_and_grad(X[:, sl], Y[:, sl], h0=h0, c0=c0, return_state=True)
        h0, c0 = r.final_state_device
        assert abs(loss - ref_loss) <= 1e-12
        np.testing.assert_allclose(grad, ref_grad, **TOL)
        _states_close(st, ref_state)


@sim_only
@pytest.mark.parametrize("decoupled", [False, True], ids=["adam", "adamw"])
def test_adam_step_matches_cpu(decoupled):
    from tsrnn.nn.optimizers import Adam, AdamW

    net = _net("gru", seed=19)
    r = _runner(net)
    opt = (AdamW if decoupled else Adam)(net.n_params, "float64", betas=(0.8, 0.99), eps=1e-6,
                                         weight_decay=0.05)
    p = net.params.copy()
    rng = np.random.default_rng(20)
    for step in range(3):
        g = rng.normal(size=net.n_params)
        r.set_grad(g)
        r.adam_step(0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, decoupled=decoupled)
        opt.step(p, g, 0.05)
        np.testing.assert_allclose(r.params_to_host(), p, rtol=1e-13, atol=1e-15)
    assert r.step_count == opt.step_count == 3


@sim_only
def test_clip_grad_norm_matches_cpu():
    from tsrnn.nn.optimizers import clip_gradients

    net = _net("lstm", seed=21)
    r = _runner(net)
    g = np.random.default_rng(22).normal(size=net.n_params)
    for max_norm in (0.3, 1e3):
        ref = g.copy()
        ref_norm = clip_gradients(ref, clip_grad_norm=max_norm)
        r.set_grad(g)
        norm = r.clip_grad_norm(max_norm)
        assert abs(norm - ref_norm) <= 1e-12 * ref_norm
        np.testing.assert_allclose(r.grad_to_host(), ref, rtol=1e-14, atol=0)
    bad = g.copy()
    bad[1] = np.nan
    r.set_grad(bad)
    assert np.isnan(r.clip_grad_norm(0.3))
    np.testing.assert_array_equal(r.grad_to_host(), bad)   # left untouched (NaN guard)


@sim_only
def test_fit_windows_matches_cpu_loop():
    from tsrnn.nn.optimizers import Adam, clip_gradients

    net = _net("lstm", L=2, seed=23)
    rng = np.random.default_rng(24)
    X = rng.normal(size=(6, 3, 2))
    Y = rng.normal(size=(6, 1))
    r = _runner(net)
    hist = r.fit_windows(X, Y, epochs=2, batch_size=4, lr=0.02, seed=5, loss="huber", delta=0.5,
                         clip_grad_norm=0.2)
    # the same loop on the CPU kernels
    cpu = net.copy()
    opt = Adam(cpu.n_params, "float64")
    order_rng = np.random.default_rng(5)
    ref_hist = []
    for _ in range(2):
        order = order_rng.permutation(6)
        total = 0.0
        for s in range(0, 6, 4):
            idx = order[s:s + 4]
            loss, grads = cpu.loss_and_grad(X[idx], Y[idx], loss="huber", delta=0.5)
            g = _flat(cpu, grads)
            clip_gradients(g, clip_grad_norm=0.2)
            opt.step(cpu.params, g, 0.02)
            total += loss * len(idx)
        ref_hist.append(total / 6)
    np.testing.assert_allclose(hist, ref_hist, rtol=1e-10)
    np.testing.assert_allclose(r.params_to_host(), cpu.params, rtol=1e-9, atol=1e-12)
    assert not np.array_equal(cpu.params, net.params)   # it did train

"""Optimizers, clipping, guards and LR schedules, checked against PyTorch."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from tsrnn.kernels import optim as K
from tsrnn.nn.optimizers import (
    SGD,
    Adam,
    AdamW,
    RMSprop,
    clip_gradients,
    make_optimizer,
)
from tsrnn.nn.schedules import (
    ConstantLR,
    CosineLR,
    ReduceLROnPlateau,
    StepLR,
    make_schedule,
)

N = 203  # not a multiple of 4: exercises the norm's tail loop
N_STEPS = 20

OPTIMIZER_CASES = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.05}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.5, "nesterov": True, "weight_decay": 0.1}),
    ("adam", {}),
    ("adam", {"betas": (0.8, 0.99), "eps": 1e-6}),
    ("adam", {"betas": (0.3, 0.9)}),  # 1 - beta1 >= 0.5: the other branch of torch's lerp
    ("adam", {"weight_decay": 0.1}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.1, "betas": (0.5, 0.95)}),
    ("rmsprop", {}),
    ("rmsprop", {"alpha": 0.9, "weight_decay": 0.05}),
    ("rmsprop", {"momentum": 0.9}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "alpha": 0.3}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}"
            for name, kw in OPTIMIZER_CASES]


def _problem(seed=0, n=N, steps=N_STEPS):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(n)
    grads = rng.standard_normal((steps, n))
    lrs = 0.02 * (1.0 + 0.5 * np.sin(np.arange(steps)))  # lr changes every step
    return p0, grads, lrs


def _run_ours(name, kwargs, dtype, p0, grads, lrs):
    opt = make_optimizer(name, p0.size, dtype, **kwargs)
    p = p0.astype(dtype)
    for g, lr in zip(grads, lrs):
        g = g.astype(dtype)
        g_before = g.copy()
        opt.step(p, g, float(lr))
        np.testing.assert_array_equal(g, g_before)  # the gradient is not modified
    return p, opt


def _run_torch(name, kwargs, dtype, p0, grads, lrs):
    torch = pytest.importorskip("torch")
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "rmsprop": torch.optim.RMSprop}[name]
    tp = torch.nn.Parameter(torch.from_numpy(p0.astype(dtype)))
    opt = cls([tp], lr=float(lrs[0]), **kwargs)
    for g, lr in zip(grads, lrs):
        opt.param_groups[0]["lr"] = float(lr)
        tp.grad = torch.from_numpy(g.astype(dtype))
        opt.step()
    state = {k: v.numpy() for k, v in opt.state[tp].items()
             if isinstance(v, torch.Tensor) and v.ndim == 1}
    return tp.detach().numpy().copy(), state


# --------------------------------------------------------------------------- optimizers


@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CASES, ids=CASE_IDS)
def test_optimizer_matches_torch_float64(name, kwargs):
    p0, grads, lrs = _problem()
    ours, opt = _run_ours(name, kwargs, np.float64, p0, grads, lrs)
    ref, ref_state = _run_torch(name, kwargs, np.float64, p0, grads, lrs)
    assert np.abs(ours - p0).max() > 1e-3  # the parameters did move
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-13)
    # the state buffers carry torch's names and values
    compared = 0
    for key, arr in opt.state_dict().items():
        if isinstance(arr, np.ndarray) and arr.size:
            np.testing.assert_allclose(arr, ref_state[key], rtol=1e-11, atol=1e-13,
                                       err_msg=key)
            compared += 1
    assert compared == sum(1 for v in ref_state.values() if v.size)


@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CASES, ids=CASE_IDS)
def test_optimizer_float32_close_to_float64_and_torch(name, kwargs):
    p0, grads, lrs = _problem(seed=1)
    p32, opt = _run_ours(name, kwargs, np.float32, p0, grads, lrs)
    p64, _ = _run_ours(name, kwargs, np.float64, p0, grads, lrs)
    assert p32.dtype == np.float32
    for a in opt.state_dict().values():
        if isinstance(a, np.ndarray):
            assert a.dtype == np.float32  # state is kept in the parameter dtype
    np.testing.assert_allclose(p32, p64, rtol=1e-5, atol=2e-5)
    ref32, _ = _run_torch(name, kwargs, np.float32, p0, grads, lrs)
    np.testing.assert_allclose(p32, ref32, rtol=1e-5, atol=2e-6)


def test_sgd_first_step_initialises_buffer_to_grad():
    opt = SGD(3, "float64", momentum=0.9, dampening=0.5)
    p = np.zeros(3)
    g = np.array([1.0, -2.0, 3.0])
    opt.step(p, g, 1.0)
    np.testing.assert_array_equal(opt.momentum_buffer, g)  # no dampening on step 1
    np.testing.assert_array_equal(p, -g)
    opt.step(p, g, 1.0)
    np.testing.assert_allclose(opt.momentum_buffer, 0.9 * g + 0.5 * g)


@pytest.mark.parametrize("name, kwargs", [OPTIMIZER_CASES[i] for i in (3, 7, 11, 17)])
def test_state_dict_round_trip_resumes_bitwise(name, kwargs):
    p0, grads, lrs = _problem(seed=2)
    full, _ = _run_ours(name, kwargs, np.float32, p0, grads, lrs)

    opt = make_optimizer(name, N, "float32", **kwargs)
    p = p0.astype(np.float32)
    for g, lr in zip(grads[:9], lrs[:9]):
        opt.step(p, g.astype(np.float32), float(lr))
    state = opt.state_dict()
    for v in state.values():  # plain data only: savable without pickle
        assert isinstance(v, (np.ndarray, int, float, str, bool, list))
    # hyper-parameters come back from the state, even into a default-built optimizer
    resumed = make_optimizer(name, N, "float32")
    resumed.load_state_dict(state)
    assert resumed.hyper_parameters() == opt.hyper_parameters()
    for v in state.values():  # loading copied the arrays
        if isinstance(v, np.ndarray):
            v.fill(np.nan)
    for g, lr in zip(grads[9:], lrs[9:]):
        resumed.step(p, g.astype(np.float32), float(lr))
    np.testing.assert_array_equal(p, full)
    assert resumed.step_count == N_STEPS


@pytest.mark.parametrize("name, kwargs", [OPTIMIZER_CASES[i] for i in (4, 6, 17)])
def test_reset_gives_a_fresh_optimizer(name, kwargs):
    p0, grads, lrs = _problem(seed=3)
    expected, _ = _run_ours(name, kwargs, np.float64, p0, grads, lrs)
    opt = make_optimizer(name, N, "float64", **kwargs)
    scratch = p0.copy()
    for g, lr in zip(grads[:5], lrs[:5]):
        opt.step(scratch, g, float(lr))
    opt.reset()
    assert opt.step_count == 0
    p = p0.copy()
    for g, lr in zip(grads, lrs):
        opt.step(p, g, float(lr))
    np.testing.assert_array_equal(p, expected)


def test_load_state_dict_rejects_mismatch():
    a = Adam(5, "float64")
    with pytest.raises(ValueError, match="'adam'.*'sgd'"):
        SGD(5, "float64").load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="n_params=6"):
        Adam(6, "float64").load_state_dict(a.state_dict())
    state = a.state_dict()
    del state["exp_avg"]
    with pytest.raises(ValueError, match="exp_avg"):
        Adam(5, "float64").load_state_dict(state)
    state = a.state_dict()
    state["betas"] = [0.9, 1.5]
    with pytest.raises(ValueError, match="1.5"):
        Adam(5, "float64").load_state_dict(state)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name", ["sgd", "ADAM", "AdamW", "rmsprop"])
def test_make_optimizer_names_are_case_insensitive(name):
    opt = make_optimizer(name, 4, "float64")
    assert opt.name == name.lower()
    assert opt.dtype == np.float64 and opt.n_params == 4


@pytest.mark.parametrize("bad", ["lbfgs", "", "adam_w", 3, None])
def test_make_optimizer_rejects_unknown_names(bad):
    with pytest.raises(ValueError) as info:
        make_optimizer(bad, 4)
    assert repr(bad) in str(info.value)
    assert "'rmsprop'" in str(info.value)


def test_make_optimizer_instance_and_kwargs():
    opt = RMSprop(7, "float32", centered=True)
    assert make_optimizer(opt, 7, "float32") is opt
    with pytest.raises(ValueError, match="n_params=7.*n_params=8"):
        make_optimizer(opt, 8, "float32")
    with pytest.raises(ValueError, match="float64"):
        make_optimizer(opt, 7, "float64")
    with pytest.raises(ValueError, match="momentum"):
        make_optimizer(opt, 7, "float32", momentum=0.9)
    with pytest.raises(ValueError, match="'momentum'.*allowed"):
        make_optimizer("adam", 7, momentum=0.9)
    with pytest.raises(ValueError, match="float16"):
        make_optimizer("adam", 7, "float16")


@pytest.mark.parametrize(
    "cls, kwargs, bad",
    [
        (SGD, {"momentum": -0.1}, "-0.1"),
        (SGD, {"weight_decay": -1.0}, "-1.0"),
        (SGD, {"nesterov": True}, "momentum=0.0"),
        (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening=0.1"),
        (SGD, {"nesterov": "yes"}, "'yes'"),
        (Adam, {"betas": (1.0, 0.999)}, "1.0"),
        (Adam, {"betas": (0.9, -0.1)}, "-0.1"),
        (Adam, {"betas": 0.9}, "0.9"),
        (Adam, {"eps": float("nan")}, "nan"),
        (AdamW, {"weight_decay": -0.01}, "-0.01"),
        (RMSprop, {"alpha": 1.5}, "1.5"),
        (RMSprop, {"momentum": float("inf")}, "inf"),
        (RMSprop, {"centered": 1}, "1"),
    ],
)
def test_hyper_parameter_validation(cls, kwargs, bad):
    with pytest.raises(ValueError) as info:
        cls(3, "float64", **kwargs)
    assert bad in str(info.value)


def test_step_validates_lr_and_arrays():
    opt = Adam(3, "float64")
    p, g = np.zeros(3), np.ones(3)
    for lr in (-0.1, float("nan"), float("inf"), "0.1"):
        with pytest.raises(ValueError, match="lr"):
            opt.step(p, g, lr)
    with pytest.raises(ValueError, match="length 3"):
        opt.step(np.zeros(4), np.ones(4), 0.1)
    with pytest.raises(ValueError, match="float32"):
        opt.step(p.astype(np.float32), g, 0.1)
    assert opt.step_count == 0  # nothing happened
    np.testing.assert_array_equal(p, 0.0)
    opt.step(p, g, np.float64(0.1))  # numpy scalars are fine
    assert opt.step_count == 1


# --------------------------------------------------------------------------- clipping


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clip_grad_norm_matches_torch(dtype, rtol, max_norm):
    torch = pytest.importorskip("torch")
    g = (np.random.default_rng(4).standard_normal(N) * 0.2).astype(dtype)
    tp = torch.nn.Parameter(torch.zeros(N, dtype=torch.from_numpy(g).dtype))
    tp.grad = torch.from_numpy(g.copy())
    ref_norm = float(torch.nn.utils.clip_grad_norm_([tp], max_norm))
    ours = g.copy()
    norm = clip_gradients(ours, clip_grad_norm=max_norm)
    assert isinstance(norm, float)
    assert norm == pytest.approx(ref_norm, rel=rtol)
    np.testing.assert_allclose(ours, tp.grad.numpy(), rtol=rtol, atol=0)
    if max_norm > norm:
        np.testing.assert_array_equal(ours, g)  # untouched when below the limit
    else:
        assert np.sqrt(np.sum(ours.astype(np.float64) ** 2)) == pytest.approx(max_norm,
                                                                               rel=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_value_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(5).standard_normal(N).astype(dtype)
    g[3] = np.nan
    tp = torch.nn.Parameter(torch.zeros(N, dtype=torch.from_numpy(g).dtype))
    tp.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_value_([tp], 0.7)
    ours = g.copy()
    clip_gradients(ours, clip_value=0.7)
    np.testing.assert_array_equal(ours, tp.grad.numpy())  # NaN stays NaN in both
    assert np.isnan(ours[3])
    assert np.nanmax(np.abs(ours)) == dtype(0.7)


def test_clip_both_and_nonfinite():
    g = np.array([3.0, -4.0, 0.0])
    assert clip_gradients(g, clip_grad_norm=1.0, clip_value=0.7) == 5.0
    np.testing.assert_allclose(g, [0.6 * 5 / (5 + 1e-6), -0.7, 0.0], rtol=1e-12)
    bad = np.array([1.0, np.inf, 2.0], dtype=np.float32)
    norm = clip_gradients(bad, clip_grad_norm=1.0)
    assert math.isinf(norm)
    np.testing.assert_array_equal(bad, [1.0, np.inf, 2.0])  # left to the NaN guard
    assert math.isnan(clip_gradients(np.array([np.nan, 1.0])))
    for kwargs in ({"clip_grad_norm": 0.0}, {"clip_grad_norm": -1.0}, {"clip_value": -2.0}):
        with pytest.raises(ValueError, match=str(next(iter(kwargs.values())))):
            clip_gradients(np.ones(3), **kwargs)
    with pytest.raises(ValueError, match="int64"):
        clip_gradients(np.ones(3, dtype=np.int64))


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 1001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_global_norm(n, dtype):
    x = np.random.default_rng(n).standard_normal(n).astype(dtype)
    expected = math.sqrt(math.fsum(float(v) ** 2 for v in x))
    got = K.grad_global_norm(x)
    assert got == pytest.approx(expected, rel=1e-14, abs=0)
    assert K.grad_global_norm(x) == got  # deterministic


def test_scale_inplace():
    x = np.array([1.0, -2.0, 4.0], dtype=np.float32)
    K.scale_inplace(x, 0.25)
    np.testing.assert_array_equal(x, [0.25, -0.5, 1.0])
    assert x.dtype == np.float32


# --------------------------------------------------------------------------- guard


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite(dtype):
    x = np.linspace(-3, 3, 37).astype(dtype)
    assert K.all_finite(x)
    assert K.all_finite(np.zeros(0, dtype))
    assert K.all_finite(np.array([np.finfo(dtype).max, np.finfo(dtype).tiny], dtype))
    for bad in (np.nan, np.inf, -np.inf):
        for pos in (0, 18, 36):
            y = x.copy()
            y[pos] = bad
            assert not K.all_finite(y), (bad, pos)


# --------------------------------------------------------------------------- schedules


def _torch_lrs(make_sched, base_lr, epochs, metrics=None):
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched = make_sched(torch.optim.lr_scheduler, opt)
    out = []
    for e in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[e])
    return out


def _our_lrs(sched, epochs, metrics=None):
    out = []
    for e in range(epochs):
        out.append(sched.lr)
        sched.step(None if metrics is None else metrics[e])
    return out


def test_constant_schedule():
    s = make_schedule(None, 0.01, 30)
    assert isinstance(s, ConstantLR)
    assert _our_lrs(s, 30, metrics=list(range(30))) == [0.01] * 30


@pytest.mark.parametrize("step_size, gamma", [(7, 0.3), (1, 0.9), (10, 0.5)])
def test_step_schedule_matches_torch(step_size, gamma):
    ref = _torch_lrs(lambda m, o: m.StepLR(o, step_size, gamma), 0.05, 30)
    ours = _our_lrs(StepLR(step_size, gamma, base_lr=0.05), 30)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


@pytest.mark.parametrize("T_max, eta_min", [(30, 0.0), (10, 1e-4), (7, 0.002)])
def test_cosine_schedule_matches_torch(T_max, eta_min):
    ref = _torch_lrs(lambda m, o: m.CosineAnnealingLR(o, T_max, eta_min), 0.01, 30)
    ours = _our_lrs(CosineLR(T_max, eta_min, base_lr=0.01), 30)
    # torch updates recursively, we use its closed form: equal up to rounding
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-15)
    assert ours[0] == 0.01
    if T_max < 30:
        assert ours[T_max] == pytest.approx(eta_min, abs=1e-15)  # the minimum
        assert ours[2 * T_max] == pytest.approx(0.01, rel=1e-12)  # and back up, as torch


PLATEAU_METRICS = (
    [1.0, 0.8, 0.7, 0.69995, 0.7, 0.71, 0.72, 0.65, 0.66, 0.66]
    + [0.66, 0.66, 0.66, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    + [0.6, 0.6, 0.6, 0.6, float("nan"), 0.6, 0.4, 0.41, 0.42, 0.43]
)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"factor": 0.5, "patience": 2, "cooldown": 2},
        {"factor": 0.1, "patience": 1, "cooldown": 0, "min_lr": 2e-4},
        {"factor": 0.5, "patience": 0, "cooldown": 3, "threshold": 0.01},
        {"factor": 0.5, "patience": 2, "threshold": 0.005, "threshold_mode": "abs"},
        {"factor": 0.3, "patience": 1, "cooldown": 1, "mode": "max"},
    ],
)
def test_plateau_schedule_matches_torch(kwargs):
    metrics = PLATEAU_METRICS if kwargs.get("mode") != "max" else [-m for m in PLATEAU_METRICS]
    ref = _torch_lrs(lambda m, o: m.ReduceLROnPlateau(o, **kwargs), 0.01, 30, metrics)
    ours = _our_lrs(ReduceLROnPlateau(**kwargs, base_lr=0.01), 30, metrics)
    assert len(set(ref)) >= 3  # the script triggers several reductions
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_plateau_cooldown_and_min_lr_by_hand():
    s = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.3, base_lr=1.0)
    lrs = _our_lrs(s, 10, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # bad epochs 1, 2 -> halve after epoch 2; epochs 3, 4 cool down; bad epochs 5, 6 ->
    # halving clamped to min_lr; after that changes below eps are ignored
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3]
    with pytest.raises(ValueError, match="metric"):
        s.step()


@pytest.mark.parametrize(
    "sched, metrics",
    [
        (StepLR(4, 0.5, base_lr=0.1), None),
        (CosineLR(9, 1e-3, base_lr=0.1), None),
        (ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, base_lr=0.1), PLATEAU_METRICS),
    ],
)
def test_schedule_state_dict_round_trip(sched, metrics):
    full = _our_lrs(make_schedule(sched, 0.1, 30), 30, metrics)
    first = make_schedule(sched, 0.1, 30)
    head = _our_lrs(first, 12, metrics)
    state = first.state_dict()
    for v in state.values():
        assert v is None or isinstance(v, (int, float, str))
    resumed = make_schedule(sched.name, 0.1, 30)  # parameters come from the state
    resumed.load_state_dict(state)
    tail = _our_lrs(resumed, 18, None if metrics is None else metrics[12:])
    assert head + tail == full


def test_make_schedule_specs():
    s = make_schedule("Cosine", 0.01, 50)
    assert isinstance(s, CosineLR) and s.T_max == 50 and s.lr == 0.01
    s = make_schedule({"name": "step", "step_size": 10, "gamma": 0.5}, 0.01, 50)
    assert isinstance(s, StepLR) and (s.step_size, s.gamma) == (10, 0.5)
    s = make_schedule("step", 0.01, 30)
    assert s.step_size == 10 and s.gamma == 0.1
    s = make_schedule({"name": "cosine", "eta_min": 1e-5}, 0.01, 20)
    assert s.T_max == 20 and s.eta_min == 1e-5
    s = make_schedule("plateau", 0.01, 20)
    assert isinstance(s, ReduceLROnPlateau) and s.patience == 10 and s.factor == 0.1
    assert isinstance(make_schedule("constant", 0.01, 20), ConstantLR)


def test_make_schedule_copies_instances():
    user = StepLR(2, 0.5)  # no base_lr: bound by the factory
    s = make_schedule(user, 0.04, 10)
    assert s is not user and user.base_lr is None and s.lr == 0.04
    s.step(); s.step()
    assert s.lr == 0.02 and user.last_epoch == 0
    with pytest.raises(RuntimeError, match="base_lr"):
        user.lr
    explicit = CosineLR(5, base_lr=0.3)
    explicit.step()
    s = make_schedule(explicit, 0.04, 10)
    assert s.lr == 0.3 and s.last_epoch == 0 and explicit.last_epoch == 1


@pytest.mark.parametrize(
    "spec, needle",
    [
        ("linear", "'linear'"),
        ("", "''"),
        (3.0, "3.0"),
        ({"step_size": 3}, "'name'"),
        ({"name": "exp"}, "'exp'"),
        ({"name": "step", "step_size": 3, "gama": 0.5}, "'gama'"),
        ({"name": "step", "step_size": 0}, "step_size"),
        ({"name": "plateau", "factor": 1.0}, "1.0"),
        ({"name": "plateau", "mode": "up"}, "'up'"),
        ({"name": "cosine", "eta_min": -1.0}, "-1.0"),
    ],
)
def test_make_schedule_rejects_bad_specs(spec, needle):
    with pytest.raises(ValueError) as info:
        make_schedule(spec, 0.01, 10)
    assert needle in str(info.value)


def test_make_schedule_validates_base_lr_and_epochs():
    with pytest.raises(ValueError, match="-0.1"):
        make_schedule(None, -0.1, 10)
    with pytest.raises(ValueError, match="epochs"):
        make_schedule(None, 0.1, 0)


def test_modules_import_without_torch():
    code = (
        "import sys; import tsrnn.kernels.optim, tsrnn.nn.optimizers, tsrnn.nn.schedules; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""Optimizers, schedules and clipping: 20-step trajectories against torch.optim."""

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn
from numpynn.optim import lr_scheduler as sched

SHAPES = [(3, 4), (5,)]  # two tensors of different shapes (TESTING.md #11)


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [
        nn.Parameter(rng.standard_normal(s).astype(dtype), f"p{i}") for i, s in enumerate(SHAPES)
    ]


def gradient(values, t, seed=1):
    """A deterministic gradient that depends on the current values (a quadratic bowl) plus
    step-dependent noise, so that both libraries see the same sequence."""
    rng = np.random.default_rng(seed + t)
    return [2 * (v - 0.5) + rng.standard_normal(v.shape) for v in values]


OPTIMIZERS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
]


def run_numpynn(name, kwargs, steps=20, groups=False):
    params = make_params()
    spec = (
        [{"params": [params[0]]}, {"params": [params[1]], "lr": kwargs["lr"] / 2}]
        if groups
        else params
    )
    opt = getattr(nn.optim, name)(spec, **kwargs)
    for t in range(steps):
        for p, g in zip(params, gradient([p.data for p in params], t)):
            p.grad[...] = g
        opt.step()
    return [p.data for p in params], opt


def run_torch(torch, name, kwargs, steps=20, groups=False):
    params = [torch.tensor(p.data, requires_grad=True) for p in make_params()]
    spec = (
        [{"params": [params[0]]}, {"params": [params[1]], "lr": kwargs["lr"] / 2}]
        if groups
        else params
    )
    opt = getattr(torch.optim, name)(spec, **kwargs)
    for t in range(steps):
        for p, g in zip(params, gradient([p.detach().numpy() for p in params], t)):
            p.grad = torch.from_numpy(g)
        opt.step()
    return [p.detach().numpy() for p in params]


@pytest.mark.torch
@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}-{k}" for n, k in OPTIMIZERS])
def test_trajectory_matches_pytorch(name, kwargs, torch):
    ours, _ = run_numpynn(name, kwargs)
    theirs = run_torch(torch, name, kwargs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        # float64, 20 steps: the same formulas agree to accumulated rounding
        assert_close(a, b, 1e-10, 1e-12, f"{name} p{i} after 20 steps")


@pytest.mark.torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_with_their_own_lr(name, torch):
    kwargs = {"lr": 0.02, **({"momentum": 0.9} if name == "SGD" else {})}
    ours, _ = run_numpynn(name, kwargs, groups=True)
    theirs = run_torch(torch, name, kwargs, groups=True)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a, b, 1e-10, 1e-12, f"{name} group {i}")


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}-{k}" for n, k in OPTIMIZERS])
def test_state_dict_resumes_exactly(name, kwargs):
    straight, _ = run_numpynn(name, kwargs, steps=12)
    params = make_params()
    opt = getattr(nn.optim, name)(params, **kwargs)
    for t in range(6):
        for p, g in zip(params, gradient([p.data for p in params], t)):
            p.grad[...] = g
        opt.step()
    saved = opt.state_dict()
    resumed = getattr(nn.optim, name)(params, **kwargs)
    resumed.load_state_dict(saved)
    for t in range(6, 12):
        for p, g in zip(params, gradient([p.data for p in params], t)):
            p.grad[...] = g
        resumed.step()
    for a, p in zip(straight, params):
        np.testing.assert_array_equal(p.data, a)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}-{k}" for n, k in OPTIMIZERS])
def test_float32_parameters_keep_float32_state(name, kwargs):
    params = make_params(np.float32)
    opt = getattr(nn.optim, name)(params, **kwargs)
    for t in range(3):
        for p, g in zip(params, gradient([p.data for p in params], t)):
            p.grad[...] = g
        opt.step()
    for p in params:
        assert p.data.dtype == np.float32
        for key, value in opt.state[p].items():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32, key


def test_step_updates_in_place_and_leaves_grad_alone():
    params = make_params()
    arrays = [p.data for p in params]
    opt = nn.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1)
    for p in params:
        p.grad[...] = 1.0
    opt.step()
    assert all(p.data is a for p, a in zip(params, arrays))
    assert all(np.all(p.grad == 1.0) for p in params)
    opt.zero_grad()
    assert all(np.all(p.grad == 0) for p in params)


def test_bad_arguments():
    with pytest.raises(ValueError, match="lr must not be negative"):
        nn.optim.SGD(make_params(), lr=-1)
    with pytest.raises(ValueError, match="empty list"):
        nn.optim.Adam([])
    with pytest.raises(ValueError, match="nesterov"):
        nn.optim.SGD(make_params(), lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="expected Parameters"):
        nn.optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="saved groups"):
        nn.optim.SGD(make_params(), lr=0.1).load_state_dict(
            nn.optim.SGD(make_params()[:1], lr=0.1).state_dict()
        )


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 11], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LinearLR", dict(start_factor=0.1, total_iters=6)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=10)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=21)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=21, three_phase=True, anneal_strategy="linear")),
]


@pytest.mark.torch
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=[f"{n}-{k}" for n, k in SCHEDULES])
def test_schedule_matches_pytorch(name, kwargs, optimizer, torch):
    extra = {"momentum": 0.9} if optimizer == "SGD" else {}
    ours_opt = getattr(nn.optim, optimizer)(make_params(), lr=0.1, **extra)
    theirs_opt = getattr(torch.optim, optimizer)(
        [torch.zeros(3, requires_grad=True)], lr=0.1, **extra
    )
    ours = getattr(sched, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs)
    momentum_key = "momentum" if optimizer == "SGD" else "betas"
    for epoch in range(20):
        for key in ("lr", momentum_key):
            a, b = ours_opt.param_groups[0][key], theirs_opt.param_groups[0][key]
            assert_close(np.array(a), np.array(b), 1e-12, 1e-15, f"{name} {key} at epoch {epoch}")
        theirs_opt.step()
        ours.step(), theirs.step()


@pytest.mark.torch
def test_reduce_on_plateau_matches_pytorch(torch):
    metrics = [
        1.0,
        0.9,
        0.95,
        0.95,
        0.96,
        0.97,
        0.8,
        0.85,
        0.85,
        0.85,
        0.85,
        float("nan"),
        0.85,
        0.85,
        0.7,
        0.9,
        0.9,
        0.9,
        0.9,
        0.9,
    ]
    for kwargs in [
        dict(patience=2, factor=0.5),
        dict(patience=1, cooldown=2, threshold=0.1, threshold_mode="abs", min_lr=0.02),
        dict(mode="max", patience=0),
    ]:
        ours_opt = nn.optim.SGD(make_params(), lr=0.1)
        theirs_opt = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=0.1)
        ours = sched.ReduceLROnPlateau(ours_opt, **kwargs)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kwargs)
        for epoch, m in enumerate(metrics):
            ours.step(m)
            theirs.step(m)
            assert_close(
                ours_opt.param_groups[0]["lr"],
                theirs_opt.param_groups[0]["lr"],
                1e-12,
                0,
                f"ReduceLROnPlateau {kwargs} lr at epoch {epoch}",
            )


def test_lambda_lr_and_one_cycle_end():
    opt = nn.optim.SGD(make_params(), lr=0.2)
    schedule = sched.LambdaLR(opt, lambda e: 1 / (1 + e))
    schedule.step(), schedule.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 / 3)
    one_cycle = sched.OneCycleLR(
        nn.optim.SGD(make_params(), lr=0.1, momentum=0.9), 1.0, total_steps=3
    )
    one_cycle.step(), one_cycle.step()
    with pytest.raises(ValueError, match="total_steps is 3"):
        one_cycle.step()


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm, torch):
    params = make_params()
    grads = gradient([p.data for p in params], 0)
    for p, g in zip(params, grads):
        p.grad[...] = g
    tparams = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
    for p, g in zip(tparams, grads):
        p.grad = torch.from_numpy(g.copy())
    total = nn.optim.clip_grad_norm_(params, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    assert_close(total, ttotal.item(), 1e-12, 0, "total norm")
    for p, tp in zip(params, tparams):
        assert_close(p.grad, tp.grad.numpy(), 1e-12, 1e-15, f"clipped {p.name}.grad")


def test_clip_grad_value():
    params = make_params()
    for p in params:
        p.grad[...] = np.linspace(-3, 3, p.size).reshape(p.shape)
    nn.optim.clip_grad_value_(params, 1.0)
    for p in params:
        expected = np.clip(np.linspace(-3, 3, p.size), -1, 1).reshape(p.shape)
        np.testing.assert_array_equal(p.grad, expected)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", dict(lr=0.01, momentum=0.9)),
        ("Adam", dict(lr=0.01, betas=(0.5, 0.5))),  # fast decay: subnormal within the test
        ("RMSprop", dict(lr=0.01, alpha=0.5, momentum=0.5)),
    ],
)
def test_subnormal_state_is_flushed_without_changing_the_weights(name, kwargs):
    """Entries whose gradient turns to zero decay through the subnormal range, where some
    CPUs compute slowly; flushing them to zero leaves every weight bit for bit the same."""
    tiny = np.finfo(np.float32).tiny
    runs = {}
    for flush_every in (0, 7):
        p = nn.Parameter(np.linspace(0.5, 2, 50, dtype=np.float32), "p")
        opt = getattr(nn.optim, name)([p], **kwargs)
        opt.flush_every = flush_every
        subnormal_seen = 0
        for t in range(1000):
            p.grad[...] = 0
            if t == 0:
                p.grad[::2] = np.float32(1e-3)  # one kick, then nothing: pure decay
            opt.step()
            arrays = [v for v in opt.state[p].values() if isinstance(v, np.ndarray)]
            subnormal_seen += sum(int(((a != 0) & (np.abs(a) < tiny)).sum()) for a in arrays)
        runs[flush_every] = p.data.copy(), subnormal_seen
    (kept, seen_kept), (flushed, seen_flushed) = runs[0], runs[7]
    np.testing.assert_array_equal(flushed, kept)
    assert seen_kept > 0  # the test really reaches the subnormal range...
    assert seen_flushed < seen_kept / 3  # ...and the flush clears it at each call

"""Losses: gradcheck of every reduction, PyTorch parity of values and gradients, stability;
the classification losses over positions (N, C, d1, ...) and with ignore_index."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn
import numpynn.functional as F

C = 4


def logits(rng, n):
    return rng.standard_normal((n, C)) * 3


def indices(rng, n):
    return rng.integers(0, C, n)


def probabilities(rng, n):
    return F.softmax(rng.standard_normal((n, C)))


def regression(rng, n):
    return rng.standard_normal((n, 3))


def in_unit_interval(rng, n):
    return rng.uniform(0.05, 0.95, (n, 3))


def bits(rng, n):
    return rng.integers(0, 2, (n, 3)).astype(np.float64)


def nll_of_log(t, reduction, weight):
    """PyTorch's NLLLoss of log(p): cross-entropy on probabilities, index targets."""

    class Twin(t.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("weight", t.tensor(weight, dtype=t.float64))

        def forward(self, p, target):
            return t.nn.functional.nll_loss(t.log(p), target, self.weight, reduction=reduction)

    return Twin()


def cross_entropy_of_probabilities(t, reduction):
    """-sum_c y_c log p_c per row, written in PyTorch (autograd for the gradient)."""

    class Twin(t.nn.Module):
        def forward(self, p, target):
            losses = -(target * t.log(p)).sum(dim=1)
            return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]

    return Twin()


@dataclass
class LossCase:
    id: str
    make: Callable  # (reduction) -> numpynn loss
    torch: Callable  # (torch, reduction) -> torch loss
    pred: Callable
    target: Callable


WEIGHT = [0.5, 2.0, 1.0, 3.0]
LOSSES = [
    LossCase(
        "MSE",
        lambda r: nn.MSELoss(r),
        lambda t, r: t.nn.MSELoss(reduction=r),
        regression,
        regression,
    ),
    LossCase(
        "L1", lambda r: nn.L1Loss(r), lambda t, r: t.nn.L1Loss(reduction=r), regression, regression
    ),
    LossCase(
        "Huber",
        lambda r: nn.HuberLoss(r, delta=0.7),
        lambda t, r: t.nn.HuberLoss(reduction=r, delta=0.7),
        regression,
        regression,
    ),
    LossCase(
        "CE-index",
        lambda r: nn.CrossEntropyLoss(reduction=r),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r),
        logits,
        indices,
    ),
    LossCase(
        "CE-probs",
        lambda r: nn.CrossEntropyLoss(reduction=r),
        lambda t, r: t.nn.CrossEntropyLoss(reduction=r),
        logits,
        probabilities,
    ),
    LossCase(
        "CE-weight-smooth",
        lambda r: nn.CrossEntropyLoss(WEIGHT, r, label_smoothing=0.1),
        lambda t, r: t.nn.CrossEntropyLoss(
            t.tensor(WEIGHT, dtype=t.float64), reduction=r, label_smoothing=0.1
        ),
        logits,
        indices,
    ),
    LossCase(
        "CE-probs-weight-smooth",
        lambda r: nn.CrossEntropyLoss(WEIGHT, r, label_smoothing=0.2),
        lambda t, r: t.nn.CrossEntropyLoss(
            t.tensor(WEIGHT, dtype=t.float64), reduction=r, label_smoothing=0.2
        ),
        logits,
        probabilities,
    ),
    LossCase(
        "CategoricalCE-index-weight",
        lambda r: nn.CategoricalCrossentropy(WEIGHT, r),
        lambda t, r: nll_of_log(t, r, WEIGHT),
        probabilities,
        indices,
    ),
    LossCase(
        "CategoricalCE-probs",
        lambda r: nn.CategoricalCrossentropy(reduction=r),
        lambda t, r: cross_entropy_of_probabilities(t, r),
        probabilities,
        probabilities,
    ),
    LossCase(
        "NLL-weight",
        lambda r: nn.NLLLoss(WEIGHT, r),
        lambda t, r: t.nn.NLLLoss(t.tensor(WEIGHT, dtype=t.float64), reduction=r),
        lambda rng, n: F.log_softmax(logits(rng, n)),
        indices,
    ),
    LossCase(
        "BCE",
        lambda r: nn.BCELoss(r),
        lambda t, r: t.nn.BCELoss(reduction=r),
        in_unit_interval,
        bits,
    ),
    LossCase(
        "BCEWithLogits",
        lambda r: nn.BCEWithLogitsLoss(r),
        lambda t, r: t.nn.BCEWithLogitsLoss(reduction=r),
        regression,
        bits,
    ),
    LossCase(
        "BCEWithLogits-posweight",
        lambda r: nn.BCEWithLogitsLoss(r, pos_weight=[1.0, 2.0, 0.5]),
        lambda t, r: t.nn.BCEWithLogitsLoss(
            reduction=r, pos_weight=t.tensor([1.0, 2.0, 0.5], dtype=t.float64)
        ),
        regression,
        in_unit_interval,
    ),
]
ids = [c.id for c in LOSSES]


def sample(case, n, seed=0):
    rng = np.random.default_rng(seed)
    return case.pred(rng, n), case.target(rng, n)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n", [1, 3, 7])
@pytest.mark.parametrize("case", LOSSES, ids=ids)
def test_gradcheck(case, n, reduction):
    pred, target = sample(case, n, seed=n)
    nn.gradcheck(case.make(reduction), pred, target, atol=1e-8, rtol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", LOSSES, ids=ids)
def test_matches_pytorch(case, reduction, dtype, torch):
    rtol, atol = {np.float64: (1e-10, 1e-12), np.float32: (2e-5, 2e-6)}[dtype]
    pred, target = sample(case, 5)
    pred = pred.astype(dtype)
    target = target.astype(dtype) if target.dtype.kind == "f" else target
    loss = case.make(reduction)
    value = loss(pred, target)
    upstream = np.random.default_rng(3).standard_normal(np.shape(value))
    grad = loss.backward(upstream if reduction == "none" else 1.7)

    tpred = torch.tensor(pred, requires_grad=True)
    tloss_fn = case.torch(torch, reduction).to(getattr(torch, np.dtype(dtype).name))
    tvalue = tloss_fn(tpred, torch.from_numpy(target))
    tvalue.backward(torch.tensor(upstream if reduction == "none" else 1.7, dtype=tvalue.dtype))

    assert grad.dtype == dtype
    assert_close(value, tvalue.detach().numpy(), rtol, atol, f"{case.id} value")
    assert_close(grad, tpred.grad.numpy(), rtol, atol, f"{case.id} grad")


@pytest.mark.parametrize("case", LOSSES, ids=ids)
def test_mean_gradient_does_not_scale_with_batch_size(case):
    """TESTING.md #6: duplicating the batch leaves the mean loss and its gradient per row."""
    pred, target = sample(case, 4)
    loss = case.make("mean")
    value, grad = loss(pred, target), loss.backward()
    value2 = loss(np.concatenate([pred, pred]), np.concatenate([target, target]))
    grad2 = loss.backward()
    assert_close(value2, value, 1e-12, 0, "mean loss of a doubled batch")
    assert_close(grad2[:4] * 2, grad, 1e-12, 1e-15, "gradient of a doubled batch, per row, times 2")


def test_cross_entropy_gradient_is_p_minus_y_over_n(rng):
    z, y = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    loss = nn.CrossEntropyLoss()
    loss(z, y)
    expected = (F.softmax(z) - np.eye(5)[y]) / 6
    assert_close(loss.backward(), expected, 1e-12, 1e-15, "CE gradient")


def test_cross_entropy_index_and_one_hot_targets_agree(rng):
    z, y = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    for dtype in (np.int8, np.int32, np.int64, np.uint8):
        a = nn.CrossEntropyLoss(label_smoothing=0.1)
        b = nn.CrossEntropyLoss(label_smoothing=0.1)
        assert_close(a(z, y.astype(dtype)), b(z, np.eye(5)[y]), 1e-12, 0, f"CE value ({dtype})")
        assert_close(a.backward(), b.backward(), 1e-12, 1e-15, f"CE grad ({dtype})")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_stable_for_extreme_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-100.0, 100.0, 30.0], [0.0, 0.0, 0.0]], dtype=dtype)
    y = np.array([1, 0, 2])
    loss = nn.CrossEntropyLoss()
    value = loss(z, y)
    grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert_close(value, (2e4 + 200 + np.log(3)) / 3, 1e-6, 0, "CE of saturated logits")


def test_cross_entropy_shift_invariance_and_uniform_logits(rng):
    z, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    loss = nn.CrossEntropyLoss()
    # float64 keeps ~1e-8 absolute precision at 1e8, so the values agree to ~1e-7
    assert_close(loss(z + 1e8, y), loss(z, y), 1e-7, 1e-7, "CE(z + 1e8) vs CE(z)")
    assert_close(
        loss(np.zeros((3, 4)), np.array([0, 1, 3])), np.log(4), 1e-12, 0, "CE of equal logits"
    )


# --- classification over positions (N, C, d1, ...) and ignore_index, as a language model
# uses CrossEntropyLoss and NLLLoss


POSITION_SHAPES = [(5, 4), (3, 4, 6), (2, 4, 3, 2)]  # (N, C), (N, C, T), (N, C, H, W)


def indices_with_ignored(rng, shape, ignore=-100):
    """Class indices of shape (N, d1, ...), about a quarter of them ``ignore``."""
    t = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    return np.where(rng.random(t.shape) < 0.25, ignore, t)


POSITION_CASES = {
    "ce": lambda **k: nn.CrossEntropyLoss(**k),
    "ce-weight-smoothing": lambda **k: nn.CrossEntropyLoss(
        weight=[0.5, 1.0, 2.0, 1.5], label_smoothing=0.1, **k
    ),
    "nll": lambda **k: nn.NLLLoss(**k),
    "nll-weight": lambda **k: nn.NLLLoss(weight=[0.5, 1.0, 2.0, 1.5], **k),
}


def torch_classification_loss(torch, case, reduction, ignore_index):
    weight = torch.tensor([0.5, 1.0, 2.0, 1.5], dtype=torch.float64) if "weight" in case else None
    if case.startswith("ce"):
        smoothing = 0.1 if "smoothing" in case else 0.0
        return torch.nn.CrossEntropyLoss(
            weight, reduction=reduction, ignore_index=ignore_index, label_smoothing=smoothing
        )
    return torch.nn.NLLLoss(weight, reduction=reduction, ignore_index=ignore_index)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", POSITION_SHAPES, ids=["2d", "3d", "4d"])
@pytest.mark.parametrize("case", list(POSITION_CASES))
def test_over_positions_with_ignore_index_matches_pytorch(case, shape, reduction, dtype, torch):
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (2e-5, 2e-6)
    rng = np.random.default_rng(len(shape))
    ignore = -100 if reduction != "sum" else 2  # the default and a real class index
    pred = rng.standard_normal(shape)
    if case.startswith("nll"):
        pred = F.log_softmax(pred, axis=1)
    pred = pred.astype(dtype)
    target = indices_with_ignored(rng, shape, ignore)
    loss = POSITION_CASES[case](reduction=reduction, ignore_index=ignore)
    value = loss(pred, target)
    upstream = None if reduction != "none" else rng.standard_normal(target.shape)
    grad = loss.backward(upstream)

    tp = torch.tensor(pred, requires_grad=True)
    twin = torch_classification_loss(torch, case, reduction, ignore).to(
        getattr(torch, np.dtype(dtype).name)
    )
    tvalue = twin(tp, torch.from_numpy(target))
    tvalue.backward(None if upstream is None else torch.tensor(upstream, dtype=tp.dtype))
    assert_close(value, tvalue.detach().numpy(), rtol, atol, f"{case} value")
    assert_close(grad, tp.grad.numpy(), rtol, atol, f"{case} gradient")
    assert grad.dtype == dtype


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("case", list(POSITION_CASES))
def test_gradcheck_over_positions(case, reduction):
    rng = np.random.default_rng(0)
    pred = rng.standard_normal((3, 4, 5))
    target = indices_with_ignored(rng, (3, 4, 5))
    loss = POSITION_CASES[case](reduction=reduction)
    nn.gradcheck(loss, pred, target, eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("case", list(POSITION_CASES))
def test_ignored_targets_change_nothing(case):
    rng = np.random.default_rng(1)
    pred = rng.standard_normal((4, 4, 3))
    target = rng.integers(0, 4, (4, 3))
    target[0, :2] = -100
    loss = POSITION_CASES[case]()
    value, grad = loss(pred, target), loss.backward()
    assert not grad[0, :, :2].any()
    changed = pred.copy()
    changed[0, :, :2] += 50  # the ignored positions' logits move: the loss must not
    assert loss(changed, target) == value
    everything_ignored = np.full((4, 3), -100)
    assert loss(pred, everything_ignored) == 0.0 and not loss.backward().any()


def test_probability_targets_over_positions_and_bad_shapes():
    rng = np.random.default_rng(2)
    pred = rng.standard_normal((2, 3, 4))
    probs = F.softmax(rng.standard_normal((2, 3, 4)), axis=1)
    loss = nn.CrossEntropyLoss()
    per_position = [
        nn.CrossEntropyLoss(reduction="sum")(pred[:, :, t], probs[:, :, t]) for t in range(4)
    ]
    assert np.isclose(loss(pred, probs), sum(per_position) / 8)
    with pytest.raises(ValueError, match=r"expected targets of shape \(2, 4\)"):
        loss(pred, np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"ignore_index -100"):
        loss(pred, np.full((2, 4), 7))
    assert nn.NLLLoss(ignore_index=0).get_config()["ignore_index"] == 0


NOTHING_TO_AVERAGE = {  # (loss class name, its arguments, pred shape, targets): none counts
    "ce-every-target-ignored": ("CrossEntropyLoss", {}, (3, 4), [-100, -100, -100]),
    "ce-empty-batch": ("CrossEntropyLoss", {}, (0, 4), []),
    "ce-every-weight-zero": ("CrossEntropyLoss", {"weight": [0.0] * 4}, (3, 4), [0, 2, 1]),
    "ce-present-classes-weigh-zero": (
        "CrossEntropyLoss",
        {"weight": [0.0, 1.0, 0.0, 1.0]},
        (2, 4),
        [0, 2],
    ),
    "ce-smoothed-positions-all-ignored": (
        "CrossEntropyLoss",
        {"label_smoothing": 0.2},
        (2, 4, 3),
        [[-100] * 3] * 2,
    ),
    "nll-every-target-ignored": ("NLLLoss", {"ignore_index": 1}, (2, 4), [1, 1]),
    "nll-empty-batch": ("NLLLoss", {}, (0, 4), []),
}


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "kwargs", "shape", "target"),
    NOTHING_TO_AVERAGE.values(),
    ids=list(NOTHING_TO_AVERAGE),
)
def test_a_mean_over_nothing_is_zero_where_pytorch_gives_nan(name, kwargs, shape, target, torch):
    """The documented choice (see ``nn.losses.Loss``): PyTorch's mean is 0 / 0 = NaN, which
    would stop fit on a batch of padding; numpynn's is 0 with a zero gradient, so no weight
    moves. The sum and the per-sample losses are PyTorch's."""
    pred = np.random.default_rng(0).standard_normal(shape)
    target = np.array(target, dtype=np.int64).reshape((shape[0], *shape[2:]))
    for reduction in ("mean", "sum", "none"):
        loss = getattr(nn, name)(reduction=reduction, **kwargs)
        value = loss(pred, target)
        upstream = None if reduction != "none" else np.ones(target.shape)
        grad = loss.backward(upstream)
        twin_kwargs = {**kwargs, "reduction": reduction}
        if "weight" in kwargs:
            twin_kwargs["weight"] = torch.tensor(kwargs["weight"], dtype=torch.float64)
        tp = torch.tensor(pred, requires_grad=True)
        tvalue = getattr(torch.nn, name)(**twin_kwargs)(tp, torch.from_numpy(target))
        tvalue.backward(None if upstream is None else torch.from_numpy(upstream))
        assert grad.shape == pred.shape and not grad.any(), reduction
        if reduction == "mean":
            assert value == 0.0 and np.isnan(tvalue.item())
        else:
            assert_close(value, tvalue.detach().numpy(), 1e-12, 1e-12, f"{name} {reduction}")
            assert_close(grad, tp.grad.numpy(), 1e-12, 1e-12, f"{name} {reduction} gradient")


def test_fit_leaves_the_weights_alone_on_a_batch_of_ignored_targets_and_stops_on_nan():
    """A batch whose every target is ignored trains nothing (loss 0, no step moves a weight);
    a non-finite loss stops fit, naming the epoch and the batch, before any weight moves."""
    from numpynn.training import fit

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)).astype(np.float32), rng.integers(0, 2, 8)
    y[4:] = -100  # the second batch of four is all padding
    model = nn.Sequential(nn.Linear(3, 2))
    opt = nn.optim.SGD(model.parameters(), lr=0.1)  # no momentum: a zero gradient moves nothing
    fit(model, x[4:], y[4:], loss=nn.CrossEntropyLoss(), optimizer=opt, epochs=2, verbose=0)
    before = [p.data.copy() for p in model.parameters()]
    history = fit(
        model, x, y, loss=nn.CrossEntropyLoss(), optimizer=opt, batch_size=4, shuffle=False,
        epochs=1, verbose=0,
    )  # fmt: skip
    assert np.isfinite(history.history["loss"][0])
    moved = [p.data.copy() for p in model.parameters()]
    fit(model, x[4:], y[4:], loss=nn.CrossEntropyLoss(), optimizer=opt, epochs=1, verbose=0)
    assert all(np.array_equal(a, p.data) for a, p in zip(moved, model.parameters()))
    assert not all(np.array_equal(a, b) for a, b in zip(before, moved))  # the first batch did

    x[5, 1] = np.nan  # in the batch of ignored targets: its logits are NaN, the loss too
    with pytest.raises(FloatingPointError, match=r"fit: epoch 1, batch 2: CrossEntropyLoss: "):
        fit(
            model, x, y, loss=nn.CrossEntropyLoss(), optimizer=opt, batch_size=4,
            shuffle=False, epochs=1, verbose=0,
        )  # fmt: skip
    assert all(np.isfinite(p.data).all() for p in model.parameters())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_losses_are_finite_at_the_extremes(dtype):
    y = np.array([[0.0, 1.0, 0.0, 1.0, 1.0]], dtype=dtype)
    z = np.array([[1e4, -1e4, -100, 100, 0]], dtype=dtype)
    logits_loss = nn.BCEWithLogitsLoss()
    value = logits_loss(z, y)
    assert np.isfinite(value) and np.all(np.isfinite(logits_loss.backward()))
    assert_close(value, (1e4 + 1e4 + 0 + 0 + np.log(2)) / 5, 1e-6, 0, "BCEWithLogits at extremes")
    p = np.array([[1.0, 0.0, 0.0, 1.0, 0.5]], dtype=dtype)
    prob_loss = nn.BCELoss()
    value = prob_loss(p, y)
    assert_close(value, (100 + 100 + 0 + 0 + np.log(2)) / 5, 1e-6, 0, "BCE clamps log at -100")
    assert np.all(np.isfinite(prob_loss.backward()))


@pytest.mark.parametrize(
    "make, pred, target, message",
    [
        (nn.CrossEntropyLoss, np.zeros((3, 4)), np.array([0, 4, 1]), r"in \[0, 3\].*from 0 to 4"),
        (nn.CrossEntropyLoss, np.zeros((3, 4)), np.array([0, -1, 1]), r"in \[0, 3\]"),
        (nn.CrossEntropyLoss, np.zeros((3, 4)), np.array([0.0, 1.0, 1.0]), r"y.astype\(int\)"),
        (
            nn.CrossEntropyLoss,
            np.zeros((3, 4)),
            np.zeros((3, 5)),
            r"\(3, 4\).*got float64 \(3, 5\)",
        ),
        (nn.CrossEntropyLoss, np.zeros((3,)), np.array([0, 1, 1]), r"logits of shape \(N, C\)"),
        (nn.NLLLoss, np.zeros((3, 4)), np.array([0, 9, 1]), r"in \[0, 3\]"),
        (nn.MSELoss, np.zeros((3, 1)), np.zeros(3), r"y.reshape\(-1, 1\)"),
        (nn.BCELoss, np.full((2, 1), 1.5), np.ones((2, 1)), r"BCEWithLogitsLoss"),
        (nn.MSELoss, np.zeros((2, 2), dtype=np.int64), np.zeros((2, 2)), r"floating prediction"),
    ],
)
def test_bad_targets_are_clear_errors(make, pred, target, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()(pred, target)


def test_non_finite_loss_says_what_to_do():
    with pytest.raises(FloatingPointError, match="learning rate"):
        with np.errstate(invalid="ignore"):
            nn.MSELoss()(np.array([[np.nan]]), np.array([[1.0]]))


def test_backward_before_the_loss_is_an_error():
    with pytest.raises(RuntimeError, match="before the loss"):
        nn.MSELoss().backward()


def test_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss("average")


def test_categorical_crossentropy_on_saturated_probabilities_stays_finite():
    loss = nn.CategoricalCrossentropy()
    p = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    assert loss(p, np.array([0, 1])) == pytest.approx((100 + np.log(2)) / 2)
    grad = loss.backward()
    assert np.all(np.isfinite(grad))
    assert grad[0, 0] == 0  # log p clamped at -100: flat there, as the value is
    assert grad[1, 1] == pytest.approx(-1 / (0.5 * 2))


def test_categorical_crossentropy_wants_probabilities():
    with pytest.raises(ValueError, match="expected probabilities in \\[0, 1\\].*from_logits=True"):
        nn.CategoricalCrossentropy()(np.array([[2.0, -1.0]]), np.array([0]))


def test_keras_names_choose_the_logits_or_probability_version():
    assert type(nn.names.get("loss", "categorical_crossentropy")) is nn.CategoricalCrossentropy
    assert type(nn.names.get("loss", "sparse_categorical_crossentropy", from_logits=True)) is (
        nn.CrossEntropyLoss
    )
    assert type(nn.names.get("loss", "binary_crossentropy")) is nn.BCELoss
    assert type(nn.names.get("loss", "binary_crossentropy", from_logits=True)) is (
        nn.BCEWithLogitsLoss
    )
    # after the matching activation, fit computes them from the logits, with the same settings
    sigmoid = nn.Sequential(nn.Input(shape=(3,)), nn.Dense(3, activation="sigmoid"))
    assert nn.objective.Objective(sigmoid, nn.BCELoss("sum")).fused[0][1].reduction == "sum"
    softmax = nn.Sequential(nn.Input(shape=(3,)), nn.Dense(3, activation="softmax"))
    smoothed = nn.objective.Objective(softmax, nn.CategoricalCrossentropy(label_smoothing=0.1))
    smoothed = smoothed.fused[0][1]
    ignoring = nn.objective.Objective(softmax, nn.CategoricalCrossentropy(ignore_index=2))
    assert ignoring.fused[0][1].ignore_index == 2
    assert type(smoothed) is nn.CrossEntropyLoss and smoothed.label_smoothing == 0.1

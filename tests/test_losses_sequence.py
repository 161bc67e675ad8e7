"""CrossEntropyLoss and NLLLoss on (N, C, d1, ...) predictions and with ignore_index, as a
language model uses them: values and gradients against PyTorch, gradcheck, edge cases."""

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn
import numpynn.functional as F

SHAPES = [(5, 4), (3, 4, 6), (2, 4, 3, 2)]  # (N, C), (N, C, T), (N, C, H, W)


def targets(rng, shape, ignore=-100):
    """Class indices of shape (N, d1, ...), about a quarter of them ``ignore``."""
    t = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    return np.where(rng.random(t.shape) < 0.25, ignore, t)


CASES = {
    "ce": lambda **k: nn.CrossEntropyLoss(**k),
    "ce-weight-smoothing": lambda **k: nn.CrossEntropyLoss(
        weight=[0.5, 1.0, 2.0, 1.5], label_smoothing=0.1, **k
    ),
    "nll": lambda **k: nn.NLLLoss(**k),
    "nll-weight": lambda **k: nn.NLLLoss(weight=[0.5, 1.0, 2.0, 1.5], **k),
}


def torch_loss(torch, case, reduction, ignore_index):
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
@pytest.mark.parametrize("shape", SHAPES, ids=["2d", "3d", "4d"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_pytorch(case, shape, reduction, dtype, torch):
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (2e-5, 2e-6)
    rng = np.random.default_rng(len(shape))
    ignore = -100 if reduction != "sum" else 2  # the default and a real class index
    pred = rng.standard_normal(shape)
    if case.startswith("nll"):
        pred = F.log_softmax(pred, axis=1)
    pred = pred.astype(dtype)
    target = targets(rng, shape, ignore)
    loss = CASES[case](reduction=reduction, ignore_index=ignore)
    value = loss(pred, target)
    upstream = None if reduction != "none" else rng.standard_normal(target.shape)
    grad = loss.backward(upstream)

    tp = torch.tensor(pred, requires_grad=True)
    twin = torch_loss(torch, case, reduction, ignore).to(getattr(torch, np.dtype(dtype).name))
    tvalue = twin(tp, torch.from_numpy(target))
    tvalue.backward(None if upstream is None else torch.tensor(upstream, dtype=tp.dtype))
    assert_close(value, tvalue.detach().numpy(), rtol, atol, f"{case} value")
    assert_close(grad, tp.grad.numpy(), rtol, atol, f"{case} gradient")
    assert grad.dtype == dtype


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("case", list(CASES))
def test_gradcheck_over_positions(case, reduction):
    rng = np.random.default_rng(0)
    pred = rng.standard_normal((3, 4, 5))
    target = targets(rng, (3, 4, 5))
    loss = CASES[case](reduction=reduction)
    nn.gradcheck(loss, pred, target, eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_ignored_targets_change_nothing(case):
    rng = np.random.default_rng(1)
    pred = rng.standard_normal((4, 4, 3))
    target = rng.integers(0, 4, (4, 3))
    target[0, :2] = -100
    loss = CASES[case]()
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

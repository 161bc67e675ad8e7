"""Merge layers: several inputs, one gradient per input. Both oracles, and the errors."""

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn

MERGES = {
    "Add": (nn.Add, lambda t, xs: sum(xs[1:], xs[0])),
    "Subtract": (nn.Subtract, lambda t, xs: xs[0] - xs[1]),
    "Multiply": (nn.Multiply, lambda t, xs: xs[0] * xs[1] * (xs[2] if len(xs) > 2 else 1)),
    "Average": (nn.Average, lambda t, xs: t.stack(xs).mean(dim=0)),
    "Concatenate": (nn.Concatenate, lambda t, xs: t.cat(xs, dim=-1)),
    "Concatenate-axis1": (lambda: nn.Concatenate(axis=1), lambda t, xs: t.cat(xs, dim=1)),
}


def inputs(name, count, batch=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    if name == "Concatenate-axis1":  # (N, C, L) joined along C
        return [rng.normal(size=(batch, k + 1, 4)).astype(dtype) for k in range(count)]
    if name == "Concatenate":
        return [rng.normal(size=(batch, k + 2)).astype(dtype) for k in range(count)]
    return [rng.normal(size=(batch, 4)).astype(dtype) for _ in range(count)]


def counts(name):
    return [2] if name == "Subtract" else [2, 3]


CASES = [(name, count) for name in MERGES for count in counts(name)]
IDS = [f"{name}-{count}" for name, count in CASES]


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize(("name", "count"), CASES, ids=IDS)
def test_gradcheck_every_input(name, count, batch):
    xs = inputs(name, count, batch)
    nn.gradcheck(MERGES[name][0](), *xs, wrt=tuple(range(count)))


@pytest.mark.torch
@pytest.mark.parametrize(("name", "count"), CASES, ids=IDS)
def test_matches_pytorch(name, count, torch):
    xs = inputs(name, count)
    layer = MERGES[name][0]()
    out = layer(xs)  # Keras style: one list
    upstream = np.random.default_rng(1).normal(size=out.shape)
    grads = layer.backward(upstream)
    txs = [torch.tensor(x, requires_grad=True) for x in xs]
    tout = MERGES[name][1](torch, txs)
    tout.backward(torch.from_numpy(upstream))
    assert_close(out, tout.detach().numpy(), 1e-12, 1e-12, f"{name} output")
    assert len(grads) == count
    for i, (g, tx) in enumerate(zip(grads, txs)):
        assert_close(g, tx.grad.numpy(), 1e-12, 1e-12, f"{name} grad of input {i}")


@pytest.mark.parametrize(("name", "count"), CASES, ids=IDS)
def test_output_shape_float32_and_no_mutation(name, count):
    xs = inputs(name, count, dtype=np.float32)
    before = [x.copy() for x in xs]
    layer = MERGES[name][0]()
    out = layer(*xs)
    assert out.shape == layer.output_shape(tuple(x.shape for x in xs))
    grads = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    for x, b in zip(xs, before):
        np.testing.assert_array_equal(x, b)


def test_shape_mismatch_names_the_layer():
    with pytest.raises(ValueError, match=r"Add\(\): expected inputs of one shape, got \(2, 3\)"):
        nn.Add()(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"Concatenate\(axis=-1\): expected inputs equal"):
        nn.Concatenate()(np.zeros((2, 3)), np.zeros((3, 3)))


def test_wrong_number_of_inputs():
    with pytest.raises(ValueError, match="exactly 2 inputs, got 3"):
        nn.Subtract()(np.zeros(2), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="at least 2 inputs, got 1"):
        nn.Add()([np.zeros((2, 2))])


def test_concatenate_refuses_the_batch_axis():
    with pytest.raises(ValueError, match="axis 0 must be a non-batch axis"):
        nn.Concatenate(axis=0)(np.zeros((2, 3)), np.zeros((2, 3)))


def test_symbolic_shapes_are_checked_when_the_graph_is_built():
    a, b = nn.Input(shape=(3,)), nn.Input(shape=(4,))
    with pytest.raises(ValueError, match="expected inputs of one shape"):
        nn.Add()([a, b])
    assert nn.Concatenate()([a, b]).shape == (None, 7)

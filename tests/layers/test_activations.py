"""Activations: stability at extreme inputs, functional forms, and the tutorials' mistakes."""

import math

import numpy as np
import pytest
from cases import ACTIVATIONS
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numpynn as nn
import numpynn.functional as F

EXTREMES = [-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ACTIVATIONS, ids=[c.id for c in ACTIVATIONS])
def test_finite_at_extreme_inputs(case, dtype):
    x = np.array([EXTREMES], dtype=dtype)
    layer = case.make()
    out = layer(x)
    grad = layer.backward(np.ones_like(out))
    assert out.dtype == dtype and grad.dtype == dtype
    assert np.all(np.isfinite(out)), f"{case.id} output {out}"
    assert np.all(np.isfinite(grad)), f"{case.id} grad {grad}"


@pytest.mark.torch
@pytest.mark.parametrize(
    "case",
    [c for c in ACTIVATIONS if c.id != "Softplus"],
    ids=[c.id for c in ACTIVATIONS if c.id != "Softplus"],
)
def test_extreme_inputs_match_pytorch(case, torch):
    x = np.array([EXTREMES], dtype=np.float64)
    layer = case.make()
    out = layer(x)
    grad = layer.backward(np.ones_like(out))
    tx = torch.tensor(x, requires_grad=True)
    tout = case.torch(torch)(tx)
    tout.backward(torch.ones_like(tout))
    assert_close(out, tout.detach().numpy(), 1e-10, 1e-30, f"{case.id} output at extremes")
    assert_close(grad, tx.grad.numpy(), 1e-10, 1e-30, f"{case.id} grad at extremes")


@pytest.mark.torch
def test_gradients_at_exactly_zero_match_pytorch(torch):
    """TESTING.md #1: the derivative chosen at the kink is PyTorch's."""
    for layer, twin in [
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
        (nn.ELU(0.5), torch.nn.ELU(0.5)),
    ]:
        x = np.zeros((1, 3))
        layer(x)
        grad = layer.backward(np.array([[1.0, -2.0, 3.0]]))
        tx = torch.zeros((1, 3), dtype=torch.float64, requires_grad=True)
        twin(tx).backward(torch.tensor([[1.0, -2.0, 3.0]], dtype=torch.float64))
        np.testing.assert_array_equal(grad, tx.grad.numpy(), err_msg=type(layer).__name__)


def test_relu_backward_uses_the_input_sign_not_the_gradient_sign():
    x = np.array([[-1.0, 2.0, -3.0, 4.0]])
    relu = nn.ReLU()
    relu(x)
    grad = relu.backward(np.array([[5.0, -6.0, -7.0, 8.0]]))
    np.testing.assert_array_equal(grad, [[0.0, -6.0, 0.0, 8.0]])


def test_sigmoid_backward_is_taken_at_the_forward_input():
    x = np.array([[-2.0, 0.5, 3.0]])
    sigmoid = nn.Sigmoid()
    sigmoid(x)
    s = 1 / (1 + np.exp(-x))  # independent formula, not the library's kernel
    assert_close(sigmoid.backward(np.ones_like(x)), s * (1 - s), 1e-14, 0, "sigmoid'")


def test_softmax_backward_is_the_full_jacobian_product():
    """TESTING.md #2: p (1 - p) alone is wrong whenever the upstream gradient is not one-hot."""
    z = np.array([[0.3, -1.2, 2.0]])
    g = np.array([[1.0, -0.5, 0.25]])
    softmax = nn.Softmax()
    p = softmax(z)
    jacobian = np.diag(p[0]) - np.outer(p[0], p[0])
    assert_close(softmax.backward(g), g @ jacobian, 1e-14, 1e-16, "softmax vector-Jacobian product")


@pytest.mark.parametrize(
    "function, layer",
    [
        (F.relu, nn.ReLU()),
        (lambda x: F.leaky_relu(x, 0.2), nn.LeakyReLU(0.2)),
        (lambda x: F.elu(x, 0.7), nn.ELU(0.7)),
        (F.gelu, nn.GELU()),
        (lambda x: F.gelu(x, "tanh"), nn.GELU("tanh")),
        (F.silu, nn.SiLU()),
        (F.sigmoid, nn.Sigmoid()),
        (F.tanh, nn.Tanh()),
        (F.softplus, nn.Softplus()),
        (F.softmax, nn.Softmax()),
        (F.log_softmax, nn.LogSoftmax()),
    ],
)
def test_functions_equal_their_layers(function, layer, rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(function(x), layer(x))


def test_erf_matches_math_erf():
    x = np.linspace(-7, 7, 2001)
    expected = np.array([math.erf(v) for v in x])
    assert_close(F.erf(x), expected, 1e-14, 1e-15, "erf")
    tail = np.array([math.erfc(v) for v in x])
    assert_close(F.erfc(x), tail, 1e-13, 1e-300, "erfc (relative, tails included)")


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be"):
        nn.GELU("fast")


floats32 = hnp.arrays(
    np.float32,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
    elements=st.floats(-1e4, 1e4, width=32),
)


@settings(max_examples=60, deadline=None)
@given(x=floats32)
def test_property_activations_finite_and_shaped(x):
    for case in ACTIVATIONS:
        layer = case.make()
        out = layer(x)
        grad = layer.backward(np.ones_like(out))
        assert out.shape == x.shape and grad.shape == x.shape
        assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad)), case.id


@settings(max_examples=60, deadline=None)
@given(x=floats32)
def test_property_softmax_rows_sum_to_one(x):
    p = F.softmax(x, axis=1)
    assert np.all(p >= 0)
    assert_close(p.sum(axis=1), np.ones(len(x)), 1e-5, 0, "softmax row sums")


@settings(max_examples=60, deadline=None)
@given(z=floats32.map(lambda a: a * 1000), data=st.data())
def test_property_cross_entropy_finite_for_any_logits(z, data):
    y = data.draw(hnp.arrays(np.int64, z.shape[0], elements=st.integers(0, z.shape[1] - 1)))
    loss = nn.CrossEntropyLoss()
    value = loss(z, y)
    grad = loss.backward()
    assert np.isfinite(value) and value >= 0
    assert np.all(np.isfinite(grad))
    # each row's gradient sums to zero: softmax's outputs sum to one
    assert_close(grad.sum(axis=1), np.zeros(len(z)), 0, 1e-6, "CE gradient row sums")


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 5),
    fan_in=st.integers(1, 6),
    fan_out=st.integers(1, 6),
    seed=st.integers(0, 1000),
)
def test_property_linear_gradcheck(n, fan_in, fan_out, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(fan_in, fan_out, seed=seed)
    nn.gradcheck(layer, rng.standard_normal((n, fan_in)), seed=seed)

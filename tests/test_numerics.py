"""Numerics promised for any finite input, and dtypes that cannot work refused clearly."""

import math

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn

HUGE = {np.float32: [1e30, 1e38], np.float64: [1e30, 1e300]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("approximate", ["tanh", "none"])
def test_gelu_at_huge_inputs_is_x_or_zero_with_slope_one_or_zero(dtype, approximate):
    big = HUGE[dtype]
    x = np.array([-b for b in big] + big, dtype=dtype)
    layer = nn.GELU(approximate)
    out = layer(x)
    grad = layer.backward(np.ones_like(x))
    positive = x > 0
    np.testing.assert_array_equal(out, np.where(positive, x, 0))
    np.testing.assert_array_equal(grad, positive.astype(dtype))
    assert out.dtype == grad.dtype == dtype


@pytest.mark.torch
@pytest.mark.parametrize("approximate", ["tanh", "none"])
def test_gelu_beyond_the_clipping_points_matches_pytorch(torch, approximate):
    x = np.array([-1e30, -50, -39.5, -10.5, -9.9, 9.9, 10.5, 39.5, 50, 1e30])
    layer = nn.GELU(approximate)
    out = layer(x)
    upstream = np.random.default_rng(0).normal(size=x.shape)
    grad = layer.backward(upstream)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.gelu(tx, approximate=approximate)
    tout.backward(torch.tensor(upstream))
    # PyTorch's exact GELU rounds x Phi(x) to 0 below x = -9 (ours keeps -2e-22 at -9.9)
    tiny = 1e-20 if approximate == "none" else 1e-300
    assert_close(out, tout.detach().numpy(), 1e-12, tiny, f"GELU({approximate}) output")
    assert_close(grad, tx.grad.numpy(), 1e-12, tiny, f"GELU({approximate}) grad")


def grads_of(*values, dtype=np.float32):
    params = []
    for v in values:
        p = nn.Parameter(np.zeros(len(v), dtype))
        p.grad = np.array(v, dtype)
        params.append(p)
    return params


@pytest.mark.parametrize("scale", [1e20, 1e-30, 1e37, 1.0])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_is_right_for_huge_and_tiny_float32_gradients(scale, norm_type):
    values = [[3.0, -4.0, 0.5], [1.0, -2.0]]
    params = grads_of(*[[scale * v for v in row] for row in values])
    flat = np.concatenate([np.array(p.grad, np.float64) for p in params])
    expected = np.linalg.norm(flat, ord=norm_type)
    total = nn.optim.clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    assert total == pytest.approx(expected, rel=1e-6)
    clipped = np.concatenate([p.grad.astype(np.float64) for p in params])
    if expected > 1:
        assert np.linalg.norm(clipped, ord=norm_type) == pytest.approx(1.0, rel=1e-5)
        np.testing.assert_allclose(clipped, flat / (expected + 1e-6), rtol=1e-6)
    else:
        np.testing.assert_array_equal(clipped, flat)


def test_clip_grad_norm_of_zero_or_infinite_gradients():
    params = grads_of([0.0, 0.0])
    assert nn.optim.clip_grad_norm_(params, 1.0) == 0.0
    assert params[0].grad.tolist() == [0.0, 0.0]
    params = grads_of([np.inf, 1.0])
    with np.errstate(invalid="ignore"):  # inf * 0: NaN gradients, as in PyTorch
        assert nn.optim.clip_grad_norm_(params, 1.0) == math.inf


@pytest.mark.parametrize(
    "make",
    [nn.optim.Adam, nn.optim.AdamW, nn.optim.RMSprop, nn.optim.Adagrad],
    ids=lambda c: c.__name__,
)
def test_float16_parameters_are_refused_by_optimizers_whose_eps_underflows(make):
    model = nn.Sequential(nn.Linear(3, 2)).to(np.float16)
    with pytest.raises(TypeError, match=f"{make.__name__}: float16 parameters are not supported"):
        make(model.parameters())
    with pytest.raises(TypeError, match="train in float32"):
        make([{"params": model.parameters(), "lr": 0.1}])


def test_float16_really_breaks_adam_which_is_why_it_is_refused():
    eps = np.float16(1e-8)
    assert eps == 0  # eps underflows, so 0 / (sqrt(0) + eps) is 0 / 0
    assert np.float16(1e-4) ** 2 == 0  # and a small gradient's square is 0 too


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.complex64, np.longdouble])
def test_set_default_dtype_accepts_only_float32_and_float64(dtype):
    if np.dtype(dtype) == np.float64:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match="expected a floating dtype, float32 or float64, got"):
        nn.set_default_dtype(dtype)
    assert nn.get_default_dtype() == np.float32
    nn.set_default_dtype(np.float64)
    assert nn.get_default_dtype() == np.float64


@pytest.mark.parametrize(
    "loss",
    [nn.MSELoss(), nn.CrossEntropyLoss(), nn.BCEWithLogitsLoss(), nn.L1Loss()],
    ids=lambda loss: type(loss).__name__,
)
def test_complex_values_in_a_loss_are_an_error_naming_the_loss(loss):
    pred = np.zeros((2, 3), np.float32)
    target = np.zeros((2, 3), np.complex64) + 1j
    with pytest.raises(TypeError, match=f"{type(loss).__name__}.*got complex64"):
        loss(pred, target)
    with pytest.raises(TypeError, match=f"{type(loss).__name__}.*complex"):
        loss(pred.astype(np.complex64), np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("layer", [nn.Linear(3, 2), nn.ReLU(), nn.Flatten()], ids=repr)
def test_complex_input_to_a_layer_is_an_error_naming_the_layer(layer):
    with pytest.raises(TypeError, match=r"expected real numbers, got complex128"):
        layer(np.ones((2, 3), np.complex128))

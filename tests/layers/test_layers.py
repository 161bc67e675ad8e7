"""Generic tests over every layer in cases.LAYERS: the layer contract and both oracles."""

import json

import numpy as np
import pytest
from cases import LAYERS, LayerCase
from helpers import assert_close

import numpynn as nn

ids = [c.id for c in LAYERS]


def make_input(case: LayerCase, batch: int, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = case.inputs(rng, (batch, *case.sample_shape))
    return x if case.index_input else x.astype(dtype)


def built(case: LayerCase, x):
    layer = case.make()
    layer(x)  # builds lazy layers
    return layer


@pytest.mark.parametrize("batch", [1, 3, 7])
@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_gradcheck(case, batch):
    x = make_input(case, batch, seed=batch)
    layer = built(case, x)
    # float64 central differences; rtol 1e-5 leaves room for the O(eps^2) truncation error
    wrt = () if case.index_input else (0,)  # indices: the weight's gradient only
    nn.gradcheck(layer, x, wrt=wrt, eps=1e-6, atol=1e-7, rtol=1e-5)


def torch_twin(case, layer, torch, dtype):
    twin = case.torch(torch)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in layer.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    return twin.to(getattr(torch, np.dtype(dtype).name))


# float64: the formulas agree to rounding (1e-10); float32: about 1e-5 relative, as both
# libraries round differently (BLAS order, exp/tanh implementations).
TOLERANCES = {np.float64: (1e-10, 1e-12), np.float32: (2e-5, 2e-6)}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "case", [c for c in LAYERS if c.torch], ids=[c.id for c in LAYERS if c.torch]
)
def test_matches_pytorch(case, dtype, torch):
    rtol, atol = TOLERANCES[dtype]
    x = make_input(case, 4, dtype)
    layer = built(case, x).to(dtype)
    twin = torch_twin(case, layer, torch, dtype)
    upstream = np.random.default_rng(1).standard_normal(layer.output_shape(x.shape)).astype(dtype)

    out = layer(x)
    grad_x = layer.backward(upstream)
    tx = torch.tensor(x, requires_grad=not case.index_input)
    tout = twin(tx)
    tout.backward(torch.from_numpy(upstream))

    assert out.dtype == dtype
    assert_close(out, tout.detach().numpy(), rtol, atol, f"{case.id} output")
    if not case.index_input:
        assert grad_x.dtype == dtype
        assert_close(grad_x, tx.grad.numpy(), rtol, atol, f"{case.id} input grad")
    torch_grads = dict(twin.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(p.grad, torch_grads[name].grad.numpy(), rtol, atol, f"{case.id} {name}.grad")


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_config_round_trip(case):
    layer = built(case, make_input(case, 2, np.float32))
    config = layer.get_config()
    json.dumps(config)  # JSON-able: a model file never needs pickle
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    assert repr(rebuilt) == repr(layer)


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_state_dict_round_trip(case):
    x = make_input(case, 3, np.float32)
    layer = built(case, x)
    other = built(case, x)
    other.load_state_dict(layer.state_dict())
    layer.eval(), other.eval()
    np.testing.assert_array_equal(other(x), layer(x))


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_repr_names_the_class(case):
    layer = case.make()
    assert repr(layer).startswith(type(layer).__name__ + "(")


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_output_shape_is_the_forward_shape(case):
    x = make_input(case, 3, np.float32)
    layer = built(case, x)
    assert layer.output_shape(x.shape) == layer(x).shape


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_float32_stays_float32(case):
    x = make_input(case, 3, np.float32)
    layer = built(case, x)
    out = layer(x)
    grad = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and (case.index_input or grad.dtype == np.float32)
    for name, p in layer.named_parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32, name


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_backward_before_forward_is_a_clear_error(case):
    layer = case.make()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, *case.sample_shape), dtype=np.float32))


@pytest.mark.parametrize(
    "case",
    [c for c in LAYERS if c.bad_shape is not None],
    ids=[c.id for c in LAYERS if c.bad_shape is not None],
)
def test_wrong_input_shape_names_the_layer(case):
    layer = case.make()
    bad = np.zeros((2, *case.bad_shape), dtype=np.float32)
    first = type(layer[0] if isinstance(layer, nn.Sequential) else layer).__name__
    with pytest.raises(ValueError, match=rf"{first}\(.*expected.*got"):
        layer(bad)


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_inputs_are_not_mutated(case):
    x = make_input(case, 3, np.float32)
    layer = built(case, x)
    x_before = x.copy()
    out = layer(x)
    upstream = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    upstream_before = upstream.copy()
    layer.backward(upstream)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(upstream, upstream_before)


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_backward_params_is_the_parameters_share_of_backward(case):
    """What fit calls: the same parameter gradients as backward, without the input's."""
    x = make_input(case, 3)
    layer = built(case, x).to(np.float64)
    out = layer(x)
    upstream = np.random.default_rng(4).standard_normal(np.shape(out))
    layer.zero_grad()
    layer.backward(upstream)
    full = {name: p.grad.copy() for name, p in layer.named_parameters()}
    layer.zero_grad()
    layer(x)
    assert layer.backward_params(upstream) is None
    for name, p in layer.named_parameters():
        np.testing.assert_array_equal(p.grad, full[name], err_msg=name)
    with pytest.raises(RuntimeError, match="before forward"):
        case.make().backward_params(upstream)

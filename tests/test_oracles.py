"""The other oracles can fail too (TESTING.md, "Test the oracles and the wiring too").

gradcheck's own tests are in test_gradcheck.py. Here each remaining witness the suite leans
on gets one planted bug that it must catch: the comparison helper ``assert_close``, the
plain reference loops of convolution and max pooling kept beside the fast window engine
(tests/layers/test_windows.py), and the PyTorch parity comparison.
"""

import numpy as np
import pytest
from helpers import assert_close
from layers.test_windows import reference_conv2d, reference_max_pool, reference_pads

import numpynn as nn


def test_assert_close_names_the_worst_element_and_fails_just_outside_its_tolerance():
    expected = np.arange(6.0).reshape(2, 3) + 1
    got = expected.copy()
    got[1, 2] *= 1 + 2e-10  # twice the float64 tolerance the layer tests use
    with pytest.raises(AssertionError, match=r"dx: max abs err .* at \[1, 2\]"):
        assert_close(got, expected, 1e-10, 0, "dx")
    assert_close(expected * (1 + 5e-11), expected, 1e-10, 0, "dx")  # inside: no error
    with pytest.raises(AssertionError, match="shape"):
        assert_close(got[:, :2], expected, 1, 1, "dx")


def conv_and_reference(x, layer, rng):
    out = layer(x)
    grad = rng.normal(size=out.shape)
    dx = layer.backward(grad)
    k, s, d = layer.kernel_size, layer.stride, layer.dilation
    pads = reference_pads(x.shape[2:], k, s, d, (1, 1))
    want = reference_conv2d(x, layer.weight.data, layer.bias.data, grad, s, pads, d, 1)
    return (out, dx, layer.weight.grad, layer.bias.grad), want


def test_the_convolution_reference_catches_a_kernel_flipped_weight_gradient():
    """The classic col2im/correlation mix-up: the weight gradient of a convolution instead
    of a cross-correlation, i.e. flipped along both kernel axes."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 6, 5))
    layer = nn.Conv2d(3, 4, 3, padding=1, dilation=2).to(np.float64)
    got, want = conv_and_reference(x, layer, rng)
    for name, g, w in zip(("output", "dx", "weight.grad", "bias.grad"), got, want):
        assert_close(g, w, 1e-10, 1e-12, name)  # the real layer agrees
    with pytest.raises(AssertionError, match="weight.grad"):
        assert_close(got[2][:, :, ::-1, ::-1], want[2], 1e-10, 1e-12, "weight.grad")


def test_the_max_pool_reference_catches_gradients_routed_to_every_tied_maximum():
    """Routing the gradient to each tied maximum (instead of the first one) doubles it."""
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(2, 3, 6, 6)))  # many ties
    layer = nn.MaxPool2d(2)
    out = layer(x)
    grad = rng.normal(size=out.shape)
    dx = layer.backward(grad)
    want_out, want_dx = reference_max_pool(x, grad, (2, 2), (2, 2), [(0, 0), (0, 0)])
    assert_close(dx, want_dx, 1e-12, 1e-12, "dx")
    windows = x.reshape(2, 3, 3, 2, 3, 2)
    is_max = windows == windows.max(axis=(3, 5), keepdims=True)
    every_tie = (is_max * grad[:, :, :, None, :, None]).reshape(x.shape)
    assert (is_max.sum(axis=(3, 5)) > 1).any()  # the planted bug changes something here
    with pytest.raises(AssertionError, match="dx"):
        assert_close(every_tie, want_dx, 1e-12, 1e-12, "dx")


@pytest.mark.torch
def test_pytorch_parity_catches_the_tanh_approximation_of_gelu(torch):
    """TESTING.md #14: exact and tanh GELU differ by about 1e-3; the float32 parity
    tolerance of the layer tests (2e-5 relative, 2e-6 absolute) must see it."""
    x = np.linspace(-4, 4, 101)
    exact = torch.nn.functional.gelu(torch.from_numpy(x)).numpy()
    assert_close(nn.GELU()(x), exact, 2e-5, 2e-6, "GELU output")
    with pytest.raises(AssertionError, match="GELU output"):
        assert_close(nn.GELU(approximate="tanh")(x), exact, 2e-5, 2e-6, "GELU output")

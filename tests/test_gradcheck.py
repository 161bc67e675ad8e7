"""gradcheck must be able to fail (TESTING.md, "Test the oracles and the wiring too").

gradcheck is the witness for every backward pass in this suite, so it is tested the way a
mutation would break it: each class below plants one realistic wrong backward, and
gradcheck at its default settings must reject it and name the quantity. A gradcheck whose
tolerance grew 100-fold fails the 5e-4 test; one whose upstream gradient became all ones
fails the tests of the upstream-blind and the swapped backward passes. The correct
backward passes must be accepted at the same defaults, over many shapes and seeds, so the
tolerance is neither too loose nor flaky.
"""

import numpy as np
import pytest

import numpynn as nn


class BrokenLinear(nn.Linear):
    """Forgets to sum the bias gradient over the batch (TESTING.md #5): takes row 0 only."""

    def backward(self, grad):
        dx = super().backward(grad)
        self.bias.grad[...] = grad[0]
        return dx


class SignFlippedReLU(nn.ReLU):
    def backward(self, grad):
        return np.maximum(grad, 0)  # the tutorial mistake: the gradient's sign, not the input's


class ScaledTanh(nn.Tanh):
    """A wrong constant factor: d tanh = (1 - tanh^2) * (1 + error)."""

    error = 0.01

    def backward(self, grad):
        return super().backward(grad) * (1 + self.error)


class UpstreamBlindLinear(nn.Linear):
    """Written for an all-ones upstream gradient: the right answer only when g == 1."""

    def backward(self, grad):
        return super().backward(np.ones_like(grad))


class SwappedSquare(nn.Module):
    """y = x^2 whose backward exchanges the upstream gradients of two output positions."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        grad = grad.copy()
        grad.flat[[0, 1]] = grad.flat[[1, 0]]
        return 2 * self.x * grad


class ForgetsWeightGradient(nn.Linear):
    """Returns the right input gradient, but never adds into ``weight.grad``."""

    def backward(self, grad):
        self.bias.grad += grad.sum(axis=0)
        return grad @ self.weight.data


class ForgetsInputGradient(nn.Linear):
    """Adds the parameter gradients, but returns nothing for the input."""

    def backward(self, grad):
        super().backward(grad)


def rejected(f, *inputs, **kwargs):
    """The failures gradcheck reports at its defaults (it must report some)."""
    result = nn.gradcheck(f, *inputs, raise_exception=False, **kwargs)
    assert not result.ok, f"gradcheck accepted a planted bug: {result!r}"
    return {m.quantity for m in result.failures}


def test_a_broken_bias_gradient_is_reported_with_name_and_index(rng):
    layer = BrokenLinear(3, 2, seed=0)
    with pytest.raises(nn.GradcheckError, match=r"bias\.grad: max abs err .* at \[\d\]"):
        nn.gradcheck(layer, rng.standard_normal((4, 3)))


def test_a_relu_using_the_gradient_sign_fails(rng):
    x = rng.standard_normal((5, 4))
    x[np.abs(x) < 0.1] = 0.5
    assert rejected(SignFlippedReLU(), x) == {"x.grad"}


@pytest.mark.parametrize("error", [0.01, 5e-4, -5e-4])
def test_a_gradient_off_by_a_constant_factor_fails(rng, error):
    # TESTING.md asks for 5e-4 relative: 50 times the default rtol of 1e-5, and well inside
    # a tolerance made 100 times looser, which this test is here to catch
    layer = ScaledTanh()
    layer.error = error
    assert rejected(layer, rng.standard_normal((3, 4))) == {"x.grad"}


def test_a_backward_that_ignores_the_upstream_values_fails(rng):
    # with an all-ones upstream gradient this backward would be exactly right
    layer = UpstreamBlindLinear(4, 3, seed=0)
    assert rejected(layer, rng.standard_normal((5, 4))) == {"x.grad", "weight.grad", "bias.grad"}


def test_a_backward_with_two_output_positions_swapped_fails(rng):
    # the two positions have different inputs, so their derivatives differ; an upstream
    # gradient equal at both positions (all ones) would hide the swap
    x = rng.standard_normal((2, 3))
    assert rejected(SwappedSquare(), x) == {"x.grad"}


def test_a_missing_parameter_gradient_fails(rng):
    assert rejected(ForgetsWeightGradient(4, 3, seed=0), rng.standard_normal((2, 4))) == {
        "weight.grad"
    }


def test_a_missing_input_gradient_is_an_error_naming_the_input(rng):
    with pytest.raises(nn.GradcheckError, match=r"x\.grad has shape \(\), expected \(2, 4\)"):
        nn.gradcheck(ForgetsInputGradient(4, 3, seed=0), rng.standard_normal((2, 4)))


def test_the_upstream_gradient_is_signed_and_not_uniform():
    """What gradcheck differentiates: sum(f(x) * g) for a random signed g, seen through an
    identity layer whose backward records the g it is given."""

    class Recorder(nn.Identity):
        def backward(self, grad):
            self.upstream = grad.copy()
            return grad

    layer = Recorder()
    nn.gradcheck(layer, np.zeros((4, 5)))
    g = layer.upstream
    assert (g > 0).any() and (g < 0).any() and len(np.unique(g)) == g.size


class OutputOnly(nn.Module):
    """A recurrent layer's output sequence alone, for gradcheck: (output, states) -> output."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, x):
        return self.layer(x)[0]

    def backward(self, grad):
        return self.layer.backward(grad)


def make_layers(seed):
    """Correct layers of several kinds, on inputs kept away from kinks."""
    return [
        (nn.Linear(4, 3, seed=seed), (5, 4)),
        (nn.Linear(1, 1, seed=seed), (1, 1)),
        (nn.Tanh(), (7, 2, 3)),
        (nn.Sigmoid(), (3, 6)),
        (nn.Softmax(), (4, 5)),
        (nn.LayerNorm(6), (3, 6)),
        (nn.Conv2d(2, 3, 3, stride=2, padding=1, seed=seed), (2, 2, 5, 4)),
        (OutputOnly(nn.LSTM(3, 4, seed=seed)), (4, 2, 3)),
    ]


@pytest.mark.parametrize("seed", range(5))
def test_correct_backward_passes_are_accepted_at_the_defaults(seed):
    rng = np.random.default_rng(seed)
    for layer, shape in make_layers(seed):
        result = nn.gradcheck(layer, rng.standard_normal(shape), seed=seed)
        assert result.ok and result.checked > 0, (type(layer).__name__, result)


def test_a_correct_layer_passes_and_the_module_keeps_its_dtype(rng):
    layer = nn.Linear(3, 2)
    weight = layer.weight.data
    result = nn.gradcheck(layer, rng.standard_normal((2, 3)))
    assert result.ok and result.checked == 6 + 6 + 2
    assert layer.weight.data is weight and layer.weight.dtype == np.float32


def test_gradcheck_of_a_loss_checks_the_prediction(rng):
    result = nn.gradcheck(nn.MSELoss(), rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))
    assert result.ok and result.checked == 6

"""gradcheck must be able to fail: a deliberately broken backward is caught and located."""

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


def test_a_broken_bias_gradient_is_reported_with_name_and_index(rng):
    layer = BrokenLinear(3, 2, seed=0)
    with pytest.raises(nn.GradcheckError, match=r"bias\.grad: max abs err .* at \[\d\]"):
        nn.gradcheck(layer, rng.standard_normal((4, 3)))


def test_a_relu_using_the_gradient_sign_fails(rng):
    x = rng.standard_normal((5, 4))
    x[np.abs(x) < 0.1] = 0.5
    result = nn.gradcheck(SignFlippedReLU(), x, raise_exception=False)
    assert not result.ok and result.failures[0].quantity == "x.grad"


def test_a_correct_layer_passes_and_the_module_keeps_its_dtype(rng):
    layer = nn.Linear(3, 2)
    weight = layer.weight.data
    result = nn.gradcheck(layer, rng.standard_normal((2, 3)))
    assert result.ok and result.checked == 6 + 6 + 2
    assert layer.weight.data is weight and layer.weight.dtype == np.float32


def test_gradcheck_of_a_loss_checks_the_prediction(rng):
    result = nn.gradcheck(nn.MSELoss(), rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))
    assert result.ok and result.checked == 6

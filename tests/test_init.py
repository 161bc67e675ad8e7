"""Initialisers against their formulas (TESTING.md #15)."""

import math

import numpy as np
import pytest

import numpynn as nn
from numpynn import init

SHAPE = (400, 300)  # 120,000 draws: sample std within ~0.5% of the true std
FAN_IN, FAN_OUT = 300, 400


@pytest.mark.parametrize(
    "make, bound",
    [
        (lambda: init.uniform(SHAPE, -0.3, 0.7, seed=0), (-0.3, 0.7)),
        (
            lambda: init.xavier_uniform(SHAPE, gain=2.0, seed=0),
            2 * math.sqrt(6 / (FAN_IN + FAN_OUT)),
        ),
        (
            lambda: init.kaiming_uniform(SHAPE, nonlinearity="relu", seed=0),
            math.sqrt(2) * math.sqrt(3 / FAN_IN),
        ),
        (
            lambda: init.kaiming_uniform(SHAPE, mode="fan_out", nonlinearity="relu", seed=0),
            math.sqrt(2) * math.sqrt(3 / FAN_OUT),
        ),
        (lambda: init.lecun_uniform(SHAPE, seed=0), math.sqrt(3 / FAN_IN)),
    ],
)
def test_uniform_initialisers_fill_their_interval(make, bound):
    low, high = bound if isinstance(bound, tuple) else (-bound, bound)
    w = make()
    assert w.dtype == np.float32 and w.shape == SHAPE
    assert w.min() >= low and w.max() <= high
    width = high - low
    assert w.min() < low + 0.001 * width and w.max() > high - 0.001 * width
    assert abs(w.mean() - (low + high) / 2) < 0.01 * width
    assert abs(w.std() - width / math.sqrt(12)) < 0.01 * width / math.sqrt(12)


@pytest.mark.parametrize(
    "make, std",
    [
        (lambda: init.normal(SHAPE, 0.0, 0.2, seed=0), 0.2),
        (lambda: init.xavier_normal(SHAPE, seed=0), math.sqrt(2 / (FAN_IN + FAN_OUT))),
        (lambda: init.kaiming_normal(SHAPE, nonlinearity="relu", seed=0), math.sqrt(2 / FAN_IN)),
        (
            lambda: init.kaiming_normal(SHAPE, a=0.2, mode="fan_out", seed=0),
            math.sqrt(2 / (1 + 0.04)) / math.sqrt(FAN_OUT),
        ),
        (lambda: init.lecun_normal(SHAPE, seed=0), math.sqrt(1 / FAN_IN)),
    ],
)
def test_normal_initialisers_have_their_std(make, std):
    w = make()
    assert w.dtype == np.float32
    assert abs(w.mean()) < 0.02 * std
    assert abs(w.std() / std - 1) < 0.01


def test_fans_of_conv_shaped_weights():
    assert init.calculate_fans((16, 3, 5, 5)) == (75, 400)
    assert init.calculate_fans((7,)) == (7, 7)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 2, 2, 2)])
def test_orthogonal_is_orthogonal(shape):
    w = init.orthogonal(shape, gain=1.5, seed=0, dtype=np.float64).reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, 1.5**2 * np.eye(small), atol=1e-12)


def test_constants_and_in_place_versions():
    assert np.all(init.constant((2, 2), 0.5) == 0.5) and np.all(init.zeros(3) == 0)
    assert np.all(init.ones(3) == 1)
    layer = nn.Linear(300, 400)
    weight = layer.weight.data
    init.xavier_uniform_(layer.weight, seed=0)
    assert layer.weight.data is weight
    np.testing.assert_array_equal(weight, init.xavier_uniform((400, 300), seed=0))
    init.constant_(layer.bias, 0.1)
    assert np.allclose(layer.bias.data, 0.1)


def test_default_dtype_and_seeds():
    nn.set_default_dtype(np.float64)
    assert init.normal((2, 2)).dtype == np.float64
    nn.set_default_dtype(np.float32)
    assert np.array_equal(init.normal((3,), seed=4), init.normal((3,), seed=4))
    g = np.random.default_rng(4)
    assert np.array_equal(init.normal((3,), seed=g), init.normal((3,), seed=4))


def test_linear_default_initialisation_is_pytorchs():
    w = nn.Linear(300, 400).weight.data
    bound = 1 / math.sqrt(300)
    assert w.min() >= -bound and w.max() <= bound and w.max() > 0.99 * bound


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_normal((3, 3), mode="fan")
    with pytest.raises(TypeError, match="floating"):
        nn.set_default_dtype(np.int32)
    with pytest.raises(TypeError, match="seed"):
        init.normal((2,), seed="abc")

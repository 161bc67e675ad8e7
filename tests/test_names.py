"""The name registry: Keras strings, Keras defaults behind them, helpful errors, your layers."""

import math

import numpy as np
import pytest

import numpynn as nn
from numpynn import names

KERAS_NAMES = {
    "activation": {
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "softmax": nn.Softmax,
        "leaky_relu": nn.LeakyReLU,
        "elu": nn.ELU,
        "gelu": nn.GELU,
        "swish": nn.SiLU,
        "silu": nn.SiLU,
        "softplus": nn.Softplus,
        "log_softmax": nn.LogSoftmax,
        "linear": nn.Identity,
    },
    "loss": {
        "mse": nn.MSELoss,
        "mean_squared_error": nn.MSELoss,
        "mae": nn.L1Loss,
        "mean_absolute_error": nn.L1Loss,
        "huber": nn.HuberLoss,
        "categorical_crossentropy": nn.CategoricalCrossentropy,
        "sparse_categorical_crossentropy": nn.CategoricalCrossentropy,
        "binary_crossentropy": nn.BCELoss,
    },
}


@pytest.mark.parametrize(
    ("kind", "name"), [(k, n) for k, table in KERAS_NAMES.items() for n in table]
)
def test_keras_names_resolve(kind, name):
    assert type(names.get(kind, name)) is KERAS_NAMES[kind][name]


@pytest.mark.parametrize(
    ("name", "cls", "expected"),
    [
        ("sgd", nn.optim.SGD, {"lr": 0.01, "momentum": 0.0}),
        ("adam", nn.optim.Adam, {"lr": 1e-3, "eps": 1e-7}),
        ("adamw", nn.optim.AdamW, {"lr": 1e-3, "eps": 1e-7, "weight_decay": 0.004}),
        ("rmsprop", nn.optim.RMSprop, {"lr": 1e-3, "alpha": 0.9, "eps": 1e-7}),
        ("adagrad", nn.optim.Adagrad, {"lr": 1e-3, "initial_accumulator_value": 0.1}),
    ],
)
def test_optimizer_names_carry_keras_defaults(name, cls, expected):
    params = nn.Linear(2, 2).parameters()
    optimizer = names.get("optimizer", name, params)
    assert type(optimizer) is cls
    group = optimizer.param_groups[0]
    assert {k: group[k] for k in expected} == expected
    assert names.get("optimizer", name, params, lr=0.5).param_groups[0]["lr"] == 0.5


def test_the_classes_keep_pytorchs_defaults():
    params = nn.Linear(2, 2).parameters()
    assert nn.optim.Adam(params).param_groups[0]["eps"] == 1e-8
    group = nn.optim.RMSprop(params).param_groups[0]
    assert (group["lr"], group["alpha"]) == (0.01, 0.99)


def test_leaky_relu_by_name_has_keras_slope_and_by_class_pytorchs():
    assert names.get("activation", "leaky_relu").negative_slope == 0.2
    assert nn.LeakyReLU().negative_slope == 0.01


@pytest.mark.parametrize(
    ("name", "bound"),
    [
        ("glorot_uniform", math.sqrt(6 / (30 + 20))),
        ("he_uniform", math.sqrt(6 / 30)),
        ("lecun_uniform", math.sqrt(3 / 30)),
        ("random_uniform", 0.05),
    ],
)
def test_uniform_initializers_by_name_fill_their_bounds(name, bound):
    w = names.get("initializer", name, (20, 30), seed=0)
    assert w.dtype == np.float32 and np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # 600 draws reach close to the bound


@pytest.mark.parametrize(
    ("name", "std"),
    [
        ("glorot_normal", math.sqrt(2 / 250)),
        ("he_normal", math.sqrt(2 / 100)),
        ("random_normal", 0.05),
    ],
)
def test_normal_initializers_by_name_have_their_std(name, std):
    w = names.get("initializer", name, (150, 100), seed=0)
    assert abs(w.std() / std - 1) < 0.03 and abs(w.mean()) < 0.01


def test_dense_uses_its_initializers():
    layer = nn.Dense(20, input_dim=30, seed=0)
    assert np.abs(layer.weight.data).max() <= math.sqrt(6 / 50)
    assert np.all(layer.bias.data == 0)
    layer = nn.Dense(4, input_dim=3, kernel_initializer="ones", bias_initializer="ones")
    assert np.all(layer.weight.data == 1) and np.all(layer.bias.data == 1)


def test_unknown_names_list_the_valid_ones_and_the_closest():
    with pytest.raises(ValueError, match="unknown activation 'rleu'; did you mean 'relu'") as error:
        names.get("activation", "rleu")
    assert "Valid names: elu, gelu, leaky_relu, linear" in str(error.value)
    with pytest.raises(ValueError, match="unknown initializer 'glorot'; did you mean"):
        nn.Dense(3, kernel_initializer="glorot")
    with pytest.raises(ValueError, match="unknown metric 'acuracy'; did you mean 'accuracy'"):
        names.lookup("metric", "acuracy")
    with pytest.raises(TypeError, match="expected a name such as 'relu' or a Module"):
        nn.Dense(3, activation=np.tanh)


def test_objects_pass_through_unchanged():
    relu = nn.ReLU()
    assert names.get("activation", relu) is relu and names.get("loss", None) is None


class Twice(nn.Module):
    def forward(self, x):
        return 2 * x

    def backward(self, grad):
        return 2 * grad


def test_register_refuses_a_second_object_under_a_taken_name():
    with pytest.raises(ValueError, match="the layer name 'Dense' is taken by numpynn"):
        names.register("layer", "Dense")(Twice)
    names.register("activation", "twice")(Twice)
    names.register("activation", "twice")(Twice)  # the same object again is fine
    assert isinstance(names.get("activation", "twice"), Twice)
    assert isinstance(nn.Dense(2, activation="twice").activation, Twice)


def test_register_layer_under_another_name_round_trips():
    @nn.register_layer(name="tests.Halve")
    class Halve(nn.Module):
        def forward(self, x):
            return x / 2

        def backward(self, grad):
            return grad / 2

    spec = names.serialize(Halve())
    assert spec == {"class": "tests.Halve", "config": {}}
    assert type(names.deserialize("layer", spec)) is Halve


def test_deserialize_only_builds_registered_classes():
    with pytest.raises(ValueError, match="unknown layer 'os.system'"):
        names.deserialize("layer", {"class": "os.system", "config": {}})
    with pytest.raises(ValueError, match="expected a layer entry"):
        names.deserialize("layer", ["Dense"])

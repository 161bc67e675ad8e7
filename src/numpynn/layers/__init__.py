"""Layers, one family per file."""

from numpynn.layers.activation import (
    ELU,
    GELU,
    Activation,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from numpynn.layers.dropout import Dropout
from numpynn.layers.linear import Dense, Identity, Linear
from numpynn.layers.merge import Add, Average, Concatenate, Multiply, Subtract
from numpynn.layers.normalization import Normalization
from numpynn.layers.shape import Flatten, Reshape

__all__ = [
    "ELU",
    "GELU",
    "Activation",
    "Add",
    "Average",
    "Concatenate",
    "Dense",
    "Dropout",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "Multiply",
    "Normalization",
    "ReLU",
    "Reshape",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Subtract",
    "Tanh",
]

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
from numpynn.layers.attention import (
    MultiheadAttention,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from numpynn.layers.conv import Conv1d, Conv2D, Conv2d
from numpynn.layers.dropout import Dropout, Dropout2d
from numpynn.layers.embedding import Embedding
from numpynn.layers.keras_recurrent import KerasGRU, KerasLSTM, SimpleRNN
from numpynn.layers.linear import Dense, Identity, Linear
from numpynn.layers.merge import Add, Average, Concatenate, Multiply, Subtract
from numpynn.layers.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNormalization,
    LayerNorm,
    Normalization,
)
from numpynn.layers.pooling import (
    AdaptiveAvgPool2d,
    AveragePooling2D,
    AvgPool2d,
    GlobalAveragePooling2D,
    MaxPool1d,
    MaxPool2d,
    MaxPooling2D,
)
from numpynn.layers.recurrent import GRU, LSTM, RNN, RNNBase
from numpynn.layers.shape import Flatten, Reshape

__all__ = [
    "Activation",
    "AdaptiveAvgPool2d",
    "Add",
    "Average",
    "AveragePooling2D",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNormalization",
    "Concatenate",
    "Conv1d",
    "Conv2D",
    "Conv2d",
    "Dense",
    "Dropout",
    "Dropout2d",
    "ELU",
    "Flatten",
    "GELU",
    "GlobalAveragePooling2D",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPooling2D",
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
    "Embedding",
    "GRU",
    "LSTM",
    "RNN",
    "RNNBase",
    "KerasGRU",
    "KerasLSTM",
    "SimpleRNN",
    "MultiheadAttention",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]

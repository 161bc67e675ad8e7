"""numpynn: a readable, fast deep-learning library written in NumPy.

>>> import numpy as np, numpynn as nn
>>> nn.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
>>> loss_fn = nn.CrossEntropyLoss()
>>> opt = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> x, y = np.ones((8, 4), dtype=np.float32), np.zeros(8, dtype=np.int64)
>>> for _ in range(20):
...     loss = loss_fn(model(x), y)
...     opt.zero_grad(); _ = model.backward(loss_fn.backward()); opt.step()
>>> loss < 0.01
True
"""

import importlib

from numpynn import (
    callbacks,
    data,
    functional,
    init,
    keras,
    metrics,
    names,
    objective,
    optim,
)
from numpynn._config import get_default_dtype, get_rng, manual_seed, set_default_dtype
from numpynn._threads import set_num_threads
from numpynn.gradcheck import GradcheckError, gradcheck
from numpynn.io import ModelFileError, load_model, load_weights, save_model, save_weights
from numpynn.layers import (
    ELU,
    GELU,
    Activation,
    AdaptiveAvgPool2d,
    Add,
    Average,
    AveragePooling2D,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BatchNormalization,
    Concatenate,
    Conv1d,
    Conv2D,
    Conv2d,
    Dense,
    Dropout,
    Dropout2d,
    Flatten,
    GlobalAveragePooling2D,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    MaxPooling2D,
    Multiply,
    Normalization,
    ReLU,
    Reshape,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Subtract,
    Tanh,
)
from numpynn.layers.attention import (
    MultiheadAttention,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from numpynn.layers.embedding import Embedding
from numpynn.layers.keras_recurrent import SimpleRNN
from numpynn.layers.recurrent import GRU, LSTM, RNN
from numpynn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CategoricalCrossentropy,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
    NLLLoss,
)
from numpynn.model import Input, Model
from numpynn.module import Module, Parameter
from numpynn.names import register_layer
from numpynn.sequential import Sequential
from numpynn.symbolic import SymbolicTensor
from numpynn.training import evaluate, fit, predict, train_on_batch

__version__ = "0.1.0"

# The edges with the outside world load on first use, so that a training script imports
# none of them (nor onnx, scikit-learn, mpi4py, safetensors or matplotlib behind them):
# ``nn.onnx``, ``nn.from_torch`` and the rest work as attributes all the same.
_LAZY_MODULES = ("cli", "distributed", "onnx", "plot", "report", "sklearn", "torch_bridge")
_LAZY_NAMES = {"from_torch": "torch_bridge", "load_torch_state_dict": "torch_bridge"}
_LAZY_NAMES["lr_find"] = "lr_finder"  # the learning-rate range test


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"numpynn.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f"numpynn.{_LAZY_NAMES[name]}"), name)
    raise AttributeError(f"module 'numpynn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))


__all__ = [
    "Activation",
    "AdaptiveAvgPool2d",
    "Add",
    "Average",
    "AveragePooling2D",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNormalization",
    "CategoricalCrossentropy",
    "Concatenate",
    "Conv1d",
    "Conv2D",
    "Conv2d",
    "CrossEntropyLoss",
    "Dense",
    "Dropout",
    "Dropout2d",
    "ELU",
    "Flatten",
    "GELU",
    "GlobalAveragePooling2D",
    "GradcheckError",
    "HuberLoss",
    "Identity",
    "Input",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "Loss",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPooling2D",
    "Model",
    "ModelFileError",
    "Module",
    "Multiply",
    "NLLLoss",
    "Normalization",
    "Parameter",
    "ReLU",
    "Reshape",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Subtract",
    "SymbolicTensor",
    "Tanh",
    "callbacks",
    "data",
    "evaluate",
    "fit",
    "functional",
    "get_default_dtype",
    "get_rng",
    "gradcheck",
    "init",
    "load_model",
    "load_weights",
    "lr_find",
    "manual_seed",
    "metrics",
    "names",
    "objective",
    "optim",
    "plot",
    "predict",
    "register_layer",
    "save_model",
    "save_weights",
    "set_default_dtype",
    "train_on_batch",
    "from_torch",
    "load_torch_state_dict",
    "onnx",
    "set_num_threads",
    "Embedding",
    "GRU",
    "LSTM",
    "RNN",
    "SimpleRNN",
    "keras",
    "MultiheadAttention",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]

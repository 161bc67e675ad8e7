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

from numpynn import functional, init, optim
from numpynn._config import get_default_dtype, get_rng, manual_seed, set_default_dtype
from numpynn.gradcheck import GradcheckError, gradcheck
from numpynn.layers import (
    ELU,
    GELU,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Reshape,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from numpynn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
    NLLLoss,
)
from numpynn.model import Sequential
from numpynn.module import Module, Parameter

__version__ = "0.1.0"

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Flatten",
    "GELU",
    "GradcheckError",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "Loss",
    "MSELoss",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Reshape",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "functional",
    "get_default_dtype",
    "get_rng",
    "gradcheck",
    "init",
    "manual_seed",
    "optim",
    "set_default_dtype",
]

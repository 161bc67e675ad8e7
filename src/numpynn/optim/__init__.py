"""Optimizers, learning-rate schedules and gradient clipping.

Examples:
    >>> import numpy as np, numpynn as nn
    >>> layer = nn.Linear(3, 1)
    >>> opt = nn.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    >>> layer.weight.grad[...] = 1.0
    >>> before = layer.weight.data.copy(); opt.step()
    >>> np.allclose(layer.weight.data, before - 0.1)
    True
"""

from numpynn.optim import lr_scheduler
from numpynn.optim.adam import Adam, AdamW
from numpynn.optim.clip import clip_grad_norm_, clip_grad_value_
from numpynn.optim.optimizer import Optimizer
from numpynn.optim.rmsprop import Adagrad, RMSprop
from numpynn.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "clip_grad_norm_",
    "clip_grad_value_",
    "lr_scheduler",
]

"""Keras's spellings in one namespace: ``nn.keras.LSTM`` is Keras's LSTM (``units``,
``return_sequences``), where ``nn.LSTM`` is PyTorch's.

Every name here is also reachable elsewhere (``nn.Dense`` is ``nn.keras.Dense``); the
recurrent layers whose Keras and PyTorch names collide are registered for model files under
their class names, ``KerasLSTM`` and ``KerasGRU``.

>>> import numpy as np, numpynn as nn
>>> model = nn.keras.Sequential([nn.keras.Embedding(50, 8), nn.keras.LSTM(16),
...                              nn.keras.Dense(2, activation="softmax")])
>>> model(np.array([[1, 2, 3], [4, 5, 6]])).shape
(2, 2)
"""

from numpynn.layers import (
    Activation,
    Add,
    Average,
    AveragePooling2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAveragePooling2D,
    MaxPooling2D,
    Multiply,
    Normalization,
    Reshape,
    Subtract,
)
from numpynn.layers.keras_recurrent import KerasGRU as GRU
from numpynn.layers.keras_recurrent import KerasLSTM as LSTM
from numpynn.layers.keras_recurrent import SimpleRNN
from numpynn.model import Input, Model
from numpynn.sequential import Sequential

__all__ = [
    "GRU",
    "LSTM",
    "Activation",
    "Add",
    "Average",
    "AveragePooling2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GlobalAveragePooling2D",
    "Input",
    "MaxPooling2D",
    "Model",
    "Multiply",
    "Normalization",
    "Reshape",
    "Sequential",
    "SimpleRNN",
    "Subtract",
    "row_lstm_classifier",
]


def row_lstm_classifier(image_shape=(28, 28), classes: int = 10, units: int = 128, seed=None):
    """Images read row by row: Reshape to (rows, columns), an LSTM over the rows, a Dense
    head on its last state (logits). Takes (N, rows * columns) or (N, 1, rows, columns).

    >>> import numpy as np, numpynn as nn
    >>> model = nn.keras.row_lstm_classifier((8, 8), classes=3, units=16)
    >>> model(np.zeros((2, 64), dtype=np.float32)).shape
    (2, 3)
    """
    rows, columns = image_shape
    return Sequential(
        Reshape(rows, columns),
        LSTM(units, input_shape=(rows, columns), seed=seed),
        Dense(classes, input_dim=units, seed=seed),
    )

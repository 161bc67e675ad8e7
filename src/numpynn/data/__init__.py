"""Data: batching, splitting and scaling, the IDX format, and datasets (NumPy only).

>>> import numpynn as nn
>>> x, y, names = nn.data.load_digits()
>>> x_train, x_test, y_train, y_test = nn.data.train_test_split(x, y, test_size=0.25, seed=0)
>>> scaler = nn.data.StandardScaler().fit(x_train)
>>> scaler.transform(x_test).shape
(450, 64)
"""

from numpynn.data.datasets import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    DataNotFoundError,
    Dataset,
    load_digits,
    load_fashion_mnist,
    load_iris,
    load_mnist,
)
from numpynn.data.idx import IDXError, read_idx
from numpynn.data.loader import DataLoader
from numpynn.data.preprocessing import (
    LabelEncoder,
    MinMaxScaler,
    StandardScaler,
    one_hot,
    train_test_split,
)

__all__ = [
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
    "DataLoader",
    "DataNotFoundError",
    "Dataset",
    "IDXError",
    "LabelEncoder",
    "MinMaxScaler",
    "StandardScaler",
    "load_digits",
    "load_fashion_mnist",
    "load_iris",
    "load_mnist",
    "one_hot",
    "read_idx",
    "train_test_split",
]

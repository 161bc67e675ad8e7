"""One entry per public layer: the generic tests in test_layers.py run over all of them.

An entry says how to build the layer, what input it takes, the PyTorch module it must match
(built from the same state_dict, so the names and layouts are checked too), and inputs to
avoid (kinks, where finite differences are meaningless).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import numpynn as nn


def away_from_zero(rng, shape, margin=0.05):
    """Normal samples pushed out of (-margin, margin): a kink at 0 never sits in a
    finite-difference step."""
    x = rng.standard_normal(shape) * 2
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin * 2, x)


def normal(rng, shape):
    return rng.standard_normal(shape) * 2


class FrozenDropout(nn.Dropout):
    """Dropout that draws the same mask on every call: finite differences need a
    deterministic function."""

    def forward(self, x):
        self._rng = np.random.default_rng(7)
        return super().forward(x)


def torch_dense(t, n_in, n_out, activation=None):
    """PyTorch's twin of nn.Dense: a Linear (same parameter names) and an activation."""

    class TorchDense(t.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = t.nn.Parameter(t.empty(n_out, n_in))
            self.bias = t.nn.Parameter(t.empty(n_out))

        def forward(self, x):
            y = t.nn.functional.linear(x, self.weight, self.bias)
            return y if activation is None else activation(y)

    return TorchDense()


def residual_block():
    """x + W2 relu(W1 x + b1) + b2: a functional graph with fan-out and Add."""
    inputs = nn.Input(shape=(4,))
    h = nn.Dense(5, activation="relu")(inputs)
    return nn.Model(inputs, nn.Add()([inputs, nn.Dense(4)(h)]))


def torch_residual_block(t):
    class Twin(t.nn.Module):
        def __init__(self):
            super().__init__()
            self.dense_1, self.dense_2 = t.nn.Linear(4, 5), t.nn.Linear(5, 4)

        def forward(self, x):
            return x + self.dense_2(t.relu(self.dense_1(x)))

    return Twin()


def two_branches():
    """concat(tanh(W1 x), sigmoid(W2 x)) -> W3: two branches from one input."""
    inputs = nn.Input(shape=(4,))
    a = nn.Dense(3, activation="tanh")(inputs)
    b = nn.Dense(2, activation="sigmoid")(inputs)
    return nn.Model(inputs, nn.Dense(2)(nn.Concatenate()([a, b])))


def torch_two_branches(t):
    class Twin(t.nn.Module):
        def __init__(self):
            super().__init__()
            self.dense_1, self.dense_2 = t.nn.Linear(4, 3), t.nn.Linear(4, 2)
            self.dense_3 = t.nn.Linear(5, 2)

        def forward(self, x):
            branches = [t.tanh(self.dense_1(x)), t.sigmoid(self.dense_2(x))]
            return self.dense_3(t.cat(branches, dim=1))

    return Twin()


class FrozenDropout2d(nn.Dropout2d):
    """Dropout2d that draws the same channel mask on every call."""

    def forward(self, x):
        self._rng = np.random.default_rng(7)
        return super().forward(x)


def output_only(cls):
    """A recurrent layer (or MultiheadAttention) reduced to its first result, so that the
    generic tests, written for one array in and one out, cover it."""

    class OutputOnly(cls):
        def forward(self, x, *rest):
            return super().forward(x, *rest)[0]

        def backward(self, grad):
            return super().backward(grad)[0]

    OutputOnly.__name__ = OutputOnly.__qualname__ = cls.__name__
    return OutputOnly


def torch_output_only(cls, *args, last=False, **kwargs):
    """PyTorch's twin of ``output_only``: the same parameter names, the first result (its
    last step with ``last``, as Keras's recurrent layers return by default)."""

    class OutputOnly(cls):
        def forward(self, x):
            out = super().forward(x)[0]
            return out[:, -1] if last else out

    return OutputOnly(*args, **kwargs)


class SelfAttention(nn.MultiheadAttention):
    """MultiheadAttention as one array in and out: self-attention's output, and the sum of
    the three gradients for its one input."""

    multi_input = False
    output_shape = nn.Module.output_shape

    def check_input(self, x):
        return super().check_input((x, x, x))[0]

    def forward(self, x):
        return super().forward(x, x, x)[0]

    def backward(self, grad):
        d_query, d_key, d_value = super().backward(grad)
        return d_query + d_key + d_value


def torch_self_attention(t, *args, **kwargs):
    class SelfAttention(t.nn.MultiheadAttention):
        def forward(self, x):
            return super().forward(x, x, x)[0]

    return SelfAttention(*args, **kwargs)


@dataclass
class LayerCase:
    id: str
    make: Callable[[], nn.Module]
    sample_shape: tuple
    torch: Callable | None = None  # (torch) -> torch.nn.Module
    inputs: Callable = normal
    bad_shape: tuple | None = None
    config_keys: set = field(default_factory=set)
    index_input: bool = False  # integer indices in (Embedding): no input gradient


LAYERS = [
    LayerCase("Linear", lambda: nn.Linear(5, 3), (5,), lambda t: t.nn.Linear(5, 3), bad_shape=(4,)),
    LayerCase(
        "Linear-nobias",
        lambda: nn.Linear(4, 2, bias=False),
        (4,),
        lambda t: t.nn.Linear(4, 2, bias=False),
        bad_shape=(2, 3),
    ),
    LayerCase("Linear-3d", lambda: nn.Linear(3, 4), (2, 3), lambda t: t.nn.Linear(3, 4)),
    LayerCase("Linear-lazy", lambda: nn.Linear(None, 4), (6,), None),
    LayerCase("Identity", lambda: nn.Identity(), (4,), lambda t: t.nn.Identity()),
    LayerCase("Flatten", lambda: nn.Flatten(), (2, 3, 2), lambda t: t.nn.Flatten(), bad_shape=()),
    LayerCase(
        "Flatten-2", lambda: nn.Flatten(start_dim=2), (2, 3, 2), lambda t: t.nn.Flatten(start_dim=2)
    ),
    LayerCase(
        "Reshape",
        lambda: nn.Reshape(3, 4),
        (12,),
        lambda t: t.nn.Unflatten(1, (3, 4)),
        bad_shape=(11,),
    ),
    LayerCase("Reshape-infer", lambda: nn.Reshape(-1, 2), (2, 3), None, bad_shape=(5,)),
    LayerCase("Dropout-eval-p0", lambda: nn.Dropout(0.0), (6,), lambda t: t.nn.Dropout(0.0)),
    LayerCase("Dropout-frozen", lambda: FrozenDropout(0.3), (6,), None),
    LayerCase("ReLU", nn.ReLU, (6,), lambda t: t.nn.ReLU(), away_from_zero),
    LayerCase(
        "LeakyReLU", lambda: nn.LeakyReLU(0.2), (6,), lambda t: t.nn.LeakyReLU(0.2), away_from_zero
    ),
    LayerCase("ELU", lambda: nn.ELU(0.7), (6,), lambda t: t.nn.ELU(0.7), away_from_zero),
    LayerCase("GELU", nn.GELU, (6,), lambda t: t.nn.GELU()),
    LayerCase("GELU-tanh", lambda: nn.GELU("tanh"), (6,), lambda t: t.nn.GELU(approximate="tanh")),
    LayerCase("SiLU", nn.SiLU, (6,), lambda t: t.nn.SiLU()),
    LayerCase("Sigmoid", nn.Sigmoid, (6,), lambda t: t.nn.Sigmoid()),
    LayerCase("Tanh", nn.Tanh, (6,), lambda t: t.nn.Tanh()),
    LayerCase(
        "Softplus",
        lambda: nn.Softplus(beta=2.0, threshold=5.0),
        (6,),
        lambda t: t.nn.Softplus(beta=2.0, threshold=5.0),
        lambda rng, shape: np.clip(normal(rng, shape), -2.4, 2.4),
    ),  # away from the 2.5 switch
    LayerCase("Softmax", nn.Softmax, (5,), lambda t: t.nn.Softmax(dim=-1)),
    LayerCase("Softmax-axis1", lambda: nn.Softmax(axis=1), (4, 3), lambda t: t.nn.Softmax(dim=1)),
    LayerCase("LogSoftmax", nn.LogSoftmax, (5,), lambda t: t.nn.LogSoftmax(dim=-1)),
    LayerCase(
        "Dense",
        lambda: nn.Dense(3, input_dim=5),
        (5,),
        lambda t: torch_dense(t, 5, 3),
        bad_shape=(4,),
    ),
    LayerCase(
        "Dense-relu-lazy",
        lambda: nn.Dense(3, activation="relu"),
        (5,),
        lambda t: torch_dense(t, 5, 3, t.relu),
        away_from_zero,
    ),
    LayerCase(
        "Dense-softmax",
        lambda: nn.Dense(4, activation="softmax", kernel_initializer="he_normal"),
        (3,),
        lambda t: torch_dense(t, 3, 4, lambda y: t.softmax(y, dim=-1)),
    ),
    LayerCase(
        "Dense-nobias-tanh",
        lambda: nn.Dense(2, activation="tanh", use_bias=False, input_shape=(3,)),
        (3,),
        None,
        bad_shape=(2,),
    ),
    LayerCase("Activation-tanh", lambda: nn.Activation("tanh"), (6,), lambda t: t.nn.Tanh()),
    LayerCase(
        "Activation-module",
        lambda: nn.Activation(nn.LeakyReLU(0.3)),
        (6,),
        lambda t: t.nn.LeakyReLU(0.3),
        away_from_zero,
    ),
    LayerCase(
        "Normalization",
        lambda: nn.Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 0.0]),
        (3,),
        None,
        bad_shape=(4,),
    ),
    LayerCase(
        "Normalization-channels",
        lambda: nn.Normalization(axis=1, mean=[0.5, 1.5], variance=[2.0, 3.0]),
        (2, 3, 3),
        None,
        bad_shape=(3, 2, 2),
    ),
    LayerCase(
        "Conv2d",
        lambda: nn.Conv2d(2, 3, 3),
        (2, 5, 4),
        lambda t: t.nn.Conv2d(2, 3, 3),
        bad_shape=(3, 5, 4),
    ),
    LayerCase(
        "Conv2d-stride2-pad1-rect",
        lambda: nn.Conv2d(2, 4, (3, 2), stride=2, padding=1),
        (2, 5, 6),
        lambda t: t.nn.Conv2d(2, 4, (3, 2), stride=2, padding=1),
    ),
    LayerCase(
        "Conv2d-same-dilation2-groups2",
        lambda: nn.Conv2d(4, 2, 3, padding="same", dilation=2, groups=2, bias=False),
        (4, 5, 5),
        lambda t: t.nn.Conv2d(4, 2, 3, padding="same", dilation=2, groups=2, bias=False),
    ),
    LayerCase("Conv2d-lazy-1x1", lambda: nn.Conv2d(None, 3, 1), (2, 3, 3), None),
    LayerCase(
        "Conv1d",
        lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1),
        (2, 7),
        lambda t: t.nn.Conv1d(2, 3, 3, stride=2, padding=1),
        bad_shape=(3, 7),
    ),
    LayerCase(
        "Conv2D-keras-relu",
        lambda: nn.Conv2D(3, 3, padding="same", activation="relu"),
        (2, 4, 4),
        None,
        away_from_zero,
    ),
    LayerCase(
        "MaxPool2d",
        lambda: nn.MaxPool2d(2),
        (2, 4, 6),
        lambda t: t.nn.MaxPool2d(2),
        bad_shape=(4, 6),
    ),
    LayerCase(
        "MaxPool2d-3-stride2-pad1",
        lambda: nn.MaxPool2d(3, stride=2, padding=1),
        (2, 5, 5),
        lambda t: t.nn.MaxPool2d(3, stride=2, padding=1),
    ),
    LayerCase(
        "AvgPool2d-3-stride2-pad1",
        lambda: nn.AvgPool2d(3, stride=2, padding=1),
        (2, 5, 4),
        lambda t: t.nn.AvgPool2d(3, stride=2, padding=1),
    ),
    LayerCase("MaxPool1d", lambda: nn.MaxPool1d(2), (3, 6), lambda t: t.nn.MaxPool1d(2)),
    LayerCase(
        "MaxPooling2D-same",
        lambda: nn.MaxPooling2D(2, padding="same"),
        (2, 5, 5),
        None,  # Keras's "same" pads after; PyTorch's MaxPool2d pads both sides
    ),
    LayerCase(
        "AdaptiveAvgPool2d",
        lambda: nn.AdaptiveAvgPool2d(1),
        (3, 4, 5),
        lambda t: t.nn.AdaptiveAvgPool2d(1),
        bad_shape=(3, 4),
    ),
    LayerCase(
        "GlobalAveragePooling2D",
        nn.GlobalAveragePooling2D,
        (3, 4, 5),
        lambda t: t.nn.Sequential(t.nn.AdaptiveAvgPool2d(1), t.nn.Flatten()),
    ),
    LayerCase(
        "BatchNorm2d",
        lambda: nn.BatchNorm2d(3),
        (3, 4, 5),
        lambda t: t.nn.BatchNorm2d(3),
        bad_shape=(2, 4, 5),
    ),
    LayerCase(
        "BatchNorm1d-sequences",
        lambda: nn.BatchNorm1d(2, momentum=0.3, eps=1e-3),
        (2, 5),
        lambda t: t.nn.BatchNorm1d(2, momentum=0.3, eps=1e-3),
    ),
    LayerCase(
        "BatchNormalization-keras",
        nn.BatchNormalization,
        (3, 4, 4),
        lambda t: t.nn.BatchNorm2d(3, eps=1e-3, momentum=0.01),
    ),
    LayerCase(
        "LayerNorm",
        lambda: nn.LayerNorm(6),
        (2, 6),
        lambda t: t.nn.LayerNorm(6),
        bad_shape=(2, 5),
    ),
    LayerCase(
        "LayerNorm-2d-noaffine",
        lambda: nn.LayerNorm((3, 4), elementwise_affine=False),
        (3, 4),
        lambda t: t.nn.LayerNorm((3, 4), elementwise_affine=False),
    ),
    LayerCase("Dropout2d-frozen", lambda: FrozenDropout2d(0.4), (4, 3, 3), None),
    LayerCase(
        "Model-residual",
        residual_block,
        (4,),
        torch_residual_block,
        away_from_zero,
        bad_shape=(3,),
    ),
    LayerCase("Model-branches", two_branches, (4,), torch_two_branches, bad_shape=(5,)),
    LayerCase(
        "Sequential",
        lambda: nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)),
        (4,),
        lambda t: t.nn.Sequential(t.nn.Linear(4, 6), t.nn.Tanh(), t.nn.Linear(6, 2)),
        bad_shape=(3,),
    ),
    LayerCase(
        "Embedding",
        lambda: nn.Embedding(7, 3),
        (5,),
        lambda t: t.nn.Embedding(7, 3),
        lambda rng, shape: rng.integers(0, 7, shape),  # 5 draws of 7: repeats in most rows
        index_input=True,
    ),
    LayerCase(
        "Embedding-padding-2d",
        lambda: nn.Embedding(6, 2, padding_idx=1),
        (3, 4),
        lambda t: t.nn.Embedding(6, 2, padding_idx=1),
        # the padding row is read but gets no gradient (PyTorch's rule, which finite
        # differences would contradict): test_embedding.py checks it against PyTorch
        lambda rng, shape: rng.choice([0, 2, 3, 4, 5], shape),
        index_input=True,
    ),
    LayerCase(
        "RNN-batch-first",
        lambda: output_only(nn.RNN)(3, 4, batch_first=True),
        (5, 3),
        lambda t: torch_output_only(t.nn.RNN, 3, 4, batch_first=True),
        bad_shape=(5, 2),
    ),
    LayerCase(
        "LSTM-2-layers-bidirectional",
        lambda: output_only(nn.LSTM)(3, 2, num_layers=2, bidirectional=True, batch_first=True),
        (4, 3),
        lambda t: torch_output_only(
            t.nn.LSTM, 3, 2, num_layers=2, bidirectional=True, batch_first=True
        ),
        bad_shape=(4, 2),
    ),
    LayerCase(
        "GRU-lazy",
        lambda: output_only(nn.GRU)(None, 3, batch_first=True),
        (5, 2),
        lambda t: torch_output_only(t.nn.GRU, 2, 3, batch_first=True),
    ),
    LayerCase(
        "SimpleRNN-relu-keras",
        lambda: nn.SimpleRNN(3, activation="relu", input_shape=(4, 2)),
        (4, 2),
        lambda t: torch_output_only(
            t.nn.RNN, 2, 3, nonlinearity="relu", batch_first=True, last=True
        ),
        lambda rng, shape: 0.5 * normal(rng, shape),
        bad_shape=(4, 3),
    ),
    LayerCase(
        "LSTM-keras-sequences",
        lambda: nn.keras.LSTM(3, return_sequences=True),
        (5, 2),
        lambda t: torch_output_only(t.nn.LSTM, 2, 3, batch_first=True),
    ),
    LayerCase(
        "GRU-keras-last",
        lambda: nn.keras.GRU(3, use_bias=False),
        (4, 3),
        lambda t: torch_output_only(t.nn.GRU, 3, 3, bias=False, batch_first=True, last=True),
    ),
    LayerCase(
        "MultiheadAttention-self",
        lambda: SelfAttention(6, 2, batch_first=True),
        (4, 6),
        lambda t: torch_self_attention(t, 6, 2, batch_first=True),
        bad_shape=(4, 5),
    ),
    LayerCase(
        "MultiheadAttention-nobias-seq-first",
        lambda: SelfAttention(4, 4, bias=False),
        (3, 4),
        lambda t: torch_self_attention(t, 4, 4, bias=False),
    ),
    LayerCase(
        "TransformerEncoderLayer",
        lambda: nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True),
        (3, 4),
        lambda t: t.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True),
        bad_shape=(3, 5),
    ),
    LayerCase(
        "TransformerEncoder-norm-first-gelu",
        lambda: nn.TransformerEncoder(
            nn.TransformerEncoderLayer(4, 2, 5, 0.0, "gelu", norm_first=True), 2, nn.LayerNorm(4)
        ),
        (3, 4),
        lambda t: t.nn.TransformerEncoder(
            t.nn.TransformerEncoderLayer(4, 2, 5, 0.0, "gelu", norm_first=True),
            2,
            t.nn.LayerNorm(4),
            enable_nested_tensor=False,
        ),
    ),
]

ACTIVATIONS = [
    c
    for c in LAYERS
    if c.id
    in {
        "ReLU",
        "LeakyReLU",
        "ELU",
        "GELU",
        "GELU-tanh",
        "SiLU",
        "Sigmoid",
        "Tanh",
        "Softplus",
        "Softmax",
        "LogSoftmax",
    }
]

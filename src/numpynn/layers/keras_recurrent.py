"""Keras's ``SimpleRNN``, ``LSTM`` and ``GRU``: thin subclasses over the recurrent engine of
``layers/recurrent.py`` (``RNN``, ``LSTM``, ``GRU``), with Keras's names, defaults and results.
``nn.keras.LSTM`` and ``nn.keras.GRU`` are ``KerasLSTM`` and ``KerasGRU``.
"""

from __future__ import annotations

import numpy as np

from numpynn import init
from numpynn._config import Seed
from numpynn.layers.recurrent import GRU, LSTM, RNN, RNNBase
from numpynn.module import Module


class KerasRecurrent(RNNBase):
    """What Keras's ``SimpleRNN``, ``LSTM`` and ``GRU`` add to the engine (listed before the
    cell's class): ``units``, batch-first (N, T, F) input, the input size from the first input,
    Keras's initialisers (Glorot-uniform input kernel, orthogonal recurrent kernel, zero
    biases; LSTM's forget-gate bias starts at 1, ``unit_forget_bias``), and the results
    Keras returns: the last output (N, units), the whole sequence with
    ``return_sequences=True``, and with ``return_state=True`` a list
    ``[output, h]`` (LSTM: ``[output, h, c]``), whose backward takes a list of gradients
    (None for a result that got none). In a functional ``Model`` such a layer gives a list
    of symbolic tensors, one per result.

    The parameters keep PyTorch's names and layouts (two biases, b_ih and b_hh; Keras has
    one, their sum).
    """

    def _keras_init(self, units, use_bias, return_sequences, return_state, input_shape, seed,
                    name):  # fmt: skip
        self.return_sequences, self.return_state = return_sequences, return_state
        input_size = None
        if input_shape is not None:
            input_size = tuple(input_shape)[-1]
            self.declared_input_shape = (None, *input_shape)  # a Sequential builds from it
        RNNBase.__init__(self, input_size, units, bias=use_bias, batch_first=True, seed=seed)
        self.name = name

    @property
    def units(self) -> int:
        return self.hidden_size

    def initial_parameter(self, name, shape, rng):
        if name == "weight_ih":
            return init.xavier_uniform(shape, seed=rng)
        if name == "weight_hh":
            return init.orthogonal(shape, seed=rng)
        bias = init.zeros(shape)
        if name == "bias_ih" and isinstance(self, LSTM):
            bias[self.hidden_size : 2 * self.hidden_size] = 1  # the forget gate
        return bias

    _call_symbolic = Module._call_symbolic  # one array in, one or several out: any graph

    def forward(self, x):
        output, state = RNNBase.forward(self, x)
        states = [h[0] for h in state] if self._cell.has_cell else [state[0]]
        result = output if self.return_sequences else states[0]  # the last output is h_n
        return [result, *states] if self.return_state else result

    def backward(self, grad):
        return RNNBase.backward(self, *self._engine_grads(grad))[0]

    def backward_params(self, grad):
        RNNBase.backward_params(self, *self._engine_grads(grad))

    def _engine_grads(self, grad):
        """The gradients of Keras's results as the engine's (grad_output, grad_state)."""
        grads = list(grad) if self.return_state else [grad]
        grad_states = [None if g is None else g[None] for g in grads[1:]] or [None]
        if self.return_sequences:
            grad_output = grads[0]
        else:  # the last output is h_n: its gradient joins the state's
            grad_output = np.zeros(self._output_shape_of(grads[0]), grads[0].dtype)
            grad_states[0] = grads[0][None] + (0 if grad_states[0] is None else grad_states[0])
        grad_state = tuple(grad_states) if self._cell.has_cell else grad_states[0]
        if self._cell.has_cell and len(grad_state) == 1:
            grad_state = (grad_state[0], None)
        return grad_output, grad_state

    def _output_shape_of(self, grad_last):
        steps = self.inputs[0].shape[0]
        return (grad_last.shape[0], steps, self.hidden_size)

    def output_shape(self, input_shape):
        n, steps = input_shape[0], input_shape[1]
        output = (n, steps, self.units) if self.return_sequences else (n, self.units)
        if not self.return_state:
            return output
        return [output] + [(n, self.units)] * (2 if self._cell.has_cell else 1)

    def get_config(self):
        return {
            "units": self.units,
            "use_bias": self.bias,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "input_shape": None if self.input_size is None else [None, self.input_size],
        }

    def extra_repr(self):
        flags = "".join(
            f", {k}=True" for k in ("return_sequences", "return_state") if getattr(self, k)
        )
        return f"{self.units}{flags}, in={self.input_size}"


class SimpleRNN(KerasRecurrent, RNN):
    """Keras's ``SimpleRNN``: h_t = activation(x_t W_ih^T + h_{t-1} W_hh^T + b), tanh or
    relu, over batch-first (N, T, F) input (``RNN`` underneath; see ``KerasRecurrent``).

    Args:
        units: features of the state h.
        activation: ``"tanh"`` or ``"relu"``.
        use_bias: learn the biases.
        return_sequences: return every step's output (N, T, units), not only the last.
        return_state: also return the final state: ``[output, h]``.
        input_shape: (T, F) of one sample, to build at once (None: from the first input).
        name: the layer's name in a model.
        seed: int or Generator for the initial weights.

    Shape:
        input (N, T, F); output (N, units), or (N, T, units) with ``return_sequences``;
        the state h (N, units).

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.SimpleRNN(4)(np.zeros((2, 5, 3), dtype=np.float32)).shape
        (2, 4)
    """

    def __init__(self, units: int, activation: str = "tanh", use_bias: bool = True,
                 return_sequences: bool = False, return_state: bool = False,
                 input_shape=None, name: str | None = None, seed: Seed = None):  # fmt: skip
        if activation not in ("tanh", "relu"):
            raise ValueError(f"SimpleRNN: activation must be 'tanh' or 'relu', got {activation!r}")
        self.nonlinearity = activation
        self._keras_init(units, use_bias, return_sequences, return_state, input_shape, seed, name)

    def get_config(self):
        return {**super().get_config(), "activation": self.nonlinearity}


class KerasLSTM(KerasRecurrent, LSTM):
    """Keras's ``LSTM`` (``nn.keras.LSTM``): ``LSTM``'s formula and parameter layout,
    Keras's arguments, initialisers and results (see ``KerasRecurrent``).

    Args:
        units, use_bias, return_sequences, input_shape, name, seed: as ``SimpleRNN``.
        return_state: also return the final states: ``[output, h, c]``.

    Shape:
        input (N, T, F); output (N, units), or (N, T, units) with ``return_sequences``;
        h and c (N, units).

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> out, h, c = nn.keras.LSTM(4, return_sequences=True, return_state=True)(
        ...     np.zeros((2, 5, 3), dtype=np.float32))
        >>> out.shape, h.shape, c.shape
        ((2, 5, 4), (2, 4), (2, 4))
        >>> inputs = nn.Input(shape=(5, 3))               # in a functional graph too
        >>> sequence, h, c = nn.keras.LSTM(4, return_sequences=True, return_state=True)(inputs)
        >>> nn.Model(inputs, [sequence, h]).output_shape((None, 5, 3))
        [(None, 5, 4), (None, 4)]
    """

    def __init__(self, units: int, use_bias: bool = True, return_sequences: bool = False,
                 return_state: bool = False, input_shape=None, name: str | None = None,
                 seed: Seed = None):  # fmt: skip
        self._keras_init(units, use_bias, return_sequences, return_state, input_shape, seed, name)


class KerasGRU(KerasRecurrent, GRU):
    """Keras's ``GRU`` (``nn.keras.GRU``) with ``reset_after=True`` (Keras's default and
    PyTorch's formula, see ``GRU``), PyTorch's parameter layout, Keras's arguments and
    results (see ``KerasRecurrent``).

    Args:
        units, use_bias, return_sequences, input_shape, name, seed: as ``SimpleRNN``.
        return_state: also return the final state: ``[output, h]``.

    Shape:
        input (N, T, F); output (N, units), or (N, T, units) with ``return_sequences``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.keras.GRU(4, return_sequences=True)(np.zeros((2, 5, 3), dtype=np.float32)).shape
        (2, 5, 4)
    """

    def __init__(self, units: int, use_bias: bool = True, return_sequences: bool = False,
                 return_state: bool = False, input_shape=None, name: str | None = None,
                 seed: Seed = None):  # fmt: skip
        self._keras_init(units, use_bias, return_sequences, return_state, input_shape, seed, name)

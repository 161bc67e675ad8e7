"""Symbolic tensors: how a functional graph is recorded before any data flows.

``nn.Input(shape)`` makes a ``SymbolicTensor``; calling a layer on symbolic tensors runs no
computation: ``record_call`` builds the layer from their shapes, checks them with the layer's
own input check, and returns a new symbolic tensor that remembers the call. ``nn.Model``
(``model.py``) then sorts the recorded calls and runs them on real arrays.

>>> import numpynn as nn
>>> x = nn.Input(shape=(4,))
>>> h = nn.Dense(8)(x)
>>> h.shape, h.layer.describe(), h.inputs[0] is x
((None, 8), 'Dense(4 -> 8)', True)
"""

from __future__ import annotations

import numpy as np

from numpynn._config import get_default_dtype


class SymbolicTensor:
    """A placeholder in a functional graph: the shape an array will have (``None`` for the
    batch size and any size not yet known) and the layer call that will compute it.

    ``nn.Input(shape)`` makes one; calling a layer on symbolic tensors builds the layer from
    their shapes, checks them, and returns a new symbolic tensor that records the call (its
    ``layer``, ``inputs`` and keyword ``options``). ``nn.Model(inputs, outputs)`` then runs
    the recorded calls on real arrays.

    A layer with several outputs (its ``output_shape`` is a list, as a Keras LSTM's with
    ``return_state=True``) gives a list of tensors: each has the call as its ``node`` and its
    position among the outputs as ``index``; the call itself keeps them in ``outputs``.
    """

    __slots__ = ("shape", "layer", "inputs", "name", "options", "node", "index", "outputs")

    def __init__(self, shape, layer=None, inputs=(), name: str | None = None, options=None,
                 node=None, index=None):  # fmt: skip
        if isinstance(shape, list):  # a call with several outputs
            self.shape = [_dims(s) for s in shape]
        else:
            self.shape = _dims(shape)
        self.layer, self.inputs, self.name = layer, tuple(inputs), name
        self.options = options or {}
        self.node, self.index, self.outputs = node, index, ()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        source = f"Input {self.name!r}" if self.layer is None else self.layer.describe()
        which = "" if self.index is None else f" output {self.index}"
        return f"<SymbolicTensor shape={self.shape} from {source}{which}>"


def _dims(shape) -> tuple:
    return tuple(None if d is None else int(d) for d in shape)


def _placeholder(shape):
    """A zero-strided array of ``shape`` (batch 2: BatchNorm in training mode refuses one
    value per channel), to run a layer's input checks on a symbolic shape without allocating
    it; None when a size other than the batch is unknown."""
    if None in shape[1:]:
        return None
    return np.broadcast_to(np.zeros((), get_default_dtype()), (2, *shape[1:]))


_CONSTANTS = (bool, int, float, str, type(None))


def record_call(layer, inputs, options=None) -> SymbolicTensor | list[SymbolicTensor]:
    """The symbolic output of ``layer`` called on ``inputs`` (all symbolic tensors) with the
    keyword ``options`` (constants, recorded to be passed again on every run); a list of
    symbolic outputs for a layer with several."""
    if not all(isinstance(x, SymbolicTensor) for x in inputs):
        raise TypeError(
            f"{layer.describe()}: got symbolic tensors (from nn.Input) and arrays in one "
            "call; a functional graph takes its arrays through its Inputs"
        )
    options = options or {}
    for key, value in options.items():
        if not isinstance(value, _CONSTANTS):
            raise TypeError(
                f"{layer.describe()}: in a functional graph, {key}= must be a constant (bool, "
                f"number, string or None), got {type(value).__name__}; arrays that change with "
                "each batch (masks, lengths) need an explicit loop over the layers"
            )
    shapes = tuple(t.shape for t in inputs)
    shape = shapes if layer.multi_input else shapes[0]
    if not layer.built:
        layer.build(shape)
    placeholders = [_placeholder(s) for s in shapes]
    if all(p is not None for p in placeholders):
        layer.check_input(tuple(placeholders) if layer.multi_input else placeholders[0])
    out_shape = layer.output_shape(shape)
    call = SymbolicTensor(out_shape, layer, inputs, options=options)
    if not isinstance(out_shape, list):
        return call
    call.outputs = tuple(
        SymbolicTensor(s, layer, inputs, node=call, index=i) for i, s in enumerate(out_shape)
    )
    return list(call.outputs)

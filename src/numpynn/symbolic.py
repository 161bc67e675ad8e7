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
    their shapes, checks them, and returns a new symbolic tensor that records the call.
    ``nn.Model(inputs, outputs)`` then runs the recorded calls on real arrays.
    """

    __slots__ = ("shape", "layer", "inputs", "name")

    def __init__(self, shape, layer=None, inputs=(), name: str | None = None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.layer, self.inputs, self.name = layer, tuple(inputs), name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        source = f"Input {self.name!r}" if self.layer is None else self.layer.describe()
        return f"<SymbolicTensor shape={self.shape} from {source}>"


def _placeholder(shape):
    """A zero-strided array of ``shape`` (batch 2: BatchNorm in training mode refuses one
    value per channel), to run a layer's input checks on a symbolic shape without allocating
    it; None when a size other than the batch is unknown."""
    if None in shape[1:]:
        return None
    return np.broadcast_to(np.zeros((), get_default_dtype()), (2, *shape[1:]))


def record_call(layer, inputs) -> SymbolicTensor:
    """The symbolic output of ``layer`` called on ``inputs`` (all symbolic tensors)."""
    if not all(isinstance(x, SymbolicTensor) for x in inputs):
        raise TypeError(
            f"{layer.describe()}: got symbolic tensors (from nn.Input) and arrays in one "
            "call; a functional graph takes its arrays through its Inputs"
        )
    shapes = tuple(t.shape for t in inputs)
    shape = shapes if layer.multi_input else shapes[0]
    if not layer.built:
        layer.build(shape)
    placeholders = [_placeholder(s) for s in shapes]
    if all(p is not None for p in placeholders):
        layer.check_input(tuple(placeholders) if layer.multi_input else placeholders[0])
    return SymbolicTensor(layer.output_shape(shape), layer, inputs)

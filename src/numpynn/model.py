"""Containers of layers: ``Sequential``."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from numpynn.module import Module


class Sequential(Module):
    """Layers applied one after another; backward runs them in reverse.

    Supports ``len``, iteration, indexing (``model[0]``), slicing (a new Sequential sharing
    the same layers) and ``append``. Parameter names are PyTorch's (``0.weight``).

    >>> import numpy as np, numpynn as nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> model(np.zeros((5, 4), dtype=np.float32)).shape
    (5, 3)
    >>> [name for name, _ in model.named_parameters()][:2]
    ['0.weight', '0.bias']
    """

    def __init__(self, *layers: Module):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        self._layers = []
        for layer in layers:
            self.append(layer)

    def append(self, layer: Module) -> Sequential:
        """Add a layer at the end. A layer instance may appear only once: its second call
        would overwrite the forward cache that the first call's backward needs. To share
        weights, give two layers the same Parameter (``b.weight = a.weight``)."""
        index = len(self._layers)
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential: item {index} is a {type(layer).__name__}, not a Module")
        for i, other in enumerate(self._layers):
            if other is layer:
                raise ValueError(
                    f"Sequential: item {index} ({layer.describe()}) is the same instance as item "
                    f"{i}; its forward cache would be overwritten. Create a new layer, or share "
                    "weights by assigning the same Parameter to two layers"
                )
        self._layers.append(layer)
        return self

    def _members(self):
        for i, layer in enumerate(self._layers):
            yield str(i), layer

    @property
    def built(self) -> bool:
        return all(layer.built for layer in self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        return self._layers[index]

    def __call__(self, x):
        return self.forward(np.asarray(x))

    def forward(self, x):
        for layer in self._layers:
            x = layer(x)
        return x

    def backward(self, grad):
        for layer in reversed(self._layers):
            grad = layer.backward(grad)
        return grad

    def output_shape(self, input_shape):
        for layer in self._layers:
            input_shape = layer.output_shape(input_shape)
        return input_shape

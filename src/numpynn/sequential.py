"""``Sequential``: layers applied one after another, with Keras's methods.

>>> import numpy as np, numpynn as nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> model(np.zeros((5, 4), dtype=np.float32)).shape
(5, 3)
>>> [name for name, _ in model.named_parameters()][:2]
['0.weight', '0.bias']
"""

from __future__ import annotations

from collections.abc import Iterator

from numpynn import names
from numpynn.keras_api import KerasMethods, LayerNames
from numpynn.module import Module
from numpynn.summary import parameter_count, snake_case
from numpynn.symbolic import SymbolicTensor


class Sequential(KerasMethods, Module):
    """Layers applied one after another; backward runs them in reverse.

    y = f_n(... f_2(f_1(x))), and dL/dx = J_1^T (J_2^T ... (J_n^T dL/dy)).

    Supports ``len``, iteration, indexing (``model[0]``), slicing (a new Sequential sharing
    the same layers) and ``append`` (Keras's ``add``). Parameter names are PyTorch's
    (``0.weight``); layer names Keras's (``dense_1``), given as each layer joins. The first
    entry may be ``nn.Input(shape=...)`` (or the first layer may take ``input_shape=``) to
    build every layer at once; otherwise lazy layers build on the first batch.

    Shape: input that of the first layer; output that of the last. An input with one axis
    fewer than the model's (``(64,)`` for ``nn.Input(shape=(64,))``) is one sample: its
    output comes back without the batch axis, as in PyTorch.
    """

    kept_outputs: list | None = None  # a list: forward appends (layer, output) of each layer

    def __init__(self, *layers: Module, name: str | None = None):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        self._layers: list[Module] = []
        self._names = LayerNames("Sequential")
        self._input_shape = None
        self._built, self._first_trainable = False, None
        self.name = name
        for layer in layers:
            self.append(layer)

    def append(self, layer: Module) -> Sequential:
        """Add a layer at the end. A layer instance may appear only once: its second call
        would overwrite the forward cache that the first call's backward needs. To share
        weights, give two layers the same Parameter (``b.weight = a.weight``)."""
        index = len(self._layers)
        if isinstance(layer, SymbolicTensor) and layer.layer is None and not self._layers:
            self.build(layer.shape)  # an nn.Input first: its shape builds what follows
            return self
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential: item {index} is a {type(layer).__name__}, not a Module")
        for i, other in enumerate(self._layers):
            if other is layer:
                raise ValueError(
                    f"Sequential: item {index} ({layer.describe()}) is the same instance as item "
                    f"{i}; its forward cache would be overwritten. Create a new layer, or share "
                    "weights by assigning the same Parameter to two layers"
                )
        self._names.add(layer, snake_case(type(layer).__name__))
        self._layers.append(layer)
        self._built, self._first_trainable = False, None
        shape = self.input_shape
        if shape is not None and None not in shape[1:] and not layer.built:
            self.build(shape)  # the input shape is known: build as Keras does
        return self

    add = append  # Keras's name

    def _members(self):
        for i, layer in enumerate(self._layers):
            yield str(i), layer

    @property
    def built(self) -> bool:
        # remembered once true (layers never unbuild; append resets it): this runs at
        # every call of the model
        if not self._built:
            self._built = all(layer.built for layer in self._layers)
        return self._built

    @property
    def output_names(self) -> list[str]:
        return [self.layer_name(self._layers[-1])] if self._layers else ["output"]

    def output_layer(self, index: int = 0) -> Module | None:
        """The layer whose output is the model's output."""
        return self._layers[-1] if self._layers else None

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        return self._layers[index]

    def build(self, input_shape):
        """Build every lazy layer from the shape flowing through the ones before it (the
        shape of a batch, or of one sample when the model's input is known to have one axis
        more)."""
        known = self.input_shape
        if known is not None and len(input_shape) == len(known) - 1:
            input_shape = (None, *input_shape)  # one sample: see forward
        self._input_shape = shape = (None, *tuple(input_shape)[1:])
        for layer in self._layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.output_shape(shape)

    @property
    def input_shape(self):
        """(None, ...) once known: from an nn.Input, a first layer's input_shape=, a first
        Linear's size, or the last batch."""
        if self._input_shape is None and self._layers:
            first = self._layers[0]
            declared = getattr(first, "declared_input_shape", None)
            if declared is not None:
                return declared
            size = getattr(first, "in_features", None)
            return None if size is None else (None, size)
        return self._input_shape

    def sample_shapes(self) -> list[tuple] | None:
        """The shape of one sample (the input shape without the batch axis), once known."""
        shape = self.input_shape
        return None if shape is None else [tuple(shape[1:])]

    def forward(self, x):
        given = x.shape
        (x,) = self._batch_of_one((x,))
        try:
            for layer in self._layers:
                x = layer(x)
                if self.kept_outputs is not None:  # diagnostics read them (numpynn.diagnostics)
                    self.kept_outputs.append((layer, x))
        except ValueError as error:
            if not self._one_sample:
                raise
            raise ValueError(
                f"Sequential: input of shape {given} (one sample, run as a batch of one): {error}"
            ) from None
        self._input_shape = (None, *given[1 - self._one_sample :])  # once it worked
        return self._as_given(x)

    def backward(self, grad):
        grad = self._batched_grad(grad)
        for layer in reversed(self._layers):
            grad = layer.backward(grad)
        return self._as_given(grad)

    def backward_params(self, grad):
        """Parameter gradients only: the layers before the first one with parameters are
        skipped, and that one computes no input gradient (for a Linear first layer, one of
        its three matrix products)."""
        grad = self._batched_grad(grad)
        first = self._first_trainable
        if first is None:  # found once per set of layers (append forgets it)
            first = next(
                (i for i, layer in enumerate(self._layers) if layer.parameters()),
                len(self._layers),
            )
            self._first_trainable = first if self.built else None
        for layer in reversed(self._layers[first + 1 :]):
            grad = layer.backward(grad)
        if first < len(self._layers):
            self._layers[first].backward_params(grad)

    def output_shape(self, input_shape):
        for layer in self._layers:
            input_shape = layer.output_shape(input_shape)
        return input_shape

    def summary_rows(self):
        """(``name (Type)``, output shape, parameter count, inputs) for each layer."""
        shape = self.input_shape
        for layer in self._layers:
            shape = None if shape is None else layer.output_shape(shape)
            label = f"{self.layer_name(layer)} ({type(layer).__name__})"
            yield label, shape, parameter_count(layer), ""

    def get_config(self):
        layers = []
        for layer in self._layers:
            entry = names.serialize(layer)
            entry["name"] = self.layer_name(layer)
            layers.append(entry)
        shape = self.input_shape
        return {"layers": layers, "name": self.name, "input_shape": shape and list(shape)}

    @classmethod
    def from_config(cls, config):
        layers = []
        for entry in config.get("layers", []):
            layer = names.deserialize("layer", entry)
            layer.name = entry.get("name") or layer.name
            layers.append(layer)
        model = cls(*layers, name=config.get("name"))
        if config.get("input_shape") is not None:
            model.build(tuple(config["input_shape"]))  # builds lazy layers, keeps the shape
        return model

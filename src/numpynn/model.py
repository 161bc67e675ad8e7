"""The functional ``Model``: a graph of layers from ``nn.Input`` tensors to outputs.

Calling layers on symbolic tensors records the graph (``symbolic.py``); ``Model(inputs,
outputs)`` sorts the recorded calls once, runs them in that order, and runs their backward
in reverse, adding the gradients that meet at a tensor used more than once.

>>> import numpy as np, numpynn as nn
>>> inputs = nn.Input(shape=(4,))
>>> hidden = nn.Dense(8, activation="relu")(inputs)
>>> outputs = nn.Dense(3, activation="softmax")(nn.Concatenate()([inputs, hidden]))
>>> model = nn.Model(inputs, outputs)
>>> model(np.ones((2, 4), dtype=np.float32)).shape
(2, 3)
>>> [layer.name for layer in model.layers]
['dense_1', 'concatenate_1', 'dense_2']
"""

from __future__ import annotations

import numpy as np

from numpynn import names
from numpynn._config import get_default_dtype
from numpynn.keras_api import KerasMethods, LayerNames, member_is_auto_named
from numpynn.module import Module
from numpynn.summary import parameter_count, shape_text, snake_case
from numpynn.symbolic import SymbolicTensor


def Input(shape, name: str | None = None) -> SymbolicTensor:  # noqa: N802 (Keras's name)
    """A symbolic input of a functional ``Model``: ``shape`` is one sample's shape, without
    the batch (``Input(shape=(784,))``, ``Input(shape=(1, 28, 28))``)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return SymbolicTensor((None, *shape), name=name)


class Model(KerasMethods, Module):
    """A functional graph of layers, from ``nn.Input`` tensors to output tensors.

    Calling layers on symbolic tensors records the graph; ``Model(inputs, outputs)`` sorts
    the calls (an explicit stack, so a chain of thousands of layers is fine) and runs them in
    that order; ``backward`` runs them in reverse and *adds* the gradients that meet at a
    tensor used more than once. Several inputs are passed as ``model(x1, x2)`` or
    ``model([x1, x2])``; several outputs come back as a list, and ``backward`` takes a list.

    One layer instance may appear only once in a graph (its forward cache holds one call);
    to share weights, give a second layer the same Parameters (``b.weight = a.weight``).

    Parameters are named after their layers: ``dense_1.weight``.

    Inputs with one axis fewer than their ``nn.Input`` (``(64,)`` for ``Input(shape=(64,))``,
    ``(C, H, W)``, ``(T, F)``) are one sample: the outputs come back without the batch
    axis, as in PyTorch, and ``backward`` takes and returns unbatched gradients.
    """

    kept_outputs: list | None = None  # a list: forward appends (layer, output) of each layer

    def __init__(self, inputs, outputs, name: str | None = None):
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        for what, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            if not tensors or not all(isinstance(t, SymbolicTensor) for t in tensors):
                raise TypeError(
                    f"Model: {what} must be symbolic tensors (from nn.Input and layers)"
                )
        for t in self.inputs:
            if t.layer is not None:
                raise ValueError(f"Model: every input must come from nn.Input; got {t!r}")
        if len({id(t) for t in self.inputs}) != len(self.inputs):
            raise ValueError("Model: an Input appears twice among the inputs")
        self.name = name
        self.multi_input = len(self.inputs) > 1
        self._nodes = _topological_order(self.outputs, self.inputs)
        self._layers = []
        for node in self._nodes:
            if any(node.layer is seen for seen in self._layers):
                raise ValueError(
                    f"Model: the layer {node.layer.describe()} is called at two places in the "
                    "graph; its forward cache would be overwritten and the gradients would be "
                    "wrong. Use a second layer, sharing Parameters if the weights must be tied"
                )
            self._layers.append(node.layer)
        self._consumed = {t for node in self._nodes for t in node.inputs}
        self._names = _graph_names(self.inputs, self._layers)

    # --- structure ---------------------------------------------------------------------------

    def _members(self):
        for layer in self._layers:
            yield self._names.of[layer], layer

    def _tensor_name(self, t: SymbolicTensor) -> str:
        """An Input's or a layer's name; ``lstm_1[1]`` for the second output of a layer
        with several."""
        name = self._names.of[t if t.layer is None else t.layer]
        return name if t.index is None else f"{name}[{t.index}]"

    def _tensor_ref(self, t: SymbolicTensor):
        """How a file refers to a tensor: its name, or [name, index] for one of several."""
        name = self._names.of[t if t.layer is None else t.layer]
        return name if t.index is None else [name, t.index]

    @property
    def input_names(self) -> list[str]:
        return [self._names.of[t] for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [self._tensor_name(t) for t in self.outputs]

    # --- the contract ------------------------------------------------------------------------

    def check_input(self, x):
        xs = x if self.multi_input else (x,)
        if len(xs) != len(self.inputs):
            raise ValueError(
                f"{self.describe()}: expected {len(self.inputs)} inputs, got {len(xs)}"
            )
        first = next(self.named_parameters(), None)
        dtype = first[1].dtype if first else get_default_dtype()  # floats come in as the weights
        checked = []
        for t, array in zip(self.inputs, xs):
            sample = t.shape[1:]
            batch_axes = array.ndim - len(sample)  # 1 for a batch, 0 for one sample
            fits = batch_axes in (0, 1) and all(
                d is None or d == s for d, s in zip(sample, array.shape[batch_axes:])
            )
            if not fits:
                raise ValueError(
                    f"{self.describe()}: expected input {self._names.of[t]!r} of shape "
                    f"{shape_text(t.shape)}, got {array.shape} (one sample may come "
                    f"without the batch axis, as {shape_text(sample)})"
                )
            checked.append(array.astype(dtype, copy=False) if array.dtype.kind == "f" else array)
        return tuple(checked) if self.multi_input else checked[0]

    def sample_shapes(self) -> list[tuple]:
        """The shape of one sample of each input (its ``nn.Input`` shape)."""
        return [tuple(t.shape[1:]) for t in self.inputs]

    def forward(self, *xs):
        xs = self._batch_of_one(xs)
        self._input_shapes = [(x.shape, x.dtype) for x in xs]
        self._output_shapes = {}  # of the outputs of layers with several, for zero gradients
        values = {id(t): x for t, x in zip(self.inputs, xs)}
        for node in self._nodes:
            out = node.layer(*[values[id(t)] for t in node.inputs], **node.options)
            values[id(node)] = out
            if node.outputs:  # a layer with several outputs: each is a tensor of the graph
                for t, value in zip(node.outputs, out):
                    values[id(t)] = value
                    self._output_shapes[id(t)] = (value.shape, value.dtype)
        if self.kept_outputs is not None:  # diagnostics read them (numpynn.diagnostics)
            self.kept_outputs.extend((node.layer, values[id(node)]) for node in self._nodes)
        outputs = [values[id(t)] for t in self.outputs]
        return self._as_given(outputs[0] if len(outputs) == 1 else outputs)

    def backward(self, grad):
        grad = self._batched_grad(grad)
        grads = list(grad) if len(self.outputs) > 1 else [grad]
        if len(grads) != len(self.outputs):
            raise ValueError(
                f"{self.describe()}: expected {len(self.outputs)} output gradients, "
                f"got {len(grads)}"
            )
        pending: dict[int, np.ndarray] = {}
        for t, g in zip(self.outputs, grads):
            _accumulate(pending, t, g)
        for node in reversed(self._nodes):
            g = self._output_grads(node, pending)
            if g is None:
                continue  # no output below this node received a gradient
            input_grads = node.layer.backward(g)
            if not node.layer.multi_input:
                input_grads = (input_grads,)
            for t, input_grad in zip(node.inputs, input_grads):
                _accumulate(pending, t, input_grad)
        result = [
            pending.get(id(t), np.zeros(shape, dtype))
            for t, (shape, dtype) in zip(self.inputs, self._input_shapes)
        ]
        return self._as_given(tuple(result) if self.multi_input else result[0])

    def _output_grads(self, node, pending):
        """The gradient of a node's output; for a layer with several outputs, a list with
        one per output (zeros for an output nothing used), or None if none has one."""
        if not node.outputs:
            return pending.pop(id(node), None)
        grads = [pending.pop(id(t), None) for t in node.outputs]
        if all(g is None for g in grads):
            return None
        return [
            np.zeros(*self._output_shapes[id(t)]) if g is None else g
            for t, g in zip(node.outputs, grads)
        ]

    def output_shape(self, input_shape):
        shapes = list(input_shape) if self.multi_input else [input_shape]
        known = {id(t): tuple(s) for t, s in zip(self.inputs, shapes)}
        for node in self._nodes:
            args = [known[id(t)] for t in node.inputs]
            known[id(node)] = node.layer.output_shape(
                tuple(args) if node.layer.multi_input else args[0]
            )
            known.update((id(t), shape) for t, shape in zip(node.outputs, known[id(node)]))
        outputs = [known[id(t)] for t in self.outputs]
        return outputs[0] if len(outputs) == 1 else outputs

    def output_layer(self, index: int = 0) -> Module | None:
        """The layer that makes output ``index``, if that output is used nowhere else."""
        t = self.outputs[index]
        if t.layer is None or t.node is not None or t in self._consumed:
            return None  # an Input, or one output of several of its layer
        if sum(o is t for o in self.outputs) > 1:
            return None  # its gradient also comes from elsewhere
        return t.layer

    def describe(self):
        return f"Model({', '.join(self.input_names)} -> {', '.join(self.output_names)})"

    def extra_repr(self):
        return f"inputs={self.input_names}, outputs={self.output_names}"

    def summary_rows(self):
        """(``name (Type)``, output shape, parameter count, inputs) for each row."""
        for t in self.inputs:
            yield f"{self._names.of[t]} (Input)", t.shape, 0, ""
        for node in self._nodes:
            inbound = ", ".join(self._tensor_name(t) for t in node.inputs)
            label = f"{self.layer_name(node.layer)} ({type(node.layer).__name__})"
            yield label, node.shape, parameter_count(node.layer), inbound

    # --- config ------------------------------------------------------------------------------

    def get_config(self):
        layers = []
        for node in self._nodes:
            entry = names.serialize(node.layer)
            entry["name"] = self.layer_name(node.layer)
            entry["inbound"] = [self._tensor_ref(t) for t in node.inputs]
            if node.options:
                entry["options"] = dict(node.options)
            layers.append(entry)
        return {
            "name": self.name,
            "inputs": [
                {"name": self._names.of[t], "shape": list(t.shape[1:])} for t in self.inputs
            ],
            "layers": layers,
            "outputs": [self._tensor_ref(t) for t in self.outputs],
        }

    @classmethod
    def from_config(cls, config):
        try:
            tensors = {}
            inputs = []
            for spec in config["inputs"]:
                inputs.append(Input(spec["shape"], name=spec["name"]))
                tensors[spec["name"]] = inputs[-1]
            for entry in config["layers"]:
                layer = names.deserialize("layer", entry)
                layer.name = entry["name"]
                args = [_lookup(tensors, ref) for ref in entry["inbound"]]
                tensors[entry["name"]] = layer(*args, **entry.get("options", {}))
            outputs = [_lookup(tensors, ref) for ref in config["outputs"]]
        except KeyError as missing:
            raise ValueError(
                f"the model's graph refers to {missing}, which it does not define"
            ) from None
        return cls(inputs, outputs, name=config.get("name"))


def _lookup(tensors: dict, ref):
    """The tensor a file's reference names: ``"dense_1"``, or ``["lstm_1", 1]``."""
    if isinstance(ref, str):
        return tensors[ref]
    name, index = ref
    outputs = tensors[name]
    if not isinstance(outputs, list) or not 0 <= index < len(outputs):
        raise KeyError(f"{name}[{index}]")
    return outputs[index]


def _graph_names(inputs, layers) -> LayerNames:
    """Names for the Inputs and layers of a graph: the user's first, then generated ones."""
    result = LayerNames("Model")
    members = [(t, "input") for t in inputs] + [(m, snake_case(type(m).__name__)) for m in layers]
    for member, base in members:
        if member.name and not member_is_auto_named(member):
            result.add(member, base)
    for member, base in members:
        if member not in result.of:
            result.add(member, base)
    return result


def _accumulate(pending: dict, t: SymbolicTensor, grad) -> None:
    """Add ``grad`` into the gradient of ``t``: a tensor used twice gets the sum (never
    ``=``, which would keep only the last use's share)."""
    if grad is None:
        return
    key = id(t)
    pending[key] = grad if key not in pending else pending[key] + grad


def _topological_order(outputs, inputs) -> list[SymbolicTensor]:
    """The layer calls that the outputs need, each after the calls it reads from; an
    explicit stack (no recursion), so depth is limited only by memory."""
    input_ids = {id(t) for t in inputs}
    done: set[int] = set()
    order: list[SymbolicTensor] = []
    for output in outputs:
        stack = [(output.node or output, False)]
        while stack:
            t, expanded = stack.pop()
            if id(t) in done:
                continue
            if expanded or id(t) in input_ids:
                done.add(id(t))
                if id(t) not in input_ids:
                    order.append(t)
                continue
            if t.layer is None:
                raise ValueError(
                    f"Model: the outputs depend on the Input {t.name or ''}{t.shape}, which is not "
                    "among the model's inputs"
                )
            stack.append((t, True))
            parents = [p.node or p for p in reversed(t.inputs)]  # a layer's call, not its outputs
            stack.extend((parent, False) for parent in parents if id(parent) not in done)
    return order

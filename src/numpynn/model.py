"""Models: ``Sequential`` and the functional ``Model``, with Keras's training methods.

Both are Modules (a PyTorch-style user calls them and their ``backward`` in a loop of their
own) and both carry the same Keras methods: ``compile``, ``fit``, ``evaluate``, ``predict``,
``train_on_batch``, ``summary``, ``save``. Each method is a thin call into ``training.py``
or ``io.py``, where the loop and the file format are written out.

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

import re
from collections import Counter
from collections.abc import Iterator

import numpy as np

from numpynn import io, names, training
from numpynn._config import get_default_dtype
from numpynn.callbacks import History
from numpynn.module import Module, SymbolicTensor


def Input(shape, name: str | None = None) -> SymbolicTensor:  # noqa: N802 (Keras's name)
    """A symbolic input of a functional ``Model``: ``shape`` is one sample's shape, without
    the batch (``Input(shape=(784,))``, ``Input(shape=(1, 28, 28))``)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return SymbolicTensor((None, *shape), name=name)


def _snake_case(class_name: str) -> str:
    """Dense -> dense, LeakyReLU -> leaky_relu, Conv2d -> conv2d."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", class_name).lower()


def _assign_names(members: list[tuple[object, str]], owner: str) -> dict[int, str]:
    """A unique name for each (layer or Input, base) in ``members``, keyed by id.

    A name the user gave is kept (two equal ones are an error); a name an earlier model gave
    (``dense_1``) is kept where it is still free; the others become base_1, base_2, ...,
    skipping taken names, and a layer without a name keeps the one it gets here.
    """
    given = Counter(m.name for m, _ in members if m.name and not getattr(m, "_auto_named", False))
    repeated = sorted(name for name, count in given.items() if count > 1)
    if repeated:
        raise ValueError(
            f"{owner}: two layers or inputs are named {repeated[0]!r}; names are unique"
        )
    taken, result = set(given), {}
    for m, _ in members:
        if m.name and not getattr(m, "_auto_named", False):
            result[id(m)] = m.name
        elif m.name and m.name not in taken:
            result[id(m)] = m.name
            taken.add(m.name)
    counters: dict[str, int] = {}
    for m, base in members:
        if id(m) in result:
            continue
        count = counters.get(base, 0)
        while f"{base}_{count + 1}" in taken:
            count += 1
        counters[base] = count = count + 1
        result[id(m)] = name = f"{base}_{count}"
        taken.add(name)
        if isinstance(m, Module) and m.name is None:
            m._name, m._auto_named = name, True
    return result


class KerasMethods:
    """compile / fit / evaluate / predict / summary / save, shared by Sequential and Model."""

    optimizer = None
    history: History | None = None
    metadata: dict | None = None  # JSON saved with the model (the CLI keeps class names here)
    _compiled: dict | None = None

    @property
    def layers(self) -> list[Module]:
        """The layers, in order, each named (``dense_1``, ...) unless it has a name."""
        self._layer_names()
        return list(self._layers)

    def _layer_names(self) -> dict[int, str]:
        """The name of each layer in this model, keyed by ``id(layer)``."""
        raise NotImplementedError

    def layer_name(self, layer: Module) -> str:
        return self._layer_names()[id(layer)]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Module:
        """The layer called ``name`` (or at position ``index``)."""
        if index is not None:
            return self.layers[index]
        layer_names = self._layer_names()
        for layer in self._layers:
            if layer_names[id(layer)] == name:
                return layer
        known = ", ".join(layer_names[id(layer)] for layer in self._layers)
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are {known}")

    def _samples_in(self, x) -> int:
        return len(x[0] if self.multi_input else x)

    # --- training ----------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None) -> None:
        """Choose the optimizer, loss and metrics for ``fit`` and ``evaluate``.

        Args:
            optimizer: a name (``"adam"``, ``"sgd"``, ... with Keras's defaults) or an
                optimizer built on ``model.parameters()``.
            loss: a name (``"categorical_crossentropy"``, ``"mse"``, ...) or a Loss; for
                several outputs a list or a dict by output name.
            metrics: names (``"accuracy"``, ``"mae"``, ...) or functions f(y_true, y_pred).
            loss_weights: weights of the outputs' losses in the total.
        """
        training.Objective(self, loss, metrics, loss_weights)  # unknown names fail here
        if isinstance(optimizer, str):
            names.lookup("optimizer", optimizer)
        else:
            training.resolve_optimizer(self, optimizer, [])
        self.optimizer = optimizer
        self._compiled = {"loss": loss, "metrics": metrics, "loss_weights": loss_weights}

    def _require_compiled(self, what: str) -> dict:
        if self._compiled is None:
            raise RuntimeError(
                f"{what}: the model is not compiled; call "
                "model.compile(optimizer=..., loss=...) first"
            )
        return self._compiled

    def fit(
        self,
        x,
        y=None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int = 1,
        callbacks=None,
        validation_split: float = 0.0,
        validation_data=None,
        shuffle: bool = True,
        class_weight=None,
        sample_weight=None,
        initial_epoch: int = 0,
        seed=None,
    ) -> History:
        """Train for ``epochs`` epochs; see ``numpynn.training.fit`` for every argument.
        Returns a History (also kept as ``model.history``); a second ``fit`` continues with
        the same optimizer and its state."""
        compiled = self._require_compiled("fit")
        self.optimizer = training.prepare_optimizer(self, self.optimizer, x)
        self.history = training.fit(
            self,
            x,
            y,
            optimizer=self.optimizer,
            **compiled,
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            shuffle=shuffle,
            class_weight=class_weight,
            sample_weight=sample_weight,
            initial_epoch=initial_epoch,
            seed=seed,
        )
        return self.history

    def evaluate(
        self,
        x,
        y,
        batch_size: int | None = None,
        verbose: int = 1,
        sample_weight=None,
        return_dict: bool = False,
    ):
        """The loss (and metrics) on ``x``, ``y``: a float, a list ``[loss, metric, ...]``, or
        with ``return_dict`` a dict by name."""
        logs = training.evaluate(
            self,
            x,
            y,
            **self._require_compiled("evaluate"),
            batch_size=batch_size,
            sample_weight=sample_weight,
            verbose=verbose,
        )
        return _result(logs, return_dict)

    def predict(self, x, batch_size: int | None = None, verbose: int = 0):
        """The outputs for ``x`` in eval mode (Dropout off)."""
        return training.predict(self, x, batch_size=batch_size, verbose=verbose)

    def train_on_batch(
        self, x, y, sample_weight=None, class_weight=None, return_dict: bool = False
    ):
        """One optimisation step on one batch; its loss (and metrics)."""
        compiled = self._require_compiled("train_on_batch")
        self.optimizer = training.prepare_optimizer(self, self.optimizer, x)
        logs = training.train_on_batch(
            self,
            x,
            y,
            optimizer=self.optimizer,
            **compiled,
            sample_weight=sample_weight,
            class_weight=class_weight,
        )
        return _result(logs, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict: bool = False):
        """The loss (and metrics) of one batch, in eval mode."""
        logs = training.evaluate(
            self,
            x,
            y,
            **self._require_compiled("test_on_batch"),
            batch_size=self._samples_in(x),
            sample_weight=sample_weight,
        )
        return _result(logs, return_dict)

    def predict_on_batch(self, x):
        return training.predict(self, x, batch_size=max(self._samples_in(x), 1))

    # --- description and files ---------------------------------------------------------------

    def summary(self, print_fn=print) -> None:
        """Print a table of the layers: name (type), output shape, parameter count (and, for
        a functional model, the inputs of each layer), then the totals."""
        print_fn(self.summary_text())

    def summary_text(self) -> str:
        rows = list(self._summary_rows())
        connected = any(row[3] for row in rows)
        head = ("Layer (type)", "Output Shape", "Param #") + (
            ("Connected to",) if connected else ()
        )
        widths = [max(len(head[0]), *(len(r[0]) for r in rows)) + 2, 26, 12, 24][: len(head)]
        width = sum(widths)

        def line(cells):
            return "".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

        out = [f'Model: "{self.name or _snake_case(type(self).__name__)}"', "_" * width, line(head)]
        out.append("=" * width)
        for name, shape, count, inbound in rows:
            out.append(line((name, _shape_text(shape), f"{count:,}", inbound)[: len(head)]))
        trainable = sum(p.size for p in self.parameters())
        trainable_bytes = sum(p.data.nbytes for p in self.parameters())
        frozen = [b for _, b in self.named_buffers() if b.dtype.kind == "f"]  # not counters
        out += [
            "=" * width,
            f"Total params: {trainable + sum(b.size for b in frozen):,} "
            f"({_bytes(trainable_bytes + sum(b.nbytes for b in frozen))})",
            f"Trainable params: {trainable:,} ({_bytes(trainable_bytes)})",
            f"Non-trainable params: {sum(b.size for b in frozen):,} "
            f"({_bytes(sum(b.nbytes for b in frozen))})",
            "_" * width,
        ]
        return "\n".join(out)

    def _summary_rows(self):
        """(``name (Type)``, output shape, parameter count, inputs) for each row."""
        raise NotImplementedError

    def save(self, path, include_optimizer: bool = True) -> None:
        """Write the architecture, the weights and (when compiled) the loss, metrics and
        optimizer state to one ``.npz`` file; ``nn.load_model(path)`` reads it back."""
        optimizer = self.optimizer if include_optimizer else None
        io.save_model(self, path, optimizer, self._compile_config(), self.metadata)

    def save_weights(self, path) -> None:
        io.save_weights(self, path)

    def load_weights(self, path) -> None:
        io.load_weights(self, path)

    def _compile_config(self) -> dict | None:
        if self._compiled is None:
            return None
        loss = self._compiled["loss"]
        if isinstance(loss, dict):
            loss = [loss.get(name) for name in self.output_names]
        loss = [_loss_entry(item) for item in loss] if isinstance(loss, list) else _loss_entry(loss)
        metrics = self._compiled["metrics"]
        return {
            "loss": loss,
            "metrics": _metric_entries(metrics),
            "loss_weights": self._compiled["loss_weights"],
            "optimizer": self.optimizer if isinstance(self.optimizer, str) else None,
        }


def _loss_entry(loss):
    return loss if loss is None or isinstance(loss, str) else names.serialize(loss)


def _metric_entries(metrics):
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, dict):
        return {k: _metric_entries(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [_metric_entries(m) for m in metrics]
    for name in names.available("metric"):
        if names.lookup("metric", name)[0] is metrics:
            return name
    raise TypeError(
        f"save: the metric {metrics!r} has no name; register it with "
        "@nn.names.register('metric', 'its_name') so the compiled model can be saved"
    )


def _result(logs: dict, return_dict: bool):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def _bytes(count: float) -> str:
    if count < 1024:
        return f"{count} B"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            break
    return f"{count:.2f} {unit}"


def _parameter_count(layer: Module) -> int:
    """Parameters and floating buffers (running statistics), as Keras counts them."""
    buffers = sum(b.size for _, b in layer.named_buffers() if b.dtype.kind == "f")
    return layer.num_parameters() + buffers


class Sequential(KerasMethods, Module):
    """Layers applied one after another; backward runs them in reverse.

    Supports ``len``, iteration, indexing (``model[0]``), slicing (a new Sequential sharing
    the same layers) and ``append`` (Keras's ``add``). Parameter names are PyTorch's
    (``0.weight``). The first entry may be ``nn.Input(shape=...)`` (or the first layer may
    take ``input_shape=``) to build every layer at once; otherwise lazy layers build on the
    first batch.

    >>> import numpy as np, numpynn as nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> model(np.zeros((5, 4), dtype=np.float32)).shape
    (5, 3)
    >>> [name for name, _ in model.named_parameters()][:2]
    ['0.weight', '0.bias']
    """

    def __init__(self, *layers: Module, name: str | None = None):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        self._layers: list[Module] = []
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

    def _layer_names(self) -> dict[int, str]:
        return _assign_names(
            [(m, _snake_case(type(m).__name__)) for m in self._layers], "Sequential"
        )

    @property
    def output_names(self) -> list[str]:
        return [self.layer_name(self._layers[-1])] if self._layers else ["output"]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self._layers[index])
        return self._layers[index]

    def build(self, input_shape):
        """Build every lazy layer from the shape flowing through the ones before it."""
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

    def forward(self, x):
        self._input_shape = (None, *x.shape[1:])
        for layer in self._layers:
            x = layer(x)
        return x

    def backward(self, grad):
        for layer in reversed(self._layers):
            grad = layer.backward(grad)
        return grad

    def backward_params(self, grad):
        """Parameter gradients only: the layers before the first one with parameters are
        skipped, and that one computes no input gradient (for a Linear first layer, one of
        its three matrix products)."""
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

    def output_activation(self, index=0):
        return self._layers[-1].output_activation(index) if self._layers else None

    def _summary_rows(self):
        shape, layer_names = self.input_shape, self._layer_names()
        for layer in self._layers:
            shape = None if shape is None else layer.output_shape(shape)
            label = f"{layer_names[id(layer)]} ({type(layer).__name__})"
            yield label, shape, _parameter_count(layer), ""

    def get_config(self):
        layers = []
        for layer in self._layers:
            entry = names.serialize(layer)
            if layer.name and not layer._auto_named:
                entry["name"] = layer.name
            layers.append(entry)
        return {"layers": layers, "name": self.name, "input_shape": _json_shape(self.input_shape)}

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


def _json_shape(shape):
    return None if shape is None else list(shape)


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
    """

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
        self._consumed = {id(t) for node in self._nodes for t in node.inputs}
        members = [(t, "input") for t in self.inputs]
        members += [(m, _snake_case(type(m).__name__)) for m in self._layers]
        self._names = _assign_names(members, "Model")

    # --- structure ---------------------------------------------------------------------------

    def _members(self):
        for layer in self._layers:
            yield self._names[id(layer)], layer

    def _layer_names(self) -> dict[int, str]:
        return self._names

    def _tensor_name(self, t: SymbolicTensor) -> str:
        return self._names[id(t if t.layer is None else t.layer)]

    @property
    def input_names(self) -> list[str]:
        return [self._names[id(t)] for t in self.inputs]

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
            fits = array.ndim == len(t.shape) and all(
                d is None or d == s for d, s in zip(t.shape[1:], array.shape[1:])
            )
            if not fits:
                raise ValueError(
                    f"{self.describe()}: expected input {self._names[id(t)]!r} of shape "
                    f"{_shape_text(t.shape)}, got {array.shape}"
                )
            checked.append(array.astype(dtype, copy=False) if array.dtype.kind == "f" else array)
        return tuple(checked) if self.multi_input else checked[0]

    def forward(self, *xs):
        self._input_shapes = [(x.shape, x.dtype) for x in xs]
        values = {id(t): x for t, x in zip(self.inputs, xs)}
        for node in self._nodes:
            values[id(node)] = node.layer(*[values[id(t)] for t in node.inputs])
        outputs = [values[id(t)] for t in self.outputs]
        return outputs[0] if len(outputs) == 1 else outputs

    def backward(self, grad):
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
            g = pending.pop(id(node), None)
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
        return tuple(result) if self.multi_input else result[0]

    def output_shape(self, input_shape):
        shapes = list(input_shape) if self.multi_input else [input_shape]
        known = {id(t): tuple(s) for t, s in zip(self.inputs, shapes)}
        for node in self._nodes:
            args = [known[id(t)] for t in node.inputs]
            known[id(node)] = node.layer.output_shape(
                tuple(args) if node.layer.multi_input else args[0]
            )
        outputs = [known[id(t)] for t in self.outputs]
        return outputs[0] if len(outputs) == 1 else outputs

    def _call_symbolic(self, inputs):
        if len(self.outputs) > 1:
            raise ValueError(
                f"{self.describe()}: a model with several outputs cannot yet be called inside "
                "another graph"
            )
        return super()._call_symbolic(inputs)

    def output_activation(self, index=0):
        t = self.outputs[index]
        if t.layer is None or id(t) in self._consumed or sum(o is t for o in self.outputs) > 1:
            return None  # its gradient also comes from elsewhere: no shortcut
        return t.layer.output_activation(0)

    def describe(self):
        return f"Model({', '.join(self.input_names)} -> {', '.join(self.output_names)})"

    def extra_repr(self):
        return f"inputs={self.input_names}, outputs={self.output_names}"

    def _summary_rows(self):
        for t in self.inputs:
            yield f"{self._names[id(t)]} (Input)", t.shape, 0, ""
        for node in self._nodes:
            inbound = ", ".join(self._tensor_name(t) for t in node.inputs)
            label = f"{self._names[id(node.layer)]} ({type(node.layer).__name__})"
            yield label, node.shape, _parameter_count(node.layer), inbound

    # --- config ------------------------------------------------------------------------------

    def get_config(self):
        layers = []
        for node in self._nodes:
            entry = names.serialize(node.layer)
            entry["name"] = self._names[id(node.layer)]
            entry["inbound"] = [self._tensor_name(t) for t in node.inputs]
            layers.append(entry)
        return {
            "name": self.name,
            "inputs": [
                {"name": self._names[id(t)], "shape": list(t.shape[1:])} for t in self.inputs
            ],
            "layers": layers,
            "outputs": [self._tensor_name(t) for t in self.outputs],
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
                args = [tensors[ref] for ref in entry["inbound"]]
                tensors[entry["name"]] = layer(*args)
            outputs = [tensors[ref] for ref in config["outputs"]]
        except KeyError as missing:
            raise ValueError(
                f"the model's graph refers to {missing}, which it does not define"
            ) from None
        return cls(inputs, outputs, name=config.get("name"))


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
        stack = [(output, False)]
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
            stack.extend((parent, False) for parent in reversed(t.inputs) if id(parent) not in done)
    return order

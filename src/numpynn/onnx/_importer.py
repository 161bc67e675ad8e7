"""``load``: an ONNX graph read node by node into numpynn layers, through the table."""

from __future__ import annotations

import numpy as np

from numpynn.model import Input, Model
from numpynn.onnx._checks import graph_order, node_label, opset, tensor_array
from numpynn.onnx._files import ONNXLoadError, onnx_package, read
from numpynn.onnx._table import IMPORTERS, LOADABLE


class Importer:
    """Builds the numpynn layers of one ONNX graph, node by node, on symbolic tensors.

    The importers of the family modules read and extend its state: ``constants``
    (initializers and Constant nodes, as arrays), ``tensors`` (ONNX tensor name -> symbolic
    tensor), ``consumers``/``producers`` (the graph's edges), ``skip`` (nodes folded into an
    earlier node's layer) and the bookkeeping of recurrent layers (see recurrent.py). Every
    problem is an ``ONNXLoadError`` naming the file, the node (or tensor) and what is wrong.
    """

    def __init__(self, onnx, proto, path, file_size: int):
        self.onnx, self.graph, self.path, self.file_size = onnx, proto.graph, path, file_size
        # the node objects, held: protobuf makes a new wrapper on each access, so ids (the keys
        # of ``index`` and ``skip``) are stable only for objects kept alive
        self.nodes = list(self.graph.node)
        self.index = {id(node): i for i, node in enumerate(self.nodes)}
        try:
            self.opset = opset(onnx, proto)
        except ValueError as error:
            raise self.error("", str(error)) from None
        problems = graph_order(self.graph)  # refused before anything is read or built
        if problems:
            index, problem = problems[0]
            raise self.error(node_label(self.nodes[index], index) if index >= 0 else "", problem)
        self.tensors, self.used_names, self.skip = {}, set(), set()
        # sequences: a time-major tensor -> the batch-first one it transposes (numpynn's
        # symbolic tensors are batch-first); a recurrent node's Y or Y_h -> the layer's output
        self.time_major: dict[str, str] = {}
        # shape computations (PyTorch's exports build zero initial states from the batch size)
        self.shape_values: set[str] = set()
        self.zeros: set[str] = set()
        self.state_stacks: dict[str, list[str]] = {}  # Concat of Y_h: h_n of a stack
        self.recurrent: dict[str, tuple[str, object]] = {}
        self.consumers: dict[str, list] = {}
        self.producers = {name: node for node in self.nodes for name in node.output}
        self.output_names = {o.name for o in self.graph.output}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.constants = {t.name: self.initializer(t) for t in self.graph.initializer}

    def error(self, where: str, problem: str) -> ONNXLoadError:
        return ONNXLoadError(f"onnx.load: {self.path}: {where}{': ' if where else ''}{problem}")

    def fail(self, node, problem):
        raise self.error(node_label(node, self.index.get(id(node), -1)), problem)

    def initializer(self, tensor):
        """The array of an initializer, checked (see _checks.tensor_array)."""
        try:
            return tensor_array(self.onnx, tensor)
        except ValueError as error:
            where = f"the initializer {tensor.name[:100]!r}"
            readers = self.consumers.get(tensor.name)
            if readers:
                where += f", read by {node_label(readers[0], self.index[id(readers[0])])}"
            raise self.error(where, str(error)) from None

    def array(self, node, tensor):
        """The array of a tensor held in an attribute of ``node``, checked."""
        try:
            return tensor_array(self.onnx, tensor)
        except ValueError as error:
            self.fail(node, f"its tensor attribute: {error}")

    def attributes(self, node) -> dict:
        values = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}

    def required(self, node, a: dict, name: str):
        """The attribute ``name`` of ``node``, which ONNX requires."""
        if name not in a:
            self.fail(node, f"the attribute {name!r} is missing")
        return a[name]

    def constant(self, node, name):
        if name not in self.constants:
            self.fail(node, f"expected {name!r} to be a constant (an initializer)")
        return self.constants[name]

    def fill(self, node, parameter, value) -> None:
        """Copy ``value`` into ``parameter``, whose shape it must have."""
        value = np.asarray(value)
        if value.shape != parameter.data.shape:
            self.fail(node, f"{parameter.name} has shape {value.shape}, expected {parameter.shape}")
        parameter.data[...] = value

    def only_consumer(self, name, op):
        consumers = self.consumers.get(name, [])
        if len(consumers) == 1 and consumers[0].op_type == op and name not in self.output_names:
            return consumers[0]
        return None

    def step(self, name, op, const=None, other=None, alone=True):
        """The consumer of tensor ``name`` that is ``op``, its other operand the scalar
        constant ``const`` or the tensor ``other`` (when given); None if there is none, or if
        ``name`` is read elsewhere too (``alone``) and so cannot be folded into one layer."""
        consumers = self.consumers.get(name, [])
        if (alone and len(consumers) != 1) or name in self.output_names:
            return None
        for node in consumers:
            rest = [i for i in node.input if i != name] or [name]
            if node.op_type != op or (other is not None and rest != [other]):
                continue
            if const is not None:
                value = self.constants.get(rest[0])
                if value is None or value.size != 1 or not np.isclose(value, const, rtol=1e-6):
                    continue
            return node
        return None

    def fold(self, node, nodes, layer, inputs, output) -> bool:
        """Add ``layer`` in place of ``node`` and ``nodes`` (the rest of a formula), if found."""
        if not all(nodes):
            return False
        self.skip.update(id(n) for n in nodes)
        self.add(node, layer, inputs, output)
        return True

    def add(self, node, layer, inputs, output=None):
        """Call ``layer`` on the symbolic tensors named ``inputs``; name it after the node."""
        name = node.name.replace("/", "_").strip("_") or None
        if name is not None and name not in self.used_names:
            layer.name = name
            self.used_names.add(name)
        missing = [i for i in inputs if i not in self.tensors]
        if missing:
            self.fail(node, f"its input {missing[0]!r} is nothing numpynn computes here")
        try:
            out = layer(*[self.tensors[i] for i in inputs])
        except (ValueError, TypeError) as error:
            self.fail(node, str(error))
        self.tensors[output or node.output[0]] = out
        return layer

    def inputs(self) -> list:
        """An ``Input`` for each graph input that is not an initializer."""
        inputs = []
        for value in self.graph.input:
            if value.name in self.constants:
                continue  # older exporters list the initializers as inputs too
            where = f"the input {value.name[:100]!r}"
            if not value.type.HasField("tensor_type"):
                raise self.error("", f"{where} is not a tensor")
            dims = value.type.tensor_type.shape.dim
            shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
            if not shape or any(d is not None and d < 1 for d in shape):
                raise self.error("", f"{where} needs a batch axis and positive sizes: {shape[:8]}")
            if None in shape[1:]:
                unknown = f"has unknown sizes {shape[:8]} beyond the batch"
                raise self.error("", f"{where} {unknown}; numpynn needs them fixed")
            inputs.append(Input(shape[1:], name=value.name))
            self.tensors[value.name] = inputs[-1]
            self.used_names.add(value.name)
        if not inputs:
            raise self.error("", "the graph has no inputs (or only initializers)")
        return inputs

    def node(self, node) -> None:
        """Add the layers of ``node`` through the table; any error names the node."""
        load = IMPORTERS.get(node.op_type)
        if node.domain not in ("", "ai.onnx") or load is None:
            label = node_label(node, self.index[id(node)])
            raise self.error("", f"{label} has no numpynn layer; supported: {LOADABLE}")
        try:
            load(self, node, self.attributes(node))
        except ONNXLoadError:
            raise
        except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError) as error:
            self.fail(node, f"cannot be read: {type(error).__name__}: {str(error)[:300]}")

    def run(self) -> Model:
        inputs = self.inputs()
        for node in self.nodes:
            if id(node) not in self.skip:
                self.node(node)
        outputs = []
        for value in self.graph.output:
            if value.name not in self.tensors:
                raise self.error("", f"the output {value.name[:100]!r} is a constant")
            outputs.append(self.tensors[value.name])
        try:
            return Model(inputs, outputs, name=self.graph.name[:100] or None).eval()
        except (ValueError, TypeError) as error:
            raise self.error("the graph", str(error)[:300]) from None


def load(path) -> Model:
    """A functional ``nn.Model`` (in eval mode) computing the ONNX graph at ``path``.

    Inputs keep their names and fixed sizes (the batch may be dynamic); layers are named
    after the nodes. A file numpynn cannot read raises ``ONNXLoadError`` (a ``ValueError``)
    naming the operator and node, or the tensor, and what is wrong.

    Every file is treated as hostile: it is read once and never more than its size is
    allocated for its tensors; external-data references are refused, never opened (a
    self-contained file only); a graph with a cycle, a dangling input or a tensor name
    defined twice is refused, as are tensors whose declared size their bytes do not hold,
    weights holding NaN or infinities, opsets outside ``MIN_OPSET`` to what the installed
    ``onnx`` knows, and any operator outside ``LOADABLE``.

    >>> import os, tempfile, numpy as np, numpynn as nn
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    >>> nn.onnx.export(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), path, input_shape=(4,))
    >>> nn.onnx.load(path).output_shape((None, 4))
    (None, 3)
    """
    proto, size = read(path)
    return Importer(onnx_package(), proto, str(path), size).run()

"""``load``: an ONNX graph read node by node into numpynn layers, through the table."""

from __future__ import annotations

import numpy as np

from numpynn.model import Input, Model
from numpynn.onnx._files import onnx_package, read
from numpynn.onnx._table import IMPORTERS, LOADABLE


class Importer:
    """Builds the numpynn layers of one ONNX graph, node by node, on symbolic tensors.

    The importers of the family modules read and extend its state: ``constants``
    (initializers and Constant nodes, as arrays), ``tensors`` (ONNX tensor name -> symbolic
    tensor), ``consumers``/``producers`` (the graph's edges), ``skip`` (nodes folded into an
    earlier node's layer) and the bookkeeping of recurrent layers (see recurrent.py).
    """

    def __init__(self, onnx, proto, path):
        self.onnx, self.graph, self.path = onnx, proto.graph, path
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.constants = {t.name: onnx.numpy_helper.to_array(t) for t in self.graph.initializer}
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
        self.producers = {name: node for node in self.graph.node for name in node.output}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def fail(self, node, problem):
        raise ValueError(
            f"onnx.load: {self.path}: the operator {node.op_type} (node {node.name!r}): {problem}"
        )

    def attributes(self, node) -> dict:
        values = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}

    def constant(self, node, name):
        if name not in self.constants:
            self.fail(node, f"expected {name!r} to be a constant (an initializer)")
        return self.constants[name]

    def fill(self, node, parameter, value) -> None:
        """Copy ``value`` into ``parameter``, whose shape it must have."""
        value = np.asarray(value)
        if value.shape != parameter.data.shape:
            raise ValueError(
                f"onnx.load: {parameter.name} has shape {value.shape}, expected {parameter.shape}"
            )
        parameter.data[...] = value

    def only_consumer(self, name, op):
        consumers = self.consumers.get(name, [])
        outputs = {o.name for o in self.graph.output}
        if len(consumers) == 1 and consumers[0].op_type == op and name not in outputs:
            return consumers[0]
        return None

    def step(self, name, op, const=None, other=None, alone=True):
        """The consumer of tensor ``name`` that is ``op``, its other operand the scalar
        constant ``const`` or the tensor ``other`` (when given); None if there is none, or if
        ``name`` is read elsewhere too (``alone``) and so cannot be folded into one layer."""
        consumers = self.consumers.get(name, [])
        if (alone and len(consumers) != 1) or name in {o.name for o in self.graph.output}:
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
            dims = value.type.tensor_type.shape.dim
            shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
            if None in shape[1:]:
                raise ValueError(
                    f"onnx.load: {self.path}: input {value.name!r} has unknown sizes {shape} "
                    "beyond the batch; numpynn needs them fixed"
                )
            inputs.append(Input(shape[1:], name=value.name))
            self.tensors[value.name] = inputs[-1]
            self.used_names.add(value.name)
        return inputs

    def run(self) -> Model:
        inputs = self.inputs()
        for node in self.graph.node:
            if id(node) in self.skip:
                continue
            load = IMPORTERS.get(node.op_type)
            if node.domain not in ("", "ai.onnx") or load is None:
                raise ValueError(
                    f"onnx.load: {self.path}: the operator {node.op_type} (node {node.name!r}) "
                    f"has no numpynn layer; supported: {LOADABLE}"
                )
            load(self, node, self.attributes(node))
        outputs = []
        for value in self.graph.output:
            if value.name not in self.tensors:
                raise ValueError(f"onnx.load: {self.path}: output {value.name!r} is a constant")
            outputs.append(self.tensors[value.name])
        return Model(inputs, outputs, name=self.graph.name or None).eval()


def load(path) -> Model:
    """A functional ``nn.Model`` (in eval mode) computing the ONNX graph at ``path``.

    Inputs keep their names and fixed sizes (the batch may be dynamic); layers are named
    after the nodes. Errors name the operator and node that numpynn cannot express.
    """
    return Importer(onnx_package(), read(path), str(path)).run()

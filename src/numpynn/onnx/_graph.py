"""The ONNX graph being written by ``export``: nodes, initializers, unique tensor names."""

from __future__ import annotations

import numpy as np


class Graph:
    """The nodes and initializers being written, with unique tensor names.

    ``emit(module, graph, xs, shapes, name)`` writes a whole module (a container or a layer) and
    returns its output tensors and shapes: the exporters of composite layers (a Transformer
    encoder layer) call it for their children.
    """

    def __init__(self, onnx, emit):
        self.onnx, self.emit, self.nodes, self.initializers, self.taken = onnx, emit, [], [], set()
        self.index_casts: set[str] = set()  # Casts to int64 that feed an Embedding's Gather

    def unique(self, name: str) -> str:
        base, i = name, 1
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name

    def constant(self, value, name: str) -> str:
        value = np.asarray(value)
        value = value.astype(np.float32) if value.dtype.kind == "f" else value.astype(np.int64)
        name = self.unique(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], name: str, output=None, **attributes) -> str:
        """Add a node; its output is ``output`` (a reserved name) or a new name from ``name``."""
        output = output or self.unique(name)
        self.nodes.append(
            self.onnx.helper.make_node(op, inputs, [output], name=output, **attributes)
        )
        return output

    def nodes_outputs(self, op: str, inputs: list[str], names: list[str], **attributes):
        """Add a node with several outputs, new names from ``names``; return them."""
        outputs = [self.unique(n) for n in names]
        self.nodes.append(
            self.onnx.helper.make_node(op, inputs, outputs, name=outputs[0], **attributes)
        )
        return outputs

    def layer(self, module, x: str, shape: tuple, name: str) -> str:
        """Write the one-input ``module`` on ``x``; its output tensor."""
        return self.emit(module, self, [x], [shape], name)[0][0]


def join(name: str, child: str) -> str:
    """The name of ``child`` inside the module called ``name`` (the root has no name)."""
    return f"{name}/{child}" if name else child

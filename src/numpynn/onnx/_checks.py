"""What a hostile ONNX file is refused for before any layer is built: an opset numpynn does
not know, tensor names defined twice, a node reading what nothing computes (a dangling
input) or what a later node computes (a cycle), and tensors whose bytes are not what they
declare (external data, a size their bytes do not hold, a dtype numpynn does not read, NaN).

Each check raises ``ValueError`` with the problem; ``Importer`` adds the file and the node.
"""

from __future__ import annotations

import math

import numpy as np

from numpynn.io import value_problem

MIN_OPSET = 7  # BatchNormalization and Dropout took their present form in opset 7

# the numeric element types a tensor may hold (ONNX's TensorProto.DataType names)
NUMERIC = {"FLOAT", "DOUBLE", "FLOAT16", "INT8", "INT16", "INT32", "INT64", "UINT8"}
NUMERIC |= {"UINT16", "UINT32", "UINT64", "BOOL"}
_TYPED_FIELDS = ("float_data", "double_data", "int32_data", "int64_data", "uint64_data")


def opset(onnx, proto) -> int:
    """The version of the standard operators ``proto`` imports, if numpynn reads it."""
    versions = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise ValueError("it imports no version of the standard operators (opset_import)")
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= versions[0] <= newest:
        raise ValueError(
            f"opset {versions[0]} is outside the {MIN_OPSET} to {newest} numpynn reads"
        )
    return versions[0]


def node_label(node, index: int) -> str:
    """``the operator Gemm (node 'fc1')``; a node without a name by its position."""
    name = repr(node.name[:100]) if node.name else f"#{index}"
    return f"the operator {node.op_type[:60]} (node {name})"


def graph_order(graph) -> list[tuple[int, str]]:
    """The problems of the graph's names and order, as (node index or -1, problem): every
    tensor named once, every node input computed before the node, every output computed."""
    defined, problems = {}, []
    for kind, names in (
        ("a graph input", [v.name for v in graph.input]),
        ("an initializer", [t.name for t in graph.initializer]),
    ):
        seen = set()
        for name in names:
            if not name:
                problems.append((-1, f"{kind} has no name"))
            elif name in seen:
                problems.append((-1, f"{kind} named {name[:100]!r} is defined twice"))
            seen.add(name)
            defined.setdefault(name, kind)
    later = {out for node in graph.node for out in node.output if out}
    for index, node in enumerate(graph.node):
        for name in node.input:
            if name and name not in defined:
                problem = (
                    "before the node that computes it: the graph has a cycle or is out of order"
                    if name in later
                    else "which no graph input, initializer or node computes (it dangles)"
                )
                problems.append((index, f"it reads {name[:100]!r} {problem}"))
        for name in node.output:
            if name in defined:
                problems.append((index, f"its output {name[:100]!r} is {defined[name]} too"))
            if name:
                defined[name] = "the output of another node"
    if not graph.output:
        problems.append((-1, "the graph has no outputs"))
    for value in graph.output:
        if value.name not in defined:
            problems.append((-1, f"the graph output {value.name[:100]!r} is computed by no node"))
    return problems


def _external(tensor) -> str | None:
    if tensor.data_location != tensor.EXTERNAL and not len(tensor.external_data):
        return None
    location = next((e.value for e in tensor.external_data if e.key == "location"), "")
    return location[:200]


def tensor_array(onnx, tensor) -> np.ndarray:
    """The array of ``tensor``, once its declared type and size are checked against the
    bytes it holds; external data is refused, never opened, and so are NaN and infinities."""
    location = _external(tensor)
    if location is not None:
        raise ValueError(
            f"its data is in an external file ({location!r}); numpynn reads only self-contained "
            "ONNX files and never opens another file: save it with save_as_external_data=False"
        )
    kind = onnx.TensorProto.DataType.Name(tensor.data_type) if _known(onnx, tensor) else None
    if kind not in NUMERIC:
        raise ValueError(
            f"its element type {kind or tensor.data_type} is not a number numpynn reads"
        )
    if any(d < 0 for d in tensor.dims):
        raise ValueError(f"its shape {list(tensor.dims)} has a negative size")
    count = math.prod(tensor.dims)
    itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    held = (
        len(tensor.raw_data) / itemsize
        if tensor.HasField("raw_data")
        else sum(len(getattr(tensor, f)) for f in _TYPED_FIELDS)
    )
    if held != count:
        raise ValueError(
            f"its shape {list(tensor.dims)[:8]} declares {count} values, its bytes hold {held:g}"
        )
    array = onnx.numpy_helper.to_array(tensor)
    problem = value_problem(tensor.name, array)  # NaN, infinities, negative variances
    if problem is not None:
        raise ValueError(f"it {problem}: a model with such weights computes NaN; refused")
    return array


def _known(onnx, tensor) -> bool:
    return tensor.data_type in onnx.TensorProto.DataType.values()

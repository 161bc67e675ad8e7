"""``export``: a numpynn model written as an ONNX graph, layer by layer through the table."""

from __future__ import annotations

import numpy as np

from numpynn._config import get_default_dtype
from numpynn.layers.keras_mixin import KerasLayer
from numpynn.model import Model
from numpynn.module import Module
from numpynn.onnx._files import IR_VERSION, OPSET, onnx_package, write
from numpynn.onnx._graph import Graph, join
from numpynn.onnx._table import EXPORTERS
from numpynn.sequential import Sequential


def emit(module: Module, g: Graph, xs: list[str], shapes: list[tuple], name: str):
    """Write ``module`` applied to the tensors ``xs``; return its output tensors and shapes."""
    if isinstance(module, Sequential):
        x, shape = xs[0], shapes[0]
        for layer in module:
            (x,), (shape,) = emit(layer, g, [x], [shape], join(name, module.layer_name(layer)))
        return [x], [shape]
    if isinstance(module, Model):
        return _emit_graph(module, g, xs, shapes, name)
    export = next((EXPORTERS[c] for c in type(module).__mro__ if c in EXPORTERS), None)
    if export is None:
        _unsupported(module, name)
    several = module.multi_input or len(xs) > 1
    out = export(module, g, xs if several else xs[0], shapes if several else shapes[0], name)
    out_shape = module.output_shape(tuple(shapes) if module.multi_input else shapes[0])
    if isinstance(out, list):  # Keras's return_state
        return out, [tuple(s) for s in out_shape]
    if isinstance(module, KerasLayer) and module.activation is not None:  # Dense, Conv2D
        (out,), _ = emit(module.activation, g, [out], [out_shape], f"{name}/activation")
    return [out], [tuple(out_shape)]


def _unsupported(module, name):
    exportable = sorted({c.__name__ for c in EXPORTERS})
    raise TypeError(
        f"onnx.export: the layer {module.describe()} (at {name!r}) has no ONNX "
        f"equivalent here; exportable: {', '.join(exportable)}, Sequential and Model"
    )


def _graph_calls(model: Model) -> list:
    """The layer calls of ``model``, each after its inputs (a layer with several outputs,
    a Keras LSTM with ``return_state``, once: its outputs name it as their ``node``)."""
    order, state, stack = [], {}, [t.node or t for t in reversed(model.outputs)]
    while stack:
        t = stack.pop()
        if t.layer is None or state.get(id(t)) == "done":
            continue
        if state.get(id(t)) == "open":  # its inputs are written: now it
            state[id(t)] = "done"
            order.append(t)
            continue
        state[id(t)] = "open"
        stack.append(t)
        stack.extend(p.node or p for p in reversed(t.inputs) if state.get(id(p)) != "done")
    return order


def _emit_graph(model: Model, g, xs, shapes, name):
    values = {id(t): (x, s) for t, x, s in zip(model.inputs, xs, shapes)}
    for t in _graph_calls(model):
        ins = [values[id(p)] for p in t.inputs]
        outs, out_shapes = emit(
            t.layer,
            g,
            [x for x, _ in ins],
            [s for _, s in ins],
            join(name, model.layer_name(t.layer)),
        )
        values[id(t)] = (outs[0], out_shapes[0])
        for piece, out, shape in zip(t.outputs, outs, out_shapes):
            values[id(piece)] = (out, shape)
    return [values[id(t)][0] for t in model.outputs], [values[id(t)][1] for t in model.outputs]


def _int64_inputs(g: Graph, input_names: list[str]) -> set[str]:
    """Graph inputs read only as Embedding indices: declared int64, their Casts removed."""
    result = set()
    for name in input_names:
        readers = [n for n in g.nodes if name in n.input]
        if readers and all(n.op_type == "Cast" and n.output[0] in g.index_casts for n in readers):
            result.add(name)
            for cast in readers:
                g.nodes.remove(cast)
                for node in g.nodes:
                    for i, value in enumerate(node.input):
                        if value == cast.output[0]:
                            node.input[i] = name
    return result


def _input_shapes(model, example_input, input_shape) -> list[tuple]:
    """(None, ...) for each input: from the example, the given shape, or the model."""
    if example_input is not None:
        examples = example_input if isinstance(example_input, (list, tuple)) else [example_input]
        return [(None, *np.shape(x)[1:]) for x in examples]
    if input_shape is not None:
        several = (
            isinstance(input_shape, list) and input_shape and not isinstance(input_shape[0], int)
        )
        return [(None, *s) for s in (input_shape if several else [input_shape])]
    if isinstance(model, Model):
        return [t.shape for t in model.inputs]
    shape = getattr(model, "input_shape", None)
    if shape is None:
        raise ValueError(
            "onnx.export: the model's input shape is unknown; give example_input (a batch) or "
            "input_shape (one sample's shape, without the batch)"
        )
    return [tuple(shape)]


def _io_names(model, count: int) -> tuple[list[str], list[str]]:
    if isinstance(model, Model):
        return model.input_names, model.output_names
    if isinstance(model, Sequential):
        return ["input"], model.output_names
    return (["input"] if count == 1 else [f"input_{i + 1}" for i in range(count)]), ["output"]


def _value_info(onnx, name, shape, indices=False):
    dims = ["N" if i == 0 else d for i, d in enumerate(shape)]
    if any(d is None for d in dims):
        raise ValueError(
            f"onnx.export: the size of every axis but the batch must be known: {name} {shape}"
        )
    kind = onnx.TensorProto.INT64 if indices else onnx.TensorProto.FLOAT
    return onnx.helper.make_tensor_value_info(name, kind, dims)


def _build(model, example_input, input_shape):
    """Build lazy layers from the example or the shape; the input shapes, batch first."""
    if example_input is not None:
        model(example_input)
    elif input_shape is not None and not model.built:
        shapes = _input_shapes(model, None, input_shape)
        model(*[np.zeros((1, *s[1:]), get_default_dtype()) for s in shapes])
    return _input_shapes(model, example_input, input_shape)


def _model_proto(onnx, model, g, inputs, outputs):
    """The ModelProto of the graph ``g``: ``inputs`` and ``outputs`` are (name, shape) pairs."""
    indices = _int64_inputs(g, [n for n, _ in inputs])
    helper = onnx.helper
    graph = helper.make_graph(
        g.nodes,
        model.name if isinstance(getattr(model, "name", None), str) else type(model).__name__,
        [_value_info(onnx, n, s, n in indices) for n, s in inputs],
        [_value_info(onnx, n, s) for n, s in outputs],
        initializer=g.initializers,
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="numpynn",
    )


def export(model: Module, path, example_input=None, input_shape=None) -> None:
    """Write ``model`` (eval mode, float32) to ``path`` as an ONNX graph, opset 17, IR 8.

    Args:
        model: a Sequential, a functional Model (several inputs and outputs are kept) or a
            single layer.
        example_input: a batch (or a list, one per input); runs the model once, so lazy
            layers are built. Its batch size does not matter: the batch is dynamic.
        input_shape: one sample's shape without the batch (a list of them for several
            inputs), instead of ``example_input``; not needed for a functional Model.

    Inputs and outputs take the model's names (``input_1``, ``dense_2``; ``input`` and
    ``output`` for a single layer). Weights are written as float32: ONNX Runtime has no
    float64 convolution on the CPU.

    >>> import os, tempfile, numpy as np, numpynn as nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    >>> nn.onnx.export(model, path, input_shape=(4,))
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    >>> x = np.ones((2, 4), dtype=np.float32)
    >>> bool(np.allclose(session.run(None, {"input": x})[0], model(x), atol=1e-6))
    True
    """
    onnx = onnx_package()
    was_training = model.training
    model.eval()
    try:
        shapes = _build(model, example_input, input_shape)
        input_names, output_names = _io_names(model, len(shapes))
        g = Graph(onnx, emit)
        g.taken.update(input_names + output_names)
        root = "" if isinstance(model, (Sequential, Model)) else type(model).__name__.lower()
        outputs, out_shapes = emit(model, g, list(input_names), shapes, root)
    finally:
        model.train(was_training)
    for i, (out, name) in enumerate(zip(outputs, output_names)):
        # each output its own named tensor (an output may be an input or another output)
        outputs[i] = g.node("Identity", [out], name, output=name)
    inputs = list(zip(input_names, shapes))
    write(_model_proto(onnx, model, g, inputs, list(zip(outputs, out_shapes))), path)

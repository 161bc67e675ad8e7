"""ONNX export and import: serve a numpynn model with ONNX Runtime, run an ONNX graph here.

``nn.onnx.export(model, "model.onnx", example_input)`` writes the model in eval mode (Dropout
is no node at all, BatchNorm uses its running statistics) as an ONNX graph of opset 17, IR
version 8 (what ONNX Runtime 1.17 and later read), float32, with a dynamic batch dimension
and the model's input and output names. The graph is checked with
``onnx.checker.check_model(full_check=True)`` before the file is written, atomically: a
layer without an ONNX equivalent is an error that names it, never a partial file.

The sequence layers: Embedding is a Gather (a graph input read only as indices is declared
int64); RNN, LSTM and GRU are ONNX's RNN/LSTM/GRU nodes, one per layer of a stack, both
directions in one node, gates reordered from PyTorch's (LSTM i, f, g, o to ONNX's i, o, f,
c; GRU r, z, n to z, r, h, with ``linear_before_reset=1``), a zero initial state, and
Transposes for ``batch_first``; a bare layer's graph gives its output sequence (not h_n),
Keras's layers their results (last step, sequences, ``return_state``'s several outputs).
MultiheadAttention (self-attention, no masks) and TransformerEncoderLayer/TransformerEncoder
are MatMul, Softmax, Add and LayerNormalization nodes.

``nn.onnx.load("model.onnx")`` builds a functional ``nn.Model`` from a graph made of the
same operators (Gemm, MatMul + Add, Conv, MaxPool, AveragePool, GlobalAveragePool,
BatchNormalization, LayerNormalization, Relu, LeakyRelu, Elu, Sigmoid, Tanh, Softplus,
Softmax, LogSoftmax, Flatten, Reshape, Identity, Dropout, Add, Sub, Mul, Sum, Mean, Concat,
Sub + Div by constants as ``Normalization``, and the formulas ``export`` writes for GELU
and Softplus with beta and threshold; Gather as ``Embedding``; one-direction RNN/LSTM/GRU
nodes on a batch-first input as Keras's ``SimpleRNN``/``LSTM``/``GRU``, with their
sequences, ``out[:, -1]`` or ``h_n[-1]``): PyTorch models exported with
``torch.onnx.export(..., dynamo=False)`` and numpynn's own exports. An operator outside that
set is an error naming it and its node. Attention and bidirectional layers are exported but
not read back.

The packages ``onnx`` (and ``onnxruntime`` to run the result) are imported only here, when
used: ``pip install "numpynn[onnx]"``. This module is ``numpynn.onnx``; the ``import onnx``
statements inside it are absolute and reach the package, not this module.
"""

from __future__ import annotations

import math
import os

import numpy as np

from numpynn import functional as F
from numpynn import layers as L
from numpynn._config import get_default_dtype
from numpynn._files import atomic_write
from numpynn.layers.recurrent import KerasRecurrent
from numpynn.model import Input, Model
from numpynn.module import Module
from numpynn.sequential import Sequential

OPSET, IR_VERSION = 17, 8


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError('ONNX export and import need onnx: pip install "numpynn[onnx]"') from None
    return onnx


# --- export ----------------------------------------------------------------------------------


class _Graph:
    """The nodes and initializers being written, with unique tensor names."""

    def __init__(self, onnx):
        self.onnx, self.nodes, self.initializers, self.taken = onnx, [], [], set()
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


def _sizes(layer, shape, value):
    """The last ``len(shape) - 2`` entries of a pair stored for 2-D (Conv1d keeps (1, k))."""
    return [int(v) for v in value[-(len(shape) - 2) :]]


def _pads(layer, shape, dilation) -> list[int]:
    """ONNX's pads (all befores, then all afters) for numpynn's padding of ``layer``."""
    spatial = len(shape) - 2
    kernel, stride = _sizes(layer, shape, layer.kernel_size), _sizes(layer, shape, layer.stride)
    if layer.padding == "valid":
        pairs = [(0, 0)] * spatial
    elif layer.padding == "same":
        if None in shape[2:]:
            raise ValueError(
                f"onnx.export: {layer.describe()} pads 'same' for the input's size, which must "
                f"be known; got {shape}: give example_input or input_shape"
            )
        pairs = [
            F.same_padding(n, k, s, d) for n, k, s, d in zip(shape[2:], kernel, stride, dilation)
        ]
    else:
        pairs = [(p, p) for p in _sizes(layer, shape, layer.padding)]
    return [b for b, _ in pairs] + [a for _, a in pairs]


def _export_linear(layer, g, x, shape, name):
    weight = layer.weight.data
    if len(shape) == 2:
        inputs = [x, g.constant(weight, f"{name}.weight")]
        if layer.bias is not None:
            inputs.append(g.constant(layer.bias.data, f"{name}.bias"))
        return g.node("Gemm", inputs, name, transB=1)
    out = g.node("MatMul", [x, g.constant(weight.T, f"{name}.weight")], name)
    if layer.bias is not None:
        out = g.node("Add", [out, g.constant(layer.bias.data, f"{name}.bias")], f"{name}/bias")
    return out


def _export_conv(layer, g, x, shape, name):
    dilation = _sizes(layer, shape, layer.dilation)
    inputs = [x, g.constant(layer.weight.data, f"{name}.weight")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias.data, f"{name}.bias"))
    return g.node(
        "Conv",
        inputs,
        name,
        kernel_shape=_sizes(layer, shape, layer.kernel_size),
        strides=_sizes(layer, shape, layer.stride),
        dilations=dilation,
        pads=_pads(layer, shape, dilation),
        group=layer.groups,
    )


def _export_pool(layer, g, x, shape, name):
    attributes = {
        "kernel_shape": _sizes(layer, shape, layer.kernel_size),
        "strides": _sizes(layer, shape, layer.stride),
        "pads": _pads(layer, shape, [1] * (len(shape) - 2)),
    }
    if isinstance(layer, L.AvgPool2d):  # numpynn averages padded zeros too
        return g.node("AveragePool", [x], name, count_include_pad=1, **attributes)
    return g.node("MaxPool", [x], name, **attributes)


def _export_batch_norm(layer, g, x, shape, name):
    c = layer.num_features
    ones, zeros = np.ones(c), np.zeros(c)
    inputs = [
        x,
        g.constant(layer.weight.data if layer.affine else ones, f"{name}.weight"),
        g.constant(layer.bias.data if layer.affine else zeros, f"{name}.bias"),
        g.constant(layer.running_mean, f"{name}.running_mean"),
        g.constant(layer.running_var, f"{name}.running_var"),
    ]
    return g.node("BatchNormalization", inputs, name, epsilon=float(layer.eps))


def _export_layer_norm(layer, g, x, shape, name):
    normalized = layer.normalized_shape
    affine = layer.elementwise_affine
    inputs = [
        x,
        g.constant(layer.weight.data if affine else np.ones(normalized), f"{name}.weight"),
        g.constant(layer.bias.data if affine else np.zeros(normalized), f"{name}.bias"),
    ]
    return g.node(
        "LayerNormalization", inputs, name, axis=-len(normalized), epsilon=float(layer.eps)
    )


def _export_normalization(layer, g, x, shape, name):
    broadcast = [1] * len(shape)
    broadcast[layer.axis % len(shape)] = -1
    std = np.sqrt(layer.variance)
    std = np.where(std > 0, std, 1).astype(std.dtype)  # as the layer: constant features centred
    centred = g.node("Sub", [x, g.constant(layer.mean.reshape(broadcast), f"{name}.mean")], name)
    return g.node("Div", [centred, g.constant(std.reshape(broadcast), f"{name}.std")], name)


def _export_reshape(layer, g, x, shape, name):
    out = layer.output_shape(shape)
    if sum(d is None for d in out) > 1:
        raise ValueError(f"onnx.export: {layer.describe()} on {shape}: sizes must be known")
    target = [-1 if d is None else d for d in out]
    return g.node("Reshape", [x, g.constant(np.array(target), f"{name}.shape")], name)


def _export_gelu(layer, g, x, shape, name):
    half = g.constant(0.5, f"{name}.half")
    one = g.constant(1.0, f"{name}.one")
    if layer.approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x], name), x], name)
        inner = g.node("Add", [x, g.node("Mul", [cube, g.constant(0.044715, name)], name)], name)
        scaled = g.node("Mul", [inner, g.constant(math.sqrt(2 / math.pi), name)], name)
        core = g.node("Tanh", [scaled], name)
    else:  # x Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))
        core = g.node("Erf", [g.node("Div", [x, g.constant(math.sqrt(2), name)], name)], name)
    return g.node("Mul", [g.node("Mul", [x, half], name), g.node("Add", [core, one], name)], name)


def _export_softplus(layer, g, x, shape, name):
    # log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
    beta = g.constant(layer.beta, f"{name}.beta")
    bx = g.node("Mul", [x, beta], name)
    smooth = g.node("Div", [g.node("Softplus", [bx], name), beta], name)
    linear = g.node("Greater", [bx, g.constant(layer.threshold, f"{name}.threshold")], name)
    return g.node("Where", [linear, x, smooth], name)


def _export_global_average(layer, g, x, shape, name):
    pooled = g.node("GlobalAveragePool", [x], name)
    if isinstance(layer, L.GlobalAveragePooling2D):
        return g.node("Flatten", [pooled], name, axis=1)
    return pooled


def _export_merge(layer, g, xs, shapes, name):
    if isinstance(layer, L.Concatenate):
        return g.node("Concat", xs, name, axis=layer.axis)
    if isinstance(layer, L.Subtract):
        return g.node("Sub", xs, name)
    if isinstance(layer, L.Average):
        return g.node("Mean", xs, name)
    if isinstance(layer, L.Add):
        return g.node("Sum", xs, name)
    out = xs[0]  # Multiply: the product from left to right, as the layer computes it
    for x in xs[1:]:
        out = g.node("Mul", [out, x], name)
    return out


def _simple(op, **attributes):
    def export(layer, g, x, shape, name):
        values = {k: (v(layer) if callable(v) else v) for k, v in attributes.items()}
        return g.node(op, [x], name, **values)

    return export


def _passthrough(layer, g, x, shape, name):
    return x  # Dropout and Identity in eval mode: no node at all


_EXPORTERS = {
    L.Linear: _export_linear,
    L.Conv2d: _export_conv,  # and Conv1d, Conv2D: subclasses
    L.MaxPool2d: _export_pool,  # and MaxPool1d, MaxPooling2D
    L.AvgPool2d: _export_pool,
    L.AdaptiveAvgPool2d: _export_global_average,
    L.BatchNorm1d: _export_batch_norm,
    L.BatchNorm2d: _export_batch_norm,
    L.BatchNormalization: _export_batch_norm,
    L.LayerNorm: _export_layer_norm,
    L.Normalization: _export_normalization,
    L.Flatten: _export_reshape,
    L.Reshape: _export_reshape,
    L.Dropout: _passthrough,
    L.Identity: _passthrough,
    L.ReLU: _simple("Relu"),
    L.LeakyReLU: _simple("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
    L.ELU: _simple("Elu", alpha=lambda m: float(m.alpha)),
    L.Sigmoid: _simple("Sigmoid"),
    L.Tanh: _simple("Tanh"),
    L.Softmax: _simple("Softmax", axis=lambda m: m.axis),
    L.LogSoftmax: _simple("LogSoftmax", axis=lambda m: m.axis),
    L.GELU: _export_gelu,
    L.Softplus: _export_softplus,
}


# --- sequence layers: Embedding, RNN/LSTM/GRU (and Keras's), attention, Transformer encoder ---

# the gates of PyTorch's layout (LSTM i, f, g, o; GRU r, z, n) in ONNX's (i, o, f, c; z, r, h)
_GATE_ORDER = {"RNN": [0], "LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}


def _export_embedding(layer, g, x, shape, name):
    # the indices as int64: a float graph input (a Keras Input) is cast, and an input that
    # only feeds Embeddings is declared int64 instead (see _int64_inputs)
    indices = g.node("Cast", [x], f"{name}/indices", to=g.onnx.TensorProto.INT64)
    g.index_casts.add(indices)
    weight = g.constant(layer.weight.data, f"{name}.weight")
    return g.node("Gather", [weight, indices], name, axis=0)


def _recurrent_op(layer) -> str:
    for op in ("LSTM", "GRU", "RNN"):
        if isinstance(layer, getattr(L, op)):
            return op
    raise TypeError(f"onnx.export: {layer.describe()} is not an RNN, LSTM or GRU")


def _recurrent_weights(layer, g, suffixes, op, name):
    """W, R (and B) of one layer of ``layer``: directions stacked, gates in ONNX's order."""
    h, order = layer.hidden_size, _GATE_ORDER[op]

    def gates(a):
        return np.concatenate([a[k * h : (k + 1) * h] for k in order])

    w = [gates(getattr(layer, "weight_ih" + s).data) for s in suffixes]
    r = [gates(getattr(layer, "weight_hh" + s).data) for s in suffixes]
    inputs = [g.constant(np.stack(w), f"{name}.W"), g.constant(np.stack(r), f"{name}.R")]
    if layer.bias:  # ONNX's B: [W_b, R_b] per direction
        b = [
            np.concatenate(
                [
                    gates(getattr(layer, "bias_ih" + s).data),
                    gates(getattr(layer, "bias_hh" + s).data),
                ]
            )
            for s in suffixes
        ]
        inputs.append(g.constant(np.stack(b), f"{name}.B"))
    return inputs


def _export_recurrent(layer, g, x, shape, name):
    """One ONNX RNN/LSTM/GRU node per layer of the stack (time-major in and out, zero
    initial state); Transposes around the stack for batch_first; Keras's results."""
    op = _recurrent_op(layer)
    h, directions = layer.hidden_size, layer.num_directions
    seq = g.node("Transpose", [x], f"{name}/time_major", perm=[1, 0, 2]) if layer.batch_first else x
    attributes = {"hidden_size": h}
    attributes["direction"] = "bidirectional" if directions == 2 else "forward"
    if op == "RNN":
        attributes["activations"] = [layer.nonlinearity.capitalize()] * directions
    if op == "GRU":
        attributes["linear_before_reset"] = 1  # PyTorch's: r applied to (h W_hn^T + b_hn)
    keras = isinstance(layer, KerasRecurrent)
    last_step_only = keras and not layer.return_sequences
    for k in range(layer.num_layers):
        where = f"{name}/l{k}"
        inputs = [seq, *_recurrent_weights(layer, g, layer._suffixes(k), op, f"{name}.l{k}")]
        names = [f"{where}/Y", f"{where}/Y_h"] + ([f"{where}/Y_c"] if op == "LSTM" else [])
        outputs = g.nodes_outputs(op, inputs, names, **attributes)
        finals = outputs[1:]
        if last_step_only:  # Keras: one layer; Y is left unread
            break
        if directions == 1:  # Y is (T, directions, N, H)
            seq = g.node("Squeeze", [outputs[0], g.constant([1], f"{where}.axes")], where)
        else:
            swapped = g.node("Transpose", [outputs[0]], where, perm=[0, 2, 1, 3])
            seq = g.node("Reshape", [swapped, g.constant([0, 0, -1], f"{where}.shape")], where)
    if not last_step_only and layer.batch_first:
        seq = g.node("Transpose", [seq], f"{name}/batch_first", perm=[1, 0, 2])
    if not keras:
        return seq  # h_n and c_n are not written: the graph's result is the output
    wanted = finals if layer.return_state else finals[:1] if last_step_only else []
    axes = g.constant([0], f"{name}.state_axes") if wanted else None  # one layer, direction
    states = [g.node("Squeeze", [s, axes], f"{name}/state") for s in wanted]
    result = states[0] if last_step_only else seq  # the last output is h_n
    return [result, *states] if layer.return_state else result


def _project_heads(layer, g, x, i, perm, name):
    """Rows i*E:(i+1)*E of in_proj applied to x (N, L, E), split into heads and permuted."""
    e, heads = layer.embed_dim, layer.num_heads
    w = layer.in_proj_weight.data[i * e : (i + 1) * e]
    y = g.node("MatMul", [x, g.constant(w.T, f"{name}.weight")], name)
    if layer.in_proj_bias is not None:
        bias = layer.in_proj_bias.data[i * e : (i + 1) * e]
        y = g.node("Add", [y, g.constant(bias, f"{name}.bias")], name)
    y = g.node("Reshape", [y, g.constant([0, 0, heads, e // heads], f"{name}.shape")], name)
    return g.node("Transpose", [y], name, perm=perm)


def _export_attention(layer, g, xs, name):
    """softmax(q k^T / sqrt(d)) v per head, as MatMul/Softmax nodes; without masks. One
    input is self-attention; three are query, key, value."""
    xs = xs * 3 if len(xs) == 1 else xs
    if not layer.batch_first:  # (N, L, E) inside
        xs = [g.node("Transpose", [x], f"{name}/batch_first", perm=[1, 0, 2]) for x in xs]
    q = _project_heads(layer, g, xs[0], 0, [0, 2, 1, 3], f"{name}/q")  # (N, heads, L, d)
    k = _project_heads(layer, g, xs[1], 1, [0, 2, 3, 1], f"{name}/k")  # (N, heads, d, S)
    v = _project_heads(layer, g, xs[2], 2, [0, 2, 1, 3], f"{name}/v")  # (N, heads, S, d)
    scale = g.constant(1 / math.sqrt(layer.embed_dim // layer.num_heads), f"{name}.scale")
    scores = g.node("Mul", [g.node("MatMul", [q, k], f"{name}/scores"), scale], f"{name}/scores")
    weights = g.node("Softmax", [scores], f"{name}/weights", axis=-1)
    heads = g.node("Transpose", [g.node("MatMul", [weights, v], name)], name, perm=[0, 2, 1, 3])
    merged = g.node("Reshape", [heads, g.constant([0, 0, layer.embed_dim], f"{name}.shape")], name)
    out = _export_linear(
        layer.out_proj, g, merged, (None, None, layer.embed_dim), f"{name}/out_proj"
    )
    if not layer.batch_first:
        out = g.node("Transpose", [out], f"{name}/seq_first", perm=[1, 0, 2])
    return out


def _export_encoder_layer(layer, g, x, shape, name):
    def sub(module, t, child, out_shape=shape):
        return _emit(module, g, [t], [out_shape], _join(name, child))[0][0]

    def attention(t):
        return _export_attention(layer.self_attn, g, [t], _join(name, "self_attn"))

    def feed_forward(t):
        inner = (*shape[:-1], layer.linear1.out_features)
        t = sub(layer.activation, sub(layer.linear1, t, "linear1", inner), "activation", inner)
        return sub(layer.linear2, t, "linear2")

    if layer.norm_first:  # x + SA(norm1(x)), then + FF(norm2(.))
        x = g.node("Add", [x, attention(sub(layer.norm1, x, "norm1"))], f"{name}/residual")
        return g.node("Add", [x, feed_forward(sub(layer.norm2, x, "norm2"))], f"{name}/residual")
    x = sub(layer.norm1, g.node("Add", [x, attention(x)], f"{name}/residual"), "norm1")
    return sub(layer.norm2, g.node("Add", [x, feed_forward(x)], f"{name}/residual"), "norm2")


def _export_encoder(layer, g, x, shape, name):
    for i, encoder_layer in enumerate(layer.layers):
        x = _export_encoder_layer(encoder_layer, g, x, shape, _join(name, f"layers.{i}"))
    if layer.norm is not None:
        x = _emit(layer.norm, g, [x], [shape], _join(name, "norm"))[0][0]
    return x


def _emit_sequence_layer(module, g, xs, shapes, name):
    """The sequence layers' outputs and shapes, or None if ``module`` is none of them."""
    shape = shapes[0]
    if isinstance(module, L.MultiheadAttention):
        return [_export_attention(module, g, xs, name)], [shape]
    exporters = [
        (L.Embedding, _export_embedding),
        (L.RNNBase, _export_recurrent),
        (L.TransformerEncoderLayer, _export_encoder_layer),
        (L.TransformerEncoder, _export_encoder),
    ]
    for cls, export in exporters:
        if isinstance(module, cls):
            out = export(module, g, xs[0], shape, name)
            out_shape = (
                shape if cls.__name__.startswith("Transformer") else module.output_shape(shape)
            )
            if isinstance(out, list):
                return out, [tuple(s) for s in out_shape]
            return [out], [tuple(out_shape)]
    return None


def _int64_inputs(g: _Graph, input_names: list[str]) -> set[str]:
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


def _emit(module: Module, g: _Graph, xs: list[str], shapes: list[tuple], name: str):
    """Write ``module`` applied to the tensors ``xs``; return its output tensors and shapes."""
    if isinstance(module, Sequential):
        x, shape = xs[0], shapes[0]
        for layer in module:
            (x,), (shape,) = _emit(layer, g, [x], [shape], _join(name, module.layer_name(layer)))
        return [x], [shape]
    if isinstance(module, Model):
        return _emit_graph(module, g, xs, shapes, name)
    if isinstance(module, L.Activation):
        return _emit(module.activation, g, xs, shapes, name)
    if isinstance(module, L.SiLU):  # x sigmoid(x)
        return [g.node("Mul", [xs[0], g.node("Sigmoid", xs, name)], name)], shapes
    sequence = _emit_sequence_layer(module, g, xs, shapes, name)
    if sequence is not None:
        return sequence
    if module.multi_input:
        if not isinstance(module, (L.Add, L.Subtract, L.Multiply, L.Average, L.Concatenate)):
            _unsupported(module, name)
        return [_export_merge(module, g, xs, shapes, name)], [module.output_shape(tuple(shapes))]
    export = next((_EXPORTERS[c] for c in type(module).__mro__ if c in _EXPORTERS), None)
    if export is None:
        _unsupported(module, name)
    out = export(module, g, xs[0], shapes[0], name)
    activation = getattr(module, "activation", None)  # Dense and Conv2D apply one
    if isinstance(activation, Module) and not isinstance(module, L.Activation):
        (out,), _ = _emit(activation, g, [out], shapes, f"{name}/activation")
    return [out], [module.output_shape(shapes[0])]


def _join(name: str, child: str) -> str:
    return f"{name}/{child}" if name else child


def _unsupported(module, name):
    supported = sorted(c.__name__ for c in _EXPORTERS) + ["Activation", "SiLU", "merge layers"]
    raise TypeError(
        f"onnx.export: the layer {module.describe()} (at {name!r}) has no ONNX "
        f"equivalent here; exportable: {', '.join(supported)}, Sequential and Model"
    )


def _graph_calls(model: Model) -> list:
    """The symbolic tensors of ``model`` that layers compute, each after its inputs."""
    order, state, stack = [], {}, list(reversed(model.outputs))
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
        stack.extend(p for p in reversed(t.inputs) if state.get(id(p)) != "done")
    return order


def _emit_graph(model: Model, g, xs, shapes, name):
    values = {id(t): (x, s) for t, x, s in zip(model.inputs, xs, shapes)}
    for t in _graph_calls(model):
        ins = [values[id(p)] for p in t.inputs]
        (out,), (shape,) = _emit(
            t.layer,
            g,
            [x for x, _ in ins],
            [s for _, s in ins],
            _join(name, model.layer_name(t.layer)),
        )
        values[id(t)] = (out, shape)
    return [values[id(t)][0] for t in model.outputs], [values[id(t)][1] for t in model.outputs]


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
    onnx = _onnx()
    was_training = model.training
    model.eval()
    try:
        if example_input is not None:
            model(example_input)  # builds lazy layers
        elif input_shape is not None and not model.built:
            shapes = _input_shapes(model, None, input_shape)
            model(*[np.zeros((1, *s[1:]), get_default_dtype()) for s in shapes])
        shapes = _input_shapes(model, example_input, input_shape)
        input_names, output_names = _io_names(model, len(shapes))
        g = _Graph(onnx)
        g.taken.update(input_names + output_names)
        root = "" if isinstance(model, (Sequential, Model)) else type(model).__name__.lower()
        outputs, out_shapes = _emit(model, g, list(input_names), shapes, root)
    finally:
        model.train(was_training)
    for i, (out, name) in enumerate(zip(outputs, output_names)):
        # each output its own named tensor (an output may be an input or another output)
        outputs[i] = g.node("Identity", [out], name, output=name)
    indices = _int64_inputs(g, input_names)
    helper = onnx.helper
    graph = helper.make_graph(
        g.nodes,
        model.name if isinstance(getattr(model, "name", None), str) else type(model).__name__,
        [_value_info(onnx, n, s, n in indices) for n, s in zip(input_names, shapes)],
        [_value_info(onnx, n, s) for n, s in zip(outputs, out_shapes)],
        initializer=g.initializers,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="numpynn",
    )
    onnx.checker.check_model(proto, full_check=True)
    with atomic_write(path) as file:
        file.write(proto.SerializeToString())


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


def export_command(model_path, onnx_path) -> str:
    """``numpynn export model.npz model.onnx``: the saved model as ONNX; a line to print."""
    from numpynn.io import load_model

    model = load_model(model_path, compile=False)
    export(model, onnx_path)
    inputs = model.input_names if isinstance(model, Model) else ["input"]
    return f"wrote {onnx_path} (opset {OPSET}; inputs {', '.join(inputs)})"


# --- import ----------------------------------------------------------------------------------

_LOADABLE = (
    "Gemm, MatMul, Conv, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, "
    "LayerNormalization, Relu, LeakyRelu, Elu, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax, "
    "Flatten, Reshape, Identity, Dropout, Add, Sub, Mul, Sum, Mean, Concat, Constant, "
    "Gather (Embedding), Cast to int64, RNN, LSTM and GRU (one direction, batch-first, with "
    "their Transposes and Squeezes); "
    "GELU's, Softplus's and Normalization's formulas as export writes them"
)


class _LayerOps:
    """ONNX operators that become one numpynn layer each (Gemm, Conv, pools, norms,
    activations, shapes). Each ``op_X(node, attributes)`` of these classes adds the layers of
    one node (or of a fused pair); ``_Importer.run`` calls them by the node's operator."""

    def op_Constant(self, node, a):
        tensor = a.get("value")
        if tensor is None:
            self.fail(node, "only tensor constants are supported")
        self.constants[node.output[0]] = self.onnx.numpy_helper.to_array(tensor)

    def op_Gemm(self, node, a):
        if a.get("transA", 0):
            self.fail(node, "transA=1 is not supported")
        weight = self.constant(node, node.input[1])
        if a.get("alpha", 1.0) != 1.0:
            weight = weight * a["alpha"]
        weight = weight if a.get("transB", 0) else weight.T  # (out, in)
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = self.constant(node, node.input[2]) * a.get("beta", 1.0)
            bias = np.broadcast_to(bias, (weight.shape[0],))
        self._linear(node, weight, bias, node.output[0])

    def op_MatMul(self, node, a):
        if node.input[1] not in self.constants or self.constants[node.input[1]].ndim != 2:
            self.fail(node, "only a product with a constant matrix (a Linear layer) is supported")
        weight, bias, output = self.constants[node.input[1]].T, None, node.output[0]
        add = self.only_consumer(node.output[0], "Add")
        if add is not None:
            other = [i for i in add.input if i != node.output[0]]
            if len(other) == 1 and other[0] in self.constants:
                candidate = self.constants[other[0]]
                if candidate.shape == (weight.shape[0],):
                    bias, output = candidate, add.output[0]
                    self.skip.add(id(add))
        self._linear(node, weight, bias, output)

    def _linear(self, node, weight, bias, output):
        layer = L.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
        _fill(layer.weight, weight)
        if bias is not None:
            _fill(layer.bias, bias)
        self.add(node, layer, node.input[:1], output)

    def _padding(self, node, a, shape, kernel, stride, dilation):
        """numpynn's padding for ONNX's pads (or auto_pad) on an input of ``shape``."""
        auto = a.get("auto_pad", "NOTSET")
        spatial = len(kernel)
        if auto == "VALID":
            return 0
        if auto == "SAME_UPPER":
            return "same"
        if auto != "NOTSET":
            self.fail(node, f"auto_pad={auto} is not supported")
        pads = list(a.get("pads", [0] * 2 * spatial))
        pairs = list(zip(pads[:spatial], pads[spatial:]))
        if all(b == e for b, e in pairs):
            return tuple(b for b, _ in pairs) if spatial == 2 else pairs[0][0]
        same = [
            F.same_padding(n, k, s, d) for n, k, s, d in zip(shape[2:], kernel, stride, dilation)
        ]
        if pairs == same:
            return "same"
        self.fail(node, f"asymmetric pads {pads} are supported only as 'same' padding")

    def op_Conv(self, node, a):
        weight = self.constant(node, node.input[1])
        spatial = weight.ndim - 2
        if spatial not in (1, 2):
            self.fail(node, f"{spatial}-D convolution is not supported")
        kernel = list(weight.shape[2:])
        stride, dilation = a.get("strides", [1] * spatial), a.get("dilations", [1] * spatial)
        shape = self.tensors[node.input[0]].shape
        padding = self._padding(node, a, shape, kernel, stride, dilation)
        group = a.get("group", 1)
        bias = self.constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        cls = L.Conv2d if spatial == 2 else L.Conv1d
        one = (lambda v: v) if spatial == 2 else (lambda v: v[0])
        layer = cls(
            weight.shape[1] * group,
            weight.shape[0],
            one(kernel),
            stride=one(stride),
            padding=padding,
            dilation=one(dilation),
            groups=group,
            bias=bias is not None,
        )
        _fill(layer.weight, weight)
        if bias is not None:
            _fill(layer.bias, bias)
        self.add(node, layer, node.input[:1])

    def _pool(self, node, a, average):
        if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])):
            self.fail(node, "ceil_mode and dilations are not supported")
        if len(node.output) > 1 and node.output[1]:
            self.fail(node, "the indices output is not supported")
        kernel = list(a["kernel_shape"])
        stride = list(a.get("strides", [1] * len(kernel)))
        shape = self.tensors[node.input[0]].shape
        padding = self._padding(node, a, shape, kernel, stride, [1] * len(kernel))
        if average and padding != 0 and not a.get("count_include_pad", 0):
            self.fail(node, "count_include_pad=0 with padding is not supported")
        if len(kernel) == 2:
            cls = L.AvgPool2d if average else L.MaxPool2d
            layer = cls(tuple(kernel), tuple(stride), padding)
        elif len(kernel) == 1 and not average:
            layer = L.MaxPool1d(kernel[0], stride[0], padding)
        else:
            self.fail(node, f"{len(kernel)}-D {'average' if average else 'max'} pooling")
        self.add(node, layer, node.input[:1])

    def op_MaxPool(self, node, a):
        self._pool(node, a, average=False)

    def op_AveragePool(self, node, a):
        self._pool(node, a, average=True)

    def op_GlobalAveragePool(self, node, a):
        self.add(node, L.AdaptiveAvgPool2d(1), node.input[:1])

    def op_BatchNormalization(self, node, a):
        if a.get("training_mode", 0):
            self.fail(node, "training_mode=1 is not supported")
        scale, bias, mean, var = (self.constant(node, n) for n in node.input[1:5])
        rank = len(self.tensors[node.input[0]].shape)
        cls = L.BatchNorm2d if rank == 4 else L.BatchNorm1d
        layer = cls(
            len(mean), eps=a.get("epsilon", 1e-5), momentum=round(1 - a.get("momentum", 0.9), 12)
        )
        for target, value in ((layer.weight, scale), (layer.bias, bias)):
            _fill(target, value)
        layer.running_mean[...], layer.running_var[...] = mean, var
        self.add(node, layer, node.input[:1])

    def op_LayerNormalization(self, node, a):
        scale = self.constant(node, node.input[1])
        rank = len(self.tensors[node.input[0]].shape)
        if a.get("axis", -1) % rank != rank - scale.ndim:
            self.fail(
                node, f"axis {a.get('axis', -1)} does not match the scale's shape {scale.shape}"
            )
        layer = L.LayerNorm(scale.shape, eps=a.get("epsilon", 1e-5))
        _fill(layer.weight, scale)
        if len(node.input) > 2 and node.input[2]:
            _fill(layer.bias, self.constant(node, node.input[2]))
        self.add(node, layer, node.input[:1])

    def op_Relu(self, node, a):
        self.add(node, L.ReLU(), node.input[:1])

    def op_LeakyRelu(self, node, a):
        self.add(node, L.LeakyReLU(a.get("alpha", 0.01)), node.input[:1])

    def op_Elu(self, node, a):
        self.add(node, L.ELU(a.get("alpha", 1.0)), node.input[:1])

    def op_Sigmoid(self, node, a):
        self.add(node, L.Sigmoid(), node.input[:1])

    def op_Tanh(self, node, a):
        self.add(node, L.Tanh(), node.input[:1])

    def op_Softplus(self, node, a):
        self.add(node, L.Softplus(), node.input[:1])

    def _softmax(self, node, a, cls):
        rank = len(self.tensors[node.input[0]].shape)
        axis = a.get("axis", -1 if self.opset >= 13 else 1)
        if self.opset < 13 and axis % rank != rank - 1:
            self.fail(node, "before opset 13, only a softmax over the last axis is supported")
        self.add(node, cls(axis), node.input[:1])

    def op_Softmax(self, node, a):
        self._softmax(node, a, L.Softmax)

    def op_LogSoftmax(self, node, a):
        self._softmax(node, a, L.LogSoftmax)

    def op_Identity(self, node, a):
        self.add(node, L.Identity(), node.input[:1])

    def op_Dropout(self, node, a):
        if len(node.output) > 1 and node.output[1] in self.consumers:
            self.fail(node, "the mask output is not supported")
        self.tensors[node.output[0]] = self.tensors[node.input[0]]  # eval mode: nothing

    def op_Flatten(self, node, a):
        if a.get("axis", 1) != 1:
            self.fail(node, f"only axis=1 is supported, got {a.get('axis')}")
        self.add(node, L.Flatten(), node.input[:1])

    def op_Reshape(self, node, a):
        target = [int(d) for d in self.constant(node, node.input[1])]
        shape = self.tensors[node.input[0]].shape
        if (
            a.get("allowzero", 0)
            or target[0] not in (0, -1)
            or (target[0] == -1 and -1 in target[1:])
        ):
            self.fail(node, f"the shape {target} must keep the batch first")
        sample = [shape[i] if d == 0 else d for i, d in enumerate(target)][1:]
        self.add(node, L.Reshape(*sample), node.input[:1])


class _MergeAndShapeOps:
    """ONNX's element-wise merges, and the shape arithmetic around a recurrent layer's result."""

    def _merge(self, node, layer):
        if any(i in self.constants for i in node.input):
            self.fail(node, "an operation with a constant is not a numpynn layer")
        if len(node.input) == 1:
            layer = L.Identity()
        self.add(node, layer, list(node.input))

    def op_Add(self, node, a):
        self._merge(node, L.Add())

    def op_Sum(self, node, a):
        self._merge(node, L.Add())

    def op_Mul(self, node, a):
        if node.input[0] == node.input[1] and self._gelu(node):
            return
        if node.input[1] in self.constants and self._softplus(node):
            return
        self._merge(node, L.Multiply())

    def op_Div(self, node, a):
        divisor = self.constants.get(node.input[1])
        if divisor is not None and np.isclose(divisor, math.sqrt(2)).all() and self._gelu(node):
            return
        self.fail(node, "a division is supported only inside GELU and Normalization")

    def op_Mean(self, node, a):
        self._merge(node, L.Average())

    def op_Concat(self, node, a):
        if all(self.recurrent.get(i, ("",))[0] == "Y_h" for i in node.input):
            self.state_stacks[node.output[0]] = list(node.input)  # h_n of a stack
            return
        if any(i in self.shape_values for i in node.input):
            return self._shape_step(node, node.input)
        self._merge(node, L.Concatenate(a["axis"]))

    def op_Sub(self, node, a):
        if node.input[1] not in self.constants:
            return self._merge(node, L.Subtract())
        div = self.only_consumer(node.output[0], "Div")  # (x - mean) / std: Normalization
        mean = self.constants[node.input[1]]
        std = self.constants.get(div.input[1]) if div is not None else None
        if std is None or std.shape != mean.shape or div.input[0] != node.output[0]:
            self.fail(node, "a subtraction of a constant is supported only as (x - mean) / std")
        rank = len(self.tensors[node.input[0]].shape)
        axes = [i for i, d in enumerate(mean.shape) if d != 1]
        if mean.ndim != rank or len(axes) > 1:
            self.fail(node, f"the mean's shape {mean.shape} is not along one axis")
        axis = axes[0] if axes else rank - 1
        variance = (std.astype(np.float64) ** 2).reshape(-1)
        layer = L.Normalization(axis=axis, mean=mean.reshape(-1), variance=variance)
        self.skip.add(id(div))
        self.add(node, layer, node.input[:1], div.output[0])

    # sequences: Gather as Embedding; RNN/LSTM/GRU nodes between Transposes, as export and
    # PyTorch write them, as Keras's batch-first layers

    def op_Cast(self, node, a):
        if a.get("to") != self.onnx.TensorProto.INT64 or node.input[0] not in self.tensors:
            self.fail(node, "only a cast of an input to int64 (Embedding indices) is supported")
        self.tensors[node.output[0]] = self.tensors[node.input[0]]

    def _shape_step(self, node, inputs):
        """A node of a shape computation: no layer; its output is a shape value too."""
        if not all(i in self.shape_values or i in self.constants for i in inputs if i):
            self.fail(node, "only shape computations (of zero initial states) are supported")
        self.shape_values.add(node.output[0])

    def op_Shape(self, node, a):
        self.shape_values.add(node.output[0])

    def op_Unsqueeze(self, node, a):
        self._shape_step(node, node.input)

    def op_ConstantOfShape(self, node, a):
        value = a.get("value")
        if value is not None and np.any(self.onnx.numpy_helper.to_array(value)):
            self.fail(node, "only zeros (an initial state) are supported")
        self._shape_step(node, node.input)
        self.zeros.add(node.output[0])

    def op_Slice(self, node, a):
        if node.input[0] not in self.zeros:
            self.fail(node, "only slices of zero initial states are supported")
        self.zeros.add(node.output[0])

    def _last_step(self, node, a) -> bool:
        """Gather(axis=1, index -1) of a recurrent layer's batch-first sequence: the layer
        again with return_sequences=False (PyTorch's ``out[:, -1]``)."""
        index = self.constants.get(node.input[1])
        source = self.tensors.get(node.input[0])
        layer = getattr(source, "layer", None)
        if a.get("axis", 0) != 1 or index is None or index.ndim != 0 or layer is None:
            return False
        steps = source.shape[1]
        if not isinstance(layer, KerasRecurrent) or int(index) % steps != steps - 1:
            return False
        config = {**layer.get_config(), "return_sequences": False}
        last = type(layer).from_config(config)
        last.load_state_dict(layer.state_dict())
        self.tensors[node.output[0]] = last(source.inputs[0])
        return True

    def op_Gather(self, node, a):
        if node.input[0] in self.shape_values:
            return self._shape_step(node, node.input)
        if self._last_step(node, a):
            return
        index = self.constants.get(node.input[1])
        if a.get("axis", 0) == 0 and index is not None and index.ndim == 0:
            if self._state(node, node.input[0], int(index)):
                return
        table = self.constants.get(node.input[0])
        if table is None or table.ndim != 2 or a.get("axis", 0) != 0:
            self.fail(node, "only rows of a constant 2-D table (an Embedding) are supported")
        if node.input[1] not in self.tensors:
            self.fail(node, "the indices must be computed from the inputs")
        layer = L.Embedding(*table.shape)
        _fill(layer.weight, table)
        self.add(node, layer, node.input[1:2])

    def op_Transpose(self, node, a):
        perm, source = list(a.get("perm", [])), node.input[0]
        if perm == [1, 0, 2] and source in self.time_major:  # back to batch-first
            self.tensors[node.output[0]] = self.tensors[self.time_major[source]]
        elif perm == [1, 0, 2] and source in self.tensors:  # to time-major, for an RNN node
            self.time_major[node.output[0]] = source
        else:
            self.fail(node, f"only the transposes around a recurrent layer are supported: {perm}")

    def _axes(self, node, a):
        axes = a.get("axes")
        if axes is None and len(node.input) > 1:
            axes = self.constant(node, node.input[1])
        return [int(v) for v in np.atleast_1d(axes)] if axes is not None else None

    def op_Squeeze(self, node, a):
        kind, out = self.recurrent.get(node.input[0], (None, None))
        axes = self._axes(node, a)
        if kind == "Y" and axes == [1]:  # (T, 1, N, H) -> (T, N, H), time-major
            self.time_major[node.output[0]] = out
        elif kind == "Y_h" and axes == [0]:  # (1, N, H) -> (N, H): the last step
            self._state(node, node.input[0], 0)
        else:
            self.fail(node, "only the squeeze of a one-direction recurrent output is supported")


class _SequenceOps:
    """ONNX's RNN, LSTM and GRU operators, with PyTorch's gate order restored."""

    def _check_recurrent(self, node, a, op) -> None:
        """Refuse, naming the node, what a numpynn recurrent layer cannot be: time-major or
        bidirectional input, sequence lengths, peepholes, non-zero initial states, clipping."""
        x = node.input[0]
        if x not in self.time_major:
            self.fail(node, "X must be a batch-first input transposed to time-major")
        if a.get("direction", "forward") != "forward" or a.get("layout", 0) != 0:
            self.fail(node, "only direction='forward' and layout=0 are supported")
        optional = list(node.input[4:]) + [""] * 4
        if optional[0] or optional[3]:
            self.fail(node, "sequence_lens and peepholes are not supported")
        for name in optional[1:3]:  # initial_h, initial_c: absent or zeros
            constant = self.constants.get(name)
            zero = name in self.zeros or (constant is not None and not np.any(constant))
            if name and not zero:
                self.fail(node, f"initial states must be zero, {name!r} is not")
        if a.get("clip") is not None or a.get("input_forget", 0):
            self.fail(node, "clip and input_forget are not supported")
        if op == "GRU" and a.get("linear_before_reset", 0) != 1:
            self.fail(node, "a GRU needs linear_before_reset=1 (PyTorch's and Keras's form)")

    def _recurrent(self, node, a, op):
        x = node.input[0]
        self._check_recurrent(node, a, op)
        used = [bool(n) and n in self.consumers for n in node.output]
        if len(used) > 2 and used[2]:
            self.fail(node, "the cell state output Y_c is not supported")
        stacked = used[1] and all(c.op_type == "Concat" for c in self.consumers[node.output[1]])
        if used[0] and used[1] and not stacked:  # a stack's h_n: Concat, then Gather
            self.fail(node, "the output Y and the state Y_h may not both be read")
        w, r = self.constant(node, node.input[1]), self.constant(node, node.input[2])
        bias = self.constants.get(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        hidden, order = a["hidden_size"], _GATE_ORDER[op]
        keyword = {"units": hidden, "use_bias": bias is not None, "return_sequences": used[0]}
        source = self.tensors[self.time_major[x]]
        keyword["input_shape"] = (source.shape[1], w.shape[2])
        if op == "RNN":
            activation = [_text(s).lower() for s in a.get("activations", ["Tanh"])]
            if activation not in (["tanh"], ["relu"]):
                self.fail(node, f"activations {activation} are not supported (Tanh or Relu)")
            layer = L.SimpleRNN(activation=activation[0], **keyword)
        else:
            layer = (L.KerasLSTM if op == "LSTM" else L.KerasGRU)(**keyword)

        def pytorch_order(rows):  # ONNX's gate blocks back into PyTorch's order
            blocks = np.split(rows, len(order))
            result = [None] * len(order)
            for onnx_index, torch_index in enumerate(order):
                result[torch_index] = blocks[onnx_index]
            return np.concatenate(result)

        _fill(layer.weight_ih_l0, pytorch_order(w[0]))
        _fill(layer.weight_hh_l0, pytorch_order(r[0]))
        if bias is not None:
            _fill(layer.bias_ih_l0, pytorch_order(bias[0][: len(bias[0]) // 2]))
            _fill(layer.bias_hh_l0, pytorch_order(bias[0][len(bias[0]) // 2 :]))
        # the layer's (N, T, H) or (N, H) result is not ONNX's Y (T, 1, N, H) or Y_h (1, N, H):
        # kept under a name of its own, reached through the Squeeze, Gather or Concat after
        output = node.output[0] if used[0] else node.output[1]
        result = f"{output} (numpynn)"
        self.add(node, layer, [self.time_major[x]], result)
        self.recurrent[output] = ("Y" if used[0] else "Y_h", result)
        if used[0] and len(node.output) > 1:  # this layer's last state is not computed
            self.recurrent[node.output[1]] = ("Y_h", None)

    def _state(self, node, name, index) -> bool:
        """Y_h of a one-direction layer (or of a stack of them, concatenated) at ``index``:
        the last step of the layer built for it."""
        names = self.state_stacks.get(name, [name])
        if not -len(names) <= index < len(names):
            return False
        kind, out = self.recurrent.get(names[index], (None, None))
        if kind != "Y_h":
            return False
        if out is None:
            self.fail(node, "only the last layer's final state of a stack is supported")
        self.tensors[node.output[0]] = self.tensors[out]
        return True

    def op_RNN(self, node, a):
        self._recurrent(node, a, "RNN")

    def op_LSTM(self, node, a):
        self._recurrent(node, a, "LSTM")

    def op_GRU(self, node, a):
        self._recurrent(node, a, "GRU")


class _Importer(_LayerOps, _MergeAndShapeOps, _SequenceOps):
    """Builds the numpynn layers of one ONNX graph, node by node, on symbolic tensors."""

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

    def _gelu(self, node) -> bool:
        """GELU as ``export`` writes it, from its first node: Div(x, sqrt 2) for the exact
        form, Mul(x, x) for the tanh form; then (core + 1) * (x * 0.5)."""
        x = node.input[0]
        if node.op_type == "Div":
            chain = [self.step(node.output[0], "Erf")]
        else:
            chain = [self.step(node.output[0], "Mul", other=x)]
            for op, const, other in (
                ("Mul", 0.044715, None),
                ("Add", None, x),
                ("Mul", math.sqrt(2 / math.pi), None),
                ("Tanh", None, None),
            ):
                chain.append(chain[-1] and self.step(chain[-1].output[0], op, const, other))
        plus = chain[-1] and self.step(chain[-1].output[0], "Add", const=1.0)
        final = plus and self.step(plus.output[0], "Mul")
        half = final and self.producers.get(next(i for i in final.input if i != plus.output[0]))
        if half is None or half.op_type != "Mul" or self.step(half.output[0], "Mul") is not final:
            return False
        if x not in half.input or not np.isclose(self.constants.get(half.input[1], 0), 0.5):
            return False
        approximate = "none" if node.op_type == "Div" else "tanh"
        return self.fold(
            node, [*chain, plus, final, half], L.GELU(approximate), [x], final.output[0]
        )

    def _softplus(self, node) -> bool:
        """Softplus(beta, threshold) as ``export`` writes it, from Mul(x, beta):
        Where(beta x > threshold, x, Softplus(beta x) / beta)."""
        x, beta = node.input[0], self.constants[node.input[1]]
        bx = node.output[0]
        if beta.size != 1 or len(self.consumers.get(bx, [])) != 2:
            return False
        smooth = self.step(bx, "Softplus", alone=False)
        divided = smooth and self.step(smooth.output[0], "Div", const=float(beta))
        greater = self.step(bx, "Greater", alone=False)
        threshold = greater and self.constants.get(greater.input[1])
        where = greater and self.step(greater.output[0], "Where")
        if threshold is None or where is None or divided is None:
            return False
        if list(where.input) != [greater.output[0], x, divided.output[0]]:
            return False
        layer = L.Softplus(float(beta), float(threshold))
        return self.fold(node, [smooth, divided, greater, where], layer, [x], where.output[0])

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

    def run(self):
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
        for node in self.graph.node:
            if id(node) in self.skip:
                continue
            method = getattr(self, f"op_{node.op_type}", None)
            if node.domain not in ("", "ai.onnx") or method is None:
                raise ValueError(
                    f"onnx.load: {self.path}: the operator {node.op_type} (node {node.name!r}) "
                    f"has no numpynn layer; supported: {_LOADABLE}"
                )
            method(node, self.attributes(node))
        outputs = []
        for value in self.graph.output:
            if value.name not in self.tensors:
                raise ValueError(f"onnx.load: {self.path}: output {value.name!r} is a constant")
            outputs.append(self.tensors[value.name])
        return Model(inputs, outputs, name=self.graph.name or None).eval()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _fill(parameter, value) -> None:
    value = np.asarray(value)
    if value.shape != parameter.data.shape:
        raise ValueError(
            f"onnx.load: {parameter.name} has shape {value.shape}, expected {parameter.shape}"
        )
    parameter.data[...] = value


def load(path) -> Model:
    """A functional ``nn.Model`` (in eval mode) computing the ONNX graph at ``path``.

    Inputs keep their names and fixed sizes (the batch may be dynamic); layers are named
    after the nodes. Errors name the operator and node that numpynn cannot express.
    """
    onnx = _onnx()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no ONNX file at {path}")
    try:
        proto = onnx.load(path)
    except Exception as error:  # protobuf's DecodeError and friends
        raise ValueError(f"onnx.load: {path} is not a readable ONNX file: {error}") from None
    return _Importer(onnx, proto, path).run()

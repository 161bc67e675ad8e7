"""RNN, LSTM and GRU (and Keras's SimpleRNN, LSTM, GRU): ONNX's RNN/LSTM/GRU nodes, one per
layer of a stack, with the Transposes, Squeezes and Gathers around them, both ways.

PyTorch's gate layout (LSTM i, f, g, o; GRU r, z, n) is reordered to ONNX's (i, o, f, c;
z, r, h) on export and back on import. ``load`` reads one-direction nodes on a batch-first
input (as ``export`` and ``torch.onnx.export`` write them) as Keras's batch-first layers; the
shape computations PyTorch writes for zero initial states are followed and dropped.
"""

from __future__ import annotations

import numpy as np

from numpynn import layers as L
from numpynn.layers.keras_recurrent import KerasRecurrent

# the gates of PyTorch's layout (LSTM i, f, g, o; GRU r, z, n) in ONNX's (i, o, f, c; z, r, h)
GATE_ORDER = {"RNN": [0], "LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}

# --- export ------------------------------------------------------------------------------------


def _recurrent_op(layer) -> str:
    for op in ("LSTM", "GRU", "RNN"):
        if isinstance(layer, getattr(L, op)):
            return op
    raise TypeError(f"onnx.export: {layer.describe()} is not an RNN, LSTM or GRU")


def _recurrent_weights(layer, g, suffixes, op, name):
    """W, R (and B) of one layer of ``layer``: directions stacked, gates in ONNX's order."""
    h, order = layer.hidden_size, GATE_ORDER[op]

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


def export_recurrent(layer, g, x, shape, name):
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


# --- import: the recurrent node -----------------------------------------------------------------


def _check(im, node, a, op) -> None:
    """Refuse, naming the node, what a numpynn recurrent layer cannot be: time-major or
    bidirectional input, sequence lengths, peepholes, non-zero initial states, clipping."""
    x = node.input[0]
    if x not in im.time_major:
        im.fail(node, "X must be a batch-first input transposed to time-major")
    if a.get("direction", "forward") != "forward" or a.get("layout", 0) != 0:
        im.fail(node, "only direction='forward' and layout=0 are supported")
    optional = list(node.input[4:]) + [""] * 4
    if optional[0] or optional[3]:
        im.fail(node, "sequence_lens and peepholes are not supported")
    for name in optional[1:3]:  # initial_h, initial_c: absent or zeros
        constant = im.constants.get(name)
        zero = name in im.zeros or (constant is not None and not np.any(constant))
        if name and not zero:
            im.fail(node, f"initial states must be zero, {name!r} is not")
    if a.get("clip") is not None or a.get("input_forget", 0):
        im.fail(node, "clip and input_forget are not supported")
    if op == "GRU" and a.get("linear_before_reset", 0) != 1:
        im.fail(node, "a GRU needs linear_before_reset=1 (PyTorch's and Keras's form)")


def _check_weights(im, node, op, hidden, weights):
    """W, R and B must be what hidden_size says, before a layer of that size is built."""
    rows = len(GATE_ORDER[op]) * hidden if isinstance(hidden, int) and hidden > 0 else None
    if rows is None:
        im.fail(node, f"hidden_size must be a positive integer, got {hidden!r}")
    w, r, b = weights
    expected = [(1, rows, w.shape[-1]), (1, rows, hidden), (1, 2 * rows)]
    for name, value, shape in zip("WRB", weights, expected):
        if value is not None and value.shape != shape:
            im.fail(node, f"{name} has shape {value.shape}, hidden_size={hidden} needs {shape}")


def _pytorch_order(rows, order):
    """ONNX's gate blocks of ``rows`` back into PyTorch's order."""
    blocks = np.split(rows, len(order))
    result = [None] * len(order)
    for onnx_index, torch_index in enumerate(order):
        result[torch_index] = blocks[onnx_index]
    return np.concatenate(result)


def _layer(im, node, a, op, keyword):
    if op != "RNN":
        return (L.KerasLSTM if op == "LSTM" else L.KerasGRU)(**keyword)
    activation = [_text(s).lower() for s in a.get("activations", ["Tanh"])]
    if activation not in (["tanh"], ["relu"]):
        im.fail(node, f"activations {activation} are not supported (Tanh or Relu)")
    return L.SimpleRNN(activation=activation[0], **keyword)


def _recurrent(im, node, a, op):
    x = node.input[0]
    _check(im, node, a, op)
    used = [bool(n) and n in im.consumers for n in node.output]
    if len(used) > 2 and used[2]:
        im.fail(node, "the cell state output Y_c is not supported")
    stacked = used[1] and all(c.op_type == "Concat" for c in im.consumers[node.output[1]])
    if used[0] and used[1] and not stacked:  # a stack's h_n: Concat, then Gather
        im.fail(node, "the output Y and the state Y_h may not both be read")
    w, r = im.constant(node, node.input[1]), im.constant(node, node.input[2])
    bias = im.constants.get(node.input[3]) if len(node.input) > 3 and node.input[3] else None
    _check_weights(im, node, op, im.required(node, a, "hidden_size"), [w, r, bias])
    keyword = {"units": a["hidden_size"], "use_bias": bias is not None}
    keyword["return_sequences"] = used[0]
    keyword["input_shape"] = (im.tensors[im.time_major[x]].shape[1], w.shape[2])
    layer = _layer(im, node, a, op, keyword)
    order = GATE_ORDER[op]
    im.fill(node, layer.weight_ih_l0, _pytorch_order(w[0], order))
    im.fill(node, layer.weight_hh_l0, _pytorch_order(r[0], order))
    if bias is not None:
        im.fill(node, layer.bias_ih_l0, _pytorch_order(bias[0][: len(bias[0]) // 2], order))
        im.fill(node, layer.bias_hh_l0, _pytorch_order(bias[0][len(bias[0]) // 2 :], order))
    # the layer's (N, T, H) or (N, H) result is not ONNX's Y (T, 1, N, H) or Y_h (1, N, H):
    # kept under a name of its own, reached through the Squeeze, Gather or Concat after
    output = node.output[0] if used[0] else node.output[1]
    result = f"{output} (numpynn)"
    im.add(node, layer, [im.time_major[x]], result)
    im.recurrent[output] = ("Y" if used[0] else "Y_h", result)
    if used[0] and len(node.output) > 1:  # this layer's last state is not computed
        im.recurrent[node.output[1]] = ("Y_h", None)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def import_rnn(im, node, a):
    _recurrent(im, node, a, "RNN")


def import_lstm(im, node, a):
    _recurrent(im, node, a, "LSTM")


def import_gru(im, node, a):
    _recurrent(im, node, a, "GRU")


# --- import: the nodes around it ----------------------------------------------------------------


def _state(im, node, name, index) -> bool:
    """Y_h of a one-direction layer (or of a stack of them, concatenated) at ``index``:
    the last step of the layer built for it."""
    names = im.state_stacks.get(name, [name])
    if not -len(names) <= index < len(names):
        return False
    kind, out = im.recurrent.get(names[index], (None, None))
    if kind != "Y_h":
        return False
    if out is None:
        im.fail(node, "only the last layer's final state of a stack is supported")
    im.tensors[node.output[0]] = im.tensors[out]
    return True


def _last_step(im, node, a) -> bool:
    """Gather(axis=1, index -1) of a recurrent layer's batch-first sequence: the layer
    again with return_sequences=False (PyTorch's ``out[:, -1]``)."""
    index = im.constants.get(node.input[1])
    source = im.tensors.get(node.input[0])
    layer = getattr(source, "layer", None)
    if a.get("axis", 0) != 1 or index is None or index.ndim != 0 or layer is None:
        return False
    steps = source.shape[1]
    if not isinstance(layer, KerasRecurrent) or int(index) % steps != steps - 1:
        return False
    config = {**layer.get_config(), "return_sequences": False}
    last = type(layer).from_config(config)
    last.load_state_dict(layer.state_dict())
    im.tensors[node.output[0]] = last(source.inputs[0])
    return True


def gather(im, node, a) -> bool:
    """A Gather of a shape value, of a sequence's last step or of a final state: True if
    it is one of these (and is now computed), False if it is something else."""
    if node.input[0] in im.shape_values:
        shape_step(im, node, node.input)
        return True
    if _last_step(im, node, a):
        return True
    index = im.constants.get(node.input[1])
    if a.get("axis", 0) == 0 and index is not None and index.ndim == 0:
        return _state(im, node, node.input[0], int(index))
    return False


def concat_states(im, node) -> bool:
    """A Concat of final states Y_h: h_n of a stack (read by a Gather after)."""
    if all(im.recurrent.get(i, ("",))[0] == "Y_h" for i in node.input):
        im.state_stacks[node.output[0]] = list(node.input)
        return True
    return False


def shape_step(im, node, inputs):
    """A node of a shape computation: no layer; its output is a shape value too."""
    if not all(i in im.shape_values or i in im.constants for i in inputs if i):
        im.fail(node, "only shape computations (of zero initial states) are supported")
    im.shape_values.add(node.output[0])


def import_shape(im, node, a):
    im.shape_values.add(node.output[0])


def import_unsqueeze(im, node, a):
    shape_step(im, node, node.input)


def import_constant_of_shape(im, node, a):
    value = a.get("value")
    if value is not None and np.any(im.array(node, value)):
        im.fail(node, "only zeros (an initial state) are supported")
    shape_step(im, node, node.input)
    im.zeros.add(node.output[0])


def import_slice(im, node, a):
    if node.input[0] not in im.zeros:
        im.fail(node, "only slices of zero initial states are supported")
    im.zeros.add(node.output[0])


def import_transpose(im, node, a):
    perm, source = list(a.get("perm", [])), node.input[0]
    if perm == [1, 0, 2] and source in im.time_major:  # back to batch-first
        im.tensors[node.output[0]] = im.tensors[im.time_major[source]]
    elif perm == [1, 0, 2] and source in im.tensors:  # to time-major, for an RNN node
        im.time_major[node.output[0]] = source
    else:
        im.fail(node, f"only the transposes around a recurrent layer are supported: {perm}")


def _axes(im, node, a):
    axes = a.get("axes")
    if axes is None and len(node.input) > 1:
        axes = im.constant(node, node.input[1])
    return [int(v) for v in np.atleast_1d(axes)] if axes is not None else None


def import_squeeze(im, node, a):
    kind, out = im.recurrent.get(node.input[0], (None, None))
    axes = _axes(im, node, a)
    if kind == "Y" and axes == [1]:  # (T, 1, N, H) -> (T, N, H), time-major
        im.time_major[node.output[0]] = out
    elif kind == "Y_h" and axes == [0]:  # (1, N, H) -> (N, H): the last step
        _state(im, node, node.input[0], 0)
    else:
        im.fail(node, "only the squeeze of a one-direction recurrent output is supported")


EXPORTS = {L.RNNBase: export_recurrent}
IMPORTS = {
    "RNN": import_rnn,
    "LSTM": import_lstm,
    "GRU": import_gru,
    "Transpose": import_transpose,
    "Squeeze": import_squeeze,
    "Shape": import_shape,
    "Unsqueeze": import_unsqueeze,
    "ConstantOfShape": import_constant_of_shape,
    "Slice": import_slice,
}

"""Hostile ONNX files: each is refused with an ONNXLoadError (a ValueError, a
ModelFileError) naming the node or tensor and what is wrong, allocating no more than a small
multiple of the file's size, and opening no file but the model itself."""

import contextlib
import os
import re
import sys

import numpy as np
import pytest
from helpers import peak_allocation
from onnx_helpers import onnx

import numpynn as nn
from numpynn._files import NotARegularFileError
from numpynn.onnx import ONNXLoadError

helper, TensorProto = onnx.helper, onnx.TensorProto

OPENED: list | None = None  # the files opened while ``opened_files`` records


def _audit(event, args):
    if OPENED is not None and event == "open":
        if isinstance(args[0], (str, os.PathLike)):  # not the descriptors os.fdopen opens
            OPENED.append(os.fspath(args[0]))


sys.addaudithook(_audit)  # Python's own audit events: every open() of the process


@contextlib.contextmanager
def opened_files():
    global OPENED
    OPENED = []
    try:
        yield OPENED
    finally:
        OPENED = None


def mlp_proto(tmp_path):
    """Linear(4, 8) -> ReLU -> Linear(8, 3), exported: a Gemm, a Relu, a Gemm, an Identity."""
    nn.manual_seed(0)
    path = tmp_path / "base.onnx"
    nn.onnx.export(
        nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), path, input_shape=(4,)
    )
    return onnx.load(str(path))


def write(tmp_path, proto, name="hostile.onnx"):
    path = tmp_path / name
    path.write_bytes(proto.SerializeToString() if not isinstance(proto, bytes) else proto)
    return path


def refused(path, match):
    """load(path) raises ONNXLoadError matching ``match``, allocating under four times the
    file's size (with a floor of 256 KiB for Python's own objects), opening no other file."""
    size, errors = os.path.getsize(path), []

    def attempt():
        try:
            nn.onnx.load(path)
        except ONNXLoadError as error:
            errors.append(str(error))

    with opened_files() as opened:
        peak = peak_allocation(attempt)
    assert errors, f"{path.name} loaded"
    assert re.search(match, errors[0]), errors[0]
    assert [p for p in opened if not p.endswith((".py", ".pyc", ".so"))] == [str(path)], opened
    assert peak < 4 * size + (1 << 18), (peak, size)
    return errors[0]


def graph(nodes, inputs, outputs, initializers=(), opset=17):
    g = helper.make_graph(nodes, "hostile", inputs, outputs, initializer=list(initializers))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def weights(name, shape, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return onnx.numpy_helper.from_array(values, name)


# --- truncated and garbage files ----------------------------------------------------------------


def test_every_truncation_of_a_model_is_refused(tmp_path):
    data = mlp_proto(tmp_path).SerializeToString()
    cuts = sorted({0, 1, 2, 5, *range(7, len(data), max(1, len(data) // 150)), len(data) - 1})
    for cut in cuts:  # a cut inside a field is a DecodeError; on a field's edge, a part missing
        refused(write(tmp_path, data[:cut]), r"onnx.load: .*hostile.onnx")
    assert len(cuts) > 150


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 64,
        b"\xff" * 64,
        b"ir_version: 8\ngraph { }\n",  # the text format, not the binary one
        b"PK\x03\x04" + bytes(60),  # a zip (an .npz)
        b"\x89PNG\r\n\x1a\n" + bytes(56),
        np.random.default_rng(0).bytes(4096),
        np.random.default_rng(1).bytes(100_000),
    ],
    ids=["empty", "zeros", "ones", "text-format", "zip", "png", "random-4k", "random-100k"],
)
def test_garbage_is_refused(tmp_path, data):
    refused(write(tmp_path, data), r"onnx.load: .*(not a readable ONNX file|holds no graph|opset)")


def test_a_model_without_a_graph_is_refused(tmp_path):
    message = refused(write(tmp_path, onnx.ModelProto(ir_version=8)), "holds no graph")
    assert "hostile.onnx" in message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_or_a_folder_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.onnx")
    with pytest.raises(NotARegularFileError, match="FIFO"):
        nn.onnx.load(tmp_path / "pipe.onnx")  # opening it to read would wait for a writer
    (tmp_path / "folder.onnx").mkdir()
    with pytest.raises(NotARegularFileError, match="folder"):
        nn.onnx.load(tmp_path / "folder.onnx")


# --- unknown operators and opsets ---------------------------------------------------------------


def relu_model(op="Relu", domain="", opset=17, extra_opsets=()):
    node = helper.make_node(op, ["x"], ["y"], name="act", domain=domain)
    model = graph([node], [tensor("x", ["N", 4])], [tensor("y", ["N", 4])], opset=opset)
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in extra_opsets)
    return model


@pytest.mark.parametrize(
    "model, match",
    [
        (relu_model("Frobnicate"), r"operator Frobnicate \(node 'act'\) has no numpynn layer"),
        (
            relu_model(domain="com.evil", extra_opsets=[("com.evil", 1)]),
            "operator Relu .* no numpynn",
        ),
        (relu_model(opset=99), "opset 99 is outside the 7 to"),
        (relu_model(opset=1), "opset 1 is outside"),
        (relu_model(opset=0), "opset 0 is outside"),
        (relu_model(opset=-5), "opset -5 is outside"),
    ],
    ids=["unknown-op", "foreign-domain", "opset-99", "opset-1", "opset-0", "opset-negative"],
)
def test_unknown_operators_and_opsets_are_named(tmp_path, model, match):
    refused(write(tmp_path, model), match)


def test_no_standard_opset_is_refused(tmp_path):
    model = relu_model()
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("com.evil", 1))
    refused(write(tmp_path, model), "imports no version of the standard operators")


def test_every_opset_numpynn_claims_loads_a_relu(tmp_path):
    for version in (7, 13, 17, onnx.defs.onnx_opset_version()):
        loaded = nn.onnx.load(write(tmp_path, relu_model(opset=version)))
        np.testing.assert_array_equal(loaded(-np.ones((2, 4), np.float32)), np.zeros((2, 4)))


# --- cycles, dangling inputs, names defined twice -----------------------------------------------


def chain(nodes, outputs=("y",), inputs=("x",)):
    return graph(
        nodes, [tensor(i, ["N", 4]) for i in inputs], [tensor(o, ["N", 4]) for o in outputs]
    )


def node(op, inputs, outputs, name):
    return helper.make_node(op, inputs, outputs, name=name)


GRAPHS = {
    "cycle": (
        chain([node("Add", ["x", "b"], ["a"], "first"), node("Relu", ["a"], ["b"], "second")]),
        r"operator Add \(node 'first'\): it reads 'b' before the node that computes it: .*cycle",
    ),
    "self-loop": (chain([node("Add", ["x", "y"], ["y"], "loop")]), "node 'loop'.*reads 'y' before"),
    "out-of-order": (
        chain([node("Relu", ["a"], ["y"], "late"), node("Relu", ["x"], ["a"], "early")]),
        "node 'late'.*cycle or is out of order",
    ),
    "dangling": (
        chain([node("Add", ["x", "ghost"], ["y"], "add")]),
        r"node 'add'\): it reads 'ghost' which no graph input, initializer or node computes",
    ),
    "output-twice": (
        chain([node("Relu", ["x"], ["y"], "one"), node("Sigmoid", ["x"], ["y"], "two")]),
        r"node 'two'\): its output 'y' is the output of another node too",
    ),
    "output-is-input": (
        chain([node("Relu", ["x"], ["x"], "over")]),
        "its output 'x' is a graph input",
    ),
    "input-twice": (
        chain([node("Relu", ["x"], ["y"], "r")], inputs=("x", "x")),
        "input named 'x' is defined twice",
    ),
    "output-computed-by-none": (
        chain([node("Relu", ["x"], ["y"], "r")], outputs=("y", "z")),
        "output 'z' is computed by no node",
    ),
    "no-outputs": (chain([node("Relu", ["x"], ["y"], "r")], outputs=()), "has no outputs"),
    "no-inputs": (chain([], inputs=(), outputs=("c",)), "is computed by no node"),
    "nameless-input": (
        chain([node("Relu", [""], ["y"], "r")], inputs=("",)),
        "a graph input has no name",
    ),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_broken_graphs_are_named(tmp_path, name):
    model, match = GRAPHS[name]
    refused(write(tmp_path, model), match)


def test_initializer_twice_is_refused(tmp_path):
    model = mlp_proto(tmp_path)
    model.graph.initializer.append(model.graph.initializer[0])
    refused(write(tmp_path, model), r"initializer named '.*weight' is defined twice")


def test_nodes_of_one_name_load_as_layers_of_distinct_names(tmp_path):
    model = mlp_proto(tmp_path)
    for n in model.graph.node:
        n.name = "same"
    loaded = nn.onnx.load(write(tmp_path, model))
    names = [layer.name for layer in loaded.layers]
    assert len(set(names)) == len(names) and names[0] == "same"


def test_a_graph_of_only_initializers_has_no_inputs(tmp_path):
    c = weights("c", (4,))
    model = graph([node("Relu", ["c"], ["y"], "r")], [tensor("c", [4])], [tensor("y", [4])], [c])
    refused(write(tmp_path, model), "the graph has no inputs")


# --- initializers whose declared size their bytes do not hold -----------------------------------


def gemm_with(weight):
    """x (N, 4) -> Gemm(x, weight, transB=1) -> y: the weight as given."""
    gemm = helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)
    return graph([gemm], [tensor("x", ["N", 4])], [tensor("y", ["N", 3])], [weight])


def raw(shape, data):
    """A float tensor of declared ``shape`` holding the bytes ``data`` (helper.make_tensor
    would refuse a mismatch: built by hand)."""
    return TensorProto(name="w", data_type=TensorProto.FLOAT, dims=shape, raw_data=data)


LYING = {
    "1e9-values-8-bytes": (raw([10**9], bytes(8)), r"declares 1000000000 values, its bytes hold 2"),
    "1e12-values-typed": (
        TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[10**6] * 2, float_data=[1, 2, 3]),
        "declares 1000000000000 values, its bytes hold 3",
    ),
    "product-past-int64": (
        raw([2**40, 2**40, 2**40], bytes(4)),
        "declares 1329227995784915872903807060280344576 values",
    ),
    "negative-size": (raw([-3, 4], bytes(48)), r"shape \[-3, 4\] has a negative size"),
    "a-byte-short": (raw([3, 4], bytes(47)), "declares 12 values, its bytes hold 11.75"),
    "strings": (
        TensorProto(name="w", data_type=TensorProto.STRING, dims=[3, 4], string_data=[b"a"] * 12),
        "element type STRING",
    ),
    "undefined-type": (
        TensorProto(name="w", dims=[3, 4], raw_data=bytes(48)),
        "element type UNDEFINED",
    ),
    "unknown-type": (
        TensorProto(name="w", data_type=999, dims=[3, 4], raw_data=bytes(48)),
        "element type 999",
    ),
}


@pytest.mark.parametrize("case", list(LYING))
def test_initializers_that_lie_about_their_size_are_named(tmp_path, case):
    weight, match = LYING[case]
    message = refused(write(tmp_path, gemm_with(weight)), match)
    assert r"the initializer 'w', read by the operator Gemm (node 'fc')" in message


def test_a_constant_node_that_lies_is_named(tmp_path):
    const = helper.make_node("Constant", [], ["c"], name="const", value=raw([10**9], bytes(8)))
    add = node("Add", ["x", "c"], ["y"], "add")
    model = graph([const, add], [tensor("x", ["N", 4])], [tensor("y", ["N", 4])])
    refused(write(tmp_path, model), r"Constant \(node 'const'\): its tensor attribute: .*declares")


# --- external data: refused, never opened -------------------------------------------------------


def external(location, offset=None):
    weight = weights("w", (3, 4))
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    entries = [("location", location)] + ([("offset", str(offset))] if offset is not None else [])
    for key, value in entries:
        weight.external_data.add(key=key, value=value)
    return weight


@pytest.mark.parametrize(
    "where",
    ["../secret.bin", "/etc/passwd", "link.bin", "weights.bin", "sub/../../secret.bin", "\x00"],
    ids=["dot-dot", "absolute", "symlink-out", "inside-the-folder", "dot-dot-inside", "nul"],
)
def test_external_data_is_refused_and_never_opened(tmp_path, where):
    folder = tmp_path / "model"
    folder.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones((3, 4), np.float32).tobytes())
    (folder / "weights.bin").write_bytes(secret.read_bytes())
    (folder / "link.bin").symlink_to(secret)
    path = write(folder, gemm_with(external(where)))
    message = refused(path, r"initializer 'w', read by .*Gemm .*external file .*never opens")
    assert repr(where) in message


def test_external_data_in_a_constant_node_is_refused(tmp_path):
    const = helper.make_node("Constant", [], ["c"], name="const", value=external("/etc/passwd"))
    add = node("Add", ["x", "c"], ["y"], "add")
    model = graph([const, add], [tensor("x", ["N", 4])], [tensor("y", ["N", 4])])
    refused(write(tmp_path, model), r"node 'const'\): its tensor attribute: .*external file")


# --- huge Reshape and Expand targets, sizes attributes do not back ------------------------------


def reshape_to(target, allowzero=0):
    shape = onnx.numpy_helper.from_array(np.array(target, np.int64), "shape")
    reshape = helper.make_node(
        "Reshape", ["x", "shape"], ["y"], name="reshape", allowzero=allowzero
    )
    return graph([reshape], [tensor("x", ["N", 4, 6])], [tensor("y", None)], [shape])


@pytest.mark.parametrize(
    "target, match",
    [
        ([0, 10**12], r"sample shape \[1000000000000\] cannot hold the 24 values"),
        ([0, 2**62, 2**62], "cannot hold the 24 values"),
        ([0, -1, 10**12], "cannot hold the 24 values"),
        ([0, -1, -1], "not a shape"),
        ([0, -7, 2], "not a shape"),
        ([0, 4, 0, 0], "copies a size"),
        ([10**12, 24], "must keep the batch first"),
        ([], "must keep the batch first"),
    ],
    ids=[
        "1e12",
        "2^124",
        "inferred-and-1e12",
        "two-minus-ones",
        "negative",
        "zero-past-rank",
        "batch-1e12",
        "empty",
    ],
)
def test_reshape_targets_that_do_not_fit_are_named(tmp_path, target, match):
    refused(write(tmp_path, reshape_to(target)), rf"Reshape \(node 'reshape'\): .*{match}")


def test_reshape_that_fits_loads(tmp_path):
    loaded = nn.onnx.load(write(tmp_path, reshape_to([0, -1, 3])))
    assert loaded(np.zeros((2, 4, 6), np.float32)).shape == (2, 8, 3)


def test_expand_to_a_huge_shape_is_refused_before_anything_is_built(tmp_path):
    shape = onnx.numpy_helper.from_array(np.array([10**6, 10**6, 10**6], np.int64), "shape")
    expand = helper.make_node("Expand", ["x", "shape"], ["y"], name="expand")
    model = graph([expand], [tensor("x", ["N", 1])], [tensor("y", None)], [shape])
    refused(write(tmp_path, model), r"operator Expand \(node 'expand'\) has no numpynn layer")


def test_recurrent_hidden_size_must_match_its_weights(tmp_path):
    """hidden_size=10^9 on weights of 4 units: refused before a layer of that size is built
    (it would ask for 4e18 values)."""
    x, w, r = tensor("x", ["N", 5, 3]), weights("W", (1, 16, 3)), weights("R", (1, 16, 4))
    transpose = helper.make_node("Transpose", ["x"], ["t"], name="time_major", perm=[1, 0, 2])
    lstm = helper.make_node("LSTM", ["t", "W", "R"], ["", "h"], name="lstm", hidden_size=10**9)
    squeeze = helper.make_node("Squeeze", ["h", "axes"], ["y"], name="squeeze")
    axes = onnx.numpy_helper.from_array(np.array([0], np.int64), "axes")
    model = graph([transpose, lstm, squeeze], [x], [tensor("y", ["N", 4])], [w, r, axes])
    refused(
        write(tmp_path, model),
        r"LSTM \(node 'lstm'\): W has shape \(1, 16, 3\), hidden_size=1000000000",
    )
    model.graph.node[1].attribute[0].i = 4
    loaded = nn.onnx.load(write(tmp_path, model))
    assert loaded(np.zeros((2, 5, 3), np.float32)).shape == (2, 4)


def test_input_sizes_must_be_positive(tmp_path):
    model = relu_model()
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = -4
    refused(write(tmp_path, model), r"input 'x' needs a batch axis and positive sizes")
    model.graph.input[0].type.tensor_type.ClearField("shape")
    refused(write(tmp_path, model), r"input 'x' needs a batch axis")


# --- NaN and infinite weights: refused ----------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("which", [0, 1, 2, 3])  # Gemm weight and bias, of either layer
def test_weights_holding_nan_or_infinity_are_refused(tmp_path, bad, which):
    model = mlp_proto(tmp_path)
    tensor_proto = model.graph.initializer[which]
    values = onnx.numpy_helper.to_array(tensor_proto).copy()
    values.flat[1] = bad
    tensor_proto.CopyFrom(onnx.numpy_helper.from_array(values, tensor_proto.name))
    message = refused(write(tmp_path, model), r"holds 1 NaN or infinite values \(first at \(")
    assert f"initializer {tensor_proto.name!r}, read by the operator Gemm" in message


def test_batch_norm_statistics_holding_nan_are_refused(tmp_path):
    nn.manual_seed(0)
    path = tmp_path / "bn.onnx"
    nn.onnx.export(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), path, input_shape=(3,))
    model = onnx.load(str(path))
    var = next(t for t in model.graph.initializer if t.name.endswith("running_var"))
    var.CopyFrom(onnx.numpy_helper.from_array(np.full(4, np.nan, np.float32), var.name))
    refused(
        write(tmp_path, model),
        r"running_var', read by the operator BatchNormalization .*holds 4 NaN or infinite",
    )
    # a negative variance, under a name that does not say it is one
    var.CopyFrom(onnx.numpy_helper.from_array(np.array([1, -1, 1, 1], np.float32), "v"))
    next(n for n in model.graph.node if n.op_type == "BatchNormalization").input[4] = "v"
    refused(write(tmp_path, model), r"BatchNormalization .*the variance 'v' holds 1 negative")


def test_embedding_indices_beyond_the_file_are_refused(tmp_path):
    """Embedding's input check touches its indices as an array: a declared sequence of
    10^12 tokens would be built in memory. Refused over max(65,536, the file's size)."""
    nn.manual_seed(0)
    path = tmp_path / "tokens.onnx"
    nn.onnx.export(nn.Sequential(nn.Embedding(5, 2)), path, input_shape=(7,))
    model = onnx.load(str(path))
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 10**12
    refused(write(tmp_path, model), r"Gather .*1000000000000 per sample, over 65536")
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 1 << 16
    assert nn.onnx.load(write(tmp_path, model)).layers[0].num_embeddings == 5

"""Fuzzing of nn.onnx.load, run by test_onnx_fuzz.py in a subprocess whose address space is
limited (RLIMIT_AS): a file that made the loader allocate far beyond its size would end in a
MemoryError there, and fail. Each mutated file must load or raise ONNXLoadError (or, for what
is no file at all, NotARegularFileError); anything else is a failure hypothesis shrinks.

The files are mutated as bytes (truncated, flipped, inserted) and as protobuf messages (a
node's operator, inputs and attributes; an initializer's shape, type and bytes, external
data; the inputs' sizes; the opset; the order of the nodes), from five exported models that
between them use every operator ``load`` reads. ``NUMPYNN_ONNX_FUZZ_EXAMPLES`` sets the
examples per test (default 500: 2,000 files in all, about 20 s).

Not collected by pytest on its own (the name does not start with test_).
"""

import os
import pathlib
import tempfile

import numpy as np
import onnx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numpynn as nn
from numpynn.onnx import ONNXLoadError

FUZZ = settings(
    max_examples=int(os.environ.get("NUMPYNN_ONNX_FUZZ_EXAMPLES", "500")),
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure in CI reproduces
    database=None,
    suppress_health_check=list(HealthCheck),
)
FOLDER = pathlib.Path(tempfile.mkdtemp(prefix="numpynn-onnx-fuzz-"))


def _models() -> list:
    """Five small models whose exports use every operator ``load`` reads."""
    nn.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Dropout(0.1), nn.Linear(6, 3), nn.Softmax())
    cnn = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding="same"), nn.BatchNorm2d(2), nn.LeakyReLU(0.1),
        nn.MaxPool2d(2), nn.AvgPool2d(2, padding=1), nn.Identity(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2), nn.LogSoftmax(),
    )  # fmt: skip
    tokens = nn.keras.Sequential(
        [nn.keras.Embedding(9, 4), nn.keras.LSTM(3, return_sequences=True),
         nn.keras.SimpleRNN(3, return_sequences=True), nn.keras.GRU(2), nn.keras.Dense(2)]
    )  # fmt: skip
    formulas = nn.Sequential(
        nn.Normalization(mean=np.arange(4.0), variance=np.ones(4)), nn.GELU(), nn.GELU("tanh"),
        nn.Softplus(2.0, 5.0), nn.ELU(), nn.Tanh(), nn.Sigmoid(), nn.LayerNorm(4), nn.Reshape(2, 2),
    )  # fmt: skip
    a, b = nn.Input(shape=(3,), name="a"), nn.Input(shape=(3,), name="b")
    merged = nn.Concatenate()([nn.Add()([a, b]), nn.Subtract()([a, b]), nn.Multiply()([a, b])])
    graph = nn.Model([a, b], [nn.Dense(2)(merged), nn.Average()([a, b])])
    shapes = [(4,), (1, 6, 6), (5,), (4,), None]
    files = []
    for i, (model, shape) in enumerate(zip([mlp, cnn, tokens, formulas, graph], shapes)):
        if shape == (5,):
            model(np.zeros((1, 5), np.int64))
        path = FOLDER / f"base{i}.onnx"
        nn.onnx.export(model, path, input_shape=shape)
        files.append(path.read_bytes())
    return files


CORPUS = _models()
PROTOS = [onnx.ModelProto.FromString(data) for data in CORPUS]


def load(data: bytes) -> None:
    """nn.onnx.load of ``data``: a model or an ONNXLoadError, nothing else."""
    path = FOLDER / "mutated.onnx"
    path.write_bytes(data)
    try:
        nn.onnx.load(path)
    except ONNXLoadError:
        pass


sources = st.integers(0, len(CORPUS) - 1)
positions = st.floats(0, 1, exclude_max=True)


def at(data, where: float) -> int:
    return int(where * len(data))


# --- bytes ---------------------------------------------------------------------------------------


@FUZZ
@given(source=sources, where=positions)
def test_truncated_files(source, where):
    load(CORPUS[source][: at(CORPUS[source], where)])


@FUZZ
@given(
    source=sources,
    changes=st.lists(st.tuples(positions, st.integers(1, 255)), min_size=1, max_size=8),
)
def test_files_with_flipped_bytes(source, changes):
    data = bytearray(CORPUS[source])
    for where, xor in changes:
        data[at(data, where)] ^= xor
    load(bytes(data))


@FUZZ
@given(source=sources, where=positions, inserted=st.binary(min_size=1, max_size=64))
def test_files_with_inserted_bytes(source, where, inserted):
    data = CORPUS[source]
    load(data[: at(data, where)] + inserted + data[at(data, where) :])


# --- protobuf fields -----------------------------------------------------------------------------

extreme_ints = st.sampled_from([0, 1, -1, 2, 3, 7, 2**31, 2**62, -(2**62), 10**12])
names = st.text(max_size=12) | st.sampled_from(["", "x", "input", "output"])
operators = st.sampled_from(
    sorted(nn.onnx._table.IMPORTERS) + ["Expand", "Loop", "If", "Frobnicate", ""]
)


def mutate_node(proto, data):
    """A node's operator, an input name, or an attribute's value, changed."""
    nodes = proto.graph.node
    node = nodes[data.draw(st.integers(0, len(nodes) - 1))]
    choice = data.draw(st.integers(0, 4))
    if choice == 0:
        node.op_type = data.draw(operators)
    elif choice == 1 and len(node.input):
        others = [n for other in nodes for n in other.output] + [
            t.name for t in proto.graph.initializer
        ]
        node.input[data.draw(st.integers(0, len(node.input) - 1))] = data.draw(
            st.sampled_from(others) | names
        )
    elif choice == 2 and len(node.attribute):
        attribute = node.attribute[data.draw(st.integers(0, len(node.attribute) - 1))]
        attribute.i = data.draw(extreme_ints)
        attribute.f = data.draw(st.floats(allow_nan=True, width=32))
        if len(attribute.ints):
            attribute.ints[data.draw(st.integers(0, len(attribute.ints) - 1))] = data.draw(
                extreme_ints
            )
    elif choice == 3:
        del node.input[data.draw(st.integers(0, len(node.input))) :]
    else:
        node.attribute.add(
            name=data.draw(st.sampled_from(["axis", "perm", "pads", "hidden_size", "group"])),
            type=onnx.AttributeProto.INT,
            i=data.draw(extreme_ints),
        )


def mutate_initializer(proto, data):
    """An initializer's shape, element type or bytes changed, or its data moved outside."""
    initializers = proto.graph.initializer
    tensor = initializers[data.draw(st.integers(0, len(initializers) - 1))]
    choice = data.draw(st.integers(0, 3))
    if choice == 0:
        tensor.dims[:] = data.draw(st.lists(extreme_ints, max_size=4))
    elif choice == 1:
        tensor.data_type = data.draw(st.integers(0, 30))
    elif choice == 2:
        tensor.raw_data = tensor.raw_data[: data.draw(st.integers(0, len(tensor.raw_data)))]
    else:
        tensor.data_location = onnx.TensorProto.EXTERNAL
        tensor.external_data.add(
            key="location", value=data.draw(st.sampled_from(["../x", "/etc/passwd", "base0.onnx"]))
        )


def mutate_graph(proto, data):
    """An input's sizes, the opset, or the order of the nodes changed; a node repeated."""
    choice = data.draw(st.integers(0, 3))
    if choice == 0:
        dims = proto.graph.input[0].type.tensor_type.shape.dim
        dims[data.draw(st.integers(0, len(dims) - 1))].dim_value = data.draw(extreme_ints)
    elif choice == 1:
        proto.opset_import[0].version = data.draw(st.integers(-2, 40))
    elif choice == 2:
        nodes = list(proto.graph.node)
        order = data.draw(st.permutations(range(len(nodes))))
        del proto.graph.node[:]
        proto.graph.node.extend(nodes[i] for i in order)
    else:
        nodes = proto.graph.node
        nodes.append(nodes[data.draw(st.integers(0, len(nodes) - 1))])


@FUZZ
@given(source=sources, data=st.data(), steps=st.integers(1, 3))
def test_files_with_mutated_fields(source, data, steps):
    proto = onnx.ModelProto()
    proto.CopyFrom(PROTOS[source])
    for _ in range(steps):
        data.draw(st.sampled_from([mutate_node, mutate_initializer, mutate_graph]))(proto, data)
    load(proto.SerializeToString())

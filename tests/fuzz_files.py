"""Fuzzing of model files, safetensors files and IDX files, run by test_fuzz.py in a
subprocess whose address space is limited (RLIMIT_AS): a file that made the reader allocate
far beyond its size would end in a MemoryError there, and fail. Each mutated file must load
or raise the library's own error (ModelFileError, SafetensorsError, IDXError); anything else
is a failure that hypothesis shrinks. A safetensors file that our reader accepts must also be
accepted, with the same arrays, by the safetensors package's Rust reader, when installed.

Not collected by pytest on its own (the name does not start with test_).
"""

import gzip
import io as stdio
import json
import os
import pathlib
import struct
import tempfile
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numpynn as nn
from numpynn import io, safetensors_io

FUZZ = settings(
    max_examples=int(os.environ.get("NUMPYNN_FUZZ_EXAMPLES", "80")),
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure in CI reproduces
    database=None,
    suppress_health_check=list(HealthCheck),
)
# safetensors files are small and quick to read: more examples for the same time
MANY = settings(FUZZ, max_examples=int(os.environ.get("NUMPYNN_FUZZ_EXAMPLES", "80")) * 6)
FOLDER = pathlib.Path(tempfile.mkdtemp(prefix="numpynn-fuzz-"))


def _model_file() -> bytes:
    nn.manual_seed(0)
    model = nn.Sequential(
        nn.Dense(5, activation="relu", input_dim=3), nn.BatchNorm1d(5), nn.Dense(2)
    )
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    model.fit(x, x[:, :2], epochs=1, batch_size=3, verbose=0)
    model.save(FOLDER / "base.npz", include_optimizer=True)
    return (FOLDER / "base.npz").read_bytes()


MODEL = _model_file()
IDX = bytes([0, 0, 8, 3]) + np.array([2, 3, 4], ">u4").tobytes() + bytes(range(24))


def load(data: bytes):
    """load_model and load_weights on ``data``: a result or a ModelFileError, nothing else."""
    path = FOLDER / "mutated.npz"
    path.write_bytes(data)
    try:
        nn.load_model(path)
    except io.ModelFileError:
        pass
    target = nn.Sequential(
        nn.Dense(5, activation="relu", input_dim=3), nn.BatchNorm1d(5), nn.Dense(2)
    )
    before = {k: v.copy() for k, v in target.state_dict().items()}
    try:
        target.load_weights(path)
    except io.ModelFileError:
        after = target.state_dict()
        assert all(np.array_equal(before[k], after[k], equal_nan=True) for k in before)


def read_idx(data: bytes, suffix: str):
    path = FOLDER / f"mutated-idx{suffix}"
    path.write_bytes(data)
    try:
        nn.data.read_idx(path)
    except nn.data.IDXError:
        pass


positions = st.floats(0, 1, exclude_max=True)


def at(data: bytes, where: float) -> int:
    return int(where * len(data))


flips = st.lists(st.tuples(positions, st.integers(1, 255)), min_size=1, max_size=8)


def flipped(data: bytes, changes) -> bytes:
    data = bytearray(data)
    for where, xor in changes:
        data[at(data, where)] ^= xor
    return bytes(data)


@FUZZ
@given(changes=flips)
def test_model_files_with_flipped_bytes(changes):
    load(flipped(MODEL, changes))


@FUZZ
@given(where=positions)
def test_truncated_model_files(where):
    load(MODEL[: at(MODEL, where)])


@FUZZ
@given(where=positions, inserted=st.binary(min_size=1, max_size=64))
def test_model_files_with_inserted_bytes(where, inserted):
    i = at(MODEL, where)
    load(MODEL[:i] + inserted + MODEL[i:])


def npy_bytes(shape, descr: str, body: bytes) -> bytes:
    header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {tuple(shape)}, }}"
    header = header.encode().ljust(117) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + body


members = st.sampled_from(zipfile.ZipFile(stdio.BytesIO(MODEL)).namelist())
replacements = st.one_of(
    st.binary(max_size=200),
    st.builds(
        npy_bytes,
        st.lists(st.integers(0, 2**40), max_size=4),
        st.sampled_from(["<f4", ">f8", "<f2", "|u1", "<i8", "|O", "<c8", "|b1", "<U3", "V8"]),
        st.binary(max_size=64),
    ),
)


@FUZZ
@given(member=members, data=replacements, compressed=st.booleans())
def test_model_files_with_a_replaced_member(member, data, compressed):
    out = stdio.BytesIO()
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(stdio.BytesIO(MODEL)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = data if info.filename == member else source.read(info)
            target.writestr(info.filename, content, compress_type=method)
    load(out.getvalue())


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=10)
    | st.sampled_from(["Linear", "Sequential", "Merge", "Adam", "relu", "mse", "weights"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["class", "config", "layers", "units", "lr"]), children)
    ),
    max_leaves=12,
)


def nodes(value, path=()):
    """Every place in a JSON value, as a path of keys and indices."""
    yield path
    if isinstance(value, (dict, list)):
        for key, child in value.items() if isinstance(value, dict) else enumerate(value):
            yield from nodes(child, (*path, key))


HEADER = json.loads(np.load(stdio.BytesIO(MODEL))[io.HEADER].tobytes())
PLACES = list(nodes(HEADER))[1:]


@FUZZ
@given(place=st.sampled_from(PLACES), value=json_values)
def test_model_files_with_a_mutated_json_header(place, value):
    header = json.loads(json.dumps(HEADER))
    parent = header
    for key in place[:-1]:
        parent = parent[key]
    parent[place[-1]] = value
    with np.load(stdio.BytesIO(MODEL)) as npz:
        entries = {k: npz[k] for k in npz.files}
    entries[io.HEADER] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    out = stdio.BytesIO()
    np.savez(out, **entries)
    load(out.getvalue())


@FUZZ
@given(
    changes=flips,
    cut=positions,
    inserted=st.binary(max_size=16),
    compressed=st.booleans(),
)
def test_idx_files_mutated(changes, cut, inserted, compressed):
    data = flipped(IDX, changes)
    i = at(data, cut)
    data = data[:i] + inserted + data[i:] if inserted else data[: i or None]
    read_idx(gzip.compress(data) if compressed else data, ".gz" if compressed else "")


@FUZZ
@given(changes=flips, cut=positions)
def test_gz_idx_files_with_damaged_compression(changes, cut):
    packed = flipped(gzip.compress(IDX), changes)
    read_idx(packed[: at(packed, cut) or None], ".gz")


@FUZZ
@given(shape=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=5), body=st.binary())
def test_idx_headers_claiming_any_shape(shape, body):
    header = bytes([0, 0, 0x0E, len(shape)]) + np.array(shape, ">u4").tobytes()
    read_idx(header + body, "")
    read_idx(gzip.compress(header + body), ".gz")


def _safetensors_file() -> bytes:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    path = FOLDER / "base.safetensors"
    nn.save_weights(model, path)
    return path.read_bytes()


SAFETENSORS = _safetensors_file()
(ST_LENGTH,) = struct.unpack("<Q", SAFETENSORS[:8])
ST_HEADER = json.loads(SAFETENSORS[8 : 8 + ST_LENGTH])
ST_DATA = SAFETENSORS[8 + ST_LENGTH :]
try:
    from safetensors import deserialize as rust_deserialize
except ImportError:  # the check against the Rust reader is skipped, the rest still runs
    rust_deserialize = None


def stored_bytes(array: np.ndarray, dtype: str) -> bytes:
    """The bytes a tensor of safetensors ``dtype`` holds for what we read as ``array``."""
    if dtype == "BF16":
        return (array.view(np.uint32) >> 16).astype("<u2").tobytes()
    return array.astype(array.dtype.newbyteorder("<")).tobytes()


def load_safetensors(data: bytes):
    """load_file and load_weights on ``data``: the arrays or a SafetensorsError (and, from
    load_weights, a ModelFileError with the model unchanged); nothing else."""
    path = FOLDER / "mutated.safetensors"
    path.write_bytes(data)
    try:
        arrays, _ = safetensors_io.load_file(path)
    except safetensors_io.SafetensorsError:
        arrays = None
    if arrays is not None and rust_deserialize is not None:
        theirs = dict(rust_deserialize(data))  # the Rust reader accepts it too, and agrees
        assert theirs.keys() == arrays.keys()
        for key, value in arrays.items():
            tensor = theirs[key]
            assert list(value.shape) == tensor["shape"], key
            assert stored_bytes(value, tensor["dtype"]) == bytes(tensor["data"]), key
    target = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    before = {k: v.copy() for k, v in target.state_dict().items()}
    try:
        nn.load_weights(target, path)
    except (io.ModelFileError, safetensors_io.SafetensorsError):
        after = target.state_dict()
        assert all(np.array_equal(before[k], after[k], equal_nan=True) for k in before)


@MANY
@given(changes=flips)
def test_safetensors_with_flipped_bytes(changes):
    load_safetensors(flipped(SAFETENSORS, changes))


@MANY
@given(where=positions, inserted=st.binary(max_size=64))
def test_safetensors_truncated_or_with_inserted_bytes(where, inserted):
    i = at(SAFETENSORS, where)
    load_safetensors(
        SAFETENSORS[:i] + inserted + SAFETENSORS[i + (not inserted) * len(SAFETENSORS) :]
    )


ST_PLACES = list(nodes(ST_HEADER))[1:]
st_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(0, 200)
    | st.floats(allow_nan=True)
    | st.text(max_size=10)
    | st.sampled_from(
        sorted(safetensors_io.DTYPES) + ["F8_E5M2", "U32", "0.weight", "__metadata__"]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["dtype", "shape", "data_offsets", "x"]), children)
    ),
    max_leaves=8,
)


@MANY
@given(place=st.sampled_from(ST_PLACES), value=st_values, length_change=st.integers(-9, 9))
def test_safetensors_with_a_mutated_json_header(place, value, length_change):
    header = json.loads(json.dumps(ST_HEADER))
    parent = header
    for key in place[:-1]:
        parent = parent[key]
    parent[place[-1]] = value
    text = json.dumps(header).encode()
    length = max(0, len(text) + length_change * (length_change % 3 == 0))
    load_safetensors(struct.pack("<Q", length) + text + ST_DATA)


@MANY
@given(
    shapes=st.lists(st.lists(st.integers(0, 2**40), max_size=3), min_size=1, max_size=3),
    dtypes=st.lists(st.sampled_from(sorted(safetensors_io.DTYPES)), min_size=3, max_size=3),
    cuts=st.lists(st.integers(0, 64), min_size=4, max_size=4),
    body=st.binary(max_size=64),
)
def test_safetensors_headers_claiming_any_shape_and_range(shapes, dtypes, cuts, body):
    cuts = sorted(cuts)
    header = {
        f"t{i}": {"dtype": dtype, "shape": shape, "data_offsets": [cuts[i], cuts[i + 1]]}
        for i, (shape, dtype) in enumerate(zip(shapes, dtypes))
    }
    text = json.dumps(header).encode()
    load_safetensors(struct.pack("<Q", len(text)) + text + body)

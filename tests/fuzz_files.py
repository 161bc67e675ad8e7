"""Fuzzing of model files and IDX files, run by test_fuzz.py in a subprocess whose address
space is limited (RLIMIT_AS): a file that made the reader allocate far beyond its size would
end in a MemoryError there, and fail. Each mutated file must load or raise the library's own
error (ModelFileError, IDXError); anything else is a failure that hypothesis shrinks.

Not collected by pytest on its own (the name does not start with test_).
"""

import gzip
import io as stdio
import json
import os
import pathlib
import tempfile
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numpynn as nn
from numpynn import io

FUZZ = settings(
    max_examples=int(os.environ.get("NUMPYNN_FUZZ_EXAMPLES", "80")),
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure in CI reproduces
    database=None,
    suppress_health_check=list(HealthCheck),
)
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

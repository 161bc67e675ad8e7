"""safetensors weights: PyTorch reads ours and we read PyTorch's; hostile files are errors.

The reader and the writer are NumPy only; the package ``safetensors`` (its Rust reader) is
the reference the round trips are checked against.
"""

import json
import os
import stat
import struct
import sys
import threading

import numpy as np
import pytest
from helpers import peak_allocation

import numpynn as nn
from numpynn import safetensors_io
from numpynn._files import NotARegularFileError
from numpynn.safetensors_io import SafetensorsError


@pytest.fixture
def rust():
    """The safetensors package's NumPy front end (its Rust reader and writer)."""
    return pytest.importorskip("safetensors.numpy", reason="needs the safetensors package")


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(48, 5),
        nn.Tanh(),
        nn.Linear(5, 2),
    )


def torch_small_cnn(t):
    return t.nn.Sequential(
        t.nn.Conv2d(1, 3, 3, padding=1),
        t.nn.BatchNorm2d(3),
        t.nn.ReLU(),
        t.nn.Flatten(),
        t.nn.Linear(48, 5),
        t.nn.Tanh(),
        t.nn.Linear(5, 2),
    )


def trained_a_little(model, x):
    """A few training steps, so the running statistics and weights are not the defaults."""
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        out = model(x)
        opt.zero_grad()
        model.backward(np.ones_like(out) / out.size)
        opt.step()
    return model.eval()


@pytest.mark.torch
def test_numpynn_file_loads_into_pytorch(torch, rust, tmp_path):
    from safetensors.torch import load_file

    x = np.random.default_rng(0).standard_normal((4, 1, 4, 4)).astype(np.float32)
    model = trained_a_little(small_cnn(), x)
    assert not model[4].weight.data.flags.c_contiguous  # the trap: Fortran order
    path = tmp_path / "w.safetensors"
    nn.save_weights(model, path)

    twin = torch_small_cnn(torch)
    twin.load_state_dict(load_file(path), strict=True)
    twin.eval()
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    # float32 through the same weights; the two libraries sum in different orders
    np.testing.assert_allclose(model(x), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.torch
def test_pytorch_file_loads_into_numpynn(torch, rust, tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    twin = torch_small_cnn(torch)
    x = torch.randn(6, 1, 4, 4)
    twin(x)  # training-mode pass: running statistics move away from 0 and 1
    twin.eval()
    path = tmp_path / "torch.safetensors"
    save_file(twin.state_dict(), path)

    model = small_cnn().eval()
    nn.load_weights(model, path)
    with torch.no_grad():
        expected = twin(x).numpy()
    np.testing.assert_allclose(model(x.numpy()), expected, rtol=1e-6, atol=1e-6)
    assert int(model[1].num_batches_tracked) == 1


def test_fortran_ordered_and_strided_arrays_round_trip_bit_for_bit(tmp_path):
    model = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 4))
    assert model[0].weight.data.flags.f_contiguous and not model[0].weight.data.flags.c_contiguous
    path = tmp_path / "w.safetensors"
    model.save_weights(path)
    other = nn.Sequential(nn.Linear(5, 3, seed=9), nn.ReLU(), nn.Linear(3, 4, seed=9))
    other.load_weights(path)
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        assert np.array_equal(a, b), name

    strided = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    safetensors_io.save_file({"view": strided, "t": strided.T}, path)
    arrays, _ = safetensors_io.load_file(path)
    assert np.array_equal(arrays["view"], strided) and np.array_equal(arrays["t"], strided.T)


def test_metadata_is_text(tmp_path):
    path = tmp_path / "m.safetensors"
    arch = json.dumps({"layers": [1, 2]})
    safetensors_io.save_file({"a": np.zeros(2, np.float32)}, path, {"architecture": arch})
    assert safetensors_io.load_file(path)[1] == {"architecture": arch}
    with pytest.raises(TypeError, match=r"dict\[str, str\]"):
        safetensors_io.save_file({"a": np.zeros(2)}, tmp_path / "b.safetensors", {"n": 3})
    assert not (tmp_path / "b.safetensors").exists()


def write_raw(path, header: dict, data: bytes, length=None):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)


@pytest.mark.parametrize(
    "header, data, length, message",
    [
        ({}, b"", 10**12, "header claims 1000000000000 bytes"),
        ({}, b"", 2**63, "header claims"),
        (
            {"w": {"dtype": "F32", "shape": [1000000], "data_offsets": [0, 4000000]}},
            b"\0" * 16,
            None,
            r"tensor 'w': data_offsets \[0, 4000000\] lie outside the 16 bytes",
        ),
        (
            {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
            b"\0" * 8,
            None,
            "tensor 'w': shape .3. of F32 needs 12 bytes",
        ),
        (
            {"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}},
            b"\0" * 2,
            None,
            "tensor 'w': dtype 'F8_E4M3'",
        ),
        (
            {"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 0]}},
            b"",
            None,
            "tensor 'w': shape",
        ),
        ({"__metadata__": {"a": 1}}, b"", None, "__metadata__"),
    ],
)
def test_damaged_files_name_the_file_and_key(tmp_path, header, data, length, message):
    path = tmp_path / "bad.safetensors"
    write_raw(path, header, data, length)
    model = nn.Sequential(nn.Linear(2, 1))
    with pytest.raises(ValueError, match=message) as info:
        nn.load_weights(model, path)
    assert str(path) in str(info.value)


def test_truncated_file(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3))
    path = tmp_path / "w.safetensors"
    nn.save_weights(model, path)
    data = path.read_bytes()
    for cut in (3, 12, len(data) - 5):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
            nn.load_weights(model, path)


def test_weights_that_do_not_fit_name_the_key(tmp_path):
    path = tmp_path / "w.safetensors"
    nn.save_weights(nn.Sequential(nn.Linear(4, 3)), path)
    with pytest.raises(ValueError, match=r"w.safetensors(.|\n)*0.weight: expected \(2, 4\)"):
        nn.load_weights(nn.Sequential(nn.Linear(4, 2)), path)
    with pytest.raises(ValueError, match="missing: 1.weight"):
        nn.load_weights(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 1)), path)


def test_dtype_not_matching_the_model_names_the_key(tmp_path):
    path = tmp_path / "w.safetensors"
    arrays = {"0.weight": np.zeros((3, 4), np.float32), "0.bias": np.zeros(3, np.int64)}
    safetensors_io.save_file(arrays, path)
    model = nn.Sequential(nn.Linear(4, 3))
    before = model[0].weight.data.copy()
    with pytest.raises(
        ValueError, match=r"w.safetensors(.|\n)*0.bias: expected \(3,\) float32, got \(3,\) int64"
    ):
        nn.load_weights(model, path)
    assert np.array_equal(model[0].weight.data, before)  # nothing loaded


def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


# Each class of hostile file, its cases, and a piece of the message each must give.
LYING_LENGTHS = [  # (header length written, bytes after it)
    (10**12, b"{}"),
    (2**64 - 1, b"{}"),
    (3, b"{}      "),  # shorter than the JSON: the JSON is cut
    (0, b""),
]
MALFORMED_HEADERS = [  # (raw header bytes, message)
    (b"\xff\xfe{}", "not JSON"),
    (b"{'w': 1}", "not JSON"),
    (b"[]", "not a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not JSON"),
    (b'{"w": ' + json.dumps(entry()).encode() + b', "w": ' + json.dumps(entry()).encode() + b"}",
     "'w' appears more than once"),
    (b'{"w": 3}', "needs dtype, shape and data_offsets"),
    (b'{"w": {"dtype": "F32", "shape": [2]}}', "needs dtype, shape and data_offsets"),
    (b'{"__metadata__": ["a"]}', "__metadata__"),
    (b'{"__metadata__": {"a": {"b": "c"}}}', "__metadata__"),
]  # fmt: skip
BAD_SHAPES = [
    [-1],
    [True, 2],
    [2.0],
    [[2]],
    "2",
    [2**64, 2**64],  # the product overflows 64 bits: Python's ints do not
    [10**6],  # more than the file holds
    [0, 2**40, 2**40],  # empty, yet beyond what NumPy can index
]
BAD_OFFSETS = [  # (entries, data bytes, message)
    ({"w": entry(offsets=(0, 8_000_000))}, 8, "lie outside the 8 bytes"),
    ({"w": entry(offsets=(8, 0))}, 8, "lie outside"),
    ({"w": entry(offsets=(-8, 0))}, 8, "lie outside"),
    ({"w": entry(offsets=(0, 8, 16))}, 8, "lie outside"),
    ({"w": entry(offsets=(False, 8))}, 8, "lie outside"),
    ({"a": entry(), "b": entry()}, 8, "overlaps"),
    ({"a": entry(), "b": entry(offsets=(4, 12))}, 12, "'b' at bytes .4, 12. overlaps 'a'"),
    ({"a": entry(), "b": entry(offsets=(12, 20))}, 20, "leaves a gap after 'a'"),
    ({"a": entry(offsets=(4, 12))}, 12, "leaves a gap after the start"),
    ({"a": entry()}, 12, "fill 8 bytes but the file holds 12"),
]
BAD_DTYPES = ["F8_E4M3", "U64", "f32", "", 32, None, ["F32"]]


def write_header(path, raw: bytes, data: bytes = b"", length=None) -> None:
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)


def refused(path, message: str):
    """load_file and load_weights both refuse ``path`` with ``message``; the model is unchanged."""
    with pytest.raises(SafetensorsError, match=message) as info:
        safetensors_io.load_file(path)
    assert str(path) in str(info.value)
    model = nn.Sequential(nn.Linear(2, 1))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        nn.load_weights(model, path)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("length, rest", LYING_LENGTHS)
def test_a_header_length_that_lies(tmp_path, length, rest):
    path = tmp_path / "lie.safetensors"
    write_header(path, rest, length=length)
    refused(path, "header claims|not JSON|no header|fill 0 bytes but the file holds 5")


def test_a_header_length_above_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.safetensors"
    claimed = safetensors_io.MAX_HEADER_BYTES + 1
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", claimed) + b"{")
        file.truncate(claimed + 64)  # sparse: the size is there, the disk space is not
    assert (
        peak_allocation(lambda: pytest.raises(SafetensorsError, safetensors_io.load_file, path))
        < 1 << 20
    )


@pytest.mark.parametrize("raw, message", MALFORMED_HEADERS)
def test_a_malformed_header(tmp_path, raw, message):
    path = tmp_path / "bad.safetensors"
    write_header(path, raw, b"\0" * 8)
    refused(path, message)


@pytest.mark.parametrize("shape", BAD_SHAPES, ids=str)
def test_a_shape_that_is_not_sizes_or_does_not_fit_the_file(tmp_path, shape):
    path = tmp_path / "shape.safetensors"
    write_header(path, json.dumps({"w": {**entry(), "shape": shape}}).encode(), b"\0" * 8)
    refused(
        path, "tensor 'w': shape .* (is not a list of sizes|needs \\d+ bytes|than NumPy can index)"
    )


@pytest.mark.parametrize("entries, size, message", BAD_OFFSETS)
def test_offsets_out_of_range_overlapping_or_leaving_gaps(tmp_path, entries, size, message):
    path = tmp_path / "offsets.safetensors"
    write_header(path, json.dumps(entries).encode(), b"\0" * size)
    refused(path, message)


@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=str)
def test_an_unknown_dtype(tmp_path, dtype):
    path = tmp_path / "dtype.safetensors"
    write_header(path, json.dumps({"w": entry(dtype=dtype)}).encode(), b"\0" * 8)
    refused(path, "tensor 'w': dtype .* is not one NumPy reads")


@pytest.mark.parametrize(
    "kind", ["fifo", "folder", "device"], ids=["a FIFO", "a folder", "a device"]
)
def test_a_path_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path, kind):
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        path = tmp_path / "pipe.safetensors"
        os.mkfifo(path)
    elif kind == "folder":
        path = tmp_path / "dir.safetensors"
        path.mkdir()
    else:
        if not os.path.exists("/dev/zero") or not stat.S_ISCHR(os.stat("/dev/zero").st_mode):
            pytest.skip("no /dev/zero here")
        path = tmp_path / "zero.safetensors"
        path.symlink_to("/dev/zero")  # endless: read, it would exhaust memory
    outcome = []

    def attempt():
        try:
            nn.load_weights(nn.Sequential(nn.Linear(2, 1)), path)
        except Exception as error:  # noqa: BLE001 - the test inspects it below
            outcome.append(error)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), f"load_weights blocked on {kind}"
    assert isinstance(outcome[0], (NotARegularFileError, IsADirectoryError)), outcome
    assert "not a regular file" in str(outcome[0]) or kind == "folder"


def big_file(tmp_path):
    arrays = {f"t{i}": np.full((256, 1024), i, np.float32) for i in range(4)}  # 4 MiB
    path = tmp_path / "big.safetensors"
    safetensors_io.save_file(arrays, path)
    return path, arrays


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="counts bytes in /proc/self/io")
def test_the_file_is_read_once(tmp_path):
    path, arrays = big_file(tmp_path)

    def bytes_read():
        with open("/proc/self/io") as io:
            return int(next(line for line in io if line.startswith("rchar:")).split()[1])

    bytes_read()  # the counter's own file, opened once before
    before = bytes_read()
    loaded, _ = safetensors_io.load_file(path)
    read = bytes_read() - before
    size = path.stat().st_size
    assert size <= read < 1.2 * size, f"read {read} bytes of a {size}-byte file"
    assert all(np.array_equal(loaded[k], arrays[k]) for k in arrays)


def test_memory_stays_within_the_file_size(tmp_path):
    path, _ = big_file(tmp_path)
    size = path.stat().st_size
    peak = peak_allocation(lambda: safetensors_io.load_file(path))
    assert peak < 1.1 * size, f"peak {peak} bytes for a {size}-byte file"
    model = nn.Sequential(nn.Linear(1024, 256), nn.Linear(256, 1024))
    safetensors_io.save_file(model.state_dict(), path)
    # the file, plus one float copy per tensor as it is converted and stored
    assert peak_allocation(lambda: nn.load_weights(model, path)) < 3 * path.stat().st_size


def test_bf16_and_f16_tensors_load_as_float32(tmp_path, rust):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    values = torch.tensor([[1.5, -2.25, 3e38], [1e-40, 0.0, -0.0]])
    path = tmp_path / "half.safetensors"
    save_file({"b": values.to(torch.bfloat16), "h": values[:, :2].to(torch.float16)}, path)
    arrays, _ = safetensors_io.load_file(path)
    assert arrays["b"].dtype == np.float32 and arrays["h"].dtype == np.float16
    # bfloat16 widens to float32 exactly: the same numbers PyTorch gives
    assert np.array_equal(arrays["b"], values.to(torch.bfloat16).float().numpy())
    model = nn.Sequential(nn.Linear(3, 2))
    save_file({"0.weight": values.to(torch.bfloat16), "0.bias": values[0, :2].half()}, path)
    nn.load_weights(model, path)
    assert model[0].weight.data.dtype == np.float32
    assert np.array_equal(model[0].weight.data, values.to(torch.bfloat16).float().numpy())


def test_names_that_do_not_match_the_model_list_each_and_change_nothing(tmp_path):
    path = tmp_path / "names.safetensors"
    safetensors_io.save_file(
        {"0.weight": np.ones((1, 2), np.float32), "0.bais": np.ones(1, np.float32)}, path
    )
    model = nn.Sequential(nn.Linear(2, 1))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"missing: 0.bias\n  unexpected: 0.bais"):
        nn.load_weights(model, path)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_what_we_write_the_rust_reader_reads_and_back(tmp_path, rust):
    arrays = {
        "f64": np.arange(6.0).reshape(2, 3),
        "f16": np.array([1.5, -2], np.float16),
        "i8": np.array([-3, 4], np.int8),
        "u8": np.array([255], np.uint8),
        "b": np.array([True, False]),
        "empty": np.zeros((0, 3), np.int64),
        "big_endian": np.array([1.0, 2.0], ">f4"),
    }
    path = tmp_path / "all.safetensors"
    safetensors_io.save_file(arrays, path, {"k": "v"})
    theirs = rust.load_file(str(path))
    ours, metadata = safetensors_io.load_file(path)
    assert metadata == {"k": "v"} and theirs.keys() == ours.keys() == arrays.keys()
    for key, value in arrays.items():
        assert np.array_equal(theirs[key], value) and np.array_equal(ours[key], value), key
        assert ours[key].dtype == value.dtype.newbyteorder("=")
    rust_path = tmp_path / "rust.safetensors"
    rust.save_file(arrays | {"big_endian": arrays["big_endian"].astype(np.float32)}, str(rust_path))
    assert all(
        np.array_equal(safetensors_io.load_file(rust_path)[0][k], v) for k, v in arrays.items()
    )


def test_the_writer_refuses_dtypes_it_cannot_store(tmp_path):
    for bad in (np.array(["a"]), np.array([1 + 2j]), np.array([1], np.uint32)):
        with pytest.raises(TypeError, match=f"has dtype {bad.dtype}"):
            safetensors_io.save_file({"x": bad}, tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)
    assert sys.byteorder  # the checks above hold on either byte order


WEIGHTS_THAT_DO_NOT_FIT = {  # a change to the state saved, and what load_weights must say
    "extra": (
        lambda s: s.update({"2.weight": np.ones((1, 1), np.float32)}),
        "unexpected: 2.weight",
    ),
    "missing": (lambda s: s.pop("1.running_mean"), "missing: 1.running_mean"),
    "transposed": (
        lambda s: s.update({"0.weight": np.ascontiguousarray(s["0.weight"].T)}),
        r"mismatched: 0.weight: expected \(3, 2\) float32, got \(2, 3\) float32 \(transposed\?",
    ),
    "integer": (
        lambda s: s.update({"0.bias": np.arange(3, dtype=np.int32)}),
        r"mismatched: 0.bias: expected \(3,\) float32, got \(3,\) int32",
    ),
    "boolean": (
        lambda s: s.update({"0.bias": np.ones(3, bool)}),
        r"mismatched: 0.bias: expected \(3,\) float32, got \(3,\) bool",
    ),
    "float-counter": (
        lambda s: s.update({"1.num_batches_tracked": np.array(2.0)}),
        r"mismatched: 1.num_batches_tracked: expected \(\) int64, got \(\) float64",
    ),
    "nan": (
        lambda s: s["0.weight"].__setitem__((2, 1), np.nan),
        r"the tensor 'weight' of layer '0' \(Linear\(2 -> 3\)\) holds 1 NaN",
    ),
    "overflow": (
        lambda s: s.update({"0.bias": np.array([0, 1e300, 0])}),
        "the weight '0.bias' overflows float32",
    ),
    "negative-variance": (
        lambda s: s["1.running_var"].__setitem__(0, -1.0),
        r"the tensor 'running_var' of layer '1' \(BatchNorm1d.*\) holds 1 negative variances",
    ),
}


@pytest.mark.parametrize(
    ("change", "message"), WEIGHTS_THAT_DO_NOT_FIT.values(), ids=list(WEIGHTS_THAT_DO_NOT_FIT)
)
def test_weights_that_do_not_fit_leave_every_parameter_bit_identical(tmp_path, change, message):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    state = {k: v.copy() for k, v in model.state_dict().items()}
    change(state)
    path = tmp_path / "w.safetensors"
    safetensors_io.save_file(state, path)
    target = nn.Sequential(nn.Linear(2, 3, seed=5), nn.BatchNorm1d(3))
    before = {k: v.copy() for k, v in target.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        nn.load_weights(target, path)
    after = target.state_dict()
    assert all(before[k].tobytes() == after[k].tobytes() for k in before), "the model changed"

"""safetensors weights: PyTorch reads ours and we read PyTorch's; damaged files are errors."""

import json
import struct

import numpy as np
import pytest

import numpynn as nn
from numpynn import safetensors_io

pytest.importorskip("safetensors", reason='needs safetensors (pip install "numpynn[safetensors]")')


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
def test_numpynn_file_loads_into_pytorch(torch, tmp_path):
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
def test_pytorch_file_loads_into_numpynn(torch, tmp_path):
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
            {"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}},
            b"\0" * 4,
            None,
            "tensor 'w': dtype 'BF16'",
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


def test_missing_package_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "safetensors", None)
    monkeypatch.setitem(__import__("sys").modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r'pip install "numpynn\[safetensors\]"'):
        nn.save_weights(nn.Sequential(nn.Linear(2, 1)), tmp_path / "w.safetensors")


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

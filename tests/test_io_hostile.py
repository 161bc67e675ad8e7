"""Damaged and hostile model files: each is a ModelFileError naming the file and the problem,
found before the model is built or its arrays read, with memory bounded by the file's size."""

import json
import struct
import zipfile

import numpy as np
import pytest
from helpers import peak_allocation

import numpynn as nn
from numpynn import io, safetensors_io


def trained(tmp_path, optimizer="adam"):
    """A small compiled model with BatchNorm, after two steps (optimizer state exists)."""
    model = nn.Sequential(
        nn.Dense(6, activation="relu", input_dim=4),
        nn.BatchNorm1d(6),
        nn.Dense(3, activation="softmax"),
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 3, 8)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "good.npz"
    model.save(path)
    return model, path


def entries_of(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def write(path, entries, header=None):
    if header is not None:
        entries = {**entries, io.HEADER: np.frombuffer(json.dumps(header).encode(), np.uint8)}
    with open(path, "wb") as file:
        np.savez(file, **entries)
    return path


def header_of(entries):
    return json.loads(entries[io.HEADER].tobytes())


def changed(tmp_path, source, change, name="bad.npz"):
    entries = entries_of(source)
    header = header_of(entries)
    change(header, entries)
    return write(tmp_path / name, entries, header)


def fails(path, message, load=nn.load_model):
    with pytest.raises(io.ModelFileError, match=message) as error:
        load(path)
    text = str(error.value)
    assert str(path) in text, text
    assert "allow_pickle" not in text, text
    return text


def architecture_only(tmp_path, layers, name="claims.npz"):
    header = {
        "format": "numpynn",
        "version": 1,
        "kind": "model",
        "architecture": {"class": "Sequential", "config": {"layers": layers}},
    }
    return write(tmp_path / name, {}, header)


@pytest.mark.parametrize(
    "layers",
    [
        [{"class": "Linear", "config": {"in_features": 20000, "out_features": 20000}}],
        [{"class": "Linear", "config": {"in_features": 10**12, "out_features": 10**12}}],
        [{"class": "Conv2d", "config": {"in_channels": 4000, "out_channels": 4000,
                                        "kernel_size": 9}}],
        [{"class": "BatchNorm1d", "config": {"num_features": 10**9}}],
        [{"class": "LayerNorm", "config": {"normalized_shape": [100000, 100000]}}],
    ],
    ids=["linear-20000", "linear-1e12", "conv", "batchnorm", "layernorm"],
)  # fmt: skip
def test_an_architecture_claiming_more_than_the_file_stores_allocates_nothing(tmp_path, layers):
    path = architecture_only(tmp_path, layers)
    assert path.stat().st_size < 1000
    peak = peak_allocation(
        lambda: fails(path, "more (parameters|than the 0 weights)|the file stores")
    )
    assert peak < 2_000_000, f"{peak} bytes allocated for a {path.stat().st_size}-byte file"


def test_a_lazy_layer_claiming_a_huge_input_is_refused_before_drawing(tmp_path):
    path = tmp_path / "lazy.npz"
    path = write(
        path,
        {},
        {
            "format": "numpynn",
            "version": 1,
            "kind": "model",
            "architecture": {
                "class": "Sequential",
                "config": {
                    "layers": [{"class": "Linear", "config": {"in_features": None,
                                                              "out_features": 30000}}],
                    "input_shape": [None, 30000],
                },
            },
        },
    )  # fmt: skip
    peak = peak_allocation(
        lambda: fails(path, "more parameters than the 0 weights the file stores")
    )
    assert peak < 2_000_000


def test_an_npy_header_claiming_a_huge_shape_is_refused_before_reading(tmp_path):
    _, good = trained(tmp_path)
    entries = entries_of(good)
    path = write(tmp_path / "huge.npz", entries)
    # rewrite the stored shape (5,) of one bias as (10**11,) in the .npy header, in place
    data = bytearray(path.read_bytes())
    key = b"'shape': (6,), }"
    at = data.index(key)
    data[at : at + len(key)] = b"'shape': (99999999999999,),}"[: len(key)].ljust(len(key))
    path.write_bytes(bytes(data))
    peak = peak_allocation(lambda: fails(path, "its header says|not a readable numpynn file"))
    assert peak < 2_000_000


def test_a_compression_bomb_is_refused_before_it_expands(tmp_path):
    _, good = trained(tmp_path)
    size = 64 << 20
    npy_header = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118)
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({size // 4},), }}"
    npy_header += text.encode().ljust(117) + b"\n"
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w") as out:
        for item in source.infolist():
            if item.filename != "weights/0.bias.npy":
                out.writestr(item, source.read(item))
        info = zipfile.ZipInfo("weights/0.bias.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with out.open(info, "w") as member:  # 64 MB of zeros, deflated to about 64 kB
            member.write(npy_header)
            for _ in range(size >> 20):
                member.write(bytes(1 << 20))
    assert bomb.stat().st_size < 200_000
    peak = peak_allocation(lambda: fails(bomb, "claim .* bytes uncompressed, more than 16 times"))
    assert peak < 2_000_000, peak


@pytest.mark.parametrize(
    ("offset", "value", "message"),
    [
        (10, 99, "compression method 99"),  # central directory: compression method
        (8, 1, "is encrypted"),  # central directory: general purpose flags, bit 0
    ],
)
def test_a_flipped_byte_in_the_zip_directory_is_a_model_file_error(
    tmp_path, offset, value, message
):
    _, good = trained(tmp_path)
    data = bytearray(good.read_bytes())
    at = data.index(b"PK\x01\x02")  # the first central-directory entry
    data[at + offset] = value
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(data))
    fails(path, message)


def test_a_member_without_npy_magic(tmp_path):
    _, good = trained(tmp_path)
    path = tmp_path / "magic.npz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            out.writestr(item, b"NOTNPY" + data[6:] if "bias" in item.filename else data)
    fails(path, "the entry 'weights/0.bias'.*(magic|not a)")


def test_members_that_are_not_arrays(tmp_path):
    _, good = trained(tmp_path)
    path = tmp_path / "extra.npz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as out:
        for item in source.infolist():
            out.writestr(item, source.read(item))
        out.writestr("readme.txt", b"hello")
    fails(path, "the entry 'readme.txt' is not an array")


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json(tmp_path, depth):
    text = '{"format": "numpynn", "version": 1, "kind": "model", "architecture": '
    text += "[" * depth + "]" * depth + "}"
    path = tmp_path / "deep.npz"
    with open(path, "wb") as f:
        np.savez(f, **{io.HEADER: np.frombuffer(text.encode(), np.uint8)})
    fails(path, "nested .* levels deep")


def test_deeply_nested_sequentials(tmp_path):
    spec = {"class": "Linear", "config": {"in_features": 2, "out_features": 2}}
    for _ in range(40):
        spec = {"class": "Sequential", "config": {"layers": [spec]}}
    path = write(tmp_path / "nest.npz", {}, {"format": "numpynn", "version": 1,
                                            "kind": "model", "architecture": spec})  # fmt: skip
    fails(path, "nested .* levels deep")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h, e: h.update(compile="adam"), "the compile entry has the wrong type: 'adam'"),
        (lambda h, e: h.update(metadata=[1, 2]), "the metadata has the wrong type"),
        (lambda h, e: h["compile"].update(metrics="accuracy"), "the metrics has the wrong"),
        (lambda h, e: h["compile"].update(loss=3), "the loss has the wrong type"),
        (lambda h, e: h["compile"].update(loss_weights=["x"]), "loss_weights has the wrong"),
        (lambda h, e: h.update(architecture="Sequential"), "the architecture has the wrong"),
        (lambda h, e: h.update(optimizer=["Adam"]), "the optimizer entry has the wrong"),
        (lambda h, e: h["compile"].update(loss="nope"), "compile settings: unknown loss"),
    ],
    ids=["compile-str", "metadata", "metrics", "loss", "loss-weights", "arch", "opt", "name"],
)
def test_metadata_of_the_wrong_type(tmp_path, change, message):
    _, good = trained(tmp_path)
    fails(changed(tmp_path, good, change), message)


def set_group(key, value):
    def change(header, entries):
        header["optimizer"]["param_groups"][0][key] = value

    return change


def set_state(key, value):
    def change(header, entries):
        if isinstance(value, np.ndarray):
            entries[f"optimizer/0/{key}"] = value
        else:
            header["optimizer"]["scalars"]["0"][key] = value

    return change


def drop_array(key):
    def change(header, entries):
        del entries[key]

    return change


BAD_OPTIMIZERS = {
    "negative-lr": (set_group("lr", -0.1), "lr must not be negative"),
    "string-lr": (set_group("lr", "0.1"), r"setting lr='0.1'"),
    "short-betas": (set_group("betas", [0.9]), "setting betas"),
    "bad-betas": (set_group("betas", [0.9, 1.5]), "betas must lie in"),
    "bool": (set_group("amsgrad", "yes"), "setting amsgrad"),
    "unknown-setting": (set_group("momentum", 0.9), "Adam has no setting 'momentum'"),
    "positions": (set_group("params", [0, 0, 99]), "parameter positions \\[0, 0, 99\\]"),
    "step-str": (set_state("step", "x"), r"state 'step'='x'"),
    "step-negative": (set_state("step", -3), r"state 'step'=-3"),
    "shape": (set_state("exp_avg", np.zeros((2, 2), np.float32)), "state 'exp_avg': expected an"),
    "nan": (set_state("exp_avg", np.full((6, 4), np.nan, np.float32)), "expected finite floats"),
    "extra-key": (set_state("bogus", 1), "state keys"),
    "missing-key": (drop_array("optimizer/0/exp_avg_sq"), "state keys"),
    "not-optimizer": (
        lambda h, e: h["optimizer"].update({"class": "Merge"}),
        "unknown optimizer 'Merge'",
    ),
    "abstract": (lambda h, e: h["optimizer"].update({"class": "Optimizer"}), "unknown optimizer"),
}


@pytest.mark.parametrize(("change", "message"), BAD_OPTIMIZERS.values(), ids=BAD_OPTIMIZERS)
def test_a_bad_optimizer_state_is_found_at_load_time(tmp_path, change, message):
    _, good = trained(tmp_path)
    fails(changed(tmp_path, good, change), message)


def layer_config(index, **changes):
    def change(header, entries):
        header["architecture"]["config"]["layers"][index]["config"].update(changes)

    return change


def set_array(key, value):
    def change(header, entries):
        entries[key] = value

    return change


BAD_MODELS = {
    "negative-units": (layer_config(0, units=-5), "units=-5; expected a positive integer"),
    "float-units": (layer_config(0, units=2.5), "units=2.5; expected a positive integer"),
    "bool-units": (layer_config(0, units=True), "units=True; expected a positive integer"),
    "module": (
        lambda h, e: h["architecture"].update({"class": "Module"}),
        "unknown layer 'Module'",
    ),
    "nan": (set_array("weights/0.weight", np.full((6, 4), np.nan, np.float32)), "NaN or infinite"),
    "inf": (set_array("weights/2.bias", np.array([1, np.inf, 0], np.float32)), "NaN or infinite"),
    "variance": (
        set_array("weights/1.running_var", np.array([1, 1, -0.5, 1, 1, 1], np.float32)),
        r"the tensor 'running_var' of layer '1' \(BatchNorm1d\(6.*\) holds 1 negative "
        r"variances \(first -0.5 at \(2,\)\)",
    ),
    "nan-mean": (
        set_array("weights/1.running_mean", np.array([0, 0, 0, 0, 0, np.nan], np.float32)),
        r"the tensor 'running_mean' of layer '1' \(BatchNorm1d\(6.*\) holds 1 NaN or infinite "
        r"values \(first at \(5,\)\)",
    ),
    "int-bias": (set_array("weights/0.bias", np.zeros(6, np.int32)), "mismatched: 0.bias"),
    "complex": (set_array("weights/0.bias", np.zeros(6, np.complex64)), "not numeric"),
}


@pytest.mark.parametrize(("change", "message"), BAD_MODELS.values(), ids=BAD_MODELS)
def test_invalid_architectures_and_weights(tmp_path, change, message):
    _, good = trained(tmp_path)
    fails(changed(tmp_path, good, change), message)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_negative_or_non_finite_statistics_are_refused_by_load_weights(tmp_path, suffix):
    """BatchNorm's running variance and Normalization's variance: a negative one would be
    used as if positive; load_weights refuses it, naming the layer and the tensor, and changes
    nothing."""
    x = np.random.default_rng(0).normal(size=(8, 3))
    model = nn.Sequential(nn.Normalization(), nn.Linear(3, 4), nn.BatchNorm1d(4))
    model[0].adapt(x)
    cases = [
        ("2.running_var", 3, -1.0, "'running_var' of layer '2' \\(BatchNorm1d.*negative"),
        ("0.variance", 0, -2.0, "'variance' of layer '0' \\(Normalization.*negative"),
        ("2.running_mean", 1, np.inf, "'running_mean' of layer '2'.*NaN or infinite"),
    ]
    for key, index, value, message in cases:
        state = model.state_dict()
        state[key][index] = value
        other = nn.Sequential(nn.Normalization(mean=np.zeros(3), variance=np.ones(3)),
                              nn.Linear(3, 4), nn.BatchNorm1d(4))  # fmt: skip
        before = other.state_dict()
        path = tmp_path / f"w{suffix}"
        if suffix == ".npz":
            nn.save_weights(model, path)
            write(path, {**entries_of(path), f"weights/{key}": state[key]})
        else:
            safetensors_io.save_file(state, path)
        with pytest.raises(io.ModelFileError, match=message):
            other.load_weights(path)
        assert all(np.array_equal(before[k], v) for k, v in other.state_dict().items())


def test_an_abstract_layer_is_refused_at_load_time(tmp_path):
    a, b = nn.Input(shape=(3,)), nn.Input(shape=(3,))
    model = nn.Model([a, b], nn.Dense(2)(nn.Add()([a, b])))
    model.save(tmp_path / "good.npz")

    def to_merge(header, entries):
        for layer in header["architecture"]["config"]["layers"]:
            if layer["class"] == "Add":
                layer["class"] = "Merge"

    fails(changed(tmp_path, tmp_path / "good.npz", to_merge), r"\(Merge\) cannot compute")


def test_what_the_file_says_must_fit_the_optimizers_own_check(tmp_path):
    model, good = trained(tmp_path, optimizer="sgd")
    path = changed(tmp_path, good, set_group("lr", -1.0))
    fails(path, "SGD: lr must not be negative")


@pytest.mark.parametrize(
    "spoil",
    [
        set_array("weights/0.bias", np.zeros(7, np.float32)),
        set_array("weights/0.bias", np.full(6, np.nan, np.float32)),
        drop_array("weights/2.bias"),
        set_array("weights/0.weight", np.zeros((6, 4), np.float16)),  # converts; others fail
    ],
    ids=["shape", "nan", "missing", "float16-with-a-bad-partner"],
)
def test_a_failed_load_weights_leaves_the_model_exactly_as_it_was(tmp_path, spoil):
    model, good = trained(tmp_path)
    model.to(np.float64)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    entries = entries_of(good)
    header = header_of(entries)
    spoil(header, entries)
    entries["weights/1.running_var"] = -np.ones(6, np.float16)  # always fails
    path = write(tmp_path / "bad.npz", entries, header)
    fails(path, "bad.npz", load=model.load_weights)
    after = model.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert after[k].dtype == before[k].dtype, k
        assert after[k].tobytes() == before[k].tobytes(), k


def test_a_float16_file_is_converted_to_the_models_dtype(tmp_path):
    model, good = trained(tmp_path)
    entries = {
        k: v.astype(np.float16) if k.startswith("weights/") and v.dtype.kind == "f" else v
        for k, v in entries_of(good).items()
    }
    path = write(tmp_path / "half.npz", entries)
    target = nn.Sequential(
        nn.Dense(6, activation="relu", input_dim=4),
        nn.BatchNorm1d(6),
        nn.Dense(3, activation="softmax"),
    )
    target.load_weights(path)
    for name, value in target.state_dict().items():
        assert value.dtype == (np.int64 if "tracked" in name else np.float32), name
        np.testing.assert_array_equal(value, entries[f"weights/{name}"].astype(np.float32))
    loaded = nn.load_model(path)
    assert {p.dtype for p in loaded.parameters()} == {np.dtype(np.float32)}


def test_a_float64_file_too_large_for_float32_is_refused(tmp_path):
    model, good = trained(tmp_path)
    entries = entries_of(good)
    entries["weights/0.bias"] = np.full(6, 1e300)
    path = write(tmp_path / "big.npz", entries)
    fails(path, "overflows float32", load=model.load_weights)


def test_numpy_scalars_in_metadata_and_configs_are_saved(tmp_path):
    model = nn.Sequential(nn.Linear(np.int64(3), np.int32(2)))
    path = tmp_path / "m.npz"
    metadata = {"epochs": np.int64(5), "accuracy": np.float32(0.5), "flag": np.bool_(True)}
    io.save_model(model, path, metadata=metadata)
    loaded = nn.load_model(path)
    assert loaded.metadata == {"epochs": 5, "accuracy": 0.5, "flag": True}
    assert type(loaded.metadata["epochs"]) is int
    with pytest.raises(TypeError, match="not JSON"):
        io.save_model(model, path, metadata={"x": object()})


def test_a_good_file_still_loads_and_predicts_the_same(tmp_path):
    model, good = trained(tmp_path)
    loaded = nn.load_model(good)
    x = np.ones((2, 4), np.float32)
    model.eval(), loaded.eval()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded.fit(x, np.array([0, 1]), epochs=1, verbose=0)  # its optimizer state works


@pytest.mark.parametrize("member", ["weights/0.weight.npy", "numpynn.json.npy"])
def test_a_flipped_byte_in_the_data_fails_the_crc_check(tmp_path, member):
    _, good = trained(tmp_path)
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo(member)
    data[info.header_offset + 30 + len(member) + 200] ^= 0x40  # inside the header or data
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(data))
    fails(path, f"Bad CRC-32 for file '{member}'")

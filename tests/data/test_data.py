"""Data: batching, splitting, scaling and label encoding (against scikit-learn), the IDX
reader on real and damaged files, the dataset search order, and downloads from a server on
127.0.0.1."""

import gzip
import hashlib
import http.server
import os
import pathlib
import threading
import zlib

import numpy as np
import pytest
from helpers import peak_allocation

import numpynn as nn
from numpynn.data import datasets

SYSTEM_FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not SYSTEM_FASHION.exists(),
    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
)


# --- DataLoader ------------------------------------------------------------------------------


def test_dataloader_visits_every_sample_once_per_pass_in_a_new_order():
    x, y = np.arange(10), np.arange(10) * 10
    loader = nn.data.DataLoader(x, y, batch_size=3, shuffle=True, seed=0)
    first = np.concatenate([xb for xb, _ in loader])
    second = np.concatenate([xb for xb, _ in loader])
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert not np.array_equal(first, second)
    assert all(np.array_equal(yb, xb * 10) for xb, yb in loader)
    again = nn.data.DataLoader(x, y, batch_size=3, shuffle=True, seed=0)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in again]), first)


def test_dataloader_batches_and_errors():
    x = np.zeros((10, 2))
    assert [len(b) for b in nn.data.DataLoader(x, batch_size=4)] == [4, 4, 2]
    assert [len(b) for b in nn.data.DataLoader(x, batch_size=4, drop_last=True)] == [4, 4]
    assert len(nn.data.DataLoader(x, batch_size=4, drop_last=True)) == 2
    with pytest.raises(ValueError, match="x holds 10 samples but y holds 9"):
        nn.data.DataLoader(x, np.zeros(9))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        nn.data.DataLoader(x, batch_size=0)


def test_loader_shards_split_each_global_batch():
    x = np.arange(23)
    single = [b.tolist() for b in nn.data.DataLoader(x, batch_size=9, shuffle=True, seed=5)]
    shards = [
        [
            b.tolist()
            for b in nn.data.DataLoader(x, batch_size=3, shuffle=True, seed=5, shard=(r, 3))
        ]
        for r in range(3)
    ]
    # step k of the three ranks together is batch k of the single loader, in rank order
    assert [sum(step, []) for step in zip(*shards)] == single
    assert [len(b) for b in shards[0]] == [3, 3, 2] and [len(b) for b in shards[2]] == [3, 3, 1]
    # a last global batch smaller than the ranks is left out on every rank
    assert len(nn.data.DataLoader(np.arange(7), batch_size=2, shard=(0, 3))) == 1
    assert [len(b) for b in nn.data.DataLoader(np.arange(7), batch_size=2, shard=(2, 3))] == [2]


def test_loader_shard_errors():
    with pytest.raises(ValueError, match="seed="):
        nn.data.DataLoader(np.arange(4), shuffle=True, shard=(0, 2))
    with pytest.raises(ValueError, match="0 <= rank < size"):
        nn.data.DataLoader(np.arange(4), shard=(2, 2))


def test_a_sharded_copy_keeps_the_loaders_settings_and_draws_from_the_seed():
    loader = nn.data.DataLoader(np.arange(23), np.arange(23), 3, shuffle=True, drop_last=True)
    pieces = [loader.sharded(rank, 3, seed=5) for rank in range(3)]
    assert all((p.batch_size, p.shuffle, p.drop_last) == (3, True, True) for p in pieces)
    assert [p.rank for p in pieces] == [0, 1, 2] and loader.rng is None
    single = nn.data.DataLoader(np.arange(23), batch_size=9, shuffle=True, drop_last=True, seed=5)
    steps = zip(*[[xb.tolist() for xb, _ in p] for p in pieces])
    assert [sum(step, []) for step in steps] == [b.tolist() for b in single]
    assert [nn.data.loader.shard_piece(7, r, 3, start=10) for r in range(3)] == [
        slice(10, 13),
        slice(13, 15),
        slice(15, 17),
    ]


# --- splitting and scaling -------------------------------------------------------------------


def test_train_test_split_is_a_partition():
    x = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    x_train, x_test, y_train, y_test = nn.data.train_test_split(x, y, test_size=0.2, seed=1)
    assert len(x_test) == 10 and len(x_train) == 40
    np.testing.assert_array_equal(x_train[:, 0] // 2, y_train)  # rows stay together
    assert sorted(np.concatenate([y_train, y_test])) == list(range(50))
    same = nn.data.train_test_split(x, y, test_size=0.2, seed=1)
    np.testing.assert_array_equal(same[3], y_test)
    _, last, *_ = nn.data.train_test_split(x, y, test_size=3, shuffle=False)
    np.testing.assert_array_equal(last[:, 0], [94, 96, 98])


def test_stratified_split_keeps_the_class_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    _, y_test = nn.data.train_test_split(y, test_size=0.3, stratify=y, seed=0)
    assert np.bincount(y_test).tolist() == [18, 9, 3]


def test_split_errors():
    with pytest.raises(ValueError, match="leaves an empty part"):
        nn.data.train_test_split(np.arange(5), test_size=1.0)
    with pytest.raises(ValueError, match=r"different numbers of samples \[4, 5\]"):
        nn.data.train_test_split(np.arange(5), np.arange(4))


@pytest.mark.parametrize("name", ["StandardScaler", "MinMaxScaler"])
def test_scalers_match_scikit_learn(name):
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    rng = np.random.default_rng(0)
    train = rng.normal(3, 2, (50, 4))
    train[:, 2] = 7.0  # a constant feature
    test = rng.normal(3, 2, (20, 4))
    ours, theirs = getattr(nn.data, name)(), getattr(preprocessing, name)()
    np.testing.assert_allclose(ours.fit_transform(train), theirs.fit_transform(train), atol=1e-12)
    np.testing.assert_allclose(ours.transform(test), theirs.transform(test), atol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(test)), test, atol=1e-12)


def test_scaler_errors_and_dtype():
    scaler = nn.data.StandardScaler()
    with pytest.raises(RuntimeError, match="call fit"):
        scaler.transform(np.zeros((2, 3)))
    scaler.fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"expected \(N, 3\) data, got \(2, 4\)"):
        scaler.transform(np.zeros((2, 4)))
    assert scaler.transform(np.zeros((2, 3), dtype=np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="feature_range"):
        nn.data.MinMaxScaler((1, 0))


LABELS = {
    "text": ["dog", "cat", "dog", "bird", "emu", "cat"],
    "integers": [10, -3, 7, 7, 10, 0],
    "floats": [2.5, -1.0, 2.5, 0.0],
    "booleans": [True, False, False],
    "column": [["b"], ["a"], ["c"]],  # (N, 1), flattened as scikit-learn does (with a warning)
}


@pytest.mark.parametrize("kind", LABELS)
def test_label_encoder_matches_scikit_learn(kind):
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    labels = LABELS[kind]
    flat = np.ravel(labels)
    ours, theirs = nn.data.LabelEncoder(), preprocessing.LabelEncoder()
    codes = ours.fit_transform(labels)
    np.testing.assert_array_equal(codes, theirs.fit_transform(flat))
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.classes_.dtype == theirs.classes_.dtype
    np.testing.assert_array_equal(nn.data.LabelEncoder().fit(labels).transform(flat[::-1]),
                                  theirs.transform(flat[::-1]))  # fmt: skip
    every = np.arange(len(theirs.classes_))
    np.testing.assert_array_equal(ours.inverse_transform(every), theirs.inverse_transform(every))
    np.testing.assert_array_equal(ours.inverse_transform(codes), flat)


def test_label_encoder_errors_say_what_to_do():
    encoder = nn.data.LabelEncoder()
    with pytest.raises(RuntimeError, match=r"LabelEncoder.transform: call fit\(y\) first"):
        encoder.transform(["a"])
    encoder.fit(["a", "b"])
    with pytest.raises(ValueError, match=r"labels not seen by fit: \['c', 'd'\]; fit on every"):
        encoder.transform(["a", "d", "c"])
    with pytest.raises(ValueError, match=r"integer codes in 0..1, got \[0, 2\]"):
        encoder.inverse_transform([0, 2])
    with pytest.raises(ValueError, match=r"integer codes in 0..1, got \[0.5\]"):
        encoder.inverse_transform([0.5])
    with pytest.raises(ValueError, match=r"one label per sample, \(N,\), got \(2, 2\)"):
        encoder.fit([["a", "b"], ["c", "d"]])
    assert encoder.transform([]).shape == (0,) and encoder.inverse_transform([]).shape == (0,)


# --- bundled datasets ------------------------------------------------------------------------


def test_iris_and_digits_ship_with_the_package():
    iris = nn.data.load_iris()
    assert iris.x.shape == (150, 4) and iris.x.dtype == np.float32
    assert np.bincount(iris.y).tolist() == [50, 50, 50]
    assert iris.x[0].tolist() == pytest.approx([5.1, 3.5, 1.4, 0.2])
    digits = nn.data.load_digits()
    assert digits.x.shape == (1797, 64) and 0 <= digits.x.min() and digits.x.max() == 1
    assert np.bincount(digits.y).min() >= 170 and digits.class_names[3] == "3"
    assert nn.data.load_digits(flat=False).x.shape == (1797, 1, 8, 8)


# --- IDX -------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    codes = {
        np.uint8: 0x08,
        np.int8: 0x09,
        np.int16: 0x0B,
        np.int32: 0x0C,
        np.float32: 0x0D,
        np.float64: 0x0E,
    }
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compressed", [False, True])
def test_idx_round_trip(tmp_path, dtype, compressed):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / ("a.idx.gz" if compressed else "a.idx")
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    np.testing.assert_array_equal(nn.data.read_idx(path), array)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: raw[:-7], "truncated: the header says 2 x 3 x 4 values of uint8"),
        (lambda raw: raw + b"\0", "longer than its header says"),
        (lambda raw: b"\x08\x03" + raw[2:], "not an IDX file"),
        (lambda raw: raw[:6], "the header is cut short"),
        (lambda raw: b"", "not an IDX file .magic bytes missing"),
    ],
)
def test_damaged_idx_files_are_rejected(tmp_path, damage, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(damage(idx_bytes(np.zeros((2, 3, 4), np.uint8))))
    with pytest.raises(nn.data.IDXError, match=message) as error:
        nn.data.read_idx(path)
    assert "bad.idx" in str(error.value)


def test_corrupted_gzip_is_rejected(tmp_path):
    packed = bytearray(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8))))
    packed[len(packed) // 2] ^= 0xFF
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(packed[:-4]))
    with pytest.raises(nn.data.IDXError, match="bad.gz: cannot be read or decompressed"):
        nn.data.read_idx(path)


@needs_fashion
def test_fashion_mnist_from_the_system_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # an empty cache
    monkeypatch.delenv("NUMPYNN_DATA", raising=False)
    (x_train, y_train), (x_test, y_test) = nn.data.load_fashion_mnist(download=False)
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.float32 and x_train.min() == 0 and x_train.max() == 1
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    (images, _), _ = nn.data.load_fashion_mnist(flat=False, download=False)
    assert images.shape == (60000, 1, 28, 28)


# --- where datasets are found, and downloads -------------------------------------------------


def write_fake_dataset(folder: pathlib.Path, size: int, value: int = 0) -> dict[str, str]:
    """Four small IDX files (size images of 28x28); returns their SHA-256 by name."""
    folder.mkdir(parents=True, exist_ok=True)
    images = np.full((size, 28, 28), value, np.uint8)
    labels = np.arange(size, dtype=np.uint8) % 10
    digests = {}
    for name in datasets.FILES.values():
        raw = idx_bytes(images if "images" in name else labels)
        packed = gzip.compress(raw, mtime=0)
        (folder / name).write_bytes(packed)
        digests[name] = hashlib.sha256(packed).hexdigest()
    return digests


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No cache, no NUMPYNN_DATA, an empty system folder, mirrors nowhere."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NUMPYNN_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM", tmp_path / "system")
    monkeypatch.setitem(datasets.MIRRORS, "mnist", ["http://127.0.0.1:9/"])  # nothing listens
    monkeypatch.setitem(datasets.CONTENT_SHA256, "mnist", {})  # fake files: no known content
    return tmp_path


def test_search_order_root_then_environment_then_cache_then_system(isolated, monkeypatch):
    write_fake_dataset(isolated / "system" / "mnist", 1, value=4)
    assert nn.data.load_mnist(download=False)[0][0][0, 0] == 4 / 255
    write_fake_dataset(isolated / "home" / ".cache" / "numpynn" / "mnist", 1, value=3)
    assert nn.data.load_mnist(download=False)[0][0][0, 0] == 3 / 255
    write_fake_dataset(isolated / "env" / "mnist", 1, value=2)
    monkeypatch.setenv("NUMPYNN_DATA", str(isolated / "env"))
    assert nn.data.load_mnist(download=False)[0][0][0, 0] == 2 / 255
    write_fake_dataset(isolated / "root", 1, value=1)
    assert nn.data.load_mnist(root=isolated / "root", download=False)[0][0][0, 0] == 1 / 255


def test_offline_with_nothing_found_says_where_it_looked(isolated):
    with pytest.raises(nn.data.DataNotFoundError) as error:
        nn.data.load_mnist()
    message = str(error.value)
    assert str(isolated / "home" / ".cache" / "numpynn" / "mnist") in message
    assert str(isolated / "system" / "mnist") in message
    assert "the download failed" in message and "NUMPYNN_DATA" in message
    with pytest.raises(nn.data.DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        nn.data.load_fashion_mnist(download=False)


class Server:
    """An HTTP server on 127.0.0.1 serving files from a folder; ``cut`` files are sent
    with their full Content-Length but only half their bytes."""

    def __init__(self, folder: pathlib.Path, cut=()):
        cut = set(cut)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                if name not in cut:
                    return super().do_GET()
                body = (folder / name).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_verifies_and_caches(isolated, monkeypatch, capsys):
    digests = write_fake_dataset(isolated / "served", 5, value=9)
    monkeypatch.setitem(datasets.SHA256, "mnist", digests)
    with Server(isolated / "served") as server:
        monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.url + "missing/", server.url])
        (x, y), _ = nn.data.load_mnist()  # the first mirror answers 404: the second serves
    cache = isolated / "home" / ".cache" / "numpynn" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(datasets.FILES.values())
    assert x.shape == (5, 784) and y.tolist() == [0, 1, 2, 3, 4]
    progress = capsys.readouterr().err.splitlines()  # the library's line, once per file
    assert [line.split(" [")[0] for line in progress] == [
        f"{name} (kB) 1/1" for name in datasets.FILES.values()
    ]
    (x, _), _ = nn.data.load_mnist()  # the server is gone: read from the cache
    assert x[0, 0] == 9 / 255


def test_a_wrong_checksum_is_rejected_and_nothing_is_kept(isolated, monkeypatch):
    digests = write_fake_dataset(isolated / "served", 5)
    digests["t10k-labels-idx1-ubyte.gz"] = "0" * 64
    monkeypatch.setitem(datasets.SHA256, "mnist", digests)
    with Server(isolated / "served") as server:
        monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.url])
        with pytest.raises(nn.data.DataNotFoundError, match="is not the published 0000"):
            nn.data.load_mnist()
    cache = isolated / "home" / ".cache" / "numpynn" / "mnist"
    assert "t10k-labels-idx1-ubyte.gz" not in {p.name for p in cache.iterdir()}
    assert not list(cache.glob("*.tmp"))


def test_an_interrupted_download_leaves_no_partial_file(isolated, monkeypatch):
    digests = write_fake_dataset(isolated / "served", 2000)
    monkeypatch.setitem(datasets.SHA256, "mnist", digests)
    with Server(isolated / "served", cut=["train-images-idx3-ubyte.gz"]) as server:
        monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.url])
        with pytest.raises(nn.data.DataNotFoundError, match="train-images-idx3-ubyte.gz"):
            nn.data.load_mnist()
    cache = isolated / "home" / ".cache" / "numpynn" / "mnist"
    assert not (cache / "train-images-idx3-ubyte.gz").exists()
    assert not list(cache.glob("*.tmp"))


# --- every copy is checked against the known content ----------------------------------------


def know(monkeypatch, folder):
    """Make the content of the fake dataset in ``folder`` the known one."""
    digests = {
        name.removesuffix(".gz"): hashlib.sha256(gzip.decompress((folder / name).read_bytes()))
        for name in datasets.FILES.values()
    }
    monkeypatch.setitem(
        datasets.CONTENT_SHA256, "mnist", {k: d.hexdigest() for k, d in digests.items()}
    )


def alter(folder, name="t10k-labels-idx1-ubyte.gz"):
    raw = bytearray(gzip.decompress((folder / name).read_bytes()))
    raw[-1] ^= 1  # one label changed: a valid IDX file, but not the known content
    (folder / name).write_bytes(gzip.compress(bytes(raw)))


@pytest.mark.parametrize("where", ["root", "env", "cache"])
def test_an_altered_copy_is_skipped_with_a_warning(isolated, monkeypatch, caplog, where):
    write_fake_dataset(isolated / "system" / "mnist", 3, value=7)
    know(monkeypatch, isolated / "system" / "mnist")
    folder = {
        "root": isolated / "root",
        "env": isolated / "env" / "mnist",
        "cache": isolated / "home" / ".cache" / "numpynn" / "mnist",
    }[where]
    write_fake_dataset(folder, 3, value=7)
    alter(folder)  # the same files but one label
    monkeypatch.setenv("NUMPYNN_DATA", str(isolated / "env"))
    root = isolated / "root" if where == "root" else None
    with caplog.at_level("WARNING", logger="numpynn.data"):
        _, (_, y) = nn.data.load_mnist(root=root, download=False)
    assert y.tolist() == [0, 1, 2]  # the system folder's; the altered copy has [0, 1, 3]
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "skipping a bad copy" in message and "trying the next place" in message
    assert str(folder / "t10k-labels-idx1-ubyte.gz") in message
    assert "is not the known" in message


def test_an_uncompressed_copy_of_the_known_content_is_accepted(isolated, monkeypatch):
    folder = isolated / "system" / "mnist"
    write_fake_dataset(folder, 3, value=5)
    know(monkeypatch, folder)
    for name in datasets.FILES.values():
        (folder / name.removesuffix(".gz")).write_bytes(
            gzip.decompress((folder / name).read_bytes())
        )
        (folder / name).unlink()
    assert nn.data.load_mnist(download=False)[0][0][0, 0] == 5 / 255


def test_only_bad_copies_and_no_download_say_so(isolated, monkeypatch, caplog):
    folder = isolated / "system" / "mnist"
    write_fake_dataset(folder, 3)
    know(monkeypatch, folder)
    alter(folder, "train-images-idx3-ubyte.gz")
    with pytest.raises(nn.data.DataNotFoundError, match="skipped a bad copy: .*train-images"):
        nn.data.load_mnist(download=False)
    assert "skipping a bad copy" in caplog.text


def test_a_download_replaces_a_bad_copy_in_the_cache(isolated, monkeypatch, caplog):
    digests = write_fake_dataset(isolated / "served", 4, value=6)
    know(monkeypatch, isolated / "served")
    monkeypatch.setitem(datasets.SHA256, "mnist", digests)
    cache = isolated / "home" / ".cache" / "numpynn" / "mnist"
    write_fake_dataset(cache, 4, value=6)
    alter(cache)
    with Server(isolated / "served") as server:
        monkeypatch.setitem(datasets.MIRRORS, "mnist", [server.url])
        (_, _), (_, y) = nn.data.load_mnist()
    assert y.tolist() == [0, 1, 2, 3]
    assert (cache / "t10k-labels-idx1-ubyte.gz").read_bytes() == (
        isolated / "served" / "t10k-labels-idx1-ubyte.gz"
    ).read_bytes()
    assert "skipping a bad copy" in caplog.text


@needs_fashion
def test_debians_fashion_mnist_has_the_known_content(tmp_path):
    known = datasets.CONTENT_SHA256["fashion-mnist"]
    for name in datasets.FILES.values():
        if "labels" in name:  # the images are checked by loading them in the test above
            nn.data.read_idx(SYSTEM_FASHION / name, sha256=known[name.removesuffix(".gz")])
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    raw.write_bytes(gzip.decompress((SYSTEM_FASHION / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    assert nn.data.read_idx(raw, sha256=known[raw.name]).shape == (10000,)
    with pytest.raises(nn.data.IDXError, match="is not the known"):
        nn.data.read_idx(raw, sha256=known["train-labels-idx1-ubyte"])


# --- IDX files that lie about their size -----------------------------------------------------


def gz_stream(header: bytes, zeros: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    parts = [compressor.compress(header)]
    for _ in range(zeros >> 20):
        parts.append(compressor.compress(bytes(1 << 20)))
    return b"".join(parts) + compressor.flush()


def idx_header(shape, code=0x08):
    return bytes([0, 0, code, len(shape)]) + np.array(shape, ">u4").tobytes()


@pytest.mark.parametrize(
    ("shape", "zeros", "message"),
    [
        ((10,), 96 << 20, "longer than its header says"),  # a small header, a bomb behind it
        ((60000, 28, 28, 1000), 1 << 20, "more than a .*-byte .gz can hold"),
        ((100, 1000, 1000), 1 << 20, "truncated: the header says 100 x 1000 x 1000"),
    ],
    ids=["bomb", "impossible-claim", "claim-beyond-data"],
)
def test_a_gz_bomb_or_a_lying_header_allocates_only_what_is_there(tmp_path, shape, zeros, message):
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(gz_stream(idx_header(shape), zeros))
    assert path.stat().st_size < 200_000

    def read():
        with pytest.raises(nn.data.IDXError, match=message):
            nn.data.read_idx(path)

    peak = peak_allocation(read)
    assert peak < 4 * (1 << 20), f"{peak} bytes for a {path.stat().st_size}-byte file"


def test_a_raw_idx_file_claiming_more_than_its_size_is_refused_before_reading(tmp_path):
    path = tmp_path / "big-idx3-ubyte"
    path.write_bytes(idx_header((100000, 1000, 1000), code=0x0E) + bytes(100))
    peak = peak_allocation(lambda: pytest.raises(nn.data.IDXError, nn.data.read_idx, path))
    assert peak < 100_000


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "labels-idx1-ubyte.gz")
    with pytest.raises(nn.data.IDXError, match=r"is a FIFO \(named pipe\), not a regular file"):
        nn.data.read_idx(tmp_path / "labels-idx1-ubyte.gz")

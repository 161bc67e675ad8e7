"""Datasets: Iris and the 8x8 digits shipped inside numpynn; MNIST and Fashion-MNIST found
on disk or downloaded.

The shipped files (``bundled/``, written by ``tools/bundle_datasets.py``) hold Fisher's Iris
data (1936) and the Optical Recognition of Handwritten Digits (Alpaydin and Kaynak, 1998),
both from the UCI Machine Learning Repository under CC BY 4.0.

``load_mnist`` and ``load_fashion_mnist`` look for the four IDX files, in order, in:

1. the ``root`` argument (and ``root/<name>``),
2. the folder in the ``NUMPYNN_DATA`` environment variable (and ``$NUMPYNN_DATA/<name>``),
3. the user cache, ``~/.cache/numpynn/<name>``,
4. the system folder ``/usr/share/datasets/<name>`` (Debian's ``dataset-fashion-mnist``
   installs Fashion-MNIST there);

and only then download them from the datasets' public mirrors into the first of
``root``, ``$NUMPYNN_DATA/<name>`` and the cache, with a progress bar, checking each
file's SHA-256 and writing it atomically. Offline with nothing found, the error lists
where it looked and how to get the data.

Wherever a file is read from, the SHA-256 of its content (decompressed: the same for the
published ``.gz``, Debian's recompressed copy and a gunzipped file) must be the known one.
A copy that is altered or damaged is skipped with a warning on the ``numpynn.data`` logger
(printed to stderr unless logging is configured otherwise), and the next place in the order
is tried; a download replaces a bad copy in its target folder.

>>> import numpynn as nn
>>> iris = nn.data.load_iris()
>>> iris.x.shape, iris.y.shape, iris.class_names
((150, 4), (150,), ['setosa', 'versicolor', 'virginica'])
"""

from __future__ import annotations

import math
import os
import pathlib
from typing import NamedTuple

import numpy as np

from numpynn._files import atomic_write
from numpynn._progress import Progress
from numpynn.data.idx import IDXError, read_idx

BUNDLED = pathlib.Path(__file__).parent / "bundled"
SYSTEM = pathlib.Path("/usr/share/datasets")

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# The published archives' SHA-256, checked on every download.
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",  # noqa: E501
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",  # noqa: E501
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",  # noqa: E501
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",  # noqa: E501
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",  # noqa: E501
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",  # noqa: E501
    },
}

# The SHA-256 of each file's content (the IDX bytes, decompressed), checked wherever it is read.
CONTENT_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",  # noqa: E501
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",  # noqa: E501
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",  # noqa: E501
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",  # noqa: E501
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",  # noqa: E501
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",  # noqa: E501
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",  # noqa: E501
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",  # noqa: E501
    },
}

MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ],
}

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
MNIST_CLASSES = [str(d) for d in range(10)]


class Dataset(NamedTuple):
    """Features ``x`` (float32), integer labels ``y`` and the name of each class."""

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]


class DataNotFoundError(FileNotFoundError):
    """A dataset that is neither on disk nor downloadable here."""


def load_iris() -> Dataset:
    """Fisher's Iris: 150 flowers, 4 measurements in cm, 3 species (shipped with numpynn)."""
    import csv  # here: `import numpynn` stays light

    with open(BUNDLED / "iris.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    class_names = sorted({row[4] for row in rows})
    x = np.array([row[:4] for row in rows], dtype=np.float32)
    y = np.array([class_names.index(row[4]) for row in rows], dtype=np.int64)
    return Dataset(x, y, class_names)


def load_digits(flat: bool = True) -> Dataset:
    """The UCI optical digits: 1,797 8x8 images of handwritten digits (shipped with numpynn),
    scaled from 0..16 to [0, 1]; ``x`` is (N, 64), or (N, 1, 8, 8) with ``flat=False``."""
    with np.load(BUNDLED / "digits.npz", allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    x = images.astype(np.float32) / 16
    return Dataset(
        x.reshape(len(x), -1) if flat else x[:, None], labels.astype(np.int64), MNIST_CLASSES
    )


def load_mnist(root=None, flat: bool = True, download: bool = True):
    """MNIST: ``(x_train, y_train), (x_test, y_test)``, 60,000 and 10,000 handwritten
    digits; x float32 in [0, 1], (N, 784), or (N, 1, 28, 28) with ``flat=False``."""
    return _load_idx_dataset("mnist", root, flat, download)


def load_fashion_mnist(root=None, flat: bool = True, download: bool = True):
    """Fashion-MNIST: ``(x_train, y_train), (x_test, y_test)``, 60,000 and 10,000 28x28
    images of clothing in 10 classes (``FASHION_MNIST_CLASSES``); x float32 in [0, 1],
    (N, 784), or (N, 1, 28, 28) with ``flat=False``."""
    return _load_idx_dataset("fashion-mnist", root, flat, download)


def _load_idx_dataset(name, root, flat, download):
    folder, arrays = _find_and_read(name, root, download)
    parts = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{name} in {folder}: {split} images {images.shape} do not match labels "
                f"{labels.shape}"
            )
        x = images.astype(np.float32) / 255
        parts.append((x.reshape(len(x), -1) if flat else x[:, None], labels.astype(np.int64)))
    return tuple(parts)


def _read_checked(name: str, folder: pathlib.Path, file: str) -> np.ndarray:
    """One of the four files, its content checked against the known SHA-256."""
    known = CONTENT_SHA256.get(name, {}).get(file.removesuffix(".gz"))
    return read_idx(_file_in(folder, file), sha256=known)


def _find_and_read(name, root, download):
    """The first folder in the search order whose four files are there and intact, and their
    arrays; bad copies are skipped with a warning; a download if none is found."""
    bad = []
    for folder in candidate_folders(name, root):
        if all(_exists(folder, file) for file in FILES.values()):
            try:
                return folder, {k: _read_checked(name, folder, f) for k, f in FILES.items()}
            except IDXError as error:
                bad.append(f"{error}")
                _warn_bad_copy(name, error)
    folder = _download_or_explain(name, root, download, bad)
    try:
        return folder, {k: _read_checked(name, folder, f) for k, f in FILES.items()}
    except IDXError as error:
        raise DataNotFoundError(f"{name}: the downloaded copy is bad: {error}") from None


def _file_in(folder: pathlib.Path, name: str) -> pathlib.Path:
    """``name`` in ``folder``, compressed or not."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(folder / name)


def candidate_folders(name: str, root=None) -> list[pathlib.Path]:
    """Where a dataset is looked for, in order (see the module docstring)."""
    folders = []
    if root is not None:
        folders += [pathlib.Path(root), pathlib.Path(root) / name]
    if os.environ.get("NUMPYNN_DATA"):
        env = pathlib.Path(os.environ["NUMPYNN_DATA"])
        folders += [env, env / name]
    return folders + [pathlib.Path.home() / ".cache" / "numpynn" / name, SYSTEM / name]


def find_dataset(name: str, root=None, download: bool = True) -> pathlib.Path:
    """The folder that holds all four files of ``name``, intact, downloading them if need be."""
    return _find_and_read(name, root, download)[0]


def _download_or_explain(name: str, root, download: bool, bad: list[str]) -> pathlib.Path:
    folders = candidate_folders(name, root)
    if root is not None:
        target = pathlib.Path(root)
    elif os.environ.get("NUMPYNN_DATA"):
        target = pathlib.Path(os.environ["NUMPYNN_DATA"]) / name
    else:
        target = pathlib.Path.home() / ".cache" / "numpynn" / name
    problems = []
    if download:
        try:
            return _download(name, target)
        except OSError as error:
            problems.append(str(error))
    looked = "\n  ".join(str(f) for f in folders)
    advice = (
        "apt-get install dataset-fashion-mnist"
        if name == "fashion-mnist"
        else "copy the four files of the original dataset into one of these folders"
    )
    found_bad = "".join(f"and skipped a bad copy: {b}\n" for b in bad)
    raise DataNotFoundError(
        f"{name}: the files {', '.join(FILES.values())} were not found intact; looked in:\n"
        f"  {looked}\n"
        + found_bad
        + (f"and the download failed: {'; '.join(problems)}\n" if problems else "")
        + f"To get them: {advice}, or put them in a folder and set NUMPYNN_DATA to it "
        "(or pass root=...)."
    )


def _exists(folder: pathlib.Path, file: str) -> bool:
    return (folder / file).exists() or (folder / file.removesuffix(".gz")).exists()


def _intact(name: str, folder: pathlib.Path, file: str) -> bool:
    try:
        _read_checked(name, folder, file)
    except IDXError:
        return False
    return True


def _download(name: str, folder: pathlib.Path) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    for file, digest in SHA256[name].items():
        if _exists(folder, file) and _intact(name, folder, file):
            continue
        errors = []
        for mirror in MIRRORS[name]:
            try:
                _fetch(mirror + file, folder / file, digest)
                break
            except (OSError, ValueError) as error:
                errors.append(f"{mirror + file}: {error}")
        else:
            raise OSError("; ".join(errors))
    return folder


def _fetch(url: str, path: pathlib.Path, sha256: str, timeout: float = 30.0) -> None:
    """Download ``url`` to ``path`` with the library's progress line (in kB); keep it only if
    its SHA-256 is ``sha256`` (the partial file is removed on any failure)."""
    # imported here, not with numpynn: only downloads need them (about 45 ms together)
    import hashlib
    import urllib.request

    digest, received = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https/http only)
        total = int(response.headers.get("Content-Length") or 0) or None
        line = Progress(1, total and math.ceil(total / 1024), f"{path.name} (kB)")
        with atomic_write(path) as out:
            while chunk := response.read(1 << 16):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
                line.update(math.ceil(received / 1024))
            line.close()
            if total is not None and received != total:
                raise OSError(f"the download stopped after {received} of {total} bytes")
            if digest.hexdigest() != sha256:
                raise ValueError(f"SHA-256 {digest.hexdigest()} is not the published {sha256}")


def _warn_bad_copy(name: str, error: Exception) -> None:
    import logging  # only when a copy is bad: `import numpynn` stays light

    log = logging.getLogger("numpynn.data")
    log.warning("%s: skipping a bad copy: %s; trying the next place", name, error)

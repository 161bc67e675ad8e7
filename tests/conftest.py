"""Shared fixtures: NumPy errors raise, the library starts each test seeded and in float32."""

import pathlib
import sys

import numpy as np
import pytest

import numpynn as nn

# The test folders mirror the package (tests/layers, tests/interop, ...); the shared helpers
# (cases.py, helpers.py) stay here, importable from every folder.
sys.path.insert(0, str(pathlib.Path(__file__).parent))


@pytest.fixture(autouse=True)
def _numerics_raise():
    # Overflow, division by zero and invalid operations (NaN) fail the test at the line that
    # caused them. Underflow to zero is how stable kernels are meant to behave (exp(-1e4)).
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield


@pytest.fixture(autouse=True)
def _library_defaults():
    nn.manual_seed(1234)
    nn.set_default_dtype(np.float32)
    yield
    nn.set_default_dtype(np.float32)


@pytest.fixture
def torch():
    return pytest.importorskip(
        "torch", reason="PyTorch parity needs torch==2.13.0 (pip install torch==2.13.0)"
    )


@pytest.fixture
def rng():
    return np.random.default_rng(0)

"""ONNX load fuzzed under a memory limit: fuzz_onnx.py run in a subprocess whose address
space is capped at 1 GiB (thousands of mutated ONNX files; only the library's own errors)."""

import os
import pathlib
import subprocess
import sys

import pytest

resource = pytest.importorskip("resource", reason="RLIMIT_AS needs a POSIX system")
pytest.importorskip("onnx", reason='needs onnx (pip install "numpynn[onnx]")')

LIMIT = 1 << 30  # bytes of address space for the whole child, Python, NumPy and onnx included


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def test_mutated_onnx_files_give_only_library_errors_under_a_memory_limit():
    here = pathlib.Path(__file__).parent
    tests = here.parents[1]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(here / "fuzz_onnx.py"), "-q", "-x",
         "-p", "no:cacheprovider", "-o", "addopts=", "-W", "error", "--rootdir", str(tests),
         # hypothesis's report of a failure touches a deprecated name of mypy_extensions:
         # without this, the falsifying example drowns in an INTERNALERROR
         "-W", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"],
        capture_output=True, text=True, env=env, preexec_fn=limit_memory, cwd=tests,
        timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout

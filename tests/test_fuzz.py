"""Fuzzing under a memory limit: fuzz_files.py run in a subprocess whose address space is
capped at 1 GiB (model, safetensors and IDX files mutated by hypothesis; only the library's own
errors)."""

import os
import pathlib
import subprocess
import sys

import pytest

resource = pytest.importorskip("resource", reason="RLIMIT_AS needs a POSIX system")

LIMIT = 1 << 30  # bytes of address space for the whole child, Python and NumPy included


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def test_mutated_model_safetensors_and_idx_files_give_only_library_errors_under_a_memory_limit():
    here = pathlib.Path(__file__).parent
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(here / "fuzz_files.py"), "-q", "-x",
         "-p", "no:cacheprovider", "-o", "addopts=", "-W", "error"],
        capture_output=True, text=True, env=env, preexec_fn=limit_memory, cwd=here.parent,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_the_memory_limit_really_stops_a_big_allocation():
    code = "import numpy as np; np.ones(1 << 31, np.uint8)"  # 2 GiB
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limit_memory
    )
    assert done.returncode != 0 and "MemoryError" in done.stderr

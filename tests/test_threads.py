"""set_num_threads reaches NumPy's BLAS; "auto" follows the machine's load."""

import subprocess
import sys

import pytest

import numpynn as nn
from numpynn._threads import auto_threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads():
    return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


def test_set_num_threads_sets_the_blas_threads():
    before = threadpoolctl.threadpool_info()
    try:
        assert nn.set_num_threads(1) == 1
        assert blas_threads() == {1}
    finally:
        threadpoolctl.threadpool_limits(
            max(i["num_threads"] for i in before if i["user_api"] == "blas"), user_api="blas"
        )


@pytest.mark.parametrize(
    "cores, load, expected", [(2, 0.0, 2), (2, 0.99, 2), (2, 1.2, 1), (8, 6.5, 8), (8, 7.5, 1)]
)
def test_auto_uses_every_core_only_when_one_is_idle(cores, load, expected):
    assert auto_threads(cores, load) == expected


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True])
def test_a_bad_count_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int or 'auto'"):
        nn.set_num_threads(bad)


def test_import_does_not_load_threadpoolctl():
    code = "import sys, numpynn; print('threadpoolctl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

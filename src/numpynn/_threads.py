"""How many threads NumPy's BLAS uses in this process: ``set_num_threads``, PyTorch's name.

A BLAS call split over every core waits, at each of its synchronisation points, for all of
its threads to run; on a machine whose cores are busy with other work that wait is a
scheduler time slice, not nanoseconds. Training ``benchmarks/cnn.py``'s network on this
project's 2-core machine under load took 10 times longer at 2 threads than at 1, and
PyTorch slowed down the same way (benchmarks/README.md, "A busy machine").
"""

from __future__ import annotations

import os


def auto_threads(cores: int | None = None, load: float | None = None) -> int:
    """Every core when the machine has one idle beside this process (the 1-minute load
    average plus this process below the core count), else one.

    >>> auto_threads(cores=2, load=0.1), auto_threads(cores=2, load=3.5)
    (2, 1)
    """
    cores = cores or os.cpu_count() or 1
    load = os.getloadavg()[0] if load is None else load
    return cores if load + 1 <= cores else 1


def set_num_threads(threads: int | str = "auto") -> int:
    """Set the threads of NumPy's BLAS (OpenBLAS, MKL or BLIS) for this process, and return
    the count set; ``"auto"`` picks it with ``auto_threads`` (call it again when the load
    changes). Needs ``threadpoolctl``: ``pip install "numpynn[threads]"``.

    Args:
        threads: a positive count, or ``"auto"``.

    >>> import numpynn as nn
    >>> nn.set_num_threads("auto")  # doctest: +SKIP (it would change the tests' process)
    1
    """
    if threads == "auto":
        threads = auto_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: expected a positive int or 'auto', got {threads!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as error:
        raise ImportError(
            'set_num_threads needs threadpoolctl: pip install "numpynn[threads]"'
        ) from error
    threadpool_limits(threads, user_api="blas")
    return threads

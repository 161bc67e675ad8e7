"""Threads: how many this process uses (``set_num_threads``, PyTorch's name), and the
helpers that split a batch over them (``split_batch``, ``run_parts``).

Two levels could share the cores. NumPy's BLAS splits each matrix product over its own
threads; that pays for large products, but a CNN's products are small and skinny, and
everything between them (window copies, pooling, BatchNorm, ReLU) runs on one core. So the
layers that gain from it split their *batch* instead: ``split_batch`` runs a function over
contiguous parts of the batch on a small persistent pool of threads (NumPy releases the GIL
in BLAS and in ufuncs on large arrays, so the parts run at once), with BLAS at one thread
inside each part and outside: numpynn's threads replace BLAS's, once ``set_num_threads(n)``
(or ``numpynn train --threads``, ``auto`` by default) asks for them; without a call nothing
is split and BLAS keeps its own threads. Two BLAS threads on cores shared with other work
wait for each other in every product (``benchmarks/threads.py``, benchmarks/README.md,
"Threads": a CNN training step took 75 ms split with BLAS at one thread, 214 ms split with
BLAS at two threads outside the parts, 141 ms at one thread, 493 ms as before, at load 8 on
2 cores), and setting BLAS back to two threads after each split made it worse (``run.py``'s
CNN: 20.2 s an epoch, against 8.5 with BLAS left at one thread and 7.8 before the split, at
load 2 to 3). The cost of BLAS at one thread: products that are not split run on one core
(``run.py``'s MLP at batch 1024 at load 1.5: 41% of the two-thread matmul peak, 60% with
BLAS's own threads), which is why the split is not the default. The parts are fixed by the
batch size and the thread count, and whatever is summed over them (parameter gradients) is
summed in part order: a given thread count repeats a run bit for bit, and at one thread
there is one part, the plain arithmetic.

A BLAS call split over every core waits, at each of its synchronisation points, for all of
its threads to run; on a machine whose cores are busy with other work that wait is a
scheduler time slice, not nanoseconds. Training ``benchmarks/cnn.py``'s network on this
project's 2-core machine under load took 10 times longer at 2 threads than at 1, and
PyTorch slowed down the same way (benchmarks/README.md, "A busy machine"): ``"auto"`` then
picks one thread.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

_threads: int | None = None  # set by set_num_threads; None: no split, BLAS's own threads
_pool: ThreadPoolExecutor | None = None
_pool_workers = 0
_inside_part = threading.local()  # a part never splits again (its pool would wait on itself)


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
    """Set the threads of this process, and return the count set: ``split_batch`` runs that
    many batch parts at once, and NumPy's BLAS (OpenBLAS, MKL or BLIS) runs one thread,
    inside the parts and outside them. ``"auto"`` picks the count with ``auto_threads``
    (call it again when the load changes). Needs ``threadpoolctl``:
    ``pip install "numpynn[threads]"``.

    Args:
        threads: a positive count, or ``"auto"``.

    Not run as a doctest, since it would change the tests' process:

    >>> import numpynn as nn
    >>> nn.set_num_threads("auto")  # doctest: +SKIP
    2
    """
    global _threads
    if threads == "auto":
        threads = auto_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: expected a positive int or 'auto', got {threads!r}")
    _blas().limit(1)
    _threads = threads
    return threads


def get_num_threads() -> int:
    """The threads ``split_batch`` splits work over: the count last set by
    ``set_num_threads``, else 1 (no split; BLAS keeps its own threads): the split is asked
    for, since it sets BLAS to one thread for every product, and a script of large products
    (an MLP at batch 1024) is faster with BLAS's own threads on a quiet machine."""
    return _threads or 1


def batch_parts(n: int, work: int = 0, min_work: int = 0) -> list[slice]:
    """How a batch of ``n`` is split: one contiguous slice per thread, the first ones one
    row longer where n does not divide evenly; one slice ``slice(0, n)`` (the plain path)
    when one thread is set, when the batch has fewer than 2 rows per thread, when ``work``
    (the caller's measure of the call's size) is below ``min_work`` (the size from which
    the split was measured to win, written beside the caller's threshold), or inside a
    part already.

    >>> batch_parts(5, work=10, min_work=100)
    [slice(0, 5, None)]
    """
    if work < min_work or n < 4:  # checked first: the plain path costs next to nothing
        return [slice(0, n)]
    threads = min(get_num_threads(), n // 2)
    if threads < 2 or getattr(_inside_part, "active", False):
        return [slice(0, n)]
    size, extra = divmod(n, threads)
    starts = [i * size + min(i, extra) for i in range(threads + 1)]
    return [slice(a, b) for a, b in zip(starts, starts[1:])]


def run_parts(part, parts: list[slice], *per_part) -> list:
    """``[part(rows, *items) for rows, *items in zip(parts, *per_part)]``, the parts run at
    once, one per thread (this thread takes the first), with BLAS at one thread inside
    each; the results in batch order. ``per_part`` are lists with one item per part (what
    a forward pass kept of each part, for its backward pass). One part is a plain call.

    ``part`` must write only the rows it is given; whatever the caller sums over the
    results it sums in their order (``sum_in_order``), so that a run repeats itself bit
    for bit.
    """
    if len(parts) == 1:
        return [part(parts[0], *(items[0] for items in per_part))]
    jobs = list(zip(parts, *per_part))
    errors = np.geterr()  # the parts compute under the caller's np.errstate
    with _blas().at_one_thread():
        pool = _get_pool(len(jobs))
        pending = [pool.submit(_run_part, part, job, errors) for job in jobs[1:]]
        try:
            first = _run_part(part, jobs[0], errors)  # this thread takes the first part
        finally:
            for job in pending:  # every part is done before BLAS gets its threads back
                job.exception()
    return [first] + [job.result() for job in pending]


def split_batch(part, n: int, work: int = 0, min_work: int = 0) -> list:
    """``part(rows)`` over contiguous slices of a batch of ``n`` rows, one per thread, at
    once: ``run_parts(part, batch_parts(n, work, min_work))``.

    >>> import numpy as np
    >>> x = np.arange(6.0)
    >>> sum_in_order(split_batch(lambda rows: x[rows].sum(), len(x)))
    np.float64(15.0)
    """
    return run_parts(part, batch_parts(n, work, min_work))


def elementwise_in_parts(ufuncs, *arrays: np.ndarray, min_size: int = 0) -> np.ndarray:
    """``ufuncs(*arrays, out=out)`` into a new array ``out`` laid out as ``arrays[0]``,
    computed over batch parts at once when it has ``min_size`` elements or more (each
    element is computed the same way in any part: the result is the same bit for bit);
    below that, ``ufuncs(*arrays, out=None)``.

    >>> import numpy as np
    >>> elementwise_in_parts(lambda x, out: np.maximum(x, 0, out=out), np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    if arrays[0].size < min_size or arrays[0].ndim == 0:
        return ufuncs(*arrays, out=None)
    out = np.empty_like(arrays[0], dtype=np.result_type(*arrays))

    def part(rows):
        ufuncs(*(a[rows] for a in arrays), out=out[rows])

    split_batch(part, len(out))
    return out


def sum_in_order(values: list):
    """values[0] + values[1] + ..., left to right (a new array; values[0] when alone)."""
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def _run_part(part, job, errors):
    _inside_part.active = True
    try:
        with np.errstate(**errors):
            return part(*job)
    finally:
        _inside_part.active = False


def _forget_pool() -> None:
    """In a forked child: the pool's threads did not come along; make a new pool on use."""
    global _pool, _pool_workers
    _pool, _pool_workers = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _get_pool(threads: int) -> ThreadPoolExecutor:
    """The persistent pool: ``threads - 1`` workers beside the calling thread."""
    from concurrent.futures import ThreadPoolExecutor  # here: 8 ms of `import numpynn`

    global _pool, _pool_workers
    if _pool is None or _pool_workers < threads - 1:
        if _pool is not None:
            _pool.shutdown()
        _pool, _pool_workers = ThreadPoolExecutor(threads - 1, "numpynn"), threads - 1
    return _pool


class _Blas:
    """NumPy's BLAS through ``threadpoolctl``, found once: its thread count, set for good
    (``limit``) or for one split (``at_one_thread``, 3 us a time); without
    ``threadpoolctl`` a count of 1 (no split) and ``limit`` an ImportError."""

    def __init__(self):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            self.libraries = None
            return
        self.libraries = ThreadpoolController().select(user_api="blas").lib_controllers

    def count(self) -> int:
        if not self.libraries:
            return 1
        return max(library.get_num_threads() or 1 for library in self.libraries)

    def limit(self, threads: int) -> None:
        if self.libraries is None:
            raise ImportError('set_num_threads needs threadpoolctl: pip install "numpynn[threads]"')
        for library in self.libraries:
            library.set_num_threads(threads)

    def at_one_thread(self):
        return _BlasAtOne(self.libraries or [])


class _BlasAtOne:
    """BLAS at one thread inside a ``with`` block, its count restored after."""

    def __init__(self, libraries):
        self.libraries = libraries

    def __enter__(self):
        self.before = [library.get_num_threads() for library in self.libraries]
        for library in self.libraries:
            library.set_num_threads(1)

    def __exit__(self, *exc):
        for library, threads in zip(self.libraries, self.before):
            library.set_num_threads(threads)
            if hasattr(library, "clear_controlling_thread"):
                library.clear_controlling_thread()


_blas_found: _Blas | None = None


def _blas() -> _Blas:
    global _blas_found
    if _blas_found is None:
        _blas_found = _Blas()
    return _blas_found

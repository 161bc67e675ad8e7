"""Data-parallel training over MPI (mpi4py): one process per rank, each on its shard of the data.

Horovod's pattern, on ``mpi4py`` (``pip install "numpynn[mpi]"``): every rank runs the same
script; rank 0's initial weights are broadcast; each step, every rank computes the gradient
of its piece of the global batch, and one ``Allreduce`` averages the gradients, weighted by
the pieces' sizes, before the optimizer's update, so all ranks keep identical weights and
N ranks with a global batch of B samples take the same steps as one process with batch B.

Launch with one BLAS thread per rank (the ranks are the parallelism; more threads only
compete for the same cores)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 mpiexec -n 4 python train.py
    srun -n 64 --mpi=pmi2 python train.py          # Slurm, with an MPICH-based mpi4py

``model.fit`` (and ``numpynn train``) goes data-parallel by itself when it finds it was
started by ``mpiexec``/``srun`` with more than one rank, or with ``distributed=True``;
``distributed.fit`` below is the same for any Module, as ``nn.fit`` is for one process.
A hand-written loop uses the parts::

    ctx = distributed.init()                       # rank, size; size 1 without mpiexec
    opt = distributed.DistributedOptimizer(nn.optim.Adam(model.parameters()))
    distributed.broadcast_parameters(model, opt)
    loader = nn.data.DataLoader(x, y, 64, shuffle=True, seed=distributed.shared_seed(),
                                shard=(ctx.rank, ctx.size))
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        opt.zero_grad(); model.backward(loss_fn.backward())
        opt.samples = len(xb)                      # weights the average (unequal shards)
        opt.step()                                 # Allreduce, then the update

Without ``mpiexec`` everything here is a no-op on a world of one, so the same script runs
either way, and ``mpi4py`` is not even imported.

**BatchNorm** normalises with each rank's own batch statistics, as PyTorch's
DistributedDataParallel does by default: with B samples per rank it is BatchNorm at
batch B, not at the global batch. The running statistics are averaged over the ranks at
the end of each epoch of ``fit``, so every rank evaluates and saves the same model. A
``SyncBatchNorm`` would need, in its forward, one Allreduce of the per-channel sums of x
and x^2 (and the count) to normalise with the global mean and variance, and in its
backward one more of the per-channel sums of the upstream gradient and of gradient * x_hat
(two small collectives per layer per step, which serialise the layers with the network).

**Faults**: once ``init`` found more than one rank, an uncaught exception on any rank
prints that rank's traceback and calls ``MPI_Abort``, which ends every rank (the others
would otherwise wait forever in their next collective); ``fit`` does the same with any
error raised inside it. A rank that exits without an error while others still run
waits for them at exit, and aborts all after ``NUMPYNN_MPI_EXIT_TIMEOUT`` seconds (120).

A rank that dies without a word (killed by SIGKILL, out of memory) or hangs: every
collective of ``fit`` and of ``DistributedOptimizer.step`` is nonblocking
(``Iallreduce``, ``Iallgather``) and polled against a deadline, so the ranks left waiting
abort the job, naming the collective, once the others have not joined it within
``NUMPYNN_MPI_TIMEOUT`` seconds (300): the job ends within that bound plus the
launcher's cleanup (MPICH's ``mpiexec`` often ends it at once when a rank is killed;
a hung rank, or a launcher that waits, is what the deadline is for). Set it above the
longest time one rank may spend alone between two steps (a checkpoint written by rank 0).

At the start of ``fit`` the ranks compare a fingerprint (sample counts, the number of
parameters and a hash of their names, shapes and dtypes): ranks that build different
models or load different data fail at once with a message naming both.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass

import numpy as np

from numpynn import names, training
from numpynn._config import get_rng, launched_size
from numpynn._threads import set_num_threads
from numpynn.callbacks import Callback, CSVLogger, ModelCheckpoint, ProgbarLogger
from numpynn.data import DataLoader
from numpynn.data.loader import shard_piece
from numpynn.optim.optimizer import Optimizer

INSTALL = 'pip install "numpynn[mpi]"'
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Context:
    """This process's place in the run: ``rank`` in ``range(size)``, and the communicator."""

    rank: int = 0
    size: int = 1
    comm: object = None

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that prints and writes files."""
        return self.rank == 0


_context: Context | None = None


def init(comm=None) -> Context:
    """Join the run: rank, size and communicator (``MPI.COMM_WORLD`` unless ``comm``).

    Started without ``mpiexec``/``srun`` (or with one rank), this is ``Context(0, 1)`` and
    mpi4py is not imported. With several ranks it also sets one BLAS thread per rank when
    no ``*_NUM_THREADS`` variable says otherwise (through threadpoolctl, if installed), and
    makes an error on one rank end every rank (see the module docstring).

    >>> init()
    Context(rank=0, size=1, comm=None)
    """
    global _context
    if comm is None and _context is not None:
        return _context
    if comm is None and launched_size() == 1:
        _context = Context()
        return _context
    mpi = _mpi()
    comm = comm or mpi.COMM_WORLD
    context = Context(comm.Get_rank(), comm.Get_size(), comm)
    if context.size < launched_size() and comm is mpi.COMM_WORLD:
        raise RuntimeError(
            f"numpynn.distributed: the launcher started {launched_size()} ranks but MPI sees "
            f"{context.size}: mpi4py is built on another MPI than the launcher's (use the "
            "mpiexec installed with it; with Slurm, srun --mpi=pmi2 or pmix to match)"
        )
    if context.distributed:
        _one_thread_per_rank()
        _abort_on_error(context)
    _context = context
    return context


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            f"numpynn.distributed needs mpi4py and an MPI library: {INSTALL} ({error})"
        ) from None
    return MPI


def _one_thread_per_rank() -> None:
    if any(name in os.environ for name in THREAD_VARIABLES):
        return  # the user chose
    try:
        set_num_threads(1)
    except ImportError:
        return  # no threadpoolctl: documented, set OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1


def abort(context: Context, error: BaseException) -> None:
    """Print ``error`` with its traceback, naming the rank, then end every rank."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    sys.stdout.flush()
    sys.stderr.write(f"numpynn.distributed: rank {context.rank} of {context.size} failed:\n")
    sys.stderr.write("".join(lines))
    sys.stderr.flush()
    time.sleep(1.0)  # the launcher forwards the message before MPI_Abort ends its proxies
    context.comm.Abort(1)
    os._exit(1)  # MPI_Abort may return before the launcher ends this process


def _abort_on_error(context: Context) -> None:
    def excepthook(kind, error, trace):
        abort(context, error.with_traceback(trace))

    sys.excepthook = excepthook
    atexit.register(_wait_for_the_others, context)


def _wait_for_the_others(context: Context) -> None:
    # a rank that exits early (an error caught and turned into an exit code) would leave
    # the others blocked in a collective: everyone meets here, or after a while all abort
    timeout = float(os.environ.get("NUMPYNN_MPI_EXIT_TIMEOUT", "120"))
    complete(context, context.comm.Ibarrier(), "exited, but other ranks did not finish", timeout)


def complete(context: Context, request, what: str, timeout: float | None = None) -> None:
    """Wait for the nonblocking collective ``request``; if the other ranks have not joined it
    within ``timeout`` seconds (``NUMPYNN_MPI_TIMEOUT``, 300, when None), say so on
    standard error and abort every rank: a dead or hung rank never blocks the others
    forever. The first milliseconds poll without pause (a step's ``Allreduce`` usually
    completes there), then every millisecond."""
    if request.Test():
        return
    if timeout is None:
        timeout = float(os.environ.get("NUMPYNN_MPI_TIMEOUT", "300"))
    deadline, polls = time.monotonic() + timeout, 0
    while not request.Test():
        polls += 1
        if polls > 1000:
            time.sleep(0.001)
            if time.monotonic() > deadline:
                sys.stderr.write(
                    f"numpynn.distributed: rank {context.rank} {what} within {timeout:g} s; "
                    "aborting all (a rank died or hangs, or NUMPYNN_MPI_TIMEOUT is too short)\n"
                )
                sys.stderr.flush()
                context.comm.Abort(1)
                os._exit(1)  # MPI_Abort may return before the launcher ends this process


def allreduce(context: Context, buffer: np.ndarray, what: str, op: str = "SUM") -> None:
    """``buffer`` becomes, in place, its sum (or ``op``: ``"MAX"``, ...) over the ranks, with
    the deadline of ``complete``; ``what`` names the values in its message."""
    mpi = _mpi()
    request = context.comm.Iallreduce(mpi.IN_PLACE, buffer, op=getattr(mpi, op))
    complete(context, request, f"did not get the other ranks' {what}")


def is_main() -> bool:
    """True on rank 0 (and in a run without MPI): guard printing and writing files with it."""
    return init().is_main


def shared_seed(seed=None) -> int:
    """An int drawn on rank 0 from ``get_rng(seed)`` and sent to every rank: a seed for
    ``DataLoader(..., shard=...)`` that is the same everywhere without equal seeds."""
    context = init()
    value = np.array([get_rng(seed).integers(2**62)], dtype=np.int64)
    if context.distributed:
        context.comm.Bcast(value, root=0)
    return int(value[0])


# --- flat buffers ----------------------------------------------------------------------------


def _flat_views(arrays, dtype, extra: int = 0):
    """One flat array of ``dtype`` with room for every array (and ``extra`` entries at the
    end), and a view of it shaped like each array, in that array's memory order (Linear's
    weight is Fortran-ordered; a C-ordered view would make every copy a strided walk)."""
    flat = np.empty(sum(a.size for a in arrays) + extra, dtype)
    views, offset = [], 0
    for a in arrays:
        order = "F" if _fortran(a) else "C"
        views.append(flat[offset : offset + a.size].reshape(a.shape, order=order))
        offset += a.size
    return flat, views


def _fortran(a: np.ndarray) -> bool:
    return a.flags.f_contiguous and not a.flags.c_contiguous


def _contiguous(a: np.ndarray) -> np.ndarray:
    return a if a.flags.c_contiguous or a.flags.f_contiguous else np.ascontiguousarray(a)


def _by_dtype(arrays) -> dict:
    groups: dict = {}
    for a in arrays:
        groups.setdefault(a.dtype, []).append(a)
    return groups


def _broadcast_arrays(context: Context, arrays, root: int = 0) -> None:
    """Overwrite ``arrays`` in place with root's: one ``Bcast`` per dtype."""
    for dtype, group in _by_dtype(arrays).items():
        flat, views = _flat_views(group, dtype)
        if context.rank == root:
            for view, a in zip(views, group):
                view[...] = a
        context.comm.Bcast(flat, root=root)
        if context.rank != root:
            for view, a in zip(views, group):
                a[...] = view


def _broadcast_bytes(context: Context, data: bytes, root: int = 0) -> bytes:
    length = np.array([len(data)], dtype=np.int64)
    context.comm.Bcast(length, root=root)
    buffer = np.frombuffer(data, np.uint8).copy() if context.rank == root else None
    buffer = buffer if buffer is not None else np.empty(int(length[0]), np.uint8)
    context.comm.Bcast(buffer, root=root)
    return buffer.tobytes()


def broadcast_parameters(model, optimizer=None, root: int = 0) -> None:
    """Give every rank ``root``'s parameters and buffers (running statistics), and, when
    ``optimizer`` is given, its state (for a run resumed from a checkpoint). Equal seeds
    are not needed. A no-op without MPI."""
    context = init()
    if not context.distributed:
        return
    arrays = [p.data for p in model.parameters()]
    arrays += [b for _, b in model.named_buffers() if isinstance(b, np.ndarray)]
    _broadcast_arrays(context, arrays, root)
    if optimizer is not None:
        broadcast_optimizer_state(optimizer, root)


def broadcast_optimizer_state(optimizer, root: int = 0) -> None:
    """Give every rank ``root``'s optimizer state and hyper-parameters: a JSON description
    and one ``Bcast`` per array (no pickle)."""
    context = init()
    if not context.distributed:
        return
    header, arrays = {}, []
    if context.rank == root:
        saved = optimizer.state_dict()
        state = {}
        for i, entries in saved["state"].items():
            state[str(i)] = {}
            for key, value in entries.items():
                if isinstance(value, np.ndarray):
                    value = _contiguous(value)
                    arrays.append(value)
                    order = "F" if _fortran(value) else "C"  # Bcast sends memory as it lies
                    value = {"array": [list(value.shape), value.dtype.str, order]}
                state[str(i)][key] = value
        header = {"state": state, "param_groups": saved["param_groups"]}
    header = json.loads(_broadcast_bytes(context, json.dumps(header).encode(), root))
    if context.rank != root:
        for entries in header["state"].values():
            for key, value in entries.items():
                if isinstance(value, dict) and "array" in value:
                    shape, dtype, order = value["array"]
                    entries[key] = np.empty(shape, dtype, order=order)
                    arrays.append(entries[key])
    for a in arrays:
        context.comm.Bcast(a, root=root)  # state arrays are few and large: one each
    if context.rank != root:
        state = {int(i): entries for i, entries in header["state"].items()}
        optimizer.load_state_dict({"state": state, "param_groups": header["param_groups"]})


# --- the optimizer -----------------------------------------------------------------------------


class _AveragesGradients:
    """Mixed in before an optimizer's own class by ``DistributedOptimizer``."""

    averages_gradients = True  # fit trains data-parallel with it (_config.wants_data_parallel)

    def __init_subclass__(cls, **kwargs):
        # Optimizer's own hook would register "DistributedAdam" as an optimizer name;
        # files name the wrapped class instead (registered_name)
        pass

    def step(self) -> None:
        if self.average_gradients():
            super().step()

    def average_gradients(self, failed: bool = False) -> bool:
        """Replace every gradient by the average over the ranks, each rank weighted by its
        ``samples`` (``sum_r samples_r * grad_r / sum_r samples_r``; equal weights when
        None): one ``Allreduce`` on one flat buffer per dtype (the sum of the weights
        travels in its last entry).

        A rank whose loss was not finite joins with ``failed=True``: it sends NaN as its
        weight, every rank then returns False (and ``step`` skips the update), and
        ``failed_step`` says so to ``fit``, so that all ranks stop at the same batch.
        """
        buckets = self._buckets
        if buckets is None or any(p.dtype != flat.dtype for flat, _, ps in buckets for p in ps):
            buckets = self._buckets = [  # again after model.to(dtype)
                (*_flat_views([p.data for p in group], dtype, extra=1), group)
                for dtype, group in _params_by_dtype(self._params()).items()
            ]
        weight = 1.0 if self.samples is None else float(self.samples)
        self.averages += 1
        for flat, views, group in buckets:
            for p, view in zip(group, views):
                grad = p.grad  # reading it writes the zeros that zero_grad() promised
                if grad is not view:
                    view[...] = grad
                    p.grad = view  # backward now adds straight into the buffer
            if weight != 1.0 and not failed:
                flat[:-1] *= weight  # not the last entry: np.empty bytes at first (overflowed)
            flat[-1] = math.nan if failed else weight
            allreduce(self.context, flat, "gradients")
            total = flat[-1]
            self.failed_step = math.isnan(total)
            if total > 0:
                flat /= total
        return not self.failed_step


def _params_by_dtype(params) -> dict:
    groups: dict = {}
    for p in params:
        groups.setdefault(p.data.dtype, []).append(p)
    return groups


def DistributedOptimizer(optimizer: Optimizer, context: Context | None = None) -> Optimizer:
    """Make ``optimizer`` average the gradients over the ranks before each ``step``.

    Horovod's name. The optimizer is changed in place and returned: it becomes an
    instance of a subclass of its own class whose ``step`` first calls
    ``average_gradients()`` (one ``Allreduce``), so ``isinstance``, ``state_dict``,
    schedulers and saved files see the same optimizer (a file records ``Adam``, not a
    distributed variant). Set ``optimizer.samples`` to the size of this rank's batch
    before each step when the shards can differ in size (``fit`` does); None weighs the
    ranks equally. Without MPI (one rank) the optimizer is returned unchanged.

    >>> import numpynn as nn
    >>> opt = DistributedOptimizer(nn.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1))
    >>> type(opt).__name__                          # one process: unchanged
    'SGD'
    """
    context = context or init()
    if not context.distributed or isinstance(optimizer, _AveragesGradients):
        return optimizer
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"DistributedOptimizer: expected an nn.optim optimizer, got {optimizer!r}")
    base = type(optimizer)
    optimizer.__class__ = type(
        f"Distributed{base.__name__}",
        (_AveragesGradients, base),
        {"registered_name": names.registered_name(base), "__module__": __name__},
    )
    optimizer.context = context
    optimizer.samples, optimizer._buckets, optimizer.failed_step = None, None, False
    optimizer.averages = 0  # calls of average_gradients, one per step on every rank
    return optimizer


# --- fit ---------------------------------------------------------------------------------------


def fit(model, x, y=None, *, optimizer, **options):
    """``training.fit`` on every rank, each on its shard; the arguments are fit's.

    What changes with several ranks:

    - ``batch_size`` is per rank (Horovod's and PyTorch's convention): a step takes
      ``batch_size * size`` samples; scale the learning rate with it if you want the
      single-process behaviour at the same per-rank batch;
    - every rank must be given the same model and the whole data set: the ranks compare
      a fingerprint of both first (``check_ranks_agree``) and fail at once, naming both,
      when they differ;
    - the epoch's order is drawn from one seed sent by rank 0, and the samples (after
      ``validation_split`` takes the last ones, with ``training.fit``'s own split and
      checks) are sharded by the DataLoader (``shard=(rank, size)``, or
      ``loader.sharded`` for a DataLoader given to fit); validation data are split in
      contiguous pieces (``shard_piece``), or evaluated whole on every rank when they
      hold fewer samples than there are ranks;
    - the logs (``loss``, metrics, ``val_*``) are means over all ranks' samples, so
      ``EarlyStopping``, ``ModelCheckpoint(save_best_only)`` and ``ReduceLROnPlateau``
      decide alike on every rank, and a stop on any rank stops all at the end of that
      epoch;
    - only rank 0 shows progress and runs ``ModelCheckpoint`` and ``CSVLogger``; your
      own callbacks run on every rank (check ``distributed.is_main()`` before writing);
    - an error on any rank ends all ranks with that rank's error, and a rank that dies
      or hangs ends them after ``NUMPYNN_MPI_TIMEOUT`` seconds (see the module's
      docstring).

    A non-finite loss on any rank skips that step on every rank; with ``TerminateOnNaN``
    all ranks then stop after that batch, without it that rank's ``FloatingPointError``
    ends them all. Not (yet) supported with several ranks: several inputs or outputs,
    ``sample_weight``, ``class_weight``.
    """
    context = init()
    if not context.distributed:
        return training.fit(model, x, y, optimizer=optimizer, **options)
    try:
        return _fit(context, model, x, y, optimizer, options)
    except BaseException as error:  # every rank must end, whatever it was
        abort(context, error)


def _fit(context: Context, model, x, y, optimizer, options: dict):
    unsupported = [k for k in ("sample_weight", "class_weight") if options.get(k) is not None]
    if unsupported or isinstance(x, (list, tuple)) or isinstance(y, (list, tuple)):
        raise ValueError(
            "distributed fit: one input and one output, without "
            f"{' or '.join(unsupported) or 'sample_weight or class_weight'}, for now"
        )
    objective = training.as_objective(
        model, options.pop("loss"), options.pop("metrics", None), options.pop("loss_weights", None)
    )
    data = training.Samples.from_fit_arguments(model, objective, x, y, None, None)
    optimizer = training.resolve_optimizer(model, optimizer, data.xs)  # builds a lazy model
    check_ranks_agree(context, model, data, options.get("validation_data"))
    optimizer = DistributedOptimizer(optimizer, context)
    broadcast_parameters(model, optimizer)
    loader, validation = _shards(context, model, objective, data, options)
    callbacks = list(options.pop("callbacks", None) or [])
    if not context.is_main:
        options["verbose"] = 0
        writers = (ModelCheckpoint, CSVLogger, ProgbarLogger)
        callbacks = [c for c in callbacks if not isinstance(c, writers)]
    average = _AverageLogs(context, loader, len(validation[0]) if validation else 0)
    options.update(validation_split=0.0, validation_data=validation, batch_size=None)
    return training.fit(
        model,
        loader,
        loss=objective,
        optimizer=optimizer,
        callbacks=[average, *callbacks, _AgreeToStop(context)],
        **{k: v for k, v in options.items() if k not in ("shuffle", "seed")},
    )


def check_ranks_agree(context: Context, model, data, validation_data=None) -> None:
    """Raise on every rank, naming rank 0 and the first rank that differs, unless all
    ranks hold the same numbers of samples (training, validation) and the same model (the
    count of parameters and a hash of their names, shapes and dtypes): one ``Allgather``
    of five integers."""
    shapes = [[name, list(p.shape), p.dtype.str] for name, p in model.named_parameters()]
    digest = hashlib.sha256(json.dumps(shapes).encode()).digest()
    validation = 0 if validation_data is None else len(validation_data[0])
    sizes = [len(data), validation, sum(p.size for p in model.parameters()), len(shapes)]
    mine = np.array([*sizes, int.from_bytes(digest[:7], "big")], dtype=np.int64)
    every = np.empty((context.size, len(mine)), dtype=np.int64)
    complete(context, context.comm.Iallgather(mine, every), "did not get the others' sizes")
    other = next((r for r in range(context.size) if (every[r] != every[0]).any()), None)
    if other is not None:
        raise ValueError(
            f"distributed fit: the ranks disagree: rank 0 has {_described(every[0])}, rank "
            f"{other} has {_described(every[other])}. Every rank must build the same model "
            "and pass fit the whole data set, the same on every rank (fit shards it)"
        )


def _described(entry: np.ndarray) -> str:
    samples, validation, parameters, arrays, digest = (int(v) for v in entry)
    held_out = f" and {validation} validation samples" if validation else ""
    return (
        f"{samples} samples{held_out}, a model of {parameters} parameters in {arrays} arrays "
        f"(shapes fingerprint {digest:014x})"
    )


def _shards(context: Context, model, objective, data, options: dict):
    """This rank's DataLoader and validation data: training's own split (with its checks),
    the training part sharded by the DataLoader, the validation part in contiguous pieces
    (each rank evaluates all of it when it holds fewer samples than there are ranks)."""
    data.batch_size = data.loader.batch_size if data.loader else options.get("batch_size") or 32
    train, validation = data.split(
        model, objective, options.get("validation_split") or 0.0, options.get("validation_data")
    )
    if train.loader is not None:
        loader = train.loader.sharded(context.rank, context.size, shared_seed(train.loader.rng))
    else:
        loader = DataLoader(
            train.xs[0], train.ys[0], train.batch_size, options.get("shuffle", True),
            seed=shared_seed(options.get("seed")), shard=(context.rank, context.size),
        )  # fmt: skip
    if validation is None:
        return loader, None
    if len(validation) >= context.size:
        validation = validation.take(shard_piece(len(validation), context.rank, context.size))
    weights = () if validation.weights is None else (validation.weights,)
    return loader, (validation.xs[0], validation.ys[0], *weights)


class _AverageLogs(Callback):
    """Keeps ``optimizer.samples`` equal to this rank's batch, averages the epoch's logs
    over the ranks (each rank weighted by its samples), and the running statistics of
    BatchNorm after the epoch's last step. Runs first, so every other callback sees the
    averages."""

    def __init__(self, context: Context, loader: DataLoader, validation_samples: int):
        self.context, self.loader = context, loader
        self.validation_samples = validation_samples

    def on_epoch_begin(self, epoch, logs=None):
        self.samples = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.optimizer.samples = self.loader.last_batch_size
        self.samples += self.loader.last_batch_size
        self.averages = self.optimizer.averages

    def on_train_batch_end(self, batch, logs=None):
        if self.optimizer.averages == self.averages:  # this rank's loss was not finite:
            self.optimizer.average_gradients(failed=True)  # the others wait in theirs
            return  # fit raises its FloatingPointError here, or TerminateOnNaN stops it
        if self.optimizer.failed_step:  # another rank's loss was not finite: stop with it
            self.model.stop_training = True
            return
        if batch == len(self.loader) - 1:
            buffers = [b for _, b in self.model.named_buffers() if b.dtype.kind == "f"]
            for dtype, group in _by_dtype(buffers).items():
                flat, views = _flat_views(group, dtype)
                for view, b in zip(views, group):
                    view[...] = b
                allreduce(self.context, flat, "running statistics")
                for view, b in zip(views, group):
                    np.divide(view, self.context.size, out=b)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        keys = sorted(logs)
        counts = [self.validation_samples if k.startswith("val_") else self.samples for k in keys]
        values = np.array([*counts, *(c * float(logs[k]) for k, c in zip(keys, counts))])
        values[len(keys) :][np.array(counts) == 0] = 0.0  # an empty shard says nothing
        allreduce(self.context, values, "logs")
        totals, sums = values[: len(keys)], values[len(keys) :]
        for key, total, value in zip(keys, totals, sums):
            logs[key] = float(value / total) if total else math.nan


class _AgreeToStop(Callback):
    """After every other callback's ``on_epoch_end``: if any rank stops, all stop."""

    def __init__(self, context: Context):
        self.context = context

    def on_epoch_end(self, epoch, logs=None):
        flag = np.array([bool(self.model.stop_training)], dtype=np.int32)
        allreduce(self.context, flag, "decisions to stop", "MAX")
        self.model.stop_training = bool(flag[0])

"""What each rank runs in tests/test_distributed.py: ``mpiexec -n N python -m
tests.distributed_worker SCENARIO OUT_DIR``; every rank writes what it holds to OUT_DIR.

Kept out of the test modules so that pytest never imports mpi4py; the single-process
references live in the tests, computed with the functions below.
"""

import json
import os
import signal
import sys

import numpy as np

import numpynn as nn
from numpynn import distributed

STEPS = 20
BATCH = 8  # per rank


def data(n: int):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64)
    return x, y


def make_model(seed: int):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))


OPTIMIZERS = {
    "sgd": lambda params: nn.optim.SGD(params, lr=0.1, momentum=0.9),
    "adam": lambda params: nn.optim.Adam(params, lr=0.01),
}


def train(model, optimizer, loader, steps: int = STEPS) -> None:
    """``steps`` steps of the PyTorch-style loop, over as many epochs as it takes."""
    loss_fn, done = nn.CrossEntropyLoss(), 0
    while done < steps:
        for xb, yb in loader:
            loss_fn(model(xb), yb)
            optimizer.zero_grad()
            model.backward(loss_fn.backward())
            optimizer.samples = len(xb)  # read by a DistributedOptimizer only
            optimizer.step()
            done += 1
            if done == steps:
                return


def steps(out: str, n: int) -> None:
    """The hand-written loop; each rank starts from different weights (seed = rank)."""
    ctx = distributed.init()
    x, y = data(n)
    weights = {}
    for name, make in OPTIMIZERS.items():
        model = make_model(seed=100 + ctx.rank)
        optimizer = distributed.DistributedOptimizer(make(model.parameters()))
        distributed.broadcast_parameters(model, optimizer)
        loader = nn.data.DataLoader(
            x, y, BATCH, shuffle=True, seed=distributed.shared_seed(7), shard=(ctx.rank, ctx.size)
        )
        train(model, optimizer, loader)
        weights.update({f"{name}/{k}": v for k, v in model.state_dict().items()})
        weights[f"{name}/fortran"] = np.array(model[0].weight.data.flags.f_contiguous)
        # a resumed run: the other ranks' optimizer state and settings are rank 0's after
        if ctx.rank:
            optimizer.param_groups[0]["lr"] = 123.0
            for state in optimizer.state.values():
                for key, value in state.items():
                    state[key] = value * 2 if isinstance(value, np.ndarray) else value + 5
        distributed.broadcast_optimizer_state(optimizer)
        saved = optimizer.state_dict()
        weights[f"{name}/lr"] = np.array(saved["param_groups"][0]["lr"])
        for i, state in saved["state"].items():
            weights.update({f"{name}/state/{i}/{key}": np.asarray(v) for key, v in state.items()})
    seen = nn.data.DataLoader(
        np.arange(n), batch_size=BATCH, shuffle=True, seed=distributed.shared_seed(3),
        shard=(ctx.rank, ctx.size),
    )  # fmt: skip
    for epoch in range(2):
        weights[f"seen/{epoch}"] = np.concatenate(list(seen))
    np.savez(os.path.join(out, f"rank{ctx.rank}.npz"), **weights)


def keras_model(seed: int):
    nn.manual_seed(seed)
    model = nn.Sequential([nn.Input(shape=(6,)), nn.Dense(16, activation="relu"), nn.Dense(2)])
    model.compile(optimizer="adam", loss=nn.CrossEntropyLoss(), metrics=["accuracy"])
    return model


FIT = {"epochs": 4, "seed": 5, "verbose": 0}


def fit(out: str, n: int, fail_at: int | None = None) -> None:
    """Keras-style fit with validation, checkpoints and a CSV log; the file names carry the
    rank, so the test sees who wrote."""
    ctx = distributed.init()
    x, y = data(n)
    model = keras_model(seed=100 + ctx.rank)
    callbacks = [
        nn.callbacks.ModelCheckpoint(os.path.join(out, f"checkpoint-rank{ctx.rank}.npz")),
        nn.callbacks.CSVLogger(os.path.join(out, f"log-rank{ctx.rank}.csv")),
        nn.callbacks.EarlyStopping(monitor="val_loss", patience=1),
    ]
    if fail_at is not None and ctx.rank == 1:

        def fail(batch, logs):
            if batch + 1 == fail_at:
                raise RuntimeError(f"rank 1 fails at step {fail_at}")

        callbacks.append(nn.callbacks.LambdaCallback(on_train_batch_begin=fail))
    history = model.fit(x, y, batch_size=BATCH, validation_split=0.25, callbacks=callbacks, **FIT)
    # BatchNorm normalises with each rank's batch; its running statistics are averaged
    nn.manual_seed(ctx.rank)
    normed = nn.Sequential(
        [nn.Input(shape=(6,)), nn.Dense(8), nn.BatchNormalization(), nn.Dense(2)]
    )
    normed.compile(optimizer="sgd", loss=nn.CrossEntropyLoss())
    normed.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    state = {**model.state_dict(), **{f"bn/{k}": v for k, v in normed.state_dict().items()}}
    # a callback that stops rank 1 alone after the second epoch stops every rank there
    stop = nn.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: setattr(normed, "stop_training", ctx.rank and epoch)
    )
    state["stopped_after"] = np.array(
        len(normed.fit(x, y, epochs=5, callbacks=[stop], verbose=0).epoch)
    )
    np.savez(os.path.join(out, f"rank{ctx.rank}.npz"), **state)
    with open(os.path.join(out, f"history{ctx.rank}.json"), "w") as file:
        json.dump(history.history, file)


def regression(n: int, seed: int):
    """x, y of a linear regression whose rows 12 to 15 are NaN (rank 1's second batch of
    4 at 2 ranks without shuffling), and a Dense model for it."""
    x = np.random.default_rng(0).normal(size=(n, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    x[12:16] = np.nan
    nn.manual_seed(seed)
    model = nn.Sequential([nn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return x, y, model


def nan_loss(out: str, n: int, terminate: bool) -> None:
    ctx = distributed.init()
    x, y, model = regression(n, seed=100 + ctx.rank)
    callbacks = [nn.callbacks.TerminateOnNaN()] if terminate else []
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, callbacks=callbacks, verbose=0)
    state = {**model.state_dict(), "epochs": np.array(len(history.epoch))}
    np.savez(os.path.join(out, f"rank{ctx.rank}.npz"), **state)


def early_exit(out: str, n: int) -> None:
    """Rank 1 leaves with an exit code (an error caught, as a command line does) while
    rank 0 waits in a collective."""
    ctx = distributed.init()
    if ctx.rank == 1:
        print("rank 1 exits early", file=sys.stderr, flush=True)
        raise SystemExit(3)
    model = make_model(seed=0)
    optimizer = distributed.DistributedOptimizer(OPTIMIZERS["sgd"](model.parameters()))
    optimizer.step()  # its Allreduce needs rank 1


def loop_fault(out: str, n: int) -> None:
    """An exception in a hand-written loop: rank 1 raises before its third step."""
    ctx = distributed.init()
    model = make_model(seed=0)
    optimizer = distributed.DistributedOptimizer(OPTIMIZERS["sgd"](model.parameters()))
    x, y = data(n)
    loss_fn = nn.CrossEntropyLoss()
    for step, (xb, yb) in enumerate(nn.data.DataLoader(x, y, BATCH, shard=(ctx.rank, ctx.size))):
        if ctx.rank == 1 and step == 2:
            raise RuntimeError("rank 1 fails at step 3")
        loss_fn(model(xb), yb)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()


def fault(out: str, n: int, kind: str) -> None:
    """Rank 1 ends or stops without a word before its third step of fit: ``kill`` (SIGKILL),
    ``stop`` (SIGSTOP: a hung rank), or fits a model (``model``) or data (``data``) unlike
    rank 0's."""
    ctx = distributed.init()
    x, y = data(n - (kind == "data" and ctx.rank == 1))
    model = keras_model(seed=0)
    if kind == "model" and ctx.rank == 1:
        model = nn.Sequential([nn.Input(shape=(6,)), nn.Dense(17), nn.Dense(2)])
        model.compile(optimizer="adam", loss=nn.CrossEntropyLoss())

    def end(batch, logs):
        if ctx.rank == 1 and batch == 2:
            os.kill(os.getpid(), signal.SIGKILL if kind == "kill" else signal.SIGSTOP)

    callbacks = [nn.callbacks.LambdaCallback(on_train_batch_begin=end)]
    model.fit(x, y, batch_size=BATCH, epochs=2, callbacks=callbacks, verbose=0)
    print(f"rank {ctx.rank} finished", flush=True)


def validation(out: str, n: int, split: float) -> None:
    """fit with ``validation_split`` (or, with ``split`` 0, one validation sample); every rank
    writes its history."""
    ctx = distributed.init()
    x, y = data(n)
    model = keras_model(seed=100)
    held_out = {"validation_split": split} if split else {"validation_data": (x[-1:], y[-1:])}
    history = model.fit(
        x[: n - (not split)], y[: n - (not split)], batch_size=BATCH, **held_out, **FIT
    )
    with open(os.path.join(out, f"history{ctx.rank}.json"), "w") as file:
        json.dump(history.history, file)


if __name__ == "__main__":
    scenario, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if scenario == "steps":
        steps(out, n)
    elif scenario == "fit":
        fit(out, n)
    elif scenario == "fit-fault":
        fit(out, n, fail_at=3)
    elif scenario in ("nan-terminate", "nan-raise"):
        nan_loss(out, n, terminate=scenario == "nan-terminate")
    elif scenario == "early-exit":
        early_exit(out, n)
    elif scenario == "loop-fault":
        loop_fault(out, n)
    elif scenario in ("kill", "stop", "model", "data"):
        fault(out, n, scenario)
    elif scenario.startswith("validation-"):
        validation(out, n, float(scenario.split("-", 1)[1]))
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")

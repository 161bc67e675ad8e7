"""Count numpynn's own Python calls in one ``model.fit`` of one batch (and one explicit step).

Prints the library calls, the distinct functions called and the switches between modules
(a call whose caller is in another numpynn module), as issue 12 measured them.

    python tools/call_count.py
"""

from __future__ import annotations

import sys

import numpy as np

import numpynn as nn


def count_calls(fn) -> tuple[int, int, int]:
    """(calls, distinct functions, module switches) of numpynn code while ``fn()`` runs."""
    calls, functions, switches = 0, set(), 0

    def profile(frame, event, arg):
        nonlocal calls, switches
        if event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("numpynn"):
            return
        calls += 1
        functions.add((module, frame.f_code.co_name, frame.f_code.co_firstlineno))
        caller = frame.f_back
        if caller is not None and caller.f_globals.get("__name__", "") != module:
            switches += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls, len(functions), switches


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 20)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    model = nn.Sequential(
        nn.Input(shape=(20,)), nn.Dense(16, activation="relu"), nn.Dense(3, activation="softmax")
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)  # warm: optimizer state exists
    fit = count_calls(lambda: model.fit(x, y, epochs=1, batch_size=32, verbose=0))

    torch_style = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3))
    loss_fn, opt = nn.CrossEntropyLoss(), nn.optim.Adam(torch_style.parameters())

    def step():
        loss_fn(torch_style(x), y)
        opt.zero_grad()
        torch_style.backward(loss_fn.backward())
        opt.step()

    step()
    explicit = count_calls(step)
    for label, (calls, functions, switches) in (
        ("one model.fit of one batch", fit),
        ("one explicit-loop step", explicit),
    ):
        print(f"{label}: {calls} calls, {functions} functions, {switches} module switches")


if __name__ == "__main__":
    main()

"""Errors while running: one line, never a traceback, and the exit codes."""

import pytest

from cli.tools import run_main
from numpynn import cli


def test_failures_while_running_are_one_line_without_a_traceback(monkeypatch, capsys):
    def broken(args):
        raise TypeError("a bug")

    monkeypatch.setattr(cli.summary, "run", broken)
    code, _, err = run_main(["summary", "m.npz"], capsys)
    assert code == 1 and "numpynn summary: unexpected TypeError: a bug" in err
    assert "Traceback" not in err and "NUMPYNN_TRACEBACK=1" in err
    monkeypatch.setenv("NUMPYNN_TRACEBACK", "1")
    with pytest.raises(TypeError, match="a bug"):
        cli.main(["summary", "m.npz"])
    for error, code, message in [
        (MemoryError(), 1, "out of memory"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (FloatingPointError("fit: epoch 1, batch 2: the loss is nan"), 1, "the loss is nan"),
    ]:

        def failing(args, error=error):
            raise error

        monkeypatch.setattr(cli.summary, "run", failing)
        returned, _, err = run_main(["summary", "m.npz"], capsys)
        assert returned == code and message in err and err.startswith("numpynn summary: ")

"""The progress bar: what matters fits the terminal's line; not a terminal, one line an epoch."""

import io
import re
import subprocess
import sys

import numpy as np
import pytest

import numpynn as nn
from numpynn.callbacks import progress_line

LOGS = {"loss": 0.123456, "accuracy": 0.95, "val_loss": 0.2345, "val_accuracy": 0.93333}


def values_in(line: str) -> list[str]:
    return re.findall(r"\d+\.\d{4}", line.split(" - ", 1)[1])


@pytest.mark.parametrize("width", [70, 80, 100, 120, 160, 200])
@pytest.mark.parametrize("steps", [7, 422, 60_000])
def test_every_value_fits_and_the_bar_gives_way_first(width, steps):
    for done, logs, eta in (
        (steps // 3, {"loss": 0.5, "accuracy": 0.8}, 12.0),
        (steps, LOGS, None),
    ):
        line = progress_line("Epoch 30/30", done, steps, 83.4, logs, width, eta)
        assert len(line) <= width - 1, line
        assert len(values_in(line)) == len(logs), line  # every value, none cut
        if width >= 120:  # room for everything: the bar is there
            assert re.search(r"\[[=>.]{10,}\]", line) and f"{done}/{steps}" in line
    full = progress_line("Epoch 30/30", steps, steps, 83.4, LOGS)  # no width: no limit
    assert "val_accuracy: 0.9333" in full and "[" + "=" * 30 + "]" in full


def test_names_shorten_before_values_go_and_a_narrow_line_cuts_at_a_value():
    line = progress_line("Epoch 30/30", 45, 45, 2.34, LOGS, 80)
    assert line == "Epoch 30/30 45/45 2.3s - loss 0.1235 acc 0.9500 val_loss 0.2345 val_acc 0.9333"
    narrow = progress_line("Epoch 30/30", 45, 45, 2.34, LOGS, 40)
    assert narrow == "Epoch 30/30 - loss 0.1235 ..."


def test_bar_fills_with_progress():
    halfway = progress_line("E", 50, 100, 1.0, {}, None, eta=1.0)
    assert "[" + "=" * 14 + ">" + "." * 15 + "]" in halfway and "ETA 1.0s" in halfway
    assert "[" + "=" * 30 + "]" in progress_line("E", 100, 100, 1.0, {})
    assert progress_line("E", 3, None, 61.0, {"loss": float("nan")}) == "E 3 1m01s - loss: nan"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def fit(verbose, file, epochs=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Input(shape=(4,)), nn.Dense(8, activation="relu"), nn.Dense(2))
    model.compile("adam", nn.CrossEntropyLoss(), metrics=["accuracy"])
    bar = nn.callbacks.ProgbarLogger(verbose, file=file)
    model.fit(x, y, epochs=epochs, batch_size=8, validation_split=0.25, callbacks=[bar], verbose=0)


@pytest.mark.parametrize("columns", [80, 120])
def test_in_a_terminal_the_bar_is_redrawn_in_place_within_the_width(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    terminal = Terminal()
    fit(1, terminal)
    lines = terminal.getvalue().split("\n")
    assert len(lines) == 4 and lines[-1] == ""  # one finished line per epoch
    for epoch, line in enumerate(lines[:-1], start=1):
        frames = line.split("\r")[1:]
        assert all(len(frame) <= columns - 1 for frame in frames)
        final = frames[-1]
        assert final.startswith(f"Epoch {epoch}/3 9/9") and len(values_in(final)) == 4, final
        assert ("val_accuracy: " if columns == 120 else "val_acc ") in final


def test_not_a_terminal_one_line_per_epoch_without_redraws():
    log = io.StringIO()
    fit(1, log, epochs=4)
    lines = log.getvalue().splitlines()
    assert len(lines) == 4 and "\r" not in log.getvalue()
    assert all(line.startswith(f"Epoch {i}/4 9/9 [") for i, line in enumerate(lines, start=1))
    assert all("val_accuracy: " in line for line in lines)


def test_redirected_to_a_file_one_line_per_epoch(tmp_path):
    script = (
        "import numpy as np, numpynn as nn\n"
        "x = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)\n"
        "model = nn.Sequential(nn.Input(shape=(3,)), nn.Dense(2))\n"
        "model.compile('sgd', nn.CrossEntropyLoss(), metrics=['accuracy'])\n"
        "model.fit(x, (x[:, 0] > 0).astype(int), epochs=5, batch_size=4, verbose=1)\n"
    )
    with open(tmp_path / "log.txt", "w") as log:
        subprocess.run([sys.executable, "-c", script], stdout=log, stderr=log, check=True)
    text = (tmp_path / "log.txt").read_text()
    assert "\r" not in text and len(text.splitlines()) == 5
    assert [line.split()[:3] for line in text.splitlines()][-1] == ["Epoch", "5/5", "50/50"]

"""Progress output: one line for fit, evaluate, predict and downloads (``_progress.py``);
what matters fits the terminal's line; not a terminal, one line an epoch; verbose levels;
no tqdm."""

import io
import re
import subprocess
import sys

import numpy as np
import pytest

import numpynn as nn
from numpynn._progress import progress_line

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


def blobs_model(n=64, optimizer="sgd"):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Input(shape=(4,)), nn.Dense(8, activation="relu"), nn.Dense(2))
    model.compile(optimizer, nn.CrossEntropyLoss(), metrics=["accuracy"])
    return model, x, y


def fit(verbose, file, epochs=3):
    model, x, y = blobs_model(96, "adam")
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


def test_verbose_levels(capsys):
    model, x, y = blobs_model()
    model.fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr() == ("", "")
    model.fit(x, y, epochs=2, verbose=2, validation_split=0.25)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2 - ")
    assert "loss: " in lines[0] and "val_accuracy: " in lines[0]
    model.fit(x, y, epochs=2, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "2/2 [" in err and "accuracy: " in err


def test_evaluate_and_predict_draw_fits_line(capsys):
    model, x, y = blobs_model()
    model.evaluate(x, y, batch_size=16, verbose=0)
    model.predict(x, batch_size=16, verbose=0)
    assert capsys.readouterr() == ("", "")
    model.evaluate(x, y, batch_size=16, verbose=1)
    line = capsys.readouterr().err  # not a terminal: the last line, once
    assert re.fullmatch(
        r"Evaluate 4/4 \[=+\] \d+\.\ds - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n", line
    )
    model.predict(x, batch_size=16, verbose=1)
    assert re.fullmatch(r"Predict 4/4 \[=+\] \d+\.\ds\n", capsys.readouterr().err)


def test_evaluate_redraws_in_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stderr", Terminal())
    model, x, y = blobs_model()
    model.evaluate(x, y, batch_size=16, verbose=1)
    frames = sys.stderr.getvalue().split("\r")[1:]
    assert frames[-1].startswith("Evaluate 4/4 [") and frames[-1].endswith("\n")
    assert "accuracy: " in frames[-1]


def test_training_evaluating_and_predicting_never_import_tqdm():
    code = (
        "import sys, numpy as np, numpynn as nn\n"
        "x = np.zeros((40, 3), np.float32); y = np.zeros(40, np.int64)\n"
        "model = nn.Sequential(nn.Input(shape=(3,)), nn.Dense(2))\n"
        "model.compile('sgd', nn.CrossEntropyLoss())\n"
        "model.fit(x, y, epochs=2, verbose=1)\n"
        "model.evaluate(x, y, verbose=1)\n"
        "model.predict(x, verbose=1)\n"
        "print('tqdm' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert "Evaluate 2/2" in out.stderr and "Predict 2/2" in out.stderr

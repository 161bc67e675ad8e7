"""The command line, end to end through subprocess in a temporary folder, and its errors."""

import ast
import datetime
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

import numpynn as nn
from numpynn import cli
from numpynn.data import datasets

Image = pytest.importorskip("PIL.Image", reason="the CLI's pictures need matplotlib and Pillow")


def numpynn(*args, cwd, **options):
    return subprocess.run(
        [sys.executable, "-m", "numpynn", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        **options,
    )


def run_main(args, capsys):
    """cli.main in this process: (exit code, stdout, stderr); argparse's exits included."""
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`numpynn train` with no arguments but --quiet and a known output folder."""
    folder = tmp_path_factory.mktemp("cli")
    result = numpynn("train", "--quiet", "--out", "run", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_train_writes_every_promised_file(trained):
    run = trained / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "confusion.png",
        "history.png",
        "metrics.json",
        "mistakes.npz",
        "model.npz",
        "report.html",
        "samples.png",
    ]
    for picture in ("confusion.png", "history.png", "samples.png"):
        with Image.open(run / picture) as image:
            assert image.format == "PNG" and min(image.size) > 200
    results = json.loads((run / "metrics.json").read_text())
    assert results["test_accuracy"] >= 0.97, results["test_accuracy"]
    assert len(results["history"]["loss"]) == results["epochs"] == 30
    model = nn.load_model(run / "model.npz")
    x, y, _ = nn.data.load_digits()
    assert np.mean(model.predict(x).argmax(1) == y) > 0.97
    assert model.metadata["class_names"] == nn.data.MNIST_CLASSES
    assert results["command"] == "numpynn train --quiet --out run"
    assert results["settings"]["epochs"] == 30 and results["settings"]["hidden"] == [128, 64]
    assert results["split"] == {"train": 1211, "validation": 135, "test": 451}
    page = (run / "report.html").read_text()
    assert f"{results['test_accuracy']:.4f}" in page and "numpynn train --quiet" in page


def test_report_and_export_commands(trained, tmp_path, capsys):
    run = trained / "run"
    (run / "report.html").unlink()
    code, out, err = run_main(["report", run], capsys)
    assert (
        code == 0 and out == f"report: {run / 'report.html'}\n" and (run / "report.html").exists()
    )
    code, _, err = run_main(["report", tmp_path], capsys)
    assert code == 1 and "no metrics.json in" in err
    code, _, err = run_main(["report", tmp_path / "absent"], capsys)
    assert code == 1 and "no run folder at" in err
    code, _, err = run_main(["export", run / "model.npz", tmp_path / "m.npz"], capsys)
    assert code == 2 and "must end in .onnx" in err and not (tmp_path / "m.npz").exists()
    code, _, err = run_main(["export", tmp_path / "absent.npz", tmp_path / "m.onnx"], capsys)
    assert code == 1 and "no model file at" in err
    onnxruntime = pytest.importorskip("onnxruntime", reason='export needs "numpynn[onnx]"')
    code, out, err = run_main(["export", run / "model.npz", tmp_path / "m.onnx"], capsys)
    assert code == 0 and out.startswith(f"wrote {tmp_path / 'm.onnx'}"), err
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    x = nn.data.load_digits().x[:5]
    name = session.get_inputs()[0].name
    expected = nn.load_model(run / "model.npz").predict(x)
    np.testing.assert_allclose(session.run(None, {name: x})[0], expected, atol=1e-5)


def test_quiet_prints_the_accuracy_and_the_run_folder_only(trained):
    result = numpynn("train", "--quiet", "--epochs", "2", "--out", "quiet", cwd=trained)
    assert result.returncode == 0 and result.stderr == ""
    accuracy, folder = result.stdout.splitlines()
    results = json.loads((trained / "quiet" / "metrics.json").read_text())
    assert accuracy == f"test accuracy: {results['test_accuracy']:.4f}"
    assert folder == f"run folder: {(trained / 'quiet').resolve()}"


def test_train_prints_progress_a_report_and_what_to_run_next(tmp_path):
    result = numpynn("train", "--dataset", "iris", "--epochs", "40", "--out", "iris", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # not a terminal: one line per epoch, never a redrawn bar
    epochs = [line for line in result.stderr.splitlines() if line.startswith("Epoch ")]
    assert len(epochs) == 40 and "\r" not in result.stderr
    assert epochs[-1].startswith("Epoch 40/40 7/7 [") and "val_accuracy: " in epochs[-1]
    assert "test accuracy:" in result.stdout and "versicolor" in result.stdout
    assert "macro avg" in result.stdout
    folder = (tmp_path / "iris").resolve()
    assert "test accuracy: 1.0000" in result.stdout  # no mistakes, so no mistakes.npz
    written = "model.npz, metrics.json, history.png, confusion.png, report.html"
    assert f"wrote {written} to {folder}" in result.stdout
    commands = [line.strip() for line in result.stdout.splitlines() if "numpynn " in line]
    evaluate = next(c for c in commands if c.startswith("numpynn evaluate"))
    assert "SAMPLES.npy|.csv" in next(c for c in commands if c.startswith("numpynn predict"))
    # the printed command runs as printed, from any folder
    again = numpynn(*shlex.split(evaluate)[1:], cwd=tmp_path.parent)
    assert again.returncode == 0 and "test accuracy:" in again.stdout


def test_evaluate_predict_and_summary(trained, tmp_path):
    model = trained / "run" / "model.npz"
    result = numpynn("evaluate", model, cwd=trained)
    assert result.returncode == 0 and "test accuracy: 0.9" in result.stdout
    x, y, _ = nn.data.load_digits()
    np.save(tmp_path / "some.npy", x[:3])
    result = numpynn("predict", model, tmp_path / "some.npy", cwd=trained)
    assert result.returncode == 0
    assert [line.split()[1] for line in result.stdout.splitlines()] == [str(v) for v in y[:3]]
    np.savetxt(tmp_path / "some.csv", x[:2], delimiter=",")
    assert numpynn("predict", model, tmp_path / "some.csv", cwd=trained).stdout.count("\n") == 2
    drawing = (255 * (1 - nn.data.load_digits(flat=False).x[0, 0])).astype(np.uint8)
    Image.fromarray(drawing).resize((64, 64), Image.Resampling.NEAREST).save(tmp_path / "d.png")
    result = numpynn("predict", model, tmp_path / "d.png", cwd=trained)
    assert result.returncode == 0 and result.stdout.split()[1] == str(y[0])
    result = numpynn("summary", model, cwd=trained)
    assert result.returncode == 0 and "Total params: 17,226" in result.stdout


def test_train_a_cnn_on_the_digits(tmp_path):
    result = numpynn(
        "train", "--model", "cnn", "--epochs", "8", "--quiet", "--out", "run", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_accuracy"] > 0.95
    x, y, _ = nn.data.load_digits()
    np.save(tmp_path / "two.npy", x[:2])  # flat samples: predict shapes them into images
    result = numpynn("predict", tmp_path / "run" / "model.npz", tmp_path / "two.npy", cwd=tmp_path)
    assert [line.split()[1] for line in result.stdout.splitlines()] == [str(v) for v in y[:2]]


def test_train_an_lstm_that_reads_the_digits_row_by_row(tmp_path, capsys):
    args = ["train", "--model", "lstm", "--hidden", "16", "--epochs", "4", "--quiet"]
    code, out, err = run_main([*args, "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    model = nn.load_model(tmp_path / "run" / "model.npz")
    assert [type(layer).__name__ for layer in model] == ["Reshape", "KerasLSTM", "Dense"]
    assert model[1].units == 16 and model.metadata["model"] == "lstm"
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_accuracy"] > 0.3
    x, _, _ = nn.data.load_digits()
    np.save(tmp_path / "two.npy", x[:2])
    code, out, err = run_main(
        ["predict", tmp_path / "run" / "model.npz", tmp_path / "two.npy"], capsys
    )
    assert code == 0 and len(out.splitlines()) == 2, err


def table(rows, header="a,b,c,answer", encoding="utf-8"):
    """CSV text of ``rows`` (lists of cells) under ``header``, as bytes."""
    return "\n".join([header, *(",".join(map(str, row)) for row in rows)]).encode(encoding) + b"\n"


def separable(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).round(4)
    return [[*r, "yes" if r[0] + r[1] > 0 else "no"] for r in x]


def test_train_on_a_csv_file_from_a_spreadsheet_and_evaluate_it_elsewhere(tmp_path, capsys):
    # a byte-order mark, as spreadsheets write one, before the first column's name
    (tmp_path / "table.csv").write_bytes(
        b"\xef\xbb\xbf" + table([[r[3], *r[:3]] for r in separable()], "answer,a,b,c")
    )
    run = tmp_path / "run"
    args = ["train", "--csv", tmp_path / "table.csv", "--target", "answer", "--quiet"]
    code, out, err = run_main([*args, "--out", run], capsys)
    assert code == 0, err
    assert json.loads((run / "metrics.json").read_text())["test_accuracy"] > 0.85
    model = nn.load_model(run / "model.npz")
    assert model.metadata["class_names"] == ["no", "yes"]
    assert model.metadata["csv"] == str((tmp_path / "table.csv").resolve())
    assert model.input_shape == (None, 3)  # the label column is not a feature


def test_a_csv_with_a_first_column_of_numbers_as_target_is_classified_by_value(tmp_path, capsys):
    rows = [[r[0], r[1], r[2], 1 if r[3] == "yes" else 0] for r in separable()]
    (tmp_path / "t.csv").write_bytes(table(rows))
    args = ["train", "--csv", tmp_path / "t.csv", "--target", "answer", "--quiet"]
    code, _, err = run_main([*args, "--epochs", "5", "--out", tmp_path / "r"], capsys)
    assert code == 0, err
    assert nn.load_model(tmp_path / "r" / "model.npz").metadata["class_names"] == ["0", "1"]


GOOD = separable(40)


def with_cell(row: int, column: int, value, rows=GOOD):
    changed = [list(r) for r in rows]
    changed[row][column] = value
    return changed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (table(with_cell(0, 0, "nan")), "t.csv, line 2: column 'a' holds 'nan'"),
        (table(with_cell(39, 2, "NaN")), "t.csv, line 41: column 'c' holds 'NaN'"),
        (table(with_cell(5, 1, "inf")), "t.csv, line 7: column 'b' holds 'inf'"),
        (table(with_cell(5, 1, "-Infinity")), "line 7: column 'b' holds '-Infinity'"),
        (table(with_cell(3, 0, "1e300")), "line 5: column 'a' holds '1e300'; the values must"),
        # its variance would overflow float32 in the model's Normalization
        (table(with_cell(3, 0, "1e30")), "line 5: column 'a' holds '1e30'"),
        (table(with_cell(3, 0, "x")), "line 5: column 'a' holds 'x', not a number"),
        (table(with_cell(3, 0, "")), "line 5: column 'a' holds '', not a number"),
        (table(with_cell(7, 3, "")), "line 9: no value in column 'answer'"),
        (table(with_cell(7, 3, "nan")), "line 9: no value in column 'answer'"),
        (table(GOOD, "a,b,answer,answer"), "names 'answer' twice (columns 3 and 4)"),
        (table(GOOD, "a,b,c,e,answer"), "line 2: 4 fields, the header has 5"),
        (table(GOOD, "a,,c,answer"), "column 2 of the header has no name"),
        (table([[*r[:3], "yes"] for r in GOOD]), "column 'answer' holds one class ('yes')"),
        (table([]), "expected a header row and at least one data row"),
        (b"", "expected a header row and at least one data row"),
        (table(GOOD, "a,b,\xe9t\xe9,answer", "latin-1"), "t.csv: not UTF-8 text (byte 0xe9"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "t.csv: not UTF-8 text"),
        (b'a,answer\n"' + b"1" * 200_000 + b'",0\n', "t.csv: not a readable CSV file"),
    ],
)
def test_a_bad_csv_file_is_one_clear_error(tmp_path, monkeypatch, capsys, content, message):
    (tmp_path / "t.csv").write_bytes(content)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["train", "--csv", "t.csv", "--target", "answer"], capsys)
    assert code == 1 and message in err, err
    assert "Traceback" not in err and "unexpected" not in err
    assert not (tmp_path / "runs").exists()  # nothing trained, nothing written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "-1"], "argument --lr: expected a number > 0"),
        (["--lr", "0"], "argument --lr: expected a number > 0"),
        (["--lr", "nan"], "argument --lr: expected a number > 0"),
        (["--lr", "inf"], "argument --lr: expected a number > 0"),
        (["--validation-split", "2"], "argument --validation-split: expected a fraction in [0, 1)"),
        (["--validation-split", "1"], "argument --validation-split: expected a fraction"),
        (["--validation-split", "-0.1"], "argument --validation-split: expected a fraction"),
        (["--seed", "-1"], "argument --seed: expected a whole number >= 0, got -1"),
        (["--seed", "1.5"], "argument --seed: expected a whole number, got '1.5'"),
        (["--epochs", "-1"], "argument --epochs: expected a whole number >= 1, got -1"),
        (["--epochs", "0"], "argument --epochs: expected a whole number >= 1, got 0"),
        (["--epochs", "2.5"], "argument --epochs: expected a whole number, got '2.5'"),
        (["--batch-size", "0"], "argument --batch-size: expected a whole number >= 1, got 0"),
        (["--batch-size", "-4"], "argument --batch-size: expected a whole number >= 1, got -4"),
        (["--hidden", "64,,32"], "argument --hidden: expected layer sizes separated by commas"),
        (["--hidden", "10,x"], "argument --hidden: expected layer sizes"),
        (["--hidden", ""], "argument --hidden: expected layer sizes"),
        (["--hidden", "-5"], "argument --hidden: expected layer sizes"),
        (["--hidden", "0"], "argument --hidden: each layer size must lie between 1 and 65,536"),
        (["--hidden", "1000000000000"], "each layer size must lie between 1 and 65,536"),
        (["--hidden", "60000,60000"], "would hold 3,604,560,010 weights"),
        # 128 inputs after two 2x2 poolings of 8x8 images: 128*65536 + 65536 + 65536**2 + ...
        (["--model", "cnn", "--hidden", "65536,65536"], "would hold 4,304,142,346 weights"),
        (["--target", "label"], "--target names a column of a CSV file: give --csv FILE too"),
        (["--csv", "table.csv"], "--csv needs --target COLUMN"),
        (["--csv", "table.csv", "--target", "size"], "no column 'size'; the columns are a, label"),
        (["--dataset", "iris", "--csv", "table.csv", "--target", "a"], "--dataset or --csv"),
        (["--model", "cnn", "--dataset", "iris"], "--model cnn needs images"),
        (["--model", "cnn", "--csv", "table.csv", "--target", "a"], "--model cnn needs images"),
        (["--model", "lstm", "--dataset", "iris"], "--model lstm needs images"),
        (["--model", "lstm", "--hidden", "8,8"], "--model lstm takes one size, its units"),
        (["--optimizer", "adma"], "did you mean 'adam'"),
        (["--activation", "rleu"], "--activation: "),
        (["--dataset", "cifar"], "invalid choice: 'cifar'"),
    ],
)
def test_train_usage_errors_exit_2_under_the_train_usage_line(
    tmp_path, monkeypatch, capsys, args, message
):
    (tmp_path / "table.csv").write_text("a,label\n1,0\n2,1\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["train", *args], capsys)
    assert code == 2 and message in err, err
    assert err.startswith("usage: numpynn train ") and "\nnumpynn train: error: " in err
    assert "Traceback" not in err and not (tmp_path / "runs").exists()


def test_options_reach_what_they_set_and_zero_is_not_the_default(tmp_path, capsys):
    def run(name, *options):
        args = ["train", "--quiet", "--out", tmp_path / name, "--epochs", "2", *options]
        code, _, err = run_main(args, capsys)
        assert code == 0, err
        return json.loads((tmp_path / name / "metrics.json").read_text())

    history = run("none", "--validation-split", "0")["history"]
    assert len(history["loss"]) == 2 and "val_loss" not in history  # 0 is none, not 0.1
    assert "val_loss" in run("some", "--validation-split", "0.2")["history"]
    same, again = run("s1", "--seed", "1"), run("s1b", "--seed", "1")
    assert same["history"] == again["history"]
    assert run("s2", "--seed", "2")["history"] != same["history"]
    slow = run("lr", "--lr", "1e-6")["history"]["loss"]
    fast = same["history"]["loss"]
    assert abs(slow[1] - slow[0]) < 0.05 < abs(fast[1] - fast[0])
    model = nn.load_model(tmp_path / "lr" / "model.npz")
    assert model.optimizer.param_groups[0]["lr"] == 1e-6


def test_batch_size_and_epochs_reach_fit(tmp_path):
    # 1,346 digits for training, 1,211 after the validation split: 3 steps of 500
    result = numpynn("train", "--epochs", "2", "--batch-size", "500", "--out", "r", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    epochs = [line for line in result.stderr.splitlines() if line.startswith("Epoch")]
    assert [line.split()[:3] for line in epochs] == [
        ["Epoch", "1/2", "3/3"],
        ["Epoch", "2/2", "3/3"],
    ]


def test_help_shows_defaults_inputs_and_the_version(capsys):
    code, out, _ = run_main(["train", "--help"], capsys)
    assert code == 0 and "usage: numpynn train" in out
    for text in ("default: digits", "digits 30, iris 150", "digits 32, iris 16", "iris 0.01"):
        assert text in " ".join(out.split()), text
    code, out, _ = run_main(["predict", "--help"], capsys)
    assert code == 0 and all(kind in out for kind in (".npy", ".csv", ".png", "header"))
    code, out, _ = run_main(["--version"], capsys)
    assert code == 0 and out.strip() == f"numpynn {nn.__version__}"
    code, _, err = run_main([], capsys)
    assert code == 2 and "required: COMMAND" in err


@pytest.fixture(scope="module")
def csv_model(tmp_path_factory):
    """A quick model on four numeric features: (folder, model path)."""
    folder = tmp_path_factory.mktemp("csv")
    rows = [[*r, r[0] * 2] for r in separable(80)]
    (folder / "t.csv").write_bytes(table(rows, "a,b,c,answer,e"))
    args = ["train", "--csv", "t.csv", "--target", "answer", "--epochs", "3", "--quiet"]
    result = numpynn(*args, "--out", "run", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, folder / "run" / "model.npz"


def npy(array, **options):
    def write(path):
        np.save(path, array, **options)

    return write


def raw(content: bytes):
    def write(path):
        path.write_bytes(content)

    return write


def huge_header(path):
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
        )
        f.write(b"\0" * 64)


def npz_named_npy(path):
    with open(path, "wb") as f:
        np.savez(f, a=np.zeros(4))


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        ("s.csv", raw(b"nan,1,2,3\n"), "s.csv, line 1: column 1 holds 'nan'"),
        ("s.csv", raw(b"a,b,c,e\n1,2,3,4\n1,2,inf,4\n"), "line 3: column 3 holds 'inf'"),
        ("s.csv", raw(b"1e300,1,2,3\n"), "line 1: column 1 holds '1e300'"),
        ("s.csv", raw(b"1,2,3,4\n1,2\n"), "s.csv, line 2: 2 values, the first row has 4"),
        ("s.csv", raw(b"1,2,3\n"), "the model expects 4 values per sample, got 3"),
        ("s.csv", raw(b"a,b,c,e\n"), "s.csv: holds no samples"),
        ("s.csv", raw(b"1,2,\xff,4\n"), "s.csv: not UTF-8 text"),
        ("s.npy", npy(np.array(3.0)), "s.npy: holds a single number (a 0-d array)"),
        ("s.npy", npy(np.array([[1, 2, np.nan, 4]])), "the value at [0, 2] is not a finite"),
        ("s.npy", npy(np.array([[1, 2, 3, 1e300]])), "the value at [0, 3] is not a finite"),
        ("s.npy", npy(np.array([1, "a"], dtype=object), allow_pickle=True), "not a readable"),
        ("s.npy", npy(np.array(["1", "2", "3", "4"])), "holds values of type <U1"),
        ("s.npy", npy(np.array([1, 2, 3, 4j])), "holds values of type complex128"),
        ("s.npy", npy(np.zeros((0, 4))), "s.npy: holds no samples"),
        ("s.npy", npy(np.zeros((2, 5))), "the model expects 4 values per sample, got 5"),
        ("s.npy", huge_header, "s.npy: not a readable .npy array"),
        ("s.npy", raw(b"\x93NUMPY\x01\x00"), "s.npy: not a readable .npy array"),
        ("s.npy", raw(b"not numpy at all"), "s.npy: not a readable .npy array"),
        ("s.npy", npz_named_npy, "s.npy: an .npz archive, not a .npy array"),
        ("s.txt", raw(b"1,2,3,4\n"), "expected a .npy, .csv or"),
        ("s.png", raw(b"1,2,3,4\n"), "this model was not trained on images"),
    ],
)
def test_bad_predict_inputs_are_one_clear_error(csv_model, tmp_path, capsys, name, write, message):
    write(tmp_path / name)
    code, out, err = run_main(["predict", csv_model[1], tmp_path / name], capsys)
    assert code in (1, 2) and message in err and out == "", err
    assert ("usage: numpynn predict" in err) == (code == 2)
    assert "Traceback" not in err and "unexpected" not in err
    assert "allow_pickle" not in err  # NumPy's advice to load unsafely is never shown


def test_predict_reads_a_csv_with_or_without_a_header(csv_model, tmp_path, capsys):
    (tmp_path / "a.csv").write_text("a,b,c,e\n0.5,1,2,1\n-1,0,0,-2\n")
    (tmp_path / "b.csv").write_text("0.5,1,2,1\n-1,0,0,-2\n")
    outputs = [
        run_main(["predict", csv_model[1], tmp_path / n], capsys) for n in ("a.csv", "b.csv")
    ]
    assert outputs[0][0] == 0 and outputs[0] == outputs[1]
    assert len(outputs[0][1].splitlines()) == 2


def test_missing_and_odd_files(csv_model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cases = [
        (["predict", "absent.npz", "x.npy"], "no model file at absent.npz"),
        (["predict", csv_model[1], "absent.npy"], "no input file at absent.npy"),
        (["predict", csv_model[1], "."], ".: not a regular file"),
        (["summary", "."], ".: not a regular file"),
        (["train", "--csv", "absent.csv", "--target", "label"], "no CSV file at absent.csv"),
        (["train", "--csv", ".", "--target", "label"], ".: not a regular file"),
    ]
    (tmp_path / "table.csv").write_text("a,label\n1,0\n2,1\n")
    cases.append((["summary", "table.csv"], "is not a readable numpynn file"))
    (tmp_path / "afile").write_text("x")
    cases.append((["train", "--epochs", "1", "--out", "afile"], "--out afile: a file of that name"))
    for args, message in cases:
        code, _, err = run_main(args, capsys)
        assert code == 1 and message in err, (args, err)
        assert "Traceback" not in err and "unexpected" not in err


METADATA_CASES = [
    ([1, 2], "the metadata has the wrong type: [1, 2]"),  # load_model's own check
    ({"image_shape": "abc"}, "metadata 'image_shape' is 'abc'; expected [height, width]"),
    ({"image_shape": [2, -2]}, "metadata 'image_shape' is [2, -2]"),
    ({"features": -1}, "metadata 'features' is -1; expected a whole number >= 1"),
    ({"features": True}, "metadata 'features' is True"),
    ({"class_names": 5}, "metadata 'class_names' is 5; expected a list of names"),
    ({"class_names": ["a", 3]}, "metadata 'class_names' is ['a', 3]"),
    ({"class_names": ["just one"]}, "the model has 2 outputs but its metadata names 1 classes"),
    ({"model": "rnn"}, "metadata 'model' is 'rnn'; expected mlp, cnn or lstm"),
    ({"model": "cnn"}, "metadata says cnn but gives no image_shape"),
    ({"model": "lstm"}, "metadata says lstm but gives no image_shape"),
    ({"image_shape": [3, 3]}, "metadata image_shape [3, 3] and features 4 differ"),
    ({"seed": "x"}, "metadata 'seed' is 'x'; expected a whole number >= 0"),
    ({"dataset": "../etc"}, "metadata 'dataset' is '../etc'; expected one of digits"),
    ({"csv": 3}, "metadata 'csv' is 3; expected a path"),
    ({"target": ["a"]}, "metadata 'target' is ['a']; expected a column name"),
]


@pytest.mark.parametrize(("change", "message"), METADATA_CASES)
def test_crafted_metadata_is_an_error_naming_the_file(csv_model, tmp_path, capsys, change, message):
    model = nn.load_model(csv_model[1])
    metadata = change if isinstance(change, list) else {**model.metadata, **change}
    nn.io.save_model(model, tmp_path / "m.npz", metadata=metadata)
    (tmp_path / "s.csv").write_text("1,2,3,4\n")
    for command in (
        ["predict", tmp_path / "m.npz", tmp_path / "s.csv"],
        ["evaluate", tmp_path / "m.npz"],
    ):
        code, out, err = run_main(command, capsys)
        assert code == 1 and "m.npz: " in err and message in err and out == "", err


def test_evaluate_checks_the_data_fits_the_model(csv_model, tmp_path, capsys):
    code, _, err = run_main(["evaluate", csv_model[1], "--dataset", "iris"], capsys)
    assert code == 1 and "tells 2 classes apart; iris has 3" in err
    code, _, err = run_main(["evaluate", csv_model[1], "--dataset", "digits"], capsys)
    assert code == 1 and "takes 4 values per sample; digits has 64" in err
    code, _, err = run_main(
        ["evaluate", csv_model[1], "--target", "e", "--dataset", "iris"], capsys
    )
    assert code == 2 and err.startswith("usage: numpynn evaluate") and "--target names" in err
    code, out, err = run_main(["evaluate", csv_model[1]], capsys)  # its own CSV, by absolute path
    assert code == 0 and "test accuracy: " in out, err


def test_run_folders_are_unique_even_when_started_in_the_same_second(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    started = datetime.datetime(2026, 11, 29, 3, 4, 5)
    folders = []

    def make():
        folders.append(cli.run_folder(None, started))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = sorted(p.name for p in folders)
    assert len(set(names)) == 8 and all(p.is_absolute() and p.is_dir() for p in folders)
    assert names[0] == "20261129-030405" and "20261129-030405-8" in names
    assert cli.run_folder(tmp_path / "given") == tmp_path / "given"  # --out is used as given
    assert cli.run_folder(tmp_path / "given") == tmp_path / "given"


def test_two_runs_in_the_same_second_keep_both_models(tmp_path):
    args = [sys.executable, "-m", "numpynn", "train", "--dataset", "iris", "--epochs", "1"]
    runs = [subprocess.Popen([*args, "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)]
    runs.append(
        subprocess.Popen([*args, "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    )
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    folders = {
        line.split(": ", 1)[1] for out in outputs for line in out.splitlines() if "folder" in line
    }
    assert len(folders) == 2 and all((pathlib.Path(f) / "model.npz").exists() for f in folders)


def test_failures_while_running_are_one_line_without_a_traceback(monkeypatch, capsys):
    def broken(args):
        raise TypeError("a bug")

    monkeypatch.setattr(cli, "summary", broken)
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

        monkeypatch.setattr(cli, "summary", failing)
        returned, _, err = run_main(["summary", "m.npz"], capsys)
        assert returned == code and message in err and err.startswith("numpynn summary: ")


def test_data_not_available_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NUMPYNN_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM", tmp_path / "system")
    monkeypatch.setitem(datasets.MIRRORS, "mnist", ["http://127.0.0.1:9/"])
    assert cli.main(["train", "--dataset", "mnist", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "mnist: the files" in err and "looked in" in err and "NUMPYNN_DATA" in err


@pytest.mark.parametrize("module", ["cli", "plot"])
def test_every_function_is_under_50_lines(module):
    path = pathlib.Path(cli.__file__).with_name(f"{module}.py")
    functions = [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    assert functions and [f for f in functions if f[1] >= 50] == []


def test_under_mpiexec_rank_0_alone_prints_and_writes_the_run(tmp_path):
    pytest.importorskip("mpi4py", reason='data-parallel training needs "numpynn[mpi]"')
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("needs mpiexec (an MPI installation)")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    command = [mpiexec, "-n", "2", sys.executable, "-m", "numpynn", "train", "--epochs", "2"]
    result = subprocess.run(
        [*command, "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2 and "run folder: " in result.stdout
    assert len(list((tmp_path / "runs").iterdir())) == 1


def test_threads_reach_blas_and_are_recorded(tmp_path, capsys):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="--threads needs threadpoolctl")

    def blas_threads():
        return {pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                if pool["user_api"] == "blas"}  # fmt: skip

    with threadpoolctl.threadpool_limits(2, user_api="blas"):  # put back afterwards
        args = ["train", "--quiet", "--epochs", "1", "--threads", "1", "--out", tmp_path / "r"]
        code, _, err = run_main(args, capsys)
        assert code == 0, err
        assert blas_threads() == {1}
        settings = json.loads((tmp_path / "r" / "metrics.json").read_text())["settings"]
        assert settings["threads"] == 1
    code, _, err = run_main(["train", "--threads", "0"], capsys)
    assert code == 2 and "--threads" in err


def test_a_continuous_csv_target_is_refused_before_training(tmp_path, capsys):
    rows = "\n".join(f"{i},{i * 0.37:.2f}" for i in range(40))
    (tmp_path / "prices.csv").write_text("size,price\n" + rows + "\n")
    args = ["train", "--csv", tmp_path / "prices.csv", "--target", "price", "--out", tmp_path / "r"]
    code, out, err = run_main(args, capsys)
    assert code == 1 and "holds 40 distinct values, 40 of them only once" in err, err
    assert "Epoch" not in out + err and not (tmp_path / "r").exists()

"""numpynn train, end to end through subprocess in a temporary folder, and its usage errors."""

import json
import os
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest

import numpynn as nn
from cli.tools import numpynn, run_main, separable, table
from numpynn import cli
from numpynn.data import datasets

Image = pytest.importorskip("PIL.Image", reason="the CLI's pictures need matplotlib and Pillow")


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
        (["--drop", "a"], "--drop names a column of a CSV file: give --csv FILE too"),
        (["--csv", "table.csv", "--target", "label", "--drop", "label"], "that is the --target"),
        (["--csv", "table.csv", "--target", "label", "--drop", "size"], "--drop size: table.csv"),
        (["--csv", "table.csv", "--target", "label", "--drop", "a"], "no feature columns left"),
        (["--one-hot", "a"], "--one-hot names a column of a CSV file: give --csv FILE too"),
        (["--csv", "table.csv", "--target", "label", "--one-hot", "label"], "that is the --target"),
        (["--csv", "table.csv", "--target", "label", "--one-hot", "b"], "--one-hot b: table.csv"),
        (
            ["--csv", "table.csv", "--target", "label", "--one-hot", "a", "--drop", "a"],
            "--drop a and --one-hot a: give one of the two",
        ),
        (["--find-lr", "--lr", "0.1"], "give --lr or --find-lr (which chooses the rate), not both"),
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


def test_data_not_available_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NUMPYNN_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM", tmp_path / "system")
    monkeypatch.setitem(datasets.MIRRORS, "mnist", ["http://127.0.0.1:9/"])
    assert cli.main(["train", "--dataset", "mnist", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "mnist: the files" in err and "looked in" in err and "NUMPYNN_DATA" in err


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


def test_a_text_column_says_what_to_do_and_drop_leaves_it_out_everywhere(tmp_path, capsys):
    colors = ["red", "green", "blue"]
    rows = [[i, *r[:2], colors[i % 3], r[3]] for i, r in enumerate(separable())]
    (tmp_path / "t.csv").write_bytes(table(rows, "id,a,b,color,answer"))
    args = ["train", "--csv", tmp_path / "t.csv", "--target", "answer", "--quiet", "--epochs", "2"]
    code, _, err = run_main([*args, "--out", tmp_path / "r"], capsys)
    assert code == 1 and "line 2: column 'color' holds 'red', not a number" in err
    assert "categories with --one-hot color (one 0/1 feature per category)" in err
    assert "or leave the column out with --drop color" in err
    code, _, err = run_main(
        [*args, "--drop", "color", "--drop", "id", "--out", tmp_path / "r"], capsys
    )
    assert code == 0, err
    model = nn.load_model(tmp_path / "r" / "model.npz")
    assert model.input_shape == (None, 2)
    assert model.metadata["columns"] == ["a", "b"] and model.metadata["dropped"] == ["color", "id"]
    code, out, err = run_main(["predict", tmp_path / "r" / "model.npz", tmp_path / "t.csv"], capsys)
    assert code == 0 and len(out.splitlines()) == len(rows), err
    left_out = [line.split("'")[1] for line in err.splitlines()]
    assert left_out == ["id", "color", "answer"]  # in the file's order, each said once
    code, out, err = run_main(["evaluate", tmp_path / "r" / "model.npz"], capsys)
    assert code == 0 and "test accuracy: " in out, err


def test_one_hot_reads_categories_and_predict_and_evaluate_encode_them_the_same(tmp_path, capsys):
    colors = ["red", "green", "blue"]
    rng = np.random.default_rng(0)
    rows = [
        [round(v, 3), colors[i % 3], "yes" if i % 3 == 0 else "no"]
        for i, v in enumerate(rng.normal(size=150))
    ]
    (tmp_path / "t.csv").write_bytes(table(rows, "a,color,answer"))
    args = ["train", "--csv", tmp_path / "t.csv", "--target", "answer", "--one-hot", "color"]
    code, _, err = run_main([*args, "--quiet", "--out", tmp_path / "r"], capsys)
    assert code == 0, err
    model_path = tmp_path / "r" / "model.npz"
    model = nn.load_model(model_path)
    assert model.metadata["categories"] == {"color": ["blue", "green", "red"]}
    assert model.metadata["columns"] == ["a", "color"] and model.input_shape == (None, 4)
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["test_accuracy"] == 1.0
    # the colour decides the class: red is yes, and predict encodes it as training did
    (tmp_path / "new.csv").write_text("0.5,red\n0.5,blue\n")
    code, out, err = run_main(["predict", model_path, tmp_path / "new.csv"], capsys)
    assert code == 0 and [line.split()[1] for line in out.splitlines()] == ["yes", "no"], err
    np.save(tmp_path / "encoded.npy", np.array([[0.5, 0, 0, 1], [0.5, 1, 0, 0]], np.float32))
    assert run_main(["predict", model_path, tmp_path / "encoded.npy"], capsys)[1] == out
    code, out, err = run_main(["predict", model_path, tmp_path / "t.csv"], capsys)
    assert code == 0 and len(out.splitlines()) == 150 and "leaving out column 'answer'" in err
    (tmp_path / "odd.csv").write_text("color,a\npurple,1\n")
    code, _, err = run_main(["predict", model_path, tmp_path / "odd.csv"], capsys)
    assert code == 1 and "line 2: column 'color' holds 'purple', a category the model was" in err
    assert "it knows 'blue', 'green', 'red'" in err
    code, out, err = run_main(["evaluate", model_path], capsys)
    assert code == 0 and "test accuracy: 1.0000" in out, err


def test_one_hot_refuses_a_column_of_too_many_values(tmp_path, capsys):
    rows = [[i, f"id{i}", "yes" if i % 2 else "no"] for i in range(300)]
    (tmp_path / "t.csv").write_bytes(table(rows, "a,name,answer"))
    args = ["train", "--csv", tmp_path / "t.csv", "--target", "answer", "--one-hot", "name"]
    code, _, err = run_main([*args, "--out", tmp_path / "r"], capsys)
    assert code == 1 and "column 'name' holds 300 distinct values; --one-hot" in err
    assert "at most 256" in err and "--drop name" in err and not (tmp_path / "r").exists()


def test_diagnostics_are_on_by_default_and_no_diagnostics_leaves_them_out(tmp_path, capsys):
    def run(name, *options):
        args = ["train", "--quiet", "--out", tmp_path / name, "--epochs", "2", *options]
        code, _, err = run_main(args, capsys)
        assert code == 0, err
        return json.loads((tmp_path / name / "metrics.json").read_text())

    diagnostics = run("on")["diagnostics"]
    assert [layer["name"] for layer in diagnostics["layers"]] == ["dense_1", "dense_2", "dense_3"]
    assert len(diagnostics["layers"][0]["grad_norm"]) == 2 and diagnostics["epochs"] == [0, 1]
    assert isinstance(diagnostics["diagnoses"], list)
    assert "Inside the network" in (tmp_path / "on" / "report.html").read_text()
    off = run("off", "--no-diagnostics")
    assert off["diagnostics"] is None
    assert "Inside the network" not in (tmp_path / "off" / "report.html").read_text()
    assert off["history"] == run("on again")["history"]  # the callback changes no step


def test_find_lr_trains_with_the_suggested_rate(tmp_path, capsys):
    args = ["train", "--epochs", "2", "--find-lr", "--out", tmp_path / "found"]
    code, out, err = run_main(args, capsys)
    assert code == 0, err
    found = json.loads((tmp_path / "found" / "metrics.json").read_text())
    suggestion = found["lr_find"]["suggestion"]
    assert f"training with the suggested rate {suggestion:.3g}" in out
    assert found["settings"]["lr"] == suggestion and (tmp_path / "found" / "lr_find.png").is_file()
    assert len(found["lr_find"]["lrs"]) == len(found["lr_find"]["losses"]) > 10
    args = ["train", "--quiet", "--epochs", "2", "--lr", repr(suggestion), "--out", tmp_path / "lr"]
    code, _, err = run_main(args, capsys)
    assert code == 0, err
    given = json.loads((tmp_path / "lr" / "metrics.json").read_text())
    assert given["history"] == found["history"]  # the rate reached the optimizer

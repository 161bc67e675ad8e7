"""The command line, end to end through subprocess in a temporary folder, and its errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

import numpynn as nn
from numpynn import cli
from numpynn.data import datasets

Image = pytest.importorskip("PIL.Image", reason="the CLI's pictures need matplotlib and Pillow")


def numpynn(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "numpynn", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


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
        "model.npz",
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


def test_train_prints_progress_and_a_report(tmp_path):
    result = numpynn("train", "--dataset", "iris", "--epochs", "40", "--out", "iris", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Epoch 40/40" in result.stderr  # tqdm's bars
    assert "test accuracy:" in result.stdout and "versicolor" in result.stdout
    assert "macro avg" in result.stdout and "wrote model.npz" in result.stdout


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
    result = numpynn("train", "--model", "cnn", "--dataset", "iris", cwd=tmp_path)
    assert result.returncode == 2 and "--model cnn needs images" in result.stderr


def test_train_on_a_csv_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    label = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    lines = ["a,b,c,answer"] + [f"{r[0]},{r[1]},{r[2]},{v}" for r, v in zip(x, label)]
    (tmp_path / "table.csv").write_text("\n".join(lines) + "\n")
    result = numpynn(
        "train", "--csv", "table.csv", "--target", "answer", "--quiet", "--out", "run", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_accuracy"] > 0.85
    assert nn.load_model(tmp_path / "run" / "model.npz").metadata["class_names"] == ["no", "yes"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["train", "--dataset", "cifar"], 2, "invalid choice: 'cifar'"),
        (["train", "--optimizer", "adma"], 2, "did you mean 'adam'"),
        (["train", "--hidden", "10,x"], 2, "--hidden: expected sizes"),
        (["train", "--csv", "table.csv"], 2, "--csv needs --target"),
        (
            ["train", "--csv", "table.csv", "--target", "size"],
            2,
            "no column 'size'; the columns are a, label",
        ),
        (
            ["train", "--csv", "words.csv", "--target", "label"],
            1,
            "column 'a' holds 'x', not a number",
        ),
        (["train", "--csv", "absent.csv", "--target", "label"], 1, "no CSV file at absent.csv"),
        (["predict", "absent.npz", "x.npy"], 1, "no model file at absent.npz"),
        (["summary", "table.csv"], 1, "is not a readable numpynn file"),
        ([], 2, "required: COMMAND"),
    ],
)
def test_errors_a_user_can_act_on(tmp_path, monkeypatch, capsys, args, code, message):
    (tmp_path / "table.csv").write_text("a,label\n1,0\n2,1\n")
    (tmp_path / "words.csv").write_text("a,label\nx,0\n2,1\n")
    monkeypatch.chdir(tmp_path)
    try:
        returned = cli.main(args)
    except SystemExit as exit:  # argparse's own usage errors
        returned = exit.code
    assert returned == code
    assert message in capsys.readouterr().err


def test_data_not_available_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NUMPYNN_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM", tmp_path / "system")
    monkeypatch.setitem(datasets.MIRRORS, "mnist", ["http://127.0.0.1:9/"])
    assert cli.main(["train", "--dataset", "mnist", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "mnist: the files" in err and "looked in" in err and "NUMPYNN_DATA" in err

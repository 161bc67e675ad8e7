"""numpynn predict."""

import numpy as np
import pytest

import numpynn as nn
from cli.tools import numpynn, run_main

Image = pytest.importorskip("PIL.Image", reason="the CLI's pictures need matplotlib and Pillow")


def test_predict_reads_npy_csv_and_png(trained, tmp_path):
    model = trained / "run" / "model.npz"
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


def test_predict_reads_a_csv_with_or_without_a_header(csv_model, tmp_path, capsys):
    (tmp_path / "a.csv").write_text("a,b,c,e\n0.5,1,2,1\n-1,0,0,-2\n")
    (tmp_path / "b.csv").write_text("0.5,1,2,1\n-1,0,0,-2\n")
    outputs = [
        run_main(["predict", csv_model[1], tmp_path / n], capsys) for n in ("a.csv", "b.csv")
    ]
    assert outputs[0][0] == 0 and outputs[0] == outputs[1]
    assert len(outputs[0][1].splitlines()) == 2


def predictions(out: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in out.splitlines()]


def test_the_training_csv_itself_works_its_target_left_out_with_a_note(csv_model, capsys):
    folder, model = csv_model
    assert nn.load_model(model).metadata["columns"] == ["a", "b", "c", "e"]
    code, out, err = run_main(["predict", model, folder / "t.csv"], capsys)
    assert code == 0, err
    assert (
        err
        == "numpynn predict: leaving out column 'answer' (the model's target, what it predicts)\n"
    )
    assert len(out.splitlines()) == 80
    # the same predictions as from the features alone, in the order of training
    rows = [line.split(",") for line in (folder / "t.csv").read_text().splitlines()[1:]]
    features = np.array([[r[0], r[1], r[2], r[4]] for r in rows], dtype=np.float32)
    np.save(folder / "features.npy", features)
    code, alone, _ = run_main(["predict", model, folder / "features.npy"], capsys)
    assert code == 0 and predictions(alone) == predictions(out)


def test_a_csv_with_a_header_is_read_by_column_name(csv_model, tmp_path, capsys):
    model = csv_model[1]
    (tmp_path / "in_order.csv").write_text("a,b,c,e\n0.5,1,2,1\n-1,0,0,-2\n")
    (tmp_path / "shuffled.csv").write_text("e,c,a,b\n1,2,0.5,1\n-2,0,-1,0\n")
    outputs = [
        run_main(["predict", model, tmp_path / n], capsys) for n in ("in_order.csv", "shuffled.csv")
    ]
    assert outputs[0][0] == 0 and outputs[0] == outputs[1]
    # the same rows read by position would be other samples
    (tmp_path / "by_position.csv").write_text("1,2,0.5,1\n-2,0,-1,0\n")
    assert run_main(["predict", model, tmp_path / "by_position.csv"], capsys)[1] != outputs[0][1]
    for header, message in [
        ("a,c,e,x", "no column 'b'; the model takes a, b, c, e"),
        ("a,b,c,e,id", "column 'id' is not one the model was trained on (a, b, c, e); remove it"),
    ]:
        row = ",".join("1" for _ in header.split(","))
        (tmp_path / "odd.csv").write_text(f"{header}\n{row}\n")
        code, out, err = run_main(["predict", model, tmp_path / "odd.csv"], capsys)
        assert code == 1 and message in err and out == "", err


def test_without_a_header_a_column_too_many_suggests_the_target(csv_model, tmp_path, capsys):
    (tmp_path / "s.csv").write_text("1,2,3,4,5\n")
    code, _, err = run_main(["predict", csv_model[1], tmp_path / "s.csv"], capsys)
    assert code == 1 and "rows of 5 values; the model takes 4 per sample" in err
    assert "the target 'answer'" in err and "add the header row" in err


@pytest.mark.parametrize(
    "shape", [(64,), (8, 8), (1, 8, 8)], ids=["flat", "image", "image with its channel"]
)
def test_one_unbatched_sample_is_one_prediction(trained, tmp_path, capsys, shape):
    x, y, _ = nn.data.load_digits()
    np.save(tmp_path / "one.npy", x[7].reshape(shape))
    code, out, err = run_main(
        ["predict", trained / "run" / "model.npz", tmp_path / "one.npy"], capsys
    )
    assert code == 0 and out.startswith("0: ") and len(out.splitlines()) == 1, err
    batch = nn.load_model(trained / "run" / "model.npz").predict(x[7:8])
    assert out.split()[1] == str(batch.argmax()) and out.split()[2] == f"({batch.max():.3f})"
    np.save(tmp_path / "three.npy", x[:3].reshape(3, *shape))  # and three stacked
    code, out, _ = run_main(
        ["predict", trained / "run" / "model.npz", tmp_path / "three.npy"], capsys
    )
    assert code == 0 and len(out.splitlines()) == 3


def test_one_csv_row_is_one_prediction(csv_model, tmp_path, capsys):
    (tmp_path / "one.csv").write_text("0.5,1,2,1\n")
    code, out, err = run_main(["predict", csv_model[1], tmp_path / "one.csv"], capsys)
    assert code == 0 and len(out.splitlines()) == 1 and out.startswith("0: "), err


@pytest.mark.parametrize("shape", [(65,), (8, 9), (2, 7, 9), (2, 2, 8, 8), (3, 1)])
def test_a_refused_shape_is_named(trained, tmp_path, capsys, shape):
    np.save(tmp_path / "x.npy", np.zeros(shape, np.float32))
    code, out, err = run_main(
        ["predict", trained / "run" / "model.npz", tmp_path / "x.npy"], capsys
    )
    assert code == 1 and out == "", err
    assert (
        f"x.npy: an array of shape {shape}; the model takes one sample of shape (64,) or (8, 8)"
        in err
    )

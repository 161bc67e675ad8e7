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

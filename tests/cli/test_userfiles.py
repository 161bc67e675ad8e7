"""The readers of the user's files (CSV tables for train, samples for predict): each flaw is
one clear error."""

import numpy as np
import pytest

from cli.tools import run_main, separable, table

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
        ("s.csv", raw(b"nan,1,2,3\n"), "s.csv, line 1: column 1 ('a') holds 'nan'"),
        ("s.csv", raw(b"a,b,c,e\n1,2,3,4\n1,2,inf,4\n"), "line 3: column 'c' holds 'inf'"),
        ("s.csv", raw(b"1e300,1,2,3\n"), "line 1: column 1 ('a') holds '1e300'"),
        ("s.csv", raw(b"1,2,3,4\n1,2\n"), "s.csv, line 2: 2 values, the first row has 4"),
        ("s.csv", raw(b"1,2,3\n"), "s.csv: rows of 3 values; the model takes 4 per sample"),
        ("s.csv", raw(b"a,b,c,e\n"), "s.csv: holds no samples"),
        ("s.csv", raw(b"1,2,\xff,4\n"), "s.csv: not UTF-8 text"),
        ("s.npy", npy(np.array(3.0)), "s.npy: holds a single number (a 0-d array)"),
        ("s.npy", npy(np.array([[1, 2, np.nan, 4]])), "the value at [0, 2] is not a finite"),
        ("s.npy", npy(np.array([[1, 2, 3, 1e300]])), "the value at [0, 3] is not a finite"),
        ("s.npy", npy(np.array([1, "a"], dtype=object), allow_pickle=True), "not a readable"),
        ("s.npy", npy(np.array(["1", "2", "3", "4"])), "holds values of type <U1"),
        ("s.npy", npy(np.array([1, 2, 3, 4j])), "holds values of type complex128"),
        ("s.npy", npy(np.zeros((0, 4))), "s.npy: holds no samples"),
        (
            "s.npy",
            npy(np.zeros((2, 5))),
            "s.npy: an array of shape (2, 5); the model takes one sample of shape (4,)",
        ),
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

"""numpynn evaluate."""

from cli.tools import numpynn, run_main


def test_evaluate(trained):
    model = trained / "run" / "model.npz"
    result = numpynn("evaluate", model, cwd=trained)
    assert result.returncode == 0 and "test accuracy: 0.9" in result.stdout


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


def test_evaluate_refuses_a_csv_of_other_columns_or_classes(csv_model, tmp_path, capsys):
    folder, model = csv_model
    lines = (folder / "t.csv").read_text().splitlines()
    swapped = [",".join([c[1], c[0], *c[2:]]) for c in (line.split(",") for line in lines)]
    (tmp_path / "swapped.csv").write_text("\n".join(swapped) + "\n")  # b,a,c,answer,e
    code, _, err = run_main(["evaluate", model, "--csv", tmp_path / "swapped.csv"], capsys)
    assert code == 1 and "trained on the columns a, b, c, e, in this order" in err, err
    assert "the CSV file's are b, a, c, e" in err
    renamed = [lines[0], *(line.replace("yes", "maybe") for line in lines[1:])]
    (tmp_path / "renamed.csv").write_text("\n".join(renamed) + "\n")
    code, _, err = run_main(["evaluate", model, "--csv", tmp_path / "renamed.csv"], capsys)
    assert code == 1 and "trained on the classes no, yes; csv has maybe, no" in err, err
    code, out, err = run_main(["evaluate", model, "--csv", folder / "t.csv"], capsys)
    assert code == 0 and "test accuracy: " in out, err

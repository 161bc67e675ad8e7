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

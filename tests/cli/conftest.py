"""Runs of numpynn train that several test modules read: trained once per session."""

import pytest

from cli.tools import numpynn, separable, table


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """`numpynn train` with no arguments but --quiet and a known output folder."""
    folder = tmp_path_factory.mktemp("cli")
    result = numpynn("train", "--quiet", "--out", "run", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="session")
def csv_model(tmp_path_factory):
    """A quick model on four numeric features: (folder, model path)."""
    folder = tmp_path_factory.mktemp("csv")
    rows = [[*r, r[0] * 2] for r in separable(80)]
    (folder / "t.csv").write_bytes(table(rows, "a,b,c,answer,e"))
    args = ["train", "--csv", "t.csv", "--target", "answer", "--epochs", "3", "--quiet"]
    result = numpynn(*args, "--out", "run", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, folder / "run" / "model.npz"

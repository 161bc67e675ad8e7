"""numpynn summary."""

from cli.tools import numpynn


def test_summary(trained):
    result = numpynn("summary", trained / "run" / "model.npz", cwd=trained)
    assert result.returncode == 0 and "Total params: 17,226" in result.stdout

"""The parser: help, version, the registration table, and the size of the functions."""

import ast
import pathlib

import pytest

import numpynn as nn
from cli.tools import run_main
from numpynn import cli


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


CLI_FILES = sorted(pathlib.Path(cli.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("path", [*CLI_FILES, pathlib.Path(nn.plot.__file__)], ids=str)
def test_every_function_is_under_50_lines(path):
    functions = [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    assert functions and [f for f in functions if f[1] >= 50] == []


def test_every_registered_command_has_its_parser(capsys):
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0
    for command in cli.COMMANDS:
        name = command.__name__.rsplit(".", 1)[1]
        assert name in out
        code, out_, _ = run_main([name, "--help"], capsys)
        assert code == 0 and out_.startswith(f"usage: numpynn {name}")

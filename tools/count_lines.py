"""Print code lines per module of numpynn (no blank lines, comments or docstrings).

    python tools/count_lines.py

The core (module, functional, init, layers, losses, optim, gradcheck) should stay well
under 4,000 lines with the sequence layers (DESIGN.md): size is a design value.
"""

from __future__ import annotations

import ast
import io
import pathlib
import tokenize

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "src" / "numpynn"
CORE = ("module", "functional", "init", "layers", "losses", "optim", "gradcheck", "_config")


def code_lines(path: pathlib.Path) -> int:
    source = path.read_text()
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


def main() -> None:
    total = core = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        n = code_lines(path)
        total += n
        if name.split("/")[0].removesuffix(".py") in CORE:
            core += n
        print(f"{n:6d}  {name}")
    print(f"{total:6d}  total ({core} in the core; budget 4,000)")


if __name__ == "__main__":
    main()

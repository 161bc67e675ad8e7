"""The package as a whole: light import, the layered import graph, the public names."""

import ast
import io
import pathlib
import subprocess
import sys
import tokenize

import numpynn as nn

PACKAGE = pathlib.Path(nn.__file__).parent

# DESIGN.md's layers, lowest first; a module may import only modules of its own or a lower layer.
LAYERS = [
    {"_config", "_files", "functional", "names"},
    {"symbolic"},
    {"module"},
    {"init", "losses", "gradcheck", "metrics", "data"},
    {"layers"},
    {"optim"},
    {"safetensors_io", "_npz"},
    {"io"},
    {"callbacks", "diagnostics"},
    {"objective"},
    {"training"},
    {"distributed"},
    {"summary"},
    {"keras_api"},
    {"model", "sequential"},
    {"torch_bridge", "onnx", "sklearn"},
    {"report", "_network_report", "_run_folder"},
    {"plot", "cli", "__main__", "lr_finder"},
    {"keras"},
]
LAYERS[0].update({"_checks", "_threads"})  # input checks (issue 13); BLAS threads (issue 18)
LAYERS[0].add("_progress")  # the one progress line (issue 24)


def layer_of(module_name: str) -> int:
    top = module_name.split(".")[1] if module_name.startswith("numpynn.") else module_name
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module_name} is not in the layer table of test_package.py")


# Loaded on first use (numpynn.__getattr__), never by ``import numpynn`` or a plain ``fit``.
EDGE_MODULES = ["numpynn." + m for m in ("cli", "distributed", "onnx", "report", "sklearn")]
EDGE_MODULES += ["numpynn.plot", "numpynn.torch_bridge"]
EXTRAS = ["torch", "matplotlib", "scipy", "tqdm", "onnx", "onnxruntime", "safetensors"]
EXTRAS += ["sklearn", "mpi4py"]


def test_import_is_light():
    code = (
        "import sys, numpy as np, numpynn as nn\n"
        "model = nn.Sequential(nn.Dense(3, activation='softmax'))\n"
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
        "model.fit(np.ones((8, 4), np.float32), np.zeros(8, np.int64), verbose=0)\n"
        "print(sorted(set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout.strip()))
    assert not loaded & set(EXTRAS + EDGE_MODULES), sorted(loaded & set(EXTRAS + EDGE_MODULES))


def test_edge_modules_load_on_first_use():
    code = "import sys, numpynn as nn; nn.onnx; nn.from_torch; print('numpynn.onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert nn.onnx.export and nn.sklearn.MLPClassifier and nn.distributed.init
    assert {"onnx", "from_torch", "report"} <= set(dir(nn))


def test_lower_layers_never_import_higher_ones():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        mine = layer_of(name)
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("numpynn")
            ):
                targets = (
                    [node.module]
                    if node.module != "numpynn"
                    else [f"numpynn.{a.name}" for a in node.names]
                )
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("numpynn.")]
            for target in targets:
                assert layer_of(target) <= mine, f"{name} imports {target}, a higher layer"


def test_public_api():
    assert nn.__version__
    for name in nn.__all__:
        assert hasattr(nn, name), name


def _code_line_numbers(source: str) -> set[int]:
    """The numbers of the lines that hold code: no blank lines, comments or docstrings."""
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                if isinstance(first.value.value, str):
                    docstrings.update(range(first.lineno, first.end_lineno + 1))
    lines = set()
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip and token.type != tokenize.ENDMARKER:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines - docstrings


def test_functions_and_classes_stay_short():
    # Size is a design value (STYLE.md): a function that does not fit on a screen, or a class
    # of more than a few screens, is split into named helpers. Code lines only.
    limits = {ast.FunctionDef: 50, ast.AsyncFunctionDef: 50, ast.ClassDef: 200}
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        code = _code_line_numbers(source)
        for node in ast.walk(ast.parse(source)):
            limit = limits.get(type(node))
            if limit is not None:
                size = len(code & set(range(node.lineno, node.end_lineno + 1)))
                if size > limit:
                    too_long.append(
                        f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}: {size}"
                    )
    assert not too_long, "over 50 code lines (functions) or 200 (classes):\n" + "\n".join(too_long)


def test_files_stay_short():
    # A file is one concern a reader can hold (issue 24): past 700 lines it is split by
    # concern (report.py's page and _run_folder.py's reading, io.py and _npz.py, ...).
    too_long = [
        f"{path.relative_to(PACKAGE)}: {lines}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > 700
    ]
    assert not too_long, "files over 700 lines:\n" + "\n".join(too_long)

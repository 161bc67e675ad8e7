"""The package as a whole: light import, the layered import graph, the public names."""

import ast
import pathlib
import subprocess
import sys

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
    {"safetensors_io"},
    {"io"},
    {"callbacks"},
    {"objective"},
    {"training"},
    {"summary"},
    {"keras_api"},
    {"model", "sequential"},
    {"torch_bridge", "onnx", "sklearn"},
    {"report"},
    {"plot", "cli", "__main__"},
    {"keras"},
]
LAYERS[0].update({"_checks", "_threads"})  # input checks (issue 13); BLAS threads (issue 18)


def layer_of(module_name: str) -> int:
    top = module_name.split(".")[1] if module_name.startswith("numpynn.") else module_name
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module_name} is not in the layer table of test_package.py")


def test_import_is_light():
    heavy = "('torch', 'matplotlib', 'scipy', 'tqdm')"
    heavy = heavy[:-1] + ", 'onnx', 'onnxruntime', 'safetensors', 'sklearn')"  # interop extras
    code = f"import sys, numpynn; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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

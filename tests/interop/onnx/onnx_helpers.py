"""What the ONNX tests share: onnxruntime sessions, batches of cases.py's layers, tolerances."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason='needs onnx (pip install "numpynn[onnx]")')
onnxruntime = pytest.importorskip("onnxruntime", reason='needs onnxruntime ("numpynn[onnx]")')

# float32 on both sides; the libraries order sums and evaluate exp/erf differently
RTOL = ATOL = 1e-5


def run(path, inputs: dict):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def ops(path) -> list[str]:
    return [n.op_type for n in onnx.load(str(path)).graph.node]


def torch_export(torch, module, shape, path):
    """``torch.onnx.export(..., dynamo=False)`` of ``module`` on inputs (N, *shape)."""
    module.eval()
    example = torch.randn(2, *shape)
    torch.onnx.export(
        module,
        (example,),
        str(path),
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "N"}, "y": {0: "N"}},
    )
    return module

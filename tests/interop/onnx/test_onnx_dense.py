"""Linear as Gemm: PyTorch's exported MLP runs in numpynn."""

import numpy as np
import pytest
from onnx_helpers import ATOL, RTOL, torch_export

import numpynn as nn


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's own, about its exporter
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_pytorch_mlp_runs_in_numpynn(torch, tmp_path):
    torch.manual_seed(0)
    t = torch.nn
    module = t.Sequential(
        t.Linear(10, 32),
        t.ReLU(),
        t.Dropout(0.2),
        t.Linear(32, 16),
        t.Tanh(),
        t.Linear(16, 4),
        t.LogSoftmax(dim=1),
    )
    torch_export(torch, module, (10,), tmp_path / "mlp.onnx")
    model = nn.onnx.load(tmp_path / "mlp.onnx")
    x = torch.randn(5, 10)
    with torch.no_grad():
        expected = module(x).numpy()
    np.testing.assert_allclose(model(x.numpy()), expected, rtol=RTOL, atol=ATOL)

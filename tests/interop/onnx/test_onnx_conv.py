"""Convolution and pooling: PyTorch's exported CNN runs in numpynn; 'same' padding that is
asymmetric is written as explicit pads and read back as 'same'."""

import numpy as np
import pytest
from onnx_helpers import ATOL, RTOL, onnx, run, torch_export

import numpynn as nn


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's own, about its exporter
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_pytorch_cnn_runs_in_numpynn(torch, tmp_path):
    torch.manual_seed(0)
    t = torch.nn
    module = t.Sequential(
        t.Conv2d(1, 4, 3, padding=1),
        t.BatchNorm2d(4),
        t.ReLU(),
        t.MaxPool2d(2),
        t.Conv2d(4, 8, 3, stride=2, padding=1),
        t.LeakyReLU(0.1),
        t.AvgPool2d(2, stride=1, padding=1),
        t.AdaptiveAvgPool2d(1),
        t.Flatten(),
        t.Linear(8, 3),
        t.Softmax(dim=1),
    )
    with torch.no_grad():
        for buffer_name, b in module.named_buffers():
            if buffer_name.endswith("running_var"):
                b.uniform_(0.5, 2)
    torch_export(torch, module, (1, 12, 12), tmp_path / "cnn.onnx")
    model = nn.onnx.load(tmp_path / "cnn.onnx")
    x = torch.randn(5, 1, 12, 12)
    with torch.no_grad():
        expected = module(x).numpy()
    np.testing.assert_allclose(model(x.numpy()), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: nn.Conv2d(2, 3, 4, padding="same"), (2, 6, 5)),  # even kernel: 1 before, 2 after
        (lambda: nn.Conv2D(3, (3, 2), strides=2, padding="same"), (2, 8, 6)),
        (lambda: nn.Conv1d(2, 2, 4, padding="same", dilation=3, groups=2), (2, 9)),
        (lambda: nn.AveragePooling2D(3, strides=2, padding="same"), (2, 6, 7)),
    ],
    ids=["conv-even-kernel", "conv-stride2", "conv1d-dilated-groups", "avgpool"],
)
def test_asymmetric_same_padding_is_written_explicitly(tmp_path, make, shape):
    layer = make()
    x = np.random.default_rng(3).standard_normal((3, *shape)).astype(np.float32)
    expected = layer(x)
    nn.onnx.export(layer, tmp_path / "same.onnx", example_input=x)
    (node,) = [
        n for n in onnx.load(str(tmp_path / "same.onnx")).graph.node if n.op_type != "Identity"
    ]
    pads = next(a.ints for a in node.attribute if a.name == "pads")
    half = len(pads) // 2
    assert list(pads[:half]) != list(pads[half:])  # asymmetric: the extra row/column after
    (out,) = run(tmp_path / "same.onnx", {"input": x})
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        nn.onnx.load(tmp_path / "same.onnx")(x), expected, rtol=RTOL, atol=ATOL
    )

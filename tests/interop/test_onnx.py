"""ONNX: every exportable layer of cases.py runs in onnxruntime as in numpynn; graphs load back."""

import numpy as np
import pytest
from cases import LAYERS as ALL_LAYERS

import numpynn as nn
import numpynn.onnx

onnx = pytest.importorskip("onnx", reason='needs onnx (pip install "numpynn[onnx]")')
onnxruntime = pytest.importorskip("onnxruntime", reason='needs onnxruntime ("numpynn[onnx]")')
# every case, the sequence layers too: cases.py's onnx=False on them predates their export
LAYERS = ALL_LAYERS

# float32 on both sides; the libraries order sums and evaluate exp/erf differently
RTOL = ATOL = 1e-5


def run(path, inputs: dict):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def batch(case, n, seed=0):
    rng = np.random.default_rng(seed)
    return case.inputs(rng, (n, *case.sample_shape)).astype(np.float32)


def randomise_statistics(layer):
    """Running statistics away from 0 and 1, so that eval-mode BatchNorm is really tested."""
    rng = np.random.default_rng(5)
    for module in layer.modules():
        if hasattr(module, "running_mean") and module.running_mean is not None:
            module.running_mean[...] = rng.uniform(-0.5, 0.5, module.running_mean.shape)
            module.running_var[...] = rng.uniform(0.5, 2.0, module.running_var.shape)
        for p in module.parameters():
            if p.name in ("weight", "bias") and p.data.ndim == 1:
                p.data[...] = rng.uniform(0.5, 1.5, p.shape)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each case of cases.LAYERS built, randomised, exported once: (layer, path)."""
    folder = tmp_path_factory.mktemp("onnx")
    result = {}
    for case in LAYERS:
        nn.manual_seed(0)
        layer = case.make()
        layer(batch(case, 3))  # builds lazy layers
        randomise_statistics(layer)
        layer.eval()
        path = folder / f"{case.id}.onnx"
        nn.onnx.export(layer, path, example_input=batch(case, 3))
        result[case.id] = layer, path
    return result


@pytest.mark.parametrize("case", LAYERS, ids=[c.id for c in LAYERS])
def test_onnxruntime_matches_numpynn(case, exported):
    layer, path = exported[case.id]
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.ir_version == 8 and [o.version for o in proto.opset_import] == [17]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    x = batch(case, 5, seed=1)  # not the batch size of the export: the batch is dynamic
    x = x.astype(np.int64) if getattr(case, "index_input", False) else x  # Embedding's indices
    (out,) = run(path, {proto.graph.input[0].name: x})
    expected = layer(x)
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL, err_msg=case.id)


EXPORT_ONLY = {
    "LSTM-2-layers-bidirectional",
    "MultiheadAttention-self",
    "MultiheadAttention-nobias-seq-first",
    "TransformerEncoderLayer",
    "TransformerEncoder-norm-first-gelu",
}


@pytest.mark.parametrize("case", LAYERS, ids=[c.id for c in LAYERS])
def test_own_exports_load_back(case, exported):
    layer, path = exported[case.id]
    if case.id in EXPORT_ONLY:  # attention and bidirectional layers: onnx.load refuses them
        with pytest.raises(ValueError, match=r"onnx.load: .* the operator \w+ \(node '"):
            nn.onnx.load(path)
        return
    loaded = nn.onnx.load(path)
    x = batch(case, 4, seed=2)
    out = loaded(x)
    assert out.dtype == np.float32 and not loaded.training
    np.testing.assert_allclose(out, layer(x), rtol=RTOL, atol=ATOL, err_msg=case.id)


def test_formulas_load_back_as_their_layers(exported):
    """GELU and Softplus(beta, threshold) are several ONNX nodes: one numpynn layer again."""
    for case_id, expected in [
        ("GELU", nn.GELU()),
        ("GELU-tanh", nn.GELU("tanh")),
        ("Softplus", nn.Softplus(beta=2.0, threshold=5.0)),
    ]:
        loaded = nn.onnx.load(exported[case_id][1])
        kinds = [type(layer) for layer in loaded.layers]
        assert kinds == [type(expected), nn.Identity], (case_id, kinds)
        assert loaded.layers[0].get_config() == expected.get_config()


def several_inputs_and_outputs():
    a, b = nn.Input(shape=(4,), name="left"), nn.Input(shape=(4,), name="right")
    shared = nn.Dense(6, activation="relu", name="shared")(a)  # `a` feeds two branches
    merged = nn.Concatenate(name="joined")([shared, nn.Subtract()([a, b])])
    product = nn.Multiply()([a, b, nn.Dense(4, activation="tanh")(b)])
    mean = nn.Average()([a, b])
    out_1 = nn.Dense(3, activation="softmax", name="probabilities")(merged)
    out_2 = nn.Dense(2, name="score")(nn.Add()([product, mean, a]))
    return nn.Model([a, b], [out_1, out_2, mean])


def test_functional_model_with_several_inputs_and_outputs(tmp_path):
    model = several_inputs_and_outputs().eval()
    path = tmp_path / "graph.onnx"
    nn.onnx.export(model, path)
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["left", "right"]
    assert [o.name for o in proto.graph.output] == ["probabilities", "score", "average_1"]
    rng = np.random.default_rng(0)
    x1, x2 = (rng.standard_normal((7, 4)).astype(np.float32) for _ in range(2))
    outs = run(path, {"left": x1, "right": x2})
    for out, expected in zip(outs, model(x1, x2), strict=True):
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    loaded = nn.onnx.load(path)
    assert loaded.input_names == ["left", "right"]
    for out, expected in zip(loaded(x1, x2), model(x1, x2), strict=True):
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


def test_float64_model_is_written_as_float32(tmp_path):
    nn.set_default_dtype(np.float64)
    model = nn.Sequential(nn.Conv1d(2, 3, 3, padding="same"), nn.Flatten(), nn.Linear(15, 2))
    model(np.zeros((1, 2, 5)))
    path = tmp_path / "f64.onnx"
    nn.onnx.export(model, path, input_shape=(2, 5))
    x = np.random.default_rng(0).standard_normal((3, 2, 5))
    (out,) = run(path, {"input": x.astype(np.float32)})
    np.testing.assert_allclose(out, model(x), rtol=1e-5, atol=1e-5)


class Cube(nn.Module):
    def forward(self, x):
        return x**3


def test_unsupported_layer_is_named_and_no_file_is_left(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), Cube(), nn.Linear(4, 2))
    with pytest.raises(TypeError, match=r"Cube\(\) \(at 'cube_1'\) has no ONNX equivalent"):
        nn.onnx.export(model, tmp_path / "cube.onnx", input_shape=(3,))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="input shape is unknown"):
        nn.onnx.export(nn.Sequential(nn.Linear(None, 2)), tmp_path / "lazy.onnx")
    assert list(tmp_path.iterdir()) == []


def test_module_name_does_not_shadow_the_onnx_package():
    package = numpynn.onnx._onnx()
    assert package is onnx and "numpynn" not in package.__file__
    assert numpynn.onnx.__name__ == "numpynn.onnx" and nn.onnx is numpynn.onnx


def test_export_command(tmp_path):
    inputs = nn.Input(shape=(1, 6, 6))
    h = nn.MaxPooling2D()(nn.Conv2D(2, 3, padding="same", activation="relu")(inputs))
    model = nn.Model(inputs, nn.Dense(3)(nn.Flatten()(h)))
    model.save(tmp_path / "m.npz")
    message = nn.onnx.export_command(tmp_path / "m.npz", tmp_path / "m.onnx")
    assert "m.onnx" in message and "input_1" in message
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    (out,) = run(tmp_path / "m.onnx", {"input_1": x})
    np.testing.assert_allclose(out, model(x), rtol=RTOL, atol=ATOL)


# --- PyTorch's exports --------------------------------------------------------------------------


def torch_export(torch, module, shape, path):
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


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's own, about its exporter
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_pytorch_mlp_and_cnn_run_in_numpynn(torch, tmp_path):
    torch.manual_seed(0)
    t = torch.nn
    models = {
        "mlp": (
            t.Sequential(
                t.Linear(10, 32),
                t.ReLU(),
                t.Dropout(0.2),
                t.Linear(32, 16),
                t.Tanh(),
                t.Linear(16, 4),
                t.LogSoftmax(dim=1),
            ),
            (10,),
        ),
        "cnn": (
            t.Sequential(
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
            ),
            (1, 12, 12),
        ),
    }
    for name, (module, shape) in models.items():
        with torch.no_grad():
            for buffer_name, b in module.named_buffers():
                if buffer_name.endswith("running_var"):
                    b.uniform_(0.5, 2)
        torch_export(torch, module, shape, tmp_path / f"{name}.onnx")
        model = nn.onnx.load(tmp_path / f"{name}.onnx")
        x = torch.randn(5, *shape)
        with torch.no_grad():
            expected = module(x).numpy()
        np.testing.assert_allclose(model(x.numpy()), expected, rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_operator_outside_the_subset_names_op_and_node(torch, tmp_path):
    module = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.PReLU())
    torch_export(torch, module, (3,), tmp_path / "prelu.onnx")
    with pytest.raises(
        ValueError, match=r"operator PRelu \(node '/1/PRelu'\) has no numpynn layer"
    ):
        nn.onnx.load(tmp_path / "prelu.onnx")


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

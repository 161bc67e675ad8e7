"""Every layer of cases.py exported: it runs in onnxruntime as in numpynn, and loads back."""

import numpy as np
import pytest
from cases import LAYERS as ALL_LAYERS
from onnx_helpers import ATOL, RTOL, onnx, run

import numpynn as nn

# every case, the sequence layers too: cases.py's onnx=False on them predates their export
LAYERS = ALL_LAYERS


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

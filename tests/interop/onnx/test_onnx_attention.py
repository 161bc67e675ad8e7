"""MultiheadAttention and the Transformer encoder, exported (not read back)."""

import numpy as np
import pytest
from onnx_helpers import ATOL, RTOL, normal, ops, run

import numpynn as nn


def test_transformer_over_tokens(tmp_path):
    """Embedding, a 2-layer pre-norm GELU encoder with a final norm, and a head, seq-first."""
    nn.manual_seed(3)
    encoder_layer = nn.TransformerEncoderLayer(8, 2, 16, 0.1, "gelu", norm_first=True)
    model = nn.Sequential(
        nn.Embedding(12, 8),
        nn.TransformerEncoder(encoder_layer, 2, nn.LayerNorm(8)),
        nn.Linear(8, 12),
    ).eval()
    for p in model.parameters():  # the deep-copied layers start equal: make them differ
        p.data += 0.1 * normal(p.shape, seed=p.size)
    tokens = np.random.default_rng(6).integers(0, 12, (7, 3))  # (S, N)
    path = tmp_path / "transformer.onnx"
    nn.onnx.export(model, path, example_input=tokens)
    assert {"Softmax", "LayerNormalization", "MatMul", "Erf"} <= set(ops(path))
    (out,) = run(path, {"input": tokens})
    np.testing.assert_allclose(out, model(tokens), rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match=r"onnx.load: .* the operator \w+ \(node '"):
        nn.onnx.load(path)  # attention is written, not read back

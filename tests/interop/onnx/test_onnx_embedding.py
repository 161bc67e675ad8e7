"""Embedding: models that take token indices (int64 inputs), their Casts, and loading back."""

import numpy as np
from onnx_helpers import ATOL, RTOL, onnx, ops, run

import numpynn as nn


def token_classifier():
    """Tokens -> Embedding -> LSTM (sequences) -> GRU (last step) -> Dense, Keras's spelling."""
    nn.manual_seed(2)
    return nn.keras.Sequential(
        [
            nn.keras.Embedding(30, 8),
            nn.keras.LSTM(6, return_sequences=True),
            nn.keras.GRU(5),
            nn.keras.Dense(3, activation="softmax", input_dim=5),
        ]
    )


def test_token_model_takes_int64_indices_and_loads_back(tmp_path):
    model = token_classifier()
    tokens = np.random.default_rng(3).integers(0, 30, (4, 9))
    model(tokens)
    path = tmp_path / "tokens.onnx"
    nn.onnx.export(model.eval(), path, example_input=tokens)
    proto = onnx.load(str(path))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert "Cast" not in ops(path) and ops(path).count("Gather") == 1
    other = np.random.default_rng(4).integers(0, 30, (6, 9))
    (out,) = run(path, {"input": other})
    np.testing.assert_allclose(out, model(other), rtol=RTOL, atol=ATOL)
    loaded = nn.onnx.load(path)
    kinds = [type(layer).__name__ for layer in loaded.layers]
    assert kinds[:3] == ["Embedding", "KerasLSTM", "KerasGRU"], kinds
    np.testing.assert_allclose(loaded(other), model(other), rtol=RTOL, atol=ATOL)


def test_saved_token_model_exports(tmp_path):
    model = token_classifier()
    tokens = np.random.default_rng(7).integers(0, 30, (2, 9))
    model(tokens)
    model.save(tmp_path / "tokens.npz")
    saved = nn.load_model(tmp_path / "tokens.npz", compile=False)
    nn.onnx.export(saved, tmp_path / "tokens.onnx")
    (out,) = run(tmp_path / "tokens.onnx", {"input": tokens})
    np.testing.assert_allclose(out, model.eval()(tokens), rtol=RTOL, atol=ATOL)


def test_float_input_feeding_an_embedding_and_more_is_cast(tmp_path):
    """An input read as indices and as numbers stays float32; the Embedding casts it."""
    inputs = nn.Input(shape=(4,), name="ids")
    embedded = nn.Flatten()(nn.Embedding(10, 2)(inputs))
    model = nn.Model(inputs, nn.Concatenate()([embedded, nn.Dense(3)(inputs)])).eval()
    path = tmp_path / "mixed.onnx"
    nn.onnx.export(model, path)
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    ids = np.random.default_rng(5).integers(0, 10, (3, 4)).astype(np.float32)
    (out,) = run(path, {"ids": ids})
    np.testing.assert_allclose(out, model(ids), rtol=RTOL, atol=ATOL)

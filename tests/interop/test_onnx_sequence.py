"""ONNX and the sequence layers, beyond the cases.py loop of test_onnx.py: every recurrent
option against onnxruntime, Keras's results, models that take token indices, and PyTorch's
own exports of recurrent classifiers loaded into numpynn."""

import numpy as np
import pytest
from test_torch_sequence import recurrent_classifier

import numpynn as nn
import numpynn.onnx

onnx = pytest.importorskip("onnx", reason='needs onnx (pip install "numpynn[onnx]")')
onnxruntime = pytest.importorskip("onnxruntime", reason='needs onnxruntime ("numpynn[onnx]")')

RTOL = ATOL = 1e-5  # float32 on both sides


def run(path, inputs: dict):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def ops(path) -> list[str]:
    return [n.op_type for n in onnx.load(str(path)).graph.node]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"num_layers": 2, "bidirectional": True},
        {"num_layers": 3, "bias": False, "batch_first": True},
        {"bidirectional": True, "batch_first": True, "dropout": 0.5},
    ],
    ids=["plain", "stacked-bidirectional", "3-layers-no-bias-batch-first", "bidirectional-bf"],
)
def test_recurrent_options_match_onnxruntime(tmp_path, kind, options):
    """The output sequence (a bare layer's first result) through ONNX's RNN/LSTM/GRU nodes:
    one node per layer, both directions in it, zero initial state."""
    if kind == "RNN" and options.get("bias") is False:
        options = {**options, "nonlinearity": "relu"}
    nn.manual_seed(1)
    layer = getattr(nn, kind)(3, 4, **options).eval()
    x = normal((2, 5, 3) if options.get("batch_first") else (5, 2, 3))  # (N, T, F) / (T, N, F)
    path = tmp_path / "rnn.onnx"
    nn.onnx.export(layer, path, example_input=x)
    assert ops(path).count(kind) == options.get("num_layers", 1)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    # the first axis is dynamic: the batch, or the length of a time-major sequence
    y = normal((4, 5, 3), seed=2) if options.get("batch_first") else normal((7, 2, 3), seed=2)
    (out,) = run(path, {"input": y})
    np.testing.assert_allclose(out, layer(y)[0], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_keras_return_state_gives_several_outputs(tmp_path, kind):
    layer = getattr(nn.keras, kind)(4, return_state=True)
    x = normal((3, 6, 2))
    nn.onnx.export(layer, tmp_path / "state.onnx", example_input=x)
    outs = run(tmp_path / "state.onnx", {"input": normal((5, 6, 2), seed=1)})
    expected = layer(normal((5, 6, 2), seed=1))
    assert len(outs) == len(expected) == (3 if kind == "LSTM" else 2)
    for out, want in zip(outs, expected, strict=True):
        np.testing.assert_allclose(out, want, rtol=RTOL, atol=ATOL)


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


def test_export_command_on_a_saved_token_model(tmp_path):
    model = token_classifier()
    tokens = np.random.default_rng(7).integers(0, 30, (2, 9))
    model(tokens)
    model.save(tmp_path / "tokens.npz")
    nn.onnx.export_command(tmp_path / "tokens.npz", tmp_path / "tokens.onnx")
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


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's own, about its exporter
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore:Converting a tensor to a Python boolean")  # TracerWarning
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize(
    "num_layers, from_state", [(1, False), (1, True), (3, True)], ids=["out", "h_n", "stack-h_n"]
)
def test_pytorch_recurrent_classifier_runs_in_numpynn(
    torch, tmp_path, kind, num_layers, from_state
):
    """torch.onnx.export(..., dynamo=False) of Embedding -> nn.LSTM -> out[:, -1] (or
    h_n[-1]) -> Linear: zero initial states built from the batch size, Transposes, Squeeze,
    the last step; a stack's h_n concatenated, its last layer's taken."""
    torch.manual_seed(0)
    module = recurrent_classifier(torch, kind, num_layers, from_state)
    path = tmp_path / "classifier.onnx"
    torch.onnx.export(
        module,
        (torch.randint(0, 20, (2, 7)),),
        str(path),
        dynamo=False,
        input_names=["tokens"],
        output_names=["logits"],
        dynamic_axes={"tokens": {0: "N"}, "logits": {0: "N"}},
    )
    assert kind in ops(path)
    model = nn.onnx.load(path)
    assert model.input_names == ["tokens"]
    assert len(model.layers) == num_layers + 2  # Embedding, the recurrent layers, Linear
    tokens = torch.randint(0, 20, (5, 7))
    with torch.no_grad():
        expected = module(tokens).numpy()
    np.testing.assert_allclose(model(tokens.numpy()), expected, rtol=RTOL, atol=ATOL)


def test_what_load_refuses_is_named(tmp_path):
    # a time-major graph has its batch on axis 1: numpynn's graphs keep it on axis 0
    nn.onnx.export(nn.LSTM(3, 4), tmp_path / "seq_first.onnx", input_shape=(2, 3))
    with pytest.raises(ValueError, match=r"operator LSTM .*X must be a batch-first input"):
        nn.onnx.load(tmp_path / "seq_first.onnx")
    bidirectional = nn.GRU(3, 4, batch_first=True, bidirectional=True)
    nn.onnx.export(bidirectional, tmp_path / "bi.onnx", input_shape=(5, 3))
    with pytest.raises(ValueError, match=r"operator GRU .*direction='forward'"):
        nn.onnx.load(tmp_path / "bi.onnx")

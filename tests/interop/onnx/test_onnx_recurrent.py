"""RNN, LSTM and GRU: every recurrent option against onnxruntime, Keras's results, PyTorch's
own exports of recurrent classifiers loaded into numpynn, and what load refuses."""

import numpy as np
import pytest
from interop.test_torch_bridge import recurrent_classifier
from onnx_helpers import ATOL, RTOL, normal, onnx, ops, run

import numpynn as nn


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


def test_keras_states_inside_a_functional_graph(tmp_path):
    """A graph that uses the states of a return_state layer (its outputs, one call)."""
    nn.manual_seed(3)
    inputs = nn.Input(shape=(6, 2))
    sequence, h, c = nn.keras.LSTM(4, return_sequences=True, return_state=True)(inputs)
    model = nn.Model(inputs, [sequence, nn.Dense(3)(nn.Concatenate()([h, c]))])
    nn.onnx.export(model, tmp_path / "states.onnx", example_input=normal((2, 6, 2)))
    x = normal((5, 6, 2), seed=1)
    for out, want in zip(run(tmp_path / "states.onnx", {"input_1": x}), model(x), strict=True):
        np.testing.assert_allclose(out, want, rtol=RTOL, atol=ATOL)


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

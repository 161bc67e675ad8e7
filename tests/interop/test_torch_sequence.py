"""PyTorch's sequence layers into numpynn: from_torch and load_torch_state_dict per family
(Embedding, RNN/LSTM/GRU, MultiheadAttention, TransformerEncoderLayer and TransformerEncoder),
outputs compared with PyTorch's in float32 and float64."""

import numpy as np
import pytest

import numpynn as nn

pytestmark = pytest.mark.torch


def flat(value):
    """The arrays of a nested result ((output, (h_n, c_n)) and friends), in order."""
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in flat(v)]
    return [value]


def compare(torch, module, *inputs, dtype=np.float32, tol=1e-5, **kwargs):
    """from_torch's twin of ``module`` (eval mode) gives PyTorch's results on ``inputs``."""
    module = module.to(torch.float64 if dtype == np.float64 else torch.float32).eval()
    twin = nn.from_torch(module)
    assert not twin.training
    with torch.no_grad():
        as_torch = {
            k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()
        }
        expected = module(*[torch.as_tensor(x) for x in inputs], **as_torch)
    got = twin(*inputs, **kwargs)
    expected, got = flat(expected), flat(got)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        if b is None:
            assert a is None
            continue
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b.numpy(), rtol=tol, atol=tol)
    return twin


def sequences(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_embedding(torch):
    t = torch.nn
    indices = np.random.default_rng(0).integers(0, 10, (4, 7))
    twin = compare(torch, t.Embedding(10, 5), indices)
    assert isinstance(twin, nn.Embedding) and twin.padding_idx is None
    twin = compare(torch, t.Embedding(10, 5, padding_idx=3), indices)
    assert twin.padding_idx == 3
    with pytest.raises(TypeError, match=r"from_torch: Embedding: max_norm"):
        nn.from_torch(t.Embedding(10, 5, max_norm=1.0))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"num_layers": 2, "bidirectional": True, "batch_first": True, "dropout": 0.3},
        {"bias": False, "num_layers": 3},
        {"bidirectional": True},
    ],
    ids=["plain", "stacked-bidirectional-batch-first", "no-bias-3-layers", "bidirectional"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recurrent(torch, kind, options, dtype):
    t = torch.nn
    if kind == "RNN" and options.get("num_layers") == 3:
        options = {**options, "nonlinearity": "relu"}
    torch.manual_seed(0)
    module = getattr(t, kind)(4, 5, **options)
    x = sequences((6, 3, 4), dtype)  # (T, N, F), or (N, T, F) with batch_first
    twin = compare(torch, module, x, dtype=dtype)
    assert type(twin) is getattr(nn, kind)
    assert twin.get_config() == {**twin.get_config(), **options}


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_initial_state(torch, kind):
    torch.manual_seed(1)
    module = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True)
    h0 = sequences((4, 2, 4), seed=1)
    state = (h0, sequences((4, 2, 4), seed=2)) if kind == "LSTM" else h0
    twin = nn.from_torch(module.eval())
    x = sequences((5, 2, 3))
    with torch.no_grad():
        torch_state = tuple(map(torch.as_tensor, state)) if kind == "LSTM" else torch.as_tensor(h0)
        expected = flat(module(torch.as_tensor(x), torch_state))
    for a, b in zip(flat(twin(x, state)), expected, strict=True):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-5, atol=1e-5)


def test_recurrent_option_numpynn_lacks(torch):
    with pytest.raises(TypeError, match=r"from_torch: LSTM: proj_size=2 is not supported"):
        nn.from_torch(torch.nn.LSTM(4, 5, proj_size=2))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_multihead_attention(torch, batch_first, bias):
    torch.manual_seed(2)
    module = torch.nn.MultiheadAttention(8, 2, bias=bias, batch_first=batch_first)
    q, k = sequences((3, 5, 8), seed=3), sequences((3, 4, 8), seed=4)
    v = sequences((3, 4, 8), seed=5)
    if not batch_first:
        q, k, v = (a.swapaxes(0, 1).copy() for a in (q, k, v))
    compare(torch, module, q, k, v)  # output and the head-averaged weights
    padding = np.zeros((3, 4), dtype=bool)
    padding[:, -1] = True
    compare(torch, module, q, k, v, key_padding_mask=padding, need_weights=False)


def test_multihead_attention_option_numpynn_lacks(torch):
    with pytest.raises(TypeError, match="add_bias_kv"):
        nn.from_torch(torch.nn.MultiheadAttention(8, 2, add_bias_kv=True))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"activation": "gelu", "norm_first": True, "batch_first": True},
        {"activation": "relu", "layer_norm_eps": 1e-3},
    ],
    ids=["post-norm-relu", "pre-norm-gelu", "eps"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transformer_encoder_layer(torch, options, dtype):
    torch.manual_seed(3)
    module = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, **options)
    twin = compare(torch, module, sequences((5, 3, 8), dtype), dtype=dtype)
    config = twin.get_config()
    assert {k: config[k] for k in options} == options and config["dim_feedforward"] == 16


def test_transformer_encoder_layer_without_biases_is_refused(torch):
    # PyTorch's bias=False drops the LayerNorms' biases too; numpynn's LayerNorm has one
    with pytest.raises(TypeError, match=r"TransformerEncoderLayer: bias=False"):
        nn.from_torch(torch.nn.TransformerEncoderLayer(8, 2, 16, bias=False))


def test_transformer_encoder(torch):
    torch.manual_seed(4)
    t = torch.nn
    layer = t.TransformerEncoderLayer(8, 4, 12, dropout=0.0, batch_first=True)
    module = t.TransformerEncoder(layer, 3, t.LayerNorm(8), enable_nested_tensor=False)
    with torch.no_grad():  # the copies start equal: make them differ
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    twin = compare(torch, module, sequences((2, 6, 8)))
    assert twin.num_layers == 3 and isinstance(twin.norm, nn.LayerNorm)
    causal = np.triu(np.ones((6, 6), dtype=bool), 1)
    compare(torch, module, sequences((2, 6, 8)), mask=causal)


def recurrent_classifier(torch, kind="LSTM", num_layers=1, from_state=False):
    """Tokens (N, 7) of 20 -> Embedding(6) -> a batch-first ``kind``(8) -> its last step
    (``out[:, -1]``, or ``h_n[-1]`` with ``from_state``) -> Linear(3): a PyTorch model with
    its own forward."""
    t = torch.nn

    class Classifier(t.Module):
        def __init__(self):
            super().__init__()
            self.embed = t.Embedding(20, 6)
            self.rnn = getattr(t, kind)(6, 8, num_layers=num_layers, batch_first=True)
            self.head = t.Linear(8, 3)

        def forward(self, tokens):
            out, state = self.rnn(self.embed(tokens))
            h_n = state[0] if kind == "LSTM" else state
            return self.head(h_n[-1] if from_state else out[:, -1])

    return Classifier().eval()


def test_lstm_classifier_state_dict_into_a_keras_twin(torch):
    """A PyTorch model with its own forward: its state_dict loads, by position, into a numpynn
    model built with Keras's spellings (other names, same layouts)."""
    torch.manual_seed(5)
    module = recurrent_classifier(torch)
    twin = nn.keras.Sequential(
        [nn.keras.Embedding(20, 6), nn.keras.LSTM(8), nn.keras.Dense(3, input_dim=8)]
    )
    tokens = np.random.default_rng(6).integers(0, 20, (4, 9))
    twin(tokens)  # builds the lazy input size
    nn.load_torch_state_dict(twin, module.state_dict())
    with torch.no_grad():
        expected = module(torch.as_tensor(tokens)).numpy()
    np.testing.assert_allclose(twin(tokens), expected, rtol=1e-5, atol=1e-5)


def test_transformer_state_dict_into_a_twin(torch):
    t = torch.nn
    torch.manual_seed(7)
    module = t.TransformerEncoder(
        t.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2, enable_nested_tensor=False
    ).eval()
    twin = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2).eval()
    nn.load_torch_state_dict(twin, module.state_dict())
    x = sequences((3, 4, 8))
    with torch.no_grad():
        expected = module(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(twin(x), expected, rtol=1e-5, atol=1e-5)
    wrong = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 12, batch_first=True), 2)
    with pytest.raises(ValueError, match=r"load_torch_state_dict: .*linear1.*weight has shape"):
        nn.load_torch_state_dict(wrong, module.state_dict())


def test_sequential_language_model(torch):
    """nn.Sequential(Embedding, TransformerEncoder, Linear) converts as a whole."""
    t = torch.nn
    torch.manual_seed(8)
    encoder = t.TransformerEncoder(
        t.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True),
        2,
        enable_nested_tensor=False,
    )
    module = t.Sequential(t.Embedding(11, 8), encoder, t.Linear(8, 11))
    tokens = np.random.default_rng(9).integers(0, 11, (3, 5))
    twin = compare(torch, module, tokens)
    assert [type(m).__name__ for m in twin] == ["Embedding", "TransformerEncoder", "Linear"]

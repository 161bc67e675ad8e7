"""PyTorch models into numpynn: ``from_torch`` per layer family (outputs compared with
PyTorch's, the sequence layers in float32 and float64), the modules and options it refuses,
and ``load_torch_state_dict`` into any architecture, with the weights it refuses."""

from collections import OrderedDict

import numpy as np
import pytest

import numpynn as nn

pytestmark = pytest.mark.torch


def families(t):
    """One PyTorch model per layer family, with the input shape it takes."""
    return {
        "linear-activations": (
            t.nn.Sequential(
                t.nn.Linear(6, 8),
                t.nn.ReLU(),
                t.nn.Linear(8, 8),
                t.nn.LeakyReLU(0.1),
                t.nn.Linear(8, 8, bias=False),
                t.nn.ELU(0.5),
                t.nn.Linear(8, 8),
                t.nn.GELU(approximate="tanh"),
                t.nn.Linear(8, 8),
                t.nn.GELU(),
                t.nn.SiLU(),
                t.nn.Softplus(beta=2.0, threshold=3.0),
                t.nn.Sigmoid(),
                t.nn.Tanh(),
                t.nn.Identity(),
                t.nn.Dropout(0.3),
                t.nn.Linear(8, 4),
                t.nn.LogSoftmax(dim=1),
            ),
            (6,),
        ),
        "conv2d-pools-batchnorm": (
            t.nn.Sequential(
                t.nn.Conv2d(3, 4, 3, stride=2, padding=1),
                t.nn.BatchNorm2d(4),
                t.nn.ReLU(),
                t.nn.Conv2d(4, 4, 3, padding="same", dilation=2, groups=2, bias=False),
                t.nn.MaxPool2d(3, stride=2, padding=1),
                t.nn.Dropout2d(0.2),
                t.nn.Conv2d(4, 6, (3, 2), padding=(1, 0)),
                t.nn.AvgPool2d(2, stride=1, padding=1),
                t.nn.AdaptiveAvgPool2d(1),
                t.nn.Flatten(),
                t.nn.Linear(6, 3),
                t.nn.Softmax(dim=-1),
            ),
            (3, 9, 8),
        ),
        "conv1d-batchnorm1d": (
            t.nn.Sequential(
                t.nn.Conv1d(2, 4, 3, stride=2, padding=1),
                t.nn.BatchNorm1d(4),
                t.nn.Tanh(),
                t.nn.MaxPool1d(2),
                t.nn.Flatten(),
                t.nn.BatchNorm1d(12),
                t.nn.Linear(12, 2),
            ),
            (2, 11),
        ),
        "layernorm-unflatten-nested": (
            t.nn.Sequential(
                OrderedDict(
                    fc=t.nn.Linear(6, 12),
                    norm=t.nn.LayerNorm(12),
                    shape=t.nn.Unflatten(1, (3, 4)),
                    inner=t.nn.Sequential(t.nn.LayerNorm((3, 4), eps=1e-3), t.nn.Flatten()),
                    out=t.nn.Linear(12, 2),
                )
            ),
            (6,),
        ),
    }


def randomised(t, twin):
    """Non-default weights and running statistics, so a mix-up cannot go unnoticed."""
    with t.no_grad():
        for p in twin.parameters():
            p.uniform_(-0.8, 0.8)
        for name, b in twin.named_buffers():
            if name.endswith("running_mean"):
                b.uniform_(-0.5, 0.5)
            elif name.endswith("running_var"):
                b.uniform_(0.5, 2.0)
    return twin


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


# --- from_torch: each layer family gives PyTorch's outputs ----------------------------


@pytest.mark.parametrize(
    "family",
    [
        "linear-activations",
        "conv2d-pools-batchnorm",
        "conv1d-batchnorm1d",
        "layernorm-unflatten-nested",
    ],
)
def test_from_torch_gives_the_same_outputs(torch, family):
    torch.manual_seed(0)
    twin, shape = families(torch)[family]
    randomised(torch, twin).eval()
    model = nn.from_torch(twin)
    assert isinstance(model, nn.Sequential) and not model.training
    x = np.random.default_rng(0).standard_normal((5, *shape)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    out = model(x)
    assert out.dtype == np.float32
    # float32, several layers deep: both libraries round differently (about 1e-6 relative)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_from_torch_keeps_float64_and_training_mode(torch):
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    model = nn.from_torch(twin)
    assert model.training and model[0].weight.dtype == np.float64
    x = np.random.default_rng(1).standard_normal((6, 3))
    expected = twin(torch.from_numpy(x)).detach().numpy()  # batch statistics, both sides
    np.testing.assert_allclose(model(x), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model[1].running_var, twin[1].running_var.numpy(), rtol=1e-10)


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


# --- from_torch: what it refuses, and why --------------------------------------------


def test_from_torch_names_what_it_cannot_convert(torch):
    with pytest.raises(TypeError, match=r"no counterpart of PReLU \(at '1'\)"):
        nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.PReLU()))
    with pytest.raises(TypeError, match=r"MaxPool2d \(at '0'\): ceil_mode"):
        nn.from_torch(torch.nn.Sequential(torch.nn.MaxPool2d(2, ceil_mode=True)))
    with pytest.raises(TypeError, match="Conv2d.*padding_mode='reflect'"):
        nn.from_torch(torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"))


def test_recurrent_option_numpynn_lacks(torch):
    with pytest.raises(TypeError, match=r"from_torch: LSTM: proj_size=2 is not supported"):
        nn.from_torch(torch.nn.LSTM(4, 5, proj_size=2))


def test_multihead_attention_option_numpynn_lacks(torch):
    with pytest.raises(TypeError, match="add_bias_kv"):
        nn.from_torch(torch.nn.MultiheadAttention(8, 2, add_bias_kv=True))


def test_transformer_encoder_layer_without_biases_is_refused(torch):
    # PyTorch's bias=False drops the LayerNorms' biases too; numpynn's LayerNorm has one
    with pytest.raises(TypeError, match=r"TransformerEncoderLayer: bias=False"):
        nn.from_torch(torch.nn.TransformerEncoderLayer(8, 2, 16, bias=False))


# --- load_torch_state_dict: weights into any architecture, by position ---------------


def test_keras_model_takes_a_pytorch_sequentials_weights(torch):
    torch.manual_seed(1)
    twin = randomised(
        torch,
        torch.nn.Sequential(
            torch.nn.Conv2d(1, 3, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.BatchNorm2d(3, eps=1e-3),
            torch.nn.Flatten(),
            torch.nn.Linear(48, 8),
            torch.nn.Tanh(),
            torch.nn.Linear(8, 3),
            torch.nn.Softmax(dim=1),
        ),
    ).eval()
    inputs = nn.Input(shape=(1, 4, 4))
    h = nn.Conv2D(3, 3, padding="same", activation="relu")(inputs)
    h = nn.Flatten()(nn.BatchNormalization()(h))
    h = nn.Dense(8, activation="tanh")(h)
    model = nn.Model(inputs, nn.Dense(3, activation="softmax")(h))
    with pytest.raises(ValueError, match="missing: conv2d_1.weight"):
        model.load_state_dict(twin.state_dict())  # the names differ: by name it cannot load
    nn.load_torch_state_dict(model, twin)
    x = np.random.default_rng(2).standard_normal((7, 1, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.eval()(x), expected, rtol=1e-5, atol=1e-6)


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


def test_load_torch_state_dict_shows_the_first_mismatch(torch):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    before = [p.data.copy() for p in model.parameters()]
    wrong = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2)).state_dict()
    with pytest.raises(
        ValueError,
        match=r"layer 1 with weights \(2: Linear\(8 -> 3\)\): weight has shape \(3, 8\), "
        r"the state dict's '1.weight' has \(2, 8\)",
    ):
        nn.load_torch_state_dict(model, wrong)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))

    with pytest.raises(ValueError, match="the state dict has 3 layers with weights, the model 2"):
        extra = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Linear(8, 3), torch.nn.Linear(3, 3)
        )
        nn.load_torch_state_dict(model, extra.state_dict())
    with pytest.raises(ValueError, match=r"holds \['weight', 'bias'\]; the state dict's '1'"):
        nn.load_torch_state_dict(
            model, torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8))
        )


def test_load_torch_state_dict_needs_a_built_model():
    state = {"0.weight": np.zeros((2, 3), np.float32), "0.bias": np.zeros(2, np.float32)}
    with pytest.raises(RuntimeError, match="call the model once first"):
        nn.load_torch_state_dict(nn.Sequential(nn.Linear(None, 2)), state)
    model = nn.Sequential(nn.Linear(3, 2))
    nn.load_torch_state_dict(model, state)  # NumPy arrays do as well as tensors
    assert not model[0].weight.data.any()


def classifier_and_state(torch):
    """A numpynn Linear-BatchNorm-Linear model and the state_dict of its PyTorch twin."""
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    torch.manual_seed(0)
    twin = randomised(
        torch,
        torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2)),
    )
    return model, {k: v.clone() for k, v in twin.state_dict().items()}


HOSTILE_STATES = {  # each: a change to the twin's state_dict, and what the error must say
    "extra-layer": (
        lambda t, s: s.update({"3.weight": t.zeros(2, 2), "3.bias": t.zeros(2)}),
        r"the state dict has 4 layers with weights, the model 3; '3' and after are left over",
    ),
    "missing-layer": (
        lambda t, s: [s.pop("2.weight"), s.pop("2.bias")],
        r"the model has 3 layers with weights, the state dict 2; nothing for layer 2",
    ),
    "extra-entry": (
        lambda t, s: s.update({"0.scale": t.ones(3)}),
        r"layer 0 .* holds \['weight', 'bias'\]; the state dict's '0' holds \['weight', 'bias', "
        r"'scale'\]",
    ),
    "missing-entry": (
        lambda t, s: s.pop("1.running_var"),
        r"layer 1 .*BatchNorm1d.* holds .*'running_var'.*; the state dict's '1' holds",
    ),
    "transposed": (
        lambda t, s: s.update({"0.weight": s["0.weight"].T.contiguous()}),
        r"layer 0 .*: weight has shape \(3, 4\), the state dict's '0.weight' has \(4, 3\); it "
        r"looks transposed",
    ),
    "integer-weight": (
        lambda t, s: s.update({"2.weight": t.ones(2, 3, dtype=t.int32)}),
        r"layer 2 .*: the state dict's '2.weight' is int32 \(integer\); the model holds float32",
    ),
    "boolean-bias": (
        lambda t, s: s.update({"0.bias": t.ones(3, dtype=t.bool)}),
        r"the state dict's '0.bias' is bool \(boolean\); the model holds float32",
    ),
    "float-counter": (
        lambda t, s: s.update({"1.num_batches_tracked": t.tensor(3.0)}),
        r"the state dict's '1.num_batches_tracked' is float32 \(floating\); the model holds int64",
    ),
    "nan-weight": (
        lambda t, s: s["2.weight"].__setitem__((1, 0), float("nan")),
        r"the state dict's '2.weight' holds 1 NaN or infinite values \(first at \(1, 0\)\)$",
    ),
    "overflow-to-float32": (
        lambda t, s: s.update({"0.bias": t.tensor([0.0, 1e300, 0.0], dtype=t.float64)}),
        r"the state dict's '0.bias' holds 1 NaN or infinite values .* once converted to float32",
    ),
    "negative-variance": (
        lambda t, s: s["1.running_var"].__setitem__(2, -0.25),
        r"layer 1 .*BatchNorm1d.*: the state dict's '1.running_var' holds 1 negative variances "
        r"\(first -0.25 at \(2,\)\)",
    ),
}


@pytest.mark.parametrize(("change", "message"), HOSTILE_STATES.values(), ids=HOSTILE_STATES)
def test_weights_that_do_not_fit_are_refused_naming_the_entry_and_change_nothing(
    torch, change, message
):
    model, state = classifier_and_state(torch)
    change(torch, state)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        nn.load_torch_state_dict(model, state)
    after = model.state_dict()
    assert all(
        a.dtype == after[k].dtype and a.tobytes() == after[k].tobytes() for k, a in before.items()
    ), "a refused load changed the model"


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_float16_and_bfloat16_weights_widen_exactly(torch, half):
    model, state = classifier_and_state(torch)
    dtype = getattr(torch, half)
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    nn.load_torch_state_dict(model, state)
    for key, value in model.state_dict().items():
        assert value.dtype == (np.float32 if value.dtype.kind == "f" else np.int64), key
        assert np.array_equal(
            value, state[key].float().numpy() if value.dtype.kind == "f" else state[key].numpy()
        ), key

    torch.manual_seed(1)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh()).to(dtype).eval()
    twin = nn.from_torch(module)  # numpynn computes a half model in float32
    assert twin[0].weight.dtype == np.float32
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = module.float()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(twin(x), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "kind, returned",
    [
        ("LSTM", r"\(output, \(h_n, c_n\)\)"),
        ("GRU", r"\(output, h_n\)"),
        ("RNN", r"\(output, h_n\)"),
    ],
)
def test_a_recurrent_layer_before_another_in_a_sequential_is_refused(torch, kind, returned):
    """PyTorch's Sequential(Embedding, LSTM, Linear) fails when called (the Linear gets a
    tuple); from_torch refuses it at once, naming the layer and its tuple."""
    t = torch.nn
    module = t.Sequential(
        t.Embedding(10, 4), getattr(t, kind)(4, 8, batch_first=True), t.Linear(8, 2)
    )
    tokens = np.random.default_rng(0).integers(0, 10, (3, 5))
    with pytest.raises(TypeError, match="tuple"):
        module(torch.as_tensor(tokens))
    with pytest.raises(
        TypeError,
        match=rf"from_torch: {kind} \(at '1'\) returns the tuple {returned}, which the next "
        rf"layer, Linear \(at '2'\), cannot take .* nn.keras.",
    ):
        nn.from_torch(module)
    with pytest.raises(TypeError, match=r"MultiheadAttention \(at 'inner.0'\) returns the tuple"):
        nn.from_torch(
            t.Sequential(OrderedDict(inner=t.Sequential(t.MultiheadAttention(4, 2), t.ReLU())))
        )
    last = nn.from_torch(t.Sequential(t.Embedding(10, 4), getattr(t, kind)(4, 8)))
    assert isinstance(last(tokens), tuple)  # as the last layer, its tuple is the output


def test_the_fix_the_refusal_names_works(torch):
    """What the message suggests: a numpynn model with nn.keras.LSTM(return_sequences=True),
    weights copied with load_torch_state_dict, equals PyTorch applied step by step."""
    t = torch.nn
    torch.manual_seed(2)
    module = t.Sequential(t.Embedding(10, 4), t.LSTM(4, 8, batch_first=True), t.Linear(8, 2))
    model = nn.keras.Sequential(
        [nn.keras.Embedding(10, 4), nn.keras.LSTM(8, return_sequences=True), nn.keras.Dense(2)]
    )
    tokens = np.random.default_rng(3).integers(0, 10, (3, 5))
    model(tokens)  # builds the lazy sizes
    nn.load_torch_state_dict(model, module)
    with torch.no_grad():
        embedded = module[0](torch.as_tensor(tokens))
        expected = module[2](module[1](embedded)[0]).numpy()
    np.testing.assert_allclose(model(tokens), expected, rtol=1e-5, atol=1e-5)

"""RNN, LSTM and GRU: gradients through time (incl. the initial state) and PyTorch parity in
every layout: stacked, bidirectional, batch first or not, given states, variable lengths."""

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

import numpynn as nn

CELLS = {"RNN": nn.RNN, "RNN-relu": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


def make(kind, *args, **kwargs):
    if kind == "RNN-relu":
        kwargs["nonlinearity"] = "relu"
    return CELLS[kind](*args, **kwargs)


class WithStates:
    """f(x, h0[, c0]) = the output and the final states, flattened into one vector, so that
    gradcheck differentiates through every result with respect to the input and the states."""

    def __init__(self, layer):
        self.layer, self.lstm = layer, isinstance(layer, nn.LSTM)

    def __call__(self, x, h0, c0=None):
        out, state = self.layer(x, (h0, c0) if self.lstm else h0)
        states = state if self.lstm else (state,)
        self.shapes = [out.shape] + [s.shape for s in states]
        return np.concatenate([out.ravel()] + [s.ravel() for s in states])

    def backward(self, grad):
        sizes = np.cumsum([int(np.prod(s)) for s in self.shapes])[:-1]
        parts = [p.reshape(s) for p, s in zip(np.split(grad, sizes), self.shapes)]
        grad_x, grad_state = self.layer.backward(
            parts[0], tuple(parts[1:]) if self.lstm else parts[1]
        )
        return (grad_x, *grad_state) if self.lstm else (grad_x, grad_state)

    def named_parameters(self):
        return self.layer.named_parameters()

    def to(self, dtype):
        self.layer.to(dtype)


@pytest.mark.parametrize("steps", [1, 5])
@pytest.mark.parametrize("batch", [1, 3, 7])
@pytest.mark.parametrize("kind", list(CELLS))
def test_gradcheck_with_initial_states(kind, batch, steps):
    rng = np.random.default_rng(batch * 10 + steps)
    layer = make(kind, 3, 2, seed=0)
    x = rng.standard_normal((steps, batch, 3))
    states = [rng.standard_normal((1, batch, 2)) for _ in range(2 if kind == "LSTM" else 1)]
    if kind == "RNN-relu":  # keep the pre-activations off relu's kink
        x *= 0.5
    wrt = tuple(range(len(states) + 1))
    nn.gradcheck(WithStates(layer), x, *states, wrt=wrt, eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gradcheck_stacked_bidirectional_with_lengths(kind):
    rng = np.random.default_rng(3)
    layer = make(kind, 2, 2, num_layers=2, bidirectional=True, batch_first=True, seed=1)
    x = rng.standard_normal((3, 4, 2))
    lengths = np.array([4, 1, 2])

    class Padded:
        def __call__(self, x):
            return layer(x, lengths=lengths)[0]

        def backward(self, grad):
            return layer.backward(grad)[0]

        named_parameters, to = layer.named_parameters, layer.to

    nn.gradcheck(Padded(), x, eps=1e-6, atol=1e-7, rtol=1e-5)


def torch_twin(torch, kind, layer, dtype):
    cls = {"RNN": torch.nn.RNN, "RNN-relu": torch.nn.RNN, "LSTM": torch.nn.LSTM}.get(kind)
    config = layer.get_config()
    config.pop("nonlinearity", None)
    extra = {"nonlinearity": "relu"} if kind == "RNN-relu" else {}
    twin = (cls or torch.nn.GRU)(**config, **extra)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    return twin.to(getattr(torch, np.dtype(dtype).name))


TOLERANCES = {np.float64: (1e-10, 1e-12), np.float32: (2e-5, 2e-6)}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lengths", [None, [5, 2, 3]], ids=["full", "lengths"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", list(CELLS))
def test_matches_pytorch(kind, bidirectional, batch_first, lengths, dtype, torch):
    rtol, atol = TOLERANCES[dtype]
    rng = np.random.default_rng(0)
    layer = make(kind, 3, 4, num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    layer.to(dtype)
    twin = torch_twin(torch, kind, layer, dtype)
    x = rng.standard_normal((3, 5, 3) if batch_first else (5, 3, 3)).astype(dtype)
    lstm, layers = kind == "LSTM", 4 if bidirectional else 2
    states = [rng.standard_normal((layers, 3, 4)).astype(dtype) for _ in range(1 + lstm)]
    grads = [rng.standard_normal((layers, 3, 4)).astype(dtype) for _ in range(1 + lstm)]
    lengths = None if lengths is None else np.array(lengths)

    out, state = layer(x, tuple(states) if lstm else states[0], lengths=lengths)
    upstream = rng.standard_normal(out.shape).astype(dtype)
    grad_x, grad_state = layer.backward(upstream, tuple(grads) if lstm else grads[0])

    tx = torch.tensor(x, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    packed = tx
    if lengths is not None:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            tx, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False
        )
    tout, tstate = twin(packed, tuple(ts) if lstm else ts[0])
    if lengths is not None:
        tout, _ = torch.nn.utils.rnn.pad_packed_sequence(
            tout, batch_first=batch_first, total_length=5
        )
    tstate = tstate if lstm else (tstate,)
    total = (tout * torch.from_numpy(upstream)).sum()
    total = total + sum((t * torch.from_numpy(g)).sum() for t, g in zip(tstate, grads))
    total.backward()

    state = state if lstm else (state,)
    grad_state = grad_state if lstm else (grad_state,)
    assert out.dtype == grad_x.dtype == dtype
    assert_close(out, tout.detach().numpy(), rtol, atol, "output")
    for i, (mine, theirs) in enumerate(zip(state, tstate)):
        assert_close(mine, theirs.detach().numpy(), rtol, atol, f"final state {i}")
    assert_close(grad_x, tx.grad.numpy(), rtol, atol, "input grad")
    for i, (mine, theirs) in enumerate(zip(grad_state, ts)):
        assert_close(mine, theirs.grad.numpy(), rtol, atol, f"initial state {i} grad")
    torch_params = dict(twin.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(p.grad, torch_params[name].grad.numpy(), rtol, atol, f"{name}.grad")


def test_padded_steps_leave_the_state_and_give_zero_output():
    layer = nn.GRU(2, 3, batch_first=True)
    x = np.random.default_rng(0).standard_normal((2, 6, 2)).astype(np.float32)
    out, h_n = layer(x, lengths=np.array([6, 2]))
    short_out, short_h = layer(x[1:, :2])
    np.testing.assert_allclose(h_n[0, 1], short_h[0, 0], rtol=1e-6)
    assert not out[1, 2:].any()
    np.testing.assert_allclose(out[1, :2], short_out[0], rtol=1e-6)


@pytest.mark.torch
def test_pytorch_lstm_classifier_state_dict_loads_into_the_twin(torch):
    class TorchClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(6, 8, num_layers=2, batch_first=True)
            self.head = torch.nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    class Classifier(nn.Module):
        def __init__(self):
            self.lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    torch.manual_seed(0)
    twin, mine = TorchClassifier(), Classifier()
    mine.load_state_dict({k: v.numpy() for k, v in twin.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 7, 6)).astype(np.float32)
    expected = twin(torch.from_numpy(x)).detach().numpy()
    assert_close(mine(x), expected, 2e-5, 2e-6, "classifier output")


def test_bad_inputs_name_the_layer():
    layer = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"LSTM\(3, 4\): expected input \(T, N, 3\), got"):
        layer(np.zeros((2, 5, 2)))
    with pytest.raises(ValueError, match=r"LSTM\(3, 4\): expected hx as \(h, c\).*\(1, 2, 4\)"):
        layer(np.zeros((5, 2, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 5\]"):
        layer(np.zeros((5, 2, 3)), lengths=np.array([6, 1]))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(RuntimeError, match="before forward"):
        nn.GRU(3, 4).backward(np.zeros((5, 2, 4)))


def test_dropout_between_layers_only_in_training():
    layer = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    layer.eval()
    a, _ = layer(x)
    b, _ = layer(x)
    np.testing.assert_array_equal(a, b)
    layer.train()
    c, _ = layer(x)
    assert not np.allclose(a, c)
    grad_x, _ = layer.backward(np.ones_like(c))
    assert grad_x.shape == x.shape and np.isfinite(grad_x).all()


# --- Keras's spellings ---------------------------------------------------------------------


@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("cls", [nn.SimpleRNN, nn.keras.LSTM, nn.keras.GRU])
def test_keras_return_state_gradients(cls, sequences):
    layer = cls(3, return_sequences=sequences, return_state=True, seed=0)

    class Joined:  # every result of the layer in one vector
        def __call__(self, x):
            results = layer(x)
            self.shapes = [r.shape for r in results]
            return np.concatenate([r.ravel() for r in results])

        def backward(self, grad):
            sizes = np.cumsum([int(np.prod(s)) for s in self.shapes])[:-1]
            return layer.backward(
                [g.reshape(s) for g, s in zip(np.split(grad, sizes), self.shapes)]
            )

        named_parameters, to = layer.named_parameters, layer.to

    x = np.random.default_rng(0).standard_normal((2, 4, 2))
    layer(x)  # built before gradcheck casts the parameters to float64
    nn.gradcheck(Joined(), x, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_keras_lstm_initialisers():
    layer = nn.keras.LSTM(4, input_shape=(3, 5))
    assert np.array_equal(layer.bias_ih_l0.data, np.repeat([0, 1, 0, 0], 4))  # forget gate 1
    assert not layer.bias_hh_l0.data.any()
    w_hh = layer.weight_hh_l0.data.astype(np.float64)  # (4H, H): orthonormal columns
    np.testing.assert_allclose(w_hh.T @ w_hh, np.eye(4), atol=1e-6)
    assert layer.declared_input_shape == (None, 3, 5)


def test_keras_sequence_model_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (64, 6))
    y = (x[:, 0] > 10).astype(np.int64)  # the first token decides: the state must carry it
    model = nn.keras.Sequential(
        [
            nn.keras.Embedding(20, 8),
            nn.keras.GRU(16, return_sequences=True),
            nn.keras.LSTM(16),
            nn.keras.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    lines = []
    model.summary(print_fn=lines.append)
    assert "KerasLSTM" in "\n".join(lines) and "(None, 6, 16)" in "\n".join(lines)
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_keras_layers_in_a_functional_graph_and_its_file(tmp_path):
    inputs = nn.Input(shape=(5, 3))
    h = nn.SimpleRNN(4, return_sequences=True)(inputs)
    model = nn.Model(inputs, nn.Dense(2)(nn.keras.LSTM(3)(h)))
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    assert model(x).shape == (2, 2) and model.backward(np.ones((2, 2), np.float32)).shape == x.shape
    nn.save_model(model, tmp_path / "graph.npz")
    np.testing.assert_array_equal(nn.load_model(tmp_path / "graph.npz")(x), model(x))
    with pytest.raises(
        TypeError,
        match=r"LSTM\(3, 4, batch_first=True\): returns \(output, state\) tuples.*nn.keras",
    ):
        nn.LSTM(3, 4, batch_first=True)(inputs)


@pytest.mark.parametrize("cls", [nn.keras.LSTM, nn.keras.GRU, nn.SimpleRNN])
def test_keras_return_state_carried_by_a_functional_graph(cls, tmp_path):
    inputs = nn.Input(shape=(5, 3))
    sequence, *states = cls(4, return_sequences=True, return_state=True, seed=0)(inputs)
    joined = nn.Concatenate()(states) if len(states) > 1 else states[0]
    head = nn.Dense(2, seed=1)(joined)  # the states feed a layer; the sequence is an output
    model = nn.Model(inputs, [head, sequence])
    layer, dense = model.layers[0], model.layers[-1]
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    model.to(np.float64)
    got_head, got_sequence = model(x)
    want_sequence, *want_states = layer(x)
    np.testing.assert_array_equal(got_sequence, want_sequence)
    np.testing.assert_array_equal(got_head, dense(np.concatenate(want_states, axis=1)))
    assert model.output_names[1] == f"{model.layer_name(layer)}[0]"

    class Joined:  # both outputs in one vector
        def __call__(self, x):
            head, sequence = model(x)
            self.split = head.size
            return np.concatenate([head.ravel(), sequence.ravel()])

        def backward(self, grad):
            head, sequence = grad[: self.split], grad[self.split :]
            return model.backward([head.reshape(2, 2), sequence.reshape(2, 5, 4)])

        named_parameters, to = model.named_parameters, model.to

    nn.gradcheck(Joined(), x, eps=1e-6, atol=1e-7, rtol=1e-5)
    only_states = nn.Model(inputs, head)  # the sequence unused: its gradient is zero
    nn.gradcheck(only_states, x, eps=1e-6, atol=1e-7, rtol=1e-5)
    nn.save_model(model, tmp_path / "states.npz")
    loaded = nn.load_model(tmp_path / "states.npz")
    for mine, theirs in zip(loaded(x), model(x), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    lines = []
    model.summary(print_fn=lines.append)
    assert f"{model.layer_name(layer)}[1]" in "\n".join(lines)


# --- dropout between layers: the layer's seed, its dtype -------------------------------------


def test_dropout_between_layers_follows_the_layers_seed_and_dtype():
    x = np.random.default_rng(0).standard_normal((5, 3, 2)).astype(np.float32)
    first = nn.LSTM(2, 4, num_layers=3, dropout=0.5, seed=7)
    second = nn.LSTM(2, 4, num_layers=3, dropout=0.5, seed=7)
    out_first, _ = first(x)
    nn.manual_seed(99)  # the library's generator must not matter to a seeded layer
    out_second, _ = second(x)
    np.testing.assert_array_equal(out_first, out_second)  # before: the library's generator
    assert all(m.dtype == np.float32 for m in first.dropout_masks)
    assert out_first.dtype == np.float32
    again, _ = first(x)
    assert not np.array_equal(again, out_first)  # the stream goes on: a new mask each call


# --- one sigmoid, and the gate helpers of the cells ------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_accurate_and_finite_at_the_extremes(dtype):
    x = np.concatenate([np.linspace(-100, 100, 20001), [-1e4, -710, -709, -89, -88, 0, 1e4]])
    x = x.astype(dtype)
    e = np.exp(-np.abs(x.astype(np.float64)))  # the reference from exp(-|x|) <= 1, float64
    exact = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    got = nn.functional.sigmoid(x)
    assert got.dtype == dtype and np.isfinite(got).all()
    # relative error a few ulp, absolute below the smallest normal number (sigma(-88) ~ 6e-39)
    error = np.abs(got - exact) - 4 * np.finfo(dtype).eps * exact
    assert error.max() <= np.finfo(dtype).tiny, float(error.max())
    assert got[-1] == 1 and got[-7] == 0 and got[-2] == 0.5
    inplace = x.copy()
    assert nn.functional.sigmoid(inplace, out=inplace) is inplace
    np.testing.assert_array_equal(inplace, got)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gate_helpers_compute_their_formulas(dtype):
    a = np.random.default_rng(0).standard_normal((3, 8)).astype(dtype) * 4
    sigma = 1 / (1 + np.exp(-a.astype(np.float64)))
    tolerance = 8 * np.finfo(dtype).eps  # absolute: tanh as 2 sigma(2a) - 1
    np.testing.assert_allclose(nn.functional.tanh_from_sigmoid(a), np.tanh(a), atol=tolerance)
    i, f, g, o = nn.functional.lstm_gates(a.copy())
    for got, want in zip(
        (i, f, g, o), (sigma[:, :2], sigma[:, 2:4], np.tanh(a[:, 4:6]), sigma[:, 6:])
    ):
        np.testing.assert_allclose(got, want, atol=tolerance)


# --- hostile inputs (issue 22): lengths, empty sequences and batches --------------------------


@pytest.mark.parametrize(
    "lengths, error, message",
    [
        ([6, 1], ValueError, r"got 6"),  # longer than the sequence
        ([5, 0], ValueError, r"got 0"),  # PyTorch's pack_padded_sequence refuses 0 too
        ([5, -2], ValueError, r"got -2"),
        ([2.5, 1.0], TypeError, r"one integer per sequence; got dtype float64"),  # not truncated
        ([True, True], TypeError, r"got dtype bool"),
        ([5], ValueError, r"one per sequence \(2,\); got shape \(1,\)"),
        ([[5, 1]], ValueError, r"got shape \(1, 2\)"),
    ],
)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_bad_lengths_are_refused_naming_the_layer(kind, lengths, error, message):
    layer = make(kind, 3, 4)
    pattern = rf"{kind.split('-')[0]}\(3, 4\): lengths must lie in \[1, 5\] .*{message}"
    with pytest.raises(error, match=pattern):
        layer(np.zeros((5, 2, 3)), lengths=lengths)


@given(lengths=st.lists(st.integers(-3, 9), min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_any_integer_lengths_are_handled_or_refused(lengths):
    layer = nn.GRU(2, 3, seed=0)
    x = np.random.default_rng(0).standard_normal((6, len(lengths), 2))
    if all(1 <= n <= 6 for n in lengths):
        out, h_n = layer(x, lengths=lengths)
        for j, n in enumerate(lengths):  # each sequence alone, cut to its length
            alone, h_alone = layer(x[:n, j : j + 1])
            np.testing.assert_allclose(h_n[:, j], h_alone[:, 0], rtol=1e-6, atol=1e-7)
            assert not out[n:, j].any()
    else:
        with pytest.raises(ValueError, match=r"GRU\(2, 3\): lengths must lie in \[1, 6\]"):
            layer(x, lengths=lengths)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_an_empty_sequence_is_refused_as_pytorch_does(kind):
    with pytest.raises(ValueError, match=rf"{kind}\(3, 4\): expected at least one time step"):
        make(kind, 3, 4)(np.zeros((0, 2, 3)))
    with pytest.raises(ValueError, match=r"KerasLSTM.*expected at least one time step"):
        nn.keras.LSTM(4)(np.zeros((2, 0, 3)))


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_an_empty_batch_gives_empty_results_as_pytorch(kind, torch):
    layer = make(kind, 3, 4, num_layers=2, bidirectional=True)
    twin = getattr(torch.nn, kind.split("-")[0])(3, 4, num_layers=2, bidirectional=True)
    x = np.zeros((5, 0, 3), np.float32)
    out, state = layer(x, lengths=np.zeros(0, np.int64))
    t_out, t_state = twin(torch.from_numpy(x))
    assert out.shape == tuple(t_out.shape) and out.dtype == np.float32
    h_n = state[0] if kind == "LSTM" else state
    assert h_n.shape == tuple((t_state[0] if kind == "LSTM" else t_state).shape)
    grad_x, _ = layer.backward(np.zeros_like(out))
    assert grad_x.shape == x.shape
    assert not any(p.grad.any() for p in layer.parameters())


def test_initial_states_are_checked_as_inputs_are():
    layer = nn.LSTM(3, 4)
    x, h0 = np.zeros((5, 2, 3)), np.zeros((1, 2, 4))
    with pytest.raises(TypeError, match=r"LSTM\(3, 4\): expected real numbers as hx, got complex"):
        layer(x, (h0.astype(complex), h0))  # before: a ComplexWarning, the imaginary part lost
    with pytest.raises(ValueError, match=r"expected hx as \(h, c\), each of shape \(1, 2, 4\)"):
        layer(x, (h0, np.zeros((1, 3, 4))))

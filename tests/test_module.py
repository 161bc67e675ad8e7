"""The Module contract: discovery, modes, state_dict, repr, Sequential, errors."""

import numpy as np
import pytest

import numpynn as nn


class Block(nn.Module):
    def __init__(self):
        self.first = nn.Linear(3, 4)
        self.branches = [nn.Linear(4, 4), nn.Tanh()]
        self.heads = {"a": nn.Linear(4, 2)}
        self.scale = nn.Parameter(np.ones(2, dtype=np.float32), "scale")
        self.cache = np.zeros(5)  # plain arrays are not parameters


def test_parameters_are_found_in_definition_order():
    names = [name for name, _ in Block().named_parameters()]
    assert names == [
        "first.weight",
        "first.bias",
        "branches.0.weight",
        "branches.0.bias",
        "heads.a.weight",
        "heads.a.bias",
        "scale",
    ]


def test_tied_weights_are_listed_once_and_their_gradients_add_up(rng):
    first, second = nn.Linear(3, 3), nn.Linear(3, 3)
    second.weight = first.weight  # weight sharing: one Parameter in two layers
    model = nn.Sequential(first, nn.Tanh(), second)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    nn.gradcheck(model, rng.standard_normal((4, 3)))  # the shared grad is the sum of both uses


def test_one_instance_twice_in_a_sequential_is_refused():
    relu = nn.ReLU()
    with pytest.raises(ValueError, match="item 2 .* same instance as item 0"):
        nn.Sequential(relu, nn.Linear(2, 2), relu)


def test_train_eval_reach_every_submodule():
    block = Block().eval()
    assert all(not m.training for m in block.modules())
    block.train()
    assert all(m.training for m in block.modules())


def test_zero_grad_zeroes_in_place():
    layer = nn.Linear(3, 2)
    grad = layer.weight.grad
    grad += 1
    layer.zero_grad()
    assert layer.weight.grad is grad and not grad.any()


def test_gradients_add_up_over_backward_calls_until_zero_grad(rng):
    """zero_grad only marks the gradients as zero (the next backward writes them without a
    temporary): the sums must still be PyTorch's, whatever mix of writes comes after it."""
    layer = nn.Linear(3, 2).to(np.float64)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy()
    np.testing.assert_allclose(once, g.T @ x, rtol=1e-12)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once, rtol=1e-12)
    layer.zero_grad()
    layer.weight.grad += 1  # a user's += after zero_grad adds to zeros
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, once + 1, rtol=1e-12)
    layer.zero_grad()
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, once, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0), rtol=1e-12)
    layer.zero_grad()
    p = layer.weight
    p.add_grad(np.multiply, np.ones((2, 3)), 3.0)
    p.add_grad(np.multiply, np.ones((2, 3)), 4.0)
    np.testing.assert_array_equal(p.grad, np.full((2, 3), 7.0))


def test_state_dict_uses_pytorch_names_and_copies():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert state["0.weight"].shape == (4, 3)
    state["0.weight"][...] = 0
    assert model[0].weight.data.any()


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = model.state_dict()
    state = model.state_dict()
    del state["1.bias"]
    state["extra"] = np.zeros(1, dtype=np.float32)
    state["0.weight"] = np.zeros((4, 5), dtype=np.float32)
    state["1.weight"] = state["1.weight"].astype(np.float64)
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    for piece in [
        "missing: 1.bias",
        "unexpected: extra",
        "0.weight: expected (4, 3) float32, got (4, 5)",
        "1.weight: expected (2, 4) float32, got (2, 4) float64",
    ]:
        assert piece in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_non_strict_and_in_place():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    weight = model[0].weight.data
    model.load_state_dict({"0.weight": np.ones((4, 3), dtype=np.float32)}, strict=False)
    assert model[0].weight.data is weight and np.all(weight == 1)


def test_lazy_layer_needs_an_input_before_saving_or_loading():
    model = nn.Sequential(nn.Linear(None, 5), nn.ReLU(), nn.Linear(None, 3))
    with pytest.raises(RuntimeError, match=r"layers \['0', '2'\] have no parameters yet"):
        model.state_dict()
    with pytest.raises(RuntimeError, match="call the model once"):
        model.load_state_dict({})
    model(np.zeros((1, 4), dtype=np.float32))
    assert model.state_dict()["2.weight"].shape == (3, 5)
    with pytest.raises(RuntimeError, match=r"layers \['0'\] have no parameters yet"):
        nn.Sequential(nn.Dense(4, activation="relu")).state_dict()  # a layer with a child
    # a first layer of known size lets Sequential build the lazy layers after it at once
    assert nn.Sequential(nn.Linear(4, 5), nn.Linear(None, 3)).state_dict()["1.weight"].shape == (
        3,
        5,
    )


def test_nested_repr():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), nn.Dropout(0.2)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.2)\n"
        "  )\n"
        ")"
    )


def test_sequential_container_protocol():
    layers = [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and model[0] is layers[0] and list(model) == layers
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is layers[0]
    model.append(nn.Softmax())
    assert len(model) == 4
    with pytest.raises(TypeError, match="item 1 is a int"):
        nn.Sequential(nn.ReLU(), 3)


def test_sequential_backward_chains_the_layers(rng):
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    nn.gradcheck(model, rng.standard_normal((4, 3)))


def test_linear_error_message_names_the_layer():
    with pytest.raises(
        ValueError, match=r"Linear\(784 -> 128\): expected input \(N, 784\), got \(32, 28, 28\)"
    ):
        nn.Linear(784, 128)(np.zeros((32, 28, 28), dtype=np.float32))


def test_linear_casts_other_dtypes_to_its_own():
    layer = nn.Linear(2, 1)
    assert layer(np.array([[0, 1], [1, 1]])).dtype == np.float32
    assert layer(np.zeros((1, 2))).dtype == np.float32


def test_to_dtype_casts_parameters_and_gradients():
    model = nn.Sequential(nn.Linear(3, 2)).to(np.float64)
    for p in model.parameters():
        assert p.data.dtype == np.float64 and p.grad.dtype == np.float64


def test_a_long_chain_runs_forward_and_backward():
    model = nn.Sequential(*[nn.Tanh() for _ in range(5000)])
    x = np.full((2, 3), 0.5)
    out = model(x)
    assert np.all(np.isfinite(model.backward(np.ones_like(out))))


def test_module_without_forward_says_so():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty does not define forward"):
        Empty()(np.zeros(2))


def test_parameter_requires_floats():
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(np.zeros(3, dtype=np.int64), "w")


def test_linear_gradients_do_not_depend_on_the_memory_order_of_its_arrays(rng):
    """Linear keeps its weight Fortran-ordered for speed; arrays a user assigns in C order
    must give the same gradients (and the optimizer's scratch must follow either order)."""
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    results = []
    for order in ("F", "C"):
        layer = nn.Linear(3, 2).to(np.float64)
        layer.weight.data = np.asarray(np.arange(6.0).reshape(2, 3), order=order)
        layer.weight.grad = np.zeros((2, 3), order=order)
        opt = nn.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
        for _ in range(2):
            opt.zero_grad()
            layer(x)
            layer.backward(g)
            opt.step()
        np.testing.assert_allclose(layer.weight.grad, g.T @ x, rtol=1e-12)
        results.append(layer.weight.data.copy())
    np.testing.assert_array_equal(results[0], results[1])


# --- the one call path ---------------------------------------------------------------------


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_layer_of_the_library_overrides_the_call():
    # one path for every layer: build, input check (real numbers), symbolic recording
    import numpynn.keras  # noqa: F401  (every Keras spelling loaded)

    library = [c for c in _subclasses(nn.Module) if c.__module__.startswith("numpynn")]
    assert len(library) > 50
    assert [c.__qualname__ for c in library if "__call__" in vars(c)] == []


class Scaled(nn.Module):
    """forward(x, scale=1.0, *, shift=0.0): options after the input reach forward."""

    def forward(self, x, scale=1.0, *, shift=0.0):
        return x * scale + shift


def test_call_passes_positional_and_keyword_options_to_forward():
    x = np.ones(2)
    np.testing.assert_array_equal(Scaled()(x, 3.0, shift=1.0), [4.0, 4.0])
    np.testing.assert_array_equal(Scaled()([1.0, 1.0], shift=2.0), [3.0, 3.0])
    with pytest.raises(TypeError, match=r"Scaled\(\): expected real numbers"):
        Scaled()(x.astype(complex), shift=1.0)  # the slow path checks as the fast one


@pytest.mark.parametrize(
    "call",
    [
        lambda x: nn.LSTM(2, 3)(x, lengths=np.array([2])),
        lambda x: nn.MultiheadAttention(2, 1)(x, x, x, need_weights=False),
        lambda x: nn.TransformerEncoderLayer(2, 1, 4, dropout=0.0)(x, is_causal=True),
    ],
    ids=["LSTM", "MultiheadAttention", "TransformerEncoderLayer"],
)
def test_sequence_layers_check_real_numbers_through_the_common_call(call):
    with pytest.raises(TypeError, match=r"expected real numbers, got complex128"):
        call(np.ones((2, 1, 2), dtype=complex))


def test_recorded_options_are_replayed_and_saved(tmp_path):
    inputs = nn.Input(shape=(4, 6))
    layer = nn.TransformerEncoderLayer(6, 2, 8, dropout=0.0, batch_first=True, seed=0)
    model = nn.Model(inputs, layer(inputs, is_causal=True))
    x = np.random.default_rng(0).standard_normal((2, 4, 6)).astype(np.float32)
    np.testing.assert_array_equal(model(x), layer(x, is_causal=True))
    assert not np.array_equal(model(x), layer(x))  # the option reached the layer
    nn.save_model(model, tmp_path / "causal.npz")
    np.testing.assert_array_equal(nn.load_model(tmp_path / "causal.npz")(x), model(x))
    with pytest.raises(TypeError, match=r"src_mask= must be a constant .* got ndarray"):
        layer(inputs, src_mask=np.zeros((4, 4), bool))

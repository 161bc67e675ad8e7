"""Functional graphs and the Keras side of Sequential: structure, gradients, names, summary."""

import numpy as np
import pytest
from cases import residual_block, two_branches
from helpers import assert_close

import numpynn as nn


def data(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


# --- gradients through graphs ----------------------------------------------------------------


@pytest.mark.parametrize("make", [residual_block, two_branches], ids=["residual", "branches"])
def test_graphs_pass_gradcheck(make):
    nn.gradcheck(make(), data((5, 4)), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_a_tensor_used_twice_gets_the_sum_of_both_gradients():
    inputs = nn.Input(shape=(3,))
    h = nn.Dense(3, activation="tanh")(inputs)
    model = nn.Model(inputs, nn.Multiply()([h, h]))  # h used twice by one layer
    nn.gradcheck(model, data((4, 3)))
    # and used by two layers, one of them an output as well
    inputs = nn.Input(shape=(3,))
    h = nn.Dense(3)(inputs)
    model = nn.Model(inputs, [h, nn.Dense(2)(h)])
    x = data((4, 3))
    model.to(np.float64)
    out = model(x)
    g1, g2 = data(out[0].shape, 1), data(out[1].shape, 2)
    grad = model.backward([g1, g2])
    dense_1, dense_2 = model.layers
    expected = (g1 + g2 @ dense_2.weight.data) @ dense_1.weight.data
    assert_close(grad, expected, 1e-12, 1e-12, "input grad with fan-out")


def test_several_inputs_and_outputs():
    a, b = nn.Input(shape=(3,), name="a"), nn.Input(shape=(2,), name="b")
    joined = nn.Concatenate()([nn.Dense(4, activation="tanh")(a), b])
    model = nn.Model([a, b], [nn.Dense(2)(joined), nn.Dense(1, activation="sigmoid")(joined)])
    xa, xb = data((5, 3)), data((5, 2), 1)

    class Sum:  # both outputs folded into one function, so gradcheck sees every path
        def __init__(self):
            self.model = model

        def named_parameters(self):
            return model.named_parameters()

        def to(self, dtype):
            model.to(dtype)

        def __call__(self, xa, xb):
            self.out = model(xa, xb)
            return np.concatenate(self.out, axis=1)

        def backward(self, grad):
            return model.backward([grad[:, :2], grad[:, 2:]])

    nn.gradcheck(Sum(), xa, xb, wrt=(0, 1))
    assert model.input_names == ["a", "b"]
    assert [o.shape for o in model([xa, xb])] == [(5, 2), (5, 1)]


def test_functional_and_sequential_agree_exactly():
    nn.manual_seed(5)
    sequential = nn.Sequential(nn.Dense(6, activation="relu", input_dim=4), nn.Dense(3))
    inputs = nn.Input(shape=(4,))
    outputs = nn.Dense(3)(nn.Dense(6, activation="relu")(inputs))
    functional = nn.Model(inputs, outputs)
    state = sequential.state_dict()  # 0.weight -> dense_1.weight, 1.weight -> dense_2.weight
    functional.load_state_dict({f"dense_{int(k[0]) + 1}{k[1:]}": v for k, v in state.items()})
    x = data((7, 4), dtype=np.float32)
    upstream = data((7, 3), 1, np.float32)
    np.testing.assert_array_equal(functional(x), sequential(x))
    np.testing.assert_array_equal(functional.backward(upstream), sequential.backward(upstream))
    for (_, p), (_, q) in zip(functional.named_parameters(), sequential.named_parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)


def test_a_deep_chain_runs_without_recursion():
    inputs = x = nn.Input(shape=(2,))
    for _ in range(5000):
        x = nn.Tanh()(x)
    model = nn.Model(inputs, x)
    out = model(np.ones((1, 2), dtype=np.float32))
    assert model.backward(np.ones_like(out)).shape == (1, 2)


# --- building the graph ----------------------------------------------------------------------


def test_one_layer_at_two_places_is_refused():
    inputs = nn.Input(shape=(3,))
    shared = nn.Dense(3)
    with pytest.raises(ValueError, match="called at two places"):
        nn.Model(inputs, shared(shared(inputs)))


def test_weights_are_shared_through_parameters():
    inputs = nn.Input(shape=(3,))
    first, second = nn.Dense(3, input_dim=3), nn.Dense(3, input_dim=3)
    second.weight = first.weight  # tied: gradients add up in one Parameter
    model = nn.Model(inputs, second(nn.Tanh()(first(inputs))))
    assert len(model.parameters()) == 3
    nn.gradcheck(model, data((4, 3)))


def test_an_output_must_come_from_the_inputs():
    a, b = nn.Input(shape=(2,)), nn.Input(shape=(2,))
    with pytest.raises(ValueError, match="not among the model's inputs"):
        nn.Model(a, nn.Add()([a, b]))


def test_inputs_must_be_symbolic():
    with pytest.raises(TypeError, match="symbolic tensors"):
        nn.Model(np.zeros((1, 2)), nn.Input(shape=(2,)))
    with pytest.raises(TypeError, match="symbolic tensors .* and arrays"):
        nn.Add()([nn.Input(shape=(2,)), np.zeros((1, 2))])


def test_shapes_are_inferred_and_checked_at_build_time():
    inputs = nn.Input(shape=(8,))
    h = nn.Dense(5)(inputs)
    assert h.shape == (None, 5)
    with pytest.raises(
        ValueError, match=r"Linear\(3 -> 2\): expected input \(N, 3\), got \(2, 5\)"
    ):
        nn.Linear(3, 2)(h)
    model = nn.Model(inputs, nn.Dense(2)(h))
    with pytest.raises(ValueError, match=r"expected input 'input_1' of shape \(None, 8\), got"):
        model(np.zeros((2, 7)))
    with pytest.raises(ValueError, match="expected 2 inputs, got 1"):
        nn.Model([inputs, nn.Input(shape=(1,))], h)(np.zeros((2, 8)))


def test_float_inputs_come_in_as_the_weights_dtype():
    model = residual_block()
    assert model(np.zeros((2, 4), dtype=np.float64)).dtype == np.float32


def test_a_model_is_a_layer_of_another_graph():
    inner = residual_block()
    inputs = nn.Input(shape=(4,))
    outer = nn.Model(inputs, nn.Dense(2)(inner(inputs)))
    assert [n for n, _ in outer.named_parameters()][:2] == [
        "model_1.dense_1.weight",
        "model_1.dense_1.bias",
    ]
    nn.gradcheck(outer, data((3, 4)))


def test_a_model_with_several_outputs_is_a_layer_of_another_graph(tmp_path):
    inputs = nn.Input(shape=(4,))
    hidden = nn.Dense(3, activation="tanh")(inputs)
    inner = nn.Model(inputs, [hidden, nn.Dense(2)(hidden)])  # refused in a graph before
    outer_inputs = nn.Input(shape=(4,))
    first, second = inner(outer_inputs)
    outer = nn.Model(outer_inputs, nn.Concatenate()([nn.Dense(2)(first), second]))
    assert outer.output_shape((None, 4)) == (None, 4)
    x = data((3, 4))
    nn.gradcheck(outer, x)
    nn.save_model(outer, tmp_path / "nested.npz")
    np.testing.assert_array_equal(nn.load_model(tmp_path / "nested.npz")(x), outer(x))


# --- names -----------------------------------------------------------------------------------


def test_layers_get_unique_readable_names():
    inputs = nn.Input(shape=(4,))
    x = nn.Dense(4, activation="relu", name="hidden")(inputs)
    x = nn.LeakyReLU()(nn.Dense(4)(x))
    model = nn.Model(inputs, nn.Dense(2)(nn.ReLU()(x)))
    assert [layer.name for layer in model.layers] == [
        "hidden",
        "dense_1",
        "leaky_relu_1",
        "relu_1",
        "dense_2",
    ]
    assert model.get_layer("leaky_relu_1") is model.layers[2]
    assert "hidden.weight" in model.state_dict()
    with pytest.raises(
        ValueError, match="no layer named 'dense_9'; the layers are hidden, dense_1"
    ):
        model.get_layer("dense_9")


def test_names_are_per_model_so_a_rebuilt_model_has_the_same_keys():
    assert residual_block().state_dict().keys() == residual_block().state_dict().keys()


def test_two_layers_with_one_name_are_refused():
    inputs = nn.Input(shape=(2,))
    x = nn.Dense(2, name="same")(inputs)
    with pytest.raises(ValueError, match="named 'same'"):
        nn.Model(inputs, nn.Dense(2, name="same")(x))


def test_a_layer_keeps_the_name_its_first_model_gave_it():
    inputs = nn.Input(shape=(2,))
    code = nn.Dense(2)(inputs)
    encoder = nn.Model(inputs, code)
    decoder_out = nn.Dense(2)(code)
    whole = nn.Model(inputs, decoder_out)
    assert encoder.layers[0].name == "dense_1"
    assert [layer.name for layer in whole.layers] == ["dense_1", "dense_2"]


# --- Sequential, Keras style -----------------------------------------------------------------


def test_sequential_builds_from_an_input_or_input_shape():
    model = nn.Sequential([nn.Input(shape=(4,)), nn.Dense(8, activation="relu"), nn.Dense(3)])
    assert model.built and model.input_shape == (None, 4)
    model.add(nn.Dense(2))
    assert model.built and model.output_shape((None, 4)) == (None, 2)
    assert nn.Sequential(nn.Dense(3, input_shape=(5,)), nn.Dense(1)).built


def test_sequential_builds_lazily_on_the_first_batch():
    model = nn.Sequential(nn.Dense(8), nn.ReLU(), nn.Dense(2))
    assert not model.built
    assert model(np.zeros((3, 5), dtype=np.float32)).shape == (3, 2)
    assert model.built and model[0].in_features == 5


def test_sequential_inside_a_functional_graph():
    block = nn.Sequential(nn.Dense(4, activation="tanh"), nn.Dense(4))
    inputs = nn.Input(shape=(4,))
    model = nn.Model(inputs, nn.Add()([inputs, block(inputs)]))
    assert block.built
    nn.gradcheck(model, data((2, 4)))


# --- summary ---------------------------------------------------------------------------------


def test_summary_totals_are_the_parameter_sizes():
    model = two_branches()
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    total = sum(p.size for p in model.parameters())
    assert total == 3 * 4 + 3 + 2 * 4 + 2 + 2 * 5 + 2
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total:,}" in text
    assert "Non-trainable params: 0" in text
    rows = {line.split()[0]: line for line in text.splitlines() if "(" in line}
    assert rows["dense_3"].split()[4:] == ["12", "concatenate_1"]
    assert "(None, 5)" in rows["concatenate_1"]
    assert "input_1 (Input)" in text


def test_sequential_summary_rows():
    model = nn.Sequential(nn.Dense(8, input_dim=4), nn.ReLU(), nn.Dense(3))
    text = model.summary_text()
    assert text.startswith('Model: "sequential"')
    assert [line.split()[:2] for line in text.splitlines() if "_1 (" in line or "_2 (" in line] == [
        ["dense_1", "(Dense)"],
        ["relu_1", "(ReLU)"],
        ["dense_2", "(Dense)"],
    ]
    assert "Total params: 67 (268 B)" in text


def test_repr_and_describe():
    model = residual_block()
    assert repr(model).startswith("Model(inputs=['input_1'], outputs=['add_1']")
    assert "(dense_1): Dense(units=5, activation='relu', in=4)" in repr(model)
    assert model.describe() == "Model(input_1 -> add_1)"


def test_sequential_backward_params_skips_what_nothing_needs():
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2))
    x = data((3, 2, 3))
    model.to(np.float64)
    model(x)
    upstream = data((3, 2), 1)
    model.backward(upstream)
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x)
    calls = []
    model[1].backward = lambda grad: calls.append("input grad")  # must not be called
    model.backward_params(upstream)
    assert calls == []
    for p, e in zip(model.parameters(), expected):
        np.testing.assert_array_equal(p.grad, e)


def test_sequential_grown_after_use_builds_and_trains_its_new_layers():
    """Sequential remembers that it is built and where its first trainable layer is, for
    speed; a lazy layer appended after a call is still built by the next one and trained."""
    model = nn.Sequential(nn.Flatten())
    x = data((3, 2, 3))
    model(x)
    model.backward_params(np.ones((3, 6)))  # nothing to train yet
    model.append(nn.Linear(None, 2))  # lazy: built by the next call
    out = model(x)
    assert out.shape == (3, 2) and model.built
    model.zero_grad()
    model.backward_params(np.ones_like(out))
    np.testing.assert_allclose(model[1].weight.grad, np.ones((3, 2)).T @ x.reshape(3, 6), rtol=1e-6)


def test_layer_names_are_given_when_layers_join_and_reading_changes_nothing():
    first, second = nn.Dense(4, input_dim=2), nn.Dense(2)
    model = nn.Sequential(first)
    assert first.name == "dense_1"
    model.append(second)
    assert second.name == "dense_2"
    before = [layer.name for layer in model.layers]
    assert [layer.name for layer in model.layers] == before  # reading is free of effects
    named = nn.Dense(2, name="dense_1")  # the user's name wins over a generated one
    other = nn.Sequential(nn.Dense(3, input_dim=2), named)
    assert [other.layer_name(layer) for layer in other.layers] == ["dense_2", "dense_1"]
    config = model.get_config()
    assert [entry["name"] for entry in config["layers"]] == ["dense_1", "dense_2"]
    with pytest.raises(ValueError, match="two layers or inputs are named 'x'"):
        nn.Sequential(nn.Dense(2, input_dim=2, name="x"), nn.Dense(2, name="x"))


def test_a_copied_or_pickled_model_keeps_its_names_and_shortcut():
    import copy
    import pickle

    inputs = nn.Input(shape=(4,))
    p = nn.Dense(3, activation="softmax")(nn.BatchNorm1d(4)(inputs))  # BatchNorm in a graph
    for model in (nn.Model(inputs, p), nn.Sequential(nn.Linear(2, 2), nn.Softmax())):
        for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
            assert twin.output_names == model.output_names
            assert [twin.layer_name(layer) for layer in twin.layers] == [
                model.layer_name(layer) for layer in model.layers
            ]
            assert nn.objective.output_activation(twin) is not None

"""Diagnostics: the statistics against a direct NumPy computation on the same batch, each
diagnosis found where its problem is planted (on the bundled digits), none on healthy runs."""

import copy
import math

import numpy as np
import pytest
from helpers import peak_allocation

import numpynn as nn
from numpynn import diagnostics

DIGITS = nn.data.load_digits()


def fit(layers, optimizer="adam", epochs=5, x=DIGITS.x, y=DIGITS.y, prepare=None, **kwargs):
    """Train a Sequential of ``layers`` with a Diagnostics callback; return (model, history)."""
    nn.manual_seed(0)
    model = nn.Sequential(*layers)
    if prepare is not None:
        model(x[:1])
        prepare(model)
    optimizer = optimizer(model.parameters()) if callable(optimizer) else optimizer
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    callback = nn.callbacks.Diagnostics()
    history = model.fit(x, y, epochs=epochs, verbose=0, seed=0, callbacks=[callback], **kwargs)
    return model, history


def problems(history) -> dict[str, list]:
    found = {}
    for finding in history.diagnostics["diagnoses"]:
        found.setdefault(finding["problem"], []).append(finding["layer"])
    return found


def relu_mlp():
    return [
        nn.Dense(64, activation="relu", input_dim=64),
        nn.Dense(64, activation="relu"),
        nn.Dense(10, activation="softmax"),
    ]


# --- the statistics ---------------------------------------------------------------------------


def one_full_batch_step(layers, x, y, optimizer):
    """fit for one epoch of one batch (the sampled one): the model before and after, and
    the results."""
    nn.manual_seed(0)
    model = nn.Sequential(*layers)
    model(x[:1])
    before = copy.deepcopy(model)
    model.compile(optimizer=optimizer(model.parameters()), loss="sparse_categorical_crossentropy")
    history = model.fit(
        x, y, batch_size=len(x), epochs=1, verbose=0, callbacks=[nn.callbacks.Diagnostics()]
    )
    return before, model, history.diagnostics["layers"]


def norm(arrays):
    return math.sqrt(sum(float(np.sum(np.asarray(a, np.float64) ** 2)) for a in arrays))


def test_statistics_of_a_dense_layer_match_numpy():
    x, y = DIGITS.x[:200], DIGITS.y[:200]
    layers = [nn.Dense(32, activation="relu", input_dim=64), nn.Dense(10, activation="softmax")]
    before, after, stats = one_full_batch_step(
        layers, x, y, lambda p: nn.optim.SGD(p, lr=0.5, momentum=0.9)
    )
    first, w0 = after[0], before[0]
    h = np.maximum(x.astype(np.float64) @ w0.weight.data.T + w0.bias.data, 0)
    grads = [first.weight.grad, first.bias.grad]  # the sampled step's, kept until the next
    old = [w0.weight.data, w0.bias.data]
    new = [first.weight.data, first.bias.data]
    expected = {
        "grad_norm": norm(grads),
        "weight_norm": norm(new),
        "update_ratio": norm([a - b for a, b in zip(new, old)]) / norm(old),
        "activation_mean": h.mean(),
        "activation_std": h.std(),
        "dead_fraction": float(np.mean(~(h > 0).any(axis=0))),
    }
    layer = stats[0]
    assert layer["activation"] == "ReLU" and layer["parameters"] == 64 * 32 + 32
    for key, value in expected.items():
        # float32 sums in the callback against float64 here
        assert layer[key] == [pytest.approx(value, rel=1e-4, abs=1e-7)], key
    assert layer["saturated_fraction"] == [None] and layer["grad_through_time"] == [None]
    assert expected["dead_fraction"] > 0  # the comparison says something about dead units


def test_dead_units_of_a_convolution_are_counted_per_channel():
    x, y = DIGITS.x[:100].reshape(-1, 1, 8, 8), DIGITS.y[:100]
    layers = [nn.Conv2D(6, 3, activation="relu", input_shape=(1, 8, 8)), nn.Flatten()]
    layers.append(nn.Dense(10, activation="softmax"))

    def prepare(model):
        model[0].bias.data[:3] = -50.0  # three of six channels never fire

    nn.manual_seed(0)
    model = nn.Sequential(*layers)
    model(x[:1])
    prepare(model)
    conv = copy.deepcopy(model[0])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(
        x, y, batch_size=100, epochs=1, verbose=0, callbacks=[nn.callbacks.Diagnostics()]
    )
    out = conv(x)  # (N, 6, 6, 6)
    expected = float(np.mean(~(out > 0).any(axis=(0, 2, 3))))
    assert expected == 0.5
    assert history.diagnostics["layers"][0]["dead_fraction"] == [expected]


def test_saturated_fraction_matches_numpy():
    x, y = DIGITS.x[:300] * 20, DIGITS.y[:300]
    layers = [nn.Dense(16, activation="tanh", input_dim=64), nn.Dense(10, activation="softmax")]
    before, _, stats = one_full_batch_step(layers, x, y, lambda p: nn.optim.SGD(p, lr=0.01))
    h = np.tanh(x.astype(np.float64) @ before[0].weight.data.T + before[0].bias.data)
    near = (np.abs(h) > 0.98).mean(axis=0)  # within 1% of the range (2) from a bound
    expected = float(np.mean(near >= 0.9))
    assert 0 < expected < 1  # some units saturated, some not: the count is tested
    assert stats[0]["saturated_fraction"] == [pytest.approx(expected)]
    assert stats[0]["dead_fraction"] == [None]


def test_gradient_through_time_matches_numpy_backpropagation():
    x, y = DIGITS.x[:50].reshape(-1, 8, 8), DIGITS.y[:50]
    layers = [nn.SimpleRNN(5, input_shape=(8, 8)), nn.Dense(10, activation="softmax")]
    before, _, stats = one_full_batch_step(layers, x, y, lambda p: nn.optim.SGD(p, lr=0.01))
    rnn = before[0]
    w_ih, w_hh = rnn.weight_ih_l0.data.astype(np.float64), rnn.weight_hh_l0.data
    bias = rnn.bias_ih_l0.data + rnn.bias_hh_l0.data
    hs, h = [], np.zeros((len(x), 5))
    for t in range(8):
        h = np.tanh(x[:, t] @ w_ih.T + h @ w_hh.T + bias)
        hs.append(h)
    d_h, norms = np.ones((len(x), 5)), []
    for t in reversed(range(8)):  # a gradient of ones at the last output, carried back
        d_a = d_h * (1 - hs[t] ** 2)
        norms.append(np.linalg.norm(d_a))
        d_h = d_a @ w_hh
    expected = np.array(norms[::-1]) / norms[0]
    # float32 in the layer, float64 here
    np.testing.assert_allclose(stats[0]["grad_through_time"][0], expected, rtol=1e-4)


def test_diagnostics_change_nothing_in_training():
    runs = []
    for callbacks in ([], [nn.callbacks.Diagnostics(batches=8)]):
        nn.manual_seed(0)
        model = nn.Sequential(*relu_mlp()[:1], nn.Dropout(0.3), nn.Dense(10, activation="softmax"))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(DIGITS.x[:300], DIGITS.y[:300], epochs=2, verbose=0, callbacks=callbacks)
        runs.append(model.state_dict())
        assert model.kept_outputs is None  # the container keeps nothing once fit is done
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


class WatchedDiagnostics(nn.callbacks.Diagnostics):
    """Diagnostics that note the memory order of the copy taken before a sampled step, and
    the memory allocated while the step's statistics are computed."""

    def on_train_batch_begin(self, batch, logs=None):
        super().on_train_batch_begin(batch, logs)
        if self.before is not None:
            pairs = zip(self.records, self.before)
            params = [(p, old) for r, olds in pairs for p, old in zip(r.parameters, olds)]
            self.strides = [(p.data.strides, old.strides) for p, old in params]

    def on_train_batch_end(self, batch, logs=None):
        self.peak = peak_allocation(
            lambda: super(WatchedDiagnostics, self).on_train_batch_end(batch, logs)
        )


def test_a_sampled_step_neither_transposes_nor_copies_the_weights():
    # Linear keeps its weight Fortran-ordered: a C-order copy of it, or np.vdot (which
    # flattens in C order), transposes it on every sampled step, 10% of an MLP epoch
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    model.compile(
        optimizer=nn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
        loss=nn.CrossEntropyLoss(),
    )
    x = np.random.default_rng(0).standard_normal((64, 512)).astype(np.float32)
    callback = WatchedDiagnostics(batches=1)
    model.fit(x, np.arange(64) % 10, batch_size=64, verbose=0, callbacks=[callback])
    assert [here for here, copy in callback.strides] == [copy for here, copy in callback.strides]
    assert callback.peak < model[0].weight.data.nbytes / 4  # no copy of the weight
    assert callback.results["layers"][0]["update_ratio"][0] > 0


def test_a_functional_model_and_a_plain_module_are_read_too():
    inputs = nn.Input(shape=(64,))
    hidden = nn.Dense(32)(inputs)
    outputs = nn.Dense(10, activation="softmax")(nn.Activation("relu")(hidden))
    model = nn.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(
        DIGITS.x, DIGITS.y, epochs=1, verbose=0, callbacks=[nn.callbacks.Diagnostics()]
    )
    first = history.diagnostics["layers"][0]
    assert first["activation"] == "ReLU" and first["dead_fraction"][0] is not None

    class Net(nn.Module):  # no container: parameters and gradients, no outputs
        def __init__(self):
            self.hidden, self.out = nn.Linear(64, 16), nn.Linear(16, 10)

        def forward(self, x):
            return self.out(self.hidden(x))

        def backward(self, grad):
            return self.hidden.backward(self.out.backward(grad))

    net = Net()
    history = nn.fit(
        net,
        DIGITS.x,
        DIGITS.y,
        loss=nn.CrossEntropyLoss(),
        optimizer="sgd",
        verbose=0,
        callbacks=[nn.callbacks.Diagnostics()],
    )
    layers = history.diagnostics["layers"]
    assert [layer["name"] for layer in layers] == ["hidden", "out"]
    assert layers[0]["grad_norm"][0] > 0 and layers[0]["activation_mean"] == [None]


def test_bad_batches_is_a_clear_error():
    with pytest.raises(ValueError, match="batches must be a positive integer, got 0"):
        nn.callbacks.Diagnostics(batches=0)


# --- planted problems ---------------------------------------------------------------------------


def test_healthy_runs_report_nothing():
    for optimizer in ("adam", "rmsprop", lambda p: nn.optim.SGD(p, lr=0.05, momentum=0.9)):
        _, history = fit(relu_mlp(), optimizer, validation_split=0.2)
        assert history.diagnostics["diagnoses"] == [], history.diagnostics["diagnoses"]


def test_a_learning_rate_100_times_too_high():
    _, history = fit(relu_mlp(), lambda p: nn.optim.Adam(p, lr=0.1))
    assert {"dense_1", "dense_2", "dense_3"} <= set(problems(history)["learning_rate_too_high"])


def test_a_learning_rate_far_too_low_and_a_flat_loss():
    _, history = fit(relu_mlp(), lambda p: nn.optim.SGD(p, lr=1e-5))
    found = problems(history)
    assert found["learning_rate_too_low"] == ["dense_1", "dense_2", "dense_3"]
    assert "loss_plateau" in found


def test_a_rising_loss():
    _, history = fit(relu_mlp(), lambda p: nn.optim.SGD(p, lr=0.5, momentum=0.99))
    assert history.history["loss"][-1] > history.history["loss"][0]
    assert "loss_rising" in problems(history)


def test_a_deep_sigmoid_stack_has_vanishing_gradients():
    layers = [nn.Dense(32, activation="sigmoid", input_dim=64)]
    layers += [nn.Dense(32, activation="sigmoid") for _ in range(7)]
    _, history = fit([*layers, nn.Dense(10, activation="softmax")], epochs=2)
    assert problems(history)["vanishing_gradients"][:2] == ["dense_1", "dense_2"]
    assert "dense_8" not in problems(history)["vanishing_gradients"]  # next to the output


def test_recurrent_gradients_explode_or_vanish_through_time():
    sequences = DIGITS.x.reshape(-1, 64, 1)  # 64 steps of one pixel
    for activation, scale, problem in (("relu", 2.0, "exploding"), ("tanh", 0.3, "vanishing")):

        def prepare(model, scale=scale):
            model[0].weight_hh_l0.data *= scale

        layers = [nn.SimpleRNN(16, activation=activation, input_shape=(64, 1))]
        _, history = fit(
            [*layers, nn.Dense(10, activation="softmax")],
            epochs=1,
            x=sequences,
            prepare=prepare,
        )
        rnn = history.diagnostics["layers"][0]["name"]
        assert rnn in problems(history)[f"{problem}_gradients"], activation


def test_relus_killed_by_a_large_negative_bias():
    def prepare(model):
        model[0].bias.data[:] = -5.0

    _, history = fit(relu_mlp(), prepare=prepare)
    assert "dense_1" in problems(history)["dead_units"]
    assert history.diagnostics["layers"][0]["dead_fraction"][-1] == 1.0


def test_saturated_tanh_units():
    layers = [nn.Dense(64, activation="tanh", input_dim=64), nn.Dense(10, activation="softmax")]
    _, history = fit(layers, x=DIGITS.x * 50)  # pixels unscaled, and more
    assert problems(history)["saturation"] == ["dense_1"]


def test_an_overfitting_model():
    layers = [nn.Dense(128, activation="relu", input_dim=64), nn.Dense(128, activation="relu")]
    _, history = fit(  # 100 training samples, a big network, and 12 epochs
        [*layers, nn.Dense(10, activation="softmax")],
        lambda p: nn.optim.Adam(p, lr=0.01),
        epochs=12,
        x=DIGITS.x[:100],
        y=DIGITS.y[:100],
        batch_size=16,
        validation_data=(DIGITS.x[1000:1400], DIGITS.y[1000:1400]),
    )
    assert "overfitting" in problems(history)


# --- the diagnoses as functions ----------------------------------------------------------------


def layer(name="dense", **values):
    stats = {key: [None] for key in diagnostics.STATISTICS}
    stats.update({key: list(v) for key, v in values.items()})
    return {"name": name, "type": "Dense", "activation": "ReLU", "parameters": 100, **stats}


def test_each_diagnosis_reads_only_its_numbers():
    assert diagnostics.dead_units([layer(dead_fraction=[0.9, 0.5])]) == []  # the last epoch
    assert diagnostics.dead_units([layer(dead_fraction=[0.1, 0.51])])[0]["layer"] == "dense"
    assert diagnostics.saturation([layer(saturated_fraction=[0.5])]) == []
    flow = [layer("a", grad_norm=[1e-4]), layer("b", grad_norm=[1.0])]
    assert diagnostics.gradient_flow(flow)[0]["problem"] == "vanishing_gradients"
    flow = [layer("a", grad_norm=[math.inf]), layer("b", grad_norm=[1.0])]
    assert diagnostics.gradient_flow(flow)[0]["problem"] == "exploding_gradients"
    flow = [layer("a", grad_norm=[0.0]), layer("b", grad_norm=[1.0])]  # dead, not vanishing
    assert diagnostics.gradient_flow(flow) == []
    ratios = [layer(update_ratio=[0.2, 1e-3], grad_norm=[1, 1])]
    assert diagnostics.update_ratio(ratios)[0]["problem"] == "learning_rate_too_high"
    assert diagnostics.update_ratio([layer(update_ratio=[0.0], grad_norm=[0.0])]) == []
    assert diagnostics.loss_trend({"loss": [1.0, 0.995, 1.0]})[0]["problem"] == "loss_plateau"
    assert diagnostics.loss_trend({"loss": [1.0, 0.98, 1.5]}) == []  # it did learn at first
    assert diagnostics.loss_trend({"loss": [1.0, math.nan]})[0]["problem"] == "loss_rising"
    falling = {"loss": [1.0, 0.5, 0.4, 0.3], "val_loss": [1.0, 0.8, 0.95, 0.9]}
    assert diagnostics.overfitting(falling)[0]["problem"] == "overfitting"
    both_rise = {"loss": [1.0, 0.5, 0.6, 0.7], "val_loss": [1.0, 0.8, 0.95, 0.9]}
    assert diagnostics.overfitting(both_rise) == []
    one_bump = {"loss": [1.0, 0.5, 0.4, 0.3], "val_loss": [1.0, 0.8, 0.7, 0.9]}
    assert diagnostics.overfitting(one_bump) == []


def test_verbose_fit_prints_the_diagnoses(capsys):
    def prepare(model):
        model[0].bias.data[:] = -5.0

    nn.manual_seed(0)
    model = nn.Sequential(*relu_mlp())
    model(DIGITS.x[:1])
    prepare(model)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(DIGITS.x, DIGITS.y, epochs=2, verbose=2, callbacks=[nn.callbacks.Diagnostics()])
    out = capsys.readouterr().out
    assert "Diagnostics: " in out and "100% of dense_1's ReLU units are dead" in out


def test_a_step_stopped_by_a_nan_loss_is_not_recorded():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Dense(8, input_dim=64), nn.Dense(10))
    model.compile(optimizer=nn.optim.SGD(model.parameters(), lr=1e12), loss="mse")
    x, y = DIGITS.x[:64], np.eye(10, dtype=np.float32)[DIGITS.y[:64]]
    callbacks = [nn.callbacks.Diagnostics(), nn.callbacks.TerminateOnNaN()]
    with np.errstate(over="ignore", invalid="ignore"):  # the loss is meant to blow up
        history = model.fit(x, y, batch_size=64, epochs=5, verbose=0, callbacks=callbacks)
    # one step per epoch: the first is taken, the second's loss is not finite and fit stops
    assert history.epoch == [0, 1] and model.kept_outputs is None
    ratios = history.diagnostics["layers"][0]["update_ratio"]
    assert ratios[0] > 0 and ratios[1] is None  # not 0: that step never happened

"""fit / evaluate / predict: the loop is the hand-written loop, weights mean what Keras says,
the softmax + cross-entropy pair is exact, one sample goes without its batch axis, and
divergence stops training (progress output is tests/test_progbar.py's)."""

import math
import re

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn
from numpynn import objective


def blobs(n=240, classes=3, features=4, seed=0):
    """A three-class tabular problem: Gaussian blobs around random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, features))
    y = rng.integers(0, classes, n)
    return (centres[y] + rng.normal(0, 1, (n, features))).astype(np.float32), y


def mlp(seed=0, dropout=0.2, head=None):
    """Logits out by default; head="softmax" for the Keras habit."""
    nn.manual_seed(seed)
    return nn.Sequential(
        nn.Dense(16, activation="relu", input_dim=4),
        nn.Dropout(dropout),
        nn.Dense(3, activation=head),
    )


# --- the loop --------------------------------------------------------------------------------


def test_fit_is_the_hand_written_loop_bit_for_bit():
    x, y = blobs()
    model = mlp()
    model.compile(
        optimizer=nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), loss=nn.CrossEntropyLoss()
    )
    nn.manual_seed(7)  # the shuffling and the dropout masks come from the library's generator
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)

    twin = mlp()
    opt, loss_fn = nn.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss()
    nn.manual_seed(7)
    rng, losses = nn.get_rng(), []
    for _ in range(3):
        twin.train()
        order, total = rng.permutation(len(x)), 0.0
        for start in range(0, len(x), 32):
            idx = order[start : start + 32]
            total += loss_fn(twin(x[idx]), y[idx]) * len(idx)
            opt.zero_grad()
            twin.backward(loss_fn.backward())
            opt.step()
        losses.append(total / len(x))
    for (name, a), b in zip(model.state_dict().items(), twin.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-12)
    assert history.epoch == [0, 1, 2]


def test_fit_over_a_dataloader_is_the_loop_over_it():
    x, y = blobs()
    model, twin = mlp(dropout=0.0), mlp(dropout=0.0)
    opt = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = nn.data.DataLoader(x, y, batch_size=24, shuffle=True, seed=3)
    history = nn.fit(
        model,
        loader,
        loss=nn.CrossEntropyLoss(),
        optimizer=opt,
        epochs=2,
        verbose=0,
        validation_data=(x[:50], y[:50]),
    )
    opt2, loss_fn = nn.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss()
    same_batches = nn.data.DataLoader(x, y, batch_size=24, shuffle=True, seed=3)
    for _ in range(2):  # each pass over the loader draws a new order from its generator
        for xb, yb in same_batches:
            loss_fn(twin(xb), yb)
            opt2.zero_grad()
            twin.backward(loss_fn.backward())
            opt2.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert set(history.history) == {"loss", "val_loss"}
    keras_style = mlp(head="softmax")
    keras_style.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert len(keras_style.fit(loader, epochs=2, verbose=0).history["accuracy"]) == 2
    with pytest.raises(
        ValueError, match="a DataLoader gives both inputs and targets.*y cannot be given"
    ):
        nn.fit(model, loader, y, loss=nn.CrossEntropyLoss(), optimizer=opt, verbose=0)
    with pytest.raises(ValueError, match="its y cannot be missing"):
        nn.fit(model, nn.data.DataLoader(x), loss=nn.CrossEntropyLoss(), optimizer=opt)


def test_nn_fit_trains_any_module_with_named_choices():
    x, y = blobs()
    model = nn.Linear(4, 3)
    history = nn.fit(
        model,
        x,
        y,
        loss=nn.CrossEntropyLoss(),
        optimizer="adam",
        epochs=2,
        metrics=["accuracy"],
        verbose=0,
    )
    assert set(history.history) == {"loss", "accuracy"}
    assert history.history["loss"][1] < history.history["loss"][0]


def test_train_on_batch_is_one_step():
    x, y = blobs(32)
    model, twin = mlp(dropout=0.0), mlp(dropout=0.0)
    model.compile(
        optimizer=nn.optim.SGD(model.parameters(), lr=0.1),
        loss=nn.CrossEntropyLoss(),
        metrics=["accuracy"],
    )
    loss, accuracy = model.train_on_batch(x, y)
    opt, loss_fn = nn.optim.SGD(twin.parameters(), lr=0.1), nn.CrossEntropyLoss()
    pred = twin(x)
    assert loss == loss_fn(pred, y)
    assert accuracy == np.mean(pred.argmax(1) == y)
    twin.backward(loss_fn.backward())
    opt.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_a_second_fit_continues_with_the_same_optimizer():
    x, y = blobs()
    model = mlp(head="softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    optimizer = model.optimizer
    steps = optimizer.state[model.parameters()[0]]["step"]
    model.fit(x, y, epochs=1, verbose=0)
    assert model.optimizer is optimizer
    assert optimizer.state[model.parameters()[0]]["step"] == 2 * steps


def test_float32_training_creates_only_float32():
    x, y = blobs()
    model = mlp(head="softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x.astype(np.float64), y, epochs=1, verbose=0, sample_weight=np.ones(len(x)))
    for p in model.parameters():
        assert p.data.dtype == p.grad.dtype == np.float32
        for value in model.optimizer.state[p].values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32


def test_initial_epoch_and_history():
    x, y = blobs()
    model = mlp(head="softmax")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3] and len(history.history["acc"]) == 2
    assert model.history is history


# --- validation, evaluation, prediction ------------------------------------------------------


def test_validation_split_holds_out_the_last_samples():
    x, y = blobs(50)
    model = mlp(dropout=0.0, head="softmax")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seen = []
    record = nn.callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append(record.params))
    history = model.fit(x, y, epochs=1, validation_split=0.3, verbose=0, callbacks=[record])
    assert seen[0]["samples"] == 35
    loss, accuracy = model.evaluate(x[35:], y[35:], verbose=0)
    assert history.history["val_loss"] == [loss] and history.history["val_accuracy"] == [accuracy]


def test_validation_data_and_its_weights():
    x, y = blobs(60)
    model = mlp(dropout=0.0, head="softmax")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    w = np.linspace(0, 2, 20)
    history = model.fit(x[:40], y[:40], validation_data=(x[40:], y[40:], w), verbose=0)
    expected = model.evaluate(x[40:], y[40:], sample_weight=w, verbose=0)
    assert history.history["val_loss"] == [expected]


def test_evaluate_returns_a_float_a_list_or_a_dict():
    x, y = blobs(40)
    model = mlp(head="softmax")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert len(model.evaluate(x, y, verbose=0)) == 2
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "accuracy"}
    assert model.test_on_batch(x, y) == model.evaluate(x, y, batch_size=len(x), verbose=0)


def test_predict_runs_in_eval_mode_in_batches_and_restores_the_mode():
    x, _ = blobs(50)
    model = mlp(dropout=0.5)
    model.train()
    full = model.predict(x, batch_size=7)
    assert model.training and model[1].training
    model.eval()
    np.testing.assert_allclose(full, model(x), rtol=1e-5, atol=1e-6)  # BLAS order by batch
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x, batch_size=50))


# --- one sample without its batch axis -------------------------------------------------------


def dense_sequential():
    return nn.Sequential(nn.Input(shape=(64,)), nn.Dense(16, activation="relu"), nn.Dense(10))


def dense_functional():
    inputs = nn.Input(shape=(64,))
    return nn.Model(inputs, nn.Dense(10)(nn.Dense(16, activation="relu")(inputs)))


def conv_sequential():
    return nn.Sequential(
        nn.Input(shape=(2, 8, 8)), nn.Conv2D(4, 3), nn.ReLU(), nn.Flatten(), nn.Dense(10)
    )


def sequence_sequential():  # (T, F) samples of any length T
    return nn.Sequential(nn.Input(shape=(None, 3)), nn.keras.LSTM(5), nn.Dense(10))


ONE_SAMPLE_MODELS = {
    "dense": (dense_sequential, (64,)),
    "functional": (dense_functional, (64,)),
    "conv": (conv_sequential, (2, 8, 8)),
    "sequence": (sequence_sequential, (7, 3)),
}


@pytest.mark.parametrize("name", ONE_SAMPLE_MODELS)
def test_one_sample_without_its_batch_axis_is_one_sample_everywhere(name):
    make, sample = ONE_SAMPLE_MODELS[name]
    nn.manual_seed(0)
    model = make()
    model.compile("sgd", nn.CrossEntropyLoss(), metrics=["accuracy"])
    x = np.random.default_rng(1).normal(size=(3, *sample)).astype(np.float32)
    y = np.array([4, 1, 7])
    expected = model(x)[0]  # the first sample of a batch
    for out in (model(x[0]), model.predict(x[0]), model.predict_on_batch(x[0])):
        assert out.shape == (10,)
        assert_close(out, expected, 1e-6, 1e-6, "one sample")  # float32, another batch size
    assert model.evaluate(x[0], y[0], verbose=0) == pytest.approx(
        model.evaluate(x[:1], y[:1], verbose=0), rel=1e-6
    )
    assert model.test_on_batch(x[0], y[0])[0] == pytest.approx(model.test_on_batch(x[:1], y[:1])[0])
    # backward of an unbatched output: unbatched gradients, those of the batch of one
    upstream = np.random.default_rng(2).normal(size=10).astype(np.float32)
    model.eval()
    model(x[0])
    grad = model.backward(upstream)
    model(x[:1])
    assert grad.shape == sample
    assert_close(grad, model.backward(upstream[None])[0], 1e-6, 1e-6, "input grad")
    # one training step on one sample is the step on the batch of one
    nn.manual_seed(0)
    twin = make()
    twin(x[:1])  # builds a lazy layer (the LSTM of T steps of any length)
    twin.compile("sgd", nn.CrossEntropyLoss(), metrics=["accuracy"])
    model.load_state_dict(twin.state_dict())
    model.train_on_batch(x[0], y[0])
    twin.train_on_batch(x[:1], y[:1])
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value, err_msg=key)


@pytest.mark.parametrize("make", [dense_sequential, dense_functional])
@pytest.mark.parametrize("given", [(100,), (100, 5), (3, 4, 63)])
def test_every_shape_refusal_names_the_shape_given(make, given):
    model = make()
    for call in (model, model.predict):
        with pytest.raises(ValueError) as error:
            call(np.zeros(given, np.float32))
        assert str(given) in str(error.value), str(error.value)
    model.compile("sgd", nn.CrossEntropyLoss())
    with pytest.raises(ValueError) as error:
        model.evaluate(np.zeros(given, np.float32), np.zeros(given[:1], int), verbose=0)
    assert str(given) in str(error.value), str(error.value)


def test_a_refusal_says_how_the_given_array_was_cut():
    model = dense_sequential()
    one = r"^predict: x of shape \(100,\) \(one sample, run as a batch of one\): "
    with pytest.raises(
        ValueError, match=one + r"Dense\(64 -> 16\): expected input \(N, 64\), got \(1, 100\)"
    ):
        model.predict(np.zeros(100, np.float32))
    sliced = r"^predict: x of shape \(100, 5\) \(run in batches of 32\): "
    with pytest.raises(ValueError, match=sliced + r"Dense\(64 -> 16\): .* got \(32, 5\)"):
        model.predict(np.zeros((100, 5), np.float32))
    inputs = [nn.Input(shape=(3,), name="a"), nn.Input(shape=(2,), name="b")]
    pair = nn.Model(inputs, nn.Dense(1)(nn.Concatenate()(inputs)))
    with pytest.raises(ValueError, match=r"the inputs \(3,\), \(4, 2\) mix one sample and a batch"):
        pair.predict([np.zeros(3), np.zeros((4, 2))])
    assert pair.predict([np.zeros(3), np.zeros(2)]).shape == (1,)


# --- weights ---------------------------------------------------------------------------------


def test_sample_weights_give_keras_weighted_mean():
    x, y = blobs(12)
    model = mlp(dropout=0.0)
    model.compile(optimizer="sgd", loss=nn.CrossEntropyLoss())
    w = np.random.default_rng(1).uniform(0, 3, 12)
    per_sample = nn.CrossEntropyLoss(reduction="none")(model.predict(x), y)
    expected = float(np.sum(w * per_sample) / 12)  # sum_i w_i l_i / N
    assert math.isclose(model.evaluate(x, y, sample_weight=w, verbose=0), expected, rel_tol=1e-6)
    unweighted = model.evaluate(x, y, verbose=0)
    assert math.isclose(
        model.evaluate(x, y, sample_weight=np.ones(12), verbose=0), unweighted, rel_tol=1e-6
    )


@pytest.mark.parametrize(
    "loss",
    [nn.MSELoss(), nn.CrossEntropyLoss(label_smoothing=0.1), nn.BCEWithLogitsLoss()],
    ids=["mse", "ce", "bce"],
)
def test_weighted_loss_gradient_is_its_derivative(loss):
    rng = np.random.default_rng(0)
    pred = rng.normal(size=(5, 3))
    target = (
        rng.integers(0, 3, 5) if isinstance(loss, nn.CrossEntropyLoss) else rng.uniform(size=(5, 3))
    )
    w = rng.uniform(0.1, 2, 5)

    class Weighted:  # the weighted loss as a function of pred, for gradcheck
        def __call__(self, p):
            return objective.loss_value_and_grad(loss, p, target, w, 1.0, with_grad=False)[0]

        def backward(self, grad):
            return objective.loss_value_and_grad(loss, pred, target, w, grad)[1]

    nn.gradcheck(Weighted(), pred)


def test_class_weight_equals_the_matching_sample_weight():
    x, y = blobs(64)
    a, b = mlp(dropout=0.0, head="softmax"), mlp(dropout=0.0, head="softmax")
    for model in (a, b):
        model.compile(
            optimizer=nn.optim.SGD(model.parameters(), lr=0.1),
            loss="sparse_categorical_crossentropy",
        )
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    a.train_on_batch(x, y, class_weight=weights)
    b.train_on_batch(x, y, sample_weight=np.array([weights[c] for c in y]))
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(ValueError, match=r"no weight for classes \[2\]"):
        a.train_on_batch(x, y, class_weight={0: 1.0, 1: 2.0})


# --- the Keras pairs: softmax + categorical cross-entropy, sigmoid + binary cross-entropy ----


@pytest.mark.parametrize(
    ("activation", "name", "logits_loss", "targets"),
    [
        ("softmax", "categorical_crossentropy", nn.CrossEntropyLoss(), lambda y: np.eye(3)[y]),
        ("softmax", "sparse_categorical_crossentropy", nn.CrossEntropyLoss(), lambda y: y),
        (
            "sigmoid",
            "binary_crossentropy",
            nn.BCEWithLogitsLoss(),
            lambda y: (y[:, None] > 0).astype(np.float32).repeat(3, 1),
        ),
    ],
)
def test_probability_output_trains_exactly_like_logits_when_saturated(
    activation, name, logits_loss, targets
):
    x, y = blobs(64)
    x = x * 100  # logits far beyond +-100: the probabilities round to exactly 0 and 1
    nn.manual_seed(1)
    probabilities = nn.Sequential(nn.Dense(3, activation=activation, input_dim=4))
    nn.manual_seed(1)
    logits = nn.Sequential(nn.Dense(3, input_dim=4))
    probabilities.compile(nn.optim.SGD(probabilities.parameters(), lr=0.01), loss=name)
    logits.compile(nn.optim.SGD(logits.parameters(), lr=0.01), loss=logits_loss)
    t = targets(y)
    assert np.any(probabilities.predict(x) == 0) or np.any(probabilities.predict(x) == 1)
    a = probabilities.fit(x, t, epochs=3, batch_size=16, shuffle=False, verbose=0)
    b = logits.fit(x, t, epochs=3, batch_size=16, shuffle=False, verbose=0)
    assert all(np.isfinite(a.history["loss"]))
    assert a.history["loss"] == b.history["loss"]
    for p, q in zip(probabilities.parameters(), logits.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.torch
def test_the_fused_loss_value_is_pytorchs(torch):
    logits = np.array([[300.0, -200.0, 0.0], [-150.0, 150.0, 1.0]])
    y = np.array([1, 0])
    model = nn.Sequential(nn.Softmax())
    model.compile("sgd", "sparse_categorical_crossentropy")
    value = model.evaluate(logits, y, verbose=0)
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(y)).item()
    assert math.isclose(value, expected, rel_tol=1e-12)


def test_no_shortcut_when_the_output_is_also_used_inside_the_graph():
    inputs = nn.Input(shape=(2,))
    p = nn.Dense(2, activation="softmax")(inputs)
    model = nn.Model(inputs, [p, nn.Dense(1)(p)])
    assert objective.output_activation(model, 0) is None
    assert objective.output_activation(nn.Model(inputs, p), 0) is p.layer.activation


# --- several outputs -------------------------------------------------------------------------


def test_several_outputs_with_losses_weights_and_metrics():
    x, y = blobs(48)
    inputs = nn.Input(shape=(4,))
    h = nn.Dense(8, activation="relu")(inputs)
    model = nn.Model(inputs, [nn.Dense(3, name="cls")(h), nn.Dense(1, name="reg")(h)])
    target = x.sum(axis=1, keepdims=True)
    model.compile(
        "sgd",
        loss={"cls": nn.CrossEntropyLoss(), "reg": "mse"},
        loss_weights=[1.0, 0.5],
        metrics={"cls": ["accuracy"]},
    )
    logs = model.evaluate(x, [y, target], verbose=0, return_dict=True)
    assert set(logs) == {"loss", "cls_loss", "reg_loss", "cls_accuracy"}
    assert math.isclose(logs["loss"], logs["cls_loss"] + 0.5 * logs["reg_loss"], rel_tol=1e-9)
    history = model.fit(x, [y, target], epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


# --- stopping on NaN -------------------------------------------------------------------------


def poisoned():
    x, y = blobs(100)
    x[40] = np.inf  # sample 40 is in the second batch of 32 without shuffling
    model = mlp(dropout=0.0, head="softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model, x, y


def test_a_non_finite_loss_stops_fit_naming_epoch_and_batch():
    model, x, y = poisoned()
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="epoch 1, batch 2"):
        model.fit(x, y, batch_size=32, shuffle=False, verbose=0)


def test_terminate_on_nan_stops_quietly(capsys):
    model, x, y = poisoned()
    snapshots = []
    keep = nn.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: snapshots.append(
            [p.data.copy() for p in model.parameters()]
        )
    )
    with np.errstate(all="ignore"):
        history = model.fit(
            x,
            y,
            batch_size=32,
            shuffle=False,
            verbose=0,
            callbacks=[keep, nn.callbacks.TerminateOnNaN()],
        )
    assert "the loss is nan; terminating training" in capsys.readouterr().out
    assert len(history.epoch) == 1 and len(snapshots) == 2
    for p, first, last in zip(model.parameters(), *snapshots):
        np.testing.assert_array_equal(first, last)  # the NaN batch changed nothing
        np.testing.assert_array_equal(p.data, last)


def adam_at(lr):
    x, y = blobs(256)
    model = mlp(dropout=0.0)
    model.compile(nn.optim.Adam(model.parameters(), lr=lr), nn.CrossEntropyLoss())
    return model, x, y


def test_a_diverging_loss_stops_fit_naming_epoch_batch_and_learning_rate():
    # before, fit trained on with losses near 1e18 (and, where Adam's g^2 overflowed, only a
    # RuntimeWarning)
    model, x, y = adam_at(1e9)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError) as error:
        model.fit(x, y, epochs=5, verbose=0)
    message = str(error.value)
    assert re.match(r"fit: epoch 1, batch 2: training diverged: the loss is \S+, over 1e\+06 "
                    r"times its first value 2\.\d+\. The learning rate \(lr=1e\+09\) is "
                    "likely too large", message), message  # fmt: skip
    model, x, y = adam_at(1e9)
    with np.errstate(all="ignore"):
        history = model.fit(x, y, epochs=5, verbose=0, callbacks=[nn.callbacks.TerminateOnNaN()])
    assert len(history.epoch) == 1  # quietly, as for a NaN loss
    model, x, y = adam_at(1e-2)  # an ordinary rate trains on
    assert len(model.fit(x, y, epochs=3, verbose=0).epoch) == 3


def test_a_step_that_overflows_stops_fit_at_that_step():
    # targets of 1.5e19: the loss (2.3e38) is finite in float32, the gradient's square
    # overflows in Adam, whose v = inf would freeze the weights without a word
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    model = nn.Sequential(nn.Input(shape=(3,)), nn.Dense(1))
    model.compile("adam", "mse")
    with pytest.raises(FloatingPointError) as error:
        model.fit(x, np.full((8, 1), 1.5e19, np.float32), batch_size=1, verbose=0)
    assert str(error.value).startswith(
        "fit: epoch 1, batch 1: training diverged: the optimizer's update overflowed "
        "(overflow encountered in square). The learning rate (lr=0.001) is likely too large "
        "or the data far from unit scale"
    )


# --- errors ----------------------------------------------------------------------------------


def test_an_optimizer_made_before_the_model_was_built_is_refused():
    model = nn.Sequential(nn.Dense(8, activation="relu"), nn.Dense(3))  # lazy: no weights yet
    optimizer = nn.optim.Adam(model.parameters() or [nn.Parameter(np.zeros(1))])
    with pytest.raises(
        ValueError, match="before the model was built: the layers 0, 1 have no parameters"
    ):
        model.compile(optimizer, "mse")
    model.compile("adam", nn.CrossEntropyLoss())  # by name: made once the model is built
    x, y = blobs(16)
    model.fit(x, y, verbose=0)
    assert len(model.optimizer.param_groups[0]["params"]) == 4


def test_errors_a_user_can_act_on():
    x, y = blobs(20)
    model = mlp()
    with pytest.raises(RuntimeError, match=r"not compiled; call model.compile"):
        model.fit(x, y)
    with pytest.raises(ValueError, match="unknown loss 'crossentropy'.*Valid names"):
        model.compile("adam", "crossentropy")
    with pytest.raises(ValueError, match="unknown optimizer 'adma'; did you mean 'adam'"):
        model.compile("adma", "mse")
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"different numbers of samples \[19, 20\]"):
        model.fit(x, y[:19], verbose=0)
    with pytest.raises(ValueError, match=r"validation_split must lie in \(0, 1\)"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="y \\(the targets\\) is required"):
        model.fit(x, verbose=0)


def weights_of(model):
    return [p.data.copy() for p in model.parameters()]


def assert_unchanged(model, before):
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, old)


@pytest.mark.parametrize("where", [0, 99])  # first batch, last batch
def test_a_nan_sample_weight_is_refused_before_any_step(where, tmp_path):
    x, y = blobs(100)
    model = mlp(head="softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    w = np.ones(100)
    w[where] = np.nan
    before = weights_of(model)
    checkpoint = nn.callbacks.ModelCheckpoint(tmp_path / "best.npz", monitor="loss")
    with pytest.raises(ValueError, match="sample_weight: expected finite weights; 1 are NaN"):
        model.fit(x, y, sample_weight=w, callbacks=[checkpoint], verbose=0)
    assert_unchanged(model, before)
    assert not (tmp_path / "best.npz").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sample_weight": -np.ones(40)}, "sample_weight: expected non-negative weights"),
        ({"sample_weight": np.ones(39)}, "sample_weight holds 39 weights for 40 samples"),
        ({"sample_weight": np.zeros(40)}, "every sample weight is zero"),
        ({"sample_weight": ["a"] * 40}, "sample_weight: expected numbers"),
        ({"class_weight": {0: np.inf, 1: 1, 2: 1}}, "class_weight: expected finite weights"),
        ({"class_weight": {0: 0.0, 1: 0.0, 2: 0.0}}, "every sample weight is zero"),
        ({"class_weight": {0: 1, 1: -2, 2: 1}}, "class_weight: expected non-negative"),
        ({"batch_size": 0}, "batch_size: expected a positive integer, got 0"),
        ({"batch_size": -5}, "batch_size: expected a positive integer, got -5"),
        ({"batch_size": 2.5}, "batch_size: expected a positive integer, got 2.5"),
        ({"batch_size": True}, "batch_size: expected a positive integer, got True"),
        ({"epochs": -1}, "epochs must be a non-negative integer, got -1"),
        ({"epochs": 1.5}, "epochs must be a non-negative integer, got 1.5"),
        ({"initial_epoch": -2}, "initial_epoch must be a non-negative integer"),
    ],
)
def test_bad_fit_arguments_are_refused_before_any_step(kwargs, message):
    x, y = blobs(40)
    model = mlp(head="softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    before = weights_of(model)
    with pytest.raises((ValueError, TypeError), match=message):
        model.fit(x, y, verbose=0, **kwargs)
    assert_unchanged(model, before)


def test_bad_arrays_name_the_argument_and_say_what_to_do():
    model = mlp()
    model.compile("sgd", nn.CrossEntropyLoss())
    x, y = blobs(4)
    ragged = r"the items differ in shape, \[1\] has shape \(1,\) where \[0\] has \(4,\); give"
    with pytest.raises(ValueError, match="^fit: x: " + ragged):
        model.fit([[1.0, 2.0, 3.0, 4.0], [1.0]], [0, 1], verbose=0)
    with pytest.raises(
        ValueError, match=r"^fit: y: .* \[0\]\[1\] has shape \(2,\) where \[0\]\[0\]"
    ):
        model.fit(x[:1], [[[0], [1, 2]]], verbose=0)
    with pytest.raises(ValueError, match="^fit: validation_data: x: " + ragged):
        model.fit(x, y, validation_data=([[1.0, 2.0, 3.0, 4.0], [1.0]], [0, 1]), verbose=0)
    with pytest.raises(ValueError, match="^predict: x: " + ragged):
        model.predict([[1.0, 2.0, 3.0, 4.0], [1.0]])
    with pytest.raises(ValueError, match="^DataLoader: x: " + ragged):
        nn.data.DataLoader([[1.0, 2.0, 3.0, 4.0], [1.0]])
    with pytest.raises(TypeError, match=r"fit: x: expected numbers, got text \(dtype <U1\)"):
        model.fit(np.full((4, 4), "a"), np.zeros(4, int), verbose=0)
    with pytest.raises(TypeError, match="fit: x: expected numbers, got dtype complex128"):
        model.fit(np.ones((4, 4), complex), np.zeros(4, int), verbose=0)
    with pytest.raises(TypeError, match="predict: x: expected numbers"):
        model.predict(np.full((4, 4), "a"))
    with pytest.raises(ValueError, match="evaluate: x and y: the arrays hold different"):
        model.evaluate(np.ones((4, 4)), np.zeros(3, int), verbose=0)


def test_text_labels_ask_for_the_label_encoder_which_then_trains():
    x, y = blobs(60)
    names = np.array(["cat", "dog", "emu"])[y]
    model = mlp()
    model.compile("adam", nn.CrossEntropyLoss(), metrics=["accuracy"])
    with pytest.raises(TypeError) as error:
        model.fit(x, names, verbose=0)
    assert str(error.value).startswith("fit: y: expected numbers, got text (dtype <U3); encode")
    assert "nn.data.LabelEncoder()" in str(error.value) and "fit_transform(y)" in str(error.value)
    encoder = nn.data.LabelEncoder()
    model.fit(x, encoder.fit_transform(names), epochs=2, verbose=0)  # the fix it names works
    guessed = encoder.inverse_transform(model.predict(x).argmax(axis=1))
    assert set(guessed) <= {"cat", "dog", "emu"}


def test_a_checkpoint_name_with_validation_fields_needs_validation_data(tmp_path):
    x, y = blobs(40)
    model = mlp()
    model.compile("sgd", nn.CrossEntropyLoss())
    checkpoint = nn.callbacks.ModelCheckpoint(str(tmp_path / "m-{val_loss:.3f}.npz"))
    before = weights_of(model)
    with pytest.raises(ValueError, match=r"uses val_loss, but fit has no validation data"):
        model.fit(x, y, callbacks=[checkpoint], verbose=0)
    assert_unchanged(model, before)
    model.fit(x, y, callbacks=[checkpoint], validation_split=0.25, verbose=0)
    assert len(list(tmp_path.glob("m-*.npz"))) == 1


# --- compile decides once --------------------------------------------------------------------


def test_compile_makes_the_optimizer_and_the_objective_once():
    x, y = blobs(40)
    model = mlp(head="softmax")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    optimizer, objective = model.optimizer, model._objective
    assert isinstance(optimizer, nn.optim.Adam) and optimizer.param_groups[0]["eps"] == 1e-7
    model.fit(x, y, verbose=0)
    model.train_on_batch(x[:8], y[:8])
    model.evaluate(x, y, verbose=0)
    assert model.optimizer is optimizer and model._objective is objective
    # the compiled loss object itself scored the batches (it caches its last call)
    assert objective.fused[0][1].losses is not None
    assert objective.fused[0][0] is model[2].activation  # decided at compile, from the layers


def test_a_lazy_model_gets_its_optimizer_at_the_first_fit_once():
    x, y = blobs(40)
    model = nn.Sequential(nn.Dense(8, activation="relu"), nn.Dense(3))
    model.compile("sgd", nn.CrossEntropyLoss())
    assert model.optimizer == "sgd"  # no parameters yet
    model.train_on_batch(x[:4], y[:4])
    optimizer = model.optimizer
    assert isinstance(optimizer, nn.optim.SGD)
    model.fit(x, y, verbose=0)
    assert model.optimizer is optimizer


# --- learning: the tutorial's Keras workflow -------------------------------------------------


def test_tutorial_workflow_three_classes_with_tanh_relu_softmax():
    x, y = blobs(300, seed=3)
    nn.manual_seed(0)
    inputs = nn.Input(shape=(4,))
    h = nn.Dense(16, activation="tanh")(inputs)
    h = nn.Dense(16, activation="relu")(h)
    outputs = nn.Dense(3, activation="softmax")(h)
    model = nn.Model(inputs, outputs)
    model.compile(
        optimizer=nn.optim.Adam(model.parameters(), lr=0.01),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    split = 210
    onehot = nn.functional.one_hot(y, 3)
    model.fit(x[:split], onehot[:split], epochs=60, batch_size=16, verbose=0)
    loss, accuracy = model.evaluate(x[split:], onehot[split:], verbose=0)
    assert accuracy >= 0.95, f"held-out accuracy {accuracy:.3f}, loss {loss:.3f}"


def test_xor_truth_table_with_mse():
    x = [[0, 0], [0, 1], [1, 0], [1, 1]]
    y = [[0], [1], [1], [0]]
    nn.manual_seed(1)
    model = nn.Sequential(
        nn.Dense(4, activation="tanh", input_dim=2), nn.Dense(1, activation="sigmoid")
    )
    model.compile(optimizer=nn.optim.SGD(model.parameters(), lr=0.5, momentum=0.9), loss="mse")
    model.fit(x, y, epochs=500, batch_size=4, verbose=0)
    np.testing.assert_array_equal(model.predict(x) > 0.5, np.array(y) > 0.5)
    assert_close(model.predict(x), y, 0, 0.2, "XOR outputs")

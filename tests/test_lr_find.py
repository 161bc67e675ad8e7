"""lr_find: the model passed in is left bit-identical, and the suggested rate trains digits."""

import pathlib

import numpy as np
import pytest

import numpynn as nn

DIGITS = nn.data.load_digits()
X_TRAIN, X_TEST, Y_TRAIN, Y_TEST = nn.data.train_test_split(
    DIGITS.x, DIGITS.y, test_size=0.25, seed=0
)


def mlp():
    nn.manual_seed(0)
    return nn.Sequential(nn.Dense(64, activation="relu", input_dim=64), nn.Dense(10))


def test_accuracy(lr: float) -> float:
    model = mlp()
    model.compile(optimizer=nn.optim.SGD(model.parameters(), lr=lr), loss=nn.CrossEntropyLoss())
    model.fit(X_TRAIN, Y_TRAIN, epochs=20, verbose=0, seed=0)
    return float(np.mean(model.predict(X_TEST).argmax(axis=1) == Y_TEST))


test_accuracy.__test__ = False  # a helper, not a test


def test_the_suggestion_trains_digits_and_the_model_is_untouched():
    model = mlp()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.01)
    model.compile(optimizer=optimizer, loss=nn.CrossEntropyLoss())
    before = {key: value.copy() for key, value in model.state_dict().items()}
    grads = [p.grad.copy() for p in model.parameters()]
    found = nn.lr_find(model, X_TRAIN, Y_TRAIN, seed=0)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    for p, grad in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, grad)
    assert optimizer.state == {} and optimizer.param_groups[0]["lr"] == 0.01
    good = 0.1  # trains digits past 95% (checked here)
    assert test_accuracy(good) >= 0.95
    assert good / 10 <= found.suggestion <= good * 10, found.suggestion
    assert test_accuracy(found.suggestion) >= 0.95
    # the suggestion is a tenth of the rate of the lowest smoothed loss
    assert found.suggestion == found.lrs[int(np.argmin(found.smoothed))] / 10


def test_the_rates_grow_exponentially_and_the_test_stops_at_divergence():
    model = mlp()
    loss = nn.CrossEntropyLoss()
    found = nn.lr_find(model, DIGITS.x, DIGITS.y, loss=loss, optimizer="sgd", end_lr=1e3, seed=0)
    expected = np.geomspace(1e-7, 1e3, 100)[: len(found.lrs)]
    np.testing.assert_allclose(found.lrs, expected, rtol=1e-12)
    assert len(found.lrs) < 100  # SGD diverges on digits long before lr 1000: it stopped
    assert found.smoothed[-1] > 4 * min(found.smoothed) or not np.isfinite(found.losses[-1])
    beta, average = 0.9, 0.0
    for i, value in enumerate(found.losses):  # the debiased moving average, by hand
        average = beta * average + (1 - beta) * value
        assert found.smoothed[i] == pytest.approx(average / (1 - beta ** (i + 1)))


def test_the_compiled_optimizer_class_and_settings_are_used():
    model = mlp()
    model.compile(optimizer=nn.optim.Adam(model.parameters(), lr=0.5), loss="mse")
    sgd = nn.lr_find(
        model, X_TRAIN, Y_TRAIN, loss=nn.CrossEntropyLoss(), optimizer="sgd", seed=0, steps=30
    )
    adam = nn.lr_find(model, X_TRAIN, Y_TRAIN, loss=nn.CrossEntropyLoss(), seed=0, steps=30)
    assert sgd.losses != adam.losses  # the optimizer reached the test


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    model = mlp()
    model.compile(optimizer="sgd", loss=nn.CrossEntropyLoss())
    path = nn.lr_find(model, X_TRAIN, Y_TRAIN, seed=0).plot(tmp_path / "lr.png")
    assert pathlib.Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments_are_clear_errors():
    model = mlp()
    with pytest.raises(ValueError, match="pass loss=..., or compile the model first"):
        nn.lr_find(model, X_TRAIN, Y_TRAIN, optimizer="sgd")
    with pytest.raises(ValueError, match="expected 0 < start_lr < end_lr, got 1, 0.1"):
        nn.lr_find(model, X_TRAIN, Y_TRAIN, loss="mse", start_lr=1, end_lr=0.1)
    with pytest.raises(ValueError, match="pass optimizer="):
        nn.lr_find(model, X_TRAIN, Y_TRAIN, loss=nn.CrossEntropyLoss())

"""Callbacks, driven through fit with a scripted monitored value, so each decision is known."""

import math

import numpy as np
import pytest

import numpynn as nn
from numpynn import callbacks as cb


def problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    return x, x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)


def regression():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Dense(1, input_dim=3))
    model.compile(nn.optim.SGD(model.parameters(), lr=0.01), "mse")
    return model


def scripted(values):
    """A callback that writes values[epoch] into the logs as "score", before the others see
    them; and keeps a copy of the weights at the end of every epoch."""
    weights = []

    def on_epoch_end(epoch, logs):
        logs["score"] = values[epoch]
        weights.append(model_of[0].state_dict())

    model_of = []
    callback = cb.LambdaCallback(
        on_train_begin=lambda logs: model_of.append(callback.model), on_epoch_end=on_epoch_end
    )
    return callback, weights


def run(callback, values, epochs=None, model=None):
    model = model or regression()
    script, weights = scripted(values)
    x, y = problem()
    history = model.fit(x, y, epochs=epochs or len(values), verbose=0, callbacks=[script, callback])
    return model, history, weights


def test_early_stopping_stops_after_patience_and_ignores_nan():
    stopper = cb.EarlyStopping(monitor="score", patience=2)
    _, history, _ = run(stopper, [1.0, 0.5, math.nan, 0.6, 0.4, 0.3])
    assert history.epoch == [0, 1, 2, 3]  # NaN and 0.6 are two epochs without improvement
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1


def test_early_stopping_min_delta_and_mode():
    stopper = cb.EarlyStopping(monitor="score", patience=1, min_delta=0.1, mode="max")
    _, history, _ = run(stopper, [0.5, 0.55, 0.9, 0.95, 1.0])
    assert history.epoch == [0, 1]  # 0.55 is not 0.1 better than 0.5
    assert cb.EarlyStopping(monitor="val_accuracy").mode == "max"
    assert cb.EarlyStopping(monitor="val_loss").mode == "min"


@pytest.mark.parametrize(
    ("values", "stops"), [([3.0, 1.0, 2.0, 2.5, 0.1], True), ([3.0, 1.0, 2.0, 0.5, 0.7], False)]
)
def test_restore_best_weights_whether_stopped_or_not(values, stops):
    stopper = cb.EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    model, history, weights = run(stopper, values, epochs=len(values))
    assert (len(history.epoch) < len(values)) == stops
    best = int(np.nanargmin(values[: len(history.epoch)]))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, weights[best][name], err_msg=name)
    assert not np.array_equal(weights[best]["0.weight"], weights[-1]["0.weight"])


def test_a_missing_monitor_is_a_clear_error():
    with pytest.raises(KeyError, match="'val_loss' is not in the logs .*pass validation data"):
        run(cb.EarlyStopping(), [1.0])


def test_model_checkpoint_writes_only_on_improvement(tmp_path):
    pattern = str(tmp_path / "ck-{epoch:02d}-{score:.1f}.npz")
    checkpoint = cb.ModelCheckpoint(pattern, monitor="score", save_best_only=True)
    _, _, weights = run(checkpoint, [2.0, 1.0, 1.5, math.nan, 0.5])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ck-01-2.0.npz",
        "ck-02-1.0.npz",
        "ck-05-0.5.npz",
    ]
    restored = nn.load_model(tmp_path / "ck-02-1.0.npz")
    for name, value in restored.state_dict().items():
        np.testing.assert_array_equal(value, weights[1][name])
    assert isinstance(restored.optimizer, nn.optim.SGD)  # compiled again, with its state


def test_model_checkpoint_every_epoch_weights_only(tmp_path):
    checkpoint = cb.ModelCheckpoint(tmp_path / "w.npz", save_weights_only=True)
    model, _, weights = run(checkpoint, [1.0, 2.0])
    fresh = regression()
    fresh.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(fresh[0].weight.data, weights[-1]["0.weight"])
    with pytest.raises(nn.ModelFileError, match="holds only weights"):
        nn.load_model(tmp_path / "w.npz")


def test_learning_rate_scheduler_with_a_function_or_a_schedule():
    rates = cb.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch)
    _, history, _ = run(rates, [0.0] * 3)
    assert history.history["learning_rate"] == [0.1, 0.05, 0.025]
    model = regression()
    schedule = nn.optim.lr_scheduler.StepLR(model.optimizer, step_size=1, gamma=0.1)
    _, history, _ = run(cb.LearningRateScheduler(schedule), [0.0] * 3, model=model)
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.001, 0.0001])


def test_reduce_lr_on_plateau_counts_patience_as_keras():
    reduce = cb.ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, min_delta=0.0)
    _, history, _ = run(reduce, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5])
    assert history.history["learning_rate"] == [0.01, 0.01, 0.005, 0.005, 0.005, 0.0025]


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    run(cb.CSVLogger(path), [3.0, 2.0])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,score"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1"]
    assert float(lines[2].split(",")[2]) == 2.0
    run(cb.CSVLogger(path, append=True), [1.0])
    assert len(path.read_text().splitlines()) == 4  # appended, no second header


def test_hooks_are_called_in_keras_order():
    calls = []

    class Recorder(cb.Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(f"epoch_begin {epoch}")

        def on_batch_begin(self, batch, logs=None):  # the older name still works
            calls.append(f"batch_begin {batch}")

        def on_train_batch_end(self, batch, logs=None):
            calls.append(f"batch_end {batch} {sorted(logs)}")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"epoch_end {epoch} {sorted(logs)}")

        def on_train_end(self, logs=None):
            calls.append("train_end")

    model = regression()
    x, y = problem()
    model.fit(
        x[:6],
        y[:6],
        batch_size=4,
        epochs=1,
        verbose=0,
        validation_data=(x, y),
        callbacks=[Recorder()],
    )
    assert calls == [
        "train_begin",
        "epoch_begin 0",
        "batch_begin 0",
        "batch_end 0 ['loss']",
        "batch_begin 1",
        "batch_end 1 ['loss']",
        "epoch_end 0 ['loss', 'val_loss']",
        "train_end",
    ]


def test_bad_callbacks_are_refused():
    with pytest.raises(TypeError, match="Callback objects"):
        run(lambda: None, [1.0])
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_finish'"):
        cb.LambdaCallback(on_epoch_finish=print)

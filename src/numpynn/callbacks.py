"""Callbacks: code that ``fit`` calls at the start and end of training, epochs and batches.

A callback subclasses ``Callback`` and overrides the hooks it needs, as in Keras. During
``fit`` it can read ``self.model``, ``self.optimizer`` and ``self.params`` (epochs, steps,
batch_size, verbose), and stop training with ``self.model.stop_training = True``.
``logs`` hold the running means of the loss and metrics (``"loss"``, ``"accuracy"``, and
``"val_loss"`` ... at the end of an epoch with validation data).

>>> import numpy as np, numpynn as nn
>>> class Count(nn.callbacks.Callback):
...     def on_train_begin(self, logs=None):
...         self.batches = 0
...     def on_train_batch_end(self, batch, logs=None):
...         self.batches += 1
>>> model = nn.Sequential(nn.Dense(1, input_dim=2))
>>> model.compile(optimizer="sgd", loss="mse")
>>> counter = Count()
>>> _ = model.fit(np.zeros((10, 2)), np.zeros((10, 1)), batch_size=4, epochs=2,
...               callbacks=[counter], verbose=0)
>>> counter.batches
6
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from numpynn import io
from numpynn._progress import Progress
from numpynn.optim.lr_scheduler import LRScheduler
from numpynn.optim.lr_scheduler import ReduceLROnPlateau as _Plateau


class Callback:
    """Base class: every hook does nothing. ``on_batch_begin``/``on_batch_end`` are the
    older Keras names of ``on_train_batch_begin``/``on_train_batch_end``; override either."""

    model = None
    optimizer = None
    params: dict = {}

    def set_context(self, model, optimizer, params: dict) -> None:
        self.model, self.optimizer, self.params = model, optimizer, params

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch: int, logs=None): ...

    def on_epoch_end(self, epoch: int, logs=None): ...

    def on_train_batch_begin(self, batch: int, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs=None):
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs=None): ...

    def on_batch_end(self, batch: int, logs=None): ...


class CallbackList:
    """Calls a hook on every callback in order."""

    def __init__(self, callbacks, model, optimizer, params: dict):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"fit: callbacks must be Callback objects, got {callback!r}")
            callback.set_context(model, optimizer, params)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for callback in self.callbacks:
                getattr(callback, hook)(*args)

        return call


class History(Callback):
    """Records the logs of every epoch: ``history.history["loss"]`` is a list, one value per
    epoch; ``history.epoch`` the epoch numbers (from 0). ``fit`` returns it. With a
    ``Diagnostics`` callback, ``history.diagnostics`` holds its results (else None)."""

    diagnostics: dict | None = None

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def on_train_end(self, logs=None):
        # fit's own History comes after the user's callbacks, so a Diagnostics callback has
        # put its results in these logs by now
        self.diagnostics = (logs or {}).get("diagnostics")


def _format_logs(logs: dict) -> str:
    return " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())


class ProgbarLogger(Callback):
    """Progress output of ``fit``. ``verbose=1``: a ``Progress`` line per epoch with the
    running loss and metrics (in a terminal a bar redrawn in place, fitted to the
    terminal's width: the bar shrinks first, then the timing goes, then the names shorten,
    the numbers stay; when the output is not a terminal, that epoch's last line only,
    once). ``verbose=2``: one line per epoch. ``fit(verbose=...)`` adds one itself. Writes
    to ``file``, by default standard error for the bar and standard output for
    ``verbose=2``."""

    def __init__(self, verbose: int = 1, file=None):
        self.verbose, self.file = verbose, file

    def on_epoch_begin(self, epoch, logs=None):
        title = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}"
        out = self.file or (sys.stderr if self.verbose == 1 else sys.stdout)
        self.line = Progress(self.verbose, self.params.get("steps"), title, out)

    def on_train_batch_end(self, batch, logs=None):
        self.line.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.line.close(logs or {})
        if self.verbose == 2:
            seconds = time.perf_counter() - self.line.start
            line = f"{self.line.title} - {seconds:.2f}s - {_format_logs(logs or {})}"
            print(line, file=self.line.file, flush=True)


def _monitor_mode(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    higher_is_better = ("acc", "auc", "precision", "recall", "f1", "r2")
    return "max" if any(word in monitor for word in higher_is_better) else "min"


def _monitored(callback, logs: dict) -> float:
    if callback.monitor not in logs:
        raise KeyError(
            f"{type(callback).__name__}: {callback.monitor!r} is not in the logs "
            f"({', '.join(logs) or 'none'}); choose one of those"
            + (", or pass validation data to fit" if callback.monitor.startswith("val_") else "")
        )
    return float(logs[callback.monitor])


class _Tracker:
    """The best value of a monitored quantity so far. NaN is never an improvement."""

    def __init__(self, mode: str, min_delta: float = 0.0, baseline: float | None = None):
        self.sign = 1.0 if mode == "min" else -1.0
        self.min_delta = abs(min_delta)
        self.best = math.inf if baseline is None else self.sign * baseline

    def improves(self, value: float) -> bool:
        return not math.isnan(value) and self.sign * value < self.best - self.min_delta

    def update(self, value: float) -> bool:
        better = self.improves(value)
        if better:
            self.best = self.sign * value
        return better


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs. A NaN value never counts as an improvement.

    With ``restore_best_weights``, the model ends training with the weights of its best
    epoch, whether training stopped early or ran to the last epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
    ):
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.mode, self.min_delta, self.baseline = _monitor_mode(monitor, mode), min_delta, baseline
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.tracker = _Tracker(self.mode, self.min_delta, self.baseline)
        self.wait, self.stopped_epoch, self.best_epoch, self.best_weights = 0, None, None, None

    def on_epoch_end(self, epoch, logs=None):
        if self.tracker.update(_monitored(self, logs or {})):
            self.wait, self.best_epoch = 0, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping (best epoch {self._best_label()})")

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"Restored the weights of epoch {self._best_label()}")

    def _best_label(self):
        return "none" if self.best_epoch is None else self.best_epoch + 1


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) at the end of each epoch to ``filepath``,
    which may hold fields such as ``"model-{epoch:02d}-{val_loss:.3f}.npz"``.

    With ``save_best_only`` it writes only when ``monitor`` improved (NaN never does).
    Each file is written atomically.
    """

    def __init__(
        self,
        filepath,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
    ):
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode = _monitor_mode(monitor, mode)

    def on_train_begin(self, logs=None):
        self.tracker = _Tracker(self.mode)
        import string  # here, not at the top: `import numpynn` stays light

        fields = {name for _, name, _, _ in string.Formatter().parse(self.filepath) if name}
        wanted = sorted(f for f in fields if f.startswith("val_"))
        if wanted and not self.params.get("do_validation", True):
            raise ValueError(
                f"ModelCheckpoint: the file name {self.filepath!r} uses {', '.join(wanted)}, "
                "but fit has no validation data; pass validation_data or validation_split"
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only and not self.tracker.update(_monitored(self, logs)):
            return
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_weights_only:
            io.save_weights(self.model, path)
        elif hasattr(self.model, "save"):
            self.model.save(path)
        else:
            io.save_model(self.model, path, optimizer=self.optimizer)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch.

    ``schedule`` is Keras's function ``schedule(epoch, lr) -> new lr`` (epochs from 0), or
    one of ``nn.optim.lr_scheduler``'s schedules built on the same optimizer, which is then
    stepped at the end of every epoch. The rate is logged as ``learning_rate``.
    """

    def __init__(self, schedule, verbose: int = 0):
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        if isinstance(self.schedule, LRScheduler):
            return
        lr = float(self.schedule(epoch, self.optimizer.param_groups[0]["lr"]))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.6g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.optimizer.param_groups[0]["lr"]
        if isinstance(self.schedule, LRScheduler):
            self.schedule.step()


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` once ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs (Keras's counting), then wait ``cooldown``
    epochs. It drives ``nn.optim.lr_scheduler.ReduceLROnPlateau``; NaN never improves."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ):
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode, self.min_delta = _monitor_mode(monitor, mode), min_delta
        self.cooldown, self.min_lr = cooldown, min_lr

    def on_train_begin(self, logs=None):
        # Keras reduces after `patience` bad epochs, PyTorch's schedule after patience + 1
        self.plateau = _Plateau(
            self.optimizer,
            mode=self.mode,
            factor=self.factor,
            patience=max(self.patience - 1, 0),
            threshold=self.min_delta,
            threshold_mode="abs",
            cooldown=self.cooldown,
            min_lr=self.min_lr,
        )

    def on_epoch_end(self, epoch, logs=None):
        before = self.optimizer.param_groups[0]["lr"]
        self.plateau.step(_monitored(self, logs or {}))
        after = self.optimizer.param_groups[0]["lr"]
        if logs is not None:
            logs["learning_rate"] = after
        if self.verbose and after != before:
            print(f"Epoch {epoch + 1}: ReduceLROnPlateau set the learning rate to {after:.6g}")


class CSVLogger(Callback):
    """Write one row per epoch (``epoch`` and every log) to a CSV file."""

    def __init__(self, filename, separator: str = ",", append: bool = False):
        self.filename, self.separator, self.append = os.fspath(filename), separator, append

    def on_train_begin(self, logs=None):
        self.header_written = self.append and os.path.exists(self.filename)
        self.file = open(self.filename, "a" if self.append else "w", encoding="utf-8")
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = list(logs)
        if not self.header_written:
            self.file.write(self.separator.join(["epoch", *self.keys]) + "\n")
            self.header_written = True
        row = [str(epoch)] + [repr(float(logs[k])) if k in logs else "" for k in self.keys]
        self.file.write(self.separator.join(row) + "\n")
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


class TerminateOnNaN(Callback):
    """Stop training quietly when the loss of a batch is NaN or infinite. (Without it,
    ``fit`` raises an error naming the epoch and batch.)"""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch + 1}: the loss is {loss}; terminating training", flush=True)
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks):
        for hook, function in hooks.items():
            if not hook.startswith("on_") or not hasattr(Callback, hook):
                raise TypeError(f"LambdaCallback: unknown hook {hook!r}")
            setattr(self, hook, function)


def __getattr__(name: str):
    # Diagnostics builds on Callback, so it lives in numpynn.diagnostics; named here too
    if name == "Diagnostics":
        from numpynn.diagnostics import Diagnostics

        return Diagnostics
    raise AttributeError(f"module 'numpynn.callbacks' has no attribute {name!r}")

"""The training loops as plain functions: ``fit``, ``evaluate``, ``predict``, ``train_on_batch``.

``Model.fit`` and ``Sequential.fit`` call these; a PyTorch-style user can call them on any
Module with a loss and an optimizer of their own:

>>> import numpy as np, numpynn as nn
>>> nn.manual_seed(0)
>>> x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
>>> y = (x.sum(axis=1) > 0).astype(np.int64)
>>> model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
>>> opt = nn.optim.Adam(model.parameters(), lr=0.05)
>>> history = nn.fit(model, x, y, loss=nn.CrossEntropyLoss(), optimizer=opt,
...                  metrics=["accuracy"], epochs=30, batch_size=16, verbose=0)
>>> history.history["accuracy"][-1] > 0.9
True

One step of ``fit`` is the loop a PyTorch user writes: ``pred = model(xb)``;
``value = loss(pred, yb)``; ``optimizer.zero_grad()``; ``model.backward(loss.backward())``;
``optimizer.step()``. Each epoch visits the samples in the order ``rng.permutation(n)``,
where ``rng = nn.get_rng(seed)`` is drawn from once per epoch.

Two Keras habits are handled exactly:

- **Probabilities and a probability loss.** When the model ends in Softmax and the loss is
  ``categorical_crossentropy`` on probabilities (or Sigmoid and ``binary_crossentropy``),
  the loss is computed from the activation's input with the logits version of the loss,
  and its gradient (p - y) is handed back through the activation (``LogitGradient``). The
  value is the same; the gradient stays exact where the probabilities round to 0 or 1.
- **Sample and class weights.** With weights w_i, the loss is sum_i w_i l_i / N, where l_i
  is the mean loss of sample i: Keras's definition; ``class_weight[c]`` weighs the samples
  of class c, and both kinds of weight multiply.
"""

from __future__ import annotations

import contextlib
import functools
import math

import numpy as np

from numpynn import metrics as metric_functions
from numpynn import names
from numpynn._config import Seed, get_rng
from numpynn.callbacks import Callback, CallbackList, History, ProgbarLogger
from numpynn.data import DataLoader
from numpynn.layers.activation import LogitGradient, Sigmoid, Softmax
from numpynn.losses import BCELoss, BCEWithLogitsLoss, CategoricalCrossentropy, Loss
from numpynn.module import Module

# A probability loss after the activation that made the probabilities: computed from logits.
PROBABILITY_PAIRS = ((CategoricalCrossentropy, Softmax), (BCELoss, Sigmoid))


# --- what is minimised and reported ----------------------------------------------------------


def output_names(model: Module) -> list[str]:
    return list(getattr(model, "output_names", None) or ["output"])


class Objective:
    """One loss per output (with its weight) and the metrics of each output.

    ``loss`` is a Loss, a name (``"mse"``), or a list / dict (by output name) of them for a
    model with several outputs; one loss for several outputs applies to each. ``metrics``
    is a list of names or functions ``f(y_true, y_pred)``, used for every output, or a
    list / dict of such lists, one per output.
    """

    def __init__(self, model: Module, loss, metrics=None, loss_weights=None):
        self.names = output_names(model)
        count = len(self.names)
        losses = _per_output(loss, self.names, "loss")
        self.losses: list[Loss] = [_resolve_loss(item) for item in losses]
        weights = _per_output(loss_weights, self.names, "loss_weights") if loss_weights else None
        self.loss_weights = [1.0] * count if weights is None else [float(w) for w in weights]
        self.metrics = [
            [_resolve_metric(m, loss_fn) for m in group]
            for group, loss_fn in zip(_metric_groups(metrics, self.names), self.losses)
        ]
        self.fused = [_fused_pair(model, k, loss_fn) for k, loss_fn in enumerate(self.losses)]

    def _key(self, k: int, what: str) -> str:
        return what if len(self.names) == 1 else f"{self.names[k]}_{what}"

    def losses_and_grads(self, preds, ys, sample_weight, with_grads: bool = True):
        """{"loss": total, ...per-output losses} and dTotal/dOutput for every output."""
        logs, grads, total = {}, [], 0.0
        for k, (loss_fn, weight) in enumerate(zip(self.losses, self.loss_weights)):
            if self.fused[k] is None:
                value, grad = loss_value_and_grad(
                    loss_fn, preds[k], ys[k], sample_weight, weight, with_grads
                )
            else:
                activation, logits_loss = self.fused[k]
                value, grad = loss_value_and_grad(
                    logits_loss, activation.logits, ys[k], sample_weight, weight, with_grads
                )
                grad = LogitGradient(grad)
            total += weight * value
            if len(self.names) > 1:
                logs[self._key(k, "loss")] = value
            grads.append(grad)
        return {"loss": total, **logs}, grads

    def metric_values(self, preds, ys) -> dict[str, float]:
        return {
            self._key(k, name): fn(ys[k], preds[k])
            for k, group in enumerate(self.metrics)
            for name, fn in group
        }


def _per_output(value, output_names: list[str], what: str) -> list:
    """One entry per output, from one value, a list in output order, or a dict by name."""
    count = len(output_names)
    if isinstance(value, dict):
        unknown = set(value) - set(output_names)
        if unknown:
            raise ValueError(f"{what}: unknown outputs {sorted(unknown)}; outputs: {output_names}")
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{what}: got {len(value)} entries for {count} outputs {output_names}")
        return list(value)
    return [value] * count


def _metric_groups(metrics, output_names: list[str]) -> list[list]:
    """The metrics of each output: one list for all, or a list of lists / a dict by name."""
    if metrics is None:
        return [[] for _ in output_names]
    per_output = isinstance(metrics, dict) or (
        len(output_names) > 1
        and isinstance(metrics, (list, tuple))
        and all(m is None or isinstance(m, (list, tuple)) for m in metrics)
    )
    if not per_output:
        group = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
        return [group for _ in output_names]
    groups = _per_output(metrics, output_names, "metrics")
    return [[] if g is None else list(g) if isinstance(g, (list, tuple)) else [g] for g in groups]


def _resolve_loss(loss) -> Loss:
    if loss is None:
        raise ValueError("no loss: compile(loss=...) with a name such as 'mse' or a Loss")
    loss = names.get("loss", loss)
    if not isinstance(loss, Loss):
        raise TypeError(
            f"loss: expected a name or a numpynn Loss (it needs a backward), got {loss!r}"
        )
    return loss


def _resolve_metric(metric, loss: Loss):
    """(the name shown in the logs, f(y_true, y_pred))."""
    if isinstance(metric, str):
        fn, defaults = names.lookup("metric", metric)
        fn = functools.partial(fn, **defaults) if defaults else fn
    else:
        fn = metric
    if not callable(fn):
        raise TypeError(f"metrics: expected names or functions f(y_true, y_pred), got {metric!r}")
    if fn is metric_functions.accuracy and isinstance(loss, BCEWithLogitsLoss):
        fn = functools.partial(metric_functions.binary_accuracy, threshold=0.0)  # on logits
    return (metric if isinstance(metric, str) else getattr(fn, "__name__", repr(fn))), fn


def _fused_pair(model: Module, index: int, loss: Loss):
    activation = model.output_activation(index)
    for loss_type, activation_type in PROBABILITY_PAIRS:
        if isinstance(loss, loss_type) and isinstance(activation, activation_type):
            return activation, loss.logits_version()
    return None


def loss_value_and_grad(loss_fn: Loss, pred, target, sample_weight, scale=1.0, with_grad=True):
    """The loss (weighted as the module docstring says) and scale * dLoss/dpred."""
    if sample_weight is None:
        value = loss_fn(pred, target)
        return value, (loss_fn.backward(scale) if with_grad else None)
    per_sample = loss_fn.with_reduction("none")
    losses = per_sample(pred, target)
    n = losses.shape[0]
    elements = losses[0].size if losses.ndim > 1 else 1
    w = np.asarray(sample_weight, dtype=np.float64).reshape((n,) + (1,) * (losses.ndim - 1))
    w = w / (n * elements)  # the mean over each sample's elements, then the sum / N
    value = float(np.sum(losses * w))
    if not with_grad:
        return value, None
    return value, per_sample.backward(np.broadcast_to(w * scale, losses.shape))


# --- data ------------------------------------------------------------------------------------


def _as_list(data, count: int, what: str) -> list[np.ndarray]:
    """The arrays of ``count`` inputs (or outputs): one array, or a list of ``count``."""
    if count > 1:
        if not isinstance(data, (list, tuple)) or len(data) != count:
            raise ValueError(
                f"{what}: the model has {count} of them; pass a list of {count} arrays"
            )
        return [np.asarray(d) for d in data]
    return [np.asarray(data)]


def _count(model: Module) -> int:
    return len(getattr(model, "inputs", None) or [None]) if model.multi_input else 1


def _samples(arrays: list[np.ndarray], what: str) -> int:
    sizes = {len(a) if a.ndim else 0 for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"{what}: the arrays hold different numbers of samples {sorted(sizes)}")
    return sizes.pop()


def _sample_weights(ys, sample_weight, class_weight, n: int):
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if len(weights) != n:
            raise ValueError(f"sample_weight: {len(weights)} weights for {n} samples")
    if class_weight:
        if len(ys) != 1:
            raise ValueError("class_weight: only for a model with one output")
        y = ys[0]
        if y.ndim == 2 and y.shape[1] > 1:
            labels = y.argmax(axis=1)
        else:
            labels = np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
        missing = sorted(set(np.unique(labels).tolist()) - {int(c) for c in class_weight})
        if missing:
            raise ValueError(f"class_weight: no weight for classes {missing} present in y")
        table = {int(c): float(w) for c, w in class_weight.items()}
        by_class = np.array([table[int(c)] for c in labels])
        weights = by_class if weights is None else weights * by_class
    return weights


def _take(arrays, index):
    return [a[index] for a in arrays]


@contextlib.contextmanager
def inference_mode(model: Module):
    """Run ``model`` in eval mode, then put every submodule back in the mode it was in."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, mode in modes:
            module.training = mode


def _outputs(out) -> list[np.ndarray]:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def build_if_needed(model: Module, xs: list[np.ndarray]) -> None:
    """Build a lazily sized model (``Dense(8)`` without an input size) from one sample."""
    if not model.built:
        with inference_mode(model):
            model(*[x[:1] for x in xs])


def resolve_optimizer(model: Module, optimizer, xs: list[np.ndarray]):
    """An Optimizer: the given one, or one made from a name (Keras's defaults)."""
    if optimizer is None:
        raise ValueError("no optimizer: pass a name such as 'adam' or an nn.optim optimizer")
    if isinstance(optimizer, str):
        build_if_needed(model, xs)
        return names.get("optimizer", optimizer, model.parameters())
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer: expected a name or an nn.optim optimizer, got {optimizer!r}")
    if not model.built:
        # its lazy layers have no parameters yet, so the optimizer cannot hold them: training
        # would silently leave them at their initial values
        unbuilt = [name for name, m in model.named_modules() if not m.built and m is not model]
        raise ValueError(
            f"the optimizer was made before the model was built: the layers "
            f"{', '.join(unbuilt)} have no "
            "parameters yet, so it would never update them. Build the model first (give the "
            "first layer input_shape=, start a Sequential with nn.Input, or call the model "
            "once), or pass the optimizer by name (optimizer='adam')"
        )
    return optimizer


def prepare_optimizer(model: Module, optimizer, x):
    """``resolve_optimizer`` for the raw ``x`` of fit (an array, a list of arrays for
    several inputs, or a DataLoader)."""
    x = x.x if isinstance(x, DataLoader) else x
    return resolve_optimizer(model, optimizer, _as_list(x, _count(model), "x"))


def _array_batches(xs, ys, weights, batch_size: int, order):
    """(inputs, targets, sample weights) of each batch, in ``order`` (None: as stored)."""
    n = len(xs[0])
    for start in range(0, n, batch_size):
        index = (
            slice(start, start + batch_size) if order is None else order[start : start + batch_size]
        )
        yield _take(xs, index), _take(ys, index), None if weights is None else weights[index]


class _Running:
    """Means of the logs over the samples seen so far."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, logs: dict, size: int) -> None:
        self.count += size
        for key, value in logs.items():
            self.sums[key] = self.sums.get(key, 0.0) + value * size

    def means(self) -> dict[str, float]:
        return {key: total / self.count for key, total in self.sums.items()}


# --- the loops -------------------------------------------------------------------------------


def _step(model, objective: Objective, optimizer, xs, ys, weights) -> dict[str, float]:
    preds = _outputs(model(*xs))
    logs, grads = objective.losses_and_grads(preds, ys, weights)
    optimizer.zero_grad()
    # nothing needs the gradient of the data: only the parameters' share of backward
    model.backward_params(grads[0] if len(grads) == 1 else grads)
    optimizer.step()
    logs.update(objective.metric_values(preds, ys))
    return logs


def train_on_batch(
    model: Module,
    x,
    y,
    *,
    loss,
    optimizer,
    metrics=None,
    loss_weights=None,
    sample_weight=None,
    class_weight=None,
) -> dict[str, float]:
    """One optimisation step on one batch; returns the loss and metrics of that batch."""
    objective = Objective(model, loss, metrics, loss_weights)
    xs = _as_list(x, _count(model), "x")
    ys = _as_list(y, len(objective.names), "y")
    n = _samples(xs + ys, "train_on_batch")
    optimizer = resolve_optimizer(model, optimizer, xs)
    weights = _sample_weights(ys, sample_weight, class_weight, n)
    model.train()
    return _step(model, objective, optimizer, xs, ys, weights)


def fit(
    model: Module,
    x,
    y=None,
    *,
    loss,
    optimizer,
    metrics=None,
    loss_weights=None,
    batch_size: int | None = 32,
    epochs: int = 1,
    verbose: int = 1,
    callbacks: list[Callback] | None = None,
    validation_split: float = 0.0,
    validation_data=None,
    shuffle: bool = True,
    class_weight: dict | None = None,
    sample_weight=None,
    initial_epoch: int = 0,
    seed: Seed = None,
) -> History:
    """Train ``model`` on arrays ``x``, ``y`` for ``epochs`` epochs; return a ``History``.

    Args:
        loss, optimizer, metrics, loss_weights: as ``Model.compile`` takes them (names or
            objects; an optimizer by name gets Keras's defaults).
        batch_size: samples per step; the last batch of an epoch may be smaller.
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        validation_split: the fraction of samples, taken from the *end* of ``x`` and ``y``
            before any shuffling (as Keras does), kept out of training and evaluated after
            each epoch (``val_loss``, ``val_accuracy``, ...).
        validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``;
            takes precedence over ``validation_split``.
        shuffle: visit the samples in a new random order each epoch.
        class_weight: ``{class: weight}``, weighting each sample by its class.
        sample_weight: one weight per sample (see the module docstring).
        initial_epoch: the epoch to start from (to resume); epochs counts from 0.
        seed: int or Generator for the shuffling (default: the library's generator).

    ``x`` may also be a ``nn.data.DataLoader`` of (inputs, targets) batches: each epoch is
    then one pass over it, in its own order and batch size.

    A loss that is NaN or infinite stops training: with a ``TerminateOnNaN`` callback
    quietly, otherwise with a ``FloatingPointError`` naming the epoch and batch.
    """
    objective = Objective(model, loss, metrics, loss_weights)
    loader = x if isinstance(x, DataLoader) else None
    if loader is not None:
        given = {"y": y, "sample_weight": sample_weight, "class_weight": class_weight,
                 "validation_split": validation_split or None}  # fmt: skip
        extra = [name for name, value in given.items() if value is not None]
        if extra or loader.y is None:
            raise ValueError(
                "fit: a DataLoader gives both inputs and targets, DataLoader(x, y, ...); "
                f"{', '.join(extra) or 'its y'} cannot be {'given' if extra else 'missing'} too"
            )
        x, y, batch_size = loader.x, loader.y, loader.batch_size
    if y is None:
        raise ValueError("fit: y (the targets) is required")
    xs = _as_list(x, _count(model), "fit: x")
    ys = _as_list(y, len(objective.names), "fit: y")
    n = _samples(xs + ys, "fit: x and y")
    weights = _sample_weights(ys, sample_weight, class_weight, n)
    validation = None
    if validation_data is not None:
        x_val, y_val, *w_val = validation_data
        vxs = _as_list(x_val, _count(model), "fit: validation x")
        vys = _as_list(y_val, len(objective.names), "fit: validation y")
        vn = _samples(vxs + vys, "fit: validation_data")
        validation = (vxs, vys, _sample_weights(vys, w_val[0] if w_val else None, None, vn))
    elif validation_split:
        if not 0 < validation_split < 1:
            raise ValueError(f"fit: validation_split must lie in (0, 1), got {validation_split}")
        split = int(math.floor(n * (1 - validation_split)))
        if split in (0, n):
            raise ValueError(
                f"fit: validation_split={validation_split} of {n} samples leaves an empty "
                "training or validation set"
            )
        validation = (
            [a[split:] for a in xs],
            [a[split:] for a in ys],
            None if weights is None else weights[split:],
        )
        xs, ys, n = [a[:split] for a in xs], [a[:split] for a in ys], split
        weights = None if weights is None else weights[:split]
    if n == 0:
        raise ValueError("fit: no training samples")
    optimizer = resolve_optimizer(model, optimizer, xs)
    batch_size = batch_size or 32
    history = History()
    extra = (
        [ProgbarLogger(verbose)]
        if verbose and not any(isinstance(c, ProgbarLogger) for c in callbacks or [])
        else []
    )
    params = {
        "epochs": epochs,
        "steps": len(loader) if loader is not None else math.ceil(n / batch_size),
        "batch_size": batch_size,
        "samples": n,
        "verbose": verbose,
    }
    hooks = CallbackList([*(callbacks or []), history, *extra], model, optimizer, params)
    rng = get_rng(seed)
    model.stop_training = False
    hooks.on_train_begin({})
    for epoch in range(initial_epoch, epochs):
        model.train()
        hooks.on_epoch_begin(epoch, {})
        if loader is not None:
            batches = (([xb], [yb], None) for xb, yb in loader)
        else:
            order = rng.permutation(n) if shuffle else None
            batches = _array_batches(xs, ys, weights, batch_size, order)
        running = _Running()
        for batch, (xb, yb, wb) in enumerate(batches):
            hooks.on_train_batch_begin(batch, {})
            try:
                logs = _step(model, objective, optimizer, xb, yb, wb)
            except FloatingPointError as error:
                hooks.on_train_batch_end(batch, {**running.means(), "loss": math.nan})
                if not model.stop_training:
                    raise FloatingPointError(
                        f"fit: epoch {epoch + 1}, batch {batch + 1}: {error}"
                    ) from None
                break
            running.add(logs, len(yb[0]))
            hooks.on_train_batch_end(batch, running.means())
            if model.stop_training:
                break
        epoch_logs = running.means() if running.count else {"loss": math.nan}
        if validation is not None and running.count:
            val = _evaluate(model, objective, *validation, batch_size)
            epoch_logs.update({f"val_{key}": value for key, value in val.items()})
        hooks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    hooks.on_train_end({})
    return history


def evaluate(
    model: Module,
    x,
    y,
    *,
    loss,
    metrics=None,
    loss_weights=None,
    batch_size: int | None = 32,
    sample_weight=None,
    verbose: int = 0,
) -> dict[str, float]:
    """The loss and metrics of ``model`` on ``x``, ``y`` in eval mode, as means over the
    samples. A non-finite loss is reported as NaN (it never counts as an improvement)."""
    objective = Objective(model, loss, metrics, loss_weights)
    xs = _as_list(x, _count(model), "evaluate: x")
    ys = _as_list(y, len(objective.names), "evaluate: y")
    weights = _sample_weights(ys, sample_weight, None, _samples(xs + ys, "evaluate: x and y"))
    return _evaluate(model, objective, xs, ys, weights, batch_size, verbose)


def _evaluate(model, objective, xs, ys, weights, batch_size, verbose=0) -> dict[str, float]:
    n = len(xs[0])
    batch_size = batch_size or 32
    running = _Running()
    bar = _bar(verbose, math.ceil(n / batch_size), "Evaluate")
    with inference_mode(model):
        for start in range(0, n, batch_size):
            index = slice(start, start + batch_size)
            preds = _outputs(model(*_take(xs, index)))
            yb, wb = _take(ys, index), None if weights is None else weights[index]
            try:
                logs, _ = objective.losses_and_grads(preds, yb, wb, with_grads=False)
            except FloatingPointError:
                logs = {"loss": math.nan}
            logs.update(objective.metric_values(preds, yb))
            running.add(logs, len(preds[0]))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(running.means(), refresh=False)
    if bar is not None:
        bar.close()
    return running.means()


def predict(model: Module, x, batch_size: int | None = 32, verbose: int = 0):
    """The model's outputs for ``x``, in eval mode, computed ``batch_size`` samples at a
    time; a list of arrays for a model with several outputs."""
    xs = _as_list(x, _count(model), "predict: x")
    n = _samples(xs, "predict: x")
    batch_size = batch_size or 32
    bar = _bar(verbose, math.ceil(n / batch_size), "Predict")
    parts: list[list[np.ndarray]] = []
    with inference_mode(model):
        for start in range(0, n, batch_size):
            parts.append(_outputs(model(*_take(xs, slice(start, start + batch_size)))))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    if not parts:
        raise ValueError("predict: x holds no samples")
    outputs = [np.concatenate(column) for column in zip(*parts)]
    return outputs[0] if len(outputs) == 1 else outputs


def _bar(verbose: int, total: int, title: str):
    if verbose != 1:
        return None
    from tqdm import tqdm  # imported here: `import numpynn` stays light

    return tqdm(total=total, desc=title, unit="batch", dynamic_ncols=True)

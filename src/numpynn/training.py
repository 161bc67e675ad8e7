"""The training loops as plain functions: ``fit``, ``evaluate``, ``predict``, ``train_on_batch``.

``model.fit`` (the Keras methods) calls these; a PyTorch-style user can call them on any
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
where ``rng = nn.get_rng(seed)`` is drawn from once per epoch. What is minimised (losses,
weights, the softmax + cross-entropy shortcut) is ``objective.py``'s.
"""

from __future__ import annotations

import contextlib
import math
import numbers

import numpy as np

from numpynn import names
from numpynn._checks import numeric_array
from numpynn._config import Seed, get_rng
from numpynn.callbacks import Callback, CallbackList, History, ProgbarLogger, Progress
from numpynn.data import DataLoader
from numpynn.module import Module
from numpynn.objective import Objective, sample_weights


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
        loss, metrics, loss_weights: as ``Model.compile`` takes them (names or objects), or
            ``loss`` a compiled ``Objective``.
        optimizer: a name (Keras's defaults) or an ``nn.optim`` optimizer.
        batch_size: samples per step (a positive integer; None: 32); the last batch of an
            epoch may be smaller.
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        validation_split: the fraction of samples, taken from the *end* of ``x`` and ``y``
            before any shuffling (as Keras does), kept out of training and evaluated after
            each epoch (``val_loss``, ``val_accuracy``, ...).
        validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``;
            takes precedence over ``validation_split``.
        shuffle: visit the samples in a new random order each epoch.
        class_weight: ``{class: weight}``, weighting each sample by its class.
        sample_weight: one finite, non-negative weight per sample (see ``objective.py``).
        initial_epoch: the epoch to start from (to resume); epochs counts from 0.
        seed: int or Generator for the shuffling (default: the library's generator).

    ``x`` may also be a ``nn.data.DataLoader`` of (inputs, targets) batches: each epoch is
    then one pass over it, in its own order and batch size.

    Training stops when it cannot go on: a loss that is NaN or infinite, or that diverged
    (over a million times its first value, ``Watch``), before the step that would apply
    it, and an optimizer step that overflows (a learning rate far too large, as Adam at
    ``lr=1e9``) at that step: with a ``TerminateOnNaN`` callback quietly, otherwise with a
    ``FloatingPointError`` naming the epoch and batch and what to change.

    Data-parallel training over MPI is ``numpynn.distributed.fit`` (the same arguments);
    ``model.fit`` chooses it by itself under ``mpiexec``/``srun``.
    """
    objective = as_objective(model, loss, metrics, loss_weights)
    _check_epochs(epochs, initial_epoch)
    data = Samples.from_fit_arguments(model, objective, x, y, sample_weight, class_weight)
    data.batch_size = _batch_size(batch_size) if data.loader is None else data.loader.batch_size
    data, validation = data.split(model, objective, validation_split, validation_data)
    optimizer = resolve_optimizer(model, optimizer, data.xs)
    history = History()
    hooks = _callback_list(model, optimizer, callbacks, history, verbose, epochs, data, validation)
    rng, watch = get_rng(seed), Watch(data.origin)
    model.stop_training = False
    hooks.on_train_begin({})
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch, {})
        batches = data.epoch(rng, shuffle)
        logs = train_epoch(model, objective, optimizer, batches, hooks, epoch, watch)
        if validation is not None and logs:
            val = evaluate_samples(model, objective, validation)
            logs.update({f"val_{key}": value for key, value in val.items()})
        hooks.on_epoch_end(epoch, logs or {"loss": math.nan})
        if model.stop_training:
            break
    hooks.on_train_end({})
    return history


def train_epoch(
    model, objective, optimizer, batches, hooks, epoch: int, watch: Watch | None = None
) -> dict[str, float]:
    """One pass over ``batches``; the means of the logs over the samples it trained on.
    ``watch`` (one per ``fit``) names the arrays given in shape errors and stops divergence."""
    model.train()
    running = _Running()
    for batch, (xb, yb, wb) in enumerate(batches):
        hooks.on_train_batch_begin(batch, {})
        try:
            logs = train_step(model, objective, optimizer, xb, yb, wb, watch)
        except FloatingPointError as error:
            hooks.on_train_batch_end(batch, {**running.means(), "loss": math.nan})
            if not model.stop_training:  # no TerminateOnNaN: say where it happened
                raise FloatingPointError(
                    f"fit: epoch {epoch + 1}, batch {batch + 1}: {error}"
                ) from None
            break
        running.add(logs, len(yb[0]))
        hooks.on_train_batch_end(batch, running.means())
        if model.stop_training:
            break
    return running.means()


def train_step(
    model, objective: Objective, optimizer, xs, ys, weights, watch: Watch | None = None
) -> dict[str, float]:
    """pred = model(x); loss and dloss/dpred; zero_grad; backward; step. A FloatingPointError
    stops it when the loss is not finite or has diverged (see ``Watch``), before anything
    reaches the weights, and when the step overflows (which leaves them part updated)."""
    watch = watch or Watch()
    with naming_given_shapes(watch.origin, len(ys[0])):
        preds = _outputs(model(*xs))
    logs, grads = objective.losses_and_grads(preds, ys, weights)
    watch.check_loss(logs["loss"], optimizer)
    optimizer.zero_grad()
    # nothing needs the gradient of the data: only the parameters' share of backward
    model.backward_params(grads[0] if len(grads) == 1 else grads)
    try:
        with np.errstate(over="raise", invalid="raise"):
            optimizer.step()
    except FloatingPointError as error:  # Adam's g^2 at inf would quietly freeze the weights
        raise diverged(f"the optimizer's update overflowed ({error})", optimizer) from None
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
    objective = as_objective(model, loss, metrics, loss_weights)
    data = Samples.from_arrays(model, objective, x, y, "train_on_batch")
    weights = sample_weights(data.ys, sample_weight, class_weight, len(data), "train_on_batch")
    optimizer = resolve_optimizer(model, optimizer, data.xs)
    model.train()
    return train_step(model, objective, optimizer, data.xs, data.ys, weights, Watch(data.origin))


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
    objective = as_objective(model, loss, metrics, loss_weights)
    data = Samples.from_arrays(model, objective, x, y, "evaluate")
    data.weights = sample_weights(data.ys, sample_weight, None, len(data), "evaluate")
    data.batch_size = _batch_size(batch_size)
    return evaluate_samples(model, objective, data, verbose)


def evaluate_samples(model, objective: Objective, data: Samples, verbose: int = 0):
    running = _Running()
    bar = Progress(verbose, data.steps(), "Evaluate")
    with inference_mode(model):
        for xb, yb, wb in data.epoch(None, shuffle=False):
            with naming_given_shapes(data.origin, data.batch_size):
                preds = _outputs(model(*xb))
            try:
                logs, _ = objective.losses_and_grads(preds, yb, wb, with_grads=False)
            except FloatingPointError:
                logs = {"loss": math.nan}
            logs.update(objective.metric_values(preds, yb))
            running.add(logs, len(preds[0]))
            bar.update(bar.done + 1, running.means())
    bar.close()
    return running.means()


def predict(model: Module, x, batch_size: int | None = 32, verbose: int = 0):
    """The model's outputs for ``x``, in eval mode, computed ``batch_size`` samples at a
    time; a list of arrays for a model with several outputs.

    One sample without its batch axis (one axis fewer than the model's input, see
    ``one_sample``) gives its output without the batch axis, as ``model(x)`` does."""
    given = input_arrays(model, x, "predict: x")
    one = one_sample(model, given)
    xs = [a[None] for a in given] if one else given
    n, batch_size = _sample_count(xs, "predict: x"), _batch_size(batch_size)
    if n == 0:
        raise ValueError("predict: x holds no samples")
    origin = ("predict: x", [a.shape for a in given], one)
    bar = Progress(verbose, math.ceil(n / batch_size), "Predict")
    parts: list[list[np.ndarray]] = []
    with inference_mode(model), naming_given_shapes(origin, batch_size):
        for start in range(0, n, batch_size):
            parts.append(_outputs(model(*[a[start : start + batch_size] for a in xs])))
            bar.update(start // batch_size + 1)
    bar.close()
    outputs = [
        np.concatenate(column)[0] if one else np.concatenate(column) for column in zip(*parts)
    ]
    return outputs[0] if len(outputs) == 1 else outputs


# --- what is trained on ----------------------------------------------------------------------


class Samples:
    """The inputs, targets and sample weights of a data set, and its batches.

    ``xs`` and ``ys`` are lists (one array per model input and output); ``loader`` is set
    when ``fit`` was given a DataLoader, whose own order and batches are then used.
    ``origin`` is ``(what, shapes, one_sample)``: the shapes as the user gave them, for
    errors (see ``naming_given_shapes``).
    """

    def __init__(self, xs, ys, weights=None, batch_size: int = 32, loader=None, origin=None):
        self.xs, self.ys, self.weights = xs, ys, weights
        self.batch_size, self.loader, self.origin = batch_size, loader, origin

    @classmethod
    def from_arrays(cls, model, objective, x, y, what: str) -> Samples:
        """The samples of ``x`` and ``y``; one sample without its batch axis (see
        ``one_sample``) becomes a batch of one, its target too."""
        xs = _arrays(x, input_count(model), f"{what}: x")
        ys = _arrays(y, len(objective.names), f"{what}: y", labels=True)
        one = one_sample(model, xs)
        origin = (f"{what}: x", [a.shape for a in xs], one)
        if one:
            xs, ys = [a[None] for a in xs], [a[None] for a in ys]
        _sample_count(xs + ys, f"{what}: x and y")
        return cls(xs, ys, origin=origin)

    @classmethod
    def from_fit_arguments(cls, model, objective, x, y, sample_weight, class_weight) -> Samples:
        loader = x if isinstance(x, DataLoader) else None
        if loader is not None:
            given = {"y": y, "sample_weight": sample_weight, "class_weight": class_weight}
            extra = [name for name, value in given.items() if value is not None]
            if extra or loader.y is None:
                raise ValueError(
                    "fit: a DataLoader gives both inputs and targets, DataLoader(x, y, ...); "
                    f"{', '.join(extra) or 'its y'} cannot be {'given' if extra else 'missing'} too"
                )
            x, y = loader.x, loader.y
        if y is None:
            raise ValueError("fit: y (the targets) is required")
        data = cls.from_arrays(model, objective, x, y, "fit")
        data.weights = sample_weights(data.ys, sample_weight, class_weight, len(data), "fit")
        data.loader = loader
        return data

    def __len__(self) -> int:
        return len(self.xs[0])

    def steps(self) -> int:
        return (
            len(self.loader) if self.loader is not None else math.ceil(len(self) / self.batch_size)
        )

    def take(self, index) -> Samples:
        weights = None if self.weights is None else self.weights[index]
        xs, ys = [a[index] for a in self.xs], [a[index] for a in self.ys]
        return Samples(xs, ys, weights, self.batch_size, origin=self.origin)

    def split(self, model, objective, validation_split: float, validation_data):
        """(training samples, validation samples or None), as fit's arguments ask."""
        if validation_data is not None:
            x_val, y_val, *w_val = validation_data
            validation = Samples.from_arrays(model, objective, x_val, y_val, "fit: validation_data")
            validation.weights = sample_weights(
                validation.ys, w_val[0] if w_val else None, None, len(validation), "validation_data"
            )
            validation.batch_size = self.batch_size
            return self._nonempty(), validation
        if not validation_split:
            return self._nonempty(), None
        if self.loader is not None:
            raise ValueError(
                "fit: validation_split cannot split a DataLoader; pass validation_data"
            )
        if not 0 < validation_split < 1:
            raise ValueError(f"fit: validation_split must lie in (0, 1), got {validation_split}")
        n = len(self)
        at = int(math.floor(n * (1 - validation_split)))
        if at in (0, n):
            raise ValueError(
                f"fit: validation_split={validation_split} of {n} samples leaves an empty "
                "training or validation set"
            )
        return self.take(slice(None, at)), self.take(slice(at, None))

    def _nonempty(self) -> Samples:
        if len(self) == 0:
            raise ValueError("fit: no training samples")
        return self

    def epoch(self, rng, shuffle: bool):
        """(inputs, targets, weights) of each batch of one pass, in a new order if shuffled."""
        if self.loader is not None:
            yield from (([xb], [yb], None) for xb, yb in self.loader)
            return
        n = len(self)
        order = rng.permutation(n) if shuffle else None
        for start in range(0, n, self.batch_size):
            end = start + self.batch_size
            index = slice(start, end) if order is None else order[start:end]
            weights = None if self.weights is None else self.weights[index]
            yield [a[index] for a in self.xs], [a[index] for a in self.ys], weights


def _arrays(data, count: int, what: str, labels: bool = False) -> list[np.ndarray]:
    """The numeric arrays of ``count`` inputs (or outputs): one array, or a list of ``count``
    (``labels``: targets, whose text asks for a ``LabelEncoder``)."""
    if count > 1 and (not isinstance(data, (list, tuple)) or len(data) != count):
        raise ValueError(f"{what}: the model has {count} of them; pass a list of {count} arrays")
    return [numeric_array(item, what, labels) for item in (data if count > 1 else [data])]


def input_arrays(model: Module, x, what: str = "x") -> list[np.ndarray]:
    """The arrays of the model's inputs: ``x``, or a list of them for several inputs."""
    return _arrays(x, input_count(model), what)


def _sample_count(arrays: list[np.ndarray], what: str) -> int:
    sizes = {len(a) if a.ndim else 0 for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"{what}: the arrays hold different numbers of samples {sorted(sizes)}")
    return sizes.pop()


def one_sample(model: Module, xs: list[np.ndarray]) -> bool:
    """True when ``xs`` is one sample without its batch axis: each array has one axis fewer
    than the model's input (``(64,)`` for ``Input(shape=(64,))``, ``(C, H, W)`` for an image
    model, ``(T, F)`` for a sequence model), as PyTorch's layers take an unbatched input.
    Decided by the number of axes alone, from the model's ``sample_shapes()`` (a
    ``Sequential`` or functional ``Model``); False for a model that does not know them."""
    shapes = model.sample_shapes() if hasattr(model, "sample_shapes") else None
    if shapes is None or len(shapes) != len(xs):
        return False
    if len(xs) == 1:  # at every call of a container: kept short
        return xs[0].ndim == len(shapes[0])
    ranks = [x.ndim == len(shape) for x, shape in zip(xs, shapes)]
    if any(ranks) and not all(ranks):
        given = ", ".join(str(x.shape) for x in xs)
        raise ValueError(
            f"{model.describe()}: the inputs {given} mix one sample and a batch; give every "
            "input with its batch axis, or every input as one sample"
        )
    return ranks[0]


class Watch:
    """What ``fit`` checks at every step besides the loop: the shapes the user gave (so that
    a layer's shape error names them, see ``naming_given_shapes``) and divergence: a batch
    loss over ``DIVERGED`` (1e6) times ``max(first batch loss, 1)`` raises FloatingPointError
    before its step, as a NaN loss does (a rise no training recovers from: a learning rate
    far too large)."""

    DIVERGED = 1e6

    def __init__(self, origin: tuple | None = None):
        self.origin, self.first_loss = origin, None

    def check_loss(self, loss: float, optimizer) -> None:
        if self.first_loss is None:
            self.first_loss = loss
        elif loss > self.DIVERGED * max(self.first_loss, 1.0):
            first = f"{self.DIVERGED:g} times its first value {self.first_loss:.3g}"
            raise diverged(f"the loss is {loss:.3g}, over {first}", optimizer)


def diverged(what: str, optimizer) -> FloatingPointError:
    """The error that stops a training that diverged, naming the learning rate."""
    lr = getattr(optimizer, "param_groups", [{}])[0].get("lr")
    rate = f" (lr={lr:g})" if isinstance(lr, numbers.Real) else ""
    return FloatingPointError(
        f"training diverged: {what}. The learning rate{rate} is likely too large or the data "
        "far from unit scale: lower the rate, scale inputs and targets "
        "(nn.data.StandardScaler), or clip the gradients (nn.optim.clip_grad_norm_)"
    )


@contextlib.contextmanager
def naming_given_shapes(origin: tuple | None, batch_size: int | None = None):
    """Add the shapes the user gave to a shape error that the model raises inside: its layers
    see a batch of one (for one sample) or slices of ``batch_size`` samples, not the arrays
    given. ``origin`` is ``(what, shapes, one_sample)``, as ``Samples.origin`` keeps it."""
    try:
        yield
    except ValueError as error:
        if origin is None:
            raise
        what, shapes, one = origin
        sliced = batch_size is not None and any(s and s[0] > batch_size for s in shapes)
        if not (one or sliced):
            raise  # the layer saw the arrays as given: its message names them
        how = "one sample, run as a batch of one" if one else f"run in batches of {batch_size}"
        given = ", ".join(str(shape) for shape in shapes)
        raise ValueError(f"{what} of shape {given} ({how}): {error}") from None


def input_count(model: Module) -> int:
    return len(getattr(model, "inputs", None) or [None]) if model.multi_input else 1


def _batch_size(batch_size) -> int:
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size: expected a positive integer, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size}")
    return int(batch_size)


def _check_epochs(epochs, initial_epoch) -> None:
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"fit: {name} must be a non-negative integer, got {value!r}")


# --- the pieces around the loop ---------------------------------------------------------------


def as_objective(model: Module, loss, metrics=None, loss_weights=None) -> Objective:
    """``loss`` itself when it is a compiled Objective, else one made from the arguments."""
    if isinstance(loss, Objective):
        return loss
    return Objective(model, loss, metrics, loss_weights)


def resolve_optimizer(model: Module, optimizer, xs: list[np.ndarray]):
    """An Optimizer: the given one, or one made from a name (Keras's defaults) once the
    model is built (from one sample of ``xs`` if it is lazy)."""
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
            f"{', '.join(unbuilt)} have no parameters yet, so it would never update them. "
            "Build the model first (give the first layer input_shape=, start a Sequential "
            "with nn.Input, or call the model once), or pass the optimizer by name "
            "(optimizer='adam')"
        )
    return optimizer


def build_if_needed(model: Module, xs: list[np.ndarray]) -> None:
    """Build a lazily sized model (``Dense(8)`` without an input size) from one sample."""
    if not model.built:
        with inference_mode(model):
            model(*[x[:1] for x in xs])


def _callback_list(model, optimizer, callbacks, history, verbose, epochs, data, validation):
    progress = (
        []
        if not verbose or any(isinstance(c, ProgbarLogger) for c in callbacks or [])
        else [ProgbarLogger(verbose)]
    )
    params = {
        "epochs": epochs,
        "steps": data.steps(),
        "batch_size": data.batch_size,
        "samples": len(data),
        "verbose": verbose,
        "do_validation": validation is not None,
    }
    return CallbackList([*(callbacks or []), history, *progress], model, optimizer, params)


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
        return {key: total / self.count for key, total in self.sums.items()} if self.count else {}

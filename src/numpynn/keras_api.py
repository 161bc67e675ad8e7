"""Keras's methods, shared by ``Sequential`` and the functional ``Model``: ``compile``,
``fit``, ``evaluate``, ``predict``, ``train_on_batch``, ``summary``, ``save``; and layer names.

``compile`` decides everything once: the loss, the metrics and the softmax + cross-entropy
shortcut go into one ``Objective``, and the optimizer is made (from a name, with Keras's
defaults) as soon as the model has its parameters. ``fit`` and the others then forward to the
plain functions of ``training.py``.

>>> import numpy as np, numpynn as nn
>>> model = nn.Sequential(nn.Input(shape=(2,)), nn.Dense(1))
>>> model.compile(optimizer="sgd", loss="mse")
>>> type(model.optimizer).__name__                 # made once, at compile
'SGD'
>>> float(model.train_on_batch(np.ones((4, 2)), np.zeros((4, 1)))) >= 0
True
"""

from __future__ import annotations

from numpynn import io, names, training
from numpynn._config import wants_data_parallel
from numpynn.callbacks import History
from numpynn.data import DataLoader
from numpynn.module import Module
from numpynn.objective import Objective
from numpynn.summary import summary_text


class LayerNames:
    """The unique name of each layer (and Input) of one model, given as it joins the model.

    A name the user gave is kept (two equal ones are an error); a name an earlier model gave
    (``dense_1``) is kept where it is still free; the others become base_1, base_2, ...,
    skipping taken names, and a layer without a name keeps the one it gets here.
    """

    def __init__(self, owner: str):
        self.owner = owner
        self.of: dict[object, str] = {}  # keyed by the layer itself: copies and pickles keep it
        self._holder: dict[str, object] = {}  # name -> the member holding it
        self._counters: dict[str, int] = {}

    def add(self, member, base: str) -> str:
        name = member.name
        if name and not member_is_auto_named(member):
            if name in self._holder:
                if not member_is_auto_named(self._holder[name]):
                    raise ValueError(
                        f"{self.owner}: two layers or inputs are named {name!r}; names are unique"
                    )
                self._rename(self._holder[name])  # the user's name wins over a generated one
        elif not name or name in self._holder:
            name = self._next(base)
            if isinstance(member, Module) and member.name is None:
                member._name, member._auto_named = name, True
        self.of[member], self._holder[name] = name, member
        return name

    def _next(self, base: str) -> str:
        count = self._counters.get(base, 0) + 1
        while f"{base}_{count}" in self._holder:
            count += 1
        self._counters[base] = count
        return f"{base}_{count}"

    def _rename(self, member) -> None:
        old = self.of[member]
        new = self._next(old.rsplit("_", 1)[0])
        if member.name == old:
            member._name = new
        del self._holder[old]
        self.of[member], self._holder[new] = new, member


def member_is_auto_named(member) -> bool:
    return getattr(member, "_auto_named", False)


class KerasMethods:
    """compile / fit / evaluate / predict / summary / save, shared by Sequential and Model.

    A class using it keeps ``self._layers`` (in order), ``self._names`` (a ``LayerNames``)
    and provides ``output_names`` and ``summary_rows()``.
    """

    optimizer = None
    history: History | None = None
    metadata: dict | None = None  # JSON saved with the model (the CLI keeps class names here)
    _objective: Objective | None = None
    _compiled: dict | None = None  # compile's arguments, as saved in model files
    _one_sample = False  # the last forward took one sample without its batch axis

    # --- one sample without its batch axis -----------------------------------------------------
    # The rule of both containers, and of predict/evaluate/train_on_batch (training.one_sample):
    # an input with one axis fewer than the model's is one sample, and its output comes back
    # without the batch axis, as PyTorch's layers do with an unbatched input.

    def _batch_of_one(self, xs: tuple) -> tuple:
        """``xs``, with a batch axis added if they are one sample (remembered for the output
        and for backward)."""
        self._one_sample = training.one_sample(self, list(xs))
        return tuple(x[None] for x in xs) if self._one_sample else xs

    def _as_given(self, out):
        """``out`` (an array, or a list or tuple of them) without the batch axis that
        ``_batch_of_one`` added."""
        if not self._one_sample:
            return out
        return type(out)(o[0] for o in out) if isinstance(out, (list, tuple)) else out[0]

    def _batched_grad(self, grad):
        """The gradient of an unbatched output, with the batch axis back."""
        if not self._one_sample:
            return grad
        return type(grad)(g[None] for g in grad) if isinstance(grad, (list, tuple)) else grad[None]

    @property
    def layers(self) -> list[Module]:
        """The layers, in order."""
        return list(self._layers)

    def layer_name(self, layer: Module) -> str:
        """The name of ``layer`` in this model (``dense_1``, or the one the user gave)."""
        return self._names.of[layer]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Module:
        """The layer called ``name`` (or at position ``index``)."""
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if self.layer_name(layer) == name:
                return layer
        known = ", ".join(self.layer_name(layer) for layer in self._layers)
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are {known}")

    # --- training ----------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None) -> None:
        """Choose the optimizer, loss and metrics for ``fit`` and ``evaluate``.

        Args:
            optimizer: a name (``"adam"``, ``"sgd"``, ... with Keras's defaults) or an
                optimizer built on ``model.parameters()``. A name becomes an optimizer here,
                or at the first ``fit`` if the model has not got its parameters yet.
            loss: a name (``"categorical_crossentropy"``, ``"mse"``, ...) or a Loss; for
                several outputs a list or a dict by output name.
            metrics: names (``"accuracy"``, ``"mae"``, ...) or functions f(y_true, y_pred).
            loss_weights: weights of the outputs' losses in the total.
        """
        objective = Objective(self, loss, metrics, loss_weights)  # unknown names fail here
        if isinstance(optimizer, str):
            names.lookup("optimizer", optimizer)
            if self.built and self.parameters():
                optimizer = names.get("optimizer", optimizer, self.parameters())
        else:
            training.resolve_optimizer(self, optimizer, [])
        self.optimizer, self._objective = optimizer, objective
        self._compiled = {"loss": loss, "metrics": metrics, "loss_weights": loss_weights}

    def _compiled_objective(self, what: str) -> Objective:
        if self._objective is None:
            raise RuntimeError(
                f"{what}: the model is not compiled; call "
                "model.compile(optimizer=..., loss=...) first"
            )
        return self._objective

    def _optimizer_for(self, x):
        """The compiled optimizer; one given by name before the model was built is made now,
        once, after building the model from ``x``."""
        if isinstance(self.optimizer, str):
            xs = training.input_arrays(self, x.x if isinstance(x, DataLoader) else x, "x")
            self.optimizer = training.resolve_optimizer(self, self.optimizer, xs)
        return self.optimizer

    def fit(
        self,
        x,
        y=None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int = 1,
        callbacks=None,
        validation_split: float = 0.0,
        validation_data=None,
        shuffle: bool = True,
        class_weight=None,
        sample_weight=None,
        initial_epoch: int = 0,
        seed=None,
        distributed: bool | None = None,
    ) -> History:
        """Train for ``epochs`` epochs; see ``numpynn.training.fit`` for every argument.
        Returns a History (also kept as ``model.history``); a second ``fit`` continues with
        the same optimizer and its state.

        Under ``mpiexec``/``srun`` with several ranks (or with ``distributed=True``, or an
        optimizer wrapped by ``DistributedOptimizer``) it trains data-parallel: see
        ``numpynn.distributed.fit``; ``distributed=False`` keeps every rank on its own."""
        objective = self._compiled_objective("fit")
        optimizer = self._optimizer_for(x)
        train = training.fit
        if wants_data_parallel(distributed, optimizer):
            from numpynn import distributed as data_parallel  # mpi4py only for such runs

            train = data_parallel.fit
        self.history = train(
            self,
            x,
            y,
            loss=objective,
            optimizer=optimizer,
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            shuffle=shuffle,
            class_weight=class_weight,
            sample_weight=sample_weight,
            initial_epoch=initial_epoch,
            seed=seed,
        )
        return self.history

    def evaluate(
        self, x, y, batch_size=None, verbose: int = 1, sample_weight=None, return_dict=False
    ):
        """The loss (and metrics) on ``x``, ``y``: a float, a list ``[loss, metric, ...]``, or
        with ``return_dict`` a dict by name. ``x`` may be one sample without its batch axis
        (``y`` then its target), as for ``predict``."""
        objective = self._compiled_objective("evaluate")
        logs = training.evaluate(
            self, x, y, loss=objective, batch_size=batch_size, sample_weight=sample_weight,
            verbose=verbose,
        )  # fmt: skip
        return _result(logs, return_dict)

    def predict(self, x, batch_size: int | None = None, verbose: int = 0):
        """The outputs for ``x`` in eval mode (Dropout off). One sample without its batch axis
        (one axis fewer than the model's input: ``(64,)``, ``(C, H, W)``, ``(T, F)``) gives
        its output without the batch axis, as ``model(x)`` and PyTorch's layers do."""
        return training.predict(self, x, batch_size=batch_size, verbose=verbose)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One optimisation step on one batch (or one sample without its batch axis); its
        loss (and metrics)."""
        objective = self._compiled_objective("train_on_batch")
        logs = training.train_on_batch(
            self, x, y, loss=objective, optimizer=self._optimizer_for(x),
            sample_weight=sample_weight, class_weight=class_weight,
        )  # fmt: skip
        return _result(logs, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict: bool = False):
        """The loss (and metrics) of one batch, in eval mode."""
        objective = self._compiled_objective("test_on_batch")
        size = max(len(training.input_arrays(self, x, "x")[0]), 1)
        logs = training.evaluate(
            self, x, y, loss=objective, batch_size=size, sample_weight=sample_weight
        )
        return _result(logs, return_dict)

    def predict_on_batch(self, x):
        """The outputs for one batch (or one sample without its batch axis), at once."""
        return training.predict(
            self, x, batch_size=max(len(training.input_arrays(self, x, "x")[0]), 1)
        )

    # --- description and files ---------------------------------------------------------------

    def summary(self, print_fn=print) -> None:
        """Print a table of the layers: name (type), output shape, parameter count (and, for
        a functional model, the inputs of each layer), then the totals."""
        print_fn(summary_text(self))

    def summary_text(self) -> str:
        return summary_text(self)

    def save(self, path, include_optimizer: bool = True) -> None:
        """Write the architecture, the weights and (when compiled) the loss, metrics and
        optimizer state to one ``.npz`` file; ``nn.load_model(path)`` reads it back."""
        optimizer = self.optimizer if include_optimizer else None
        io.save_model(self, path, optimizer, self._compile_config(), self.metadata)

    def save_weights(self, path) -> None:
        io.save_weights(self, path)

    def load_weights(self, path) -> None:
        io.load_weights(self, path)

    def _compile_config(self) -> dict | None:
        if self._compiled is None:
            return None
        loss = self._compiled["loss"]
        if isinstance(loss, dict):
            loss = [loss.get(name) for name in self.output_names]
        loss = [_loss_entry(item) for item in loss] if isinstance(loss, list) else _loss_entry(loss)
        return {
            "loss": loss,
            "metrics": _metric_entries(self._compiled["metrics"]),
            "loss_weights": self._compiled["loss_weights"],
            "optimizer": self.optimizer if isinstance(self.optimizer, str) else None,
        }


def _loss_entry(loss):
    return loss if loss is None or isinstance(loss, str) else names.serialize(loss)


def _metric_entries(metrics):
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, dict):
        return {k: _metric_entries(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [_metric_entries(m) for m in metrics]
    for name in names.available("metric"):
        if names.lookup("metric", name)[0] is metrics:
            return name
    raise TypeError(
        f"save: the metric {metrics!r} has no name; register it with "
        "@nn.names.register('metric', 'its_name') so the compiled model can be saved"
    )


def _result(logs: dict, return_dict: bool):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values

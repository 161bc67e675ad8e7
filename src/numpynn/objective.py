"""What ``fit`` minimises and reports: the losses, their weights, the metrics, decided once.

``Objective(model, loss, metrics, loss_weights)`` resolves names (``"mse"``, ``"accuracy"``)
into objects once, at ``compile`` (or at the start of ``nn.fit``), and then gives, for a
batch of predictions, the loss values and the gradient to hand to ``model.backward``.

Two Keras habits are handled exactly:

- **Probabilities and a probability loss.** When an output is made by Softmax and the loss
  is ``categorical_crossentropy`` on probabilities (or Sigmoid and ``binary_crossentropy``),
  the loss is computed from the activation's input with the logits version of the loss,
  and its gradient (p - y) is handed back through the activation as a ``LogitGradient``,
  which the activation passes on unchanged. The value is the same; the gradient stays
  exact where the probabilities round to 0 or 1 (the chain rule through p would compute
  0 * inf there). Which outputs get this is decided here, once, from the model's output
  layers.
- **Sample and class weights.** With weights w_i, the loss is sum_i w_i l_i / N, where l_i
  is the mean loss of sample i: Keras's definition; ``class_weight[c]`` weighs the samples
  of class c, and both kinds of weight multiply. Weights must be finite and non-negative.

>>> import numpy as np, numpynn as nn
>>> model = nn.Sequential(nn.Input(shape=(3,)), nn.Dense(2, activation="softmax"))
>>> objective = Objective(model, "categorical_crossentropy", ["accuracy"])
>>> objective.fused[0][0] is model[0].activation    # the loss will read the logits
True
"""

from __future__ import annotations

import functools

import numpy as np

from numpynn import metrics as metric_functions
from numpynn import names
from numpynn.layers.activation import Activation, LogitGradient, Sigmoid, Softmax
from numpynn.layers.keras_mixin import KerasLayer
from numpynn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CategoricalCrossentropy,
    CrossEntropyLoss,
    Loss,
)
from numpynn.module import Module


class Objective:
    """One loss per output (with its weight) and the metrics of each output.

    Args:
        model: the model whose outputs are scored (its ``output_names`` name them).
        loss: a Loss, a name (``"mse"``), or for several outputs a list or a dict by output
            name of them; one loss for several outputs applies to each.
        metrics: names or functions ``f(y_true, y_pred)`` for every output, or a list / dict
            of such lists, one per output.
        loss_weights: the weight of each output's loss in the total (default 1 each).
    """

    def __init__(self, model: Module, loss, metrics=None, loss_weights=None):
        self.names = output_names(model)
        losses = _per_output(loss, self.names, "loss")
        self.losses: list[Loss] = [_resolve_loss(item) for item in losses]
        weights = _per_output(loss_weights, self.names, "loss_weights") if loss_weights else None
        self.loss_weights = (
            [1.0] * len(self.names) if weights is None else [float(w) for w in weights]
        )
        self.metrics = [
            [_resolve_metric(m, loss_fn) for m in group]
            for group, loss_fn in zip(_metric_groups(metrics, self.names), self.losses)
        ]
        self.fused = [_logits_pair(model, k, loss_fn) for k, loss_fn in enumerate(self.losses)]
        self._per_sample: dict[int, Loss] = {}  # reduction="none" twins, made once per loss

    def _key(self, k: int, what: str) -> str:
        return what if len(self.names) == 1 else f"{self.names[k]}_{what}"

    def losses_and_grads(self, preds, ys, sample_weight, with_grads: bool = True):
        """{"loss": total, ...per-output losses} and dTotal/dOutput for every output."""
        logs, grads, total = {}, [], 0.0
        for k, (loss_fn, weight) in enumerate(zip(self.losses, self.loss_weights)):
            pred, fused = preds[k], self.fused[k]
            if fused is not None:  # from the logits that the output activation saw
                loss_fn, pred = fused[1], fused[0].logits
            per_sample = None
            if sample_weight is not None:
                per_sample = self._per_sample.get(id(loss_fn))
                if per_sample is None:
                    per_sample = self._per_sample[id(loss_fn)] = loss_fn.with_reduction("none")
            value, grad = loss_value_and_grad(
                loss_fn, pred, ys[k], sample_weight, weight, with_grads, per_sample
            )
            if fused is not None:
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


def output_names(model: Module) -> list[str]:
    return list(getattr(model, "output_names", None) or ["output"])


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


# --- probabilities and a probability loss: computed from the logits -------------------------


def _logits_pair(model: Module, index: int, loss: Loss):
    """(the output activation, the logits version of ``loss``) when output ``index`` is a
    Softmax / Sigmoid scored by the matching probability loss; None otherwise."""
    activation = output_activation(model, index)
    if type(loss) is CategoricalCrossentropy and isinstance(activation, Softmax):
        return activation, CrossEntropyLoss(**loss.get_config())  # the same settings
    if type(loss) is BCELoss and isinstance(activation, Sigmoid):
        return activation, BCEWithLogitsLoss(**loss.get_config())
    return None


def output_activation(module: Module, index: int = 0) -> Module | None:
    """The Softmax or Sigmoid whose output is ``module``'s output ``index`` and goes nowhere
    else, looking through containers (``output_layer``) and Keras layers' activations."""
    while module is not None:
        if isinstance(module, Softmax):
            return module if module.axis in (1, -1) else None  # the class axis of (N, C)
        if isinstance(module, Sigmoid):
            return module
        if isinstance(module, (KerasLayer, Activation)):
            module = module.activation  # applied last: Dense(3, activation="softmax")
        elif hasattr(module, "output_layer"):
            module, index = module.output_layer(index), 0
        else:
            return None
    return None


# --- weighted losses -------------------------------------------------------------------------


def loss_value_and_grad(
    loss_fn: Loss, pred, target, sample_weight, scale=1.0, with_grad=True, per_sample=None
):
    """The loss (weighted as the module docstring says) and scale * dLoss/dpred.
    ``per_sample`` is ``loss_fn.with_reduction("none")``, if the caller keeps one."""
    if sample_weight is None:
        value = loss_fn(pred, target)
        return value, (loss_fn.backward(scale) if with_grad else None)
    per_sample = per_sample or loss_fn.with_reduction("none")
    losses = per_sample(pred, target)
    n = losses.shape[0]
    elements = losses[0].size if losses.ndim > 1 else 1
    w = np.asarray(sample_weight, dtype=np.float64).reshape((n,) + (1,) * (losses.ndim - 1))
    w = w / (n * elements)  # the mean over each sample's elements, then the sum / N
    value = float(np.sum(losses * w))
    if not with_grad:
        return value, None
    return value, per_sample.backward(np.broadcast_to(w * scale, losses.shape))


def sample_weights(ys, sample_weight, class_weight, n: int, what: str = "fit"):
    """One weight per sample from ``sample_weight`` and ``class_weight`` (multiplied), or
    None; each must be finite and non-negative, and not all zero."""
    weights = None
    if sample_weight is not None:
        weights = _checked_weights(sample_weight, f"{what}: sample_weight").reshape(-1)
        if len(weights) != n:
            raise ValueError(f"{what}: sample_weight holds {len(weights)} weights for {n} samples")
    if class_weight:
        by_class = _class_weights(ys, class_weight, what)
        weights = by_class if weights is None else weights * by_class
    if weights is not None and len(weights) and not weights.any():
        raise ValueError(f"{what}: every sample weight is zero; nothing would be learned")
    return weights


def _class_weights(ys, class_weight: dict, what: str) -> np.ndarray:
    if len(ys) != 1:
        raise ValueError(f"{what}: class_weight is only for a model with one output")
    y = ys[0]
    if y.ndim == 2 and y.shape[1] > 1:
        labels = y.argmax(axis=1)
    else:
        labels = np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
    missing = sorted(set(np.unique(labels).tolist()) - {int(c) for c in class_weight})
    if missing:
        raise ValueError(f"{what}: class_weight has no weight for classes {missing} present in y")
    table = {int(c): w for c, w in class_weight.items()}
    values = _checked_weights(list(table.values()), f"{what}: class_weight")
    table = dict(zip(table, values.tolist()))
    return np.array([table[int(c)] for c in labels], dtype=np.float64)


def _checked_weights(values, what: str) -> np.ndarray:
    try:
        weights = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: expected numbers, got {values!r:.80}") from None
    if not np.isfinite(weights).all():
        raise ValueError(
            f"{what}: expected finite weights; "
            f"{int(np.sum(~np.isfinite(weights)))} are NaN or infinite"
        )
    if (weights < 0).any():
        raise ValueError(f"{what}: expected non-negative weights, got {weights.min():g}")
    return weights

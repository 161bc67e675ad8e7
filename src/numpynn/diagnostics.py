"""Diagnostics: what happens inside the network while it trains, and what is wrong with it.

``Diagnostics`` is a callback. On a few batches of each epoch (``batches``, evenly spread) it
reads what the model already holds after the step, and patches nothing: each trainable
layer's parameters and their gradients, and each layer's output, which ``Sequential`` and
``Model`` keep for it while ``model.kept_outputs`` is a list. Per layer and epoch (the mean
over the sampled steps):

- ``grad_norm``: ||g||_2 over all the layer's parameter gradients;
- ``weight_norm``: ||w||_2 over all its parameters;
- ``update_ratio``: ||w_after - w_before||_2 / ||w_before||_2 of one optimizer step;
- ``activation_mean``, ``activation_std``: of the layer's output, after its activation
  (its own, as ``Dense(8, activation="relu")``, or an activation layer right after it);
- ``dead_fraction`` (ReLU family: ReLU, LeakyReLU, ELU, GELU, SiLU): the fraction of units
  never positive over the epoch's sampled batches. A unit is a feature (the last axis), or a
  channel for a convolution (axis 1);
- ``saturated_fraction`` (sigmoid, tanh): the fraction of units whose outputs lie within 1%
  of the range from a bound (sigmoid < 0.01 or > 0.99, |tanh| > 0.98) on at least 90% of
  the sampled values, where the derivative is under 4% of its largest value;
- ``grad_through_time`` (recurrent layers): || dL/da_t || / || dL/da_T || for each step t, the
  share of a gradient arriving at the last step that reaches step t through the recurrence
  (a_t the step's pre-activations; first layer, forward direction).

``diagnose`` turns those numbers and the epoch logs into plain sentences, each with its
evidence and the usual fix; it is made of one small pure function per problem.

>>> import numpy as np, numpynn as nn
>>> data = nn.data.load_iris()
>>> nn.manual_seed(0)
>>> model = nn.Sequential(
...     nn.Dense(16, activation="relu", input_dim=4), nn.Dense(3, activation="softmax")
... )
>>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
>>> history = model.fit(data.x, data.y, epochs=2, callbacks=[nn.callbacks.Diagnostics()],
...                     verbose=0, seed=0)
>>> [layer["name"] for layer in history.diagnostics["layers"]]
['dense_1', 'dense_2']
>>> len(history.diagnostics["layers"][0]["grad_norm"])  # one value per epoch
2
"""

from __future__ import annotations

import math

import numpy as np

from numpynn.callbacks import Callback
from numpynn.layers.recurrent import RNNBase
from numpynn.module import Module

RELU_FAMILY = {"ReLU", "LeakyReLU", "ELU", "GELU", "SiLU"}
BOUNDS = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0)}
NEAR_BOUND = 0.01  # of the range: sigmoid < 0.01 or > 0.99, |tanh| > 0.98
SATURATED_SHARE = 0.9  # of a unit's sampled values near a bound
STATISTICS = ("grad_norm", "weight_norm", "update_ratio", "activation_mean", "activation_std")
STATISTICS += ("dead_fraction", "saturated_fraction", "grad_through_time")


class Diagnostics(Callback):
    """Per-layer statistics on ``batches`` sampled batches per epoch, and the diagnoses.

    After ``fit``, ``history.diagnostics`` (also ``callback.results``) is a JSON-able dict:
    ``{"layers": [{"name", "type", "activation", "parameters", "grad_norm": [one value per
    epoch], ...}], "epochs": [...], "diagnoses": [{"problem", "layer", "message"}]}``; the
    statistics are those of the module docstring (None where they do not apply). With
    ``verbose`` (and ``fit(verbose=1 or 2)``) the diagnoses are printed at the end of ``fit``.

    Cost: on a sampled step, a copy of the parameters and a few reductions over the layers'
    outputs; on the others, two calls that return at once (benchmarks/diagnostics.py).

    Args:
        batches: steps sampled per epoch, spread evenly over it.
        verbose: print the diagnoses at the end of a verbose ``fit``.
    """

    def __init__(self, batches: int = 4, verbose: bool = True):
        if isinstance(batches, bool) or not isinstance(batches, int) or batches < 1:
            raise ValueError(f"Diagnostics: batches must be a positive integer, got {batches!r}")
        self.batches, self.verbose = batches, verbose
        self.results: dict | None = None

    def on_train_begin(self, logs=None):
        self.records = [LayerRecord(name, layer) for name, layer in trainable_layers(self.model)]
        self.logs: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self.sampled: set[int] = set()
        self.before: list[list[np.ndarray]] | None = None

    def on_epoch_begin(self, epoch, logs=None):
        steps = max(int(self.params.get("steps") or 1), 1)
        self.sampled = set(np.linspace(0, steps - 1, min(self.batches, steps)).round().astype(int))

    def on_train_batch_begin(self, batch, logs=None):
        if batch not in self.sampled:
            return
        # in the parameters' own memory order (Linear's weight is Fortran-ordered): a C-order
        # copy would transpose it, and every later pass over the pair would stride
        self.before = [[p.data.copy(order="K") for p in r.parameters] for r in self.records]
        if hasattr(self.model, "kept_outputs"):
            self.model.kept_outputs = []

    def on_train_batch_end(self, batch, logs=None):
        if self.before is None:
            return
        before, self.before = self.before, None
        kept = getattr(self.model, "kept_outputs", None) or []
        if hasattr(self.model, "kept_outputs"):
            self.model.kept_outputs = None
        if not math.isfinite((logs or {}).get("loss", 0.0)):  # fit stopped before the step
            return
        outputs = layer_outputs(kept, {id(record.layer) for record in self.records})
        for record, old in zip(self.records, before):
            record.add_step(old, outputs.get(id(record.layer)))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        for record in self.records:
            record.end_epoch()
        for key, value in (logs or {}).items():
            self.logs.setdefault(key, []).append(float(value))

    def on_train_end(self, logs=None):
        layers = [record.summary() for record in self.records]
        found = diagnose(layers, self.logs)
        self.results = {"layers": layers, "epochs": list(self.epochs), "diagnoses": found}
        if logs is not None:
            logs["diagnostics"] = self.results  # for the History that fit returns
        if self.verbose and self.params.get("verbose") and found:
            print(format_diagnoses(found), flush=True)


# --- reading the model --------------------------------------------------------------------


def trainable_layers(model: Module) -> list[tuple[str, Module]]:
    """(name, layer) of each layer with parameters: a container's own layers (``model.layers``,
    named as in ``summary()``), otherwise the innermost modules that hold parameters."""
    if hasattr(model, "layers") and hasattr(model, "layer_name"):
        return [(model.layer_name(m), m) for m in model.layers if m.parameters()]
    found = []
    for name, module in model.named_modules():
        children = [child for _, child in module.named_children() if child.parameters()]
        if module.parameters() and not children:
            found.append((name or type(module).__name__, module))
    return found


def activation_name(module: Module) -> str:
    """The class name of the activation a layer applies: its own ``activation`` (``Dense``,
    ``Activation``) or the layer's class."""
    inner = getattr(module, "activation", None)
    return type(inner if isinstance(inner, Module) else module).__name__


def _is_activation(module: Module) -> bool:
    name = activation_name(module)
    return not module.parameters() and (name in RELU_FAMILY or name in BOUNDS)


def layer_outputs(kept, trainable: set[int]) -> dict[int, tuple[np.ndarray, str]]:
    """{id(layer): (output, activation name)} for the trainable layers among the kept
    (layer, output) pairs, in call order: an activation layer right after a trainable one
    gives that layer's output."""
    found: dict[int, tuple[np.ndarray, str]] = {}
    last = None
    for layer, output in kept:
        output = output[0] if isinstance(output, (list, tuple)) else output
        if id(layer) in trainable:
            last = layer
            found[id(layer)] = (output, activation_name(layer))
        elif last is not None and _is_activation(layer):
            found[id(last)] = (output, activation_name(layer))
        else:
            last = None
    return found


def _norm(arrays) -> float:
    """sqrt(sum ||a||^2) over ``arrays``, each read flat in its own memory order (``np.vdot``
    flattens in C order: a copy of a Fortran-ordered weight, several times its cost)."""
    return math.sqrt(sum(float(np.vdot(flat, flat)) for flat in map(_flat, arrays)))


def _flat(array: np.ndarray) -> np.ndarray:
    return np.asarray(array).ravel(order="K")  # a view of any contiguous array


def unit_axis(layer: Module, output: np.ndarray) -> int:
    """The axis of a layer's units: channels (1) for a convolution, else the last."""
    return 1 if output.ndim > 2 and hasattr(layer, "out_channels") else output.ndim - 1


def gradient_through_time(layer: RNNBase, w_hh: np.ndarray) -> np.ndarray:
    """|| dL/da_t || / || dL/da_T || for each step t of the layer's last forward (first
    layer, forward direction), for a gradient of ones at the last step's output: how much of
    it the recurrence carries back to step t. ``w_hh``: the recurrent weights of that
    forward (the optimizer has changed the layer's since)."""
    steps, n = layer.inputs[0].shape[:2]  # the first layer's input, (T, N, F)
    d_out = np.zeros((steps, n, layer.hidden_size), dtype=w_hh.dtype)
    d_out[-1] = 1.0
    d_xw = layer.gate_gradients(d_out, w_hh)
    norms = np.sqrt(np.einsum("tng,tng->t", d_xw, d_xw, dtype=np.float64))
    return norms / norms[-1] if norms[-1] > 0 else norms


class LayerRecord:
    """The statistics of one layer: the sampled steps of the current epoch, and the epochs."""

    def __init__(self, name: str, layer: Module):
        self.name, self.layer, self.parameters = name, layer, layer.parameters()
        self.epochs: dict[str, list] = {key: [] for key in STATISTICS}
        self.activation = None
        self._start_epoch()

    def _start_epoch(self) -> None:
        self.steps: dict[str, list[float]] = {"grad": [], "weight": [], "ratio": []}
        self.sums = np.zeros(3)  # count, sum, sum of squares of the outputs
        self.ever_positive = self.near_bound = self.unit_values = None
        self.through_time: list[np.ndarray] = []

    def add_step(self, before: list[np.ndarray], output) -> None:
        """One sampled step: ``before`` the parameters before it (overwritten here with the
        update, to spare an allocation), ``output`` (output, activation name) of its
        forward or None."""
        if isinstance(self.layer, RNNBase) and getattr(self.layer, "tapes", None):
            old = {id(p): data for p, data in zip(self.parameters, before)}
            w_hh = old[id(self.layer.weight_hh_l0)]  # the weights of the recorded forward
            self.through_time.append(gradient_through_time(self.layer, w_hh))
        weight = _norm(before)
        update = _norm(
            [np.subtract(p.data, old, out=old) for p, old in zip(self.parameters, before)]
        )
        self.steps["grad"].append(_norm([p.grad for p in self.parameters]))
        self.steps["weight"].append(_norm([p.data for p in self.parameters]))
        self.steps["ratio"].append(update / weight if weight > 0 else math.nan)
        if output is not None:
            self._add_output(*output)

    def _add_output(self, output: np.ndarray, activation: str) -> None:
        self.activation = activation
        self.sums += (output.size, output.sum(dtype=np.float64), np.vdot(output, output))
        axes = tuple(i for i in range(output.ndim) if i != unit_axis(self.layer, output))
        if activation in RELU_FAMILY:
            positive = (output > 0).any(axis=axes)
            self.ever_positive = positive | (
                False if self.ever_positive is None else self.ever_positive
            )
        elif activation in BOUNDS:
            low, high = BOUNDS[activation]
            margin = NEAR_BOUND * (high - low)
            near = ((output < low + margin) | (output > high - margin)).sum(axis=axes)
            self.near_bound = near + (0 if self.near_bound is None else self.near_bound)
            self.unit_values = output.size // near.size + (self.unit_values or 0)

    def end_epoch(self) -> None:
        mean = lambda values: float(np.mean(values)) if values else None  # noqa: E731
        count, total, squares = self.sums
        self.epochs["grad_norm"].append(mean(self.steps["grad"]))
        self.epochs["weight_norm"].append(mean(self.steps["weight"]))
        self.epochs["update_ratio"].append(mean(self.steps["ratio"]))
        self.epochs["activation_mean"].append(float(total / count) if count else None)
        spread = math.sqrt(max(squares / count - (total / count) ** 2, 0.0)) if count else None
        self.epochs["activation_std"].append(spread)
        dead = None if self.ever_positive is None else float(np.mean(~self.ever_positive))
        self.epochs["dead_fraction"].append(dead)
        saturated = None
        if self.near_bound is not None:
            saturated = float(np.mean(self.near_bound >= SATURATED_SHARE * self.unit_values))
        self.epochs["saturated_fraction"].append(saturated)
        through = [t.tolist() for t in self.through_time[-1:]]  # the epoch's last sample
        if self.through_time and len({len(t) for t in self.through_time}) == 1:
            through = [np.mean(self.through_time, axis=0).tolist()]
        self.epochs["grad_through_time"].append(through[0] if through else None)
        self._start_epoch()

    def summary(self) -> dict:
        return {
            "name": self.name,
            "type": type(self.layer).__name__,
            "activation": self.activation,
            "parameters": int(sum(p.size for p in self.parameters)),
            **self.epochs,
        }


# --- diagnoses: pure functions of the statistics and the epoch logs -------------------------

VANISHING, EXPLODING = 1e-3, 1e3  # a layer's RMS gradient over the output layer's
DEAD_SHARE, SATURATED_UNITS = 0.5, 0.5
UPDATE_LOW, UPDATE_HIGH = 1e-5, 1e-1  # 100 times either way from the usual 1e-3
FLAT, OVERFIT_RISE = 0.01, 0.1


def _last(layer: dict, key: str):
    values = [v for v in layer[key] if v is not None]
    return values[-1] if values else None


def _finding(problem: str, layer: str | None, message: str) -> dict:
    return {"problem": problem, "layer": layer, "message": message}


def gradient_flow(layers: list[dict]) -> list[dict]:
    """Vanishing or exploding gradients: in the last epoch, a layer's RMS gradient
    (||g|| / sqrt(parameters)) under 1e-3 or over 1e3 times the output layer's, or not
    finite; and through time, a recurrent layer whose first step gets under 1e-3 or over 1e3
    of the gradient at its last step. A layer with no gradient at all is left to
    ``dead_units``."""
    rms = {}
    for layer in layers:
        norm = _last(layer, "grad_norm")
        if norm is not None:
            rms[layer["name"]] = norm / math.sqrt(max(layer["parameters"], 1))
    found = []
    *names, last = list(rms) or [None]
    for name in names:
        ratio = rms[name] / rms[last] if rms[last] > 0 else math.inf
        evidence = (
            f"its RMS gradient is {rms[name]:.3g}, {ratio:.2g} times that of the output "
            f"layer {last} ({rms[last]:.3g})"
        )
        if rms[name] != 0:
            found += _flow_finding(name, ratio, evidence)
    for layer in layers:
        through = _last(layer, "grad_through_time")
        if through and len(through) > 1:
            share = through[0]
            evidence = f"its first step gets {share:.2g} of the gradient at its last step"
            found += _flow_finding(layer["name"], share, evidence, " through time")
    return found


def _flow_finding(name: str, ratio: float, evidence: str, where: str = "") -> list[dict]:
    if not math.isfinite(ratio) or ratio > EXPLODING:
        message = (
            f"Exploding gradients{where} at {name}: {evidence}. Usual fixes: smaller initial "
            "weights (Glorot/He, orthogonal recurrent weights), a lower learning rate, "
            "gradient clipping (nn.optim.clip_grad_norm_), BatchNorm."
        )
        return [_finding("exploding_gradients", name, message)]
    if ratio < VANISHING:
        message = (
            f"Vanishing gradients{where} at {name}: {evidence}, so it barely learns. Usual "
            "fixes: ReLU-family activations instead of sigmoid/tanh, He initialisation, fewer "
            "layers (or steps: an LSTM/GRU for long sequences), BatchNorm or residual "
            "connections."
        )
        return [_finding("vanishing_gradients", name, message)]
    return []


def dead_units(layers: list[dict]) -> list[dict]:
    """More than half of a layer's ReLU-family units never positive in the last epoch."""
    explanation = (
        "dead: never positive on the sampled batches of the last epoch, so they pass no "
        "gradient. Usual fixes: a lower learning rate, He initialisation with zero biases, "
        "LeakyReLU, or BatchNorm before the activation."
    )
    return _share_of_units(layers, "dead_fraction", DEAD_SHARE, "dead_units", explanation)


def saturation(layers: list[dict]) -> list[dict]:
    """More than half of a layer's sigmoid/tanh units saturated in the last epoch."""
    explanation = (
        "saturated: their outputs sit at a bound on 90% or more of the sampled values, where "
        "the derivative is nearly 0. Usual fixes: scale the inputs, smaller initial weights "
        "(Glorot), BatchNorm before the activation, or ReLU."
    )
    return _share_of_units(layers, "saturated_fraction", SATURATED_UNITS, "saturation", explanation)


def _share_of_units(layers, key: str, limit: float, problem: str, explanation: str):
    found = []
    for layer in layers:
        share, name = _last(layer, key), layer["name"]
        if share is not None and share > limit:
            message = f"{share:.0%} of {name}'s {layer['activation']} units are {explanation}"
            found.append(_finding(problem, name, message))
    return found


def update_ratio(layers: list[dict]) -> list[dict]:
    """An update-to-weight ratio far from about 1e-3: over 1e-1 in some epoch (the learning
    rate is likely too high), or under 1e-5 in every epoch although gradients arrive (likely
    too low). A layer that gets no gradient at all is a matter for ``dead_units``."""
    found = []
    for layer in layers:
        ratios = [r for r in layer["update_ratio"] if r is not None and math.isfinite(r)]
        grads = [g for g in layer["grad_norm"] if g is not None]
        if not ratios:
            continue
        high, name = max(ratios) > UPDATE_HIGH, layer["name"]
        if not high and (max(ratios) >= UPDATE_LOW or not any(g > 0 for g in grads)):
            continue
        fix = "divide it by 10 or more" if high else "multiply it by 10 or more"
        message = (
            f"{name}'s updates change its weights by up to {max(ratios):.2g} of their size per "
            f"step (a healthy ratio is about 1e-3): the learning rate is likely too "
            f"{'high' if high else 'low'}; {fix}, or run nn.lr_find."
        )
        found.append(_finding(f"learning_rate_too_{'high' if high else 'low'}", name, message))
    return found


def loss_trend(logs: dict[str, list[float]]) -> list[dict]:
    """A training loss that never gets 1% below its first epoch's value: rising (the last
    epoch's is over 1% above it, or not finite) or flat, over two epochs or more."""
    loss = logs.get("loss", [])
    if len(loss) < 2 or not math.isfinite(loss[0]) or min(loss[1:]) < loss[0] * (1 - FLAT):
        return []
    first, last = loss[0], loss[-1]
    epochs = f"from {first:.4g} in epoch 1 to {last:.4g} in epoch {len(loss)}"
    if not math.isfinite(last) or last > first * (1 + FLAT):
        message = (
            f"The training loss rose {epochs}. Usual causes: a learning rate too high (try "
            "10x lower, or nn.lr_find), unscaled inputs, or labels that do not fit the loss."
        )
        return [_finding("loss_rising", None, message)]
    message = (
        f"The training loss stayed flat {epochs}: the network is not learning. Usual causes: "
        "a learning rate too low or too high (nn.lr_find), dead or saturated units, "
        "vanishing gradients, or unscaled inputs."
    )
    return [_finding("loss_plateau", None, message)]


def overfitting(logs: dict[str, list[float]]) -> list[dict]:
    """The validation loss over 10% above its lowest value in each of the last two epochs
    (one bump is noise), while the training loss fell since the lowest one."""
    val, loss = logs.get("val_loss", []), logs.get("loss", [])
    if len(val) < 3 or len(loss) != len(val):
        return []
    best = int(np.argmin([v if math.isfinite(v) else math.inf for v in val]))
    limit = val[best] * (1 + OVERFIT_RISE)
    rose = best < len(val) - 2 and math.isfinite(limit) and min(val[-2:]) > limit
    if not rose or not loss[-1] < loss[best]:
        return []
    message = (
        f"Overfitting: the validation loss rose from {val[best]:.4g} (epoch {best + 1}) to "
        f"{val[-1]:.4g} (epoch {len(val)}) while the training loss fell from {loss[best]:.4g} "
        f"to {loss[-1]:.4g}. Usual fixes: more data or augmentation, Dropout or weight decay, "
        "a smaller model, or stopping early (EarlyStopping(restore_best_weights=True))."
    )
    return [_finding("overfitting", None, message)]


def diagnose(layers: list[dict], logs: dict[str, list[float]]) -> list[dict]:
    """Every finding about ``layers`` (``Diagnostics``'s per-layer statistics) and ``logs``
    (the epoch logs, ``history.history``): dicts with ``problem``, ``layer`` (or None) and a
    ``message`` that gives the evidence and the usual fix."""
    found = gradient_flow(layers) + dead_units(layers) + saturation(layers)
    return found + update_ratio(layers) + loss_trend(logs) + overfitting(logs)


def format_diagnoses(found: list[dict]) -> str:
    """The findings as printed at the end of ``fit``."""
    lines = [f"Diagnostics: {len(found)} problem{'s' if len(found) != 1 else ''} found"]
    return "\n".join(lines + [f"- {finding['message']}" for finding in found])

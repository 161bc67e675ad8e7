"""The learning-rate range test (Smith 2015, "Cyclical Learning Rates for Training Neural
Networks", section 3.3; the form fastai made popular).

``lr_find`` trains a *copy* of the model for up to ``steps`` steps while the learning rate
grows exponentially from ``start_lr`` to ``end_lr``: lr_i = start_lr * (end_lr /
start_lr)^(i / (steps - 1)). It records the loss of each step and its exponential moving
average (debiased, as Adam's moments), and stops once that average exceeds ``diverge`` times
its lowest value, or the loss is not finite. The model passed in is left as it was, bit for
bit (only the library's random generator advances, when ``seed`` is None and the data are
shuffled).

The suggested rate is a tenth of the rate at which the smoothed loss is lowest: past the
minimum the loss is about to diverge, and a tenth of it is still on the steep, stable part
of the curve (Smith's advice: a rate a bit below the point where the loss stops falling).

>>> import numpynn as nn
>>> data = nn.data.load_iris()
>>> nn.manual_seed(0)
>>> model = nn.Sequential(nn.Dense(16, activation="relu", input_dim=4), nn.Dense(3))
>>> model.compile(optimizer="sgd", loss=nn.CrossEntropyLoss())
>>> found = nn.lr_find(model, data.x, data.y, steps=60, seed=0)
>>> 1e-4 < found.suggestion < 10
True
"""

from __future__ import annotations

import copy
import inspect
import math

import numpy as np

from numpynn import names
from numpynn._config import Seed, get_rng
from numpynn.module import Module
from numpynn.optim.optimizer import Optimizer
from numpynn.training import Samples, as_objective, build_if_needed, train_step


class LRFinderResult:
    """What ``lr_find`` found: ``lrs``, ``losses`` (each step's), ``smoothed`` (their
    debiased moving average), ``suggestion`` (a tenth of the rate of the lowest smoothed
    loss), and ``plot``."""

    def __init__(self, lrs, losses, smoothed):
        self.lrs, self.losses, self.smoothed = list(lrs), list(losses), list(smoothed)
        if len(self.smoothed) < 2:
            raise ValueError(
                f"lr_find: the loss diverged after {len(self.smoothed)} step(s), at lr "
                f"{self.lrs[-1] if self.lrs else math.nan:.3g}; lower start_lr"
            )
        self.suggestion = self.lrs[int(np.argmin(self.smoothed))] / 10

    def as_dict(self) -> dict:
        """JSON-able: the rates, the losses and the suggestion."""
        return {
            "lrs": self.lrs,
            "losses": self.losses,
            "smoothed": self.smoothed,
            "suggestion": self.suggestion,
        }

    def plot(self, path) -> str:
        """The smoothed loss against the rate (log scale), the suggestion marked; written as
        a PNG to ``path`` (needs matplotlib). Returns the path."""
        from numpynn.plot import _figure, _save  # matplotlib only when a plot is made

        fig = _figure(figsize=(6, 3.6))
        ax = fig.subplots()
        ax.plot(self.lrs, self.smoothed, label="smoothed loss")
        ax.plot(self.lrs, self.losses, alpha=0.3, label="loss of each step")
        ax.axvline(self.suggestion, color="C2", linestyle="--", label="suggestion")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        top = 2 * max(self.smoothed[0], min(self.smoothed))
        ax.set_ylim(min(min(self.losses), min(self.smoothed)) * 0.9, top)
        ax.set_title(f"learning-rate range test: suggestion {self.suggestion:.2g}")
        ax.legend()
        return _save(fig, path)


def lr_find(
    model: Module,
    x,
    y,
    *,
    loss=None,
    optimizer=None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    batch_size: int = 32,
    smoothing: float = 0.9,
    diverge: float = 4.0,
    seed: Seed = None,
) -> LRFinderResult:
    """The learning-rate range test on a copy of ``model`` (see the module docstring).

    Args:
        loss: a Loss or a name; by default the compiled one.
        optimizer: a name (Keras's defaults), an optimizer whose class and hyper-parameters
            are copied (not its state), or None: the compiled one, copied the same way.
        start_lr, end_lr: the first and last rates; ``steps`` rates in between, spaced
            evenly on a log scale, one training step each (batches cycle through the data).
        smoothing: beta of the moving average of the loss: 0.9 averages about ten steps,
            short enough that the lag of the average does not move its minimum to larger
            rates (with 0.98 and 100 steps it moved by a decade on digits).
        diverge: stop once the smoothed loss exceeds this many times its lowest value.
        seed: int or Generator for the order of the samples.

    Returns:
        an ``LRFinderResult``: ``.suggestion``, ``.lrs``, ``.losses``, ``.plot(path)``.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: expected 0 < start_lr < end_lr, got {start_lr}, {end_lr}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"lr_find: steps must be an integer of at least 2, got {steps!r}")
    trial = copy.deepcopy(model)
    if loss is None and getattr(trial, "_objective", None) is None:
        raise ValueError("lr_find: pass loss=..., or compile the model first")
    objective = as_objective(trial, loss if loss is not None else trial._objective)
    data = Samples.from_arrays(trial, objective, x, y, "lr_find")
    data.batch_size = batch_size
    build_if_needed(trial, data.xs)
    opt = _fresh_optimizer(trial, optimizer if optimizer is not None else model.optimizer)
    rng, rates = get_rng(seed), np.geomspace(start_lr, end_lr, steps)
    lrs, losses, smoothed, average, batches = [], [], [], 0.0, iter(())
    trial.train()
    for i, lr in enumerate(rates):
        batch = next(batches, None)
        if batch is None:
            batches = data.epoch(rng, shuffle=True)
            batch = next(batches)
        for group in opt.param_groups:
            group["lr"] = float(lr)
        try:
            value = train_step(trial, objective, opt, *batch)["loss"]
        except FloatingPointError:
            break
        average = smoothing * average + (1 - smoothing) * value
        lrs.append(float(lr))
        losses.append(float(value))
        smoothed.append(average / (1 - smoothing ** (i + 1)))
        if smoothed[-1] > diverge * min(smoothed):
            break
    return LRFinderResult(lrs, losses, smoothed)


def _fresh_optimizer(trial: Module, optimizer) -> Optimizer:
    """A new optimizer over the copy's parameters: from a name, or of the same class and
    hyper-parameters as a given optimizer (its state left behind)."""
    if isinstance(optimizer, str):
        return names.get("optimizer", optimizer, trial.parameters())
    if not isinstance(optimizer, Optimizer):
        raise ValueError(
            "lr_find: pass optimizer= (a name such as 'sgd', or an nn.optim optimizer), or "
            f"compile the model with one; got {optimizer!r}"
        )
    accepted = inspect.signature(type(optimizer)).parameters
    group = optimizer.param_groups[0]
    hyper = {k: v for k, v in group.items() if k in accepted and k != "params"}
    return type(optimizer)(trial.parameters(), **hyper)

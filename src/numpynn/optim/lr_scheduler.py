"""Learning-rate schedules, stepped once per epoch (or per batch, for OneCycleLR).

Each schedule is a closed form ``lr_at(base_lr, epoch)``: the learning rate of a group
whose initial rate is ``base_lr`` after ``epoch`` calls of ``step()``. Constructing a
schedule sets epoch 0 (as PyTorch does); ``step()`` moves one epoch on and writes every
group's ``lr``. One schedule drives one optimizer.

Examples:
    >>> import numpynn as nn
    >>> opt = nn.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    >>> schedule = nn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(opt.param_groups[0]["lr"]); schedule.step()
    >>> lrs
    [0.1, 0.1, 0.05, 0.05, 0.025]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable


class LRScheduler:
    """Base class: lr = lr_at(base_lr, epoch) for every group, written by ``step()``.

    A new schedule writes only ``lr_at``. Constructing one sets epoch 0.

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state: dict) -> None:
        vars(self).update(state)


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch).

    Args:
        optimizer: the Optimizer to drive.
        lr_lambda: a function of the epoch (an int from 0) giving the factor.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> opt = nn.optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> schedule = nn.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5**epoch)
        >>> for _ in range(2):
        ...     schedule.step()
        >>> schedule.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer, lr_lambda: Callable[[int], float]):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.lr_lambda(epoch)


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size).

    Args:
        optimizer: the Optimizer to drive.
        step_size: epochs between two decays.
        gamma: the factor of each decay.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> opt = nn.optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> schedule = nn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        >>> for _ in range(4):
        ...     schedule.step()
        >>> schedule.get_last_lr()         # epoch 4: 0.5 ** 2
        [0.25]
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (number of milestones <= epoch).

    Args:
        optimizer: the Optimizer to drive.
        milestones: the epochs at which the rate decays.
        gamma: the factor of each decay.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> opt = nn.optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> schedule = nn.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
        >>> lrs = []
        >>> for _ in range(4):
        ...     lrs.append(schedule.get_last_lr()[0]); schedule.step()
        >>> lrs
        [1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer, milestones, gamma: float = 0.1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch.

    Args:
        optimizer: the Optimizer to drive.
        gamma: the factor per epoch.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> opt = nn.optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> schedule = nn.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        >>> schedule.step(); schedule.step(); schedule.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer, gamma: float):
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2.

    Args:
        optimizer: the Optimizer to drive.
        T_max: the epochs of half a cosine period: the rate reaches eta_min at T_max.
        eta_min: the lowest rate.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> opt = nn.optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> schedule = nn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
        >>> lrs = []
        >>> for _ in range(3):
        ...     lrs.append(round(schedule.get_last_lr()[0], 6)); schedule.step()
        >>> lrs
        [1.0, 0.5, 0.0]
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):  # noqa: N803 (PyTorch's name)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return (
            self.eta_min
            + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        )


class LinearLR(LRScheduler):
    """Linear warm-up (or decay): lr = base_lr * f, f going linearly from ``start_factor``
    to ``end_factor`` over ``total_iters`` epochs, then staying there.

    f = start_factor + (end_factor - start_factor) min(epoch, total_iters) / total_iters.

    Args:
        optimizer: the Optimizer to drive.
        start_factor: f at epoch 0, in (0, 1].
        end_factor: f from epoch ``total_iters`` on, in [0, 1].
        total_iters: the epochs the change takes.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> opt = nn.optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> schedule = nn.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
        >>> lrs = []
        >>> for _ in range(4):
        ...     lrs.append(schedule.get_last_lr()[0]); schedule.step()
        >>> lrs
        [0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self, optimizer, start_factor: float = 1 / 3, end_factor: float = 1.0, total_iters: int = 5
    ):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError("LinearLR: start_factor must lie in (0, 1] and end_factor in [0, 1]")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        progress = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


def _one_cycle_phases(warm_up: float, total_steps: int, three_phase: bool) -> list[tuple]:
    """(last step, start lr key, end lr key, start momentum key, end momentum key) of each
    phase of the 1cycle policy."""
    if three_phase:
        return [
            (warm_up - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
            (2 * warm_up - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
            (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
        ]
    return [
        (warm_up - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
        (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
    ]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith), stepped once per batch: the rate climbs from
    max_lr / div_factor to max_lr over the first ``pct_start`` of ``total_steps``, then
    anneals to max_lr / (div_factor * final_div_factor); with ``three_phase`` it first comes
    back down to the initial rate. Momentum (SGD's ``momentum`` or Adam's beta1) moves
    opposite, between ``max_momentum`` and ``base_momentum``, if ``cycle_momentum``.

    Within a phase going from a to b: lr = b + (a - b) (1 + cos(pi pct)) / 2 (``"cos"``)
    or a + (b - a) pct (``"linear"``), pct the share of the phase done.

    Args:
        optimizer: the Optimizer to drive.
        max_lr: the peak rate (or one per group).
        total_steps: the number of ``step()`` calls in the whole cycle; or give ``epochs``
            and ``steps_per_epoch``.
        pct_start: the share of the cycle spent climbing.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        cycle_momentum: move the momentum opposite to the rate.
        base_momentum: the lowest momentum (at the peak rate).
        max_momentum: the highest momentum (at the lowest rates).
        div_factor: the initial rate is max_lr / div_factor.
        final_div_factor: the final rate is the initial rate / final_div_factor.
        three_phase: come back down to the initial rate before the final annealing.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> opt = nn.optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0, momentum=0.9)
        >>> schedule = nn.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
        >>> lrs = [schedule.get_last_lr()[0]]
        >>> for _ in range(9):
        ...     schedule.step(); lrs.append(schedule.get_last_lr()[0])
        >>> [round(lr, 4) for lr in (lrs[0], lrs[2], lrs[-1])]   # max_lr / 25, peak, end
        [0.04, 1.0, 0.0]
    """

    def __init__(
        self,
        optimizer,
        max_lr,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        for group, top in zip(groups, max_lrs):
            group["initial_lr"], group["max_lr"] = top / div_factor, top
            group["min_lr"] = top / div_factor / final_div_factor
        self.phases = _one_cycle_phases(pct_start * total_steps, total_steps, three_phase)
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            for group in groups:
                if "momentum" not in group and "betas" not in group:
                    raise ValueError(
                        "OneCycleLR: cycle_momentum needs an optimizer with momentum or betas"
                    )
                group["base_momentum"], group["max_momentum"] = base_momentum, max_momentum
        super().__init__(optimizer)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def step(self) -> None:
        self.last_epoch += 1
        step = self.last_epoch
        if step >= self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {step + 1} times, but total_steps is {self.total_steps}"
            )
        for group in self.optimizer.param_groups:
            start_step = 0
            for i, (end_step, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
                if step <= end_step or i == len(self.phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    group["lr"] = self._anneal(group[lr_from], group[lr_to], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[m_from], group[m_to], pct)
                        if "betas" in group:
                            group["betas"] = (momentum, *group["betas"][1:])
                        else:
                            group["momentum"] = momentum
                    break
                start_step = end_step


class ReduceLROnPlateau:
    """Multiply the rate by ``factor`` when ``metric`` (passed to ``step``) has not improved
    for more than ``patience`` epochs; then wait ``cooldown`` epochs. Improvement means
    better than best * (1 -/+ threshold) (``threshold_mode="rel"``) or best -/+ threshold
    (``"abs"``). NaN never counts as an improvement.

    Args:
        optimizer: the Optimizer to drive.
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        factor: lr = max(lr * factor, min_lr) at each reduction; below 1.
        patience: the epochs without improvement tolerated.
        threshold: the margin an improvement must clear.
        threshold_mode: ``"rel"`` (a share of the best value) or ``"abs"``.
        cooldown: the epochs after a reduction during which nothing is counted.
        min_lr: the lowest rate (or one per group).
        eps: a change smaller than this is not made.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> opt = nn.optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
        >>> schedule = nn.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
        >>> for loss in [1.0, 1.0, 1.0]:      # no improvement after the first epoch
        ...     schedule.step(loss)
        >>> schedule.get_last_lr()
        [0.5]
    """

    def __init__(
        self,
        optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ):
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(
                "ReduceLROnPlateau: mode is 'min' or 'max', threshold_mode 'rel' or 'abs'"
            )
        if factor >= 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown = threshold, threshold_mode, cooldown
        self.min_lrs = (
            list(min_lr)
            if isinstance(min_lr, (list, tuple))
            else [min_lr] * len(optimizer.param_groups)
        )
        self.eps = eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0
        self.last_epoch = 0

    def is_better(self, value: float) -> bool:
        if self.mode == "min":
            bar = (
                self.best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else self.best - self.threshold
            )
            return value < bar
        bar = (
            self.best * (1 + self.threshold)
            if self.threshold_mode == "rel"
            else self.best + self.threshold
        )
        return value > bar

    def step(self, metric: float) -> None:
        value = float(metric)
        self.last_epoch += 1
        if self.is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

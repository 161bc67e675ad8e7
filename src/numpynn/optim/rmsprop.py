"""RMSprop, Adagrad."""

from __future__ import annotations

import numpy as np

from numpynn import names
from numpynn.optim.optimizer import Optimizer


@names.register("optimizer", "rmsprop", lr=1e-3, alpha=0.9, eps=1e-7)  # Keras's rho=0.9
class RMSprop(Optimizer):
    """PyTorch's RMSprop. With g = grad + weight_decay * p:

    s = alpha s + (1 - alpha) g^2
    avg = sqrt(s - a^2) + eps with a = alpha a + (1 - alpha) g if centered, else sqrt(s) + eps
    buf = momentum buf + g / avg; p -= lr buf      (momentum > 0)
    p -= lr g / avg                                (otherwise)

    Args:
        params: Parameters or parameter groups (see ``Optimizer``).
        lr: the learning rate.
        alpha: the decay rate of the average of g^2 (Keras's ``rho``).
        eps: added to the denominator.
        weight_decay: the L2 penalty's factor, added to the gradient.
        momentum: the momentum factor (0: none).
        centered: divide by an estimate of the variance of g rather than its mean square.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> p = nn.Parameter(np.array([1.0]))
        >>> opt = nn.optim.RMSprop([p], lr=0.01)
        >>> p.grad[...] = 0.5
        >>> opt.step()                    # s = 0.01 * 0.25; p -= 0.01 * 0.5 / sqrt(s)
        >>> p.data.round(6)
        array([0.9])
    """

    def __init__(
        self,
        params,
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )

    def update(self, p, state, group):
        if not state:
            state.update(step=0, square_avg=np.zeros_like(p.data))
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        g, alpha = self.grad_with_l2(p, group), group["alpha"]
        a, b = self.scratch(p, 0), self.scratch(p, 1)
        s = state["square_avg"]
        s *= alpha
        s += np.multiply(np.multiply(g, 1 - alpha, out=a), g, out=a)
        if group["centered"]:
            mean = state["grad_avg"]
            mean *= alpha
            mean += np.multiply(g, 1 - alpha, out=a)
            avg = np.sqrt(np.subtract(s, np.multiply(mean, mean, out=a), out=a), out=a)
        else:
            avg = np.sqrt(s, out=a)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += np.divide(g, avg, out=b)
            p.data -= np.multiply(buf, group["lr"], out=b)
        else:
            p.data -= np.divide(np.multiply(g, group["lr"], out=b), avg, out=b)


@names.register("optimizer", "adagrad", lr=1e-3, initial_accumulator_value=0.1, eps=1e-7)
class Adagrad(Optimizer):
    """PyTorch's Adagrad. With g = grad + weight_decay * p and t the step count:

    sum += g^2;  p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)

    Args:
        params: Parameters or parameter groups (see ``Optimizer``).
        lr: the learning rate.
        lr_decay: the decay of the rate with the step count.
        weight_decay: the L2 penalty's factor, added to the gradient.
        initial_accumulator_value: the starting value of ``sum``.
        eps: added to the denominator.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> p = nn.Parameter(np.array([1.0]))
        >>> opt = nn.optim.Adagrad([p], lr=0.1)
        >>> p.grad[...] = 0.5
        >>> opt.step()                    # sum = 0.25; p -= 0.1 * 0.5 / 0.5
        >>> p.data.round(6)
        array([0.9])
    """

    def __init__(
        self,
        params,
        lr: float = 0.01,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        super().__init__(
            params,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )

    def update(self, p, state, group):
        if not state:
            state.update(step=0, sum=np.full_like(p.data, group["initial_accumulator_value"]))
        state["step"] += 1
        g = self.grad_with_l2(p, group)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        a, b = self.scratch(p, 0), self.scratch(p, 1)
        state["sum"] += np.multiply(g, g, out=a)
        std = np.sqrt(state["sum"], out=a)
        std += group["eps"]
        p.data -= np.divide(np.multiply(g, clr, out=b), std, out=b)

"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from numpynn import names
from numpynn.optim.optimizer import Optimizer


@names.register("optimizer", "sgd", lr=0.01)
class SGD(Optimizer):
    """PyTorch's SGD. With g = grad + weight_decay * p:

        buf = g                                  (first step)
        buf = momentum * buf + (1 - dampening) g (later steps)
        d = g + momentum * buf if nesterov else buf
        p -= lr * d

    ``p.grad`` is left untouched.

    Args:
        params: Parameters or parameter groups (see ``Optimizer``).
        lr: the learning rate.
        momentum: the momentum factor (0: plain gradient descent).
        dampening: the share of g taken away in the momentum update.
        weight_decay: the L2 penalty's factor, added to the gradient.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening = 0).

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> p = nn.Parameter(np.array([1.0]))
        >>> opt = nn.optim.SGD([p], lr=0.1, momentum=0.9)
        >>> p.grad[...] = 0.5
        >>> opt.step(); p.data                # buf = 0.5; p = 1 - 0.1 * 0.5
        array([0.95])
        >>> opt.step(); p.data                # buf = 0.9 * 0.5 + 0.5; p -= 0.1 * 0.95
        array([0.855])
    """

    def __init__(
        self,
        params,
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )

    def update(self, p, state, group):
        g = self.grad_with_l2(p, group)
        momentum, step = group["momentum"], self.scratch(p)
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, copy=True)
            else:
                buf *= momentum
                if group["dampening"]:
                    buf += np.multiply(g, 1 - group["dampening"], out=step)
                else:
                    buf += g
            if group["nesterov"]:
                g = np.add(g, np.multiply(buf, momentum, out=step), out=step)
            else:
                g = buf
        p.data -= np.multiply(g, group["lr"], out=step)

"""Adam, AdamW."""

from __future__ import annotations

import math

import numpy as np

from numpynn import names
from numpynn.optim.optimizer import Optimizer


@names.register("optimizer", "adam", lr=1e-3, eps=1e-7)  # Keras's epsilon
class Adam(Optimizer):
    """Adam (Kingma & Ba), as PyTorch computes it. With g = grad (+ weight_decay * p, L2
    style) and t the parameter's step count:

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2   (v_max = max(v_max, v) if amsgrad)
        p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    eps is added after the bias correction of sqrt(v), as in PyTorch.

    Args:
        params: Parameters or parameter groups (see ``Optimizer``).
        lr: the learning rate.
        betas: (b1, b2), the decay rates of the first and second moments, in [0, 1).
        eps: added to the denominator (PyTorch's 1e-8; the name ``"adam"`` gives Keras's 1e-7).
        weight_decay: the L2 penalty's factor, added to the gradient.
        amsgrad: divide by the largest v so far (Reddi et al.).

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> p = nn.Parameter(np.array([1.0]))
        >>> opt = nn.optim.Adam([p], lr=0.1)
        >>> p.grad[...] = 0.5
        >>> opt.step()                    # the first step is lr * g / |g|, up to eps
        >>> p.data.round(6)
        array([0.9])
    """

    decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"{type(self).__name__}: betas must lie in [0, 1), got {betas}")
        super().__init__(
            params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )

    def update(self, p, state, group):
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t, (b1, b2), lr = state["step"], group["betas"], group["lr"]
        if self.decoupled:
            if group["weight_decay"]:
                p.data *= 1 - lr * group["weight_decay"]
            g = p.grad
        else:
            g = self.grad_with_l2(p, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        denom, step = self.scratch(p, 0), self.scratch(p, 1)  # reused arrays, no allocation
        m *= b1
        m += np.multiply(g, 1 - b1, out=step)  # m = b1 m + (1 - b1) g
        v *= b2
        v += np.multiply(np.square(g, out=step), 1 - b2, out=step)  # v = b2 v + (1 - b2) g^2
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        np.sqrt(v, out=denom)
        denom /= math.sqrt(1 - b2**t)
        denom += group["eps"]  # sqrt(v / (1 - b2^t)) + eps
        np.multiply(m, lr / (1 - b1**t), out=step)
        p.data -= np.divide(step, denom, out=step)  # p -= lr m / (1 - b1^t) / denom


@names.register("optimizer", "adamw", lr=1e-3, eps=1e-7, weight_decay=0.004)
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): before the Adam step,
    p *= 1 - lr * weight_decay. Default weight_decay is 0.01, as in PyTorch.

    Args:
        params: Parameters or parameter groups (see ``Optimizer``).
        lr: the learning rate.
        betas: (b1, b2), the decay rates of the moments.
        eps: added to the denominator.
        weight_decay: the decoupled decay factor (not added to the gradient).
        amsgrad: divide by the largest v so far.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> p = nn.Parameter(np.array([1.0]))
        >>> opt = nn.optim.AdamW([p], lr=0.1, weight_decay=0.01)
        >>> p.grad[...] = 0.5
        >>> opt.step()                    # 1 * (1 - 0.1 * 0.01), then - 0.1
        >>> p.data.round(6)
        array([0.899])
    """

    decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

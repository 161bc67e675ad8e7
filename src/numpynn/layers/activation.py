"""Activation functions as layers; the same functions are in ``numpynn.functional``.

Each backward is the derivative written next to its forward. Derivatives at kinks follow
PyTorch: ReLU'(0) = 0, LeakyReLU'(0) = negative_slope, ELU'(0) = alpha.
"""

from __future__ import annotations

import math

import numpy as np

from numpynn import functional as F
from numpynn import names
from numpynn.module import Module


class LogitGradient:
    """dLoss/dlogits, handed back *through* the Softmax or Sigmoid that made the
    probabilities, which passes it on unchanged.

    ``fit`` uses it for the Keras pairs softmax + categorical cross-entropy and sigmoid +
    binary cross-entropy: it computes the loss from the activation's input (the logits),
    whose gradient is p - y exactly. The chain rule through the probabilities,
    dL/dp * dp/dz, would compute 0 * inf wherever p rounds to 0 or 1.
    """

    __slots__ = ("value",)

    def __init__(self, value: np.ndarray):
        self.value = value


@names.register("activation", "relu")
class ReLU(Module):
    """max(x, 0). Shape: any, unchanged."""

    def forward(self, x):
        self.out = np.maximum(x, 0)  # the next layer keeps it anyway: no memory of its own
        return self.out

    def backward(self, grad):
        return grad * (self.out > 0)  # out > 0 exactly where x > 0: the input's sign


@names.register("activation", "leaky_relu", negative_slope=0.2)  # Keras's slope
class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise. Shape: any, unchanged."""

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        self.mask = x > 0  # computed once, used by both passes
        return np.where(self.mask, x, x * self.negative_slope)

    def backward(self, grad):
        return np.where(self.mask, grad, grad * self.negative_slope)

    def get_config(self):
        return {"negative_slope": self.negative_slope}

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


@names.register("activation", "elu")
class ELU(Module):
    """x for x > 0, alpha (exp(x) - 1) otherwise; d/dx = alpha exp(x) there (computed as
    such: y + alpha would cancel to zero in the far negative tail)."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return F.elu(x, self.alpha)

    def backward(self, grad):
        x = self.x
        return np.where(x > 0, grad, grad * self.alpha * np.exp(np.minimum(x, 0)))

    def get_config(self):
        return {"alpha": self.alpha}

    def extra_repr(self):
        return f"alpha={self.alpha}"


@names.register("activation", "gelu")
class GELU(Module):
    """x Phi(x), Phi the standard normal CDF (``approximate="none"``, PyTorch's default),
    or 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3) (``approximate="tanh"``).

    d/dx = Phi(x) + x phi(x) exactly; 0.5 (1 + t) + 0.5 x (1 - t^2) du/dx for the tanh form.
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        return F.gelu(x, self.approximate)

    def backward(self, grad):
        x = self.x
        if self.approximate == "tanh":
            x = np.clip(x, -10, 10)  # beyond, the slope is 0 or 1 to float64 precision
            c = math.sqrt(2 / math.pi)
            t = np.tanh(c * (x + 0.044715 * x**3))
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x))
        u = np.clip(x, -40, 40)  # x phi(x) is 0 beyond (exp(-800)), and u * u cannot overflow
        return grad * (F.normal_cdf(x) + u * np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi))

    def get_config(self):
        return {"approximate": self.approximate}

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


@names.register("activation", "sigmoid")
class Sigmoid(Module):
    """sigma(x) = 1 / (1 + exp(-x)), no overflow for any input. Shape: any, unchanged."""

    def forward(self, x):
        self.logits = x
        self.out = F.sigmoid(x)
        return self.out

    def backward(self, grad):
        if isinstance(grad, LogitGradient):
            return grad.value  # already dLoss/dx, from the logits (see LogitGradient)
        return grad * self.out * (1 - self.out)  # d sigma = sigma (1 - sigma)


@names.register("activation", "tanh")
class Tanh(Module):
    """tanh(x); d/dx = 1 - tanh(x)^2. Shape: any, unchanged."""

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out * self.out)


@names.register("activation", "swish", "silu")
class SiLU(Module):
    """x sigma(x) (swish); d/dx = sigma(x) (1 + x (1 - sigma(x))). Shape: any, unchanged."""

    def forward(self, x):
        self.x, self.sig = x, F.sigmoid(x)
        return x * self.sig

    def backward(self, grad):
        return grad * self.sig * (1 + self.x * (1 - self.sig))


@names.register("activation", "softplus")
class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold; d/dx = sigma(beta x)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        self.x = x
        return F.softplus(x, self.beta, self.threshold)

    def backward(self, grad):
        bx = self.beta * self.x
        return grad * np.where(bx > self.threshold, 1, F.sigmoid(bx)).astype(grad.dtype)

    def get_config(self):
        return {"beta": self.beta, "threshold": self.threshold}

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


@names.register("activation", "softmax")
class Softmax(Module):
    """p = exp(x) / sum(exp(x)) along ``axis``.

    The Jacobian is diag(p) - p p^T, so dx = p * (grad - sum(grad * p)): the full
    Jacobian-vector product, not only its diagonal p (1 - p).
    """

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        self.logits = x
        self.out = F.softmax(x, self.axis)
        return self.out

    def backward(self, grad):
        if isinstance(grad, LogitGradient):
            return grad.value  # already dLoss/dx, from the logits (see LogitGradient)
        p = self.out
        return p * (grad - np.sum(grad * p, axis=self.axis, keepdims=True))

    def get_config(self):
        return {"axis": self.axis}

    def extra_repr(self):
        return f"axis={self.axis}"


@names.register("activation", "log_softmax")
class LogSoftmax(Module):
    """y = x - log(sum(exp(x))) along ``axis``; dx = grad - exp(y) * sum(grad)."""

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        self.out = F.log_softmax(x, self.axis)
        return self.out

    def backward(self, grad):
        return grad - np.exp(self.out) * np.sum(grad, axis=self.axis, keepdims=True)

    def get_config(self):
        return {"axis": self.axis}

    def extra_repr(self):
        return f"axis={self.axis}"


def get_activation(identifier) -> Module | None:
    """An activation Module from a name (``"relu"``), a serialized entry, or a Module;
    None for ``None`` and ``"linear"`` (no activation)."""
    if identifier is None or identifier == "linear":
        return None
    if isinstance(identifier, dict):
        identifier = names.deserialize("layer", identifier)
    module = names.get("activation", identifier)
    if not isinstance(module, Module):
        raise TypeError(
            f"activation: expected a name such as 'relu' or a Module with forward and backward, "
            f"got {identifier!r}"
        )
    return module


def activation_config(identifier, module: Module | None):
    """What ``get_activation`` needs to rebuild ``module``: the name it was given by, or the
    module's class and config."""
    if module is None or isinstance(identifier, str):
        return identifier
    return names.serialize(module)


class Activation(Module):
    """Keras's ``Activation("relu")``: an activation chosen by name, as a layer of its own.

    Shape: that of the activation (any, unchanged, for the element-wise ones).

    >>> import numpy as np, numpynn as nn
    >>> nn.Activation("relu")(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    """

    def __init__(self, activation, name: str | None = None):
        self.activation = get_activation(activation)
        if self.activation is None:
            self.activation = names.get("activation", "linear")
        self._spec = activation_config(activation, self.activation)
        self.name = name

    def forward(self, x):
        return self.activation(x)

    def backward(self, grad):
        return self.activation.backward(grad)

    def output_shape(self, input_shape):
        return self.activation.output_shape(input_shape)

    def get_config(self):
        return {"activation": self._spec}

    def extra_repr(self):
        return repr(self._spec) if isinstance(self._spec, str) else ""

    def __repr__(self):
        return f"Activation({self.extra_repr() or self.activation!r})"

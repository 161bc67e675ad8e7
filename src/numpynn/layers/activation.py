"""Activation functions as layers; the same functions are in ``numpynn.functional``.

Each backward is the derivative written next to its forward. Derivatives at kinks follow
PyTorch: ReLU'(0) = 0, LeakyReLU'(0) = negative_slope, ELU'(0) = alpha. Every activation
keeps the input's shape and dtype.
"""

from __future__ import annotations

import math

import numpy as np

from numpynn import functional as F
from numpynn import names
from numpynn._threads import elementwise_in_parts
from numpynn.module import Module

# The elements of an activation's input from which its batch is split over the threads.
# benchmarks/threads.py, 2 cores at load 5 to 8 (benchmarks/README.md, "Threads"): no size
# won, split / one thread 1.31 at 3.2M elements (ReLU on 128x32x28x28), 1.3 to 7 below
# (memory-bound: the two parts share the memory bandwidth); so only larger inputs split.
ELEMENTWISE_SPLIT_FROM = 16_000_000


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
    """Rectified linear unit, y = max(x, 0); dy/dx = 1 where x > 0, else 0.

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> relu = nn.ReLU()
        >>> relu(np.array([-1.0, 0.0, 2.0]))
        array([0., 0., 2.])
        >>> relu.backward(np.array([5.0, 5.0, 5.0]))   # the gradient passes where x > 0
        array([0., 0., 5.])
    """

    def forward(self, x):
        # y = max(x, 0), kept: the next layer keeps it anyway (no memory of its own)
        self.out = elementwise_in_parts(_relu, x, min_size=ELEMENTWISE_SPLIT_FROM)
        return self.out

    def backward(self, grad):
        # dx = dy where y > 0 (exactly where x > 0: the input's sign), else 0
        return elementwise_in_parts(_relu_grad, grad, self.out, min_size=ELEMENTWISE_SPLIT_FROM)


def _relu(x, out):
    return np.maximum(x, 0, out=out)


def _relu_grad(grad, y, out):
    return np.multiply(grad, y > 0, out=out)


@names.register("activation", "leaky_relu", negative_slope=0.2)  # Keras's slope
class LeakyReLU(Module):
    """Leaky ReLU, y = x for x > 0, negative_slope * x otherwise; dy/dx = 1 or negative_slope.

    Args:
        negative_slope: the slope for x <= 0 (PyTorch's 0.01; the name ``"leaky_relu"``
            gives Keras's 0.2).

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.LeakyReLU(0.1)(np.array([-2.0, 3.0]))
        array([-0.2,  3. ])
    """

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
    """Exponential linear unit, y = x for x > 0, alpha (exp(x) - 1) otherwise.

    dy/dx = 1 for x > 0, alpha exp(x) otherwise (computed as such: y + alpha would cancel
    to zero in the far negative tail).

    Args:
        alpha: the value the negative side approaches, -alpha as x goes to -inf.

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.ELU()(np.array([-100.0, 0.0, 1.5]))
        array([-1. ,  0. ,  1.5])
    """

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
    """Gaussian error linear unit, y = x Phi(x), Phi the standard normal CDF.

    With ``approximate="tanh"``: y = 0.5 x (1 + t), t = tanh(u), u = sqrt(2/pi) (x + 0.044715
    x^3). dy/dx = Phi(x) + x phi(x) exactly (phi the normal density); 0.5 (1 + t) +
    0.5 x (1 - t^2) du/dx for the tanh form.

    Args:
        approximate: ``"none"`` (the exact form, PyTorch's default) or ``"tanh"``.

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.GELU()(np.array([-10.0, 0.0, 1.0])).round(4)
        array([-0.    ,  0.    ,  0.8413])
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        if self.approximate == "tanh":
            return F.gelu(x, self.approximate)
        self.cdf = F.normal_cdf(x)  # Phi(x), kept: the backward needs it too
        return x * self.cdf

    def backward(self, grad):
        x = self.x
        if self.approximate == "tanh":
            x = np.clip(x, -10, 10)  # beyond, the slope is 0 or 1 to float64 precision
            c = math.sqrt(2 / math.pi)
            t = np.tanh(c * (x + 0.044715 * x**3))
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x))
        u = np.clip(x, -40, 40)  # x phi(x) is 0 beyond (exp(-800)), and u * u cannot overflow
        return grad * (self.cdf + u * np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi))

    def get_config(self):
        return {"approximate": self.approximate}

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


@names.register("activation", "sigmoid")
class Sigmoid(Module):
    """Logistic function, y = sigma(x) = 1 / (1 + exp(-x)); dy/dx = y (1 - y).

    Computed without overflow for any input.

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.Sigmoid()(np.array([-1000.0, 0.0, 1000.0]))
        array([0. , 0.5, 1. ])
    """

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
    """Hyperbolic tangent, y = tanh(x); dy/dx = 1 - y^2.

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.Tanh()(np.array([0.0, 100.0]))
        array([0., 1.])
    """

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out * self.out)


@names.register("activation", "swish", "silu")
class SiLU(Module):
    """SiLU (swish), y = x sigma(x); dy/dx = sigma(x) (1 + x (1 - sigma(x))).

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.SiLU()(np.array([0.0, 100.0]))
        array([  0., 100.])
    """

    def forward(self, x):
        self.x, self.sig = x, F.sigmoid(x)
        return x * self.sig

    def backward(self, grad):
        return grad * self.sig * (1 + self.x * (1 - self.sig))


@names.register("activation", "softplus")
class Softplus(Module):
    """Softplus, y = log(1 + exp(beta x)) / beta; dy/dx = sigma(beta x).

    Where beta x > threshold, y = x (and dy/dx = 1): the same value to float precision,
    without overflow.

    Args:
        beta: the sharpness; larger beta comes closer to ReLU.
        threshold: above this value of beta x the layer is linear.

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.Softplus()(np.array([0.0, 50.0])).round(4)
        array([ 0.6931, 50.    ])
    """

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
    """Softmax, p = exp(x) / sum(exp(x)) along ``axis`` (computed stably, max subtracted).

    The Jacobian is diag(p) - p p^T, so dx = p * (grad - sum(grad * p)): the full
    Jacobian-vector product, not only its diagonal p (1 - p).

    Args:
        axis: the axis that sums to 1 (the classes of an (N, C) output by default).

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.Softmax()(np.array([[0.0, 0.0], [1000.0, 0.0]]))
        array([[0.5, 0.5],
               [1. , 0. ]])
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
    """Log-softmax, y = x - log(sum(exp(x))) along ``axis``; dx = grad - exp(y) sum(grad).

    Pair it with ``NLLLoss``; together they are ``CrossEntropyLoss``.

    Args:
        axis: the axis of the classes.

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> y = nn.LogSoftmax()(np.array([[0.0, 0.0]]))
        >>> bool(np.allclose(y, np.log(0.5)))
        True
    """

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
    None for ``None`` and ``"linear"`` (no activation).

    Examples:
        >>> import numpynn as nn
        >>> nn.layers.activation.get_activation("relu"), nn.layers.activation.get_activation(None)
        (ReLU(), None)
    """
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

    y = activation(x); the backward is the activation's.

    Args:
        activation: a name (``"relu"``, ``"softmax"``, ... see ``nn.names``) or a Module.
        name: the layer's name in a model.

    Shape:
        that of the activation (input (*), output (*) for the element-wise ones).

    Examples:
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

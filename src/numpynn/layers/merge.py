"""Layers that merge several inputs into one: Add, Subtract, Multiply, Average, Concatenate.

They take their inputs as arguments or, as in Keras, as one list (``nn.Add()([a, b])``),
and ``backward`` returns one gradient per input, in order.

>>> import numpy as np, numpynn as nn
>>> a, b = np.ones((2, 3)), np.full((2, 3), 2.0)
>>> nn.Add()([a, b])[0]
array([3., 3., 3.])
>>> nn.Concatenate()(a, b).shape
(2, 6)
"""

from __future__ import annotations

import numpy as np

from numpynn.module import Module


class Merge(Module):
    """Base of the element-wise merges: two or more inputs of one shape."""

    multi_input = True
    arity: int | None = None  # an exact number of inputs, if the operation needs one

    def __init__(self, name: str | None = None):
        self.name = name

    def check_input(self, xs):
        wanted = f"exactly {self.arity}" if self.arity else "at least 2"
        if len(xs) < 2 or (self.arity and len(xs) != self.arity):
            raise ValueError(f"{self.describe()}: expected {wanted} inputs, got {len(xs)}")
        self._check_shapes([x.shape for x in xs])
        return xs

    def _check_shapes(self, shapes):
        if any(s != shapes[0] for s in shapes):
            raise ValueError(
                f"{self.describe()}: expected inputs of one shape, got "
                + ", ".join(str(s) for s in shapes)
            )

    def output_shape(self, input_shapes):
        return tuple(input_shapes[0])

    def get_config(self):
        return {}


class Add(Merge):
    """y = x_1 + x_2 + ...; each input's gradient is the upstream gradient itself."""

    def forward(self, *xs):
        self.count = len(xs)
        return sum(xs[1:], start=xs[0])

    def backward(self, grad):
        return (grad,) * self.count


class Subtract(Merge):
    """y = x_1 - x_2; gradients (grad, -grad)."""

    arity = 2

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Multiply(Merge):
    """y = x_1 * x_2 * ... element-wise; dy/dx_i = the product of the other inputs."""

    def forward(self, *xs):
        self.xs = xs
        out = xs[0] * xs[1]
        for x in xs[2:]:
            out *= x
        return out

    def backward(self, grad):
        grads = []
        for i in range(len(self.xs)):
            g = grad
            for j, x in enumerate(self.xs):
                if j != i:
                    g = g * x
            grads.append(g)
        return tuple(grads)


class Average(Merge):
    """y = (x_1 + ... + x_n) / n; each input's gradient is grad / n."""

    def forward(self, *xs):
        self.count = len(xs)
        return sum(xs[1:], start=xs[0]) / self.count

    def backward(self, grad):
        return (grad / self.count,) * self.count


class Concatenate(Merge):
    """Join the inputs along ``axis`` (counted with the batch, so -1 is the features of
    (N, F) inputs); backward splits the gradient back into the inputs' sizes.

    Shape: inputs equal but along ``axis``; output the sum of their sizes along it.
    """

    def __init__(self, axis: int = -1, name: str | None = None):
        super().__init__(name)
        self.axis = axis

    def _check_shapes(self, shapes):
        ndim = len(shapes[0])
        if ndim < 2 or not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(
                f"{self.describe()}: axis {self.axis} must be a non-batch axis of the inputs, "
                f"got shapes {', '.join(str(s) for s in shapes)}"
            )
        axis = self.axis % ndim
        rest = [s[:axis] + s[axis + 1 :] for s in shapes]
        if any(len(s) != ndim for s in shapes) or any(r != rest[0] for r in rest):
            raise ValueError(
                f"{self.describe()}: expected inputs equal in all but axis {self.axis}, got "
                + ", ".join(str(s) for s in shapes)
            )

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return np.concatenate(xs, axis=self.axis)

    def backward(self, grad):
        return tuple(np.split(grad, np.cumsum(self.sizes)[:-1], axis=self.axis))

    def output_shape(self, input_shapes):
        axis = self.axis % len(input_shapes[0])
        sizes = [s[axis] for s in input_shapes]
        out = list(input_shapes[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        return {"axis": self.axis}

    def extra_repr(self):
        return f"axis={self.axis}"

"""Layers that merge several inputs into one: Add, Subtract, Multiply, Average, Concatenate.

They take their inputs as arguments or, as in Keras, as one list (``nn.Add()([a, b])``),
and ``backward`` returns one gradient per input, in order.

Examples:
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
    """Base of the element-wise merges: two or more inputs of one shape.

    Args:
        name: the layer's name in a model.

    Shape:
        inputs (*) all of one shape, output (*) the same shape.
    """

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
    """Sum, y = x_1 + x_2 + ...; dy/dx_i = 1, so each input's gradient is grad itself.

    Shape:
        inputs (*) all of one shape, output (*) the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.Add()(np.ones(2), np.ones(2), np.ones(2))
        array([3., 3.])
    """

    def forward(self, *xs):
        self.count = len(xs)
        return sum(xs[1:], start=xs[0])

    def backward(self, grad):
        return (grad,) * self.count


class Subtract(Merge):
    """Difference of two inputs, y = x_1 - x_2; gradients (grad, -grad).

    Shape:
        inputs (*) both of one shape, output (*) the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> layer = nn.Subtract()
        >>> layer(np.ones(2), np.full(2, 3.0))
        array([-2., -2.])
        >>> layer.backward(np.ones(2))
        (array([1., 1.]), array([-1., -1.]))
    """

    arity = 2

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Multiply(Merge):
    """Element-wise product, y = x_1 * x_2 * ...; dy/dx_i = the product of the other inputs.

    Shape:
        inputs (*) all of one shape, output (*) the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> layer = nn.Multiply()
        >>> layer(np.full(2, 2.0), np.full(2, 5.0))
        array([10., 10.])
        >>> layer.backward(np.ones(2))
        (array([5., 5.]), array([2., 2.]))
    """

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
    """Mean of the inputs, y = (x_1 + ... + x_n) / n; each input's gradient is grad / n.

    Shape:
        inputs (*) all of one shape, output (*) the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.Average()(np.zeros(2), np.full(2, 4.0))
        array([2., 2.])
    """

    def forward(self, *xs):
        self.count = len(xs)
        return sum(xs[1:], start=xs[0]) / self.count

    def backward(self, grad):
        return (grad / self.count,) * self.count


class Concatenate(Merge):
    """Join the inputs along ``axis`` (counted with the batch, so -1 is the features of
    (N, F) inputs); backward splits the gradient back into the inputs' sizes.

    y = [x_1, x_2, ...] along ``axis``; dx_i = the slice of grad where x_i went.

    Args:
        axis: a non-batch axis.
        name: the layer's name in a model.

    Shape:
        inputs equal but along ``axis``; output the sum of their sizes along it.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> layer = nn.Concatenate()
        >>> layer(np.zeros((2, 3)), np.ones((2, 1))).shape
        (2, 4)
        >>> [g.shape for g in layer.backward(np.ones((2, 4)))]
        [(2, 3), (2, 1)]
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

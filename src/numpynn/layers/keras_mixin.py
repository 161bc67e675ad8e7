"""``KerasLayer``: what Keras's spellings (``Dense``, ``Conv2D``) add to the PyTorch-style
engines they subclass: initialisers by name and an activation applied to the output."""

from __future__ import annotations

from numpynn import names
from numpynn.layers.activation import activation_config, get_activation


class KerasLayer:
    """What Keras's ``Dense`` and ``Conv2D`` add to ``Linear`` and ``Conv2d`` (a mixin
    listed before them): initialisers by name, and an activation applied to the output,
    whose backward runs first."""

    def _set_initializers(self, kernel_initializer: str, bias_initializer: str) -> None:
        for initializer in (kernel_initializer, bias_initializer):
            names.lookup("initializer", initializer)  # an unknown name fails now, not at build
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def _set_activation(self, activation) -> None:
        self.activation = get_activation(activation)
        self._activation_spec = activation_config(activation, self.activation)

    def initial_weights(self, shape, rng):
        weight = names.get("initializer", self.kernel_initializer, shape, seed=rng)
        if not self.use_bias:
            return weight, None
        return weight, names.get("initializer", self.bias_initializer, shape[:1], seed=rng)

    def forward(self, x):
        out = super().forward(x)
        return out if self.activation is None else self.activation(out)

    def backward(self, grad):
        if self.activation is not None:
            grad = self.activation.backward(grad)
        return super().backward(grad)

    def backward_params(self, grad):
        if self.activation is not None:
            grad = self.activation.backward(grad)
        super().backward_params(grad)

"""Normalization layers."""

from __future__ import annotations

import numpy as np

from numpynn._config import get_default_dtype
from numpynn.layers._windows import channel_sums, in_order_of, per_channel
from numpynn.module import Module, Parameter


class Normalization(Module):
    """Keras's ``Normalization``: y = (x - mean) / std per feature, with the mean and the
    variance of the training data, set by ``adapt(x_train)`` (or given), never trained.

    The statistics are buffers: saved with the model, counted as non-trainable, so a saved
    model takes raw features. A constant feature (variance 0) is only centred.

    Args:
        axis: the feature axis (statistics per index along it, over all other axes).

    Shape: any, unchanged; ``x.shape[axis]`` is the number of features.

    >>> import numpy as np, numpynn as nn
    >>> layer = nn.Normalization()
    >>> layer.adapt(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> layer(np.array([[2.0, 40.0]]))
    array([[0., 2.]], dtype=float32)
    """

    buffers = ("mean", "variance")

    def __init__(self, axis: int = -1, mean=None, variance=None, name: str | None = None):
        self.axis, self.name = axis, name
        self.mean = self.variance = None
        self.built = False
        if mean is not None or variance is not None:
            if mean is None or variance is None:
                raise ValueError("Normalization: give both mean and variance, or neither")
            self._set(np.asarray(mean), np.asarray(variance))

    def adapt(self, data) -> None:
        """Set the mean and variance from ``data`` (the training set)."""
        data = np.asarray(data, dtype=np.float64)
        if data.ndim < 2 or len(data) == 0:
            raise ValueError(f"{self.describe()}: adapt expects (N, ...) data, got {data.shape}")
        axis = self.axis % data.ndim
        if axis == 0:
            raise ValueError(f"{self.describe()}: the feature axis cannot be the batch axis")
        others = tuple(a for a in range(data.ndim) if a != axis)
        self._set(data.mean(axis=others), data.var(axis=others))

    def _set(self, mean, variance):
        if mean.shape != variance.shape or mean.ndim != 1:
            raise ValueError(
                f"{self.describe()}: mean and variance must be 1-D of one length, got "
                f"{mean.shape} and {variance.shape}"
            )
        dtype = get_default_dtype()
        self.mean, self.variance = mean.astype(dtype), variance.astype(dtype)
        self.built = True

    def build(self, input_shape):
        raise RuntimeError(f"{self.describe()}: call adapt(x_train) before using the layer")

    def _broadcast(self, value, ndim):
        shape = [1] * ndim
        shape[self.axis % ndim] = -1
        return value.reshape(shape)

    def check_input(self, x):
        if x.ndim < 2 or x.shape[self.axis] != len(self.mean):
            raise ValueError(
                f"{self.describe()}: expected {len(self.mean)} features on axis {self.axis}, "
                f"got input {x.shape}"
            )
        return x if x.dtype == self.mean.dtype else x.astype(self.mean.dtype)

    def forward(self, x):
        std = np.sqrt(self.variance)
        self.std = self._broadcast(np.where(std > 0, std, 1).astype(std.dtype), x.ndim)
        return (x - self._broadcast(self.mean, x.ndim)) / self.std

    def backward(self, grad):
        return grad / self.std  # d((x - m) / s)/dx = 1 / s

    def get_config(self):
        if self.mean is None:
            return {"axis": self.axis}
        return {"axis": self.axis, "mean": self.mean.tolist(), "variance": self.variance.tolist()}

    def extra_repr(self):
        return f"axis={self.axis}, features={None if self.mean is None else len(self.mean)}"


class _BatchNorm(Module):
    """Batch normalization over the batch (and spatial) axes, per channel (axis 1):

        y = gamma (x - mean) / sqrt(var + eps) + beta

    In training, mean and (biased) var are the batch's, and the running statistics move by
    ``momentum``: running = (1 - momentum) running + momentum batch, with the *unbiased*
    batch variance (PyTorch's rule). In eval mode the running statistics are used.

    Backward in training (m values per channel, x_hat the normalised input):
    dx = gamma / sqrt(var + eps) (dy - mean(dy) - x_hat mean(dy x_hat)).

    Args:
        num_features: C, or None to take it from the first input.
        eps: added to the variance before the square root.
        momentum: the running statistics' step (PyTorch's sense: the weight of the batch).
        affine: learn gamma (``weight``, ones) and beta (``bias``, zeros) per channel.
    """

    buffers = ("running_mean", "running_var", "num_batches_tracked")
    dims: tuple[int, ...] = (2,)

    def __init__(
        self,
        num_features: int | None,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
    ):
        if not 0 <= momentum <= 1:
            raise ValueError(f"{type(self).__name__}: momentum must lie in [0, 1], got {momentum}")
        self.num_features, self.eps, self.momentum, self.affine = (
            num_features,
            eps,
            momentum,
            affine,
        )
        self.built = False
        if num_features is not None:
            self.build((None, num_features))

    def build(self, input_shape):
        if input_shape[1] is None:
            raise ValueError(f"{self.describe()}: cannot build on an unknown channel count")
        self.num_features = c = int(input_shape[1])
        dtype = get_default_dtype()
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype), "weight")
            self.bias = Parameter(np.zeros(c, dtype), "bias")
        self.running_mean, self.running_var = np.zeros(c, dtype), np.ones(c, dtype)
        self.num_batches_tracked = np.array(0, dtype=np.int64)
        self.built = True

    def check_input(self, x):
        if x.ndim not in self.dims or x.shape[1] != self.num_features:
            shapes = " or ".join(
                {2: "(N, C)", 3: "(N, C, L)", 4: "(N, C, H, W)"}[d] for d in self.dims
            ).replace("C", str(self.num_features))
            raise ValueError(f"{self.describe()}: expected {shapes}, got {x.shape}")
        if self.training and x.size == x.shape[1]:
            raise ValueError(
                f"{self.describe()}: one value per channel in training mode ({x.shape}): "
                "the batch variance is undefined; use a batch of 2 or more, or eval()"
            )
        dtype = self.running_mean.dtype
        return x if x.dtype == dtype else x.astype(dtype)

    def forward(self, x):
        if self.training:
            count = x.size // self.num_features  # values per channel
            mean = channel_sums(x) / count
            centred = x - per_channel(mean, x)
            var = channel_sums(centred * centred) / count  # biased: the batch's own
            self._update_running_stats(mean, var, count)
        else:
            mean, var = self.running_mean, self.running_var
            centred = x - per_channel(mean, x)
        self.inv_std = 1 / np.sqrt(var + self.eps)
        self.x_hat = centred
        self.x_hat *= per_channel(self.inv_std, x)  # x_hat = (x - mean) / sqrt(var + eps)
        self.batch_stats = self.training
        if not self.affine:
            return self.x_hat
        out = self.x_hat * per_channel(self.weight.data, x)  # y = gamma x_hat + beta
        out += per_channel(self.bias.data, x)
        return out

    def _update_running_stats(self, mean, var, count):
        m = self.momentum
        self.running_mean *= 1 - m
        self.running_mean += m * mean
        self.running_var *= 1 - m
        self.running_var += m * var * (count / (count - 1))  # unbiased, as PyTorch
        self.num_batches_tracked += 1

    def backward(self, grad):
        x_hat = self.x_hat
        if grad.strides != x_hat.strides:  # one copy to x_hat's memory order, not every
            grad = in_order_of(x_hat, grad)  # pass below over mixed orders
        grad_sum, grad_xhat_sum = channel_sums(grad), channel_sums(grad * x_hat)
        gamma = self.weight.data if self.affine else np.ones_like(grad_sum)
        if self.affine:
            self.weight.grad += grad_xhat_sum
            self.bias.grad += grad_sum
        scale = per_channel(gamma * self.inv_std, x_hat)
        if not self.batch_stats:  # eval: a fixed affine map
            return grad * scale
        # dx = gamma / sqrt(var + eps) (dy - mean(dy) - x_hat mean(dy x_hat)), in 4 passes
        count = grad.size // self.num_features
        dx = x_hat * per_channel(-grad_xhat_sum / count, x_hat)
        dx += grad
        dx -= per_channel(grad_sum / count, x_hat)
        dx *= scale
        return dx

    def get_config(self):
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
        }

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, per channel (see ``_BatchNorm``
    for the formula and the arguments).

    Shape: (N, C) or (N, C, L), unchanged.

    >>> import numpy as np, numpynn as nn
    >>> nn.BatchNorm1d(2)(np.array([[1.0, 10.0], [3.0, 30.0]])).round(3)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
    """

    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of images (N, C, H, W), per channel over N, H and W (see
    ``_BatchNorm`` for the formula and the arguments).

    Shape: (N, C, H, W), unchanged.

    >>> import numpy as np, numpynn as nn
    >>> layer = nn.BatchNorm2d(3)
    >>> y = layer(np.random.default_rng(0).normal(5, 2, size=(8, 3, 4, 4)))
    >>> bool(abs(y.mean()) < 1e-6), layer.running_mean.round(1)
    (True, array([0.5, 0.5, 0.5], dtype=float32))
    """

    dims = (4,)


class BatchNormalization(_BatchNorm):
    """Keras's ``BatchNormalization`` on channels-first data (axis 1): (N, C), (N, C, L) or
    (N, C, H, W), channels from the first input (or ``num_features``). Keras's
    ``momentum=0.99`` weighs the old
    running value, so it is PyTorch's ``momentum = 1 - 0.99``; ``epsilon`` defaults to 1e-3.

    Shape: (N, C), (N, C, L) or (N, C, H, W), unchanged.

    >>> import numpy as np, numpynn as nn
    >>> layer = nn.BatchNormalization(momentum=0.9)
    >>> _ = layer(np.full((4, 2), 5.0))
    >>> layer.running_mean  # 0.9 * 0 + 0.1 * 5
    array([0.5, 0.5], dtype=float32)
    """

    dims = (2, 3, 4)

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        num_features: int | None = None,
        name: str | None = None,
    ):
        if center != scale:
            raise ValueError("BatchNormalization: center and scale are supported together only")
        self.keras_momentum = momentum
        super().__init__(num_features, epsilon, round(1 - momentum, 12), center)
        self.name = name

    def get_config(self):
        return {
            "momentum": self.keras_momentum,
            "epsilon": self.eps,
            "center": self.affine,
            "scale": self.affine,
            "num_features": self.num_features,
        }


class LayerNorm(Module):
    """Layer normalization over the last dimensions ``normalized_shape``, per sample:

        y = gamma (x - mean) / sqrt(var + eps) + beta,  gamma and beta of normalized_shape.

    Backward: dx = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(var + eps), g = dy gamma.

    Args:
        normalized_shape: the trailing dimensions normalised together (an int or a tuple).
        eps: added to the variance before the square root.
        elementwise_affine: learn gamma (``weight``, ones) and beta (``bias``, zeros).

    Shape: (*, *normalized_shape), unchanged.

    >>> import numpy as np, numpynn as nn
    >>> nn.LayerNorm(4)(np.array([[1.0, 2.0, 3.0, 4.0]])).round(3)
    array([[-1.342, -0.447,  0.447,  1.342]], dtype=float32)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True):
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            dtype = get_default_dtype()
            self.weight = Parameter(np.ones(self.normalized_shape, dtype), "weight")
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype), "bias")

    def check_input(self, x):
        k = len(self.normalized_shape)
        if x.shape[-k:] != self.normalized_shape or x.ndim < k:
            raise ValueError(
                f"{self.describe()}: expected input (*, "
                f"{', '.join(map(str, self.normalized_shape))}), got {x.shape}"
            )
        if self.elementwise_affine and x.dtype != self.weight.dtype:
            return x.astype(self.weight.dtype)
        return x

    def forward(self, x):
        axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        self.inv_std = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + self.eps)
        self.x_hat, self.axes = (x - mean) * self.inv_std, axes
        if not self.elementwise_affine:
            return self.x_hat
        return self.x_hat * self.weight.data + self.bias.data

    def backward(self, grad):
        axes = self.axes
        if self.elementwise_affine:
            batch_axes = tuple(range(grad.ndim - len(axes)))
            self.weight.grad += (grad * self.x_hat).sum(axis=batch_axes)
            self.bias.grad += grad.sum(axis=batch_axes)
            grad = grad * self.weight.data
        mean_grad = grad.mean(axis=axes, keepdims=True)
        mean_grad_xhat = (grad * self.x_hat).mean(axis=axes, keepdims=True)
        return self.inv_std * (grad - mean_grad - self.x_hat * mean_grad_xhat)

    def get_config(self):
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
        }

    def extra_repr(self):
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )

"""Weight initialisers.

Each initialiser returns a new array of the given shape in the default dtype (or
``dtype``), drawn from ``seed`` (an int, a Generator, or the library's generator). The
same functions with a trailing underscore fill an existing Parameter or array in place,
as in PyTorch (``init.xavier_uniform_(layer.weight)``).

Fans follow PyTorch's weight layouts: for a shape ``(out, in, *kernel)``,
fan_in = in * prod(kernel) and fan_out = out * prod(kernel); a 1-D shape has
fan_in = fan_out = its length.

The common arguments: ``shape`` (a tuple of ints), ``seed`` (an int, a Generator, or None
for the library's generator) and ``dtype`` (None for the default dtype, float32).

Examples:
    >>> import numpynn as nn
    >>> w = nn.init.kaiming_uniform((128, 784), nonlinearity="relu", seed=0)
    >>> float(abs(w).max()) <= (6 / 784) ** 0.5
    True
    >>> layer = nn.Linear(3, 2)
    >>> nn.init.zeros_(layer.bias).data                  # in place, in the parameter's dtype
    array([0., 0.], dtype=float32)
"""

from __future__ import annotations

import math

import numpy as np

from numpynn import names
from numpynn._config import Seed, get_default_dtype, get_rng


def calculate_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` in PyTorch's layout.

    fan_in = shape[1] * prod(shape[2:]), fan_out = shape[0] * prod(shape[2:]).

    Examples:
        >>> import numpynn as nn
        >>> nn.init.calculate_fans((16, 3, 5, 5))   # a Conv2d(3, 16, 5) weight
        (75, 400)
    """
    if len(shape) == 0:
        raise ValueError("calculate_fans: a scalar has no fan in or out")
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity``.

    1 for linear, conv and sigmoid; 5/3 for tanh; sqrt(2) for relu;
    sqrt(2 / (1 + slope^2)) for leaky_relu; 3/4 for selu.

    Args:
        nonlinearity: one of linear, sigmoid, tanh, relu, leaky_relu, selu (or conv*).
        param: the negative slope for leaky_relu (default 0.01).

    Examples:
        >>> import numpynn as nn
        >>> round(nn.init.calculate_gain("relu") ** 2, 6)
        2.0
    """
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unknown nonlinearity {nonlinearity!r}; expected one of "
        "linear, sigmoid, tanh, relu, leaky_relu, selu"
    )


def _fan(shape, mode: str) -> int:
    fan_in, fan_out = calculate_fans(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: expected 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def _dtype(dtype) -> np.dtype:
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


def constant(shape, value: float, dtype=None) -> np.ndarray:
    """Every entry ``value``.

    Examples:
        >>> import numpynn as nn
        >>> nn.init.constant((2,), 0.5)
        array([0.5, 0.5], dtype=float32)
    """
    return np.full(shape, value, dtype=_dtype(dtype))


def zeros(shape, dtype=None, seed: Seed = None) -> np.ndarray:
    """Every entry 0 (``seed`` is accepted and unused, like every named initialiser's).

    Examples:
        >>> import numpynn as nn
        >>> nn.init.zeros((2,))
        array([0., 0.], dtype=float32)
    """
    return np.zeros(shape, dtype=_dtype(dtype))


def ones(shape, dtype=None, seed: Seed = None) -> np.ndarray:
    """Every entry 1 (``seed`` is accepted and unused).

    Examples:
        >>> import numpynn as nn
        >>> nn.init.ones((2,))
        array([1., 1.], dtype=float32)
    """
    return np.ones(shape, dtype=_dtype(dtype))


def uniform(shape, low: float = 0.0, high: float = 1.0, seed: Seed = None, dtype=None):
    """U(low, high): uniform on [low, high).

    Examples:
        >>> import numpynn as nn
        >>> w = nn.init.uniform((1000,), -0.5, 0.5, seed=0)
        >>> bool(w.min() >= -0.5 and w.max() < 0.5), w.dtype
        (True, dtype('float32'))
    """
    dtype = _dtype(dtype)
    return (get_rng(seed).random(shape, dtype=dtype) * (high - low) + low).astype(dtype)


def normal(shape, mean: float = 0.0, std: float = 1.0, seed: Seed = None, dtype=None):
    """N(mean, std^2).

    Examples:
        >>> import numpynn as nn
        >>> w = nn.init.normal((10000,), mean=1.0, std=0.1, seed=0)
        >>> round(float(w.mean()), 1), round(float(w.std()), 2)
        (1.0, 0.1)
    """
    dtype = _dtype(dtype)
    return (get_rng(seed).standard_normal(shape, dtype=dtype) * std + mean).astype(dtype)


def xavier_uniform(shape, gain: float = 1.0, seed: Seed = None, dtype=None):
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), Keras's default.

    Examples:
        >>> import numpynn as nn
        >>> w = nn.init.xavier_uniform((30, 70), seed=0)      # a = sqrt(6 / 100)
        >>> bool(abs(w).max() <= 0.6 ** 0.5)
        True
    """
    fan_in, fan_out = calculate_fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, -bound, bound, seed, dtype)


def xavier_normal(shape, gain: float = 1.0, seed: Seed = None, dtype=None):
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    Examples:
        >>> import numpynn as nn
        >>> w = nn.init.xavier_normal((100, 100), seed=0)     # std = sqrt(2 / 200) = 0.1
        >>> round(float(w.std()), 2)
        0.1
    """
    fan_in, fan_out = calculate_fans(shape)
    return normal(shape, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), seed, dtype)


def kaiming_uniform(
    shape, a: float = 0.0, mode="fan_in", nonlinearity="leaky_relu", seed: Seed = None, dtype=None
):
    """He: U(-b, b) with b = gain * sqrt(3 / fan).

    Args:
        a: the negative slope of leaky_relu (for the gain).
        mode: ``"fan_in"`` (keeps the forward variance) or ``"fan_out"`` (the backward's).
        nonlinearity: the activation that follows, for ``calculate_gain``.

    Examples:
        >>> import numpynn as nn
        >>> w = nn.init.kaiming_uniform((64, 600), nonlinearity="relu", seed=0)
        >>> bool(abs(w).max() <= (2 * 3 / 600) ** 0.5)       # b = sqrt(2) sqrt(3 / 600)
        True
    """
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(shape, mode))
    return uniform(shape, -bound, bound, seed, dtype)


def kaiming_normal(
    shape, a: float = 0.0, mode="fan_in", nonlinearity="leaky_relu", seed: Seed = None, dtype=None
):
    """He: N(0, std^2) with std = gain / sqrt(fan); for ReLU networks, std = sqrt(2 / fan_in).

    Args:
        a: the negative slope of leaky_relu (for the gain).
        mode: ``"fan_in"`` or ``"fan_out"``.
        nonlinearity: the activation that follows, for ``calculate_gain``.

    Examples:
        >>> import numpynn as nn
        >>> w = nn.init.kaiming_normal((100, 200), nonlinearity="relu", seed=0)
        >>> round(float(w.std()), 2)                          # sqrt(2 / 200)
        0.1
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))
    return normal(shape, 0.0, std, seed, dtype)


def lecun_uniform(shape, seed: Seed = None, dtype=None):
    """LeCun: U(-b, b) with b = sqrt(3 / fan_in).

    Examples:
        >>> import numpynn as nn
        >>> bool(abs(nn.init.lecun_uniform((10, 300), seed=0)).max() <= 0.1)
        True
    """
    return kaiming_uniform(shape, mode="fan_in", nonlinearity="linear", seed=seed, dtype=dtype)


def lecun_normal(shape, seed: Seed = None, dtype=None):
    """LeCun: N(0, 1 / fan_in) (not truncated, unlike Keras's).

    Examples:
        >>> import numpynn as nn
        >>> round(float(nn.init.lecun_normal((200, 100), seed=0).std()), 2)   # sqrt(1 / 100)
        0.1
    """
    return kaiming_normal(shape, mode="fan_in", nonlinearity="linear", seed=seed, dtype=dtype)


def orthogonal(shape, gain: float = 1.0, seed: Seed = None, dtype=None):
    """A (semi-)orthogonal matrix, reshaped to ``shape``: rows or columns orthonormal,
    times ``gain``. From the QR decomposition of a Gaussian matrix, with the signs of R's
    diagonal folded in so that the result is uniformly distributed.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> w = nn.init.orthogonal((3, 5), seed=0)
        >>> bool(np.allclose(w @ w.T, np.eye(3), atol=1e-6))
        True
    """
    if len(shape) < 2:
        raise ValueError(f"orthogonal: expected a shape with at least 2 dimensions, got {shape}")
    rows, cols = shape[0], math.prod(shape[1:])
    flat = get_rng(seed).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(_dtype(dtype))


def _in_place(initializer):
    """The PyTorch-style twin of ``initializer``: fill a Parameter or array in place."""

    def fill_(target, *args, **kwargs):
        array = getattr(target, "data", target)
        array[...] = initializer(array.shape, *args, dtype=array.dtype, **kwargs)
        return target

    fill_.__name__ = initializer.__name__ + "_"
    fill_.__qualname__ = fill_.__name__
    fill_.__doc__ = (
        f"In-place ``{initializer.__name__}``: fill ``target`` (a Parameter or an array) with "
        f"``{initializer.__name__}(target.shape, ...)`` in its own dtype; returns ``target``."
    )
    return fill_


zeros_ = _in_place(zeros)
ones_ = _in_place(ones)
constant_ = _in_place(constant)
uniform_ = _in_place(uniform)
normal_ = _in_place(normal)
xavier_uniform_ = _in_place(xavier_uniform)
xavier_normal_ = _in_place(xavier_normal)
kaiming_uniform_ = _in_place(kaiming_uniform)
kaiming_normal_ = _in_place(kaiming_normal)
lecun_uniform_ = _in_place(lecun_uniform)
lecun_normal_ = _in_place(lecun_normal)
orthogonal_ = _in_place(orthogonal)

glorot_uniform, glorot_normal = xavier_uniform, xavier_normal
he_uniform, he_normal = kaiming_uniform, kaiming_normal

# Keras's names. seed= is accepted (and unused) by zeros and ones, so that every named
# initialiser is called the same way: names.get("initializer", name, shape, seed=rng).
names.register("initializer", "glorot_uniform", "xavier_uniform")(xavier_uniform)
names.register("initializer", "glorot_normal", "xavier_normal")(xavier_normal)
names.register("initializer", "he_uniform", "kaiming_uniform")(kaiming_uniform)
names.register("initializer", "he_normal", "kaiming_normal")(kaiming_normal)
names.register("initializer", "lecun_uniform")(lecun_uniform)
names.register("initializer", "lecun_normal")(lecun_normal)
names.register("initializer", "orthogonal")(orthogonal)
names.register("initializer", "zeros")(zeros)
names.register("initializer", "ones")(ones)
names.register("initializer", "random_normal", std=0.05)(normal)
names.register("initializer", "random_uniform", low=-0.05, high=0.05)(uniform)

"""Loss functions.

``value = loss(pred, target)`` returns the loss (a float, or an array for
``reduction="none"``) and keeps what the gradient needs; ``loss.backward()`` then returns
dvalue/dpred for exactly that value: divided by the batch size for ``"mean"``, never
mean-valued but sum-gradient.

Each loss writes ``forward(pred, target)``, returning the unreduced losses (one per element,
or one per row for the classification losses), and ``local_grad()``, the derivative of each
unreduced loss with respect to its own slice of ``pred``. The base class does the reducing
in both directions, so no loss repeats it.

Examples:
    >>> import numpy as np, numpynn as nn
    >>> loss_fn = nn.CrossEntropyLoss()
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> round(loss_fn(logits, np.array([0, 2])), 4)
    0.6691
    >>> loss_fn.backward().shape
    (2, 3)
"""

from __future__ import annotations

import math

import numpy as np

from numpynn import functional as F
from numpynn import names
from numpynn._checks import check_real

REDUCTIONS = ("mean", "sum", "none")


class Loss:
    """Base class: reduction, the finite check, and the chain rule through the reduction.

    With l_i the unreduced losses: L = mean(l_i) (``"mean"``), sum(l_i) (``"sum"``) or the
    l_i themselves (``"none"``); dL/dpred_i = dl_i/dpred_i / N for the mean, where a loss
    may count other than N (the summed weights of the targets, or only those not ignored).

    A mean over nothing (an empty batch, every target equal to ``ignore_index``, or every
    target's class weight 0) is 0 with a zero gradient: such a batch holds nothing to learn,
    and leaves the weights where they are. PyTorch returns NaN there (0 / 0), which ``fit``
    would have to stop on; the sum is 0 in both. A non-finite prediction still makes the
    loss non-finite, ignored or not, and that is an error (``fit`` stops on it).

    Args:
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("numpynn."):
            names.register("loss")(cls)  # by class name, so a compiled model can be saved

    def __init__(self, reduction: str = "mean"):
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}"
            )
        self.reduction = reduction
        self.losses = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def local_grad(self) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, pred, target):
        pred, target = np.asarray(pred), np.asarray(target)
        check_real(target, self, "target")
        if pred.dtype.kind != "f":
            raise TypeError(f"{self.describe()}: expected a floating prediction, got {pred.dtype}")
        self.denominator = None  # forward may set a weighted count for "mean"
        losses = self.forward(pred, target)
        if self.denominator is None:
            self.denominator = losses.size
        self.losses, self.pred_shape = losses, pred.shape
        if self.reduction == "none":
            value = losses
        elif self.reduction == "sum":
            value = losses.sum()
        else:  # over nothing: 0 (see the class docstring), still NaN if a prediction is
            total = losses.sum()
            value = total / self.denominator if self.denominator else total * 0.0
        finite = math.isfinite(value) if np.ndim(value) == 0 else np.isfinite(value).all()
        if not finite:
            bad = int(np.sum(~np.isfinite(pred)))
            shown = value if np.ndim(value) == 0 else "non-finite entries"
            raise FloatingPointError(
                f"{self.describe()}: the loss is not finite ({shown}); "
                f"the prediction holds {bad} non-finite values. Usually the learning rate is too "
                "high or the gradients explode: lower the learning rate, clip gradients "
                "(nn.optim.clip_grad_norm_), and check the data for NaN or inf"
            )
        return float(value) if self.reduction != "none" else value

    def backward(self, grad=None) -> np.ndarray:
        """dLoss/dpred, times the upstream ``grad`` (1 by default; an array of the losses'
        shape for ``reduction="none"``)."""
        if self.losses is None:
            raise RuntimeError(f"{self.describe()}: backward() was called before the loss itself")
        if self.reduction == "none":
            scale = np.ones_like(self.losses) if grad is None else np.asarray(grad)
            if scale.shape != self.losses.shape:
                raise ValueError(
                    f"{self.describe()}: expected an upstream gradient of shape "
                    f"{self.losses.shape}, got {scale.shape}"
                )
            # one loss per row: its upstream scale broadcasts over that row of pred
            scale = scale.reshape(scale.shape + (1,) * (len(self.pred_shape) - scale.ndim))
        else:
            scale = 1.0 if grad is None else float(grad)
            if self.reduction == "mean":
                scale = scale / self.denominator if self.denominator else 0.0
        local = self.local_grad()
        return (local * scale).astype(local.dtype, copy=False)

    def with_reduction(self, reduction: str) -> Loss:
        """A new loss like this one but for ``reduction`` (``fit`` weighs samples with "none")."""
        return type(self)(**{**self.get_config(), "reduction": reduction})

    def describe(self) -> str:
        return type(self).__name__

    def get_config(self) -> dict:
        return {"reduction": self.reduction}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"

    def _same_shape_target(self, pred, target):
        if target.shape != pred.shape:
            hint = ""
            if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == pred.shape[:1]:
                hint = "; reshape it with y.reshape(-1, 1)"
            raise ValueError(
                f"{self.describe()}: expected a target of shape {pred.shape} (like the "
                f"prediction), got {target.shape}{hint}"
            )
        if target.dtype.kind not in "fiub":
            raise TypeError(f"{self.describe()}: expected a numeric target, got {target.dtype}")
        return target.astype(pred.dtype, copy=False)


@names.register("loss", "mse", "mean_squared_error")
class MSELoss(Loss):
    """Mean squared error, l = (pred - target)^2 per element; dl/dpred = 2 (pred - target).

    Args:
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        pred (*), target (*) the same shape (no broadcasting: (N, 1) against (N,) is an
        error, not an (N, N) matrix); output a float, or (*) for ``reduction="none"``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> loss_fn = nn.MSELoss()
        >>> loss_fn(np.array([1.0, 2.0]), np.array([0.0, 0.0]))   # (1 + 4) / 2
        2.5
        >>> loss_fn.backward()                                    # 2 (pred - target) / N
        array([1., 2.])
    """

    def forward(self, pred, target):
        self.diff = pred - self._same_shape_target(pred, target)
        return self.diff * self.diff

    def local_grad(self):
        return 2 * self.diff


@names.register("loss", "mae", "mean_absolute_error")
class L1Loss(Loss):
    """Mean absolute error, l = |pred - target|; dl/dpred = sign(pred - target), 0 at 0.

    Args:
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        pred (*), target (*) the same shape; output a float, or (*) for ``"none"``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> loss_fn = nn.L1Loss()
        >>> loss_fn(np.array([1.0, -3.0]), np.array([0.0, 0.0]))
        2.0
        >>> loss_fn.backward()
        array([ 0.5, -0.5])
    """

    def forward(self, pred, target):
        self.diff = pred - self._same_shape_target(pred, target)
        return np.abs(self.diff)

    def local_grad(self):
        return np.sign(self.diff)


@names.register("loss", "huber")
class HuberLoss(Loss):
    """Huber loss, l = 0.5 d^2 where |d| <= delta, delta (|d| - delta / 2) elsewhere, with
    d = pred - target; dl/dpred = d clipped to [-delta, delta].

    Args:
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        delta: where the quadratic turns linear (positive).

    Shape:
        pred (*), target (*) the same shape; output a float, or (*) for ``"none"``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> loss_fn = nn.HuberLoss(delta=1.0)
        >>> loss_fn(np.array([0.5, 3.0]), np.array([0.0, 0.0]))   # (0.125 + 2.5) / 2
        1.3125
        >>> loss_fn.backward()
        array([0.25, 0.5 ])
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, pred, target):
        self.diff = pred - self._same_shape_target(pred, target)
        a = np.abs(self.diff)
        return np.where(a <= self.delta, 0.5 * self.diff**2, self.delta * (a - 0.5 * self.delta))

    def local_grad(self):
        return np.clip(self.diff, -self.delta, self.delta)

    def get_config(self):
        return {"reduction": self.reduction, "delta": self.delta}


def _class_indices(loss: Loss, pred, target, weight):
    """Index targets checked, with ``loss.ignore_index`` kept out of everything: the targets
    (ignored rows pointing at class 0), which rows are kept, and each row's weight w_y (1
    without class weights, 0 where ignored); sets the mean's denominator to their sum."""
    if target.shape != pred.shape[:1]:
        raise ValueError(
            f"{loss.describe()}: expected class indices of shape ({pred.shape[0]},), "
            f"got {target.shape}"
        )
    kept = target != loss.ignore_index
    real = target[kept]
    if real.size and (real.min() < 0 or real.max() >= pred.shape[1]):
        raise ValueError(
            f"{loss.describe()}: class indices must lie in [0, {pred.shape[1] - 1}] (or "
            f"ignore_index {loss.ignore_index}) for {pred.shape[1]} classes, got values from "
            f"{real.min()} to {real.max()}"
        )
    target = np.where(kept, target, 0)
    row_weight = (kept if weight is None else weight[target] * kept).astype(pred.dtype)
    loss.denominator = int(np.count_nonzero(kept)) if weight is None else row_weight.sum()
    return target, kept, row_weight


def _class_axis_last(loss: Loss, pred, target):
    """(N, C, d1, ...) predictions as (N * d1 * ..., C) rows, and their targets as rows:
    the K-dimensional case of PyTorch's classification losses reduced to the 2-D one.
    ``loss.spatial_shape`` keeps (N, d1, ...) to undo it (None for 2-D input)."""
    loss.spatial_shape = None
    if pred.ndim <= 2:
        return pred, target
    n, c, *rest = pred.shape
    if target.shape == pred.shape:  # probabilities, one row per position
        target = np.moveaxis(target, 1, -1).reshape(-1, c)
    elif target.shape == (n, *rest):
        target = target.reshape(-1)
    else:
        raise ValueError(
            f"{loss.describe()}: for predictions of shape {pred.shape} expected targets of "
            f"shape {(n, *rest)} (class indices) or {pred.shape}, got {target.shape}"
        )
    loss.spatial_shape = (n, *rest)
    return np.moveaxis(pred, 1, -1).reshape(-1, c), target


def _class_axis_back(loss: Loss, rows):
    """Per-row losses (M,) to (N, d1, ...), or row gradients (M, C) to (N, d1, ..., C)."""
    if loss.spatial_shape is None:
        return rows
    return rows.reshape(loss.spatial_shape + rows.shape[1:])


def _check_2d(loss: Loss, pred, what: str):
    if pred.ndim != 2:
        raise ValueError(f"{loss.describe()}: expected {what} of shape (N, C), got {pred.shape}")


def _class_weight(loss: Loss, weight, num_classes: int, dtype):
    if weight is None:
        return None
    weight = np.asarray(weight, dtype=dtype)
    if weight.shape != (num_classes,):
        raise ValueError(
            f"{loss.describe()}: expected a class weight of shape ({num_classes},), "
            f"got {weight.shape}"
        )
    return weight


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy from logits: -sum_c a_c log softmax(z)_c for each row.

    Targets are either integer class indices ``(N,)`` (any integer dtype) or class
    probabilities / one-hot rows ``(N, C)``. The row's coefficients a_c are the smoothed
    target q_c = (1 - label_smoothing) t_c + label_smoothing / C, times the class ``weight``
    w_c. For index targets with ``reduction="mean"`` the sum is divided by the summed weight
    of the targets (N without weights), as PyTorch does; for probability targets, by N.

    Gradient: dL_i/dz_i = p_i * sum_c a_ic - a_i, which is p - y for a one-hot y.

    Targets equal to ``ignore_index`` (-100 by default) add nothing to the loss, nor to the
    gradient, nor to the mean's denominator, as in PyTorch. When nothing is left to average
    (every target ignored, an empty batch, every target's class weight 0) the mean is 0 with
    a zero gradient, where PyTorch gives NaN (see ``Loss``). Predictions (N, C, d1, ...) with
    targets (N, d1, ...) are one classification per position (a language model's (N, C, T)).

    Args:
        weight: a weight per class, shape (C,), or None.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        label_smoothing: the share of the target spread evenly over the classes, in [0, 1].
        ignore_index: a target value that is skipped (index targets only).

    Shape:
        pred (N, C) logits; target (N,) integers or (N, C) floats; output a float, or (N,)
        for ``reduction="none"``. Also pred (N, C, d1, ...) with target (N, d1, ...) or
        pred's shape; output (N, d1, ...) for ``"none"``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> loss_fn = nn.CrossEntropyLoss()
        >>> round(loss_fn(np.zeros((1, 2)), np.array([0])), 4)    # -log(1/2)
        0.6931
        >>> loss_fn.backward()                                    # p - y
        array([[-0.5,  0.5]])
    """

    def __init__(
        self,
        weight=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
    ):
        super().__init__(reduction)
        if not 0 <= label_smoothing <= 1:
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must lie in [0, 1], got {label_smoothing}"
            )
        self.weight, self.label_smoothing = weight, label_smoothing
        self.ignore_index = ignore_index

    def forward(self, pred, target):
        pred, target = _class_axis_last(self, pred, target)
        self.log_p = self.log_probabilities(pred)  # checks pred is (N, C) first
        self.coef = self._coefficients(pred, target)
        return _class_axis_back(self, -np.sum(self.coef * self.log_p, axis=1))

    def log_probabilities(self, pred):
        _check_2d(self, pred, "logits")
        return F.log_softmax(pred, axis=1)

    def local_grad(self):
        p = np.exp(self.log_p)
        return _class_axis_back(self, p * self.coef.sum(axis=1, keepdims=True) - self.coef)

    def backward(self, grad=None):
        grad = super().backward(grad)  # (N, d1, ..., C) for K-dimensional input
        return grad if self.spatial_shape is None else np.moveaxis(grad, -1, 1)

    def _coefficients(self, pred, target):
        """a_ic: the smoothed, weighted target; sets the denominator of the mean."""
        n, c = pred.shape
        weight = _class_weight(self, self.weight, c, pred.dtype)
        eps = self.label_smoothing
        if target.dtype.kind in "iu":
            target, kept, row_weight = _class_indices(self, pred, target, weight)
            coef = np.full((n, c), eps / c, dtype=pred.dtype)
            if weight is not None:
                coef *= weight
            coef[np.arange(n), target] += (1 - eps) * row_weight
            coef[~kept] = 0
        elif target.dtype.kind == "f" and target.shape == pred.shape:
            coef = target.astype(pred.dtype) * (1 - eps) + eps / c
            if weight is not None:
                coef *= weight
        else:
            raise ValueError(
                f"{self.describe()}: expected integer class indices of shape ({n},) or class "
                f"probabilities of shape ({n}, {c}), got {target.dtype} {target.shape}"
                + ("; convert labels with y.astype(int)" if target.shape == (n,) else "")
            )
        return coef

    def get_config(self):
        weight = None if self.weight is None else np.asarray(self.weight).tolist()
        return {
            "weight": weight,
            "reduction": self.reduction,
            "label_smoothing": self.label_smoothing,
            "ignore_index": self.ignore_index,
        }


class CategoricalCrossentropy(CrossEntropyLoss):
    """Cross-entropy on probabilities (a softmax output), Keras's ``categorical_crossentropy``:
    -sum_c a_c log p_c per row, with targets, ``weight`` and ``label_smoothing`` as in
    ``CrossEntropyLoss``. log p is clamped at -100 (as BCELoss does), so p = 0 gives a finite
    loss; d/dp_c = -a_c / p_c, and 0 where the clamp holds.

    When a model ends in Softmax, ``fit`` computes this loss as ``CrossEntropyLoss`` on the
    softmax's input instead: the same value, and a gradient that stays exact when the
    probabilities saturate. Called by hand on probabilities, it is the formula above.

    Args:
        weight: a weight per class, shape (C,), or None.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        label_smoothing: the share of the target spread evenly over the classes, in [0, 1].

    Shape:
        pred (N, C) probabilities; target (N,) integers (Keras's "sparse" form) or (N, C);
        output a float, or (N,) for ``reduction="none"``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> loss_fn = nn.CategoricalCrossentropy()
        >>> round(loss_fn(np.array([[0.25, 0.75]]), np.array([1])), 4)   # -log 0.75
        0.2877
    """

    def log_probabilities(self, pred):
        _check_2d(self, pred, "probabilities")
        if pred.size and (pred.min() < 0 or pred.max() > 1):
            raise ValueError(
                f"{self.describe()}: expected probabilities in [0, 1], got values from "
                f"{pred.min()} to {pred.max()}; for logits use CrossEntropyLoss "
                "(or the name 'categorical_crossentropy' with from_logits=True)"
            )
        self.pred = pred
        return _clamped_log(pred)

    def local_grad(self):
        grad = np.zeros_like(self.coef)
        return np.divide(-self.coef, self.pred, out=grad, where=self.log_p > -100)


@names.register("loss", "categorical_crossentropy", "sparse_categorical_crossentropy")
def categorical_crossentropy(from_logits: bool = False, **kwargs) -> CrossEntropyLoss:
    """Keras's names: CategoricalCrossentropy on probabilities, CrossEntropyLoss on logits.
    Both take class indices (the "sparse" form) or one-hot / probability rows.

    Examples:
        >>> import numpynn as nn
        >>> nn.losses.categorical_crossentropy(from_logits=True)
        CrossEntropyLoss(reduction='mean')
    """
    return (CrossEntropyLoss if from_logits else CategoricalCrossentropy)(**kwargs)


class NLLLoss(Loss):
    """Negative log-likelihood of log-probabilities: l = -w_y log_p[y] for each row, divided
    by the summed weight of the targets for ``reduction="mean"``; dl/dlog_p[y] = -w_y, 0 for
    the other classes. Targets equal to ``ignore_index`` count for nothing; with nothing
    left to average, the mean is 0 with a zero gradient (PyTorch: NaN; see ``Loss``).

    Args:
        weight: a weight per class, shape (C,), or None.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        ignore_index: a target value that is skipped.

    Shape:
        pred (N, C) log-probabilities (e.g. from LogSoftmax); target (N,) integers; output a
        float, or (N,) for ``reduction="none"``. Also pred (N, C, d1, ...) with target
        (N, d1, ...), output (N, d1, ...) for ``"none"``, as ``CrossEntropyLoss``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> loss_fn = nn.NLLLoss()
        >>> loss_fn(np.array([[-1.0, -2.0]]), np.array([1]))
        2.0
        >>> loss_fn.backward()
        array([[ 0., -1.]])
    """

    def __init__(self, weight=None, reduction: str = "mean", ignore_index: int = -100):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, pred, target):
        if target.dtype.kind not in "iu":
            raise ValueError(f"NLLLoss: expected integer class indices, got {target.dtype}")
        pred, target = _class_axis_last(self, pred, target)
        _check_2d(self, pred, "log-probabilities")
        weight = _class_weight(self, self.weight, pred.shape[1], pred.dtype)
        self.target, _, self.target_weight = _class_indices(self, pred, target, weight)
        self.rows_shape = pred.shape
        rows = np.arange(len(self.target))
        return _class_axis_back(self, -self.target_weight * pred[rows, self.target])

    def local_grad(self):
        grad = np.zeros(self.rows_shape, dtype=self.target_weight.dtype)
        grad[np.arange(len(self.target)), self.target] = -self.target_weight
        return _class_axis_back(self, grad)

    def backward(self, grad=None):
        grad = super().backward(grad)  # (N, d1, ..., C) for K-dimensional input
        return grad if self.spatial_shape is None else np.moveaxis(grad, -1, 1)

    def get_config(self):
        weight = None if self.weight is None else np.asarray(self.weight).tolist()
        return {"weight": weight, "reduction": self.reduction, "ignore_index": self.ignore_index}


class BCELoss(Loss):
    """Binary cross-entropy on probabilities: -(y log p + (1 - y) log(1 - p)), each log
    clamped at -100 as PyTorch does, so p = 0 or 1 gives a finite loss.

    d/dp = (p - y) / max(p (1 - p), 1e-12). For logits, use ``BCEWithLogitsLoss``.

    Args:
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        pred (*) in [0, 1]; target (*) the same shape; output a float, or (*) for ``"none"``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> loss_fn = nn.BCELoss()
        >>> round(loss_fn(np.array([0.5, 0.0]), np.array([1.0, 0.0])), 4)   # (log 2 + 0) / 2
        0.3466
    """

    def forward(self, pred, target):
        target = self._same_shape_target(pred, target)
        if pred.size and (pred.min() < 0 or pred.max() > 1):
            raise ValueError(
                f"BCELoss: expected probabilities in [0, 1], got values from {pred.min()} to "
                f"{pred.max()}; for logits use BCEWithLogitsLoss"
            )
        self.pred, self.target = pred, target
        return -(target * _clamped_log(pred) + (1 - target) * _clamped_log(1 - pred))

    def local_grad(self):
        p, y = self.pred, self.target
        return (p - y) / np.maximum(p * (1 - p), 1e-12)


def _clamped_log(p):
    """max(log p, -100), without evaluating log(0)."""
    return np.maximum(np.log(p, out=np.full_like(p, -100), where=p > 0), -100)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits z: pw y softplus(-z) + (1 - y) softplus(z), stable for
    any z; pw is ``pos_weight`` (1 by default). d/dz = pw y (sigma(z) - 1) + (1 - y) sigma(z),
    which is sigma(z) - y without pos_weight.

    Args:
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        pos_weight: the weight of the positive term, a float or one per output column.

    Shape:
        pred (*) logits; target (*) the same shape; output a float, or (*) for ``"none"``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> loss_fn = nn.BCEWithLogitsLoss()
        >>> round(loss_fn(np.array([0.0]), np.array([1.0])), 4)     # log 2
        0.6931
        >>> loss_fn.backward()                                       # sigma(0) - 1
        array([-0.5])
    """

    def __init__(self, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.pos_weight = pos_weight

    def forward(self, pred, target):
        target = self._same_shape_target(pred, target)
        pw = 1 if self.pos_weight is None else np.asarray(self.pos_weight, dtype=pred.dtype)
        self.pred, self.target, self.pw = pred, target, pw
        softplus = F.softplus  # threshold=inf: the smooth form everywhere, to float precision
        return pw * target * softplus(-pred, threshold=np.inf) + (1 - target) * softplus(
            pred, threshold=np.inf
        )

    def local_grad(self):
        s, y = F.sigmoid(self.pred), self.target
        return self.pw * y * (s - 1) + (1 - y) * s

    def get_config(self):
        pos_weight = None if self.pos_weight is None else np.asarray(self.pos_weight).tolist()
        return {"reduction": self.reduction, "pos_weight": pos_weight}


@names.register("loss", "binary_crossentropy")
def binary_crossentropy(from_logits: bool = False, **kwargs) -> Loss:
    """Keras's name: BCELoss on probabilities, BCEWithLogitsLoss on logits.

    Examples:
        >>> import numpynn as nn
        >>> nn.losses.binary_crossentropy(from_logits=True)
        BCEWithLogitsLoss(reduction='mean')
    """
    return (BCEWithLogitsLoss if from_logits else BCELoss)(**kwargs)

"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor`` trained by numpynn.

They take scikit-learn's own ``MLPClassifier``/``MLPRegressor`` parameter names where they
exist (``hidden_layer_sizes``, ``activation``, ``alpha``, ``batch_size``,
``learning_rate_init``, ``max_iter``, ``tol``, ``n_iter_no_change``, ``early_stopping``,
``validation_fraction``, ``random_state``, ``verbose``), train with Adam through
``nn.fit``, and pass ``sklearn.utils.estimator_checks``; ``module=`` wraps any numpynn
model instead of the default MLP (as skorch does for PyTorch), copied at each ``fit``.

The default network starts where scikit-learn's does: its initialisation (weights and
biases uniform in +-sqrt(6 / (fan_in + fan_out)), 2 in place of 6 for ``"logistic"``) drawn
from ``check_random_state(random_state)`` in its order, so that both estimators with one
``random_state`` begin from the same weights and, with one batch per epoch, learn alike.
The loss is scikit-learn's: the mean log-loss (classifier) or half the squared error summed
over the outputs (regressor) of a batch, plus ``alpha / (2 batch)`` times the squared
weights (not the biases). Training stops after ``max_iter`` epochs, or when the training
loss (with ``early_stopping``, the loss on a held-out ``validation_fraction``, whose best
weights are kept) has not improved by ``tol`` for ``n_iter_no_change`` epochs.

This module needs scikit-learn (``pip install "numpynn[sklearn]"``); ``import numpynn``
does not import it. Its own ``import sklearn`` statements are absolute and reach the
package, not this module.

>>> from sklearn.datasets import load_iris
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from numpynn.sklearn import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> net = MLPClassifier((16,), learning_rate_init=0.01, max_iter=100, random_state=0)
>>> clf = make_pipeline(StandardScaler(), net)
>>> clf.fit(X, y).score(X, y) > 0.95
True
"""

from __future__ import annotations

import copy
import functools

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
except ImportError:  # pragma: no cover - the message is the point
    raise ImportError(
        'numpynn.sklearn needs scikit-learn >= 1.6: pip install "numpynn[sklearn]"'
    ) from None

from numpynn import functional as F
from numpynn import layers, losses, names, optim
from numpynn.callbacks import EarlyStopping
from numpynn.module import Module
from numpynn.sequential import Sequential
from numpynn.training import fit, predict

# scikit-learn's activation names -> numpynn's
ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


class HalfSquaredError(losses.Loss):
    """scikit-learn's regression loss: half the squared error summed over the k outputs of
    a sample, (k / 2) mean((pred - target)^2); d/dpred = k (pred - target)."""

    def forward(self, pred, target):
        self.diff = pred - self._same_shape_target(pred, target)
        self.outputs = pred.shape[1] if pred.ndim > 1 else 1
        return 0.5 * self.outputs * self.diff * self.diff

    def local_grad(self):
        return self.outputs * self.diff


class _NumpynnMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, the network, the loop."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation: str = "relu",
        *,
        alpha: float = 1e-4,
        batch_size="auto",
        learning_rate_init: float = 1e-3,
        max_iter: int = 200,
        tol: float = 1e-4,
        n_iter_no_change: int = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        random_state=None,
        verbose: bool = False,
        module: Module | None = None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose
        self.module = module

    def _network(self, n_features: int, n_outputs: int) -> Module:
        if self.module is not None:
            return _fresh_copy(self.module)  # the parameter itself stays untrained
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
        if any(int(s) < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive, got {self.hidden_layer_sizes}")
        units = [n_features, *(int(s) for s in sizes), n_outputs]
        # zeros: no draw from the library's generator; the weights are drawn below
        dense = functools.partial(layers.Dense, kernel_initializer="zeros")
        hidden = [dense(n, activation=ACTIVATIONS[self.activation]) for n in units[1:-1]]
        network = Sequential(*hidden, dense(n_outputs))
        network.build((None, n_features))
        _initialise_as_scikit_learn(network, check_random_state(self.random_state), self.activation)
        return network

    def _train(self, X, y, sample_weight, loss, n_outputs, stratify):
        network = self._network(X.shape[1], n_outputs)  # first: it draws as scikit-learn's
        rng = _generator(self.random_state)
        n = len(X)
        batch_size = min(200, n) if self.batch_size == "auto" else int(self.batch_size)
        batch_size = max(1, min(batch_size, n))
        validation = None
        if self.early_stopping:
            split = train_test_split(
                X,
                y,
                sample_weight,
                test_size=self.validation_fraction,
                random_state=int(rng.integers(2**31 - 1)),
                stratify=stratify,
            )
            X, X_val, y, y_val, sample_weight, w_val = split
            validation = (X_val, y_val, w_val)
        optimizer = _adam_with_l2(network, self.alpha / batch_size, self.learning_rate_init)
        stop = EarlyStopping(
            monitor="val_loss" if validation else "loss",
            min_delta=self.tol,
            patience=self.n_iter_no_change,
            restore_best_weights=validation is not None,
        )
        # weights relative to their mean, so that only their ratios count (equal ones are none)
        uniform = bool(np.all(sample_weight == sample_weight[0]))
        if not uniform:
            if not sample_weight.sum() > 0:
                raise ValueError("sample_weight: the weights must have a positive sum")
            sample_weight = sample_weight * (len(sample_weight) / sample_weight.sum())
        history = fit(
            network,
            X,
            y,
            loss=loss,
            optimizer=optimizer,
            batch_size=batch_size,
            epochs=self.max_iter,
            verbose=2 if self.verbose else 0,
            callbacks=[stop],
            validation_data=validation,
            sample_weight=None if uniform else sample_weight,
            seed=rng,
        )
        # predictions in float64: float32 products round differently with the number of rows
        # (BLAS picks other kernels), which scikit-learn's subset checks would see
        self.model_ = network.eval().to(np.float64)
        self.loss_curve_ = list(history.history["loss"])
        self.loss_ = self.loss_curve_[-1]
        self.n_iter_ = len(self.loss_curve_)
        return self

    def _outputs(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return predict(self.model_, X.astype(np.float64), batch_size=1024)


def _initialise_as_scikit_learn(network: Sequential, random_state, activation: str) -> None:
    """scikit-learn's MLP initialisation, drawn from its RandomState in its order, so that a
    ``random_state`` starts both estimators from the same weights: for each layer, W (fan_in,
    fan_out) then b (fan_out), both uniform in +-sqrt(f / (fan_in + fan_out)), f = 6 (2 for
    the logistic activation), where Dense's own would draw W alone and set b to 0."""
    factor = 2.0 if activation == "logistic" else 6.0
    for layer in network:
        fan_out, fan_in = layer.weight.data.shape
        bound = np.sqrt(factor / (fan_in + fan_out))
        weight = random_state.uniform(-bound, bound, (fan_in, fan_out))
        bias = random_state.uniform(-bound, bound, fan_out)
        layer.weight.data[...] = weight.T  # numpynn keeps PyTorch's (out, in)
        layer.bias.data[...] = bias


def _adam_with_l2(network: Module, decay: float, lr: float) -> optim.Adam:
    """Adam with scikit-learn's L2 term: alpha / (2 batch) |W|^2 in the loss is, in its
    gradient, weight decay alpha / batch on the weights (never the biases), coupled as Adam's."""
    params = [p for name, p in network.named_parameters() if not name.endswith("bias")]
    biases = [p for name, p in network.named_parameters() if name.endswith("bias")]
    groups = [{"params": params, "weight_decay": decay}]
    if biases:
        groups.append({"params": biases, "weight_decay": 0.0})
    return optim.Adam(groups, lr=lr)


def _fresh_copy(module: Module) -> Module:
    """A new model with ``module``'s architecture and weights, rebuilt from its config as a
    model file is (a deep copy of a model would keep names keyed by the old layers' ids)."""
    try:
        twin = names.deserialize("layer", names.serialize(module))
    except (TypeError, ValueError):
        return copy.deepcopy(module)  # a layer that is not registered: copied as it is
    if module.built:
        twin.load_state_dict(module.state_dict())
    return twin


def _generator(random_state) -> np.random.Generator:
    """A Generator from scikit-learn's random_state (None, an int or a RandomState)."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    return np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))


class MLPClassifier(ClassifierMixin, _NumpynnMLP):
    """A multi-layer perceptron classifier: Dense layers, softmax outputs, log-loss, Adam.

    Labels may be any values (strings too): ``classes_`` holds them sorted, and ``predict``
    returns them. ``predict_proba`` gives the softmax of the network's outputs, so a
    ``module=`` must end in one output per class (logits, without a softmax).

    After ``fit``: ``model_`` (the trained network, trained in float32 and kept in float64
    for predictions that do not depend on how many rows are predicted at once), ``classes_``,
    ``n_features_in_``, ``loss_``, ``loss_curve_``, ``n_iter_``.
    """

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float32)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        stratify = encoded if self.early_stopping else None
        return self._train(
            X.astype(np.float32),
            encoded.astype(np.int64),
            sample_weight,
            losses.CrossEntropyLoss(),
            len(self.classes_),
            stratify,
        )

    def predict_proba(self, X):
        return F.softmax(self._outputs(X), axis=1)  # float64: the model is

    def predict(self, X):
        outputs = self._outputs(X)  # checks that the estimator is fitted first
        return self.classes_[np.argmax(outputs, axis=1)]


class MLPRegressor(RegressorMixin, _NumpynnMLP):
    """A multi-layer perceptron regressor: Dense layers, linear outputs, squared error, Adam.

    ``y`` may have several columns; ``predict`` returns a 1-D array for one. Fitted
    attributes as the classifier's, with ``n_outputs_`` in place of ``classes_``.
    """

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32)
        )
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float32)
        y = y.reshape(len(y), -1).astype(np.float32)
        self.n_outputs_ = y.shape[1]
        return self._train(
            X.astype(np.float32), y, sample_weight, HalfSquaredError(), self.n_outputs_, None
        )

    def predict(self, X):
        out = self._outputs(X)  # float64: the model is
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

"""Metrics agree with scikit-learn on the same inputs."""

import numpy as np
import pytest

import numpynn as nn
from numpynn import metrics

sk = pytest.importorskip("sklearn.metrics", reason="the comparison needs scikit-learn")


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 4, 300))
    y_pred[y_pred == 3] = 2  # class 3 never predicted: precision 0/0 is 0, as scikit-learn says
    return y_true, y_pred


def test_accuracy_and_confusion_matrix(labels):
    y_true, y_pred = labels
    assert metrics.accuracy(y_true, nn.data.one_hot(y_pred, 4)) == sk.accuracy_score(y_true, y_pred)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y_true, y_pred), sk.confusion_matrix(y_true, y_pred)
    )
    scores = np.random.default_rng(1).normal(size=(300, 4))
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y_true, scores), sk.confusion_matrix(y_true, scores.argmax(1))
    )


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_precision_recall_f1(labels, average):
    y_true, y_pred = labels
    ours = metrics.precision_recall_f1(y_true, y_pred, average)
    theirs = sk.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
    for a, b in zip(ours, theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert metrics.f1_score(y_true, y_pred, average) == pytest.approx(
        sk.f1_score(y_true, y_pred, average=average, zero_division=0)
    )


def test_binary_scores():
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.integers(0, 2, 100), rng.integers(0, 2, 100)
    for ours, theirs in [
        (metrics.precision_score, sk.precision_score),
        (metrics.recall_score, sk.recall_score),
        (metrics.f1_score, sk.f1_score),
    ]:
        assert ours(y_true, y_pred, "binary") == pytest.approx(theirs(y_true, y_pred))
        assert ours(y_true, y_pred, "binary", pos_label=0) == pytest.approx(
            theirs(y_true, y_pred, pos_label=0)
        )


def test_classification_report_numbers(labels):
    y_true, y_pred = labels
    names = ["a", "b", "c", "d"]
    ours = metrics.classification_report(y_true, y_pred, names, digits=4).splitlines()
    theirs = sk.classification_report(y_true, y_pred, target_names=names, digits=4, zero_division=0)
    assert [line.split() for line in ours if line.strip()] == [
        line.split() for line in theirs.splitlines() if line.strip()
    ]


def test_top_k_accuracy():
    rng = np.random.default_rng(3)
    scores, y = rng.normal(size=(200, 6)), rng.integers(0, 6, 200)
    for k in (1, 2, 5):
        assert metrics.top_k_accuracy(y, scores, k) == pytest.approx(
            sk.top_k_accuracy_score(y, scores, k=k)
        )


def test_regression_metrics():
    rng = np.random.default_rng(4)
    y, p = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    assert metrics.mean_squared_error(y, p) == pytest.approx(sk.mean_squared_error(y, p))
    assert metrics.mean_absolute_error(y, p) == pytest.approx(sk.mean_absolute_error(y, p))
    assert metrics.r2_score(y, p) == pytest.approx(sk.r2_score(y, p))
    assert metrics.r2_score(y[:, 0], y[:, 0] * 0.9) == pytest.approx(
        sk.r2_score(y[:, 0], y[:, 0] * 0.9)
    )


def test_binary_accuracy_thresholds():
    y, p = np.array([[1], [0], [1]]), np.array([[0.7], [0.2], [0.4]])
    assert metrics.accuracy(y, p) == pytest.approx(2 / 3)
    assert metrics.binary_accuracy(y, p - 0.5, threshold=0.0) == pytest.approx(2 / 3)


def test_errors():
    with pytest.raises(ValueError, match="3 targets for 2 predictions"):
        metrics.confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\]"):
        metrics.confusion_matrix([0, 1], [0, 2], num_classes=2)
    with pytest.raises(ValueError, match="average must be"):
        metrics.precision_recall_f1([0], [0], average="samples")

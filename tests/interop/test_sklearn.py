"""numpynn's scikit-learn estimators: scikit-learn's own checks, pipelines, grid search."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason='needs scikit-learn ("numpynn[sklearn]")')

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from numpynn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

MINI_BATCH = (
    "mini-batch training visits other batches when samples are repeated instead of weighted, "
    "as scikit-learn's own SGD estimators"
)


# the defaults with max_iter lowered, as scikit-learn checks its own MLPs (with 100): the
# checks fit a few hundred times. check_regressors_train asks for R^2 > 0.5, which needs the
# start scikit-learn's own estimator takes (see test_regressor_learns_as_fast_as_scikit_learns)
FAST = {"max_iter": 20}


def expected_failures(estimator):
    return {"check_sample_weight_equivalence_on_dense_data": MINI_BATCH}


@parametrize_with_checks(
    [MLPClassifier(**FAST), MLPRegressor(**FAST)], expected_failed_checks=expected_failures
)
def test_scikit_learn_checks(estimator, check):
    check(estimator)


def numpynn_and_scikit_learn(**params):
    from sklearn.neural_network import MLPClassifier as Reference
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return [make_pipeline(StandardScaler(), cls(**params)) for cls in (MLPClassifier, Reference)]


PARAMS = {
    "hidden_layer_sizes": (16,),
    "learning_rate_init": 0.01,
    "max_iter": 100,
    "random_state": 0,
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # the reference's
@pytest.mark.parametrize("dataset", ["iris", "breast_cancer"])
def test_pipeline_cross_validation_and_grid_search_as_scikit_learn(dataset):
    from sklearn import datasets
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

    X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)  # the same splits for both
    ours, theirs = (
        cross_val_score(pipe, X, y, cv=folds) for pipe in numpynn_and_scikit_learn(**PARAMS)
    )
    assert ours.mean() > 0.9
    assert abs(ours.mean() - theirs.mean()) <= 0.02, (ours, theirs)

    grid = {"mlpclassifier__alpha": [1e-4, 1.0]}
    searches = [
        GridSearchCV(pipe, grid, cv=StratifiedKFold(3, shuffle=True, random_state=1), n_jobs=2)
        for pipe in numpynn_and_scikit_learn(**PARAMS)
    ]
    for search in searches:
        search.fit(X, y)
    ours, theirs = (search.best_score_ for search in searches)
    assert abs(ours - theirs) <= 0.02, (ours, theirs)
    assert searches[0].score(X, y) > 0.9


def regression_of_the_checks():
    """The data of scikit-learn's check_regressors_train, both sides standard-scaled."""
    from sklearn.datasets import make_regression
    from sklearn.preprocessing import StandardScaler

    X, y = make_regression(
        n_samples=200, n_features=10, n_informative=1, bias=5.0, noise=20, random_state=42
    )
    y = StandardScaler().fit_transform(y.reshape(-1, 1))[:, 0]
    return StandardScaler().fit_transform(X), y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # the reference's
@pytest.mark.parametrize("activation", ["relu", "logistic"])
@pytest.mark.parametrize("max_iter", [20, 50])
def test_regressor_learns_as_fast_as_scikit_learns(max_iter, activation):
    """Same defaults, same start: scikit-learn's initialisation drawn from the same
    RandomState (weights and biases uniform in +-sqrt(6 / (fan_in + fan_out)), 2 for
    logistic), half the squared error, Adam, batch min(200, n), alpha / batch L2. With 200
    samples an epoch is one full batch, so the two trajectories differ only by rounding
    (numpynn trains in float32) and Adam's epsilon placement: R^2 agrees to 1e-3 for every
    seed, where numpynn's own initialisation gave 0.26 against 0.68 at 20 iterations."""
    from sklearn.neural_network import MLPRegressor as Reference

    X, y = regression_of_the_checks()
    for seed in range(3):
        params = {"max_iter": max_iter, "activation": activation, "random_state": seed}
        ours = MLPRegressor(**params).fit(X, y).score(X, y)
        theirs = Reference(**params).fit(X, y).score(X, y)
        assert abs(ours - theirs) < 1e-3, (seed, ours, theirs)
    if activation == "relu" and max_iter == 20:
        assert ours > 0.3 and MLPRegressor(max_iter=20, random_state=0).fit(X, y).score(X, y) > 0.5


def test_string_labels_module_and_early_stopping():
    import numpynn as nn

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    module = nn.Sequential(nn.Linear(3, 8, seed=0), nn.Tanh(), nn.Linear(8, 2, seed=0))
    before = module.state_dict()
    clf = MLPClassifier(module=module, early_stopping=True, learning_rate_init=0.05, random_state=0)
    clf.fit(X, y)
    assert clf.classes_.tolist() == ["no", "yes"] and clf.score(X, y) > 0.9
    assert all(np.array_equal(v, module.state_dict()[k]) for k, v in before.items())  # a copy
    assert clf.model_ is not module and clf.n_iter_ < 200  # stopped on the validation loss
    proba = clf.predict_proba(X[:4])
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert clf.predict(X[:4]).tolist() == clf.classes_[proba.argmax(axis=1)].tolist()


def test_regressor_with_two_outputs_and_sample_weights():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 4))
    Y = np.stack([X[:, 0] - X[:, 1], 0.5 * X[:, 2]], axis=1)
    reg = MLPRegressor((32,), learning_rate_init=0.01, max_iter=300, random_state=0)
    assert reg.fit(X, Y).predict(X).shape == (300, 2) and reg.score(X, Y) > 0.95
    # weight zero on half the samples: only the other half matters, so targets made
    # nonsense there leave the fit (close to) the one on the clean half
    noisy = Y.copy()
    noisy[::2] = 100.0
    weights = np.tile([0.0, 1.0], 150)
    reg.fit(X, noisy, sample_weight=weights)
    assert reg.score(X[1::2], Y[1::2]) > 0.9


def test_module_name_does_not_shadow_scikit_learn():
    import numpynn.sklearn

    assert numpynn.sklearn.BaseEstimator.__module__ == "sklearn.base"
    assert "numpynn" not in sklearn.__file__


def test_each_parameter_reaches_the_network_or_the_loop(capsys):
    import numpynn as nn

    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)

    clf = MLPClassifier((5, 4), activation="logistic", max_iter=1, random_state=0).fit(X, y)
    linears = [m for m in clf.model_.modules() if isinstance(m, nn.Linear)]
    assert [m.weight.shape for m in linears] == [(5, 3), (4, 5), (2, 4)]
    assert [type(m.activation) for m in linears[:2]] == [nn.Sigmoid, nn.Sigmoid]

    def first_weight(**params):
        fitted = MLPClassifier((4,), random_state=0, **params).fit(X, y)
        return next(m for m in fitted.model_.modules() if isinstance(m, nn.Linear)).weight.data

    small = first_weight(alpha=0.0, learning_rate_init=0.05, max_iter=100)
    large = first_weight(alpha=50.0, learning_rate_init=0.05, max_iter=100)
    assert np.linalg.norm(large) < 0.5 * np.linalg.norm(small)  # the L2 penalty
    assert not np.array_equal(first_weight(batch_size=5, max_iter=1), first_weight(max_iter=1))

    frozen = MLPClassifier((4,), learning_rate_init=0.0, max_iter=3, random_state=0).fit(X, y)
    # the same weights every epoch; only the float32 sum over the shuffled rows rounds apart
    assert frozen.loss_curve_[0] == pytest.approx(frozen.loss_curve_[-1], rel=1e-6)
    moving = MLPClassifier((4,), learning_rate_init=0.1, max_iter=3, random_state=0).fit(X, y)
    assert moving.loss_curve_[-1] < moving.loss_curve_[0]

    # tol: no epoch improves by 1e9, so training stops n_iter_no_change epochs after the first
    stopped = MLPClassifier((4,), tol=1e9, n_iter_no_change=3, random_state=0).fit(X, y)
    assert stopped.n_iter_ == 4
    full = MLPClassifier((4,), max_iter=7, n_iter_no_change=100, random_state=0).fit(X, y)
    assert full.n_iter_ == 7 and len(full.loss_curve_) == 7

    capsys.readouterr()
    MLPClassifier((4,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    assert capsys.readouterr().out.count("loss") == 2  # a line per epoch

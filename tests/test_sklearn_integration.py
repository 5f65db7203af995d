"""The estimator inside scikit-learn's model selection, pipelines and parallelism."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    cross_val_predict,
    cross_val_score,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import make_pipeline

from skmemo import MultimodalData, MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.metrics import (
    emotion_roc_auc_score,
    get_scorer,
    get_scorer_names,
    weighted_accuracy_score,
)
from skmemo.preprocessing import ModalityScaler

from . import conftest
from .conftest import small_clf

EMOTIONS = {2: ["happy", "sad"], 6: ["anger", "disgust", "fear", "happy", "sad", "surprise"]}
SCORING = {name: get_scorer(name) for name in get_scorer_names()}


class _ArrayClasses(MultimodalEmotionClassifier):
    """The proposed fix: ``classes_`` as an (K, 2) array instead of a list of arrays."""

    def fit(self, X, y, **fit_params):
        super().fit(X, y, **fit_params)
        self.classes_ = np.array([[0, 1]] * len(self.emotions_))
        return self


# one epoch on all of the training part
TINY = dict(max_epochs=1, validation_fraction=0, hidden_sizes={"text": 8, "audio": 4, "visual": 4})


@pytest.fixture(scope="module", params=[2, 6], ids=["K2", "K6"])
def data(request):
    K = request.param
    X, Y = make_emotion_dataset(120, emotions=EMOTIONS[K], seq_len=6, random_state=K)
    return K, X, Y


@pytest.fixture(scope="module")
def search(data):
    """GridSearchCV over lr and a module parameter, three scorers, refit on AUC."""
    K, X, Y = data
    return GridSearchCV(
        small_clf(EMOTIONS[K], **TINY), {"lr": [1e-3, 1e-2], "dropout": [0.0, 0.3]}, cv=KFold(2),
        scoring=SCORING, refit="emotion_roc_auc", error_score="raise",
    ).fit(X, Y)


def test_grid_search_multi_metric_refit(search, data):
    K, X, Y = data
    results = search.cv_results_
    assert len(results["params"]) == 4
    # every scorer's value for the first candidate on the first split, by hand
    train, test = next(KFold(2).split(Y))
    first = small_clf(EMOTIONS[K], **TINY).set_params(**results["params"][0])
    first.fit(X[train], Y[train])
    for name, scorer in SCORING.items():
        assert results[f"split0_test_{name}"][0] == pytest.approx(
            scorer(first, X[test], Y[test])), name
    best = np.argmin(results["rank_test_emotion_roc_auc"])
    assert search.best_params_ == results["params"][best]
    assert search.best_score_ == results["mean_test_emotion_roc_auc"][best]
    refit = search.best_estimator_
    assert refit.lr == search.best_params_["lr"]
    assert refit.dropout == search.best_params_["dropout"]
    assert refit.emotions_ == EMOTIONS[K]
    assert search.predict_proba(X).shape == Y.shape
    assert search.score(X, Y) == pytest.approx(
        emotion_roc_auc_score(Y, refit.predict_proba(X)))


def test_grid_search_over_hidden_sizes(data):
    K, X, Y = data
    grid = [{"text": 8, "audio": 4, "visual": 4}, {"text": 8, "audio": 6, "visual": 2}]
    search = GridSearchCV(small_clf(EMOTIONS[K], **TINY), {"hidden_sizes": grid}, cv=KFold(2),
                          scoring=SCORING, refit="weighted_accuracy",
                          error_score="raise").fit(X, Y)
    best = search.best_estimator_
    assert best.module_.hidden_sizes == best.hidden_sizes == search.best_params_["hidden_sizes"]


def test_best_estimator_pickles(search, data):
    _, X, _ = data
    best = search.best_estimator_
    again = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(again.predict_proba(X), best.predict_proba(X))
    whole = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(whole.predict(X), search.predict(X))


def test_cross_validate_and_cross_val_score(data):
    K, X, Y = data
    res = cross_validate(small_clf(EMOTIONS[K], **TINY), X, Y, cv=KFold(3), scoring=SCORING,
                         return_estimator=True, error_score="raise")
    assert all(res[f"test_{name}"].shape == (3,) for name in SCORING)
    # each fold's estimator was fitted on that fold only, and scored on the rest
    folds = list(KFold(3).split(Y))
    est, (_, test) = res["estimator"][1], folds[1]
    assert res["test_weighted_accuracy"][1] == pytest.approx(
        weighted_accuracy_score(Y[test], est.predict(X[test])))
    scores = cross_val_score(small_clf(EMOTIONS[K], **TINY), X, Y, cv=KFold(3),
                             scoring=SCORING["weighted_accuracy"], error_score="raise")
    np.testing.assert_allclose(scores, res["test_weighted_accuracy"])
    default = cross_val_score(small_clf(EMOTIONS[K], **TINY), X, Y, cv=KFold(3),
                              error_score="raise")
    np.testing.assert_allclose(default, scores)  # score() is weighted accuracy


def test_cross_val_predict_proba(data):
    K, X, Y = data
    clf = small_clf(EMOTIONS[K], **TINY)
    proba = cross_val_predict(clf, X, Y, cv=KFold(3), method="predict_proba")
    assert proba.shape == Y.shape
    train, test = list(KFold(3).split(Y))[2]  # each fold predicted by its own model
    np.testing.assert_allclose(proba[test], clone(clf).fit(X[train], Y[train]).predict_proba(
        X[test]), rtol=1e-6)


@pytest.mark.parametrize("method", ["predict_proba", "decision_function"])
def test_cross_val_predict_with_array_classes(data, method):
    K, X, Y = data
    clf = small_clf(EMOTIONS[K], cls=_ArrayClasses, **TINY)
    out = cross_val_predict(clf, X, Y, cv=KFold(3), method=method)
    folds = list(KFold(3).split(Y))
    train, test = folds[0]
    expected = getattr(clone(clf).fit(X[train], Y[train]), method)(X[test])
    np.testing.assert_allclose(out[test], expected, rtol=1e-6)
    # and scikit-learn's own multilabel scorers accept it, for any K
    scores = cross_val_score(clf, X, Y, cv=KFold(2), scoring="roc_auc", error_score="raise")
    assert np.isfinite(scores).all()


def test_train_test_split_and_pipeline(data):
    K, X, Y = data
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25,
                                                        random_state=0)
    assert isinstance(X_train, MultimodalData) and len(X_train) == 90
    pipe = make_pipeline(ModalityScaler(), small_clf(EMOTIONS[K], **TINY)).fit(X_train, Y_train)
    assert pipe.predict(X_test).shape == Y_test.shape
    assert len(pipe.classes_) == K
    assert pipe.score(X_test, Y_test) == weighted_accuracy_score(Y_test, pipe.predict(X_test))
    search = GridSearchCV(pipe, {"multimodalemotionclassifier__lr": [1e-3, 1e-2]},
                          cv=KFold(2), scoring=SCORING, refit="weighted_f1",
                          error_score="raise").fit(X_train, Y_train)
    assert search.best_estimator_[0].modalities_ == ("text", "audio", "visual")


def test_clone_of_fitted_estimator(search, data):
    K, _, _ = data
    fitted = search.best_estimator_
    copy = clone(fitted)
    assert not copy.__sklearn_is_fitted__() and not hasattr(copy, "emotions_")
    params, fitted_params = copy.get_params(deep=False), fitted.get_params(deep=False)
    assert params.keys() == fitted_params.keys()
    for name, value in params.items():
        assert value is fitted_params[name] or value == fitted_params[name], name
    assert params["device"] == "cpu" and fitted_params["device"] == "cpu"


def test_set_params_then_refit(data):
    K, X, Y = data
    clf = small_clf(EMOTIONS[K], **TINY).fit(X, Y)
    before = clf.predict_proba(X)
    clf.set_params(hidden_sizes={"text": 8, "audio": 6, "visual": 6}, lr=0.05,
                   max_epochs=2)
    assert clf.module_.hidden_sizes["audio"] == 4  # not refitted yet
    clf.fit(X, Y)
    assert clf.module_.hidden_sizes["audio"] == 6 and len(clf.history_) == 2
    assert clf.optimizer_.param_groups[0]["lr"] == 0.05
    assert not np.allclose(clf.predict_proba(X), before)
    clf.set_params(threshold=0.99)
    np.testing.assert_array_equal(clf.predict(X), clf.predict_proba(X) > 0.99)


def test_grid_search_with_two_jobs(data):
    K, X, Y = data
    if K != 2:
        pytest.skip("one K is enough for the parallel backend")
    serial = GridSearchCV(small_clf(EMOTIONS[K], **TINY), {"lr": [1e-3, 1e-2]}, cv=KFold(2),
                          scoring=SCORING["emotion_roc_auc"], error_score="raise")
    parallel = clone(serial).set_params(n_jobs=2)
    serial.fit(X, Y)
    parallel.fit(X, Y)
    np.testing.assert_allclose(parallel.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], atol=1e-6)


def test_grid_search_with_dask(data):
    distributed = pytest.importorskip(
        "dask.distributed", reason="dask.distributed is not installed")
    K, X, Y = data
    if K != 2:
        pytest.skip("one K is enough for the parallel backend")
    search = GridSearchCV(small_clf(EMOTIONS[K], **TINY), {"lr": [1e-3, 1e-2]}, cv=KFold(2),
                          scoring=SCORING["weighted_accuracy"], error_score="raise")
    serial = clone(search).fit(X, Y)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), joblib.parallel_backend("dask"):
        search.fit(X, Y)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], atol=1e-6)


# ----------------------------------------------------------------------
# skorch and scikit-learn features used the way those libraries teach.
# ----------------------------------------------------------------------
# 7. cross_val_predict with every method
# ----------------------------------------------------------------------
@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
def test_cross_val_predict(default_data, method):
    X, Y = default_data
    frame = pd.DataFrame(Y, columns=conftest.EMOTIONS)
    out = cross_val_predict(small_clf(max_epochs=1), X, frame, cv=2, method=method)
    assert out.shape == Y.shape


def test_cross_val_predict_without_emotions_says_how(default_data):
    X, Y = default_data
    frame = pd.DataFrame(Y, columns=conftest.EMOTIONS)
    clf = small_clf(None, max_epochs=1, batch_size=64, random_state=None,
                    hidden_sizes={"audio": 4, "visual": 4})
    with pytest.raises(ValueError, match=r"emotions=list\(Y.columns\)"):
        cross_val_predict(clf, X, frame, cv=2, method="predict_proba")

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

from skmemo.metrics import (
    emotion_classification_report,
    emotion_roc_auc_score,
    get_scorer,
    get_scorer_names,
    roc_auc_scorer,
    weighted_accuracy_score,
    weighted_accuracy_scorer,
    weighted_f1_score,
    weighted_f1_scorer,
)

# Column 0: P=2, N=4.  Column 1: P=0 (all negative).  Column 2: N=0 (all positive).
Y_TRUE = np.array([[1, 0, 1], [1, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1]])
Y_PRED = np.array([[1, 1, 1], [0, 0, 0], [1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 0, 0]])
Y_SCORE = np.array([[.9, .8, .9], [.3, .1, .2], [.6, .2, .9], [.1, .3, .8],
                    [.2, .7, .7], [.4, .1, .1]])


def _no_warnings(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args, **kwargs)


def test_weighted_accuracy_hand_computed():
    y_true = Y_TRUE[:, :1]
    y_pred = Y_PRED[:, :1]
    # TP=1, TN=3, P=2, N=4: (TP * N/P + TN) / (2N) = (2 + 3) / 8
    assert _no_warnings(weighted_accuracy_score, y_true, y_pred) == pytest.approx(5 / 8)
    assert weighted_accuracy_score(y_true, y_pred) == pytest.approx(
        balanced_accuracy_score(y_true[:, 0], y_pred[:, 0]))


def test_weighted_accuracy_counts_p_and_n_in_y_true():
    # the predictions are mostly positive; P and N must still come from y_true
    y_true = np.array([[1], [0], [0], [0]])
    y_pred = np.array([[1], [1], [1], [0]])
    # TP=1, TN=1, P=1, N=3: (1 * 3 + 1) / 6
    assert weighted_accuracy_score(y_true, y_pred) == pytest.approx(4 / 6)


def test_weighted_accuracy_degenerate_columns():
    with pytest.warns(UndefinedMetricWarning, match=r"\[1, 2\]"):
        per = weighted_accuracy_score(Y_TRUE, Y_PRED, average=None)
    # P=0: accuracy on the negatives (4 of 6 predicted 0); N=0: on the positives (4 of 6)
    np.testing.assert_allclose(per, [5 / 8, 4 / 6, 4 / 6])
    with pytest.warns(UndefinedMetricWarning):
        mean = weighted_accuracy_score(Y_TRUE, Y_PRED)
    assert np.isfinite(mean) and mean == pytest.approx(per.mean())


def test_weighted_f1_hand_computed():
    y_true = Y_TRUE[:, :1]
    y_pred = Y_PRED[:, :1]
    # positive class: TP=1, FP=1, FN=1 -> 1/2; negative class: TP=3, FP=1, FN=1 -> 3/4
    expected = 2 / 6 * 0.5 + 4 / 6 * 0.75
    assert _no_warnings(weighted_f1_score, y_true, y_pred) == pytest.approx(expected)
    assert expected == pytest.approx(f1_score(y_true, y_pred, average="weighted"))


def test_weighted_f1_degenerate_columns():
    with pytest.warns(UndefinedMetricWarning, match=r"\[1, 2\]"):
        per = weighted_f1_score(Y_TRUE, Y_PRED, average=None)
    # P=0: F1 of the negatives, TP=4, FP=0, FN=2 -> 8/10; N=0: F1 of the positives, same
    np.testing.assert_allclose(per[1:], [0.8, 0.8])
    with pytest.warns(UndefinedMetricWarning):
        assert weighted_f1_score(Y_TRUE, Y_PRED) == pytest.approx(per.mean())


def test_weighted_f1_all_wrong_is_zero_not_nan():
    # no predicted negative, no true positive: both class F1s are 0 by convention
    with pytest.warns(UndefinedMetricWarning):
        assert weighted_f1_score([[0], [0]], [[1], [1]]) == 0.0


def test_auc_hand_computed_and_degenerate():
    with pytest.warns(UndefinedMetricWarning, match=r"\[1, 2\].*left out of the mean"):
        per = emotion_roc_auc_score(Y_TRUE, Y_SCORE, average=None)
    # positives .9, .3 against negatives .6, .1, .2, .4: 4 + 2 of 8 pairs ordered
    assert per[0] == pytest.approx(6 / 8)
    assert per[0] == pytest.approx(roc_auc_score(Y_TRUE[:, 0], Y_SCORE[:, 0]))
    assert np.isnan(per[1:]).all()
    with pytest.warns(UndefinedMetricWarning):
        assert emotion_roc_auc_score(Y_TRUE, Y_SCORE) == pytest.approx(6 / 8)


def test_auc_all_columns_degenerate_is_nan_with_warning():
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(emotion_roc_auc_score(Y_TRUE[:, 1:], Y_SCORE[:, 1:]))


def test_auc_accepts_logits():
    logits = np.log(Y_SCORE[:, :1] / (1 - Y_SCORE[:, :1]))
    assert emotion_roc_auc_score(Y_TRUE[:, :1], logits) == pytest.approx(6 / 8)


@pytest.mark.parametrize("func", [weighted_accuracy_score, weighted_f1_score,
                                  emotion_roc_auc_score])
def test_input_validation(func):
    with pytest.raises(ValueError, match="same shape"):
        func(Y_TRUE, Y_PRED[:, :2])
    with pytest.raises(ValueError, match="binary"):
        func(Y_TRUE * 2, Y_PRED)
    with pytest.raises(ValueError, match="average"):
        func(Y_TRUE, Y_PRED, average="micro")
    with pytest.raises(ValueError, match="empty"):
        func(np.zeros((0, 2)), np.zeros((0, 2)))


@pytest.mark.parametrize("func", [weighted_accuracy_score, weighted_f1_score])
def test_probabilities_are_refused_as_predictions(func):
    with pytest.raises(ValueError, match="y_pred must be binary"):
        func(Y_TRUE, Y_SCORE)


def test_one_dimensional_input_is_one_emotion():
    assert weighted_accuracy_score(Y_TRUE[:, 0], Y_PRED[:, 0]) == pytest.approx(5 / 8)


def test_report_text_and_dict():
    y_true = pd.DataFrame(Y_TRUE, columns=["anger", "calm", "joy"])
    with pytest.warns(UndefinedMetricWarning, match=r"\['calm', 'joy'\]"):
        report = emotion_classification_report(y_true, Y_PRED, Y_SCORE, output_dict=True)
    assert list(report) == ["anger", "calm", "joy", "macro avg"]
    anger = report["anger"]
    assert anger["weighted_accuracy"] == pytest.approx(5 / 8)
    assert anger["roc_auc"] == pytest.approx(6 / 8)
    assert anger["f1"] == pytest.approx(0.5)
    assert anger["weighted_f1"] == pytest.approx(2 / 6 * 0.5 + 4 / 6 * 0.75)
    assert anger["support"] == 2 and report["calm"]["support"] == 0
    assert report["joy"]["f1"] == pytest.approx(0.8)
    assert report["calm"]["f1"] == 0.0  # no true positive: 0 by convention
    macro = report["macro avg"]
    assert macro["roc_auc"] == pytest.approx(6 / 8)  # the defined AUC only
    assert macro["weighted_accuracy"] == pytest.approx(np.mean([5 / 8, 4 / 6, 4 / 6]))
    assert macro["support"] == 8

    with pytest.warns(UndefinedMetricWarning):
        text = emotion_classification_report(y_true, Y_PRED, Y_SCORE, digits=2)
    lines = text.splitlines()
    assert lines[0].split() == ["W-Acc", "AUC", "F1", "W-F1", "support"]
    assert lines[2].split() == ["anger", "0.62", "0.75", "0.50", "0.67", "2"]
    assert lines[3].split()[2] == "n/a"
    assert lines[-1].split()[:2] == ["macro", "avg"]


def test_report_without_scores_has_no_auc():
    report = _no_warnings(emotion_classification_report, Y_TRUE[:, :1], Y_PRED[:, :1],
                          output_dict=True)
    assert set(report) == {"0", "macro avg"}
    assert "roc_auc" not in report["0"]
    text = emotion_classification_report(Y_TRUE[:, :1], Y_PRED[:, :1], emotions=["x"])
    assert "AUC" not in text and text.splitlines()[2].split()[0] == "x"


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(emotions=["a"]), ValueError, "1 names but y_true has 3"),
    (dict(emotions=["a", "a", "b"]), ValueError, "distinct"),
    (dict(emotions="abc"), TypeError, "list of names"),
    (dict(digits=-1), ValueError, "digits"),
    (dict(output_dict="yes"), TypeError, "output_dict"),
    (dict(y_score=Y_SCORE[:, :2]), ValueError, "y_score"),
])
def test_report_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        emotion_classification_report(Y_TRUE, Y_PRED, **kwargs)


def test_get_scorer():
    assert get_scorer_names() == ["emotion_roc_auc", "weighted_accuracy", "weighted_f1"]
    assert get_scorer("weighted_accuracy") is weighted_accuracy_scorer
    assert get_scorer("weighted_f1") is weighted_f1_scorer
    assert get_scorer("emotion_roc_auc") is roc_auc_scorer
    with pytest.raises(ValueError, match="not a skmemo scorer.*weighted_accuracy"):
        get_scorer("accuracy")
    with pytest.raises(ValueError, match="not a skmemo scorer"):
        get_scorer(["weighted_f1"])


class _NoisyLabels(ClassifierMixin, BaseEstimator):
    """Stand-in multi-label classifier: column k of X is a noisy score of emotion k."""

    def fit(self, X, y):
        self.classes_ = [np.array([0, 1])] * np.asarray(y).shape[1]
        return self

    def predict_proba(self, X):
        return 1 / (1 + np.exp(-np.asarray(X)))

    def predict(self, X):
        return (self.predict_proba(X) > 0.5).astype(int)


@pytest.mark.parametrize("K", [1, 2, 6])
def test_scorers_in_model_selection(K):
    rng = np.random.RandomState(K)
    Y = (rng.rand(90, K) < 0.4).astype(int)
    X = 2 * (Y - 0.5) + rng.randn(90, K)
    est = _NoisyLabels()
    proba = est.fit(X, Y).predict_proba(X)
    assert weighted_accuracy_scorer(est, X, Y) == weighted_accuracy_score(Y, proba > 0.5)
    assert weighted_f1_scorer(est, X, Y) == weighted_f1_score(Y, proba > 0.5)
    assert roc_auc_scorer(est, X, Y) == emotion_roc_auc_score(Y, proba)

    scores = cross_val_score(est, X, Y, cv=KFold(3), scoring=roc_auc_scorer,
                             error_score="raise")
    assert scores.shape == (3,) and np.all(scores > 0.6)
    scoring = {name: get_scorer(name) for name in get_scorer_names()}
    res = cross_validate(est, X, Y, cv=KFold(3), scoring=scoring, error_score="raise")
    assert all(np.isfinite(res[f"test_{name}"]).all() for name in scoring)
    search = GridSearchCV(est, {}, cv=KFold(3), scoring=scoring,
                          refit="weighted_accuracy", error_score="raise").fit(X, Y)
    assert search.best_score_ == pytest.approx(res["test_weighted_accuracy"].mean())


# ----------------------------------------------------------------------
# property-based: weighted accuracy is balanced accuracy
# ----------------------------------------------------------------------
# metrics
# ----------------------------------------------------------------------
@st.composite
def label_pairs(draw):
    n = draw(st.integers(1, 30))
    K = draw(st.integers(1, 5))
    cells = st.lists(st.integers(0, 1), min_size=n * K, max_size=n * K)
    y_true = np.array(draw(cells)).reshape(n, K)
    y_pred = np.array(draw(cells)).reshape(n, K)
    return y_true, y_pred


@settings(max_examples=50, deadline=None, derandomize=True)
@given(label_pairs())
def test_weighted_accuracy_is_balanced_accuracy(pair):
    y_true, y_pred = pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        per_emotion = weighted_accuracy_score(y_true, y_pred, average=None)
        mean = weighted_accuracy_score(y_true, y_pred)
    assert per_emotion.shape == (y_true.shape[1],)
    np.testing.assert_allclose(mean, per_emotion.mean())
    for k in range(y_true.shape[1]):
        if 0 < y_true[:, k].sum() < len(y_true):
            assert per_emotion[k] == pytest.approx(
                balanced_accuracy_score(y_true[:, k], y_pred[:, k]))
        else:  # one class only: the accuracy on that class
            assert per_emotion[k] == pytest.approx(np.mean(y_true[:, k] == y_pred[:, k]))


# skmemo's scorer names as scoring strings of skorch's scoring callbacks
# ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["emotion_roc_auc", "weighted_accuracy", "weighted_f1"])
def test_epoch_scoring_takes_skmemo_scorer_names(small_data, name):
    from skorch.callbacks import EpochScoring
    from skorch.helper import predefined_split

    from .conftest import small_clf

    X, Y = small_data
    Xtr, Xv, Ytr, Yv = X[:90], X[90:], Y[:90], Y[90:]
    clf = small_clf(max_epochs=1, num_layers=1, early_stopping_patience=None,
                    train_split=predefined_split((Xv, Yv)),
                    callbacks=[EpochScoring(name, lower_is_better=False)]).fit(Xtr, Ytr)
    expected = get_scorer(name)(clf, Xv, Yv)
    assert clf.history[-1, name] == pytest.approx(expected, rel=1e-6)


def test_epoch_scoring_name_set_after_fit_is_resolved_too(small_data):
    from skorch.callbacks import EpochScoring

    from .conftest import small_clf

    X, Y = small_data
    clf = small_clf(max_epochs=1, num_layers=1, validation_fraction=0.25,
                    callbacks=[("score", EpochScoring("accuracy"))])
    clf.set_params(callbacks__score__scoring="weighted_f1").fit(X, Y)
    # skorch re-initialises every callback (scoring_ is the name again)
    clf.set_params(callbacks__score__lower_is_better=False)
    clf.partial_fit(X, Y)
    assert len(clf.history) == 2
    assert 0 <= clf.history[-1, "weighted_f1"] <= 1


def test_unknown_scoring_string_refused_before_training(small_data):
    from skorch.callbacks import EpochScoring

    from .conftest import small_clf

    X, Y = small_data
    clf = small_clf(max_epochs=1, num_layers=1,
                    callbacks=[EpochScoring("emotion_auc", lower_is_better=False)])
    with pytest.raises(ValueError, match=r"'emotion_auc' is neither a skmemo scorer "
                                         r"\(\['emotion_roc_auc'"):
        clf.fit(X, Y)
    assert not clf.__sklearn_is_fitted__()

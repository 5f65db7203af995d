import warnings

import numpy as np
import pandas as pd
import pytest

from skmemo import MultimodalData
from skmemo.datasets import make_emotion_dataset
from skmemo.metrics import emotion_roc_auc_score, weighted_accuracy_score
from skmemo.model_selection import (
    format_table,
    hold_out_emotion,
    modality_subsets_of,
    select_word_forms,
    zero_shot_evaluation,
)

from .conftest import EMOTIONS, small_clf

TAV = ("text", "audio", "visual")


@pytest.fixture(scope="module")
def data():
    return make_emotion_dataset(160, seq_len=6, random_state=1)


# one epoch of a one-layer model, trained on all of the training part
TINY = dict(max_epochs=1, num_layers=1, hidden_sizes={"audio": 8, "visual": 8},
            validation_fraction=0)


# ----------------------------------------------------------------------
# hold_out_emotion
# ----------------------------------------------------------------------
def test_hold_out_emotion_removes_positives_and_column(data):
    X, Y = data
    X = MultimodalData(**X, audio_lengths=np.full(len(Y), 6))
    X_seen, Y_seen, seen, index = hold_out_emotion(X, Y, "fear", emotions=EMOTIONS)
    keep = Y[:, 2] == 0
    assert index == 2 and seen == ["anger", "disgust", "happy", "sad", "surprise"]
    assert len(X_seen) == keep.sum() and Y_seen.shape == (keep.sum(), 5)
    np.testing.assert_array_equal(Y_seen, np.delete(Y[keep], 2, axis=1))
    np.testing.assert_array_equal(X_seen["visual"], X["visual"][keep])
    assert X_seen["audio_lengths"].shape == (keep.sum(),)
    assert Y_seen.dtype == Y.dtype
    # by index, and without names
    _, Y_idx, seen_idx, index_idx = hold_out_emotion(X, Y, -4)
    assert index_idx == 2 and seen_idx is None
    np.testing.assert_array_equal(Y_idx, Y_seen)


def test_hold_out_emotion_keeps_a_dataframe(data):
    X, Y = data
    frame = pd.DataFrame(Y, columns=EMOTIONS)
    _, Y_seen, seen, index = hold_out_emotion(X, frame, "Surprise")
    assert isinstance(Y_seen, pd.DataFrame) and list(Y_seen.columns) == EMOTIONS[:5]
    assert seen == EMOTIONS[:5] and index == 5 and (frame.loc[Y_seen.index, "surprise"] == 0).all()


@pytest.mark.parametrize("kwargs, Y, error, match", [
    (dict(emotion="awe", emotions=EMOTIONS), None, ValueError, "'awe' is not one of"),
    (dict(emotion="fear"), None, ValueError, "pass emotions"),
    (dict(emotion=6), None, ValueError, "out of range"),
    (dict(emotion=1.5), None, TypeError, "name or a column index"),
    (dict(emotion="fear", emotions=EMOTIONS[:3]), None, ValueError, "names 3 columns"),
    (dict(emotion=0), "single", ValueError, "single emotion"),
    (dict(emotion=0), "all", ValueError, "every sample is positive"),
    (dict(emotion=0), "bad", ValueError, "binary"),
])
def test_hold_out_emotion_errors(data, kwargs, Y, error, match):
    X, Y_ok = data
    labels = {None: Y_ok, "single": Y_ok[:, :1], "all": np.ones_like(Y_ok),
              "bad": Y_ok * 2}[Y]
    with pytest.raises(error, match=match):
        hold_out_emotion(X, labels, **kwargs)


# ----------------------------------------------------------------------
# modality subsets and tables
# ----------------------------------------------------------------------
def test_modality_subsets_of():
    codes = ["".join(m[0].upper() for m in s) for s in modality_subsets_of(TAV)]
    assert codes == ["T", "A", "V", "TA", "TV", "AV", "TAV"]
    assert modality_subsets_of(["visual", "text"], "full") == [("text", "visual")]
    assert modality_subsets_of(TAV, ["vt", "audio", ["visual"]]) == [
        ("text", "visual"), ("audio",), ("visual",)]
    for bad, match in [("some", "'all', 'full'"), (["TX"], "letters T, A, V"),
                       ([("smell",)], "unknown"), ([], "empty"), (3, "'all', 'full'")]:
        with pytest.raises(ValueError, match=match):
            modality_subsets_of(TAV, bad)
    with pytest.raises(ValueError, match=r"not available \(available: \['text'\]\)"):
        modality_subsets_of(["text"], ["TA"])


def test_format_table_inputs():
    results = {"held_out": ["fear", "sad"], "unseen_auc": [0.81234, 0.5],
               "n_train": [10, 200], "estimator": [object(), object()]}
    text = format_table(results)
    lines = text.splitlines()
    assert lines[0].split() == ["held_out", "unseen_auc", "n_train"]  # no estimator
    assert lines[1].split() == ["fear", "0.812", "10"]
    assert len({len(line) for line in lines}) == 1  # numbers right-aligned
    rows = [{"held_out": "fear", "unseen_auc": 0.81234}]
    assert format_table(rows, floatfmt=".2f").splitlines()[1].split() == ["fear", "0.81"]
    frame = pd.DataFrame({"a": [1.0], "b": ["x"]})
    assert format_table(frame, columns=["b", "a"]).splitlines()[0].split() == ["b", "a"]
    with pytest.raises(ValueError, match="unknown columns"):
        format_table(results, columns=["nope"])
    with pytest.raises(ValueError, match="equal length"):
        format_table({"a": [1], "b": [1, 2]})
    with pytest.raises(TypeError, match="dict of lists"):
        format_table([1, 2])


# ----------------------------------------------------------------------
# zero_shot_evaluation
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def evaluation(data):
    X, Y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zero_shot_evaluation(small_clf(**TINY), X[:110], Y[:110], X[110:], Y[110:],
                                    emotions=EMOTIONS, held_out=["fear", "happy"],
                                    modality_subsets=["A", "TAV"], return_estimators=True)


def test_zero_shot_evaluation_structure(evaluation, data):
    X, Y = data
    res = evaluation
    assert res["held_out"] == ["fear", "fear", "happy", "happy"]
    assert res["modalities"] == ["A", "TAV", "A", "TAV"]
    assert set(res) >= {"unseen_wacc", "unseen_auc", "unseen_f1", "seen_wacc", "seen_auc",
                        "seen_f1", "n_train", "n_test_positives", "estimator"}
    assert res["n_train"][0] == int((Y[:110, 2] == 0).sum())
    assert res["n_test_positives"][3] == int(Y[110:, 3].sum())
    est = res["estimator"][0]
    assert est is res["estimator"][1] and est is not res["estimator"][2]
    assert est.emotions_ == ["anger", "disgust", "happy", "sad", "surprise", "fear"]
    assert est.n_fit_emotions_ == 5 and est.emotions == est.emotions_[:5]
    # rows 0 and 1: the model without fear, on audio alone and on all modalities
    X_test, Y_test = X[110:], Y[110:]
    for row, X_sub in ((0, {"audio": X_test["audio"]}), (1, X_test)):
        proba, pred = est.predict_proba(X_sub), est.predict(X_sub)
        assert res["unseen_auc"][row] == pytest.approx(
            emotion_roc_auc_score(Y_test[:, [2]], proba[:, -1:]))
        seen_wacc = weighted_accuracy_score(Y_test[:, [0, 1, 3, 4, 5]], pred[:, :5],
                                            average=None)
        assert res["seen_wacc"][row] == pytest.approx(np.nanmean(seen_wacc))
    assert res["unseen_auc"][0] != res["unseen_auc"][1]


def test_zero_shot_evaluation_scores_match_a_manual_computation(evaluation, data):
    X, Y = data
    est = evaluation["estimator"][2]  # held out: happy
    X_test, Y_test = X[110:], Y[110:]
    audio_only = {"audio": X_test["audio"]}
    proba = est.predict_proba(audio_only)
    y = Y_test[:, [3]]
    assert evaluation["unseen_auc"][2] == pytest.approx(emotion_roc_auc_score(y, proba[:, -1:]))
    wacc = weighted_accuracy_score(y, est.predict(audio_only)[:, -1:])
    assert evaluation["unseen_wacc"][2] == pytest.approx(wacc)
    seen = Y_test[:, [0, 1, 2, 4, 5]]
    full = est.predict_proba(X_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.nanmean(emotion_roc_auc_score(seen, full[:, :5], average=None))
    assert evaluation["seen_auc"][3] == pytest.approx(expected)


def test_zero_shot_evaluation_as_frame_and_verbose(data, capsys):
    X, Y = data
    frame = zero_shot_evaluation(small_clf(**TINY), X[:110], Y[:110], X[110:], Y[110:],
                                 emotions=EMOTIONS, held_out="sad",
                                 modality_subsets="full", as_frame=True, verbose=1)
    assert isinstance(frame, pd.DataFrame) and frame.shape[0] == 1
    assert frame["modalities"].tolist() == ["TAV"] and "estimator" not in frame
    assert "held out 'sad'" in capsys.readouterr().out


def test_zero_shot_evaluation_errors(data):
    X, Y = data
    X_tr, Y_tr, X_te, Y_te = X[:110], Y[:110], X[110:], Y[110:]
    clf = small_clf(**TINY)
    cases = [
        (dict(estimator=object()), TypeError, "lacks"),
        (dict(emotions=EMOTIONS[:5]), ValueError, "5 names but Y has 6"),
        (dict(emotions="anger"), TypeError, "list of emotion names"),
        (dict(held_out=["awe"]), ValueError, "'awe' is not one of"),
        (dict(held_out=[]), ValueError, "held_out is empty"),
        (dict(Y_test=Y_te[:, :5]), ValueError, "Y_test has 5 columns"),
        (dict(X_test={"text": X_te["text"]}), ValueError, "X_test lacks"),
        (dict(modality_subsets=["TX"]), ValueError, "letters"),
    ]
    for change, error, match in cases:
        kwargs = dict(estimator=clf, X_train=X_tr, Y_train=Y_tr, X_test=X_te, Y_test=Y_te,
                      emotions=EMOTIONS, held_out=["fear"])
        kwargs.update(change)
        with pytest.raises(error, match=match):
            zero_shot_evaluation(**kwargs)
    assert not hasattr(clf, "emotions_")  # never fitted in place


def test_zero_shot_evaluation_warns_without_test_positives(data):
    X, Y = data
    Y_te = Y[110:].copy()
    Y_te[:, 2] = 0
    with pytest.warns(UserWarning, match="0 positives of 'fear'"):
        res = zero_shot_evaluation(small_clf(**TINY), X[:110], Y[:110], X[110:], Y_te,
                                   emotions=EMOTIONS, held_out="fear",
                                   modality_subsets="full")
    assert np.isnan(res["unseen_auc"][0])


# ----------------------------------------------------------------------
# select_word_forms
# ----------------------------------------------------------------------
def test_select_word_forms_zero_shot(data):
    X, Y = data
    forms = ["surprise", "surprised", "surprise|surprised"]
    result = select_word_forms(small_clf(**TINY), X[:110], Y[:110], X[110:], Y[110:],
                               emotions=EMOTIONS, candidates={"surprise": forms})
    assert result.method == "zero_shot" and list(result.scores) == ["surprise"]
    scores = result.scores["surprise"]
    assert list(scores) == forms
    # each form's AUC on the validation part, from one model fitted without surprise
    X_seen, Y_seen, seen, _ = hold_out_emotion(X[:110], Y[:110], "surprise", emotions=EMOTIONS)
    est = small_clf(seen, **TINY).fit(X_seen, Y_seen).add_emotions(forms)
    proba = est.predict_proba(X[110:])[:, 5:]
    assert scores == pytest.approx(
        {f: emotion_roc_auc_score(Y[110:, [5]], proba[:, [j]]) for j, f in enumerate(forms)})
    best = result.best_forms["surprise"]
    assert scores[best] == max(scores.values())
    assert result.emotions == EMOTIONS[:5] + [best]


def test_select_word_forms_supervised(data):
    X, Y = data
    result = select_word_forms(small_clf(**TINY), X[:110], Y[:110], X[110:], Y[110:],
                               emotions=EMOTIONS, candidates={"fear": ["fear", "afraid"]},
                               method="supervised")
    scores = result.scores["fear"]
    assert list(scores) == ["fear", "afraid"]
    # the form changes the model: the two fits differ
    assert scores["fear"] != scores["afraid"]
    assert result.emotions[2] == result.best_forms["fear"]


def test_select_word_forms_errors(data):
    X, Y = data
    Y_one = Y[110:].copy()
    Y_one[:, 5] = 0
    cases = [
        (dict(method="grid"), ValueError, "'zero_shot' or 'supervised'"),
        (dict(candidates={}), TypeError, "non-empty dict"),
        (dict(candidates={"surprise": "surprised"}), TypeError, "not a string"),
        (dict(candidates={"surprise": []}), ValueError, "is empty"),
        (dict(candidates={"surprise": ["a", "A"]}), ValueError, "duplicates"),
        (dict(candidates={"surprise": ["surprised", "happy"]}), ValueError,
         "names of other emotions"),
        (dict(candidates={"awe": ["awe"]}), ValueError, "not one of"),
        (dict(Y_valid=Y_one), ValueError, "only one class for 'surprise'"),
    ]
    for change, error, match in cases:
        kwargs = dict(X_valid=X[110:], Y_valid=Y[110:], emotions=EMOTIONS,
                      candidates={"surprise": ["surprise", "surprised"]})
        kwargs.update(change)
        with pytest.raises(error, match=match):
            select_word_forms(small_clf(**TINY), X[:110], Y[:110], **kwargs)

import pickle
from concurrent.futures import ThreadPoolExecutor

import h5py
import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, train_test_split
from skorch.callbacks import (
    Checkpoint,
    EpochScoring,
    Freezer,
    LoadInitState,
    LRScheduler,
)
from skorch.dataset import Dataset
from skorch.helper import predefined_split

import skmemo
from skmemo import MODALITIES, MultimodalData
from skmemo.datasets import make_emotion_dataset
from skmemo.exceptions import NotFittedError, UnknownWordError
from skmemo.metrics import get_scorer, weighted_accuracy_score

from .conftest import EMOTIONS, ragged_everywhere, small_clf, with_absent, without_modality


def test_fit_predict_shapes(fitted, data):
    X, Y = data
    proba = fitted.predict_proba(X)
    assert proba.shape == Y.shape
    pred = fitted.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    logits = fitted.decision_function(X)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), proba, rtol=1e-5)
    assert fitted.score(X, Y) == weighted_accuracy_score(Y, pred)
    assert fitted.emotions_ == EMOTIONS
    assert len(fitted.classes_) == 6 and all((c == [0, 1]).all() for c in fitted.classes_)


def test_learns_something(small_data):
    X, Y = small_data  # 120 samples learn as well as 240 (0.82 vs 0.88), in a third of the time
    clf = small_clf(max_epochs=15, validation_fraction=0).fit(X, Y)
    assert clf.score(X, Y) > 0.65


def test_threshold_float_and_per_emotion(fitted, data):
    X, _ = data
    proba = fitted.predict_proba(X)
    clf = pickle.loads(pickle.dumps(fitted))
    clf.set_params(threshold=0.9)
    np.testing.assert_array_equal(clf.predict(X), proba > 0.9)
    t = np.linspace(0.1, 0.9, 6)
    clf.set_params(threshold=t)
    np.testing.assert_array_equal(clf.predict(X), proba > t)
    with pytest.raises(ValueError, match="one value per emotion"):
        clf.set_params(threshold=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        clf.set_params(threshold=1.5)
    # a refused threshold changes nothing
    np.testing.assert_array_equal(clf.threshold, t)
    np.testing.assert_array_equal(clf.predict(X), proba > t)


def test_padding_invariance_of_predictions(fitted, data):
    X, _ = data
    X = X[:20]
    extra = {m: np.concatenate([np.zeros((20, 4, X[m].shape[2]), np.float32), X[m]], axis=1)
             for m in X.modalities}
    np.testing.assert_allclose(fitted.predict_proba(X), fitted.predict_proba(extra), atol=1e-5)


def test_explicit_lengths(fitted, data):
    X, _ = data
    X = X[:10]
    lengths = (np.abs(X["text"]).sum(-1) > 0).sum(1)
    X2 = dict(X, text_lengths=lengths)
    np.testing.assert_allclose(fitted.predict_proba(X), fitted.predict_proba(X2), atol=1e-5)


def test_random_state_repeatable(data):
    X, Y = data
    a = small_clf(max_epochs=2).fit(X, Y).predict_proba(X)
    b = small_clf(max_epochs=2).fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_fit_does_not_touch_global_rng(data):
    X, Y = data
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    small_clf(max_epochs=1).fit(X, Y)
    assert torch.rand(1) == expected


def test_clone_gives_user_params(fitted):
    c = clone(fitted)
    assert c.get_params()["device"] == "cpu"
    assert c.emotions == EMOTIONS and not hasattr(c, "emotions_")
    # "auto" stays the parameter; the attribute reads as this machine's device
    auto = small_clf(device="auto")
    assert auto.get_params()["device"] == clone(auto).get_params()["device"] == "auto"
    assert auto.device == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_roundtrip(fitted, data, tmp_path, dump):
    X, _ = data
    if dump == "pickle":
        clf = pickle.loads(pickle.dumps(fitted))
    else:
        joblib.dump(fitted, tmp_path / "m.joblib")
        clf = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(clf.predict_proba(X), fitted.predict_proba(X))
    assert clf.get_params()["device"] == "cpu"


def test_modality_subsets_and_single_modality_fit(data):
    X, Y = data
    clf = small_clf(max_epochs=1).fit({"audio": X["audio"], "visual": X["visual"]}, Y)
    assert clf.predict_proba({"audio": X["audio"]}).shape == Y.shape
    with pytest.raises(ValueError, match="not seen in fit"):
        clf.predict_proba({"text": X["text"]})
    one = small_clf(max_epochs=1).fit({"text": X["text"]}, Y)
    assert one.predict(X.__class__(text=X["text"])).shape == Y.shape


def test_pandas_labels_name_the_emotions(data):
    X, Y = data
    df = pd.DataFrame(Y, columns=EMOTIONS)
    clf = small_clf(None, max_epochs=1, batch_size=64, hidden_sizes=None).fit(X, df)
    assert clf.emotions_ == EMOTIONS


def test_gru_and_hidden_sizes(data):
    X, Y = data
    clf = small_clf(rnn="gru", hidden_sizes={"text": 8, "audio": 4, "visual": 4},
                    max_epochs=1).fit(X, Y)
    encoders = clf.module_.encoders
    assert all(isinstance(e.rnn, torch.nn.GRU) for e in encoders.values())
    assert {m: e.rnn.hidden_size for m, e in encoders.items()} == {
        "text": 8, "audio": 4, "visual": 4}
    projection = clf.module_.text_projection  # text hidden size 8 -> word vectors (50)
    assert (projection.in_features, projection.out_features) == (8, 50)


def test_add_emotions_zero_shot(fitted, data):
    X, _ = data
    clf = pickle.loads(pickle.dumps(fitted))
    before = clf.predict_proba(X)
    assert clf.add_emotions(["awe", "calm|calmness"]) is clf
    after = clf.predict_proba(X)
    assert after.shape == (len(X), 8) and clf.emotions_[-2:] == ["awe", "calm|calmness"]
    np.testing.assert_allclose(after[:, :6], before, atol=1e-6)
    assert clf.predict(X).shape == (len(X), 8) and len(clf.classes_) == 8
    # survives pickling; clone keeps the user's emotions
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), after)
    assert clone(clf).emotions == EMOTIONS


def test_add_emotions_is_atomic(fitted, data):
    clf = pickle.loads(pickle.dumps(fitted))
    state = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    for bad, exc, match in [
        (["awe", "qwxzyq"], UnknownWordError, "qwxzyq"),
        (["awe", "anger"], ValueError, "already present.*anger"),
        (["awe", "awe"], ValueError, "duplicates"),
        ([], ValueError, "no emotion"),
        ({"x": np.ones(7)}, ValueError, "dimension 50"),
    ]:
        with pytest.raises(exc, match=match):
            clf.add_emotions(bad)
        assert clf.emotions_ == EMOTIONS
        for k, v in clf.module_.state_dict().items():
            assert v.shape == state[k].shape and bool((v == state[k]).all())


def test_add_emotions_with_vectors_and_dict_source(data):
    X, Y = data
    rng = np.random.RandomState(0)
    src = {e: rng.randn(8) for e in EMOTIONS + ["awe"]}
    clf = small_clf(word_vectors=src, max_epochs=1).fit(X, Y)
    clf.add_emotions(["awe"])
    clf.add_emotions({"bliss": rng.randn(8)})
    assert clf.predict_proba(X).shape == (len(X), 8)


def test_not_fitted_errors(data):
    X, _ = data
    clf = small_clf()
    for call in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(NotFittedError, match="not fitted"):
            call(X)
    with pytest.raises(NotFittedError):
        clf.add_emotions(["awe"])


@pytest.mark.parametrize("params, y, match", [
    (dict(emotions=["happy"]), None, "6 columns but the estimator has 1"),
    (dict(emotions=["happy"] * 6), None, "duplicates"),
    (dict(emotions=[]), None, "emotions is empty"),
    (dict(emotions=EMOTIONS[:5] + ["qwxzyq"]), None, "qwxzyq"),
    (dict(emotions="happy"), None, "list of words"),
    (dict(emotions=None), None, "no column names"),
    (dict(emotions=EMOTIONS, threshold=-0.1), None, r"\[0, 1\]"),
    (dict(emotions=EMOTIONS), "1d", "2-D"),
])
def test_fit_errors(data, params, y, match):
    X, Y = data
    clf = small_clf(**params, max_epochs=1)
    with pytest.raises((ValueError, TypeError, KeyError), match=match):
        clf.fit(X, Y[:, 0] if y == "1d" else Y)
    assert not hasattr(clf, "emotions_")


def test_all_zero_column_warns(data):
    X, Y = data
    Y = Y.copy()
    Y[:, 2] = 0
    with pytest.warns(UserWarning, match="no positive sample"):
        small_clf(max_epochs=1).fit(X, Y)


def test_always_present_emotion_warns_and_still_learns(small_data):
    # balanced pos_weight negatives / positives would be 0: loss identically 0
    X, _ = small_data
    with pytest.warns(UserWarning, match=r"\['happy'\] are positive in every sample"):
        clf = small_clf(["happy"], max_epochs=2, validation_fraction=0).fit(
            X, np.ones((len(X), 1)))
    assert clf.pos_weight_.tolist() == [1.0]
    assert all(loss > 0 for loss in clf.history[:, "train_loss"])
    assert clf.predict(X).mean() > 0.5  # trained towards the only label seen


def test_one_always_present_column_among_several(small_data):
    X, Y = small_data
    Y = Y.copy()
    Y[:, 1] = 1
    expected = (len(Y) - Y.sum(0)) / Y.sum(0)
    expected[1] = 1.0
    with pytest.warns(UserWarning, match=r"\['disgust'\] are positive in every sample"):
        clf = small_clf(max_epochs=1, validation_fraction=0).fit(X, Y)
    np.testing.assert_allclose(clf.pos_weight_, expected, rtol=1e-6)
    with pytest.warns(UserWarning, match="disgust"):
        clf.partial_fit(X, Y)  # recomputed from the new y, with the same warning


def test_partial_fit_continues_training(fitted, data):
    X, Y = data
    clf = pickle.loads(pickle.dumps(fitted))
    n_epochs = len(clf.history)
    clf.partial_fit(X, Y)
    assert len(clf.history) > n_epochs
    with pytest.raises(ValueError, match="columns"):
        clf.partial_fit(X, Y[:, :3])


def test_validation_split_is_not_stratified_and_early_stopping(data):
    X, Y = data
    clf = small_clf(max_epochs=8, early_stopping_patience=1, lr=0.0).fit(X, Y)
    assert "valid_wacc" in clf.history[-1]
    # lr=0 never improves: stopped after the first epoch and one without improvement
    assert len(clf.history) == 2
    none = small_clf(max_epochs=2, validation_fraction=0).fit(X, Y)
    assert "valid_wacc" not in none.history[-1]


def test_h5py_input(tmp_path, fitted, data):
    import h5py

    X, _ = data
    with h5py.File(tmp_path / "x.h5", "w") as f:
        for m in X.modalities:
            f[m] = X[m]
    with h5py.File(tmp_path / "x.h5", "r") as f:
        Xh = MultimodalData(**{m: f[m] for m in X.modalities})
        np.testing.assert_allclose(fitted.predict_proba(Xh), fitted.predict_proba(X),
                                   atol=1e-6)


# ----------------------------------------------------------------------
# skorch and scikit-learn features used the way those libraries teach.
# ----------------------------------------------------------------------
def _copy(clf):
    return pickle.loads(pickle.dumps(clf))


def _weights(clf):
    return {k: v.clone() for k, v in clf.module_.state_dict().items()}


def _same_weights(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------
# 1. pandas y is matched to the emotions by column name
# ----------------------------------------------------------------------
def test_pandas_columns_matched_by_name(data):
    X, Y = data
    frame = pd.DataFrame(Y, columns=EMOTIONS)
    shuffled = frame[EMOTIONS[::-1]]
    a = small_clf(max_epochs=2).fit(X, frame)
    b = small_clf(max_epochs=2).fit(X, shuffled)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.score(X, frame) == a.score(X, shuffled)
    # partial_fit and partial_fit_gem match by name too: same result either order
    for call in (lambda c, y: c.partial_fit(X, y),
                 lambda c, y: c.partial_fit_gem(X, y, new_task=True)):
        c, d = _copy(a), _copy(a)
        call(c, frame)
        call(d, shuffled)
        np.testing.assert_array_equal(c.predict_proba(X), d.predict_proba(X))


def test_pandas_columns_that_differ_are_refused(data, fitted):
    X, Y = data
    wrong = pd.DataFrame(Y, columns=["a", "b", "c", "d", "e", "f"])
    with pytest.raises(ValueError, match=r"missing \['anger'.*unexpected \['a'"):
        small_clf().fit(X, wrong)
    clf = _copy(fitted)
    before = _weights(clf)
    for call in (lambda: clf.partial_fit(X, wrong), lambda: clf.partial_fit_gem(X, wrong),
                 lambda: clf.score(X, wrong)):
        with pytest.raises(ValueError, match="do not match the estimator's emotions"):
            call()
    assert _same_weights(before, _weights(clf))
    # numpy y, or integer column names, are taken in order
    clf.score(X, Y)
    clf.score(X, pd.DataFrame(Y))


# ----------------------------------------------------------------------
# 2. skorch scoring callbacks
# ----------------------------------------------------------------------
@pytest.mark.parametrize("scoring", ["roc_auc", "skmemo"])
def test_epoch_scoring_reads_the_validation_set(data, scoring):
    X, Y = data
    scorer = "roc_auc" if scoring == "roc_auc" else get_scorer("weighted_accuracy")
    clf = small_clf(max_epochs=2, early_stopping_patience=None, callbacks=[
        ("score", EpochScoring(scorer, lower_is_better=False, name="score")),
        ("train_score", EpochScoring(scorer, lower_is_better=False, on_train=True,
                                     name="train_score")),
    ]).fit(X, Y)
    _, valid = clf.get_split_datasets(X, Y)
    Xv = MultimodalData(**{k: v[valid.indices] for k, v in X.items()})
    Yv = Y[valid.indices]
    recorded = clf.history[-1, "score"]
    if scoring == "roc_auc":
        expected = roc_auc_score(Yv, clf.predict_proba(Xv))
    else:
        expected = get_scorer("weighted_accuracy")(clf, Xv, Yv)
    assert recorded == pytest.approx(expected, abs=1e-6)
    assert 0 < clf.history[-1, "train_score"] <= 1 and clf.history[-1, "train_score"] != recorded


def test_failing_callback_on_refit_leaves_the_model(fitted, data):
    X, Y = data

    class Boom(EpochScoring):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise RuntimeError("scorer failed")

    clf = _copy(fitted)
    before, n = _weights(clf), len(clf.history)
    clf.set_params(callbacks=[("boom", Boom("roc_auc"))])
    with pytest.raises(RuntimeError, match="scorer failed"):
        clf.fit(X, Y)
    assert len(clf.history) == n and _same_weights(before, _weights(clf))


# ----------------------------------------------------------------------
# 4. warm_start
# ----------------------------------------------------------------------
def test_warm_start_continues_training(data):
    X, Y = data
    clf = small_clf(max_epochs=1, warm_start=True).fit(X, Y)
    after_first = _weights(clf)
    clf.fit(X, Y)
    assert len(clf.history) == 2
    cold = small_clf(max_epochs=1).fit(X, Y)
    assert _same_weights(after_first, _weights(cold))  # same first epoch
    cold.fit(X, Y)
    assert len(cold.history) == 1 and _same_weights(after_first, _weights(cold))
    assert not _same_weights(after_first, _weights(clf))


def test_sample_weight_is_refused_clearly(data):
    X, Y = data
    with pytest.raises(TypeError, match=r"\['sample_weight'\].*per-sample weights"):
        small_clf().fit(X, Y, sample_weight=np.ones(len(Y)))


def test_random_state_instance_threshold_mapping_and_bf16_inputs(data):
    X, Y = data
    clf = small_clf(max_epochs=1, random_state=np.random.RandomState(0),
                    threshold={"anger": 0.3}).fit(X, Y)
    assert clf.thresholds_.tolist() == [0.3] + [0.5] * 5
    half = {k: torch.as_tensor(np.asarray(v)).to(torch.bfloat16) for k, v in X.items()}
    proba = clf.predict_proba(half)
    ref = clf.predict_proba({k: v.float() for k, v in half.items()})
    np.testing.assert_array_equal(proba, ref)


# ----------------------------------------------------------------------
# 6. h5py inputs through scikit-learn splitting
# ----------------------------------------------------------------------
def test_h5py_inputs_split_in_any_order(data, tmp_path):
    X, Y = data
    with h5py.File(tmp_path / "x.h5", "w") as f:
        for k, v in X.items():
            f[k] = v
    with h5py.File(tmp_path / "x.h5", "r") as f:
        H = MultimodalData(**{k: f[k] for k in X})
        rows = [5, 1, 1, 3]
        np.testing.assert_array_equal(H[rows]["audio"], X["audio"][rows])
        Xtr, Xte, Ytr, Yte = train_test_split(H, Y, test_size=0.25, random_state=0)
        ref_tr, _, _, _ = train_test_split(X, Y, test_size=0.25, random_state=0)
        np.testing.assert_array_equal(Xtr["text"], ref_tr["text"])
        clf = small_clf(max_epochs=1).fit(Xtr, Ytr)
        for _, test in KFold(3, shuffle=True, random_state=0).split(H):
            assert clf.predict_proba(H[test]).shape == (len(test), 6)


# ----------------------------------------------------------------------
# 8. set_params(train_split=None) after fit
# ----------------------------------------------------------------------
@pytest.mark.parametrize("change", [dict(train_split=None), dict(validation_fraction=0)])
def test_no_validation_after_fit(fitted, data, change):
    X, Y = data
    clf = _copy(fitted).set_params(**change)
    clf.partial_fit(X, Y)
    assert "valid_loss" not in clf.history[-1]
    clf.partial_fit_gem(X, Y, epochs=1, new_task=True)
    clf.set_params(validation_fraction=0.2, train_split="auto")
    clf.partial_fit(X, Y)
    assert "valid_loss" in clf.history[-1]


# ----------------------------------------------------------------------
# 9. predefined_split
# ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["skorch-dataset", "tuple"])
def test_predefined_split(data, kind):
    X, Y = data
    Xtr, Xv, Ytr, Yv = train_test_split(X, Y, test_size=0.25, random_state=0)
    valid = Dataset(dict(Xv), Yv) if kind == "skorch-dataset" else (Xv, Yv)
    clf = small_clf(max_epochs=2, early_stopping_patience=None,
                    train_split=predefined_split(valid)).fit(Xtr, Ytr)
    logits = torch.as_tensor(clf.decision_function(Xv), dtype=torch.float32)
    expected = float(clf.criterion_(logits, torch.as_tensor(Yv, dtype=torch.float32)))
    assert clf.history[-1, "valid_loss"] == pytest.approx(expected, rel=1e-4)


# ----------------------------------------------------------------------
# the matrix: skorch callbacks and parameters on every training call
# ----------------------------------------------------------------------
TRAINING_CALLS = {
    "fit": lambda c, X, Y: c.fit(X, Y),
    "partial_fit": lambda c, X, Y: c.partial_fit(X, Y),
    "partial_fit_gem": lambda c, X, Y: c.partial_fit_gem(X, Y, new_task=True),
}


@pytest.mark.parametrize("call", TRAINING_CALLS)
def test_matrix_user_lr_scheduler_and_freezer(fitted, data, call):
    X, Y = data
    clf = _copy(fitted).set_params(callbacks=[
        ("freeze", Freezer("encoders.*", at=lambda net: True)),  # every epoch of every call
        ("step_lr", LRScheduler("StepLR", step_size=1, gamma=0.5)),
    ], max_epochs=2)
    frozen = {k: v.clone() for k, v in clf.module_.state_dict().items() if "encoders" in k}
    lr_before = clf.optimizer_.param_groups[0]["lr"]
    TRAINING_CALLS[call](clf, X, Y)
    state = clf.module_.state_dict()
    if call != "fit":  # fit starts from new weights; the others keep them frozen
        assert all(torch.equal(state[k], v) for k, v in frozen.items())
    if call != "partial_fit_gem":  # which restores the encoders' flags it found
        assert all(not p.requires_grad for n, p in clf.module_.named_parameters()
                   if n.startswith("encoders"))
    lr_after = clf.optimizer_.param_groups[0]["lr"]
    if call == "fit":
        assert lr_after == pytest.approx(clf.lr * 0.25)  # halved after each of 2 epochs
    else:
        assert lr_after < lr_before / 2


@pytest.mark.parametrize("call", TRAINING_CALLS)
def test_matrix_checkpoint_and_load_init_state(fitted, data, call, tmp_path):
    X, Y = data
    cp = Checkpoint(dirname=str(tmp_path), monitor=None)
    clf = _copy(fitted).set_params(callbacks=[cp], max_epochs=1)
    TRAINING_CALLS[call](clf, X, Y)
    # LoadInitState loads the checkpoint (weights, optimizer, history) when
    # training starts, so the resumed run continues the saved history
    resumed = small_clf(max_epochs=1, callbacks=[LoadInitState(cp)]).fit(X, Y)
    assert len(resumed.history) == len(clf.history) + 1
    assert resumed.history[:-1, "train_loss"] == clf.history[:, "train_loss"]


@pytest.mark.parametrize("call", TRAINING_CALLS)
def test_matrix_clone_pickle_save_after_each_call(fitted, data, call, tmp_path):
    X, Y = data
    clf = _copy(fitted).set_params(max_epochs=1)
    TRAINING_CALLS[call](clf, X, Y)
    assert clone(clf).get_params()["emotions"] == EMOTIONS
    np.testing.assert_array_equal(_copy(clf).predict_proba(X), clf.predict_proba(X))
    clf.save(tmp_path / "m")
    np.testing.assert_array_equal(skmemo.load(tmp_path / "m").predict_proba(X),
                                  clf.predict_proba(X))


def test_matrix_set_params_of_module_and_optimizer_after_fit(fitted, data):
    X, Y = data
    clf = _copy(fitted)
    clf.set_params(optimizer__weight_decay=0.1)
    assert clf.optimizer_.param_groups[0]["weight_decay"] == 0.1
    clf.partial_fit(X, Y)
    clf.set_params(padding="post")
    assert all(m.padding == "post" for m in clf.module_.modules()
               if isinstance(getattr(m, "padding", None), str))


@pytest.mark.parametrize("call", TRAINING_CALLS)
def test_matrix_epoch_scoring_and_predefined_split_on_every_call(fitted, data, call):
    X, Y = data
    Xtr, Xv, Ytr, Yv = train_test_split(X, Y, test_size=0.25, random_state=0)
    clf = _copy(fitted).set_params(max_epochs=2, train_split=predefined_split((Xv, Yv)),
                                   callbacks=[("auc", EpochScoring("roc_auc", name="auc",
                                                                   lower_is_better=False))])
    n = len(clf.history) if call != "fit" else 0
    TRAINING_CALLS[call](clf, Xtr, Ytr)
    rows = clf.history[n:]
    assert len(rows) >= 1 and all("auc" in row and "valid_loss" in row for row in rows)
    # early stopping ends with the weights of the call's best valid_wacc epoch (the
    # first of equals): the AUC recorded there is the model's AUC on the validation set
    waccs = [row["valid_wacc"] for row in rows]
    best = rows[int(np.argmax(waccs))]
    assert best["auc"] == pytest.approx(roc_auc_score(Yv, clf.predict_proba(Xv)), abs=1e-6)


# ----------------------------------------------------------------------
# checkpoint/resume, determinism, concurrency
# ----------------------------------------------------------------------
def test_checkpoint_and_resume(data, tmp_path):
    X, Y = data
    cp = Checkpoint(dirname=str(tmp_path), monitor=None)  # save after every epoch
    first = small_clf(max_epochs=2, callbacks=[cp]).fit(X, Y)
    resumed = small_clf(max_epochs=1, callbacks=[
        Checkpoint(dirname=str(tmp_path), monitor=None), LoadInitState(cp)])
    resumed.fit(X, Y)
    assert len(resumed.history) == 3  # two loaded epochs + one more
    # the resumed run started from the saved weights, not from scratch
    scratch = small_clf(max_epochs=1).fit(X, Y)
    assert resumed.history[1, "train_loss"] == first.history[1, "train_loss"]
    assert not np.allclose(resumed.predict_proba(X), scratch.predict_proba(X))


def test_same_random_state_same_result_different_seed_differs(data):
    X, Y = data
    a = small_clf(max_epochs=2).fit(X, Y)
    b = small_clf(max_epochs=2).fit(X, Y)
    c = small_clf(max_epochs=2, random_state=1).fit(X, Y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))
    assert a.history[:, "train_loss"] == b.history[:, "train_loss"]


def test_concurrent_predict_proba_matches_sequential(fitted, data):
    X, _ = data
    chunks = [X[i:i + 30] for i in range(0, len(X), 30)]
    sequential = [fitted.predict_proba(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(fitted.predict_proba, chunks * 3))
    for i, p in enumerate(parallel):
        np.testing.assert_array_equal(p, sequential[i % len(chunks)])


# ----------------------------------------------------------------------
# What the user guide, reliability and performance guides say the estimator does.
# ----------------------------------------------------------------------
def test_classes_is_a_k_by_2_array(fitted):
    assert isinstance(fitted.classes_, np.ndarray)
    assert fitted.classes_.shape == (len(fitted.emotions_), 2)
    assert (fitted.classes_ == [0, 1]).all()


def test_thread_count_changes_probabilities_only_by_rounding(data):
    X, Y = data[0][:48], data[1][:48]
    before = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            clf = small_clf(max_epochs=1).fit(X, Y)
            results.append((clf.predict_proba(X), clf.predict(X)))
    finally:
        torch.set_num_threads(before)
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-5)
    np.testing.assert_array_equal(results[0][1], results[1][1])


# ----------------------------------------------------------------------
# one emotion and many; the global random state is left alone
# ----------------------------------------------------------------------
WORDS = ["happy", "sad", "anger", "fear", "disgust", "surprise"]


# hidden size 4, one layer, one epoch of batches of 4, no validation split
TINY = dict(max_epochs=1, batch_size=4, validation_fraction=0, num_layers=1,
            hidden_sizes={m: 4 for m in MODALITIES})


N, T = 24, 5


@pytest.mark.parametrize("K", [1, 40])
def test_one_emotion_and_many_emotions(K):
    from skmemo.vectors import load_default_vectors

    words = ["happy"] if K == 1 else [w for w in load_default_vectors().words[300:] if
                                      w.isalpha()][:K]
    X, _ = make_emotion_dataset(N, emotions=["happy", "sad"], seq_len=T, random_state=0)
    Y = np.random.RandomState(K).randint(0, 2, (N, K))
    clf = small_clf(words, **TINY).fit(X, Y)
    assert clf.predict(X).shape == (N, K) and len(clf.classes_) == K
    assert clf.score(X, Y) == weighted_accuracy_score(Y, clf.predict(X))


def test_torch_seed_is_left_alone():
    # hypothesis and the fits above must not depend on, or disturb, the global seed
    torch.manual_seed(7)
    a = torch.rand(1)
    torch.manual_seed(7)
    small_clf(WORDS[:1], **TINY).fit({"audio": np.ones((4, 2, 1), np.float32)},
                                     np.array([[0], [1]] * 2))
    assert torch.rand(1) == a


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------


def test_predict_refuses_a_sample_without_modality(fitted, data):
    X, _ = data
    n = len(X)
    bad = MultimodalData(text=X["text"], text_lengths=np.r_[0, np.ones(n - 1, int)])
    with pytest.raises(ValueError, match="no modality at all"):
        fitted.predict(bad)


def _tiny(n=48, seed=0):
    from skmemo.datasets import make_emotion_dataset

    return make_emotion_dataset(n, seq_len=6, random_state=seed)


# ----------------------------------------------------------------------
# prediction: an absent modality is the subset path, exactly
# ----------------------------------------------------------------------
@pytest.mark.parametrize("modality", ["audio", "text"])
def test_absent_equals_subset_exactly(fitted, data, modality):
    X, _ = data
    absent = np.arange(len(X)) % 3 == 0
    ragged = with_absent(X, modality, absent)
    proba = fitted.predict_proba(ragged)
    subset = fitted.predict_proba(without_modality(X, modality))
    complete = fitted.predict_proba(X)
    np.testing.assert_array_equal(proba[absent], subset[absent])
    np.testing.assert_array_equal(proba[~absent], complete[~absent])
    # also one sample at a time (batches of one)
    i = int(np.flatnonzero(absent)[1])
    one = fitted.predict_proba(ragged[i:i + 1])
    np.testing.assert_array_equal(
        one, fitted.predict_proba(without_modality(X, modality)[i:i + 1]))


def test_absent_equals_subset_with_cross_attention():
    X, Y = _tiny()
    clf = small_clf(fusion="cross_attention", max_epochs=1,
                    module__attention_dim=8, module__attention_layers=1,
                    module__attention_heads=2).fit(X, Y)
    absent = np.arange(len(X)) % 2 == 0
    proba = clf.predict_proba(with_absent(X, "visual", absent))
    assert np.isfinite(proba).all()
    np.testing.assert_array_equal(proba[absent],
                                  clf.predict_proba(without_modality(X, "visual"))[absent])
    # present rows attend to visual keys padded to the longest *present* visual
    # sequence instead of the longest of all: equal up to rounding
    np.testing.assert_allclose(proba[~absent], clf.predict_proba(X)[~absent], rtol=1e-5)


def test_absent_for_every_sample_equals_subset(fitted, data):
    X, _ = data
    ragged = with_absent(X, "visual", np.ones(len(X), bool))
    np.testing.assert_array_equal(fitted.decision_function(ragged),
                                  fitted.decision_function(without_modality(X, "visual")))


# ----------------------------------------------------------------------
# training on ragged data
# ----------------------------------------------------------------------


@pytest.mark.parametrize("params", [
    {}, {"bucket_by_length": True, "modality_dropout": {"audio": 0.3}},
    {"fusion": "cross_attention", "module__attention_dim": 8, "module__attention_layers": 1,
     "module__attention_heads": 2},
])
def test_training_on_ragged_data_runs_and_pickles(params):
    X, Y = _tiny(64)
    R = ragged_everywhere(X)
    clf = small_clf(max_epochs=2, **params).fit(R, Y)
    losses = clf.history_[:, "train_loss"]
    assert np.isfinite(losses).all()
    proba = clf.predict_proba(R)
    assert proba.shape == (64, len(EMOTIONS)) and np.isfinite(proba).all()
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(R), proba)


def test_set_params_modality_dropout_after_fit_reaches_module():
    X, Y = _tiny(64)
    clf = small_clf(max_epochs=1).fit(X, Y)
    assert clf.module_.modality_dropout == {}
    clf.set_params(modality_dropout={"audio": 0.5})
    clf.partial_fit(X, Y)
    assert clf.module_.modality_dropout == {"audio": 0.5}
    clf.set_params(modality_dropout=0.25)
    clf.partial_fit(X, Y)
    assert clf.module_.modality_dropout == dict.fromkeys(("text", "audio", "visual"), 0.25)
    n_epochs = len(clf.history_)
    clf.set_params(modality_dropout=1.5)
    with pytest.raises(ValueError, match="modality_dropout"):
        clf.partial_fit(X, Y)
    assert clf.module_.modality_dropout == dict.fromkeys(("text", "audio", "visual"), 0.25)
    assert len(clf.history_) == n_epochs
    clf.set_params(modality_dropout=None)
    clf.partial_fit(X, Y)
    assert clf.module_.modality_dropout == {}


def test_modality_dropout_off_by_default_changes_nothing(data):
    X, Y = data
    a = small_clf(max_epochs=1).fit(X[:96], Y[:96]).predict_proba(X[:32])
    b = small_clf(max_epochs=1, modality_dropout=None).fit(X[:96], Y[:96]).predict_proba(
        X[:32])
    c = small_clf(max_epochs=1, modality_dropout=0.5).fit(X[:96], Y[:96]).predict_proba(
        X[:32])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ----------------------------------------------------------------------
# inputs are validated once, at the boundary of each call
# ----------------------------------------------------------------------
def test_labels_and_inputs_are_validated_once_per_training_call(monkeypatch, small_data):
    import skmemo._base
    import skmemo._episodic
    import skmemo.continual
    import skmemo.data

    counts = {"check_X": 0, "check_y": 0}

    def counting(name):
        real = getattr(skmemo.data, name)

        def wrapper(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)
        return wrapper

    for name in counts:
        wrapped = counting(name)
        for module in (skmemo.data, skmemo._base, skmemo.continual, skmemo._episodic):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, wrapped)
    X, Y = small_data
    clf = small_clf(max_epochs=1, memory_size=8)
    for call in (lambda: clf.fit(X, Y), lambda: clf.partial_fit(X, Y),
                 lambda: clf.partial_fit_gem(X, Y, epochs=1, new_task=True)):
        counts.update(check_X=0, check_y=0)
        call()
        assert counts == {"check_X": 1, "check_y": 1}


# text_scoring="calibrated_cosine" and single_label=True
# ----------------------------------------------------------------------
def _encoder_like(n=90, d=8, seed=0):
    """Pooled sentence-embedding-like inputs, one label per row, and name vectors."""
    rng = np.random.default_rng(seed)
    names = ["calm", "glad", "mad", "blue"]
    vectors = {e: rng.normal(size=d).astype(np.float32) for e in names}
    k = rng.integers(0, 3, n)
    E = np.stack([vectors[e] for e in names[:3]])
    x = (E[k] + 0.8 * rng.normal(size=(n, d))).astype(np.float32)
    X = MultimodalData(text=x[:, None, :], text_lengths=np.ones(n, dtype=np.int64))
    return X, np.eye(3, dtype=int)[k], vectors, names


def test_calibrated_cosine_untrained_scores_equal_training_free_cosine():
    from skmemo.modules import calibrated_cosine

    X, Y, vectors, names = _encoder_like()
    clf = small_clf(names[:3], word_vectors=vectors, text_scoring="calibrated_cosine",
                    temperature=0.5, max_epochs=1, lr=0.0).fit(X, Y)
    E = torch.as_tensor(np.stack([vectors[e] for e in names[:3]]))
    free = calibrated_cosine(torch.as_tensor(X["text"][:, 0]), E).numpy()
    np.testing.assert_allclose(clf.decision_function(X), 2.0 * free, atol=1e-5)
    before = clf.decision_function(X)
    clf.add_emotions(["blue"])  # the fitted emotions' scores do not change
    np.testing.assert_allclose(clf.decision_function(X)[:, :3], before, atol=1e-6)
    # the new one: its cosine minus the mean cosine of the fitted emotions
    u = torch.nn.functional.normalize(torch.as_tensor(X["text"][:, 0]), dim=1)
    cos = (u @ torch.nn.functional.normalize(
        torch.as_tensor(clf.emotion_vectors_), dim=1).T).numpy()
    np.testing.assert_allclose(clf.decision_function(X)[:, 3],
                               2.0 * (cos[:, 3] - cos[:, :3].mean(1)), atol=1e-5)


def test_single_label_softmax_argmax_and_learning():
    X, Y, vectors, names = _encoder_like(n=150)
    clf = small_clf(names[:3], word_vectors=vectors, text_scoring="calibrated_cosine",
                    single_label=True, class_weight=None, max_epochs=5,
                    lr=1e-2).fit(X, Y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    logits = clf.decision_function(X)
    np.testing.assert_allclose(proba, torch.softmax(torch.as_tensor(logits), 1).numpy(),
                               atol=1e-6)
    pred = clf.predict(X)
    assert (pred.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(pred.argmax(1), proba.argmax(1))
    assert (pred.argmax(1) == Y.argmax(1)).mean() > 0.6
    # add an emotion (its gate closed), then train it: the grown gates keep training
    clf.add_emotions(["blue"])
    assert clf.network_.emotion_gates[-1].item() == 0
    before = clf.network_.emotion_gates.detach().clone()
    clf.partial_fit(X, np.c_[Y, np.zeros(len(Y), int)])
    assert clf.network_.emotion_gates.shape == (4,)
    assert not torch.equal(before, clf.network_.emotion_gates.detach())


def test_single_label_centres_the_fitted_logits_and_keeps_their_softmax():
    """The fitted emotions' logits average zero per sample (their common level
    is otherwise free); their softmax is the module's own; an added emotion's
    column is the module's, uncentred, and the fitted ones stay centred."""
    X, Y, vectors, names = _encoder_like(n=150)
    clf = small_clf(names[:3], word_vectors=vectors, text_scoring="calibrated_cosine",
                    single_label=True, class_weight=None, max_epochs=5,
                    lr=1e-2).fit(X, Y)
    inputs = {"text": torch.as_tensor(X["text"]),
              "text_lengths": torch.as_tensor(X["text_lengths"])}

    def module_logits():
        clf.module_.eval()
        with torch.no_grad():
            return clf.module_(**inputs).numpy()

    raw = module_logits()
    assert np.abs(raw.mean(axis=1)).max() > 1e-2  # trained: not centred by itself
    logits = clf.decision_function(X)
    np.testing.assert_allclose(logits.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(logits, raw - raw.mean(axis=1, keepdims=True), atol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X),
                               torch.softmax(torch.as_tensor(raw), 1).numpy(), atol=1e-5)
    clf.add_emotions(["blue"])
    raw = module_logits()
    logits = clf.decision_function(X)
    np.testing.assert_allclose(logits[:, 3], raw[:, 3], atol=1e-6)
    np.testing.assert_allclose(logits[:, :3].mean(axis=1), 0.0, atol=1e-5)
    # multi-label mode: the logits are the module's own
    multi = small_clf(names[:3], word_vectors=vectors, text_scoring="calibrated_cosine",
                      class_weight=None, max_epochs=2, lr=1e-2).fit(X, Y)
    multi.module_.eval()
    with torch.no_grad():
        np.testing.assert_allclose(multi.decision_function(X),
                                   multi.module_(**inputs).numpy(), atol=1e-6)


def test_single_label_refuses_rows_without_exactly_one_emotion():
    X, Y, vectors, names = _encoder_like()
    Y = Y.copy()
    Y[3] = 0
    Y[5, :] = 1
    clf = small_clf(names[:3], word_vectors=vectors, single_label=True)
    with pytest.raises(ValueError, match=r"exactly one emotion per sample; rows \[3, 5\]"):
        clf.fit(X, Y)
    assert not hasattr(clf, "emotions_")


@pytest.mark.parametrize("params, match", [
    # the estimators' one message for a parameter (skmemo._params)
    ({"text_scoring": "cosine"}, "text_scoring must be 'calibrated_cosine' or 'dot'"),
    ({"temperature": 0.0}, r"temperature must be a float in the range \(0.0, inf\)"),
    ({"temperature": "hot"}, "temperature must be"),
    ({"single_label": "yes"}, "single_label must be True or False"),
])
def test_text_options_are_validated_before_any_work(params, match):
    X, Y, vectors, names = _encoder_like()
    clf = small_clf(names[:3], word_vectors=vectors, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, Y)
    assert not hasattr(clf, "module_")


def test_calibrated_cosine_needs_matching_sizes():
    X, Y, _, names = _encoder_like()
    with pytest.raises(ValueError, match="same size"):
        small_clf(names[:3], text_scoring="calibrated_cosine").fit(X, Y)  # GloVe 50-d


@pytest.mark.parametrize("dump", ["pickle", "skmemo"])
def test_text_options_roundtrip(tmp_path, dump):
    import skmemo

    X, Y, vectors, names = _encoder_like()
    clf = small_clf(names[:3], word_vectors=vectors, text_scoring="calibrated_cosine",
                    temperature=0.2, single_label=True, max_epochs=2).fit(X, Y)
    clf.add_emotions(["blue"])
    if dump == "pickle":
        back = pickle.loads(pickle.dumps(clf))
    else:
        clf.save(tmp_path / "m.skmemo")
        back = skmemo.load(tmp_path / "m.skmemo")
    params = back.get_params()
    assert (params["text_scoring"], params["temperature"], params["single_label"]) == (
        "calibrated_cosine", 0.2, True)
    np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    back.partial_fit(X, np.c_[Y, np.zeros(len(Y), int)])  # training resumes


def test_loaded_calibrated_cosine_model_adds_and_trains_an_emotion(tmp_path):
    import skmemo

    X, Y, vectors, names = _encoder_like()
    small_clf(names[:3], word_vectors=vectors, text_scoring="calibrated_cosine",
              max_epochs=2).fit(X, Y).save(tmp_path / "m.skmemo")
    back = skmemo.load(tmp_path / "m.skmemo")
    back.add_emotions(["blue"])
    back.partial_fit(X, np.c_[Y, np.zeros(len(Y), int)])
    assert back.network_.emotion_gates.shape == (4,)


def test_trained_calibrated_cosine_model_scores_an_added_emotion_training_free():
    X, Y, vectors, names = _encoder_like()
    clf = small_clf(names[:3], word_vectors=vectors, text_scoring="calibrated_cosine",
                    max_epochs=3, lr=1e-2).fit(X, Y)
    clf.add_emotions(["blue"])
    u = torch.nn.functional.normalize(torch.as_tensor(X["text"][:, 0]), dim=1)
    cos = (u @ torch.nn.functional.normalize(
        torch.as_tensor(clf.emotion_vectors_), dim=1).T).numpy()
    scale = clf.network_.log_text_scale.exp().item()
    assert abs(scale - 10.0) > 1e-4  # trained
    np.testing.assert_allclose(clf.decision_function(X)[:, 3],
                               scale * (cos[:, 3] - cos[:, :3].mean(1)), atol=1e-4)


def _fit_verbose(X, Y, monkeypatch, capsys, terminal, **params):
    import sys

    if terminal:  # a terminal on both streams
        for name in ("stdout", "stderr"):
            monkeypatch.setattr(getattr(sys, name), "isatty", lambda: True, raising=False)
    clf = small_clf(verbose=1, max_epochs=3, num_layers=1, **params).fit(X, Y)
    return clf, capsys.readouterr()


def test_verbose_off_a_terminal_is_plain_text(small_data, monkeypatch, capsys):
    X, Y = small_data
    clf, out = _fit_verbose(X, Y, monkeypatch, capsys, terminal=False)
    lines = out.out.strip("\n").splitlines()
    assert "\x1b[" not in out.out and "\r" not in out.out + out.err
    assert out.err == ""  # no progress bar
    assert lines[0].split()[:2] == ["epoch", "train_loss"] and len(lines) == 2 + 3
    assert len({len(line) for line in lines}) == 1  # aligned


def test_verbose_on_a_terminal_keeps_colours_and_bar(small_data, monkeypatch, capsys):
    X, Y = small_data
    _, out = _fit_verbose(X, Y, monkeypatch, capsys, terminal=True)
    assert "\x1b[" in out.out  # best scores coloured, as skorch does
    assert "\r" in out.err or "it/s" in out.err or "/" in out.err  # tqdm's bar

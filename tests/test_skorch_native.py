"""skorch and scikit-learn features used the way those libraries teach.

Each failure found by using the estimator as a skorch / scikit-learn user
would is a regression test here (numbered as in the findings), followed by
the matrix of features on ``fit``, ``partial_fit`` and ``partial_fit_gem``.
"""

import io
import pickle
from contextlib import redirect_stdout

import h5py
import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, cross_val_predict, train_test_split
from skorch.callbacks import (
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    Freezer,
    LoadInitState,
    LRScheduler,
)
from skorch.dataset import Dataset
from skorch.helper import predefined_split

import skmemo
from skmemo import MultimodalData
from skmemo.baselines import EarlyFusionLSTMClassifier, LateFusionLSTMClassifier
from skmemo.exceptions import DataFormatError
from skmemo.metrics import get_scorer

from .conftest import EMOTIONS, small_clf


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
# 3. save / load keeps thresholds and emotions exactly
# ----------------------------------------------------------------------
def test_save_load_keeps_series_threshold_and_array_emotions(data, tmp_path):
    X, Y = data
    threshold = pd.Series(np.linspace(0.2, 0.8, 6), index=EMOTIONS)
    clf = small_clf(np.array(EMOTIONS), threshold=threshold, max_epochs=1).fit(X, Y)
    np.testing.assert_array_equal(clf.thresholds_, threshold.to_numpy())
    clf.save(tmp_path / "m")
    loaded = skmemo.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.thresholds_, clf.thresholds_)
    assert list(loaded.get_params()["emotions"]) == EMOTIONS
    clf2 = small_clf(pd.Index(EMOTIONS), max_epochs=1).fit(X, Y)
    clf2.save(tmp_path / "m2")
    assert list(skmemo.load(tmp_path / "m2").get_params()["emotions"]) == EMOTIONS


def test_load_of_a_joblib_file_says_what_it_is(fitted, tmp_path):
    joblib.dump(fitted, tmp_path / "x.joblib")
    with pytest.raises(DataFormatError, match=r"not an skmemo file \(a pickle or joblib"):
        skmemo.load(tmp_path / "x.joblib")


def test_save_leaves_the_episodic_memory_out_unless_asked(fitted, tmp_path):
    assert len(fitted.memory_) > 0
    fitted.save(tmp_path / "shared")
    assert skmemo.load(tmp_path / "shared").memory_ is None
    fitted.save(tmp_path / "full", include_memory=True)
    assert len(skmemo.load(tmp_path / "full").memory_) == len(fitted.memory_)


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


# ----------------------------------------------------------------------
# 5. and 14. parameters and inputs refused with a clear message
# ----------------------------------------------------------------------
@pytest.mark.parametrize("params, match", [
    (dict(predict_batch_size=-5), "predict_batch_size"),
    (dict(predict_batch_size=0), "predict_batch_size"),
    (dict(max_epochs=0), "max_epochs"),
    (dict(random_state="seven"), "random_state"),
    (dict(threshold={"joy": 0.3}), r"does not have: \['joy'\]"),
])
def test_bad_parameters_are_refused_before_training(data, params, match):
    X, Y = data
    clf = small_clf(**params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, Y)
    assert not clf.__sklearn_is_fitted__() and clf.history_ is None


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
# 7. cross_val_predict with every method
# ----------------------------------------------------------------------
@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
def test_cross_val_predict(data, method):
    X, Y = data
    frame = pd.DataFrame(Y, columns=EMOTIONS)
    out = cross_val_predict(small_clf(max_epochs=1), X, frame, cv=2, method=method)
    assert out.shape == Y.shape


def test_cross_val_predict_without_emotions_says_how(data):
    X, Y = data
    frame = pd.DataFrame(Y, columns=EMOTIONS)
    clf = small_clf(None, max_epochs=1, batch_size=64, random_state=None,
                    hidden_sizes={"audio": 4, "visual": 4})
    with pytest.raises(ValueError, match=r"emotions=list\(Y.columns\)"):
        cross_val_predict(clf, X, frame, cv=2, method="predict_proba")


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
# 10. partial_fit_gem runs in skorch's loop
# ----------------------------------------------------------------------
def test_partial_fit_gem_is_skorch_loop(fitted, data, tmp_path):
    X, Y = data
    clf = _copy(fitted).add_emotions(["calm"])
    Y7 = np.c_[Y, Y[:, 0]]
    cp = Checkpoint(dirname=str(tmp_path), monitor=None)
    clf.set_params(verbose=1, callbacks=[cp])
    out = io.StringIO()
    with redirect_stdout(out):
        clf.partial_fit_gem(X, Y7, epochs=2)
    row = clf.history[-1]
    assert {"valid_loss", "valid_wacc", "gem_violations", "train_loss", "dur"} <= set(row)
    assert "gem_violations" in out.getvalue() and "valid_loss" in out.getvalue()
    assert (tmp_path / "params.pt").is_file()
    assert clf.memory_.n_tasks == 2 and clf.gem_stats_["steps"] > 0


def test_partial_fit_gem_early_stopping(fitted, data):
    X, Y = data
    clf = _copy(fitted).set_params(early_stopping_patience=1)
    stop = EarlyStopping(monitor="valid_loss", patience=1, threshold=10.0,
                         threshold_mode="abs")
    clf.set_params(callbacks=[stop])
    n = len(clf.history)
    clf.partial_fit_gem(X, Y, epochs=6, new_task=True)
    assert len(clf.history) - n == 2  # stopped: no improvement by 10 in one epoch


def test_repeated_calls_do_not_dilute_earlier_tasks(fitted, data):
    X, Y = data
    clf = _copy(fitted).add_emotions(["calm"])
    Y7 = np.c_[Y, Y[:, 0]]
    for chunk in np.array_split(np.arange(len(Y)), 3):
        clf.partial_fit_gem(X[chunk], Y7[chunk], epochs=1)
    memory = clf.memory_
    assert memory.n_tasks == 2  # the chunks continue one task
    assert memory.tasks[1]["n_seen"] == len(Y)
    # task 0 keeps its half of the memory (three separate tasks would leave it a quarter)
    assert len(memory.tasks[0]["y"]) == len(memory.tasks[1]["y"]) == memory.capacity // 2
    clf.partial_fit_gem(X[:40], Y7[:40], epochs=1, new_task=True)
    assert clf.memory_.n_tasks == 3


# ----------------------------------------------------------------------
# 11. thresholds of added emotions
# ----------------------------------------------------------------------
def test_add_emotions_thresholds(fitted, data):
    X, _ = data
    clf = _copy(fitted).add_emotions(["calm"], threshold=0.99)
    assert clf.thresholds_[-1] == 0.99
    clf.add_emotions(["awe", "joy"], threshold=[0.2, 0.3])
    assert clf.thresholds_[-2:].tolist() == [0.2, 0.3]
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), proba > clf.thresholds_)
    clf2 = _copy(fitted).set_params(threshold=0.7).add_emotions(["calm"])
    assert clf2.thresholds_.tolist() == [0.7] * 7
    with pytest.raises(ValueError, match="one value per added emotion"):
        clf.add_emotions(["rage", "glee"], threshold=[0.1, 0.2, 0.3])
    assert len(clf.emotions_) == 9


# ----------------------------------------------------------------------
# 12. baselines declare only what they honour
# ----------------------------------------------------------------------
@pytest.mark.parametrize("cls", [EarlyFusionLSTMClassifier, LateFusionLSTMClassifier])
def test_baselines_parameters(cls, data, tmp_path):
    X, Y = data
    params = cls(EMOTIONS).get_params()
    for name in ("pretrain_epochs", "fusion", "swfc_weight", "freeze_encoders",
                 "pretrain_X", "memory_size"):
        assert name not in params
    assert ("hidden_size" in params) != ("hidden_sizes" in params)
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \['pretrain_epochs'\]"):
        cls(EMOTIONS, pretrain_epochs=1)
    sizes = {k: params[k] for k in ("hidden_size", "hidden_sizes") if k in params}  # defaults
    clf = small_clf(EMOTIONS, cls=cls, max_epochs=1, batch_size=64, **sizes).fit(X, Y)
    clf.save(tmp_path / "b")
    np.testing.assert_array_equal(skmemo.load(tmp_path / "b").predict_proba(X),
                                  clf.predict_proba(X))


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

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from skmemo import MultimodalData
from skmemo.exceptions import NotFittedError, UnknownWordError
from skmemo.metrics import weighted_accuracy_score

from .conftest import EMOTIONS, small_clf


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
    ({"text_scoring": "cosine"}, "'text_scoring' parameter"),
    ({"temperature": 0.0}, "'temperature' parameter"),
    ({"temperature": "hot"}, "'temperature' parameter"),
    ({"single_label": "yes"}, "'single_label' parameter"),
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

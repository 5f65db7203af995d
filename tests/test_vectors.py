import time

import numpy as np
import pytest

from skmemo.exceptions import UnknownWordError
from skmemo.vectors import (
    emotion_vectors,
    load_default_vectors,
    parse_emotion,
    read_word_vector_file,
)


def test_default_vectors_cover_frequent_words_and_load_fast():
    load_default_vectors.cache_clear()
    start = time.perf_counter()
    glove = load_default_vectors()
    elapsed = time.perf_counter() - start
    assert len(glove) >= 30000 and glove.dim == 50
    for word in ["the", "anger", "surprised", "frustrating", "exciting", "awe"]:
        assert word in glove
    assert elapsed < 5  # generous bound; typical load is ~0.25 s (see README)


def test_word_forms_and_phrases_are_averaged():
    glove = load_default_vectors()
    v = emotion_vectors(["surprise|surprised", "mildly annoyed"])
    np.testing.assert_allclose(v[0], (glove["surprise"] + glove["surprised"]) / 2, rtol=1e-6)
    np.testing.assert_allclose(v[1], (glove["mildly"] + glove["annoyed"]) / 2, rtol=1e-6)


def test_unknown_words_are_all_named():
    with pytest.raises(UnknownWordError, match=r"qwxzy.*zzkkq|zzkkq.*qwxzy"):
        emotion_vectors(["happy", "qwxzy", "zzkkq|sad"])


def test_dict_source():
    src = {"joy": np.ones(3), "calm": np.zeros(3)}
    np.testing.assert_array_equal(emotion_vectors(["joy", "calm"], src),
                                  [[1, 1, 1], [0, 0, 0]])


def test_glove_file_is_streamed_keeping_only_needed_words(tmp_path):
    path = tmp_path / "vec.txt"
    path.write_text("happy 1 2 3\nsad 4 5 6\nnew york 7 8 9\nother 0 0 0\n")
    wv = read_word_vector_file(path, {"sad", "new york"})
    assert sorted(wv) == ["new york", "sad"]
    np.testing.assert_array_equal(wv["new york"], [7, 8, 9])
    np.testing.assert_array_equal(emotion_vectors(["sad"], str(path)), [[4, 5, 6]])


def test_word2vec_header_is_skipped(tmp_path):
    path = tmp_path / "w2v.txt"
    path.write_text("2 2\nhappy 1 2\nsad 3 4\n")
    assert read_word_vector_file(path).dim == 2


@pytest.mark.parametrize("content, match", [
    ("happy 1 2 3\nsad 4 5\n", "expected a word and 3 numbers"),
    ("happy 1 2 3\nsad 1 x 3\n", "not a number"),
    ("", "holds no vectors"),
])
def test_malformed_files_fail_clearly(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        read_word_vector_file(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="not found"):
        emotion_vectors(["happy"], "/nonexistent/vectors.txt")


@pytest.mark.parametrize("spec", ["", "happy|", "  "])
def test_empty_specs_refused(spec):
    with pytest.raises(ValueError, match="empty"):
        parse_emotion(spec)


class _Encoder:
    """An object with embed_emotions, as TextEncoder has."""

    def __init__(self, rows=None):
        self.rows, self.seen = rows, []

    def embed_emotions(self, emotions):
        self.seen.append(list(emotions))
        if self.rows is not None:
            return self.rows
        return np.stack([np.full(3, len(e), np.float32) for e in emotions])


def test_encoder_source_embeds_whole_phrases():
    enc = _Encoder()
    out = emotion_vectors(["anger", "mildly annoyed"], enc)
    assert enc.seen == [["anger", "mildly annoyed"]]
    np.testing.assert_array_equal(out[:, 0], [5, 14])


@pytest.mark.parametrize("rows, match", [
    (np.zeros((1, 3)), r"one vector per emotion, a \(2, dim\) matrix; got shape \(1, 3\)"),
    (np.full((2, 3), np.nan), "NaN or inf"),
])
def test_encoder_source_output_is_checked(rows, match):
    with pytest.raises(ValueError, match=match):
        emotion_vectors(["anger", "joy"], _Encoder(rows))


def test_encoder_source_refuses_empty_specs():
    with pytest.raises(ValueError, match="empty"):
        emotion_vectors(["anger", " "], _Encoder())


def test_nested_word_vectors_parameters_reach_the_encoder():
    from sklearn.base import clone

    from skmemo import MultimodalEmotionClassifier
    from skmemo.feature_extraction import TextEncoder

    clf = MultimodalEmotionClassifier(word_vectors=TextEncoder())
    clf.set_params(word_vectors__emotion_prompt="I feel {}.", max_epochs=3)
    assert clf.word_vectors.emotion_prompt == "I feel {}." and clf.max_epochs == 3
    assert clf.get_params()["word_vectors__emotion_prompt"] == "I feel {}."
    assert clone(clf).set_params(**clf.get_params()).word_vectors.emotion_prompt == "I feel {}."
    with pytest.raises(ValueError, match="need an estimator as word_vectors"):
        MultimodalEmotionClassifier().set_params(word_vectors__emotion_prompt="{}")

"""What the user guide, reliability and performance guides say the estimator does.

Each test checks one sentence of the docs against the code, so that the two cannot
drift apart: the meaning of ``padding`` when lengths are given, the shape of
``classes_``, and which results are equal only up to float rounding.
"""

import numpy as np
import pytest
import torch

from skmemo import MultimodalData
from skmemo._batching import sample_lengths

from .conftest import small_clf

MODALITIES = ("text", "audio", "visual")


def _with_lengths(arrays, lengths):
    return MultimodalData(**arrays, **{f"{m}_lengths": lengths for m in arrays})


def _post_layout(X, lengths):
    """The real steps (the last ``L`` of each sample) moved to the front."""
    out = {}
    for m in MODALITIES:
        x = np.asarray(X[m])
        y = np.zeros_like(x)
        for i, n in enumerate(lengths):
            y[i, :n] = x[i, x.shape[1] - n:]
        out[m] = y
    return out


def _garbage(arrays, lengths, side, seed=0):
    """Non-zero values everywhere outside the ``L`` steps that ``side`` reads."""
    rng = np.random.RandomState(seed)
    out = {}
    for m, x in arrays.items():
        x = x.copy()
        T = x.shape[1]
        for i, n in enumerate(lengths):
            rows = slice(n, T) if side == "post" else slice(0, T - n)
            x[i, rows] = rng.randn(*x[i, rows].shape)
        out[m] = x
    return out


@pytest.fixture(scope="module")
def layouts(data):
    X, Y = data
    lengths = sample_lengths(X, "pre")  # the longest modality of each sample
    pre = {m: np.asarray(X[m]) for m in MODALITIES}
    return pre, _post_layout(X, lengths), lengths, Y


@pytest.fixture(scope="module")
def pre_model(layouts):
    pre, _, lengths, Y = layouts
    return small_clf(max_epochs=2).fit(_with_lengths(pre, lengths), Y)


def test_with_lengths_pre_reads_the_last_steps_and_post_the_first(layouts, pre_model):
    pre, post, lengths, Y = layouts
    assert (lengths < pre["text"].shape[1]).any()
    proba = pre_model.predict_proba(_with_lengths(pre, lengths))
    noisy = _garbage(pre, lengths, "pre")  # everything before the last L steps
    np.testing.assert_allclose(pre_model.predict_proba(_with_lengths(noisy, lengths)),
                               proba, atol=1e-6)
    post_model = small_clf(max_epochs=2, padding="post").fit(_with_lengths(post, lengths), Y)
    post_proba = post_model.predict_proba(_with_lengths(post, lengths))
    np.testing.assert_allclose(post_proba, proba, atol=1e-5)  # the same model
    noisy = _garbage(post, lengths, "post")  # everything after the first L steps
    np.testing.assert_allclose(post_model.predict_proba(_with_lengths(noisy, lengths)),
                               post_proba, atol=1e-6)


def test_end_padded_data_with_lengths_and_the_default_is_read_wrongly(layouts, pre_model):
    pre, post, lengths, _ = layouts
    right = pre_model.predict_proba(_with_lengths(pre, lengths))
    wrong = pre_model.predict_proba(_with_lengths(post, lengths))  # padding="pre" kept
    assert np.abs(right - wrong).max() > 0.01


def test_classes_is_a_k_by_2_array(fitted):
    assert isinstance(fitted.classes_, np.ndarray)
    assert fitted.classes_.shape == (len(fitted.emotions_), 2)
    assert (fitted.classes_ == [0, 1]).all()


def test_prediction_batches_equal_one_batch_up_to_rounding(data, fitted):
    X, _ = data
    one = fitted.predict_proba(X)  # 240 samples, one batch
    many = fitted.set_params(predict_batch_size=16).predict_proba(X)
    fitted.set_params(predict_batch_size=None)
    np.testing.assert_allclose(many, one, atol=1e-6)


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

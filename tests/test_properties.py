"""Property-based tests: random shapes, lengths, padding, modality subsets, labels.

Whatever hypothesis draws, ``fit`` and ``predict`` either succeed with
well-formed output or fail with one of the documented exceptions, leaving no
fitted attribute behind; zero padding never changes a prediction; weighted
accuracy is balanced accuracy. A hand-picked list of unusual but valid inputs
(pandas nullable labels, sparse labels, torch float64, lengths as lists...)
must give well-formed output too. Models are tiny (hidden size 4, one epoch) and
examples few, so the file runs in seconds.
"""

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import balanced_accuracy_score

from skmemo import MODALITIES, MultimodalData
from skmemo.datasets import make_emotion_dataset
from skmemo.exceptions import SkmemoError
from skmemo.metrics import weighted_accuracy_score

from .conftest import small_clf

WORDS = ["happy", "sad", "anger", "fear", "disgust", "surprise"]
DOCUMENTED = (ValueError, TypeError, KeyError, SkmemoError)
FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


# hidden size 4, one layer, one epoch of batches of 4, no validation split
TINY = dict(max_epochs=1, batch_size=4, validation_fraction=0, num_layers=1,
            hidden_sizes={m: 4 for m in MODALITIES})


def fitted_attributes(clf):
    return sorted(k for k in vars(clf) if k.endswith("_") and not k.startswith("__"))


def sequences(rng, n, T, d, lengths, padding="pre"):
    """(n, T, d) float32 with sample i real on ``lengths[i]`` steps (0: all zero)."""
    x = np.zeros((n, T, d), np.float32)
    for i, L in enumerate(lengths):
        if L:
            steps = rng.randn(L, d).astype(np.float32)
            steps[np.all(steps == 0, axis=1)] = 1.0  # a real step is never all zero
            if padding == "pre":
                x[i, T - L:] = steps
            else:
                x[i, :L] = steps
    return x


@st.composite
def problems(draw):
    """A random (X, y, emotions), sometimes with a defect fit must refuse."""
    n = draw(st.integers(1, 10))
    mods = draw(st.lists(st.sampled_from(MODALITIES), min_size=1, max_size=3, unique=True))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = {}
    for m in mods:
        T = draw(st.integers(1, 6))
        d = draw(st.integers(1, 5))
        lengths = draw(st.lists(st.integers(0, T), min_size=n, max_size=n))
        X[m] = sequences(rng, n, T, d, lengths) * draw(st.sampled_from([1.0, 1e-3, 1e3]))
    K = draw(st.integers(1, 4))
    kinds = draw(st.lists(st.sampled_from(["random", "zeros", "ones"]), min_size=K,
                          max_size=K))
    y = np.stack([rng.randint(0, 2, n) if k == "random" else np.full(n, k == "ones")
                  for k in kinds], axis=1).astype(int)
    defect = draw(st.sampled_from([None] * 10 + ["nan", "rows", "empty-axis", "2-D",
                                                "labels", "columns"]))
    m = mods[0]
    if defect == "nan":
        X[m][0, -1, 0] = np.nan
    elif defect == "rows":
        y = np.vstack([y, y[:1]])
    elif defect == "empty-axis":
        X[m] = X[m][:, :0]
    elif defect == "2-D":
        X[m] = X[m][:, -1]
    elif defect == "labels":
        y = y + 1
    elif defect == "columns":
        y = y[:, :-1] if K > 1 else np.c_[y, y]
    return X, y, WORDS[:K], defect


@FAST
@given(problems())
def test_fit_predict_is_well_formed_or_fails_cleanly(problem):
    X, y, emotions, defect = problem
    clf = small_clf(emotions, **TINY)
    before = fitted_attributes(clf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # all-zero label columns
        try:
            clf.fit(X, y)
        except DOCUMENTED:
            assert defect is not None, "a well-formed problem was refused"
            assert fitted_attributes(clf) == before and not clf.__sklearn_is_fitted__()
            return
    assert defect is None, f"fit accepted a defect: {defect}"
    n, K = y.shape
    proba, logits = clf.predict_proba(X), clf.decision_function(X)
    assert proba.shape == (n, K) and proba.dtype == np.float64
    assert np.isfinite(logits).all()
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-12)
    pred = clf.predict(X)
    assert pred.shape == (n, K)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))


# ----------------------------------------------------------------------
# inputs that look odd but are accepted (hand-picked examples)
# ----------------------------------------------------------------------
EMOTIONS = WORDS[:3]
N, T = 24, 5


@pytest.fixture(scope="module")
def d():
    X, Y = make_emotion_dataset(N, emotions=EMOTIONS, seq_len=T, random_state=0)
    return SimpleNamespace(X=MultimodalData(text=X["text"], audio=X["audio"]), Y=Y.astype(int))


def _audio(d, transform=lambda a: a, **extra):
    """The audio of ``d`` as a float32 array (after ``transform``), with ``extra`` keys."""
    return {"audio": np.asarray(transform(d.X["audio"])).astype(np.float32), **extra}


# (name, the unusual input, the same data as plain numpy arrays)
ACCEPTED = [
    ("y-list-of-lists", lambda d: (d.X, d.Y.tolist()), None),
    ("y-bool", lambda d: (d.X, d.Y.astype(bool)), None),
    ("y-pandas-nullable-int", lambda d: (d.X, pd.DataFrame(d.Y, dtype="Int64")), None),
    ("y-pandas-boolean", lambda d: (d.X, pd.DataFrame(d.Y.astype(bool), dtype="boolean")),
     None),
    ("y-pandas-category", lambda d: (d.X, pd.DataFrame(d.Y).astype("category")), None),
    ("y-torch", lambda d: (d.X, torch.as_tensor(d.Y)), None),
    ("y-sparse", lambda d: (d.X, scipy.sparse.csr_matrix(d.Y)), None),
    ("X-lists-of-ints", lambda d: ({"audio": np.rint(d.X["audio"]).astype(int).tolist()}, d.Y),
     lambda d: _audio(d, np.rint)),
    ("X-torch-float64", lambda d: ({"audio": torch.as_tensor(d.X["audio"], dtype=torch.float64)},
                                   d.Y),
     lambda d: _audio(d)),
    ("X-torch-int", lambda d: ({"audio": torch.as_tensor(d.X["audio"]).round().int()}, d.Y),
     lambda d: _audio(d, np.rint)),
    ("X-bool", lambda d: ({"audio": np.asarray(d.X["audio"]) > 0}, d.Y),
     lambda d: _audio(d, lambda a: a > 0)),
    ("X-lengths-list", lambda d: ({"audio": d.X["audio"], "audio_lengths": [T] * N}, d.Y),
     lambda d: _audio(d, audio_lengths=np.full(N, T))),
    ("X-lengths-torch", lambda d: ({"audio": d.X["audio"],
                                    "audio_lengths": torch.full((N,), 2)}, d.Y),
     lambda d: _audio(d, audio_lengths=np.full(N, 2))),
    ("X-length-one", lambda d: ({"audio": d.X["audio"][:, -1:]}, d.Y),
     lambda d: _audio(d, lambda a: a[:, -1:], audio_lengths=np.ones(N, int))),
]


@pytest.fixture(scope="module")
def plain_proba(d):
    """Probabilities of the model fitted on ``d`` as it is (numpy arrays)."""
    return small_clf(EMOTIONS, **TINY).fit(d.X, d.Y).predict_proba(d.X)


@pytest.mark.parametrize("make, plain", [a[1:] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_accepted_inputs(make, plain, d, plain_proba):
    """Each unusual input fits the same model as the same data as numpy arrays."""
    X, y = make(d)
    proba = small_clf(EMOTIONS, **TINY).fit(X, y).predict_proba(X)
    if plain is None:  # y in another form
        expected = plain_proba
    else:
        expected = small_clf(EMOTIONS, **TINY).fit(plain(d), d.Y).predict_proba(plain(d))
    assert proba.shape == (N, len(EMOTIONS))
    np.testing.assert_allclose(proba, expected, rtol=1e-6)


def test_all_zero_samples_are_accepted_as_empty(d):
    """Samples whose audio is all zero padding have no audio: they all get one answer."""
    empty = np.arange(N) % 3 == 0
    X = {"audio": np.where(empty[:, None, None], 0, d.X["audio"])}
    proba = small_clf(EMOTIONS, **TINY).fit(X, d.Y).predict_proba(X)
    assert proba.shape == (N, len(EMOTIONS)) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba[empty], np.tile(proba[0], (empty.sum(), 1)), atol=1e-6)
    assert not np.isclose(proba[~empty], proba[0], atol=1e-6).all(axis=1).any()


def test_uppercase_emotion_words_use_lowercase_vectors(d):
    from skmemo.vectors import emotion_vectors

    clf = small_clf(["Happy", "SAD", "anger"], **TINY).fit(d.X, d.Y)
    assert clf.emotions_ == ["Happy", "SAD", "anger"]  # the user's names are kept
    np.testing.assert_array_equal(clf.emotion_vectors_, emotion_vectors(EMOTIONS))
    clf.add_emotions(["Calm"])
    np.testing.assert_array_equal(clf.emotion_vectors_[-1], emotion_vectors(["calm"])[0])


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


# ----------------------------------------------------------------------
# zero padding and modality subsets on one fitted model
# ----------------------------------------------------------------------
DIMS = {"text": 5, "audio": 3, "visual": 2}


@pytest.fixture(scope="module", params=["pre", "post"])
def padded_model(request):
    rng = np.random.RandomState(0)
    n, T = 16, 5
    X = {m: sequences(rng, n, T, d, rng.randint(0, T + 1, n), request.param)
         for m, d in DIMS.items()}
    y = rng.randint(0, 2, (n, 3))
    return small_clf(WORDS[:3], **TINY, padding=request.param).fit(X, y)


@st.composite
def padded_inputs(draw):
    n = draw(st.integers(1, 6))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = {}
    for m, d in DIMS.items():
        T = draw(st.integers(1, 6))
        lengths = draw(st.lists(st.integers(0, T), min_size=n, max_size=n))
        X[m] = (lengths, sequences(rng, n, T, d, lengths))  # padding placed later
    pads = draw(st.fixed_dictionaries({m: st.integers(0, 5) for m in DIMS}))
    subset = draw(st.lists(st.sampled_from(MODALITIES), min_size=1, max_size=3, unique=True))
    return X, pads, subset


def _place(lengths, x, padding):
    if padding == "post":  # real steps first
        out = np.zeros_like(x)
        for i, L in enumerate(lengths):
            out[i, :L] = x[i, x.shape[1] - L:] if L else 0
        return out
    return x


def _pad(x, extra, padding):
    zeros = np.zeros((x.shape[0], extra, x.shape[2]), x.dtype)
    return np.concatenate([zeros, x] if padding == "pre" else [x, zeros], axis=1)


@FAST
@given(padded_inputs())
def test_zero_padding_never_changes_predictions(padded_model, drawn):
    inputs, pads, subset = drawn
    padding = padded_model.padding
    X = {m: _place(*inputs[m], padding) for m in subset}
    X_padded = {m: _pad(X[m], pads[m], padding) for m in subset}
    np.testing.assert_allclose(padded_model.predict_proba(X_padded),
                               padded_model.predict_proba(X), atol=1e-5)
    # explicit lengths give the same answer as lengths read from the padding
    with_lengths = dict(X_padded, **{f"{m}_lengths": np.maximum(inputs[m][0], 1)
                                     for m in subset})
    np.testing.assert_allclose(padded_model.predict_proba(with_lengths),
                               padded_model.predict_proba(X), atol=1e-5)


@FAST
@given(padded_inputs())
def test_any_modality_subset_gives_probabilities(padded_model, drawn):
    inputs, _, subset = drawn
    X = MultimodalData(**{m: _place(*inputs[m], padded_model.padding) for m in subset})
    proba, logits = padded_model.predict_proba(X), padded_model.decision_function(X)
    assert proba.shape == (len(X), 3) and np.isfinite(logits).all()
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-12)
    # each sample alone gives the same probabilities (no leak across the batch)
    np.testing.assert_allclose(padded_model.predict_proba(X[:1]), proba[:1], atol=1e-6)


def test_padding_property_can_fail(padded_model):
    """The padding check has teeth: reading padding from the wrong end changes outputs."""
    rng = np.random.RandomState(1)
    X = {"audio": sequences(rng, 8, 4, 3, [1, 2, 3, 4] * 2, padded_model.padding)}
    wrong = "post" if padded_model.padding == "pre" else "pre"
    X_wrong = {"audio": _pad(X["audio"], 3, wrong)}
    assert not np.allclose(padded_model.predict_proba(X_wrong),
                           padded_model.predict_proba(X), atol=1e-5)


# ----------------------------------------------------------------------
# metrics
# ----------------------------------------------------------------------
@st.composite
def label_pairs(draw):
    n = draw(st.integers(1, 30))
    K = draw(st.integers(1, 5))
    cells = st.lists(st.integers(0, 1), min_size=n * K, max_size=n * K)
    y_true = np.array(draw(cells)).reshape(n, K)
    y_pred = np.array(draw(cells)).reshape(n, K)
    return y_true, y_pred


@settings(max_examples=50, deadline=None, derandomize=True)
@given(label_pairs())
def test_weighted_accuracy_is_balanced_accuracy(pair):
    y_true, y_pred = pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        per_emotion = weighted_accuracy_score(y_true, y_pred, average=None)
        mean = weighted_accuracy_score(y_true, y_pred)
    assert per_emotion.shape == (y_true.shape[1],)
    np.testing.assert_allclose(mean, per_emotion.mean())
    for k in range(y_true.shape[1]):
        if 0 < y_true[:, k].sum() < len(y_true):
            assert per_emotion[k] == pytest.approx(
                balanced_accuracy_score(y_true[:, k], y_pred[:, k]))
        else:  # one class only: the accuracy on that class
            assert per_emotion[k] == pytest.approx(np.mean(y_true[:, k] == y_pred[:, k]))


def test_torch_seed_is_left_alone():
    # hypothesis and the fits above must not depend on, or disturb, the global seed
    torch.manual_seed(7)
    a = torch.rand(1)
    torch.manual_seed(7)
    small_clf(WORDS[:1], **TINY).fit({"audio": np.ones((4, 2, 1), np.float32)},
                                     np.array([[0], [1]] * 2))
    assert torch.rand(1) == a

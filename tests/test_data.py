import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import KFold, train_test_split

from skmemo import MODALITIES, MultimodalData
from skmemo.data import check_X, check_y, mark_absent
from skmemo.datasets import H5Array, load_legacy_mosei, make_emotion_dataset
from skmemo.exceptions import DataFormatError, ModalityError, SkmemoError

from .conftest import small_clf
from .test_datasets_legacy import write_legacy


def _X(n=10):
    return {"text": np.ones((n, 4, 5), np.float32), "audio": np.ones((n, 6, 3), np.float32)}


def test_multimodal_data_len_and_slicing_work_with_sklearn():
    X = MultimodalData(**_X())
    assert len(X) == 10
    Xtr, Xte = train_test_split(X, test_size=0.3, random_state=0)
    assert isinstance(Xtr, MultimodalData) and len(Xtr) == 7 and Xte["audio"].shape == (3, 6, 3)
    folds = list(KFold(5).split(X))
    assert all(len(test) == 2 for _, test in folds)


def test_multimodal_data_refuses_unknown_keys_and_mismatched_counts():
    with pytest.raises(ModalityError, match="unknown modality"):
        MultimodalData(txt=np.zeros((2, 1, 1)))
    with pytest.raises(ValueError, match="same number of samples"):
        MultimodalData(text=np.zeros((2, 1, 1)), audio=np.zeros((3, 1, 1)))


def test_check_X_accepts_numpy_torch_and_lists():
    X = check_X({"text": torch.ones(3, 2, 4), "visual": np.ones((3, 5, 2)).tolist()})
    assert isinstance(X, MultimodalData) and X.modalities == ("text", "visual")


@pytest.mark.parametrize("X, exc, match", [
    (np.zeros((2, 3, 4)), TypeError, "must be a mapping"),
    ({}, ModalityError, "holds no modality"),
    ({"text": np.zeros((2, 3, 4)), "face": np.zeros((2, 3, 4))}, ModalityError, "face"),
    ({"text": np.zeros((2, 3))}, ValueError, "must be 3-D.*length-1 sequence"),
    ({"text": np.zeros((2, 3, 4)), "audio": np.zeros((3, 3, 4))}, ValueError, "same number"),
    ({"text": np.full((2, 3, 4), np.nan)}, ValueError, "NaN or inf"),
    ({"text": np.zeros((2, 3, 4)), "text_lengths": np.array([0, 2])}, ValueError,
     "no modality at all"),
    ({"text": np.zeros((2, 3, 4)), "text_lengths": np.array([4, 2])}, ValueError, r"\[0, 3\]"),
    ({"audio_lengths": np.array([1, 2]), "text": np.zeros((2, 3, 4))}, ModalityError,
     "no 'audio' modality"),
])
def test_check_X_errors(X, exc, match):
    with pytest.raises(exc, match=match):
        check_X(X)


def test_check_X_against_fitted_modalities():
    with pytest.raises(ModalityError, match="not seen in fit"):
        check_X({"visual": np.zeros((2, 3, 4))}, fitted={"text": 4})
    with pytest.raises(ValueError, match="has 4 features per step.*fitted with 5"):
        check_X({"text": np.zeros((2, 3, 4))}, fitted={"text": 5})


def test_check_y():
    y = check_y([[0, 1], [1, 1]], n_samples=2, n_emotions=2)
    assert y.dtype == np.float32
    with pytest.raises(ValueError, match="2-D.*reshape"):
        check_y(np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="binary.*other values \\[2"):
        check_y([[0, 2]])
    with pytest.raises(ValueError, match="3 columns but the estimator has 2"):
        check_y(np.zeros((1, 3)), n_emotions=2)
    with pytest.raises(ValueError, match="2 rows but X holds 5"):
        check_y(np.zeros((2, 1)), n_samples=5)


@pytest.mark.parametrize("y", [np.array([["happy", "sad"], ["sad", "happy"]]),
                               np.array([[b"happy"], [b"sad"]])])
def test_check_y_numpy_strings_get_the_binarizer_hint(y):
    with pytest.raises(ValueError, match="found b?'happy'.*MultiLabelBinarizer"):
        check_y(y)


# ----------------------------------------------------------------------
# Property-based tests: random shapes, lengths, padding, modality subsets, labels.
# ----------------------------------------------------------------------
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
# Lazy mode: H5Array views, and the estimator fitting from HDF5 files.
# ----------------------------------------------------------------------
def test_lazy_multimodal_data_works_with_sklearn_splitting(tmp_path):
    write_legacy(tmp_path, n={"train": 30}, steps=4)
    eager = load_legacy_mosei(tmp_path, splits="train").train
    with load_legacy_mosei(tmp_path, splits="train", lazy=True) as bunch:
        X = bunch.train.data
        assert len(X) == 30
        X_tr, X_te, y_tr, _ = train_test_split(X, bunch.train.target, test_size=0.3,
                                               random_state=0)
        E_tr, _, ey_tr, _ = train_test_split(eager.data, eager.target, test_size=0.3,
                                             random_state=0)
        np.testing.assert_array_equal(X_tr["audio"], E_tr["audio"])  # unsorted rows
        np.testing.assert_array_equal(y_tr, ey_tr)


class _CountingDataset:
    """Wraps an h5py dataset and records how many rows each read returns."""

    def __init__(self, dataset):
        self.dataset, self.reads = dataset, []
        self.shape, self.dtype, self.name = dataset.shape, dataset.dtype, dataset.name

    def __getitem__(self, key):
        out = self.dataset[key]
        self.reads.append(out.shape[0] if np.ndim(out) == len(self.shape) else 1)
        return out


# the six emotions of the legacy files (small_clf's default); batches of 16 and 32
LAZY = dict(batch_size=16, predict_batch_size=32,
            hidden_sizes={"text": 8, "audio": 8, "visual": 8})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lazy")
    write_legacy(folder, n={"train": 160, "test": 40}, steps=5, seed=3)
    return folder


def test_fit_and_predict_on_lazy_data_match_eager(corpus):
    eager = load_legacy_mosei(corpus, splits=["train", "test"])
    with load_legacy_mosei(corpus, splits=["train", "test"], lazy=True) as lazy:
        # lazy inputs are visited in file order: compare with random batches on both
        clf_lazy = small_clf(max_epochs=2, bucket_by_length=False, **LAZY).fit(
            lazy.train.data, lazy.train.target)
        # the internal validation split (ValidSplit -> Subset -> __getitems__) ran
        assert len(clf_lazy.history_) == 2 and "valid_loss" in clf_lazy.history_[-1]
        proba_lazy = clf_lazy.predict_proba(lazy.test.data)
    clf_eager = small_clf(max_epochs=2, bucket_by_length=False, **LAZY).fit(
        eager.train.data, eager.train.target)
    proba_eager = clf_eager.predict_proba(eager.test.data)
    assert proba_lazy.shape == (40, 6)
    np.testing.assert_allclose(proba_lazy, proba_eager, rtol=1e-5, atol=1e-6)


def test_lazy_fit_reads_batches_not_the_corpus(corpus):
    with load_legacy_mosei(corpus, splits="train", lazy=True) as lazy:
        data = lazy.train.data
        counting = {m: _CountingDataset(data[m].dataset) for m in data.modalities}
        X = MultimodalData(**{m: H5Array(c, nonfinite="zero") for m, c in counting.items()})
        # memory_size=0: no episodic memory copy of the corpus
        clf = small_clf(max_epochs=2, memory_size=0, **LAZY).fit(X, lazy.train.target)
        clf.predict_proba(X)
    for c in counting.values():
        assert c.reads and max(c.reads) <= 2 * 32  # a batch (a contiguous span at most 2x)
        assert sum(c.reads) >= 160 * 2  # every sample was read in each epoch


def test_lazy_nonfinite_error_and_keep_stop_training(corpus):
    with load_legacy_mosei(corpus, splits="train", lazy=True, nonfinite="error") as lazy:
        with pytest.raises(DataFormatError, match="NaN or infinite"):
            small_clf(max_epochs=1, **LAZY).fit(lazy.train.data, lazy.train.target)
    with load_legacy_mosei(corpus, splits="train", lazy=True, nonfinite="keep") as lazy:
        with pytest.raises(ValueError, match="NaN or inf"):
            small_clf(max_epochs=1, **LAZY).fit(lazy.train.data, lazy.train.target)


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------
def test_length_zero_is_accepted():
    X = check_X({"text": np.ones((3, 4, 2)), "audio": np.ones((3, 5, 2)),
                 "audio_lengths": [5, 0, 2]})
    assert X["audio_lengths"].tolist() == [5, 0, 2]


@pytest.mark.parametrize("X, exc, match", [
    ({"text": np.ones((3, 4, 2)), "text_lengths": [4, 0, 1], "audio": np.ones((3, 5, 2)),
      "audio_lengths": [0, 0, 3]}, ValueError, r"no modality at all.*samples \[1\]"),
    ({"text": np.ones((2, 4, 2)), "visual_lengths": [1, 1]}, ModalityError,
     "'visual_lengths' but no 'visual'"),
    ({"text": np.ones((3, 4, 2)), "text_lengths": [4, -1, -2]}, ValueError,
     "must not be negative.*-1 at sample 1 and 1 more"),
    ({"text": np.ones((2, 4, 2)), "text_lengths": [4, 5]}, ValueError, r"\[0, 4\]"),
    ({"text": np.ones((2, 4, 2)), "text_lengths": [4, 1, 1]}, ValueError,
     "3 lengths but X.'text'. holds 2"),
])
def test_bad_lengths_give_clear_errors(X, exc, match):
    with pytest.raises(exc, match=match):
        check_X(X)


def test_mark_absent_nan_and_zero():
    text = np.ones((4, 3, 2))
    text[0, 0] = 0  # one padded step
    audio = np.ones((4, 5, 2))
    audio[1] = np.nan
    audio[2] = 0
    X = mark_absent({"text": text, "audio": audio})
    assert X["audio_lengths"].tolist() == [5, 0, 1, 5]  # all-zero: one zero step
    assert X["text_lengths"].tolist() == [2, 3, 3, 3]
    assert np.isfinite(X["audio"]).all() and len(check_X(X)) == 4
    Z = mark_absent({"text": text, "audio": np.nan_to_num(audio)}, marker="zero")
    assert Z["audio_lengths"].tolist() == [5, 0, 0, 5]
    given = mark_absent({"text": text, "text_lengths": [1, 1, 2, 3]})
    assert given["text_lengths"].tolist() == [1, 1, 2, 3]
    with pytest.raises(ValueError, match="marker must be"):
        mark_absent({"text": text}, marker="none")
    with pytest.raises(ValueError, match="no modality at all"):
        mark_absent({"text": np.full((2, 3, 2), np.nan)})


def test_uppercase_emotion_words_use_lowercase_vectors(d):
    from skmemo.vectors import emotion_vectors

    clf = small_clf(["Happy", "SAD", "anger"], **TINY).fit(d.X, d.Y)
    assert clf.emotions_ == ["Happy", "SAD", "anger"]  # the user's names are kept
    np.testing.assert_array_equal(clf.emotion_vectors_, emotion_vectors(EMOTIONS))
    clf.add_emotions(["Calm"])
    np.testing.assert_array_equal(clf.emotion_vectors_[-1], emotion_vectors(["calm"])[0])


@pytest.mark.parametrize("y", [[["happy"], ["sad", "anger"], []],
                               (("happy",), ["sad", "anger"])])
def test_check_y_ragged_emotion_names_get_the_binarizer_hint(y):
    with pytest.raises(TypeError, match=r"lists of emotion names \(e.g. \['happy'\]\)"
                                        r".*MultiLabelBinarizer"):
        check_y(y)


def test_check_y_ragged_numbers_say_rows_of_equal_length():
    with pytest.raises(TypeError, match="rows of equal length") as info:
        check_y([[0, 1], [1]])
    assert "MultiLabelBinarizer" not in str(info.value)

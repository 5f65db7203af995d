"""Every bad input fails with a clear error, and a failing call changes nothing.

One table, ``CASES``, lists the bad inputs: the call, the exception it must
raise and a fragment of the message (the same table is in
``docs/reliability.rst``). Each case runs on

- a fresh estimator (``fit`` cases and calls before ``fit``): afterwards no
  fitted attribute has appeared;
- a fitted estimator (``fit`` cases and calls that need a fitted model): the
  whole state (parameters, weights, optimizer state, emotions, thresholds,
  pos_weight, history, episodic memory) is compared before and after with
  :func:`snapshot` / :func:`assert_same`.
"""

import pickle
import re
import warnings
from collections.abc import Mapping
from types import SimpleNamespace

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

import skmemo
import skmemo.datasets
from skmemo import MultimodalData
from skmemo.datasets import make_emotion_dataset
from skmemo.exceptions import (
    DataFormatError,
    ModalityError,
    NotFittedError,
    UnknownWordError,
    UnsafeLoadError,
)
from skmemo.metrics import (
    emotion_classification_report,
    emotion_roc_auc_score,
    get_scorer,
    weighted_accuracy_score,
    weighted_f1_score,
)

from .conftest import small_clf

EMOTIONS = ["happy", "sad", "anger"]
N, T = 24, 5

# one epoch of batches of 8, hidden size 4
TINY = dict(max_epochs=1, batch_size=8, hidden_sizes={"text": 4, "audio": 4, "visual": 4})


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """The data every case builds its bad input from."""
    X, Y = make_emotion_dataset(N, emotions=EMOTIONS, seq_len=T, random_state=0)
    rng = np.random.RandomState(0)
    ns = SimpleNamespace(
        # fitted on text and audio; visual is the modality not seen in fit
        X=MultimodalData(text=X["text"], audio=X["audio"]), V=X["visual"],
        Y=Y.astype(int), Y4=np.c_[Y, rng.randint(0, 2, N)].astype(int),
        tmp=tmp_path_factory.mktemp("validation"), files=[],
    )
    yield ns
    for f in ns.files:
        f.close()


@pytest.fixture(scope="module")
def fitted(d):
    """Fitted on 3 emotions, then one added zero-shot: every fitted attribute is set."""
    clf = small_clf(EMOTIONS, **TINY).fit(d.X, d.Y).add_emotions(["awe"], threshold=0.3)
    with warnings.catch_warnings():  # fills the episodic memory and its tasks
        warnings.simplefilter("ignore")
        clf.partial_fit_gem(d.X, d.Y4, epochs=1)
    assert clf.memory_.n_tasks == 2
    return clf


# ----------------------------------------------------------------------
# the full state of an estimator, to compare before and after a call
# ----------------------------------------------------------------------
def fitted_attributes(clf):
    """Names of the attributes that ``fit`` and later calls set (ending in ``_``)."""
    return sorted(k for k in vars(clf) if k.endswith("_") and not k.startswith("__"))


def _freeze(obj, depth=0):
    """A comparable deep copy: tensors and arrays as numpy copies, objects by their vars."""
    if isinstance(obj, torch.Tensor):
        return ("tensor", str(obj.dtype), obj.detach().cpu().clone().numpy())
    if isinstance(obj, np.ndarray):
        return ("array", str(obj.dtype), obj.copy())
    if isinstance(obj, Mapping):
        return {k: _freeze(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_freeze(v, depth + 1) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_freeze(v, depth + 1) for v in obj)
    if isinstance(obj, (str, bytes, int, float, bool, type(None), np.generic)):
        return obj
    if depth < 6 and hasattr(obj, "__dict__") and not isinstance(obj, type):
        return ("object", type(obj).__name__, _freeze(vars(obj), depth + 1))
    return ("ref", obj)  # classes, functions: compared by identity


def snapshot(clf):
    """Everything a failing call must leave unchanged."""
    state = {
        "attribute names": fitted_attributes(clf),
        "params": _freeze(clf.get_params(deep=False)),
    }
    for name in ("emotions_", "classes_", "thresholds_", "pos_weight_",
                 "emotion_vectors_", "input_dims_", "n_fit_emotions_", "initialized_"):
        state[name] = _freeze(getattr(clf, name, "<absent>"))
    if getattr(clf, "initialized_", False):
        state["module_"] = _freeze(clf.module_.state_dict())
        state["optimizer_"] = _freeze(clf.optimizer_.state_dict())
        state["criterion pos_weight"] = _freeze(getattr(clf.criterion_, "pos_weight", None))
        state["history_"] = _freeze(list(clf.history_))
        state["len(history_)"] = len(clf.history_)
    if hasattr(clf, "memory_"):
        state["memory_"] = _freeze(clf.memory_)
    return state


def _differences(a, b, path=""):
    if type(a) is not type(b):
        return [f"{path}: {type(a).__name__} -> {type(b).__name__}"]
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(map(str, a.keys() ^ b.keys()))} differ"]
        return [x for k in a for x in _differences(a[k], b[k], f"{path}[{k!r}]")]
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} -> {len(b)}"]
        if a and a[0] in ("tensor", "array") and len(a) == 3 and isinstance(a[2], np.ndarray):
            same = a[1] == b[1] and a[2].shape == b[2].shape and np.array_equal(
                a[2], b[2], equal_nan=a[2].dtype.kind in "fc")
            return [] if same else [f"{path}: values differ"]
        if a and a[0] == "ref" and len(a) == 2:
            return [] if a[1] is b[1] else [f"{path}: {a[1]!r} -> {b[1]!r}"]
        return [x for i, (u, v) in enumerate(zip(a, b))
                for x in _differences(u, v, f"{path}[{i}]")]
    if isinstance(a, float) and a != a and b != b:
        return []  # NaN == NaN here
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def assert_same(before, after):
    """Fail with the list of what changed between two :func:`snapshot` results."""
    diffs = _differences(before, after)
    assert not diffs, "the estimator changed:\n  " + "\n  ".join(diffs[:20])


# ----------------------------------------------------------------------
# helpers that build bad inputs
# ----------------------------------------------------------------------
def with_(X, **changes):
    """A plain dict copy of ``X`` with some entries replaced (None deletes)."""
    out = dict(X)
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def poisoned(X, key, value, dtype=None):
    arr = np.array(X[key], dtype=dtype or np.asarray(X[key]).dtype)
    arr[1, -1, 0] = value
    return with_(X, **{key: arr})


def h5_with_nan(d):

    path = d.tmp / "nan.h5"
    if not path.exists():
        audio = np.array(d.X["audio"])
        audio[3, -1, 2] = np.nan
        with h5py.File(path, "w") as f:
            f["audio"] = audio
        d.files.append(h5py.File(path, "r"))
    return with_(d.X, audio=d.files[-1]["audio"])


def vector_file(d, name, content):
    path = d.tmp / name
    path.write_text(content)
    return str(path)


def method(clf, name):
    return getattr(clf, name)  # a missing method fails the case


def loader(name):
    return getattr(skmemo.datasets, name)  # a missing loader fails the case


def h5_file(d, name, kind):
    """An HDF5-ish file: "text" (not HDF5), "truncated", or "wrong" layout."""

    path = d.tmp / name
    if kind == "text":
        path.write_text("this is not an HDF5 file\n")
        return str(path)
    with h5py.File(path, "w") as f:
        if kind == "wrong":
            f["just_a_dataset"] = np.zeros((3, 2))
        else:
            f["seq/data/v1/features"] = np.ones((400, 30))
            f["seq/data/v1/intervals"] = np.zeros((400, 2))
            f["seq/metadata/root name"] = '"seq"'
    if kind == "truncated":
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    return str(path)


def legacy_folder(d, name, kind):
    """A legacy CMU-MOSEI folder (split "train", text only) with one defect."""

    folder = d.tmp / name
    if folder.exists():
        return str(folder)
    folder.mkdir()
    with h5py.File(folder / "ey_train.h5", "w") as f:
        f["d1"] = np.zeros((4, 6))
    with h5py.File(folder / "text_train_emb.h5", "w") as f:
        if kind == "wrong-key":
            f["features"] = np.zeros((4, 3, 2))
        elif kind == "2-D":
            f["d1"] = np.zeros((4, 2))
        else:
            f["d1"] = np.zeros((4, 300, 50))
    if kind == "truncated":
        path = folder / "text_train_emb.h5"
        path.write_bytes(path.read_bytes()[:2048])
    return str(folder)


def pickle_file(d, name, kind):
    path = d.tmp / name
    raw = pickle.dumps({"train": {"text": np.zeros((2, 3, 4))}} if kind == "dict" else [1, 2])
    path.write_bytes(raw[: len(raw) // 2] if kind == "truncated" else raw)
    return str(path)


def legacy(d, name, kind):
    return loader("load_legacy_mosei")(legacy_folder(d, name, kind), splits="train",
                                       modalities=["text"])


# ----------------------------------------------------------------------
# the table
# ----------------------------------------------------------------------
FIT = "fit"            # on a fresh estimator and on a fitted one
FITTED = "fitted"      # needs a fitted estimator
UNFITTED = "unfitted"  # a fresh estimator, before fit
FUNCTION = "function"  # no estimator (metrics, loaders)


def case(id, target, call, exc, match, params=None, marks=()):
    return pytest.param(target, call, exc, match, params or {}, id=id, marks=marks)


CASES = [
    # --- X: structure ---------------------------------------------------
    case("X-not-a-mapping", FIT, lambda c, d: c.fit(d.X["audio"], d.Y),
         TypeError, "must be a mapping"),
    case("X-list-of-arrays", FIT, lambda c, d: c.fit([d.X["audio"]], d.Y),
         TypeError, "must be a mapping"),
    case("X-empty", FIT, lambda c, d: c.fit({}, d.Y), ModalityError, "holds no modality"),
    case("X-only-lengths", FIT,
         lambda c, d: c.fit({"text_lengths": np.ones(N, int)}, d.Y),
         ModalityError, "holds no modality"),
    case("X-unknown-key", FIT, lambda c, d: c.fit(with_(d.X, face=d.X["audio"]), d.Y),
         ModalityError, "unknown modality.*face"),
    case("X-non-string-key", FIT, lambda c, d: c.fit({**d.X, 0: d.X["audio"]}, d.Y),
         ModalityError, "unknown modality"),
    case("X-value-None", FIT, lambda c, d: c.fit(dict(d.X, text=None), d.Y),
         TypeError, "is None; leave the key out"),
    case("X-counts-differ", FIT, lambda c, d: c.fit(with_(d.X, audio=d.X["audio"][:-1]), d.Y),
         ValueError, "same number of samples"),
    case("X-and-y-counts-differ", FIT, lambda c, d: c.fit(d.X, d.Y[:-1]),
         ValueError, "y has 23 rows but X holds 24"),
    case("X-2d", FIT, lambda c, d: c.fit(with_(d.X, audio=d.X["audio"][:, 0]), d.Y),
         ValueError, "must be 3-D.*length-1 sequence"),
    case("X-4d", FIT, lambda c, d: c.fit(with_(d.X, audio=d.X["audio"][..., None]), d.Y),
         ValueError, "must be 3-D"),
    case("X-no-samples", FIT, lambda c, d: c.fit(d.X[:0], d.Y[:0]),
         ValueError, "holds no samples"),
    case("X-zero-length-time-axis", FIT,
         lambda c, d: c.fit(with_(d.X, audio=d.X["audio"][:, :0]), d.Y),
         ValueError, "empty time or feature axis"),
    case("X-zero-features", FIT, lambda c, d: c.fit(with_(d.X, audio=d.X["audio"][..., :0]),
                                                    d.Y),
         ValueError, "empty time or feature axis"),
    case("X-ragged-lists", FIT,
         lambda c, d: c.fit(with_(d.X, audio=[[[1.0]], [[1.0], [2.0]]]), d.Y),
         TypeError, "array-like of numbers"),
    case("X-strings", FIT, lambda c, d: c.fit(with_(d.X, audio=np.full((N, T, 2), "a")), d.Y),
         TypeError, "real numbers.*<U1"),
    case("X-object-dtype", FIT,
         lambda c, d: c.fit(with_(d.X, audio=np.empty((N, T, 2), object)), d.Y),
         TypeError, "real numbers.*object"),
    case("X-complex", FIT,
         lambda c, d: c.fit(with_(d.X, audio=np.ones((N, T, 2), complex)), d.Y),
         TypeError, "real numbers.*complex"),
    # --- X: values -------------------------------------------------------
    case("X-nan", FIT, lambda c, d: c.fit(poisoned(d.X, "audio", np.nan), d.Y),
         ValueError, r"X\['audio'\] contains NaN or inf.*ModalityScaler"),
    case("X-inf", FIT, lambda c, d: c.fit(poisoned(d.X, "audio", -np.inf), d.Y),
         ValueError, "NaN or inf.*ModalityScaler"),
    case("X-float64-overflows-float32", FIT,
         lambda c, d: c.fit(poisoned(d.X, "audio", 1e39, np.float64), d.Y),
         ValueError, "too large for float32.*ModalityScaler"),
    case("X-torch-nan", FIT,
         lambda c, d: c.fit(with_(d.X, text=torch.full((N, T, 50), float("nan"))), d.Y),
         ValueError, "NaN or inf"),
    case("X-h5py-nan", FIT, lambda c, d: c.fit(h5_with_nan(d), d.Y),
         ValueError, "NaN or inf"),
    # --- lengths keys ----------------------------------------------------
    case("lengths-float", FIT,
         lambda c, d: c.fit(with_(d.X, audio_lengths=np.full(N, 2.0)), d.Y),
         ValueError, "integer array of lengths.*float64"),
    case("lengths-out-of-range", FIT,
         lambda c, d: c.fit(with_(d.X, audio_lengths=np.full(N, T + 1)), d.Y),
         ValueError, r"must lie in \[0, 5\]"),
    case("lengths-negative", FIT,
         lambda c, d: c.fit(with_(d.X, audio_lengths=np.full(N, -1)), d.Y),
         ValueError, "must not be negative"),
    case("no-modality-for-a-sample", FIT,
         lambda c, d: c.fit(with_(d.X, text_lengths=np.zeros(N, int),
                                  audio_lengths=np.zeros(N, int)), d.Y),
         ValueError, "no modality at all"),
    case("lengths-2d", FIT, lambda c, d: c.fit(with_(d.X, audio_lengths=np.ones((N, 1), int)),
                                               d.Y),
         ValueError, "1-D integer"),
    case("lengths-wrong-count", FIT,
         lambda c, d: c.fit(with_(d.X, audio_lengths=np.ones(N - 1, int)), d.Y),
         ValueError, r"lengths but X\['audio'\] holds"),
    case("lengths-without-modality", FIT,
         lambda c, d: c.fit(with_(d.X, audio=None, audio_lengths=np.ones(N, int)), d.Y),
         ModalityError, "no 'audio' modality"),
    # --- y ----------------------------------------------------------------
    case("y-None", FIT, lambda c, d: c.fit(d.X, None), ValueError, "y is required"),
    case("y-1d", FIT, lambda c, d: c.fit(d.X, d.Y[:, 0]), ValueError,
         "2-D.*reshape", dict(emotions=["happy"])),
    case("y-3d", FIT, lambda c, d: c.fit(d.X, d.Y[..., None]), ValueError, "2-D"),
    case("y-non-binary", FIT, lambda c, d: c.fit(d.X, d.Y * 2), ValueError,
         r"binary \(0/1\).*other values \[2\]"),
    case("y-minus-one", FIT, lambda c, d: c.fit(d.X, 2 * d.Y - 1), ValueError,
         r"other values \[-1\].*\(y > 0\)"),
    case("y-nan", FIT, lambda c, d: c.fit(d.X, np.where(d.Y == 1, np.nan, 0)),
         ValueError, "missing values"),
    case("y-strings", FIT, lambda c, d: c.fit(d.X, d.Y.astype(str)), ValueError,
         "0/1 numbers"),
    case("y-pandas-strings", FIT, lambda c, d: c.fit(d.X, pd.DataFrame(d.Y).astype(str)),
         ValueError, "0/1 numbers.*MultiLabelBinarizer"),
    case("y-pandas-missing", FIT,
         lambda c, d: c.fit(d.X, pd.DataFrame(d.Y, dtype="Int64").mask(d.Y == 1)),
         ValueError, "missing values"),
    case("y-ragged-lists", FIT, lambda c, d: c.fit(d.X, [[0, 1, 0]] * (N - 1) + [[1]]),
         TypeError, "2-D array-like"),
    case("y-ragged-string-lists", FIT,
         lambda c, d: c.fit(d.X, [["happy"], ["sad", "anger"]] * (N // 2) + [["sad"]] * (N % 2)),
         TypeError, r"lists of emotion names.*MultiLabelBinarizer\(classes=emotions\)"),
    case("y-wrong-number-of-columns", FIT, lambda c, d: c.fit(d.X, d.Y[:, :2]),
         ValueError, "2 columns but the estimator has 3"),
    # --- emotions -------------------------------------------------------
    case("emotions-empty", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         "emotions is empty", dict(emotions=[])),
    case("emotions-duplicates", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         "duplicates", dict(emotions=["happy", "sad", "happy"])),
    case("emotions-duplicates-case", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         "duplicates", dict(emotions=["happy", "sad", "Happy"])),
    case("emotions-unknown-word", FIT, lambda c, d: c.fit(d.X, d.Y), UnknownWordError,
         "qwxzyq", dict(emotions=["happy", "sad", "qwxzyq"])),
    case("emotions-one-string", FIT, lambda c, d: c.fit(d.X, d.Y), TypeError,
         "list of words", dict(emotions="happy")),
    case("emotions-not-strings", FIT, lambda c, d: c.fit(d.X, d.Y), TypeError,
         "must be a string", dict(emotions=["happy", "sad", 3])),
    case("emotions-empty-word", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         "empty", dict(emotions=["happy", "sad", ""])),
    case("emotions-None-numpy-y", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         "no column names", dict(emotions=None)),
    # --- word vectors -----------------------------------------------------
    case("word-vectors-missing-file", FIT, lambda c, d: c.fit(d.X, d.Y),
         FileNotFoundError, "not found", dict(word_vectors="no/such/vectors.txt")),
    case("word-vectors-bad-type", FIT, lambda c, d: c.fit(d.X, d.Y), TypeError,
         "word_vectors must be", dict(word_vectors=5)),
    case("word-vectors-short-line", FIT, lambda c, d: c.fit(d.X, d.Y),
         ValueError, "line 2: expected a word and 3 numbers",
         lambda d: dict(word_vectors=vector_file(
             d, "short.txt", "happy 1 2 3\nsad 4 5\nanger 1 1 1\n"))),
    case("word-vectors-not-numbers", FIT, lambda c, d: c.fit(d.X, d.Y),
         ValueError, "not a number",
         lambda d: dict(word_vectors=vector_file(
             d, "nan.txt", "happy 1 2 3\nsad 1 x 3\nanger 1 1 1\n"))),
    case("word-vectors-word-missing", FIT, lambda c, d: c.fit(d.X, d.Y),
         UnknownWordError, "anger",
         lambda d: dict(word_vectors=vector_file(d, "few.txt", "happy 1 2 3\nsad 4 5 6\n"))),
    # --- threshold --------------------------------------------------------
    case("threshold-negative", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         r"\[0, 1\]", dict(threshold=-0.1)),
    case("threshold-nan", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         r"\[0, 1\]", dict(threshold=float("nan"))),
    case("threshold-wrong-length", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         "one value per emotion", dict(threshold=[0.5] * 5)),
    case("threshold-length-K-minus-added-at-refit", FITTED,
         lambda c, d: c.fit(d.X, d.Y), ValueError, "one value per emotion",
         dict(threshold=[0.5, 0.5])),
    case("threshold-above-one-at-predict", FITTED, lambda c, d: c.predict(d.X), ValueError,
         r"\[0, 1\]", dict(threshold=1.5)),
    case("threshold-wrong-length-at-predict", FITTED, lambda c, d: c.predict(d.X),
         ValueError, "one value per emotion", dict(threshold=[0.5] * 6)),
    # --- parameters that fail once training starts --------------------------
    case("class-weight-unknown", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         "class_weight", dict(class_weight="auto")),
    case("hidden-size-zero", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         "hidden_size", dict(hidden_sizes={"audio": 0})),
    case("batch-size-zero", FIT, lambda c, d: c.fit(d.X, d.Y), ValueError,
         "batch_size", dict(batch_size=0)),
    case("one-sample-with-validation-split", FIT, lambda c, d: c.fit(d.X[:1], d.Y[:1]),
         ValueError, "validation_fraction",
         marks=[pytest.mark.filterwarnings("ignore:emotions .* no positive")]),
    # --- before fit ---------------------------------------------------------
    *[case(f"{name}-before-fit", UNFITTED,
           lambda c, d, name=name: getattr(c, name)(d.X), NotFittedError, "not fitted")
      for name in ("predict", "predict_proba", "decision_function")],
    case("score-before-fit", UNFITTED, lambda c, d: c.score(d.X, d.Y), NotFittedError,
         "not fitted"),
    case("add_emotions-before-fit", UNFITTED, lambda c, d: c.add_emotions(["awe"]),
         NotFittedError, "before add_emotions"),
    case("partial_fit_gem-before-fit", UNFITTED,
         lambda c, d: method(c, "partial_fit_gem")(d.X, d.Y), NotFittedError, "not fitted"),
    # --- prediction on a fitted estimator ----------------------------------
    case("predict-X-not-a-mapping", FITTED, lambda c, d: c.predict(d.X["text"]), TypeError,
         "must be a mapping"),
    case("predict_proba-unknown-key", FITTED,
         lambda c, d: c.predict_proba({"audio": d.X["audio"], "face": d.X["audio"]}),
         ModalityError, "unknown modality.*face"),
    case("predict_proba-modality-not-fitted", FITTED,
         lambda c, d: c.predict_proba(with_(d.X, visual=d.V)), ModalityError,
         "'visual' was not seen in fit"),
    case("predict_proba-feature-dim-differs", FITTED,
         lambda c, d: c.predict_proba(with_(d.X, audio=d.X["audio"][..., :7])), ValueError,
         "has 7 features per step, but the estimator was fitted with 32"),
    case("decision_function-nan", FITTED,
         lambda c, d: c.decision_function(poisoned(d.X, "text", np.nan)), ValueError,
         "NaN or inf"),
    case("decision_function-2d", FITTED,
         lambda c, d: c.decision_function(with_(d.X, audio=d.X["audio"][:, 0])), ValueError,
         "3-D"),
    case("score-y-wrong-columns", FITTED, lambda c, d: c.score(d.X, d.Y), ValueError,
         "3 columns but the estimator has 4"),
    case("score-y-non-binary", FITTED, lambda c, d: c.score(d.X, d.Y4 * 3), ValueError,
         "binary"),
    case("score-sample-weight", FITTED, lambda c, d: c.score(d.X, d.Y4, np.ones(N)),
         ValueError, "sample_weight"),
    # --- partial_fit / partial_fit_gem on a fitted estimator ---------------
    case("partial_fit-wrong-columns", FITTED, lambda c, d: c.partial_fit(d.X, d.Y),
         ValueError, "3 columns but the estimator has 4"),
    case("partial_fit-modality-not-fitted", FITTED,
         lambda c, d: c.partial_fit(with_(d.X, visual=d.V), d.Y4),
         ModalityError, "not seen in fit"),
    case("partial_fit-feature-dim-differs", FITTED,
         lambda c, d: c.partial_fit(with_(d.X, audio=d.X["audio"][..., :3]), d.Y4),
         ValueError, "has 3 features per step"),
    case("partial_fit-nan", FITTED,
         lambda c, d: c.partial_fit(poisoned(d.X, "audio", np.inf), d.Y4), ValueError,
         "NaN or inf"),
    case("partial_fit-y-non-binary", FITTED, lambda c, d: c.partial_fit(d.X, d.Y4 + 1),
         ValueError, "binary"),
    case("partial_fit_gem-wrong-columns", FITTED,
         lambda c, d: method(c, "partial_fit_gem")(d.X, d.Y), ValueError,
         "3 columns but the estimator has 4"),
    case("partial_fit_gem-nan", FITTED,
         lambda c, d: method(c, "partial_fit_gem")(poisoned(d.X, "audio", np.nan), d.Y4),
         ValueError, "NaN or inf"),
    # --- add_emotions -------------------------------------------------------
    case("add_emotions-empty", FITTED, lambda c, d: c.add_emotions([]), ValueError,
         "no emotion words"),
    case("add_emotions-one-string", FITTED, lambda c, d: c.add_emotions("calm"), TypeError,
         "list of emotion words"),
    case("add_emotions-duplicates", FITTED, lambda c, d: c.add_emotions(["calm", "calm"]),
         ValueError, "duplicates"),
    case("add_emotions-already-present", FITTED, lambda c, d: c.add_emotions(["Anger"]),
         ValueError, "already present.*anger"),
    case("add_emotions-added-already", FITTED, lambda c, d: c.add_emotions(["awe"]),
         ValueError, "already present.*awe"),
    case("add_emotions-unknown-word", FITTED,
         lambda c, d: c.add_emotions(["calm", "qwxzyq"]), UnknownWordError, "qwxzyq"),
    case("add_emotions-not-strings", FITTED, lambda c, d: c.add_emotions([3]), TypeError,
         "must be a string"),
    case("add_emotions-threshold", FITTED,
         lambda c, d: c.add_emotions(["calm"], threshold=1.2), ValueError, r"\[0, 1\]"),
    case("add_emotions-vector-dim", FITTED,
         lambda c, d: c.add_emotions({"calm": np.ones(7)}), ValueError, "dimension 50"),
    case("add_emotions-vector-nan", FITTED,
         lambda c, d: c.add_emotions({"calm": np.full(50, np.nan)}), ValueError, "finite"),
    case("add_emotions-vectors-ragged", FITTED,
         lambda c, d: c.add_emotions({"calm": np.ones(50), "bliss": np.ones(49)}),
         ValueError, "dimension 50"),
    # --- metrics -------------------------------------------------------------
    case("weighted_accuracy-shapes", FUNCTION,
         lambda c, d: weighted_accuracy_score(d.Y, d.Y[:, :2]), ValueError, "same shape"),
    case("weighted_accuracy-rows", FUNCTION,
         lambda c, d: weighted_accuracy_score(d.Y, d.Y[:-1]), ValueError, "same shape"),
    case("weighted_accuracy-probabilities", FUNCTION,
         lambda c, d: weighted_accuracy_score(d.Y, d.Y * 0.7), ValueError,
         "y_pred must be binary"),
    case("weighted_accuracy-y_true-non-binary", FUNCTION,
         lambda c, d: weighted_accuracy_score(d.Y * 2, d.Y), ValueError, "y_true must be"),
    case("weighted_accuracy-empty", FUNCTION,
         lambda c, d: weighted_accuracy_score(d.Y[:0], d.Y[:0]), ValueError, "empty"),
    case("weighted_accuracy-average", FUNCTION,
         lambda c, d: weighted_accuracy_score(d.Y, d.Y, average="micro"), ValueError,
         "average must be"),
    case("weighted_f1-probabilities", FUNCTION,
         lambda c, d: weighted_f1_score(d.Y, d.Y * 0.3), ValueError, "y_pred must be binary"),
    case("weighted_f1-shapes", FUNCTION, lambda c, d: weighted_f1_score(d.Y, d.Y.T),
         ValueError, "same shape"),
    case("roc_auc-shapes", FUNCTION,
         lambda c, d: emotion_roc_auc_score(d.Y, d.Y[:, :1] * 0.5), ValueError,
         "y_score must both be"),
    case("roc_auc-nan-scores", FUNCTION,
         lambda c, d: emotion_roc_auc_score(d.Y, np.full(d.Y.shape, np.nan)), ValueError,
         "NaN"),
    case("report-emotion-names", FUNCTION,
         lambda c, d: emotion_classification_report(d.Y, d.Y, emotions=["a"]), ValueError,
         "1 names but y_true has 3 columns"),
    case("get_scorer-unknown", FUNCTION, lambda c, d: get_scorer("accuracy"), ValueError,
         "not a skmemo scorer"),
    # --- dataset readers (rows activate once the readers are exported) -------
    case("load_csd-missing-file", FUNCTION,
         lambda c, d: loader("load_csd")(d.tmp / "absent.csd"), FileNotFoundError,
         "absent.csd"),
    case("load_csd-not-hdf5", FUNCTION,
         lambda c, d: loader("load_csd")(h5_file(d, "text.csd", "text")), DataFormatError,
         "not HDF5"),
    case("load_csd-truncated", FUNCTION,
         lambda c, d: loader("load_csd")(h5_file(d, "cut.csd", "truncated")),
         DataFormatError, "truncated"),
    case("load_csd-wrong-layout", FUNCTION,
         lambda c, d: loader("load_csd")(h5_file(d, "wrong.csd", "wrong")),
         DataFormatError, "not a computational sequence"),
    case("load_legacy_mosei-missing-folder", FUNCTION,
         lambda c, d: loader("load_legacy_mosei")(d.tmp / "no_folder"), FileNotFoundError,
         "does not exist"),
    case("load_legacy_mosei-truncated", FUNCTION, lambda c, d: legacy(d, "cut", "truncated"),
         DataFormatError, "truncated"),
    case("load_legacy_mosei-wrong-key", FUNCTION, lambda c, d: legacy(d, "key", "wrong-key"),
         DataFormatError, "has no dataset 'd1'"),
    case("load_legacy_mosei-2d-features", FUNCTION, lambda c, d: legacy(d, "flat", "2-D"),
         DataFormatError, "must be 3-D"),
    case("load_iemocap-pickle-without-opt-in", FUNCTION,
         lambda c, d: loader("load_iemocap")(pickle_file(d, "iemocap.pkl", "dict")),
         UnsafeLoadError, "allow_pickle=True"),
    case("load_mmsa_pickle-without-opt-in", FUNCTION,
         lambda c, d: loader("load_mmsa_pickle")(pickle_file(d, "mmsa.pkl", "dict")),
         UnsafeLoadError, "allow_pickle=True"),
    case("load_iemocap-truncated-pickle", FUNCTION,
         lambda c, d: loader("load_iemocap")(pickle_file(d, "cut.pkl", "truncated"),
                                             allow_pickle=True),
         DataFormatError, "truncated"),
    case("load_iemocap-wrong-layout", FUNCTION,
         lambda c, d: loader("load_iemocap")(pickle_file(d, "list.pkl", "list"),
                                             allow_pickle=True),
         DataFormatError, "dict of splits"),
]


@pytest.mark.parametrize("target, call, exc, match, params", CASES)
def test_bad_input(target, call, exc, match, params, d, fitted):
    if callable(params):
        params = params(d)
    if target == FUNCTION:
        with pytest.raises(exc, match=match):
            call(None, d)
        return
    if target in (FIT, UNFITTED):
        clf = small_clf(**{"emotions": EMOTIONS, **TINY, **params})
        before = fitted_attributes(clf)
        with pytest.raises(exc, match=match):
            call(clf, d)
        assert fitted_attributes(clf) == before, "a failing call left fitted attributes"
        assert not clf.__sklearn_is_fitted__()
    if target in (FIT, FITTED):
        clf = pickle.loads(pickle.dumps(fitted))
        before = snapshot(clf)
        try:
            clf.set_params(**params)
        except exc as refused:  # a fitted estimator refuses a bad threshold at once
            assert re.search(match, str(refused)), str(refused)
            assert_same(before, snapshot(clf))
            return
        before = snapshot(clf)
        with pytest.raises(exc, match=match):
            call(clf, d)
        assert_same(before, snapshot(clf))
        assert clf.decision_function(d.X[:3]).shape == (3, len(EMOTIONS) + 1)


def _bump_first_weight(c):
    with torch.no_grad():
        next(iter(c.module_.parameters())).view(-1)[0] += 1e-3


def _bump_adam_state(c):
    state = next(iter(c.optimizer_.state.values()))
    state["exp_avg"].view(-1)[0] += 1e-3


def _touch_memory(c):
    vars(c.memory_)[next(iter(vars(c.memory_)))] = "changed"


MUTATIONS = {
    "weight": _bump_first_weight,
    "buffer (emotion embeddings)": lambda c: c.module_.add_emotions(np.zeros((1, 50))),
    "optimizer state": _bump_adam_state,
    "learning rate": lambda c: c.optimizer_.param_groups[0].update(lr=0.5),
    "emotions_": lambda c: c.emotions_.append("calm"),
    "classes_": lambda c: setattr(c, "classes_", c.classes_[:-1]),
    "thresholds_": lambda c: c.thresholds_.__setitem__(0, 0.9),
    "pos_weight_": lambda c: c.pos_weight_.__setitem__(0, 99.0),
    "criterion pos_weight": lambda c: c.criterion_.pos_weight.mul_(2),
    "history": lambda c: c.history_.new_epoch(),
    "a parameter": lambda c: c.set_params(threshold=0.4),
    "a new fitted attribute": lambda c: setattr(c, "extra_", 1),
    "memory_": _touch_memory,
}


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_snapshot_sees_every_change(fitted, mutate):
    """The atomicity check is real: each of these changes makes assert_same fail."""
    clf = pickle.loads(pickle.dumps(fitted))
    before = snapshot(clf)
    assert_same(before, snapshot(clf))
    mutate(clf)
    with pytest.raises(AssertionError, match="the estimator changed"):
        assert_same(before, snapshot(clf))


def test_exceptions_are_what_sklearn_users_catch():
    assert issubclass(ModalityError, ValueError) and issubclass(DataFormatError, ValueError)
    assert issubclass(UnknownWordError, KeyError)
    from sklearn.exceptions import NotFittedError as SklearnNotFitted

    assert issubclass(NotFittedError, SklearnNotFitted)


# ----------------------------------------------------------------------
# warnings, not errors
# ----------------------------------------------------------------------
def test_all_zero_column_at_fit_warns_and_fits(d):
    Y = d.Y.copy()
    Y[:, 1] = 0
    with pytest.warns(UserWarning, match=r"\['sad'\] have no positive sample"):
        clf = small_clf(EMOTIONS, **TINY).fit(d.X, Y)
    assert clf.predict_proba(d.X).shape == Y.shape


def test_degenerate_metric_column_warns():
    from sklearn.exceptions import UndefinedMetricWarning

    with pytest.warns(UndefinedMetricWarning, match="only one class"):
        weighted_accuracy_score([[1, 0], [1, 1]], [[1, 0], [0, 1]])


# ----------------------------------------------------------------------
# mid-training failures
# ----------------------------------------------------------------------
class FailingArray:
    """A lazy (h5py-like) array whose ``fail_at``-th batch read raises OSError."""

    def __init__(self, array, fail_at):
        self.array, self.fail_at, self.reads = np.asarray(array), fail_at, 0

    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)

    def __len__(self):
        return len(self.array)

    def __getitem__(self, key):
        if isinstance(key, np.ndarray):  # a batch; slices are the NaN scan
            self.reads += 1
            if self.reads == self.fail_at:
                raise OSError("read error: the disk went away")
        return self.array[key]


def test_partial_fit_failing_in_its_first_epoch_changes_nothing(fitted, d):
    clf = pickle.loads(pickle.dumps(fitted))
    before = snapshot(clf)
    X = MultimodalData(**with_(d.X, audio=FailingArray(d.X["audio"], fail_at=2)))
    with pytest.raises(OSError, match="disk went away"):
        clf.partial_fit(X, d.Y4)
    assert_same(before, snapshot(clf))


def test_fit_failing_in_its_first_epoch_keeps_the_previous_model(fitted, d):
    clf = pickle.loads(pickle.dumps(fitted))
    before = snapshot(clf)
    X = MultimodalData(**with_(d.X, audio=FailingArray(d.X["audio"], fail_at=2)))
    with pytest.raises(OSError, match="disk went away"):
        clf.fit(X, d.Y)
    assert_same(before, snapshot(clf))


def test_failing_call_on_the_shared_fixture_left_it_intact(fitted, d):
    # every case works on a copy; this guards the fixture itself
    assert fitted.emotions_ == EMOTIONS + ["awe"] and fitted.thresholds_[-1] == 0.3


# ----------------------------------------------------------------------
# skorch and scikit-learn features used the way those libraries teach.
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


# ----------------------------------------------------------------------
# nonsense for every constructor parameter of every estimator
# ----------------------------------------------------------------------
def _estimator_classes():
    from skmemo import MultimodalEmotionClassifier
    from skmemo.baselines import EarlyFusionLSTMClassifier, LateFusionLSTMClassifier

    return [MultimodalEmotionClassifier, EarlyFusionLSTMClassifier, LateFusionLSTMClassifier]


class _Nonsense:
    def __repr__(self):
        return "<nonsense>"


# plausible but wrong values (those that once passed or failed without a name)
PLAUSIBLE_NONSENSE = {
    "swfc_temperature": -1.0, "swfc_gamma": -2.0, "swfc_alpha": "high",
    "pretrain_temperature": 0.0, "pretrain_X": [1, 2], "verbose": "loud",
    "emotions": 5, "hidden_sizes": {"text": "big"}, "validation_fraction": "0.1",
    "swfc_weight": "0.5", "pretrain_epochs": "3", "memory_size": -1,
    "modality_dropout": {"audio": 1.0}, "padding": "middle", "rnn": "transformer",
    "precision": "64", "batch_size": 0, "threshold": "high", "hidden_size": 0,
    "fusion": "sum", "freeze_encoders": "yes", "bucket_by_length": 1,
    "word_vectors": 5, "device": 3, "callbacks": "all", "train_split": 0.2,
}


def _all_params():
    for cls in _estimator_classes():
        names = set(cls._parameter_constraints) | set(cls().get_params(deep=False))
        for name in sorted(names):
            yield pytest.param(cls, name, id=f"{cls.__name__}-{name}")


@pytest.mark.parametrize("cls, name", list(_all_params()))
def test_every_parameter_is_declared_and_refused_by_name(cls, name, d):
    assert name in cls._parameter_constraints, f"{name} has no constraint"
    assert name in cls().get_params(deep=False), f"{name} is not a parameter"
    values = [_Nonsense()] + ([PLAUSIBLE_NONSENSE[name]] if name in PLAUSIBLE_NONSENSE else [])
    tiny = {k: v for k, v in TINY.items() if k in cls().get_params(deep=False)}
    for value in values:
        clf = (small_clf(value, cls=cls, **tiny) if name == "emotions"
               else small_clf(EMOTIONS, cls=cls, **{**tiny, name: value}))
        with pytest.raises((ValueError, TypeError), match=rf"\b{name}\b") as info:
            clf.fit(d.X, d.Y)
        assert "must be" in str(info.value)
        assert not clf.__sklearn_is_fitted__() and clf.history_ is None


@pytest.mark.parametrize("given, meant", [
    ("lr_patiense", "lr_patience"), ("hidden_size", "hidden_sizes"),
    # skorch's rule for a component prefix
    ("optimizer_momentum", "optimizer__momentum"),
    ("module_attention_dim", "module__attention_dim"),
])
def test_misspelt_parameter_says_what_was_meant(given, meant):
    from skmemo import MultimodalEmotionClassifier

    with pytest.raises(TypeError, match=rf"\['{given}'\]; did you mean '{meant}'\?"):
        MultimodalEmotionClassifier(["happy"], **{given: 1})

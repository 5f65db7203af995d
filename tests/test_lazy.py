"""Lazy mode: H5Array views, and the estimator fitting from HDF5 files."""

import pickle

import h5py
import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from skmemo import MultimodalData
from skmemo.datasets import H5Array, load_legacy_mosei
from skmemo.exceptions import DataFormatError

from .conftest import small_clf
from .test_datasets_legacy import write_legacy


@pytest.fixture
def h5(tmp_path):
    values = np.arange(40 * 3 * 2, dtype=np.float64).reshape(40, 3, 2)
    values[5, 0, 0] = -np.inf
    values[7, 1, 1] = np.nan
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["x"] = values
    f = h5py.File(tmp_path / "a.h5", "r")
    yield f["x"], values
    f.close()


@pytest.mark.parametrize("key", [
    3, -1, slice(2, 9), slice(None, None, 4), [9, 2, 2, 30], np.array([39, 0]),
    np.arange(40) % 3 == 0, [], (slice(1, 4), 0), ([6, 1], slice(None), 1), (2, 1),
])
def test_h5array_indexes_like_numpy(h5, key):
    ds, values = h5
    view = H5Array(ds, nonfinite="keep")
    expected = values[key].astype(np.float32)
    out = view[key]
    assert out.dtype == np.float32 and out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


def test_h5array_sparse_and_dense_reads_agree(h5):
    ds, values = h5
    view = H5Array(ds, nonfinite="keep")
    for rows in ([0, 39], [10, 11, 12, 14], [38, 0, 20]):  # one-read and point paths
        np.testing.assert_array_equal(view[rows], values[rows].astype(np.float32))


def test_h5array_nonfinite_policy_applies_to_every_read(h5):
    ds, values = h5
    zero = H5Array(ds, nonfinite="zero")
    assert zero[5, 0, 0] == 0 and zero[[7]][0, 1, 1] == 0
    assert np.isfinite(np.asarray(zero)).all()
    assert np.asarray(zero).shape == (40, 3, 2) and len(zero) == 40 and zero.ndim == 3
    with pytest.raises(DataFormatError, match="NaN or infinite"):
        H5Array(ds, nonfinite="error")[0:10]
    np.testing.assert_array_equal(H5Array(ds, nonfinite="error")[10:20], values[10:20])


def test_h5array_refuses_bad_indices_arguments_and_pickling(h5):
    ds, _ = h5
    view = H5Array(ds)
    with pytest.raises(IndexError, match="out of range"):
        view[[0, 40]]
    with pytest.raises(IndexError, match="boolean index"):
        view[np.ones(3, bool)]
    with pytest.raises(IndexError, match="integers or booleans"):
        view[np.array([0.5])]
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(view)
    with pytest.raises(ValueError, match="nonfinite"):
        H5Array(ds, nonfinite="drop")
    with pytest.raises(TypeError, match="h5py.Dataset-like"):
        H5Array([1, 2, 3])


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

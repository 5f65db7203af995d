"""Shared readers of skmemo.datasets (skmemo.datasets._base): H5Array views."""

import pickle

import h5py
import numpy as np
import pytest

from skmemo.datasets import H5Array
from skmemo.exceptions import DataFormatError


# ----------------------------------------------------------------------
# H5Array: lazy views of HDF5 datasets
# ----------------------------------------------------------------------
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

"""Helpers shared by the corpus readers: paths, HDF5 files, lazy arrays, labels.

Nothing here knows about the estimator: readers return numpy arrays (or
:class:`H5Array` views of HDF5 datasets) inside :class:`skmemo.MultimodalData`.
"""

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..exceptions import DataFormatError

__all__ = ["DatasetBunch", "H5Array", "MOSEI_SDK_EMOTIONS", "MOSEI_LEGACY_EMOTIONS"]

#: CMU-MOSEI emotions in the column order of the SDK's ``All Labels`` sequence
#: (its column 0, sentiment, is left out).
MOSEI_SDK_EMOTIONS = ("happy", "sad", "anger", "surprise", "disgust", "fear")
#: CMU-MOSEI emotions in the alphabetical column order of the legacy ``ey_*.h5`` files.
MOSEI_LEGACY_EMOTIONS = ("anger", "disgust", "fear", "happy", "sad", "surprise")

NONFINITE_MODES = ("zero", "keep", "error")


# ----------------------------------------------------------------------
# arguments
# ----------------------------------------------------------------------
def check_path(path, what="file", *, directory=False):
    """Return ``path`` as a :class:`~pathlib.Path` that exists.

    Raises ``TypeError`` for something that is not a path and
    ``FileNotFoundError`` for a path that does not exist.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a path (str or os.PathLike); got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist")
    if directory and not path.is_dir():
        raise NotADirectoryError(f"{what} {str(path)!r} is not a folder")
    if not directory and path.is_dir():
        raise IsADirectoryError(f"{what} {str(path)!r} is a folder, expected a file")
    return path


def check_nonfinite(nonfinite):
    if not isinstance(nonfinite, str) or nonfinite not in NONFINITE_MODES:
        raise ValueError(
            f"nonfinite must be one of {list(NONFINITE_MODES)}; got {nonfinite!r}"
        )
    return nonfinite


def check_splits(splits, allowed=("train", "valid", "test")):
    """Validate a split name or a sequence of split names; return a tuple."""
    if isinstance(splits, str):
        splits = (splits,)
    try:
        splits = tuple(splits)
    except TypeError:
        raise TypeError(f"splits must be a split name or a list of them; got {splits!r}") from None
    bad = [s for s in splits if s not in allowed]
    if not splits or bad:
        raise ValueError(
            f"splits must be a non-empty subset of {list(allowed)}; got {list(splits)}"
        )
    if len(set(splits)) != len(splits):
        raise ValueError(f"splits contains duplicates: {list(splits)}")
    return splits


def check_modalities(modalities, allowed=("text", "audio", "visual")):
    if isinstance(modalities, str):
        modalities = (modalities,)
    modalities = tuple(modalities)
    bad = [m for m in modalities if m not in allowed]
    if not modalities or bad:
        raise ValueError(
            f"modalities must be a non-empty subset of {list(allowed)}; got {list(modalities)}"
        )
    if len(set(modalities)) != len(modalities):
        raise ValueError(f"modalities contains duplicates: {list(modalities)}")
    return tuple(m for m in allowed if m in modalities)


def select_emotions(requested, available):
    """Column indices of ``requested`` emotion names among ``available``.

    ``requested=None`` keeps every column in the file's order.
    """
    available = list(available)
    if requested is None:
        return available, np.arange(len(available))
    if isinstance(requested, str):
        raise TypeError(f"emotions must be a list of names, e.g. {available[:2]}; got one string")
    requested = [str(e) for e in requested]
    unknown = [e for e in requested if e not in available]
    if not requested or unknown:
        raise ValueError(
            f"emotions must name columns among {available}; got unknown {unknown}"
            if unknown else "emotions is empty"
        )
    if len(set(requested)) != len(requested):
        raise ValueError(f"emotions contains duplicates: {requested}")
    return requested, np.array([available.index(e) for e in requested])


# ----------------------------------------------------------------------
# non-finite values
# ----------------------------------------------------------------------
def clean_nonfinite(array, nonfinite, name):
    """Apply the ``nonfinite`` policy to a float array (in place when possible)."""
    if nonfinite == "keep" or not np.issubdtype(array.dtype, np.floating):
        return array
    bad = ~np.isfinite(array)
    if not bad.any():
        return array
    if nonfinite == "error":
        raise DataFormatError(
            f"{name} holds {int(bad.sum())} NaN or infinite values (CMU-MOSEI's COVAREP "
            "audio holds -inf). Load with nonfinite='zero' to map them to 0, as the "
            "reference code did, or nonfinite='keep' and clean them with "
            "skmemo.preprocessing.ModalityScaler before fitting"
        )
    if not array.flags.writeable:
        array = array.copy()
        bad = ~np.isfinite(array)
    array[bad] = 0
    return array


# ----------------------------------------------------------------------
# HDF5
# ----------------------------------------------------------------------
def open_h5(path, what="file"):
    """Open an HDF5 file for reading, with a clear error when it is not one."""
    import h5py

    path = check_path(path, what)
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataFormatError(
            f"cannot read {what} {str(path)!r} as HDF5 ({exc}); the file is not HDF5, "
            "or is truncated or corrupted (an interrupted download?)"
        ) from exc


def read_dataset(dataset, name):
    """Read a whole HDF5 dataset, turning low-level read errors into clear ones."""
    try:
        return dataset[()]
    except OSError as exc:
        raise DataFormatError(
            f"cannot read {name} ({exc}); the file is truncated or corrupted"
        ) from exc


class H5Array:
    """Read-on-index view of an HDF5 dataset, for lazy loading.

    The features stay in the file: indexing reads only the rows asked for.
    Unlike a bare ``h5py.Dataset`` it accepts any integer or boolean index
    (unsorted, repeated: it reads the sorted unique rows and reorders them in
    memory), casts to ``dtype`` and applies a non-finite policy to each read.
    It has ``shape``, ``dtype``, ``ndim`` and ``__getitem__``, which is all
    :class:`skmemo.MultimodalData` and the estimator need; the estimator reads
    one batch at a time with sorted indices.

    Parameters
    ----------
    dataset : h5py.Dataset
        The dataset to view; its file must stay open while the view is used.
    nonfinite : {"zero", "keep", "error"}, default="keep"
        What to do with NaN and infinite values in each read: map them to 0,
        keep them, or raise :class:`~skmemo.exceptions.DataFormatError`.
    dtype : dtype, default=np.float32
        Type of the arrays returned.

    Attributes
    ----------
    dataset : h5py.Dataset
        The underlying dataset.
    """

    def __init__(self, dataset, *, nonfinite="keep", dtype=np.float32):
        for attr in ("shape", "dtype", "__getitem__"):
            if not hasattr(dataset, attr):
                raise TypeError(
                    f"H5Array needs an h5py.Dataset-like object; {type(dataset).__name__} "
                    f"has no {attr!r}"
                )
        self.dataset = dataset
        self.nonfinite = check_nonfinite(nonfinite)
        self.dtype = np.dtype(dtype)
        self._name = str(getattr(dataset, "name", "?"))

    @property
    def shape(self):
        return tuple(self.dataset.shape)

    @property
    def ndim(self):
        return len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return f"H5Array({self._name!r}, nonfinite={self.nonfinite!r})"

    def _check_open(self):
        ident = getattr(self.dataset, "id", None)
        if ident is not None and not getattr(ident, "valid", True):
            raise ValueError(
                f"cannot read HDF5 dataset {self._name!r}: its file is closed (the bunch "
                "it came from was closed); load the data again"
            )

    def _finish(self, out):
        out = np.asarray(out, dtype=self.dtype)
        return clean_nonfinite(out, self.nonfinite, f"HDF5 dataset {self._name!r}")

    def _read_rows(self, rows):
        """Rows ``rows`` (1-D integer array, any order) of the dataset."""
        n = self.shape[0]
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"index out of range for {n} rows")
        rows = np.where(rows < 0, rows + n, rows)
        if rows.size == 0:
            return np.empty((0,) + self.shape[1:], dtype=self.dtype)
        unique, inverse = np.unique(rows, return_inverse=True)
        start, stop = int(unique[0]), int(unique[-1]) + 1
        if stop - start <= 2 * len(unique):
            block = self.dataset[start:stop]  # one contiguous read
            out = block[unique - start]
        else:
            out = self.dataset[unique]  # h5py wants increasing, unique indices
        return out[inverse]

    def __getitem__(self, key):
        self._check_open()
        rest = ()
        if isinstance(key, tuple):
            key, rest = (key[0] if key else slice(None)), key[1:]
        if isinstance(key, (list, np.ndarray)) or (
            hasattr(key, "__array__") and not np.isscalar(key)
        ):
            key = np.asarray(key)
            if key.dtype == bool:
                if key.shape != (self.shape[0],):
                    raise IndexError(
                        f"boolean index of shape {key.shape} does not match {self.shape[0]} rows"
                    )
                key = np.flatnonzero(key)
            elif not np.issubdtype(key.dtype, np.integer):
                if key.size:
                    raise IndexError(
                        f"index arrays must hold integers or booleans; got {key.dtype}"
                    )
                key = key.astype(np.int64)
            out = self._read_rows(key.ravel()).reshape(key.shape + self.shape[1:])
        else:
            out = self.dataset[key]
        if rest:  # further axes: select in memory
            out = np.asarray(out)
            out = out[rest] if out.ndim == self.ndim - 1 else out[(slice(None),) + rest]
        return self._finish(out)

    def __array__(self, dtype=None, copy=None):
        self._check_open()
        out = self._finish(self.dataset[()])
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getstate__(self):
        raise TypeError(
            "an H5Array reads from an open HDF5 file and cannot be pickled; "
            "pickle np.asarray(array) instead, or load the data with lazy=False"
        )


class DatasetBunch(Bunch):
    """A :class:`sklearn.utils.Bunch` that may hold open HDF5 files.

    Loaders return it in lazy mode: the features stay in the files, which stay
    open for as long as the bunch is used. :meth:`close` closes them (the
    lazy arrays can no longer be read afterwards); the bunch is also a context
    manager. Eager bunches hold no file and :meth:`close` does nothing.
    """

    def __init__(self, files=(), **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "_files", list(files))

    @property
    def files(self):
        """The open ``h5py.File`` objects, if any."""
        return list(self.__dict__.get("_files", []))

    def close(self):
        """Close the HDF5 files the bunch reads from (lazy mode)."""
        for f in self.__dict__.get("_files", []):
            try:
                f.close()
            except Exception:  # already closed, or the interpreter is exiting
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

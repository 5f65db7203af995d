"""IEMOCAP with nine emotions: the pickles of the paper's reference code.

The zero-shot and few-shot IEMOCAP experiments of Dai et al. (2020) read, from
one folder, four Python 2 pickles per split, each holding one numpy array::

    text_{split}.p      (N, T, 300)  GloVe word vectors
    covarep_{split}.p   (N, T, 74)   COVAREP audio
    facet_{split}.p     (N, T, 35)   FACET visual
    y_{split}.p         (N, 11)      labels; columns 1 to 9 (``y[:, 1:-1]``) are
                                     anger, excited, fear, sad, surprised,
                                     frustrated, happy, neutral, disgust

with ``split`` in train, valid, test. The reference code keeps the first 20
steps (``[:, :-1]`` of 21) to line them up with the four-emotion MulT pickle,
and picks the samples whose label for the held-out emotion is not zero.
"""

import numpy as np
from sklearn.utils import Bunch

from ..data import MultimodalData
from ..exceptions import DataFormatError
from ._base import DatasetBunch, check_nonfinite, check_path, check_splits, clean_nonfinite
from ._pickle import _check_allow, read_pickle

__all__ = ["load_iemocap9", "IEMOCAP9_EMOTIONS"]

#: IEMOCAP emotions in the column order of ``y_{split}.p[:, 1:-1]``.
IEMOCAP9_EMOTIONS = ("anger", "excited", "fear", "sad", "surprised", "frustrated", "happy",
                     "neutral", "disgust")
_FILES = {"text": "text", "audio": "covarep", "visual": "facet"}
_N_COLUMNS = len(IEMOCAP9_EMOTIONS) + 2


def _array(folder, stem, split, allow_pickle):
    path = check_path(folder / f"{stem}_{split}.p", f"{stem} file of split {split!r}")
    value = read_pickle(path, allow_pickle=allow_pickle, what="IEMOCAP pickle")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise DataFormatError(f"{str(path)!r} must hold one numeric array ({exc})") from None
    if not np.issubdtype(arr.dtype, np.number):
        raise DataFormatError(
            f"{str(path)!r} must hold one numeric array; got {type(value).__name__} "
            f"of dtype {arr.dtype}"
        )
    return path, arr


def load_iemocap9(folder, *, allow_pickle=False, splits=("train", "valid", "test"),
                  nonfinite="zero"):
    """Load the nine-emotion IEMOCAP pickles of the paper's reference code.

    Parameters
    ----------
    folder : str or path-like
        Folder holding ``text_{split}.p``, ``covarep_{split}.p``,
        ``facet_{split}.p`` and ``y_{split}.p`` (see the module docstring).
    allow_pickle : bool, default=False
        Unpickling can run code stored in the files: they are only read when
        this is True. Raises :class:`~skmemo.exceptions.UnsafeLoadError`
        otherwise.
    splits : str or sequence of str, default=("train", "valid", "test")
    nonfinite : {"zero", "keep", "error"}, default="zero"
        NaN and infinite values (COVAREP holds -inf) are set to 0, kept, or
        raise :class:`~skmemo.exceptions.DataFormatError`.

    Returns
    -------
    iemocap : DatasetBunch
        Per split a :class:`~sklearn.utils.Bunch` with ``data``
        (:class:`~skmemo.MultimodalData`: ``text``, ``audio`` from COVAREP,
        ``visual`` from FACET, all the steps of the files), ``target``
        ``(n, 9)`` int 0/1, the columns 1 to 9 of the labels as the
        reference code takes them (``y[:, 1:-1]``, then ``> 0``), and
        ``raw_labels`` ``(n, 11)`` float32, every column of the file; plus
        ``emotions``: anger, excited, fear, sad, surprised, frustrated, happy,
        neutral, disgust (``IEMOCAP9_EMOTIONS``).

    Notes
    -----
    To reproduce the reference code's zero-shot set for emotion ``k``, keep
    the first 20 steps and the samples with a label for it::

        part = iemocap.test
        keep = part.target[:, k] != 0
        X = {m: part.data[m][keep, :20] for m in ("text", "audio", "visual")}

    Examples
    --------
    >>> from skmemo.datasets import load_iemocap9
    >>> load_iemocap9("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: IEMOCAP folder 'no/such/folder' does not exist
    """
    folder = check_path(folder, "IEMOCAP folder", directory=True)
    _check_allow(allow_pickle)
    splits = check_splits(splits)
    nonfinite = check_nonfinite(nonfinite)
    result = {}
    for split in splits:
        X = {}
        for modality, stem in _FILES.items():
            path, arr = _array(folder, stem, split, allow_pickle)
            if arr.ndim != 3:
                raise DataFormatError(
                    f"{str(path)!r} must hold a 3-D array (samples, steps, features); got "
                    f"shape {arr.shape}"
                )
            X[modality] = clean_nonfinite(arr.astype(np.float32), nonfinite, str(path))
        path, labels = _array(folder, "y", split, allow_pickle)
        counts = {m: x.shape[0] for m, x in X.items()} | {"labels": labels.shape[0]}
        if len(set(counts.values())) != 1:
            raise DataFormatError(
                f"split {split!r}: the files hold different numbers of samples {counts}"
            )
        if labels.ndim != 2 or labels.shape[1] != _N_COLUMNS:
            raise DataFormatError(
                f"{str(path)!r}: labels must have shape (samples, {_N_COLUMNS}), the nine "
                f"emotions in columns 1 to 9; got {labels.shape}"
            )
        labels = labels.astype(np.float32)
        if not np.isfinite(labels).all():
            raise DataFormatError(f"{str(path)!r}: the labels hold NaN or infinite values")
        result[split] = Bunch(data=MultimodalData(**X),
                              target=(labels[:, 1:-1] > 0).astype(np.int64),
                              raw_labels=labels)
    return DatasetBunch(**result, emotions=list(IEMOCAP9_EMOTIONS))

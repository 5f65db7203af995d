"""The processed CMU-MOSEI HDF5 files read by the paper's reference code.

One folder, one HDF5 file per modality and split, each holding one dataset
named ``d1``::

    text_{split}_emb.h5     (N, T, 300)  GloVe word vectors
    audio_{split}.h5        (N, T, 74)   COVAREP (holds -inf)
    video_{split}.h5        (N, T, 35)   FACET
    ey_{split}.h5           (N, 6)       emotion intensities, ALPHABETICAL order:
                                         anger, disgust, fear, happy, sad, surprise
    y_{split}.h5            (N, 1)       sentiment in [-3, 3] (the same samples)

with ``split`` in train, valid, test and T = 20. The audio and video files are
also found as ``audio_{split}_emb.h5`` and ``video_{split}_emb.h5``.
"""

import numpy as np
from sklearn.utils import Bunch

from ..data import MultimodalData
from ..exceptions import DataFormatError
from ._base import (
    MOSEI_LEGACY_EMOTIONS,
    DatasetBunch,
    H5Array,
    check_modalities,
    check_nonfinite,
    check_path,
    check_splits,
    clean_nonfinite,
    open_h5,
    read_dataset,
    select_emotions,
)

__all__ = ["load_legacy_mosei", "LEGACY_STEMS"]

_LABELS = ("emotions", "sentiment")

#: File-name stem of each modality ("visual" is stored as "video").
LEGACY_STEMS = {"text": "text", "audio": "audio", "visual": "video"}
_KEY = "d1"


def _modality_file(folder, modality, split):
    stem = LEGACY_STEMS[modality]
    candidates = [f"{stem}_{split}_emb.h5", f"{stem}_{split}.h5"]
    for name in candidates:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"no {modality} file for split {split!r} in {str(folder)!r}: looked for "
        f"{' and '.join(candidates)}"
    )


def _dataset(f, path):
    if _KEY not in f or not hasattr(f[_KEY], "shape"):
        raise DataFormatError(
            f"{str(path)!r} has no dataset {_KEY!r} (found {list(f.keys())}); the legacy "
            f"CMU-MOSEI files hold their array under the key {_KEY!r}"
        )
    return f[_KEY]


def _read_sentiment(path, n=None):
    """``(n,)`` float32 sentiment scores of a ``y_{split}.h5`` file."""
    with open_h5(path, "sentiment file") as f:
        y = np.asarray(read_dataset(_dataset(f, path), str(path)), dtype=np.float32)
    if y.ndim > 1 and y.size == y.shape[0]:
        y = y.reshape(-1)
    if y.ndim != 1 or (n is not None and y.shape[0] != n):
        raise DataFormatError(
            f"{str(path)!r}: sentiment must hold one score per sample"
            + (f" ({n}, as the other files)" if n is not None else "")
            + f"; got shape {y.shape}"
        )
    return y


def _check_counts(split, X, labels):
    counts = {m: X[m].shape[0] for m in X} | {"labels": labels.shape[0]}
    if len(set(counts.values())) != 1:
        raise DataFormatError(
            f"split {split!r}: the files hold different numbers of samples {counts}"
        )


def load_legacy_mosei(folder, *, splits=("train", "valid", "test"),
                      modalities=("text", "audio", "visual"), lazy=False, nonfinite="zero",
                      emotions=None, labels="emotions"):
    """Load the processed CMU-MOSEI HDF5 files of the paper's reference code.

    Parameters
    ----------
    folder : str or path-like
        Folder holding ``{text,audio,video}_{split}[_emb].h5``,
        ``ey_{split}.h5`` and (optionally) ``y_{split}.h5`` (see the module
        docstring).
    splits : str or sequence of str, default=("train", "valid", "test")
        Splits to load.
    modalities : sequence of str, default=("text", "audio", "visual")
        The ``video_*`` files are returned under the key ``"visual"``.
    lazy : bool, default=False
        False reads the features into memory. True leaves them in the files:
        each modality is an :class:`H5Array` that reads only the rows asked
        for, so the estimator reads one batch at a time and memory stays near
        a batch, not the corpus. The files stay open while the returned bunch
        is in use; call its ``close()`` method (or use it in a ``with``
        block) when done. Labels are always read into memory.
    nonfinite : {"zero", "keep", "error"}, default="zero"
        What to do with NaN and infinite values (the audio holds -inf): set
        them to 0 (as the reference code did), keep them, or raise
        :class:`~skmemo.exceptions.DataFormatError`. The estimator refuses
        non-finite input: with "keep", clean the features first, e.g. with
        ``skmemo.preprocessing.ModalityScaler``. In lazy mode the policy is
        applied to every batch read.
    emotions : sequence of str, default=None
        Emotion columns to return, in this order, among
        ``MOSEI_LEGACY_EMOTIONS``. None keeps the files' alphabetical order:
        anger, disgust, fear, happy, sad, surprise (not the SDK's order, see
        :func:`load_cmu_mosei`). Only with ``labels="emotions"``.
    labels : {"emotions", "sentiment"}, default="emotions"
        "emotions" reads the emotion intensities of ``ey_{split}.h5``, and
        the sentiment of ``y_{split}.h5`` too when that file is there.
        "sentiment" reads only ``y_{split}.h5`` (no ``ey`` file needed): the
        target is then positive / negative sentiment.

    Returns
    -------
    mosei : DatasetBunch
        One :class:`~sklearn.utils.Bunch` per split with ``data``
        (:class:`~skmemo.MultimodalData`) and, with ``labels="emotions"``,
        ``target`` ``(n, K)`` int 0/1 (intensity ``> 0``, as the reference
        code binarised) and ``intensities`` ``(n, K)`` float32, plus
        ``sentiment`` ``(n,)`` float32 when ``y_{split}.h5`` exists; with
        ``labels="sentiment"``, ``sentiment`` and ``target`` ``(n, 2)``,
        columns positive (sentiment > 0) and negative (< 0). Plus
        ``emotions`` (column names of ``target``) and ``lazy``.

    Examples
    --------
    >>> from skmemo.datasets import load_legacy_mosei
    >>> load_legacy_mosei("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: CMU-MOSEI folder 'no/such/folder' does not exist
    """
    folder = check_path(folder, "CMU-MOSEI folder", directory=True)
    splits = check_splits(splits)
    modalities = check_modalities(modalities)
    nonfinite = check_nonfinite(nonfinite)
    if not isinstance(lazy, bool):
        raise TypeError(f"lazy must be True or False; got {lazy!r}")
    kind = labels
    if not isinstance(kind, str) or kind not in _LABELS:
        raise ValueError(f"labels must be one of {list(_LABELS)}; got {kind!r}")
    if kind == "sentiment" and emotions is not None:
        raise ValueError("emotions picks emotion columns: it needs labels='emotions'")
    names, columns = select_emotions(emotions, MOSEI_LEGACY_EMOTIONS)
    if kind == "sentiment":
        names = ["positive", "negative"]

    files, result = [], {}
    try:
        for split in splits:
            paths = {m: _modality_file(folder, m, split) for m in modalities}
            sentiment_path = folder / f"y_{split}.h5"
            if kind == "sentiment":
                label_path = check_path(sentiment_path, f"sentiment file of split {split!r}")
            else:
                label_path = check_path(folder / f"ey_{split}.h5",
                                        f"label file of split {split!r}")
            X = {}
            for m, path in paths.items():
                f = open_h5(path, f"{m} file")
                files.append(f)
                ds = _dataset(f, path)
                if len(ds.shape) != 3:
                    raise DataFormatError(
                        f"{str(path)!r}: {_KEY!r} must be 3-D (samples, steps, features); "
                        f"got shape {tuple(ds.shape)}"
                    )
                if lazy:
                    X[m] = H5Array(ds, nonfinite=nonfinite)
                else:
                    X[m] = clean_nonfinite(
                        np.asarray(read_dataset(ds, str(path)), dtype=np.float32),
                        nonfinite, f"{str(path)!r}")
                    f.close()
            if kind == "sentiment":
                sentiment = _read_sentiment(label_path)
                _check_counts(split, X, sentiment)
                result[split] = Bunch(
                    data=MultimodalData(**X), sentiment=sentiment,
                    target=np.stack([sentiment > 0, sentiment < 0], axis=1).astype(np.int64))
                continue
            with open_h5(label_path, "label file") as f:
                ey = np.asarray(read_dataset(_dataset(f, label_path), str(label_path)),
                                dtype=np.float32)
            if ey.ndim == 3 and ey.shape[1] == 1:
                ey = ey[:, 0]
            if ey.ndim != 2 or ey.shape[1] != len(MOSEI_LEGACY_EMOTIONS):
                raise DataFormatError(
                    f"{str(label_path)!r}: labels must have shape (samples, 6) (anger, disgust, "
                    f"fear, happy, sad, surprise); got {ey.shape}"
                )
            _check_counts(split, X, ey)
            intensities = ey[:, columns]
            result[split] = Bunch(data=MultimodalData(**X),
                                  target=(intensities > 0).astype(np.int64),
                                  intensities=intensities)
            if sentiment_path.is_file():
                result[split]["sentiment"] = _read_sentiment(sentiment_path, len(ey))
    except BaseException:
        for f in files:
            f.close()
        raise
    kept = [f for f in files if f.id.valid] if lazy else []
    return DatasetBunch(files=kept, **result, emotions=list(names), lazy=lazy)

"""Pickled corpora: IEMOCAP as shipped with MulT, and MMSA feature pickles.

Both formats are Python pickles of nested dicts of numpy arrays. Unpickling
runs whatever code the file names (any importable callable, with arguments
of the file's choosing), so these readers refuse to open a pickle unless the
caller passes ``allow_pickle=True``: only do that for files from a source you
trust. To avoid the question next time, save the arrays once with
``numpy.savez`` or HDF5.

IEMOCAP (MulT ``iemocap_data.pkl``)::

    data[split]["text" | "audio" | "vision" | "labels"]
    labels: (N, 4, 2), one (negative, positive) pair per emotion, emotions in
    the order neutral, happy, sad, angry; splits of 2717 / 798 / 938 samples

MMSA (``aligned_50.pkl``, ``unaligned_50.pkl`` ...) and MulT sentiment pickles::

    data[split]["text" | "audio" | "vision" | "id" | "raw_text" | ...]
    data[split]["regression_labels"] (MMSA) or ["labels"] (MulT): sentiment
    data[split]["audio_lengths" | "vision_lengths"] (unaligned MMSA only)
"""

import pickle
from collections.abc import Mapping

import numpy as np
from sklearn.utils import Bunch

from ..data import MultimodalData
from ..exceptions import DataFormatError, UnsafeLoadError
from ._base import DatasetBunch, check_nonfinite, check_path, check_splits, clean_nonfinite

__all__ = ["load_iemocap", "load_mmsa_pickle", "IEMOCAP_EMOTIONS"]

#: IEMOCAP emotions in the column order of the MulT pickle's labels.
IEMOCAP_EMOTIONS = ("neutral", "happy", "sad", "angry")
_MODALITY_KEYS = {"text": "text", "audio": "audio", "visual": "vision"}


def _check_allow(allow_pickle):
    if not isinstance(allow_pickle, bool):
        raise TypeError(f"allow_pickle must be True or False; got {allow_pickle!r}")


def read_pickle(path, *, allow_pickle=False, what="pickle"):
    """Unpickle ``path`` only when ``allow_pickle`` is True."""
    _check_allow(allow_pickle)
    path = check_path(path, what)
    if not allow_pickle:
        raise UnsafeLoadError(
            f"{str(path)!r} is a Python pickle, and unpickling can run arbitrary code "
            "stored in the file. skmemo loads pickles only on request: pass "
            "allow_pickle=True if you trust where the file comes from (then save the "
            "arrays with numpy.savez or HDF5 to avoid pickles next time)"
        )
    try:
        with open(path, "rb") as f:
            # latin1 reads the numpy arrays of Python 2 pickles; Python 3 pickles ignore it
            return pickle.load(f, encoding="latin1")
    except Exception as exc:  # truncated, not a pickle, missing module ...
        raise DataFormatError(
            f"cannot unpickle {str(path)!r} ({type(exc).__name__}: {exc}); the file is "
            "truncated, corrupted or not a pickle"
        ) from exc


def _text_keys(mapping):
    """The same mapping with bytes keys decoded (Python 2 pickles)."""
    return {(k.decode("utf-8") if isinstance(k, bytes) else k): v for k, v in mapping.items()}


def _split_dicts(obj, splits, path):
    if not isinstance(obj, Mapping):
        raise DataFormatError(
            f"{str(path)!r} must hold a dict of splits {list(splits)}; got "
            f"{type(obj).__name__}"
        )
    obj = _text_keys(obj)
    out = {}
    for split in splits:
        if split not in obj or not isinstance(obj[split], Mapping):
            raise DataFormatError(
                f"{str(path)!r} has no split {split!r} (found {sorted(map(str, obj))})"
            )
        out[split] = _text_keys(obj[split])
    return out


def _features(part, split, path, nonfinite, required=True):
    X = {}
    for modality, key in _MODALITY_KEYS.items():
        if key not in part:
            if required:
                raise DataFormatError(
                    f"{str(path)!r}: split {split!r} has no {key!r} array (found "
                    f"{sorted(part)})"
                )
            continue
        arr = np.asarray(part[key])
        if arr.ndim != 3 or not np.issubdtype(arr.dtype, np.number):
            raise DataFormatError(
                f"{str(path)!r}: {split}[{key!r}] must be a 3-D numeric array (samples, "
                f"steps, features); got shape {arr.shape}, dtype {arr.dtype}"
            )
        X[modality] = clean_nonfinite(arr.astype(np.float32), nonfinite, f"{split}[{key!r}]")
    if not X:
        raise DataFormatError(f"{str(path)!r}: split {split!r} holds no text, audio or vision")
    counts = {m: x.shape[0] for m, x in X.items()}
    if len(set(counts.values())) != 1:
        raise DataFormatError(f"{str(path)!r}: split {split!r} has modalities of different "
                              f"sizes {counts}")
    return X


def load_iemocap(path, *, allow_pickle=False, splits=("train", "valid", "test"),
                 nonfinite="zero"):
    """Load IEMOCAP (four emotions) from the MulT pickle ``iemocap_data.pkl``.

    Parameters
    ----------
    path : str or path-like
        The pickle (word-aligned ``iemocap_data.pkl`` or ``iemocap_data_noalign.pkl``).
    allow_pickle : bool, default=False
        Unpickling can run code stored in the file: the file is only read when
        this is True. Raises :class:`~skmemo.exceptions.UnsafeLoadError`
        otherwise.
    splits : str or sequence of str, default=("train", "valid", "test")
    nonfinite : {"zero", "keep", "error"}, default="zero"
        NaN and infinite values are set to 0 (as the paper's code did for the
        audio), kept, or raise.

    Returns
    -------
    iemocap : DatasetBunch
        Per split a :class:`~sklearn.utils.Bunch` with ``data``
        (:class:`~skmemo.MultimodalData`, the ``"vision"`` array under
        ``"visual"``) and ``target`` ``(n, 4)`` int 0/1, the argmax of each
        (negative, positive) label pair; plus ``emotions``: neutral, happy,
        sad, angry.

    Examples
    --------
    >>> import pickle, tempfile, os
    >>> from skmemo.datasets import load_iemocap
    >>> path = os.path.join(tempfile.mkdtemp(), "iemocap_data.pkl")
    >>> with open(path, "wb") as f:
    ...     pickle.dump({}, f)
    >>> load_iemocap(path)
    Traceback (most recent call last):
    ...
    skmemo.exceptions.UnsafeLoadError: '...' is a Python pickle, and unpickling can run ...
    """
    _check_allow(allow_pickle)
    splits = check_splits(splits)
    nonfinite = check_nonfinite(nonfinite)
    obj = read_pickle(path, allow_pickle=allow_pickle, what="IEMOCAP pickle")
    parts = _split_dicts(obj, splits, path)
    result = {}
    for split, part in parts.items():
        X = _features(part, split, path, nonfinite)
        if "labels" not in part:
            raise DataFormatError(f"{str(path)!r}: split {split!r} has no 'labels' array")
        labels = np.asarray(part["labels"])
        n = next(iter(X.values())).shape[0]
        if labels.shape != (n, len(IEMOCAP_EMOTIONS), 2):
            raise DataFormatError(
                f"{str(path)!r}: {split}['labels'] must have shape ({n}, 4, 2) (one "
                f"(negative, positive) pair per emotion); got {labels.shape}"
            )
        result[split] = Bunch(data=MultimodalData(**X),
                              target=labels.argmax(axis=-1).astype(np.int64))
    return DatasetBunch(**result, emotions=list(IEMOCAP_EMOTIONS))


def _as_text(values):
    arr = np.asarray(values)
    if arr.dtype.kind == "S":
        return np.char.decode(arr, "utf-8", errors="replace")
    if arr.dtype == object:
        return np.vectorize(
            lambda v: v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v),
            otypes=[str])(arr) if arr.size else arr.astype(str)
    return arr


def load_mmsa_pickle(path, *, allow_pickle=False, splits=("train", "valid", "test"),
                     nonfinite="zero"):
    """Load an MMSA (or MulT) sentiment feature pickle.

    Parameters
    ----------
    path : str or path-like
        The pickle, e.g. MMSA's ``aligned_50.pkl`` / ``unaligned_50.pkl`` or
        MulT's ``mosei_senti_data.pkl``.
    allow_pickle : bool, default=False
        Unpickling can run code stored in the file: the file is only read when
        this is True. Raises :class:`~skmemo.exceptions.UnsafeLoadError`
        otherwise.
    splits : str or sequence of str, default=("train", "valid", "test")
    nonfinite : {"zero", "keep", "error"}, default="zero"
        NaN and infinite values are set to 0 (as MMSA does for the audio),
        kept, or raise.

    Returns
    -------
    data : DatasetBunch
        Per split a :class:`~sklearn.utils.Bunch` with

        - ``data``: :class:`~skmemo.MultimodalData` of the modalities present
          (``"vision"`` as ``"visual"``) and, when the pickle has them,
          ``"audio_lengths"`` / ``"visual_lengths"`` clipped to
          ``[1, seq_len]``;
        - ``sentiment``: ``(n,)`` float32, from ``regression_labels`` (MMSA)
          or ``labels`` (MulT);
        - ``target``: ``(n, 2)`` int, columns positive (sentiment > 0) and
          negative (sentiment < 0); neutral samples have neither;
        - ``ids`` (when present), and ``extra``: the other arrays of the split.

        Plus ``emotions = ["positive", "negative"]`` and ``padding``: "post"
        when lengths are given (MMSA's unaligned features are padded at the
        end: fit with ``padding="post"``), else "pre".
    """
    _check_allow(allow_pickle)
    splits = check_splits(splits)
    nonfinite = check_nonfinite(nonfinite)
    obj = read_pickle(path, allow_pickle=allow_pickle, what="MMSA pickle")
    parts = _split_dicts(obj, splits, path)
    result, has_lengths = {}, False
    for split, part in parts.items():
        X = _features(part, split, path, nonfinite, required=False)
        n = next(iter(X.values())).shape[0]
        for modality in ("text", "audio", "visual"):
            key = f"{_MODALITY_KEYS[modality]}_lengths"
            if key in part and modality in X:
                lengths = np.asarray(part[key]).reshape(-1).astype(np.int64)
                if lengths.shape != (n,):
                    raise DataFormatError(
                        f"{str(path)!r}: {split}[{key!r}] must hold one length per sample ({n})"
                    )
                X[f"{modality}_lengths"] = np.clip(lengths, 1, X[modality].shape[1])
                has_lengths = True
        label_key = next((k for k in ("regression_labels", "labels") if k in part), None)
        if label_key is None:
            raise DataFormatError(
                f"{str(path)!r}: split {split!r} has no 'regression_labels' or 'labels'"
            )
        sentiment = np.asarray(part[label_key], dtype=np.float32).reshape(-1)
        if sentiment.shape != (n,):
            raise DataFormatError(
                f"{str(path)!r}: {split}[{label_key!r}] must hold one sentiment score per "
                f"sample ({n}); got {np.asarray(part[label_key]).shape}"
            )
        used = set(_MODALITY_KEYS.values()) | {label_key, "id", "audio_lengths",
                                                "vision_lengths", "text_lengths"}
        bunch = Bunch(
            data=MultimodalData(**X), sentiment=sentiment,
            target=np.stack([sentiment > 0, sentiment < 0], axis=1).astype(np.int64),
            extra={k: v for k, v in part.items() if k not in used},
        )
        if "id" in part:
            bunch["ids"] = _as_text(part["id"])
        result[split] = bunch
    return DatasetBunch(**result, emotions=["positive", "negative"],
                        padding="post" if has_lengths else "pre")

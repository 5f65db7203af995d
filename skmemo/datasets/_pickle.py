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

MMSA (``aligned_50.pkl``, ``unaligned_50.pkl`` ...), MMSA-FET and MulT
sentiment pickles::

    data[split]["text" | "audio" | "vision" | "id" | "raw_text" | ...]
    data[split]["regression_labels"] (MMSA) or ["labels"] (MulT): sentiment
    data[split]["audio_lengths" | "vision_lengths"] (unaligned MMSA only)
    data[split]["text_bert"]  (N, 3, L): BERT input ids, attention mask and
                              token types (MMSA with BERT text)

MMSA-FET pads every sequence with zeros at the end by default (its
``--pad-location start`` pads at the front), and MMSA reads the lengths of
aligned features, which carry no ``*_lengths``, from the ``text_bert``
attention mask. The MulT pickles come from the CMU-MultimodalSDK's tensors,
padded at the front.
"""

import pickle
from collections.abc import Mapping

import numpy as np
from sklearn.utils import Bunch

from .._checks import check_padding
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


def _zero_steps(x):
    """``(n, T)`` bool: steps whose features are all zero."""
    return ~np.any(x.reshape(x.shape[0], x.shape[1], -1) != 0, axis=-1)


def _padding_region(lengths, steps, side):
    """``(n, T)`` bool: the steps that ``side`` calls padding, given the lengths."""
    t = np.arange(steps)[None, :]
    L = np.asarray(lengths)[:, None]
    return t >= L if side == "post" else t < steps - L


def _side_votes(X, mask):
    """(samples padded at the front, samples padded at the end), from the data.

    The ``text_bert`` attention mask says it directly. Otherwise a modality
    with lengths votes "post" for a short sample whose steps after its
    length are all zero while those before ``T - length`` are not (and the
    other way round); a modality without lengths votes by its first and last
    steps (all zero at one end only).
    """
    if mask is not None:
        return int((mask[:, 0] == 0).sum()), int((mask[:, -1] == 0).sum())
    pre = post = 0
    for m, x in X.items():
        if m.endswith("_lengths") or x.shape[1] == 0:
            continue
        zero = _zero_steps(x)
        if f"{m}_lengths" in X:
            L = X[f"{m}_lengths"]
            fits = {side: (zero | ~_padding_region(L, x.shape[1], side)).all(axis=1)
                    for side in ("pre", "post")}
            short = L < x.shape[1]
            pre += int((short & fits["pre"] & ~fits["post"]).sum())
            post += int((short & fits["post"] & ~fits["pre"]).sum())
        else:
            pre += int((zero[:, 0] & ~zero[:, -1]).sum())
            post += int((zero[:, -1] & ~zero[:, 0]).sum())
    return pre, post


def _check_side(X, side, path, split):
    """Refuse lengths whose padding, on ``side``, holds non-zero steps."""
    for key in [k for k in X if k.endswith("_lengths")]:
        m = key[: -len("_lengths")]
        x = X[m]
        region = _padding_region(X[key], x.shape[1], side)
        bad = np.flatnonzero((region & ~_zero_steps(x)).any(axis=1))
        if len(bad):
            other = "pre" if side == "post" else "post"
            raise DataFormatError(
                f"{str(path)!r}: with padding={side!r}, {len(bad)} {split} samples of "
                f"{m!r} (the first is sample {bad[0]}, length {X[key][bad[0]]}) have "
                "non-zero steps where the padding should be; the lengths and the zeros "
                f"of the data say the padding is elsewhere: pass padding={other!r} or "
                "padding=None (read it from the data)"
            )


def _mask_lengths(part, split, path, n):
    """The ``text_bert`` attention mask ``(n, L)`` and its sums, or (None, None)."""
    if "text_bert" not in part:
        return None, None
    bert = np.asarray(part["text_bert"])
    if bert.ndim != 3 or bert.shape[0] != n or bert.shape[1] != 3:
        raise DataFormatError(
            f"{str(path)!r}: {split}['text_bert'] must have shape ({n}, 3, steps) (input "
            f"ids, attention mask, token types, as MMSA writes it); got {bert.shape}"
        )
    mask = bert[:, 1, :]
    if not np.isin(mask, (0, 1)).all():
        raise DataFormatError(
            f"{str(path)!r}: {split}['text_bert'][:, 1] must be a 0/1 attention mask"
        )
    return mask, mask.sum(axis=1).astype(np.int64)


def load_mmsa_pickle(path, *, allow_pickle=False, splits=("train", "valid", "test"),
                     nonfinite="zero", padding=None):
    """Load an MMSA, MMSA-FET or MulT sentiment feature pickle.

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
    padding : {None, "pre", "post"}, default=None
        Where the zero padding of the sequences sits. None reads it from the
        data: from the ``text_bert`` attention mask when the pickle has one,
        else from where the all-zero steps are (after a sample's length:
        "post"; before it: "pre"); with no padding to go by, "post" for files
        with lengths or ``text_bert`` (MMSA-FET's default) and "pre" for the
        others (MulT's, from the SDK). "pre" or "post" overrides it; the
        loader then refuses lengths whose padding, on that side, holds
        non-zero steps.

    Returns
    -------
    data : DatasetBunch
        Per split a :class:`~sklearn.utils.Bunch` with

        - ``data``: :class:`~skmemo.MultimodalData` of the modalities present
          (``"vision"`` as ``"visual"``) and ``"<modality>_lengths"``
          clipped to ``[1, seq_len]``: the pickle's ``audio_lengths`` /
          ``vision_lengths``, and, when it has ``text_bert``, the sums of its
          attention mask for the text and for the modalities without lengths
          of their own that have as many steps (aligned features: MMSA's
          own reading);
        - ``sentiment``: ``(n,)`` float32, from ``regression_labels`` (MMSA)
          or ``labels`` (MulT);
        - ``target``: ``(n, 2)`` int, columns positive (sentiment > 0) and
          negative (sentiment < 0); neutral samples have neither;
        - ``ids`` (when present), and ``extra``: the other arrays of the split.

        Plus ``emotions = ["positive", "negative"]`` and ``padding``, the
        side of the padding ("pre" or "post", see the parameter). Fit with
        the estimator's ``padding=bunch.padding``: with lengths given, "post"
        reads the first ``length`` steps of each sample and "pre" the last.

    Raises
    ------
    skmemo.exceptions.UnsafeLoadError
        Without ``allow_pickle=True``.
    skmemo.exceptions.DataFormatError
        If the file does not have the layout above, or ``padding`` names a
        side where the lengths put padding on non-zero steps.
    """
    _check_allow(allow_pickle)
    splits = check_splits(splits)
    nonfinite = check_nonfinite(nonfinite)
    check_padding(padding, allow_none=True)
    obj = read_pickle(path, allow_pickle=allow_pickle, what="MMSA pickle")
    parts = _split_dicts(obj, splits, path)
    result, masks, mmsa_style = {}, {}, False
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
                mmsa_style = True
        masks[split], mask_lengths = _mask_lengths(part, split, path, n)
        if mask_lengths is not None:
            mmsa_style = True
            for modality in ("text", "audio", "visual"):
                if (modality in X and f"{modality}_lengths" not in X
                        and X[modality].shape[1] == masks[split].shape[1]):
                    X[f"{modality}_lengths"] = np.clip(mask_lengths, 1, X[modality].shape[1])
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
            data=X, sentiment=sentiment,
            target=np.stack([sentiment > 0, sentiment < 0], axis=1).astype(np.int64),
            extra={k: v for k, v in part.items() if k not in used},
        )
        if "id" in part:
            bunch["ids"] = _as_text(part["id"])
        result[split] = bunch

    side = padding
    if side is None:
        pre = post = 0
        for split, bunch in result.items():
            votes = _side_votes(bunch.data, masks[split])
            pre, post = pre + votes[0], post + votes[1]
        side = "pre" if pre > post else "post" if post > pre else (
            "post" if mmsa_style else "pre")
    for split, bunch in result.items():
        if padding is not None:  # a side read from the data fits most samples
            _check_side(bunch.data, side, path, split)
        bunch["data"] = MultimodalData(**bunch.data)
    return DatasetBunch(**result, emotions=["positive", "negative"], padding=side)

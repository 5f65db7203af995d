"""Multimodal inputs: :class:`MultimodalData` and input validation.

An input ``X`` maps modality names to feature sequences::

    X = {"text": (n, T_t, d_t), "audio": (n, T_a, d_a), "visual": (n, T_v, d_v)}

Any non-empty subset of the three modalities may be given; the sequence lengths
``T_m`` may differ between modalities. Values may be numpy arrays, torch tensors
or h5py datasets (read batch by batch).

Variable-length samples are zero-padded. By default a sample's real length is
read from the padding: leading all-zero time steps are padding (the
CMU-MultimodalSDK pads at the front; ``padding="post"`` in the estimator reads
trailing zeros instead). To pass lengths explicitly, add ``"<modality>_lengths"``
entries, 1-D integer arrays of shape ``(n,)``::

    X = MultimodalData(text=text, text_lengths=[12, 50, 3, ...])

A length of 0 marks the modality *absent* for that sample (no face detected, no
usable audio, no transcript): the model skips it for that sample and fuses the
modalities that are present (see :doc:`/missing_modalities`). Every sample needs
at least one present modality. :func:`mark_absent` derives such lengths from
all-NaN or all-zero samples.

Why not a plain dict? scikit-learn counts samples with ``len(X)``: for a dict that
is the number of *keys*, so ``train_test_split`` and ``cross_val_score`` fail, and
``KFold(3).split(a_dict)`` silently splits the keys. :class:`MultimodalData` is a
:class:`skorch.helper.SliceDict`: its length is the number of samples and slicing
slices every modality.
"""

import numbers
from collections.abc import Mapping

import numpy as np
import torch
from skorch.helper import SliceDict

from ._checks import check_option, check_padding
from .exceptions import ModalityError

__all__ = [
    "MODALITIES",
    "MultimodalData",
    "align_y",
    "check_X",
    "check_y",
    "mark_absent",
    "take_rows",
]

MODALITIES = ("text", "audio", "visual")
_LENGTHS = "_lengths"
_FINITE_CHECK_ROWS = 4096  # rows per chunk when scanning for NaN/inf
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_REAL_KINDS = "biuf"  # bool, signed and unsigned integers, floats


def _is_lengths_key(key):
    return (isinstance(key, str) and key.endswith(_LENGTHS)
            and key[: -len(_LENGTHS)] in MODALITIES)


def _n_rows(value):
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(value)


class MultimodalData(SliceDict):
    """A dict of modality arrays whose ``len`` is the number of samples.

    Parameters
    ----------
    **modalities : array-like of shape (n_samples, T_m, d_m)
        Keys among ``"text"``, ``"audio"``, ``"visual"``, and optionally
        ``"<modality>_lengths"`` (1-D, the real length of each sample).

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo import MultimodalData
    >>> X = MultimodalData(text=np.zeros((4, 5, 50)), audio=np.zeros((4, 7, 10)))
    >>> len(X)
    4
    >>> X[1:3]["audio"].shape
    (2, 7, 10)
    """

    def __init__(self, **modalities):
        unknown = [k for k in modalities if k not in MODALITIES and not _is_lengths_key(k)]
        if unknown:
            raise ModalityError(
                f"unknown modality key(s) {sorted(unknown)}; expected keys among "
                f"{list(MODALITIES)} (and optionally '<modality>_lengths')"
            )
        counts = {k: _n_rows(v) for k, v in modalities.items()}
        if len(set(counts.values())) > 1:
            raise ValueError(
                f"all modalities must hold the same number of samples; got {counts}"
            )
        super().__init__(**modalities)

    def __getitem__(self, sl):
        if isinstance(sl, str):
            return super().__getitem__(sl)
        if isinstance(sl, tuple) and len(sl) == 2 and sl[1] is Ellipsis:
            sl = sl[0]  # scikit-learn's _safe_indexing asks for X[rows, ...]
        if isinstance(sl, (int, np.integer, slice, tuple)):
            return super().__getitem__(sl)
        # rows in any order, repeated or not, also for h5py datasets (which only
        # accept increasing indices): read sorted unique rows, then reorder
        rows = np.asarray(sl)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return type(self)(**{k: take_rows(v, rows) for k, v in self.items()})

    @property
    def modalities(self):
        """The modality names present, in canonical order."""
        return tuple(m for m in MODALITIES if m in self)

    def __repr__(self):
        parts = ", ".join(
            f"{k}={tuple(getattr(v, 'shape', (len(v),)))}" for k, v in self.items()
        )
        return f"MultimodalData({parts})"


def take_rows(array, rows):
    """Rows ``rows`` (any order, repeats allowed) of a numpy, torch or h5py array.

    numpy arrays and tensors are indexed directly; other arrays (h5py datasets,
    which need increasing indices) are read once at the sorted unique rows and
    put into the requested order.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if isinstance(array, np.ndarray):
        return array[rows]
    if isinstance(array, torch.Tensor):
        return array[torch.as_tensor(rows, device=array.device)]
    unique, inverse = np.unique(rows, return_inverse=True)
    return np.asarray(array[unique])[inverse]


def align_y(y, emotions, *, action="fit"):
    """Match the columns of a pandas ``y`` to ``emotions`` by name.

    A DataFrame whose column names are all strings is reordered to the order
    of ``emotions``; if its names are not the same set as ``emotions`` it is
    refused, naming the difference (as scikit-learn refuses features whose
    names differ from those seen in fit). Anything else is returned unchanged:
    its columns are taken in the order given.

    Parameters
    ----------
    y : array-like or pandas DataFrame
    emotions : list of str
    action : str, default="fit"
        Name of the calling method, for the error message.

    Returns
    -------
    y, reordered when it is a DataFrame with string column names.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmemo.data import align_y
    >>> Y = pd.DataFrame({"sad": [1, 0], "happy": [0, 1]})
    >>> align_y(Y, ["happy", "sad"]).columns.tolist()
    ['happy', 'sad']
    """
    columns = getattr(y, "columns", None)
    if columns is None or not all(isinstance(c, str) for c in columns):
        return y
    names, wanted = [str(c) for c in columns], [str(e) for e in emotions]
    if names == wanted:
        return y
    if len(set(names)) == len(names) and set(names) == set(wanted):
        return y[wanted]
    missing = [e for e in wanted if e not in names]
    unexpected = [c for c in names if c not in wanted]
    detail = []
    if missing:
        detail.append(f"missing {missing}")
    if unexpected:
        detail.append(f"unexpected {unexpected}")
    if len(set(names)) != len(names):
        detail.append("repeated column names")
    raise ValueError(
        f"the column names of y do not match the estimator's emotions {wanted} "
        f"({'; '.join(detail)}). {action} matches a DataFrame y to the emotions by "
        "column name; rename the columns, or pass y.to_numpy() to use them in order"
    )


def _as_array(key, value):
    """Keep numpy / torch / h5py arrays as they are; convert anything else."""
    if value is None:
        raise TypeError(
            f"X[{key!r}] is None; leave the key out when a modality is missing"
        )
    if isinstance(value, torch.Tensor) and value.dtype in (torch.bfloat16, torch.float16):
        arr = value.float()  # half-precision features are read as float32 (numpy has no bf16)
    elif isinstance(value, (np.ndarray, torch.Tensor)):
        arr = value
    elif hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "__getitem__"):
        arr = value  # h5py.Dataset, numpy memmap, zarr ... : read lazily
    else:
        try:
            # lengths keep their own type: the lengths check refuses floats
            arr = np.asarray(value) if _is_lengths_key(key) else np.asarray(
                value, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"X[{key!r}] must be an array-like of numbers (numpy, torch, h5py); "
                f"got {type(value).__name__}: {exc}"
            ) from None
    _check_dtype(key, arr)
    return arr


def _check_dtype(key, arr):
    """Refuse what cannot become float32 features: strings, objects, complex."""
    dtype = arr.dtype
    if isinstance(dtype, torch.dtype):
        ok = not dtype.is_complex
    else:
        try:
            ok = np.dtype(dtype).kind in _REAL_KINDS
        except TypeError:
            ok = False
    if not ok:
        raise TypeError(
            f"X[{key!r}] must hold real numbers (bool, integer or float); got dtype "
            f"{dtype}"
        )


def _chunks(value):
    for start in range(0, value.shape[0], _FINITE_CHECK_ROWS):
        yield value[start:start + _FINITE_CHECK_ROWS]


def _finite_problem(value):
    """Describe values that would not be finite as float32, or return None.

    Features are read as float32: NaN, inf and float64 values beyond the
    float32 range (which would become inf) are all refused. Lazy arrays
    (h5py datasets, memmaps) are scanned in chunks of rows; an array that
    cleans or refuses non-finite values itself on every read (an attribute
    ``nonfinite`` of ``"zero"`` or ``"error"``, as the dataset readers' lazy
    views have) is trusted.
    """
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            return None
        with torch.no_grad():
            if not torch.isfinite(value).all():
                return "NaN or inf"
            if value.dtype == torch.float64 and not value.abs().le(_FLOAT32_MAX).all():
                return "values too large for float32 (they would become inf)"
        return None
    if np.dtype(value.dtype).kind != "f":
        return None  # integers and booleans are finite
    if getattr(value, "nonfinite", None) in ("zero", "error"):
        return None
    wide = np.dtype(value.dtype).itemsize > 4
    for chunk in _chunks(value):
        chunk = np.asarray(chunk)
        if not np.isfinite(chunk).all():
            return "NaN or inf"
        if wide and not (np.abs(chunk) <= _FLOAT32_MAX).all():
            return "values too large for float32 (they would become inf)"
    return None


def check_X(X, *, fitted=None, check_finite=True):
    """Validate a multimodal input and return it as :class:`MultimodalData`.

    Parameters
    ----------
    X : mapping
        Modality name -> array-like ``(n, T_m, d_m)``.
    fitted : dict, default=None
        ``{modality: feature_dim}`` seen in fit. When given, a modality not in
        it is refused and feature dimensions must agree.
    check_finite : bool, default=True
        Refuse NaN, inf, and float64 values too large for float32 (use
        :class:`skmemo.preprocessing.ModalityScaler` to clean them). Lazy
        arrays (h5py datasets) are scanned in chunks of rows.

    Returns
    -------
    MultimodalData

    Raises
    ------
    TypeError
        If ``X`` is not a mapping, or a value is not an array of real numbers.
    ModalityError
        If ``X`` holds no modality, an unknown key, a lengths key without its
        modality, or (with ``fitted``) a modality not seen in fit.
    ValueError
        If shapes are wrong (not 3-D, no samples, an empty axis, sample counts
        that differ, a feature dimension other than the fitted one), values
        are not finite, lengths are not integers in ``[0, seq_len]``, or a
        sample has no modality at all (every one of its lengths is 0).

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.data import check_X
    >>> check_X({"audio": np.zeros((3, 4, 2))})
    MultimodalData(audio=(3, 4, 2))
    >>> check_X({"audio": np.zeros((3, 4))})
    Traceback (most recent call last):
    ...
    ValueError: X['audio'] must be 3-D (n_samples, seq_len, n_features); got shape (3, 4)...
    """
    if not isinstance(X, Mapping):
        raise TypeError(
            "X must be a mapping of modality name -> array (n_samples, seq_len, "
            f"n_features), e.g. MultimodalData(text=..., audio=...); got "
            f"{type(X).__name__}"
        )
    if not any(k in MODALITIES for k in X):
        raise ModalityError(
            f"X holds no modality: give at least one of {list(MODALITIES)}; "
            f"got keys {sorted(map(str, X))}"
        )
    unknown = [k for k in X if k not in MODALITIES and not _is_lengths_key(k)]
    if unknown:
        raise ModalityError(
            f"unknown modality key(s) {sorted(map(str, unknown))}; expected keys "
            f"among {list(MODALITIES)} (and optionally '<modality>_lengths')"
        )
    arrays = {}
    for key, value in X.items():
        arr = _as_array(key, value)
        if key in MODALITIES:
            if len(arr.shape) != 3:
                hint = (
                    "; for one vector per sample use a length-1 sequence, "
                    "x[:, None, :]" if len(arr.shape) == 2 else ""
                )
                raise ValueError(
                    f"X[{key!r}] must be 3-D (n_samples, seq_len, n_features); got "
                    f"shape {tuple(arr.shape)}{hint}"
                )
            if arr.shape[0] == 0:
                raise ValueError(f"X[{key!r}] holds no samples (shape {tuple(arr.shape)})")
            if arr.shape[1] == 0 or arr.shape[2] == 0:
                raise ValueError(
                    f"X[{key!r}] has an empty time or feature axis: shape "
                    f"{tuple(arr.shape)}"
                )
            if fitted is not None:
                if key not in fitted:
                    raise ModalityError(
                        f"modality {key!r} was not seen in fit (fitted modalities: "
                        f"{sorted(fitted)}); it cannot be used for prediction"
                    )
                if arr.shape[2] != fitted[key]:
                    raise ValueError(
                        f"X[{key!r}] has {arr.shape[2]} features per step, but the "
                        f"estimator was fitted with {fitted[key]}"
                    )
            problem = _finite_problem(arr) if check_finite else None
            if problem is not None:
                raise ValueError(
                    f"X[{key!r}] contains {problem}. Clean the features first, for "
                    "example with skmemo.preprocessing.ModalityScaler, which maps "
                    "NaN and inf to 0 after standardising"
                )
        arrays[key] = arr
    for key in [k for k in arrays if _is_lengths_key(k)]:
        modality = key[: -len(_LENGTHS)]
        if modality not in arrays:
            raise ModalityError(f"X has {key!r} but no {modality!r} modality")
        lengths = arrays[key]
        if isinstance(lengths, torch.Tensor):
            lengths = lengths.detach().cpu().numpy()
        lengths = np.asarray(lengths)
        if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(
                f"X[{key!r}] must be a 1-D integer array of lengths, one per sample; "
                f"got dtype {lengths.dtype} and shape {lengths.shape}"
            )
        seq_len = arrays[modality].shape[1]
        if lengths.shape[0] != arrays[modality].shape[0]:
            raise ValueError(
                f"X[{key!r}] holds {lengths.shape[0]} lengths but X[{modality!r}] holds "
                f"{arrays[modality].shape[0]} samples")
        negative = np.flatnonzero(lengths < 0)
        if negative.size:
            raise ValueError(
                f"X[{key!r}] must not be negative (0 marks {modality!r} absent for a "
                f"sample); got {lengths[negative[0]]} at sample {negative[0]}"
                + (f" and {negative.size - 1} more" if negative.size > 1 else ""))
        if lengths.size and lengths.max() > seq_len:
            raise ValueError(
                f"X[{key!r}] must lie in [0, {seq_len}] (the sequence length of "
                f"{modality!r}); got values in [{lengths.min()}, {lengths.max()}]"
            )
        arrays[key] = lengths.astype(np.int64)
    _check_some_modality(arrays)
    if isinstance(X, MultimodalData) and all(arrays[k] is X[k] for k in X):
        return X
    return MultimodalData(**arrays)


def _check_some_modality(arrays):
    """Refuse samples whose every modality is absent (length 0)."""
    n = next(_n_rows(v) for k, v in arrays.items() if k in MODALITIES)
    present = np.zeros(n, dtype=bool)
    for m in MODALITIES:
        if m not in arrays:
            continue
        lengths = arrays.get(m + _LENGTHS)
        if lengths is None:
            return  # lengths read from the padding are at least 1: all present
        present |= lengths > 0
    empty = np.flatnonzero(~present)
    if empty.size:
        shown = empty[:10].tolist()
        raise ValueError(
            f"{empty.size} sample(s) have no modality at all (every "
            f"'<modality>_lengths' is 0), e.g. samples {shown}; each sample needs at "
            "least one present modality. Drop these samples"
        )


def mark_absent(X, *, marker="nan", padding="pre"):
    """Mark all-NaN (or all-zero) samples of each modality as absent.

    Returns a copy of ``X`` with ``"<modality>_lengths"`` for every modality:
    0 where the sample's whole ``(T, d)`` block is NaN (``marker="nan"``) or
    zero (``marker="zero"``), otherwise the given length or, without one,
    the length read from the zero padding. The features of absent samples are
    set to 0, so that the input checks (which refuse NaN) pass.

    Parameters
    ----------
    X : mapping or MultimodalData
        Modality arrays ``(n, T_m, d_m)``, optionally with
        ``"<modality>_lengths"``. Read into memory.
    marker : {"nan", "zero"}, default="nan"
        Which samples are absent: those that are entirely NaN, or entirely
        zero. Without this step an all-zero sample is read as one zero step
        and enters the fusion with its full weight.
    padding : {"pre", "post"}, default="pre"
        Where the zero padding sits when ``X`` has no ``<modality>_lengths``
        (use the estimator's setting).

    Returns
    -------
    MultimodalData

    Raises
    ------
    ValueError
        If ``marker`` or ``padding`` is not one of the allowed values, or a
        sample ends up with no modality at all.

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.data import mark_absent
    >>> audio = np.ones((3, 4, 2))
    >>> audio[1] = np.nan
    >>> X = mark_absent({"text": np.ones((3, 5, 2)), "audio": audio})
    >>> X["audio_lengths"].tolist(), X["text_lengths"].tolist()
    ([4, 0, 4], [5, 5, 5])
    """
    from .modules import lengths_from_padding  # torch-side helper, imported late

    check_option("marker", marker, ("nan", "zero"))
    check_padding(padding)
    X = check_X(X, check_finite=False)
    out = {}
    for m in X.modalities:
        x = X[m]
        x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        x = x.astype(np.float32)
        flat = x.reshape(len(x), -1)
        absent = (np.isnan(flat) if marker == "nan" else flat == 0).all(axis=1)
        given = X.get(m + _LENGTHS)
        if given is not None:
            lengths = np.asarray(given, dtype=np.int64).copy()
        else:
            # NaN and inf count as real values, as in ModalityScaler
            clean = np.where(absent[:, None, None], 0, x)
            lengths = lengths_from_padding(torch.from_numpy(clean), padding).numpy()
            lengths = lengths.astype(np.int64)
        lengths[absent] = 0
        if absent.any():
            x = x.copy()
            x[absent] = 0
        out[m] = x
        out[m + _LENGTHS] = lengths
    _check_some_modality(out)
    return MultimodalData(**out)


def _is_missing(value):
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, float) and value != value


def _numeric_labels(y):
    """Labels as a numeric array; object arrays of numbers (pandas) are converted."""
    if y.dtype.kind in _REAL_KINDS:
        return y
    if y.dtype.kind == "O":
        flat = y.ravel()
        if any(_is_missing(v) for v in flat):
            raise ValueError(
                "y contains missing values (None, NaN or pandas NA); every sample "
                "needs a 0/1 label for every emotion"
            )
        bad = [v for v in flat
               if not isinstance(v, (numbers.Number, np.bool_)) or isinstance(v, complex)]
        if not bad:
            return y.astype(np.float64)
        shown = list(dict.fromkeys(map(repr, bad)))[:3]
        raise ValueError(
            f"y must hold 0/1 numbers; found {', '.join(shown)} (of type "
            f"{type(bad[0]).__name__}). Encode string labels first, e.g. with "
            "sklearn.preprocessing.MultiLabelBinarizer"
        )
    if y.dtype.kind in "US":  # numpy strings: the same hint as for pandas strings
        shown = list(dict.fromkeys(map(repr, np.unique(y).tolist())))[:3]
        raise ValueError(
            f"y must hold 0/1 numbers; found {', '.join(shown)} (dtype {y.dtype}). "
            "Encode string labels first, e.g. with sklearn.preprocessing.MultiLabelBinarizer"
        )
    raise ValueError(f"y must hold 0/1 numbers; got dtype {y.dtype}")


def _ragged_y_message(y, exc):
    """The error for a ``y`` NumPy cannot read as an array (rows of unequal length)."""
    rows = y if isinstance(y, (list, tuple)) else []
    named = [row for row in rows[:1000] if isinstance(row, (list, tuple, set, frozenset))
             and any(isinstance(v, str) for v in row)]
    if named:
        return (
            f"y looks like lists of emotion names (e.g. {list(named[0])!r}), one list "
            "per sample; the estimator takes a 0/1 matrix with one column per emotion. "
            "Encode them first, e.g. with "
            "sklearn.preprocessing.MultiLabelBinarizer(classes=emotions).fit_transform(y)")
    return f"y must be a 2-D array-like of 0/1 values, rows of equal length: {exc}"


def check_y(y, n_samples=None, n_emotions=None):
    """Validate a label matrix and return it as a float32 array ``(n, K)``.

    Parameters
    ----------
    y : array-like of shape (n_samples, n_emotions)
        Binary indicator matrix: numpy, pandas (numeric, boolean or nullable
        dtypes without missing values), torch, scipy sparse, or lists of lists.
    n_samples : int, default=None
        Required number of rows.
    n_emotions : int, default=None
        Required number of columns.

    Returns
    -------
    ndarray of shape (n_samples, n_emotions), dtype float32

    Raises
    ------
    ValueError
        If ``y`` is missing, not 2-D, not 0/1, has missing values, or has the
        wrong number of rows or columns.
    TypeError
        If ``y`` cannot be read as an array (ragged lists).

    Examples
    --------
    >>> from skmemo.data import check_y
    >>> check_y([[0, 1], [1, 1]])
    array([[0., 1.],
           [1., 1.]], dtype=float32)
    """
    if y is None:
        raise ValueError("y is required: an (n_samples, n_emotions) 0/1 matrix")
    if hasattr(y, "toarray") and hasattr(y, "nnz"):  # scipy sparse
        y = y.toarray()
    elif hasattr(y, "to_numpy"):
        y = y.to_numpy()
    elif isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    try:
        y = np.asarray(y)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(_ragged_y_message(y, exc)) from None
    if y.ndim != 2:
        raise ValueError(
            f"y must be a 2-D (n_samples, n_emotions) binary indicator matrix; got "
            f"{y.ndim}-D with shape {y.shape}. For a single emotion pass "
            "y.reshape(-1, 1); for class labels use "
            "sklearn.preprocessing.MultiLabelBinarizer"
        )
    y = _numeric_labels(y)
    values = np.unique(y)
    if np.isnan(values.astype(np.float64)).any():
        raise ValueError(
            "y contains missing values (NaN); every sample needs a 0/1 label for "
            "every emotion"
        )
    if not np.isin(values, [0, 1]).all():
        shown = values[~np.isin(values, [0, 1])][:5].tolist()
        raise ValueError(
            f"y must be binary (0/1) per emotion; found other values {shown}. "
            "Binarise intensities first, e.g. (y > 0).astype(int)"
        )
    if n_samples is not None and y.shape[0] != n_samples:
        raise ValueError(
            f"y has {y.shape[0]} rows but X holds {n_samples} samples"
        )
    if n_emotions is not None and y.shape[1] != n_emotions:
        raise ValueError(
            f"y has {y.shape[1]} columns but the estimator has {n_emotions} emotions"
        )
    return y.astype(np.float32)

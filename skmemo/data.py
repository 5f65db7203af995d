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

Why not a plain dict? scikit-learn counts samples with ``len(X)``: for a dict that
is the number of *keys*, so ``train_test_split`` and ``cross_val_score`` fail, and
``KFold(3).split(a_dict)`` silently splits the keys. :class:`MultimodalData` is a
:class:`skorch.helper.SliceDict`: its length is the number of samples and slicing
slices every modality.
"""

from collections.abc import Mapping

import numpy as np
import torch
from skorch.helper import SliceDict

from .exceptions import ModalityError

__all__ = ["MODALITIES", "MultimodalData", "check_X", "check_y"]

MODALITIES = ("text", "audio", "visual")
_LENGTHS = "_lengths"
_FINITE_CHECK_ROWS = 4096  # rows per chunk when scanning for NaN/inf


def _is_lengths_key(key):
    return key.endswith(_LENGTHS) and key[: -len(_LENGTHS)] in MODALITIES


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

    @property
    def modalities(self):
        """The modality names present, in canonical order."""
        return tuple(m for m in MODALITIES if m in self)

    def __repr__(self):
        parts = ", ".join(
            f"{k}={tuple(getattr(v, 'shape', (len(v),)))}" for k, v in self.items()
        )
        return f"MultimodalData({parts})"


def _as_array(key, value):
    """Keep numpy / torch / h5py arrays as they are; convert anything else."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value
    if hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "__getitem__"):
        return value  # h5py.Dataset, numpy memmap, zarr ... : read lazily
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"X[{key!r}] must be an array-like of numbers (numpy, torch, h5py); "
            f"got {type(value).__name__}: {exc}"
        ) from None
    return arr


def _check_finite(key, value):
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and not torch.isfinite(value).all():
            return False
        return True
    if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.floating):
        return True  # lazy (h5py) arrays are checked batch by batch in the module
    for start in range(0, value.shape[0], _FINITE_CHECK_ROWS):
        if not np.isfinite(value[start:start + _FINITE_CHECK_ROWS]).all():
            return False
    return True


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
        Refuse NaN and inf values (use :class:`skmemo.preprocessing.ModalityScaler`
        to clean them).

    Returns
    -------
    MultimodalData
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
            if check_finite and not _check_finite(key, arr):
                raise ValueError(
                    f"X[{key!r}] contains NaN or inf. Clean the features first, for "
                    "example with skmemo.preprocessing.ModalityScaler, which maps "
                    "them to 0 after standardising"
                )
        arrays[key] = arr
    for key in [k for k in arrays if _is_lengths_key(k)]:
        modality = key[: -len(_LENGTHS)]
        if modality not in arrays:
            raise ModalityError(f"X has {key!r} but no {modality!r} modality")
        lengths = np.asarray(arrays[key])
        if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(f"X[{key!r}] must be a 1-D integer array of lengths")
        seq_len = arrays[modality].shape[1]
        if lengths.size and (lengths.min() < 1 or lengths.max() > seq_len):
            raise ValueError(
                f"X[{key!r}] must lie in [1, {seq_len}] (the sequence length of "
                f"{modality!r}); got values in [{lengths.min()}, {lengths.max()}]"
            )
        arrays[key] = lengths.astype(np.int64)
    if isinstance(X, MultimodalData) and all(arrays[k] is X[k] for k in X):
        return X
    return MultimodalData(**arrays)


def check_y(y, n_samples=None, n_emotions=None):
    """Validate a label matrix and return it as a float32 array ``(n, K)``.

    Parameters
    ----------
    y : array-like of shape (n_samples, n_emotions)
        Binary indicator matrix (numpy, pandas, torch, lists).
    n_samples : int, default=None
        Required number of rows.
    n_emotions : int, default=None
        Required number of columns.
    """
    if y is None:
        raise ValueError("y is required: an (n_samples, n_emotions) 0/1 matrix")
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    elif isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    try:
        y = np.asarray(y)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"y must be a 2-D array-like of 0/1 values: {exc}") from None
    if y.ndim != 2:
        raise ValueError(
            f"y must be a 2-D (n_samples, n_emotions) binary indicator matrix; got "
            f"{y.ndim}-D with shape {y.shape}. For a single emotion pass "
            "y.reshape(-1, 1); for class labels use "
            "sklearn.preprocessing.MultiLabelBinarizer"
        )
    if y.dtype == object or not (
        np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.bool_)
    ):
        raise ValueError(f"y must hold 0/1 numbers; got dtype {y.dtype}")
    values = np.unique(y)
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

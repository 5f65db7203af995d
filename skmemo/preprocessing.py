"""Transformers for multimodal inputs: per-modality scaling that respects padding.

A scikit-learn transformer works on 2-D ``(n_samples, n_features)`` arrays;
multimodal inputs are 3-D ``(n, T, d)`` arrays per modality, zero-padded in
time. :class:`ModalityTransformer` bridges the two: for each modality it fits a
clone of a scikit-learn transformer on the *real* time steps of all samples
stacked as rows, and transforms real steps only, so that

- padding never enters the statistics (a mean over padded arrays would be
  pulled towards zero by the padding);
- padded steps stay exactly zero after the transform, so the estimator still
  finds the real length of every sample and predictions do not depend on how
  much padding there is.

Which steps are real:

- with an explicit ``"<modality>_lengths"`` entry in ``X``, the last
  ``lengths[i]`` steps of sample ``i`` (``padding="pre"``) or the first
  ``lengths[i]`` steps (``padding="post"``); a length of 0 marks the modality
  absent for that sample: it has no real step, enters no statistics and is all
  zero in the output (see :func:`skmemo.data.mark_absent` for all-NaN samples);
- otherwise every step from the first step with a non-zero feature onwards
  (``padding="pre"``: leading all-zero steps are padding, as produced by the
  CMU-MultimodalSDK), or up to the last such step (``padding="post"``). Zero
  steps *between* real steps are real. A sample with no non-zero step has no
  real step and stays all zero.

Steps outside the real part are zero in the output; ``"<modality>_lengths"``
entries are passed through unchanged. Use the same ``padding`` here and in
:class:`~skmemo.MultimodalEmotionClassifier`.

:class:`ModalityScaler` is the common case, standardisation with
:class:`~sklearn.preprocessing.StandardScaler` semantics, plus a policy for the
``-inf`` and NaN values found in real COVAREP audio features.
"""

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._checks import check_padding
from .data import MODALITIES, MultimodalData, check_X
from .exceptions import ModalityError

__all__ = ["ModalityTransformer", "ModalityScaler", "real_steps"]


def _as_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def real_steps(x, lengths=None, padding="pre"):
    """Boolean mask ``(n, T)`` of the real (non-padding) time steps of ``x``.

    Parameters
    ----------
    x : ndarray of shape (n, T, d)
    lengths : array-like of shape (n,), default=None
        Explicit real lengths; when None they are read from the zero padding.
    padding : {"pre", "post"}, default="pre"

    Returns
    -------
    ndarray of shape (n, T), bool

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.preprocessing import real_steps
    >>> x = np.array([[[0.], [0.], [1.], [0.], [2.]]])
    >>> real_steps(x).astype(int)
    array([[0, 0, 1, 1, 1]])
    >>> real_steps(x, lengths=[2]).astype(int)
    array([[0, 0, 0, 1, 1]])
    """
    n, T = x.shape[:2]
    if lengths is not None:
        lengths = np.asarray(lengths).reshape(n, 1)
        t = np.arange(T)[None, :]
        return t >= T - lengths if padding == "pre" else t < lengths
    nonzero = (x != 0).any(axis=2)  # NaN and inf count as real values
    if padding == "post":
        nonzero = nonzero[:, ::-1]
    mask = np.logical_or.accumulate(nonzero, axis=1)
    return mask[:, ::-1] if padding == "post" else mask


class ModalityTransformer(TransformerMixin, BaseEstimator):
    """Apply a scikit-learn transformer to each modality over the feature axis.

    A clone of ``transformer`` is fitted per modality on the real time steps of
    all samples (rows ``(n_real_steps, d_m)``), so its statistics ignore the
    zero padding; ``transform`` maps the real steps and leaves padding at zero.
    The output is a :class:`~skmemo.MultimodalData`, so the transformer can sit
    in a :class:`~sklearn.pipeline.Pipeline` before
    :class:`~skmemo.MultimodalEmotionClassifier`.

    Parameters
    ----------
    transformer : scikit-learn transformer
        Any object with ``fit`` and ``transform`` on 2-D arrays
        (``StandardScaler``, ``RobustScaler``, ``PCA``, ...). It is cloned, never
        fitted in place. It may change the number of features.
    modalities : list of str, default=None
        Modalities to transform; the others pass through unchanged. None
        transforms every modality present in fit (and refuses other
        modalities in ``transform``).
    padding : {"pre", "post"}, default="pre"
        Which end of a sample holds the padding: without
        ``<modality>_lengths``, leading ("pre") or trailing ("post") all-zero
        steps; with lengths ``L``, the real steps are the last ``L`` ("pre")
        or the first ``L`` ("post"). Use the estimator's setting.

    Attributes
    ----------
    transformers_ : dict
        ``{modality: fitted clone of transformer}``.
    modalities_ : tuple of str
        The transformed modalities.
    input_dims_ : dict
        ``{modality: n_features}`` seen in fit.
    output_dims_ : dict
        ``{modality: n_features}`` of the output.

    See Also
    --------
    ModalityScaler : Standardisation with a policy for NaN and inf.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skmemo import MultimodalData
    >>> from skmemo.preprocessing import ModalityTransformer
    >>> audio = np.array([[[0., 0.], [2., 4.], [4., 8.]],
    ...                   [[0., 0.], [0., 0.], [6., 0.]]])
    >>> Xt = ModalityTransformer(MinMaxScaler()).fit_transform(MultimodalData(audio=audio))
    >>> Xt["audio"][0]
    array([[0. , 0. ],
           [0. , 0.5],
           [0.5, 1. ]])
    """

    def __init__(self, transformer, *, modalities=None, padding="pre"):
        self.transformer = transformer
        self.modalities = modalities
        self.padding = padding

    # -- hooks for subclasses ----------------------------------------------
    def _make_transformer(self):
        return clone(self.transformer)

    def _check_transformer(self):
        t = self.transformer
        if isinstance(t, type) or not (hasattr(t, "fit") and hasattr(t, "transform")):
            raise TypeError(
                "transformer must be a scikit-learn transformer instance with fit and "
                f"transform, e.g. StandardScaler(); got {t!r}"
            )

    def _before(self, rows, modality, fitting):
        """Rows of real steps, before the wrapped transformer sees them."""
        return rows

    def _after(self, rows, modality):
        """Rows returned by the wrapped transformer, before they are written back."""
        return rows

    # -- validation ---------------------------------------------------------
    def _check_params(self):
        self._check_transformer()
        check_padding(self.padding)
        modalities = self.modalities
        if modalities is None:
            return None
        if isinstance(modalities, str):
            raise TypeError(
                f"modalities must be a list of modality names, e.g. [{modalities!r}]"
            )
        modalities = list(modalities)
        bad = [m for m in modalities if m not in MODALITIES]
        if not modalities or bad or len(set(modalities)) != len(modalities):
            raise ValueError(
                f"modalities must be distinct names among {list(MODALITIES)}; got "
                f"{self.modalities!r}"
            )
        return tuple(m for m in MODALITIES if m in modalities)

    def _mask(self, X, modality, x):
        lengths = X.get(f"{modality}_lengths")
        return real_steps(x, None if lengths is None else _as_numpy(lengths), self.padding)

    # -- scikit-learn API ---------------------------------------------------
    def fit(self, X, y=None):
        """Fit one transformer per modality on the real time steps.

        Parameters
        ----------
        X : mapping or MultimodalData
            ``{modality: (n, T_m, d_m)}``, optionally with ``<modality>_lengths``.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        chosen = self._check_params()
        X = check_X(X, check_finite=False)
        if chosen is None:
            chosen = X.modalities
        missing = [m for m in chosen if m not in X]
        if missing:
            raise ModalityError(
                f"modalities {missing} are not in X (keys {sorted(X)})"
            )
        transformers, input_dims, output_dims = {}, {}, {}
        for m in chosen:
            x = _as_numpy(X[m])
            rows = x[self._mask(X, m, x)]  # (n_real, d)
            if rows.shape[0] == 0:
                raise ValueError(
                    f"X[{m!r}] has no real time step to fit on: every step is zero "
                    "padding"
                )
            transformer = self._make_transformer()
            prepared = self._before(rows, m, fitting=True)
            transformer.fit(prepared)
            transformers[m] = transformer
            input_dims[m] = int(x.shape[2])
            output_dims[m] = int(np.shape(transformer.transform(prepared[:1]))[1])
        self.transformers_ = transformers
        self.modalities_ = tuple(chosen)
        self.input_dims_ = input_dims
        self.output_dims_ = output_dims
        return self

    def transform(self, X):
        """Transform the real steps of each fitted modality; padding stays zero.

        Parameters
        ----------
        X : mapping or MultimodalData

        Returns
        -------
        MultimodalData
            Transformed modalities as numpy arrays ``(n, T_m, d_out)``; other
            entries (other modalities, ``<modality>_lengths``) unchanged.
        """
        check_is_fitted(self)
        X = check_X(X, check_finite=False)
        if self.modalities is None:
            extra = [m for m in X.modalities if m not in self.modalities_]
            if extra:
                raise ModalityError(
                    f"modalities {extra} were not seen in fit (fitted: "
                    f"{list(self.modalities_)})"
                )
        out = {}
        for key, value in X.items():
            if key not in self.transformers_:
                out[key] = value
                continue
            x = _as_numpy(value)
            if x.shape[2] != self.input_dims_[key]:
                raise ValueError(
                    f"X[{key!r}] has {x.shape[2]} features per step, but "
                    f"{type(self).__name__} was fitted with {self.input_dims_[key]}"
                )
            mask = self._mask(X, key, x)
            rows = x[mask]
            if rows.shape[0]:
                rows = self.transformers_[key].transform(self._before(rows, key, False))
                rows = np.asarray(self._after(rows, key))
                dtype = rows.dtype if np.issubdtype(rows.dtype, np.floating) else np.float64
            else:
                dtype = np.float32
            result = np.zeros(x.shape[:2] + (self.output_dims_[key],), dtype=dtype)
            result[mask] = rows
            out[key] = result
        return MultimodalData(**out)

    def set_output(self, *, transform=None):
        """Output configuration: only the default (MultimodalData) is available.

        Pandas or polars output has no meaning for 3-D per-modality arrays.
        """
        if transform not in (None, "default"):
            raise ValueError(
                f"{type(self).__name__} returns MultimodalData (3-D arrays per "
                f"modality); set_output(transform={transform!r}) is not supported"
            )
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags


_NONFINITE = ("zero", "error")


class ModalityScaler(ModalityTransformer):
    """Standardise each modality's features over its real time steps.

    :class:`~sklearn.preprocessing.StandardScaler` semantics (mean 0 and
    variance 1 per feature; a constant feature is only centred), fitted per
    modality on the real steps of all samples; padded steps stay zero.

    Parameters
    ----------
    modalities : list of str, default=None
        Modalities to scale; the others pass through. None scales every
        modality present in fit.
    nonfinite : {"zero", "error"}, default="zero"
        What to do with NaN, ``inf`` and ``-inf`` (real COVAREP audio features
        contain ``-inf``):

        - ``"zero"``: non-finite values are ignored when the mean and variance
          are computed, and are 0 (the mean) after scaling. A feature with no
          finite value at all is 0 everywhere (with a warning);
        - ``"error"``: fit and transform raise a ``ValueError``.
    padding : {"pre", "post"}, default="pre"
        Where the zero padding sits when ``X`` has no ``<modality>_lengths``.

    Attributes
    ----------
    transformers_ : dict
        ``{modality: fitted StandardScaler}``.
    mean_ : dict
        ``{modality: ndarray (d_m,)}``: per-feature means.
    scale_ : dict
        ``{modality: ndarray (d_m,)}``: per-feature standard deviations.
    n_nonfinite_ : dict
        ``{modality: int}``: non-finite values seen in fit.
    modalities_, input_dims_, output_dims_
        As in :class:`ModalityTransformer`.

    Notes
    -----
    A real step whose features are *all* non-finite becomes all zero after
    scaling; if it is a sample's first real step, an estimator that reads
    lengths from the padding would take it for padding. Pass
    ``<modality>_lengths`` when such steps occur.

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo import MultimodalData
    >>> from skmemo.preprocessing import ModalityScaler
    >>> audio = np.array([[[0.], [1.], [-np.inf]],
    ...                   [[0.], [0.], [3.]]])
    >>> ModalityScaler().fit_transform(MultimodalData(audio=audio))["audio"][..., 0]
    array([[ 0., -1.,  0.],
           [ 0.,  0.,  1.]])
    """

    def __init__(self, *, modalities=None, nonfinite="zero", padding="pre"):
        self.modalities = modalities
        self.nonfinite = nonfinite
        self.padding = padding

    def _make_transformer(self):
        return StandardScaler()

    def _check_transformer(self):
        if self.nonfinite not in _NONFINITE:
            raise ValueError(
                f"nonfinite must be one of {list(_NONFINITE)}, got {self.nonfinite!r}"
            )

    def _before(self, rows, modality, fitting):
        finite = np.isfinite(rows)
        n_bad = int(rows.size - finite.sum())
        if fitting:
            self._n_nonfinite[modality] = n_bad
        if n_bad == 0:
            return rows
        if self.nonfinite == "error":
            raise ValueError(
                f"X[{modality!r}] contains {n_bad} non-finite values (NaN or inf) in "
                "its real time steps; use nonfinite='zero' to ignore them in the "
                "statistics and set them to 0 after scaling"
            )
        return np.where(finite, rows, np.nan)  # StandardScaler ignores NaN in fit

    def _after(self, rows, modality):
        return np.nan_to_num(rows, nan=0.0, posinf=0.0, neginf=0.0)

    def fit(self, X, y=None):
        """Compute per-modality means and standard deviations on real steps.

        Parameters
        ----------
        X : mapping or MultimodalData
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._n_nonfinite = {}
        try:
            with np.errstate(invalid="ignore", divide="ignore"):
                super().fit(X, y)
            n_nonfinite = dict(self._n_nonfinite)
        finally:
            del self._n_nonfinite
        self.mean_ = {m: t.mean_ for m, t in self.transformers_.items()}
        self.scale_ = {m: t.scale_ for m, t in self.transformers_.items()}
        self.n_nonfinite_ = n_nonfinite
        for m, mean in self.mean_.items():
            empty = np.flatnonzero(np.isnan(mean))
            if empty.size:
                warnings.warn(
                    f"features {empty.tolist()} of X[{m!r}] have no finite value in "
                    "the real time steps; they are 0 after scaling", UserWarning,
                    stacklevel=2,
                )
        return self

    def transform(self, X):
        """Standardise the real steps; non-finite values become 0; padding stays 0.

        Parameters
        ----------
        X : mapping or MultimodalData

        Returns
        -------
        MultimodalData
        """
        with np.errstate(invalid="ignore"):
            return super().transform(X)

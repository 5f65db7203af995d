"""From a table of raw columns to one :class:`~skmemo.MultimodalData`."""

from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..data import MODALITIES, MultimodalData
from ..exceptions import ModalityError

__all__ = ["MultimodalColumns"]


class MultimodalColumns(TransformerMixin, BaseEstimator):
    """Apply one transformer per modality to the columns of a table.

    The first step of a :class:`~sklearn.pipeline.Pipeline` that goes from raw
    columns (utterances, waveforms or file paths, face-tracker tables) to
    :class:`~skmemo.MultimodalEmotionClassifier` predictions. Like
    :class:`~sklearn.compose.ColumnTransformer`, it hands each transformer one
    column; unlike it, the outputs are kept apart, one modality each, in a
    :class:`~skmemo.MultimodalData` (with ``"<modality>_lengths"`` when the
    transformer gives them).

    Parameters
    ----------
    text, audio, visual : transformer or None, default=None
        The transformer of each modality, e.g.
        :class:`WordVectorizer`, :class:`AudioFeaturizer`,
        :class:`FaceFeatureReader`; None leaves the modality out. Each is
        cloned at fit. Its ``transform`` returns either a mapping holding the
        modality key (and optionally ``"<modality>_lengths"``) or a 3-D array
        ``(n, T, d)``. Nested parameters are reachable as usual:
        ``set_params(text__max_len=30)``.
    columns : dict, default=None
        ``{modality: column name}``; a modality not listed reads the column
        of its own name (``"text"``, ``"audio"``, ``"visual"``).

    Attributes
    ----------
    transformers_ : dict
        ``{modality: fitted clone}``.
    columns_ : dict
        ``{modality: column name}`` used.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmemo.feature_extraction import MultimodalColumns, WordVectorizer
    >>> df = pd.DataFrame({"Utterance": ["Oh my God!", "I'm fine."]})
    >>> cols = MultimodalColumns(text=WordVectorizer(), columns={"text": "Utterance"})
    >>> cols.fit_transform(df)
    MultimodalData(text=(2, 4, 50), text_lengths=(2,))
    """

    def __init__(self, text=None, audio=None, visual=None, *, columns=None):
        self.text = text
        self.audio = audio
        self.visual = visual
        self.columns = columns

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        return tags

    def _plan(self):
        chosen = {m: getattr(self, m) for m in MODALITIES if getattr(self, m) is not None}
        if not chosen:
            raise ModalityError(
                "MultimodalColumns has no transformer: give at least one of text=, "
                "audio=, visual=")
        for m, t in chosen.items():
            if isinstance(t, type) or not (hasattr(t, "fit") and hasattr(t, "transform")):
                raise TypeError(
                    f"{m} must be a transformer instance with fit and transform, e.g. "
                    f"WordVectorizer(); got {t!r}")
        columns = {} if self.columns is None else self.columns
        if not isinstance(columns, Mapping):
            raise TypeError(
                f"columns must be a dict {{modality: column name}}; got {columns!r}")
        unknown = sorted(set(columns) - set(MODALITIES))
        if unknown:
            raise ModalityError(
                f"columns has unknown modalities {unknown}; expected keys among "
                f"{list(MODALITIES)}")
        return chosen, {m: columns.get(m, m) for m in chosen}

    @staticmethod
    def _column(X, name, modality):
        if not hasattr(X, "__getitem__") or isinstance(X, (str, np.ndarray)):
            raise TypeError(
                "X must be a pandas DataFrame or a mapping {column name: values}; got "
                f"{type(X).__name__}")
        keys = list(X.columns) if hasattr(X, "columns") else list(X.keys())
        if name not in keys:
            raise KeyError(
                f"X has no column {name!r} for the {modality} modality; its columns are "
                f"{keys[:20]}. Name the column with columns={{{modality!r}: ...}}")
        column = X[name]
        return column.tolist() if hasattr(column, "tolist") and hasattr(column, "index") \
            else column

    @staticmethod
    def _output(out, modality):
        if isinstance(out, Mapping):
            if modality not in out:
                raise ModalityError(
                    f"the {modality} transformer returned keys {sorted(out)}, without "
                    f"{modality!r}")
            part = {modality: out[modality]}
            if f"{modality}_lengths" in out:
                part[f"{modality}_lengths"] = out[f"{modality}_lengths"]
            return part
        arr = np.asarray(out)
        if arr.ndim != 3:
            raise ValueError(
                f"the {modality} transformer must return a mapping or a 3-D array "
                f"(n, T, d); got shape {arr.shape}")
        return {modality: arr}

    def _n_rows(self, X):
        return len(X.index) if hasattr(X, "index") else len(next(iter(X.values())))

    def fit(self, X, y=None):
        """Fit each modality's transformer on its column.

        Parameters
        ----------
        X : pandas DataFrame or mapping of column name -> sequence
        y : ignored
            Not passed on: the feature extractors learn from the inputs only.

        Returns
        -------
        self
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit each transformer on its column and return the combined features."""
        chosen, columns = self._plan()
        fitted, parts = {}, {}
        for m, t in chosen.items():
            t = clone(t)
            parts.update(self._output(t.fit_transform(self._column(X, columns[m], m)), m))
            fitted[m] = t
        out = self._combine(parts, X)
        self.transformers_ = fitted
        self.columns_ = columns
        return out

    def transform(self, X):
        """Transform each modality's column with its fitted transformer.

        Returns
        -------
        MultimodalData
        """
        check_is_fitted(self, "transformers_")
        parts = {}
        for m, t in self.transformers_.items():
            parts.update(self._output(t.transform(self._column(X, self.columns_[m], m)), m))
        return self._combine(parts, X)

    def _combine(self, parts, X):
        n = self._n_rows(X)
        counts = {k: len(v) for k, v in parts.items()}
        if any(c != n for c in counts.values()):
            raise ValueError(
                f"the transformers returned different numbers of samples {counts} for "
                f"{n} rows of X")
        return MultimodalData(**parts)

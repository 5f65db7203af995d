"""Several sentence encoders as one text space: weighted, normalised concatenation."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..data import MultimodalData
from ._text import as_texts

__all__ = ["TextEncoderUnion"]


class TextEncoderUnion(TransformerMixin, BaseEstimator):
    """Pooled embeddings of several sentence encoders, as one space.

    Each encoder's pooled embedding of an utterance is scaled to unit length,
    multiplied by ``sqrt(w_i / sum(w))`` and the parts are concatenated, so
    that the cosine of two outputs is the weighted mean of the encoders'
    own cosines::

        cos(union(a), union(b)) = sum_i w_i cos_i(a, b) / sum_i w_i

    The output is a :class:`~skmemo.MultimodalData` with one step per
    utterance (``"text"`` ``(n, 1, sum d_i)``, ``"text_lengths"`` all 1), as
    :class:`TextEncoder`'s with ``output="pooled"``. Like a
    :class:`TextEncoder`, the union is also a ``word_vectors`` source
    (:meth:`embed_emotions`): each encoder embeds the emotion names with its
    own ``emotion_prompt``, and the parts are joined the same way, so
    utterances and emotions share the union's space.

    Sentence encoders differ in how spread their cosines are (the
    multilingual-e5 family puts most pairs of sentences near 0.8, MiniLM near
    0.15), so equal weights let the widest spread dominate.
    :meth:`balanced_weights` measures each encoder's spread on your own
    utterances (no labels) and returns weights that put them on an equal
    footing.

    Parameters
    ----------
    encoders : list of TextEncoder
        At least two. Their pooled embeddings are used whatever their
        ``output`` (the union always gives one vector per utterance); their
        ``empty`` setting applies (an empty utterance with ``empty="zero"`` is
        a zero part).
    weights : list of float, default=None
        One positive weight per encoder; None: equal weights.

    Attributes
    ----------
    encoders_ : list of TextEncoder
        The fitted encoders (clones with ``output="pooled"``).
    n_features_out_ : int
        Sum of the encoders' dimensions.

    Examples
    --------
    >>> from skmemo.feature_extraction import TextEncoder, TextEncoderUnion
    >>> union = TextEncoderUnion([  # doctest: +SKIP
    ...     TextEncoder(),
    ...     TextEncoder(model="multilingual-e5-small", emotion_prompt="This is {}.")])
    >>> union.fit_transform(["I love it!", "so sad"])["text"].shape  # doctest: +SKIP
    (2, 1, 768)
    """

    def __init__(self, encoders, weights=None):
        self.encoders = encoders
        self.weights = weights

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    def _check_params(self):
        encoders = self.encoders
        if (isinstance(encoders, (str, bytes)) or not hasattr(encoders, "__len__")
                or len(encoders) < 2):
            raise ValueError("encoders must be a list of at least two TextEncoder, got "
                             f"{encoders!r}")
        for i, enc in enumerate(encoders):
            if not (hasattr(enc, "embed_emotions") and hasattr(enc, "fit")
                    and hasattr(enc, "get_params") and "output" in enc.get_params()):
                raise TypeError(f"encoders[{i}] must be a TextEncoder, got "
                                f"{type(enc).__name__}")
        if self.weights is None:
            return np.full(len(encoders), 1.0 / len(encoders))
        w = self.weights
        if (isinstance(w, (str, bytes)) or not hasattr(w, "__len__")
                or len(w) != len(encoders)
                or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                           and np.isfinite(v) and v > 0 for v in w)):
            raise ValueError(
                f"weights must be None or one positive number per encoder ({len(encoders)}),"
                f" got {w!r}")
        w = np.asarray(w, dtype=np.float64)
        return w / w.sum()

    def _join(self, parts):
        """Unit-length parts, scaled by sqrt(weight), side by side: (n, sum d)."""
        scale = np.sqrt(self._check_params())
        out = []
        for a, part in zip(scale, parts):
            part = np.asarray(part, dtype=np.float32)
            norm = np.linalg.norm(part, axis=1, keepdims=True)
            out.append(a * part / np.where(norm > 0, norm, 1.0))
        return np.hstack(out).astype(np.float32)

    def fit(self, X, y=None):
        """Fit every encoder (pooled output) on ``X``.

        Parameters
        ----------
        X : sequence of str
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        texts = as_texts(X)
        self.encoders_ = [clone(enc).set_params(output="pooled").fit(texts)
                          for enc in self.encoders]
        self.n_features_out_ = int(sum(e.n_features_out_ for e in self.encoders_))
        return self

    def transform(self, X):
        """The union's embedding of each utterance.

        Parameters
        ----------
        X : sequence of str

        Returns
        -------
        MultimodalData
            ``"text"``: ``(n, 1, n_features_out_)`` float32, ``"text_lengths"``: ones.
        """
        check_is_fitted(self, "encoders_")
        texts = as_texts(X)
        parts = [enc.transform(texts)["text"][:, 0] for enc in self.encoders_]
        joined = self._join(parts)
        return MultimodalData(text=joined[:, None, :],
                              text_lengths=np.ones(len(joined), dtype=np.int64))

    def embed_emotions(self, emotions):
        """Emotion embeddings in the union's space, ``(K, n_features_out_)``.

        What the estimator calls when the union is its ``word_vectors``; each
        encoder embeds the names with its own ``emotion_prompt``.
        """
        self._check_params()
        return self._join([enc.embed_emotions(emotions) for enc in self.encoders])

    def balanced_weights(self, X, n_texts=500, random_state=0):
        """Weights that give each encoder's cosines the same spread on ``X``.

        For each encoder, the standard deviation of the cosine over all pairs
        of ``n_texts`` distinct utterances drawn from ``X``; its weight is the
        inverse, scaled so that the first encoder's is 1. Labels are not used.
        Pass the result as ``weights`` (``union.set_params(weights=...)``).

        Parameters
        ----------
        X : sequence of str
            At least two distinct utterances, e.g. the training texts.
        n_texts : int, default=500
            Utterances drawn (all of them when ``X`` has fewer).
        random_state : int, default=0

        Returns
        -------
        list of float
        """
        texts = sorted(set(as_texts(X)))
        if len(texts) < 2:
            raise ValueError("balanced_weights needs at least two distinct utterances")
        if not isinstance(n_texts, numbers.Integral) or n_texts < 2:
            raise ValueError(f"n_texts must be an integer >= 2, got {n_texts!r}")
        rng = np.random.default_rng(random_state)
        if len(texts) > n_texts:
            texts = [texts[i] for i in np.sort(rng.choice(len(texts), n_texts, replace=False))]
        upper = np.triu_indices(len(texts), 1)
        spread = []
        for enc in self.encoders:
            vec = clone(enc).set_params(output="pooled").fit(texts).transform(texts)["text"][:, 0]
            vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
            spread.append(float(np.std((vec @ vec.T)[upper])))
        if min(spread) <= 0:
            raise ValueError("an encoder gives the same cosine to every pair; cannot "
                             "balance it")
        return [spread[0] / s for s in spread]

"""Zero-shot emotions: :meth:`MultimodalEmotionClassifier.add_emotions`."""

import numpy as np
import torch

from ._transaction import training_call
from .vectors import emotion_vectors


class ZeroShotMixin:
    """Extends a fitted estimator's label space from word vectors alone."""

    def add_emotions(self, words, *, threshold=None):
        """Add emotions zero-shot, from their word vectors alone.

        Each new emotion's word vector is appended to the frozen textual
        emotion embeddings; the learned mapping functions carry it into the
        audio and visual spaces. From then on ``predict_proba``, ``predict``,
        ``decision_function``, ``classes_`` and ``emotions_`` include it.

        Parameters
        ----------
        words : list of str or mapping
            Emotion specifications (``"awe"``, ``"surprise|surprised"``,
            ``"mildly annoyed"``), looked up in the ``word_vectors`` source used
            at fit; or a mapping ``{name: vector}`` of ready vectors of the
            word-vector dimension.
        threshold : float, array-like of shape (len(words),) or None, default=None
            Decision threshold of the new emotions (appended to
            ``thresholds_``). None uses the estimator's ``threshold`` when it
            is a float, else 0.5.

        Returns
        -------
        self

        Notes
        -----
        Atomic: if any word is unknown, already present or repeated, nothing is
        added. ``clone`` of an estimator with added emotions gives an unfitted
        estimator with the original ``emotions`` parameter (added emotions are
        fitted state, not parameters).
        """
        self._check_fitted("add_emotions")
        if isinstance(words, str):
            raise TypeError("words must be a list of emotion words, e.g. ['awe']")
        if hasattr(words, "keys"):
            names = [str(n) for n in words.keys()]
        else:
            names = list(words)
        if not names:
            raise ValueError("add_emotions got no emotion words")
        normalised = [str(n).lower().strip() for n in names]
        present = {e.lower().strip() for e in self.emotions_}
        clash = sorted({n for n in normalised if n in present})
        if clash:
            raise ValueError(f"emotions already present: {clash}")
        dupes = sorted({n for n in normalised if normalised.count(n) > 1})
        if dupes:
            raise ValueError(f"words contains duplicates: {dupes}")
        new_thresholds = self._new_thresholds(threshold, len(names))
        d = self.emotion_vectors_.shape[1]
        if hasattr(words, "keys"):
            rows = [np.asarray(words[n], dtype=np.float32).ravel() for n in words.keys()]
            bad = {n: r.shape[0] for n, r in zip(names, rows)
                   if r.shape[0] != d or not np.all(np.isfinite(r))}
            if bad:
                raise ValueError(
                    f"vectors passed to add_emotions must be finite and of the "
                    f"word-vector dimension {d}; got sizes {bad}"
                )
            vectors = np.stack(rows)
        else:
            vectors = emotion_vectors(names, self.word_vectors)
            if vectors.shape[1] != d:
                raise ValueError(
                    f"the word-vector source now gives {vectors.shape[1]}-d vectors, "
                    f"but the model was fitted with {d}-d vectors"
                )

        # validated: commit, as one transaction
        with training_call(self):
            self.network_.add_emotions(vectors)
            self._drop_stale_optimizer_state()
            self.emotion_vectors_ = np.concatenate([self.emotion_vectors_, vectors])
            self.emotions_ = list(self.emotions_) + names
            self.thresholds_ = np.concatenate([self.thresholds_, new_thresholds])
            self.classes_ = np.array([[0, 1]] * len(self.emotions_))
            if self.pos_weight_ is not None:
                self.pos_weight_ = np.concatenate(
                    [self.pos_weight_, np.ones(len(names), np.float32)])
                self._set_pos_weight(self.pos_weight_)
        return self

    def _drop_stale_optimizer_state(self):
        """Forget optimizer moments of parameters that ``add_emotions`` grew.

        A per-emotion parameter (the gates of ``text_scoring="calibrated_cosine"``)
        gets an entry per new emotion; its old moments no longer fit its shape.
        """
        if getattr(self.network_, "emotion_gates", None) is None:
            return
        if "optimizer_state_pending_" in self.__dict__:
            optimizer = self.optimizer_  # a loaded model: build it with its state
        else:
            optimizer = self.__dict__.get("optimizer_")
        if optimizer is None:
            return
        for p in [p for p in optimizer.state if isinstance(p, torch.Tensor)]:
            if any(isinstance(v, torch.Tensor) and v.ndim and v.shape != p.shape
                   for v in optimizer.state[p].values()):
                del optimizer.state[p]

    def _new_thresholds(self, threshold, n):
        """Thresholds of ``n`` added emotions: a float, ``n`` values, or None."""
        if threshold is None:
            t = self.threshold
            threshold = float(t) if np.isscalar(t) and not isinstance(t, str) else 0.5
        try:
            arr = np.broadcast_to(np.asarray(threshold, dtype=float), (n,)).copy()
        except (TypeError, ValueError):
            raise ValueError(
                f"threshold must be a float or one value per added emotion ({n}); got "
                f"{threshold!r}") from None
        if not np.all((arr >= 0) & (arr <= 1)):
            raise ValueError(f"threshold values must lie in [0, 1]; got {threshold!r}")
        return arr

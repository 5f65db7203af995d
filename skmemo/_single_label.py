"""Single-label mode of the estimator: softmax over the emotions.

With ``single_label=True`` every sample carries exactly one emotion (MELD,
EmoryNLP, IEMOCAP's four classes): the loss is the cross-entropy of the
softmax over the emotions' logits, ``predict_proba`` is that softmax (rows sum
to 1) and ``predict`` marks the most probable emotion of each sample
(``thresholds_`` are not used). ``decision_function`` still returns the logits.
An emotion added zero-shot enters the softmax like the fitted ones, so its
probability is its share against the known emotions.

The logits of the emotions of the fit are centred per sample (their mean over
those emotions is subtracted). The softmax over them does not see a common
shift, so training and the fitted emotions' probabilities are unchanged; but
their level is otherwise free (training can move every fitted logit down
together), and an emotion added later would be compared with an arbitrary
level. Centred, an added emotion's logit (its training-free score for a
sentence encoder) stands against fitted logits that average zero for every
utterance. Measured in ``benchmarks/results/text_model.md`` (MELD zero-shot).
"""

import numpy as np
import torch
import torch.nn.functional as F

__all__ = []


def centre_fitted(logits, n_fitted):
    """``logits`` (B, K) with the first ``n_fitted`` columns' row mean subtracted."""
    n = min(int(n_fitted), logits.shape[1])
    fitted = logits[:, :n]
    centred = fitted - fitted.mean(dim=1, keepdim=True)
    return torch.cat([centred, logits[:, n:]], dim=1) if n < logits.shape[1] else centred


class SingleLabelMixin:
    """``single_label``: softmax / cross-entropy / argmax instead of sigmoids."""

    def infer(self, x, **fit_params):
        out = super().infer(x, **fit_params)
        if not getattr(self, "single_label", False):
            return out
        if isinstance(out, tuple):  # (logits, representation)
            return (centre_fitted(out[0], self.n_fit_emotions_), *out[1:])
        return centre_fitted(out, self.n_fit_emotions_)

    def _proba_from_logits(self, logits):
        """Probabilities from logits (Tensor (n, K)): softmax or sigmoid."""
        if getattr(self, "single_label", False):
            return torch.softmax(logits.float(), dim=1)
        return torch.sigmoid(logits)

    def _decide(self, proba, n_emotions=None):
        """0/1 decisions (n, K) from probabilities (ndarray)."""
        if getattr(self, "single_label", False):
            out = np.zeros(proba.shape, dtype=int)
            out[np.arange(len(proba)), proba.argmax(axis=1)] = 1
            return out
        thresholds = self.thresholds_[:proba.shape[1] if n_emotions is None else n_emotions]
        return (proba > thresholds).astype(int)

    def predict_proba(self, X):
        """Probability of each emotion, ``(n, K)``.

        ``sigmoid(logits)`` (multi-label); with ``single_label=True``,
        ``softmax(logits)`` over the emotions.
        """
        X = self._check_predict_X(X)
        logits = self.forward(X, training=False).detach()
        return self._proba_from_logits(logits).numpy().astype(np.float64)

    def predict(self, X):
        """0/1 predictions ``(n, K)``.

        ``predict_proba(X) > thresholds_``; with ``single_label=True``, one 1
        per row, at the most probable emotion.
        """
        return self._decide(self.predict_proba(X))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if not getattr(self, "single_label", False):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        target = torch.as_tensor(y_true, device=y_pred.device).argmax(dim=1)
        weight = None
        if getattr(self, "pos_weight_", None) is not None:
            # balanced: each emotion weighed by the inverse of its frequency,
            # (negatives + positives) / positives = pos_weight + 1, mean 1
            w = torch.as_tensor(self.pos_weight_, dtype=torch.float32,
                                device=y_pred.device) + 1
            weight = w / w.mean()
        return F.cross_entropy(y_pred.float(), target, weight=weight)

    def _compute_pos_weight(self, y):
        if getattr(self, "single_label", False):
            counts = np.asarray(y).sum(axis=1)
            bad = np.flatnonzero(counts != 1)
            if bad.size:
                raise ValueError(
                    "single_label=True needs exactly one emotion per sample; rows "
                    f"{bad[:5].tolist()} have {counts[bad[:5]].astype(int).tolist()}. "
                    "Use single_label=False for multi-label data")
        return super()._compute_pos_weight(y)

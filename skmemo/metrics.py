"""Metrics for multi-label emotion recognition, and scikit-learn scorers.

The paper (Dai et al., 2020, section 5.3) reports per emotion:

- weighted accuracy ``(TP * N / P + TN) / (2 N)``, with P and N the positives and
  negatives *of y_true* (equal to balanced accuracy);
- the area under the ROC curve (scikit-learn's ``roc_auc_score``);
- the binary weighted F1 of prior work, ``P/I * F1_pos + N/I * F1_neg``.

Degenerate columns. When an emotion has no positives (P = 0) or no negatives
(N = 0) in ``y_true``, weighted accuracy reduces to the accuracy on the class
that is present (the recall of that class), a :class:`UndefinedMetricWarning` is
raised, and the value enters the mean like any other. The AUC of such a column
is undefined: it is reported as NaN in per-emotion output and left out of the
macro mean, with a warning.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import f1_score, make_scorer, roc_auc_score

__all__ = [
    "weighted_accuracy_score",
    "weighted_f1_score",
    "emotion_roc_auc_score",
    "weighted_accuracy_scorer",
    "weighted_f1_scorer",
    "roc_auc_scorer",
    "get_scorer",
    "get_scorer_names",
]

_AVERAGES = ("macro", None)


def _check_pair(y_true, y_pred, name_pred="y_pred"):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    if y_true.ndim != 2 or y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and {name_pred} must both be (n_samples, n_emotions) with the "
            f"same shape; got {y_true.shape} and {y_pred.shape}"
        )
    if y_true.shape[0] == 0:
        raise ValueError("y_true is empty: no samples to score")
    if not np.isin(np.unique(y_true), [0, 1]).all():
        raise ValueError("y_true must be a binary (0/1) indicator matrix")
    return y_true.astype(bool), y_pred


def _check_average(average):
    if average not in _AVERAGES:
        raise ValueError(f"average must be 'macro' or None, got {average!r}")


def weighted_accuracy_score(y_true, y_pred, *, average="macro"):
    """Weighted accuracy per emotion, ``(TP * N/P + TN) / (2N)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_emotions)
        Binary ground truth. P and N are counted here.
    y_pred : array-like of shape (n_samples, n_emotions)
        Binary predictions.
    average : {"macro", None}, default="macro"
        ``None`` returns one value per emotion.

    Returns
    -------
    float or ndarray of shape (n_emotions,)

    Examples
    --------
    >>> from skmemo.metrics import weighted_accuracy_score
    >>> y_true = [[1, 0], [0, 0], [0, 1], [0, 1]]
    >>> y_pred = [[1, 1], [1, 0], [0, 1], [0, 0]]
    >>> weighted_accuracy_score(y_true, y_pred, average=None)
    array([0.83333333, 0.5       ])
    """
    _check_average(average)
    y_true, y_pred = _check_pair(y_true, y_pred)
    if not np.isin(np.unique(y_pred), [0, 1]).all():
        raise ValueError(
            "y_pred must be binary (0/1); for probabilities threshold them first "
            "or use emotion_roc_auc_score"
        )
    y_pred = y_pred.astype(bool)
    P = y_true.sum(axis=0)
    N = (~y_true).sum(axis=0)
    TP = (y_true & y_pred).sum(axis=0)
    TN = (~y_true & ~y_pred).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = np.where(P > 0, TP / np.maximum(P, 1), np.nan)
        tnr = np.where(N > 0, TN / np.maximum(N, 1), np.nan)
    scores = np.where(P == 0, tnr, np.where(N == 0, tpr, (tpr + tnr) / 2))
    degenerate = (P == 0) | (N == 0)
    if degenerate.any():
        warnings.warn(
            f"emotion column(s) {np.flatnonzero(degenerate).tolist()} of y_true have "
            "only one class; their weighted accuracy is the accuracy on that class",
            UndefinedMetricWarning, stacklevel=2,
        )
    return scores.astype(float) if average is None else float(scores.mean())


def weighted_f1_score(y_true, y_pred, *, average="macro"):
    """Binary weighted F1 of prior work (paper eq. 5), per emotion.

    ``P/I * F1(positive class) + N/I * F1(negative class)`` with ``I = P + N``;
    this is scikit-learn's ``f1_score(average="weighted")`` on each column.
    It rises with the threshold on imbalanced data (paper appendix B).

    Examples
    --------
    >>> from skmemo.metrics import weighted_f1_score
    >>> round(weighted_f1_score([[1], [0], [0], [0]], [[1], [0], [0], [1]]), 4)
    0.7833
    """
    _check_average(average)
    y_true, y_pred = _check_pair(y_true, y_pred)
    scores = np.array([
        f1_score(y_true[:, k], y_pred[:, k].astype(bool), average="weighted",
                 labels=[False, True], zero_division=0.0)
        for k in range(y_true.shape[1])
    ])
    return scores if average is None else float(scores.mean())


def emotion_roc_auc_score(y_true, y_score, *, average="macro"):
    """ROC AUC per emotion; columns with one class are NaN and skipped in the mean.

    Examples
    --------
    >>> from skmemo.metrics import emotion_roc_auc_score
    >>> emotion_roc_auc_score([[1, 0], [0, 1], [1, 1]], [[.9, .2], [.1, .8], [.7, .4]])
    0.75
    """
    _check_average(average)
    y_true, y_score = _check_pair(y_true, y_score, "y_score")
    y_score = y_score.astype(float)
    scores = np.full(y_true.shape[1], np.nan)
    for k in range(y_true.shape[1]):
        if 0 < y_true[:, k].sum() < len(y_true):
            scores[k] = roc_auc_score(y_true[:, k], y_score[:, k])
    if np.isnan(scores).any():
        warnings.warn(
            f"emotion column(s) {np.flatnonzero(np.isnan(scores)).tolist()} of y_true "
            "have only one class; their AUC is undefined (NaN) and left out of the mean",
            UndefinedMetricWarning, stacklevel=2,
        )
    if average is None:
        return scores
    if np.isnan(scores).all():
        return float("nan")
    return float(np.nanmean(scores))


weighted_accuracy_scorer = make_scorer(weighted_accuracy_score)
weighted_f1_scorer = make_scorer(weighted_f1_score)
roc_auc_scorer = make_scorer(emotion_roc_auc_score, response_method="predict_proba")

_SCORERS = {
    "weighted_accuracy": weighted_accuracy_scorer,
    "weighted_f1": weighted_f1_scorer,
    "emotion_roc_auc": roc_auc_scorer,
}


def get_scorer_names():
    """Names of skmemo's own scorers, for :func:`get_scorer`.

    Examples
    --------
    >>> from skmemo.metrics import get_scorer_names
    >>> get_scorer_names()
    ['emotion_roc_auc', 'weighted_accuracy', 'weighted_f1']
    """
    return sorted(_SCORERS)


def get_scorer(name):
    """Return one of skmemo's scorers by name.

    Pass the returned object as ``scoring`` (or as a value of a ``scoring``
    dict) to ``cross_val_score``, ``cross_validate`` or ``GridSearchCV``.
    """
    try:
        return _SCORERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"{name!r} is not a skmemo scorer; choose one of {get_scorer_names()}"
        ) from None

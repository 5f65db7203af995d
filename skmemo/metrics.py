"""Metrics for multi-label emotion recognition, and scikit-learn scorers.

The paper (Dai et al., 2020, section 5.3) reports per emotion:

- weighted accuracy ``(TP * N / P + TN) / (2 N)``, with P and N the positives and
  negatives *of y_true* (equal to balanced accuracy);
- the area under the ROC curve (scikit-learn's ``roc_auc_score``);
- the binary weighted F1 of prior work, ``P/I * F1_pos + N/I * F1_neg``.

Degenerate columns. When an emotion has no positives (P = 0) or no negatives
(N = 0) in ``y_true`` (common in small cross-validation folds), every function
here returns a defined value and raises one
:class:`~sklearn.exceptions.UndefinedMetricWarning` naming the columns:

- weighted accuracy reduces to the accuracy on the class that is present (the
  recall of that class) and enters the macro mean like any other value;
- weighted F1 reduces to the F1 of the class that is present (its weight is 1)
  and enters the macro mean like any other value;
- the AUC is undefined: NaN in per-emotion output, left out of the macro mean;
  when *every* column is degenerate the macro AUC is NaN (with the warning).

The scorers (:func:`get_scorer`) are module-level objects made with
:func:`sklearn.metrics.make_scorer`, so they work in ``cross_val_score``,
``cross_validate`` and ``GridSearchCV(scoring={...}, refit=...)``. scikit-learn
only accepts its own names as ``scoring`` strings: there, pass skmemo's scorer
objects, not their names. The estimators' scoring callbacks (skorch's
``EpochScoring`` / ``BatchScoring`` in ``callbacks``) take the names too, e.g.
``EpochScoring("emotion_roc_auc", lower_is_better=False)``; a name that neither
skmemo nor scikit-learn knows is refused before training.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import f1_score, make_scorer, roc_auc_score
from sklearn.utils.validation import check_scalar

__all__ = [
    "weighted_accuracy_score",
    "weighted_f1_score",
    "emotion_roc_auc_score",
    "emotion_classification_report",
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


def _check_binary_pred(y_pred):
    if not np.isin(np.unique(y_pred), [0, 1]).all():
        raise ValueError(
            "y_pred must be binary (0/1); for probabilities threshold them first "
            "or use emotion_roc_auc_score"
        )
    return y_pred.astype(bool)


def _degenerate(y_true):
    """Boolean mask of the columns of y_true with one class only."""
    P = y_true.sum(axis=0)
    return (P == 0) | (P == y_true.shape[0])


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
    y_pred = _check_binary_pred(y_pred)
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
        An F1 without any predicted or true member of a class counts as 0 for
        that class. A column of ``y_true`` with one class only scores the F1 of
        that class (with an ``UndefinedMetricWarning``).

    Examples
    --------
    >>> from skmemo.metrics import weighted_f1_score
    >>> round(weighted_f1_score([[1], [0], [0], [0]], [[1], [0], [0], [1]]), 4)
    0.7667
    """
    _check_average(average)
    y_true, y_pred = _check_pair(y_true, y_pred)
    y_pred = _check_binary_pred(y_pred)
    scores = np.array([
        f1_score(y_true[:, k], y_pred[:, k], average="weighted",
                 labels=[False, True], zero_division=0.0)
        for k in range(y_true.shape[1])
    ])
    degenerate = _degenerate(y_true)
    if degenerate.any():
        warnings.warn(
            f"emotion column(s) {np.flatnonzero(degenerate).tolist()} of y_true have "
            "only one class; their weighted F1 is the F1 of that class",
            UndefinedMetricWarning, stacklevel=2,
        )
    return scores if average is None else float(scores.mean())


def emotion_roc_auc_score(y_true, y_score, *, average="macro"):
    """ROC AUC per emotion; columns with one class are NaN and skipped in the mean.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_emotions)
        Binary ground truth.
    y_score : array-like of shape (n_samples, n_emotions)
        Scores: probabilities (``predict_proba``) or logits
        (``decision_function``).
    average : {"macro", None}, default="macro"
        ``None`` returns one value per emotion.

    Returns
    -------
    float or ndarray of shape (n_emotions,)
        The AUC of a column of ``y_true`` with one class only is undefined: NaN
        per emotion, left out of the macro mean (NaN when every column is
        degenerate), with an ``UndefinedMetricWarning``.

    Examples
    --------
    >>> from skmemo.metrics import emotion_roc_auc_score
    >>> y_true = [[1, 0], [0, 1], [1, 1], [0, 0]]
    >>> y_score = [[.9, .2], [.1, .8], [.3, .4], [.4, .5]]
    >>> emotion_roc_auc_score(y_true, y_score)
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


_REPORT_COLUMNS = (
    ("weighted_accuracy", "W-Acc"),
    ("roc_auc", "AUC"),
    ("f1", "F1"),
    ("weighted_f1", "W-F1"),
)


def _report_names(y_true, emotions, n_emotions):
    if emotions is None:
        columns = getattr(y_true, "columns", None)
        emotions = [str(c) for c in columns] if columns is not None else None
    if emotions is None:
        return [str(k) for k in range(n_emotions)]
    if isinstance(emotions, str):
        raise TypeError("emotions must be a list of names, one per column, not a string")
    names = [str(e) for e in emotions]
    if len(names) != n_emotions:
        raise ValueError(
            f"emotions has {len(names)} names but y_true has {n_emotions} columns"
        )
    if len(set(names)) != len(names) or "macro avg" in names:
        raise ValueError(
            f"emotions must be distinct names other than 'macro avg'; got {names}"
        )
    return names


def emotion_classification_report(y_true, y_pred, y_score=None, *, emotions=None,
                                  output_dict=False, digits=3):
    """Per-emotion table of the paper's metrics, with a macro-average row.

    Columns: weighted accuracy (W-Acc), ROC AUC (when ``y_score`` is given),
    the F1 of the positive class (scikit-learn's ``f1_score``), the binary
    weighted F1 (W-F1) and the support (number of positives in ``y_true``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_emotions)
        Binary ground truth (a pandas DataFrame names the rows of the report).
    y_pred : array-like of shape (n_samples, n_emotions)
        Binary predictions, e.g. ``clf.predict(X)``.
    y_score : array-like of shape (n_samples, n_emotions), default=None
        Scores for the AUC, e.g. ``clf.predict_proba(X)``; without it the AUC
        column is left out.
    emotions : list of str, default=None
        Row names; default: the columns of a pandas ``y_true``, else
        ``"0", "1", ...``.
    output_dict : bool, default=False
        Return a dict ``{emotion: {metric: value}, "macro avg": {...}}``
        instead of text. Metric keys: ``"weighted_accuracy"``, ``"roc_auc"``
        (only with ``y_score``), ``"f1"``, ``"weighted_f1"``, ``"support"``.
    digits : int, default=3
        Decimals shown in the text report (the dict is not rounded).

    Returns
    -------
    str or dict
        The macro-average row holds the mean of every metric over emotions
        (the AUC over the emotions where it is defined) and the total support.

    Notes
    -----
    Emotions with one class only in ``y_true`` are reported as described in
    :mod:`skmemo.metrics` (AUC "n/a"), with one ``UndefinedMetricWarning``. A
    positive-class F1 without any true or predicted positive is 0.

    Examples
    --------
    >>> from skmemo.metrics import emotion_classification_report
    >>> y_true = [[1, 0], [0, 0], [0, 1], [0, 1]]
    >>> y_pred = [[1, 1], [1, 0], [0, 1], [0, 0]]
    >>> y_score = [[.9, .6], [.7, .2], [.1, .8], [.2, .4]]
    >>> print(emotion_classification_report(y_true, y_pred, y_score,
    ...                                     emotions=["happy", "sad"]))
               W-Acc    AUC     F1   W-F1  support
    <BLANKLINE>
        happy  0.833  1.000  0.667  0.767        1
          sad  0.500  0.750  0.500  0.500        2
    <BLANKLINE>
    macro avg  0.667  0.875  0.583  0.633        3
    """
    if not isinstance(output_dict, (bool, np.bool_)):
        raise TypeError(f"output_dict must be True or False, got {output_dict!r}")
    check_scalar(digits, "digits", (int, np.integer), min_val=0)
    y_true_arr, y_pred_arr = _check_pair(y_true, y_pred)
    y_pred_arr = _check_binary_pred(y_pred_arr)
    if y_score is not None:
        _check_pair(y_true, y_score, "y_score")
    names = _report_names(y_true, emotions, y_true_arr.shape[1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        values = {
            "weighted_accuracy": weighted_accuracy_score(y_true_arr, y_pred_arr,
                                                         average=None),
            "f1": f1_score(y_true_arr, y_pred_arr, average=None, zero_division=0.0),
            "weighted_f1": weighted_f1_score(y_true_arr, y_pred_arr, average=None),
        }
        if y_score is not None:
            values["roc_auc"] = emotion_roc_auc_score(y_true_arr, y_score, average=None)
    support = y_true_arr.sum(axis=0).astype(int)
    degenerate = _degenerate(y_true_arr)
    if degenerate.any():
        warnings.warn(
            f"emotions {[names[k] for k in np.flatnonzero(degenerate)]} have only one "
            "class in y_true: their W-Acc and W-F1 are those of the class present and "
            "their AUC is undefined (left out of the macro average)",
            UndefinedMetricWarning, stacklevel=2,
        )
    keys = [key for key, _ in _REPORT_COLUMNS if key in values]

    report = {}
    for k, name in enumerate(names):
        row = {key: float(values[key][k]) for key in keys}
        row["support"] = int(support[k])
        report[name] = row
    macro = {}
    for key in keys:
        column = values[key]
        defined = column[~np.isnan(column)]
        macro[key] = float(defined.mean()) if defined.size else float("nan")
    macro["support"] = int(support.sum())
    report["macro avg"] = macro
    if output_dict:
        return report

    headers = [label for key, label in _REPORT_COLUMNS if key in values] + ["support"]
    width = max(len(n) for n in report)
    col = max(digits + 3, 6)

    def line(name, row):
        cells = [
            f"{'n/a':>{col}}" if np.isnan(row[key]) else f"{row[key]:>{col}.{digits}f}"
            for key in keys
        ]
        return f"{name:>{width}} " + " ".join(cells) + f" {row['support']:>8d}"

    head = f"{'':>{width}} " + " ".join(f"{h:>{col}}" for h in headers[:-1])
    lines = [head + f" {headers[-1]:>8}", ""]
    lines += [line(name, report[name]) for name in names]
    lines += ["", line("macro avg", macro)]
    return "\n".join(lines)


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

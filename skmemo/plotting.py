"""Plots. matplotlib is an optional dependency (``pip install skmemo[plot]``).

This module imports without matplotlib; each function imports it when called
and fails with a clear message if it is missing.
"""

import numpy as np

__all__ = [
    "plot_emotion_distances",
    "plot_learning_curves",
    "plot_threshold_curves",
    "plot_classification_report",
    "plot_roc_curves",
]

_TITLES = {"text": "textual", "audio": "acoustic", "visual": "visual"}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "plotting needs matplotlib, an optional dependency of skmemo; install it "
            "with 'pip install matplotlib' (or 'pip install skmemo[plot]')"
        ) from exc
    return plt


def _as_distances(source):
    """A fitted estimator, a module or an emotion_distances result -> Bunch."""
    if hasattr(source, "distances") and hasattr(source, "emotions"):
        return source
    from .inspection import emotion_distances

    return emotion_distances(source)


def plot_emotion_distances(clf_or_distances, *, ax=None, modalities=None, cmap="viridis",
                           annotate=True, fmt=".2f"):
    """Heatmaps of the Euclidean distances between emotion embeddings.

    One panel per modality (paper Figure 3), with emotion names on both axes
    and a colorbar per panel: the absolute scales of the spaces differ, their
    relative patterns are what to compare.

    Parameters
    ----------
    clf_or_distances : estimator, module or Bunch
        A fitted :class:`~skmemo.MultimodalEmotionClassifier` (or its module),
        or the result of :func:`skmemo.inspection.emotion_distances`.
    ax : matplotlib Axes or sequence of Axes, default=None
        One Axes per panel; None creates a new figure with a row of panels.
    modalities : sequence of str, default=None
        Modalities to draw, in order; default: every modality of the model.
    cmap : str, default="viridis"
    annotate : bool, default=True
        Write the distance in each cell (skipped above 12 emotions).
    fmt : str, default=".2f"
        Format of the annotations.

    Returns
    -------
    fig : matplotlib Figure
    axes : ndarray of Axes
        One per panel.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from skmemo.plotting import plot_emotion_distances
    >>> d = Bunch(emotions=["happy", "sad"],
    ...           distances={"text": np.array([[0, 1.], [1., 0]])})
    >>> fig, axes = plot_emotion_distances(d)  # doctest: +SKIP
    """
    plt = _pyplot()
    found = _as_distances(clf_or_distances)
    names = list(found.emotions)
    if modalities is None:
        modalities = list(found.distances)
    elif isinstance(modalities, str):
        modalities = [modalities]
    unknown = [m for m in modalities if m not in found.distances]
    if unknown or not modalities:
        raise ValueError(
            f"modalities {unknown or modalities} are not available; choose among "
            f"{list(found.distances)}"
        )
    if ax is None:
        K = len(names)
        size = max(3.2, 0.55 * K + 1.8)
        fig, axes = plt.subplots(1, len(modalities), squeeze=False,
                                 figsize=(size * len(modalities) + 0.8, size),
                                 layout="constrained")
        axes = axes.ravel()
    else:
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if len(axes) != len(modalities):
            raise ValueError(
                f"ax holds {len(axes)} Axes but {len(modalities)} panels are drawn "
                f"({list(modalities)}); pass one Axes per modality"
            )
        fig = axes[0].figure
    K = len(names)
    for axis, m in zip(axes, modalities):
        D = np.asarray(found.distances[m], dtype=float)
        image = axis.imshow(D, cmap=cmap)
        axis.set_xticks(range(K), labels=names, rotation=45, ha="right",
                        rotation_mode="anchor")
        axis.set_yticks(range(K), labels=names)
        axis.set_title(_TITLES.get(m, m))
        fig.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
        if annotate and K <= 12:
            middle = (D.max() + D.min()) / 2
            for i in range(K):
                for j in range(K):
                    axis.text(j, i, format(D[i, j], fmt), ha="center", va="center",
                              fontsize=8, color="black" if D[i, j] > middle else "white")
    return fig, axes


# ----------------------------------------------------------------------------
# Training and evaluation reports
# ----------------------------------------------------------------------------
_METRIC_LABELS = {
    "weighted_accuracy": "W-Acc",
    "roc_auc": "AUC",
    "f1": "F1",
    "weighted_f1": "W-F1",
}


def _figure_and_axes(ax, n_panels, *, figsize, ncols=None):
    """New figure with ``n_panels`` Axes, or check the Axes the user gave."""
    plt = _pyplot()
    if ax is None:
        ncols = n_panels if ncols is None else min(ncols, n_panels)
        nrows = -(-n_panels // ncols)
        fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=figsize,
                                 layout="constrained")
        axes = axes.ravel()
        for extra in axes[n_panels:]:
            extra.remove()
        return fig, axes[:n_panels]
    axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
    if len(axes) != n_panels or not all(hasattr(a, "plot") for a in axes):
        raise ValueError(
            f"ax must hold {n_panels} matplotlib Axes (one per panel); got "
            f"{len(axes)} object(s) of type(s) {sorted({type(a).__name__ for a in axes})}"
        )
    return axes[0].figure, axes


def _history_rows(clf_or_history):
    history = clf_or_history
    if hasattr(clf_or_history, "get_params"):  # an estimator
        history = getattr(clf_or_history, "history_", None)
        if history is None:
            from .exceptions import NotFittedError

            raise NotFittedError(
                f"This {type(clf_or_history).__name__} has no training history; call "
                "fit(X, y) before plotting its learning curves."
            )
    if isinstance(history, (str, bytes, dict)) or not hasattr(history, "__iter__"):
        raise TypeError(
            "expected a fitted estimator or its history (a sequence of per-epoch "
            f"dicts such as skorch's History); got {type(clf_or_history).__name__}"
        )
    rows = [row for row in history if isinstance(row, dict) and "train_loss" in row]
    if not rows:
        raise ValueError(
            "the history holds no completed epoch (no 'train_loss' entry); fit the "
            "estimator for at least one epoch"
        )
    return rows


def plot_learning_curves(clf_or_history, *, ax=None):
    """Training and validation loss, and validation weighted accuracy, per epoch.

    Reads the estimator's skorch history: ``train_loss``, ``valid_loss`` and
    ``valid_wacc`` (the mean weighted accuracy on the validation split, which
    early stopping monitors). The best epoch by ``valid_wacc`` (the one whose
    weights early stopping restores) is marked by a dotted vertical line.
    Without a validation split (``validation_fraction=0``) only the training
    loss is drawn.

    Parameters
    ----------
    clf_or_history : estimator or sequence of dict
        A fitted :class:`~skmemo.MultimodalEmotionClassifier` (any skorch net
        with ``history_``), or its ``history``.
    ax : matplotlib Axes or sequence of Axes, default=None
        Two Axes (loss, weighted accuracy), or one when there is no
        validation; None creates a new figure.

    Returns
    -------
    fig : matplotlib Figure
    axes : ndarray of Axes
        The loss panel, then the weighted-accuracy panel if any.

    Examples
    --------
    >>> from skmemo.plotting import plot_learning_curves
    >>> history = [{"epoch": 1, "train_loss": 0.9, "valid_loss": 0.8, "valid_wacc": 0.6},
    ...            {"epoch": 2, "train_loss": 0.7, "valid_loss": 0.75, "valid_wacc": 0.65}]
    >>> fig, axes = plot_learning_curves(history)  # doctest: +SKIP
    """
    rows = _history_rows(clf_or_history)
    epochs = np.array([row.get("epoch", i + 1) for i, row in enumerate(rows)])

    def column(key):
        values = [row.get(key) for row in rows]
        if all(v is None for v in values):
            return None
        return np.array([np.nan if v is None else float(v) for v in values])

    train_loss, valid_loss, valid_wacc = (column(k) for k in
                                          ("train_loss", "valid_loss", "valid_wacc"))
    n_panels = 1 if valid_wacc is None else 2
    fig, axes = _figure_and_axes(ax, n_panels, figsize=(4.8 * n_panels, 3.6))
    marker = "o" if len(epochs) <= 30 else None

    axes[0].plot(epochs, train_loss, marker=marker, ms=3, label="training")
    if valid_loss is not None:
        axes[0].plot(epochs, valid_loss, marker=marker, ms=3, label="validation")
    axes[0].set(title="Loss", xlabel="epoch", ylabel="loss")
    if valid_wacc is not None:
        axes[1].plot(epochs, valid_wacc, marker=marker, ms=3, color="C2",
                     label="validation")
        axes[1].set(title="Validation weighted accuracy", xlabel="epoch",
                    ylabel="mean weighted accuracy")
        if np.isfinite(valid_wacc).any():
            best = epochs[np.nanargmax(valid_wacc)]
            for axis in axes:
                axis.axvline(best, color="grey", linestyle=":", linewidth=1,
                             label=f"best epoch ({best})")
    for axis in axes:
        axis.legend(fontsize="small")
        axis.grid(alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    return fig, axes


def _check_scores(y_true, y_score, emotions):
    from .metrics import _check_pair, _report_names

    y_true_arr, y_score = _check_pair(y_true, y_score, "y_score")
    names = _report_names(y_true, emotions, y_true_arr.shape[1])
    y_score = y_score.astype(float)
    if not np.isfinite(y_score).all():
        raise ValueError("y_score holds NaN or infinite values; pass finite scores")
    return y_true_arr, y_score, names


def _degenerate_columns(y_true, names, what):
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning

    positives = y_true.sum(axis=0)
    degenerate = (positives == 0) | (positives == len(y_true))
    if degenerate.any():
        warnings.warn(
            f"emotions {[names[k] for k in np.flatnonzero(degenerate)]} have only one "
            f"class in y_true: {what}",
            UndefinedMetricWarning, stacklevel=3,
        )
    return degenerate


def _default_thresholds(y_score):
    if y_score.min() >= 0 and y_score.max() <= 1:
        return np.linspace(0.01, 0.99, 99)
    return np.linspace(y_score.min(), y_score.max(), 101)[1:-1]


def _weighted_f1_curves(y_true, y_score, thresholds):
    """:func:`skmemo.metrics.weighted_f1_score` per emotion at every threshold.

    The same quantity, ``P/I * F1_pos + N/I * F1_neg`` with an F1 of 0 where
    it is undefined, computed from the confusion counts of all thresholds at
    once: one ``f1_score`` call per emotion and threshold takes seconds for
    the 99 default thresholds. The tests check both agree.
    """
    predicted = y_score[None, :, :] > thresholds[:, None, None]  # (T, n, K)
    positive = y_true[None, :, :]
    tp = (predicted & positive).sum(axis=1).astype(float)  # (T, K)
    fp = (predicted & ~positive).sum(axis=1)
    fn = (~predicted & positive).sum(axis=1)
    tn = (~predicted & ~positive).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1_pos = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        f1_neg = np.where(2 * tn + fp + fn > 0, 2 * tn / (2 * tn + fp + fn), 0.0)
    n_pos = y_true.sum(axis=0)
    return (n_pos * f1_pos + (len(y_true) - n_pos) * f1_neg) / len(y_true)


def plot_threshold_curves(y_true, y_score, *, emotions=None, thresholds=None,
                          average="macro", reference=True, ax=None):
    """Weighted accuracy and weighted F1 as functions of the decision threshold.

    The curves of the paper's appendix B. On imbalanced labels the binary
    weighted F1 keeps rising with the threshold: predicting no emotion at all
    scores well, because the negative class dominates its weights. The
    weighted accuracy (balanced accuracy) of that trivial classifier is 0.5.
    With ``reference=True`` the W-F1 of the classifier that never predicts
    the emotion is drawn as a dashed line: a threshold near it has learnt
    nothing, whatever its W-F1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_emotions)
        Binary ground truth (a pandas DataFrame names the emotions).
    y_score : array-like of shape (n_samples, n_emotions)
        Probabilities (``predict_proba``) or logits (``decision_function``).
    emotions : list of str, default=None
        Emotion names, one per column; default: the columns of a pandas
        ``y_true``, else ``"0", "1", ...``.
    thresholds : array-like of shape (n_thresholds,), default=None
        Thresholds to evaluate; a sample is predicted positive when its score
        is strictly above. Default: 0.01 to 0.99 in steps of 0.01 for scores
        in [0, 1], else 99 points spread over the range of the scores.
    average : {"macro", None}, default="macro"
        "macro" draws the mean over emotions in one panel; None draws one
        panel per emotion.
    reference : bool, default=True
        Draw the W-F1 of never predicting the emotion, and chance (0.5) for
        the weighted accuracy.
    ax : matplotlib Axes or sequence of Axes, default=None
        One Axes for ``average="macro"``, one per emotion for ``average=None``;
        None creates a new figure.

    Returns
    -------
    fig : matplotlib Figure
    axes : ndarray of Axes
        One per panel.

    See Also
    --------
    skmemo.metrics.weighted_accuracy_score, skmemo.metrics.weighted_f1_score

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.plotting import plot_threshold_curves
    >>> rng = np.random.RandomState(0)
    >>> y_true = (rng.rand(200, 2) < 0.2).astype(int)
    >>> y_score = np.clip(0.3 * y_true + 0.7 * rng.rand(200, 2), 0, 1)
    >>> fig, axes = plot_threshold_curves(y_true, y_score)  # doctest: +SKIP
    """
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning

    from .metrics import weighted_accuracy_score, weighted_f1_score

    if average not in ("macro", None):
        raise ValueError(f"average must be 'macro' or None, got {average!r}")
    y_true, y_score, names = _check_scores(y_true, y_score, emotions)
    if thresholds is None:
        thresholds = _default_thresholds(y_score)
    else:
        thresholds = np.sort(np.asarray(thresholds, dtype=float).ravel())
        if thresholds.size == 0 or not np.isfinite(thresholds).all():
            raise ValueError("thresholds must be a non-empty sequence of finite numbers")
    _degenerate_columns(y_true, names, "their curves are those of the class present")

    wacc = np.empty((len(thresholds), len(names)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for i, t in enumerate(thresholds):
            wacc[i] = weighted_accuracy_score(y_true, y_score > t, average=None)
        never = weighted_f1_score(y_true, np.zeros_like(y_true), average=None)
    wf1 = _weighted_f1_curves(y_true, y_score, thresholds)

    if average == "macro":
        panels = [("mean over emotions", wacc.mean(axis=1), wf1.mean(axis=1),
                   never.mean(), y_true.mean())]
        fig, axes = _figure_and_axes(ax, 1, figsize=(6.4, 4.4))
    else:
        panels = [(name, wacc[:, k], wf1[:, k], never[k], y_true[:, k].mean())
                  for k, name in enumerate(names)]
        fig, axes = _figure_and_axes(ax, len(panels), ncols=3,
                                     figsize=(3.9 * min(3, len(panels)),
                                              3.3 * -(-len(panels) // 3)))
    for axis, (title, acc, f1, trivial, share) in zip(axes, panels):
        axis.plot(thresholds, acc, color="C0", label="W-Acc")
        axis.plot(thresholds, f1, color="C1", label="W-F1")
        for curve, color in ((acc, "C0"), (f1, "C1")):
            best = int(np.argmax(curve))
            axis.plot(thresholds[best], curve[best], "o", color=color, ms=5)
        if reference:
            axis.axhline(trivial, color="C1", linestyle="--", linewidth=1,
                         label="W-F1, never predicting")
            axis.axhline(0.5, color="C0", linestyle=":", linewidth=1,
                         label="W-Acc, chance")
        axis.set_title(f"{title} ({100 * share:.0f}% positive)")
        axis.set(xlabel="threshold", ylabel="score")
        axis.grid(alpha=0.3)
    if ax is None and len(axes) > 1:  # one legend for all panels, below them
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                   ncols=4, fontsize="small", frameon=False)
    else:
        axes[0].legend(fontsize="small", loc="best")
    return fig, axes


def plot_classification_report(report, *, metrics=None, include_average=True,
                               annotate=True, ax=None):
    """Per-emotion bar chart of an emotion classification report.

    One group of bars per emotion, labelled with its support (the number of
    samples showing it in ``y_true``), and the macro average set apart as a
    hatched last group. A dotted line marks 0.5, chance for the weighted
    accuracy and the AUC.

    Parameters
    ----------
    report : dict
        The output of :func:`skmemo.metrics.emotion_classification_report`
        with ``output_dict=True``: ``{emotion: {metric: value, "support": n},
        "macro avg": {...}}``.
    metrics : sequence of str, default=None
        Metrics to draw, among ``"weighted_accuracy"``, ``"roc_auc"``,
        ``"f1"`` and ``"weighted_f1"``. Default: weighted accuracy, AUC (when
        the report has it) and F1.
    include_average : bool, default=True
        Add the macro average as the last group of bars.
    annotate : bool, default=True
        Write each value above its bar. An undefined value (the AUC of an
        emotion with one class in ``y_true``) is shown as "n/a".
    ax : matplotlib Axes, default=None
        None creates a new figure.

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes

    Examples
    --------
    >>> from skmemo.metrics import emotion_classification_report
    >>> from skmemo.plotting import plot_classification_report
    >>> report = emotion_classification_report(
    ...     [[1, 0], [0, 0], [0, 1], [0, 1]], [[1, 1], [1, 0], [0, 1], [0, 0]],
    ...     [[.9, .6], [.7, .2], [.1, .8], [.2, .4]], emotions=["happy", "sad"],
    ...     output_dict=True)
    >>> fig, ax = plot_classification_report(report)  # doctest: +SKIP
    """
    if isinstance(report, str):
        raise TypeError(
            "report is the text report; call emotion_classification_report(..., "
            "output_dict=True) and pass the dict"
        )
    if not isinstance(report, dict) or "macro avg" not in report or not all(
        isinstance(row, dict) for row in report.values()
    ):
        raise TypeError(
            "report must be the dict returned by emotion_classification_report(..., "
            "output_dict=True), with one dict per emotion and a 'macro avg' entry"
        )
    available = [key for key in _METRIC_LABELS if key in report["macro avg"]]
    if metrics is None:
        metrics = [key for key in ("weighted_accuracy", "roc_auc", "f1") if key in available]
    elif isinstance(metrics, str):
        metrics = [metrics]
    unknown = [key for key in metrics if key not in available]
    if unknown or not metrics:
        raise ValueError(
            f"metrics {unknown or list(metrics)} are not in the report; choose among "
            f"{available}"
        )
    rows = [name for name in report if name != "macro avg"]
    if include_average:
        rows.append("macro avg")
    if ax is None:
        fig, axes = _figure_and_axes(None, 1, figsize=(max(5.0, 1.15 * len(rows) + 1.6),
                                                       4.2))
        ax = axes[0]
    else:
        fig, axes = _figure_and_axes(ax, 1, figsize=None)
        ax = axes[0]

    n = len(metrics)
    width = 0.8 / n
    x = np.arange(len(rows), dtype=float)
    if include_average:
        x[-1] += 0.5  # set the average apart
    for j, key in enumerate(metrics):
        values = np.array([report[row].get(key, np.nan) for row in rows], dtype=float)
        positions = x - 0.4 + width * (j + 0.5)
        bars = ax.bar(positions, np.nan_to_num(values), width, color=f"C{j}",
                      label=_METRIC_LABELS[key])
        if include_average:
            bars[-1].set_hatch("//")
            bars[-1].set_edgecolor("white")
        if annotate:
            labels = ["n/a" if np.isnan(v) else f"{v:.2f}" for v in values]
            ax.bar_label(bars, labels=labels, fontsize=7, padding=2,
                         rotation=90 if n > 2 else 0)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1, label="chance (W-Acc, AUC)")
    names = []
    for row in rows:
        if row == "macro avg":
            names.append("average")
        elif "support" in report[row]:
            names.append(f"{row}\n({report[row]['support']} pos.)")
        else:
            names.append(row)
    ax.set_xticks(x, labels=names)
    ax.set_ylim(0, 1.12 if annotate else 1.02)
    ax.set(ylabel="score", title="Per-emotion scores")
    ax.legend(fontsize="small", ncols=n + 1, loc="upper center",
              bbox_to_anchor=(0.5, -0.16), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def plot_roc_curves(y_true, y_score, *, emotions=None, chance=True, ax=None):
    """ROC curve of every emotion, with its AUC in the legend.

    Draws one :class:`sklearn.metrics.RocCurveDisplay` per emotion on a
    shared Axes. Emotions with one class only in ``y_true`` have no ROC
    curve: they are left out with an ``UndefinedMetricWarning``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_emotions)
        Binary ground truth (a pandas DataFrame names the emotions).
    y_score : array-like of shape (n_samples, n_emotions)
        Probabilities (``predict_proba``) or logits (``decision_function``).
    emotions : list of str, default=None
        Emotion names, one per column; default: the columns of a pandas
        ``y_true``, else ``"0", "1", ...``.
    chance : bool, default=True
        Draw the diagonal of a random classifier.
    ax : matplotlib Axes, default=None
        None creates a new figure.

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes

    Examples
    --------
    >>> from skmemo.plotting import plot_roc_curves
    >>> y_true = [[1, 0], [0, 1], [1, 1], [0, 0]]
    >>> y_score = [[.9, .2], [.1, .8], [.3, .4], [.4, .5]]
    >>> fig, ax = plot_roc_curves(y_true, y_score, emotions=["happy", "sad"])  # doctest: +SKIP
    """
    from sklearn.metrics import RocCurveDisplay

    y_true, y_score, names = _check_scores(y_true, y_score, emotions)
    fig, axes = _figure_and_axes(ax, 1, figsize=(5.6, 5.2))
    ax = axes[0]
    degenerate = _degenerate_columns(y_true, names, "their ROC curves are left out")
    drawn = np.flatnonzero(~degenerate)
    for k in drawn:
        RocCurveDisplay.from_predictions(
            y_true[:, k], y_score[:, k], name=names[k], ax=ax,
            curve_kwargs={"color": f"C{k % 10}"},
            plot_chance_level=chance and k == drawn[-1],  # last in the legend
            chance_level_kw={"color": "grey", "linestyle": ":"},
        )
    ax.set(xlabel="false positive rate", ylabel="true positive rate",
           title="ROC curve per emotion")
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(alpha=0.3)
    return fig, ax

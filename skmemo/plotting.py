"""Plots. matplotlib is an optional dependency (``pip install skmemo[plot]``).

This module imports without matplotlib; each function imports it when called
and fails with a clear message if it is missing.
"""

import numpy as np

__all__ = ["plot_emotion_distances"]

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

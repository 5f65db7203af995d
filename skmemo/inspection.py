"""Inspect the emotion embeddings of a fitted model.

The paper (Dai et al., 2020, Figure 3) shows the Euclidean distances between
emotion embeddings in the textual, acoustic and visual spaces, and observes
that the mapping functions keep the *relative* distances of the word vectors.
:func:`emotion_distances` computes those matrices (and how well each mapped
space preserves the textual distances); :func:`skmemo.plotting.plot_emotion_distances`
draws them.
"""

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import Bunch

from .exceptions import NotFittedError

__all__ = ["emotion_embeddings", "emotion_distances"]


def _module_and_names(model):
    """The torch module of a fitted estimator (or a module) and emotion names."""
    if isinstance(model, torch.nn.Module):
        module, names = model, None
    else:
        fitted = getattr(model, "__sklearn_is_fitted__", None)
        if fitted is None:
            raise TypeError(
                "expected a fitted skmemo classifier or an EmotionEmbeddingModel; got "
                f"{type(model).__name__}"
            )
        if not fitted():
            raise NotFittedError(
                f"This {type(model).__name__} is not fitted yet; call fit(X, y) before "
                "inspecting its emotion embeddings."
            )
        module, names = model.module_, list(model.emotions_)
    if not hasattr(module, "modality_embeddings"):
        raise TypeError(
            f"{type(module).__name__} has no emotion embeddings (models with a plain "
            "output layer, such as the baselines, cannot be inspected this way)"
        )
    return module, names


def emotion_embeddings(model):
    """Emotion embeddings in every modality's space.

    Parameters
    ----------
    model : MultimodalEmotionClassifier or EmotionEmbeddingModel
        A fitted estimator (emotions added with ``add_emotions`` included) or
        its torch module.

    Returns
    -------
    Bunch
        ``emotions``: the K names (None for a bare module); ``embeddings``:
        ``{modality: ndarray of shape (K, H_m)}``: the frozen word vectors for
        text, the mapped vectors ``f_ta(E_t)``, ``f_tv(E_t)`` for audio and
        visual.
    """
    module, names = _module_and_names(model)
    with torch.no_grad():
        embeddings = {m: E.detach().cpu().double().numpy()
                      for m, E in module.modality_embeddings().items()}
    if names is None:
        names = [str(k) for k in range(len(next(iter(embeddings.values()))))]
    return Bunch(emotions=names, embeddings=embeddings)


def emotion_distances(model):
    """Pairwise Euclidean distances between emotion embeddings, per modality.

    Parameters
    ----------
    model : MultimodalEmotionClassifier or EmotionEmbeddingModel
        A fitted estimator (emotions added with ``add_emotions`` included) or
        its torch module.

    Returns
    -------
    Bunch
        ``emotions``: list of the K emotion names (indices as strings for a
        bare module);
        ``distances``: ``{modality: ndarray of shape (K, K)}``, symmetric with
        a zero diagonal, for each modality of the model ("text" is the space of
        the frozen word vectors);
        ``rank_correlation``: ``{modality: float}``, Spearman's correlation
        between the pairwise distances in that space and in the text space
        (1 for text itself; NaN when K < 3 or there is no text space). Values
        near 1 mean the mapping keeps the *relative* distances, the paper's
        reading of its Figure 3.

    Raises
    ------
    NotFittedError
        If the estimator is not fitted.
    TypeError
        If the model has no emotion embeddings (e.g. a baseline).

    Examples
    --------
    >>> from skmemo import MultimodalEmotionClassifier
    >>> from skmemo.datasets import make_emotion_dataset
    >>> from skmemo.inspection import emotion_distances
    >>> X, Y = make_emotion_dataset(60, emotions=["happy", "sad"], seq_len=4,
    ...                             random_state=0)
    >>> clf = MultimodalEmotionClassifier(["happy", "sad"], max_epochs=1,
    ...                                   random_state=0).fit(X, Y)
    >>> clf = clf.add_emotions(["fear"])
    >>> result = emotion_distances(clf)
    >>> result.emotions, result.distances["audio"].shape
    (['happy', 'sad', 'fear'], (3, 3))
    """
    found = emotion_embeddings(model)
    distances = {m: euclidean_distances(E) for m, E in found.embeddings.items()}
    for D in distances.values():
        np.fill_diagonal(D, 0.0)
    K = len(found.emotions)
    upper = np.triu_indices(K, k=1)
    reference = distances.get("text")
    correlation = {}
    for m, D in distances.items():
        if reference is None or K < 3:
            correlation[m] = float("nan")
        elif m == "text":
            correlation[m] = 1.0
        else:
            correlation[m] = float(spearmanr(reference[upper], D[upper]).statistic)
    return Bunch(emotions=found.emotions, distances=distances,
                 rank_correlation=correlation)

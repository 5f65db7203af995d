import pickle

import numpy as np
import pytest
import torch

from skmemo.baselines import LateFusionLSTMClassifier
from skmemo.exceptions import NotFittedError
from skmemo.inspection import emotion_distances, emotion_embeddings

from .conftest import EMOTIONS, small_clf


def _pairwise(E):
    return np.sqrt(((E[:, None, :] - E[None, :, :]) ** 2).sum(-1))


def _spearman(a, b):
    """Spearman's correlation of two samples without ties: Pearson's on their ranks."""
    ranks_a, ranks_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return np.corrcoef(ranks_a, ranks_b)[0, 1]


def test_distances_match_the_module_embeddings(one_epoch_fitted):
    result = emotion_distances(one_epoch_fitted)
    assert result.emotions == EMOTIONS and set(result.distances) == {"text", "audio", "visual"}
    with torch.no_grad():
        embeddings = {m: E.double().numpy()
                      for m, E in one_epoch_fitted.module_.modality_embeddings().items()}
    for m, D in result.distances.items():
        assert D.shape == (6, 6)
        np.testing.assert_allclose(D, _pairwise(embeddings[m]), atol=1e-6)
        np.testing.assert_array_equal(np.diag(D), 0)
        np.testing.assert_allclose(D, D.T)
    # text: the frozen word vectors themselves
    text = _pairwise(one_epoch_fitted.emotion_vectors_.astype(float))
    np.testing.assert_allclose(result.distances["text"], text, atol=1e-5)
    assert result.rank_correlation["text"] == 1.0
    upper = np.triu_indices(6, k=1)
    text = text[upper]
    for m in ("audio", "visual"):
        assert result.rank_correlation[m] == pytest.approx(
            _spearman(text, _pairwise(embeddings[m])[upper]))
    assert emotion_embeddings(one_epoch_fitted).embeddings["audio"].shape == (6, 16)


def test_distances_after_add_emotions(one_epoch_fitted):
    clf = pickle.loads(pickle.dumps(one_epoch_fitted))
    before = emotion_distances(clf).distances
    clf.add_emotions(["awe"])
    after = emotion_distances(clf)
    assert after.emotions == EMOTIONS + ["awe"]
    for m in before:
        assert after.distances[m].shape == (7, 7)
        np.testing.assert_allclose(after.distances[m][:6, :6], before[m], atol=1e-6)
        assert np.all(after.distances[m][6, :6] > 0)


def test_bare_module_and_small_k(one_epoch_fitted, small_data):
    result = emotion_distances(one_epoch_fitted.module_)
    assert result.emotions == [str(k) for k in range(6)]
    X, Y = small_data
    two = small_clf(EMOTIONS[:2], max_epochs=1, num_layers=1).fit(X, Y[:, :2])
    assert np.isnan(emotion_distances(two).rank_correlation["audio"])


def test_errors(small_data):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        emotion_distances(small_clf())
    with pytest.raises(TypeError, match="fitted skmemo classifier"):
        emotion_distances(np.eye(3))
    X, Y = small_data
    baseline = small_clf(EMOTIONS, cls=LateFusionLSTMClassifier, max_epochs=1, num_layers=1,
                         batch_size=64, hidden_sizes={"text": 4, "audio": 4, "visual": 4})
    baseline.fit(X[:64], Y[:64])
    with pytest.raises(TypeError, match="no emotion embeddings"):
        emotion_distances(baseline)

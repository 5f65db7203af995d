"""Multi-device training through skorch's AccelerateMixin (one CPU process here)."""

import numpy as np
import pytest

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset

accelerate = pytest.importorskip("accelerate", reason="the 'accelerate' extra is not installed")
hf = pytest.importorskip("skorch.hf")

from .conftest import small_clf  # noqa: E402


class AcceleratedEmotionClassifier(hf.AccelerateMixin, MultimodalEmotionClassifier):
    """The estimator trained by Hugging Face Accelerate."""


def test_accelerate_mixin_trains_and_predicts():
    X, Y = make_emotion_dataset(120, emotions=["happy", "sad"], seq_len=6, random_state=0)
    clf = small_clf(["happy", "sad"], cls=AcceleratedEmotionClassifier,
                    accelerator=accelerate.Accelerator(cpu=True), device=None,
                    max_epochs=2, batch_size=64, hidden_sizes={"audio": 8, "visual": 8})
    clf.fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 2) and np.isfinite(proba).all()
    assert len(clf.history) == 2 and clf.history[-1, "train_loss"] < clf.history[0, "train_loss"]

"""Shared fixtures: small deterministic data and fitted estimators."""

import numpy as np
import pytest
import torch

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset

EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]

torch.set_num_threads(1)  # small models: one thread is faster


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` need CUDA: skipped where there is none."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    torch.manual_seed(0)


def small_clf(emotions=EMOTIONS, **params):
    """A small, fast estimator for tests."""
    defaults = dict(max_epochs=3, batch_size=32, random_state=0,
                    hidden_sizes={"audio": 16, "visual": 16})
    defaults.update(params)
    return MultimodalEmotionClassifier(list(emotions), **defaults)


@pytest.fixture(scope="session")
def data():
    return make_emotion_dataset(240, seq_len=8, random_state=0)


@pytest.fixture(scope="session")
def fitted(data):
    X, Y = data
    return small_clf().fit(X, Y)

"""Shared fixtures: one factory for small estimators, small deterministic data.

Every test estimator comes from :func:`small_clf`, which runs on the CPU
(``device="cpu"``) unless a test asks for another device, so the suite checks
the same CPU semantics on every machine (with ``device="auto"`` a machine with
CUDA would silently run the whole suite on the GPU). Tests about CUDA say
``device="cuda"`` and carry ``@pytest.mark.gpu``: ``pytest -m gpu`` selects
exactly them, and they are skipped on a machine without CUDA.
"""

import functools
import inspect

import numpy as np
import pytest
import torch

from skmemo import MultimodalData, MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.modules import lengths_from_padding

EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]

# scikit-learn's individual checks that apply to estimators of dict or raw inputs
# (tests/test_common.py, for the estimators and the feature-extraction transformers)
DICT_INPUT_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_mixin_order",
    "check_get_params_invariance",
    "check_set_params",
    "check_parameters_default_constructible",
    "check_no_attributes_set_in_init",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimators_unfitted",
    "check_transformers_unfitted",
]

torch.set_num_threads(1)  # small models: one thread is faster


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked ``gpu`` when no CUDA device is present."""
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


def small_clf(emotions=EMOTIONS, *, cls=MultimodalEmotionClassifier, **params):
    """A small, fast estimator for tests, on the CPU unless ``device`` says otherwise.

    ``emotions`` is passed on as given (a list is copied), so tests of other
    container types (``np.array``, ``pd.Index``, ``None``) see them; ``cls``
    builds a subclass or a baseline with the same defaults; ``params``
    override the defaults.
    """
    defaults = dict(max_epochs=3, batch_size=32, random_state=0, device="cpu",
                    hidden_sizes={"audio": 16, "visual": 16})
    if "hidden_sizes" not in inspect.signature(cls).parameters:
        del defaults["hidden_sizes"]  # EarlyFusionLSTMClassifier has one hidden_size
    defaults.update(params)
    if isinstance(emotions, list):
        emotions = list(emotions)
    return cls(emotions, **defaults)


@functools.cache
def _default_data():
    return make_emotion_dataset(240, seq_len=8, random_state=0)


@functools.cache
def _default_fitted():
    X, Y = _default_data()
    return small_clf().fit(X, Y)


@pytest.fixture(scope="session")
def data():
    """240 samples of 8 steps, six emotions."""
    return _default_data()


@pytest.fixture(scope="session")
def fitted():
    """The default small estimator fitted on ``data``."""
    return _default_fitted()


# the same objects, for test files whose own ``data`` / ``fitted`` shadow these
@pytest.fixture(scope="session")
def default_data():
    return _default_data()


@pytest.fixture(scope="session")
def default_fitted():
    return _default_fitted()


@pytest.fixture(scope="session")
def small_data():
    """120 samples of 6 steps, six emotions: for the files that need no more."""
    return make_emotion_dataset(120, seq_len=6, random_state=0)


@pytest.fixture(scope="session")
def one_epoch_fitted(small_data):
    """One epoch of a one-layer model on ``small_data``, no validation split.

    Shared by several files: tests that change it work on a copy.
    """
    return small_clf(max_epochs=1, num_layers=1, validation_fraction=0).fit(*small_data)


# ----------------------------------------------------------------------
# modalities absent for some samples: length 0 in ``<modality>_lengths``
# ----------------------------------------------------------------------
def with_absent(X, modality, absent):
    """``X`` with explicit lengths for ``modality``, 0 at the samples ``absent``."""
    lengths = lengths_from_padding(torch.as_tensor(X[modality])).numpy()
    lengths[absent] = 0
    return MultimodalData(**dict(X), **{f"{modality}_lengths": lengths})


def without_modality(X, modality):
    """``X`` without ``modality`` (and its lengths)."""
    return MultimodalData(**{k: v for k, v in X.items() if not k.startswith(modality)})


def ragged_everywhere(X, seed=0):
    """Each modality absent for about a third of the samples, never all three."""
    rng = np.random.default_rng(seed)
    n = len(X)
    keep = rng.random((n, 3)) > 0.35
    keep[~keep.any(axis=1), 0] = True
    out = dict(X)
    for j, m in enumerate(("text", "audio", "visual")):
        lengths = lengths_from_padding(torch.as_tensor(X[m])).numpy()
        out[f"{m}_lengths"] = np.where(keep[:, j], lengths, 0)
    return MultimodalData(**out)

"""Modality-pairwise contrastive pre-training."""

import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skmemo.losses import pairwise_infonce_loss
from skmemo.pretraining import _ragged_infonce

from .conftest import ragged_everywhere, small_clf


def test_infonce_hand_case():
    h = torch.eye(3)
    # each row: logits (1, 0, 0) -> -log(e / (e + 2)), same for both ordered pairs
    expected = -math.log(math.e / (math.e + 2))
    assert pairwise_infonce_loss({"text": h, "audio": h}, temperature=1.0).item() == \
        pytest.approx(expected, rel=1e-6)
    # aligned views score lower than shuffled ones
    shuffled = h[[1, 2, 0]]
    assert pairwise_infonce_loss({"a": h, "b": h}).item() < \
        pairwise_infonce_loss({"a": h, "b": shuffled}).item()
    with pytest.raises(ValueError, match="two modalities"):
        pairwise_infonce_loss({"text": h})


def test_pretraining_uses_no_labels_and_lowers_its_loss(small_data):
    X, Y = small_data
    clf = small_clf(pretrain_epochs=4, max_epochs=1)
    clf.fit(X, Y)
    hist = clf.pretrain_history_
    assert len(hist) == 4 and hist[-1] < hist[0]
    # labels play no part: the same pre-training with shuffled labels gives the
    # same encoder weights before supervised training starts
    a = small_clf(pretrain_epochs=2, max_epochs=1, lr=0.0)
    b = small_clf(pretrain_epochs=2, max_epochs=1, lr=0.0)
    a.fit(X, Y)
    b.fit(X, Y[np.random.RandomState(1).permutation(len(Y))])
    for (k, va), vb in zip(a.module_.encoders.state_dict().items(),
                           b.module_.encoders.state_dict().values()):
        torch.testing.assert_close(va, vb, msg=k)


def test_pretrain_X_adds_unlabelled_data(data):
    X, Y = data
    clf = small_clf(pretrain_epochs=1, max_epochs=1, pretrain_X=X[:50]).fit(X[50:], Y[50:])
    assert len(clf.pretrain_history_) == 1
    bad = small_clf(pretrain_epochs=1, pretrain_X={"text": X["text"]})
    with pytest.raises(ValueError, match="same keys"):
        bad.fit(X, Y)


def test_linear_probe_freezes_encoders(data):
    X, Y = data
    clf = small_clf(pretrain_epochs=1, max_epochs=1, freeze_encoders=True, lr=0.0)
    clf.fit(X, Y)
    before = {k: v.clone() for k, v in clf.module_.encoders.state_dict().items()}
    mapping = clf.module_.mappings["audio"].weight.detach().clone()
    clf.set_params(lr=0.01)
    clf.initialize_optimizer()
    clf.partial_fit(X, Y)
    for k, v in clf.module_.encoders.state_dict().items():
        torch.testing.assert_close(v, before[k], msg=k)
    assert not torch.equal(clf.module_.mappings["audio"].weight, mapping)


def test_pretraining_in_pipeline_grid_search_and_pickle(data):
    X, Y = data
    pipe = make_pipeline(FunctionTransformer(), small_clf(max_epochs=1))
    grid = GridSearchCV(pipe, {"multimodalemotionclassifier__pretrain_epochs": [0, 1]},
                        cv=KFold(2), scoring="f1_micro")
    grid.fit(X, Y)
    assert grid.best_params_["multimodalemotionclassifier__pretrain_epochs"] in (0, 1)
    clf = pickle.loads(pickle.dumps(grid.best_estimator_))
    assert clf.predict(X).shape == Y.shape


def test_pretraining_needs_two_modalities(data):
    X, Y = data
    with pytest.raises(ValueError, match="at least two"):
        small_clf(pretrain_epochs=1).fit({"text": X["text"]}, Y)


# ----------------------------------------------------------------------
# Modalities absent for some samples: length 0 in ``<modality>_lengths``.
# ----------------------------------------------------------------------
def _tiny(n=48, seed=0):
    from skmemo.datasets import make_emotion_dataset

    return make_emotion_dataset(n, seq_len=6, random_state=seed)


# ----------------------------------------------------------------------
# training on ragged data
# ----------------------------------------------------------------------


def test_pretraining_accepts_ragged_inputs():
    X, Y = _tiny(64)
    clf = small_clf(max_epochs=1, pretrain_epochs=2).fit(ragged_everywhere(X), Y)
    assert len(clf.pretrain_history_) == 2
    assert np.isfinite(clf.pretrain_history_).all()


def test_ragged_infonce():
    torch.manual_seed(0)
    h = {"text": torch.randn(6, 4), "audio": torch.randn(6, 4)}
    everyone = {m: torch.ones(6, dtype=torch.bool) for m in h}
    torch.testing.assert_close(_ragged_infonce(h, everyone, 0.5),
                               pairwise_infonce_loss(h, temperature=0.5))
    some = {"text": everyone["text"], "audio": torch.tensor([1, 1, 0, 1, 0, 0]).bool()}
    both = some["audio"]
    torch.testing.assert_close(
        _ragged_infonce(h, some, 0.5),
        pairwise_infonce_loss({m: v[both] for m, v in h.items()}, temperature=0.5))
    one = {"text": everyone["text"], "audio": torch.tensor([1, 0, 0, 0, 0, 0]).bool()}
    assert _ragged_infonce(h, one, 0.5) is None

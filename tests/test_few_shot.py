import copy

import numpy as np
import pytest
import torch

from skmemo._few_shot import anchor_penalty, few_shot_update, memory_negatives
from skmemo.continual import EpisodicMemory
from skmemo.datasets import make_emotion_dataset

from .conftest import small_clf

OLD = ["anger", "fear", "happy"]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def zero_shot():
    """Text-only model fitted on three emotions, "sad" added zero-shot; its data."""
    X, Y = make_emotion_dataset(160, emotions=OLD + ["sad"], seq_len=6, random_state=0)
    X = {"text": X["text"]}
    keep = Y[:, 3] == 0
    clf = small_clf(OLD, max_epochs=2, validation_fraction=0, memory_size=32)
    clf.fit({"text": X["text"][keep]}, Y[keep, :3])
    clf.add_emotions(["sad"])
    return clf, X, Y


def _state(clf):
    return {k: v.detach().clone() for k, v in clf.module_.state_dict().items()}


@pytest.mark.parametrize("fit", ["partial_fit", "partial_fit_gem"])
def test_frozen_encoders_learn_only_the_new_embedding(zero_shot, fit):
    clf, X, Y = zero_shot
    clf = copy.deepcopy(clf)
    before = _state(clf)
    old_proba = clf.predict_proba(X)[:, :3]
    n_groups = len(clf.optimizer_.param_groups)
    with few_shot_update(clf, freeze_encoders=True, embedding_lr=0.05) as net:
        assert net is clf
        assert isinstance(clf.module_.emotion_embeddings, torch.nn.Parameter)
        kwargs = {"update": "all"} if fit == "partial_fit_gem" else {}  # the block is ours
        getattr(clf, fit)(X, Y, epochs=2, **kwargs)
    after = _state(clf)
    assert set(after) == set(before)  # same keys: persistence unchanged
    assert "emotion_embeddings" in dict(clf.module_.named_buffers())
    assert "emotion_embeddings" not in dict(clf.module_.named_parameters())
    assert len(clf.optimizer_.param_groups) == n_groups
    assert clf.freeze_encoders is False
    assert all(p.requires_grad for p in clf.module_.encoders.parameters())
    E0, E1 = before["emotion_embeddings"], after["emotion_embeddings"]
    assert torch.equal(E0[:3], E1[:3])  # the fitted emotions' word vectors stay
    assert not torch.allclose(E0[3], E1[3])  # the new one learned
    for key in before:
        if key.startswith("encoders."):
            assert torch.equal(before[key], after[key]), key
    np.testing.assert_allclose(clf.predict_proba(X)[:, :3], old_proba, atol=1e-6)


def test_prior_keeps_the_embedding_near_the_word_vector(zero_shot):
    clf, X, Y = zero_shot
    moved = {}
    for strength in (0.0, 10.0):
        c = copy.deepcopy(clf)
        with few_shot_update(c, freeze_encoders=True, embedding_lr=0.05,
                             prior_strength=strength):
            c.partial_fit(X, Y, epochs=3)
        E = c.module_.emotion_embeddings
        moved[strength] = float((E[3] - clf.module_.emotion_embeddings[3]).norm())
    assert moved[10.0] < 0.5 * moved[0.0]


def test_anchor_pulls_the_encoders_back(zero_shot):
    clf, X, Y = zero_shot
    drift = {}
    ref = _state(clf)
    for strength in (0.0, 20.0):
        c = copy.deepcopy(clf)
        c.set_params(lr=1e-2)
        with few_shot_update(c, train_new_emotions=False, anchor_strength=strength):
            c.partial_fit(X, Y, epochs=3)
        drift[strength] = sum(float((p.detach() - ref[n]).pow(2).sum())
                              for n, p in c.module_.named_parameters())
    assert drift[20.0] < 0.5 * drift[0.0]


def test_anchor_penalty_value_and_gradient():
    module = torch.nn.Linear(3, 2)
    ref = {k: v.detach().clone() for k, v in module.state_dict().items()}
    assert float(anchor_penalty(module, ref, 2.0).detach()) == 0.0
    with torch.no_grad():
        module.weight.add_(1.0)
    penalty = anchor_penalty(module, ref, 2.0)
    assert float(penalty.detach()) == pytest.approx(0.5 * 2.0 * 6)
    penalty.backward()
    np.testing.assert_allclose(module.weight.grad.numpy(), 2.0 * np.ones((2, 3)))
    assert module.bias.grad is None or float(module.bias.grad.abs().sum()) == 0.0


def test_state_is_restored_on_error(zero_shot):
    clf, X, Y = zero_shot
    clf = copy.deepcopy(clf)
    before = _state(clf)
    with pytest.raises(RuntimeError, match="boom"):
        with few_shot_update(clf, freeze_encoders=True, prior_strength=1.0):
            raise RuntimeError("boom")
    assert "emotion_embeddings" in dict(clf.module_.named_buffers())
    assert not clf.optimizer_._optimizer_step_post_hooks
    for key, value in _state(clf).items():
        assert torch.equal(value, before[key])


@pytest.mark.parametrize("kwargs, match", [
    ({"prior_strength": -1.0}, "prior_strength"),
    ({"anchor_strength": float("nan")}, "anchor_strength"),
    ({"embedding_lr": float("inf")}, "embedding_lr"),
    ({"prior_strength": True}, "prior_strength"),
    ({"n_old": 9}, "n_old"),
    ({"prior_strength": 200.0, "embedding_lr": 0.01}, "prior_strength"),
    ({"anchor_strength": 1000.0}, "anchor_strength"),
    ({"n_old": 1.5}, "n_old"),
])
def test_errors_change_nothing(zero_shot, kwargs, match):
    clf, _, _ = zero_shot
    before = _state(clf)
    with pytest.raises(ValueError, match=match):
        with few_shot_update(clf, **kwargs):
            pass
    assert "emotion_embeddings" in dict(clf.module_.named_buffers())
    for key, value in _state(clf).items():
        assert torch.equal(value, before[key])


def test_memory_negatives_appends_the_memory_with_zeros_for_new_emotions():
    rng = np.random.default_rng(0)
    X_old = {"text": rng.normal(size=(20, 4, 3)).astype(np.float32),
             "text_lengths": np.full(20, 4)}
    y_old = np.eye(2, dtype=np.float32)[np.arange(20) % 2]
    memory = EpisodicMemory(8, random_state=0).add_task(X_old, y_old)
    X_new = {"text": np.ones((3, 4, 3), np.float32), "text_lengths": np.full(3, 2)}
    y_new = np.array([[0, 0, 1], [1, 0, 0], [0, 0, 1]], np.float32)
    X, y = memory_negatives(memory, X_new, y_new)
    assert y.shape == (11, 3) and X["text"].shape == (11, 4, 3)
    np.testing.assert_array_equal(y[:3], y_new)
    np.testing.assert_array_equal(y[3:, :2], memory.tasks[0]["y"])
    assert not y[3:, 2].any()  # the memory is negative for the new emotion
    np.testing.assert_array_equal(X["text"][3:], memory.tasks[0]["X"]["text"])
    assert X["text_lengths"].dtype == X_new["text_lengths"].dtype
    # no memory: the data unchanged; a memory without a needed key is skipped
    X2, y2 = memory_negatives(None, X_new, y_new)
    np.testing.assert_array_equal(y2, y_new)
    X3, y3 = memory_negatives(memory, {"audio": np.ones((3, 4, 2), np.float32)}, y_new)
    assert len(y3) == 3 and set(X3) == {"audio"}


def test_n_old_chooses_the_trained_rows(zero_shot):
    clf, X, Y = zero_shot
    clf = copy.deepcopy(clf)
    E0 = clf.module_.emotion_embeddings.clone()
    with few_shot_update(clf, freeze_encoders=True, embedding_lr=0.05, n_old=2):
        clf.partial_fit(X, Y, epochs=2)
    E1 = clf.module_.emotion_embeddings
    assert torch.equal(E0[:2], E1[:2])
    assert not torch.allclose(E0[2], E1[2]) and not torch.allclose(E0[3], E1[3])


def test_partial_fit_gem_default_trains_the_emotion_side_only(zero_shot):
    """The default few-shot step: encoders fixed, the new embedding learned."""
    clf, X, Y = zero_shot
    default, everything = copy.deepcopy(clf), copy.deepcopy(clf)
    before = _state(clf)
    text_only = {"text": X["text"]}
    old_proba = clf.predict_proba(text_only)[:, :3]
    default.partial_fit_gem(X, Y, epochs=2)
    after = _state(default)
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("encoders."))
    assert torch.equal(before["emotion_embeddings"][:3], after["emotion_embeddings"][:3])
    assert not torch.equal(before["emotion_embeddings"][3], after["emotion_embeddings"][3])
    np.testing.assert_allclose(default.predict_proba(text_only)[:, :3], old_proba, atol=1e-6)
    assert "emotion_embeddings" in dict(default.module_.named_buffers())
    assert len(default.optimizer_.param_groups) == len(clf.optimizer_.param_groups)
    # update="all": the behaviour before 0.2, encoders trained, embeddings fixed
    everything.partial_fit_gem(X, Y, epochs=2, update="all")
    after_all = _state(everything)
    assert any(not torch.equal(before[k], after_all[k]) for k in before
               if k.startswith("encoders."))
    assert torch.equal(before["emotion_embeddings"], after_all["emotion_embeddings"])
    with pytest.raises(ValueError, match="update must be"):
        clf.partial_fit_gem(X, Y, update="encoders")

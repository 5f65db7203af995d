"""The training transaction (skmemo._transaction): a failing or interrupted call."""

import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from .conftest import small_clf


# ----------------------------------------------------------------------
# an interrupted or failing training call
# ----------------------------------------------------------------------
class _FailAt(Callback):
    """Raise ``exc`` at batch ``batch`` of epoch ``epoch`` (1-based)."""

    def __init__(self, epoch, batch, exc):
        self.epoch, self.batch, self.exc = epoch, batch, exc

    def initialize(self):
        self.seen_ = 0
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        if len(net.history) == self.epoch:
            self.seen_ += 1
            if self.seen_ == self.batch:
                raise self.exc


class _FailInSecondEpoch(Callback):
    """Raise ``exc`` in the second epoch of every training call."""

    def __init__(self, exc):
        self.exc = exc

    def on_train_begin(self, net, **kwargs):
        self.start_ = len(net.history)

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.start_ + 2:
            raise self.exc


def _weights(clf):
    return {k: v.clone() for k, v in clf.module_.state_dict().items()}


def test_interrupted_fit_keeps_last_complete_epoch(data):
    X, Y = data
    # reference: the same run stopped cleanly after one epoch
    ref = small_clf(max_epochs=1, validation_fraction=0).fit(X, Y)
    clf = small_clf(max_epochs=3, validation_fraction=0,
                    callbacks=[_FailAt(2, 2, KeyboardInterrupt())])
    clf.fit(X, Y)  # skorch stops training quietly on Ctrl-C
    assert len(clf.history) == 1  # the unfinished epoch is not in the history
    for k, v in _weights(ref).items():
        torch.testing.assert_close(clf.module_.state_dict()[k], v)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    assert not hasattr(clf, "epoch_snapshot_")


def test_error_during_training_undoes_the_whole_call(data, fitted):
    """Any error but Ctrl-C, in any epoch: the estimator is as before the call."""
    X, Y = data
    fresh = small_clf(max_epochs=3, validation_fraction=0,
                      callbacks=[_FailAt(2, 2, RuntimeError("disk on fire"))])
    with pytest.raises(RuntimeError, match="disk on fire"):
        fresh.fit(X, Y)
    assert not fresh.__sklearn_is_fitted__() and fresh.history_ is None
    clf = pickle.loads(pickle.dumps(fitted))
    before, proba, n = _weights(clf), clf.predict_proba(X), len(clf.history)
    clf.set_params(callbacks=[_FailInSecondEpoch(RuntimeError("disk on fire"))])
    for call in (lambda: clf.fit(X, Y), lambda: clf.partial_fit(X, Y),
                 lambda: clf.partial_fit_gem(X, Y, new_task=True)):
        with pytest.raises(RuntimeError, match="disk on fire"):
            call()
        assert len(clf.history) == n
        for k, v in before.items():
            assert torch.equal(clf.module_.state_dict()[k], v)
        np.testing.assert_array_equal(clf.predict_proba(X), proba)

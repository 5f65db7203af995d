"""The skorch-native core on a CUDA GPU (skipped without one): ``python -m pytest -m gpu``."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, EpochScoring

import skmemo

from .conftest import small_clf

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


class _Boom(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("boom")


def test_training_calls_and_gem_on_cuda(data, tmp_path):
    X, Y = data
    clf = small_clf(max_epochs=2, device="cuda", callbacks=[
        ("auc", EpochScoring("roc_auc", lower_is_better=False))]).fit(X, Y)
    assert next(clf.module_.parameters()).is_cuda
    assert np.isfinite(clf.history[:, "roc_auc"]).all()
    clf.add_emotions(["calm"], threshold=0.3)
    Y7 = np.c_[Y, Y[:, 0]]
    clf.partial_fit_gem(X[:80], Y7[:80], epochs=2)
    assert clf.memory_.n_tasks == 2 and clf.gem_stats_["steps"] > 0
    proba = clf.predict_proba(X)
    clf.save(tmp_path / "m")
    loaded = skmemo.load(tmp_path / "m", device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-4)


def test_failing_call_on_cuda_changes_nothing(data):
    X, Y = data
    clf = small_clf(max_epochs=1, device="cuda").fit(X, Y)
    before = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    clf.set_params(callbacks=[("boom", _Boom())])
    for call in (lambda: clf.partial_fit(X, Y),
                 lambda: clf.partial_fit_gem(X, Y, new_task=True)):
        with pytest.raises(RuntimeError, match="boom"):
            call()
        after = clf.module_.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before)
        assert len(clf.history) == 1

"""The skorch-native core on a CUDA GPU (skipped without one): ``python -m pytest -m gpu``."""

import pickle

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


# ----------------------------------------------------------------------
# the device, pinned memory, length buckets and the encoder on a GPU
# ----------------------------------------------------------------------
@pytest.mark.gpu
def test_gpu_auto_device_and_cpu_roundtrip(data):
    X, Y = data
    clf = small_clf(max_epochs=1, precision="bf16", device="auto").fit(X, Y)
    assert next(clf.module_.parameters()).is_cuda  # "auto" chose the GPU
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X), atol=1e-5)


def test_cuda_loaders_pin_memory(fitted, data):
    """On CUDA, batches from numpy come from pinned memory (checked without a GPU:
    building the loader needs none)."""
    X, Y = data
    clf = pickle.loads(pickle.dumps(fitted))
    ds = clf.get_dataset(X, Y)
    assert not clf.get_iterator(ds, training=True).pin_memory
    clf.device = "cuda"
    assert clf.get_iterator(ds, training=True).pin_memory
    assert clf.get_iterator(ds, training=False).pin_memory


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["32", "bf16", "fp16"])
def test_gpu_training_with_length_buckets(data, precision):
    """CUDA training (packed sequences) in every precision; fp16 uses a gradient scaler."""
    X, Y = data
    clf = small_clf(max_epochs=2, precision=precision, bucket_by_length=True,
                    device="cuda").fit(X, Y)
    assert next(clf.module_.parameters()).is_cuda
    assert (getattr(clf, "grad_scaler_", None) is not None) == (precision == "fp16")
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    assert np.isfinite(clf.history[:, "train_loss"]).all()


@pytest.mark.gpu
def test_gpu_encoder_equals_cpu_encoder():
    """Packed sequences on CUDA and the CPU training path compute the same outputs.

    In full float32: TF32 (which cuDNN and matmuls may use on Ampere and later)
    rounds inputs to 10 mantissa bits, far above this tolerance, so it is off here.
    """
    from skmemo.modules import SequenceEncoder

    torch.manual_seed(0)
    enc = SequenceEncoder(7, 5, dropout=0.0)
    lengths = torch.tensor([9, 1, 4, 7, 2, 9])
    x = torch.randn(6, 9, 7)
    x[torch.arange(9)[None, :] >= lengths[:, None]] = 0
    cpu = enc(x, lengths)  # gradients on: each direction apart
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        gpu = enc.cuda()(x.cuda(), lengths.cuda())
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    np.testing.assert_allclose(gpu.detach().cpu(), cpu.detach(), atol=1e-5)

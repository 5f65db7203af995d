"""Interruption, checkpoint/resume, determinism, concurrency, mixed precision."""

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, Checkpoint, LoadInitState

from .conftest import small_clf


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


def test_checkpoint_and_resume(data, tmp_path):
    X, Y = data
    cp = Checkpoint(dirname=str(tmp_path), monitor=None)  # save after every epoch
    first = small_clf(max_epochs=2, callbacks=[cp]).fit(X, Y)
    resumed = small_clf(max_epochs=1, callbacks=[
        Checkpoint(dirname=str(tmp_path), monitor=None), LoadInitState(cp)])
    resumed.fit(X, Y)
    assert len(resumed.history) == 3  # two loaded epochs + one more
    # the resumed run started from the saved weights, not from scratch
    scratch = small_clf(max_epochs=1).fit(X, Y)
    assert resumed.history[1, "train_loss"] == first.history[1, "train_loss"]
    assert not np.allclose(resumed.predict_proba(X), scratch.predict_proba(X))


def test_same_random_state_same_result_different_seed_differs(data):
    X, Y = data
    a = small_clf(max_epochs=2).fit(X, Y)
    b = small_clf(max_epochs=2).fit(X, Y)
    c = small_clf(max_epochs=2, random_state=1).fit(X, Y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))
    assert a.history[:, "train_loss"] == b.history[:, "train_loss"]


def test_concurrent_predict_proba_matches_sequential(fitted, data):
    X, _ = data
    chunks = [X[i:i + 30] for i in range(0, len(X), 30)]
    sequential = [fitted.predict_proba(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(fitted.predict_proba, chunks * 3))
    for i, p in enumerate(parallel):
        np.testing.assert_array_equal(p, sequential[i % len(chunks)])


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_runs_on_cpu(data, precision):
    X, Y = data
    clf = small_clf(max_epochs=1, precision=precision).fit(X, Y)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    seen = []
    hook = clf.module_.register_forward_hook(
        lambda m, args, out: seen.append(torch.get_autocast_dtype("cpu")
                                         if torch.is_autocast_enabled("cpu") else None))
    proba = clf.predict_proba(X)
    hook.remove()
    assert seen and set(seen) == {dtype}  # the forward pass ran under autocast
    assert proba.dtype == np.float64 and np.isfinite(proba).all()
    full = small_clf(max_epochs=1).fit(X, Y).predict_proba(X)
    assert not np.array_equal(proba, full)  # reduced precision changes the numbers


def test_bad_precision(data):
    X, Y = data
    with pytest.raises(ValueError, match="precision must be one of"):
        small_clf(precision="int8").fit(X, Y)


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

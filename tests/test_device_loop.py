"""Batch losses read once per epoch (``skmemo._device_loop.DeviceLossMixin``)."""

import warnings

import numpy as np
import pytest
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import ValidSplit
from skorch.history import DistributedHistory

from skmemo import MultimodalEmotionClassifier
from skmemo._device_loop import DeviceLossMixin

from .conftest import small_clf


class _Net(DeviceLossMixin, NeuralNet):
    pass


class _Module(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(),
                                          torch.nn.Dropout(0.2), torch.nn.Linear(8, 1))

    def forward(self, X):
        return self.layers(X)


class _EpochEndLosses(Callback):
    """Reads the epoch's batch losses when the epoch ends, as a user callback would."""

    def initialize(self):
        self.seen_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.seen_.append(list(net.history[-1, "batches", :, "train_loss"]))


class _BatchEndLoss(Callback):
    """Reads the current batch's loss in ``on_batch_end``."""

    def initialize(self):
        self.seen_ = []
        return self

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            self.seen_.append(net.history[-1, "batches", -1, "train_loss"])


class _StopAtBatch(Callback):
    def __init__(self, at):
        self.at = at

    def on_batch_end(self, net, **kwargs):
        if len(net.history[-1, "batches"]) == self.at:
            raise RuntimeError("stop here")


def _data(n=90, device="cpu"):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 5).astype(np.float32)
    y = (X[:, :1] + 0.3 * rng.randn(n, 1) > 0).astype(np.float32)
    if device != "cpu":
        return torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    return X, y


def _fit(cls, callbacks=(), max_epochs=3, device="cpu", **params):
    torch.manual_seed(0)
    X, y = _data(device=device)
    params.setdefault("criterion", torch.nn.BCEWithLogitsLoss)
    net = cls(_Module, optimizer=torch.optim.SGD, lr=0.5, batch_size=16,
              max_epochs=max_epochs, device=device,
              train_split=ValidSplit(3), callbacks=list(callbacks), verbose=0, **params)
    return net.fit(X, y)


def _without_dur(history):
    return [{k: v for k, v in row.items() if k != "dur"} for row in history.to_list()]


def test_history_equals_skorch_loop():
    plain, ours = _fit(NeuralNet), _fit(_Net)
    expected, got = _without_dur(plain.history), _without_dur(ours.history)
    assert len(got) == len(expected) == 3
    for row, ref in zip(got, expected):
        # epoch-level entries are identical, the batches too, key order included
        assert row == ref
        assert [list(b) for b in row["batches"]] == [list(b) for b in ref["batches"]]
        assert row["train_batch_count"] == 4 and row["valid_batch_count"] == 2
        for batch in row["batches"]:
            loss = batch.get("train_loss", batch.get("valid_loss"))
            assert type(loss) is float
    np.testing.assert_allclose(ours.history[:, "train_loss"],
                               plain.history[:, "train_loss"], rtol=0, atol=0)


def test_early_stopping_and_epoch_end_readers_see_the_same():
    def fit(cls):
        reader = _EpochEndLosses()
        stop = EarlyStopping(patience=2, threshold=0.5)  # stops after 3 epochs
        return _fit(cls, [("reader", reader), ("stop", stop)], max_epochs=10), reader

    (plain, plain_reader), (ours, our_reader) = fit(NeuralNet), fit(_Net)
    assert len(ours.history) == len(plain.history) < 10
    assert our_reader.seen_ == plain_reader.seen_
    assert all(type(v) is float for epoch in our_reader.seen_ for v in epoch)
    assert _without_dur(ours.history) == _without_dur(plain.history)


def test_batch_end_readers_get_the_loss_tensor():
    reader = _BatchEndLoss()
    net = _fit(_Net, [("reader", reader)], max_epochs=2)
    assert len(reader.seen_) == 8
    assert all(isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad
               for v in reader.seen_)
    recorded = [b["train_loss"] for epoch in net.history[:, "batches"] for b in epoch
                if "train_loss" in b]
    assert [float(v) for v in reader.seen_] == recorded


def test_error_in_the_loop_leaves_floats_behind():
    torch.manual_seed(0)
    X, y = _data()
    net = _Net(_Module, criterion=torch.nn.BCEWithLogitsLoss, batch_size=16,
               max_epochs=1, train_split=None, verbose=0,
               callbacks=[("stop", _StopAtBatch(3))])
    with pytest.raises(RuntimeError, match="stop here"):
        net.fit(X, y)
    losses = net.history[-1, "batches", :, "train_loss"]
    assert len(losses) == 3 and all(type(v) is float for v in losses)


def test_distributed_history_keeps_skorch_loop(tmp_path):
    store = torch.distributed.FileStore(str(tmp_path / "store"), 1)
    history = DistributedHistory(store=store, rank=0, world_size=1)
    ours = _fit(_Net, history=history)
    plain = _fit(NeuralNet)
    assert isinstance(ours.history, DistributedHistory)
    assert _without_dur(ours.history) == _without_dur(plain.history)


def test_estimator_history_equals_skorch_loop(data):
    class Plain(MultimodalEmotionClassifier):
        run_single_epoch = NeuralNet.run_single_epoch

    X, Y = data
    assert issubclass(MultimodalEmotionClassifier, DeviceLossMixin)
    ours = small_clf(max_epochs=2).fit(X, Y)
    plain = small_clf(cls=Plain, max_epochs=2).fit(X, Y)
    assert _without_dur(ours.history) == _without_dur(plain.history)
    assert "valid_loss" in ours.history[-1]
    np.testing.assert_allclose(ours.predict_proba(X), plain.predict_proba(X), rtol=0, atol=0)


class _SyncWindow(Callback):
    """Sets ``torch.cuda.set_sync_debug_mode`` from a batch's start to its end.

    The window covers skorch's train step (forward, loss, backward, optimizer
    step, the gradient callbacks) and the recording of the batch in the
    history: the batch loop's own work, without the data loader.
    """

    def __init__(self, mode):
        self.mode = mode

    def on_batch_begin(self, net, **kwargs):
        torch.cuda.set_sync_debug_mode(self.mode)

    def on_batch_end(self, net, **kwargs):
        torch.cuda.set_sync_debug_mode(0)

    def on_train_end(self, net, **kwargs):
        torch.cuda.set_sync_debug_mode(0)


def _needs_cuda(test):
    """Marked ``gpu`` (``pytest -m gpu``) and skipped without a CUDA device."""
    return pytest.mark.gpu(pytest.mark.skipif(
        not torch.cuda.is_available(), reason="needs a CUDA GPU")(test))


@_needs_cuda
def test_no_host_sync_in_the_batch_loop_on_cuda():
    try:
        # skorch's loop synchronises once a batch (loss.item()): the window sees it
        with pytest.raises(RuntimeError, match="synchroniz"):
            _fit(NeuralNet, [("sync", _SyncWindow("error"))], max_epochs=1, device="cuda")
        torch.cuda.set_sync_debug_mode(0)
        net = _fit(_Net, [("sync", _SyncWindow("error"))], max_epochs=2, device="cuda")
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert all(type(b[k]) is float for b in net.history[-1, "batches"]
               for k in b if k.endswith("_loss"))


@_needs_cuda
def test_estimator_syncs_one_less_per_batch_on_cuda(data):
    class Plain(MultimodalEmotionClassifier):
        run_single_epoch = NeuralNet.run_single_epoch

    X, Y = data

    def syncs(cls):
        clf = small_clf(cls=cls, max_epochs=1, device="cuda", validation_fraction=0,
                        callbacks=[("sync", _SyncWindow("warn"))])
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                clf.fit(X, Y)
        finally:
            torch.cuda.set_sync_debug_mode(0)
        n_batches = clf.history[-1, "train_batch_count"]
        return sum("synchroniz" in str(w.message) for w in caught), n_batches

    (plain, n_batches), (ours, _) = syncs(Plain), syncs(MultimodalEmotionClassifier)
    # what remains is the network's own (e.g. lengths read for packing): printed
    # so that the device run shows it
    print(f"host syncs per batch: skorch loop {plain / n_batches:.2f}, "
          f"device losses {ours / n_batches:.2f}")
    assert plain - ours == n_batches


def test_losses_of_other_shapes_are_read_as_skorch_does():
    class OneElementLoss(torch.nn.BCEWithLogitsLoss):
        def forward(self, y_pred, y_true):
            return super().forward(y_pred, y_true).reshape(1)

    plain, ours = (_fit(cls, criterion=OneElementLoss, max_epochs=2)
                   for cls in (NeuralNet, _Net))
    assert _without_dur(ours.history) == _without_dur(plain.history)
    assert type(ours.history[-1, "batches", 0, "train_loss"]) is float


def test_progress_bar_shows_the_number():
    from skorch.history import History

    from skmemo._callbacks import _ProgressBar

    class Net:
        history = History()

    Net.history.new_epoch()
    Net.history.new_batch()
    Net.history.record_batch("train_loss", torch.tensor(0.25))
    assert _ProgressBar()._get_postfix_dict(Net) == {"train_loss": 0.25}
    assert type(_ProgressBar()._get_postfix_dict(Net)["train_loss"]) is float

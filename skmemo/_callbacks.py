"""Callbacks and epoch scoring used by the estimator."""

import warnings

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

from ._transaction import weights_snapshot
from .metrics import weighted_accuracy_score


def _valid_weighted_accuracy(net, X, y):
    """Epoch scoring: mean weighted accuracy on the internal validation split."""
    logits = net.forward(X, training=False)
    y = np.asarray(y)
    if hasattr(net, "_decide"):  # single-label mode: argmax of the softmax
        pred = net._decide(net._proba_from_logits(logits).numpy(), y.shape[1])
    else:
        pred = torch.sigmoid(logits).numpy() > net.thresholds_[:y.shape[1]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return weighted_accuracy_score(y, pred)


class _EpochSnapshot(Callback):
    """Keep the module and optimizer state of the last complete epoch in memory.

    If training is interrupted with Ctrl-C (``KeyboardInterrupt``), the
    estimator goes back to this state and keeps the completed epochs, as
    skorch does; any other error undoes the whole call
    (:mod:`skmemo._transaction`).
    """

    def on_epoch_end(self, net, **kwargs):
        net.epoch_snapshot_ = weights_snapshot(net)


class _EarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping``, also when training wrapped the network.

    With several processes ``module_`` is a ``DistributedDataParallel`` while
    training (its state keys start with ``module.``) and is unwrapped when
    training ends, before the best weights are loaded back.
    """

    def on_train_end(self, net, **kwargs):
        weights = getattr(self, "best_model_weights_", None)
        wrapped = isinstance(net.module_, torch.nn.parallel.DistributedDataParallel)
        if self.load_best and weights is not None and not wrapped:
            consume_prefix_in_state_dict_if_present(weights, "module.")
        return super().on_train_end(net, **kwargs)

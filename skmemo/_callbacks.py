"""Callbacks and epoch scoring used by the estimator."""

import warnings

import numpy as np
import torch
from skorch.callbacks import Callback

from ._transaction import weights_snapshot
from .metrics import weighted_accuracy_score


def _valid_weighted_accuracy(net, X, y):
    """Epoch scoring: mean weighted accuracy on the internal validation split."""
    proba = torch.sigmoid(net.forward(X, training=False)).numpy()
    y = np.asarray(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return weighted_accuracy_score(y, proba > net.thresholds_[:y.shape[1]])


class _EpochSnapshot(Callback):
    """Keep the module and optimizer state of the last complete epoch in memory.

    If training is interrupted with Ctrl-C (``KeyboardInterrupt``), the
    estimator goes back to this state and keeps the completed epochs, as
    skorch does; any other error undoes the whole call
    (:mod:`skmemo._transaction`).
    """

    def on_epoch_end(self, net, **kwargs):
        net.epoch_snapshot_ = weights_snapshot(net)

"""Callbacks and epoch scoring used by the estimator."""

import copy
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback

from .metrics import weighted_accuracy_score


def _valid_weighted_accuracy(net, X, y):
    """Epoch scoring: mean weighted accuracy on the internal validation split."""
    proba = torch.sigmoid(net.forward(X, training=False)).numpy()
    y = np.asarray(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return weighted_accuracy_score(y, proba > net._thresholds(y.shape[1]))


def _training_state(net):
    return {
        "module": copy.deepcopy(net.module_.state_dict()),
        "optimizer": copy.deepcopy(net.optimizer_.state_dict()),
    }


class _EpochSnapshot(Callback):
    """Keep the module and optimizer state of the last complete epoch in memory.

    If training is interrupted (KeyboardInterrupt, or an exception mid-epoch),
    the estimator goes back to this state, so it stays usable; before the
    first epoch completes, that is the state the run started from.
    """

    def on_epoch_end(self, net, **kwargs):
        net.epoch_snapshot_ = _training_state(net)

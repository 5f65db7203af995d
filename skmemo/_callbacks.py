"""Callbacks and epoch scoring used by the estimator."""

import re
import sys
import warnings

import numpy as np
import torch
from sklearn.metrics import get_scorer_names as sklearn_scorer_names
from skorch.callbacks import Callback, EarlyStopping, PrintLog, ProgressBar
from skorch.callbacks.scoring import ScoringBase
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

from ._transaction import weights_snapshot
from .metrics import get_scorer, get_scorer_names, weighted_accuracy_score

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


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


class _PrintLog(PrintLog):
    """skorch's ``PrintLog``: plain text off a terminal, a header per new column.

    Colours (ANSI codes marking the best scores) only when the table goes to
    ``print`` and stdout is a terminal; in a log file or a pipe the table is
    plain text. When the columns change between epochs (``partial_fit_gem``
    adds ``gem_violations``), the header is printed again, so that every row
    sits under its own header.
    """

    def initialize(self):
        super().initialize()
        self.columns_ = None
        return self

    def table(self, row):
        text = super().table(row)
        if self.sink is print and _is_terminal(sys.stdout):
            return text
        return _ANSI.sub("", text)

    def on_epoch_end(self, net, **kwargs):
        columns = self._sorted_keys(net.history[-1].keys())
        if getattr(self, "columns_", None) not in (None, columns):
            self.first_iteration_ = True
        self.columns_ = columns
        return super().on_epoch_end(net, **kwargs)


class _ProgressBar(ProgressBar):
    """skorch's ``ProgressBar``, shown only when stderr is a terminal.

    tqdm redraws its bar with carriage returns; in a log file or a pipe that
    is only noise, so there the bar is left out (the ``verbose`` table stays).
    """

    def on_epoch_begin(self, net, **kwargs):
        self.pbar_ = None
        if _is_terminal(sys.stderr):
            super().on_epoch_begin(net, **kwargs)

    def on_batch_end(self, net, **kwargs):
        if getattr(self, "pbar_", None) is not None:
            super().on_batch_end(net, **kwargs)

    def _get_postfix_dict(self, net):
        # during the loop a batch's loss is still a 0-dim tensor (DeviceLossMixin);
        # the bar shows its number (reading it waits for the batch, as skorch's loop does)
        return {k: float(v) if isinstance(v, torch.Tensor) else v
                for k, v in super()._get_postfix_dict(net).items()}

    def on_epoch_end(self, net, **kwargs):
        if getattr(self, "pbar_", None) is not None:
            super().on_epoch_end(net, **kwargs)


def resolve_scorer_names(net):
    """Let the scoring callbacks of ``net`` take skmemo's scorer names.

    skorch resolves a ``scoring`` string with scikit-learn's scorers, which do
    not know ``"emotion_roc_auc"``, ``"weighted_accuracy"`` or
    ``"weighted_f1"`` (see :func:`skmemo.metrics.get_scorer_names`): such a
    name is replaced by skmemo's scorer (the history column keeps the name).
    A name neither knows is refused here, before training, instead of after
    the first epoch.
    """
    ours = set(get_scorer_names())
    for name, callback in net.callbacks_:
        scoring = getattr(callback, "scoring_", None)
        if not isinstance(callback, ScoringBase) or not isinstance(scoring, str):
            continue
        if scoring in ours:
            callback.scoring_ = get_scorer(scoring)
        elif scoring not in sklearn_scorer_names():
            raise ValueError(
                f"callback {name!r}: scoring={scoring!r} is neither a skmemo scorer "
                f"({sorted(ours)}) nor a scikit-learn one "
                "(sklearn.metrics.get_scorer_names()); or pass a callable "
                "scorer(net, X, y)")

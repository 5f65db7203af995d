"""Batch losses kept on the device during an epoch and read once at its end.

skorch's ``NeuralNet.run_single_epoch`` records every batch's loss with
``loss.item()``; on a GPU that is a host synchronisation per batch: the host
waits for the batch to finish before it may queue the next one.
:class:`DeviceLossMixin` records the same history entries with the same
values, but reads the losses of a whole loop (training or validation) with
one device-to-host copy when the loop ends.
"""

from contextlib import suppress

import torch
from skorch.dataset import get_len
from skorch.history import DistributedHistory

__all__ = []


def _loss_values(losses):
    """Python floats of 0-dim loss tensors: one copy to the host per device."""
    if not losses:
        return []
    device = losses[0].device
    if all(loss.device == device for loss in losses):
        return torch.stack(losses).tolist()
    return [loss.item() for loss in losses]


class DeviceLossMixin:
    """``run_single_epoch`` without a host synchronisation per batch.

    A mixin for a skorch ``NeuralNet`` (placed before it in the bases, as
    skorch's own mixins are). Each batch records ``<prefix>_loss`` and
    ``<prefix>_batch_size`` as skorch does, in the same order; a scalar
    (0-dim) loss tensor is first recorded detached, on the device it was
    computed on, and when the loop ends all of the loop's losses are read with
    one copy and replace those tensors by Python floats, the values
    ``loss.item()`` gives (a loss of another shape or type is read with
    ``.item()`` at once, as skorch does). Everything after the loop (``on_epoch_end``:
    ``PassthroughScoring``'s ``train_loss`` / ``valid_loss``, early stopping,
    the printed log, LR schedulers, checkpoints) sees the history skorch
    records, float for float.

    Inside the loop, a callback that reads the current batch's loss
    (``net.history[-1, 'batches', -1, 'train_loss']`` in ``on_batch_end``,
    e.g. a progress bar's postfix or an LR scheduler stepped every batch)
    gets that 0-dim tensor: ``float(value)`` gives the number, at the cost
    of the synchronisation this mixin saves (the reader's choice). The
    ``loss`` passed to ``on_batch_end`` is the loss tensor, as in skorch.
    If the loop stops on an error, the losses recorded so far are still
    turned into floats before the error propagates.

    With a ``DistributedHistory`` every batch value is written to the
    processes' shared store when it is recorded, a host operation per batch
    by design; there the mixin leaves skorch's loop as it is.
    """

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None or isinstance(self.history, DistributedHistory):
            return super().run_single_epoch(iterator, training, prefix, step_fn,
                                            **fit_params)
        key = prefix + "_loss"
        rows, losses = [], []
        batch_count = 0
        try:
            for batch in iterator:
                self.notify("on_batch_begin", batch=batch, training=training)
                step = step_fn(batch, **fit_params)
                loss = step["loss"]
                if isinstance(loss, torch.Tensor) and loss.dim() == 0:
                    loss = loss.detach()
                    rows.append(self.history[-1]["batches"][-1])
                    losses.append(loss)
                else:  # what skorch records, or skorch's error for it
                    loss = loss.item()
                self.history.record_batch(key, loss)
                batch_size = (get_len(batch[0]) if isinstance(batch, (tuple, list))
                              else get_len(batch))
                self.history.record_batch(prefix + "_batch_size", batch_size)
                self.notify("on_batch_end", batch=batch, training=training, **step)
                batch_count += 1
        except BaseException:
            with suppress(Exception):  # the error that stopped the loop wins
                self._record_loss_values(rows, losses, key)
            raise
        self._record_loss_values(rows, losses, key)
        self.history.record(prefix + "_batch_count", batch_count)

    @staticmethod
    def _record_loss_values(rows, losses, key):
        """Replace the loss tensors of the loop's history rows by their floats."""
        for row, value in zip(rows, _loss_values(losses)):
            row[key] = value
        rows.clear()
        losses.clear()

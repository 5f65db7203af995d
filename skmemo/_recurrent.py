"""The CPU path of the recurrent encoders, arranged for speed.

:class:`skmemo.modules.SequenceEncoder` trains (and, unless a batch is mostly
padding, predicts) on the CPU by running each
direction of each layer on its own over a copy of the batch in which the real
steps come first (torch's packed recurrent layers have a CPU backward pass
whose cost grows with the square of the steps). That needs each sample's real
steps reversed for the backward direction and put back afterwards. Done with
``gather`` and its backward ``scatter_add``, these reorderings took about a
sixth of the recurrent kernels' time at the default sizes (measured); here they
are one row permutation each:

- every reordering is an ``index_select`` of rows of a ``(steps * batch,
  features)`` matrix whose backward pass is the inverse permutation, again an
  ``index_select`` (no zero-filled gradient, no scattered additions);
- the layers run time-major, as torch's fused CPU kernels store them, so the
  transposes to and from ``batch_first`` happen once per batch, folded into the
  first and last permutation, instead of once per layer and direction.

Values and gradients are those of the packed reference path
(``tests/test_modules.py``).
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["permute_rows", "run_directions_apart"]


class _PermuteRows(torch.autograd.Function):
    """``x.view(-1, D)[index]`` whose gradient is the inverse permutation."""

    @staticmethod
    def forward(ctx, x, index, inverse):
        ctx.save_for_backward(inverse, index)
        ctx.shape = x.shape
        return x.reshape(-1, x.shape[-1]).index_select(0, index)

    @staticmethod
    def backward(ctx, grad):
        inverse, index = ctx.saved_tensors
        return _PermuteRows.apply(grad, inverse, index).view(ctx.shape), None, None


def permute_rows(x, index, inverse):
    """Rows of ``x`` viewed as ``(-1, D)`` in the order ``index``: (len(index), D).

    Parameters
    ----------
    x : Tensor (..., D)
    index : LongTensor (N,)
        A permutation of the ``N`` rows of ``x.reshape(-1, D)``.
    inverse : LongTensor (N,)
        Its inverse (``inverse[index] == arange(N)``), which maps the gradient
        back.
    """
    return _PermuteRows.apply(x, index, inverse)


def _inverse(index):
    inverse = torch.empty_like(index)
    inverse[index] = torch.arange(len(index), device=index.device)
    return inverse


def run_directions_apart(rnn, x, lengths):
    """A stacked (bi)directional ``nn.LSTM`` / ``nn.GRU``, directions summed.

    Parameters
    ----------
    rnn : nn.LSTM or nn.GRU
        Built with ``batch_first=True``; its weights are used as they are.
    x : Tensor (B, T, D)
        Real steps first: sample ``i`` occupies ``x[i, :lengths[i]]``.
    lengths : LongTensor (B,)
        ``max(lengths) == T``.

    Returns
    -------
    Tensor (B, T, H)
        The sum of the directions' outputs; zero past each sample's length.
        Each direction reads only real steps before the ones it outputs: the
        forward direction reads ``x``, the backward direction each sample's
        real steps reversed, with the padding after them in both.
    """
    B, T, D = x.shape
    H = rnn.hidden_size
    dirs = 2 if rnn.bidirectional else 1
    device = x.device
    step = torch.arange(T, device=device)
    lengths = lengths.to(device)
    real = step[None, :] < lengths[:, None]  # (B, T)
    # rev[b, t]: the step read at t when sample b's real steps run backwards
    rev = torch.where(real, lengths[:, None] - 1 - step[None, :], step)
    batch = torch.arange(B, device=device)
    # row indices into (B*T) batch-first and (T*B) time-major matrices
    to_time = (batch[None, :] * T + step[:, None]).reshape(-1)  # (T*B): (t, b) <- (b, t)
    rev_time = (rev.T * B + batch[None, :]).reshape(-1)  # (T*B): (t, b) <- (rev[b, t], b)
    rev_from_batch = (batch[None, :] * T + rev.T).reshape(-1)  # (T*B): (t, b) <- (b, rev)
    run = torch.lstm if isinstance(rnn, nn.LSTM) else torch.gru

    def direction(inp, layer, reverse):
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")[:4 if rnn.bias else 2]
        weights = [getattr(rnn, name + suffix) for name in names]
        h0 = inp.new_zeros(1, B, H)
        hx = (h0, h0) if run is torch.lstm else h0
        # time-major (T, B, features); batch_first=False
        return run(inp, hx, weights, rnn.bias, 1, 0.0, rnn.training, False, False)[0]

    # first layer: both directions read the batch-first input through one permutation
    h = None
    for layer in range(rnn.num_layers):
        outs = []
        for reverse in range(dirs):
            if layer == 0:
                index = rev_from_batch if reverse else to_time
                inp = permute_rows(x, index, _inverse(index)).view(T, B, D)
            else:
                inp = permute_rows(h, rev_time, rev_time).view(T, B, -1) if reverse else h
            o = direction(inp, layer, reverse)
            if reverse:  # back to forward time; rev is its own inverse
                o = permute_rows(o, rev_time, rev_time).view(T, B, H)
            outs.append(o)
        h = torch.cat(outs, dim=-1) if dirs > 1 else outs[0]  # (T, B, dirs*H)
        if layer < rnn.num_layers - 1 and rnn.dropout:
            h = F.dropout(h, rnn.dropout, rnn.training)
    summed = h.view(T, B, dirs, H).sum(dim=2) if dirs > 1 else h  # (T, B, H)
    to_batch = (step[None, :] * B + batch[:, None]).reshape(-1)  # (B*T): inverse of to_time
    out = permute_rows(summed, to_batch, to_time)
    return out.view(B, T, H) * real[:, :, None].to(out.dtype)

"""Cross-modal attention that enriches each modality with the others.

After MultiEMO (Shi and Huang, ACL 2023, https://aclanthology.org/2023.acl-long.824):
for each modality a stack of layers whose query is that modality; each layer
attends to the second modality, then to the third, each time followed by a
residual connection and LayerNorm, then a feed-forward block. MultiEMO fuses
utterance vectors and classifies the concatenation; here the layers enrich the
*sequences* of every modality **before** the per-modality emotion scoring, so
that scoring against (mapped) emotion word vectors, and with it zero-shot,
still works. Pure torch; shapes: B batch, T steps, H hidden, D attention width.
"""

import torch
from torch import nn

__all__ = ["CrossModalLayer", "CrossModalEncoder"]


class CrossModalLayer(nn.Module):
    """One layer: query modality attends to each other modality in turn.

    Parameters
    ----------
    dim : int
        Attention width D.
    n_sources : int
        Number of other modalities attended to.
    heads : int, default=4
    ff_mult : int, default=4
        Width of the feed-forward block is ``ff_mult * dim``.
    dropout : float, default=0.1
    """

    def __init__(self, dim, n_sources, heads=4, ff_mult=4, dropout=0.1):
        super().__init__()
        self.attention = nn.ModuleList(
            nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
            for _ in range(n_sources)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(n_sources + 1))
        self.feed_forward = nn.Sequential(
            nn.Linear(dim, ff_mult * dim), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(ff_mult * dim, dim),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, query, sources, masks, blocks=None, present=None):
        """Enrich ``query`` (B, Tq, D) with ``sources`` [(B, Ts, D)].

        ``masks`` are (B, Ts) with True at padding; ``blocks`` names the
        attention block used for each source (default: in order), so that a
        layer built for three modalities also runs when one is missing.
        ``present`` holds, per source, None (present for every sample) or a
        (B,) bool tensor: where False the source is absent for that sample and
        its block leaves the sample's query unchanged, exactly as if the
        source were not given.
        """
        blocks = range(len(sources)) if blocks is None else blocks
        present = [None] * len(sources) if present is None else present
        h = query
        for i, src, mask, here in zip(blocks, sources, masks, present):
            if here is not None:
                # an all-masked row would make the softmax NaN: let absent rows
                # attend to their (zero) steps, then discard the result
                mask = mask & here[:, None]
            out, _ = self.attention[i](h, src, src, key_padding_mask=mask,
                                       need_weights=False)
            new = self.norms[i](h + self.dropout(out))
            h = new if here is None else torch.where(here[:, None, None], new, h)
        return self.norms[-1](h + self.dropout(self.feed_forward(h)))


class CrossModalEncoder(nn.Module):
    """Bidirectional cross-modal attention over all pairs of modalities.

    Each modality's sequence ``(B, T_m, H_m)`` is projected to width D, passed
    through ``layers`` :class:`CrossModalLayer` (query = that modality,
    keys/values = each other modality), projected back to ``H_m`` and added to
    its input (residual), so the output has the input's shape.

    Parameters
    ----------
    hidden_sizes : dict
        ``{modality: H_m}``; at least two modalities.
    dim : int, default=64
    layers : int, default=2
    heads : int, default=4
    dropout : float, default=0.1
    """

    def __init__(self, hidden_sizes, dim=64, layers=2, heads=4, dropout=0.1):
        super().__init__()
        if len(hidden_sizes) < 2:
            raise ValueError("cross-modal attention needs at least two modalities")
        if dim % heads:
            raise ValueError(f"attention dim {dim} must be divisible by heads {heads}")
        self.modalities = tuple(hidden_sizes)
        n_src = len(self.modalities) - 1
        self.project_in = nn.ModuleDict({m: nn.Linear(h, dim) for m, h in hidden_sizes.items()})
        self.project_out = nn.ModuleDict({m: nn.Linear(dim, h) for m, h in hidden_sizes.items()})
        self.layers = nn.ModuleDict({
            m: nn.ModuleList(CrossModalLayer(dim, n_src, heads, dropout=dropout)
                             for _ in range(layers))
            for m in self.modalities
        })

    def forward(self, sequences, lengths):
        """sequences {m: (B, T_m, H_m)}, real steps first; lengths {m: (B,)}.

        Modalities absent from ``sequences`` are skipped (inference on a
        subset); with a single modality present the input is returned as is.
        A length of 0 marks a modality absent for one sample: its keys are
        masked (the blocks that read it leave the sample unchanged), and its
        own output rows are meaningless (the caller discards them).
        """
        present = [m for m in self.modalities if m in sequences]
        if len(present) < 2:
            return sequences
        h = {m: self.project_in[m](sequences[m]) for m in present}  # (B, T_m, D)
        masks, here = {}, {}
        for m in present:
            T = sequences[m].shape[1]
            steps = torch.arange(T, device=sequences[m].device)[None, :]
            L = lengths[m].to(steps.device)
            masks[m] = steps >= L[:, None]  # True = padding
            here[m] = None if bool((L > 0).all()) else L > 0
        for depth in range(len(next(iter(self.layers.values())))):
            new = {}
            for m in present:
                others = [o for o in self.modalities if o != m]
                blocks = [i for i, o in enumerate(others) if o in h]
                new[m] = self.layers[m][depth](
                    h[m], [h[others[i]] for i in blocks],
                    [masks[others[i]] for i in blocks], blocks,
                    [here[others[i]] for i in blocks],
                )
            h = new
        return {m: sequences[m] + self.project_out[m](h[m]) for m in present}


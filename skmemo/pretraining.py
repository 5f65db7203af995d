"""Modality-pairwise unsupervised contrastive pre-training of the encoders.

After "Multimodal Emotion Recognition with Modality-Pairwise Unsupervised
Contrastive Loss" (Franceschini, Fini, Beyan, Conti, Arrigoni, Ricci; ICPR 2022,
https://arxiv.org/abs/2207.11482): every modality's encoder gets a projection
head; for every ordered pair of modalities an InfoNCE loss pulls together the
two views of the same sample and pushes apart the other samples of the batch.
No labels are used. With ragged inputs (a modality absent for some samples),
each pair of modalities is contrasted over the samples that hold both. The
heads are dropped afterwards; the estimator then trains
its emotion scoring on the labelled data, starting from the pre-trained
encoders (or with them frozen: a linear probe).

Unlike the reference code, nothing here ever sees test inputs unless the user
passes them on purpose: the estimator pre-trains on its training inputs plus
the optional ``pretrain_X``.
"""

import torch
from torch import nn

from .data import MODALITIES
from .losses import pairwise_infonce_loss

__all__ = ["contrastive_pretrain"]


def contrastive_pretrain(module, batches, *, epochs, lr=1e-3, temperature=0.07,
                         projection_dim=64, device="cpu"):
    """Pre-train ``module``'s encoders with the pairwise InfoNCE loss.

    Parameters
    ----------
    module : EmotionEmbeddingModel
        Its encoders (and text projection) are trained in place; cross-modal
        attention, mappings and fusion weights are left untouched.
    batches : callable
        Returns a fresh iterable of ``(X_batch, _)`` per epoch, where
        ``X_batch`` maps modality names (and optional ``<m>_lengths``) to tensors.
    epochs : int
    lr : float, default=1e-3
    temperature : float, default=0.07
    projection_dim : int, default=64
        Output size of the projection heads (two-layer MLPs, discarded).
    device : str or torch.device, default="cpu"

    Returns
    -------
    list of float
        Mean loss per epoch.
    """
    if len(module.modalities) < 2:
        raise ValueError(
            "contrastive pre-training pairs modalities: fit with at least two of "
            f"{list(MODALITIES)} (got {list(module.modalities)})"
        )
    sizes = dict(module.hidden_sizes)
    if module.text_projection is not None:
        sizes["text"] = module.text_projection.out_features
    heads = nn.ModuleDict({
        m: nn.Sequential(nn.Linear(h, projection_dim), nn.ReLU(),
                         nn.Linear(projection_dim, projection_dim))
        for m, h in sizes.items()
    }).to(device)
    params = list(module.encoders.parameters()) + list(heads.parameters())
    if module.text_projection is not None:
        params += list(module.text_projection.parameters())
    optimizer = torch.optim.Adam(params, lr=lr)

    # the encoders train here even when the estimator keeps them fixed
    # (freeze_encoders=True: pre-training, then a linear probe)
    grads_on = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    was_training = module.training
    module.train()
    try:
        history = []
        for _ in range(epochs):
            total, count = 0.0, 0
            for Xb, _ in batches():
                Xb = {k: v.to(device) for k, v in Xb.items()}
                inputs = {m: Xb[m] for m in MODALITIES if m in Xb}
                lengths = {m: Xb[m + "_lengths"] for m in inputs if m + "_lengths" in Xb}
                if next(iter(inputs.values())).shape[0] < 2:
                    continue  # InfoNCE needs at least one negative
                reps, present = module.encode(inputs, lengths, cross_modal=False,
                                              return_present=True)
                loss = _ragged_infonce({m: heads[m](r) for m, r in reps.items()}, present,
                                       temperature)
                if loss is None:
                    continue  # no pair of modalities shares two samples
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item()
                count += 1
            history.append(total / max(count, 1))
    finally:
        module.train(was_training)
        for p, on in zip(params, grads_on):
            p.requires_grad_(on)
    return history


def _ragged_infonce(projected, present, temperature):
    """Pairwise InfoNCE over the samples that hold both modalities of each pair.

    With every modality present for every sample this is
    :func:`~skmemo.losses.pairwise_infonce_loss` itself; otherwise each
    (unordered) pair of modalities contributes the loss over the samples
    that have both, and the pairs are averaged. None when no pair has two
    such samples (InfoNCE needs a negative).
    """
    names = list(projected)
    if all(bool(present[m].all()) for m in names):
        if len(names) < 2:
            return None
        return pairwise_infonce_loss(projected, temperature=temperature)
    losses = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = present[a] & present[b]
            if int(both.sum()) >= 2:
                losses.append(pairwise_infonce_loss(
                    {a: projected[a][both], b: projected[b][both]},
                    temperature=temperature))
    return torch.stack(losses).mean() if losses else None

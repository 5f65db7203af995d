"""Auxiliary contrastive losses (pure torch).

- :func:`swfc_loss`: a multi-label version of MultiEMO's Sample-Weighted Focal
  Contrastive loss (Shi and Huang, ACL 2023).
- :func:`pairwise_infonce_loss`: the modality-pairwise InfoNCE loss of
  "Multimodal Emotion Recognition with Modality-Pairwise Unsupervised
  Contrastive Loss" (Franceschini et al., ICPR 2022).
"""

import torch
import torch.nn.functional as F

__all__ = ["swfc_loss", "pairwise_infonce_loss", "class_weights"]


def class_weights(Y, alpha=1.1):
    """Per-emotion weights ``w_c ∝ (N / N_c) ** alpha``, normalised to sum 1.

    Parameters
    ----------
    Y : Tensor (N, K), 0/1
    alpha : float, default=1.1

    Emotions without positives get weight 0.
    """
    counts = Y.sum(dim=0)
    w = torch.where(counts > 0, (Y.shape[0] / counts.clamp(min=1)) ** alpha,
                    torch.zeros_like(counts))
    return w / w.sum().clamp(min=1e-12)


def swfc_loss(z, Y, *, temperature=0.8, gamma=2.4, alpha=1.1):
    """Sample-weighted focal contrastive loss for multi-label data.

    ``p_ij = softmax_{j != i}(z_i · z_j / τ)`` over L2-normalised ``z``;
    ``L = -(1/N) Σ_i w_i · mean_{j ∈ P(i)} (1 - p_ij)^γ log p_ij``.

    Multi-label choices (MultiEMO is single-label):

    - the positives ``P(i)`` of sample i are the other samples that share at
      least one emotion with it; samples without any emotion are positives of
      each other;
    - the sample weight ``w_i`` is the mean class weight (:func:`class_weights`)
      of its emotions, and the mean weight over all samples for a sample with
      none; weights are rescaled to mean 1 over the batch;
    - samples without any positive in the batch are left out.

    Parameters
    ----------
    z : Tensor (N, D)
        Representations (normalised here).
    Y : Tensor (N, K)
        0/1 labels.
    temperature, gamma, alpha : float
        τ, focal exponent γ, class-weight exponent α (MultiEMO's IEMOCAP values
        0.8, 2.4, 1.1 by default).

    Returns
    -------
    Tensor
        Scalar loss; 0 when no sample has a positive.
    """
    N = z.shape[0]
    if N < 2:
        return z.sum() * 0.0
    Y = Y.float()
    z = F.normalize(z.float(), dim=1)
    eye = torch.eye(N, dtype=torch.bool, device=z.device)
    logits = (z @ z.T / temperature).masked_fill(eye, float("-inf"))
    log_p = torch.log_softmax(logits, dim=1).masked_fill(eye, 0.0)  # (N, N)
    p = log_p.exp().masked_fill(eye, 0.0)

    none = Y.sum(dim=1) == 0
    shared = (Y @ Y.T) > 0
    positive = (shared | (none[:, None] & none[None, :])) & ~eye  # (N, N)

    w_c = class_weights(Y, alpha)
    has = Y.sum(dim=1).clamp(min=1)
    w = (Y @ w_c) / has
    w = torch.where(none, w[~none].mean() if (~none).any() else torch.ones_like(w), w)
    w = w / w.mean().clamp(min=1e-12)

    term = ((1 - p) ** gamma) * log_p * positive  # (N, N)
    n_pos = positive.sum(dim=1)
    valid = n_pos > 0
    if not valid.any():
        return z.sum() * 0.0
    per_sample = -term.sum(dim=1)[valid] / n_pos[valid]
    return (w[valid] * per_sample).mean()


def pairwise_infonce_loss(reps, *, temperature=0.07):
    """Modality-pairwise InfoNCE over every ordered pair of modalities.

    For modalities a != b, sample i's ``a`` view must pick its own ``b`` view
    among the batch's ``b`` views: cross-entropy over
    ``normalise(h_a) @ normalise(h_b).T / τ`` with the diagonal as target. The
    loss is the mean over ordered pairs. No labels are used.

    Parameters
    ----------
    reps : dict
        ``{modality: (N, D)}`` projected representations, same D.
    temperature : float, default=0.07

    Examples
    --------
    >>> import torch
    >>> from skmemo.losses import pairwise_infonce_loss
    >>> h = torch.eye(3)
    >>> round(pairwise_infonce_loss({"text": h, "audio": h}, temperature=1.0).item(), 4)
    0.5514
    """
    names = list(reps)
    if len(names) < 2:
        raise ValueError("pairwise InfoNCE needs at least two modalities")
    normed = {m: F.normalize(reps[m].float(), dim=1) for m in names}
    N = normed[names[0]].shape[0]
    target = torch.arange(N, device=normed[names[0]].device)
    losses = [
        F.cross_entropy(normed[a] @ normed[b].T / temperature, target)
        for a in names for b in names if a != b
    ]
    return torch.stack(losses).mean()
